/* virtio-rng: fill the driver's buffers from getrandom(2) (see
 * virtio_rng.h). */
#include "hw/virtio/virtio_rng.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "util/log.h"

struct virtio_rng {
    struct virtio_dev *vdev;
    bool failure_logged;
    struct virtq_elem elem; /* large: kept here, not on the stack */
};

/* Fill up to max bytes of iov; returns how many were filled. */
static size_t rng_fill(struct virtio_rng *rng, const struct iovec *iov, unsigned n, size_t max)
{
    size_t done = 0;
    for (unsigned i = 0; i < n && done < max; i++) {
        uint8_t *p = iov[i].iov_base;
        size_t want = iov[i].iov_len < max - done ? iov[i].iov_len : max - done, got = 0;
        while (got < want) {
            ssize_t r = getrandom(p + got, want - got, 0);
            if (r < 0 && errno == EINTR)
                continue;
            if (r <= 0) {
                if (!rng->failure_logged) {
                    rng->failure_logged = true;
                    log_warn("virtio-rng: getrandom: %s", strerror(errno));
                }
                return done + got;
            }
            got += (size_t)r;
        }
        done += got;
    }
    return done;
}

static void rng_queue_notify(void *dev, unsigned queue)
{
    struct virtio_rng *rng = dev;
    struct virtq *vq = &rng->vdev->vq[queue];
    bool pushed = false;
    int r;
    while ((r = virtq_pop(vq, &rng->elem)) > 0) {
        size_t n = rng_fill(rng, rng->elem.in, rng->elem.nin, VIRTIO_RNG_MAX_FILL);
        virtq_push(vq, &rng->elem, (uint32_t)n);
        pushed = true;
    }
    if (r < 0)
        virtio_needs_reset(rng->vdev);
    if (pushed)
        virtio_notify(rng->vdev, queue);
}

const struct virtio_device_ops virtio_rng_ops = {
    .name = "virtio-rng",
    .device_id = VIRTIO_ID_RNG,
    .nqueues = 1,
    .queue_size = VIRTIO_RNG_QUEUE_SIZE,
    .queue_notify = rng_queue_notify,
};

struct virtio_rng *virtio_rng_new(void)
{
    struct virtio_rng *rng = calloc(1, sizeof(*rng));
    if (!rng)
        log_error("virtio-rng: out of memory");
    return rng;
}

void virtio_rng_free(struct virtio_rng *rng)
{
    free(rng);
}

void virtio_rng_attach(struct virtio_rng *rng, struct virtio_dev *vdev)
{
    rng->vdev = vdev;
}
