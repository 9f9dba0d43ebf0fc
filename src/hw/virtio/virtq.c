/* Split virtqueues, device side: see virtq.h for the rules enforced here.
 *
 * The rings are reached through host addresses cached by virtq_setup()
 * (guest RAM never moves); buffers through guest_memory_ptr(), one check
 * per descriptor. A chain is walked once: each descriptor is copied out of
 * guest memory before it is looked at, so a driver rewriting it
 * concurrently cannot make the checks and the use disagree. Walking stops
 * at the first rule broken; nothing is committed (the cursor moves) until
 * the whole chain has passed.
 */
#include "hw/virtio/virtq.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "util/bytes.h"
#include "util/log.h"

/* Ring fields are read and written natively: the host is little-endian,
 * like virtio 1.x rings. */
_Static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "virtq.c assumes a little-endian host");

#define DESC_SIZE       16
#define AVAIL_RING_OFF  4 /* flags, idx, then ring[size], then used_event */
#define USED_RING_OFF   4 /* flags, idx, then ring[size] of {id, len}, then avail_event */
#define USED_ELEM_SIZE  8
#define CHAIN_MAX_BYTES (1ULL << 32)

struct desc {
    uint64_t addr;
    uint32_t len;
    uint16_t flags;
    uint16_t next;
};

/* --- ring field access --- */

static uint16_t *avail_idx_ptr(const struct virtq *q)
{
    return (uint16_t *)(q->avail_hva + 2);
}

static uint16_t *used_event_ptr(const struct virtq *q)
{
    return (uint16_t *)(q->avail_hva + AVAIL_RING_OFF + 2 * (size_t)q->size);
}

static uint16_t *used_flags_ptr(const struct virtq *q)
{
    return (uint16_t *)q->used_hva;
}

static uint16_t *used_idx_ptr(const struct virtq *q)
{
    return (uint16_t *)(q->used_hva + 2);
}

static uint16_t *avail_event_ptr(const struct virtq *q)
{
    return (uint16_t *)(q->used_hva + USED_RING_OFF + USED_ELEM_SIZE * (size_t)q->size);
}

static uint16_t load16(const uint16_t *p, int order)
{
    return __atomic_load_n(p, order);
}

static void store16(uint16_t *p, uint16_t v, int order)
{
    __atomic_store_n(p, v, order);
}

/* One descriptor, copied once: the compiler barrier keeps it from reading
 * guest memory again later instead of the copy. */
static struct desc read_desc(const uint8_t *table, uint32_t i)
{
    uint8_t raw[DESC_SIZE];
    memcpy(raw, table + (size_t)i * DESC_SIZE, DESC_SIZE);
    __asm__ volatile("" ::: "memory");
    return (struct desc){get_le64(raw), get_le32(raw + 8), get_le16(raw + 12), get_le16(raw + 14)};
}

/* --- setup --- */

/* Guest mistakes are reported once per queue, so a driver cannot flood the
 * host's terminal. */
__attribute__((format(printf, 2, 3))) static void warn_once(struct virtq *q, const char *fmt, ...)
{
    if (q->broken_logged)
        return;
    q->broken_logged = true;
    char msg[200];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    log_warn("%s queue %u: %s; device needs reset (not reported again for this queue)",
             q->name ? q->name : "virtio", q->index, msg);
}

static bool is_pow2(unsigned v)
{
    return v && !(v & (v - 1));
}

static uint8_t *ring_hva(const struct virtq *q, uint64_t gpa, uint64_t len, uint64_t align)
{
    if (gpa & (align - 1))
        return NULL;
    return guest_memory_ptr(q->mem, gpa, len);
}

int virtq_setup(struct virtq *q)
{
    uint64_t n = q->size;
    q->desc_hva = q->avail_hva = q->used_hva = NULL;
    if (!q->mem || !is_pow2(q->size) || q->size > VIRTQ_MAX_SIZE) {
        warn_once(q, "bad queue size %u", q->size);
        return -EINVAL;
    }
    uint8_t *desc = ring_hva(q, q->desc_gpa, DESC_SIZE * n, 16);
    uint8_t *avail = ring_hva(q, q->avail_gpa, 6 + 2 * n, 2);
    uint8_t *used = ring_hva(q, q->used_gpa, 6 + USED_ELEM_SIZE * n, 4);
    if (!desc || !avail || !used) {
        warn_once(q, "rings at %#llx/%#llx/%#llx (size %u) misaligned or outside RAM",
                  (unsigned long long)q->desc_gpa, (unsigned long long)q->avail_gpa,
                  (unsigned long long)q->used_gpa, q->size);
        return -EINVAL;
    }
    q->desc_hva = desc;
    q->avail_hva = avail;
    q->used_hva = used;
    /* The driver kicks when avail->idx passes avail_event: start it at our
     * cursor so the first buffer is announced. */
    if (q->event_idx && !q->notify_off)
        store16(avail_event_ptr(q), q->last_avail, __ATOMIC_RELAXED);
    return 0;
}

void virtq_reset(struct virtq *q)
{
    struct virtq keep = *q;
    memset(q, 0, sizeof(*q));
    q->mem = keep.mem;
    q->index = keep.index;
    q->name = keep.name;
    q->broken_logged = keep.broken_logged;
}

/* --- pop --- */

/* The walk over one chain: where descriptors are read from and how many
 * more this table may still give. */
struct walk {
    const uint8_t *table;
    uint32_t table_len; /* entries */
    uint32_t budget;    /* descriptors left before the chain is too long (or loops) */
    bool indirect;      /* inside an indirect table */
};

static const char *add_buffer(const struct virtq *q, struct virtq_elem *e, const struct desc *d)
{
    if (d->len == 0)
        return "zero-length buffer";
    void *p = guest_memory_ptr(q->mem, d->addr, d->len);
    if (!p)
        return "buffer outside guest RAM";
    if (e->in_bytes + e->out_bytes + d->len > CHAIN_MAX_BYTES)
        return "chain longer than 4 GiB";
    if (d->flags & VIRTQ_DESC_F_WRITE) {
        if (e->nin == VIRTQ_MAX_SEGS)
            return "too many writable buffers";
        e->in[e->nin] = (struct iovec){p, d->len};
        e->in_gpa[e->nin++] = d->addr;
        e->in_bytes += d->len;
    } else {
        if (e->nin)
            return "readable buffer after a writable one";
        if (e->nout == VIRTQ_MAX_SEGS)
            return "too many readable buffers";
        e->out[e->nout++] = (struct iovec){p, d->len};
        e->out_bytes += d->len;
    }
    return NULL;
}

/* Switch the walk to the indirect table d points to. */
static const char *enter_indirect(const struct virtq *q, struct walk *w, const struct desc *d)
{
    if (!q->indirect)
        return "indirect descriptor without VIRTIO_F_INDIRECT_DESC";
    if (w->indirect)
        return "nested indirect descriptor";
    if (d->flags & VIRTQ_DESC_F_NEXT)
        return "indirect descriptor with NEXT set";
    if (d->len == 0 || d->len % DESC_SIZE)
        return "indirect table length not a non-zero multiple of 16";
    const uint8_t *table = guest_memory_ptr(q->mem, d->addr, d->len);
    if (!table)
        return "indirect table outside guest RAM";
    *w = (struct walk){table, d->len / DESC_SIZE, d->len / DESC_SIZE, true};
    return NULL;
}

/* Walk the chain at head into e: NULL, or why it is malformed. */
static const char *walk_chain(const struct virtq *q, struct virtq_elem *e, uint16_t head)
{
    struct walk w = {q->desc_hva, q->size, q->size, false};
    uint32_t i = head;
    e->head = head;
    e->nout = e->nin = 0;
    e->out_bytes = e->in_bytes = 0;
    for (;;) {
        if (i >= w.table_len)
            return "descriptor index out of range";
        if (w.budget-- == 0)
            return "descriptor loop or chain longer than its table";
        struct desc d = read_desc(w.table, i);
        const char *why;
        if (d.flags & VIRTQ_DESC_F_INDIRECT) {
            why = enter_indirect(q, &w, &d);
            i = 0;
        } else {
            why = add_buffer(q, e, &d);
            if (!why && !(d.flags & VIRTQ_DESC_F_NEXT))
                return NULL;
            i = d.next;
        }
        if (why)
            return why;
    }
}

/* Entries the driver made available beyond our cursor, or -1 if avail->idx
 * ran more than a ring ahead. */
static int avail_pending(const struct virtq *q)
{
    uint16_t n = load16(avail_idx_ptr(q), __ATOMIC_ACQUIRE) - q->last_avail;
    return n > q->size ? -1 : n;
}

/* The ring looks empty. With event_idx, ask for a kick at the next entry,
 * then look again: the driver may have added one before it saw our
 * avail_event (the fence orders our store before that load). */
static int avail_pending_after_arm(struct virtq *q)
{
    if (!q->event_idx || q->notify_off)
        return 0;
    store16(avail_event_ptr(q), q->last_avail, __ATOMIC_RELAXED);
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    return avail_pending(q);
}

int virtq_pop(struct virtq *q, struct virtq_elem *e)
{
    if (!q->avail_hva)
        return 0;
    int pending = avail_pending(q);
    if (pending == 0)
        pending = avail_pending_after_arm(q);
    if (pending == 0)
        return 0;
    if (pending < 0) {
        warn_once(q, "available index %u more than a ring ahead of %u",
                  load16(avail_idx_ptr(q), __ATOMIC_RELAXED), q->last_avail);
        return -EINVAL;
    }
    uint16_t slot = q->last_avail & (q->size - 1);
    uint16_t head = load16((uint16_t *)(q->avail_hva + AVAIL_RING_OFF) + slot, __ATOMIC_RELAXED);
    const char *why = head < q->size ? walk_chain(q, e, head) : "head index out of range";
    if (why) {
        warn_once(q, "malformed descriptor chain (avail entry %u, head %u): %s", q->last_avail,
                  head, why);
        return -EINVAL;
    }
    q->last_avail++;
    return 1;
}

/* --- push and notifications --- */

/* Tell the memory's write notifier what the device wrote: the in[]
 * segments in order, `written` bytes in all. */
static void note_written(const struct virtq *q, const struct virtq_elem *e, uint64_t written)
{
    if (!q->mem->write_notify)
        return;
    for (unsigned i = 0; i < e->nin && written; i++) {
        uint64_t n = e->in[i].iov_len < written ? e->in[i].iov_len : written;
        guest_memory_note_write(q->mem, e->in_gpa[i], n);
        written -= n;
    }
}

void virtq_push(struct virtq *q, const struct virtq_elem *e, uint32_t written)
{
    if (!q->used_hva)
        return;
    if (written > e->in_bytes)
        written = (uint32_t)e->in_bytes;
    note_written(q, e, written);
    uint8_t *elem = q->used_hva + USED_RING_OFF + USED_ELEM_SIZE * (q->used_idx & (q->size - 1));
    put_le32(elem, e->head);
    put_le32(elem + 4, written);
    q->used_idx++;
    /* Release: the element (and the data written into the buffers) before
     * the index that publishes it. */
    store16(used_idx_ptr(q), q->used_idx, __ATOMIC_RELEASE);
}

bool virtq_should_notify(struct virtq *q)
{
    if (!q->avail_hva)
        return false;
    uint16_t old = q->signalled_used, now = q->used_idx;
    bool valid = q->signalled_valid;
    q->signalled_used = now;
    q->signalled_valid = true;
    if (valid && old == now)
        return false; /* nothing used since the last decision */
    /* Our used->idx store before the driver's suppression fields: the
     * driver writes those and then reads used->idx, the mirror image. */
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    if (!q->event_idx)
        return !(load16((uint16_t *)q->avail_hva, __ATOMIC_RELAXED) & VIRTQ_AVAIL_F_NO_INTERRUPT);
    if (!valid)
        return true;
    /* Interrupt iff used_event lies in [old, now): the driver asked to hear
     * when the entry at used_event was filled. */
    uint16_t event = load16(used_event_ptr(q), __ATOMIC_RELAXED);
    return (uint16_t)(now - event - 1) < (uint16_t)(now - old);
}

void virtq_disable_notify(struct virtq *q)
{
    q->notify_off = true;
    /* With event_idx, leaving avail_event behind the ring is enough. */
    if (q->used_hva && !q->event_idx)
        store16(used_flags_ptr(q), VIRTQ_USED_F_NO_NOTIFY, __ATOMIC_RELAXED);
}

void virtq_enable_notify(struct virtq *q)
{
    q->notify_off = false;
    if (!q->used_hva)
        return;
    if (q->event_idx)
        store16(avail_event_ptr(q), q->last_avail, __ATOMIC_RELAXED);
    else
        store16(used_flags_ptr(q), 0, __ATOMIC_RELAXED);
    /* Before the caller's next look at avail->idx. */
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
}

/* --- iovec copies --- */

/* Copy between buf and the bytes of iov from offset off on. */
static size_t iov_copy(const struct iovec *iov, unsigned n, size_t off, uint8_t *buf, size_t len,
                       bool to_iov)
{
    size_t done = 0;
    for (unsigned i = 0; i < n && done < len; i++) {
        if (off >= iov[i].iov_len) {
            off -= iov[i].iov_len;
            continue;
        }
        size_t chunk = iov[i].iov_len - off;
        if (chunk > len - done)
            chunk = len - done;
        uint8_t *seg = (uint8_t *)iov[i].iov_base + off;
        if (to_iov)
            memcpy(seg, buf + done, chunk);
        else
            memcpy(buf + done, seg, chunk);
        done += chunk;
        off = 0;
    }
    return done;
}

size_t iov_to_buf(const struct iovec *iov, unsigned n, size_t off, void *buf, size_t len)
{
    return iov_copy(iov, n, off, buf, len, false);
}

size_t iov_from_buf(const struct iovec *iov, unsigned n, size_t off, const void *buf, size_t len)
{
    /* iov_copy only reads buf when copying into the iovecs. */
    return iov_copy(iov, n, off, (uint8_t *)buf, len, true);
}
