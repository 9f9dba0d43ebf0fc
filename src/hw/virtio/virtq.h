/* Split virtqueues (virtio 1.x, section 2.7): the device side.
 *
 * A struct virtq holds the guest-physical addresses of the descriptor
 * table, the available ring and the used ring, as the driver programmed
 * them through the transport, and the device's cursors. Every access to the
 * rings and to buffers goes through the guest memory (vm/memory.h): nothing
 * outside guest RAM is ever read or written.
 *
 * virtq_pop() takes the next available chain and returns it as two iovec
 * arrays of host pointers into guest RAM: out[] (driver -> device, readable
 * descriptors, which come first in a chain) and in[] (device -> driver,
 * writable). It validates the whole chain before returning anything:
 *   - every descriptor index < queue size, the head index too;
 *   - no loops, and at most `size` descriptors in a chain (indirect tables:
 *     at most their own length, len / 16, and len a non-zero multiple of 16;
 *     no nested indirect descriptors; VIRTQ_DESC_F_INDIRECT only if the
 *     feature was negotiated; an indirect descriptor with NEXT set is an
 *     error);
 *   - each buffer [addr, addr + len) wholly inside one guest RAM region,
 *     len > 0 (a zero-length descriptor is an error);
 *   - no readable descriptor after a writable one;
 *   - at most VIRTQ_MAX_SEGS segments in each direction, and at most 2^32
 *     bytes in all (the spec's limit; used lengths are 32-bit);
 *   - avail->idx never moves more than `size` ahead of the device's cursor.
 * As the spec requires, an indirect descriptor may also end a chain of
 * direct ones (its own WRITE flag is ignored). A malformed chain returns
 * -EINVAL (and logs once per queue); the device then puts itself into
 * DEVICE_NEEDS_RESET through its transport. Nothing is popped in that case:
 * the cursors are unchanged, so popping again gives -EINVAL again.
 *
 * virtq_push() returns a chain to the driver with the number of bytes the
 * device wrote into its in[] buffers, and reports every guest-physical
 * range the device may have written (the in[] segments, up to `written`
 * bytes) to the memory's write notifier, so an emulated CPU can drop code
 * it decoded there (DMA into code pages). virtq_should_notify() implements
 * VIRTQ_AVAIL_F_NO_INTERRUPT and, with VIRTIO_F_EVENT_IDX, used_event.
 * virtq_enable_notify()/virtq_disable_notify() drive the device's side
 * (VIRTQ_USED_F_NO_NOTIFY or avail_event). With VIRTIO_F_EVENT_IDX, a pop
 * that finds the ring empty while notifications are enabled publishes
 * avail_event itself (and re-checks the ring), so a device that simply pops
 * until 0 on every kick never misses one. A device that disables
 * notifications while it works re-enables them and then pops once more:
 *     virtq_disable_notify(q); while (virtq_pop(q, e) > 0) ...;
 *     virtq_enable_notify(q);  then pop again until 0.
 *
 * Life cycle: the transport fills in mem, size, index, name, event_idx,
 * indirect and the three addresses, then calls virtq_setup() when the
 * driver enables the queue (it checks the rings and caches their host
 * addresses; pop and push do nothing on a queue that was not set up).
 * virtq_reset() forgets everything but mem, index, name and broken_logged
 * (so a guest that resets and breaks a queue again is not logged again):
 * size goes back to 0, and the transport sets it to the device's maximum.
 *
 * Locking: the caller serializes all calls on one queue (the board's device
 * lock). Memory ordering follows the spec: the ring index loads are
 * acquire, the used index store is release.
 */
#ifndef XUNI_HW_VIRTIO_VIRTQ_H
#define XUNI_HW_VIRTIO_VIRTQ_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>

#include "vm/memory.h"

#define VIRTQ_MAX_SIZE 1024 /* the largest queue size a device offers */
#define VIRTQ_MAX_SEGS 1024 /* per direction, per chain */

#define VIRTQ_DESC_F_NEXT          1
#define VIRTQ_DESC_F_WRITE         2
#define VIRTQ_DESC_F_INDIRECT      4
#define VIRTQ_AVAIL_F_NO_INTERRUPT 1
#define VIRTQ_USED_F_NO_NOTIFY     1

struct virtq {
    const struct guest_memory *mem;
    uint16_t size;  /* power of two, <= VIRTQ_MAX_SIZE; 0 = not set up */
    bool ready;     /* the driver enabled it */
    bool event_idx; /* VIRTIO_F_EVENT_IDX negotiated */
    bool indirect;  /* VIRTIO_F_INDIRECT_DESC negotiated */
    uint64_t desc_gpa, avail_gpa, used_gpa;
    uint16_t last_avail;     /* next avail entry to pop */
    uint16_t used_idx;       /* next used entry to fill */
    uint16_t signalled_used; /* used_idx at the last virtq_should_notify() */
    bool signalled_valid;
    bool broken_logged;
    bool notify_off;  /* the device disabled available-buffer notifications */
    unsigned index;   /* queue number, for messages */
    const char *name; /* device name, for messages */
    /* Host addresses of the rings, cached by virtq_setup() (NULL before). */
    uint8_t *desc_hva, *avail_hva, *used_hva;
};

struct virtq_elem {
    uint16_t head;
    unsigned nout, nin;
    struct iovec out[VIRTQ_MAX_SEGS];
    struct iovec in[VIRTQ_MAX_SEGS];
    uint64_t in_gpa[VIRTQ_MAX_SEGS]; /* guest-physical address of each in[] */
    uint64_t in_bytes;               /* total length of in[] */
    uint64_t out_bytes;              /* total length of out[] */
};

/* Check the ring addresses the driver set (alignment, inside RAM for
 * `size` entries; size a power of two <= VIRTQ_MAX_SIZE) when it enables
 * the queue: 0 or -EINVAL. Does not touch the cursors (0 after reset). */
int virtq_setup(struct virtq *q);
void virtq_reset(struct virtq *q);

/* 1: a chain was popped into *e; 0: nothing available; -EINVAL: malformed
 * (see above). */
int virtq_pop(struct virtq *q, struct virtq_elem *e);
/* Give e back with `written` bytes written into its in[] buffers (clamped
 * to e->in_bytes). */
void virtq_push(struct virtq *q, const struct virtq_elem *e, uint32_t written);
/* Should the device interrupt the driver now (after one or more pushes)? */
bool virtq_should_notify(struct virtq *q);
void virtq_enable_notify(struct virtq *q);
void virtq_disable_notify(struct virtq *q);
/* Copy helpers over an iovec array: bytes copied. */
size_t iov_to_buf(const struct iovec *iov, unsigned n, size_t off, void *buf, size_t len);
size_t iov_from_buf(const struct iovec *iov, unsigned n, size_t off, const void *buf, size_t len);

#endif
