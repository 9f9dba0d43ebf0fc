/* Operand access for op functions: registers (with 8/16/32/64-bit views)
 * and the ModRM r/m operand, register or memory. */
#ifndef XUNI_CPU_X86_OPERAND_H
#define XUNI_CPU_X86_OPERAND_H

#include "cpu/x86/insn.h"
#include "cpu/x86/mem.h"

static inline uint64_t x86_mask(unsigned osz)
{
    return osz >= 3 ? ~0ULL : (1ULL << (8u << osz)) - 1;
}

/* Sign-extend the low 8 << osz bits of v. */
static inline int64_t x86_sext(uint64_t v, unsigned osz)
{
    unsigned sh = 64 - (8u << osz);
    return (int64_t)(v << sh) >> sh;
}

/* Register reg (0-15, or X86_AH.. for AH/CH/DH/BH) at operand size osz. */
static inline uint64_t x86_reg_read(const struct x86_cpu *cpu, unsigned reg, unsigned osz)
{
    if (osz == 0 && reg >= X86_AH)
        return (cpu->gpr[reg - X86_AH] >> 8) & 0xff;
    return cpu->gpr[reg] & x86_mask(osz);
}

/* Write with the architectural rules: 32-bit writes zero the upper half,
 * 8- and 16-bit writes merge. */
static inline void x86_reg_write(struct x86_cpu *cpu, unsigned reg, unsigned osz, uint64_t v)
{
    switch (osz) {
    case 0:
        if (reg >= X86_AH)
            cpu->gpr[reg - X86_AH] = (cpu->gpr[reg - X86_AH] & ~0xff00ULL) | ((v & 0xff) << 8);
        else
            cpu->gpr[reg] = (cpu->gpr[reg] & ~0xffULL) | (v & 0xff);
        break;
    case 1:
        cpu->gpr[reg] = (cpu->gpr[reg] & ~0xffffULL) | (v & 0xffff);
        break;
    case 2:
        cpu->gpr[reg] = (uint32_t)v;
        break;
    default:
        cpu->gpr[reg] = v;
    }
}

/* Effective address of the memory operand, as a linear address: base +
 * index << scale + disp (RIP-relative: from the end of the instruction),
 * truncated to the address size, plus the segment base. */
static inline uint64_t x86_ea(const struct x86_cpu *cpu, const struct x86_insn *in)
{
    uint64_t a = (uint64_t)(int64_t)in->disp;
    if (in->flags & X86_I_RIPREL)
        a += cpu->rip; /* already the end of this instruction */
    else if (in->rm != X86_NO_REG)
        a += cpu->gpr[in->rm];
    if (in->index != X86_NO_REG)
        a += cpu->gpr[in->index] << in->scale;
    if (in->asz == 2)
        a = (uint32_t)a;
    else if (in->asz == 1)
        a = (uint16_t)a;
    return a + cpu->seg[in->seg].base;
}

/* The r/m operand at size osz. */
static inline uint64_t x86_rm_read(struct x86_cpu *cpu, const struct x86_insn *in, unsigned osz)
{
    if (in->flags & X86_I_MEM)
        return x86_load(cpu, x86_ea(cpu, in), osz);
    return x86_reg_read(cpu, in->rm, osz);
}

static inline void x86_rm_write(struct x86_cpu *cpu, const struct x86_insn *in, unsigned osz,
                                uint64_t v)
{
    if (in->flags & X86_I_MEM)
        x86_store(cpu, x86_ea(cpu, in), osz, v);
    else
        x86_reg_write(cpu, in->rm, osz, v);
}

/* Jump: the next instruction is at target. (cpu->rip already holds the
 * fall-through address when an op function runs: see cpu.h.) */
static inline void x86_jump(struct x86_cpu *cpu, uint64_t target)
{
    cpu->rip = target;
}

#endif
