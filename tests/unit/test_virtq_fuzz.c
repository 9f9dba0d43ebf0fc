/* Randomized virtqueue test: random (mostly malformed) descriptor tables,
 * indirect tables and avail rings in a guest memory with an MMIO hole, and
 * after every pop a comparison with a reference walker written
 * independently of virtq.c (visited sets instead of budgets, its own RAM
 * arithmetic, reading through guest_memory_read). Checked each time:
 *   - pop's answer (chain, empty, malformed) is the reference's;
 *   - a popped chain's segments are the reference's, every iovec lies in
 *     the host mapping of one RAM region, the counts are within
 *     VIRTQ_MAX_SEGS and the byte totals are the sums of the descriptors;
 *   - -EINVAL leaves both cursors where they were;
 *   - push writes the used element the driver expects and tells the write
 *     notifier exactly the first `written` bytes of in[];
 *   - with event_idx, an empty pop leaves avail_event at the cursor.
 * Deterministic: XUNI_FUZZ_SEED (default 1) picks the run, XUNI_FUZZ_ITERS
 * (default small, for make test; make fuzz runs many) the number of cases,
 * XUNI_FUZZ_FIRST the first case (to replay a failure reported as "seed S
 * case C"). Under ASan/UBSan any out-of-bounds access or UB aborts. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>

#include "hw/virtio/virtq.h"
#include "util/log.h"
#include "vm/layout.h"
#include "virtq_rig.h"

#define DEFAULT_ITERS 10000
#define MiB           (1ULL << 20)
#define RAM           (LAYOUT_MMIO_HOLE_START + 2 * MiB) /* low RAM, hole, 2 MiB high */
#define TABLES        (RIG_BUF + 2 * MiB)                /* indirect tables live here */
#define TABLES_SIZE   (256 * 1024ULL)
#define POPS_PER_CASE 12

/* --- deterministic randomness (splitmix64) --- */

static uint64_t rng;

static uint64_t rnd(void)
{
    uint64_t z = (rng += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static uint64_t below(uint64_t n)
{
    return n ? rnd() % n : 0;
}

static bool chance(unsigned percent)
{
    return below(100) < percent;
}

static uint64_t env_u64(const char *name, uint64_t def)
{
    const char *s = getenv(name);
    return s && *s ? strtoull(s, NULL, 0) : def;
}

/* --- the reference walker --- */

enum ref_result {
    REF_CHAIN,
    REF_EMPTY,
    REF_AHEAD,       /* avail->idx more than a ring ahead */
    REF_BAD_INDEX,   /* head or next out of its table */
    REF_LOOP,        /* a descriptor visited twice */
    REF_NO_FEATURE,  /* indirect without the feature */
    REF_NESTED,      /* indirect inside indirect */
    REF_INDIR_NEXT,  /* indirect with NEXT */
    REF_INDIR_LEN,   /* table length 0 or not a multiple of 16 */
    REF_INDIR_RAM,   /* table outside RAM */
    REF_ZERO_LEN,    /* a zero-length buffer */
    REF_OUTSIDE_RAM, /* a buffer outside RAM */
    REF_DIRECTION,   /* readable after writable */
    REF_TOO_MANY,    /* more than VIRTQ_MAX_SEGS in one direction */
    REF_TOO_LONG,    /* more than 2^32 bytes */
    REF_COUNT
};

struct ref_seg {
    uint64_t gpa;
    uint32_t len;
    bool write;
};

struct ref_chain {
    uint16_t head;
    unsigned nseg, nout, nin;
    uint64_t out_bytes, in_bytes;
    struct ref_seg seg[2 * VIRTQ_MAX_SEGS];
};

/* Visited descriptors of the current table: a bitmap for small indices,
 * a list for the rest (walks are short: at most 2 * VIRTQ_MAX_SEGS + 2). */
struct visited {
    uint64_t bits[1024];
    uint32_t list[2 * VIRTQ_MAX_SEGS + 4];
    unsigned n;
};

static bool visit(struct visited *v, uint32_t i)
{
    for (unsigned k = 0; i >= 65536 && k < v->n; k++)
        if (v->list[k] == i)
            return false;
    if (i < 65536) {
        if (v->bits[i / 64] >> (i % 64) & 1)
            return false;
        v->bits[i / 64] |= 1ULL << (i % 64);
    }
    v->list[v->n++] = i;
    return true;
}

static void visited_clear(struct visited *v)
{
    for (unsigned k = 0; k < v->n; k++)
        if (v->list[k] < 65536)
            v->bits[v->list[k] / 64] = 0;
    v->n = 0;
}

static bool ref_in_ram(const struct guest_memory *mem, uint64_t gpa, uint64_t len)
{
    for (unsigned i = 0; i < mem->nregions; i++) {
        unsigned __int128 end = (unsigned __int128)gpa + len;
        if (gpa >= mem->regions[i].gpa && end <= mem->regions[i].gpa + mem->regions[i].size)
            return true;
    }
    return false;
}

struct ref_desc {
    uint64_t addr;
    uint32_t len;
    uint16_t flags, next;
};

static struct ref_desc ref_read(const struct guest_memory *mem, uint64_t gpa)
{
    struct ref_desc d;
    uint8_t raw[16];
    if (guest_memory_read(mem, gpa, raw, 16))
        abort();
    memcpy(&d.addr, raw, 8);
    memcpy(&d.len, raw + 8, 4);
    memcpy(&d.flags, raw + 12, 2);
    memcpy(&d.next, raw + 14, 2);
    return d;
}

static enum ref_result ref_walk(const struct virtq *q, uint16_t head, struct ref_chain *c,
                                struct visited *v)
{
    uint64_t table = q->desc_gpa, n = q->size;
    uint32_t i = head;
    bool indirect = false;
    *c = (struct ref_chain){.head = head};
    visited_clear(v);
    for (;;) {
        if (i >= n)
            return REF_BAD_INDEX;
        if (!visit(v, i))
            return REF_LOOP;
        struct ref_desc d = ref_read(q->mem, table + 16ULL * i);
        if (d.flags & VIRTQ_DESC_F_INDIRECT) {
            if (!q->indirect)
                return REF_NO_FEATURE;
            if (indirect)
                return REF_NESTED;
            if (d.flags & VIRTQ_DESC_F_NEXT)
                return REF_INDIR_NEXT;
            if (d.len == 0 || d.len % 16)
                return REF_INDIR_LEN;
            if (!ref_in_ram(q->mem, d.addr, d.len))
                return REF_INDIR_RAM;
            table = d.addr;
            n = d.len / 16;
            i = 0;
            indirect = true;
            visited_clear(v);
            continue;
        }
        if (d.len == 0)
            return REF_ZERO_LEN;
        if (!ref_in_ram(q->mem, d.addr, d.len))
            return REF_OUTSIDE_RAM;
        bool write = d.flags & VIRTQ_DESC_F_WRITE;
        if (!write && c->nin)
            return REF_DIRECTION;
        if ((write ? ++c->nin : ++c->nout) > VIRTQ_MAX_SEGS)
            return REF_TOO_MANY;
        *(write ? &c->in_bytes : &c->out_bytes) += d.len;
        if (c->in_bytes + c->out_bytes > 1ULL << 32)
            return REF_TOO_LONG;
        c->seg[c->nseg++] = (struct ref_seg){d.addr, d.len, write};
        if (!(d.flags & VIRTQ_DESC_F_NEXT))
            return REF_CHAIN;
        i = d.next;
    }
}

static enum ref_result ref_pop(struct vq_rig *r, struct ref_chain *c, struct visited *v)
{
    const struct virtq *q = &r->q;
    uint16_t pending = rig_get16(r, RIG_AVAIL + 2) - q->last_avail;
    if (pending == 0)
        return REF_EMPTY;
    if (pending > q->size)
        return REF_AHEAD;
    uint16_t head = rig_get16(r, RIG_AVAIL + 4 + 2ULL * (q->last_avail % q->size));
    if (head >= q->size)
        return REF_BAD_INDEX;
    return ref_walk(q, head, c, v);
}

/* --- random rings --- */

struct fuzz {
    struct vq_rig r;
    struct ref_chain ref;
    struct visited visited;
    uint64_t seed;
    uint64_t case_no;
    unsigned pop_no;
    uint64_t results[REF_COUNT];
};

#define CHECK(f, cond)                                                                             \
    do {                                                                                           \
        if (!(cond))                                                                               \
            fail_msg("seed %" PRIu64 " case %" PRIu64 " pop %u: %s", (f)->seed, (f)->case_no,      \
                     (f)->pop_no, #cond);                                                          \
    } while (0)

static uint64_t random_addr(void)
{
    static const uint64_t edges[] = {
        0,
        RAM - 2 * MiB,
        LAYOUT_MMIO_HOLE_START,
        LAYOUT_RAM_ABOVE_4G,
        LAYOUT_RAM_ABOVE_4G + 2 * MiB,
        LAYOUT_IOAPIC_BASE,
        ~0ULL,
    };
    switch (below(10)) {
    case 0:
        return edges[below(sizeof(edges) / sizeof(edges[0]))] - below(64) + below(64);
    case 1:
        return rnd();
    case 2:
        return TABLES + 16 * below(TABLES_SIZE / 16);
    default:
        return RIG_BUF + below(2 * MiB);
    }
}

static uint32_t random_len(void)
{
    switch (below(12)) {
    case 0:
        return 0;
    case 1:
        return (uint32_t)rnd();
    case 2:
        return 0xffffffffu - (uint32_t)below(4);
    case 3:
        return 16 * (uint32_t)below(64); /* a table length, or 0 */
    case 4:
        return (uint32_t)below(64 * MiB);
    default:
        return 1 + (uint32_t)below(4096);
    }
}

/* Mostly plausible flags; NEXT usually set so chains have length. */
static uint16_t random_flags(void)
{
    uint16_t f = 0;
    if (chance(70))
        f |= VIRTQ_DESC_F_NEXT;
    if (chance(35))
        f |= VIRTQ_DESC_F_WRITE;
    if (chance(8))
        f |= VIRTQ_DESC_F_INDIRECT;
    if (chance(3))
        f |= (uint16_t)(rnd() & 0xfff8); /* unknown bits are ignored */
    return f;
}

static uint16_t random_next(unsigned i, uint64_t n)
{
    if (chance(50))
        return (uint16_t)(i + 1); /* sequential: the end may run past the table */
    if (chance(90))
        return (uint16_t)below(n);
    return (uint16_t)rnd();
}

/* A descriptor likely to make a valid buffer (or indirect descriptor). */
static void random_desc(struct fuzz *f, uint64_t table, unsigned i, uint64_t n)
{
    uint64_t addr = random_addr();
    uint32_t len = random_len();
    uint16_t flags = random_flags();
    if ((flags & VIRTQ_DESC_F_INDIRECT) && chance(70)) {
        /* Aim at the table area with a sane length, most of the time. */
        uint64_t entries = 1 + below(chance(10) ? 2048 : 16);
        addr = TABLES + 16 * below(TABLES_SIZE / 16 - entries);
        len = (uint32_t)(16 * entries);
        if (chance(80))
            flags &= (uint16_t)~VIRTQ_DESC_F_NEXT;
    }
    rig_desc(&f->r, table, i, addr, len, flags, random_next(i, n));
}

/* A valid buffer: small and anywhere in the buffer area, or now and then
 * gigabytes long from the bottom of RAM (chains of those pass 2^32 bytes). */
static void plant_buffer(uint64_t *addr, uint32_t *len, bool huge_ok)
{
    if (huge_ok && chance(3)) {
        *addr = below(MiB);
        *len = 0x40000000u + (uint32_t)below(0x80000000u);
    } else {
        *addr = RIG_BUF + below(2 * MiB - 4096);
        *len = 1 + (uint32_t)below(4096);
    }
}

/* A valid indirect table of n entries at a random place in TABLES, its
 * first nread entries readable: its gpa. One more valid entry follows the
 * table, where a walk that overran its end would find it. */
static uint64_t plant_table(struct fuzz *f, unsigned n, unsigned nread)
{
    uint64_t at = TABLES + 16 * below(TABLES_SIZE / 16 - n - 1);
    for (unsigned k = 0; k <= n; k++) {
        uint64_t addr;
        uint32_t len;
        plant_buffer(&addr, &len, n < 64); /* long tables: to reach VIRTQ_MAX_SEGS */
        rig_desc(&f->r, at, k, addr, len,
                 (k < nread ? 0 : VIRTQ_DESC_F_WRITE) | (k + 1 < n ? VIRTQ_DESC_F_NEXT : 0),
                 (uint16_t)(k + 1));
    }
    return at;
}

/* One field of descriptor i of `table` made random, or the descriptor made
 * an indirect one with a good table behind it (so only the indirect rules
 * can object). */
static void corrupt(struct fuzz *f, uint64_t table, unsigned i)
{
    uint64_t gpa = table + 16ULL * i;
    unsigned n = 1 + (unsigned)below(4);
    switch (below(6)) {
    case 0:
        rig_put(&f->r, gpa, &(uint64_t){random_addr()}, 8);
        break;
    case 1:
        rig_put(&f->r, gpa + 8, &(uint32_t){random_len()}, 4);
        break;
    case 2:
        rig_put16(&f->r, gpa + 12, rig_get16(&f->r, gpa + 12) ^ (uint16_t)(1u << below(3)));
        break;
    case 3:
        rig_put16(&f->r, gpa + 14, (uint16_t)(chance(50) ? below(4) : rnd()));
        break;
    case 4:
        rig_put16(&f->r, gpa + 12, rig_get16(&f->r, gpa + 12) | VIRTQ_DESC_F_NEXT);
        break;
    default:
        rig_desc(&f->r, table, i, plant_table(f, n, chance(50) ? n : 0), 16 * n,
                 VIRTQ_DESC_F_INDIRECT, 0);
        break;
    }
}

static void plant_desc(struct fuzz *f, unsigned i, uint16_t flags, uint16_t next)
{
    uint64_t addr;
    uint32_t len;
    plant_buffer(&addr, &len, true);
    rig_desc(&f->r, RIG_DESC, i, addr, len, flags, next);
}

/* A valid chain at a random head (distinct descriptors: an odd stride
 * through a power-of-two table), maybe ending in an indirect table, then
 * maybe one field broken: its head. */
static uint16_t plant_chain(struct fuzz *f)
{
    struct virtq *q = &f->r.q;
    unsigned len = 1 + (unsigned)below(chance(10) ? q->size : (q->size < 6 ? q->size : 6));
    unsigned start = (unsigned)below(q->size), stride = 1 + 2 * (unsigned)below(q->size);
    unsigned nread = (unsigned)below(len + 1);
    bool indirect = (q->indirect || chance(10)) && chance(40);
    uint64_t table = 0;
    unsigned tlen = 0;
    if (indirect) {
        tlen = chance(8) ? 1000 + (unsigned)below(60) : 1 + (unsigned)below(40);
        unsigned tread = nread == len ? (chance(50) ? tlen : (unsigned)below(tlen + 1)) : 0;
        table = plant_table(f, tlen, tread);
    }
    for (unsigned k = 0; k < len; k++) {
        unsigned i = (start + k * stride) & (q->size - 1);
        unsigned next = (start + (k + 1) * stride) & (q->size - 1);
        bool last = k + 1 == len;
        if (last && indirect)
            rig_desc(&f->r, RIG_DESC, i, table, 16 * tlen, VIRTQ_DESC_F_INDIRECT, 0);
        else
            plant_desc(f, i, (k < nread ? 0 : VIRTQ_DESC_F_WRITE) | (last ? 0 : VIRTQ_DESC_F_NEXT),
                       (uint16_t)next);
    }
    if (chance(35)) {
        if (indirect && chance(50))
            corrupt(f, table, (unsigned)below(tlen));
        else
            corrupt(f, RIG_DESC, (start + (unsigned)below(len) * stride) & (q->size - 1));
    }
    return (uint16_t)start;
}

/* A fresh queue: random size, features, cursors, descriptors, tables. */
static void random_queue(struct fuzz *f)
{
    struct vq_rig *r = &f->r;
    /* Each case starts from the same memory, so it can be replayed alone. */
    memset(rig_hva(r, RIG_DESC), 0, 16 * VIRTQ_MAX_SIZE);
    memset(rig_hva(r, TABLES), 0, TABLES_SIZE);
    virtq_reset(&r->q);
    r->q.size = (uint16_t)(1u << below(11));
    r->q.indirect = chance(60);
    r->q.event_idx = chance(50);
    r->q.desc_gpa = RIG_DESC;
    r->q.avail_gpa = RIG_AVAIL;
    r->q.used_gpa = RIG_USED;
    r->q.broken_logged = true; /* quiet */
    uint16_t start = chance(30) ? (uint16_t)(65535 - below(8)) : (uint16_t)rnd();
    r->q.last_avail = start;
    r->q.used_idx = (uint16_t)rnd();
    rig_put16(r, RIG_USED + 2, r->q.used_idx);
    CHECK(f, virtq_setup(&r->q) == 0);
    /* A few past the table too, where a walk that overran it would look. */
    for (unsigned i = 0; i < r->q.size + 8u; i++)
        random_desc(f, RIG_DESC, i, r->q.size);
    for (unsigned k = 0, n = (unsigned)below(256); k < n; k++)
        random_desc(f, TABLES, (unsigned)below(TABLES_SIZE / 16), 1 + below(64));
    bool planted = chance(70);
    for (unsigned i = 0; i < r->q.size; i++) {
        uint16_t head = chance(95) ? (uint16_t)below(r->q.size) : (uint16_t)rnd();
        if (planted && i < POPS_PER_CASE)
            head = plant_chain(f);
        rig_put16(r, RIG_AVAIL + 4 + 2ULL * ((start + i) & (r->q.size - 1)), head);
    }
    uint16_t ahead = chance(92) ? (uint16_t)below(r->q.size + 1u) : (uint16_t)rnd();
    rig_set_avail_idx(r, (uint16_t)(start + ahead));
    rig_put16(r, RIG_AVAIL, chance(50) ? VIRTQ_AVAIL_F_NO_INTERRUPT : 0);
    rig_put16(r, rig_used_event_gpa(r), (uint16_t)rnd());
}

/* --- checks --- */

static bool in_one_region(const struct guest_memory *mem, const struct iovec *iov)
{
    uintptr_t p = (uintptr_t)iov->iov_base;
    for (unsigned i = 0; i < mem->nregions; i++) {
        uintptr_t host = (uintptr_t)mem->regions[i].host;
        if (p >= host && p - host <= mem->regions[i].size &&
            iov->iov_len <= mem->regions[i].size - (p - host))
            return true;
    }
    return false;
}

static void check_chain(struct fuzz *f)
{
    const struct virtq_elem *e = f->r.e;
    const struct ref_chain *c = &f->ref;
    CHECK(f, e->head == c->head);
    CHECK(f, e->nout == c->nout && e->nin == c->nin);
    CHECK(f, e->nout <= VIRTQ_MAX_SEGS && e->nin <= VIRTQ_MAX_SEGS);
    CHECK(f, e->out_bytes == c->out_bytes && e->in_bytes == c->in_bytes);
    uint64_t out_sum = 0, in_sum = 0;
    for (unsigned k = 0; k < c->nseg; k++) {
        const struct ref_seg *s = &c->seg[k];
        const struct iovec *iov = s->write ? &e->in[k - c->nout] : &e->out[k];
        CHECK(f, in_one_region(&f->r.mem, iov));
        CHECK(f, iov->iov_len == s->len);
        CHECK(f, iov->iov_base == guest_memory_ptr(&f->r.mem, s->gpa, s->len));
        if (s->write) {
            CHECK(f, e->in_gpa[k - c->nout] == s->gpa);
            in_sum += iov->iov_len;
        } else {
            out_sum += iov->iov_len;
        }
    }
    CHECK(f, out_sum == e->out_bytes && in_sum == e->in_bytes);
}

static void check_push(struct fuzz *f)
{
    struct vq_rig *r = &f->r;
    const struct virtq_elem *e = r->e;
    uint32_t written = chance(10) ? (uint32_t)rnd() : (uint32_t)below(e->in_bytes + 1);
    uint64_t expect = written < e->in_bytes ? written : e->in_bytes;
    uint16_t slot = r->q.used_idx & (r->q.size - 1), before = r->q.used_idx;
    r->nnotes = 0;
    virtq_push(&r->q, e, written);
    CHECK(f, r->q.used_idx == (uint16_t)(before + 1));
    CHECK(f, rig_used_idx(r) == r->q.used_idx);
    uint32_t id, len;
    rig_used_elem(r, slot, &id, &len);
    CHECK(f, id == e->head && len == expect);
    CHECK(f, r->nnotes <= e->nin);
    uint64_t noted = 0;
    for (unsigned k = 0; k < r->nnotes; k++) {
        CHECK(f, r->note_gpa[k] == e->in_gpa[k]);
        CHECK(f, r->note_len[k] > 0 && r->note_len[k] <= e->in[k].iov_len);
        /* Only the last range noted may be partial. */
        CHECK(f, k + 1 == r->nnotes || r->note_len[k] == e->in[k].iov_len);
        noted += r->note_len[k];
    }
    CHECK(f, noted == expect);
}

static void one_pop(struct fuzz *f)
{
    struct vq_rig *r = &f->r;
    uint16_t last = r->q.last_avail, used = r->q.used_idx;
    enum ref_result want = ref_pop(r, &f->ref, &f->visited);
    int got = virtq_pop(&r->q, r->e);
    f->results[want]++;
    if (want == REF_CHAIN) {
        CHECK(f, got == 1);
        CHECK(f, r->q.last_avail == (uint16_t)(last + 1));
        check_chain(f);
        if (chance(80))
            check_push(f);
    } else if (want == REF_EMPTY) {
        CHECK(f, got == 0);
        CHECK(f, r->q.last_avail == last);
        if (r->q.event_idx && !r->q.notify_off)
            CHECK(f, rig_get16(r, rig_avail_event_gpa(r)) == last);
    } else {
        CHECK(f, got == -EINVAL);
        CHECK(f, r->q.last_avail == last && r->q.used_idx == used);
    }
    CHECK(f, r->q.used_idx == used || r->q.used_idx == (uint16_t)(used + 1));
}

/* The spec's rule, spelled out: with event_idx, interrupt iff one of the
 * used entries filled since the last decision is the one at used_event. */
static void check_should_notify(struct fuzz *f)
{
    struct vq_rig *r = &f->r;
    uint16_t old = r->q.signalled_used, now = r->q.used_idx;
    bool valid = r->q.signalled_valid, expect;
    if (valid && old == now)
        expect = false;
    else if (!r->q.event_idx)
        expect = !(rig_get16(r, RIG_AVAIL) & VIRTQ_AVAIL_F_NO_INTERRUPT);
    else if (!valid)
        expect = true;
    else {
        uint16_t event = rig_get16(r, rig_used_event_gpa(r));
        expect = false;
        for (uint16_t k = old; k != now; k++)
            expect |= k == event;
    }
    CHECK(f, virtq_should_notify(&r->q) == expect);
    CHECK(f, r->q.signalled_valid && r->q.signalled_used == now);
    if (chance(30))
        rig_put16(r, rig_used_event_gpa(r), (uint16_t)(now + below(4) - 2));
}

/* Between pops the driver may change things. */
static void driver_moves(struct fuzz *f)
{
    struct vq_rig *r = &f->r;
    if (chance(20))
        random_desc(f, RIG_DESC, (unsigned)below(r->q.size), r->q.size);
    if (chance(10))
        rig_set_avail_idx(r, (uint16_t)(r->avail_idx + below(3)));
    if (chance(20))
        check_should_notify(f);
    if (chance(5))
        virtq_disable_notify(&r->q);
    if (chance(5))
        virtq_enable_notify(&r->q);
}

static void test_virtq_random(void **state)
{
    (void)state;
    static struct fuzz f; /* large: keep it off the stack */
    f.seed = env_u64("XUNI_FUZZ_SEED", 1);
    uint64_t iters = env_u64("XUNI_FUZZ_ITERS", DEFAULT_ITERS);
    uint64_t first = env_u64("XUNI_FUZZ_FIRST", 0);
    assert_int_equal(rig_init(&f.r, RAM, 8, false, false), 0);
    for (f.case_no = first; f.case_no < first + iters; f.case_no++) {
        rng = f.seed * 0x100000001b3ULL ^ f.case_no;
        f.pop_no = 0;
        random_queue(&f);
        for (f.pop_no = 0; f.pop_no < POPS_PER_CASE; f.pop_no++) {
            one_pop(&f);
            driver_moves(&f);
        }
    }
    rig_destroy(&f.r);
    if (getenv("XUNI_FUZZ_ITERS")) {
        static const char *const names[REF_COUNT] = {
            "chain",   "empty",   "ahead",    "index",   "loop", "nofeat",   "nested",  "ind-next",
            "ind-len", "ind-ram", "zero-len", "outside", "dir",  "too-many", "too-long"};
        fprintf(stderr, "# %" PRIu64 " cases:", iters);
        for (unsigned k = 0; k < REF_COUNT; k++)
            fprintf(stderr, " %s %" PRIu64, names[k], f.results[k]);
        fprintf(stderr, "\n");
    }
    /* The generator must reach every outcome, or the run proves little. */
    for (unsigned k = 0; k < REF_COUNT && iters >= 4000; k++)
        if (!f.results[k])
            fail_msg("seed %" PRIu64 ": outcome %u never generated", f.seed, k);
}

int main(void)
{
    log_set_stream(fopen("/dev/null", "w"));
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_virtq_random),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
