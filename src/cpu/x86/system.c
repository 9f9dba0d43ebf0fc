/* System instructions: segment register loads (for MOV Sreg and POP
 * FS/GS in move.c and stack.c), port I/O (IN/OUT), the
 * descriptor-table and control-register instructions (SGDT SIDT SLDT STR
 * SMSW, LGDT LIDT LLDT LTR LMSW, MOV to/from CR and DR, CLTS, INVLPG),
 * cache control (INVD, WBINVD), RDMSR/WRMSR, RDPMC, SYSRET and SYSEXIT.
 *
 * System mode does them for real: descriptor tables (seg.c), paging and
 * the TLB (mmu.c), MSRs (msr.c), port I/O through the embedder's hooks
 * with the TSS I/O permission bitmap. User mode runs CPL 3 with IOPL 0,
 * where the privileged ones raise #GP(0) as the hardware does there.
 *
 * Descriptors in user mode: there are no descriptor tables; the embedder
 * plays the kernel. Selector loads resolve against the descriptors Linux's
 * GDT gives user code (x86_64: GDT_ENTRY_DEFAULT_USER32_CS 4,
 * GDT_ENTRY_DEFAULT_USER_DS 5, GDT_ENTRY_DEFAULT_USER_CS 6, and the
 * read-only CPUNODE segment 15), which is what the host CPU does for
 * these selectors under Linux; every other non-null selector fails its
 * checks (kernel descriptors have DPL 0, the TSS and LDT are system
 * descriptors, empty TLS slots are not code or data).
 */
#include "cpu/x86/insn.h"
#include "cpu/x86/mmu.h"
#include "cpu/x86/msr.h"
#include "cpu/x86/operand.h"
#include "cpu/x86/seg.h"
#include "cpu/x86/stack.h"

#define RFLAGS_IOPL (3u << 12)
#define CR4_UMIP    (1u << 11)
#define CR4_PCE     (1u << 8)
#define EFER_SCE    (1u << 0)

/* struct x86_segment.attr bits */
#define ATTR_TYPE_CODE (1u << 3)
#define ATTR_TYPE_RW   (1u << 1) /* code: readable; data: writable */
#define ATTR_DPL(a)    ((a) >> 5 & 3)
#define SEL_RPL(s)     ((s)&3u)
#define SEL_TI         (1u << 2)
#define SEL_NULL(s)    (((s) & ~3u) == 0)
#define GP_SEL(cpu, s) x86_raise((cpu), X86_EXC_GP, (s)&0xfffcu)

/* The user-mode stand-in for Linux's GDT (see the top of the file), as
 * struct x86_segment.attr: type|s<<4|dpl<<5|p<<7|avl<<8|l<<9|db<<10|g<<11. */
static const struct {
    uint16_t index;
    uint16_t attr;
    uint32_t limit;
} user_gdt[] = {
    {4, 0xcfb, 0xffffffff}, /* 32-bit user code, readable */
    {5, 0xcf3, 0xffffffff}, /* user data, writable */
    {6, 0xafb, 0xffffffff}, /* 64-bit user code, readable */
    {15, 0x4f1, 0},         /* CPUNODE: read-only data, limit = node << 12 | cpu */
};

/* The index in user_gdt of sel's descriptor, or -1. */
static int user_descriptor(uint16_t sel)
{
    if (sel & SEL_TI)
        return -1; /* no LDT */
    for (unsigned i = 0; i < sizeof(user_gdt) / sizeof(user_gdt[0]); i++)
        if (user_gdt[i].index == sel >> 3)
            return (int)i;
    return -1;
}

/* MOV Sreg / POP Sreg in 64-bit mode: the SDM's checks for a data segment
 * register (DS ES FS GS: a data or readable code segment the CPL and RPL
 * may use; null is allowed and, as on the host CPU, clears the hidden base)
 * and for SS (a writable data segment at DPL = RPL = CPL; null is #GP(0)
 * at CPL 3). In 64-bit mode only FS and GS bases matter. */
void x86_seg_load(struct x86_cpu *cpu, unsigned sreg, uint16_t sel)
{
    if (!cpu->user_mode) {
        x86_seg_load_sys(cpu, sreg, sel);
        if (sreg == X86_SS)
            cpu->int_shadow = cpu->ss_loaded = true; /* MOV SS, POP SS: no interrupt or
                                                        single-step before the next one */
        return;
    }
    struct x86_segment *s = &cpu->seg[sreg];
    if (SEL_NULL(sel)) {
        if (sreg == X86_SS && cpu->cpl == 3)
            x86_raise(cpu, X86_EXC_GP, 0);
        s->selector = sel;
        s->base = 0;
        return;
    }
    int d = user_descriptor(sel);
    if (d < 0)
        GP_SEL(cpu, sel);
    unsigned attr = user_gdt[d].attr, dpl = ATTR_DPL(attr);
    bool code = attr & ATTR_TYPE_CODE, rw = attr & ATTR_TYPE_RW;
    if (sreg == X86_SS) {
        if (code || !rw || SEL_RPL(sel) != cpu->cpl || dpl != cpu->cpl)
            GP_SEL(cpu, sel);
    } else if ((code && !rw) || SEL_RPL(sel) > dpl || cpu->cpl > dpl) {
        GP_SEL(cpu, sel); /* (conforming code would skip the DPL check; none here) */
    }
    *s = (struct x86_segment){
        .base = 0, .limit = user_gdt[d].limit, .selector = sel, .attr = (uint16_t)attr};
}

/* --- port I/O --- */

/* With CPL > IOPL the TSS I/O permission bitmap decides: every bit for
 * [port, port + size) must be clear (user mode: no TSS, so #GP(0)). */
void x86_io_check(struct x86_cpu *cpu, unsigned port, unsigned size)
{
    if (cpu->cpl <= (cpu->rflags & RFLAGS_IOPL) >> 12 && (cpu->cr0 & X86_CR0_PE))
        return;
    if (!(cpu->cr0 & X86_CR0_PE))
        return;
    unsigned type = cpu->tr.attr & 15;
    if (cpu->user_mode || (type != 0x9 && type != 0xb) || cpu->tr.limit < 103)
        x86_raise(cpu, X86_EXC_GP, 0);
    uint16_t iomap;
    x86_sys_read(cpu, cpu->tr.base + 102, &iomap, 2);
    uint64_t at = (uint64_t)iomap + port / 8;
    if (at + 1 > cpu->tr.limit)
        x86_raise(cpu, X86_EXC_GP, 0);
    uint16_t bits;
    x86_sys_read(cpu, cpu->tr.base + at, &bits, 2);
    if ((bits >> (port & 7)) & ((1u << size) - 1))
        x86_raise(cpu, X86_EXC_GP, 0);
}

/* E4 E5 EC ED: IN; E6 E7 EE EF: OUT. */
static void op_in_out(struct x86_cpu *cpu, const struct x86_insn *in)
{
    unsigned op = in->opcode, size = (op & 1) ? (in->osz == 1 ? 2 : 4) : 1;
    unsigned port = (op & 8) ? (uint16_t)cpu->gpr[X86_RDX] : (uint8_t)in->imm;
    x86_io_check(cpu, port, size);
    if (cpu->user_mode)
        x86_raise_ud(cpu);
    if (op & 2) {
        cpu->sys->pio_out(cpu->sys_ctx, (uint16_t)port, size, (uint32_t)cpu->gpr[X86_RAX]);
    } else {
        uint32_t v = cpu->sys->pio_in(cpu->sys_ctx, (uint16_t)port, size);
        x86_reg_write(cpu, X86_RAX, size == 1 ? 0 : size == 2 ? 1 : 2, v);
    }
}

/* --- privileged instructions: CPL 0 only --- */

static void need_cpl0(struct x86_cpu *cpu)
{
    if (cpu->cpl > 0)
        x86_raise(cpu, X86_EXC_GP, 0);
}

/* The privilege check comes first (MOV CR/DR with a register number that
 * does not exist is #UD at decode, before it, as on the host). The memory
 * operands of LGDT/LIDT/INVLPG are not touched at CPL 3: #GP(0) comes
 * before any access. In user mode nothing is CPL 0. */
static void privileged(struct x86_cpu *cpu)
{
    need_cpl0(cpu);
    if (cpu->user_mode)
        x86_raise_ud(cpu);
}

/* LGDT, LIDT: 2-byte limit, then a 3-byte (16-bit operand), 4-byte or,
 * in 64-bit mode, 8-byte base. */
static void op_lgdt_lidt(struct x86_cpu *cpu, const struct x86_insn *in)
{
    privileged(cpu);
    uint64_t ea = x86_ea(cpu, in);
    uint16_t limit = x86_load16(cpu, ea);
    uint64_t base =
        cpu->code_mode == X86_MODE64 ? x86_load64(cpu, ea + 2) : x86_load32(cpu, ea + 2);
    if (cpu->code_mode != X86_MODE64 && in->osz == 1)
        base &= 0xffffff;
    if (cpu->code_mode == X86_MODE64 && !x86_canonical(base))
        x86_raise(cpu, X86_EXC_GP, 0);
    struct x86_dtr *t = (in->reg & 7) == 2 ? &cpu->gdtr : &cpu->idtr;
    t->base = base;
    t->limit = limit;
}

/* A system descriptor (LDT or TSS) for LLDT/LTR: 16 bytes in long mode. */
static struct x86_segment system_descriptor(struct x86_cpu *cpu, uint16_t sel, unsigned want,
                                            uint64_t *raw_out)
{
    if (sel & 4)
        x86_raise(cpu, X86_EXC_GP, sel & 0xfffc);
    uint64_t raw = x86_desc_read(cpu, sel, X86_EXC_GP);
    unsigned type = (raw >> 40) & 15;
    bool ok = want == 2 ? type == 2 : (type == 1 || type == 9);
    if ((raw & (1ull << 44)) || !ok)
        x86_raise(cpu, X86_EXC_GP, sel & 0xfffc);
    if (!(raw & (1ull << 47)))
        x86_raise(cpu, X86_EXC_NP, sel & 0xfffc);
    struct x86_segment s = x86_desc_segment(raw, sel);
    if (cpu->long_mode) {
        uint64_t hi;
        if ((sel & ~7u) + 15 > cpu->gdtr.limit)
            x86_raise(cpu, X86_EXC_GP, sel & 0xfffc);
        x86_sys_read(cpu, cpu->gdtr.base + (sel & ~7u) + 8, &hi, 8);
        s.dbase |= (hi & 0xffffffffull) << 32;
        s.base = s.dbase;
    }
    *raw_out = raw;
    return s;
}

static void op_lldt_ltr(struct x86_cpu *cpu, const struct x86_insn *in)
{
    privileged(cpu);
    if (!(cpu->cr0 & X86_CR0_PE))
        x86_raise_ud(cpu);
    uint16_t sel = (uint16_t)x86_rm_read(cpu, in, 1);
    bool ltr = (in->reg & 7) == 3;
    if (SEL_NULL(sel)) {
        if (ltr)
            x86_raise(cpu, X86_EXC_GP, 0);
        cpu->ldtr = (struct x86_segment){.selector = sel};
        return;
    }
    uint64_t raw;
    struct x86_segment s = system_descriptor(cpu, sel, ltr ? 9 : 2, &raw);
    if (!ltr) {
        cpu->ldtr = s;
        return;
    }
    uint8_t busy = (uint8_t)(raw >> 40) | 2; /* the TSS becomes busy */
    x86_sys_write(cpu, cpu->gdtr.base + (sel & ~7u) + 5, &busy, 1);
    s.attr |= 2;
    cpu->tr = s;
}

/* LMSW: the low four bits of CR0; PE can be set, never cleared. */
static void op_lmsw(struct x86_cpu *cpu, const struct x86_insn *in)
{
    privileged(cpu);
    uint64_t v = x86_rm_read(cpu, in, 1) & 0xf;
    uint64_t cr0 = (cpu->cr0 & ~0xeull) | (v & 0xe) | ((cpu->cr0 | v) & X86_CR0_PE);
    x86_write_cr(cpu, 0, cr0);
}

/* CR0, CR3, CR4 writes with the SDM's #GP checks; paging changes flush
 * the TLB and may switch long mode on or off. */
#define CR0_RESERVED 0xffffffff1ffaffc0ull
#define CR4_KNOWN                                                                                  \
    (X86_CR4_VME | X86_CR4_PVI | X86_CR4_TSD | X86_CR4_DE | X86_CR4_PSE | X86_CR4_PAE |            \
     X86_CR4_MCE | X86_CR4_PGE | X86_CR4_PCE | X86_CR4_OSFXSR | X86_CR4_OSXMMEXCPT | X86_CR4_UMIP)

static void write_cr0(struct x86_cpu *cpu, uint64_t v)
{
    v |= X86_CR0_ET;
    if ((v & CR0_RESERVED) || ((v & X86_CR0_PG) && !(v & X86_CR0_PE)) ||
        ((v & X86_CR0_NW) && !(v & X86_CR0_CD)))
        x86_raise(cpu, X86_EXC_GP, 0);
    bool pg_on = (v & X86_CR0_PG) && !(cpu->cr0 & X86_CR0_PG);
    bool pg_off = !(v & X86_CR0_PG) && (cpu->cr0 & X86_CR0_PG);
    if (pg_on && (cpu->efer & X86_EFER_LME)) {
        if (!(cpu->cr4 & X86_CR4_PAE))
            x86_raise(cpu, X86_EXC_GP, 0);
        cpu->efer |= X86_EFER_LMA;
    }
    if (pg_off && cpu->long_mode) {
        if (cpu->code_mode == X86_MODE64)
            x86_raise(cpu, X86_EXC_GP, 0);
        cpu->efer &= ~X86_EFER_LMA;
    }
    uint64_t changed = v ^ cpu->cr0;
    cpu->cr0 = v;
    if (changed & (X86_CR0_PG | X86_CR0_WP | X86_CR0_PE))
        x86_flush_tlb(cpu, true);
    x86_update_mode(cpu);
}

static void write_cr4(struct x86_cpu *cpu, uint64_t v)
{
    if ((v & ~CR4_KNOWN) || (cpu->long_mode && !(v & X86_CR4_PAE)))
        x86_raise(cpu, X86_EXC_GP, 0);
    uint64_t changed = v ^ cpu->cr4;
    cpu->cr4 = v;
    if (changed & (X86_CR4_PGE | X86_CR4_PAE | X86_CR4_PSE))
        x86_flush_tlb(cpu, true);
}

void x86_write_cr(struct x86_cpu *cpu, unsigned n, uint64_t v)
{
    switch (n) {
    case 0:
        write_cr0(cpu, v);
        break;
    case 2:
        cpu->cr2 = v;
        break;
    case 3:
        if (cpu->long_mode && (v >> 52))
            x86_raise(cpu, X86_EXC_GP, 0);
        cpu->cr3 = cpu->long_mode ? v : (uint32_t)v;
        x86_flush_tlb(cpu, false);
        break;
    case 4:
        write_cr4(cpu, v);
        break;
    case 8:
        if (v >> 4)
            x86_raise(cpu, X86_EXC_GP, 0);
        cpu->sys->set_cr8(cpu->sys_ctx, v);
        break;
    default:
        x86_raise_ud(cpu);
    }
}

static uint64_t read_cr(struct x86_cpu *cpu, unsigned n)
{
    switch (n) {
    case 0:
        return cpu->cr0;
    case 2:
        return cpu->cr2;
    case 3:
        return cpu->cr3;
    case 4:
        return cpu->cr4;
    case 8:
        return cpu->sys->get_cr8(cpu->sys_ctx);
    }
    x86_raise_ud(cpu);
}

/* 0F 20 (read) and 0F 22 (write): the GPR is always the r/m register, at
 * 64 bits in 64-bit mode and 32 bits elsewhere. */
static void op_mov_cr(struct x86_cpu *cpu, const struct x86_insn *in)
{
    privileged(cpu);
    unsigned n = in->reg, osz = cpu->code_mode == X86_MODE64 ? 3 : 2;
    if (n != 0 && n != 2 && n != 3 && n != 4 && n != 8)
        x86_raise_ud(cpu);
    if (in->opcode == 0x20)
        x86_reg_write(cpu, in->rm, osz, read_cr(cpu, n));
    else
        x86_write_cr(cpu, n, x86_reg_read(cpu, in->rm, osz));
}

/* 0F 21 / 0F 23: DR0-DR7 are kept (no breakpoints fire yet); DR4/DR5
 * alias DR6/DR7 unless CR4.DE, which makes them #UD. */
static void op_mov_dr(struct x86_cpu *cpu, const struct x86_insn *in)
{
    privileged(cpu);
    unsigned n = in->reg & 7, osz = cpu->code_mode == X86_MODE64 ? 3 : 2;
    if (n == 4 || n == 5) {
        if (cpu->cr4 & X86_CR4_DE)
            x86_raise_ud(cpu);
        n += 2;
    }
    if (in->opcode == 0x21) {
        x86_reg_write(cpu, in->rm, osz, cpu->dr[n]);
        return;
    }
    uint64_t v = x86_reg_read(cpu, in->rm, osz);
    if (n >= 6 && (v >> 32))
        x86_raise(cpu, X86_EXC_GP, 0);
    if (n == 6)
        v = (v & 0xe00f) | 0xffff0ff0;
    else if (n == 7)
        v = (v & 0xffff2bff) | 0x400;
    cpu->dr[n] = v;
}

static void op_clts(struct x86_cpu *cpu, const struct x86_insn *in)
{
    (void)in;
    privileged(cpu);
    cpu->cr0 &= ~X86_CR0_TS;
}

/* INVD, WBINVD: caches are coherent here; nothing to write back. */
static void op_cache(struct x86_cpu *cpu, const struct x86_insn *in)
{
    (void)in;
    privileged(cpu);
}

static void op_invlpg(struct x86_cpu *cpu, const struct x86_insn *in)
{
    privileged(cpu);
    x86_flush_page(cpu, x86_ea(cpu, in));
}

static void op_rdmsr(struct x86_cpu *cpu, const struct x86_insn *in)
{
    (void)in;
    privileged(cpu);
    uint64_t v;
    if (x86_rdmsr(cpu, (uint32_t)cpu->gpr[X86_RCX], &v) < 0)
        x86_raise(cpu, X86_EXC_GP, 0);
    cpu->gpr[X86_RAX] = (uint32_t)v;
    cpu->gpr[X86_RDX] = v >> 32;
}

static void op_wrmsr(struct x86_cpu *cpu, const struct x86_insn *in)
{
    (void)in;
    privileged(cpu);
    uint64_t v = (uint32_t)cpu->gpr[X86_RAX] | cpu->gpr[X86_RDX] << 32;
    if (x86_wrmsr(cpu, (uint32_t)cpu->gpr[X86_RCX], v) < 0)
        x86_raise(cpu, X86_EXC_GP, 0);
}

/* 0F 33: user mode may read the counters only with CR4.PCE. */
static void op_rdpmc(struct x86_cpu *cpu, const struct x86_insn *in)
{
    (void)in;
    if (cpu->cpl > 0 && !(cpu->cr4 & CR4_PCE))
        x86_raise(cpu, X86_EXC_GP, 0);
    x86_raise_ud(cpu); /* no performance counters are modelled */
}

/* Flat segments SYSCALL/SYSRET/SYSENTER/SYSEXIT load without reading
 * descriptors. */
static struct x86_segment flat_code(uint16_t sel, unsigned dpl, bool l)
{
    return (struct x86_segment){.selector = sel,
                                .limit = 0xffffffff,
                                .attr = (uint16_t)(0xb | X86_ATTR_S | dpl << 5 | X86_ATTR_P |
                                                   X86_ATTR_G | (l ? X86_ATTR_L : X86_ATTR_DB))};
}

static struct x86_segment flat_data(uint16_t sel, unsigned dpl)
{
    return (struct x86_segment){
        .selector = sel,
        .limit = 0xffffffff,
        .attr = (uint16_t)(0x3 | X86_ATTR_S | dpl << 5 | X86_ATTR_P | X86_ATTR_G | X86_ATTR_DB)};
}

/* SYSCALL in system mode (misc.c checks EFER.SCE): to LSTAR (CSTAR from
 * compatibility mode) with RFLAGS masked by SFMASK, or legacy mode's
 * STAR[31:0]; CS and SS from STAR[47:32]. */
void x86_syscall_enter(struct x86_cpu *cpu)
{
    uint16_t sel = (uint16_t)(cpu->star >> 32) & 0xfffc;
    uint64_t fl = x86_get_rflags(cpu) & ~(uint64_t)X86_FLAG_RF;
    struct x86_segment ss = flat_data((uint16_t)(sel + 8), 0);
    if (cpu->long_mode) {
        uint64_t target = cpu->code_mode == X86_MODE64 ? cpu->lstar : cpu->cstar;
        cpu->gpr[X86_RCX] = cpu->rip;
        cpu->gpr[X86_R11] = fl;
        x86_set_rflags(cpu, fl & ~cpu->sfmask);
        struct x86_segment cs = flat_code(sel, 0, true);
        x86_set_cs(cpu, &cs, 0);
        cpu->rip = target;
    } else {
        cpu->gpr[X86_RCX] = (uint32_t)cpu->rip;
        cpu->rflags &= ~(uint64_t)(X86_FLAG_IF | X86_FLAG_VM | X86_FLAG_RF);
        struct x86_segment cs = flat_code(sel, 0, false);
        x86_set_cs(cpu, &cs, 0);
        cpu->rip = (uint32_t)cpu->star;
    }
    x86_seg_commit(cpu, X86_SS, &ss);
}

/* 0F 07: #UD without EFER.SCE (user mode acts as if it were set: SYSCALL
 * works there), then #GP(0) outside CPL 0 or protected mode. The return
 * RIP in RCX must be canonical (#GP(0) at CPL 0 before anything changes,
 * as AMD and Intel both check, so the kernel never faults on a user RSP). */
static void op_sysret(struct x86_cpu *cpu, const struct x86_insn *in)
{
    if (!(cpu->efer & EFER_SCE) && !cpu->user_mode)
        x86_raise_ud(cpu);
    privileged(cpu);
    if (!(cpu->cr0 & X86_CR0_PE))
        x86_raise(cpu, X86_EXC_GP, 0);
    bool to64 = in->osz == 3;
    uint16_t base = (uint16_t)(cpu->star >> 48);
    if (to64 && !x86_canonical(cpu->gpr[X86_RCX]))
        x86_raise(cpu, X86_EXC_GP, 0);
    struct x86_segment cs = flat_code((uint16_t)((to64 ? base + 16 : base) | 3), 3, to64);
    struct x86_segment ss = flat_data((uint16_t)((base + 8) | 3), 3);
    if (cpu->long_mode)
        x86_set_rflags(cpu, (cpu->gpr[X86_R11] & 0x3c7fd7) | 2);
    else
        cpu->rflags |= X86_FLAG_IF;
    cpu->rip = to64 ? cpu->gpr[X86_RCX] : (uint32_t)cpu->gpr[X86_RCX];
    x86_set_cs(cpu, &cs, 3);
    x86_seg_commit(cpu, X86_SS, &ss);
}

/* 0F 34: SYSENTER, legacy protected mode (AMD: #UD in long mode, where the
 * decoder's table row for this CPU identity says so). */
static void op_sysenter(struct x86_cpu *cpu, const struct x86_insn *in)
{
    (void)in;
    if (cpu->user_mode || cpu->long_mode)
        x86_raise_ud(cpu);
    uint16_t sel = (uint16_t)cpu->sysenter_cs;
    if (!(cpu->cr0 & X86_CR0_PE) || (sel & 0xfffc) == 0)
        x86_raise(cpu, X86_EXC_GP, 0);
    cpu->rflags &= ~(uint64_t)(X86_FLAG_IF | X86_FLAG_RF | X86_FLAG_VM);
    struct x86_segment cs = flat_code(sel & 0xfffc, 0, false);
    struct x86_segment ss = flat_data((uint16_t)((sel + 8) & 0xfffc), 0);
    x86_set_cs(cpu, &cs, 0);
    x86_seg_commit(cpu, X86_SS, &ss);
    cpu->gpr[X86_RSP] = (uint32_t)cpu->sysenter_esp;
    cpu->rip = (uint32_t)cpu->sysenter_eip;
}

/* 0F 35: SYSEXIT (the host, AMD in long mode, checks the privilege first:
 * #GP(0); SYSENTER is #UD in long mode on AMD). */
static void op_sysexit(struct x86_cpu *cpu, const struct x86_insn *in)
{
    privileged(cpu);
    if (cpu->long_mode || !(cpu->cr0 & X86_CR0_PE))
        x86_raise_ud(cpu);
    uint16_t sel = (uint16_t)cpu->sysenter_cs;
    if ((sel & 0xfffc) == 0)
        x86_raise(cpu, X86_EXC_GP, 0);
    (void)in;
    struct x86_segment cs = flat_code((uint16_t)((sel + 16) | 3), 3, false);
    struct x86_segment ss = flat_data((uint16_t)((sel + 24) | 3), 3);
    cpu->gpr[X86_RSP] = (uint32_t)cpu->gpr[X86_RCX];
    cpu->rip = (uint32_t)cpu->gpr[X86_RDX];
    x86_set_cs(cpu, &cs, 3);
    x86_seg_commit(cpu, X86_SS, &ss);
}

/* --- stores of system state, allowed at CPL 3 unless CR4.UMIP --- */

/* What the descriptor-table registers hold for user code. There are no
 * tables in user mode; these are the values Linux shows programs (its UMIP
 * emulation on the host: GDTR and IDTR with dummy bases and limit 0, no
 * LDT, the TSS at GDT entry 8). The system-level work keeps real ones. */
#define USER_GDT_BASE 0xfffffffffffe0000ULL
#define USER_IDT_BASE 0xffffffffffff0000ULL
#define USER_LDTR     0
#define USER_TR       0x40

static void umip_check(struct x86_cpu *cpu)
{
    if ((cpu->cr4 & CR4_UMIP) && cpu->cpl > 0)
        x86_raise(cpu, X86_EXC_GP, 0);
}

/* SGDT/SIDT m: a 2-byte limit and an 8-byte base (64-bit mode). */
static void store_dtr(struct x86_cpu *cpu, const struct x86_insn *in, uint64_t base)
{
    umip_check(cpu);
    uint8_t img[10] = {0};
    memcpy(img + 2, &base, 8);
    x86_store_bytes(cpu, x86_ea(cpu, in), img, sizeof(img));
}

/* SGDT/SIDT in system mode: the limit and a 4-byte base (8 in 64-bit
 * mode). */
static void store_dtr_sys(struct x86_cpu *cpu, const struct x86_insn *in, const struct x86_dtr *t)
{
    umip_check(cpu);
    uint8_t img[10];
    memcpy(img, &t->limit, 2);
    memcpy(img + 2, &t->base, 8);
    x86_store_bytes(cpu, x86_ea(cpu, in), img, cpu->code_mode == X86_MODE64 ? 10 : 6);
}

static void op_sgdt(struct x86_cpu *cpu, const struct x86_insn *in)
{
    if (!cpu->user_mode)
        store_dtr_sys(cpu, in, &cpu->gdtr);
    else
        store_dtr(cpu, in, USER_GDT_BASE);
}

static void op_sidt(struct x86_cpu *cpu, const struct x86_insn *in)
{
    if (!cpu->user_mode)
        store_dtr_sys(cpu, in, &cpu->idtr);
    else
        store_dtr(cpu, in, USER_IDT_BASE);
}

/* SLDT, STR, SMSW: a memory destination takes 16 bits; a register is
 * written at the operand size, zero-extended from 16 bits for 32 and 64
 * (SMSW on AMD stores all of CR0 there). */
static void store_word(struct x86_cpu *cpu, const struct x86_insn *in, uint64_t v)
{
    umip_check(cpu);
    if (in->flags & X86_I_MEM)
        x86_store(cpu, x86_ea(cpu, in), 1, v);
    else
        x86_reg_write(cpu, in->rm, in->osz, in->osz == 1 ? v & 0xffff : v);
}

static void op_sldt(struct x86_cpu *cpu, const struct x86_insn *in)
{
    store_word(cpu, in, cpu->user_mode ? USER_LDTR : cpu->ldtr.selector);
}

static void op_str(struct x86_cpu *cpu, const struct x86_insn *in)
{
    store_word(cpu, in, cpu->user_mode ? USER_TR : cpu->tr.selector);
}

static void op_smsw(struct x86_cpu *cpu, const struct x86_insn *in)
{
    store_word(cpu, in, in->osz == 3 ? cpu->cr0 : (uint32_t)cpu->cr0);
}

#define P  X86_MAP_PRIMARY
#define F  X86_MAP_0F
#define A  X86_PFX_ANY
#define MA X86_MOD_ANY
#define MM X86_MOD_MEM
#define ROW(map, op, reg, mod, fn, name)                                                           \
    {                                                                                              \
        (map), (op), A, (reg), (mod), (fn), (name)                                                 \
    }

const struct x86_op_entry x86_ops_system[] = {
    ROW(P, 0xe4, -1, MA, op_in_out, "in"),
    ROW(P, 0xe5, -1, MA, op_in_out, "in"),
    ROW(P, 0xec, -1, MA, op_in_out, "in"),
    ROW(P, 0xed, -1, MA, op_in_out, "in"),
    ROW(P, 0xe6, -1, MA, op_in_out, "out"),
    ROW(P, 0xe7, -1, MA, op_in_out, "out"),
    ROW(P, 0xee, -1, MA, op_in_out, "out"),
    ROW(P, 0xef, -1, MA, op_in_out, "out"),
    ROW(F, 0x00, 0, MA, op_sldt, "sldt"),
    ROW(F, 0x00, 1, MA, op_str, "str"),
    ROW(F, 0x00, 2, MA, op_lldt_ltr, "lldt"),
    ROW(F, 0x00, 3, MA, op_lldt_ltr, "ltr"),
    ROW(F, 0x01, 0, MM, op_sgdt, "sgdt"),
    ROW(F, 0x01, 1, MM, op_sidt, "sidt"),
    ROW(F, 0x01, 2, MM, op_lgdt_lidt, "lgdt"),
    ROW(F, 0x01, 3, MM, op_lgdt_lidt, "lidt"),
    ROW(F, 0x01, 4, MA, op_smsw, "smsw"),
    ROW(F, 0x01, 6, MA, op_lmsw, "lmsw"),
    ROW(F, 0x01, 7, MM, op_invlpg, "invlpg"),
    ROW(F, 0x06, -1, MA, op_clts, "clts"),
    ROW(F, 0x07, -1, MA, op_sysret, "sysret"),
    ROW(F, 0x08, -1, MA, op_cache, "invd"),
    ROW(F, 0x09, -1, MA, op_cache, "wbinvd"),
    ROW(F, 0x20, -1, MA, op_mov_cr, "mov"),
    ROW(F, 0x21, -1, MA, op_mov_dr, "mov"),
    ROW(F, 0x22, -1, MA, op_mov_cr, "mov"),
    ROW(F, 0x23, -1, MA, op_mov_dr, "mov"),
    ROW(F, 0x30, -1, MA, op_wrmsr, "wrmsr"),
    ROW(F, 0x32, -1, MA, op_rdmsr, "rdmsr"),
    ROW(F, 0x33, -1, MA, op_rdpmc, "rdpmc"),
    ROW(F, 0x34, -1, MA, op_sysenter, "sysenter"),
    ROW(F, 0x35, -1, MA, op_sysexit, "sysexit"),
    {0, 0, 0, 0, 0, NULL, NULL},
};
