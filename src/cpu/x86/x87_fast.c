/* Fast paths for the frequent x87 instructions.
 *
 * The exact path (x87_host.c) moves the whole x87 state through the host
 * FPU for every instruction. Here the common cases are done with only the
 * operands on the host stack, or in software:
 *
 *   FLD ST(i), FXCH, FST/FSTP ST(i), FLD/FSTP m80, FCHS, FABS, FLD1, FLDZ,
 *   FILD: data movement, in software (no exception is possible);
 *   FLD m32/m64: the exact widening, in software (IE for a signaling NaN,
 *   DE for a denormal);
 *   FST/FSTP m32/m64, FISTP, the arithmetic, the other constants, FCOMI
 *   and friends: the host instruction on the operands alone, with the
 *   guest's precision and rounding control and every exception masked;
 *   the flags it raised are the guest's.
 *
 * Each falls back to the exact path, before changing anything, when the
 * case is not the plain one: an empty operand or a full stack (stack
 * faults), or an exception the guest has unmasked (the exact path then
 * leaves the result unwritten and the exception pending, as hardware
 * does), and when the guest unmasked underflow (see x87_um_clear). C0, C2
 * and C3, which these instructions leave undefined, stay as they were
 * (what the host does); C1 is 0, or the round-up indicator of the host
 * instruction, or (FCOMI) unchanged. tests/unit/test_x86_x87.c checks
 * every path against the host, with states that take both paths.
 */
#include <string.h>

#include "cpu/x86/flags.h"
#include "cpu/x86/mem.h"
#include "cpu/x86/operand.h"
#include "cpu/x86/x87.h"

#define X87_CLOBBERS "st", "st(1)", "st(2)", "st(3)", "st(4)", "st(5)", "st(6)", "st(7)"

/* Host FPU sequences: FCW = the guest's precision and rounding with every
 * exception masked; the host's FCW back afterwards. The exception flags
 * after one are the ones it raised: they are cleared first, but only when
 * some are set (FNCLEX is slow, and most instructions raise nothing; the
 * embedder's own x87 code may have left some). */
#define HOST_ENTER                                                                                 \
    "fnstcw %[save]\n\tfldcw %[cw]\n\t"                                                            \
    "fnstsw %%ax\n\ttestb $0x3f, %%al\n\tjz 1f\n\tfnclex\n1:\n\t"
#define HOST_LEAVE "\n\tfldcw %[save]"

static inline uint16_t host_cw(const struct x86_cpu *cpu)
{
    return (uint16_t)(cpu->fpu.fcw | X87_EXC);
}

/* --- stack helpers --- */

static inline bool x87_can_push(const struct x86_cpu *cpu)
{
    return x87_st_empty(cpu, 7);
}

static inline void x87_push(struct x86_cpu *cpu, const x86_fpreg *v)
{
    unsigned t = (cpu->fpu.top - 1u) & 7;
    cpu->fpu.top = (uint8_t)t;
    cpu->fpu.st[t] = *v;
    cpu->fpu.ftw |= (uint8_t)(1u << t);
}

static inline void x87_pop(struct x86_cpu *cpu)
{
    cpu->fpu.ftw &= (uint8_t) ~(1u << cpu->fpu.top);
    cpu->fpu.top = (uint8_t)((cpu->fpu.top + 1u) & 7);
}

/* Raise the (masked) exceptions the host raised and set C1 as it left it. */
static inline void x87_status(struct x86_cpu *cpu, unsigned host_sw)
{
    cpu->fpu.fsw = (uint16_t)((cpu->fpu.fsw & ~X87_FSW_C1) | (host_sw & (X87_EXC | X87_FSW_C1)));
}

/* Did the host raise an exception the guest has unmasked? */
static inline bool x87_unmasked(const struct x86_cpu *cpu, unsigned host_sw)
{
    return host_sw & ~cpu->fpu.fcw & X87_EXC;
}

/* Underflow is detected differently when it is unmasked (a tiny result,
 * exact or not) than when masked (tiny and inexact), so a masked host run
 * does not tell: results that can underflow take the exact path then. */
static inline bool x87_um_clear(const struct x86_cpu *cpu)
{
    return !(cpu->fpu.fcw & X87_FSW_UE);
}

/* --- data movement --- */

/* D9 C0+i: FLD ST(i). An 80-bit source raises nothing. */
void x87_fast_fld_st(struct x86_cpu *cpu, const struct x86_insn *in)
{
    x87_wait(cpu);
    unsigned i = in->rm & 7;
    if (x87_st_empty(cpu, i) || !x87_can_push(cpu))
        return x87_op_reg(cpu, in);
    x86_fpreg v = *x87_st(cpu, i);
    x87_push(cpu, &v);
    x87_status(cpu, 0);
    x87_note_insn(cpu, in, x87_fop_of(cpu, in));
}

/* D9 C8+i, and the aliases DD C8+i, DF C8+i: FXCH ST(i). */
void x87_fast_fxch(struct x86_cpu *cpu, const struct x86_insn *in)
{
    x87_wait(cpu);
    unsigned i = in->rm & 7;
    if (x87_st_empty(cpu, 0) || x87_st_empty(cpu, i))
        return x87_op_reg(cpu, in);
    x86_fpreg t = *x87_st(cpu, 0);
    *x87_st(cpu, 0) = *x87_st(cpu, i);
    *x87_st(cpu, i) = t;
    x87_status(cpu, 0);
    x87_note_insn(cpu, in, x87_fop_of(cpu, in));
}

/* DD D0+i FST ST(i); DD D8+i FSTP ST(i), and its aliases D9 D8+i, DF D0+i,
 * DF D8+i. */
void x87_fast_fst_st(struct x86_cpu *cpu, const struct x86_insn *in)
{
    x87_wait(cpu);
    unsigned i = in->rm & 7;
    bool pop = !(in->opcode == 0xdd && (in->reg & 7) == 2);
    if (x87_st_empty(cpu, 0))
        return x87_op_reg(cpu, in);
    unsigned p = x87_phys(cpu, i);
    cpu->fpu.st[p] = *x87_st(cpu, 0);
    cpu->fpu.ftw |= (uint8_t)(1u << p);
    if (pop)
        x87_pop(cpu);
    x87_status(cpu, 0);
    x87_note_insn(cpu, in, x87_fop_of(cpu, in));
}

/* D9 E0 FCHS, D9 E1 FABS: the sign bit only, even of a NaN. FTST and FXAM
 * (E4, E5) take the exact path. */
void x87_fast_fchs_fabs(struct x86_cpu *cpu, const struct x86_insn *in)
{
    x87_wait(cpu);
    unsigned rm = in->rm & 7;
    if (rm > 1 || x87_st_empty(cpu, 0))
        return x87_op_reg(cpu, in);
    x86_fpreg *r = x87_st(cpu, 0);
    if (rm == 0)
        r->raw.sign_exp ^= 0x8000;
    else
        r->raw.sign_exp &= 0x7fff;
    x87_status(cpu, 0);
    x87_note_insn(cpu, in, x87_fop_of(cpu, in));
}

/* --- conversions done in software --- */

/* A binary floating-point value widened to 80 bits (exact): fraction
 * width fb, exponent width eb. Returns IE for a signaling NaN (made
 * quiet), DE for a denormal. */
static unsigned x87_widen(uint64_t v, unsigned fb, unsigned eb, x86_fpreg *r)
{
    unsigned sign = (unsigned)(v >> (fb + eb)) & 1, emax = (1u << eb) - 1;
    unsigned exp = (unsigned)(v >> fb) & emax, bias = emax >> 1;
    uint64_t m = v & ((1ULL << fb) - 1);
    unsigned exc = 0;
    r->raw.sign_exp = (uint16_t)(sign << 15);
    if (exp == emax) {
        r->raw.sign_exp |= 0x7fff;
        r->raw.mant = 1ULL << 63 | m << (63 - fb);
        if (m && !(m >> (fb - 1))) {
            exc = X87_FSW_IE;
            r->raw.mant |= 1ULL << 62;
        }
    } else if (exp == 0) {
        r->raw.mant = 0;
        if (m) {
            /* m * 2^(1 - bias - fb), normalized */
            unsigned sh = (unsigned)__builtin_clzll(m);
            r->raw.mant = m << sh;
            r->raw.sign_exp |= (uint16_t)(16383 + 63 - sh + 1 - bias - fb);
            exc = X87_FSW_DE;
        }
    } else {
        r->raw.sign_exp |= (uint16_t)(exp - bias + 16383);
        r->raw.mant = 1ULL << 63 | m << (63 - fb);
    }
    return exc;
}

/* An integer, exactly. */
static void x87_from_int(int64_t v, x86_fpreg *r)
{
    if (!v) {
        r->raw.mant = 0;
        r->raw.sign_exp = 0;
        return;
    }
    uint64_t mag = v < 0 ? 0 - (uint64_t)v : (uint64_t)v;
    unsigned sh = (unsigned)__builtin_clzll(mag);
    r->raw.mant = mag << sh;
    r->raw.sign_exp = (uint16_t)((v < 0 ? 0x8000u : 0) | (16383u + 63 - sh));
}

/* D9 /0 FLD m32fp, DD /0 FLD m64fp, DB /5 FLD m80fp. */
void x87_fast_fld_m(struct x86_cpu *cpu, const struct x86_insn *in)
{
    x87_wait(cpu);
    if (!x87_can_push(cpu))
        return x87_op_mem(cpu, in);
    unsigned fop = x87_fop_of(cpu, in);
    uint64_t lin = x86_ea(cpu, in);
    x86_fpreg v;
    unsigned exc = 0;
    memset(&v, 0, sizeof(v));
    if (in->opcode == 0xd9)
        exc = x87_widen(x86_load32(cpu, lin), 23, 8, &v);
    else if (in->opcode == 0xdd)
        exc = x87_widen(x86_load64(cpu, lin), 52, 11, &v);
    else /* (a 10-byte copy: probed so that it faults where the host does) */
        memcpy(&v, x87_probe(cpu, lin, 10, false, X87_PROBE_OPERAND), 10);
    if (x87_unmasked(cpu, exc))
        return x87_op_mem(cpu, in);
    x87_push(cpu, &v);
    x87_status(cpu, exc);
    x87_note_insn(cpu, in, fop);
    x87_note_data(cpu, in, lin);
}

/* DF /0 FILD m16int, DB /0 FILD m32int, DF /5 FILD m64int. */
void x87_fast_fild(struct x86_cpu *cpu, const struct x86_insn *in)
{
    x87_wait(cpu);
    if (!x87_can_push(cpu))
        return x87_op_mem(cpu, in);
    unsigned fop = x87_fop_of(cpu, in);
    uint64_t lin = x86_ea(cpu, in);
    int64_t n;
    if (in->opcode == 0xdb)
        n = (int32_t)x86_load32(cpu, lin);
    else if ((in->reg & 7) == 5)
        n = (int64_t)x86_load64(cpu, lin);
    else
        n = (int16_t)x86_load16(cpu, lin);
    x86_fpreg v;
    memset(&v, 0, sizeof(v));
    x87_from_int(n, &v);
    x87_push(cpu, &v);
    x87_status(cpu, 0);
    x87_note_insn(cpu, in, fop);
    x87_note_data(cpu, in, lin);
}

/* --- the host on the operands --- */

/* Store ST(0) as m32fp (D9 /3 encoding on (%rsi)), m64fp or an integer:
 * store is the opcode and ModRM byte of the popping store. */
#define HOST_STORE(name, b0, b1)                                                                   \
    static inline unsigned name(const x86_fpreg *a, void *out, uint16_t cw)                        \
    {                                                                                              \
        uint16_t save, sw;                                                                         \
        __asm__ volatile(HOST_ENTER "fldt %[a]\n\t"                                                \
                                    ".byte " #b0 ", " #b1 "\n\t"                                   \
                                    "fnstsw %[sw]" HOST_LEAVE                                      \
                         : [save] "=m"(save), [sw] "=m"(sw)                                        \
                         : [cw] "m"(cw), [a] "m"(*a), "S"(out)                                     \
                         : "memory", "cc", "rax", X87_CLOBBERS);                                   \
        return sw;                                                                                 \
    }
HOST_STORE(host_fstp32, 0xd9, 0x1e)
HOST_STORE(host_fstp64, 0xdd, 0x1e)
HOST_STORE(host_fistp16, 0xdf, 0x1e)
HOST_STORE(host_fistp32, 0xdb, 0x1e)
HOST_STORE(host_fistp64, 0xdf, 0x3e)

/* D9 /2 /3 FST(P) m32fp, DD /2 /3 FST(P) m64fp, DB /7 FSTP m80fp. */
void x87_fast_fst_m(struct x86_cpu *cpu, const struct x86_insn *in)
{
    x87_wait(cpu);
    if (x87_st_empty(cpu, 0))
        return x87_op_mem(cpu, in);
    unsigned size = in->opcode == 0xd9 ? 4 : in->opcode == 0xdd ? 8 : 10;
    if (size != 10 && x87_um_clear(cpu))
        return x87_op_mem(cpu, in);
    bool pop = (in->reg & 7) != 2;
    unsigned fop = x87_fop_of(cpu, in);
    uint64_t lin = x86_ea(cpu, in);
    void *dst = x87_probe(cpu, lin, size, true, X87_PROBE_OPERAND);
    uint8_t buf[16];
    unsigned sw = 0;
    if (size == 4)
        sw = host_fstp32(x87_st(cpu, 0), buf, host_cw(cpu));
    else if (size == 8)
        sw = host_fstp64(x87_st(cpu, 0), buf, host_cw(cpu));
    else
        memcpy(buf, x87_st(cpu, 0), 10);
    if (x87_unmasked(cpu, sw))
        return x87_op_mem(cpu, in);
    memcpy(dst, buf, size);
    if (pop)
        x87_pop(cpu);
    x87_status(cpu, sw);
    x87_note_insn(cpu, in, fop);
    x87_note_data(cpu, in, lin);
}

/* DF /3 FISTP m16int, DB /3 FISTP m32int, DF /7 FISTP m64int. */
void x87_fast_fist(struct x86_cpu *cpu, const struct x86_insn *in)
{
    x87_wait(cpu);
    if (x87_st_empty(cpu, 0))
        return x87_op_mem(cpu, in);
    unsigned fop = x87_fop_of(cpu, in);
    uint64_t lin = x86_ea(cpu, in);
    unsigned size = in->opcode == 0xdb ? 4 : (in->reg & 7) == 7 ? 8 : 2;
    void *dst = x87_probe(cpu, lin, size, true, X87_PROBE_OPERAND);
    uint8_t buf[8];
    unsigned sw;
    if (size == 2)
        sw = host_fistp16(x87_st(cpu, 0), buf, host_cw(cpu));
    else if (size == 4)
        sw = host_fistp32(x87_st(cpu, 0), buf, host_cw(cpu));
    else
        sw = host_fistp64(x87_st(cpu, 0), buf, host_cw(cpu));
    if (x87_unmasked(cpu, sw))
        return x87_op_mem(cpu, in);
    memcpy(dst, buf, size);
    x87_pop(cpu);
    x87_status(cpu, sw);
    x87_note_insn(cpu, in, fop);
    x87_note_data(cpu, in, lin);
}

/* r = a op b with op as D8's ModRM.reg (0 add, 1 mul, 4 sub, 5 subr, 6 div,
 * 7 divr): a is the destination, b the source, as in the guest's form. */
#define HOST_ARITH(op)                                                                             \
    static unsigned host_arith_##op(const x86_fpreg *a, const x86_fpreg *b, x86_fpreg *r,          \
                                    uint16_t cw)                                                   \
    {                                                                                              \
        uint16_t save, sw;                                                                         \
        __asm__ volatile(HOST_ENTER "fldt %[b]\n\t"                                                \
                                    "fldt %[a]\n\t"                                                \
                                    ".byte 0xd8, 0xc1 + 8 * " #op "\n\t"                           \
                                    "fnstsw %[sw]\n\t"                                             \
                                    "fstpt %[r]\n\t"                                               \
                                    "fstp %%st(0)" HOST_LEAVE                                      \
                         : [save] "=m"(save), [sw] "=m"(sw), [r] "=m"(*r)                          \
                         : [cw] "m"(cw), [a] "m"(*a), [b] "m"(*b)                                  \
                         : "cc", "rax", X87_CLOBBERS);                                             \
        return sw;                                                                                 \
    }
HOST_ARITH(0)
HOST_ARITH(1)
HOST_ARITH(4)
HOST_ARITH(5)
HOST_ARITH(6)
HOST_ARITH(7)

/* r = a op m, the guest's own memory form (D8: m32fp, DC: m64fp) on
 * (%rsi), so a denormal or signaling source raises what it raises. */
#define HOST_ARITH_M(opc, op)                                                                      \
    static unsigned host_arith_m_##opc##_##op(const x86_fpreg *a, const void *m, x86_fpreg *r,     \
                                              uint16_t cw)                                         \
    {                                                                                              \
        uint16_t save, sw;                                                                         \
        __asm__ volatile(HOST_ENTER "fldt %[a]\n\t"                                                \
                                    ".byte " #opc ", 0x06 + 8 * " #op "\n\t"                       \
                                    "fnstsw %[sw]\n\t"                                             \
                                    "fstpt %[r]" HOST_LEAVE                                        \
                         : [save] "=m"(save), [sw] "=m"(sw), [r] "=m"(*r)                          \
                         : [cw] "m"(cw), [a] "m"(*a), "S"(m), "m"(*(const uint64_t *)m)            \
                         : "cc", "rax", X87_CLOBBERS);                                             \
        return sw;                                                                                 \
    }
#define HOST_ARITH_M_ALL(opc)                                                                      \
    HOST_ARITH_M(opc, 0)                                                                           \
    HOST_ARITH_M(opc, 1)                                                                           \
    HOST_ARITH_M(opc, 4)                                                                           \
    HOST_ARITH_M(opc, 5)                                                                           \
    HOST_ARITH_M(opc, 6)                                                                           \
    HOST_ARITH_M(opc, 7)
HOST_ARITH_M_ALL(0xd8)
HOST_ARITH_M_ALL(0xdc)

typedef unsigned host_arith_fn(const x86_fpreg *a, const x86_fpreg *b, x86_fpreg *r, uint16_t cw);
typedef unsigned host_arith_m_fn(const x86_fpreg *a, const void *m, x86_fpreg *r, uint16_t cw);

static host_arith_fn *const host_arith[8] = {
    host_arith_0, host_arith_1, NULL, NULL, host_arith_4, host_arith_5, host_arith_6, host_arith_7,
};

static host_arith_m_fn *const host_arith_m[2][8] = {
    {host_arith_m_0xd8_0, host_arith_m_0xd8_1, NULL, NULL, host_arith_m_0xd8_4, host_arith_m_0xd8_5,
     host_arith_m_0xd8_6, host_arith_m_0xd8_7},
    {host_arith_m_0xdc_0, host_arith_m_0xdc_1, NULL, NULL, host_arith_m_0xdc_4, host_arith_m_0xdc_5,
     host_arith_m_0xdc_6, host_arith_m_0xdc_7},
};

/* D8 /r ST(0) = ST(0) op ST(i); DC /r ST(i) = ST(i) op' ST(0), DE /r the
 * same and pop. DC and DE swap the reversed forms (DC E0+i is FSUBR
 * ST(i),ST(0): ST(0) - ST(i)). */
void x87_fast_arith_st(struct x86_cpu *cpu, const struct x86_insn *in)
{
    x87_wait(cpu);
    unsigned i = in->rm & 7, op = in->reg & 7;
    if (x87_st_empty(cpu, 0) || x87_st_empty(cpu, i) || x87_um_clear(cpu))
        return x87_op_reg(cpu, in);
    unsigned d = in->opcode == 0xd8 ? 0 : i, s = in->opcode == 0xd8 ? i : 0;
    if (in->opcode != 0xd8 && op >= 4)
        op ^= 1;
    x86_fpreg r;
    unsigned sw = host_arith[op](x87_st(cpu, d), x87_st(cpu, s), &r, host_cw(cpu));
    if (x87_unmasked(cpu, sw))
        return x87_op_reg(cpu, in);
    *x87_st(cpu, d) = r;
    if (in->opcode == 0xde)
        x87_pop(cpu);
    x87_status(cpu, sw);
    x87_note_insn(cpu, in, x87_fop_of(cpu, in));
}

/* D8 /r m32fp, DC /r m64fp (not the compares). */
void x87_fast_arith_m(struct x86_cpu *cpu, const struct x86_insn *in)
{
    x87_wait(cpu);
    if (x87_st_empty(cpu, 0) || x87_um_clear(cpu))
        return x87_op_mem(cpu, in);
    unsigned fop = x87_fop_of(cpu, in);
    uint64_t lin = x86_ea(cpu, in);
    uint64_t m = in->opcode == 0xd8 ? x86_load32(cpu, lin) : x86_load64(cpu, lin);
    x86_fpreg r;
    unsigned sw =
        host_arith_m[in->opcode == 0xdc][in->reg & 7](x87_st(cpu, 0), &m, &r, host_cw(cpu));
    if (x87_unmasked(cpu, sw))
        return x87_op_mem(cpu, in);
    *x87_st(cpu, 0) = r;
    x87_status(cpu, sw);
    x87_note_insn(cpu, in, fop);
    x87_note_data(cpu, in, lin);
}

/* D9 E8-EE: FLD1 FLDL2T FLDL2E FLDPI FLDLG2 FLDLN2 FLDZ. The irrational
 * ones round by the rounding control: the host loads them. */
#define HOST_CONST(k)                                                                              \
    static void host_const_##k(x86_fpreg *r, uint16_t cw)                                          \
    {                                                                                              \
        uint16_t save;                                                                             \
        __asm__ volatile(HOST_ENTER ".byte 0xd9, 0xe8 + " #k "\n\t"                                \
                                    "fstpt %[r]" HOST_LEAVE                                        \
                         : [save] "=m"(save), [r] "=m"(*r)                                         \
                         : [cw] "m"(cw)                                                            \
                         : "cc", "rax", X87_CLOBBERS);                                             \
    }
HOST_CONST(1)
HOST_CONST(2)
HOST_CONST(3)
HOST_CONST(4)
HOST_CONST(5)

static void (*const host_const[7])(x86_fpreg *r, uint16_t cw) = {
    NULL, host_const_1, host_const_2, host_const_3, host_const_4, host_const_5, NULL,
};

void x87_fast_const(struct x86_cpu *cpu, const struct x86_insn *in)
{
    x87_wait(cpu);
    unsigned k = in->rm & 7;
    if (!x87_can_push(cpu))
        return x87_op_reg(cpu, in);
    x86_fpreg v;
    memset(&v, 0, sizeof(v));
    if (k == 0) {
        v.raw.mant = 1ULL << 63;
        v.raw.sign_exp = 0x3fff;
    } else if (k != 6) {
        host_const[k](&v, host_cw(cpu));
    }
    x87_push(cpu, &v);
    x87_status(cpu, 0);
    x87_note_insn(cpu, in, x87_fop_of(cpu, in));
}

/* DB E8+i FUCOMI, DB F0+i FCOMI, DF E8+i FUCOMIP, DF F0+i FCOMIP: ZF PF CF
 * from the compare, OF SF AF cleared. */
#define HOST_COMI(name, b1)                                                                        \
    static unsigned name(const x86_fpreg *a, const x86_fpreg *b, uint16_t cw, uint64_t *flags)     \
    {                                                                                              \
        uint16_t save, sw;                                                                         \
        uint8_t zf, pf, cf;                                                                        \
        __asm__ volatile(                                                                          \
            HOST_ENTER "fldt %[b]\n\t"                                                             \
                       "fldt %[a]\n\t"                                                             \
                       ".byte 0xdb, " #b1 "\n\t"                                                   \
                       "setz %[zf]\n\t"                                                            \
                       "setp %[pf]\n\t"                                                            \
                       "setc %[cf]\n\t"                                                            \
                       "fnstsw %[sw]\n\t"                                                          \
                       "fstp %%st(0)\n\t"                                                          \
                       "fstp %%st(0)" HOST_LEAVE                                                   \
            : [save] "=m"(save), [sw] "=m"(sw), [zf] "=&q"(zf), [pf] "=&q"(pf), [cf] "=&q"(cf)     \
            : [cw] "m"(cw), [a] "m"(*a), [b] "m"(*b)                                               \
            : "cc", "rax", X87_CLOBBERS);                                                          \
        *flags = (zf ? X86_FLAG_ZF : 0) | (pf ? X86_FLAG_PF : 0) | (cf ? X86_FLAG_CF : 0);         \
        return sw;                                                                                 \
    }
HOST_COMI(host_fucomi, 0xe9)
HOST_COMI(host_fcomi, 0xf1)

void x87_fast_fcomi(struct x86_cpu *cpu, const struct x86_insn *in)
{
    x87_wait(cpu);
    unsigned i = in->rm & 7;
    if (x87_st_empty(cpu, 0) || x87_st_empty(cpu, i))
        return x87_op_reg_eflags(cpu, in);
    uint64_t flags;
    uint16_t cw = host_cw(cpu);
    unsigned sw = (in->reg & 7) == 5 ? host_fucomi(x87_st(cpu, 0), x87_st(cpu, i), cw, &flags)
                                     : host_fcomi(x87_st(cpu, 0), x87_st(cpu, i), cw, &flags);
    if (x87_unmasked(cpu, sw))
        return x87_op_reg_eflags(cpu, in);
    x86_flags_set(cpu, flags);
    if (in->opcode == 0xdf)
        x87_pop(cpu);
    cpu->fpu.fsw |= (uint16_t)(sw & X87_EXC); /* C1 stays as it was */
    x87_note_insn(cpu, in, x87_fop_of(cpu, in));
}
