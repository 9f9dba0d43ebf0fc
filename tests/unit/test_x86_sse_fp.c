/* SSE floating-point ops (sse_fp*.c) against the host CPU: every form runs
 * natively on the host with the same inputs and MXCSR (unmasked exceptions
 * included: the native run traps, and its SIGFPE context gives the MXCSR
 * and registers the hardware left), and in the emulator; results, MXCSR,
 * RFLAGS, the exception and the untouched destination must agree.
 * Inputs mix special values (signed zeros, denormals, infinities, QNaN and
 * SNaN with payloads, extremes, values that round differently per mode,
 * integer-conversion boundaries) with random bits; MXCSR values cover the
 * rounding modes, DAZ/FTZ, preset sticky flags and unmasked exceptions.
 */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <signal.h>
#include <ucontext.h>

#include "x86_host.h"

X86_TEST_FAMILY(sse_fp)
#define x86_ops_sse_fp test_ops_sse_fp

#define PN  X86_PFX_NONE
#define P66 X86_PFX_66
#define PF3 X86_PFX_F3
#define PF2 X86_PFX_F2
#define M0F X86_MAP_0F
#define M38 X86_MAP_0F38
#define M3A X86_MAP_0F3A

/* Inputs per case and MXCSR value are multiplied by this (build with
 * -DSSEFP_TEST_SCALE=100 for a long soak). */
#ifndef SSEFP_TEST_SCALE
#define SSEFP_TEST_SCALE 1
#endif

#define DREG 3  /* xmm destination of the emulated instruction */
#define SREG 12 /* xmm source (register forms) */

/* --- native execution --- */

/* The state a native instruction runs on: d in xmm2, s in xmm1, x0 in
 * xmm0, g in rax, mm in mm0, p in rcx (the memory operand). */
struct nat {
    x86_xmm d, s, x0;
    const void *p;
    uint64_t g, mm;
    uint32_t mx;
} __attribute__((aligned(16)));

static const uint32_t nat_def_mx = 0x1f80;
static sigjmp_buf nat_jb;
static volatile int nat_armed, nat_sig;
static uint32_t nat_trap_mx;
static x86_xmm nat_trap_xmm2;

static void nat_handler(int sig, siginfo_t *si, void *ctx)
{
    (void)si;
    ucontext_t *uc = ctx;
    if (!nat_armed) {
        signal(sig, SIG_DFL); /* not ours: crash for real */
        return;
    }
    nat_sig = sig;
    nat_trap_mx = uc->uc_mcontext.fpregs->mxcsr;
    memcpy(&nat_trap_xmm2, &uc->uc_mcontext.fpregs->_xmm[2], 16);
    uc->uc_mcontext.fpregs->mxcsr = nat_def_mx;
    siglongjmp(nat_jb, 1);
}

#define NAT_ASM(text)                                                                              \
    __asm__ volatile(                                                                              \
        "ldmxcsr %c[omx](%[n])\n\t"                                                                \
        "movdqu %c[od](%[n]), %%xmm2\n\t"                                                          \
        "movdqu %c[os](%[n]), %%xmm1\n\t"                                                          \
        "movdqu %c[ox](%[n]), %%xmm0\n\t"                                                          \
        "mov %c[og](%[n]), %%rax\n\t"                                                              \
        "mov %c[op](%[n]), %%rcx\n\t" text "\n\t"                                                  \
        "movdqu %%xmm2, %c[od](%[n])\n\t"                                                          \
        "mov %%rax, %c[og](%[n])\n\t"                                                              \
        "stmxcsr %c[omx](%[n])\n\t"                                                                \
        "ldmxcsr %[def]"                                                                           \
        :                                                                                          \
        : [n] "r"(n), [od] "i"(offsetof(struct nat, d)), [os] "i"(offsetof(struct nat, s)),        \
          [ox] "i"(offsetof(struct nat, x0)), [op] "i"(offsetof(struct nat, p)),                   \
          [og] "i"(offsetof(struct nat, g)), [omm] "i"(offsetof(struct nat, mm)),                  \
          [omx] "i"(offsetof(struct nat, mx)), [def] "m"(nat_def_mx)                               \
        : "rax", "rcx", "xmm0", "xmm1", "xmm2", "mm0", "memory", "cc")

typedef void nat_fn(struct nat *n);

/* Register and memory forms of `mnem src, xmm2`. */
#define NATV(name, mnem)                                                                           \
    static void nat_##name##_r(struct nat *n)                                                      \
    {                                                                                              \
        NAT_ASM(mnem " %%xmm1, %%xmm2");                                                           \
    }                                                                                              \
    static void nat_##name##_m(struct nat *n)                                                      \
    {                                                                                              \
        NAT_ASM(mnem " (%%rcx), %%xmm2");                                                          \
    }
#define NATVI(name, mnem, imm)                                                                     \
    static void nat_##name##_r(struct nat *n)                                                      \
    {                                                                                              \
        NAT_ASM(mnem " $" #imm ", %%xmm1, %%xmm2");                                                \
    }                                                                                              \
    static void nat_##name##_m(struct nat *n)                                                      \
    {                                                                                              \
        NAT_ASM(mnem " $" #imm ", (%%rcx), %%xmm2");                                               \
    }

/* Run a native instruction: 0, or the signal it raised (SIGFPE: #XM,
 * SIGSEGV: #GP); n->mx is the MXCSR after it either way. */
static int nat_run(nat_fn *fn, struct nat *n)
{
    nat_sig = 0;
    if (sigsetjmp(nat_jb, 1)) {
        nat_armed = 0;
        __asm__ volatile("emms\n\tldmxcsr %0" ::"m"(nat_def_mx));
        n->mx = nat_trap_mx;
        return nat_sig;
    }
    nat_armed = 1;
    fn(n);
    nat_armed = 0;
    return 0;
}

/* cmocka installs its own SIGFPE/SIGSEGV handlers around each test
 * function: every test that runs natives installs these first. */
static void nat_install(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_sigaction = nat_handler;
    sa.sa_flags = SA_SIGINFO | SA_NODEFER;
    sigaction(SIGFPE, &sa, NULL);
    sigaction(SIGSEGV, &sa, NULL);
}

/* --- inputs --- */

enum ty {
    TF,  /* single */
    TD,  /* double */
    TI,  /* doubleword integers */
    TX,  /* any bits */
    TFB, /* singles near the ends of the exponent range */
    TDB, /* doubles likewise */
    TDC, /* doubles near the ends of the single range */
};

static const uint32_t f32_pool[] = {
    0x00000000, 0x80000000, 0x3f800000, 0xbf800000, 0x3fc00000, 0x40200000, 0xbfc00000, 0x3eaaaaab,
    0x00000001, 0x807fffff, 0x007fffff, 0x00400000, 0x00800000, 0x80800001, 0x00800001, 0x00ffffff,
    0x7f7fffff, 0xff7fffff, 0x7f000000, 0x7effffff, 0x7f800000, 0xff800000, 0x7fc00000, 0xffc00000,
    0x7fc12345, 0xffd00001, 0x7f800001, 0xff812345, 0x7fa00abc, 0x3f000001, 0x3f7fffff, 0x3f800001,
    0x40000000, 0x3f000000, 0x1e3ce508, 0x60ad78ec, 0x4f000000, 0xcf000000, 0x4effffff, 0x5f000000,
    0xdf000000, 0x5effffff, 0x4b000001, 0x3effffff, 0x0d800000, 0x72000000, 0x0c000000, 0x3f400000,
};
static const uint64_t f64_pool[] = {
    0x0000000000000000ULL, 0x8000000000000000ULL, 0x3ff0000000000000ULL, 0xbff0000000000000ULL,
    0x3ff8000000000000ULL, 0x4004000000000000ULL, 0x3fd5555555555555ULL, 0x0000000000000001ULL,
    0x800fffffffffffffULL, 0x0008000000000000ULL, 0x0010000000000000ULL, 0x0010000000000001ULL,
    0x7fefffffffffffffULL, 0xffefffffffffffffULL, 0x7fe0000000000000ULL, 0x7ff0000000000000ULL,
    0xfff0000000000000ULL, 0x7ff8000000000000ULL, 0xfff8000000000000ULL, 0x7ff8123456789abcULL,
    0x7ff0000000000001ULL, 0xfff4000000000123ULL, 0x3fe0000000000001ULL, 0x3fefffffffffffffULL,
    0x3ff0000000000001ULL, 0x4000000000000000ULL, 0x41dfffffffc00000ULL, 0x41e0000000000000ULL,
    0xc1e0000000000000ULL, 0xc1e0000000200000ULL, 0x43e0000000000000ULL, 0xc3e0000000000000ULL,
    0x43dfffffffffffffULL, 0x47efffffe0000000ULL, 0x47f0000000000000ULL, 0x36a0000000000000ULL,
    0x3690000000000000ULL, 0x380fffffffffffffULL, 0x3810000000000000ULL, 0x47efffffefffffffULL,
    0x7e30000000000000ULL, 0x01b0000000000000ULL, 0x3fe8000000000000ULL, 0x4330000000000001ULL,
};
static const uint32_t i32_pool[] = {0,          1,          0xffffffff, 0x80000000, 0x7fffffff,
                                    0x01000001, 0xfeffffff, 0x00ffffff, 0x7fffffc0, 0x12345679};

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

/* A float of ebits/mbits format whose exponent is near the bottom or the
 * top of the range (single=1: of the single-precision range, in a double),
 * or near 1 (a factor that moves the other operand across a boundary),
 * or a denormal; the significand often ends in zeros, so that results
 * are exact more often. */
static uint64_t gen_boundary(uint64_t r, unsigned ebits, unsigned mbits, int single)
{
    uint64_t bias = (1ULL << (ebits - 1)) - 1, emax = (1ULL << ebits) - 2, e;
    uint64_t lo = single ? bias - 126 : 1, hi = single ? bias + 127 : emax;
    uint64_t mant = rnd() & ((1ULL << mbits) - 1);
    mant &= ~0ULL << ((r >> 40) % (mbits + 1));
    switch ((r >> 2) & 3) {
    case 0:
        e = lo - (single ? 26 : 1) + (r >> 8) % (single ? 30 : 5);
        break;
    case 1:
        e = hi - 3 + (r >> 8) % 5;
        break;
    case 2:
        e = bias - 3 + (r >> 8) % 7;
        break;
    default:
        e = single ? lo - (r >> 8) % 30 : 0;
        break;
    }
    if (e > emax)
        e = emax;
    return (r >> 63) << (ebits + mbits) | e << mbits | mant;
}

static void gen(x86_xmm *x, enum ty t)
{
    for (unsigned i = 0; i < 4; i++) {
        uint64_t r = rnd();
        switch (t) {
        case TF:
            x->u32[i] = (r & 3) ? f32_pool[(r >> 8) % NELEM(f32_pool)] : (uint32_t)(r >> 32);
            break;
        case TD:
            if (i < 2)
                x->u64[i] = (r & 3) ? f64_pool[(r >> 8) % NELEM(f64_pool)] : rnd();
            break;
        case TI:
            x->u32[i] = (r & 3) ? i32_pool[(r >> 8) % NELEM(i32_pool)] : (uint32_t)(r >> 32);
            break;
        case TFB:
            x->u32[i] = gen_boundary(r, 8, 23, 0);
            break;
        case TDB:
            if (i < 2)
                x->u64[i] = gen_boundary(r, 11, 52, 0);
            break;
        case TDC:
            if (i < 2)
                x->u64[i] = gen_boundary(r, 11, 52, 1);
            break;
        default:
            x->u32[i] = (uint32_t)(r >> 16);
            break;
        }
    }
}

/* MXCSR values: default, the rounding modes, DAZ/FTZ, sticky flags
 * already set, each exception unmasked alone, several, all, and with
 * other control bits. */
static const uint32_t mx_list[] = {
    0x1f80, 0x3f80, 0x5f80, 0x7f80, 0x1fc0, 0x9f80, 0x9fc0, 0x1fbf, 0x1f00, 0x1e80,
    0x1d80, 0x1b80, 0x1780, 0x0f80, 0x0000, 0x9780, 0x7b80, 0x0fc0, 0x1380, 0x5740,
};
#define N_MX NELEM(mx_list)

/* --- the xmm-destination forms --- */

struct vcase {
    const char *name;
    uint8_t map, op, pfx, imm;
    nat_fn *r, *m;
    uint8_t dty, sty, msize;
};

#define V(name, map, op, pfx, dty, sty, msize)                                                     \
    {                                                                                              \
#name, map, op, pfx, 0, nat_##name##_r, nat_##name##_m, dty, sty, msize                    \
    }
#define VI(name, map, op, pfx, imm, dty, sty, msize)                                               \
    {                                                                                              \
#name, map, op, pfx, imm, nat_##name##_r, nat_##name##_m, dty, sty, msize                  \
    }

#define NAT4(op)                                                                                   \
    NATV(op##ps, #op "ps") NATV(op##pd, #op "pd") NATV(op##ss, #op "ss") NATV(op##sd, #op "sd")
NAT4(add)
NAT4(sub)
NAT4(mul)
NAT4(div)
NAT4(min)
NAT4(max)
NAT4(sqrt)
NATV(rcpps, "rcpps")
NATV(rcpss, "rcpss")
NATV(rsqrtps, "rsqrtps")
NATV(rsqrtss, "rsqrtss")
NATV(andps, "andps")
NATV(andpd, "andpd")
NATV(andnps, "andnps")
NATV(andnpd, "andnpd")
NATV(orps, "orps")
NATV(orpd, "orpd")
NATV(xorps, "xorps")
NATV(xorpd, "xorpd")
NATV(addsubps, "addsubps")
NATV(addsubpd, "addsubpd")
NATV(haddps, "haddps")
NATV(haddpd, "haddpd")
NATV(hsubps, "hsubps")
NATV(hsubpd, "hsubpd")
NATV(cvtps2pd, "cvtps2pd")
NATV(cvtpd2ps, "cvtpd2ps")
NATV(cvtss2sd, "cvtss2sd")
NATV(cvtsd2ss, "cvtsd2ss")
NATV(cvtdq2ps, "cvtdq2ps")
NATV(cvtps2dq, "cvtps2dq")
NATV(cvttps2dq, "cvttps2dq")
NATV(cvttpd2dq, "cvttpd2dq")
NATV(cvtdq2pd, "cvtdq2pd")
NATV(cvtpd2dq, "cvtpd2dq")
NATV(blendvps, "blendvps %%xmm0,")
NATV(blendvpd, "blendvpd %%xmm0,")

#define ARITH_V(op, map, opc)                                                                      \
    V(op##ps, map, opc, PN, TF, TF, 16), V(op##pd, map, opc, P66, TD, TD, 16),                     \
        V(op##ss, map, opc, PF3, TF, TF, 4), V(op##sd, map, opc, PF2, TD, TD, 8)

static const struct vcase vcases[] = {
    ARITH_V(add, M0F, 0x58),
    ARITH_V(sub, M0F, 0x5c),
    ARITH_V(mul, M0F, 0x59),
    ARITH_V(div, M0F, 0x5e),
    ARITH_V(min, M0F, 0x5d),
    ARITH_V(max, M0F, 0x5f),
    ARITH_V(sqrt, M0F, 0x51),
    V(rcpps, M0F, 0x53, PN, TF, TF, 16),
    V(rcpss, M0F, 0x53, PF3, TF, TF, 4),
    V(rsqrtps, M0F, 0x52, PN, TF, TF, 16),
    V(rsqrtss, M0F, 0x52, PF3, TF, TF, 4),
    V(andps, M0F, 0x54, PN, TX, TX, 16),
    V(andpd, M0F, 0x54, P66, TX, TX, 16),
    V(andnps, M0F, 0x55, PN, TX, TX, 16),
    V(andnpd, M0F, 0x55, P66, TX, TX, 16),
    V(orps, M0F, 0x56, PN, TX, TX, 16),
    V(orpd, M0F, 0x56, P66, TX, TX, 16),
    V(xorps, M0F, 0x57, PN, TX, TX, 16),
    V(xorpd, M0F, 0x57, P66, TX, TX, 16),
    V(addsubps, M0F, 0xd0, PF2, TF, TF, 16),
    V(addsubpd, M0F, 0xd0, P66, TD, TD, 16),
    V(haddps, M0F, 0x7c, PF2, TF, TF, 16),
    V(haddpd, M0F, 0x7c, P66, TD, TD, 16),
    V(hsubps, M0F, 0x7d, PF2, TF, TF, 16),
    V(hsubpd, M0F, 0x7d, P66, TD, TD, 16),
    V(cvtps2pd, M0F, 0x5a, PN, TX, TF, 8),
    V(cvtpd2ps, M0F, 0x5a, P66, TX, TD, 16),
    V(cvtss2sd, M0F, 0x5a, PF3, TD, TF, 4),
    V(cvtsd2ss, M0F, 0x5a, PF2, TF, TD, 8),
    V(cvtdq2ps, M0F, 0x5b, PN, TX, TI, 16),
    V(cvtps2dq, M0F, 0x5b, P66, TX, TF, 16),
    V(cvttps2dq, M0F, 0x5b, PF3, TX, TF, 16),
    V(cvttpd2dq, M0F, 0xe6, P66, TX, TD, 16),
    V(cvtdq2pd, M0F, 0xe6, PF3, TX, TI, 8),
    V(cvtpd2dq, M0F, 0xe6, PF2, TX, TD, 16),
    V(blendvps, M38, 0x14, P66, TX, TX, 16),
    V(blendvpd, M38, 0x15, P66, TX, TX, 16),
};

static void dump(const char *what, const x86_xmm *x)
{
    print_error("  %s %08x %08x %08x %08x\n", what, x->u32[0], x->u32[1], x->u32[2], x->u32[3]);
}

/* Run case c in the emulator on the inputs of n (before the native run
 * changed it). Returns the exception vector or -1. */
static int emu_vv(const struct vcase *c, bool mem, const struct nat *n)
{
    cpu->mxcsr = n->mx;
    cpu->xmm[DREG] = n->d;
    cpu->xmm[SREG] = n->s;
    cpu->xmm[0] = n->x0;
    cpu->gpr[X86_RBX] = (uintptr_t)n->p;
    struct x86_insn in =
        mem ? insn_mem(c->map, c->op, 2, DREG, X86_RBX, 0) : insn_reg(c->map, c->op, 2, DREG, SREG);
    in.imm = c->imm;
    return run_op_exc(find_op(x86_ops_sse_fp, c->map, c->op, c->pfx, DREG, mem), &in);
}

/* Compare the emulator with a native run of the same inputs (in). */
static void check_vv(const struct vcase *c, bool mem, const struct nat *in, int sig,
                     const struct nat *out, int vec)
{
    int want_vec = sig == SIGFPE ? X86_EXC_XM : sig == SIGSEGV ? X86_EXC_GP : -1;
    const x86_xmm *want = sig ? &in->d : &out->d;
    bool ok = vec == want_vec && !memcmp(&cpu->xmm[DREG], want, 16) && cpu->mxcsr == out->mx;
    /* the hardware, too, left the destination alone when it trapped */
    if (sig == SIGFPE && memcmp(&nat_trap_xmm2, &in->d, 16))
        ok = false;
    if (!mem && memcmp(&cpu->xmm[SREG], &in->s, 16))
        ok = false;
    if (ok)
        return;
    print_error("%s (%s form, imm %#x): mxcsr in %#x\n", c->name, mem ? "memory" : "register",
                c->imm, in->mx);
    dump("d  ", &in->d);
    dump("s  ", &in->s);
    print_error("  host: signal %d mxcsr %#x; emulator: vector %d mxcsr %#x\n", sig, out->mx, vec,
                cpu->mxcsr);
    dump("host", want);
    dump("emu ", &cpu->xmm[DREG]);
    fail();
}

static void run_vcase(const struct vcase *c, unsigned nvec)
{
    static struct nat buf; /* 16-byte aligned memory operand */
    for (unsigned m = 0; m < N_MX; m++) {
        for (unsigned k = 0; k < nvec; k++) {
            struct nat in, out;
            memset(&in, 0, sizeof(in));
            gen(&in.d, c->dty);
            gen(&in.s, c->sty);
            gen(&in.x0, TX);
            in.mx = mx_list[m];
            for (int mem = 0; mem < 2; mem++) {
                buf.d = in.s;
                in.p = &buf.d;
                out = in;
                int sig = nat_run(mem ? c->m : c->r, &out);
                int vec = emu_vv(c, mem, &in);
                check_vv(c, mem, &in, sig, &out, vec);
            }
        }
    }
}

static void test_vv_forms(void **state)
{
    (void)state;
    nat_install();
    for (unsigned i = 0; i < NELEM(vcases); i++)
        run_vcase(&vcases[i], 14 * SSEFP_TEST_SCALE);
}

/* --- immediate forms: CMP, ROUND, DP, BLEND, INSERTPS --- */

#define NATCMP(imm)                                                                                \
    NATVI(cmpps_##imm, "cmpps", imm)                                                               \
    NATVI(cmppd_##imm, "cmppd", imm)                                                               \
    NATVI(cmpss_##imm, "cmpss", imm) NATVI(cmpsd_##imm, "cmpsd", imm)
NATCMP(0)
NATCMP(1)
NATCMP(2)
NATCMP(3)
NATCMP(4)
NATCMP(5)
NATCMP(6)
NATCMP(7)
NATCMP(11)
NATCMP(29)
NATCMP(255)
#define CMP_V(imm)                                                                                 \
    VI(cmpps_##imm, M0F, 0xc2, PN, imm, TF, TF, 16),                                               \
        VI(cmppd_##imm, M0F, 0xc2, P66, imm, TD, TD, 16),                                          \
        VI(cmpss_##imm, M0F, 0xc2, PF3, imm, TF, TF, 4),                                           \
        VI(cmpsd_##imm, M0F, 0xc2, PF2, imm, TD, TD, 8)

#define NATROUND(imm)                                                                              \
    NATVI(roundps_##imm, "roundps", imm)                                                           \
    NATVI(roundpd_##imm, "roundpd", imm)                                                           \
    NATVI(roundss_##imm, "roundss", imm) NATVI(roundsd_##imm, "roundsd", imm)
NATROUND(0)
NATROUND(1)
NATROUND(2)
NATROUND(3)
NATROUND(4)
NATROUND(8)
NATROUND(9)
NATROUND(10)
NATROUND(11)
NATROUND(12)
NATROUND(244)
#define ROUND_V(imm)                                                                               \
    VI(roundps_##imm, M3A, 0x08, P66, imm, TF, TF, 16),                                            \
        VI(roundpd_##imm, M3A, 0x09, P66, imm, TD, TD, 16),                                        \
        VI(roundss_##imm, M3A, 0x0a, P66, imm, TF, TF, 4),                                         \
        VI(roundsd_##imm, M3A, 0x0b, P66, imm, TD, TD, 8)

NATVI(dpps_255, "dpps", 255)
NATVI(dpps_241, "dpps", 241)
NATVI(dpps_49, "dpps", 49)
NATVI(dpps_165, "dpps", 165)
NATVI(dpps_90, "dpps", 90)
NATVI(dpps_15, "dpps", 15)
NATVI(dpps_240, "dpps", 240)
NATVI(dpps_60, "dpps", 60)
NATVI(dppd_49, "dppd", 49)
NATVI(dppd_51, "dppd", 51)
NATVI(dppd_255, "dppd", 255)
NATVI(dppd_18, "dppd", 18)
NATVI(dppd_33, "dppd", 33)
NATVI(dppd_204, "dppd", 204)
NATVI(blendps_5, "blendps", 5)
NATVI(blendps_250, "blendps", 250)
NATVI(blendpd_1, "blendpd", 1)
NATVI(blendpd_254, "blendpd", 254)
NATVI(insertps_0, "insertps", 0)
NATVI(insertps_78, "insertps", 78)
NATVI(insertps_177, "insertps", 177)
NATVI(insertps_240, "insertps", 240)
NATVI(insertps_57, "insertps", 57)

static const struct vcase icases[] = {
    CMP_V(0),
    CMP_V(1),
    CMP_V(2),
    CMP_V(3),
    CMP_V(4),
    CMP_V(5),
    CMP_V(6),
    CMP_V(7),
    CMP_V(11),
    CMP_V(29),
    CMP_V(255),
    ROUND_V(0),
    ROUND_V(1),
    ROUND_V(2),
    ROUND_V(3),
    ROUND_V(4),
    ROUND_V(8),
    ROUND_V(9),
    ROUND_V(10),
    ROUND_V(11),
    ROUND_V(12),
    ROUND_V(244),
    VI(dpps_255, M3A, 0x40, P66, 255, TF, TF, 16),
    VI(dpps_241, M3A, 0x40, P66, 241, TF, TF, 16),
    VI(dpps_49, M3A, 0x40, P66, 49, TF, TF, 16),
    VI(dpps_165, M3A, 0x40, P66, 165, TF, TF, 16),
    VI(dpps_90, M3A, 0x40, P66, 90, TF, TF, 16),
    VI(dpps_15, M3A, 0x40, P66, 15, TF, TF, 16),
    VI(dpps_240, M3A, 0x40, P66, 240, TF, TF, 16),
    VI(dpps_60, M3A, 0x40, P66, 60, TF, TF, 16),
    VI(dppd_49, M3A, 0x41, P66, 49, TD, TD, 16),
    VI(dppd_51, M3A, 0x41, P66, 51, TD, TD, 16),
    VI(dppd_255, M3A, 0x41, P66, 255, TD, TD, 16),
    VI(dppd_18, M3A, 0x41, P66, 18, TD, TD, 16),
    VI(dppd_33, M3A, 0x41, P66, 33, TD, TD, 16),
    VI(dppd_204, M3A, 0x41, P66, 204, TD, TD, 16),
    VI(blendps_5, M3A, 0x0c, P66, 5, TX, TX, 16),
    VI(blendps_250, M3A, 0x0c, P66, 250, TX, TX, 16),
    VI(blendpd_1, M3A, 0x0d, P66, 1, TX, TX, 16),
    VI(blendpd_254, M3A, 0x0d, P66, 254, TX, TX, 16),
    VI(insertps_0, M3A, 0x21, P66, 0, TX, TX, 4),
    VI(insertps_78, M3A, 0x21, P66, 78, TX, TX, 4),
    VI(insertps_177, M3A, 0x21, P66, 177, TX, TX, 4),
    VI(insertps_240, M3A, 0x21, P66, 240, TX, TX, 4),
    VI(insertps_57, M3A, 0x21, P66, 57, TX, TX, 4),
};

static void test_imm_forms(void **state)
{
    (void)state;
    nat_install();
    for (unsigned i = 0; i < NELEM(icases); i++)
        run_vcase(&icases[i], 6 * SSEFP_TEST_SCALE);
}

/* --- targeted unmasked-exception cases (the lane model) --- */

static const struct vcase *vfind(const char *name)
{
    for (unsigned i = 0; i < NELEM(vcases); i++) {
        if (!strcmp(vcases[i].name, name))
            return &vcases[i];
    }
    fail_msg("no case %s", name);
    return NULL;
}

static void test_unmasked_exceptions(void **state)
{
    (void)state;
    nat_install();
    static const struct {
        const char *op;
        uint64_t d0, d1, s0, s1;
        uint32_t mx;
    } xs[] = {
        /* overflow, inexact or exact at an unbounded exponent */
        {"mulps", 0x7149f2ca, 0, 0x7149f2ca, 0, 0x1b80},
        {"mulps", 0x7f000000, 0, 0x40000000, 0, 0x1b80},
        {"mulps", 0x7f000000, 0, 0x40000000, 0, 0x1f80},
        {"subps", 0x7f800001ULL << 32 | 0x7f7fffff, 0, 0xff7fffff, 0, 0x1b80},
        {"subps", 0x7f7fffff, 0, 0xff7fffff, 0, 0x1ba0},
        {"mulpd", 0x7fe0000000000000ULL, 0, 0x4000000000000000ULL, 0, 0x1b80},
        {"mulpd", 0x7fe0000000000001ULL, 0, 0x4008000000000000ULL, 0, 0x1b80},
        {"divsd", 0x7fe0000000000000ULL, 0, 0x3fe0000000000000ULL, 0, 0x1b80},
        /* tiny: exact, inexact only at the destination exponent range,
         * inexact at an unbounded one, tiny before but not after rounding,
         * with FTZ, with DAZ */
        {"mulps", 0x00800000, 0, 0x3f000000, 0, 0x1780},
        {"mulps", 0x00800001, 0, 0x3f000000, 0, 0x1780},
        {"mulps", 0x00800001, 0, 0x3f000001, 0, 0x1780},
        {"mulps", 0x3f800001, 0, 0x007fffff, 0, 0x1780},
        {"mulps", 0x00800000, 0, 0x3f000000, 0, 0x9780},
        {"mulps", 0x00800000, 0, 0x3f000000, 0, 0x8f80},
        {"mulps", 0x00000001, 0, 0x3f800000, 0, 0x1780},
        {"mulps", 0x00000001, 0, 0x3f800000, 0, 0x17c0},
        {"addss", 0x00000001, 0, 0x00000001, 0, 0x1780},
        {"mulsd", 0x0010000000000000ULL, 0, 0x3fe0000000000000ULL, 0, 0x1780},
        {"mulsd", 0x0010000000000001ULL, 0, 0x3fe0000000000001ULL, 0, 0x1780},
        {"cvtpd2ps", 0, 0, 0x3690000000000000ULL, 0x47f0000000000000ULL, 0x1780},
        {"cvtpd2ps", 0, 0, 0x3690000000000001ULL, 0x47f0000000000000ULL, 0x1380},
        {"cvtpd2ps", 0, 0, 0x47f0000000000000ULL, 0, 0x1b80},
        {"cvtsd2ss", 0, 0, 0x47efffffefffffffULL, 0, 0x1b80},
        {"cvtsd2ss", 0, 0, 0x0000000000000001ULL, 0, 0x1780},
        {"haddps", 0x7f000000ULL << 32 | 0x7f000000, 0, 0, 0, 0x1b80},
        {"hsubpd", 0x0010000000000000ULL, 0x0018000000000000ULL, 0, 0, 0x1780},
        {"addsubps", 0x00800000, 0x00800000, 0x00400000, 0x00400000, 0x1780},
        /* pre-computation exceptions win over post-computation ones */
        {"divps", 0x7149f2ca00000000ULL | 0x3f800000, 0, 0x0da24260ULL << 32, 0, 0x1d80},
        {"divps", 0x7149f2ca00000000ULL | 0x3f800000, 0, 0x0da24260ULL << 32, 0, 0x1b80},
        {"divps", 0x000000013f800000ULL, 0, 0x3f80000000000000ULL, 0, 0x1e80},
        {"addps", 0x3f8000007f800001ULL, 0, 0x2f8000003f800000ULL, 0, 0x1f00},
        {"addps", 0x3f80000000000001ULL, 0, 0x2f8000003f800000ULL, 0, 0x0f80},
        {"cvtps2dq", 0, 0, 0x3fc0000060ad78ecULL, 0, 0x1f00},
        {"cvtps2dq", 0, 0, 0x3fc00000ULL, 0, 0x0f80},
        {"sqrtps", 0, 0, 0x00000001bf800000ULL, 0, 0x1f00},
    };
    static struct nat buf;
    for (unsigned i = 0; i < NELEM(xs); i++) {
        const struct vcase *c = vfind(xs[i].op);
        struct nat in, out;
        memset(&in, 0, sizeof(in));
        in.d.u64[0] = xs[i].d0;
        in.d.u64[1] = xs[i].d1;
        in.s.u64[0] = xs[i].s0;
        in.s.u64[1] = xs[i].s1;
        in.mx = xs[i].mx;
        for (int mem = 0; mem < 2; mem++) {
            buf.d = in.s;
            in.p = &buf.d;
            out = in;
            int sig = nat_run(mem ? c->m : c->r, &out);
            check_vv(c, mem, &in, sig, &out, emu_vv(c, mem, &in));
        }
    }
    /* the lane model: exact tiny and exact overflow give UE / OE alone */
    const struct vcase *mulps = vfind("mulps");
    struct nat in = {.d.u32 = {0x00800000}, .s.u32 = {0x3f000000}, .mx = 0x1780};
    assert_int_equal(emu_vv(mulps, false, &in), X86_EXC_XM);
    assert_int_equal(cpu->mxcsr, 0x1790);
    in = (struct nat){.d.u32 = {0x7f000000}, .s.u32 = {0x40000000}, .mx = 0x1b80};
    assert_int_equal(emu_vv(mulps, false, &in), X86_EXC_XM);
    assert_int_equal(cpu->mxcsr, 0x1b88);
    assert_int_equal(cpu->xmm[DREG].u32[0], 0x7f000000);
    /* outside user mode, without CR4.OSXMMEXCPT, the exception is #UD */
    cpu->user_mode = false;
    cpu->cr4 = 0;
    assert_int_equal(emu_vv(mulps, false, &in), X86_EXC_UD);
    cpu->cr4 = 1u << 10;
    assert_int_equal(emu_vv(mulps, false, &in), X86_EXC_XM);
    cpu->user_mode = true;
}

/* --- operands near overflow and underflow, exceptions unmasked --- */

static void test_boundary_soak(void **state)
{
    (void)state;
    nat_install();
    static const char *const ops[] = {
        "addps",  "addpd", "addss",    "addsd",    "subps",    "subsd",    "mulps",    "mulpd",
        "mulss",  "mulsd", "divps",    "divpd",    "divss",    "divsd",    "haddps",   "hsubpd",
        "sqrtps", "minpd", "addsubps", "addsubpd", "cvtps2dq", "cvtsd2ss", "cvtpd2ps",
    };
    static const uint32_t mxs[] = {0x1b80, 0x1780, 0x1380, 0x0f80, 0x0b80, 0x0780, 0x9780,
                                   0x7780, 0x3380, 0x17c0, 0x9fc0, 0x1f80, 0x5f80, 0x0000};
    static struct nat buf;
    for (unsigned i = 0; i < NELEM(ops); i++) {
        const struct vcase *c = vfind(ops[i]);
        enum ty dty = c->dty == TD ? TDB : c->dty == TF ? TFB : c->dty;
        enum ty sty = c->sty == TD   ? (c->dty == TF || c->dty == TX ? TDC : TDB)
                      : c->sty == TF ? TFB
                                     : c->sty;
        for (unsigned m = 0; m < NELEM(mxs); m++) {
            for (unsigned k = 0; k < 10 * SSEFP_TEST_SCALE; k++) {
                struct nat in, out;
                memset(&in, 0, sizeof(in));
                gen(&in.d, dty);
                gen(&in.s, sty);
                in.mx = mxs[m];
                for (int mem = 0; mem < 2; mem++) {
                    buf.d = in.s;
                    in.p = &buf.d;
                    out = in;
                    int sig = nat_run(mem ? c->m : c->r, &out);
                    check_vv(c, mem, &in, sig, &out, emu_vv(c, mem, &in));
                }
            }
        }
    }
    /* DP: the steps, each of which may trap */
    for (unsigned i = 0; i < NELEM(icases); i++) {
        const struct vcase *c = &icases[i];
        if (strncmp(c->name, "dp", 2))
            continue;
        for (unsigned m = 0; m < NELEM(mxs); m++) {
            for (unsigned k = 0; k < 10 * SSEFP_TEST_SCALE; k++) {
                struct nat in, out;
                memset(&in, 0, sizeof(in));
                gen(&in.d, c->dty == TD ? TDB : TFB);
                gen(&in.s, c->dty == TD ? TDB : TFB);
                in.mx = mxs[m];
                for (int mem = 0; mem < 2; mem++) {
                    buf.d = in.s;
                    in.p = &buf.d;
                    out = in;
                    int sig = nat_run(mem ? c->m : c->r, &out);
                    check_vv(c, mem, &in, sig, &out, emu_vv(c, mem, &in));
                }
            }
        }
    }
}

/* --- alignment --- */

static void test_alignment(void **state)
{
    (void)state;
    nat_install();
    static uint8_t raw[64] __attribute__((aligned(16)));
    for (unsigned i = 0; i < NELEM(vcases); i++) {
        const struct vcase *c = &vcases[i];
        for (unsigned mm = 0; mm < 2; mm++) {
            struct nat in, out;
            memset(&in, 0, sizeof(in));
            gen(&in.d, c->dty);
            gen(&in.s, c->sty);
            memcpy(raw + 4, &in.s, 16);
            in.p = raw + 4;
            in.mx = 0x1f80 | (mm ? 0x20000 : 0); /* AMD's MXCSR.MM: misaligned allowed */
            out = in;
            int sig = nat_run(c->m, &out);
            int vec = emu_vv(c, true, &in);
            if (c->msize == 16 && !mm)
                assert_int_equal(vec, X86_EXC_GP);
            else
                assert_int_equal(vec, -1);
            check_vv(c, true, &in, sig, &out, vec);
        }
    }
    /* CVTPD2PI's m128 must be aligned too; CVTPS2PI's m64 need not */
    struct x86_insn in = insn_mem(M0F, 0x2d, 2, 1, X86_RBX, 4);
    cpu->gpr[X86_RBX] = (uintptr_t)raw;
    cpu->mxcsr = 0x1f80;
    assert_int_equal(run_op_exc(find_op(x86_ops_sse_fp, M0F, 0x2d, P66, 1, true), &in), X86_EXC_GP);
    assert_int_equal(run_op_exc(find_op(x86_ops_sse_fp, M0F, 0x2d, PN, 1, true), &in), -1);
}

/* --- COMIS / UCOMIS --- */

#define NATCOMI(name)                                                                              \
    static void nat_##name##_r(struct nat *n)                                                      \
    {                                                                                              \
        NAT_ASM("lea -128(%%rsp), %%rsp\n\tpush $0x8d5\n\tpopfq\n\t" #name                         \
                " %%xmm1, %%xmm2\n\tpushfq\n\tpop %%rax\n\tlea 128(%%rsp), %%rsp");                \
    }                                                                                              \
    static void nat_##name##_m(struct nat *n)                                                      \
    {                                                                                              \
        NAT_ASM("lea -128(%%rsp), %%rsp\n\tpush $0x8d5\n\tpopfq\n\t" #name                         \
                " (%%rcx), %%xmm2\n\tpushfq\n\tpop %%rax\n\tlea 128(%%rsp), %%rsp");               \
    }
NATCOMI(comiss)
NATCOMI(comisd)
NATCOMI(ucomiss)
NATCOMI(ucomisd)

static void test_comis(void **state)
{
    (void)state;
    nat_install();
    static const struct vcase cs[] = {
        V(comiss, M0F, 0x2f, PN, TF, TF, 4),
        V(comisd, M0F, 0x2f, P66, TD, TD, 8),
        V(ucomiss, M0F, 0x2e, PN, TF, TF, 4),
        V(ucomisd, M0F, 0x2e, P66, TD, TD, 8),
    };
    static struct nat buf;
    for (unsigned i = 0; i < NELEM(cs); i++) {
        for (unsigned m = 0; m < N_MX; m++) {
            for (unsigned k = 0; k < 24 * SSEFP_TEST_SCALE; k++) {
                struct nat in, out;
                memset(&in, 0, sizeof(in));
                gen(&in.d, cs[i].dty);
                gen(&in.s, cs[i].sty);
                if (k & 1) /* equal operands */
                    in.s = in.d;
                in.mx = mx_list[m];
                for (int mem = 0; mem < 2; mem++) {
                    buf.d = in.s;
                    in.p = &buf.d;
                    out = in;
                    int sig = nat_run(mem ? cs[i].m : cs[i].r, &out);
                    x86_flags_set(cpu, ARITH);
                    int vec = emu_vv(&cs[i], mem, &in);
                    uint64_t fl = x86_flags_eval(cpu) & ARITH;
                    if (sig) {
                        assert_int_equal(sig, SIGFPE);
                        assert_int_equal(vec, X86_EXC_XM);
                        assert_int_equal(fl, ARITH); /* not written */
                    } else {
                        assert_int_equal(vec, -1);
                        assert_int_equal(fl, out.g & ARITH);
                    }
                    assert_int_equal(cpu->mxcsr, out.mx);
                    assert_memory_equal(&cpu->xmm[DREG], &in.d, 16);
                }
            }
        }
    }
}

/* --- conversions to general registers --- */

#define NAT2SI(name, mnem)                                                                         \
    static void nat_##name##_r(struct nat *n)                                                      \
    {                                                                                              \
        NAT_ASM(mnem " %%xmm1, %%eax");                                                            \
    }                                                                                              \
    static void nat_##name##_m(struct nat *n)                                                      \
    {                                                                                              \
        NAT_ASM(mnem " (%%rcx), %%eax");                                                           \
    }                                                                                              \
    static void nat_##name##_rq(struct nat *n)                                                     \
    {                                                                                              \
        NAT_ASM(mnem " %%xmm1, %%rax");                                                            \
    }                                                                                              \
    static void nat_##name##_mq(struct nat *n)                                                     \
    {                                                                                              \
        NAT_ASM(mnem " (%%rcx), %%rax");                                                           \
    }
NAT2SI(cvtss2si, "cvtss2si")
NAT2SI(cvttss2si, "cvttss2si")
NAT2SI(cvtsd2si, "cvtsd2si")
NAT2SI(cvttsd2si, "cvttsd2si")

static void test_cvt_to_gpr(void **state)
{
    (void)state;
    nat_install();
    static const struct {
        const char *name;
        uint8_t op, pfx, ty;
        nat_fn *fn[4];
    } cs[] = {
#define C2SI(name, op, pfx, ty)                                                                    \
    {                                                                                              \
#name, op, pfx, ty,                                                                        \
        {                                                                                          \
            nat_##name##_r, nat_##name##_m, nat_##name##_rq, nat_##name##_mq                       \
        }                                                                                          \
    }
        C2SI(cvtss2si, 0x2d, PF3, TF),
        C2SI(cvttss2si, 0x2c, PF3, TF),
        C2SI(cvtsd2si, 0x2d, PF2, TD),
        C2SI(cvttsd2si, 0x2c, PF2, TD),
    };
    static struct nat buf;
    for (unsigned i = 0; i < NELEM(cs); i++) {
        for (unsigned m = 0; m < N_MX; m++) {
            for (unsigned k = 0; k < 16 * SSEFP_TEST_SCALE; k++) {
                struct nat in, out;
                memset(&in, 0, sizeof(in));
                gen(&in.s, cs[i].ty);
                in.g = 0xdeadbeefcafef00dULL;
                in.mx = mx_list[m];
                for (unsigned form = 0; form < 4; form++) {
                    bool mem = form & 1, q = form & 2;
                    buf.d = in.s;
                    in.p = &buf.d;
                    out = in;
                    int sig = nat_run(cs[i].fn[form], &out);
                    cpu->mxcsr = in.mx;
                    cpu->xmm[SREG] = in.s;
                    cpu->gpr[X86_RDX] = in.g;
                    cpu->gpr[X86_RBX] = (uintptr_t)in.p;
                    struct x86_insn x = mem ? insn_mem(M0F, cs[i].op, 2, X86_RDX, X86_RBX, 0)
                                            : insn_reg(M0F, cs[i].op, 2, X86_RDX, SREG);
                    if (q)
                        x.flags |= X86_I_REXW;
                    int vec = run_op_exc(
                        find_op(x86_ops_sse_fp, M0F, cs[i].op, cs[i].pfx, X86_RDX, mem), &x);
                    if (vec != (sig ? X86_EXC_XM : -1) || cpu->mxcsr != out.mx ||
                        cpu->gpr[X86_RDX] != (sig ? in.g : out.g))
                        fail_msg("%s form %u s %016llx mx %#x: host sig %d mx %#x rax %#llx; "
                                 "emu vec %d mx %#x rdx %#llx",
                                 cs[i].name, form, (unsigned long long)in.s.u64[0], in.mx, sig,
                                 out.mx, (unsigned long long)out.g, vec, cpu->mxcsr,
                                 (unsigned long long)cpu->gpr[X86_RDX]);
                }
            }
        }
    }
}

/* --- conversions from general registers --- */

#define NATSI2(name, mnem)                                                                         \
    static void nat_##name##_r(struct nat *n)                                                      \
    {                                                                                              \
        NAT_ASM(mnem "l %%eax, %%xmm2");                                                           \
    }                                                                                              \
    static void nat_##name##_m(struct nat *n)                                                      \
    {                                                                                              \
        NAT_ASM(mnem "l (%%rcx), %%xmm2");                                                         \
    }                                                                                              \
    static void nat_##name##_rq(struct nat *n)                                                     \
    {                                                                                              \
        NAT_ASM(mnem "q %%rax, %%xmm2");                                                           \
    }                                                                                              \
    static void nat_##name##_mq(struct nat *n)                                                     \
    {                                                                                              \
        NAT_ASM(mnem "q (%%rcx), %%xmm2");                                                         \
    }
NATSI2(cvtsi2ss, "cvtsi2ss")
NATSI2(cvtsi2sd, "cvtsi2sd")

static void test_cvt_from_gpr(void **state)
{
    (void)state;
    nat_install();
    static const uint64_t gvals[] = {
        0,
        1,
        ~0ULL,
        0x7fffffff,
        0x80000000,
        0x01000001,
        0xfeffffff,
        0x7fffffffffffffffULL,
        0x8000000000000000ULL,
        0x0020000000000001ULL,
        0xffdfffffffffffffULL,
        0x123456789abcdefULL,
    };
    static const struct {
        const char *name;
        uint8_t pfx;
        nat_fn *fn[4];
    } cs[] = {
        {"cvtsi2ss", PF3, {nat_cvtsi2ss_r, nat_cvtsi2ss_m, nat_cvtsi2ss_rq, nat_cvtsi2ss_mq}},
        {"cvtsi2sd", PF2, {nat_cvtsi2sd_r, nat_cvtsi2sd_m, nat_cvtsi2sd_rq, nat_cvtsi2sd_mq}},
    };
    static uint64_t mem64;
    for (unsigned i = 0; i < NELEM(cs); i++) {
        for (unsigned m = 0; m < N_MX; m++) {
            for (unsigned k = 0; k < NELEM(gvals) + 8 * SSEFP_TEST_SCALE; k++) {
                struct nat in, out;
                memset(&in, 0, sizeof(in));
                gen(&in.d, TX);
                in.g = k < NELEM(gvals) ? gvals[k] : rnd() >> (rnd() & 63);
                in.mx = mx_list[m];
                mem64 = in.g;
                in.p = &mem64;
                for (unsigned form = 0; form < 4; form++) {
                    bool mem = form & 1, q = form & 2;
                    out = in;
                    int sig = nat_run(cs[i].fn[form], &out);
                    cpu->mxcsr = in.mx;
                    cpu->xmm[DREG] = in.d;
                    cpu->gpr[X86_RDX] = in.g;
                    cpu->gpr[X86_RBX] = (uintptr_t)in.p;
                    struct x86_insn x = mem ? insn_mem(M0F, 0x2a, 2, DREG, X86_RBX, 0)
                                            : insn_reg(M0F, 0x2a, 2, DREG, X86_RDX);
                    if (q)
                        x.flags |= X86_I_REXW;
                    int vec =
                        run_op_exc(find_op(x86_ops_sse_fp, M0F, 0x2a, cs[i].pfx, DREG, mem), &x);
                    assert_int_equal(vec, sig ? X86_EXC_XM : -1);
                    assert_int_equal(cpu->mxcsr, out.mx);
                    assert_memory_equal(&cpu->xmm[DREG], sig ? &in.d : &out.d, 16);
                }
            }
        }
    }
}

/* --- MMX forms --- */

static void nat_cvtpi2ps_r(struct nat *n)
{
    NAT_ASM("movq %c[omm](%[n]), %%mm0\n\tcvtpi2ps %%mm0, %%xmm2\n\temms");
}
static void nat_cvtpi2ps_m(struct nat *n)
{
    NAT_ASM("cvtpi2ps (%%rcx), %%xmm2");
}
static void nat_cvtpi2pd_r(struct nat *n)
{
    NAT_ASM("movq %c[omm](%[n]), %%mm0\n\tcvtpi2pd %%mm0, %%xmm2\n\temms");
}
static void nat_cvtpi2pd_m(struct nat *n)
{
    NAT_ASM("cvtpi2pd (%%rcx), %%xmm2");
}
#define NAT2PI(name)                                                                               \
    static void nat_##name##_r(struct nat *n)                                                      \
    {                                                                                              \
        NAT_ASM(#name " %%xmm1, %%mm0\n\tmovq %%mm0, %c[omm](%[n])\n\temms");                      \
    }                                                                                              \
    static void nat_##name##_m(struct nat *n)                                                      \
    {                                                                                              \
        NAT_ASM(#name " (%%rcx), %%mm0\n\tmovq %%mm0, %c[omm](%[n])\n\temms");                     \
    }
NAT2PI(cvtps2pi)
NAT2PI(cvttps2pi)
NAT2PI(cvtpd2pi)
NAT2PI(cvttpd2pi)

#define MMREG 5

static void mmx_state_reset(void)
{
    memset(&cpu->fpu, 0, sizeof(cpu->fpu));
    cpu->fpu.fcw = 0x37f;
    cpu->fpu.top = 3;
    cpu->fpu.ftw = 0x18;
    for (int i = 0; i < 8; i++) {
        cpu->fpu.st[i].raw.mant = 0x1111111111111111ULL * (uint64_t)i;
        cpu->fpu.st[i].raw.sign_exp = 0x3fff;
    }
}

static void test_mmx_forms(void **state)
{
    (void)state;
    nat_install();
    static const struct {
        const char *name;
        uint8_t op, pfx, sty, to_mm;
        nat_fn *r, *m;
    } cs[] = {
        {"cvtpi2ps", 0x2a, PN, TI, 0, nat_cvtpi2ps_r, nat_cvtpi2ps_m},
        {"cvtpi2pd", 0x2a, P66, TI, 0, nat_cvtpi2pd_r, nat_cvtpi2pd_m},
        {"cvtps2pi", 0x2d, PN, TF, 1, nat_cvtps2pi_r, nat_cvtps2pi_m},
        {"cvttps2pi", 0x2c, PN, TF, 1, nat_cvttps2pi_r, nat_cvttps2pi_m},
        {"cvtpd2pi", 0x2d, P66, TD, 1, nat_cvtpd2pi_r, nat_cvtpd2pi_m},
        {"cvttpd2pi", 0x2c, P66, TD, 1, nat_cvttpd2pi_r, nat_cvttpd2pi_m},
    };
    static struct nat buf;
    for (unsigned i = 0; i < NELEM(cs); i++) {
        for (unsigned m = 0; m < N_MX; m++) {
            for (unsigned k = 0; k < 12 * SSEFP_TEST_SCALE; k++) {
                struct nat in, out;
                memset(&in, 0, sizeof(in));
                gen(&in.d, TX);
                gen(&in.s, cs[i].sty);
                in.mm = in.s.u64[0] ^ 0x5555;
                in.mx = mx_list[m];
                for (int mem = 0; mem < 2; mem++) {
                    buf.d = in.s;
                    in.p = &buf.d;
                    out = in;
                    int sig = nat_run(mem ? cs[i].m : cs[i].r, &out);
                    mmx_state_reset();
                    cpu->mxcsr = in.mx;
                    cpu->xmm[DREG] = in.d;
                    cpu->xmm[SREG] = in.s;
                    cpu->gpr[X86_RBX] = (uintptr_t)in.p;
                    /* xmm <- mm: ModRM.rm is the MMX register; mm <- xmm: ModRM.reg */
                    unsigned reg = cs[i].to_mm ? MMREG : DREG, rm = cs[i].to_mm ? SREG : MMREG;
                    if (!cs[i].to_mm)
                        cpu->fpu.st[MMREG].raw.mant = in.mm;
                    struct x86_insn x = mem ? insn_mem(M0F, cs[i].op, 2, reg, X86_RBX, 0)
                                            : insn_reg(M0F, cs[i].op, 2, reg, rm);
                    int vec =
                        run_op_exc(find_op(x86_ops_sse_fp, M0F, cs[i].op, cs[i].pfx, reg, mem), &x);
                    assert_int_equal(vec, sig ? X86_EXC_XM : -1);
                    assert_int_equal(cpu->mxcsr, out.mx);
                    /* The x87 moves to MMX mode whenever an MMX register is named, even
                     * when #XM follows (as this host does); not for CVTPI2P* m64. */
                    bool mmx = cs[i].to_mm || !mem;
                    assert_int_equal(cpu->fpu.top, mmx ? 0 : 3);
                    assert_int_equal(cpu->fpu.ftw, mmx ? 0xff : 0x18);
                    if (cs[i].to_mm) {
                        assert_int_equal(cpu->fpu.st[MMREG].raw.mant,
                                         sig ? 0x1111111111111111ULL * MMREG : out.mm);
                        assert_int_equal(cpu->fpu.st[MMREG].raw.sign_exp, sig ? 0x3fff : 0xffff);
                    } else {
                        assert_memory_equal(&cpu->xmm[DREG], sig ? &in.d : &out.d, 16);
                    }
                }
            }
        }
    }
    /* A pending x87 exception (FSW.ES) is #MF before any form that names
     * an MMX register; CVTPI2PS/PD from memory ignore it (as the host). */
    for (unsigned i = 0; i < NELEM(cs); i++) {
        for (int mem = 0; mem < 2; mem++) {
            mmx_state_reset();
            cpu->fpu.fsw = 0x80 | 0x04;
            cpu->mxcsr = 0x1f80;
            cpu->gpr[X86_RBX] = (uintptr_t)&buf;
            unsigned reg = cs[i].to_mm ? MMREG : DREG, rm = cs[i].to_mm ? SREG : MMREG;
            struct x86_insn x = mem ? insn_mem(M0F, cs[i].op, 2, reg, X86_RBX, 0)
                                    : insn_reg(M0F, cs[i].op, 2, reg, rm);
            int vec = run_op_exc(find_op(x86_ops_sse_fp, M0F, cs[i].op, cs[i].pfx, reg, mem), &x);
            bool mmx = cs[i].to_mm || !mem;
            assert_int_equal(vec, mmx ? X86_EXC_MF : -1);
            assert_int_equal(cpu->fpu.top, 3); /* no transition either way */
        }
    }
}

/* --- MOVMSK, EXTRACTPS --- */

static void nat_movmskps(struct nat *n)
{
    NAT_ASM("movmskps %%xmm1, %%eax");
}
static void nat_movmskpd(struct nat *n)
{
    NAT_ASM("movmskpd %%xmm1, %%eax");
}
#define NATEXTRACT(imm)                                                                            \
    static void nat_extractps_##imm##_r(struct nat *n)                                             \
    {                                                                                              \
        NAT_ASM("extractps $" #imm ", %%xmm2, %%eax");                                             \
    }                                                                                              \
    static void nat_extractps_##imm##_m(struct nat *n)                                             \
    {                                                                                              \
        NAT_ASM("extractps $" #imm ", %%xmm2, (%%rcx)");                                           \
    }
NATEXTRACT(0)
NATEXTRACT(1)
NATEXTRACT(2)
NATEXTRACT(3)
NATEXTRACT(254)

static void test_movmsk_extractps(void **state)
{
    (void)state;
    nat_install();
    for (unsigned k = 0; k < 64; k++) {
        struct nat in, out;
        memset(&in, 0, sizeof(in));
        gen(&in.s, k & 1 ? TF : TX);
        gen(&in.d, TX);
        in.mx = 0x1f80;
        for (int pd = 0; pd < 2; pd++) {
            in.g = ~0ULL;
            out = in;
            assert_int_equal(nat_run(pd ? nat_movmskpd : nat_movmskps, &out), 0);
            cpu->xmm[SREG] = in.s;
            cpu->gpr[X86_RDX] = in.g;
            struct x86_insn x = insn_reg(M0F, 0x50, 2, X86_RDX, SREG);
            assert_int_equal(
                run_op_exc(find_op(x86_ops_sse_fp, M0F, 0x50, pd ? P66 : PN, X86_RDX, false), &x),
                -1);
            assert_int_equal(cpu->gpr[X86_RDX], out.g);
        }
        static const struct {
            unsigned imm;
            nat_fn *r, *m;
        } ex[] = {{0, nat_extractps_0_r, nat_extractps_0_m},
                  {1, nat_extractps_1_r, nat_extractps_1_m},
                  {2, nat_extractps_2_r, nat_extractps_2_m},
                  {3, nat_extractps_3_r, nat_extractps_3_m},
                  {254, nat_extractps_254_r, nat_extractps_254_m}};
        for (unsigned e = 0; e < NELEM(ex); e++) {
            static uint64_t nat_mem, emu_mem;
            for (int mem = 0; mem < 2; mem++) {
                in.g = ~0ULL;
                nat_mem = emu_mem = 0x0123456789abcdefULL;
                in.p = &nat_mem;
                out = in;
                assert_int_equal(nat_run(mem ? ex[e].m : ex[e].r, &out), 0);
                cpu->xmm[DREG] = in.d;
                cpu->gpr[X86_RDX] = in.g;
                cpu->gpr[X86_RBX] = (uintptr_t)&emu_mem;
                /* ModRM.reg is the xmm source, r/m the destination */
                struct x86_insn x = mem ? insn_mem(M3A, 0x17, 2, DREG, X86_RBX, 0)
                                        : insn_reg(M3A, 0x17, 2, DREG, X86_RDX);
                x.imm = ex[e].imm;
                assert_int_equal(run_op_exc(find_op(x86_ops_sse_fp, M3A, 0x17, P66, DREG, mem), &x),
                                 -1);
                if (mem)
                    assert_int_equal(emu_mem, nat_mem);
                else
                    assert_int_equal(cpu->gpr[X86_RDX], out.g);
            }
        }
    }
}

/* --- LDMXCSR / STMXCSR --- */

static int nat_ldmxcsr(uint32_t v)
{
    struct nat n;
    memset(&n, 0, sizeof(n));
    n.mx = v;
    return nat_run(nat_addps_r, &n); /* the LDMXCSR of NAT_ASM faults first */
}

static void test_ldmxcsr_stmxcsr(void **state)
{
    (void)state;
    nat_install();
    static uint32_t m32;
    cpu->gpr[X86_RBX] = (uintptr_t)&m32;
    struct x86_insn ld = insn_mem(M0F, 0xae, 2, 2, X86_RBX, 0);
    struct x86_insn st = insn_mem(M0F, 0xae, 2, 3, X86_RBX, 0);
    x86_op_fn *ldf = find_op(x86_ops_sse_fp, M0F, 0xae, PN, 2, true);
    x86_op_fn *stf = find_op(x86_ops_sse_fp, M0F, 0xae, PN, 3, true);
    for (unsigned b = 0; b < 32; b++) {
        uint32_t v = 0x1f80 | 1u << b;
        cpu->mxcsr = 0x1f80;
        m32 = v;
        int vec = run_op_exc(ldf, &ld);
        int sig = nat_ldmxcsr(v);
        assert_int_equal(vec, sig ? X86_EXC_GP : -1);
        assert_int_equal(cpu->mxcsr, sig ? 0x1f80 : v);
        m32 = 0;
        assert_int_equal(run_op_exc(stf, &st), -1);
        assert_int_equal(m32, cpu->mxcsr);
    }
    /* every defined bit at once, then the default back */
    m32 = 0x2ffff;
    assert_int_equal(run_op_exc(ldf, &ld), -1);
    assert_int_equal(cpu->mxcsr, 0x2ffff);
    m32 = 0x1f80;
    assert_int_equal(run_op_exc(ldf, &ld), -1);
    assert_int_equal(cpu->mxcsr, 0x1f80);
}

/* --- the decoder reaches the family --- */

static void test_decode_dispatch(void **state)
{
    (void)state;
    nat_install();
    static const struct {
        uint8_t bytes[8];
        unsigned len;
        const char *name;
    } ds[] = {
        {{0x0f, 0x58, 0xc1}, 3, "addps"},
        {{0x66, 0x0f, 0x58, 0xc1}, 4, "addpd"},
        {{0xf3, 0x0f, 0x5e, 0x03}, 4, "divss"},
        {{0xf2, 0x41, 0x0f, 0x51, 0xc7}, 5, "sqrtsd"},
        {{0x0f, 0xc2, 0xc1, 0x1d}, 4, "cmpps"},
        {{0x66, 0x0f, 0x57, 0xc0}, 4, "xorpd"},
        {{0x0f, 0x2e, 0xc1}, 3, "ucomiss"},
        {{0xf2, 0x48, 0x0f, 0x2d, 0xc1}, 5, "cvtsd2si"},
        {{0xf3, 0x0f, 0xe6, 0xc1}, 4, "cvtdq2pd"},
        {{0x0f, 0x2a, 0xc1}, 3, "cvtpi2ps"},
        {{0xf2, 0x0f, 0x7c, 0xc1}, 4, "haddps"},
        {{0x66, 0x0f, 0x3a, 0x40, 0xc1, 0xff}, 6, "dpps"},
        {{0x66, 0x0f, 0x3a, 0x0b, 0xc1, 0x04}, 6, "roundsd"},
        {{0x66, 0x0f, 0x38, 0x14, 0xc1}, 5, "blendvps"},
        {{0x0f, 0xae, 0x10}, 3, "ldmxcsr"},
        {{0x0f, 0xae, 0x18}, 3, "stmxcsr"},
        {{0x0f, 0x50, 0xc1}, 3, "movmskps"},
    };
    for (unsigned i = 0; i < NELEM(ds); i++) {
        struct x86_insn in;
        assert_int_equal(x86_decode(ds[i].bytes, ds[i].len, 1, &in), (int)ds[i].len);
        const struct x86_op_entry *e = x86_ops_entry(in.op);
        assert_non_null(e);
        assert_string_equal(e->name, ds[i].name);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_vv_forms, host_setup, host_teardown),
        cmocka_unit_test_setup_teardown(test_imm_forms, host_setup, host_teardown),
        cmocka_unit_test_setup_teardown(test_unmasked_exceptions, host_setup, host_teardown),
        cmocka_unit_test_setup_teardown(test_boundary_soak, host_setup, host_teardown),
        cmocka_unit_test_setup_teardown(test_alignment, host_setup, host_teardown),
        cmocka_unit_test_setup_teardown(test_comis, host_setup, host_teardown),
        cmocka_unit_test_setup_teardown(test_cvt_to_gpr, host_setup, host_teardown),
        cmocka_unit_test_setup_teardown(test_cvt_from_gpr, host_setup, host_teardown),
        cmocka_unit_test_setup_teardown(test_mmx_forms, host_setup, host_teardown),
        cmocka_unit_test_setup_teardown(test_movmsk_extractps, host_setup, host_teardown),
        cmocka_unit_test_setup_teardown(test_ldmxcsr_stmxcsr, host_setup, host_teardown),
        cmocka_unit_test_setup_teardown(test_decode_dispatch, host_setup, host_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
