/* Differential harness of the packed-integer tests (test_x86_mmx.c,
 * test_x86_sse_int.c): one instruction, written in assembly, runs on the
 * host CPU and in the emulator from the same random state, and everything
 * it can touch is compared.
 *
 * How it works:
 *   - PH_INSN(id, "asm text") assembles the instruction into .rodata
 *     between two labels: the emulator decodes exactly those bytes (so the
 *     decoder's format, the dispatch row and the op function are tested
 *     together), and the host runs a copy of them placed between a
 *     prologue and an epilogue in an executable page;
 *   - the state is an FXSAVE image (x87/MMX registers, TOP, tags, FSW,
 *     MXCSR, xmm0-15) plus RAX RCX RDX RSI RDI R8-R11 and the arithmetic
 *     flags: the prologue loads it (FXRSTOR, POPFQ, MOVs), the epilogue
 *     stores it back (MOVs, PUSHFQ, FXSAVE) and resets the x87 (FNINIT);
 *   - RSI points into a data page and RDI into a second one, followed by
 *     an inaccessible guard page: memory forms use (%rsi), MASKMOV* use
 *     (%rdi); some iterations misalign RSI or put the operand across the
 *     guard page, so alignment faults (#GP) and page faults (#PF) are
 *     compared too (a host SIGSEGV with SI_KERNEL is #GP, other SIGSEGVs
 *     are #PF, SIGFPE is #MF); a faulting instruction must leave the
 *     emulator's state and memory exactly as they were;
 *   - instructions with an imm8 (always their last byte) get a random or
 *     boundary immediate patched in at each iteration.
 */
#ifndef XUNI_TESTS_X86_PINT_HOST_H
#define XUNI_TESTS_X86_PINT_HOST_H

#include <cpuid.h>
#include <setjmp.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <ucontext.h>

#include "cpu/x86/cpu.h"
#include "cpu/x86/insn.h"
#include "cpu/x86/mem.h"

/* insn.h declares the family tables weak, and a weak reference does not
 * pull an object out of libxuni.a: refer to them strongly. */
extern const struct x86_op_entry ph_ops_mmx[] __asm__("x86_ops_mmx");
extern const struct x86_op_entry ph_ops_sse_int[] __asm__("x86_ops_sse_int");

/* ops.c's op for encodings no family registers (decode_tables.h, whose
 * F_LOCK clashes with <unistd.h>). */
x86_op_fn x86_op_ud;

#define PH_PAGE  4096u
#define PH_ITERS 300

/* Case flags. */
#define PH_IMM    (1u << 0) /* last byte is an imm8: randomized */
#define PH_COUNT  (1u << 1) /* source is a shift count: small and boundary values */
#define PH_SSSE3  (1u << 2) /* needs the host feature */
#define PH_SSE41  (1u << 3)
#define PH_SSE42  (1u << 4)
#define PH_PCLMUL (1u << 5)
#define PH_SHIMM  (1u << 6) /* imm8 is a shift count: biased to boundaries */
#define PH_AES    (1u << 7)
#define PH_AMD                                                                                     \
    (1u << 8) /* faults at the guard page as AMD CPUs do (MASKMOV*: the                            \
                 SDM leaves faults on unselected bytes open) */

struct ph_case {
    const char *name;
    const uint8_t *start, *end;
    unsigned flags;
};

/* Assemble one instruction into .rodata between ph_b_<id> and ph_e_<id>. */
#define PH_INSN(id, text, flags)                                                                   \
    __asm__(".pushsection .rodata.ph_insn,\"a\"\n"                                                 \
            "ph_b_" #id ":\n\t" text "\n"                                                          \
            "ph_e_" #id ":\n"                                                                      \
            ".popsection\n");                                                                      \
    extern const uint8_t ph_b_##id[], ph_e_##id[];
#define PH_ROW(id, text, flags) {#id, ph_b_##id, ph_e_##id, (flags)},

/* --- the state --- */

/* GPRs the prologue loads (indices into gpr[]). */
static const unsigned ph_gprs[] = {X86_RAX, X86_RCX, X86_RDX, X86_RSI, X86_RDI,
                                   X86_R8,  X86_R9,  X86_R10, X86_R11};
#define PH_NGPRS (sizeof(ph_gprs) / sizeof(ph_gprs[0]))

struct ph_state {
    uint8_t fx[512] __attribute__((aligned(16)));
    uint64_t gpr[16];
    uint64_t rflags;
};
#define PH_GPR_OFF    "512"
#define PH_RFLAGS_OFF "640"

/* FXSAVE image offsets. */
#define FX_FCW    0
#define FX_FSW    2
#define FX_FTW    4
#define FX_MXCSR  24
#define FX_ST(i)  (32 + 16 * (i))
#define FX_XMM(i) (160 + 16 * (i))

/* The prologue and epilogue around the instruction (position-independent:
 * everything is relative to RBX, the state pointer). */
__asm__(".pushsection .rodata.ph_insn,\"a\"\n"
        "ph_pro:\n\t"
        "push %rbx\n\t"
        "push %rbp\n\t"
        "mov %rdi, %rbx\n\t"
        "fxrstor (%rbx)\n\t"
        "pushq 640(%rbx)\n\t"
        "popfq\n\t"
        "mov 512+0*8(%rbx), %rax\n\t"
        "mov 512+1*8(%rbx), %rcx\n\t"
        "mov 512+2*8(%rbx), %rdx\n\t"
        "mov 512+6*8(%rbx), %rsi\n\t"
        "mov 512+8*8(%rbx), %r8\n\t"
        "mov 512+9*8(%rbx), %r9\n\t"
        "mov 512+10*8(%rbx), %r10\n\t"
        "mov 512+11*8(%rbx), %r11\n\t"
        "mov 512+7*8(%rbx), %rdi\n"
        "ph_pro_end:\n\t"
        "mov %rax, 512+0*8(%rbx)\n\t"
        "mov %rcx, 512+1*8(%rbx)\n\t"
        "mov %rdx, 512+2*8(%rbx)\n\t"
        "mov %rsi, 512+6*8(%rbx)\n\t"
        "mov %rdi, 512+7*8(%rbx)\n\t"
        "mov %r8, 512+8*8(%rbx)\n\t"
        "mov %r9, 512+9*8(%rbx)\n\t"
        "mov %r10, 512+10*8(%rbx)\n\t"
        "mov %r11, 512+11*8(%rbx)\n\t"
        "pushfq\n\t"
        "popq 640(%rbx)\n\t"
        "fxsave (%rbx)\n\t"
        "fninit\n\t"
        "pop %rbp\n\t"
        "pop %rbx\n\t"
        "ret\n"
        "ph_epi_end:\n"
        ".popsection\n");
extern const uint8_t ph_pro[], ph_pro_end[], ph_epi_end[];

/* --- globals: CPU, memory, code page, signals --- */

static struct x86_cpu *ph_cpu;
static uint8_t *ph_mem;  /* two data pages and a guard page */
static uint8_t *ph_code; /* the host's copy: prologue, instruction, epilogue */
static bool ph_code_rwx; /* else made writable only to copy an instruction in */
static uint8_t ph_mem_in[2 * PH_PAGE], ph_mem_host[2 * PH_PAGE];
static sigjmp_buf ph_host_jmp;
static volatile sig_atomic_t ph_host_active, ph_emu_active, ph_host_vector;
static void *volatile ph_host_addr;

static void ph_signal(int sig, siginfo_t *si, void *ctx)
{
    ucontext_t *uc = ctx;
    if (ph_emu_active && (sig == SIGSEGV || sig == SIGBUS))
        x86_fault_from_signal(ph_cpu, (uintptr_t)si->si_addr,
                              (uint64_t)uc->uc_mcontext.gregs[REG_ERR]);
    if (ph_host_active) {
        ph_host_active = 0;
        if (sig == SIGFPE)
            ph_host_vector = X86_EXC_MF;
        else if (sig == SIGSEGV && si->si_code == SI_KERNEL)
            ph_host_vector = X86_EXC_GP;
        else if (sig == SIGSEGV)
            ph_host_vector = X86_EXC_PF;
        else
            ph_host_vector = 100 + sig;
        ph_host_addr = si->si_addr;
        siglongjmp(ph_host_jmp, 1);
    }
    signal(sig, SIG_DFL); /* a real crash */
}

/* cmocka installs its own handlers for every test: take the fault
 * signals back before running anything. */
static void ph_signals(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_sigaction = ph_signal;
    sa.sa_flags = SA_SIGINFO | SA_NODEFER;
    sigaction(SIGSEGV, &sa, NULL);
    sigaction(SIGBUS, &sa, NULL);
    sigaction(SIGFPE, &sa, NULL);
}

static bool ph_host_is_amd(void)
{
    unsigned a, b, c, d;
    __cpuid(0, a, b, c, d);
    (void)a;
    return b == 0x68747541 && d == 0x69746e65 && c == 0x444d4163; /* AuthenticAMD */
}

static bool ph_host_has(unsigned flags)
{
    unsigned a, b, c, d;
    __cpuid(1, a, b, c, d);
    (void)a, (void)b, (void)d;
    if ((flags & PH_SSSE3) && !(c & bit_SSSE3))
        return false;
    if ((flags & PH_SSE41) && !(c & bit_SSE4_1))
        return false;
    if ((flags & PH_SSE42) && !(c & bit_SSE4_2))
        return false;
    if ((flags & PH_PCLMUL) && !(c & bit_PCLMUL))
        return false;
    if ((flags & PH_AES) && !(c & bit_AES))
        return false;
    return true;
}

static int ph_setup(void **state)
{
    (void)state;
    /* Referencing the tables links them in, and the decoder finds them. */
    if (!ph_ops_mmx[0].fn || !ph_ops_sse_int[0].fn)
        return -1;
    ph_cpu = aligned_alloc(64, (sizeof(*ph_cpu) + 63) & ~(size_t)63);
    if (!ph_cpu || x86_cpu_init_user(ph_cpu, 0, 1ULL << 47) != 0)
        return -1;
    ph_mem = mmap(NULL, 3 * PH_PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    ph_code =
        mmap(NULL, PH_PAGE, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    ph_code_rwx = ph_code != MAP_FAILED;
    if (!ph_code_rwx)
        ph_code = mmap(NULL, PH_PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (ph_mem == MAP_FAILED || ph_code == MAP_FAILED)
        return -1;
    mprotect(ph_mem + 2 * PH_PAGE, PH_PAGE, PROT_NONE);
    return 0;
}

static int ph_teardown(void **state)
{
    (void)state;
    x86_cpu_destroy(ph_cpu);
    free(ph_cpu);
    munmap(ph_mem, 3 * PH_PAGE);
    munmap(ph_code, PH_PAGE);
    return 0;
}

/* --- random inputs --- */

static uint64_t ph_rng = 0x243f6a8885a308d3ULL;

static uint64_t ph_rand(void)
{
    ph_rng ^= ph_rng << 13;
    ph_rng ^= ph_rng >> 7;
    ph_rng ^= ph_rng << 17;
    return ph_rng;
}

/* 64 bits of lanes, biased toward the boundaries of every lane size. */
static uint64_t ph_lanes(void)
{
    static const uint16_t w_edge[] = {0,      1,      2,      0x7f,   0x80,   0xff,   0x100,
                                      0x7fff, 0x8000, 0x8001, 0xfffe, 0xffff, 0x7f80, 0x807f,
                                      0x8080, 0x7f7f, 0xff00, 0x00ff, 0xff80, 0x807f};
    static const uint32_t d_edge[] = {0x7fffffff, 0x80000000, 0xffffffff, 0x80000001,
                                      0x0000ffff, 0x00010000, 0xffff8000, 0x00007fff};
    uint64_t r = ph_rand(), v = 0;
    switch (r & 3) {
    case 0:
        return ph_rand();
    case 1:
        for (unsigned i = 0; i < 4; i++) {
            uint64_t x = ph_rand();
            uint16_t w = x & 1 ? (uint16_t)(x >> 8) : w_edge[(x >> 8) % 20];
            v |= (uint64_t)w << (16 * i);
        }
        return v;
    case 2:
        for (unsigned i = 0; i < 2; i++) {
            uint64_t x = ph_rand();
            uint32_t d = x & 1 ? (uint32_t)(x >> 8) : d_edge[(x >> 8) % 8];
            v |= (uint64_t)d << (32 * i);
        }
        return v;
    default: {
        static const uint64_t q_edge[] = {0, ~0ULL, 1ULL << 63, ~0ULL >> 1, 1};
        return r & 4 ? q_edge[(r >> 8) % 5] : r >> (r >> 58);
    }
    }
}

static uint64_t ph_count(void)
{
    static const uint64_t c[] = {0,
                                 1,
                                 2,
                                 7,
                                 8,
                                 15,
                                 16,
                                 17,
                                 31,
                                 32,
                                 33,
                                 63,
                                 64,
                                 65,
                                 127,
                                 128,
                                 255,
                                 256,
                                 0x100000000ULL,
                                 0x8000000000000000ULL,
                                 ~0ULL};
    uint64_t r = ph_rand();
    return r & 1 ? c[(r >> 8) % (sizeof(c) / sizeof(c[0]))] : (r >> 8) % 70;
}

static uint8_t ph_imm8(unsigned flags)
{
    static const uint8_t shimm[] = {0,  1,  2,  7,  8,  9,  15,  16,  17,
                                    31, 32, 33, 63, 64, 65, 127, 128, 255};
    uint64_t r = ph_rand();
    if ((flags & PH_SHIMM) && (r & 1))
        return shimm[(r >> 8) % sizeof(shimm)];
    return (uint8_t)(r >> 16);
}

static uint64_t *ph_st_mant(struct ph_state *s, unsigned phys)
{
    unsigned top = (unsigned)(s->fx[FX_FSW + 1] >> 3) & 7;
    return (uint64_t *)&s->fx[FX_ST((phys - top) & 7)];
}

/* A 64-bit source lane (mm1, low xmm qwords, memory) related to the
 * destination's, so equal lanes, zero results and PTEST's flags happen. */
static uint64_t ph_related(uint64_t d, uint64_t s, unsigned mode)
{
    switch (mode) {
    case 1: /* some bytes equal */
        for (unsigned i = 0; i < 8; i++) {
            if (ph_rand() & 1)
                s = (s & ~(0xffULL << 8 * i)) | (d & (0xffULL << 8 * i));
        }
        return s;
    case 2:
        return ph_rand() & 1 ? d : s;
    case 3:
        return ~d;
    case 4:
        return 0;
    case 5:
        return d & s;
    default:
        return s;
    }
}

/* The input state; pos_mode 0 normal, 1 misaligned RSI, 2 operands at the
 * guard page, 3 an x87 exception pending (FSW.ES with IE unmasked). */
static void ph_random_state(struct ph_state *s, unsigned flags, unsigned pos_mode)
{
    memset(s, 0, sizeof(*s));
    unsigned top = ph_rand() & 7;
    uint16_t fsw = (uint16_t)(top << 11 | (ph_rand() & 0x4700)); /* C0-C3 */
    uint16_t fcw = 0x37f;
    if (pos_mode == 3) {
        fsw |= 0x8081; /* IE, ES and B (which mirrors ES) */
        fcw = 0x37e;   /* IM clear */
    }
    memcpy(&s->fx[FX_FCW], &fcw, 2);
    memcpy(&s->fx[FX_FSW], &fsw, 2);
    s->fx[FX_FTW] = (uint8_t)ph_rand();
    uint32_t mxcsr = 0x1f80;
    memcpy(&s->fx[FX_MXCSR], &mxcsr, 4);
    for (unsigned i = 0; i < 8; i++) {
        uint64_t m = ph_lanes();
        uint16_t se = (uint16_t)ph_rand();
        memcpy(&s->fx[FX_ST(i)], &m, 8);
        memcpy(&s->fx[FX_ST(i) + 8], &se, 2);
    }
    for (unsigned i = 0; i < 32; i++) {
        uint64_t q = ph_lanes();
        memcpy(&s->fx[FX_XMM(0) + 8 * i], &q, 8);
    }
    for (unsigned i = 0; i < PH_NGPRS; i++)
        s->gpr[ph_gprs[i]] = ph_lanes();
    s->rflags = 0x202 | (ph_rand() & X86_FLAGS_ARITH);

    /* Memory: random lanes where the operands can be (the rest keeps
     * what earlier iterations left, the same for host and emulator). */
    static const unsigned spans[][2] = {
        {0, 256}, {PH_PAGE + 256, PH_PAGE + 320}, {2 * PH_PAGE - 32, 2 * PH_PAGE}};
    for (unsigned k = 0; k < 3; k++) {
        for (unsigned i = spans[k][0]; i < spans[k][1]; i += 8) {
            uint64_t q = ph_lanes();
            memcpy(ph_mem + i, &q, 8);
        }
    }
    uint64_t r = ph_rand();
    uint8_t *rsi = ph_mem + 64 + 16 * (r % 8), *rdi = ph_mem + PH_PAGE + 256 + (r >> 8) % 32;
    if (pos_mode == 1)
        rsi += 1 + (r >> 16) % 15;
    if (pos_mode == 2) {
        rsi = ph_mem + 2 * PH_PAGE - (r >> 16) % 17;
        rdi = ph_mem + 2 * PH_PAGE - (r >> 24) % 17;
    }
    s->gpr[X86_RSI] = (uintptr_t)rsi;
    s->gpr[X86_RDI] = (uintptr_t)rdi;

    /* Related sources: mm1 to mm0, xmm1 to xmm0, xmm13 to xmm10, the
     * memory operand to xmm0 / mm0. */
    unsigned mode = (unsigned)(ph_rand() % 8);
    uint64_t *mm0 = ph_st_mant(s, 0), *mm1 = ph_st_mant(s, 1);
    *mm1 = ph_related(*mm0, *mm1, mode);
    for (unsigned q = 0; q < 2; q++) {
        uint64_t *x0 = (uint64_t *)&s->fx[FX_XMM(0) + 8 * q];
        uint64_t *x1 = (uint64_t *)&s->fx[FX_XMM(1) + 8 * q];
        uint64_t *x10 = (uint64_t *)&s->fx[FX_XMM(10) + 8 * q];
        uint64_t *x13 = (uint64_t *)&s->fx[FX_XMM(13) + 8 * q];
        *x1 = ph_related(*x0, *x1, mode);
        *x13 = ph_related(*x10, *x13, mode);
        if (rsi + 8 * q + 8 <= ph_mem + 2 * PH_PAGE) {
            uint64_t m;
            memcpy(&m, rsi + 8 * q, 8);
            m = ph_related(q == 0 && (ph_rand() & 1) ? *mm0 : *x0, m, mode);
            memcpy(rsi + 8 * q, &m, 8);
        }
    }
    if (flags & PH_COUNT) {
        *mm1 = ph_count();
        memcpy(&s->fx[FX_XMM(1)], &(uint64_t){ph_count()}, 8);
        memcpy(&s->fx[FX_XMM(13)], &(uint64_t){ph_count()}, 8);
        if (rsi + 8 <= ph_mem + 2 * PH_PAGE)
            memcpy(rsi, &(uint64_t){ph_count()}, 8);
    }
}

/* --- running it --- */

/* The host: the instruction bytes between prologue and epilogue. Returns
 * -1, or the vector of the exception the instruction raised. */
static int ph_host_run(const uint8_t *insn, unsigned len, struct ph_state *s)
{
    unsigned pro = (unsigned)(ph_pro_end - ph_pro), epi = (unsigned)(ph_epi_end - ph_pro_end);
    if (!ph_code_rwx)
        mprotect(ph_code, PH_PAGE, PROT_READ | PROT_WRITE);
    memcpy(ph_code, ph_pro, pro);
    memcpy(ph_code + pro, insn, len);
    memcpy(ph_code + pro + len, ph_pro_end, epi);
    if (!ph_code_rwx)
        mprotect(ph_code, PH_PAGE, PROT_READ | PROT_EXEC);
    void (*fn)(struct ph_state *) = (void (*)(struct ph_state *))(void *)ph_code;
    if (sigsetjmp(ph_host_jmp, 1)) {
        __asm__ volatile("fninit\n\tldmxcsr %0" ::"m"((uint32_t){0x1f80}));
        return ph_host_vector;
    }
    ph_host_active = 1;
    fn(s);
    ph_host_active = 0;
    return -1;
}

static void ph_to_cpu(const struct ph_state *s, struct x86_cpu *c)
{
    for (unsigned i = 0; i < PH_NGPRS; i++)
        c->gpr[ph_gprs[i]] = s->gpr[ph_gprs[i]];
    x86_set_rflags(c, s->rflags);
    uint16_t fsw;
    memcpy(&c->fpu.fcw, &s->fx[FX_FCW], 2);
    memcpy(&fsw, &s->fx[FX_FSW], 2);
    c->fpu.top = (fsw >> 11) & 7;
    c->fpu.fsw = fsw & ~0x3800;
    c->fpu.ftw = s->fx[FX_FTW];
    for (unsigned i = 0; i < 8; i++) {
        x86_fpreg *r = &c->fpu.st[(c->fpu.top + i) & 7];
        memcpy(&r->raw.mant, &s->fx[FX_ST(i)], 8);
        memcpy(&r->raw.sign_exp, &s->fx[FX_ST(i) + 8], 2);
    }
    memcpy(&c->mxcsr, &s->fx[FX_MXCSR], 4);
    memcpy(c->xmm, &s->fx[FX_XMM(0)], 256);
}

static void ph_from_cpu(struct x86_cpu *c, struct ph_state *s)
{
    memset(s, 0, sizeof(*s));
    for (unsigned i = 0; i < PH_NGPRS; i++)
        s->gpr[ph_gprs[i]] = c->gpr[ph_gprs[i]];
    s->rflags = x86_get_rflags(c);
    uint16_t fsw = (uint16_t)(c->fpu.fsw | (c->fpu.top & 7) << 11);
    memcpy(&s->fx[FX_FCW], &c->fpu.fcw, 2);
    memcpy(&s->fx[FX_FSW], &fsw, 2);
    s->fx[FX_FTW] = c->fpu.ftw;
    for (unsigned i = 0; i < 8; i++) {
        const x86_fpreg *r = &c->fpu.st[(c->fpu.top + i) & 7];
        memcpy(&s->fx[FX_ST(i)], &r->raw.mant, 8);
        memcpy(&s->fx[FX_ST(i) + 8], &r->raw.sign_exp, 2);
    }
    memcpy(&s->fx[FX_MXCSR], &c->mxcsr, 4);
    memcpy(&s->fx[FX_XMM(0)], c->xmm, 256);
}

/* The emulator: decode the same bytes, run the op. Returns -1 or the
 * vector; *decoded tells whether decoding matched the length. */
static int ph_emu_run(const uint8_t *insn, unsigned len, const struct ph_state *in,
                      struct ph_state *out, char *why, size_t whylen)
{
    static struct x86_insn d;
    struct x86_cpu *c = ph_cpu;
    int r = x86_decode(insn, len, 1, &d);
    if (r != (int)len) {
        snprintf(why, whylen, "decode returned %d, length %u", r, len);
        return -2;
    }
    if (d.fn == x86_op_ud) {
        snprintf(why, whylen, "no op registered");
        return -2;
    }
    ph_to_cpu(in, c);
    c->rip = (uintptr_t)insn + len;
    c->cur_insn = &d;
    int vec = -1;
    if (sigsetjmp(c->exc_jmp, 0)) {
        vec = c->exc.vector;
        if (c->rip != (uintptr_t)insn)
            snprintf(why, whylen, "fault with rip %#llx, not the instruction",
                     (unsigned long long)c->rip);
    } else {
        c->in_run = true;
        ph_emu_active = 1;
        d.fn(c, &d);
        if (c->rip != (uintptr_t)insn + len)
            snprintf(why, whylen, "rip changed");
    }
    ph_emu_active = 0;
    c->in_run = false;
    c->cur_insn = NULL;
    ph_from_cpu(c, out);
    return vec;
}

/* Compare what an instruction can change; a description of the first
 * difference goes to why. */
static bool ph_same(const struct ph_state *a, const struct ph_state *b, char *why, size_t n)
{
    for (unsigned i = 0; i < PH_NGPRS; i++) {
        unsigned g = ph_gprs[i];
        if (a->gpr[g] != b->gpr[g]) {
            snprintf(why, n, "gpr %u: %#llx, want %#llx", g, (unsigned long long)a->gpr[g],
                     (unsigned long long)b->gpr[g]);
            return false;
        }
    }
    if ((a->rflags ^ b->rflags) & X86_FLAGS_ARITH) {
        snprintf(why, n, "flags %#llx, want %#llx",
                 (unsigned long long)(a->rflags & X86_FLAGS_ARITH),
                 (unsigned long long)(b->rflags & X86_FLAGS_ARITH));
        return false;
    }
    static const struct {
        unsigned off, len;
        const char *what;
    } fields[] = {{FX_FCW, 2, "fcw"},
                  {FX_FSW, 2, "fsw (with TOP)"},
                  {FX_FTW, 1, "ftw"},
                  {FX_MXCSR, 4, "mxcsr"}};
    for (unsigned i = 0; i < 4; i++) {
        if (memcmp(&a->fx[fields[i].off], &b->fx[fields[i].off], fields[i].len)) {
            uint32_t x = 0, y = 0;
            memcpy(&x, &a->fx[fields[i].off], fields[i].len);
            memcpy(&y, &b->fx[fields[i].off], fields[i].len);
            snprintf(why, n, "%s %#x, want %#x", fields[i].what, x, y);
            return false;
        }
    }
    for (unsigned i = 0; i < 8; i++) {
        if (memcmp(&a->fx[FX_ST(i)], &b->fx[FX_ST(i)], 10)) {
            uint64_t x, y;
            uint16_t xe, ye;
            memcpy(&x, &a->fx[FX_ST(i)], 8);
            memcpy(&y, &b->fx[FX_ST(i)], 8);
            memcpy(&xe, &a->fx[FX_ST(i) + 8], 2);
            memcpy(&ye, &b->fx[FX_ST(i) + 8], 2);
            snprintf(why, n, "st(%u) %04x:%016llx, want %04x:%016llx", i, xe, (unsigned long long)x,
                     ye, (unsigned long long)y);
            return false;
        }
    }
    for (unsigned i = 0; i < 16; i++) {
        if (memcmp(&a->fx[FX_XMM(i)], &b->fx[FX_XMM(i)], 16)) {
            uint64_t x[2], y[2];
            memcpy(x, &a->fx[FX_XMM(i)], 16);
            memcpy(y, &b->fx[FX_XMM(i)], 16);
            snprintf(why, n, "xmm%u %016llx%016llx, want %016llx%016llx", i,
                     (unsigned long long)x[1], (unsigned long long)x[0], (unsigned long long)y[1],
                     (unsigned long long)y[0]);
            return false;
        }
    }
    return true;
}

static bool ph_same_mem(const uint8_t *a, const uint8_t *b, char *why, size_t n)
{
    if (!memcmp(a, b, 2 * PH_PAGE))
        return true;
    for (unsigned i = 0; i < 2 * PH_PAGE; i++) {
        if (a[i] != b[i]) {
            snprintf(why, n, "memory at page offset %#x: %02x, want %02x", i, a[i], b[i]);
            return false;
        }
    }
    return true;
}

/* One iteration of one case; false (with why) on a difference. */
static bool ph_iteration(const struct ph_case *tc, unsigned pos_mode, char *why, size_t n)
{
    uint8_t insn[16];
    unsigned len = (unsigned)(tc->end - tc->start);
    memcpy(insn, tc->start, len);
    if (tc->flags & (PH_IMM | PH_SHIMM))
        insn[len - 1] = ph_imm8(tc->flags);

    struct ph_state in, host, emu;
    ph_random_state(&in, tc->flags, pos_mode);
    memcpy(ph_mem_in, ph_mem, sizeof(ph_mem_in));

    host = in;
    int hv = ph_host_run(insn, len, &host);
    memcpy(ph_mem_host, ph_mem, sizeof(ph_mem_host));
    memcpy(ph_mem, ph_mem_in, sizeof(ph_mem_in));

    why[0] = 0;
    int ev = ph_emu_run(insn, len, &in, &emu, why, n);
    if (ev == -2)
        return false;
    if (why[0])
        return false;
    if (ev != hv) {
        snprintf(why, n, "exception %d, host %d", ev, hv);
        return false;
    }
    if (hv >= 0) {
        /* Precise: nothing changed. */
        if (!ph_same(&emu, &in, why, n) || !ph_same_mem(ph_mem, ph_mem_in, why, n)) {
            size_t l = strlen(why);
            snprintf(why + l, n - l, " (after exception %d)", ev);
            return false;
        }
        if (hv == X86_EXC_PF && ph_cpu->exc.addr != (uintptr_t)ph_host_addr) {
            snprintf(why, n, "#PF at %#llx, host at %p", (unsigned long long)ph_cpu->exc.addr,
                     ph_host_addr);
            return false;
        }
        return true;
    }
    return ph_same(&emu, &host, why, n) && ph_same_mem(ph_mem, ph_mem_host, why, n);
}

/* Run every case of a table; fails the test listing what differed. */
static void ph_run_cases(const struct ph_case *cases, unsigned ncases)
{
    unsigned bad = 0, skipped = 0;
    ph_signals();
    for (unsigned k = 0; k < ncases; k++) {
        const struct ph_case *tc = &cases[k];
        if (!ph_host_has(tc->flags)) {
            skipped++;
            continue;
        }
        for (unsigned it = 0; it < PH_ITERS; it++) {
            /* Mostly plain runs; some misaligned, at the guard page, or
             * with an x87 exception pending. */
            unsigned pos_mode = it % 16 == 5 ? 1 : it % 16 == 9 ? 2 : it % 16 == 13 ? 3 : 0;
            if (pos_mode == 2 && (tc->flags & PH_AMD) && !ph_host_is_amd())
                pos_mode = 0;
            char why[200];
            if (!ph_iteration(tc, pos_mode, why, sizeof(why))) {
                unsigned len = (unsigned)(tc->end - tc->start);
                char bytes[64] = "";
                for (unsigned i = 0; i < len && i < 15; i++)
                    snprintf(bytes + 3 * i, sizeof(bytes) - 3 * i, "%02x ", tc->start[i]);
                print_error("%s [%s] iteration %u (mode %u): %s\n", tc->name, bytes, it, pos_mode,
                            why);
                bad++;
                break;
            }
        }
    }
    if (skipped)
        print_message("# %u cases skipped: host lacks the feature\n", skipped);
    if (bad)
        fail_msg("%u of %u cases differ from the host", bad, ncases);
}

static const struct ph_case *ph_find(const struct ph_case *cases, unsigned n, const char *name)
{
    for (unsigned i = 0; i < n; i++) {
        if (!strcmp(cases[i].name, name))
            return &cases[i];
    }
    fail_msg("no case %s", name);
    return NULL;
}

/* Run the instruction of a case on ph_cpu as it is (for tests that set up
 * and check the state themselves): -1, or the exception vector. */
static int ph_exec(const struct ph_case *tc)
{
    static struct x86_insn d;
    unsigned len = (unsigned)(tc->end - tc->start);
    if (x86_decode(tc->start, len, 1, &d) != (int)len)
        fail_msg("%s: decode failed", tc->name);
    struct x86_cpu *c = ph_cpu;
    ph_signals();
    c->rip = (uintptr_t)tc->start + len;
    c->cur_insn = &d;
    int vec = -1;
    if (sigsetjmp(c->exc_jmp, 0)) {
        vec = c->exc.vector;
    } else {
        c->in_run = true;
        ph_emu_active = 1;
        d.fn(c, &d);
    }
    ph_emu_active = 0;
    c->in_run = false;
    c->cur_insn = NULL;
    return vec;
}

#endif
