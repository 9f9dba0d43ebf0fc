/* virtio-console: one port between the driver's queues and a character
 * backend (see virtio_console.h). */
#include "hw/virtio/virtio_console.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "util/log.h"

#define EMERG_WR_OFF 8

struct virtio_console {
    struct virtio_dev *vdev;
    struct chardev *chr;
    bool broken;  /* asked for a reset: leave the queues alone until it comes */
    bool starved; /* refused input: wake the backend once the FIFO drains */
    uint8_t rx[VIRTIO_CONSOLE_RX_BUF];
    unsigned rx_head, rx_count;
    struct virtq_elem elem; /* large: kept here, not on the stack */
};

static void con_break(struct virtio_console *con)
{
    con->broken = true;
    virtio_needs_reset(con->vdev);
}

/* May the device use the queues now? */
static bool con_live(const struct virtio_console *con)
{
    return con->vdev && !con->broken &&
           (con->vdev->status & (VIRTIO_STATUS_DRIVER_OK | VIRTIO_STATUS_NEEDS_RESET)) ==
               VIRTIO_STATUS_DRIVER_OK;
}

/* --- output --- */

static void con_output(struct virtio_console *con, const struct virtq_elem *e)
{
    for (unsigned i = 0; i < e->nout && con->chr; i++)
        chardev_write(con->chr, e->out[i].iov_base, e->out[i].iov_len);
}

static void con_transmit(struct virtio_console *con)
{
    struct virtq *vq = &con->vdev->vq[VIRTIO_CONSOLE_TX];
    bool pushed = false;
    int r;
    while ((r = virtq_pop(vq, &con->elem)) > 0) {
        bool writable = con->elem.nin; /* the spec forbids them here */
        if (!writable)
            con_output(con, &con->elem);
        virtq_push(vq, &con->elem, 0);
        pushed = true;
        if (writable) {
            r = -EINVAL;
            break;
        }
    }
    if (r < 0)
        con_break(con);
    if (pushed)
        virtio_notify(con->vdev, VIRTIO_CONSOLE_TX);
}

/* --- input --- */

/* Copy FIFO bytes into e's writable buffers: bytes copied. */
static size_t con_fill(struct virtio_console *con, const struct virtq_elem *e)
{
    size_t done = 0;
    while (con->rx_count) {
        /* The FIFO's contiguous run from its head. */
        unsigned run = VIRTIO_CONSOLE_RX_BUF - con->rx_head;
        if (run > con->rx_count)
            run = con->rx_count;
        size_t n = iov_from_buf(e->in, e->nin, done, con->rx + con->rx_head, run);
        con->rx_head = (con->rx_head + (unsigned)n) % VIRTIO_CONSOLE_RX_BUF;
        con->rx_count -= (unsigned)n;
        done += n;
        if (n < run)
            break; /* the buffers are full */
    }
    return done;
}

/* Move the FIFO into the driver's receive buffers, as far as they go. */
static void con_deliver(struct virtio_console *con)
{
    if (!con_live(con))
        return;
    struct virtq *vq = &con->vdev->vq[VIRTIO_CONSOLE_RX];
    bool pushed = false;
    while (con->rx_count) {
        int r = virtq_pop(vq, &con->elem);
        if (r == 0)
            break;
        if (r < 0 || con->elem.nout || !con->elem.nin) {
            if (r > 0)
                virtq_push(vq, &con->elem, 0);
            con_break(con);
            break;
        }
        virtq_push(vq, &con->elem, (uint32_t)con_fill(con, &con->elem));
        pushed = true;
    }
    if (pushed)
        virtio_notify(con->vdev, VIRTIO_CONSOLE_RX);
    if (con->starved && !con->rx_count && con->chr) {
        con->starved = false;
        chardev_accept_input(con->chr);
    }
}

/* The backend's input (I/O thread, device lock held): what fits in the
 * FIFO is taken, the rest stays with the backend. */
static size_t con_receive(void *opaque, const uint8_t *buf, size_t len)
{
    struct virtio_console *con = opaque;
    size_t taken = 0;
    while (taken < len && con->rx_count < VIRTIO_CONSOLE_RX_BUF) {
        con->rx[(con->rx_head + con->rx_count) % VIRTIO_CONSOLE_RX_BUF] = buf[taken++];
        con->rx_count++;
    }
    if (taken < len)
        con->starved = true;
    con_deliver(con);
    return taken;
}

/* --- device ops --- */

static void con_queue_notify(void *dev, unsigned queue)
{
    struct virtio_console *con = dev;
    if (!con_live(con))
        return;
    if (queue == VIRTIO_CONSOLE_TX)
        con_transmit(con);
    else
        con_deliver(con);
}

static void con_config_read(void *dev, uint32_t offset, void *buf, unsigned len)
{
    (void)dev;
    (void)offset;
    memset(buf, 0, len); /* no size, one port, emerg_wr reads 0 */
}

static void con_config_write(void *dev, uint32_t offset, const void *buf, unsigned len)
{
    struct virtio_console *con = dev;
    /* The driver writes the whole 32-bit emerg_wr; its low byte is the
     * character. Everything else in the config space is read-only. */
    if (offset == EMERG_WR_OFF && len >= 1 && con->chr && con->vdev &&
        virtio_has_feature(con->vdev, VIRTIO_CONSOLE_F_EMERG_WRITE))
        chardev_write(con->chr, buf, 1);
}

static void con_reset(void *dev)
{
    struct virtio_console *con = dev;
    con->broken = false; /* pending input stays for the next driver */
}

const struct virtio_device_ops virtio_console_ops = {
    .name = "virtio-console",
    .device_id = VIRTIO_ID_CONSOLE,
    .features = 1ULL << VIRTIO_CONSOLE_F_EMERG_WRITE,
    .nqueues = 2,
    .queue_size = VIRTIO_CONSOLE_QUEUE_SIZE,
    .config_size = VIRTIO_CONSOLE_CONFIG_SIZE,
    .config_read = con_config_read,
    .config_write = con_config_write,
    .queue_notify = con_queue_notify,
    .reset = con_reset,
};

struct virtio_console *virtio_console_new(void)
{
    struct virtio_console *con = calloc(1, sizeof(*con));
    if (!con)
        log_error("virtio-console: out of memory");
    return con;
}

void virtio_console_free(struct virtio_console *con)
{
    if (!con)
        return;
    if (con->chr && con->chr->receive_opaque == con)
        chardev_set_frontend(con->chr, NULL, NULL);
    free(con);
}

void virtio_console_attach(struct virtio_console *con, struct virtio_dev *vdev)
{
    con->vdev = vdev;
}

void virtio_console_connect(struct virtio_console *con, struct chardev *chr)
{
    con->chr = chr;
    if (chr)
        chardev_set_frontend(chr, con_receive, con);
}
