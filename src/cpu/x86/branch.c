/* Near control flow: JMP, Jcc, CALL, RET, LOOP/LOOPcc, JrCXZ, UD0/UD1/UD2
 * (far transfers and software interrupts: far.c).
 *
 * When an op runs, cpu->rip is already the next instruction, so relative
 * targets are rip + imm and CALL pushes rip. A target that is not
 * canonical raises #GP(0) on the branch itself, before anything changes.
 *
 * Operand size: the decoder decides what 66 means for near branches (Intel
 * ignores it in 64-bit mode, AMD makes them 16-bit). We follow insn->osz:
 * with osz == 1 the target is truncated to 16 bits and CALL/RET move 2
 * bytes, otherwise everything is 64-bit.
 */
#include "cpu/x86/flags.h"
#include "cpu/x86/insn.h"
#include "cpu/x86/operand.h"
#include "cpu/x86/stack.h"

/* The decoder already applied the default-64 rule: in 64-bit mode osz is 3
 * (or 1 with 66 on AMD); elsewhere 1 or 2 by the code segment and 66. */
static inline unsigned near_osz(const struct x86_insn *in)
{
    return in->osz;
}

/* The target after the operand-size rule, or #GP(0) if it is not canonical. */
static uint64_t checked_target(struct x86_cpu *cpu, const struct x86_insn *in, uint64_t t)
{
    if (in->osz == 1)
        return t & 0xffff;
    if (in->osz == 2)
        return (uint32_t)t;
    if (!x86_canonical(t))
        x86_raise(cpu, X86_EXC_GP, 0);
    return t;
}

static void branch_rel(struct x86_cpu *cpu, const struct x86_insn *in)
{
    x86_jump(cpu, checked_target(cpu, in, cpu->rip + (uint64_t)in->imm));
}

/* EB, E9 */
static void op_jmp_rel(struct x86_cpu *cpu, const struct x86_insn *in)
{
    branch_rel(cpu, in);
}

/* 70-7F, 0F 80-8F: the condition is the low opcode nibble. */
static void op_jcc(struct x86_cpu *cpu, const struct x86_insn *in)
{
    if (x86_cond(cpu, in->opcode & 15))
        branch_rel(cpu, in);
}

/* FF /4 */
static void op_jmp_rm(struct x86_cpu *cpu, const struct x86_insn *in)
{
    uint64_t t = x86_rm_read(cpu, in, near_osz(in));
    x86_jump(cpu, checked_target(cpu, in, t));
}

static void call_to(struct x86_cpu *cpu, const struct x86_insn *in, uint64_t target)
{
    target = checked_target(cpu, in, target);
    unsigned osz = near_osz(in);
    x86_sp_set(cpu, x86_stack_store(cpu, osz, cpu->rip));
    x86_jump(cpu, target);
}

/* E8 */
static void op_call_rel(struct x86_cpu *cpu, const struct x86_insn *in)
{
    call_to(cpu, in, cpu->rip + (uint64_t)in->imm);
}

/* FF /2: a memory operand based on RSP uses RSP before the push. */
static void op_call_rm(struct x86_cpu *cpu, const struct x86_insn *in)
{
    call_to(cpu, in, x86_rm_read(cpu, in, near_osz(in)));
}

/* C3, C2 Iw: Iw more bytes are released after the return address. */
static void op_ret(struct x86_cpu *cpu, const struct x86_insn *in)
{
    unsigned osz = near_osz(in);
    uint64_t t = checked_target(cpu, in, x86_stack_peek(cpu, osz, 0));
    uint64_t release = in->opcode == 0xc2 ? (uint16_t)in->imm : 0;
    x86_sp_set(cpu, cpu->gpr[X86_RSP] + ((1u << osz) + release));
    x86_jump(cpu, t);
}

/* The count register of LOOP and JrCXZ: RCX, or ECX with a 67 prefix. */
static inline uint64_t count_mask(const struct x86_insn *in)
{
    return in->asz == 3 ? ~0ULL : in->asz == 2 ? 0xffffffffULL : 0xffffULL;
}

/* E0 LOOPNE, E1 LOOPE, E2 LOOP: decrement the count (without touching the
 * flags), branch while it is not zero (and ZF is as the form wants). The
 * target is checked before the count changes. A 32-bit count write
 * zero-extends RCX like any 32-bit register write. */
static void op_loop(struct x86_cpu *cpu, const struct x86_insn *in)
{
    uint64_t c = (cpu->gpr[X86_RCX] - 1) & count_mask(in);
    bool take = c != 0;
    if (take && in->opcode != 0xe2)
        take = x86_cond(cpu, 4) == (in->opcode == 0xe1); /* condition 4: ZF */
    uint64_t t = take ? checked_target(cpu, in, cpu->rip + (uint64_t)in->imm) : 0;
    x86_reg_write(cpu, X86_RCX, in->asz, c);
    if (take)
        x86_jump(cpu, t);
}

/* E3: JRCXZ / JECXZ */
static void op_jrcxz(struct x86_cpu *cpu, const struct x86_insn *in)
{
    if ((cpu->gpr[X86_RCX] & count_mask(in)) == 0)
        branch_rel(cpu, in);
}

/* UD0, UD1, UD2. */
static void op_ud(struct x86_cpu *cpu, const struct x86_insn *in)
{
    (void)in;
    x86_raise_ud(cpu);
}

#define P  X86_MAP_PRIMARY
#define F  X86_MAP_0F
#define A  X86_PFX_ANY
#define MA X86_MOD_ANY
#define ROW(map, op, reg, fn, name)                                                                \
    {                                                                                              \
        (map), (op), A, (reg), MA, (fn), (name)                                                    \
    }
#define JCC(map, op, name) ROW(map, op, -1, op_jcc, name)
#define JCC16(map, base)                                                                           \
    JCC(map, (base) + 0x0, "jo"), JCC(map, (base) + 0x1, "jno"), JCC(map, (base) + 0x2, "jb"),     \
        JCC(map, (base) + 0x3, "jae"), JCC(map, (base) + 0x4, "je"),                               \
        JCC(map, (base) + 0x5, "jne"), JCC(map, (base) + 0x6, "jbe"),                              \
        JCC(map, (base) + 0x7, "ja"), JCC(map, (base) + 0x8, "js"), JCC(map, (base) + 0x9, "jns"), \
        JCC(map, (base) + 0xa, "jp"), JCC(map, (base) + 0xb, "jnp"), JCC(map, (base) + 0xc, "jl"), \
        JCC(map, (base) + 0xd, "jge"), JCC(map, (base) + 0xe, "jle"), JCC(map, (base) + 0xf, "jg")

const struct x86_op_entry x86_ops_branch[] = {
    ROW(P, 0xeb, -1, op_jmp_rel, "jmp"),
    ROW(P, 0xe9, -1, op_jmp_rel, "jmp"),
    ROW(P, 0xff, 4, op_jmp_rm, "jmp"),
    JCC16(P, 0x70),
    JCC16(F, 0x80),
    ROW(P, 0xe8, -1, op_call_rel, "call"),
    ROW(P, 0xff, 2, op_call_rm, "call"),
    ROW(P, 0xc3, -1, op_ret, "ret"),
    ROW(P, 0xc2, -1, op_ret, "ret"),
    ROW(P, 0xe0, -1, op_loop, "loopne"),
    ROW(P, 0xe1, -1, op_loop, "loope"),
    ROW(P, 0xe2, -1, op_loop, "loop"),
    ROW(P, 0xe3, -1, op_jrcxz, "jrcxz"),
    ROW(F, 0x0b, -1, op_ud, "ud2"),
    ROW(F, 0xb9, -1, op_ud, "ud1"),
    ROW(F, 0xff, -1, op_ud, "ud0"),
    {0, 0, 0, 0, 0, NULL, NULL},
};
