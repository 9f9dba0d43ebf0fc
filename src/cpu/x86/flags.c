/* Lazy arithmetic flags: evaluation of the recorded operation (flags.h).
 *
 * x86_cond() is the hot reader (every Jcc, SETcc, CMOVcc): for the kinds
 * that dominate real code (SUB/CMP, LOGIC/TEST, ADD, INC/DEC) it answers
 * from the operands directly, specialized per operand size and without
 * branches on the condition; everything else goes through
 * x86_flags_eval(). x86_flag_cf() serves ADC/SBB/INC/DEC/RCL/RCR.
 */
#include "cpu/x86/flags.h"
#include "cpu/x86/operand.h"

#define FLAGS_INLINE static inline __attribute__((always_inline))

FLAGS_INLINE uint64_t msb(uint64_t v, unsigned osz)
{
    return (v >> ((8u << osz) - 1)) & 1;
}

/* PF, ZF and SF of a result. */
FLAGS_INLINE uint64_t flags_pzs(uint64_t res, unsigned osz)
{
    uint64_t f = __builtin_parity((unsigned)(res & 0xff)) ? 0 : X86_FLAG_PF;
    if ((res & x86_mask(osz)) == 0)
        f |= X86_FLAG_ZF;
    if (msb(res, osz))
        f |= X86_FLAG_SF;
    return f;
}

FLAGS_INLINE uint64_t flag_if(bool c, uint64_t flag)
{
    return c ? flag : 0;
}

/* AF and OF of an addition and a subtraction (carry-in included). */
FLAGS_INLINE uint64_t flags_add_ao(uint64_t a, uint64_t b, uint64_t r, unsigned osz)
{
    return ((a ^ b ^ r) & X86_FLAG_AF) | flag_if(msb((a ^ r) & (b ^ r), osz), X86_FLAG_OF);
}

FLAGS_INLINE uint64_t flags_sub_ao(uint64_t a, uint64_t b, uint64_t r, unsigned osz)
{
    return ((a ^ b ^ r) & X86_FLAG_AF) | flag_if(msb((a ^ b) & (a ^ r), osz), X86_FLAG_OF);
}

/* Shift count c (1-63) out of src (already masked) at width w. */
FLAGS_INLINE uint64_t shl_cf(uint64_t src, unsigned c, unsigned osz)
{
    unsigned w = 8u << osz;
    return c > w ? 0 : (src >> (w - c)) & 1;
}

FLAGS_INLINE uint64_t shr_cf(uint64_t src, unsigned c, unsigned osz, bool arith)
{
    if (arith)
        return ((uint64_t)(x86_sext(src, osz) >> (c - 1))) & 1;
    return (src >> (c - 1)) & 1;
}

static uint64_t eval(const struct x86_cpu *cpu, unsigned kind, unsigned osz)
{
    uint64_t m = x86_mask(osz);
    uint64_t r = cpu->cc_res & m, a = cpu->cc_src1 & m, b = cpu->cc_src2 & m;
    uint64_t f = flags_pzs(r, osz);
    uint64_t cin;

    switch (kind) {
    case X86_CC_KIND_FLAGS:
        return cpu->rflags & X86_FLAGS_ARITH;
    case X86_CC_KIND_ADD:
        return f | flag_if(r < a, X86_FLAG_CF) | flags_add_ao(a, b, r, osz);
    case X86_CC_KIND_ADC:
        cin = (r - a - b) & 1;
        return f | flag_if(cin ? r <= a : r < a, X86_FLAG_CF) | flags_add_ao(a, b, r, osz);
    case X86_CC_KIND_SUB:
        return f | flag_if(a < b, X86_FLAG_CF) | flags_sub_ao(a, b, r, osz);
    case X86_CC_KIND_SBB:
        cin = (a - b - r) & 1;
        return f | flag_if(cin ? a <= b : a < b, X86_FLAG_CF) | flags_sub_ao(a, b, r, osz);
    case X86_CC_KIND_LOGIC:
        return f;
    case X86_CC_KIND_INC:
        return f | (b & 1) | flags_add_ao(a, 1, r, osz);
    case X86_CC_KIND_DEC:
        return f | (b & 1) | flags_sub_ao(a, 1, r, osz);
    case X86_CC_KIND_NEG:
        return f | flag_if(a != 0, X86_FLAG_CF) | flags_sub_ao(0, a, r, osz);
    case X86_CC_KIND_SHL: {
        uint64_t cf = shl_cf(a, (unsigned)b, osz);
        return f | cf | X86_FLAG_AF | flag_if(msb(r, osz) ^ cf, X86_FLAG_OF);
    }
    case X86_CC_KIND_SHR:
    case X86_CC_KIND_SAR:
        return f | shr_cf(a, (unsigned)b, osz, kind == X86_CC_KIND_SAR) | X86_FLAG_AF |
               flag_if(msb(r ^ (r << 1), osz), X86_FLAG_OF);
    case X86_CC_KIND_MUL:
    case X86_CC_KIND_IMUL:
        return f | flag_if(a != 0, X86_FLAG_CF | X86_FLAG_OF);
    default:
        return cpu->rflags & X86_FLAGS_ARITH;
    }
}

uint64_t x86_flags_eval(const struct x86_cpu *cpu)
{
    return eval(cpu, cpu->cc_op >> 2, cpu->cc_op & 3);
}

void x86_flags_materialize(struct x86_cpu *cpu)
{
    if (cpu->cc_op == X86_CC_FLAGS)
        return;
    cpu->rflags = (cpu->rflags & ~(uint64_t)X86_FLAGS_ARITH) | x86_flags_eval(cpu);
    cpu->cc_op = X86_CC_FLAGS;
}

void x86_flags_set(struct x86_cpu *cpu, uint64_t arith_flags)
{
    cpu->rflags = (cpu->rflags & ~(uint64_t)X86_FLAGS_ARITH) | (arith_flags & X86_FLAGS_ARITH);
    cpu->cc_op = X86_CC_FLAGS;
}

bool x86_flag_cf(const struct x86_cpu *cpu)
{
    unsigned osz = cpu->cc_op & 3;
    uint64_t m = x86_mask(osz);
    uint64_t r = cpu->cc_res & m, a = cpu->cc_src1 & m, b = cpu->cc_src2 & m;

    switch (cpu->cc_op >> 2) {
    case X86_CC_KIND_FLAGS:
        return cpu->rflags & X86_FLAG_CF;
    case X86_CC_KIND_ADD:
        return r < a;
    case X86_CC_KIND_ADC:
        return ((r - a - b) & 1) ? r <= a : r < a;
    case X86_CC_KIND_SUB:
        return a < b;
    case X86_CC_KIND_SBB:
        return ((a - b - r) & 1) ? a <= b : a < b;
    case X86_CC_KIND_LOGIC:
        return false;
    case X86_CC_KIND_INC:
    case X86_CC_KIND_DEC:
        return b & 1;
    case X86_CC_KIND_NEG:
        return a != 0;
    default:
        return x86_flags_eval(cpu) & X86_FLAG_CF;
    }
}

/* x86_cond: the eight base conditions (O B E BE S P L LE, bit cc >> 1) are
 * computed together, without branches, from the operands of the fast
 * kinds; condition cc is then one bit, inverted when cc is odd. This beats
 * a switch on cc: the condition at the one call site in the interpreter
 * changes from instruction to instruction and defeats branch prediction. */
FLAGS_INLINE unsigned cond_bits(uint64_t o, uint64_t c, uint64_t z, uint64_t s, uint64_t p)
{
    uint64_t l = s ^ o;
    return (unsigned)(o | c << 1 | z << 2 | (c | z) << 3 | s << 4 | p << 5 | l << 6 | (z | l) << 7);
}

FLAGS_INLINE uint64_t parity_even(uint64_t r)
{
    return !__builtin_parity((unsigned)(r & 0xff));
}

FLAGS_INLINE unsigned cond_bits_flags(uint64_t f)
{
    return cond_bits(f >> 11 & 1, f & 1, f >> 6 & 1, f >> 7 & 1, f >> 2 & 1);
}

/* CMP/SUB: CF and ZF straight from the operands. */
FLAGS_INLINE unsigned cond_bits_sub(const struct x86_cpu *cpu, unsigned osz)
{
    uint64_t m = x86_mask(osz), a = cpu->cc_src1 & m, b = cpu->cc_src2 & m, r = (a - b) & m;
    return cond_bits(msb((a ^ b) & (a ^ r), osz), a < b, a == b, msb(r, osz), parity_even(r));
}

FLAGS_INLINE unsigned cond_bits_add(const struct x86_cpu *cpu, unsigned osz)
{
    uint64_t m = x86_mask(osz), a = cpu->cc_src1 & m, b = cpu->cc_src2 & m, r = (a + b) & m;
    return cond_bits(msb((a ^ r) & (b ^ r), osz), r < a, r == 0, msb(r, osz), parity_even(r));
}

/* AND/OR/XOR/TEST: CF = OF = 0. */
FLAGS_INLINE unsigned cond_bits_logic(const struct x86_cpu *cpu, unsigned osz)
{
    uint64_t r = cpu->cc_res & x86_mask(osz);
    return cond_bits(0, 0, r == 0, msb(r, osz), parity_even(r));
}

/* INC/DEC: OF only at the signed boundary, CF as it was (src2). */
FLAGS_INLINE unsigned cond_bits_incdec(const struct x86_cpu *cpu, unsigned osz, bool inc)
{
    uint64_t m = x86_mask(osz), r = cpu->cc_res & m, edge = (m >> 1) + inc;
    return cond_bits(r == edge, cpu->cc_src2 & 1, r == 0, msb(r, osz), parity_even(r));
}

#define COND_SIZES(kind, ...)                                                                      \
    case X86_CC(kind, 0):                                                                          \
        b = __VA_ARGS__(cpu, 0);                                                                   \
        break;                                                                                     \
    case X86_CC(kind, 1):                                                                          \
        b = __VA_ARGS__(cpu, 1);                                                                   \
        break;                                                                                     \
    case X86_CC(kind, 2):                                                                          \
        b = __VA_ARGS__(cpu, 2);                                                                   \
        break;                                                                                     \
    case X86_CC(kind, 3):                                                                          \
        b = __VA_ARGS__(cpu, 3);                                                                   \
        break;

FLAGS_INLINE unsigned cond_bits_inc(const struct x86_cpu *cpu, unsigned osz)
{
    return cond_bits_incdec(cpu, osz, true);
}

FLAGS_INLINE unsigned cond_bits_dec(const struct x86_cpu *cpu, unsigned osz)
{
    return cond_bits_incdec(cpu, osz, false);
}

bool x86_cond(const struct x86_cpu *cpu, unsigned cc)
{
    unsigned b;

    switch (cpu->cc_op) {
    case X86_CC_FLAGS:
        b = cond_bits_flags(cpu->rflags);
        break;
        COND_SIZES(X86_CC_KIND_SUB, cond_bits_sub)
        COND_SIZES(X86_CC_KIND_LOGIC, cond_bits_logic)
        COND_SIZES(X86_CC_KIND_ADD, cond_bits_add)
        COND_SIZES(X86_CC_KIND_INC, cond_bits_inc)
        COND_SIZES(X86_CC_KIND_DEC, cond_bits_dec)
    default:
        b = cond_bits_flags(x86_flags_eval(cpu));
        break;
    }
    return ((b >> (cc >> 1)) ^ cc) & 1;
}
