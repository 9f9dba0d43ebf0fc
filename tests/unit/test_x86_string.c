/* String ops (string.c): MOVS CMPS STOS LODS SCAS in every size, with no
 * prefix, REP/REPE and REPNE, both directions and 32-bit addressing, run
 * natively on the host and in the emulator over the same memory and
 * compared; overlapping copies; faults in the middle of a REP (precise and
 * restartable); INS/OUTS. */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "x86_flow_harness.h"

#define T x86_ops_string

struct sregs {
    uint64_t rax, rcx, rsi, rdi, flags;
};

typedef void native_fn(struct sregs *r);

/* The instruction with RAX RCX RSI RDI and RFLAGS from r, written back. */
#define NATIVE_STR(name, text)                                                                     \
    static void name(struct sregs *r)                                                              \
    {                                                                                              \
        uint64_t a = r->rax, c = r->rcx, s = r->rsi, d = r->rdi, f = r->flags;                     \
        __asm__ volatile("sub $128, %%rsp\n\t"                                                     \
                         "push %[f]\n\t"                                                           \
                         "popfq\n\t" text "\n\t"                                                   \
                         "pushfq\n\t"                                                              \
                         "pop %[f]\n\t"                                                            \
                         "cld\n\t"                                                                 \
                         "add $128, %%rsp"                                                         \
                         : "+a"(a), "+c"(c), "+S"(s), "+D"(d), [f] "+r"(f)                         \
                         :                                                                         \
                         : "memory", "cc");                                                        \
        *r = (struct sregs){a, c, s, d, f};                                                        \
    }

#define PFX_none  ""
#define PFX_rep   ".byte 0xf3\n\t"
#define PFX_repne ".byte 0xf2\n\t"
#define PFX_a32   ".byte 0x67, 0xf3\n\t"
#define PFX_a32ne ".byte 0x67, 0xf2\n\t"

#define NATIVE_SIZES(pfx, op)                                                                      \
    NATIVE_STR(n_##pfx##_##op##b, PFX_##pfx #op "b")                                               \
    NATIVE_STR(n_##pfx##_##op##w, PFX_##pfx #op "w")                                               \
    NATIVE_STR(n_##pfx##_##op##l, PFX_##pfx #op "l")                                               \
    NATIVE_STR(n_##pfx##_##op##q, PFX_##pfx #op "q")
#define NATIVE_OPS(pfx)                                                                            \
    NATIVE_SIZES(pfx, movs)                                                                        \
    NATIVE_SIZES(pfx, cmps)                                                                        \
    NATIVE_SIZES(pfx, stos) NATIVE_SIZES(pfx, lods) NATIVE_SIZES(pfx, scas)
NATIVE_OPS(none)
NATIVE_OPS(rep)
NATIVE_OPS(repne)
NATIVE_OPS(a32)
NATIVE_OPS(a32ne)

struct variant {
    native_fn *native;
    uint8_t opcode, osz, flags, asz;
    const char *name;
};

#define V_SIZES(pfx, op, opc, fl, asz)                                                             \
    {n_##pfx##_##op##b, opc, 0, fl, asz, #pfx " " #op "b"},                                        \
        {n_##pfx##_##op##w, opc + 1, 1, fl, asz, #pfx " " #op "w"},                                \
        {n_##pfx##_##op##l, opc + 1, 2, fl, asz, #pfx " " #op "l"},                                \
    {                                                                                              \
        n_##pfx##_##op##q, opc + 1, 3, fl, asz, #pfx " " #op "q"                                   \
    }
#define V_OPS(pfx, fl, asz)                                                                        \
    V_SIZES(pfx, movs, 0xa4, fl, asz), V_SIZES(pfx, cmps, 0xa6, fl, asz),                          \
        V_SIZES(pfx, stos, 0xaa, fl, asz), V_SIZES(pfx, lods, 0xac, fl, asz),                      \
        V_SIZES(pfx, scas, 0xae, fl, asz)

static const struct variant variants[] = {
    V_OPS(none, 0, 3),        V_OPS(rep, X86_I_REP, 3),     V_OPS(repne, X86_I_REPNE, 3),
    V_OPS(a32, X86_I_REP, 2), V_OPS(a32ne, X86_I_REPNE, 2),
};

/* Memory: 8 pages below 4 GiB (for the 32-bit addressing forms); the
 * source side is pages 0-3, the destination side pages 4-7. */
#define REGION_PAGES 8
static uint8_t *region;
static uint8_t snapshot[REGION_PAGES * H_PAGE];

static uint64_t rng_state;

static uint64_t rnd(void)
{
    rng_state = rng_state * 6364136223846793005ULL + 1442695040888963407ULL;
    return rng_state >> 17;
}

/* Fill for a case: `mode` picks how source, destination and RAX relate so
 * that REPE/REPNE stop somewhere inside the run: 0 random, 1 destination
 * equal to source except one byte at `pos` from the start (in the
 * direction of travel), 2 destination different except 16 bytes there;
 * for SCAS the same against the bytes of RAX (0x41). */
static void fill(uint64_t seed, int mode, uint64_t src, uint64_t dst, int down, uint64_t pos)
{
    rng_state = seed;
    uint8_t *s = region, *d = region + 4 * H_PAGE;
    for (size_t i = 0; i < 4 * H_PAGE; i += 8) {
        uint64_t x = rnd() ^ rnd() << 32, y = rnd() ^ rnd() << 32;
        memcpy(s + i, &x, 8);
        memcpy(d + i, &y, 8);
    }
    if (mode == 0)
        return;
    for (size_t i = 0; i < 4 * H_PAGE; i++) {
        uint8_t scan = (seed & 1) ? 0x41 : s[i];
        d[i] = mode == 1 ? scan : (uint8_t)(scan ^ 0x5a);
    }
    uint8_t *ps = (uint8_t *)(uintptr_t)src + (down ? -(int64_t)pos : (int64_t)pos);
    uint8_t *pd = (uint8_t *)(uintptr_t)dst + (down ? -(int64_t)pos : (int64_t)pos);
    (void)ps;
    if (mode == 1) {
        pd[0] ^= 0x24;
    } else {
        for (int i = -8; i < 8; i++)
            pd[i] = (seed & 1) ? 0x41 : ps[i];
    }
}

static const uint64_t flag_mask = X86_FLAGS_ARITH | X86_FLAG_DF;

/* One case natively and emulated; everything must match. */
static void run_case(struct x86_cpu *cpu, const struct variant *v, struct sregs init, int mode,
                     uint64_t seed, uint64_t pos)
{
    int down = (init.flags & X86_FLAG_DF) != 0;
    uint64_t amask = v->asz == 2 ? 0xffffffffULL : ~0ULL;
    fill(seed, mode, init.rsi & amask, init.rdi & amask, down, pos);
    struct sregs nat = init;
    v->native(&nat);
    memcpy(snapshot, region, sizeof(snapshot));

    fill(seed, mode, init.rsi & amask, init.rdi & amask, down, pos);
    struct x86_insn in = h_insn(T, X86_MAP_PRIMARY, v->opcode, -1, v->osz);
    in.flags = v->flags;
    in.asz = v->asz;
    in.len = 2;
    cpu->gpr[X86_RAX] = init.rax;
    cpu->gpr[X86_RCX] = init.rcx;
    cpu->gpr[X86_RSI] = init.rsi;
    cpu->gpr[X86_RDI] = init.rdi;
    x86_set_rflags(cpu, init.flags);
    int r = h_exec(cpu, &in);
    if (r != H_NOFAULT || cpu->gpr[X86_RAX] != nat.rax || cpu->gpr[X86_RCX] != nat.rcx ||
        cpu->gpr[X86_RSI] != nat.rsi || cpu->gpr[X86_RDI] != nat.rdi ||
        (x86_get_rflags(cpu) & flag_mask) != (nat.flags & flag_mask) ||
        memcmp(snapshot, region, sizeof(snapshot)) != 0) {
        print_error("%s: DF=%d count %#lx mode %d seed %lu pos %lu\n", v->name, down,
                    (unsigned long)init.rcx, mode, (unsigned long)seed, (unsigned long)pos);
        print_error("  native rax %#lx rcx %#lx rsi %#lx rdi %#lx fl %#lx\n",
                    (unsigned long)nat.rax, (unsigned long)nat.rcx, (unsigned long)nat.rsi,
                    (unsigned long)nat.rdi, (unsigned long)(nat.flags & flag_mask));
        print_error("  emu    rax %#lx rcx %#lx rsi %#lx rdi %#lx fl %#lx (r %d)\n",
                    (unsigned long)cpu->gpr[X86_RAX], (unsigned long)cpu->gpr[X86_RCX],
                    (unsigned long)cpu->gpr[X86_RSI], (unsigned long)cpu->gpr[X86_RDI],
                    (unsigned long)(x86_get_rflags(cpu) & flag_mask), r);
        fail();
    }
    assert_int_equal(cpu->rip, H_RIP + 2);
}

static void test_string_vs_host(void **state)
{
    (void)state;
    struct x86_cpu *cpu = h_new_cpu();
    region = h_pages(REGION_PAGES, 0, MAP_32BIT);
    uint64_t base = (uintptr_t)region;
    static const uint64_t counts[] = {0, 1, 3, 33, 4096, 12000};
    for (size_t vi = 0; vi < sizeof(variants) / sizeof(variants[0]); vi++) {
        const struct variant *v = &variants[vi];
        uint64_t hi = v->asz == 2 ? 0xdead000000000000ULL : 0; /* ignored with 67 */
        for (int down = 0; down < 2; down++) {
            for (size_t ci = 0; ci < sizeof(counts) / sizeof(counts[0]); ci++) {
                uint64_t count = counts[ci] >> (counts[ci] > 100 ? v->osz : 0);
                if (!v->flags && count > 3)
                    continue; /* no REP: count is irrelevant */
                struct sregs init = {
                    .rax = 0x4141414141414141ULL,
                    .rcx = count | (v->asz == 2 ? 0x1234567800000000ULL : 0),
                    .rsi = hi | (down ? base + 3 * H_PAGE + 0x321 : base + 0x123),
                    .rdi = hi | (down ? base + 8 * H_PAGE - 0x5f : base + 4 * H_PAGE + 0x3a1),
                    .flags = 0x202 | X86_FLAG_CF | X86_FLAG_ZF | (down ? X86_FLAG_DF : 0),
                };
                for (int mode = 0; mode < 3; mode++) {
                    uint64_t pos = (count << v->osz) / 2 + (uint64_t)mode;
                    run_case(cpu, v, init, mode, 1000 + ci * 7 + (uint64_t)mode, pos);
                    run_case(cpu, v, init, mode, 2000 + ci * 7 + (uint64_t)mode, pos / 3);
                }
            }
        }
    }
    munmap(region, REGION_PAGES * H_PAGE);
    h_free_cpu(cpu);
}

NATIVE_STR(n_movsb_ovl, "rep movsb")
NATIVE_STR(n_movsq_ovl, "rep movsq")
NATIVE_STR(n_movsw_ovl, "rep movsw")

/* Overlapping copies: forward with the destination just ahead of the
 * source (pattern replication) or behind it, and backward. */
static void test_overlap_vs_host(void **state)
{
    (void)state;
    struct x86_cpu *cpu = h_new_cpu();
    region = h_pages(REGION_PAGES, 0, MAP_32BIT);
    uint64_t base = (uintptr_t)region;
    const struct variant vs[] = {{n_movsb_ovl, 0xa4, 0, X86_I_REP, 3, "rep movsb"},
                                 {n_movsq_ovl, 0xa5, 3, X86_I_REP, 3, "rep movsq"},
                                 {n_movsw_ovl, 0xa5, 1, X86_I_REP, 3, "rep movsw"}};
    static const int64_t deltas[] = {1, 3, 8, 9, 4095, -1, -5, -4096, -8};
    for (size_t i = 0; i < sizeof(vs) / sizeof(vs[0]); i++) {
        for (size_t k = 0; k < sizeof(deltas) / sizeof(deltas[0]); k++) {
            for (int down = 0; down < 2; down++) {
                uint64_t src = base + (down ? 6 * H_PAGE : H_PAGE + 0x77);
                struct sregs init = {
                    .rcx = 9000 >> vs[i].osz,
                    .rsi = src,
                    .rdi = src + (uint64_t)deltas[k],
                    .flags = 0x202 | (down ? X86_FLAG_DF : 0),
                };
                run_case(cpu, &vs[i], init, 0, 77 + k, 0);
            }
        }
    }
    munmap(region, REGION_PAGES * H_PAGE);
    h_free_cpu(cpu);
}

/* Source or destination runs into a page without access in the middle of
 * a REP: #PF at the faulting element, registers as if the elements before
 * it ran one by one, and running it again finishes the job. */
static void test_rep_fault_precise(void **state)
{
    (void)state;
    struct x86_cpu *cpu = h_new_cpu();
    uint8_t *a = h_pages(2, 1, 0); /* [RW][RW][none] */
    uint8_t *guard = a + 2 * H_PAGE;
    uint8_t *d = h_pages(2, 0, 0);
    for (int i = 0; i < 2 * (int)H_PAGE; i++)
        a[i] = (uint8_t)(i * 13);
    memset(d, 0xcc, 2 * H_PAGE);

    /* REP MOVSB: the source runs into the guard page 100 bytes in. */
    struct x86_insn in = h_insn(T, X86_MAP_PRIMARY, 0xa4, -1, 0);
    in.flags = X86_I_REP;
    cpu->gpr[X86_RSI] = (uintptr_t)guard - 100;
    cpu->gpr[X86_RDI] = (uintptr_t)d;
    cpu->gpr[X86_RCX] = 300;
    assert_int_equal(h_exec(cpu, &in), X86_EXC_PF);
    assert_int_equal(cpu->exc.addr, (uintptr_t)guard);
    assert_false(cpu->exc.error & 2);
    assert_int_equal(cpu->rip, H_RIP);
    assert_int_equal(cpu->gpr[X86_RSI], (uintptr_t)guard);
    assert_int_equal(cpu->gpr[X86_RDI], (uintptr_t)d + 100);
    assert_int_equal(cpu->gpr[X86_RCX], 200);
    assert_memory_equal(d, guard - 100, 100);
    assert_int_equal(d[100], 0xcc);
    /* Make the page readable and restart: the copy completes. */
    mprotect(guard, H_PAGE, PROT_READ | PROT_WRITE);
    memset(guard, 0x77, H_PAGE);
    assert_int_equal(h_exec(cpu, &in), H_NOFAULT);
    assert_int_equal(cpu->gpr[X86_RCX], 0);
    assert_int_equal(cpu->gpr[X86_RSI], (uintptr_t)guard + 200);
    assert_memory_equal(d, guard - 100, 300);
    assert_int_equal(d[300], 0xcc);

    /* REP STOSQ into a read-only page with an element straddling it. */
    mprotect(guard, H_PAGE, PROT_READ);
    memset(a + H_PAGE, 0xcc, H_PAGE);
    in = h_insn(T, X86_MAP_PRIMARY, 0xab, -1, 3);
    in.flags = X86_I_REP;
    cpu->gpr[X86_RAX] = 0x1122334455667788ULL;
    cpu->gpr[X86_RDI] = (uintptr_t)guard - 8 * 40 - 4;
    cpu->gpr[X86_RCX] = 1000;
    assert_int_equal(h_exec(cpu, &in), X86_EXC_PF);
    assert_true(cpu->exc.error & 2);
    assert_int_equal(cpu->exc.addr & ~(uint64_t)(H_PAGE - 1), (uintptr_t)guard);
    assert_int_equal(cpu->gpr[X86_RDI], (uintptr_t)guard - 4);
    assert_int_equal(cpu->gpr[X86_RCX], 960);
    for (int i = 1; i <= 4; i++)
        assert_int_equal(guard[-i], 0xcc);
    uint64_t last;
    memcpy(&last, guard - 12, 8);
    assert_int_equal(last, 0x1122334455667788ULL);

    /* Backward REP MOVSD whose destination is read-only from the start. */
    in = h_insn(T, X86_MAP_PRIMARY, 0xa5, -1, 2);
    in.flags = X86_I_REP;
    x86_set_rflags(cpu, 0x202 | X86_FLAG_DF);
    cpu->gpr[X86_RSI] = (uintptr_t)a + 64;
    cpu->gpr[X86_RDI] = (uintptr_t)guard + 16;
    cpu->gpr[X86_RCX] = 4;
    assert_int_equal(h_exec(cpu, &in), X86_EXC_PF);
    assert_int_equal(cpu->exc.addr, (uintptr_t)guard + 16);
    assert_int_equal(cpu->gpr[X86_RCX], 4);
    assert_int_equal(cpu->gpr[X86_RDI], (uintptr_t)guard + 16);
    x86_set_rflags(cpu, 0x202);

    /* REPNE SCASB (the memchr path) into a page without access: the flags
     * are those of the last comparison that ran. */
    mprotect(guard, H_PAGE, PROT_NONE);
    memset(a, 0x10, 2 * H_PAGE);
    in = h_insn(T, X86_MAP_PRIMARY, 0xae, -1, 0);
    in.flags = X86_I_REPNE;
    cpu->gpr[X86_RAX] = 0x05;
    cpu->gpr[X86_RDI] = (uintptr_t)a + 10;
    cpu->gpr[X86_RCX] = 3 * H_PAGE;
    assert_int_equal(h_exec(cpu, &in), X86_EXC_PF);
    assert_int_equal(cpu->exc.addr, (uintptr_t)guard);
    assert_int_equal(cpu->gpr[X86_RDI], (uintptr_t)guard);
    assert_int_equal(cpu->gpr[X86_RCX], 3 * H_PAGE - (2 * H_PAGE - 10));
    /* 0x05 - 0x10 = 0xf5: a borrow, negative, even parity */
    assert_int_equal(x86_get_rflags(cpu) & X86_FLAGS_ARITH,
                     X86_FLAG_CF | X86_FLAG_SF | X86_FLAG_PF);

    /* REPE CMPSW reading into the guard page. */
    in = h_insn(T, X86_MAP_PRIMARY, 0xa7, -1, 1);
    in.flags = X86_I_REP;
    cpu->gpr[X86_RSI] = (uintptr_t)a + 4;
    cpu->gpr[X86_RDI] = (uintptr_t)guard - 6;
    cpu->gpr[X86_RCX] = 50;
    assert_int_equal(h_exec(cpu, &in), X86_EXC_PF);
    assert_int_equal(cpu->gpr[X86_RDI], (uintptr_t)guard);
    assert_int_equal(cpu->gpr[X86_RSI], (uintptr_t)a + 10);
    assert_int_equal(cpu->gpr[X86_RCX], 47);
    assert_true(x86_get_rflags(cpu) & X86_FLAG_ZF);

    /* CMPSQ with both operands unreadable: the AMD host reads ES:RDI
     * first, so that is the faulting address. */
    in = h_insn(T, X86_MAP_PRIMARY, 0xa7, -1, 3);
    cpu->gpr[X86_RSI] = (uintptr_t)guard + 64;
    cpu->gpr[X86_RDI] = (uintptr_t)guard + 128;
    assert_int_equal(h_exec(cpu, &in), X86_EXC_PF);
    assert_int_equal(cpu->exc.addr, (uintptr_t)guard + 128);
    assert_int_equal(cpu->gpr[X86_RSI], (uintptr_t)guard + 64);

    /* The end of guest memory (mem_limit) inside a page: the element path
     * raises #PF exactly there. */
    cpu->mem_limit = (uintptr_t)a + 1000;
    x86_flush_tlb(cpu, true); /* the flat model's pages changed */
    memset(a, 0, 2 * H_PAGE);
    in = h_insn(T, X86_MAP_PRIMARY, 0xaa, -1, 0);
    in.flags = X86_I_REP;
    cpu->gpr[X86_RAX] = 0xab;
    cpu->gpr[X86_RDI] = (uintptr_t)a + 900;
    cpu->gpr[X86_RCX] = 500;
    assert_int_equal(h_exec(cpu, &in), X86_EXC_PF);
    assert_int_equal(cpu->exc.addr, (uintptr_t)a + 1000);
    assert_int_equal(cpu->gpr[X86_RCX], 400);
    assert_int_equal(a[999], 0xab);
    assert_int_equal(a[1000], 0);
    munmap(a, 3 * H_PAGE);
    munmap(d, 2 * H_PAGE);
    h_free_cpu(cpu);
}

/* A source segment override (FS) moves the source, never the destination. */
static void test_segment_override(void **state)
{
    (void)state;
    struct x86_cpu *cpu = h_new_cpu();
    uint8_t src[64], dst[64];
    for (int i = 0; i < 64; i++) {
        src[i] = (uint8_t)i;
        dst[i] = 0;
    }
    struct x86_insn in = h_insn(T, X86_MAP_PRIMARY, 0xa5, -1, 3);
    in.flags = X86_I_REP;
    in.seg = X86_FS;
    cpu->seg[X86_FS].base = (uintptr_t)src;
    cpu->gpr[X86_RSI] = 8;
    cpu->gpr[X86_RDI] = (uintptr_t)dst;
    cpu->gpr[X86_RCX] = 4;
    h_exec(cpu, &in);
    assert_memory_equal(dst, src + 8, 32);
    assert_int_equal(cpu->gpr[X86_RSI], 40);
    h_free_cpu(cpu);
}

static void test_ins_outs(void **state)
{
    (void)state;
    struct x86_cpu *cpu = h_new_cpu();
    for (unsigned op = 0x6c; op <= 0x6f; op++) {
        struct x86_insn in = h_insn(T, X86_MAP_PRIMARY, op, -1, op & 1 ? 2 : 0);
        in.flags = X86_I_REP;
        cpu->gpr[X86_RCX] = 5;
        assert_int_equal(h_exec(cpu, &in), X86_EXC_GP);
        assert_int_equal(cpu->exc.error, 0);
        assert_int_equal(cpu->gpr[X86_RCX], 5);
    }
    h_free_cpu(cpu);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_string_vs_host),    cmocka_unit_test(test_overlap_vs_host),
        cmocka_unit_test(test_rep_fault_precise), cmocka_unit_test(test_segment_override),
        cmocka_unit_test(test_ins_outs),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
