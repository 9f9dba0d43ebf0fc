/* The instructions that exist only outside 64-bit mode: PUSH/POP of ES,
 * CS, SS, DS; the one-byte INC/DEC (40-4F, REX prefixes in 64-bit mode);
 * PUSHA/POPA; the BCD adjustments DAA DAS AAA AAS AAM AAD; BOUND; ARPL;
 * SALC. The decoder makes them #UD in 64-bit mode (x86_fmt_legacy32 in
 * decode_tables.c), so these ops run only in 16- and 32-bit code, with the
 * operand and address size the decoder found there. 63 is MOVSXD in
 * 64-bit mode and ARPL elsewhere: the dispatch table is keyed by opcode,
 * not mode, so ARPL's row names X86_PFX_LEGACY, which the decoder asks
 * for outside 64-bit mode only.
 *
 * Undefined flags follow an AMD Zen 3 (EPYC, family 19h), the vendor the
 * emulated CPU reports: each BCD instruction was run natively in
 * compatibility mode for every AL (DAA, DAS) or AX (AAA, AAS, AAM and AAD
 * with several immediates), with CF and AF in (all six arithmetic flags for
 * DAA and DAS), and the results fit one rule each, noted below.
 * tests/unit/test_x86_legacy.c repeats that comparison where the host is
 * such a CPU.
 *
 * Precise exceptions as everywhere (cpu.h): every access that can fault
 * comes before the first register or flag changes.
 */
#include "cpu/x86/flags.h"
#include "cpu/x86/insn.h"
#include "cpu/x86/operand.h"
#include "cpu/x86/seg.h"
#include "cpu/x86/stack.h"

/* --- segment registers on the stack --- */

/* 06/07 ES, 0E CS, 16/17 SS, 1E/1F DS: opcode bits 4:3 (enum x86_sreg). */
static unsigned opcode_sreg(const struct x86_insn *in)
{
    return (in->opcode >> 3) & 3;
}

/* The selector, zero-extended to the operand size: a 32-bit push writes
 * four bytes, upper half zero (the AMD host does; recent Intel CPUs leave
 * the upper half untouched). */
static void op_push_sreg(struct x86_cpu *cpu, const struct x86_insn *in)
{
    x86_push(cpu, in->osz, cpu->seg[opcode_sreg(in)].selector);
}

/* x86_seg_load does the descriptor checks (and the interrupt shadow of
 * POP SS). SP moves by the stack size that held the selector: a POP SS
 * may change SS.B, so the new value is computed before the load. */
static void op_pop_sreg(struct x86_cpu *cpu, const struct x86_insn *in)
{
    uint16_t sel = (uint16_t)x86_stack_peek(cpu, in->osz, 0);
    uint64_t sp = cpu->gpr[X86_RSP], mask = cpu->sp_mask;
    sp = (sp & ~mask) | ((sp + (1u << in->osz)) & mask);
    x86_seg_load(cpu, opcode_sreg(in), sel);
    cpu->gpr[X86_RSP] = sp;
}

/* --- INC/DEC r16/r32 --- */

/* 40+r INC, 48+r DEC: FF /0 and /1 on a register (alu.c), through the
 * same lazy-flags kind: CF survives, kept in src2 (flags.h). */
static void op_incdec_reg(struct x86_cpu *cpu, const struct x86_insn *in)
{
    unsigned osz = in->osz;
    bool dec = in->opcode & 8;
    uint64_t cf = x86_flag_cf(cpu), a = x86_reg_read(cpu, in->reg, osz);
    uint64_t r = (dec ? a - 1 : a + 1) & x86_mask(osz);
    x86_reg_write(cpu, in->reg, osz, r);
    x86_set_cc(cpu, X86_CC(dec ? X86_CC_KIND_DEC : X86_CC_KIND_INC, osz), r, a, cf);
}

/* --- PUSHA/POPA --- */

/* 60: AX CX DX BX, the SP before the instruction, BP SI DI, from the
 * highest slot down. Every slot is checked first (one by one: on a 16-bit
 * stack they may wrap around), so a fault leaves memory unchanged too. */
static void op_pusha(struct x86_cpu *cpu, const struct x86_insn *in)
{
    unsigned osz = in->osz, n = 1u << osz;
    uint64_t sp = cpu->gpr[X86_RSP];
    for (unsigned r = 0; r < 8; r++)
        x86_touch_write(cpu, x86_stack_lin(cpu, sp - (r + 1) * n), n, X86_SS);
    for (unsigned r = 0; r < 8; r++)
        x86_store_seg(cpu, x86_stack_lin(cpu, sp - (r + 1) * n), osz, cpu->gpr[r], X86_SS);
    x86_sp_set(cpu, sp - 8 * n);
}

/* 61: the reverse; the slot PUSHA stored SP in is skipped, not loaded. */
static void op_popa(struct x86_cpu *cpu, const struct x86_insn *in)
{
    unsigned osz = in->osz, n = 1u << osz;
    uint64_t sp = cpu->gpr[X86_RSP], v[8];
    for (unsigned r = 0; r < 8; r++) {
        if (r != X86_RSP)
            v[r] = x86_load_seg(cpu, x86_stack_lin(cpu, sp + (7 - r) * n), osz, X86_SS);
    }
    for (unsigned r = 0; r < 8; r++) {
        if (r != X86_RSP)
            x86_reg_write(cpu, r, osz, v[r]);
    }
    x86_sp_set(cpu, sp + 8 * n);
}

/* --- BCD adjustments --- */

/* On Zen DAA, DAS, AAA and AAS leave the flags of the addition or
 * subtraction they do, except CF and AF, which follow the SDM's rules:
 * those two are patched in. cc is the operation (kind and size). */
static void bcd_flags(struct x86_cpu *cpu, uint32_t cc, uint64_t res, uint64_t a, uint64_t b,
                      bool cf, bool af)
{
    x86_set_cc(cpu, cc, res, a, b);
    uint64_t fl = x86_flags_eval(cpu) & ~(uint64_t)(X86_FLAG_CF | X86_FLAG_AF);
    x86_flags_set(cpu, fl | (cf ? X86_FLAG_CF : 0) | (af ? X86_FLAG_AF : 0));
}

/* 0x06 when the low digit needs adjusting (above 9, or AF), plus 0x60 for
 * the high digit (AL above 0x99, or CF) when high is set (DAA, DAS). */
static unsigned bcd_adjust(const struct x86_cpu *cpu, unsigned al, bool high)
{
    uint64_t fl = x86_flags_eval(cpu);
    unsigned adj = ((al & 0xf) > 9 || (fl & X86_FLAG_AF)) ? 0x06 : 0;
    if (high && (al > 0x99 || (fl & X86_FLAG_CF)))
        adj |= 0x60;
    return adj;
}

/* 27: AL += the adjustment; CF = the high digit was adjusted, AF = the low
 * one. OF (undefined) is the addition's. */
static void op_daa(struct x86_cpu *cpu, const struct x86_insn *in)
{
    (void)in;
    unsigned al = (uint8_t)cpu->gpr[X86_RAX], adj = bcd_adjust(cpu, al, true);
    unsigned r = (al + adj) & 0xff;
    x86_reg_write(cpu, X86_RAX, 0, r);
    bcd_flags(cpu, X86_CC(X86_CC_KIND_ADD, 0), r, al, adj, adj & 0x60, adj & 0x06);
}

/* 2F: AL -= the adjustment; CF also when subtracting 6 borrows. OF
 * (undefined) is the subtraction's. */
static void op_das(struct x86_cpu *cpu, const struct x86_insn *in)
{
    (void)in;
    unsigned al = (uint8_t)cpu->gpr[X86_RAX], adj = bcd_adjust(cpu, al, true);
    unsigned r = (al - adj) & 0xff;
    bool cf = (adj & 0x60) || ((adj & 0x06) && al < 6);
    x86_reg_write(cpu, X86_RAX, 0, r);
    bcd_flags(cpu, X86_CC(X86_CC_KIND_SUB, 0), r, al, adj, cf, adj & 0x06);
}

/* 37 AAA, 3F AAS: AX +/- 0x106 when the low digit needs adjusting (a carry
 * or borrow out of AL reaches AH, as on current CPUs), then AL &= 0x0f;
 * CF = AF = adjusted. OF SF ZF PF (undefined) are those of the 16-bit
 * addition or subtraction, before the masking. */
static void ascii_adjust(struct x86_cpu *cpu, bool sub)
{
    unsigned ax = (uint16_t)cpu->gpr[X86_RAX];
    unsigned adj = bcd_adjust(cpu, ax & 0xff, false) ? 0x106 : 0;
    unsigned r = (sub ? ax - adj : ax + adj) & 0xffff;
    x86_reg_write(cpu, X86_RAX, 1, r & 0xff0f);
    bcd_flags(cpu, X86_CC(sub ? X86_CC_KIND_SUB : X86_CC_KIND_ADD, 1), r, ax, adj, adj, adj);
}

static void op_aaa(struct x86_cpu *cpu, const struct x86_insn *in)
{
    (void)in;
    ascii_adjust(cpu, false);
}

static void op_aas(struct x86_cpu *cpu, const struct x86_insn *in)
{
    (void)in;
    ascii_adjust(cpu, true);
}

/* D4 ib: AH = AL / ib, AL = AL % ib; ib = 0 is #DE. SF ZF PF from AL; OF
 * AF CF (undefined) are clear, as after a logic operation. */
static void op_aam(struct x86_cpu *cpu, const struct x86_insn *in)
{
    unsigned base = (uint8_t)in->imm, al = (uint8_t)cpu->gpr[X86_RAX];
    if (base == 0)
        x86_raise(cpu, X86_EXC_DE, 0);
    unsigned r = al % base;
    x86_reg_write(cpu, X86_RAX, 1, (al / base) << 8 | r);
    x86_set_cc(cpu, X86_CC(X86_CC_KIND_LOGIC, 0), r, 0, 0);
}

/* D5 ib: AL = AL + AH * ib (8 bits), AH = 0. The flags, OF AF CF
 * (undefined) included, are those of that 8-bit addition. */
static void op_aad(struct x86_cpu *cpu, const struct x86_insn *in)
{
    unsigned ax = (uint16_t)cpu->gpr[X86_RAX], al = ax & 0xff;
    unsigned b = ((ax >> 8) * (uint8_t)in->imm) & 0xff, r = (al + b) & 0xff;
    x86_reg_write(cpu, X86_RAX, 1, r);
    x86_set_cc(cpu, X86_CC(X86_CC_KIND_ADD, 0), r, al, b);
}

/* --- BOUND, ARPL, SALC --- */

/* 62 (memory only): #BR unless lower <= index <= upper, signed at the
 * operand size; the two bounds follow each other at the operand. */
static void op_bound(struct x86_cpu *cpu, const struct x86_insn *in)
{
    unsigned osz = in->osz;
    if (!(in->flags & X86_I_MEM))
        x86_raise_ud(cpu);
    uint64_t ea = x86_ea(cpu, in);
    int64_t lower = x86_sext(x86_load(cpu, ea, osz), osz);
    int64_t upper = x86_sext(x86_load(cpu, ea + (1u << osz), osz), osz);
    int64_t index = x86_sext(x86_reg_read(cpu, in->reg, osz), osz);
    if (index < lower || index > upper)
        x86_raise(cpu, X86_EXC_BR, 0);
}

/* 63 ARPL Ew, Gw: raise the destination selector's RPL to the source's;
 * ZF says whether it did. Only then is the destination written (a
 * read-only one faults only then, as on the host). #UD in real and
 * virtual-8086 mode. */
static void op_arpl(struct x86_cpu *cpu, const struct x86_insn *in)
{
    if (!(cpu->cr0 & X86_CR0_PE) || (cpu->rflags & X86_FLAG_VM))
        x86_raise_ud(cpu);
    uint64_t dst = x86_rm_read(cpu, in, 1), src = x86_reg_read(cpu, in->reg, 1);
    bool raise = (dst & 3) < (src & 3);
    if (raise)
        x86_rm_write(cpu, in, 1, (dst & ~3ull) | (src & 3));
    x86_flags_materialize(cpu);
    cpu->rflags = raise ? cpu->rflags | X86_FLAG_ZF : cpu->rflags & ~(uint64_t)X86_FLAG_ZF;
}

/* D6: AL = CF ? 0xff : 0, flags unchanged. */
static void op_salc(struct x86_cpu *cpu, const struct x86_insn *in)
{
    (void)in;
    x86_reg_write(cpu, X86_RAX, 0, x86_flag_cf(cpu) ? 0xff : 0);
}

#define P  X86_MAP_PRIMARY
#define A  X86_PFX_ANY
#define MA X86_MOD_ANY
#define ROW(op, fn, name)                                                                          \
    {                                                                                              \
        P, (op), A, -1, MA, (fn), (name)                                                           \
    }
#define ROWS8(op, fn, name)                                                                        \
    ROW((op), fn, name), ROW((op) + 1, fn, name), ROW((op) + 2, fn, name),                         \
        ROW((op) + 3, fn, name), ROW((op) + 4, fn, name), ROW((op) + 5, fn, name),                 \
        ROW((op) + 6, fn, name), ROW((op) + 7, fn, name)

const struct x86_op_entry x86_ops_legacy[] = {
    ROW(0x06, op_push_sreg, "push"),   ROW(0x0e, op_push_sreg, "push"),
    ROW(0x16, op_push_sreg, "push"),   ROW(0x1e, op_push_sreg, "push"),
    ROW(0x07, op_pop_sreg, "pop"),     ROW(0x17, op_pop_sreg, "pop"),
    ROW(0x1f, op_pop_sreg, "pop"),     ROWS8(0x40, op_incdec_reg, "inc"),
    ROWS8(0x48, op_incdec_reg, "dec"), ROW(0x60, op_pusha, "pusha"),
    ROW(0x61, op_popa, "popa"),        ROW(0x27, op_daa, "daa"),
    ROW(0x2f, op_das, "das"),          ROW(0x37, op_aaa, "aaa"),
    ROW(0x3f, op_aas, "aas"),          ROW(0xd4, op_aam, "aam"),
    ROW(0xd5, op_aad, "aad"),          ROW(0x62, op_bound, "bound"),
    ROW(0xd6, op_salc, "salc"),        {P, 0x63, X86_PFX_LEGACY, -1, MA, op_arpl, "arpl"},
    {0, 0, 0, 0, 0, NULL, NULL},
};
