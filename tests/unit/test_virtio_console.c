/* virtio-console over hand-built rings and a fake character backend:
 * transmitq chains reach the backend in order, input fills receiveq
 * buffers across chains, input without buffers waits in the FIFO (the
 * backend keeps the rest and is woken once the FIFO drains), nothing moves
 * before DRIVER_OK, malformed chains (and writable transmit or readable
 * receive buffers) ask for a reset and the device then leaves the queues
 * alone until the reset, emerg_wr writes a byte. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>

#include "hw/virtio/virtio_console.h"
#include "util/log.h"
#include "virtq_rig.h"

struct fake_chr {
    struct chardev chr;
    char out[4096];
    size_t nout;
    unsigned accepts;
};

static void fake_write(struct chardev *chr, const uint8_t *buf, size_t len)
{
    struct fake_chr *f = (struct fake_chr *)chr;
    assert_true(f->nout + len <= sizeof(f->out));
    memcpy(f->out + f->nout, buf, len);
    f->nout += len;
}

static void fake_accept(struct chardev *chr)
{
    ((struct fake_chr *)chr)->accepts++;
}

static const struct chardev_ops fake_ops = {.write = fake_write, .accept_input = fake_accept};

struct con_rig {
    struct vq_rig rx, tx; /* each queue in its own RAM */
    struct virtio_dev vdev;
    struct fake_chr chr;
    struct virtio_console *con;
    unsigned notifies[2], resets;
};

static void on_notify(struct virtio_dev *vdev, unsigned q)
{
    struct con_rig *r = vdev->transport;
    assert_true(q < 2);
    if (virtq_should_notify(&vdev->vq[q]))
        r->notifies[q]++;
}

static void on_needs_reset(struct virtio_dev *vdev)
{
    ((struct con_rig *)vdev->transport)->resets++;
    vdev->status |= VIRTIO_STATUS_NEEDS_RESET;
}

static int setup(void **state)
{
    struct con_rig *r = calloc(1, sizeof(*r));
    assert_int_equal(rig_init(&r->rx, 4 << 20, 16, false, false), 0);
    assert_int_equal(rig_init(&r->tx, 4 << 20, 16, false, false), 0);
    r->vdev.ops = &virtio_console_ops;
    r->vdev.mem = &r->rx.mem;
    r->vdev.vq[VIRTIO_CONSOLE_RX] = r->rx.q;
    r->vdev.vq[VIRTIO_CONSOLE_TX] = r->tx.q;
    r->vdev.status = VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FEATURES_OK |
                     VIRTIO_STATUS_DRIVER_OK;
    r->vdev.features = 1ULL << VIRTIO_F_VERSION_1;
    r->vdev.notify = on_notify;
    r->vdev.needs_reset = on_needs_reset;
    r->vdev.transport = r;
    r->chr.chr.ops = &fake_ops;
    r->con = virtio_console_new();
    assert_non_null(r->con);
    virtio_console_attach(r->con, &r->vdev);
    virtio_console_connect(r->con, &r->chr.chr);
    r->vdev.dev = r->con;
    *state = r;
    return 0;
}

static int teardown(void **state)
{
    struct con_rig *r = *state;
    virtio_console_free(r->con);
    rig_destroy(&r->rx);
    rig_destroy(&r->tx);
    free(r);
    return 0;
}

static void kick(struct con_rig *r, unsigned q)
{
    virtio_console_ops.queue_notify(r->con, q);
}

/* What the backend hands the device, as the I/O thread would. */
static size_t type(struct con_rig *r, const char *s, size_t len)
{
    return r->chr.chr.receive(r->chr.chr.receive_opaque, (const uint8_t *)s, len);
}

/* Post one writable receive buffer of len bytes as descriptor i. */
static void post_rx(struct con_rig *r, unsigned i, uint32_t len)
{
    rig_desc(&r->rx, RIG_DESC, i, RIG_BUF + 0x1000ULL * i, len, VIRTQ_DESC_F_WRITE, 0);
    rig_avail_add(&r->rx, (uint16_t)i);
}

static void assert_used(struct vq_rig *q, unsigned slot, uint32_t want_id, uint32_t want_len)
{
    uint32_t id, len;
    rig_used_elem(q, slot, &id, &len);
    assert_int_equal(id, want_id);
    assert_int_equal(len, want_len);
}

static FILE *quiet(void)
{
    FILE *devnull = fopen("/dev/null", "w");
    assert_non_null(devnull);
    log_set_stream(devnull);
    return devnull;
}

static void loud(FILE *devnull)
{
    log_set_stream(NULL);
    fclose(devnull);
}

static void test_ops(void **state)
{
    (void)state;
    assert_int_equal(virtio_console_ops.device_id, VIRTIO_ID_CONSOLE);
    assert_int_equal(virtio_console_ops.nqueues, 2);
    assert_int_equal(virtio_console_ops.config_size, 12);
    /* One port, no size: only EMERG_WRITE. */
    assert_true(virtio_console_ops.features == 1ULL << VIRTIO_CONSOLE_F_EMERG_WRITE);
}

static void test_output_in_order(void **state)
{
    struct con_rig *r = *state;
    rig_put(&r->tx, RIG_BUF, "hel", 3);
    rig_put(&r->tx, RIG_BUF + 0x100, "lo", 2);
    rig_put(&r->tx, RIG_BUF + 0x200, "!\n", 2);
    rig_desc(&r->tx, RIG_DESC, 0, RIG_BUF, 3, VIRTQ_DESC_F_NEXT, 1);
    rig_desc(&r->tx, RIG_DESC, 1, RIG_BUF + 0x100, 2, 0, 0);
    rig_desc(&r->tx, RIG_DESC, 2, RIG_BUF + 0x200, 2, 0, 0);
    rig_avail_add(&r->tx, 0);
    rig_avail_add(&r->tx, 2);
    kick(r, VIRTIO_CONSOLE_TX);
    assert_int_equal(r->chr.nout, 7);
    assert_memory_equal(r->chr.out, "hello!\n", 7);
    assert_int_equal(rig_used_idx(&r->tx), 2);
    assert_used(&r->tx, 0, 0, 0);
    assert_used(&r->tx, 1, 2, 0);
    assert_int_equal(r->notifies[VIRTIO_CONSOLE_TX], 1);
    assert_int_equal(r->resets, 0);
}

static void test_input_fills_buffers(void **state)
{
    struct con_rig *r = *state;
    post_rx(r, 0, 4);
    post_rx(r, 1, 4);
    assert_int_equal(type(r, "abcdef", 6), 6);
    assert_int_equal(rig_used_idx(&r->rx), 2);
    assert_used(&r->rx, 0, 0, 4);
    assert_used(&r->rx, 1, 1, 2);
    assert_memory_equal(rig_hva(&r->rx, RIG_BUF), "abcd", 4);
    assert_memory_equal(rig_hva(&r->rx, RIG_BUF + 0x1000), "ef", 2);
    assert_int_equal(r->notifies[VIRTIO_CONSOLE_RX], 1);
    assert_int_equal(r->chr.accepts, 0);
}

static void test_input_waits_for_buffers(void **state)
{
    struct con_rig *r = *state;
    char in[300];
    for (unsigned i = 0; i < sizeof(in); i++)
        in[i] = (char)('a' + i % 26);
    /* No buffers: the FIFO takes what fits, the backend keeps the rest. */
    assert_int_equal(type(r, in, sizeof(in)), VIRTIO_CONSOLE_RX_BUF);
    assert_int_equal(type(r, in, 1), 0);
    assert_int_equal(rig_used_idx(&r->rx), 0);
    post_rx(r, 0, 100);
    kick(r, VIRTIO_CONSOLE_RX);
    assert_used(&r->rx, 0, 0, 100);
    assert_memory_equal(rig_hva(&r->rx, RIG_BUF), in, 100);
    assert_int_equal(r->chr.accepts, 0); /* the FIFO still holds bytes */
    /* The backend may offer more at any time: the rest fits now, wrapping
     * around the end of the FIFO. */
    size_t rest = sizeof(in) - VIRTIO_CONSOLE_RX_BUF;
    assert_int_equal(type(r, in + VIRTIO_CONSOLE_RX_BUF, rest), rest);
    post_rx(r, 1, 1000);
    kick(r, VIRTIO_CONSOLE_RX);
    assert_used(&r->rx, 1, 1, sizeof(in) - 100);
    assert_memory_equal(rig_hva(&r->rx, RIG_BUF + 0x1000), in + 100, sizeof(in) - 100);
    assert_int_equal(r->chr.accepts, 1); /* drained: wake the backend */
    assert_int_equal(r->notifies[VIRTIO_CONSOLE_RX], 2);
}

static void test_nothing_before_driver_ok(void **state)
{
    struct con_rig *r = *state;
    r->vdev.status &= (uint8_t)~VIRTIO_STATUS_DRIVER_OK;
    post_rx(r, 0, 16);
    assert_int_equal(type(r, "early", 5), 5);
    kick(r, VIRTIO_CONSOLE_RX);
    assert_int_equal(rig_used_idx(&r->rx), 0);
    /* The transport kicks every queue on DRIVER_OK. */
    r->vdev.status |= VIRTIO_STATUS_DRIVER_OK;
    kick(r, VIRTIO_CONSOLE_RX);
    assert_used(&r->rx, 0, 0, 5);
    assert_memory_equal(rig_hva(&r->rx, RIG_BUF), "early", 5);
}

static void test_readable_rx_chain_needs_reset(void **state)
{
    struct con_rig *r = *state;
    FILE *devnull = quiet();
    rig_desc(&r->rx, RIG_DESC, 0, RIG_BUF, 16, 0, 0); /* not writable */
    rig_avail_add(&r->rx, 0);
    post_rx(r, 1, 16);
    assert_int_equal(type(r, "hi", 2), 2);
    assert_int_equal(r->resets, 1);
    assert_int_equal(rig_used_idx(&r->rx), 1); /* returned, empty */
    assert_used(&r->rx, 0, 0, 0);
    /* Broken: the next buffer is left alone, input waits. */
    kick(r, VIRTIO_CONSOLE_RX);
    assert_int_equal(rig_used_idx(&r->rx), 1);
    /* After a reset (and a new DRIVER_OK) the input reaches a buffer. */
    virtio_console_ops.reset(r->con);
    r->vdev.status &= (uint8_t)~VIRTIO_STATUS_NEEDS_RESET;
    kick(r, VIRTIO_CONSOLE_RX);
    assert_used(&r->rx, 1, 1, 2);
    assert_memory_equal(rig_hva(&r->rx, RIG_BUF + 0x1000), "hi", 2);
    loud(devnull);
}

static void test_malformed_tx_chain_needs_reset(void **state)
{
    struct con_rig *r = *state;
    FILE *devnull = quiet();
    rig_put(&r->tx, RIG_BUF, "x", 1);
    rig_desc(&r->tx, RIG_DESC, 0, RIG_BUF, 1, VIRTQ_DESC_F_NEXT, 99); /* next out of range */
    rig_avail_add(&r->tx, 0);
    kick(r, VIRTIO_CONSOLE_TX);
    assert_int_equal(r->resets, 1);
    assert_int_equal(r->chr.nout, 0);
    assert_int_equal(rig_used_idx(&r->tx), 0);
    kick(r, VIRTIO_CONSOLE_TX);
    assert_int_equal(r->resets, 1); /* left alone until the reset */
    loud(devnull);
}

static void test_writable_tx_chain_needs_reset(void **state)
{
    struct con_rig *r = *state;
    FILE *devnull = quiet();
    rig_put(&r->tx, RIG_BUF, "x", 1);
    rig_desc(&r->tx, RIG_DESC, 0, RIG_BUF, 1, VIRTQ_DESC_F_NEXT, 1);
    rig_desc(&r->tx, RIG_DESC, 1, RIG_BUF + 0x100, 8, VIRTQ_DESC_F_WRITE, 0);
    rig_desc(&r->tx, RIG_DESC, 2, RIG_BUF, 1, 0, 0);
    rig_avail_add(&r->tx, 0);
    rig_avail_add(&r->tx, 2);
    kick(r, VIRTIO_CONSOLE_TX);
    assert_int_equal(r->resets, 1);
    assert_int_equal(r->chr.nout, 0);
    assert_int_equal(rig_used_idx(&r->tx), 1); /* returned; the next one left alone */
    assert_used(&r->tx, 0, 0, 0);
    loud(devnull);
}

static void test_config_and_emerg_write(void **state)
{
    struct con_rig *r = *state;
    uint8_t cfg[12];
    memset(cfg, 0xaa, sizeof(cfg));
    virtio_console_ops.config_read(r->con, 0, cfg, sizeof(cfg));
    for (unsigned i = 0; i < sizeof(cfg); i++)
        assert_int_equal(cfg[i], 0);
    const uint8_t z[4] = {'Z', 0, 0, 0};
    virtio_console_ops.config_write(r->con, 8, z, 4); /* not negotiated */
    assert_int_equal(r->chr.nout, 0);
    r->vdev.features |= 1ULL << VIRTIO_CONSOLE_F_EMERG_WRITE;
    virtio_console_ops.config_write(r->con, 8, z, 4);
    virtio_console_ops.config_write(r->con, 0, z, 4); /* cols: read-only */
    assert_int_equal(r->chr.nout, 1);
    assert_int_equal(r->chr.out[0], 'Z');
}

static void test_free_detaches(void **state)
{
    struct con_rig *r = *state;
    assert_ptr_equal(r->chr.chr.receive_opaque, r->con);
    virtio_console_free(r->con);
    r->con = NULL;
    assert_null(r->chr.chr.receive);
    assert_null(r->chr.chr.receive_opaque);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ops),
        cmocka_unit_test_setup_teardown(test_output_in_order, setup, teardown),
        cmocka_unit_test_setup_teardown(test_input_fills_buffers, setup, teardown),
        cmocka_unit_test_setup_teardown(test_input_waits_for_buffers, setup, teardown),
        cmocka_unit_test_setup_teardown(test_nothing_before_driver_ok, setup, teardown),
        cmocka_unit_test_setup_teardown(test_readable_rx_chain_needs_reset, setup, teardown),
        cmocka_unit_test_setup_teardown(test_malformed_tx_chain_needs_reset, setup, teardown),
        cmocka_unit_test_setup_teardown(test_writable_tx_chain_needs_reset, setup, teardown),
        cmocka_unit_test_setup_teardown(test_config_and_emerg_write, setup, teardown),
        cmocka_unit_test_setup_teardown(test_free_detaches, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
