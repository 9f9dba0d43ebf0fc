/* The x87 family against the host CPU.
 *
 * Every test runs real instruction bytes twice at the same address: once
 * natively, inside a thunk that loads a random x87 state (FRSTOR), XMM and
 * MXCSR (FXRSTOR64), and the arithmetic flags, runs the snippet and stores
 * everything back (FXSAVE64, FNSAVE, RAX, RFLAGS); once in the emulator
 * (x86_run over the snippet alone, with the same state). Code and data are
 * the same mapping in both (mem_base 0), so the images are compared byte
 * for byte, pointer registers included: FIP/FCS/FOP, FDP/FDS are exactly
 * what the host stores. A native fault (SIGFPE for #MF, SIGSEGV for #GP,
 * SIGILL) must be the emulator's exception at the same instruction, with
 * the x87 state the kernel saw.
 *
 * States are random: precision and rounding control, masked and unmasked
 * exceptions (so results must be suppressed and become pending), pending
 * exceptions, full and empty stacks, C0-C3, registers holding zeros,
 * denormals, pseudo-denormals, unnormals, infinities, quiet and signaling
 * NaNs, pseudo-NaNs and values at the edges of every conversion.
 */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <ucontext.h>

#include "cpu/x86/cpu.h"
#include "cpu/x86/insn.h"
#include "cpu/x86/x87.h"

/* insn.h declares the family tables weak; refer to this one strongly. */
extern const struct x86_op_entry test_ops_x87[] __asm__("x86_ops_x87");

/* --- the native thunk ---
 *   uint64_t thunk(in_img rdi, out rsi, rflags rdx, data rcx, fx_in r8, fx_out r9)
 * out: FNSAVE image at 0, RAX at 112, RFLAGS at 120. */
static const uint8_t thunk_head[] = {
    0x53,                   /* push rbx */
    0x55,                   /* push rbp */
    0x48, 0x89, 0xcb,       /* mov rbx, rcx */
    0x48, 0x89, 0xcd,       /* mov rbp, rcx */
    0x49, 0x0f, 0xae, 0x08, /* fxrstor64 (r8) */
    0xdd, 0x27,             /* frstor (rdi) */
    0x31, 0xc0,             /* xor eax, eax */
    0x52,                   /* push rdx */
    0x9d,                   /* popfq */
};
static const uint8_t thunk_tail[] = {
    0x48, 0x89, 0x46, 0x70, /* mov [rsi+112], rax */
    0x9c,                   /* pushfq */
    0x58,                   /* pop rax */
    0x48, 0x89, 0x46, 0x78, /* mov [rsi+120], rax */
    0x49, 0x0f, 0xae, 0x01, /* fxsave64 (r9) */
    0xdd, 0x36,             /* fnsave (rsi) */
    0x5d,                   /* pop rbp */
    0x5b,                   /* pop rbx */
    0xc3,                   /* ret */
};
typedef uint64_t thunk_fn(const void *in, void *out, uint64_t flags, void *data, const void *fxi,
                          void *fxo);

#define SNIP     sizeof(thunk_head)
#define DATA_CMP 8192 /* two pages, with an inaccessible page before and after */

static uint8_t *code, *data; /* below 2 GiB, so 67-prefixed [ebx] works */
static struct x86_cpu *cpu;

struct state {
    uint8_t img[108] __attribute__((aligned(16)));
    uint8_t fx[512] __attribute__((aligned(16))); /* XMM and MXCSR */
    uint64_t flags;
    uint8_t data[DATA_CMP];
};

struct outcome {
    int sig;          /* 0, or the native signal */
    uint64_t at;      /* faulting RIP */
    uint64_t trapno;  /* native */
    uint64_t addr;    /* #PF: the faulting address */
    uint64_t err;     /* #PF: the error code (P, W, U) */
    uint8_t out[128]; /* FNSAVE image, RAX, RFLAGS */
    uint8_t fx[512] __attribute__((aligned(16)));
    uint8_t data[DATA_CMP];
};

/* --- randomness and values --- */

static uint64_t rng = 0x243f6a8885a308d3ULL;

static uint64_t rnd(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

static unsigned below(unsigned n)
{
    return (unsigned)(rnd() % n);
}

struct f80 {
    uint64_t m;
    uint16_t se;
};

static const struct f80 f80_pool[] = {
    {0, 0},
    {0, 0x8000},
    {1ULL << 63, 0x3fff},
    {1ULL << 63, 0xbfff},
    {0xc000000000000000ULL, 0x3fff}, /* 1.5 */
    {0xa000000000000000ULL, 0x4000}, /* 2.5 */
    {0xe000000000000000ULL, 0xc000}, /* -3.5 */
    {0xc90fdaa22168c235ULL, 0x4000}, /* pi */
    {1ULL << 63, 0x7fff},            /* inf */
    {1ULL << 63, 0xffff},            /* -inf */
    {0xc000000000000000ULL, 0xffff}, /* indefinite */
    {0xc000000000001234ULL, 0x7fff}, /* QNaN */
    {0x8000000000005678ULL, 0xffff}, /* SNaN */
    {0x0000000000001234ULL, 0x0000}, /* denormal */
    {0x8000000000000001ULL, 0x8000}, /* pseudo-denormal */
    {0x4000000000000000ULL, 0x3fff}, /* unnormal */
    {0x4000000000000000ULL, 0x7fff}, /* pseudo-NaN */
    {0, 0x7fff},                     /* pseudo-infinity */
    {0xffffffffffffffffULL, 0x7ffe}, /* max */
    {1ULL << 63, 0x0001},            /* min normal */
    {0xffffffffffffffffULL, 0x403d}, /* just below 2^63 */
    {1ULL << 63, 0x403e},            /* 2^63 */
    {0xfffe000000000000ULL, 0x400e}, /* 32767 */
    {0x8000800000000000ULL, 0xc00e}, /* -32768.5 */
    {0xffffff8000000000ULL, 0x407e}, /* FLT_MAX */
    {0xffffffc000000000ULL, 0x407e}, /* just above, rounds to FLT_MAX or inf */
    {0xfffffffffffff800ULL, 0x43fe}, /* DBL_MAX */
    {0xfffffffffffffc00ULL, 0x43fe}, /* just above */
    {1ULL << 63, 0x3f81},            /* FLT_MIN */
    {0xc000000000000000ULL, 0x3f70}, /* float denormal range */
    {0xc000000000000000ULL, 0x3bcd}, /* double denormal range */
    {0x8000000000000400ULL, 0x3fff}, /* 1 + 2^-53: rounds in double */
    {0x8000008000000000ULL, 0x3fff}, /* 1 + 2^-24 */
    {0xde0b6b3a763fffffULL, 0x403a}, /* near 10^18 (BCD limit) */
    {0x8ac7230489e80000ULL, 0x403c}, /* 10^19 */
};
#define N_F80 (sizeof(f80_pool) / sizeof(f80_pool[0]))

static struct f80 rnd_f80(void)
{
    struct f80 v;
    switch (below(8)) {
    case 0:
    case 1:
    case 2:
        return f80_pool[below(N_F80)];
    case 3:
        v.m = rnd();
        v.se = (uint16_t)rnd();
        return v;
    case 4:
        v.m = rnd() | 1ULL << 63;
        v.se = (uint16_t)((rnd() & 0x8000) | (0x3fff - 40 + below(100)));
        v.m &= ~0ULL << below(64); /* often short significands: exact results */
        v.m |= 1ULL << 63;
        return v;
    default:
        v.m = rnd() | 1ULL << 63;
        v.se = (uint16_t)((rnd() & 0x8000) | (0x3fff - 20 + below(40)));
        return v;
    }
}

static void put_f80(uint8_t *p, struct f80 v)
{
    memcpy(p, &v.m, 8);
    memcpy(p + 8, &v.se, 2);
}

static uint32_t rnd_f32(void)
{
    static const uint32_t pool[] = {0,          0x80000000, 0x3f800000, 0xbfc00000, 0x00000001,
                                    0x807fffff, 0x00800000, 0x7f7fffff, 0x7f800000, 0xff800000,
                                    0x7fc00000, 0xffc12345, 0x7f812345, 0xff800001, 0x40490fdb,
                                    0x7fa00000, 0xffbfffff};
    if (below(2))
        return pool[below(sizeof(pool) / sizeof(pool[0]))];
    return below(4) ? (uint32_t)((rnd() & 0x807fffff) | (uint32_t)(0x70 + below(32)) << 23)
                    : (uint32_t)rnd();
}

static uint64_t rnd_f64(void)
{
    static const uint64_t pool[] = {0,
                                    0x8000000000000000ULL,
                                    0x3ff0000000000000ULL,
                                    0x0000000000000001ULL,
                                    0x800fffffffffffffULL,
                                    0x0010000000000000ULL,
                                    0x7fefffffffffffffULL,
                                    0x7ff0000000000000ULL,
                                    0xfff0000000000000ULL,
                                    0x7ff8000000000000ULL,
                                    0xfff8000000001234ULL,
                                    0x7ff0000000001234ULL,
                                    0x7ff4000000000000ULL,
                                    0xfff7ffffffffffffULL,
                                    0x400921fb54442d18ULL};
    if (below(2))
        return pool[below(sizeof(pool) / sizeof(pool[0]))];
    return below(4) ? (rnd() & 0x800fffffffffffffULL) | (uint64_t)(0x3e0 + below(64)) << 52 : rnd();
}

static uint64_t rnd_int(unsigned bytes)
{
    static const int64_t pool[] = {0,         1,         -1,       2,          3,
                                   100,       -32768,    32767,    0x7fffffff, -0x7fffffff - 1,
                                   INT64_MAX, INT64_MIN, 123456789};
    if (below(3))
        return (uint64_t)pool[below(sizeof(pool) / sizeof(pool[0]))];
    uint64_t v = rnd();
    if (below(2))
        v = (uint64_t)((int64_t)v >> below(8u * bytes));
    return v;
}

static void rnd_bcd(uint8_t *p)
{
    unsigned digits = below(4) ? below(19) : 18;
    memset(p, 0, 10);
    for (unsigned i = 0; i < digits; i++)
        p[i / 2] |= (uint8_t)((below(8) ? below(10) : below(16)) << (4 * (i & 1)));
    p[9] = (uint8_t)(rnd() & 0x80);
    if (!below(8))
        p[9] |= (uint8_t)(rnd() & 0x7f);
}

/* A random FCW; masks: all (mostly), or random. */
static uint16_t rnd_fcw(void)
{
    unsigned masks = below(4) ? 0x3f : (unsigned)(rnd() & 0x3f);
    return (uint16_t)(0x40 | masks | below(4) << 8 | below(4) << 10 | (rnd() & 0x1000));
}

/* An FNSAVE image: random FCW, C0-C3, TOP, tags and registers; flags set
 * only where masked unless pending is asked for. */
static void rnd_image(uint8_t *img, bool pending)
{
    uint16_t fcw = rnd_fcw();
    uint16_t flags = (uint16_t)(rnd() & 0x7f);
    if (!pending)
        flags &= (uint16_t)(fcw | 0x40);
    else if (!(flags & ~fcw & 0x3f)) {
        fcw &= (uint16_t)~X87_FSW_ZE;
        flags |= X87_FSW_ZE;
    }
    uint16_t fsw = (uint16_t)(flags | (rnd() & (X87_CC | X87_FSW_TOP | X87_FSW_ES | X87_FSW_B)));
    unsigned nvalid = below(9);
    uint16_t ftw = 0;
    for (unsigned p = 0; p < 8; p++) {
        bool valid = below(8) < nvalid;
        ftw |= (uint16_t)((valid ? below(3) : 3u) << (2 * p));
    }
    memset(img, 0, 108);
    uint32_t w[7] = {0xffff0000u | fcw,
                     0xffff0000u | fsw,
                     0xffff0000u | ftw,
                     (uint32_t)rnd(),
                     (uint32_t)(rnd() & 0x07ffffff),
                     (uint32_t)rnd(),
                     0xffff0000u | (uint32_t)(rnd() & 0xffff)};
    memcpy(img, w, sizeof(w));
    for (unsigned i = 0; i < 8; i++)
        put_f80(img + 28 + 10 * i, rnd_f80());
}

static void rnd_state(struct state *s, bool pending)
{
    rnd_image(s->img, pending);
    memset(s->fx, 0, sizeof(s->fx));
    uint32_t mxcsr = 0x1f80;
    memcpy(s->fx + 24, &mxcsr, 4);
    memcpy(s->fx, "\x7f\x03", 2);
    for (unsigned i = 0; i < 32; i++) {
        uint64_t v = rnd();
        memcpy(s->fx + 160 + 8 * i, &v, 8);
    }
    s->flags = 0x202 | (rnd() & X86_FLAGS_ARITH);
    for (unsigned i = 0; i < DATA_CMP; i += 8) {
        uint64_t v = rnd();
        memcpy(s->data + i, &v, 8);
    }
}

/* --- running --- */

static sigjmp_buf nat_jmp;
static volatile int nat_sig;
static volatile uint64_t nat_rip, nat_trapno, nat_addr, nat_err;
static uint8_t nat_fp[512];

static void nat_handler(int sig, siginfo_t *si, void *ctx)
{
    ucontext_t *uc = ctx;
    nat_sig = sig;
    nat_rip = (uint64_t)uc->uc_mcontext.gregs[REG_RIP];
    nat_trapno = (uint64_t)uc->uc_mcontext.gregs[REG_TRAPNO];
    nat_addr = (uint64_t)(uintptr_t)si->si_addr;
    nat_err = (uint64_t)uc->uc_mcontext.gregs[REG_ERR] & 7;
    if (uc->uc_mcontext.fpregs)
        memcpy(nat_fp, uc->uc_mcontext.fpregs, 512);
    siglongjmp(nat_jmp, 1);
}

static size_t place(const uint8_t *snip, size_t n)
{
    memcpy(code, thunk_head, SNIP);
    memcpy(code + SNIP, snip, n);
    memcpy(code + SNIP + n, thunk_tail, sizeof(thunk_tail));
    __builtin___clear_cache((char *)code, (char *)code + SNIP + n + sizeof(thunk_tail));
    return n;
}

static void run_native(const struct state *s, struct outcome *o)
{
    static uint8_t in[108] __attribute__((aligned(16)));
    static uint8_t fxi[512] __attribute__((aligned(16)));
    memcpy(in, s->img, sizeof(in));
    memcpy(fxi, s->fx, sizeof(fxi));
    memcpy(data, s->data, DATA_CMP);
    memset(o, 0, sizeof(*o));
    nat_sig = 0;
    struct sigaction sa = {.sa_sigaction = nat_handler, .sa_flags = SA_SIGINFO | SA_NODEFER};
    struct sigaction old[3];
    sigemptyset(&sa.sa_mask);
    sigaction(SIGFPE, &sa, &old[0]);
    sigaction(SIGSEGV, &sa, &old[1]);
    sigaction(SIGILL, &sa, &old[2]);
    if (!sigsetjmp(nat_jmp, 1))
        ((thunk_fn *)(void *)code)(in, o->out, s->flags, data, fxi, o->fx);
    sigaction(SIGFPE, &old[0], NULL);
    sigaction(SIGSEGV, &old[1], NULL);
    sigaction(SIGILL, &old[2], NULL);
    uint32_t mxcsr = 0x1f80;
    uint16_t fcw = 0x37f;
    __asm__ volatile("fninit\n\tfldcw %0\n\tldmxcsr %1" : : "m"(fcw), "m"(mxcsr));
    o->sig = nat_sig;
    o->at = nat_rip;
    o->trapno = nat_trapno;
    if (o->sig == SIGSEGV && o->trapno == X86_EXC_PF) {
        o->addr = nat_addr;
        o->err = nat_err;
    }
    if (o->sig)
        memcpy(o->fx, nat_fp, 512);
    memcpy(o->data, data, DATA_CMP);
}

static int count_insns(const uint8_t *snip, size_t n)
{
    int k = 0;
    for (size_t at = 0; at < n; k++) {
        struct x86_insn in;
        int len = x86_decode(snip + at, (unsigned)(n - at), 1, &in);
        if (len <= 0)
            return -1;
        at += (size_t)len;
    }
    return k;
}

/* Host faults on guest memory while the emulator runs become guest #PF,
 * as the embedder does it. */
static void emu_fault(int sig, siginfo_t *si, void *ctx)
{
    ucontext_t *uc = ctx;
    x86_fault_from_signal(cpu, (uintptr_t)si->si_addr, (uint64_t)uc->uc_mcontext.gregs[REG_ERR]);
    signal(sig, SIG_DFL); /* not guest memory: a real crash */
}

static void run_emu(const struct state *s, int ninsn, struct outcome *o)
{
    memset(o, 0, sizeof(*o));
    memcpy(data, s->data, DATA_CMP);
    x86_invalidate_code(cpu, (uintptr_t)code, 4096);
    x87_save_load(cpu, s->img, false);
    memcpy(cpu->xmm, s->fx + 160, 256);
    memcpy(&cpu->mxcsr, s->fx + 24, 4);
    memset(cpu->gpr, 0, sizeof(cpu->gpr));
    cpu->gpr[X86_RBX] = cpu->gpr[X86_RBP] = cpu->gpr[X86_RCX] = (uintptr_t)data;
    x86_set_rflags(cpu, s->flags);
    cpu->rip = (uintptr_t)code + SNIP;
    struct sigaction sa = {.sa_sigaction = emu_fault, .sa_flags = SA_SIGINFO | SA_NODEFER};
    struct sigaction old;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGSEGV, &sa, &old);
    enum x86_exit why = x86_run(cpu, (uint64_t)ninsn);
    sigaction(SIGSEGV, &old, NULL);
    if (why == X86_EXIT_EXCEPTION) {
        static const int sigs[32] = {[X86_EXC_MF] = SIGFPE,
                                     [X86_EXC_GP] = SIGSEGV,
                                     [X86_EXC_PF] = SIGSEGV,
                                     [X86_EXC_UD] = SIGILL};
        o->sig = sigs[cpu->exc.vector & 31] ? sigs[cpu->exc.vector & 31] : 1000 + cpu->exc.vector;
        o->at = cpu->rip;
        o->trapno = cpu->exc.vector;
        if (cpu->exc.vector == X86_EXC_PF) {
            o->addr = cpu->exc.addr;
            o->err = cpu->exc.error & 7;
        }
        x87_fxsave_image(cpu, o->fx, true);
    } else {
        assert_int_equal(why, X86_EXIT_BUDGET);
        x87_save_store(cpu, o->out, false);
        memcpy(o->out + 112, &cpu->gpr[X86_RAX], 8);
        uint64_t f = x86_get_rflags(cpu);
        memcpy(o->out + 120, &f, 8);
        x87_fxsave_image(cpu, o->fx, true);
    }
    memcpy(o->data, data, DATA_CMP);
}

static void hex(char *buf, size_t cap, const uint8_t *p, size_t n)
{
    size_t k = 0;
    for (size_t i = 0; i < n && k + 4 < cap; i++)
        k += (size_t)snprintf(buf + k, cap - k, "%s%02x", i && !(i % 4) ? " " : "", p[i]);
}

static void report(const char *what, const uint8_t *snip, size_t n, const struct state *s,
                   const uint8_t *a, const uint8_t *b, size_t len)
{
    char hs[64], hi[400], ha[400], hb[400];
    hex(hs, sizeof(hs), snip, n);
    hex(hi, sizeof(hi), s->img, 108);
    hex(ha, sizeof(ha), a, len);
    hex(hb, sizeof(hb), b, len);
    fail_msg("%s differs for [%s]\n  in     %s\n  native %s\n  emu    %s", what, hs, hi, ha, hb);
}

/* The first 32 bytes of memory around a difference, if any. */
static bool memory_diff(const struct outcome *nat, const struct outcome *emu, const uint8_t **a,
                        const uint8_t **b, size_t *len)
{
    for (size_t i = 0; i < DATA_CMP; i++) {
        if (nat->data[i] != emu->data[i]) {
            size_t at = i & ~(size_t)15;
            *a = nat->data + at;
            *b = emu->data + at;
            *len = at + 32 <= DATA_CMP ? 32 : 16;
            return true;
        }
    }
    return false;
}

/* What differs between a native and an emulated outcome (NULL: nothing);
 * *off and *len locate the bytes to show. */
static const char *outcome_diff(const struct outcome *nat, const struct outcome *emu,
                                const uint8_t **a, const uint8_t **b, size_t *len)
{
    *len = 0;
    if (nat->sig || emu->sig) {
        if (nat->sig != emu->sig || nat->at != emu->at ||
            (nat->sig == SIGSEGV && nat->trapno != emu->trapno) || nat->addr != emu->addr ||
            nat->err != emu->err)
            return "fault";
        /* The x87 state when the fault was taken (the kernel's XSAVE image
         * starts with the FXSAVE layout). */
        *a = nat->fx;
        *b = emu->fx;
        *len = 32;
        if (memcmp(nat->fx, emu->fx, 32))
            return "fault-time FXSAVE header";
        for (unsigned i = 0; i < 8; i++) {
            *a = nat->fx + 32 + 16 * i;
            *b = emu->fx + 32 + 16 * i;
            *len = 10;
            if (memcmp(*a, *b, 10))
                return "fault-time ST";
        }
        return memory_diff(nat, emu, a, b, len) ? "fault-time memory" : NULL;
    }
    uint64_t fa, fb;
    memcpy(&fa, nat->out + 120, 8);
    memcpy(&fb, emu->out + 120, 8);
    static const struct {
        const char *what;
        size_t off, len, show;
    } parts[] = {
        {"FNSAVE image", 0, 108, 108},
        {"RAX", 112, 8, 8},
    };
    for (unsigned i = 0; i < 2; i++) {
        *a = nat->out + parts[i].off;
        *b = emu->out + parts[i].off;
        *len = parts[i].show;
        if (memcmp(*a, *b, parts[i].len))
            return parts[i].what;
    }
    *a = nat->out + 120;
    *b = emu->out + 120;
    *len = 8;
    if ((fa ^ fb) & X86_FLAGS_ARITH)
        return "RFLAGS";
    *a = nat->fx;
    *b = emu->fx;
    *len = 160;
    if (memcmp(nat->fx, emu->fx, X87_FXSAVE_USED))
        return "FXSAVE64 image";
    return memory_diff(nat, emu, a, b, len) ? "memory" : NULL;
}

/* Run a snippet both ways from one state and compare everything. The
 * native run is repeated on a difference: a context switch in the middle
 * of it makes the kernel save and restore the x87 state, and on this host
 * that drops FIP/FDP/FOP (XSAVE stores them only while an exception is
 * pending) or zeroes FCS/FDS (XRSTOR64); a real difference repeats. */
static void check_snippet(const uint8_t *snip, size_t n, const struct state *s)
{
    static struct outcome nat, emu;
    int k = count_insns(snip, n);
    if (k <= 0)
        fail_msg("snippet does not decode");
    place(snip, n);
    run_native(s, &nat);
    if (nat.sig == SIGILL)
        report("host #UD", snip, n, s, nat.out, nat.out, 0);
    /* Half the time the host FPU comes with exception flags set (masked), as
     * an embedder's own x87 code may leave it: they must not leak into the
     * guest's. */
    if (rnd() & 1)
        __asm__ volatile("fldz\n\tfld1\n\tfdiv %%st(1), %%st\n\tfldpi\n\tfsqrt\n\t"
                         "fldz\n\tfdiv %%st(0), %%st\n\t"
                         "fstp %%st(0)\n\tfstp %%st(0)\n\tfstp %%st(0)\n\tfstp %%st(0)" ::
                             : "st", "st(1)", "st(2)", "st(3)");
    run_emu(s, k, &emu);
    const uint8_t *a = NULL, *b = NULL;
    size_t len;
    const char *what = outcome_diff(&nat, &emu, &a, &b, &len);
    for (unsigned retry = 0; what && retry < 3; retry++) {
        run_native(s, &nat);
        what = outcome_diff(&nat, &emu, &a, &b, &len);
    }
    if (!what)
        return;
    if (!strcmp(what, "fault")) {
        char hs[64], hi[400], hd[40];
        hex(hs, sizeof(hs), snip, n);
        hex(hi, sizeof(hi), s->img, 108);
        hex(hd, sizeof(hd), s->data, 16);
        fail_msg(
            "fault differs for [%s] from\n  in %s\n  data %s\n  at %#lx: native sig %d at "
            "%#lx (trap %lu, addr %#lx err %lu), emu sig %d at %#lx (vector %lu, addr %#lx err "
            "%lu)",
            hs, hi, hd, (unsigned long)(uintptr_t)code + SNIP, nat.sig, (unsigned long)nat.at,
            (unsigned long)nat.trapno, (unsigned long)nat.addr, (unsigned long)nat.err, emu.sig,
            (unsigned long)emu.at, (unsigned long)emu.trapno, (unsigned long)emu.addr,
            (unsigned long)emu.err);
    }
    report(what, snip, n, s, a, b, len);
}

static int setup(void **state)
{
    (void)state;
    code = mmap(NULL, 4096, PROT_READ | PROT_WRITE | PROT_EXEC,
                MAP_PRIVATE | MAP_ANONYMOUS | MAP_32BIT, -1, 0);
    data = mmap(NULL, 4 * 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_32BIT, -1, 0);
    if (code == MAP_FAILED || data == MAP_FAILED)
        return -1;
    data += 4096;
    if (mprotect(data, 2 * 4096, PROT_READ | PROT_WRITE) != 0)
        return -1;
    cpu = aligned_alloc(64, (sizeof(*cpu) + 63) & ~(size_t)63);
    if (!cpu || x86_cpu_init_user(cpu, 0, 1ULL << 47) != 0)
        return -1;
    if (!test_ops_x87[0].fn)
        return -1;
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    x86_cpu_destroy(cpu);
    free(cpu);
    munmap(code, 4096);
    munmap(data - 4096, 4 * 4096);
    return 0;
}

/* --- the tests --- */

static bool decodes(const uint8_t *b, size_t n)
{
    struct x86_insn in;
    return x86_decode(b, (unsigned)n, 1, &in) == (int)n;
}

/* Every register form of D8-DF the decoder accepts, from random states
 * (some with an exception pending). */
static void test_register_forms(void **state)
{
    (void)state;
    static struct state s;
    unsigned forms = 0;
    for (unsigned op = 0xd8; op <= 0xdf; op++) {
        for (unsigned m = 0xc0; m <= 0xff; m++) {
            uint8_t snip[3] = {(uint8_t)op, (uint8_t)m};
            if (!decodes(snip, 2))
                continue;
            forms++;
            for (unsigned k = 0; k < 24; k++) {
                rnd_state(&s, k % 8 == 7);
                if (k % 5 == 4) { /* REX.B must not matter */
                    uint8_t rex[3] = {0x41, (uint8_t)op, (uint8_t)m};
                    check_snippet(rex, 3, &s);
                } else {
                    check_snippet(snip, 2, &s);
                }
            }
        }
    }
    assert_true(forms > 400);
}

/* An FLDENV (or, with the registers, FRSTOR) image in the 32-bit or 16-bit
 * layout, from a random state; the pointer fields are random too. */
static void rnd_env(uint8_t *p, bool w16, bool regs)
{
    uint8_t img[108];
    rnd_image(img, below(4) == 0);
    if (w16) {
        for (unsigned i = 0; i < 7; i++) { /* FCW FSW FTW, then the pointers */
            uint16_t v = i < 3 ? (uint16_t)(img[4 * i] | img[4 * i + 1] << 8) : (uint16_t)rnd();
            memcpy(p + 2 * i, &v, 2);
        }
        if (regs)
            memcpy(p + 14, img + 28, 80);
        return;
    }
    memcpy(p, img, regs ? 108 : 28);
    if (below(2)) /* the upper halves need not be 0xffff */
        for (unsigned i = 0; i < 28; i += 4)
            p[i + 2] = (uint8_t)rnd(), p[i + 3] = (uint8_t)rnd();
}

/* Fill the data area with what a memory form reads. */
static void fill_operand(struct state *s, unsigned op, unsigned reg, bool w16)
{
    uint8_t *p = s->data;
    uint64_t v;
    switch (op) {
    case 0xd8:
        v = rnd_f32();
        memcpy(p, &v, 4);
        break;
    case 0xdc:
        v = rnd_f64();
        memcpy(p, &v, 8);
        break;
    case 0xda:
    case 0xde:
        v = rnd_int(op == 0xda ? 4 : 2);
        memcpy(p, &v, 8);
        break;
    case 0xd9:
        if (reg == 0) {
            v = rnd_f32();
            memcpy(p, &v, 4);
        } else if (reg == 4) {
            rnd_env(p, w16, false);
        } else if (reg == 5) {
            uint16_t cw = below(4) ? rnd_fcw() : (uint16_t)rnd();
            memcpy(p, &cw, 2);
        }
        break;
    case 0xdb:
        if (reg == 0) {
            v = rnd_int(4);
            memcpy(p, &v, 4);
        } else if (reg == 5) {
            put_f80(p, rnd_f80());
        }
        break;
    case 0xdd:
        if (reg == 0) {
            v = rnd_f64();
            memcpy(p, &v, 8);
        } else if (reg == 4) {
            rnd_env(p, w16, true);
        }
        break;
    case 0xdf:
        if (reg == 0 || reg == 5) {
            v = rnd_int(reg == 0 ? 2 : 8);
            memcpy(p, &v, 8);
        } else if (reg == 4) {
            rnd_bcd(p);
        }
        break;
    }
}

/* Every memory form, through several addressing forms and prefixes. */
static void test_memory_forms(void **state)
{
    (void)state;
    static struct state s;
    unsigned forms = 0;
    for (unsigned op = 0xd8; op <= 0xdf; op++) {
        for (unsigned reg = 0; reg < 8; reg++) {
            uint8_t probe[2] = {(uint8_t)op, (uint8_t)(reg << 3 | 3)};
            if (!decodes(probe, 2))
                continue;
            forms++;
            for (unsigned k = 0; k < 40; k++) {
                uint8_t snip[16];
                size_t n = 0;
                bool w16 = false;
                unsigned pfx = below(8);
                if (pfx == 1) {
                    snip[n++] = 0x66;
                    w16 = true;
                } else if (pfx == 2) {
                    snip[n++] = 0x48; /* REX.W: ignored */
                } else if (pfx == 3) {
                    snip[n++] = 0x67; /* [ebx] */
                } else if (pfx == 4) {
                    snip[n++] = 0x3e; /* DS: ignored in 64-bit mode */
                } else if (pfx == 5) {
                    snip[n++] = 0x66;
                    snip[n++] = 0x48; /* REX.W beats 66 */
                }
                snip[n++] = (uint8_t)op;
                switch (below(4)) {
                case 0:
                    snip[n++] = (uint8_t)(reg << 3 | 3); /* [rbx] */
                    break;
                case 1:
                    snip[n++] = (uint8_t)(0x40 | reg << 3 | 3); /* [rbx+0]: disp8 */
                    snip[n++] = 0;
                    break;
                case 2:
                    snip[n++] = (uint8_t)(reg << 3 | 4); /* [rbx] through a SIB */
                    snip[n++] = 0x23;
                    break;
                default:
                    snip[n++] = (uint8_t)(0x40 | reg << 3 | 5); /* [rbp+0]: SS, FDS = SS */
                    snip[n++] = 0;
                    break;
                }
                rnd_state(&s, k % 10 == 9);
                fill_operand(&s, op, reg, w16);
                check_snippet(snip, n, &s);
            }
        }
    }
    assert_int_equal(forms, 60);
}

/* Short random sequences: the fast paths leave a state the next
 * instruction (fast or exact) continues from; faults land mid-way. */
static void test_sequences(void **state)
{
    (void)state;
    static const uint8_t pool[][2] = {
        {0xd9, 0xc1}, {0xd9, 0xc9}, {0xd9, 0xe8}, {0xd9, 0xee}, {0xd9, 0xeb}, {0xd9, 0xe0},
        {0xd9, 0xe1}, {0xde, 0xc1}, {0xde, 0xc9}, {0xde, 0xe9}, {0xde, 0xf9}, {0xd8, 0xc1},
        {0xdc, 0xe9}, {0xdd, 0xd9}, {0xdd, 0xd1}, {0xdb, 0xe9}, {0xdf, 0xf1}, {0xd9, 0xfa},
        {0xd9, 0xfc}, {0xdd, 0x03}, {0xdb, 0x2b}, {0xdb, 0x3b}, {0xdd, 0x1b}, {0xdf, 0x3b},
        {0xd9, 0x1b}, {0xdc, 0x03}, {0xd8, 0x0b}, {0xdb, 0x03}, {0xdf, 0x2b}, {0x9b, 0x90},
        {0xdb, 0xe2}, {0xd9, 0xf7}, {0xd9, 0xf6}, {0xdd, 0xc1}, {0xd9, 0x3b}, {0xda, 0xc1},
    };
    static struct state s;
    for (unsigned k = 0; k < 3000; k++) {
        uint8_t snip[32];
        size_t n = 0;
        unsigned len = 2 + below(6);
        for (unsigned i = 0; i < len; i++) {
            const uint8_t *e = pool[below(sizeof(pool) / sizeof(pool[0]))];
            snip[n++] = e[0];
            if (e[0] != 0x9b)
                snip[n++] = e[1];
        }
        rnd_state(&s, k % 16 == 15);
        for (unsigned i = 0; i < 64; i += 8) { /* plain operands mostly */
            uint64_t v = below(2) ? rnd_f64() : rnd();
            memcpy(s.data + i, &v, 8);
        }
        check_snippet(snip, n, &s);
    }
}

/* FXSAVE and FXSAVE64: the whole area against the host's (bytes 416-511
 * untouched), with and without a pending exception; #GP when misaligned. */
static void test_fxsave(void **state)
{
    (void)state;
    static struct state s;
    static const uint8_t forms[][6] = {
        {3, 0x0f, 0xae, 0x03},       /* fxsave [rbx] */
        {4, 0x48, 0x0f, 0xae, 0x03}, /* fxsave64 [rbx] */
        {4, 0x0f, 0xae, 0x43, 0x08}, /* fxsave [rbx+8]: #GP */
        {4, 0x0f, 0xae, 0x43, 0x10}, /* fxsave [rbx+16] */
        {5, 0x48, 0x0f, 0xae, 0x43, 0x04},
    };
    for (unsigned f = 0; f < sizeof(forms) / sizeof(forms[0]); f++) {
        for (unsigned k = 0; k < 60; k++) {
            /* a computation first, so pointers are recorded (and an
             * exception may be pending with ES) */
            uint8_t snip[16] = {0xdd, 0x03, 0xde, 0xf9};
            size_t n = 4;
            memcpy(snip + n, forms[f] + 1, forms[f][0]);
            n += forms[f][0];
            rnd_state(&s, false);
            uint32_t mx = 0x1f80 | (uint32_t)(rnd() & 0x3f) | (uint32_t)(rnd() & 0x6000);
            memcpy(s.fx + 24, &mx, 4);
            uint64_t v = rnd_f64();
            memcpy(s.data, &v, 8);
            check_snippet(snip, n, &s);
        }
    }
}

/* FXRSTOR and FXRSTOR64 of random images: the state they leave (FNSAVE and
 * FXSAVE64 of it), MXCSR outside MXCSR_MASK and misalignment as #GP. */
static void test_fxrstor(void **state)
{
    (void)state;
    static struct state s;
    static const uint8_t forms[][6] = {
        {3, 0x0f, 0xae, 0x0b},       /* fxrstor [rbx] */
        {4, 0x48, 0x0f, 0xae, 0x0b}, /* fxrstor64 [rbx] */
        {4, 0x0f, 0xae, 0x4b, 0x04}, /* misaligned */
    };
    for (unsigned f = 0; f < sizeof(forms) / sizeof(forms[0]); f++) {
        for (unsigned k = 0; k < 100; k++) {
            rnd_state(&s, below(4) == 0);
            uint8_t *img = s.data + (f == 2 ? 4 : 0);
            uint8_t fs[108];
            rnd_image(fs, below(3) == 0);
            memcpy(img, fs, 2);         /* FCW */
            memcpy(img + 2, fs + 4, 2); /* FSW */
            img[4] = (uint8_t)rnd();    /* abridged tags */
            uint32_t mx = 0x1f80 ^ (uint32_t)(rnd() & 0xffff);
            if (!below(8))
                mx |= 1u << (16 + below(16));
            memcpy(img + 24, &mx, 4);
            for (unsigned i = 0; i < 8; i++)
                memcpy(img + 32 + 16 * i, fs + 28 + 10 * i, 10);
            /* the random pointer fields, tail and XMMs stay from rnd_state */
            /* then a waiting instruction: a loaded pending exception faults */
            uint8_t snip[16];
            memcpy(snip, forms[f] + 1, forms[f][0]);
            size_t n = forms[f][0];
            if (k % 2) {
                snip[n++] = 0xd9;
                snip[n++] = 0xc9; /* fxch */
            }
            check_snippet(snip, n, &s);
        }
    }
}

/* Operands that cross into (or start in) an inaccessible page: the fault
 * address and error code the host reports, and no partial store. */
static void test_page_faults(void **state)
{
    (void)state;
    static const struct {
        uint8_t pfx, op, reg;
        uint16_t size;
    } forms[] = {
        {0, 0xd9, 2, 4},     {0, 0xd9, 3, 4},      {0, 0xdd, 2, 8},     {0, 0xdd, 3, 8},
        {0, 0xdb, 7, 10},    {0, 0xdf, 3, 2},      {0, 0xdb, 3, 4},     {0, 0xdf, 7, 8},
        {0, 0xdf, 6, 10},    {0, 0xdb, 1, 4},      {0, 0xdd, 1, 8},     {0, 0xdf, 1, 2},
        {0, 0xdb, 2, 4},     {0, 0xdf, 2, 2},      {0, 0xd9, 0, 4},     {0, 0xdd, 0, 8},
        {0, 0xdb, 5, 10},    {0, 0xdf, 4, 10},     {0, 0xdf, 5, 8},     {0, 0xd8, 0, 4},
        {0, 0xdc, 6, 8},     {0, 0xda, 1, 4},      {0, 0xde, 7, 2},     {0, 0xd9, 4, 28},
        {0x66, 0xd9, 4, 14}, {0, 0xd9, 6, 28},     {0x66, 0xd9, 6, 14}, {0, 0xdd, 4, 108},
        {0x66, 0xdd, 4, 94}, {0, 0xdd, 6, 108},    {0x66, 0xdd, 6, 94}, {0, 0xd9, 5, 2},
        {0, 0xd9, 7, 2},     {0, 0xdd, 7, 2},      {0, 0x0f, 0, 512},   {0x48, 0x0f, 0, 512},
        {0, 0x0f, 1, 512},   {0x48, 0x0f, 1, 512},
    };
    static struct state s;
    for (unsigned f = 0; f < sizeof(forms) / sizeof(forms[0]); f++) {
        unsigned size = forms[f].size, step = size == 512 ? 16 : 1;
        for (int j = -(int)(size + step); j <= (int)(size + step); j += (int)step) {
            if (j == 0)
                continue;
            /* j > 0: j bytes before the end of the second page; j < 0:
             * starting -j bytes before the first page */
            int32_t disp = j > 0 ? 8192 - j : j;
            uint8_t snip[12];
            size_t n = 0;
            if (forms[f].pfx)
                snip[n++] = forms[f].pfx;
            snip[n++] = forms[f].op;
            if (forms[f].op == 0x0f)
                snip[n++] = 0xae;
            snip[n++] = (uint8_t)(0x80 | forms[f].reg << 3 | 3); /* [rbx + disp32] */
            memcpy(snip + n, &disp, 4);
            n += 4;
            rnd_state(&s, false);
            check_snippet(snip, n, &s);
        }
    }
}

/* #MF: an unmasked exception leaves its result unwritten and ES set; the
 * no-wait instructions after it run; the next waiting one faults. */
static void test_mf_delivery(void **state)
{
    (void)state;
    static const uint8_t snip[] = {
        0xd9, 0x2b,       /* fldcw [rbx]: ZE unmasked */
        0xd9, 0xee,       /* fldz */
        0xd9, 0xe8,       /* fld1 */
        0xd8, 0xf1,       /* fdiv st, st(1): 1 / 0 */
        0xdf, 0xe0,       /* fnstsw ax */
        0xd9, 0x7b, 0x08, /* fnstcw [rbx+8] */
        0xd9, 0x73, 0x10, /* fnstenv [rbx+16]: masks everything... */
        0xd9, 0x6b, 0x30, /* fldcw [rbx+48]: ...this unmasks ZE again */
        0x9b,             /* fwait: #MF */
        0xd9, 0xe8,       /* fld1 (not reached) */
    };
    static struct state s;
    rnd_state(&s, false);
    uint8_t img[108];
    x87_init_state(cpu);
    memset(cpu->fpu.st, 0, sizeof(cpu->fpu.st));
    x87_save_store(cpu, img, false);
    memcpy(s.img, img, sizeof(img));
    uint16_t cw = 0x37b;
    memcpy(s.data, &cw, 2);
    memcpy(s.data + 48, &cw, 2);
    check_snippet(snip, sizeof(snip), &s);
    /* and what that means, on the emulator's side */
    assert_int_equal(cpu->exc.vector, X86_EXC_MF);
    assert_int_equal(cpu->rip, (uintptr_t)code + SNIP + 19);
    assert_int_equal(cpu->gpr[X86_RAX] & 0xffff, 0xb084); /* B ES ZE, TOP 6 */
    assert_int_equal(cpu->fpu.top, 6);
    assert_int_equal(x87_st(cpu, 0)->raw.sign_exp, 0x3fff); /* 1.0 was not overwritten */
    assert_int_equal(cpu->fpu.fcw, 0x37b);
    assert_true(cpu->fpu.fsw & X87_FSW_ES);
    /* FIP is the FDIV, not the control instructions after it */
    assert_int_equal(cpu->fpu.fop, 0x0f1);
    assert_int_equal(x87_ptr_off(cpu->fpu.fip), (uintptr_t)code + SNIP + 6);
    /* FNSTENV stored the state with ES, then masked */
    assert_int_equal(data[16] | data[17] << 8, 0x37b);
    assert_int_equal(data[20] | data[21] << 8, 0xb084);
}

/* The environment and save images of known states, field by field
 * against what this host stores (values from the host, 64-bit mode). */
static void test_env_layout(void **state)
{
    (void)state;
    uint8_t img[108];
    x87_init_state(cpu);
    cpu->fpu.top = 7;
    cpu->fpu.ftw = 0x80;
    cpu->fpu.st[7].raw.mant = 1ULL << 63;
    cpu->fpu.st[7].raw.sign_exp = 0x3fff;
    cpu->fpu.fop = 0x1e8;
    cpu->fpu.fip = x87_ptr_pack(0x33, 0x55aeb98a0241ULL);
    cpu->fpu.fdp = x87_ptr_pack(0x2b, 0x7ffd12345678ULL);
    x87_env_store(cpu, img, false);
    static const uint8_t want32[28] = {0x7f, 0x03, 0xff, 0xff, 0x00, 0x38, 0xff, 0xff, 0xff, 0x3f,
                                       0xff, 0xff, 0x41, 0x02, 0x8a, 0xb9, 0x33, 0x00, 0xe8, 0x01,
                                       0x78, 0x56, 0x34, 0x12, 0x2b, 0x00, 0xff, 0xff};
    assert_memory_equal(img, want32, 28);
    x87_env_store(cpu, img, true);
    static const uint8_t want16[14] = {0x7f, 0x03, 0x00, 0x38, 0xff, 0x3f, 0x41,
                                       0x02, 0x33, 0x00, 0x78, 0x56, 0x2b, 0x00};
    assert_memory_equal(img, want16, 14);
    /* FXSAVE stores no pointers without a pending exception */
    uint8_t fx[512];
    x87_fxsave_image(cpu, fx, true);
    for (unsigned i = 6; i < 24; i++)
        assert_int_equal(fx[i], 0);
    cpu->fpu.fsw = X87_FSW_ZE | X87_FSW_ES | X87_FSW_B;
    cpu->fpu.fcw = 0x37b;
    x87_fxsave_image(cpu, fx, true);
    uint64_t fip, fdp;
    memcpy(&fip, fx + 8, 8);
    memcpy(&fdp, fx + 16, 8);
    assert_int_equal(fip, 0x55aeb98a0241ULL);
    assert_int_equal(fdp, 0x7ffd12345678ULL);
    cpu->fpu.fip = x87_ptr_pack(0, 0xffff888888888888ULL); /* bit 47 set: sign-extends */
    x87_fxsave_image(cpu, fx, true);
    memcpy(&fip, fx + 8, 8);
    assert_int_equal(fip, 0xffff888888888888ULL);
    x87_fxsave_image(cpu, fx, false);
    assert_int_equal(fx[12], 0);
    assert_int_equal(fx[20], 0x2b);
}

/* CPUID: the emulated CPU promises an FPU and FXSAVE/FXRSTOR. */
static void test_cpuid_bits(void **state)
{
    (void)state;
    uint32_t r[4];
    x86_cpuid(cpu, 1, 0, r);
    assert_true(r[3] & 1);          /* FPU */
    assert_true(r[3] & (1u << 24)); /* FXSR */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_env_layout),   cmocka_unit_test(test_register_forms),
        cmocka_unit_test(test_memory_forms), cmocka_unit_test(test_sequences),
        cmocka_unit_test(test_fxsave),       cmocka_unit_test(test_fxrstor),
        cmocka_unit_test(test_cpuid_bits),   cmocka_unit_test(test_page_faults),
        cmocka_unit_test(test_mf_delivery),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
