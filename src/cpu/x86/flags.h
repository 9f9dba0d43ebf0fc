/* Lazy arithmetic flags.
 *
 * A flag-setting instruction does not compute RFLAGS: it records what it
 * did (cc_op: the kind of operation and its operand size) and its result
 * and operands (cc_res, cc_src1, cc_src2). Flags are computed only when
 * something reads them: a Jcc/SETcc/CMOVcc (x86_cond), PUSHF, LAHF, ADC/SBB
 * (x86_flag_cf), or an exception. cc_op X86_CC_FLAGS means the arithmetic
 * flags are already materialized in cpu->rflags.
 *
 * cc_op = kind << 2 | osz (osz: log2 operand size in bytes).
 *
 * What each kind keeps (values zero-extended from the operand size; flags.c
 * masks them again, so a caller may pass an untruncated result):
 *   ADD, SUB     res, src1, src2 of res = src1 +/- src2 (CMP: SUB);
 *   ADC, SBB     the same with the carry-in added/subtracted: it is not
 *                stored, it is res - src1 - src2 (resp. src1 - src2 - res);
 *   LOGIC        res (src1, src2 unused): CF = OF = AF = 0;
 *   INC, DEC     src1 the operand before, src2 the CF before (0 or 1);
 *   NEG          src1 the operand before (res = 0 - src1);
 *   SHL          src1 the value before, src2 the masked count (1-63):
 *                CF = last bit shifted out (0 past the operand size),
 *                OF = MSB(res) ^ CF (the SDM's count-1 rule; this is also
 *                what AMD gives for larger counts); SHLD by less than
 *                the operand size uses it too;
 *   SHR, SAR     likewise: CF = bit count-1 of src1 (sign-extended for
 *                SAR), OF = MSB(res) ^ MSB-1(res) (count 1: the SDM's
 *                MSB(src1) for SHR and 0 for SAR; AMD for larger counts);
 *                SHRD uses SHR with src1 = the destination;
 *                AF = 1 for all three (undefined; AMD sets it);
 *   MUL          res the low half, src1 the high half: CF = OF = src1 != 0;
 *   IMUL         res the truncated product, src1 1 if it overflowed;
 *                for MUL/IMUL SF ZF PF come from res and AF = 0
 *                (undefined in the SDM).
 * Rotates, BT*, CLC/STC/CMC, SAHF and CMPXCHG8B change some flags and keep
 * the others: they materialize and edit rflags.
 */
#ifndef XUNI_CPU_X86_FLAGS_H
#define XUNI_CPU_X86_FLAGS_H

#include <stdbool.h>

#include "cpu/x86/cpu.h"

enum x86_cc_kind {
    X86_CC_KIND_FLAGS, /* materialized in rflags */
    X86_CC_KIND_ADD,   /* res = src1 + src2 */
    X86_CC_KIND_ADC,   /* res = src1 + src2 + CF (the carry-in is res - src1 - src2) */
    X86_CC_KIND_SUB,   /* res = src1 - src2 (also CMP) */
    X86_CC_KIND_SBB,
    X86_CC_KIND_LOGIC, /* AND/OR/XOR/TEST: CF = OF = 0 */
    X86_CC_KIND_INC,   /* CF preserved: kept in cc_src2 */
    X86_CC_KIND_DEC,
    X86_CC_KIND_NEG,
    X86_CC_KIND_SHL, /* flag rules of each above */
    X86_CC_KIND_SHR,
    X86_CC_KIND_SAR,
    X86_CC_KIND_MUL,  /* CF = OF = high half non-zero (src1 holds the high half) */
    X86_CC_KIND_IMUL, /* CF = OF = result does not fit (src1 holds the overflow indicator) */
    X86_CC_NKINDS,
};

#define X86_CC_FLAGS      0u
#define X86_CC(kind, osz) ((uint32_t)(kind) << 2 | (osz))

static inline void x86_set_cc(struct x86_cpu *cpu, uint32_t op, uint64_t res, uint64_t src1,
                              uint64_t src2)
{
    cpu->cc_op = op;
    cpu->cc_res = res;
    cpu->cc_src1 = src1;
    cpu->cc_src2 = src2;
}

/* The six arithmetic flags (CF PF AF ZF SF OF bits) of the lazy state. */
uint64_t x86_flags_eval(const struct x86_cpu *cpu);

/* Materialize: after this, cc_op is X86_CC_FLAGS and rflags holds them. */
void x86_flags_materialize(struct x86_cpu *cpu);

/* Carry flag only (fast for ADC/SBB/RCL/RCR). */
bool x86_flag_cf(const struct x86_cpu *cpu);

/* Condition code cc (0-15, as in Jcc/SETcc/CMOVcc: O NO B AE E NE BE A S NS
 * P NP L GE LE G). */
bool x86_cond(const struct x86_cpu *cpu, unsigned cc);

/* Set the arithmetic flags explicitly (materialized), e.g. after POPF. */
void x86_flags_set(struct x86_cpu *cpu, uint64_t arith_flags);

#endif
