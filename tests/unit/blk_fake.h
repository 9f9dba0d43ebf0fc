/* A virtio-blk device on a stand-in transport, for test_virtio_blk and
 * test_virtio_blk_fuzz: a struct virtio_dev whose queue 0 lives in a
 * virtq_rig guest memory, callbacks that count notifications and reset
 * requests, and a driver side that builds requests in guest RAM. */
#ifndef XUNI_TESTS_BLK_FAKE_H
#define XUNI_TESTS_BLK_FAKE_H

#include <errno.h>
#include <pthread.h>
#include <time.h>

#include "block_rig.h"
#include "hw/virtio/virtio_blk.h"
#include "util/bytes.h"
#include "virtq_rig.h"

#define FAKE_RAM      (16u << 20)
#define FAKE_BUF_END  (FAKE_RAM - 4096)
#define FAKE_STATUS_0 0xee /* what a status byte holds before the device writes it */

struct fake {
    struct vq_rig rig;
    struct virtio_dev vdev;
    pthread_mutex_t lock; /* the board's device lock */
    pthread_cond_t used;  /* signalled on every notify */
    struct virtio_blk *blk;
    const struct virtio_device_ops *ops;
    unsigned notifies, needs_resets;
    uint64_t buf_next; /* bump allocator for buffers in guest RAM */
    uint16_t desc_next;
    uint16_t used_seen;
};

static inline void fake_notify(struct virtio_dev *vdev, unsigned q)
{
    struct fake *f = vdev->transport;
    (void)q;
    f->notifies++;
    pthread_cond_broadcast(&f->used);
}

static inline void fake_needs_reset(struct virtio_dev *vdev)
{
    struct fake *f = vdev->transport;
    f->needs_resets++;
}

static inline void fake_config_changed(struct virtio_dev *vdev)
{
    (void)vdev;
}

/* A device on drive d with a queue of qsize entries; false if the drive
 * would not open. All offered features are negotiated. */
static inline bool fake_init(struct fake *f, const struct drive_config *d, uint16_t qsize,
                             bool indirect)
{
    memset(f, 0, sizeof(*f));
    pthread_mutex_init(&f->lock, NULL);
    pthread_cond_init(&f->used, NULL);
    f->blk = virtio_blk_new(d, &f->lock);
    if (!f->blk)
        return false;
    f->ops = virtio_blk_ops(f->blk);
    if (rig_init(&f->rig, FAKE_RAM, qsize, indirect, false) != 0)
        abort();
    f->vdev.ops = f->ops;
    f->vdev.dev = f->blk;
    f->vdev.mem = &f->rig.mem;
    f->vdev.vq[0] = f->rig.q;
    f->vdev.features = f->ops->features | 1ULL << VIRTIO_F_VERSION_1;
    f->vdev.status = VIRTIO_STATUS_DRIVER_OK;
    f->vdev.notify = fake_notify;
    f->vdev.needs_reset = fake_needs_reset;
    f->vdev.config_changed = fake_config_changed;
    f->vdev.transport = f;
    virtio_blk_attach(f->blk, &f->vdev);
    f->buf_next = RIG_BUF;
    return true;
}

static inline void fake_destroy(struct fake *f)
{
    virtio_blk_free(f->blk);
    rig_destroy(&f->rig);
}

/* len bytes of guest RAM (at an offset of `misalign` from 512-byte
 * alignment), or 0 when the region is used up. */
static inline uint64_t fake_alloc(struct fake *f, uint64_t len, unsigned misalign)
{
    uint64_t gpa = (f->buf_next + 511) / 512 * 512 + misalign;
    if (gpa + len > FAKE_BUF_END)
        return 0;
    f->buf_next = gpa + len;
    return gpa;
}

/* One descriptor of a chain being built. */
struct fake_seg {
    uint64_t gpa;
    uint32_t len;
    bool writable;
};

/* Offer the chain segs[0..n) (chained descriptors from the next free
 * table slots); returns its head. */
static inline uint16_t fake_offer(struct fake *f, const struct fake_seg *segs, unsigned n)
{
    uint16_t size = f->vdev.vq[0].size, head = f->desc_next % size;
    for (unsigned i = 0; i < n; i++) {
        uint16_t idx = (uint16_t)((head + i) % size);
        uint16_t flags =
            (segs[i].writable ? VIRTQ_DESC_F_WRITE : 0) | (i + 1 < n ? VIRTQ_DESC_F_NEXT : 0);
        rig_desc(&f->rig, RIG_DESC, idx, segs[i].gpa, segs[i].len, flags,
                 (uint16_t)((idx + 1) % size));
    }
    f->desc_next = (uint16_t)((head + n) % size);
    rig_avail_add(&f->rig, head);
    return head;
}

static inline void fake_kick(struct fake *f)
{
    pthread_mutex_lock(&f->lock);
    f->ops->queue_notify(f->blk, 0);
    pthread_mutex_unlock(&f->lock);
}

/* Wait until the used index reaches `want` (5 s at most): true if it did. */
static inline bool fake_wait_used(struct fake *f, uint16_t want)
{
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += 5;
    pthread_mutex_lock(&f->lock);
    int r = 0;
    while ((uint16_t)(rig_used_idx(&f->rig) - want) > 0x8000 && r != ETIMEDOUT)
        r = pthread_cond_timedwait(&f->used, &f->lock, &until);
    bool ok = (uint16_t)(rig_used_idx(&f->rig) - want) <= 0x8000;
    pthread_mutex_unlock(&f->lock);
    return ok;
}

/* The next used element after those already looked at. */
static inline void fake_next_used(struct fake *f, uint32_t *id, uint32_t *len)
{
    rig_used_elem(&f->rig, f->used_seen % f->vdev.vq[0].size, id, len);
    f->used_seen++;
}

static inline void fake_put_header(struct fake *f, uint64_t gpa, uint32_t type, uint64_t sector)
{
    uint8_t hdr[VIRTIO_BLK_HDR_SIZE] = {0};
    put_le32(hdr, type);
    put_le64(hdr + 8, sector);
    rig_put(&f->rig, gpa, hdr, sizeof(hdr));
}

static inline uint64_t fake_new_status(struct fake *f)
{
    uint64_t gpa = fake_alloc(f, 1, 0);
    uint8_t s = FAKE_STATUS_0;
    rig_put(&f->rig, gpa, &s, 1);
    return gpa;
}

static inline uint8_t fake_byte(struct fake *f, uint64_t gpa)
{
    return *rig_hva(&f->rig, gpa);
}

#endif
