/* virtio-console (virtio 1.2, section 5.3): a console port (hvc0 in Linux)
 * on a character backend.
 *
 * One port, no MULTIPORT: queue 0 is the receiveq (host -> guest), queue 1
 * the transmitq (guest -> host). Features offered: EMERG_WRITE (a byte
 * written to the emerg_wr config field goes straight to the backend); no
 * SIZE (cols and rows read 0). The config space is the spec's 12 bytes
 * (cols, rows, max_nr_ports, emerg_wr), all reading 0.
 *
 * Output: every transmitq chain's readable bytes are written to the backend
 * in order and the chain is returned with 0 bytes used.
 * Input: the backend's receive callback (the I/O thread, device lock held)
 * copies input into a small FIFO (VIRTIO_CONSOLE_RX_BUF bytes) and moves
 * as much as the driver's receiveq buffers hold; what does not fit in the
 * FIFO is refused, so the backend keeps it (chardev.h) and offers it again
 * after the device calls chardev_accept_input() once the FIFO has drained
 * into new buffers. Input never blocks the I/O thread and is never dropped;
 * it waits in the FIFO until the driver is running (DRIVER_OK) and has
 * posted buffers, also across a driver reset.
 *
 * A malformed chain (virtq_pop's -EINVAL), a receiveq chain without a
 * writable byte or with readable descriptors, or a transmitq chain with
 * writable ones (returned unused, nothing written) puts the device into
 * DEVICE_NEEDS_RESET; it then touches no queue until the driver resets it.
 */
#ifndef XUNI_HW_VIRTIO_VIRTIO_CONSOLE_H
#define XUNI_HW_VIRTIO_VIRTIO_CONSOLE_H

#include "backend/chardev.h"
#include "hw/virtio/virtio.h"

#define VIRTIO_CONSOLE_F_SIZE        0
#define VIRTIO_CONSOLE_F_MULTIPORT   1
#define VIRTIO_CONSOLE_F_EMERG_WRITE 2

#define VIRTIO_CONSOLE_QUEUE_SIZE  128
#define VIRTIO_CONSOLE_CONFIG_SIZE 12
#define VIRTIO_CONSOLE_RX_BUF      256

#define VIRTIO_CONSOLE_RX 0
#define VIRTIO_CONSOLE_TX 1

struct virtio_console;

/* NULL when out of memory (logged). */
struct virtio_console *virtio_console_new(void);
/* Detaches from its backend (if still its frontend); the backend stays. */
void virtio_console_free(struct virtio_console *con);

extern const struct virtio_device_ops virtio_console_ops;
/* Tell the device its transport's struct virtio_dev, before the guest runs. */
void virtio_console_attach(struct virtio_console *con, struct virtio_dev *vdev);
/* Connect the backend (becoming its frontend), before the guest runs;
 * until then output is dropped. */
void virtio_console_connect(struct virtio_console *con, struct chardev *chr);

#endif
