/* Control transfers across segments and privilege levels: far JMP, CALL
 * and RET, IRET, INT n, INT3, INTO, INT1, and the far-pointer loads LDS,
 * LES, LSS, LFS, LGS.
 *
 * System mode does them for real (seg.c, intr.c). User mode has no
 * descriptor tables: the embedder plays Linux, whose IDT lets user code
 * reach only vectors 3 and 4 (and 0x80 with IA-32 emulation, which the
 * embedder recognizes from the error code); every other INT n fails the
 * gate's DPL check, #GP with the IDT bit and the vector as the index, and
 * far transfers fail as for an unusable selector.
 */
#include "cpu/x86/insn.h"
#include "cpu/x86/operand.h"
#include "cpu/x86/seg.h"
#include "cpu/x86/stack.h"

/* The far pointer in memory at the operand: offset (2, 4 or 8 bytes by
 * osz) then selector. */
static uint64_t far_pointer(struct x86_cpu *cpu, const struct x86_insn *in, uint16_t *sel)
{
    unsigned off_osz = in->osz;
    uint64_t ea = x86_ea(cpu, in);
    uint64_t off = x86_load(cpu, ea, off_osz);
    *sel = x86_load16(cpu, ea + (1u << off_osz));
    return off;
}

/* FF /3, FF /5 (memory only): m16:16/32/64. */
static void op_far_rm(struct x86_cpu *cpu, const struct x86_insn *in)
{
    if (!(in->flags & X86_I_MEM))
        x86_raise_ud(cpu);
    uint16_t sel;
    uint64_t off = far_pointer(cpu, in, &sel);
    if (cpu->user_mode)
        x86_raise(cpu, X86_EXC_GP, sel & 0xfffc);
    if ((in->reg & 7) == 3)
        x86_far_call(cpu, sel, off, in->osz);
    else
        x86_far_jump(cpu, sel, off, in->osz);
}

/* EA, 9A (outside 64-bit mode): ptr16:16/32 in the immediate. */
static void op_far_direct(struct x86_cpu *cpu, const struct x86_insn *in)
{
    uint16_t sel = (uint16_t)((uint64_t)in->imm >> 32);
    uint64_t off = (uint32_t)in->imm;
    if (cpu->user_mode)
        x86_raise(cpu, X86_EXC_GP, sel & 0xfffc);
    if (in->opcode == 0x9a)
        x86_far_call(cpu, sel, off, in->osz);
    else
        x86_far_jump(cpu, sel, off, in->osz);
}

/* CB, CA iw */
static void op_retf(struct x86_cpu *cpu, const struct x86_insn *in)
{
    if (cpu->user_mode)
        x86_raise(cpu, X86_EXC_GP, 0);
    x86_far_return(cpu, in->osz, in->opcode == 0xca ? (uint16_t)in->imm : 0);
}

/* CF: IRET, IRETD, IRETQ (REX.W). */
static void op_iret(struct x86_cpu *cpu, const struct x86_insn *in)
{
    if (cpu->user_mode)
        x86_raise(cpu, X86_EXC_GP, 0);
    x86_iret(cpu, in->osz);
}

/* CC: a trap; the saved RIP is the instruction after INT3. */
static void op_int3(struct x86_cpu *cpu, const struct x86_insn *in)
{
    (void)in;
    if (cpu->user_mode)
        x86_raise_trap(cpu, X86_EXC_BP, 0);
    x86_raise_soft(cpu, X86_EXC_BP);
}

/* F1 (INT1, ICEBP): a #DB trap, as a debugger's single step would be
 * (no DPL check: it is not a software interrupt for that purpose). */
static void op_int1(struct x86_cpu *cpu, const struct x86_insn *in)
{
    (void)in;
    x86_raise_trap(cpu, X86_EXC_DB, 0);
}

/* CD ib */
static void op_int(struct x86_cpu *cpu, const struct x86_insn *in)
{
    unsigned vec = (uint8_t)in->imm;
    if (!cpu->user_mode)
        x86_raise_soft(cpu, vec);
    if (vec == X86_EXC_BP || vec == X86_EXC_OF)
        x86_raise_trap(cpu, vec, 0);
    x86_raise(cpu, X86_EXC_GP, vec << 3 | 2);
}

/* CE: INTO (outside 64-bit mode; the decoder makes it #UD there). */
static void op_into(struct x86_cpu *cpu, const struct x86_insn *in)
{
    (void)in;
    if (x86_get_rflags(cpu) & X86_FLAG_OF)
        x86_raise_soft(cpu, X86_EXC_OF);
}

/* C5 LDS, C4 LES (legacy modes), 0F B2 LSS, 0F B4 LFS, 0F B5 LGS. */
static void op_load_far(struct x86_cpu *cpu, const struct x86_insn *in)
{
    if (!(in->flags & X86_I_MEM))
        x86_raise_ud(cpu);
    unsigned sreg;
    switch (in->map == X86_MAP_PRIMARY ? in->opcode : in->opcode | 0x100) {
    case 0xc4:
        sreg = X86_ES;
        break;
    case 0xc5:
        sreg = X86_DS;
        break;
    case 0x1b2:
        sreg = X86_SS;
        break;
    case 0x1b4:
        sreg = X86_FS;
        break;
    default:
        sreg = X86_GS;
    }
    uint16_t sel;
    uint64_t off = far_pointer(cpu, in, &sel);
    x86_seg_load(cpu, sreg, sel);
    x86_reg_write(cpu, in->reg, in->osz, off);
}

#define P  X86_MAP_PRIMARY
#define F  X86_MAP_0F
#define A  X86_PFX_ANY
#define MA X86_MOD_ANY
#define MM X86_MOD_MEM

const struct x86_op_entry x86_ops_far[] = {
    {P, 0xff, A, 3, MM, op_far_rm, "call far"},
    {P, 0xff, A, 5, MM, op_far_rm, "jmp far"},
    {P, 0x9a, A, -1, MA, op_far_direct, "call far"},
    {P, 0xea, A, -1, MA, op_far_direct, "jmp far"},
    {P, 0xca, A, -1, MA, op_retf, "retf"},
    {P, 0xcb, A, -1, MA, op_retf, "retf"},
    {P, 0xcf, A, -1, MA, op_iret, "iret"},
    {P, 0xcc, A, -1, MA, op_int3, "int3"},
    {P, 0xcd, A, -1, MA, op_int, "int"},
    {P, 0xf1, A, -1, MA, op_int1, "int1"},
    {P, 0xce, A, -1, MA, op_into, "into"},
    {P, 0xc4, A, -1, MM, op_load_far, "les"},
    {P, 0xc5, A, -1, MM, op_load_far, "lds"},
    {F, 0xb2, A, -1, MM, op_load_far, "lss"},
    {F, 0xb4, A, -1, MM, op_load_far, "lfs"},
    {F, 0xb5, A, -1, MM, op_load_far, "lgs"},
    {0, 0, 0, 0, 0, NULL, NULL},
};
