/* Data movement: MOV in its forms (segment registers too: the loads'
 * checks are in system.c), MOVZX/MOVSX/MOVSXD, LEA, XCHG, MOVNTI, and the
 * NOP family (90, PAUSE, 0F 1F, the hint NOPs 0F 19-1E, ENDBR64).
 *
 * None of these touch the arithmetic flags. Loads happen before the
 * register write and stores are the last thing an op does, so a fault
 * leaves the state as it was.
 */
#include "cpu/x86/insn.h"
#include "cpu/x86/operand.h"
#include "cpu/x86/stack.h"

/* 88/89: r/m <- reg */
static void op_mov_rm_reg(struct x86_cpu *cpu, const struct x86_insn *in)
{
    x86_rm_write(cpu, in, in->osz, x86_reg_read(cpu, in->reg, in->osz));
}

/* 8A/8B: reg <- r/m */
static void op_mov_reg_rm(struct x86_cpu *cpu, const struct x86_insn *in)
{
    uint64_t v = x86_rm_read(cpu, in, in->osz);
    x86_reg_write(cpu, in->reg, in->osz, v);
}

/* C6/C7 /0: r/m <- imm (already sign-extended to the operand size). */
static void op_mov_rm_imm(struct x86_cpu *cpu, const struct x86_insn *in)
{
    x86_rm_write(cpu, in, in->osz, (uint64_t)in->imm);
}

/* B0+r (byte) and B8+r (imm16/32, or imm64 with REX.W): the register
 * comes from the opcode, the write rules (merge, zero-extend) from osz. */
static void op_mov_reg_imm(struct x86_cpu *cpu, const struct x86_insn *in)
{
    x86_reg_write(cpu, in->reg, in->osz, (uint64_t)in->imm);
}

/* A0-A3: the absolute offset is in imm, truncated to the address size. */
static uint64_t moffs_lin(const struct x86_cpu *cpu, const struct x86_insn *in)
{
    uint64_t off = (uint64_t)in->imm;
    if (in->asz == 2)
        off = (uint32_t)off;
    return off + x86_seg_base(cpu, in->seg);
}

static void op_mov_acc_moffs(struct x86_cpu *cpu, const struct x86_insn *in)
{
    uint64_t v = x86_load(cpu, moffs_lin(cpu, in), in->osz);
    x86_reg_write(cpu, X86_RAX, in->osz, v);
}

static void op_mov_moffs_acc(struct x86_cpu *cpu, const struct x86_insn *in)
{
    x86_store(cpu, moffs_lin(cpu, in), in->osz, x86_reg_read(cpu, X86_RAX, in->osz));
}

/* 0F B6/B7 and BE/BF: the source is a byte (even opcode) or a word (odd). */
static void op_movzx(struct x86_cpu *cpu, const struct x86_insn *in)
{
    uint64_t v = x86_rm_read(cpu, in, in->opcode & 1);
    x86_reg_write(cpu, in->reg, in->osz, v);
}

static void op_movsx(struct x86_cpu *cpu, const struct x86_insn *in)
{
    unsigned ssz = in->opcode & 1;
    uint64_t v = (uint64_t)x86_sext(x86_rm_read(cpu, in, ssz), ssz);
    x86_reg_write(cpu, in->reg, in->osz, v);
}

/* 63: with REX.W sign-extends a dword; otherwise a plain move of the
 * operand size (32-bit: zero-extended as any 32-bit write). The source is
 * a dword even for a 16-bit destination (the AMD host reads all four
 * bytes: a dword crossing into an unmapped page faults). */
static void op_movsxd(struct x86_cpu *cpu, const struct x86_insn *in)
{
    uint64_t v = x86_rm_read(cpu, in, 2);
    if (in->osz == 3)
        v = (uint64_t)(int64_t)(int32_t)v;
    x86_reg_write(cpu, in->reg, in->osz, v);
}

/* 8D: the offset, not the linear address: x86_ea() adds the segment base
 * (after truncating to the address size), so take it off again. */
static void op_lea(struct x86_cpu *cpu, const struct x86_insn *in)
{
    if (!(in->flags & X86_I_MEM))
        x86_raise_ud(cpu);
    uint64_t off = x86_ea(cpu, in) - x86_seg_base(cpu, in->seg);
    x86_reg_write(cpu, in->reg, in->osz, off);
}

/* Exchange with memory is always locked on x86; the host's XCHG with a
 * memory operand is too, and works unaligned. */
static uint64_t xchg_host(void *p, unsigned osz, uint64_t v)
{
    switch (osz) {
    case 0: {
        uint8_t x = (uint8_t)v;
        __asm__ volatile("xchgb %0, (%1)" : "+q"(x) : "r"(p) : "memory");
        return x;
    }
    case 1: {
        uint16_t x = (uint16_t)v;
        __asm__ volatile("xchgw %0, (%1)" : "+r"(x) : "r"(p) : "memory");
        return x;
    }
    case 2: {
        uint32_t x = (uint32_t)v;
        __asm__ volatile("xchgl %0, (%1)" : "+r"(x) : "r"(p) : "memory");
        return x;
    }
    default:
        __asm__ volatile("xchgq %0, (%1)" : "+r"(v) : "r"(p) : "memory");
        return v;
    }
}

static void xchg_regs(struct x86_cpu *cpu, unsigned a, unsigned b, unsigned osz)
{
    uint64_t va = x86_reg_read(cpu, a, osz), vb = x86_reg_read(cpu, b, osz);
    x86_reg_write(cpu, a, osz, vb);
    x86_reg_write(cpu, b, osz, va);
}

/* 86/87 */
static void op_xchg(struct x86_cpu *cpu, const struct x86_insn *in)
{
    if (!(in->flags & X86_I_MEM)) {
        xchg_regs(cpu, in->rm, in->reg, in->osz);
        return;
    }
    void *p = x86_mem_ptr(cpu, x86_ea(cpu, in), 1u << in->osz, 1);
    uint64_t old = xchg_host(p, in->osz, x86_reg_read(cpu, in->reg, in->osz));
    x86_reg_write(cpu, in->reg, in->osz, old);
}

/* 90+r: xchg rAX with the register; 90 itself (no REX.B) is NOP and, unlike
 * 87 C0, does not zero-extend EAX. */
static void op_xchg_acc(struct x86_cpu *cpu, const struct x86_insn *in)
{
    if (in->reg != X86_RAX)
        xchg_regs(cpu, X86_RAX, in->reg, in->osz);
}

/* F3 90. With REX.B it still names xchg r8, rAX, so keep that meaning. */
static void op_pause(struct x86_cpu *cpu, const struct x86_insn *in)
{
    __builtin_ia32_pause(); /* be kind to a sibling hyperthread in spin loops */
    op_xchg_acc(cpu, in);
}

/* No memory access: hint NOPs with a memory operand never fault. */
static void op_nop(struct x86_cpu *cpu, const struct x86_insn *in)
{
    (void)cpu;
    (void)in;
}

/* 0F C3: a store whose non-temporal hint does not matter here. */
static void op_movnti(struct x86_cpu *cpu, const struct x86_insn *in)
{
    x86_store(cpu, x86_ea(cpu, in), in->osz, x86_reg_read(cpu, in->reg, in->osz));
}

/* 8C: MOV r/m, Sreg (REX.R is ignored: Sreg is ModRM.reg; 6 and 7 are #UD
 * at decode). A memory destination is always 16 bits; a register takes the
 * selector zero-extended at 32 and 64 bits and merged at 16, as on the
 * host. */
static void op_mov_rm_sreg(struct x86_cpu *cpu, const struct x86_insn *in)
{
    uint16_t sel = cpu->seg[in->reg & 7].selector;
    if (in->flags & X86_I_MEM)
        x86_store(cpu, x86_ea(cpu, in), 1, sel);
    else
        x86_reg_write(cpu, in->rm, in->osz, sel);
}

/* 8E: MOV Sreg, r/m16 (CS is #UD at decode). */
static void op_mov_sreg_rm(struct x86_cpu *cpu, const struct x86_insn *in)
{
    uint16_t sel = (uint16_t)x86_rm_read(cpu, in, 1);
    x86_seg_load(cpu, in->reg & 7, sel);
}

#define P  X86_MAP_PRIMARY
#define F  X86_MAP_0F
#define A  X86_PFX_ANY
#define MA X86_MOD_ANY
#define MM X86_MOD_MEM
#define ROW(op, fn, name)                                                                          \
    {                                                                                              \
        P, (op), A, -1, MA, (fn), (name)                                                           \
    }
#define OP8(op, fn, name)                                                                          \
    ROW(op, fn, name), ROW((op) + 1, fn, name), ROW((op) + 2, fn, name), ROW((op) + 3, fn, name),  \
        ROW((op) + 4, fn, name), ROW((op) + 5, fn, name), ROW((op) + 6, fn, name),                 \
        ROW((op) + 7, fn, name)

const struct x86_op_entry x86_ops_move[] = {
    {P, 0x88, A, -1, MA, op_mov_rm_reg, "mov"},
    {P, 0x89, A, -1, MA, op_mov_rm_reg, "mov"},
    {P, 0x8a, A, -1, MA, op_mov_reg_rm, "mov"},
    {P, 0x8b, A, -1, MA, op_mov_reg_rm, "mov"},
    {P, 0xc6, A, 0, MA, op_mov_rm_imm, "mov"},
    {P, 0xc7, A, 0, MA, op_mov_rm_imm, "mov"},
    OP8(0xb0, op_mov_reg_imm, "mov"),
    OP8(0xb8, op_mov_reg_imm, "mov"),
    {P, 0xa0, A, -1, MA, op_mov_acc_moffs, "mov"},
    {P, 0xa1, A, -1, MA, op_mov_acc_moffs, "mov"},
    {P, 0xa2, A, -1, MA, op_mov_moffs_acc, "mov"},
    {P, 0xa3, A, -1, MA, op_mov_moffs_acc, "mov"},
    {F, 0xb6, A, -1, MA, op_movzx, "movzx"},
    {F, 0xb7, A, -1, MA, op_movzx, "movzx"},
    {F, 0xbe, A, -1, MA, op_movsx, "movsx"},
    {F, 0xbf, A, -1, MA, op_movsx, "movsx"},
    {P, 0x63, A, -1, MA, op_movsxd, "movsxd"},
    {P, 0x8d, A, -1, MM, op_lea, "lea"},
    {P, 0x8c, A, -1, MA, op_mov_rm_sreg, "mov"},
    {P, 0x8e, A, -1, MA, op_mov_sreg_rm, "mov"},
    {P, 0x86, A, -1, MA, op_xchg, "xchg"},
    {P, 0x87, A, -1, MA, op_xchg, "xchg"},
    OP8(0x90, op_xchg_acc, "xchg"),
    {P, 0x90, X86_PFX_F3, -1, MA, op_pause, "pause"},
    {F, 0x18, A, 4, MA, op_nop, "nop"},
    {F, 0x18, A, 5, MA, op_nop, "nop"},
    {F, 0x18, A, 6, MA, op_nop, "nop"},
    {F, 0x18, A, 7, MA, op_nop, "nop"},
    {F, 0x19, A, -1, MA, op_nop, "nop"},
    {F, 0x1a, A, -1, MA, op_nop, "nop"},
    {F, 0x1b, A, -1, MA, op_nop, "nop"},
    {F, 0x1c, A, -1, MA, op_nop, "nop"},
    {F, 0x1d, A, -1, MA, op_nop, "nop"},
    /* F3 0F 1E FA is ENDBR64 (and F3 0F 1E /1 RDSSP): NOPs while CET is off. */
    {F, 0x1e, A, -1, MA, op_nop, "nop"},
    {F, 0x1f, A, -1, MA, op_nop, "nop"},
    {F, 0xc3, X86_PFX_NONE, -1, MM, op_movnti, "movnti"},
    {0, 0, 0, 0, 0, NULL, NULL},
};
