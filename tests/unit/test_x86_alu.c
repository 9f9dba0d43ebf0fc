/* alu.c and flags.c against the host CPU: ADD OR ADC SBB AND SUB XOR CMP in
 * every form, TEST, INC DEC NEG NOT, XADD, CMPXCHG, CMPXCHG8B/16B, LOCK
 * forms (also under contention), the lazy-flag readers, and a rough timing
 * of x86_cond.
 */
#define _GNU_SOURCE /* REG_ERR */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <pthread.h>
#include <signal.h>
#include <sys/mman.h>
#include <time.h>
#include <ucontext.h>

#include "x86_host.h"

HOST2_SIZES(h_add, "add")
HOST2_SIZES(h_or, "or")
HOST2_SIZES(h_adc, "adc")
HOST2_SIZES(h_sbb, "sbb")
HOST2_SIZES(h_and, "and")
HOST2_SIZES(h_sub, "sub")
HOST2_SIZES(h_xor, "xor")
HOST2_SIZES(h_cmp, "cmp")
HOST2_SIZES(h_test, "test")
HOST1_SIZES(h_inc, "inc")
HOST1_SIZES(h_dec, "dec")
HOST1_SIZES(h_neg, "neg")
HOST1_SIZES(h_not, "not")

static host2_fn *const *const alu_host[8] = {h_add, h_or, h_adc, h_sbb, h_and, h_sub, h_xor, h_cmp};
static const char *const alu_name[8] = {"add", "or", "adc", "sbb", "and", "sub", "xor", "cmp"};

/* Flags to compare: AF is undefined after logic ops (AMD clears it, as we
 * do). */
static uint64_t logic_mask(void)
{
    return host_is_amd() ? ARITH : ARITH & ~AF;
}

static uint64_t alu_mask(unsigned k)
{
    return (k == 1 || k == 4 || k == 6) ? logic_mask() : ARITH;
}

enum form { F_EG, F_GE, F_AI, F_EI80, F_EI81, F_EI83, F_NFORMS };
enum mode { M_REG, M_MEM, M_LOCK };

static uint8_t buf[64] __attribute__((aligned(16)));
#define BUF_FILL 0xa5

static void buf_reset(void)
{
    memset(buf, BUF_FILL, sizeof(buf));
}

/* The operand bytes at buf + off hold the low bytes of want; the rest of
 * buf is untouched. */
static void check_buf(unsigned off, unsigned osz, uint64_t want, const char *what)
{
    unsigned n = 1u << osz;
    for (unsigned i = 0; i < sizeof(buf); i++) {
        uint8_t exp = (i >= off && i < off + n) ? (uint8_t)(want >> (8 * (i - off))) : BUF_FILL;
        if (buf[i] != exp)
            fail_msg("%s: memory byte %u is %02x, expected %02x", what, i, buf[i], exp);
    }
}

static bool form_valid(enum form f, unsigned osz)
{
    if (f == F_EI80)
        return osz == 0;
    if (f == F_EI81 || f == F_EI83)
        return osz != 0;
    return true;
}

/* The immediate the decoder hands over (sign-extended to 64 bits). */
static int64_t form_imm(enum form f, unsigned osz, uint64_t s)
{
    if (f == F_EI80 || f == F_EI83 || osz == 0)
        return (int8_t)s;
    if (osz == 1)
        return (int16_t)s;
    return (int32_t)s;
}

static unsigned form_opcode(enum form f, unsigned k, unsigned osz)
{
    switch (f) {
    case F_EG:
        return 8 * k + (osz != 0);
    case F_GE:
        return 8 * k + 2 + (osz != 0);
    case F_AI:
        return 8 * k + 4 + (osz != 0);
    case F_EI80:
        return 0x80;
    case F_EI81:
        return 0x81;
    default:
        return 0x83;
    }
}

/* One ALU instruction in one form/mode, against the host. */
static void alu_one(unsigned k, enum form f, enum mode mode, unsigned osz, uint64_t d, uint64_t s,
                    uint64_t fin)
{
    unsigned opc = form_opcode(f, k, osz), off = (unsigned)(d & 7);
    bool imm_form = f >= F_AI, dst_rm = f == F_EG || f >= F_EI80;
    int64_t imm = imm_form ? form_imm(f, osz, s) : 0;
    uint64_t src = imm_form ? (uint64_t)imm : s, hd = d, hf;
    char what[96];
    struct x86_insn in;

    hf = alu_host[k][osz](&hd, src, fin);
    snprintf(what, sizeof(what), "%s osz %u form %d mode %d d %llx s %llx fin %llx", alu_name[k],
             osz, f, mode, (unsigned long long)d, (unsigned long long)s, (unsigned long long)fin);

    if (mode == M_REG || f == F_AI) {
        in = insn_reg(X86_MAP_PRIMARY, opc, osz, dst_rm ? X86_RCX : X86_RAX,
                      dst_rm ? X86_RAX : X86_RCX);
    } else {
        in = insn_mem(X86_MAP_PRIMARY, opc, osz, dst_rm ? X86_RCX : X86_RAX, X86_RBX, (int)off);
        if (mode == M_LOCK)
            in.flags |= X86_I_LOCK;
        buf_reset();
        memcpy(buf + off, dst_rm ? &d : &s, 1u << osz);
        cpu->gpr[X86_RBX] = (uint64_t)(uintptr_t)buf;
    }
    in.imm = imm;
    cpu->gpr[X86_RAX] = d;
    cpu->gpr[X86_RCX] = s;
    set_flags(fin);
    run_op(find_op(x86_ops_alu, X86_MAP_PRIMARY, opc, X86_PFX_NONE, k, in.flags & X86_I_MEM), &in);

    if (in.flags & X86_I_MEM && dst_rm) {
        check_buf(off, osz, hd, what);
        if (cpu->gpr[X86_RAX] != d || cpu->gpr[X86_RCX] != s)
            fail_msg("%s: registers changed", what);
    } else {
        if (cpu->gpr[X86_RAX] != hd)
            fail_msg("%s: result %llx, host %llx", what, (unsigned long long)cpu->gpr[X86_RAX],
                     (unsigned long long)hd);
        if (cpu->gpr[X86_RCX] != s)
            fail_msg("%s: source changed", what);
        if (in.flags & X86_I_MEM)
            check_buf(off, osz, s, what);
    }
    check_flags(hf, alu_mask(k), what);
}

static void test_alu_forms(void **state)
{
    (void)state;
    for (unsigned k = 0; k < 8; k++)
        for (enum form f = 0; f < F_NFORMS; f++)
            for (unsigned osz = 0; osz < 4; osz++) {
                if (!form_valid(f, osz))
                    continue;
                for (unsigned i = 0; i < N_EDGE; i++)
                    for (unsigned j = 0; j < N_EDGE; j++)
                        for (unsigned fi = 0; fi < N_FLAGIN; fi++)
                            alu_one(k, f, M_REG, osz, edge_values[i], edge_values[j],
                                    flag_inputs[fi]);
                for (int n = 0; n < 300; n++) {
                    uint64_t d = rnd_value(), s = rnd_value(), fin = flag_inputs[rnd() & 3];
                    alu_one(k, f, M_REG, osz, d, s, fin);
                    if (f == F_AI)
                        continue;
                    alu_one(k, f, M_MEM, osz, d, s, fin);
                    if (k != 7 && f != F_GE)
                        alu_one(k, f, M_LOCK, osz, d, s, fin);
                }
            }
}

/* 8-bit forms on AH..BH (the decoder's X86_AH numbering). */
#define HOST_HIGH(fname, text)                                                                     \
    static uint64_t fname(uint64_t *d, uint64_t s, uint64_t fin)                                   \
    {                                                                                              \
        uint64_t dv = *d, f;                                                                       \
        __asm__ volatile(HOST_PRE text HOST_POST                                                   \
                         : [d] "+&Q"(dv), [fout] "=&r"(f)                                          \
                         : [s] "Q"(s), [fin] "r"(fin)                                              \
                         : "cc");                                                                  \
        *d = dv;                                                                                   \
        return f;                                                                                  \
    }
HOST_HIGH(h_add_hh, "add %h[s], %h[d]")
HOST_HIGH(h_sub_hl, "sub %b[s], %h[d]")
HOST_HIGH(h_xor_lh, "xor %h[s], %b[d]")

static void test_alu_high_bytes(void **state)
{
    (void)state;
    for (int n = 0; n < 2000; n++) {
        uint64_t d = rnd(), s = rnd(), fin = flag_inputs[n & 3], hd, hf;
        struct x86_insn in;

        /* add ah, bh: 00 /r with reg = BH, rm = AH */
        hd = d;
        hf = h_add_hh(&hd, s, fin);
        in = insn_reg(X86_MAP_PRIMARY, 0x00, 0, X86_AH + X86_RBX, X86_AH + X86_RAX);
        cpu->gpr[X86_RAX] = d;
        cpu->gpr[X86_RBX] = s;
        set_flags(fin);
        run_op(find_op(x86_ops_alu, 0, 0x00, X86_PFX_NONE, 0, false), &in);
        assert_int_equal(cpu->gpr[X86_RAX], hd);
        assert_int_equal(cpu->gpr[X86_RBX], s);
        check_flags(hf, ARITH, "add ah, bh");

        /* sub ah, bl: 2A /r with reg = AH, rm = BL */
        hd = d;
        hf = h_sub_hl(&hd, s, fin);
        in = insn_reg(X86_MAP_PRIMARY, 0x2a, 0, X86_AH + X86_RAX, X86_RBX);
        cpu->gpr[X86_RAX] = d;
        cpu->gpr[X86_RBX] = s;
        set_flags(fin);
        run_op(find_op(x86_ops_alu, 0, 0x2a, X86_PFX_NONE, 0, false), &in);
        assert_int_equal(cpu->gpr[X86_RAX], hd);
        check_flags(hf, ARITH, "sub ah, bl");

        /* xor al, bh: 30 /r with reg = BH, rm = AL */
        hd = d;
        hf = h_xor_lh(&hd, s, fin);
        in = insn_reg(X86_MAP_PRIMARY, 0x30, 0, X86_AH + X86_RBX, X86_RAX);
        cpu->gpr[X86_RAX] = d;
        cpu->gpr[X86_RBX] = s;
        set_flags(fin);
        run_op(find_op(x86_ops_alu, 0, 0x30, X86_PFX_NONE, 0, false), &in);
        assert_int_equal(cpu->gpr[X86_RAX], hd);
        check_flags(hf, logic_mask(), "xor al, bh");
    }
}

/* TEST in its three shapes: 84/85 r/m, reg; A8/A9 rAX, imm; F6/F7 /0 /1. */
static void test_one(unsigned opc, unsigned reg, unsigned osz, bool mem, uint64_t d, uint64_t s,
                     uint64_t fin)
{
    bool imm_form = opc >= 0xa8;
    int64_t imm = imm_form ? form_imm(F_EI81, osz, s) : 0;
    uint64_t src = imm_form ? (uint64_t)imm : s, hd = d;
    uint64_t hf = h_test[osz](&hd, src, fin);
    struct x86_insn in;

    if (mem && opc != 0xa8 && opc != 0xa9) {
        buf_reset();
        memcpy(buf + 5, &d, 1u << osz);
        cpu->gpr[X86_RBX] = (uint64_t)(uintptr_t)buf;
        in = insn_mem(0, opc, osz, opc < 0xa8 ? X86_RCX : reg, X86_RBX, 5);
    } else {
        in = insn_reg(0, opc, osz, opc < 0xa8 ? X86_RCX : reg, X86_RAX);
    }
    in.imm = imm;
    cpu->gpr[X86_RAX] = d;
    cpu->gpr[X86_RCX] = s;
    set_flags(fin);
    run_op(find_op(x86_ops_alu, 0, opc, X86_PFX_NONE, reg, mem), &in);
    assert_int_equal(cpu->gpr[X86_RAX], d);
    assert_int_equal(cpu->gpr[X86_RCX], s);
    if (in.flags & X86_I_MEM)
        check_buf(5, osz, d, "test mem");
    check_flags(hf, logic_mask(), "test");
}

static void test_alu_test(void **state)
{
    (void)state;
    for (unsigned osz = 0; osz < 4; osz++)
        for (unsigned i = 0; i < N_EDGE; i++)
            for (unsigned j = 0; j < N_EDGE; j++) {
                uint64_t d = edge_values[i], s = edge_values[j], fin = flag_inputs[(i + j) & 3];
                unsigned sized = osz != 0;
                test_one(0x84 + sized, 0, osz, (i + j) & 1, d, s, fin);
                test_one(0xa8 + sized, 0, osz, false, d, s, fin);
                test_one(0xf6 + sized, 0, osz, (i + j) & 1, d, s, fin);
                test_one(0xf6 + sized, 1, osz, (i + j) & 1, d, s, fin);
            }
}

/* INC DEC NEG NOT (FE/FF /0 /1, F6/F7 /2 /3) in register, memory and LOCK
 * forms. */
static void unary_one(unsigned opc, unsigned reg, host2_fn *const *host, uint64_t mask,
                      unsigned osz, enum mode mode, uint64_t d, uint64_t fin)
{
    uint64_t hd = d, hf = host[osz](&hd, 0, fin);
    struct x86_insn in;
    unsigned sized = osz != 0;
    char what[64];

    snprintf(what, sizeof(what), "%02x/%u osz %u mode %d d %llx fin %llx", opc, reg, osz, mode,
             (unsigned long long)d, (unsigned long long)fin);
    if (mode == M_REG) {
        in = insn_reg(0, opc + sized, osz, reg, X86_RDX);
    } else {
        buf_reset();
        memcpy(buf + 9, &d, 1u << osz);
        cpu->gpr[X86_RBX] = (uint64_t)(uintptr_t)buf;
        in = insn_mem(0, opc + sized, osz, reg, X86_RBX, 9);
        if (mode == M_LOCK)
            in.flags |= X86_I_LOCK;
    }
    cpu->gpr[X86_RDX] = d;
    set_flags(fin);
    run_op(find_op(x86_ops_alu, 0, opc + sized, X86_PFX_NONE, reg, mode != M_REG), &in);
    if (mode == M_REG) {
        if (cpu->gpr[X86_RDX] != hd)
            fail_msg("%s: result %llx, host %llx", what, (unsigned long long)cpu->gpr[X86_RDX],
                     (unsigned long long)hd);
    } else {
        check_buf(9, osz, hd, what);
    }
    check_flags(hf, mask, what);
}

static void test_alu_unary(void **state)
{
    (void)state;
    for (unsigned osz = 0; osz < 4; osz++)
        for (enum mode mode = M_REG; mode <= M_LOCK; mode++)
            for (unsigned i = 0; i < N_EDGE + 100; i++) {
                uint64_t d = i < N_EDGE ? edge_values[i] : rnd_value();
                for (unsigned fi = 0; fi < N_FLAGIN; fi++) {
                    uint64_t fin = flag_inputs[fi];
                    unary_one(0xfe, 0, h_inc, ARITH, osz, mode, d, fin);
                    unary_one(0xfe, 1, h_dec, ARITH, osz, mode, d, fin);
                    unary_one(0xf6, 2, h_not, ARITH, osz, mode, d, fin); /* flags untouched */
                    unary_one(0xf6, 3, h_neg, ARITH, osz, mode, d, fin);
                }
            }
}

/* XADD r/m, reg */
#define HOST_XADD(fname, text)                                                                     \
    static uint64_t fname(uint64_t *d, uint64_t *s, uint64_t fin)                                  \
    {                                                                                              \
        uint64_t dv = *d, sv = *s, f;                                                              \
        __asm__ volatile(HOST_PRE text HOST_POST                                                   \
                         : [d] "+&r"(dv), [s] "+&r"(sv), [fout] "=&r"(f)                           \
                         : [fin] "r"(fin)                                                          \
                         : "cc");                                                                  \
        *d = dv;                                                                                   \
        *s = sv;                                                                                   \
        return f;                                                                                  \
    }
HOST_XADD(h_xadd_0, "xadd %b[s], %b[d]")
HOST_XADD(h_xadd_1, "xadd %w[s], %w[d]")
HOST_XADD(h_xadd_2, "xadd %k[s], %k[d]")
HOST_XADD(h_xadd_3, "xadd %q[s], %q[d]")
static uint64_t (*const h_xadd[4])(uint64_t *, uint64_t *, uint64_t) = {h_xadd_0, h_xadd_1,
                                                                        h_xadd_2, h_xadd_3};

static void test_alu_xadd(void **state)
{
    (void)state;
    for (unsigned osz = 0; osz < 4; osz++)
        for (enum mode mode = M_REG; mode <= M_LOCK; mode++)
            for (int n = 0; n < 400; n++) {
                uint64_t d = rnd_value(), s = rnd_value(), fin = flag_inputs[n & 3];
                uint64_t hd = d, hs = s, hf = h_xadd[osz](&hd, &hs, fin);
                unsigned opc = 0xc0 + (osz != 0);
                struct x86_insn in;

                if (mode == M_REG) {
                    in = insn_reg(X86_MAP_0F, opc, osz, X86_RSI, X86_RDI);
                } else {
                    buf_reset();
                    memcpy(buf + 3, &d, 1u << osz);
                    cpu->gpr[X86_RBX] = (uint64_t)(uintptr_t)buf;
                    in = insn_mem(X86_MAP_0F, opc, osz, X86_RSI, X86_RBX, 3);
                    if (mode == M_LOCK)
                        in.flags |= X86_I_LOCK;
                }
                cpu->gpr[X86_RDI] = d;
                cpu->gpr[X86_RSI] = s;
                set_flags(fin);
                run_op(find_op(x86_ops_alu, X86_MAP_0F, opc, X86_PFX_NONE, 0, mode != M_REG), &in);
                assert_int_equal(cpu->gpr[X86_RSI], hs);
                if (mode == M_REG)
                    assert_int_equal(cpu->gpr[X86_RDI], hd);
                else
                    check_buf(3, osz, hd, "xadd");
                check_flags(hf, ARITH, "xadd");
            }
    /* xadd r, r with the same register: the sum wins. */
    struct x86_insn in = insn_reg(X86_MAP_0F, 0xc1, 3, X86_RSI, X86_RSI);
    cpu->gpr[X86_RSI] = 21;
    run_op(find_op(x86_ops_alu, X86_MAP_0F, 0xc1, X86_PFX_NONE, 0, false), &in);
    assert_int_equal(cpu->gpr[X86_RSI], 42);
}

/* CMPXCHG r/m, reg with the accumulator. */
#define HOST_CMPXCHG(fname, text)                                                                  \
    static uint64_t fname(uint64_t *d, uint64_t *acc, uint64_t s, uint64_t fin)                    \
    {                                                                                              \
        uint64_t dv = *d, av = *acc, f;                                                            \
        __asm__ volatile(HOST_PRE text HOST_POST                                                   \
                         : [d] "+&r"(dv), "+a"(av), [fout] "=&r"(f)                                \
                         : [s] "r"(s), [fin] "r"(fin)                                              \
                         : "cc");                                                                  \
        *d = dv;                                                                                   \
        *acc = av;                                                                                 \
        return f;                                                                                  \
    }
HOST_CMPXCHG(h_cx_0, "cmpxchg %b[s], %b[d]")
HOST_CMPXCHG(h_cx_1, "cmpxchg %w[s], %w[d]")
HOST_CMPXCHG(h_cx_2, "cmpxchg %k[s], %k[d]")
HOST_CMPXCHG(h_cx_3, "cmpxchg %q[s], %q[d]")
static uint64_t (*const h_cx[4])(uint64_t *, uint64_t *, uint64_t, uint64_t) = {h_cx_0, h_cx_1,
                                                                                h_cx_2, h_cx_3};

static void test_alu_cmpxchg(void **state)
{
    (void)state;
    for (unsigned osz = 0; osz < 4; osz++)
        for (enum mode mode = M_REG; mode <= M_LOCK; mode++)
            for (int n = 0; n < 400; n++) {
                uint64_t d = rnd_value(), s = rnd_value(), fin = flag_inputs[n & 3];
                /* Half the time equal in the low bits, different above. */
                uint64_t acc = (n & 1) ? (d & x86_mask(osz)) | (rnd() & ~x86_mask(osz)) : rnd();
                uint64_t hd = d, hacc = acc, hf = h_cx[osz](&hd, &hacc, s, fin);
                unsigned opc = 0xb0 + (osz != 0);
                struct x86_insn in;

                if (mode == M_REG) {
                    in = insn_reg(X86_MAP_0F, opc, osz, X86_RSI, X86_RDI);
                } else {
                    buf_reset();
                    memcpy(buf + 1, &d, 1u << osz);
                    cpu->gpr[X86_RBX] = (uint64_t)(uintptr_t)buf;
                    in = insn_mem(X86_MAP_0F, opc, osz, X86_RSI, X86_RBX, 1);
                    if (mode == M_LOCK)
                        in.flags |= X86_I_LOCK;
                }
                cpu->gpr[X86_RAX] = acc;
                cpu->gpr[X86_RDI] = d;
                cpu->gpr[X86_RSI] = s;
                set_flags(fin);
                run_op(find_op(x86_ops_alu, X86_MAP_0F, opc, X86_PFX_NONE, 0, mode != M_REG), &in);
                assert_int_equal(cpu->gpr[X86_RAX], hacc);
                assert_int_equal(cpu->gpr[X86_RSI], s);
                if (mode == M_REG)
                    assert_int_equal(cpu->gpr[X86_RDI], hd);
                else
                    check_buf(1, osz, hd, "cmpxchg");
                check_flags(hf, ARITH, "cmpxchg");
            }
}

/* CMPXCHG8B / CMPXCHG16B (memory through a register: the host asm moves
 * rsp, so no rsp-relative operands) */
static uint64_t h_cx8b(uint64_t *m, uint64_t *rax, uint64_t *rdx, uint64_t rbx, uint64_t rcx,
                       uint64_t fin)
{
    uint64_t f;
    __asm__ volatile(HOST_PRE "cmpxchg8b (%[m])" HOST_POST
                     : "+a"(*rax), "+d"(*rdx), [fout] "=&r"(f)
                     : [m] "r"(m), "b"(rbx), "c"(rcx), [fin] "r"(fin)
                     : "cc", "memory");
    return f;
}

static uint64_t h_cx16b(uint64_t *m, uint64_t *rax, uint64_t *rdx, uint64_t rbx, uint64_t rcx,
                        uint64_t fin)
{
    uint64_t f;
    __asm__ volatile(HOST_PRE "cmpxchg16b (%[m])" HOST_POST
                     : "+a"(*rax), "+d"(*rdx), [fout] "=&r"(f)
                     : [m] "r"(m), "b"(rbx), "c"(rcx), [fin] "r"(fin)
                     : "cc", "memory");
    return f;
}

static void test_alu_cmpxchg8b16b(void **state)
{
    (void)state;
    x86_op_fn *fn = find_op(x86_ops_alu, X86_MAP_0F, 0xc7, X86_PFX_NONE, 1, true);
    for (int n = 0; n < 400; n++) {
        bool wide = n & 2, lock = n & 4;
        unsigned off = wide ? 16 : (unsigned)(rnd() % 40);
        uint64_t m[2] = {rnd(), rnd()}, fin = flag_inputs[n & 3];
        uint64_t rax = (n & 1) ? m[0] : rnd(), rdx = (n & 1) ? m[1] : rnd();
        uint64_t rbx = rnd(), rcx = rnd(), hax = rax, hdx = rdx, hf;
        uint64_t hm[2] __attribute__((aligned(16))) = {m[0], m[1]};
        if (!wide && (n & 1)) { /* equal in the low halves of RAX and RDX only */
            rax = (m[0] & 0xffffffff) | (rnd() << 32);
            rdx = (m[0] >> 32) | (rnd() << 32);
            hax = rax;
            hdx = rdx;
        }
        hf = wide ? h_cx16b(hm, &hax, &hdx, rbx, rcx, fin) : h_cx8b(hm, &hax, &hdx, rbx, rcx, fin);

        struct x86_insn in = insn_mem(X86_MAP_0F, 0xc7, wide ? 3 : 2, 1, X86_RSI, (int)off);
        if (wide)
            in.flags |= X86_I_REXW;
        if (lock)
            in.flags |= X86_I_LOCK;
        buf_reset();
        memcpy(buf + off, m, wide ? 16 : 8);
        cpu->gpr[X86_RSI] = (uint64_t)(uintptr_t)buf;
        cpu->gpr[X86_RAX] = rax;
        cpu->gpr[X86_RDX] = rdx;
        cpu->gpr[X86_RBX] = rbx;
        cpu->gpr[X86_RCX] = rcx;
        set_flags(fin);
        run_op(fn, &in);
        assert_int_equal(cpu->gpr[X86_RAX], hax);
        assert_int_equal(cpu->gpr[X86_RDX], hdx);
        assert_memory_equal(buf + off, hm, wide ? 16 : 8);
        check_flags(hf, ARITH, wide ? "cmpxchg16b" : "cmpxchg8b");
    }

    /* CMPXCHG16B needs a 16-byte aligned operand: #GP(0), nothing changes. */
    struct x86_insn in = insn_mem(X86_MAP_0F, 0xc7, 3, 1, X86_RSI, 8);
    in.flags |= X86_I_REXW;
    buf_reset();
    cpu->gpr[X86_RSI] = (uint64_t)(uintptr_t)buf;
    cpu->gpr[X86_RAX] = 0x1111;
    set_flags(0x202 | CF);
    assert_int_equal(run_op_exc(fn, &in), X86_EXC_GP);
    assert_int_equal(cpu->exc.error, 0);
    assert_int_equal(cpu->gpr[X86_RAX], 0x1111);
    assert_int_equal(x86_flags_eval(cpu), CF);
    check_buf(0, 0, BUF_FILL, "cmpxchg16b #GP");
}

/* LOCK forms hold under contention: two threads, each with its own CPU,
 * hammer one counter. */
struct lock_worker {
    x86_op_fn *fn;
    struct x86_insn in;
    uint64_t reg_value;
    uint64_t carry;
    int iterations;
};

static uint64_t shared_counter __attribute__((aligned(64)));

static void *lock_thread(void *arg)
{
    struct lock_worker *w = arg;
    struct x86_cpu *c = aligned_alloc(64, (sizeof(*c) + 63) & ~(size_t)63);
    x86_cpu_init_user(c, 0, 1ULL << 47);
    c->gpr[X86_RBX] = (uint64_t)(uintptr_t)&shared_counter;
    for (int i = 0; i < w->iterations; i++) {
        c->gpr[X86_RCX] = w->reg_value;
        x86_flags_set(c, w->carry ? CF : 0);
        c->cur_insn = &w->in;
        w->fn(c, &w->in);
    }
    x86_cpu_destroy(c);
    free(c);
    return NULL;
}

static void contend(x86_op_fn *fn, struct x86_insn in, uint64_t reg_value, uint64_t carry,
                    int iterations)
{
    struct lock_worker w = {fn, in, reg_value, carry, iterations};
    pthread_t t[2];
    shared_counter = 0;
    for (int i = 0; i < 2; i++)
        assert_int_equal(pthread_create(&t[i], NULL, lock_thread, &w), 0);
    for (int i = 0; i < 2; i++)
        pthread_join(t[i], NULL);
}

static void test_alu_lock_contention(void **state)
{
    (void)state;
    const int iters = 200000;
    struct x86_insn in = insn_mem(0, 0x01, 3, X86_RCX, X86_RBX, 0);
    in.flags |= X86_I_LOCK;

    contend(find_op(x86_ops_alu, 0, 0x01, X86_PFX_NONE, 0, true), in, 3, 0, iters);
    assert_int_equal(shared_counter, 2ULL * 3 * iters); /* lock add */

    in.opcode = 0x11;
    contend(find_op(x86_ops_alu, 0, 0x11, X86_PFX_NONE, 0, true), in, 2, 1, iters);
    assert_int_equal(shared_counter, 2ULL * 3 * iters); /* lock adc: compare-exchange loop */

    in.opcode = 0xff;
    in.reg = 0;
    contend(find_op(x86_ops_alu, 0, 0xff, X86_PFX_NONE, 0, true), in, 0, 0, iters);
    assert_int_equal(shared_counter, 2ULL * iters); /* lock inc */

    in = insn_mem(X86_MAP_0F, 0xc1, 2, X86_RCX, X86_RBX, 0);
    in.flags |= X86_I_LOCK;
    contend(find_op(x86_ops_alu, X86_MAP_0F, 0xc1, X86_PFX_NONE, 0, true), in, 5, 0, iters);
    assert_int_equal(shared_counter, 2ULL * 5 * iters); /* lock xadd */
}

/* Precise exceptions: a read-modify-write whose store faults (a read-only
 * page: the host's SIGSEGV becomes a guest #PF through
 * x86_fault_from_signal) leaves registers, flags and memory as they were,
 * in every family. On a page that is not there (PROT_NONE) the load is
 * what faults, and the error code still says "write", as on AMD; its
 * present bit is the host's. A masked shift count of 0 still writes. */
static void on_segv(int sig, siginfo_t *si, void *ctx)
{
    ucontext_t *uc = ctx;
    x86_fault_from_signal(cpu, (uintptr_t)si->si_addr, (uint64_t)uc->uc_mcontext.gregs[REG_ERR]);
    signal(sig, SIG_DFL); /* not guest memory: a real crash */
}

struct fault_case {
    const struct x86_op_entry *table;
    uint8_t map, opcode, reg, osz, flags, imm; /* imm 0: 5 */
};

/* Group opcodes, whose ModRM.reg selects the operation (the decoder puts
 * it in insn->reg). */
static bool group_opcode(unsigned map, unsigned op)
{
    if (map == X86_MAP_0F)
        return op == 0xba || op == 0xc7;
    return (op >= 0x80 && op <= 0x83) || op == 0xc0 || op == 0xc1 || (op >= 0xd0 && op <= 0xd3) ||
           op == 0xf6 || op == 0xf7 || op == 0xfe || op == 0xff;
}

static void test_rmw_fault_is_precise(void **state)
{
    (void)state;
    static const struct fault_case cases[] = {
        {x86_ops_alu, X86_MAP_PRIMARY, 0x01, 0, 3, 0, 0},          /* add [m], rcx */
        {x86_ops_alu, X86_MAP_PRIMARY, 0x11, 2, 2, 0, 0},          /* adc [m], ecx */
        {x86_ops_alu, X86_MAP_PRIMARY, 0x01, 0, 3, X86_I_LOCK, 0}, /* lock add */
        {x86_ops_alu, X86_MAP_PRIMARY, 0x19, 3, 1, X86_I_LOCK, 0}, /* lock sbb */
        {x86_ops_alu, X86_MAP_PRIMARY, 0x83, 6, 2, 0, 0},          /* xor [m], imm */
        {x86_ops_alu, X86_MAP_PRIMARY, 0xff, 0, 3, 0, 0},          /* inc */
        {x86_ops_alu, X86_MAP_PRIMARY, 0xfe, 1, 0, X86_I_LOCK, 0}, /* lock dec */
        {x86_ops_alu, X86_MAP_PRIMARY, 0xf7, 2, 2, 0, 0},          /* not */
        {x86_ops_alu, X86_MAP_PRIMARY, 0xf7, 3, 3, 0, 0},          /* neg */
        {x86_ops_alu, X86_MAP_0F, 0xc1, 0, 3, 0, 0},               /* xadd */
        {x86_ops_alu, X86_MAP_0F, 0xb1, 0, 3, 0, 0},               /* cmpxchg (fails, writes) */
        {x86_ops_alu, X86_MAP_0F, 0xb1, 0, 2, X86_I_LOCK, 0},      /* lock cmpxchg */
        {x86_ops_alu, X86_MAP_0F, 0xc7, 1, 2, 0, 0},               /* cmpxchg8b */
        {x86_ops_shift, X86_MAP_PRIMARY, 0xd3, 4, 3, 0, 0},        /* shl [m], cl */
        {x86_ops_shift, X86_MAP_PRIMARY, 0xd1, 0, 2, 0, 0},        /* rol [m], 1 */
        {x86_ops_shift, X86_MAP_PRIMARY, 0xd3, 3, 1, 0, 0},        /* rcr [m], cl */
        {x86_ops_shift, X86_MAP_0F, 0xa5, 0, 3, 0, 0},             /* shld [m], rcx, cl */
        {x86_ops_shift, X86_MAP_PRIMARY, 0xc1, 5, 2, 0, 0x20},     /* shr [m], 32: count 0 */
        {x86_ops_shift, X86_MAP_PRIMARY, 0xc1, 0, 3, 0, 0x40},     /* rol [m], 64: count 0 */
        {x86_ops_shift, X86_MAP_0F, 0xac, 0, 2, 0, 0x20},          /* shrd [m], ecx, 32 */
        {x86_ops_bit, X86_MAP_0F, 0xab, 0, 3, 0, 0},               /* bts [m], rcx */
        {x86_ops_bit, X86_MAP_0F, 0xba, 7, 2, X86_I_LOCK, 0},      /* lock btc [m], imm */
        {x86_ops_bit, X86_MAP_0F, 0x94, 0, 0, 0, 0},               /* sete [m] */
        {x86_ops_bit, X86_MAP_0F38, 0xf1, 0, 3, 0, 0},             /* movbe [m], rcx */
    };
    const uint64_t regs[16] = {0x1111, 0x2222, 0x3333, 0x4444, 0, 0x6666, 0x7777, 0x8888};
    struct sigaction sa = {.sa_sigaction = on_segv, .sa_flags = SA_SIGINFO}, old;
    uint8_t *page = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

    assert_true(page != MAP_FAILED);
    for (unsigned i = 0; i < 4096; i++)
        page[i] = (uint8_t)(i * 7);
    sigaction(SIGSEGV, &sa, &old);
    cpu->in_run = true;
    for (unsigned k = 0; k < 2 * sizeof(cases) / sizeof(cases[0]); k++) {
        unsigned i = k % (sizeof(cases) / sizeof(cases[0]));
        bool present = k == i;
        const struct fault_case *c = &cases[i];
        assert_int_equal(mprotect(page, 4096, PROT_READ), 0);
        for (unsigned b = 0; b < 4096; b++)
            assert_int_equal(page[b], (uint8_t)(b * 7));
        assert_int_equal(mprotect(page, 4096, present ? PROT_READ : PROT_NONE), 0);
        struct x86_insn in = insn_mem(c->map, c->opcode, c->osz, X86_RCX, X86_RBX, 64);
        if (group_opcode(c->map, c->opcode))
            in.reg = c->reg;
        in.flags |= c->flags;
        in.imm = c->imm ? c->imm : 5;
        memcpy(cpu->gpr, regs, sizeof(regs));
        cpu->gpr[X86_RBX] = (uint64_t)(uintptr_t)page;
        cpu->gpr[X86_RCX] = 3; /* also the count for CL forms */
        x86_set_cc(cpu, X86_CC(X86_CC_KIND_SUB, 2), 0x7fffffff, 0xffffffff, 0x80000000);
        uint64_t flags = x86_flags_eval(cpu);

        int vec = run_op_exc(find_op(c->table, c->map, c->opcode, X86_PFX_NONE, c->reg, true), &in);
        if (vec != X86_EXC_PF)
            fail_msg("case %u (opcode %02x): vector %d, expected #PF", i, c->opcode, vec);
        assert_int_equal(cpu->exc.addr & ~63ULL, (uint64_t)(uintptr_t)page + 64);
        if (cpu->exc.error != (X86_PF_USER | X86_PF_WRITE | (present ? X86_PF_PRESENT : 0)))
            fail_msg("case %u (opcode %02x): error %#x", i, c->opcode, cpu->exc.error);
        assert_int_equal(cpu->rip, 0x1000);
        assert_int_equal(x86_flags_eval(cpu), flags);
        for (unsigned r = 0; r < 16; r++)
            if (r != X86_RBX && r != X86_RCX && cpu->gpr[r] != regs[r])
                fail_msg("case %u (opcode %02x): register %u changed", i, c->opcode, r);
        assert_int_equal(cpu->gpr[X86_RCX], 3);
    }
    /* Loads only (CMP, TEST, BT): a read fault. */
    static const struct fault_case reads[] = {
        {x86_ops_alu, X86_MAP_PRIMARY, 0x39, 0, 3, 0, 0}, /* cmp [m], rcx */
        {x86_ops_alu, X86_MAP_PRIMARY, 0x83, 7, 2, 0, 0}, /* cmp [m], imm */
        {x86_ops_alu, X86_MAP_PRIMARY, 0x85, 0, 1, 0, 0}, /* test [m], cx */
        {x86_ops_bit, X86_MAP_0F, 0xa3, 0, 3, 0, 0},      /* bt [m], rcx */
    };
    for (unsigned i = 0; i < sizeof(reads) / sizeof(reads[0]); i++) {
        const struct fault_case *c = &reads[i];
        struct x86_insn in = insn_mem(c->map, c->opcode, c->osz, X86_RCX, X86_RBX, 64);
        if (group_opcode(c->map, c->opcode))
            in.reg = c->reg;
        in.imm = 5;
        cpu->gpr[X86_RBX] = (uint64_t)(uintptr_t)page;
        cpu->gpr[X86_RCX] = 3;
        int vec = run_op_exc(find_op(c->table, c->map, c->opcode, X86_PFX_NONE, c->reg, true), &in);
        assert_int_equal(vec, X86_EXC_PF);
        assert_int_equal(cpu->exc.error, X86_PF_USER);
    }
    cpu->in_run = false;
    sigaction(SIGSEGV, &old, NULL);
    munmap(page, 4096);
}

/* Flags produced by one kind, read by ADC/SBB and conditions after
 * materializing and restoring: the lazy state round-trips. */
static void test_flags_materialize(void **state)
{
    (void)state;
    for (int n = 0; n < 20000; n++) {
        unsigned k = (unsigned)(rnd() % 8), osz = (unsigned)(rnd() & 3);
        uint64_t d = rnd_value(), s = rnd_value(), fin = flag_inputs[rnd() & 3];
        alu_one(k, F_EG, M_REG, osz, d, s, fin);
        uint64_t before = x86_flags_eval(cpu);
        bool conds[16];
        for (unsigned cc = 0; cc < 16; cc++)
            conds[cc] = x86_cond(cpu, cc);
        x86_flags_materialize(cpu);
        assert_int_equal(cpu->cc_op, X86_CC_FLAGS);
        assert_int_equal(cpu->rflags & ARITH, before);
        assert_int_equal(cpu->rflags & ~(uint64_t)ARITH, 0x202);
        for (unsigned cc = 0; cc < 16; cc++)
            assert_int_equal(x86_cond(cpu, cc), conds[cc]);
    }
    /* x86_flags_set keeps the non-arithmetic bits. */
    cpu->rflags = 0x202 | X86_FLAG_DF;
    x86_flags_set(cpu, ~0ULL);
    assert_int_equal(cpu->rflags, 0x202 | X86_FLAG_DF | ARITH);
    assert_int_equal(x86_flags_eval(cpu), ARITH);
}

/* Rough timing (reported, never asserted) of lazily flagged ADD/SUB/CMP
 * followed by condition reads, and of x86_cond alone; the long sequence's
 * outcome is checked against a plain C model of it. */
static double now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e9 + ts.tv_nsec;
}

static void test_flags_timing(void **state)
{
    (void)state;
    const int iters = 2000000;
    struct x86_insn add = insn_reg(0, 0x01, 3, X86_RCX, X86_RAX);
    struct x86_insn cmp = insn_reg(0, 0x39, 2, X86_RCX, X86_RAX);
    struct x86_insn sub = insn_reg(0, 0x29, 0, X86_RCX, X86_RAX);
    x86_op_fn *fadd = find_op(x86_ops_alu, 0, 0x01, X86_PFX_NONE, 0, false);
    x86_op_fn *fcmp = find_op(x86_ops_alu, 0, 0x39, X86_PFX_NONE, 0, false);
    x86_op_fn *fsub = find_op(x86_ops_alu, 0, 0x29, X86_PFX_NONE, 0, false);
    unsigned taken = 0;

    cpu->gpr[X86_RAX] = 1;
    cpu->gpr[X86_RCX] = 3;
    double t0 = now_ns();
    for (int i = 0; i < iters; i++) {
        fadd(cpu, &add);
        fcmp(cpu, &cmp);
        taken += x86_cond(cpu, 12 + (i & 3)); /* L GE LE G */
        fsub(cpu, &sub);
        taken += x86_cond(cpu, 2 + (i & 7)); /* B .. NS */
    }
    double t1 = now_ns();
    for (int i = 0; i < iters; i++)
        taken += x86_cond(cpu, (unsigned)i & 15);
    double t2 = now_ns();
    print_message("# add+cmp+jcc+sub+jcc: %.1f ns per group, x86_cond alone (after SUB): "
                  "%.1f ns\n",
                  (t1 - t0) / iters, (t2 - t1) / iters);

    uint64_t rax = 1, rcx = 3;
    unsigned want = 0;
    for (int i = 0; i < iters; i++) {
        rax += rcx;
        int32_t a = (int32_t)rax, b = (int32_t)rcx;
        bool signed_cond[4] = {a<b, a >= b, a <= b, a> b};
        want += signed_cond[i & 3];
        uint8_t a8 = (uint8_t)rax, b8 = (uint8_t)rcx, r8 = (uint8_t)(a8 - b8);
        bool cond8[8] = {a8<b8, a8 >= b8, a8 == b8, a8 != b8, a8 <= b8, a8> b8, r8 >> 7,
                         !(r8 >> 7)};
        want += cond8[i & 7];
        rax = (rax & ~0xffULL) | r8;
    }
    want += iters / 2; /* each pair of opposite conditions: one holds */
    assert_int_equal(cpu->gpr[X86_RAX], rax);
    assert_int_equal(taken, want);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_alu_forms, host_setup, host_teardown),
        cmocka_unit_test_setup_teardown(test_alu_high_bytes, host_setup, host_teardown),
        cmocka_unit_test_setup_teardown(test_alu_test, host_setup, host_teardown),
        cmocka_unit_test_setup_teardown(test_alu_unary, host_setup, host_teardown),
        cmocka_unit_test_setup_teardown(test_alu_xadd, host_setup, host_teardown),
        cmocka_unit_test_setup_teardown(test_alu_cmpxchg, host_setup, host_teardown),
        cmocka_unit_test_setup_teardown(test_alu_cmpxchg8b16b, host_setup, host_teardown),
        cmocka_unit_test_setup_teardown(test_alu_lock_contention, host_setup, host_teardown),
        cmocka_unit_test_setup_teardown(test_rmw_fault_is_precise, host_setup, host_teardown),
        cmocka_unit_test_setup_teardown(test_flags_materialize, host_setup, host_teardown),
        cmocka_unit_test_setup_teardown(test_flags_timing, host_setup, host_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
