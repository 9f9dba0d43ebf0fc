/* Multiplication and division: MUL IMUL DIV IDIV (F6/F7 /4-/7) and the
 * two- and three-operand IMUL (0F AF, 69, 6B).
 *
 * MUL/IMUL record the lazy flags (CF = OF = the high half is significant;
 * SF ZF PF from the low half and AF = 0 for the undefined ones, where the
 * AMD host would keep the old values). DIV/IDIV raise #DE for a zero
 * divisor or a quotient that does not fit, before any register changes,
 * and leave the flags as they were (all undefined).
 */
#include "cpu/x86/flags.h"
#include "cpu/x86/operand.h"

typedef unsigned __int128 u128;
typedef __int128 s128;

static void mul_set_cc(struct x86_cpu *cpu, uint32_t kind, unsigned osz, uint64_t lo, uint64_t high)
{
    x86_set_cc(cpu, X86_CC(kind, osz), lo, high, 0);
}

/* MUL r/m: rDX:rAX = rAX * r/m (AX = AL * r/m8). */
static void muldiv_mul(struct x86_cpu *cpu, const struct x86_insn *in)
{
    unsigned osz = in->osz;
    uint64_t b = x86_rm_read(cpu, in, osz), a = x86_reg_read(cpu, X86_RAX, osz);
    uint64_t lo, hi;

    if (osz == 3) {
        u128 p = (u128)a * b;
        lo = (uint64_t)p;
        hi = (uint64_t)(p >> 64);
    } else {
        uint64_t p = a * b;
        lo = p & x86_mask(osz);
        hi = p >> (8u << osz);
    }
    if (osz == 0) {
        x86_reg_write(cpu, X86_RAX, 1, lo | hi << 8);
    } else {
        x86_reg_write(cpu, X86_RAX, osz, lo);
        x86_reg_write(cpu, X86_RDX, osz, hi);
    }
    mul_set_cc(cpu, X86_CC_KIND_MUL, osz, lo, hi);
}

/* Signed a * b at operand size osz (a, b sign-extended): the low half,
 * the high half and whether the product does not fit the low half. */
static uint64_t imul_full(unsigned osz, int64_t a, int64_t b, uint64_t *hi, bool *overflow)
{
    if (osz == 3) {
        s128 p = (s128)a * b;
        *hi = (uint64_t)((u128)p >> 64);
        *overflow = p != (int64_t)p;
        return (uint64_t)p;
    }
    int64_t p = a * b; /* at most 32 x 32 bits: no overflow */
    *hi = (uint64_t)(p >> (8u << osz)) & x86_mask(osz);
    *overflow = p != x86_sext((uint64_t)p, osz);
    return (uint64_t)p & x86_mask(osz);
}

/* IMUL r/m (one operand): rDX:rAX = rAX * r/m, signed. */
static void muldiv_imul1(struct x86_cpu *cpu, const struct x86_insn *in)
{
    unsigned osz = in->osz;
    int64_t b = x86_sext(x86_rm_read(cpu, in, osz), osz);
    int64_t a = x86_sext(x86_reg_read(cpu, X86_RAX, osz), osz);
    uint64_t hi;
    bool ovf;
    uint64_t lo = imul_full(osz, a, b, &hi, &ovf);

    if (osz == 0) {
        x86_reg_write(cpu, X86_RAX, 1, lo | hi << 8);
    } else {
        x86_reg_write(cpu, X86_RAX, osz, lo);
        x86_reg_write(cpu, X86_RDX, osz, hi);
    }
    mul_set_cc(cpu, X86_CC_KIND_IMUL, osz, lo, ovf);
}

/* IMUL reg, r/m, factor: the truncated product. */
static void imul_to_reg(struct x86_cpu *cpu, const struct x86_insn *in, uint64_t src,
                        uint64_t factor)
{
    unsigned osz = in->osz;
    uint64_t hi;
    bool ovf;
    uint64_t lo = imul_full(osz, x86_sext(src, osz), x86_sext(factor, osz), &hi, &ovf);

    x86_reg_write(cpu, in->reg, osz, lo);
    mul_set_cc(cpu, X86_CC_KIND_IMUL, osz, lo, ovf);
}

/* 0F AF: IMUL Gv, Ev */
static void muldiv_imul2(struct x86_cpu *cpu, const struct x86_insn *in)
{
    uint64_t src = x86_rm_read(cpu, in, in->osz);
    imul_to_reg(cpu, in, src, x86_reg_read(cpu, in->reg, in->osz));
}

/* 69/6B: IMUL Gv, Ev, Iz/Ib (immediate sign-extended by the decoder) */
static void muldiv_imul3(struct x86_cpu *cpu, const struct x86_insn *in)
{
    imul_to_reg(cpu, in, x86_rm_read(cpu, in, in->osz), (uint64_t)in->imm);
}

static _Noreturn void divide_error(struct x86_cpu *cpu)
{
    x86_raise(cpu, X86_EXC_DE, 0);
}

/* Quotient q and remainder r into rAX/rDX (AL/AH for 8-bit). */
static void div_write(struct x86_cpu *cpu, unsigned osz, uint64_t q, uint64_t r)
{
    if (osz == 0) {
        x86_reg_write(cpu, X86_RAX, 1, (q & 0xff) | (r & 0xff) << 8);
    } else {
        x86_reg_write(cpu, X86_RAX, osz, q);
        x86_reg_write(cpu, X86_RDX, osz, r);
    }
}

/* The dividend: AX, DX:AX, EDX:EAX or RDX:RAX (as the low and high halves
 * of a 2w-bit number). */
static void div_dividend(const struct x86_cpu *cpu, unsigned osz, uint64_t *lo, uint64_t *hi)
{
    if (osz == 0) {
        *lo = cpu->gpr[X86_RAX] & 0xff;
        *hi = (cpu->gpr[X86_RAX] >> 8) & 0xff;
    } else {
        *lo = x86_reg_read(cpu, X86_RAX, osz);
        *hi = x86_reg_read(cpu, X86_RDX, osz);
    }
}

static void muldiv_div(struct x86_cpu *cpu, const struct x86_insn *in)
{
    unsigned osz = in->osz, w = 8u << osz;
    uint64_t d = x86_rm_read(cpu, in, osz), lo, hi, q, r;

    div_dividend(cpu, osz, &lo, &hi);
    /* The quotient fits in w bits exactly when the high half < divisor
     * (which also rules out d == 0). */
    if (hi >= d)
        divide_error(cpu);
    if (osz == 3 && hi != 0) {
        u128 n = (u128)hi << 64 | lo;
        q = (uint64_t)(n / d);
        r = (uint64_t)(n % d);
    } else if (osz == 3) {
        q = lo / d;
        r = lo % d;
    } else {
        uint64_t n = hi << w | lo;
        q = n / d;
        r = n % d;
    }
    div_write(cpu, osz, q, r);
}

static void muldiv_idiv(struct x86_cpu *cpu, const struct x86_insn *in)
{
    unsigned osz = in->osz, w = 8u << osz;
    int64_t d = x86_sext(x86_rm_read(cpu, in, osz), osz), q, r;
    uint64_t lo, hi;

    if (d == 0)
        divide_error(cpu);
    div_dividend(cpu, osz, &lo, &hi);
    if (osz == 3) {
        s128 n = (s128)((u128)hi << 64 | lo);
        s128 q128;
        /* Only -2^127 / -1 overflows s128 itself; it fails the range check
         * anyway. */
        if (d == -1 && n == (s128)((u128)1 << 127))
            divide_error(cpu);
        q128 = n / d;
        if (q128 != (int64_t)q128)
            divide_error(cpu);
        q = (int64_t)q128;
        r = (int64_t)(n % d);
    } else {
        /* A 2w-bit dividend, w <= 32: fits int64, and INT64_MIN is
         * impossible unless w == 32 with EDX:EAX = 2^63. */
        int64_t n = x86_sext(hi << w | lo, osz + 1);
        if (d == -1 && n == INT64_MIN)
            divide_error(cpu);
        q = n / d;
        r = n % d;
        if (q != x86_sext((uint64_t)q, osz))
            divide_error(cpu);
    }
    div_write(cpu, osz, (uint64_t)q, (uint64_t)r);
}

#define ROW(map, op, reg, fn, name)                                                                \
    {                                                                                              \
        X86_MAP_##map, op, X86_PFX_ANY, reg, X86_MOD_ANY, fn, name                                 \
    }

const struct x86_op_entry x86_ops_muldiv[] = {
    ROW(PRIMARY, 0xf6, 4, muldiv_mul, "mul"),     ROW(PRIMARY, 0xf7, 4, muldiv_mul, "mul"),
    ROW(PRIMARY, 0xf6, 5, muldiv_imul1, "imul"),  ROW(PRIMARY, 0xf7, 5, muldiv_imul1, "imul"),
    ROW(PRIMARY, 0xf6, 6, muldiv_div, "div"),     ROW(PRIMARY, 0xf7, 6, muldiv_div, "div"),
    ROW(PRIMARY, 0xf6, 7, muldiv_idiv, "idiv"),   ROW(PRIMARY, 0xf7, 7, muldiv_idiv, "idiv"),
    ROW(0F, 0xaf, -1, muldiv_imul2, "imul"),      ROW(PRIMARY, 0x69, -1, muldiv_imul3, "imul"),
    ROW(PRIMARY, 0x6b, -1, muldiv_imul3, "imul"), {0},
};
