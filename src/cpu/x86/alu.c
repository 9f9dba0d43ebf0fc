/* Integer arithmetic and logic: ADD OR ADC SBB AND SUB XOR CMP in all their
 * forms, TEST, INC/DEC, NEG/NOT, XADD, CMPXCHG, CMPXCHG8B/16B.
 *
 * One inline worker per shape (r/m destination, register destination),
 * instantiated per operation so each op function is straight-line code.
 * Flags are lazy (flags.h). A memory destination is loaded, computed and
 * stored before the flags are recorded, so a fault on the store leaves the
 * old flags; with LOCK the read-modify-write is one host atomic.
 */
#include "cpu/x86/atomic.h"
#include "cpu/x86/flags.h"
#include "cpu/x86/operand.h"

#define ALU_INLINE static inline __attribute__((always_inline))

/* In opcode order: bits 5:3 of 00-3F and ModRM.reg of 80/81/83. */
enum alu_op { ALU_ADD, ALU_OR, ALU_ADC, ALU_SBB, ALU_AND, ALU_SUB, ALU_XOR, ALU_CMP };

ALU_INLINE uint64_t alu_result(enum alu_op op, uint64_t a, uint64_t b, uint64_t cin)
{
    switch (op) {
    case ALU_ADD:
        return a + b;
    case ALU_OR:
        return a | b;
    case ALU_ADC:
        return a + b + cin;
    case ALU_SBB:
        return a - b - cin;
    case ALU_AND:
        return a & b;
    case ALU_XOR:
        return a ^ b;
    default:
        return a - b;
    }
}

ALU_INLINE uint32_t alu_cc(enum alu_op op, unsigned osz)
{
    switch (op) {
    case ALU_ADD:
        return X86_CC(X86_CC_KIND_ADD, osz);
    case ALU_ADC:
        return X86_CC(X86_CC_KIND_ADC, osz);
    case ALU_SBB:
        return X86_CC(X86_CC_KIND_SBB, osz);
    case ALU_SUB:
    case ALU_CMP:
        return X86_CC(X86_CC_KIND_SUB, osz);
    default:
        return X86_CC(X86_CC_KIND_LOGIC, osz);
    }
}

ALU_INLINE uint64_t alu_carry_in(const struct x86_cpu *cpu, enum alu_op op)
{
    return (op == ALU_ADC || op == ALU_SBB) ? x86_flag_cf(cpu) : 0;
}

/* LOCK op [ea], src: returns the old value. */
static uint64_t alu_locked(struct x86_cpu *cpu, uint64_t ea, unsigned osz, enum alu_op op,
                           uint64_t src, uint64_t cin)
{
    void *p = x86_mem_ptr(cpu, ea, 1u << osz, 1);
    uint64_t old;

    switch (op) {
    case ALU_ADD:
        return x86_atomic_fetch_add(p, osz, src);
    case ALU_SUB:
        return x86_atomic_fetch_sub(p, osz, src);
    case ALU_OR:
        return x86_atomic_fetch_or(p, osz, src);
    case ALU_AND:
        return x86_atomic_fetch_and(p, osz, src);
    case ALU_XOR:
        return x86_atomic_fetch_xor(p, osz, src);
    default: /* ADC, SBB: no host fetch-op; CMP never gets here */
        old = x86_atomic_load(p, osz);
        while (!x86_atomic_cas(p, osz, &old, alu_result(op, old, src, cin)))
            ;
        return old;
    }
}

/* op [mem], src: out of line, so the register path stays lean. */
static __attribute__((noinline)) void alu_mem(struct x86_cpu *cpu, const struct x86_insn *in,
                                              enum alu_op op, uint64_t src)
{
    unsigned osz = in->osz;
    uint64_t m = x86_mask(osz), cin = alu_carry_in(cpu, op), ea = x86_ea(cpu, in), a, r;

    if (op != ALU_CMP && (in->flags & X86_I_LOCK)) {
        a = alu_locked(cpu, ea, osz, op, src, cin);
        r = alu_result(op, a, src, cin) & m;
    } else {
        a = x86_load(cpu, ea, osz);
        r = alu_result(op, a, src, cin) & m;
        if (op != ALU_CMP)
            x86_store(cpu, ea, osz, r);
    }
    x86_set_cc(cpu, alu_cc(op, osz), r, a, src);
}

/* op r/m, src */
ALU_INLINE void alu_rm(struct x86_cpu *cpu, const struct x86_insn *in, enum alu_op op, uint64_t src)
{
    unsigned osz = in->osz;
    uint64_t m = x86_mask(osz), a, r;

    src &= m;
    if (in->flags & X86_I_MEM) {
        alu_mem(cpu, in, op, src);
        return;
    }
    a = x86_reg_read(cpu, in->rm, osz);
    r = alu_result(op, a, src, alu_carry_in(cpu, op)) & m;
    if (op != ALU_CMP)
        x86_reg_write(cpu, in->rm, osz, r);
    x86_set_cc(cpu, alu_cc(op, osz), r, a, src);
}

/* op reg, src (the source was read first: it is the access that can fault) */
ALU_INLINE void alu_reg(struct x86_cpu *cpu, unsigned reg, unsigned osz, enum alu_op op,
                        uint64_t src)
{
    uint64_t m = x86_mask(osz), cin = alu_carry_in(cpu, op);
    uint64_t a = x86_reg_read(cpu, reg, osz);
    uint64_t r = alu_result(op, a, src & m, cin) & m;

    if (op != ALU_CMP)
        x86_reg_write(cpu, reg, osz, r);
    x86_set_cc(cpu, alu_cc(op, osz), r, a, src & m);
}

/* The four forms of each operation: Ev,Gv (00/01); Gv,Ev (02/03);
 * rAX,Iz (04/05); Ev,Iz (80/81/83, immediate already sign-extended). */
#define ALU_FORMS(name, OP)                                                                        \
    static void alu_##name##_eg(struct x86_cpu *cpu, const struct x86_insn *in)                    \
    {                                                                                              \
        alu_rm(cpu, in, OP, x86_reg_read(cpu, in->reg, in->osz));                                  \
    }                                                                                              \
    static void alu_##name##_ge(struct x86_cpu *cpu, const struct x86_insn *in)                    \
    {                                                                                              \
        alu_reg(cpu, in->reg, in->osz, OP, x86_rm_read(cpu, in, in->osz));                         \
    }                                                                                              \
    static void alu_##name##_ai(struct x86_cpu *cpu, const struct x86_insn *in)                    \
    {                                                                                              \
        alu_reg(cpu, X86_RAX, in->osz, OP, (uint64_t)in->imm);                                     \
    }                                                                                              \
    static void alu_##name##_ei(struct x86_cpu *cpu, const struct x86_insn *in)                    \
    {                                                                                              \
        alu_rm(cpu, in, OP, (uint64_t)in->imm);                                                    \
    }

ALU_FORMS(add, ALU_ADD)
ALU_FORMS(or, ALU_OR)
ALU_FORMS(adc, ALU_ADC)
ALU_FORMS(sbb, ALU_SBB)
ALU_FORMS(and, ALU_AND)
ALU_FORMS(sub, ALU_SUB)
ALU_FORMS(xor, ALU_XOR)
ALU_FORMS(cmp, ALU_CMP)

ALU_INLINE void alu_test(struct x86_cpu *cpu, unsigned osz, uint64_t a, uint64_t b)
{
    x86_set_cc(cpu, X86_CC(X86_CC_KIND_LOGIC, osz), a & b & x86_mask(osz), 0, 0);
}

static void alu_test_eg(struct x86_cpu *cpu, const struct x86_insn *in)
{
    alu_test(cpu, in->osz, x86_rm_read(cpu, in, in->osz), x86_reg_read(cpu, in->reg, in->osz));
}

static void alu_test_ei(struct x86_cpu *cpu, const struct x86_insn *in)
{
    alu_test(cpu, in->osz, x86_rm_read(cpu, in, in->osz), (uint64_t)in->imm);
}

static void alu_test_ai(struct x86_cpu *cpu, const struct x86_insn *in)
{
    alu_test(cpu, in->osz, cpu->gpr[X86_RAX], (uint64_t)in->imm);
}

/* INC/DEC: CF survives, recorded in src2. */
ALU_INLINE void alu_incdec(struct x86_cpu *cpu, const struct x86_insn *in, bool inc)
{
    unsigned osz = in->osz;
    uint64_t m = x86_mask(osz), cf = x86_flag_cf(cpu), d = inc ? 1 : m, a, r;

    if (!(in->flags & X86_I_MEM)) {
        a = x86_reg_read(cpu, in->rm, osz);
        r = (a + d) & m;
        x86_reg_write(cpu, in->rm, osz, r);
    } else if (in->flags & X86_I_LOCK) {
        a = x86_atomic_fetch_add(x86_mem_ptr(cpu, x86_ea(cpu, in), 1u << osz, 1), osz, d);
        r = (a + d) & m;
    } else {
        uint64_t ea = x86_ea(cpu, in);
        a = x86_load(cpu, ea, osz);
        r = (a + d) & m;
        x86_store(cpu, ea, osz, r);
    }
    x86_set_cc(cpu, X86_CC(inc ? X86_CC_KIND_INC : X86_CC_KIND_DEC, osz), r, a, cf);
}

static void alu_inc(struct x86_cpu *cpu, const struct x86_insn *in)
{
    alu_incdec(cpu, in, true);
}

static void alu_dec(struct x86_cpu *cpu, const struct x86_insn *in)
{
    alu_incdec(cpu, in, false);
}

static void alu_not(struct x86_cpu *cpu, const struct x86_insn *in)
{
    unsigned osz = in->osz;
    uint64_t m = x86_mask(osz);

    if (!(in->flags & X86_I_MEM)) {
        x86_reg_write(cpu, in->rm, osz, ~x86_reg_read(cpu, in->rm, osz));
    } else if (in->flags & X86_I_LOCK) {
        x86_atomic_fetch_xor(x86_mem_ptr(cpu, x86_ea(cpu, in), 1u << osz, 1), osz, m);
    } else {
        uint64_t ea = x86_ea(cpu, in);
        x86_store(cpu, ea, osz, ~x86_load(cpu, ea, osz));
    }
}

static void alu_neg(struct x86_cpu *cpu, const struct x86_insn *in)
{
    unsigned osz = in->osz;
    uint64_t m = x86_mask(osz), a;

    if (!(in->flags & X86_I_MEM)) {
        a = x86_reg_read(cpu, in->rm, osz);
        x86_reg_write(cpu, in->rm, osz, -a);
    } else if (in->flags & X86_I_LOCK) {
        void *p = x86_mem_ptr(cpu, x86_ea(cpu, in), 1u << osz, 1);
        a = x86_atomic_load(p, osz);
        while (!x86_atomic_cas(p, osz, &a, -a))
            ;
    } else {
        uint64_t ea = x86_ea(cpu, in);
        a = x86_load(cpu, ea, osz);
        x86_store(cpu, ea, osz, -a);
    }
    x86_set_cc(cpu, X86_CC(X86_CC_KIND_NEG, osz), -a & m, a, 0);
}

/* XADD r/m, reg: reg gets the old destination, the destination the sum
 * (written last, so XADD r, r leaves the sum). */
static void alu_xadd(struct x86_cpu *cpu, const struct x86_insn *in)
{
    unsigned osz = in->osz;
    uint64_t m = x86_mask(osz), b = x86_reg_read(cpu, in->reg, osz), a, r;

    if (!(in->flags & X86_I_MEM)) {
        a = x86_reg_read(cpu, in->rm, osz);
        r = (a + b) & m;
        x86_reg_write(cpu, in->reg, osz, a);
        x86_reg_write(cpu, in->rm, osz, r);
    } else if (in->flags & X86_I_LOCK) {
        a = x86_atomic_fetch_add(x86_mem_ptr(cpu, x86_ea(cpu, in), 1u << osz, 1), osz, b);
        r = (a + b) & m;
        x86_reg_write(cpu, in->reg, osz, a);
    } else {
        uint64_t ea = x86_ea(cpu, in);
        a = x86_load(cpu, ea, osz);
        r = (a + b) & m;
        x86_store(cpu, ea, osz, r);
        x86_reg_write(cpu, in->reg, osz, a);
    }
    x86_set_cc(cpu, X86_CC(X86_CC_KIND_ADD, osz), r, a, b);
}

/* CMPXCHG r/m, reg. A register destination is written only on success and
 * the accumulator only on failure (so a 32-bit form zero-extends just the
 * one written, as the hardware does); a memory destination always gets a
 * write cycle (the SDM), with LOCK one host compare-exchange. */
static void alu_cmpxchg(struct x86_cpu *cpu, const struct x86_insn *in)
{
    unsigned osz = in->osz;
    uint64_t acc = x86_reg_read(cpu, X86_RAX, osz), src = x86_reg_read(cpu, in->reg, osz), d;

    if (!(in->flags & X86_I_MEM)) {
        d = x86_reg_read(cpu, in->rm, osz);
        if (d == acc)
            x86_reg_write(cpu, in->rm, osz, src);
    } else if (in->flags & X86_I_LOCK) {
        d = acc;
        x86_atomic_cas(x86_mem_ptr(cpu, x86_ea(cpu, in), 1u << osz, 1), osz, &d, src);
    } else {
        uint64_t ea = x86_ea(cpu, in);
        d = x86_load(cpu, ea, osz);
        x86_store(cpu, ea, osz, d == acc ? src : d);
    }
    if (d != acc)
        x86_reg_write(cpu, X86_RAX, osz, d);
    x86_set_cc(cpu, X86_CC(X86_CC_KIND_SUB, osz), acc - d, acc, d);
}

/* CMPXCHG8B m64 / CMPXCHG16B m128 (REX.W): always atomic. Only ZF
 * changes. On failure EDX:EAX (RDX:RAX) get the memory value. */
static void alu_cmpxchg8b16b(struct x86_cpu *cpu, const struct x86_insn *in)
{
    uint64_t ea = x86_ea(cpu, in);
    bool eq;

    if (in->flags & X86_I_REXW) {
        if (ea & 15)
            x86_raise(cpu, X86_EXC_GP, 0);
        uint64_t exp[2] = {cpu->gpr[X86_RAX], cpu->gpr[X86_RDX]};
        const uint64_t des[2] = {cpu->gpr[X86_RBX], cpu->gpr[X86_RCX]};
        eq = x86_atomic_cas16(x86_mem_ptr(cpu, ea, 16, 1), exp, des);
        if (!eq) {
            cpu->gpr[X86_RAX] = exp[0];
            cpu->gpr[X86_RDX] = exp[1];
        }
    } else {
        uint64_t exp = (uint32_t)cpu->gpr[X86_RAX] | cpu->gpr[X86_RDX] << 32;
        uint64_t des = (uint32_t)cpu->gpr[X86_RBX] | cpu->gpr[X86_RCX] << 32;
        eq = x86_atomic_cas(x86_mem_ptr(cpu, ea, 8, 1), 3, &exp, des);
        if (!eq) {
            cpu->gpr[X86_RAX] = (uint32_t)exp;
            cpu->gpr[X86_RDX] = exp >> 32;
        }
    }
    x86_flags_materialize(cpu);
    if (eq)
        cpu->rflags |= X86_FLAG_ZF;
    else
        cpu->rflags &= ~(uint64_t)X86_FLAG_ZF;
}

#define ROW(map, op, reg, mod, fn, name)                                                           \
    {                                                                                              \
        X86_MAP_##map, op, X86_PFX_ANY, reg, X86_MOD_##mod, fn, name                               \
    }

/* 00+8k .. 05+8k and 80/81/83 /k for operation k. */
#define ALU_ROWS(k, name)                                                                          \
    ROW(PRIMARY, 8 * k + 0, -1, ANY, alu_##name##_eg, #name),                                      \
        ROW(PRIMARY, 8 * k + 1, -1, ANY, alu_##name##_eg, #name),                                  \
        ROW(PRIMARY, 8 * k + 2, -1, ANY, alu_##name##_ge, #name),                                  \
        ROW(PRIMARY, 8 * k + 3, -1, ANY, alu_##name##_ge, #name),                                  \
        ROW(PRIMARY, 8 * k + 4, -1, ANY, alu_##name##_ai, #name),                                  \
        ROW(PRIMARY, 8 * k + 5, -1, ANY, alu_##name##_ai, #name),                                  \
        ROW(PRIMARY, 0x80, k, ANY, alu_##name##_ei, #name),                                        \
        ROW(PRIMARY, 0x81, k, ANY, alu_##name##_ei, #name),                                        \
        ROW(PRIMARY, 0x83, k, ANY, alu_##name##_ei, #name)

const struct x86_op_entry x86_ops_alu[] = {
    ALU_ROWS(0, add),
    ALU_ROWS(1, or),
    ALU_ROWS(2, adc),
    ALU_ROWS(3, sbb),
    ALU_ROWS(4, and),
    ALU_ROWS(5, sub),
    ALU_ROWS(6, xor),
    ALU_ROWS(7, cmp),
    ROW(PRIMARY, 0x84, -1, ANY, alu_test_eg, "test"),
    ROW(PRIMARY, 0x85, -1, ANY, alu_test_eg, "test"),
    ROW(PRIMARY, 0xa8, -1, ANY, alu_test_ai, "test"),
    ROW(PRIMARY, 0xa9, -1, ANY, alu_test_ai, "test"),
    ROW(PRIMARY, 0xf6, 0, ANY, alu_test_ei, "test"),
    ROW(PRIMARY, 0xf6, 1, ANY, alu_test_ei, "test"),
    ROW(PRIMARY, 0xf7, 0, ANY, alu_test_ei, "test"),
    ROW(PRIMARY, 0xf7, 1, ANY, alu_test_ei, "test"),
    ROW(PRIMARY, 0xf6, 2, ANY, alu_not, "not"),
    ROW(PRIMARY, 0xf7, 2, ANY, alu_not, "not"),
    ROW(PRIMARY, 0xf6, 3, ANY, alu_neg, "neg"),
    ROW(PRIMARY, 0xf7, 3, ANY, alu_neg, "neg"),
    ROW(PRIMARY, 0xfe, 0, ANY, alu_inc, "inc"),
    ROW(PRIMARY, 0xff, 0, ANY, alu_inc, "inc"),
    ROW(PRIMARY, 0xfe, 1, ANY, alu_dec, "dec"),
    ROW(PRIMARY, 0xff, 1, ANY, alu_dec, "dec"),
    ROW(0F, 0xc0, -1, ANY, alu_xadd, "xadd"),
    ROW(0F, 0xc1, -1, ANY, alu_xadd, "xadd"),
    ROW(0F, 0xb0, -1, ANY, alu_cmpxchg, "cmpxchg"),
    ROW(0F, 0xb1, -1, ANY, alu_cmpxchg, "cmpxchg"),
    ROW(0F, 0xc7, 1, MEM, alu_cmpxchg8b16b, "cmpxchg8b"),
    {0},
};
