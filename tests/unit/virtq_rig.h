/* A virtqueue over a real guest memory, and helpers that build descriptor
 * tables and rings by hand as a driver would, for test_virtq and
 * test_virtq_fuzz. The write notifier records what it is told. */
#ifndef XUNI_TESTS_VIRTQ_RIG_H
#define XUNI_TESTS_VIRTQ_RIG_H

#include <stdlib.h>
#include <string.h>

#include "hw/virtio/virtq.h"
#include "vm/memory.h"

#define RIG_DESC  0x10000ULL /* descriptor table (up to 16 KiB) */
#define RIG_AVAIL 0x20000ULL
#define RIG_USED  0x30000ULL
#define RIG_BUF   0x100000ULL /* buffers and indirect tables from here */

struct vq_rig {
    struct guest_memory mem;
    struct virtq q;
    struct virtq_elem *e;
    uint16_t avail_idx; /* the driver's next avail entry */
    unsigned nnotes;    /* write notifier calls */
    uint64_t note_gpa[VIRTQ_MAX_SEGS], note_len[VIRTQ_MAX_SEGS];
};

static inline void rig_note(void *ctx, uint64_t gpa, uint64_t len)
{
    struct vq_rig *r = ctx;
    if (r->nnotes < VIRTQ_MAX_SEGS) {
        r->note_gpa[r->nnotes] = gpa;
        r->note_len[r->nnotes] = len;
    }
    r->nnotes++;
}

static inline void rig_put(struct vq_rig *r, uint64_t gpa, const void *v, size_t len)
{
    if (guest_memory_write(&r->mem, gpa, v, len))
        abort(); /* the test itself is wrong */
}

static inline void rig_put16(struct vq_rig *r, uint64_t gpa, uint16_t v)
{
    rig_put(r, gpa, &v, 2);
}

static inline uint16_t rig_get16(struct vq_rig *r, uint64_t gpa)
{
    uint16_t v;
    if (guest_memory_read(&r->mem, gpa, &v, 2))
        abort();
    return v;
}

static inline uint32_t rig_get32(struct vq_rig *r, uint64_t gpa)
{
    uint32_t v;
    if (guest_memory_read(&r->mem, gpa, &v, 4))
        abort();
    return v;
}

/* Fresh RAM of ram bytes (zeroed, as a driver's rings would be) and a queue
 * set up at RIG_DESC/RIG_AVAIL/RIG_USED; virtq_setup's result returned. */
static inline int rig_init(struct vq_rig *r, uint64_t ram, uint16_t size, bool indirect,
                           bool event_idx)
{
    memset(r, 0, sizeof(*r));
    if (guest_memory_init(&r->mem, ram))
        abort();
    r->mem.write_notify = rig_note;
    r->mem.write_notify_ctx = r;
    r->e = malloc(sizeof(*r->e));
    if (!r->e)
        abort();
    r->q.mem = &r->mem;
    r->q.name = "test";
    virtq_reset(&r->q);
    r->q.size = size;
    r->q.indirect = indirect;
    r->q.event_idx = event_idx;
    r->q.desc_gpa = RIG_DESC;
    r->q.avail_gpa = RIG_AVAIL;
    r->q.used_gpa = RIG_USED;
    r->q.ready = true;
    return virtq_setup(&r->q);
}

static inline void rig_destroy(struct vq_rig *r)
{
    free(r->e);
    guest_memory_destroy(&r->mem);
}

/* Descriptor i of the table at gpa `table` (RIG_DESC for the ring's own). */
static inline void rig_desc(struct vq_rig *r, uint64_t table, unsigned i, uint64_t addr,
                            uint32_t len, uint16_t flags, uint16_t next)
{
    uint8_t raw[16];
    memcpy(raw, &addr, 8);
    memcpy(raw + 8, &len, 4);
    memcpy(raw + 12, &flags, 2);
    memcpy(raw + 14, &next, 2);
    rig_put(r, table + 16ULL * i, raw, 16);
}

static inline void rig_set_avail_idx(struct vq_rig *r, uint16_t idx)
{
    r->avail_idx = idx;
    rig_put16(r, RIG_AVAIL + 2, idx);
}

/* Offer the chain at head: the next ring entry, then the index. */
static inline void rig_avail_add(struct vq_rig *r, uint16_t head)
{
    rig_put16(r, RIG_AVAIL + 4 + 2ULL * (r->avail_idx & (r->q.size - 1)), head);
    rig_set_avail_idx(r, r->avail_idx + 1);
}

static inline uint64_t rig_used_event_gpa(const struct vq_rig *r)
{
    return RIG_AVAIL + 4 + 2ULL * r->q.size;
}

static inline uint64_t rig_avail_event_gpa(const struct vq_rig *r)
{
    return RIG_USED + 4 + 8ULL * r->q.size;
}

static inline uint16_t rig_used_idx(struct vq_rig *r)
{
    return rig_get16(r, RIG_USED + 2);
}

/* The used element at ring slot `slot`. */
static inline void rig_used_elem(struct vq_rig *r, unsigned slot, uint32_t *id, uint32_t *len)
{
    *id = rig_get32(r, RIG_USED + 4 + 8ULL * slot);
    *len = rig_get32(r, RIG_USED + 8 + 8ULL * slot);
}

/* The host address of guest-physical gpa (which must be RAM). */
static inline uint8_t *rig_hva(struct vq_rig *r, uint64_t gpa)
{
    return guest_memory_ptr(&r->mem, gpa, 1);
}

#endif
