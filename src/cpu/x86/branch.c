/* Control flow: JMP, Jcc, CALL, RET, LOOP/LOOPcc, JrCXZ, far JMP/CALL
 * (not supported yet), INT3, INT1, INT n, INTO, UD0/UD1/UD2.
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

static inline unsigned near_osz(const struct x86_insn *in)
{
    return in->osz == 1 ? 1 : 3;
}

/* The target after the operand-size rule, or #GP(0) if it is not canonical. */
static uint64_t checked_target(struct x86_cpu *cpu, const struct x86_insn *in, uint64_t t)
{
    if (in->osz == 1)
        return t & 0xffff;
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
    cpu->gpr[X86_RSP] = x86_stack_store(cpu, osz, cpu->rip);
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
    cpu->gpr[X86_RSP] += (1u << osz) + release;
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

/* FF /3, FF /5 (memory only): a far pointer m16:16/32/64. Changing CS needs
 * descriptor loads (and compatibility mode), which the system-level work
 * brings; until then the pointer is read (so #PF comes first, as on
 * hardware) and the transfer fails as for an unusable selector. */
static void op_far_rm(struct x86_cpu *cpu, const struct x86_insn *in)
{
    if (!(in->flags & X86_I_MEM))
        x86_raise_ud(cpu);
    unsigned off_osz = in->osz == 1 ? 1 : in->osz;
    uint64_t ea = x86_ea(cpu, in);
    x86_touch_read(cpu, ea, (1u << off_osz) + 2, X86_SEG_NONE); /* a value unused is not loaded */
    uint16_t sel = x86_load16(cpu, ea + (1u << off_osz));
    x86_raise(cpu, X86_EXC_GP, sel & 0xfffc);
}

/* CC: a trap; the saved RIP is the instruction after INT3. */
static void op_int3(struct x86_cpu *cpu, const struct x86_insn *in)
{
    (void)in;
    x86_raise_trap(cpu, X86_EXC_BP, 0);
}

/* F1 (INT1, ICEBP): a #DB trap, as a debugger's single step would be. */
static void op_int1(struct x86_cpu *cpu, const struct x86_insn *in)
{
    (void)in;
    x86_raise_trap(cpu, X86_EXC_DB, 0);
}

/* CD ib. The CPU would consult the IDT; the IDT user programs run under is
 * Linux's, where only vectors 3 and 4 are gates user code may use (0x80
 * too with IA32 emulation, which the embedder can recognize from the
 * error code). Every other vector fails the gate's DPL check: #GP with the
 * IDT bit set and the vector as the selector index. The system-level work
 * replaces this with real IDT delivery. */
static void op_int(struct x86_cpu *cpu, const struct x86_insn *in)
{
    unsigned vec = (uint8_t)in->imm;
    if (vec == X86_EXC_BP || vec == X86_EXC_OF)
        x86_raise_trap(cpu, vec, 0);
    x86_raise(cpu, X86_EXC_GP, vec << 3 | 2);
}

/* INTO (invalid in 64-bit mode), UD0, UD1, UD2. */
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
    {P, 0xff, A, 3, X86_MOD_MEM, op_far_rm, "call far"},
    {P, 0xff, A, 5, X86_MOD_MEM, op_far_rm, "jmp far"},
    ROW(P, 0xcc, -1, op_int3, "int3"),
    ROW(P, 0xcd, -1, op_int, "int"),
    ROW(P, 0xf1, -1, op_int1, "int1"),
    ROW(P, 0xce, -1, op_ud, "into"),
    ROW(F, 0x0b, -1, op_ud, "ud2"),
    ROW(F, 0xb9, -1, op_ud, "ud1"),
    ROW(F, 0xff, -1, op_ud, "ud0"),
    {0, 0, 0, 0, 0, NULL, NULL},
};
