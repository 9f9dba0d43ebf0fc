#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <unistd.h>

#include "hw/virtio/virtq.h"
#include "util/log.h"
#include "vm/layout.h"
#include "virtq_rig.h"

#define MiB      (1ULL << 20)
#define RAM      (4 * MiB)
#define F_NEXT   VIRTQ_DESC_F_NEXT
#define F_WRITE  VIRTQ_DESC_F_WRITE
#define F_INDIR  VIRTQ_DESC_F_INDIRECT
#define TABLE    (RIG_BUF + 0x80000)                /* an indirect table */
#define BIG_RAM  (LAYOUT_MMIO_HOLE_START + 8 * MiB) /* RAM below the hole and above 4 GiB */
#define LOW_END  LAYOUT_MMIO_HOLE_START
#define HIGH_END (LAYOUT_RAM_ABOVE_4G + 8 * MiB)

static FILE *log_capture;

/* Log lines written since the last call. */
static unsigned logged_lines(void)
{
    fflush(log_capture);
    long end = ftell(log_capture);
    rewind(log_capture);
    unsigned n = 0;
    int c;
    while (ftell(log_capture) < end && (c = fgetc(log_capture)) != EOF)
        n += c == '\n';
    rewind(log_capture);
    if (ftruncate(fileno(log_capture), 0))
        abort();
    return n;
}

static int setup_log(void **state)
{
    (void)state;
    log_capture = tmpfile();
    log_set_stream(log_capture);
    return 0;
}

static int teardown_log(void **state)
{
    (void)state;
    log_set_stream(NULL);
    fclose(log_capture);
    return 0;
}

/* A one-descriptor chain at head 0 in a fresh 8-entry queue. */
static void one_buffer(struct vq_rig *r, uint64_t addr, uint32_t len, uint16_t flags)
{
    rig_desc(r, RIG_DESC, 0, addr, len, flags, 0);
    rig_avail_add(r, 0);
}

/* Pop must refuse the chain, keep the cursors, and refuse it again. */
static void expect_malformed(struct vq_rig *r)
{
    uint16_t last = r->q.last_avail, used = r->q.used_idx;
    assert_int_equal(virtq_pop(&r->q, r->e), -EINVAL);
    assert_int_equal(r->q.last_avail, last);
    assert_int_equal(r->q.used_idx, used);
    assert_int_equal(virtq_pop(&r->q, r->e), -EINVAL);
    assert_int_equal(r->q.last_avail, last);
}

/* One buffer as the only descriptor of a chain, in RAM of `ram` bytes:
 * pop's answer. */
static int pop_one(uint64_t ram, uint64_t addr, uint32_t len)
{
    struct vq_rig r;
    assert_int_equal(rig_init(&r, ram, 8, false, false), 0);
    one_buffer(&r, addr, len, 0);
    int ret = virtq_pop(&r.q, r.e);
    if (ret == 1) {
        assert_ptr_equal(r.e->out[0].iov_base, guest_memory_ptr(&r.mem, addr, len));
        assert_int_equal(r.e->out[0].iov_len, len);
    } else {
        assert_int_equal(r.q.last_avail, 0);
    }
    rig_destroy(&r);
    return ret;
}

/* --- setup --- */

static void test_setup_checks_rings(void **state)
{
    (void)state;
    struct vq_rig r;
    assert_int_equal(rig_init(&r, RAM, 256, false, false), 0);
    assert_non_null(r.q.desc_hva);
    struct virtq good = r.q;
    struct {
        uint64_t *field, value;
    } bad[] = {
        {&r.q.desc_gpa, RIG_DESC + 8},             /* 16-byte alignment */
        {&r.q.avail_gpa, RIG_AVAIL + 1},           /* 2-byte alignment */
        {&r.q.used_gpa, RIG_USED + 2},             /* 4-byte alignment */
        {&r.q.desc_gpa, RAM - 16 * 256 + 16},      /* table runs past RAM */
        {&r.q.avail_gpa, RAM - (6 + 2 * 256) + 2}, /* used_event past RAM */
        {&r.q.used_gpa, RAM - (6 + 8 * 256) + 4},  /* avail_event past RAM */
        {&r.q.used_gpa, LAYOUT_IOAPIC_BASE},       /* MMIO */
    };
    for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        r.q = good;
        *bad[i].field = bad[i].value;
        assert_int_equal(virtq_setup(&r.q), -EINVAL);
        assert_null(r.q.avail_hva);
        /* Nothing is popped from a queue that failed setup. */
        assert_int_equal(virtq_pop(&r.q, r.e), 0);
    }
    /* The last bytes of RAM are fine. */
    r.q = good;
    r.q.avail_gpa = RAM - (6 + 2 * 256);
    assert_int_equal(virtq_setup(&r.q), 0);
    uint16_t sizes[] = {0, 3, 48, 2048};
    for (unsigned i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
        r.q = good;
        r.q.size = sizes[i];
        assert_int_equal(virtq_setup(&r.q), -EINVAL);
    }
    r.q = good;
    r.q.size = VIRTQ_MAX_SIZE;
    assert_int_equal(virtq_setup(&r.q), 0);
    logged_lines();
    rig_destroy(&r);
}

static void test_reset_keeps_identity(void **state)
{
    (void)state;
    struct vq_rig r;
    assert_int_equal(rig_init(&r, RAM, 8, true, true), 0);
    r.q.index = 3;
    r.q.last_avail = r.q.used_idx = 7;
    r.q.broken_logged = true;
    virtq_reset(&r.q);
    assert_ptr_equal(r.q.mem, &r.mem);
    assert_int_equal(r.q.index, 3);
    assert_string_equal(r.q.name, "test");
    assert_true(r.q.broken_logged);
    assert_int_equal(r.q.size, 0);
    assert_int_equal(r.q.last_avail, 0);
    assert_int_equal(r.q.used_idx, 0);
    assert_false(r.q.ready || r.q.event_idx || r.q.indirect);
    assert_null(r.q.desc_hva);
    assert_int_equal(virtq_pop(&r.q, r.e), 0);
    rig_destroy(&r);
}

/* --- chains --- */

static void test_empty_ring(void **state)
{
    (void)state;
    struct vq_rig r;
    assert_int_equal(rig_init(&r, RAM, 8, false, false), 0);
    assert_int_equal(virtq_pop(&r.q, r.e), 0);
    rig_destroy(&r);
}

static void test_simple_chain(void **state)
{
    (void)state;
    struct vq_rig r;
    assert_int_equal(rig_init(&r, RAM, 8, false, false), 0);
    one_buffer(&r, RIG_BUF, 512, 0);
    assert_int_equal(virtq_pop(&r.q, r.e), 1);
    assert_int_equal(r.e->head, 0);
    assert_int_equal(r.e->nout, 1);
    assert_int_equal(r.e->nin, 0);
    assert_ptr_equal(r.e->out[0].iov_base, rig_hva(&r, RIG_BUF));
    assert_int_equal(r.e->out[0].iov_len, 512);
    assert_int_equal(r.e->out_bytes, 512);
    assert_int_equal(r.e->in_bytes, 0);
    assert_int_equal(r.q.last_avail, 1);
    assert_int_equal(virtq_pop(&r.q, r.e), 0);
    rig_destroy(&r);
}

static void test_out_in_split(void **state)
{
    (void)state;
    struct vq_rig r;
    assert_int_equal(rig_init(&r, RAM, 8, false, false), 0);
    /* Head 5 -> 2 -> 7 -> 0: two readable, then two writable. */
    rig_desc(&r, RIG_DESC, 5, RIG_BUF, 16, F_NEXT, 2);
    rig_desc(&r, RIG_DESC, 2, RIG_BUF + 0x1000, 4096, F_NEXT, 7);
    rig_desc(&r, RIG_DESC, 7, RIG_BUF + 0x3000, 1000, F_NEXT | F_WRITE, 0);
    rig_desc(&r, RIG_DESC, 0, RIG_BUF + 0x5001, 1, F_WRITE, 6); /* next ignored without NEXT */
    rig_avail_add(&r, 5);
    assert_int_equal(virtq_pop(&r.q, r.e), 1);
    assert_int_equal(r.e->head, 5);
    assert_int_equal(r.e->nout, 2);
    assert_int_equal(r.e->nin, 2);
    assert_ptr_equal(r.e->out[0].iov_base, rig_hva(&r, RIG_BUF));
    assert_ptr_equal(r.e->out[1].iov_base, rig_hva(&r, RIG_BUF + 0x1000));
    assert_ptr_equal(r.e->in[0].iov_base, rig_hva(&r, RIG_BUF + 0x3000));
    assert_ptr_equal(r.e->in[1].iov_base, rig_hva(&r, RIG_BUF + 0x5001));
    assert_int_equal(r.e->in[0].iov_len, 1000);
    assert_int_equal(r.e->in_gpa[0], RIG_BUF + 0x3000);
    assert_int_equal(r.e->in_gpa[1], RIG_BUF + 0x5001);
    assert_int_equal(r.e->out_bytes, 16 + 4096);
    assert_int_equal(r.e->in_bytes, 1001);
    rig_destroy(&r);
}

static void test_write_only_chain(void **state)
{
    (void)state;
    struct vq_rig r;
    assert_int_equal(rig_init(&r, RAM, 8, false, false), 0);
    one_buffer(&r, RIG_BUF, 64, F_WRITE);
    assert_int_equal(virtq_pop(&r.q, r.e), 1);
    assert_int_equal(r.e->nout, 0);
    assert_int_equal(r.e->nin, 1);
    assert_int_equal(r.e->in_bytes, 64);
    rig_destroy(&r);
}

static void test_readable_after_writable(void **state)
{
    (void)state;
    struct vq_rig r;
    assert_int_equal(rig_init(&r, RAM, 8, false, false), 0);
    rig_desc(&r, RIG_DESC, 0, RIG_BUF, 16, F_NEXT | F_WRITE, 1);
    rig_desc(&r, RIG_DESC, 1, RIG_BUF + 16, 16, 0, 0);
    rig_avail_add(&r, 0);
    expect_malformed(&r);
    rig_destroy(&r);
}

static void test_zero_length_buffer(void **state)
{
    (void)state;
    struct vq_rig r;
    assert_int_equal(rig_init(&r, RAM, 8, false, false), 0);
    rig_desc(&r, RIG_DESC, 0, RIG_BUF, 16, F_NEXT, 1);
    rig_desc(&r, RIG_DESC, 1, RIG_BUF, 0, F_WRITE, 0);
    rig_avail_add(&r, 0);
    expect_malformed(&r);
    rig_destroy(&r);
}

static void test_index_out_of_range(void **state)
{
    (void)state;
    struct vq_rig r;
    /* Valid descriptors just past the table must not be reached. */
    assert_int_equal(rig_init(&r, RAM, 8, false, false), 0);
    rig_desc(&r, RIG_DESC, 8, RIG_BUF, 16, 0, 0);
    rig_avail_add(&r, 8); /* head */
    expect_malformed(&r);
    rig_destroy(&r);

    assert_int_equal(rig_init(&r, RAM, 8, false, false), 0);
    rig_desc(&r, RIG_DESC, 8, RIG_BUF, 16, 0, 0);
    rig_desc(&r, RIG_DESC, 0, RIG_BUF, 16, F_NEXT, 8); /* next */
    rig_avail_add(&r, 0);
    expect_malformed(&r);
    rig_destroy(&r);

    assert_int_equal(rig_init(&r, RAM, 8, false, false), 0);
    rig_avail_add(&r, 0xffff);
    expect_malformed(&r);
    rig_destroy(&r);
}

static void test_buffers_outside_ram(void **state)
{
    (void)state;
    assert_int_equal(pop_one(RAM, RAM - 16, 16), 1);       /* the last bytes of RAM */
    assert_int_equal(pop_one(RAM, RAM - 16, 17), -EINVAL); /* straddles the end */
    assert_int_equal(pop_one(RAM, RAM, 1), -EINVAL);
    assert_int_equal(pop_one(RAM, LAYOUT_IOAPIC_BASE, 4), -EINVAL);
    assert_int_equal(pop_one(RAM, ~0ULL - 7, 16), -EINVAL); /* wraps the address space */
    assert_int_equal(pop_one(RAM, 0, 0xffffffff), -EINVAL);
}

static void test_buffers_around_mmio_hole(void **state)
{
    (void)state;
    assert_int_equal(pop_one(BIG_RAM, LOW_END - 16, 16), 1);
    assert_int_equal(pop_one(BIG_RAM, LOW_END - 16, 17), -EINVAL); /* into the hole */
    assert_int_equal(pop_one(BIG_RAM, LOW_END, 16), -EINVAL);
    assert_int_equal(pop_one(BIG_RAM, LAYOUT_LAPIC_BASE, 16), -EINVAL);
    assert_int_equal(pop_one(BIG_RAM, LAYOUT_RAM_ABOVE_4G - 8, 16), -EINVAL); /* hole to 4 GiB */
    assert_int_equal(pop_one(BIG_RAM, LAYOUT_RAM_ABOVE_4G, 16), 1);
    assert_int_equal(pop_one(BIG_RAM, HIGH_END - 4096, 4096), 1);
    assert_int_equal(pop_one(BIG_RAM, HIGH_END - 4096, 4097), -EINVAL);
    /* One buffer from low RAM across the hole into high RAM: not one region. */
    assert_int_equal(pop_one(BIG_RAM, LOW_END - 4096, 0xffffffff), -EINVAL);
}

static void test_chain_total_4g(void **state)
{
    (void)state;
    struct vq_rig r;
    /* Two 2 GiB buffers are exactly the spec's 2^32 bytes; a third byte is
     * one too many. */
    assert_int_equal(rig_init(&r, BIG_RAM, 8, false, false), 0);
    rig_desc(&r, RIG_DESC, 0, 0, 0x80000000u, F_NEXT, 1);
    rig_desc(&r, RIG_DESC, 1, 0, 0x80000000u, F_WRITE, 0);
    rig_avail_add(&r, 0);
    assert_int_equal(virtq_pop(&r.q, r.e), 1);
    assert_true(r.e->out_bytes + r.e->in_bytes == 1ULL << 32);
    rig_desc(&r, RIG_DESC, 1, 0, 0x80000000u, F_WRITE | F_NEXT, 2);
    rig_desc(&r, RIG_DESC, 2, RIG_BUF, 1, F_WRITE, 0);
    rig_avail_add(&r, 0);
    expect_malformed(&r);
    rig_destroy(&r);
}

static void test_loops(void **state)
{
    (void)state;
    struct vq_rig r;
    /* A descriptor pointing at itself. */
    assert_int_equal(rig_init(&r, RAM, 8, false, false), 0);
    rig_desc(&r, RIG_DESC, 3, RIG_BUF, 16, F_NEXT, 3);
    rig_avail_add(&r, 3);
    expect_malformed(&r);
    rig_destroy(&r);
    /* 0 -> 1 -> 2 -> 0, and the same loop of writable buffers. */
    for (uint16_t flags = 0; flags <= F_WRITE; flags += F_WRITE) {
        assert_int_equal(rig_init(&r, RAM, 8, false, false), 0);
        for (unsigned i = 0; i < 3; i++)
            rig_desc(&r, RIG_DESC, i, RIG_BUF, 16, F_NEXT | flags, (i + 1) % 3);
        rig_avail_add(&r, 0);
        expect_malformed(&r);
        rig_destroy(&r);
    }
}

static void test_chain_length_bound(void **state)
{
    (void)state;
    struct vq_rig r;
    /* Every descriptor of the table in one chain is fine... */
    assert_int_equal(rig_init(&r, RAM, 16, false, false), 0);
    for (unsigned i = 0; i < 16; i++)
        rig_desc(&r, RIG_DESC, i, RIG_BUF + i, 1, i < 15 ? F_NEXT : 0, i + 1);
    rig_avail_add(&r, 0);
    assert_int_equal(virtq_pop(&r.q, r.e), 1);
    assert_int_equal(r.e->nout, 16);
    /* ...one more (back to the start) is longer than the queue. */
    rig_desc(&r, RIG_DESC, 15, RIG_BUF + 15, 1, F_NEXT, 0);
    rig_avail_add(&r, 0);
    expect_malformed(&r);
    rig_destroy(&r);
}

/* --- indirect tables --- */

static void test_indirect_valid(void **state)
{
    (void)state;
    struct vq_rig r;
    assert_int_equal(rig_init(&r, RAM, 8, true, false), 0);
    /* The WRITE flag of the descriptor naming the table is ignored. */
    rig_desc(&r, RIG_DESC, 4, TABLE, 4 * 16, F_INDIR | F_WRITE, 0);
    rig_desc(&r, TABLE, 0, RIG_BUF, 16, F_NEXT, 3);
    rig_desc(&r, TABLE, 3, RIG_BUF + 0x100, 32, F_NEXT, 1);
    rig_desc(&r, TABLE, 1, RIG_BUF + 0x200, 512, F_NEXT | F_WRITE, 2);
    rig_desc(&r, TABLE, 2, RIG_BUF + 0x400, 1, F_WRITE, 0);
    rig_avail_add(&r, 4);
    assert_int_equal(virtq_pop(&r.q, r.e), 1);
    assert_int_equal(r.e->head, 4);
    assert_int_equal(r.e->nout, 2);
    assert_int_equal(r.e->nin, 2);
    assert_ptr_equal(r.e->out[1].iov_base, rig_hva(&r, RIG_BUF + 0x100));
    assert_ptr_equal(r.e->in[0].iov_base, rig_hva(&r, RIG_BUF + 0x200));
    assert_int_equal(r.e->in_gpa[1], RIG_BUF + 0x400);
    assert_int_equal(r.e->out_bytes, 48);
    assert_int_equal(r.e->in_bytes, 513);
    rig_destroy(&r);
}

static void test_indirect_after_direct(void **state)
{
    (void)state;
    struct vq_rig r;
    /* Direct descriptors may be followed by one indirect descriptor. */
    assert_int_equal(rig_init(&r, RAM, 8, true, false), 0);
    rig_desc(&r, RIG_DESC, 0, RIG_BUF, 16, F_NEXT, 1);
    rig_desc(&r, RIG_DESC, 1, TABLE, 16, F_INDIR, 0);
    rig_desc(&r, TABLE, 0, RIG_BUF + 0x100, 8, F_WRITE, 0);
    rig_avail_add(&r, 0);
    assert_int_equal(virtq_pop(&r.q, r.e), 1);
    assert_int_equal(r.e->nout, 1);
    assert_int_equal(r.e->nin, 1);
    /* The table's readable buffers still may not follow writable ones. */
    rig_desc(&r, RIG_DESC, 0, RIG_BUF, 16, F_NEXT | F_WRITE, 1);
    rig_desc(&r, TABLE, 0, RIG_BUF + 0x100, 8, 0, 0);
    rig_avail_add(&r, 0);
    expect_malformed(&r);
    rig_destroy(&r);
}

/* The chain at head 0 is an indirect descriptor (addr, len, flags); the
 * table at TABLE holds entries[] (readable, chained in order unless they
 * say otherwise). */
static int pop_indirect(bool feature, uint64_t addr, uint32_t len, uint16_t flags,
                        const uint16_t *entry_flags, const uint16_t *next, unsigned n)
{
    struct vq_rig r;
    assert_int_equal(rig_init(&r, RAM, 8, feature, false), 0);
    rig_desc(&r, RIG_DESC, 0, addr, len, flags, 1);
    rig_desc(&r, RIG_DESC, 1, RIG_BUF, 16, 0, 0);
    for (unsigned i = 0; i < n; i++) {
        uint64_t addr = RIG_BUF + 16 * i;
        if (entry_flags[i] & F_INDIR) /* a good table: only nesting is wrong */
            addr = TABLE + 0x1000;
        rig_desc(&r, TABLE, i, addr, 16, entry_flags[i], next[i]);
    }
    rig_desc(&r, TABLE + 0x1000, 0, RIG_BUF, 16, 0, 0);
    /* A good descriptor just past the table, for walks that overrun it. */
    if (len >= 16 && guest_memory_ptr(&r.mem, addr + len / 16 * 16, 16))
        rig_desc(&r, addr, len / 16, RIG_BUF, 16, 0, 0);
    rig_avail_add(&r, 0);
    int ret = virtq_pop(&r.q, r.e);
    if (ret < 0)
        expect_malformed(&r);
    rig_destroy(&r);
    return ret;
}

static void test_indirect_errors(void **state)
{
    (void)state;
    const uint16_t chain2[] = {F_NEXT, 0}, next2[] = {1, 0};
    assert_int_equal(pop_indirect(true, TABLE, 32, F_INDIR, chain2, next2, 2), 1);
    /* Without the feature. */
    assert_int_equal(pop_indirect(false, TABLE, 32, F_INDIR, chain2, next2, 2), -EINVAL);
    /* NEXT on the indirect descriptor. */
    assert_int_equal(pop_indirect(true, TABLE, 32, F_INDIR | F_NEXT, chain2, next2, 2), -EINVAL);
    /* Table lengths: not a multiple of 16 (the first 16 bytes are a whole
     * chain), zero. */
    const uint16_t single[] = {0}, next0[] = {0};
    assert_int_equal(pop_indirect(true, TABLE, 16, F_INDIR, single, next0, 1), 1);
    assert_int_equal(pop_indirect(true, TABLE, 24, F_INDIR, single, next0, 1), -EINVAL);
    assert_int_equal(pop_indirect(true, TABLE, 0, F_INDIR, chain2, next2, 2), -EINVAL);
    /* The table outside RAM, or straddling its end. */
    assert_int_equal(pop_indirect(true, RAM - 16, 32, F_INDIR, chain2, next2, 0), -EINVAL);
    assert_int_equal(pop_indirect(true, LAYOUT_IOAPIC_BASE, 32, F_INDIR, chain2, next2, 0),
                     -EINVAL);
    /* Nested. */
    const uint16_t nested[] = {F_NEXT, F_INDIR};
    assert_int_equal(pop_indirect(true, TABLE, 32, F_INDIR, nested, next2, 2), -EINVAL);
    /* next beyond the table (len / 16 entries, not the queue size). */
    const uint16_t far[] = {2, 0};
    assert_int_equal(pop_indirect(true, TABLE, 32, F_INDIR, chain2, far, 2), -EINVAL);
    /* A loop inside the table, and one that is its whole length plus one. */
    const uint16_t loop3[] = {F_NEXT, F_NEXT, F_NEXT}, next3[] = {1, 2, 1};
    assert_int_equal(pop_indirect(true, TABLE, 48, F_INDIR, loop3, next3, 3), -EINVAL);
    const uint16_t self[] = {F_NEXT}, next_self[] = {0};
    assert_int_equal(pop_indirect(true, TABLE, 16, F_INDIR, self, next_self, 1), -EINVAL);
    /* Zero-length buffer inside the table. */
    struct vq_rig r;
    assert_int_equal(rig_init(&r, RAM, 8, true, false), 0);
    rig_desc(&r, RIG_DESC, 0, TABLE, 16, F_INDIR, 0);
    rig_desc(&r, TABLE, 0, RIG_BUF, 0, 0, 0);
    rig_avail_add(&r, 0);
    expect_malformed(&r);
    rig_destroy(&r);
}

static void test_indirect_longer_than_queue(void **state)
{
    (void)state;
    struct vq_rig r;
    /* A table may hold more descriptors than the queue size, up to
     * VIRTQ_MAX_SEGS per direction. */
    assert_int_equal(rig_init(&r, RAM, 8, true, false), 0);
    unsigned n = VIRTQ_MAX_SEGS + 1;
    for (unsigned i = 0; i < n; i++)
        rig_desc(&r, TABLE, i, RIG_BUF + i, 1, i + 1 < n ? F_NEXT : 0, i + 1);
    rig_desc(&r, RIG_DESC, 0, TABLE, 16 * VIRTQ_MAX_SEGS, F_INDIR, 0);
    rig_avail_add(&r, 0);
    /* VIRTQ_MAX_SEGS entries: the last one has NEXT to an index past the table. */
    expect_malformed(&r);
    rig_desc(&r, TABLE, VIRTQ_MAX_SEGS - 1, RIG_BUF, 1, 0, 0);
    assert_int_equal(virtq_pop(&r.q, r.e), 1);
    assert_int_equal(r.e->nout, VIRTQ_MAX_SEGS);
    assert_int_equal(r.e->out_bytes, VIRTQ_MAX_SEGS);
    /* One segment too many in one direction. */
    rig_desc(&r, TABLE, VIRTQ_MAX_SEGS - 1, RIG_BUF, 1, F_NEXT, VIRTQ_MAX_SEGS);
    rig_desc(&r, RIG_DESC, 0, TABLE, 16 * n, F_INDIR, 0);
    rig_avail_add(&r, 0);
    expect_malformed(&r);
    /* One writable segment too many. */
    for (unsigned i = 0; i < n; i++)
        rig_desc(&r, TABLE, i, RIG_BUF + i, 1, (i + 1 < n ? F_NEXT : 0) | F_WRITE, i + 1);
    expect_malformed(&r);
    /* The same count split across directions is fine. */
    for (unsigned i = 0; i < 10; i++)
        rig_desc(&r, TABLE, i, RIG_BUF + i, 1, F_NEXT, i + 1);
    assert_int_equal(virtq_pop(&r.q, r.e), 1);
    assert_int_equal(r.e->nout, 10);
    assert_int_equal(r.e->nin, n - 10);
    rig_destroy(&r);
}

/* --- avail ring indices --- */

static void test_avail_too_far_ahead(void **state)
{
    (void)state;
    struct vq_rig r;
    assert_int_equal(rig_init(&r, RAM, 8, false, false), 0);
    for (unsigned i = 0; i < 8; i++)
        rig_desc(&r, RIG_DESC, i, RIG_BUF + 16 * i, 16, 0, 0);
    rig_set_avail_idx(&r, 9);
    expect_malformed(&r);
    /* A whole ring ahead is fine. */
    for (unsigned i = 0; i < 8; i++)
        rig_put16(&r, RIG_AVAIL + 4 + 2 * i, 7 - i);
    rig_set_avail_idx(&r, 8);
    for (unsigned i = 0; i < 8; i++) {
        assert_int_equal(virtq_pop(&r.q, r.e), 1);
        assert_int_equal(r.e->head, 7 - i);
    }
    assert_int_equal(virtq_pop(&r.q, r.e), 0);
    /* An index that went backwards looks like one far ahead. */
    rig_set_avail_idx(&r, 7);
    expect_malformed(&r);
    rig_destroy(&r);
}

static void test_index_wraparound(void **state)
{
    (void)state;
    struct vq_rig r;
    assert_int_equal(rig_init(&r, RAM, 4, false, false), 0);
    r.q.last_avail = r.q.used_idx = 65534;
    rig_put16(&r, RIG_USED + 2, 65534);
    rig_set_avail_idx(&r, 65534);
    for (unsigned i = 0; i < 4; i++) {
        rig_desc(&r, RIG_DESC, i, RIG_BUF + 0x100 * i, 16, F_WRITE, 0);
        rig_avail_add(&r, (uint16_t)(3 - i));
    }
    assert_int_equal(r.avail_idx, 2);
    for (unsigned i = 0; i < 4; i++) {
        assert_int_equal(virtq_pop(&r.q, r.e), 1);
        assert_int_equal(r.e->head, 3 - i);
        virtq_push(&r.q, r.e, 10 + i);
        assert_int_equal(rig_used_idx(&r), (uint16_t)(65535 + i));
    }
    assert_int_equal(r.q.last_avail, 2);
    assert_int_equal(virtq_pop(&r.q, r.e), 0);
    /* Slots: 65534 % 4 = 2, 3, then 0, 1. */
    for (unsigned i = 0; i < 4; i++) {
        uint32_t id, len;
        rig_used_elem(&r, (2 + i) % 4, &id, &len);
        assert_int_equal(id, 3 - i);
        assert_int_equal(len, 10 + i);
    }
    rig_destroy(&r);
}

/* --- push --- */

static void test_push_used_element_and_notes(void **state)
{
    (void)state;
    struct vq_rig r;
    assert_int_equal(rig_init(&r, RAM, 8, false, false), 0);
    rig_desc(&r, RIG_DESC, 6, RIG_BUF, 64, F_NEXT, 1);
    rig_desc(&r, RIG_DESC, 1, RIG_BUF + 0x1000, 100, F_NEXT | F_WRITE, 2);
    rig_desc(&r, RIG_DESC, 2, RIG_BUF + 0x3000, 50, F_NEXT | F_WRITE, 3);
    rig_desc(&r, RIG_DESC, 3, RIG_BUF + 0x5000, 200, F_WRITE, 0);
    for (unsigned i = 0; i < 4; i++)
        rig_avail_add(&r, 6);
    uint32_t id, len;

    /* 120 bytes: all of in[0], 20 of in[1]; never the readable buffer. */
    assert_int_equal(virtq_pop(&r.q, r.e), 1);
    virtq_push(&r.q, r.e, 120);
    assert_int_equal(rig_used_idx(&r), 1);
    rig_used_elem(&r, 0, &id, &len);
    assert_int_equal(id, 6);
    assert_int_equal(len, 120);
    assert_int_equal(r.nnotes, 2);
    assert_int_equal(r.note_gpa[0], RIG_BUF + 0x1000);
    assert_int_equal(r.note_len[0], 100);
    assert_int_equal(r.note_gpa[1], RIG_BUF + 0x3000);
    assert_int_equal(r.note_len[1], 20);

    /* Nothing written: nothing noted. */
    r.nnotes = 0;
    assert_int_equal(virtq_pop(&r.q, r.e), 1);
    virtq_push(&r.q, r.e, 0);
    rig_used_elem(&r, 1, &id, &len);
    assert_int_equal(len, 0);
    assert_int_equal(r.nnotes, 0);

    /* Exactly the buffers' length, then more than that: clamped. */
    for (unsigned k = 0; k < 2; k++) {
        r.nnotes = 0;
        assert_int_equal(virtq_pop(&r.q, r.e), 1);
        virtq_push(&r.q, r.e, k ? 100000 : 350);
        rig_used_elem(&r, 2 + k, &id, &len);
        assert_int_equal(len, 350);
        assert_int_equal(r.nnotes, 3);
        assert_int_equal(r.note_len[0] + r.note_len[1] + r.note_len[2], 350);
        assert_int_equal(r.note_gpa[2], RIG_BUF + 0x5000);
    }
    assert_int_equal(rig_used_idx(&r), 4);
    rig_destroy(&r);
}

static void test_push_without_notifier(void **state)
{
    (void)state;
    struct vq_rig r;
    assert_int_equal(rig_init(&r, RAM, 8, false, false), 0);
    r.mem.write_notify = NULL;
    one_buffer(&r, RIG_BUF, 8, F_WRITE);
    assert_int_equal(virtq_pop(&r.q, r.e), 1);
    virtq_push(&r.q, r.e, 8);
    assert_int_equal(rig_used_idx(&r), 1);
    assert_int_equal(r.nnotes, 0);
    rig_destroy(&r);
}

/* --- notifications --- */

static void push_n(struct vq_rig *r, unsigned n)
{
    for (unsigned i = 0; i < n; i++) {
        rig_avail_add(r, 0);
        assert_int_equal(virtq_pop(&r->q, r->e), 1);
        virtq_push(&r->q, r->e, 0);
    }
}

static void test_should_notify_flags(void **state)
{
    (void)state;
    struct vq_rig r;
    assert_int_equal(rig_init(&r, RAM, 8, false, false), 0);
    rig_desc(&r, RIG_DESC, 0, RIG_BUF, 8, F_WRITE, 0);
    push_n(&r, 1);
    assert_true(virtq_should_notify(&r.q));
    assert_false(virtq_should_notify(&r.q)); /* nothing new since */
    rig_put16(&r, RIG_AVAIL, VIRTQ_AVAIL_F_NO_INTERRUPT);
    push_n(&r, 1);
    assert_false(virtq_should_notify(&r.q));
    rig_put16(&r, RIG_AVAIL, 0);
    push_n(&r, 2);
    /* used_event is ignored without the feature. */
    rig_put16(&r, rig_used_event_gpa(&r), 100);
    assert_true(virtq_should_notify(&r.q));
    rig_destroy(&r);
}

static void test_should_notify_event_idx(void **state)
{
    (void)state;
    struct vq_rig r;
    assert_int_equal(rig_init(&r, RAM, 8, false, true), 0);
    rig_desc(&r, RIG_DESC, 0, RIG_BUF, 8, F_WRITE, 0);
    rig_put16(&r, RIG_AVAIL, VIRTQ_AVAIL_F_NO_INTERRUPT); /* ignored with event_idx */
    rig_put16(&r, rig_used_event_gpa(&r), 50);
    /* The first decision always interrupts. */
    push_n(&r, 1);
    assert_true(virtq_should_notify(&r.q));
    /* used 1 -> 4: used_event 1, 2, 3 are in [1, 4); 0 and 4 are not. */
    uint16_t events[] = {0, 1, 2, 3, 4, 0xffff};
    bool expect[] = {false, true, true, true, false, false};
    for (unsigned i = 0; i < sizeof(events) / sizeof(events[0]); i++) {
        r.q.signalled_used = 1;
        r.q.used_idx = 4;
        rig_put16(&r, rig_used_event_gpa(&r), events[i]);
        assert_int_equal(virtq_should_notify(&r.q), expect[i]);
        assert_int_equal(r.q.signalled_used, 4);
        assert_false(virtq_should_notify(&r.q));
    }
    rig_destroy(&r);
}

static void test_should_notify_event_idx_wraps(void **state)
{
    (void)state;
    struct vq_rig r;
    assert_int_equal(rig_init(&r, RAM, 4, false, true), 0);
    rig_desc(&r, RIG_DESC, 0, RIG_BUF, 8, F_WRITE, 0);
    r.q.last_avail = r.q.used_idx = r.q.signalled_used = 65534;
    r.q.signalled_valid = true;
    rig_set_avail_idx(&r, 65534);
    push_n(&r, 3); /* used 65534 -> 1 */
    assert_int_equal(rig_used_idx(&r), 1);
    uint16_t events[] = {65533, 65534, 65535, 0, 1};
    bool expect[] = {false, true, true, true, false};
    for (unsigned i = 0; i < sizeof(events) / sizeof(events[0]); i++) {
        r.q.signalled_used = 65534;
        rig_put16(&r, rig_used_event_gpa(&r), events[i]);
        assert_int_equal(virtq_should_notify(&r.q), expect[i]);
    }
    rig_destroy(&r);
}

static void test_device_notify_flags(void **state)
{
    (void)state;
    struct vq_rig r;
    assert_int_equal(rig_init(&r, RAM, 8, false, false), 0);
    virtq_disable_notify(&r.q);
    assert_int_equal(rig_get16(&r, RIG_USED), VIRTQ_USED_F_NO_NOTIFY);
    virtq_enable_notify(&r.q);
    assert_int_equal(rig_get16(&r, RIG_USED), 0);
    /* Without event_idx, avail_event is never written. */
    rig_put16(&r, rig_avail_event_gpa(&r), 0x5555);
    assert_int_equal(virtq_pop(&r.q, r.e), 0);
    assert_int_equal(rig_get16(&r, rig_avail_event_gpa(&r)), 0x5555);
    rig_destroy(&r);
}

static void test_device_notify_event_idx(void **state)
{
    (void)state;
    struct vq_rig r;
    assert_int_equal(rig_init(&r, RAM, 8, false, true), 0);
    uint64_t ev = rig_avail_event_gpa(&r);
    rig_desc(&r, RIG_DESC, 0, RIG_BUF, 8, F_WRITE, 0);
    rig_put16(&r, ev, 0x5555);
    /* Setup asks for a kick at the first entry. */
    assert_int_equal(virtq_setup(&r.q), 0);
    assert_int_equal(rig_get16(&r, ev), 0);
    rig_avail_add(&r, 0);
    rig_avail_add(&r, 0);
    assert_int_equal(virtq_pop(&r.q, r.e), 1);
    assert_int_equal(rig_get16(&r, ev), 0); /* not while entries remain */
    assert_int_equal(virtq_pop(&r.q, r.e), 1);
    assert_int_equal(virtq_pop(&r.q, r.e), 0);
    assert_int_equal(rig_get16(&r, ev), 2); /* empty: kick me at entry 2 */
    /* Disabled: an empty pop leaves avail_event behind; flags untouched. */
    virtq_disable_notify(&r.q);
    assert_int_equal(rig_get16(&r, RIG_USED), 0);
    rig_avail_add(&r, 0);
    assert_int_equal(virtq_pop(&r.q, r.e), 1);
    assert_int_equal(virtq_pop(&r.q, r.e), 0);
    assert_int_equal(rig_get16(&r, ev), 2);
    virtq_enable_notify(&r.q);
    assert_int_equal(rig_get16(&r, ev), 3);
    assert_int_equal(rig_get16(&r, RIG_USED), 0);
    rig_destroy(&r);
}

/* --- logging --- */

static void test_malformed_logged_once_per_queue(void **state)
{
    (void)state;
    struct vq_rig r;
    logged_lines();
    assert_int_equal(rig_init(&r, RAM, 8, false, false), 0);
    rig_avail_add(&r, 9);
    for (unsigned i = 0; i < 5; i++)
        assert_int_equal(virtq_pop(&r.q, r.e), -EINVAL);
    assert_int_equal(logged_lines(), 1);
    /* A reset queue that breaks again stays quiet. */
    virtq_reset(&r.q);
    r.q.size = 8;
    r.q.desc_gpa = RIG_DESC;
    r.q.avail_gpa = RIG_AVAIL;
    r.q.used_gpa = RIG_USED;
    assert_int_equal(virtq_setup(&r.q), 0);
    assert_int_equal(virtq_pop(&r.q, r.e), -EINVAL);
    assert_int_equal(logged_lines(), 0);
    /* Another queue logs its own. */
    struct virtq other = r.q;
    other.broken_logged = false;
    other.index = 1;
    assert_int_equal(virtq_pop(&other, r.e), -EINVAL);
    assert_int_equal(logged_lines(), 1);
    rig_destroy(&r);
}

/* --- iovec copies --- */

static void test_iov_copies(void **state)
{
    (void)state;
    uint8_t a[3], b[5], c[2], out[10];
    struct iovec iov[] = {{a, 3}, {b, 5}, {NULL, 0}, {c, 2}};
    uint8_t src[10];
    for (unsigned i = 0; i < 10; i++)
        src[i] = (uint8_t)(i + 1);
    assert_int_equal(iov_from_buf(iov, 4, 0, src, 10), 10);
    assert_int_equal(a[2], 3);
    assert_int_equal(b[0], 4);
    assert_int_equal(c[1], 10);
    memset(out, 0, sizeof(out));
    assert_int_equal(iov_to_buf(iov, 4, 2, out, 10), 8); /* from offset 2: 8 bytes left */
    assert_memory_equal(out, src + 2, 8);
    assert_int_equal(iov_to_buf(iov, 4, 4, out, 3), 3);
    assert_memory_equal(out, src + 4, 3);
    assert_int_equal(iov_to_buf(iov, 4, 10, out, 3), 0);
    assert_int_equal(iov_from_buf(iov, 4, 7, src, 2), 2);
    assert_int_equal(b[4], 1);
    assert_int_equal(c[0], 2);
    assert_int_equal(iov_from_buf(iov, 2, 0, src, 10), 8); /* only 2 iovecs */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_setup_checks_rings),
        cmocka_unit_test(test_reset_keeps_identity),
        cmocka_unit_test(test_empty_ring),
        cmocka_unit_test(test_simple_chain),
        cmocka_unit_test(test_out_in_split),
        cmocka_unit_test(test_write_only_chain),
        cmocka_unit_test(test_readable_after_writable),
        cmocka_unit_test(test_zero_length_buffer),
        cmocka_unit_test(test_index_out_of_range),
        cmocka_unit_test(test_buffers_outside_ram),
        cmocka_unit_test(test_buffers_around_mmio_hole),
        cmocka_unit_test(test_chain_total_4g),
        cmocka_unit_test(test_loops),
        cmocka_unit_test(test_chain_length_bound),
        cmocka_unit_test(test_indirect_valid),
        cmocka_unit_test(test_indirect_after_direct),
        cmocka_unit_test(test_indirect_errors),
        cmocka_unit_test(test_indirect_longer_than_queue),
        cmocka_unit_test(test_avail_too_far_ahead),
        cmocka_unit_test(test_index_wraparound),
        cmocka_unit_test(test_push_used_element_and_notes),
        cmocka_unit_test(test_push_without_notifier),
        cmocka_unit_test(test_should_notify_flags),
        cmocka_unit_test(test_should_notify_event_idx),
        cmocka_unit_test(test_should_notify_event_idx_wraps),
        cmocka_unit_test(test_device_notify_flags),
        cmocka_unit_test(test_device_notify_event_idx),
        cmocka_unit_test(test_malformed_logged_once_per_queue),
        cmocka_unit_test(test_iov_copies),
    };
    return cmocka_run_group_tests(tests, setup_log, teardown_log);
}
