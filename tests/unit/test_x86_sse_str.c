/* SSE4.2 string and CRC ops (sse_str.c) against the host CPU:
 * PCMPESTRI/PCMPESTRM/PCMPISTRI/PCMPISTRM for every imm8 (all 256, bit 7
 * included) with random and structured inputs, explicit lengths in and out
 * of range (negative, saturating, 64-bit with REX.W), register and
 * unaligned memory operands, the results (RCX, XMM0) and all six
 * arithmetic flags; CRC32 for every source size. */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "x86_flow_harness.h"

H_FAMILY(sse_str)
#define T h_ops_sse_str

#define ARITH X86_FLAGS_ARITH

/* --- the host side --- */

/* Inputs of one PCMPxSTRx: xmm1 = a, xmm2 = b, RAX, RDX, RFLAGS. */
struct host_in {
    x86_xmm a, b;
    uint64_t rax, rdx, fin;
};

/* What one variant leaves: RCX, RFLAGS, XMM0. */
struct host_out {
    uint64_t rcx, flags;
    x86_xmm xmm0;
};

/* The six variants run per imm8, in this order. */
enum { V_ESTRM, V_ESTRI, V_ESTRM_W, V_ESTRI_W, V_ISTRM, V_ISTRI, NVAR };
static const struct {
    uint8_t op;
    bool rexw;
} variants[NVAR] = {{0x60, false}, {0x61, false}, {0x60, true},
                    {0x61, true},  {0x62, false}, {0x63, false}};

/* One variant: `pfx` is "" or ", 0x48" (REX.W). The operands are xmm1 and
 * xmm2 (ModRM CA); RCX and XMM0 start as garbage so that partial writes
 * show. */
#define HOST_VARIANT(pfx, op, ib_, in, out)                                                        \
    __asm__ volatile("movdqu 0(%[i]), %%xmm1\n\t"                                                  \
                     "movdqu 16(%[i]), %%xmm2\n\t"                                                 \
                     "pcmpeqb %%xmm0, %%xmm0\n\t"                                                  \
                     "mov 32(%[i]), %%rax\n\t"                                                     \
                     "mov 40(%[i]), %%rdx\n\t"                                                     \
                     "mov $-0x5a5a5a5a5a5a5a5b, %%rcx\n\t"                                         \
                     "lea -128(%%rsp), %%rsp\n\t"                                                  \
                     "pushq 48(%[i])\n\t"                                                          \
                     "popfq\n\t"                                                                   \
                     ".byte 0x66" pfx ", 0x0f, 0x3a, " #op ", 0xca, %c[ib]\n\t"                    \
                     "pushfq\n\t"                                                                  \
                     "popq 8(%[o])\n\t"                                                            \
                     "lea 128(%%rsp), %%rsp\n\t"                                                   \
                     "mov %%rcx, 0(%[o])\n\t"                                                      \
                     "movdqu %%xmm0, 16(%[o])"                                                     \
                     :                                                                             \
                     : [i] "r"(in), [o] "r"(out), [ib] "i"(ib_)                                    \
                     : "rax", "rcx", "rdx", "xmm0", "xmm1", "xmm2", "cc", "memory")

#define HOST_FN(imm)                                                                               \
    static void host_pcmp_##imm(const struct host_in *in, struct host_out *out)                    \
    {                                                                                              \
        HOST_VARIANT("", 0x60, imm, in, &out[V_ESTRM]);                                            \
        HOST_VARIANT("", 0x61, imm, in, &out[V_ESTRI]);                                            \
        HOST_VARIANT(", 0x48", 0x60, imm, in, &out[V_ESTRM_W]);                                    \
        HOST_VARIANT(", 0x48", 0x61, imm, in, &out[V_ESTRI_W]);                                    \
        HOST_VARIANT("", 0x62, imm, in, &out[V_ISTRM]);                                            \
        HOST_VARIANT("", 0x63, imm, in, &out[V_ISTRI]);                                            \
    }
#define HOST_REF(imm) host_pcmp_##imm,

#define HEX16(m, h)                                                                                \
    m(h##0) m(h##1) m(h##2) m(h##3) m(h##4) m(h##5) m(h##6) m(h##7) m(h##8) m(h##9) m(h##a)        \
        m(h##b) m(h##c) m(h##d) m(h##e) m(h##f)
#define HEX64_0(m) HEX16(m, 0x0) HEX16(m, 0x1) HEX16(m, 0x2) HEX16(m, 0x3)
#define HEX64_4(m) HEX16(m, 0x4) HEX16(m, 0x5) HEX16(m, 0x6) HEX16(m, 0x7)
#define HEX64_8(m) HEX16(m, 0x8) HEX16(m, 0x9) HEX16(m, 0xa) HEX16(m, 0xb)
#define HEX64_C(m) HEX16(m, 0xc) HEX16(m, 0xd) HEX16(m, 0xe) HEX16(m, 0xf)
#define HEX256(m)  HEX64_0(m) HEX64_4(m) HEX64_8(m) HEX64_C(m)

HEX256(HOST_FN)
typedef void host_pcmp_fn(const struct host_in *in, struct host_out *out);
static host_pcmp_fn *const host_pcmp[256] = {HEX256(HOST_REF)};

/* --- the emulator side --- */

static uint64_t rng = 0x2545f4914f6cdd1dULL;

static uint64_t rnd(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

/* An SSE-style instruction (reg form: rm a register; mem: [base + disp]). */
static struct x86_insn sse_insn(unsigned map, unsigned op, unsigned pfx, unsigned reg, unsigned rm,
                                int mem, int32_t disp)
{
    struct x86_insn in;
    memset(&in, 0, sizeof(in));
    in.fn = h_find(T, map, op, pfx, -1, mem);
    assert_non_null(in.fn);
    in.map = (uint8_t)map;
    in.opcode = (uint8_t)op;
    in.osz = 2;
    in.asz = 3;
    in.len = 6;
    in.seg = X86_DS;
    in.reg = (uint8_t)reg;
    in.rm = (uint8_t)rm;
    in.index = X86_NO_REG;
    in.flags = X86_I_MODRM | (mem ? X86_I_MEM : 0);
    in.disp = disp;
    return in;
}

static const x86_xmm garbage = {.u64 = {0xa5a5a5a5a5a5a5a5ULL, 0x5a5a5a5a5a5a5a5aULL}};

/* Run one variant in the emulator with xmm `ra` = a and b in xmm `rb`, or
 * in memory at bmem when it is not NULL (only what is below `bend` is
 * written there). */
static int emu_pcmp(struct x86_cpu *cpu, unsigned v, unsigned imm, const struct host_in *hin,
                    unsigned ra, unsigned rb, uint8_t *bmem, const uint8_t *bend,
                    struct host_out *out)
{
    struct x86_insn in = sse_insn(X86_MAP_0F3A, variants[v].op, X86_PFX_66, ra, bmem ? X86_RSI : rb,
                                  bmem != NULL, 0);
    in.imm = imm;
    if (variants[v].rexw) {
        in.flags |= X86_I_REXW;
        in.osz = 3;
    }
    cpu->xmm[ra] = hin->a;
    if (bmem) {
        memcpy(bmem, &hin->b, bend && bend - bmem < 16 ? (size_t)(bend - bmem) : 16);
        cpu->gpr[X86_RSI] = (uintptr_t)bmem;
    } else {
        cpu->xmm[rb] = hin->b;
    }
    cpu->xmm[0] = garbage;
    cpu->gpr[X86_RAX] = hin->rax;
    cpu->gpr[X86_RDX] = hin->rdx;
    cpu->gpr[X86_RCX] = 0xa5a5a5a5a5a5a5a5ULL;
    x86_flags_set(cpu, hin->fin & ARITH);
    int r = h_exec(cpu, &in);
    out->rcx = cpu->gpr[X86_RCX];
    out->flags = x86_flags_eval(cpu);
    out->xmm0 = cpu->xmm[0];
    return r;
}

static void describe(const char *what, unsigned v, unsigned imm, const struct host_in *in)
{
    print_error("%s: op %02x%s imm %02x rax %llx rdx %llx\n  a:", what, variants[v].op,
                variants[v].rexw ? " rex.w" : "", imm, (unsigned long long)in->rax,
                (unsigned long long)in->rdx);
    for (int i = 0; i < 16; i++)
        print_error(" %02x", in->a.u8[i]);
    print_error("\n  b:");
    for (int i = 0; i < 16; i++)
        print_error(" %02x", in->b.u8[i]);
    print_error("\n");
}

/* Compare all six variants of one imm8 and input with the host. */
static void check_case(struct x86_cpu *cpu, unsigned imm, const struct host_in *in, uint8_t *bmem)
{
    struct host_out host[NVAR], emu;
    host_pcmp[imm](in, host);
    for (unsigned v = 0; v < NVAR; v++) {
        unsigned ra = 1, rb = 2;
        if (v == V_ISTRI) { /* high registers too */
            ra = 9;
            rb = 15;
        }
        assert_int_equal(emu_pcmp(cpu, v, imm, in, ra, rb, bmem, NULL, &emu), H_NOFAULT);
        bool is_index = variants[v].op & 1;
        bool bad = (emu.flags & ARITH) != (host[v].flags & ARITH);
        if (is_index)
            bad |= emu.rcx != host[v].rcx;
        else
            bad |= memcmp(&emu.xmm0, &host[v].xmm0, 16) != 0 || emu.rcx != 0xa5a5a5a5a5a5a5a5ULL;
        if (bad) {
            describe(bmem ? "memory form" : "register form", v, imm, in);
            fail_msg("emu rcx %llx flags %03llx xmm0 %016llx%016llx; host rcx %llx flags %03llx "
                     "xmm0 %016llx%016llx",
                     (unsigned long long)emu.rcx, (unsigned long long)(emu.flags & ARITH),
                     (unsigned long long)emu.xmm0.u64[1], (unsigned long long)emu.xmm0.u64[0],
                     (unsigned long long)host[v].rcx, (unsigned long long)(host[v].flags & ARITH),
                     (unsigned long long)host[v].xmm0.u64[1],
                     (unsigned long long)host[v].xmm0.u64[0]);
        }
    }
}

/* Bytes from a small alphabet (so that matches, ranges and nulls happen),
 * with signed/unsigned differences (0x80, 0xff) and word halves. */
static uint8_t rnd_byte(void)
{
    static const uint8_t alphabet[] = {0, 'a', 'b', 'c', 'z', 0x80, 0xff, 0x7f, 1, 'a', 'b', 0};
    uint64_t r = rnd();
    return r & 0x100 ? (uint8_t)r : alphabet[(r >> 16) % sizeof(alphabet)];
}

static void rnd_xmm(x86_xmm *v, bool nulls)
{
    for (int i = 0; i < 16; i++) {
        v->u8[i] = rnd_byte();
        if (!nulls && !v->u8[i])
            v->u8[i] = 'a';
    }
}

static const uint64_t lengths[] = {
    0,
    1,
    5,
    7,
    8,
    9,
    15,
    16,
    17,
    100,
    (uint64_t)-1,
    (uint64_t)-7,
    (uint64_t)-8,
    (uint64_t)-9,
    (uint64_t)-16,
    (uint64_t)-17,
    0x7fffffff,
    0x80000000,            /* INT32_MIN: saturates */
    0x0000000100000003ULL, /* 3 without REX.W, huge with it */
    0xffffffff00000002ULL, /* 2 without REX.W, negative with it */
    0x00000000fffffffaULL, /* -6 without REX.W, huge with it */
    0x8000000000000000ULL, /* INT64_MIN */
    0x7fffffffffffffffULL,
};
#define NLEN (sizeof(lengths) / sizeof(lengths[0]))

static uint64_t rnd_len(void)
{
    uint64_t r = rnd();
    if (r & 1)
        return lengths[(r >> 8) % NLEN];
    return (uint64_t)((int64_t)((r >> 8) % 41) - 20);
}

static void rnd_case(struct host_in *in)
{
    rnd_xmm(&in->a, rnd() & 1);
    rnd_xmm(&in->b, rnd() & 1);
    in->rax = rnd_len();
    in->rdx = rnd_len();
    in->fin = 0x202 | (rnd() & ARITH);
}

static void test_pcmpstr_random(void **state)
{
    (void)state;
    struct x86_cpu *cpu = h_new_cpu();
    struct host_in in;
    for (unsigned imm = 0; imm < 256; imm++) {
        for (int k = 0; k < 24; k++) {
            rnd_case(&in);
            check_case(cpu, imm, &in, NULL);
        }
    }
    h_free_cpu(cpu);
}

/* Strings as glibc's strlen, strchr, strcmp, strstr, strspn feed them: a
 * text with a null at every position, needles and sets of every length. */
static void test_pcmpstr_structured(void **state)
{
    (void)state;
    struct x86_cpu *cpu = h_new_cpu();
    static const char text[] = "hello, world: abcabcab";
    static const char *const needles[] = {"",    "l",      "lo",
                                          "abc", "cab",    "ab",
                                          "b",   "zz",     "hello, world: ab",
                                          "az",  "AZaz09", "d: abcabcabXYZ"};
    /* The common modes: equal any / ranges / equal each / equal ordered,
     * bytes and words, signed, negative and masked polarities, MSB. */
    static const uint8_t imms[] = {0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x08, 0x09, 0x0a,
                                   0x0c, 0x0d, 0x0e, 0x10, 0x14, 0x18, 0x1a, 0x30, 0x34, 0x38,
                                   0x3a, 0x3c, 0x40, 0x44, 0x48, 0x4c, 0x58, 0x70, 0x7c, 0x7e};
    struct host_in in;
    for (size_t nd = 0; nd < sizeof(needles) / sizeof(needles[0]); nd++) {
        for (unsigned nul = 0; nul <= 16; nul++) {
            memset(&in, 0, sizeof(in));
            memcpy(&in.a, needles[nd], strlen(needles[nd]));
            memcpy(&in.b, text, 16);
            if (nul < 16)
                in.b.u8[nul] = 0; /* embedded null: b ends here (implicit) */
            in.rax = strlen(needles[nd]);
            in.rdx = nul;
            in.fin = nul & 1 ? 0x202 | ARITH : 0x202;
            for (size_t k = 0; k < sizeof(imms); k++)
                check_case(cpu, imms[k], &in, NULL);
        }
    }
    /* Every length pair 0..17 and their negatives for a few modes. */
    rnd_case(&in);
    for (int la = -17; la <= 17; la++) {
        for (int lb = -17; lb <= 17; lb++) {
            in.rax = (uint64_t)(int64_t)la;
            in.rdx = (uint64_t)(int64_t)lb;
            check_case(cpu, 0x0c, &in, NULL);
            check_case(cpu, 0x39, &in, NULL);
            check_case(cpu, 0x44, &in, NULL);
        }
    }
    h_free_cpu(cpu);
}

/* The memory operand: unaligned, anywhere up to the end of a page, and a
 * #PF past it leaves RCX, XMM0 and the flags untouched. */
static void test_pcmpstr_memory(void **state)
{
    (void)state;
    struct x86_cpu *cpu = h_new_cpu();
    uint8_t *page = h_pages(1, 1, 0);
    struct host_in in;
    for (unsigned k = 0; k < 400; k++) {
        rnd_case(&in);
        unsigned off = k % 17 == 0 ? H_PAGE - 16 : (unsigned)(rnd() % (H_PAGE - 16));
        check_case(cpu, (unsigned)rnd() & 0xff, &in, page + off);
    }

    rnd_case(&in);
    for (unsigned v = 0; v < NVAR; v++) {
        struct host_out out;
        int r = emu_pcmp(cpu, v, 0x0c, &in, 3, 4, page + H_PAGE - 15, page + H_PAGE, &out);
        assert_int_equal(r, X86_EXC_PF);
        assert_int_equal(cpu->exc.addr, (uintptr_t)(page + H_PAGE));
        assert_int_equal(out.rcx, 0xa5a5a5a5a5a5a5a5ULL);
        assert_memory_equal(&out.xmm0, &garbage, 16);
        assert_int_equal(out.flags & ARITH, in.fin & ARITH);
    }
    munmap(page, 2 * H_PAGE);
    h_free_cpu(cpu);
}

/* --- CRC32 --- */

static uint64_t host_crc32(unsigned kind, uint64_t d, uint64_t s)
{
    switch (kind) {
    case 0:
        __asm__("crc32b %b1, %k0" : "+r"(d) : "r"(s));
        break;
    case 1:
        __asm__("crc32w %w1, %k0" : "+r"(d) : "r"(s));
        break;
    case 2:
        __asm__("crc32l %k1, %k0" : "+r"(d) : "r"(s));
        break;
    case 3:
        __asm__("crc32q %1, %0" : "+r"(d) : "r"(s));
        break;
    default:
        __asm__("crc32b %b1, %0" : "+r"(d) : "r"(s)); /* REX.W F0: r64, r/m8 */
        break;
    }
    return d;
}

/* kind: 0-3 the source size (F0 for bytes, F1 else), 4: F0 with REX.W. */
static struct x86_insn crc_insn(unsigned kind, int mem)
{
    struct x86_insn in = sse_insn(X86_MAP_0F38, kind == 0 || kind == 4 ? 0xf0 : 0xf1, X86_PFX_F2,
                                  X86_R10, mem ? X86_RDI : X86_RBX, mem, 0);
    in.osz = kind == 0 ? 2 : kind == 4 ? 3 : (uint8_t)kind;
    if (kind >= 3)
        in.flags |= X86_I_REXW;
    if (kind == 1)
        in.flags |= X86_I_OPSIZE;
    return in;
}

static void test_crc32(void **state)
{
    (void)state;
    struct x86_cpu *cpu = h_new_cpu();
    uint8_t buf[16];
    for (unsigned k = 0; k < 4000; k++) {
        unsigned kind = k % 5;
        uint64_t d = rnd(), s = rnd();
        if (k % 7 == 0)
            d &= 0xffffffff;
        uint64_t want = host_crc32(kind, d, s);
        for (int mem = 0; mem < 2; mem++) {
            struct x86_insn in = crc_insn(kind, mem);
            cpu->gpr[X86_R10] = d;
            cpu->gpr[X86_RBX] = s;
            memcpy(buf + 3, &s, 8);
            cpu->gpr[X86_RDI] = (uintptr_t)(buf + 3);
            cpu->rflags = 0x202 | ARITH;
            cpu->cc_op = X86_CC_FLAGS;
            assert_int_equal(h_exec(cpu, &in), H_NOFAULT);
            if (cpu->gpr[X86_R10] != want)
                fail_msg("crc32 kind %u mem %d: d %llx s %llx: emu %llx host %llx", kind, mem,
                         (unsigned long long)d, (unsigned long long)s,
                         (unsigned long long)cpu->gpr[X86_R10], (unsigned long long)want);
            assert_int_equal(x86_flags_eval(cpu) & ARITH, ARITH); /* flags untouched */
        }
    }
    /* CRC32 r32, AH (no REX): the high byte register. */
    struct x86_insn in = crc_insn(0, 0);
    in.rm = X86_AH + 0;
    cpu->gpr[X86_RAX] = 0x1234;
    cpu->gpr[X86_R10] = 0xffffffff;
    h_exec(cpu, &in);
    assert_int_equal(cpu->gpr[X86_R10], host_crc32(0, 0xffffffff, 0x12));
    /* A known value: CRC-32C of "123456789" is 0xe3069283 (with the
     * customary pre- and post-inversion around the instruction). */
    static const char digits[] = "123456789";
    uint64_t crc = 0xffffffff;
    in = crc_insn(0, 1);
    for (int i = 0; i < 9; i++) {
        cpu->gpr[X86_R10] = crc;
        cpu->gpr[X86_RDI] = (uintptr_t)&digits[i];
        h_exec(cpu, &in);
        crc = cpu->gpr[X86_R10];
    }
    assert_int_equal(crc ^ 0xffffffff, 0xe3069283);
    h_free_cpu(cpu);
}

/* Real encodings through the decoder: the prefixes pick the source size
 * (66, REX.W), ModRM the registers (BH without REX, DIL with it), and
 * PCMPxSTRx decode with their imm8. */
static void test_decoded(void **state)
{
    (void)state;
    struct x86_cpu *cpu = h_new_cpu();
    static const struct {
        uint8_t bytes[8];
        unsigned len, kind; /* kind as host_crc32 */
        uint64_t src;       /* the source value the encoding names */
    } enc[] = {
        {{0xf2, 0x0f, 0x38, 0xf0, 0xc3}, 5, 0, 0x1122334455667788ULL},       /* eax, bl */
        {{0xf2, 0x0f, 0x38, 0xf0, 0xc7}, 5, 0, 0x1122334455667788ULL >> 8},  /* eax, bh */
        {{0xf2, 0x40, 0x0f, 0x38, 0xf0, 0xc7}, 6, 0, 0x99},                  /* eax, dil */
        {{0x66, 0xf2, 0x0f, 0x38, 0xf1, 0xc3}, 6, 1, 0x1122334455667788ULL}, /* eax, bx */
        {{0xf2, 0x0f, 0x38, 0xf1, 0xc3}, 5, 2, 0x1122334455667788ULL},       /* eax, ebx */
        {{0xf2, 0x48, 0x0f, 0x38, 0xf1, 0xc3}, 6, 3, 0x1122334455667788ULL}, /* rax, rbx */
        {{0x66, 0xf2, 0x48, 0x0f, 0x38, 0xf1, 0xc3}, 7, 3, 0x1122334455667788ULL},
        {{0xf2, 0x48, 0x0f, 0x38, 0xf0, 0xc3}, 6, 4, 0x1122334455667788ULL}, /* rax, bl */
    };
    for (size_t i = 0; i < sizeof(enc) / sizeof(enc[0]); i++) {
        struct x86_insn in;
        assert_int_equal(x86_decode(enc[i].bytes, enc[i].len, 1, &in), (int)enc[i].len);
        assert_ptr_equal(in.fn,
                         h_find(T, X86_MAP_0F38, enc[i].bytes[enc[i].len - 2], X86_PFX_F2, -1, 0));
        cpu->gpr[X86_RAX] = 0xdeadbeefcafef00dULL;
        cpu->gpr[X86_RBX] = 0x1122334455667788ULL;
        cpu->gpr[X86_RDI] = 0x99;
        assert_int_equal(h_exec(cpu, &in), H_NOFAULT);
        uint64_t want = host_crc32(enc[i].kind, 0xdeadbeefcafef00dULL, enc[i].src);
        if (cpu->gpr[X86_RAX] != want)
            fail_msg("encoding %zu: %llx, host %llx", i, (unsigned long long)cpu->gpr[X86_RAX],
                     (unsigned long long)want);
    }

    /* pcmpistri xmm1, xmm2, 0x0c (66 0F 3A 63 CA 0C): strstr's mode. */
    static const uint8_t istri[] = {0x66, 0x0f, 0x3a, 0x63, 0xca, 0x0c};
    struct x86_insn in;
    assert_int_equal(x86_decode(istri, sizeof(istri), 1, &in), 6);
    memset(&cpu->xmm[1], 0, 16);
    memcpy(&cpu->xmm[1], "lo,", 3);
    memcpy(&cpu->xmm[2], "hello, world!!!!", 16);
    assert_int_equal(h_exec(cpu, &in), H_NOFAULT);
    assert_int_equal(cpu->gpr[X86_RCX], 3);
    assert_int_equal(x86_flags_eval(cpu) & ARITH, X86_FLAG_CF | X86_FLAG_SF);
    h_free_cpu(cpu);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pcmpstr_random), cmocka_unit_test(test_pcmpstr_structured),
        cmocka_unit_test(test_pcmpstr_memory), cmocka_unit_test(test_crc32),
        cmocka_unit_test(test_decoded),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
