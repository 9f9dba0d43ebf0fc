/* virtio-rng (virtio 1.2, section 5.4): entropy from the host.
 *
 * One queue, no features, no configuration space. The driver posts
 * writable buffers; the device fills each with bytes from getrandom(2) and
 * returns it. At most VIRTIO_RNG_MAX_FILL bytes go into one buffer (the
 * driver is told how many), so a huge buffer cannot hold a vCPU for long;
 * readable descriptors are ignored. A malformed chain sets
 * DEVICE_NEEDS_RESET.
 */
#ifndef XUNI_HW_VIRTIO_VIRTIO_RNG_H
#define XUNI_HW_VIRTIO_VIRTIO_RNG_H

#include "hw/virtio/virtio.h"

#define VIRTIO_RNG_QUEUE_SIZE 64
#define VIRTIO_RNG_MAX_FILL   65536

struct virtio_rng;

/* NULL when out of memory (logged). */
struct virtio_rng *virtio_rng_new(void);
void virtio_rng_free(struct virtio_rng *rng);

extern const struct virtio_device_ops virtio_rng_ops;
/* Tell the device its transport's struct virtio_dev, before the guest runs. */
void virtio_rng_attach(struct virtio_rng *rng, struct virtio_dev *vdev);

#endif
