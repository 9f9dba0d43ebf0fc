/* SSE data movement and shuffles (sse_move.c) against the host CPU: every
 * instruction in its register and memory forms (merging and zeroing
 * rules), the alignment rule of each memory form (the host's own #GP
 * decides what is expected), precise page faults for loads and stores that
 * cross into an unmapped page, and the decoder picking the right op for
 * each prefix and ModRM form. */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "x86_flow_harness.h"

H_FAMILY(sse_move)
#define T h_ops_sse_move

typedef long long v2di __attribute__((vector_size(16)));

/* --- the host side ---
 * host_r(d, s): the register form, d = the destination (in/out), s = the
 * source register. host_m(x, p): the memory form; for loads x is the
 * destination register and p the source, for stores x is the source and p
 * the destination. */
typedef void host_r_fn(x86_xmm *d, const x86_xmm *s);
typedef void host_m_fn(x86_xmm *x, void *p);

#define HOST_R(name, text)                                                                         \
    static void name(x86_xmm *d, const x86_xmm *s)                                                 \
    {                                                                                              \
        v2di dv, sv;                                                                               \
        memcpy(&dv, d, 16);                                                                        \
        memcpy(&sv, s, 16);                                                                        \
        __asm__ volatile(text " %1, %0" : "+x"(dv) : "x"(sv));                                     \
        memcpy(d, &dv, 16);                                                                        \
    }
#define HOST_LOAD_M(name, text)                                                                    \
    static void name(x86_xmm *d, void *p)                                                          \
    {                                                                                              \
        v2di dv;                                                                                   \
        memcpy(&dv, d, 16);                                                                        \
        __asm__ volatile(text " %1, %0" : "+x"(dv) : "m"(*(const uint8_t(*)[16])p) : "memory");    \
        memcpy(d, &dv, 16);                                                                        \
    }
#define HOST_STORE_M(name, text)                                                                   \
    static void name(x86_xmm *s, void *p)                                                          \
    {                                                                                              \
        v2di sv;                                                                                   \
        memcpy(&sv, s, 16);                                                                        \
        __asm__ volatile(text " %1, %0" : "+m"(*(uint8_t(*)[16])p) : "x"(sv) : "memory");          \
    }
#define HOST_LOAD(name, text) HOST_R(name##_r, text) HOST_LOAD_M(name##_m, text)

HOST_LOAD(h_movups, "movups")
HOST_LOAD(h_movupd, "movupd")
HOST_LOAD(h_movss, "movss")
HOST_LOAD(h_movsd, "movsd")
HOST_LOAD(h_movaps, "movaps")
HOST_LOAD(h_movapd, "movapd")
HOST_LOAD(h_movdqa, "movdqa")
HOST_LOAD(h_movdqu, "movdqu")
HOST_LOAD(h_movsldup, "movsldup")
HOST_LOAD(h_movshdup, "movshdup")
HOST_LOAD(h_movddup, "movddup")
HOST_LOAD(h_unpcklps, "unpcklps")
HOST_LOAD(h_unpckhps, "unpckhps")
HOST_LOAD(h_unpcklpd, "unpcklpd")
HOST_LOAD(h_unpckhpd, "unpckhpd")
HOST_LOAD(h_shufps_1b, "shufps $0x1b,")
HOST_LOAD(h_shufps_e4, "shufps $0xe4,")
HOST_LOAD(h_shufps_4e, "shufps $0x4e,")
HOST_LOAD(h_shufps_93, "shufps $0x93,")
HOST_LOAD(h_shufps_ff, "shufps $0xff,")
HOST_LOAD(h_shufpd_0, "shufpd $0,")
HOST_LOAD(h_shufpd_1, "shufpd $1,")
HOST_LOAD(h_shufpd_2, "shufpd $2,")
HOST_LOAD(h_shufpd_3, "shufpd $3,")
HOST_R(h_movhlps_r, "movhlps")
HOST_R(h_movlhps_r, "movlhps")
HOST_LOAD_M(h_movlps_m, "movlps")
HOST_LOAD_M(h_movlpd_m, "movlpd")
HOST_LOAD_M(h_movhps_m, "movhps")
HOST_LOAD_M(h_movhpd_m, "movhpd")
HOST_LOAD_M(h_lddqu_m, "lddqu")
HOST_STORE_M(h_movups_s, "movups")
HOST_STORE_M(h_movupd_s, "movupd")
HOST_STORE_M(h_movss_s, "movss")
HOST_STORE_M(h_movsd_s, "movsd")
HOST_STORE_M(h_movlps_s, "movlps")
HOST_STORE_M(h_movlpd_s, "movlpd")
HOST_STORE_M(h_movhps_s, "movhps")
HOST_STORE_M(h_movhpd_s, "movhpd")
HOST_STORE_M(h_movaps_s, "movaps")
HOST_STORE_M(h_movapd_s, "movapd")
HOST_STORE_M(h_movntps_s, "movntps")
HOST_STORE_M(h_movntpd_s, "movntpd")
HOST_STORE_M(h_movntss_s, "movntss")
HOST_STORE_M(h_movntsd_s, "movntsd")
HOST_STORE_M(h_movdqa_s, "movdqa")
HOST_STORE_M(h_movdqu_s, "movdqu")
HOST_STORE_M(h_movntdq_s, "movntdq")

enum { LOAD, STORE };

/* One encoding. For a store's register form (xmm[rm] <- xmm[reg]) host_r
 * is the host's register-to-register move with the same meaning. */
struct mcase {
    const char *name;
    uint8_t op, pfx, imm, dir, msize;
    uint8_t aligned; /* a 16-byte operand that must be aligned */
    host_r_fn *host_r;
    host_m_fn *host_m;
};

#define NP X86_PFX_NONE
#define PD X86_PFX_66
#define SS X86_PFX_F3
#define SD X86_PFX_F2

static const struct mcase cases[] = {
    {"movups", 0x10, NP, 0, LOAD, 16, 0, h_movups_r, h_movups_m},
    {"movupd", 0x10, PD, 0, LOAD, 16, 0, h_movupd_r, h_movupd_m},
    {"movss", 0x10, SS, 0, LOAD, 4, 0, h_movss_r, h_movss_m},
    {"movsd", 0x10, SD, 0, LOAD, 8, 0, h_movsd_r, h_movsd_m},
    {"movups st", 0x11, NP, 0, STORE, 16, 0, h_movups_r, h_movups_s},
    {"movupd st", 0x11, PD, 0, STORE, 16, 0, h_movupd_r, h_movupd_s},
    {"movss st", 0x11, SS, 0, STORE, 4, 0, h_movss_r, h_movss_s},
    {"movsd st", 0x11, SD, 0, STORE, 8, 0, h_movsd_r, h_movsd_s},
    {"movlps/movhlps", 0x12, NP, 0, LOAD, 8, 0, h_movhlps_r, h_movlps_m},
    {"movlpd", 0x12, PD, 0, LOAD, 8, 0, NULL, h_movlpd_m},
    {"movsldup", 0x12, SS, 0, LOAD, 16, 1, h_movsldup_r, h_movsldup_m},
    {"movddup", 0x12, SD, 0, LOAD, 8, 0, h_movddup_r, h_movddup_m},
    {"movlps st", 0x13, NP, 0, STORE, 8, 0, NULL, h_movlps_s},
    {"movlpd st", 0x13, PD, 0, STORE, 8, 0, NULL, h_movlpd_s},
    {"unpcklps", 0x14, NP, 0, LOAD, 16, 1, h_unpcklps_r, h_unpcklps_m},
    {"unpcklpd", 0x14, PD, 0, LOAD, 16, 1, h_unpcklpd_r, h_unpcklpd_m},
    {"unpckhps", 0x15, NP, 0, LOAD, 16, 1, h_unpckhps_r, h_unpckhps_m},
    {"unpckhpd", 0x15, PD, 0, LOAD, 16, 1, h_unpckhpd_r, h_unpckhpd_m},
    {"movhps/movlhps", 0x16, NP, 0, LOAD, 8, 0, h_movlhps_r, h_movhps_m},
    {"movhpd", 0x16, PD, 0, LOAD, 8, 0, NULL, h_movhpd_m},
    {"movshdup", 0x16, SS, 0, LOAD, 16, 1, h_movshdup_r, h_movshdup_m},
    {"movhps st", 0x17, NP, 0, STORE, 8, 0, NULL, h_movhps_s},
    {"movhpd st", 0x17, PD, 0, STORE, 8, 0, NULL, h_movhpd_s},
    {"movaps", 0x28, NP, 0, LOAD, 16, 1, h_movaps_r, h_movaps_m},
    {"movapd", 0x28, PD, 0, LOAD, 16, 1, h_movapd_r, h_movapd_m},
    {"movaps st", 0x29, NP, 0, STORE, 16, 1, h_movaps_r, h_movaps_s},
    {"movapd st", 0x29, PD, 0, STORE, 16, 1, h_movapd_r, h_movapd_s},
    {"movntps", 0x2b, NP, 0, STORE, 16, 1, NULL, h_movntps_s},
    {"movntpd", 0x2b, PD, 0, STORE, 16, 1, NULL, h_movntpd_s},
    {"movntss", 0x2b, SS, 0, STORE, 4, 0, NULL, h_movntss_s},
    {"movntsd", 0x2b, SD, 0, STORE, 8, 0, NULL, h_movntsd_s},
    {"movdqa", 0x6f, PD, 0, LOAD, 16, 1, h_movdqa_r, h_movdqa_m},
    {"movdqu", 0x6f, SS, 0, LOAD, 16, 0, h_movdqu_r, h_movdqu_m},
    {"movdqa st", 0x7f, PD, 0, STORE, 16, 1, h_movdqa_r, h_movdqa_s},
    {"movdqu st", 0x7f, SS, 0, STORE, 16, 0, h_movdqu_r, h_movdqu_s},
    {"movntdq", 0xe7, PD, 0, STORE, 16, 1, NULL, h_movntdq_s},
    {"lddqu", 0xf0, SD, 0, LOAD, 16, 0, NULL, h_lddqu_m},
    {"shufps 1b", 0xc6, NP, 0x1b, LOAD, 16, 1, h_shufps_1b_r, h_shufps_1b_m},
    {"shufps e4", 0xc6, NP, 0xe4, LOAD, 16, 1, h_shufps_e4_r, h_shufps_e4_m},
    {"shufps 4e", 0xc6, NP, 0x4e, LOAD, 16, 1, h_shufps_4e_r, h_shufps_4e_m},
    {"shufps 93", 0xc6, NP, 0x93, LOAD, 16, 1, h_shufps_93_r, h_shufps_93_m},
    {"shufps ff", 0xc6, NP, 0xff, LOAD, 16, 1, h_shufps_ff_r, h_shufps_ff_m},
    {"shufpd 0", 0xc6, PD, 0, LOAD, 16, 1, h_shufpd_0_r, h_shufpd_0_m},
    {"shufpd 1", 0xc6, PD, 1, LOAD, 16, 1, h_shufpd_1_r, h_shufpd_1_m},
    {"shufpd 2", 0xc6, PD, 2, LOAD, 16, 1, h_shufpd_2_r, h_shufpd_2_m},
    {"shufpd 3", 0xc6, PD, 3, LOAD, 16, 1, h_shufpd_3_r, h_shufpd_3_m},
};
#define NCASES (sizeof(cases) / sizeof(cases[0]))

/* Run a host memory form, catching its fault (#GP for misalignment comes
 * as SIGSEGV). Returns true if it faulted. */
static sigjmp_buf host_jmp;

static void host_segv(int sig)
{
    (void)sig;
    siglongjmp(host_jmp, 1);
}

static bool host_m_faults(host_m_fn *fn, x86_xmm *x, void *p)
{
    struct sigaction sa, old;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = host_segv;
    sa.sa_flags = SA_NODEFER;
    sigaction(SIGSEGV, &sa, &old);
    bool faulted = true;
    if (!sigsetjmp(host_jmp, 1)) {
        fn(x, p);
        faulted = false;
    }
    sigaction(SIGSEGV, &old, NULL);
    return faulted;
}

/* --- the emulator side --- */

static uint64_t rng = 0x9e3779b97f4a7c15ULL;

static uint64_t rnd(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

static void rnd_xmm(x86_xmm *v)
{
    v->u64[0] = rnd();
    v->u64[1] = rnd();
}

static struct x86_insn case_insn(const struct mcase *c, unsigned reg, unsigned rm, int mem)
{
    struct x86_insn in;
    memset(&in, 0, sizeof(in));
    in.fn = h_find(T, X86_MAP_0F, c->op, c->pfx, -1, mem);
    if (!in.fn)
        fail_msg("%s: no op for the %s form", c->name, mem ? "memory" : "register");
    in.map = X86_MAP_0F;
    in.opcode = c->op;
    in.osz = 2;
    in.asz = 3;
    in.len = 4;
    in.seg = X86_DS;
    in.reg = (uint8_t)reg;
    in.rm = (uint8_t)(mem ? X86_RSI : rm);
    in.index = X86_NO_REG;
    in.flags = X86_I_MODRM | (mem ? X86_I_MEM : 0);
    in.imm = c->imm;
    return in;
}

static void check_xmm(const struct mcase *c, const char *what, const x86_xmm *emu,
                      const x86_xmm *host)
{
    if (memcmp(emu, host, 16) != 0)
        fail_msg("%s %s: emu %016llx%016llx host %016llx%016llx", c->name, what,
                 (unsigned long long)emu->u64[1], (unsigned long long)emu->u64[0],
                 (unsigned long long)host->u64[1], (unsigned long long)host->u64[0]);
}

/* Register forms: distinct registers (high ones too) and the same
 * register as both operands. */
static void check_reg_form(struct x86_cpu *cpu, const struct mcase *c)
{
    static const uint8_t pairs[][2] = {{1, 2}, {9, 3}, {0, 15}, {7, 7}, {12, 12}};
    for (size_t k = 0; k < sizeof(pairs) / sizeof(pairs[0]); k++) {
        unsigned reg = pairs[k][0], rm = pairs[k][1];
        x86_xmm d, s, want;
        rnd_xmm(&d);
        rnd_xmm(&s);
        /* Loads write xmm[reg] from xmm[rm]; stores xmm[rm] from xmm[reg]. */
        unsigned dst = c->dir == LOAD ? reg : rm, src = c->dir == LOAD ? rm : reg;
        if (dst == src)
            s = d;
        want = d;
        c->host_r(&want, &s);
        struct x86_insn in = case_insn(c, reg, rm, 0);
        cpu->xmm[dst] = d;
        cpu->xmm[src] = s;
        x86_xmm other = cpu->xmm[5];
        assert_int_equal(h_exec(cpu, &in), H_NOFAULT);
        check_xmm(c, "register form", &cpu->xmm[dst], &want);
        if (dst != src)
            check_xmm(c, "register form source", &cpu->xmm[src], &s);
        if (dst != 5 && src != 5)
            check_xmm(c, "register form bystander", &cpu->xmm[5], &other);
    }
}

/* A memory form at p (inside buf) against the host: the result or the
 * fault. Returns the vector (or H_NOFAULT). */
static int check_mem_form(struct x86_cpu *cpu, const struct mcase *c, uint8_t *buf, size_t off)
{
    uint8_t host_buf[64] __attribute__((aligned(16)));
    x86_xmm x, hx;
    rnd_xmm(&x);
    for (int i = 0; i < 64; i++)
        buf[i] = (uint8_t)rnd();
    memcpy(host_buf, buf, 64);
    hx = x;
    bool host_fault = host_m_faults(c->host_m, &hx, host_buf + off);

    struct x86_insn in = case_insn(c, 10, 0, 1);
    in.disp = 3;
    cpu->gpr[X86_RSI] = (uintptr_t)(buf + off) - 3;
    cpu->xmm[10] = x;
    int r = h_exec(cpu, &in);
    if (host_fault) {
        if (r != X86_EXC_GP || cpu->exc.error != 0)
            fail_msg("%s at offset %zu: the host faults, the emulator gives %d", c->name, off, r);
        check_xmm(c, "register after #GP", &cpu->xmm[10], &x);
    } else {
        if (r != H_NOFAULT)
            fail_msg("%s at offset %zu: the host does not fault, the emulator gives %d", c->name,
                     off, r);
        check_xmm(c, "memory form", &cpu->xmm[10], &hx);
    }
    if (memcmp(buf, host_buf, 64) != 0)
        fail_msg("%s at offset %zu: memory differs from the host's", c->name, off);
    return r;
}

static void test_moves_vs_host(void **state)
{
    (void)state;
    struct x86_cpu *cpu = h_new_cpu();
    uint8_t buf[64] __attribute__((aligned(16)));
    for (size_t i = 0; i < NCASES; i++) {
        const struct mcase *c = &cases[i];
        for (int k = 0; k < 20; k++) {
            if (c->host_r)
                check_reg_form(cpu, c);
            if (c->host_m)
                assert_int_equal(check_mem_form(cpu, c, buf, 16), H_NOFAULT);
        }
    }
    h_free_cpu(cpu);
}

/* Misaligned memory operands: #GP(0) exactly where the host gives it, and
 * the expected set of aligned forms (so the host cannot silently agree
 * with a wrong table, e.g. with AMD's misaligned-SSE mode on). */
static void test_alignment(void **state)
{
    (void)state;
    struct x86_cpu *cpu = h_new_cpu();
    uint8_t buf[64] __attribute__((aligned(16)));
    for (size_t i = 0; i < NCASES; i++) {
        const struct mcase *c = &cases[i];
        if (!c->host_m)
            continue;
        static const size_t offs[] = {1, 4, 8, 15, 17, 24};
        for (size_t k = 0; k < sizeof(offs) / sizeof(offs[0]); k++) {
            int r = check_mem_form(cpu, c, buf, offs[k]);
            if ((r == X86_EXC_GP) != c->aligned)
                fail_msg("%s at offset %zu: #GP %d, expected %d", c->name, offs[k], r == X86_EXC_GP,
                         c->aligned);
        }
    }
    h_free_cpu(cpu);
}

/* A memory operand that runs into an unmapped page: #PF at the page, with
 * the register and memory as they were (a store must not write its first
 * part). The aligned forms can only be wholly in the page. */
static void test_page_faults(void **state)
{
    (void)state;
    struct x86_cpu *cpu = h_new_cpu();
    uint8_t *page = h_pages(1, 1, 0);
    uint8_t *end = page + H_PAGE;
    for (size_t i = 0; i < NCASES; i++) {
        const struct mcase *c = &cases[i];
        if (!c->host_m)
            continue;
        for (unsigned over = 1; over <= c->msize; over = over * 2 + 1) {
            uint8_t *p = end - c->msize + over; /* `over` bytes past the end */
            if (over >= c->msize || c->aligned)
                p = end; /* wholly in the unmapped page */
            memset(end - 32, 0x5a, 32);
            x86_xmm x = {.u64 = {0x0123456789abcdefULL, 0xfedcba9876543210ULL}};
            struct x86_insn in = case_insn(c, 6, 0, 1);
            cpu->gpr[X86_RSI] = (uintptr_t)p;
            cpu->xmm[6] = x;
            int r = h_exec(cpu, &in);
            if (r != X86_EXC_PF)
                fail_msg("%s %u bytes over the page end: %d, not #PF", c->name, over, r);
            if (cpu->exc.addr != (uintptr_t)end)
                fail_msg("%s %u bytes over: #PF at end%+lld", c->name, over,
                         (long long)(cpu->exc.addr - (uintptr_t)end));
            assert_int_equal(cpu->rip, H_RIP);
            check_xmm(c, "register after #PF", &cpu->xmm[6], &x);
            for (int b = 0; b < 32; b++)
                if (end[b - 32] != 0x5a)
                    fail_msg("%s %u bytes over: byte %d before the page end written", c->name, over,
                             32 - b);
        }
        /* And fully inside, right at the end: no fault. */
        struct x86_insn in = case_insn(c, 6, 0, 1);
        cpu->gpr[X86_RSI] = (uintptr_t)(end - c->msize);
        assert_int_equal(h_exec(cpu, &in), H_NOFAULT);
    }
    munmap(page, 2 * H_PAGE);
    h_free_cpu(cpu);
}

/* The decoder with the dispatch table: each prefix and ModRM form of the
 * shared opcodes reaches the right op. */
static void test_decode_dispatch(void **state)
{
    (void)state;
    static const struct {
        uint8_t bytes[8];
        unsigned len;
        const char *name;
    } enc[] = {
        {{0x0f, 0x10, 0xc1}, 3, "movups"},
        {{0x66, 0x0f, 0x10, 0x01}, 4, "movupd"},
        {{0xf3, 0x0f, 0x10, 0xc1}, 4, "movss"},
        {{0xf2, 0x0f, 0x11, 0x01}, 4, "movsd"},
        {{0x66, 0xf2, 0x0f, 0x10, 0x01}, 5, "movsd"}, /* F2 beats 66 */
        {{0x0f, 0x12, 0xc1}, 3, "movhlps"},
        {{0x0f, 0x12, 0x01}, 3, "movlps"},
        {{0x66, 0x0f, 0x12, 0x01}, 4, "movlpd"},
        {{0xf3, 0x0f, 0x12, 0xc1}, 4, "movsldup"},
        {{0xf2, 0x0f, 0x12, 0x01}, 4, "movddup"},
        {{0x0f, 0x16, 0xc1}, 3, "movlhps"},
        {{0x0f, 0x16, 0x01}, 3, "movhps"},
        {{0x66, 0x0f, 0x16, 0x01}, 4, "movhpd"},
        {{0xf3, 0x0f, 0x16, 0xc1}, 4, "movshdup"},
        {{0x66, 0x0f, 0x17, 0x01}, 4, "movhpd"},
        {{0x44, 0x0f, 0x28, 0xc1}, 4, "movaps"},
        {{0x66, 0x0f, 0x29, 0x01}, 4, "movapd"},
        {{0x0f, 0x2b, 0x01}, 3, "movntps"},
        {{0xf3, 0x0f, 0x2b, 0x01}, 4, "movntss"},
        {{0x66, 0x0f, 0x6f, 0x01}, 4, "movdqa"},
        {{0xf3, 0x0f, 0x6f, 0x01}, 4, "movdqu"},
        {{0xf3, 0x0f, 0x7f, 0xc1}, 4, "movdqu"},
        {{0x66, 0x0f, 0xe7, 0x01}, 4, "movntdq"},
        {{0xf2, 0x0f, 0xf0, 0x01}, 4, "lddqu"},
        {{0x0f, 0xc6, 0xc1, 0x1b}, 4, "shufps"},
        {{0x66, 0x0f, 0xc6, 0x01, 0x01}, 5, "shufpd"},
        {{0x66, 0x0f, 0x15, 0xc1}, 4, "unpckhpd"},
    };
    for (size_t i = 0; i < sizeof(enc) / sizeof(enc[0]); i++) {
        struct x86_insn in;
        int len = x86_decode(enc[i].bytes, enc[i].len, 1, &in);
        if (len != (int)enc[i].len)
            fail_msg("%s: decoded length %d, expected %u", enc[i].name, len, enc[i].len);
        const struct x86_op_entry *e = x86_ops_entry(in.op);
        if (!e || !e->name || strcmp(e->name, enc[i].name) != 0)
            fail_msg("encoding %zu: op %s, expected %s", i, e && e->name ? e->name : "?",
                     enc[i].name);
    }
    /* Forms that do not exist stay #UD: MOVLPD and MOVHPD with a register,
     * the stores and non-temporal moves with a register. */
    static const uint8_t bad[][4] = {{0x66, 0x0f, 0x12, 0xc1}, {0x66, 0x0f, 0x16, 0xc1},
                                     {0x0f, 0x13, 0xc1, 0x90}, {0x0f, 0x2b, 0xc1, 0x90},
                                     {0x66, 0x0f, 0xe7, 0xc1}, {0xf2, 0x0f, 0xf0, 0xc1}};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct x86_insn in;
        int len = x86_decode(bad[i], 4, 1, &in);
        assert_true(len == -X86_EXC_UD || (len > 0 && in.op == 0));
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_moves_vs_host),
        cmocka_unit_test(test_alignment),
        cmocka_unit_test(test_page_faults),
        cmocka_unit_test(test_decode_dispatch),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
