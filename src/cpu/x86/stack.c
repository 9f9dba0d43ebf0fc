/* Stack instructions: PUSH/POP (registers, r/m, immediates, FS/GS),
 * PUSHF/POPF, ENTER and LEAVE.
 *
 * 64-bit mode: the operand size is 64 bits, or 16 with a 66 prefix (the
 * decoder's default-64 rule puts that in insn->osz); the stack pointer is
 * always the full RSP. Every op stores or loads first and moves RSP last,
 * so a fault leaves RSP, the destination and memory untouched.
 */
#include "cpu/x86/flags.h"
#include "cpu/x86/insn.h"
#include "cpu/x86/operand.h"
#include "cpu/x86/stack.h"

#define RFLAGS_NT   (1u << 14)
#define RFLAGS_IOPL (3u << 12)
#define RFLAGS_RF   (1u << 16)
#define RFLAGS_VM   (1u << 17)

/* 50+r. PUSH RSP pushes the value RSP had before the push. */
static void op_push_reg(struct x86_cpu *cpu, const struct x86_insn *in)
{
    x86_push(cpu, in->osz, x86_reg_read(cpu, in->reg, in->osz));
}

/* 58+r. POP RSP: the popped value replaces the incremented RSP. */
static void op_pop_reg(struct x86_cpu *cpu, const struct x86_insn *in)
{
    uint64_t v = x86_stack_peek(cpu, in->osz, 0);
    x86_sp_set(cpu, cpu->gpr[X86_RSP] + (1u << in->osz));
    x86_reg_write(cpu, in->reg, in->osz, v);
}

/* 6A/68: imm is already sign-extended to 64 bits. */
static void op_push_imm(struct x86_cpu *cpu, const struct x86_insn *in)
{
    x86_push(cpu, in->osz, (uint64_t)in->imm);
}

/* FF /6: a memory operand based on RSP uses RSP before the push. */
static void op_push_rm(struct x86_cpu *cpu, const struct x86_insn *in)
{
    x86_push(cpu, in->osz, x86_rm_read(cpu, in, in->osz));
}

/* 8F /0: the address of a memory destination is computed with RSP already
 * incremented (pop [rsp+8] writes where the old [rsp+16] was). */
static void op_pop_rm(struct x86_cpu *cpu, const struct x86_insn *in)
{
    uint64_t v = x86_stack_peek(cpu, in->osz, 0);
    uint64_t old = cpu->gpr[X86_RSP], sp = old + (1u << in->osz);
    if (!(in->flags & X86_I_MEM)) {
        x86_sp_set(cpu, sp);
        x86_reg_write(cpu, in->rm, in->osz, v);
        return;
    }
    x86_sp_set(cpu, sp);
    uint64_t ea = x86_ea(cpu, in);
    cpu->gpr[X86_RSP] = old; /* the store below may fault */
    x86_store(cpu, ea, in->osz, v);
    x86_sp_set(cpu, sp);
}

static unsigned fs_or_gs(const struct x86_insn *in)
{
    return (in->opcode & 0x08) ? X86_GS : X86_FS; /* 0F A0/A1: FS, 0F A8/A9: GS */
}

/* 0F A0/A8: the selector, zero-extended to the operand size. */
static void op_push_seg(struct x86_cpu *cpu, const struct x86_insn *in)
{
    x86_push(cpu, in->osz, cpu->seg[fs_or_gs(in)].selector);
}

/* 0F A1/A9: the selector is checked and loaded (x86_seg_load) before RSP
 * moves. */
static void op_pop_seg(struct x86_cpu *cpu, const struct x86_insn *in)
{
    uint16_t sel = (uint16_t)x86_stack_peek(cpu, in->osz, 0);
    x86_seg_load(cpu, fs_or_gs(in), sel);
    x86_sp_set(cpu, cpu->gpr[X86_RSP] + (1u << in->osz));
}

/* 9C: RF and VM read as zero in the pushed image. */
static void op_pushf(struct x86_cpu *cpu, const struct x86_insn *in)
{
    uint64_t fl = x86_get_rflags(cpu) & ~(uint64_t)(RFLAGS_RF | RFLAGS_VM);
    x86_push(cpu, in->osz, fl);
}

/* Which RFLAGS bits POPF may change: at CPL 3 (IOPL below it) the
 * arithmetic flags, TF, DF, NT, AC and ID; IF also when CPL <= IOPL; IOPL
 * only at CPL 0. VM, VIF, VIP are never changed and RF is cleared. */
static uint64_t popf_mask(const struct x86_cpu *cpu)
{
    uint64_t mask =
        X86_FLAGS_ARITH | X86_FLAG_TF | X86_FLAG_DF | RFLAGS_NT | X86_FLAG_AC | X86_FLAG_ID;
    unsigned iopl = (cpu->rflags & RFLAGS_IOPL) >> 12;
    if (cpu->cpl == 0)
        mask |= X86_FLAG_IF | RFLAGS_IOPL;
    else if (cpu->cpl <= iopl)
        mask |= X86_FLAG_IF;
    return mask;
}

/* 9D: with 66 only the low 16 bits are loaded. */
static void op_popf(struct x86_cpu *cpu, const struct x86_insn *in)
{
    uint64_t v = x86_stack_peek(cpu, in->osz, 0);
    uint64_t mask = popf_mask(cpu);
    if (in->osz == 1)
        mask &= 0xffff;
    x86_sp_set(cpu, cpu->gpr[X86_RSP] + (1u << in->osz));
    uint64_t fl = (x86_get_rflags(cpu) & ~mask) | (v & mask);
    x86_set_rflags(cpu, fl & ~(uint64_t)RFLAGS_RF);
}

/* C8 Iw Ib, in the SDM's order: push RBP; for nesting level L > 1, L - 1
 * times RBP -= n and push [RBP] (the old frame pointers: with a frame that
 * overlaps the new slots, a later read sees an earlier push); for L > 0
 * push the new frame pointer; RBP = the frame; RSP -= Iw. The first pass
 * makes every one of these accesses in that order without storing (a
 * fault is the one the hardware would take first) and checks that a write
 * at the final RSP would not fault; the second pass does them for real and
 * cannot fault. With a 66 prefix the pushes are 16-bit and only BP is
 * written. */
static void op_enter(struct x86_cpu *cpu, const struct x86_insn *in)
{
    unsigned osz = in->osz, n = 1u << osz;
    unsigned level = in->imm2 & 31;
    uint64_t alloc = (uint16_t)in->imm;
    uint64_t sp = cpu->gpr[X86_RSP], bp = cpu->gpr[X86_RBP];
    uint64_t frame = sp - n; /* FrameTemp */
    unsigned npush = level ? level + 1 : 1;
    uint64_t final_sp = sp - (uint64_t)npush * n - alloc;

    for (unsigned i = 0; i < npush; i++) {
        if (i > 0 && i < level)
            x86_touch_read(cpu, x86_stack_lin(cpu, bp - (uint64_t)i * n), n, X86_SS);
        x86_touch_write(cpu, x86_stack_lin(cpu, sp - (uint64_t)(i + 1) * n), n, X86_SS);
    }
    if (alloc)
        x86_touch_write(cpu, x86_stack_lin(cpu, final_sp), 1, X86_SS);

    for (unsigned i = 0; i < npush; i++) {
        uint64_t v = bp;
        if (i > 0)
            v = i < level ? x86_load_seg(cpu, x86_stack_lin(cpu, bp - (uint64_t)i * n), osz, X86_SS)
                          : frame;
        x86_store_seg(cpu, x86_stack_lin(cpu, sp - (uint64_t)(i + 1) * n), osz, v, X86_SS);
    }
    unsigned ssz = cpu->sp_mask == ~0ull ? 3 : cpu->sp_mask == 0xffffffffull ? 2 : 1;
    x86_reg_write(cpu, X86_RBP, osz == 1 ? 1 : ssz, frame);
    x86_sp_set(cpu, final_sp);
}

/* C9: RSP = RBP, then pop RBP (BP with 66; RSP is still copied whole). */
static void op_leave(struct x86_cpu *cpu, const struct x86_insn *in)
{
    uint64_t bp = cpu->gpr[X86_RBP];
    uint64_t v = x86_load_seg(cpu, x86_stack_lin(cpu, bp), in->osz, X86_SS);
    x86_sp_set(cpu, bp + (1u << in->osz));
    x86_reg_write(cpu, X86_RBP, in->osz, v);
}

#define P  X86_MAP_PRIMARY
#define F  X86_MAP_0F
#define A  X86_PFX_ANY
#define MA X86_MOD_ANY
#define ROW(map, op, reg, fn, name)                                                                \
    {                                                                                              \
        (map), (op), A, (reg), MA, (fn), (name)                                                    \
    }
#define ROWS8(op, fn, name)                                                                        \
    ROW(P, (op), -1, fn, name), ROW(P, (op) + 1, -1, fn, name), ROW(P, (op) + 2, -1, fn, name),    \
        ROW(P, (op) + 3, -1, fn, name), ROW(P, (op) + 4, -1, fn, name),                            \
        ROW(P, (op) + 5, -1, fn, name), ROW(P, (op) + 6, -1, fn, name),                            \
        ROW(P, (op) + 7, -1, fn, name)

const struct x86_op_entry x86_ops_stack[] = {
    ROWS8(0x50, op_push_reg, "push"),      ROWS8(0x58, op_pop_reg, "pop"),
    ROW(P, 0x6a, -1, op_push_imm, "push"), ROW(P, 0x68, -1, op_push_imm, "push"),
    ROW(P, 0xff, 6, op_push_rm, "push"),   ROW(P, 0x8f, 0, op_pop_rm, "pop"),
    ROW(F, 0xa0, -1, op_push_seg, "push"), ROW(F, 0xa1, -1, op_pop_seg, "pop"),
    ROW(F, 0xa8, -1, op_push_seg, "push"), ROW(F, 0xa9, -1, op_pop_seg, "pop"),
    ROW(P, 0x9c, -1, op_pushf, "pushf"),   ROW(P, 0x9d, -1, op_popf, "popf"),
    ROW(P, 0xc8, -1, op_enter, "enter"),   ROW(P, 0xc9, -1, op_leave, "leave"),
    {0, 0, 0, 0, 0, NULL, NULL},
};
