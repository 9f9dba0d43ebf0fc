/* Segmentation in system mode: the mode the CPU runs in, descriptor loads
 * with their checks, far JMP/CALL/RET through code segments and call
 * gates, IRET (seg.h).
 *
 * What is modelled: real mode (base = selector << 4), 16- and 32-bit
 * protected mode, long mode with 64-bit and compatibility code segments;
 * GDT and LDT; the checks of the SDM's pseudo-code for each instruction
 * with their error codes. Not modelled: virtual-8086 mode and hardware
 * task switches (a task gate or a TSS as a far-transfer target is #GP, and
 * IRET with NT set too), segment limit checks on ordinary data accesses
 * (the accesses themselves are not slowed by them; Linux and our guests run
 * with flat segments).
 */
#include "cpu/x86/seg.h"
#include "cpu/x86/mem.h"
#include "cpu/x86/mmu.h"
#include "cpu/x86/stack.h"

#define SEL_TI        4u
#define SEL_RPL(s)    ((s)&3u)
#define SEL_NULL(s)   (((s) & ~3u) == 0)
#define TYPE_CODE     8u
#define TYPE_CONFORM  4u /* code */
#define TYPE_RW       2u /* code: readable; data: writable */
#define TYPE_ACCESSED 1u

_Noreturn static void fault_sel(struct x86_cpu *cpu, unsigned vector, uint16_t sel)
{
    x86_raise(cpu, vector, sel & 0xfffc);
}

/* --- mode --- */

static uint64_t effective_base(const struct x86_cpu *cpu, unsigned sreg, uint64_t dbase)
{
    if (cpu->code_mode == X86_MODE64 && sreg < X86_FS)
        return 0;
    return cpu->code_mode == X86_MODE64 ? dbase : (uint32_t)dbase;
}

void x86_update_mode(struct x86_cpu *cpu)
{
    const struct x86_segment *cs = &cpu->seg[X86_CS];
    cpu->long_mode = cpu->efer & X86_EFER_LMA;
    if (cpu->user_mode)
        return;
    if (!(cpu->cr0 & X86_CR0_PE)) {
        cpu->code_mode = (cs->attr & X86_ATTR_DB) ? X86_MODE32 : X86_MODE16;
        cpu->cpl = 0;
    } else if (cpu->long_mode && (cs->attr & X86_ATTR_L)) {
        cpu->code_mode = X86_MODE64;
    } else {
        cpu->code_mode = (cs->attr & X86_ATTR_DB) ? X86_MODE32 : X86_MODE16;
    }
    for (unsigned s = 0; s < 6; s++)
        cpu->seg[s].base = effective_base(cpu, s, cpu->seg[s].dbase);
    if (cpu->code_mode == X86_MODE64)
        cpu->sp_mask = ~0ull;
    else
        cpu->sp_mask = (cpu->seg[X86_SS].attr & X86_ATTR_DB) ? 0xffffffffull : 0xffffull;
    x86_tlb_select(cpu);
}

void x86_seg_commit(struct x86_cpu *cpu, unsigned sreg, const struct x86_segment *s)
{
    cpu->seg[sreg] = *s;
    cpu->seg[sreg].base = effective_base(cpu, sreg, s->dbase);
    if (sreg == X86_SS || sreg == X86_CS)
        x86_update_mode(cpu);
}

void x86_set_segment(struct x86_cpu *cpu, unsigned sreg, const struct x86_segment *s)
{
    if (sreg == X86_CS && (cpu->cr0 & X86_CR0_PE))
        cpu->cpl = (uint8_t)X86_ATTR_DPL(s->attr);
    x86_seg_commit(cpu, sreg, s);
    x86_update_mode(cpu);
}

void x86_set_cs(struct x86_cpu *cpu, const struct x86_segment *cs, unsigned cpl)
{
    cpu->cpl = (uint8_t)cpl;
    x86_seg_commit(cpu, X86_CS, cs);
}

/* --- descriptors --- */

uint64_t x86_desc_read(struct x86_cpu *cpu, uint16_t sel, unsigned vector)
{
    uint64_t base, limit;
    if (sel & SEL_TI) {
        if (SEL_NULL(cpu->ldtr.selector) || !(cpu->ldtr.attr & X86_ATTR_P))
            fault_sel(cpu, vector, sel);
        base = cpu->ldtr.base;
        limit = cpu->ldtr.limit;
    } else {
        base = cpu->gdtr.base;
        limit = cpu->gdtr.limit;
    }
    uint64_t off = sel & ~7u;
    if (off + 7 > limit)
        fault_sel(cpu, vector, sel);
    uint64_t raw;
    x86_sys_read(cpu, base + off, &raw, 8);
    return raw;
}

/* The upper half of a 16-byte system descriptor (long mode). */
static uint64_t desc_read_high(struct x86_cpu *cpu, uint16_t sel, unsigned vector)
{
    uint64_t base = (sel & SEL_TI) ? cpu->ldtr.base : cpu->gdtr.base;
    uint64_t limit = (sel & SEL_TI) ? cpu->ldtr.limit : cpu->gdtr.limit;
    uint64_t off = (sel & ~7u) + 8;
    if (off + 7 > limit)
        fault_sel(cpu, vector, sel);
    uint64_t raw;
    x86_sys_read(cpu, base + off, &raw, 8);
    return raw;
}

struct x86_segment x86_desc_segment(uint64_t raw, uint16_t sel)
{
    uint32_t limit = (uint32_t)((raw & 0xffff) | ((raw >> 32) & 0xf0000));
    uint16_t attr = (uint16_t)(((raw >> 40) & 0xff) | ((raw >> 52) & 0xf) << 8);
    if (attr & X86_ATTR_G)
        limit = limit << 12 | 0xfff;
    uint64_t base = ((raw >> 16) & 0xffffff) | ((raw >> 32) & 0xff000000);
    return (struct x86_segment){
        .dbase = base, .base = base, .limit = limit, .selector = sel, .attr = attr};
}

/* Set the accessed bit of a descriptor in memory, as loads do. */
static void desc_set_accessed(struct x86_cpu *cpu, uint16_t sel, uint64_t raw)
{
    if (raw & (1ull << 40))
        return;
    uint64_t base = (sel & SEL_TI) ? cpu->ldtr.base : cpu->gdtr.base;
    uint8_t b = (uint8_t)(raw >> 40) | TYPE_ACCESSED;
    x86_sys_write(cpu, base + (sel & ~7u) + 5, &b, 1);
}

static unsigned desc_type(uint64_t raw)
{
    return (raw >> 40) & 15;
}
static unsigned desc_dpl(uint64_t raw)
{
    return (raw >> 45) & 3;
}
static bool desc_s(uint64_t raw)
{
    return raw & (1ull << 44);
}
static bool desc_present(uint64_t raw)
{
    return raw & (1ull << 47);
}

void x86_seg_load_sys(struct x86_cpu *cpu, unsigned sreg, uint16_t sel)
{
    if (!(cpu->cr0 & X86_CR0_PE)) {
        struct x86_segment s = cpu->seg[sreg];
        s.selector = sel;
        s.dbase = (uint64_t)sel << 4;
        x86_seg_commit(cpu, sreg, &s);
        return;
    }
    if (SEL_NULL(sel)) {
        /* SS may be null only in 64-bit mode below CPL 3, with RPL = CPL. */
        if (sreg == X86_SS &&
            (cpu->code_mode != X86_MODE64 || cpu->cpl == 3 || SEL_RPL(sel) != cpu->cpl))
            x86_raise(cpu, X86_EXC_GP, 0);
        struct x86_segment s = {.selector = sel,
                                .attr = sreg == X86_SS ? (uint16_t)(cpu->cpl << 5) : 0};
        if (sreg == X86_SS)
            s.attr |= X86_ATTR_DB | 0x13; /* a usable 64-bit stack */
        x86_seg_commit(cpu, sreg, &s);
        return;
    }
    uint64_t raw = x86_desc_read(cpu, sel, X86_EXC_GP);
    unsigned type = desc_type(raw), dpl = desc_dpl(raw), rpl = SEL_RPL(sel);
    if (!desc_s(raw))
        fault_sel(cpu, X86_EXC_GP, sel);
    if (sreg == X86_SS) {
        if ((type & TYPE_CODE) || !(type & TYPE_RW) || rpl != cpu->cpl || dpl != cpu->cpl)
            fault_sel(cpu, X86_EXC_GP, sel);
        if (!desc_present(raw))
            fault_sel(cpu, X86_EXC_SS, sel);
    } else {
        bool code = type & TYPE_CODE;
        if (code && !(type & TYPE_RW))
            fault_sel(cpu, X86_EXC_GP, sel);
        if ((!code || !(type & TYPE_CONFORM)) && (rpl > dpl || cpu->cpl > dpl))
            fault_sel(cpu, X86_EXC_GP, sel);
        if (!desc_present(raw))
            fault_sel(cpu, X86_EXC_NP, sel);
    }
    desc_set_accessed(cpu, sel, raw);
    struct x86_segment s = x86_desc_segment(raw | 1ull << 40, sel);
    x86_seg_commit(cpu, sreg, &s);
}

/* --- far transfers --- */

static uint64_t offset_mask(unsigned osz)
{
    return osz == 1 ? 0xffff : osz == 2 ? 0xffffffffull : ~0ull;
}

/* Check a code segment as the target of a far JMP/CALL/RET at privilege
 * cpl (the SDM's checks), returning its hidden part with RPL = new CPL. */
static struct x86_segment code_target(struct x86_cpu *cpu, uint16_t sel, uint64_t raw,
                                      unsigned new_cpl)
{
    unsigned type = desc_type(raw);
    if (!desc_s(raw) || !(type & TYPE_CODE))
        fault_sel(cpu, X86_EXC_GP, sel);
    if (!desc_present(raw))
        fault_sel(cpu, X86_EXC_NP, sel);
    struct x86_segment s = x86_desc_segment(raw | 1ull << 40, (uint16_t)((sel & ~3u) | new_cpl));
    if (cpu->long_mode && (s.attr & X86_ATTR_L) && (s.attr & X86_ATTR_DB))
        fault_sel(cpu, X86_EXC_GP, sel); /* L and D both set is reserved */
    return s;
}

/* A direct code-segment target of JMP/CALL at the same privilege. */
static struct x86_segment same_level_code(struct x86_cpu *cpu, uint16_t sel, uint64_t raw)
{
    unsigned type = desc_type(raw), dpl = desc_dpl(raw);
    if ((type & TYPE_CONFORM) ? dpl > cpu->cpl : (SEL_RPL(sel) > cpu->cpl || dpl != cpu->cpl))
        fault_sel(cpu, X86_EXC_GP, sel);
    return code_target(cpu, sel, raw, cpu->cpl);
}

/* Is the new CS's code mode one whose RIP must be canonical / 32-bit? */
static uint64_t target_rip(struct x86_cpu *cpu, const struct x86_segment *cs, uint64_t off,
                           unsigned osz)
{
    bool is64 = cpu->long_mode && (cs->attr & X86_ATTR_L);
    off &= offset_mask(osz);
    if (is64 && !x86_canonical(off))
        x86_raise(cpu, X86_EXC_GP, 0);
    if (!is64)
        off = (uint32_t)off;
    return off;
}

struct gate {
    uint16_t sel;
    uint64_t offset;
    unsigned type, dpl, params;
};

/* A call gate's target (16-byte in long mode). */
static struct gate read_call_gate(struct x86_cpu *cpu, uint16_t gsel, uint64_t raw)
{
    struct gate g = {.sel = (uint16_t)(raw >> 16),
                     .offset = (raw & 0xffff) | ((raw >> 32) & 0xffff0000),
                     .type = desc_type(raw),
                     .dpl = desc_dpl(raw),
                     .params = (raw >> 32) & 31};
    if (cpu->long_mode) {
        uint64_t hi = desc_read_high(cpu, gsel, X86_EXC_GP);
        if (((hi >> 40) & 31) != 0)
            fault_sel(cpu, X86_EXC_GP, gsel);
        g.offset |= (hi & 0xffffffffull) << 32;
        g.params = 0;
    }
    return g;
}

/* Resolve a far JMP/CALL selector: a code segment, or a call gate to one.
 * Returns the target CS and offset; *gate_dpl_change is set when a CALL
 * through a gate goes to a more privileged non-conforming segment. */
static struct x86_segment far_target(struct x86_cpu *cpu, uint16_t sel, uint64_t *offset, bool call,
                                     unsigned *new_cpl, struct gate *gate_out)
{
    if (SEL_NULL(sel))
        x86_raise(cpu, X86_EXC_GP, 0);
    uint64_t raw = x86_desc_read(cpu, sel, X86_EXC_GP);
    *new_cpl = cpu->cpl;
    gate_out->type = 0;
    if (desc_s(raw))
        return same_level_code(cpu, sel, raw);
    unsigned type = desc_type(raw);
    bool call_gate = cpu->long_mode ? type == 0xc : (type == 0x4 || type == 0xc);
    if (!call_gate)
        fault_sel(cpu, X86_EXC_GP, sel); /* task gates and TSSs: no task switches */
    if (desc_dpl(raw) < cpu->cpl || desc_dpl(raw) < SEL_RPL(sel))
        fault_sel(cpu, X86_EXC_GP, sel);
    if (!desc_present(raw))
        fault_sel(cpu, X86_EXC_NP, sel);
    struct gate g = read_call_gate(cpu, sel, raw);
    *gate_out = g;
    if (SEL_NULL(g.sel))
        x86_raise(cpu, X86_EXC_GP, 0);
    uint64_t craw = x86_desc_read(cpu, g.sel, X86_EXC_GP);
    unsigned ctype = desc_type(craw), cdpl = desc_dpl(craw);
    if (!desc_s(craw) || !(ctype & TYPE_CODE) || cdpl > cpu->cpl)
        fault_sel(cpu, X86_EXC_GP, g.sel);
    if (cpu->long_mode && (!(craw & (1ull << 53)) || (craw & (1ull << 54))))
        fault_sel(cpu, X86_EXC_GP, g.sel); /* must be 64-bit code */
    if (call && !(ctype & TYPE_CONFORM) && cdpl < cpu->cpl)
        *new_cpl = cdpl;
    else if (!call && !(ctype & TYPE_CONFORM) && cdpl != cpu->cpl)
        fault_sel(cpu, X86_EXC_GP, g.sel);
    *offset = g.offset;
    return code_target(cpu, g.sel, craw, *new_cpl);
}

void x86_far_jump(struct x86_cpu *cpu, uint16_t sel, uint64_t offset, unsigned osz)
{
    if (!(cpu->cr0 & X86_CR0_PE)) {
        struct x86_segment cs = cpu->seg[X86_CS];
        cs.selector = sel;
        cs.dbase = (uint64_t)sel << 4;
        x86_seg_commit(cpu, X86_CS, &cs);
        cpu->rip = offset & offset_mask(osz);
        return;
    }
    unsigned cpl;
    struct gate g;
    struct x86_segment cs = far_target(cpu, sel, &offset, false, &cpl, &g);
    if (g.type)
        osz = cpu->long_mode ? 3 : (g.type & 8) ? 2 : 1;
    uint64_t rip = target_rip(cpu, &cs, offset, osz);
    x86_set_cs(cpu, &cs, cpl);
    cpu->rip = rip;
}

/* Read the stack for privilege level cpl from the TSS (legacy TSS). */
static void tss_stack(struct x86_cpu *cpu, unsigned cpl, uint16_t *ss, uint64_t *sp)
{
    bool tss32 = (cpu->tr.attr & 15) == 0x9 || (cpu->tr.attr & 15) == 0xb;
    unsigned off = tss32 ? 4 + cpl * 8 : 2 + cpl * 4;
    unsigned need = tss32 ? 6 : 3;
    if (off + need > cpu->tr.limit + 1u)
        fault_sel(cpu, X86_EXC_TS, cpu->tr.selector);
    uint8_t b[8] = {0};
    x86_sys_read(cpu, cpu->tr.base + off, b, tss32 ? 8 : 4);
    if (tss32) {
        *sp = (uint32_t)(b[0] | b[1] << 8 | b[2] << 16 | (uint32_t)b[3] << 24);
        *ss = (uint16_t)(b[4] | b[5] << 8);
    } else {
        *sp = (uint16_t)(b[0] | b[1] << 8);
        *ss = (uint16_t)(b[2] | b[3] << 8);
    }
}

/* The new stack segment for an inner privilege level (legacy mode): the
 * #TS checks of CALL through a gate and of interrupt delivery. */
struct x86_segment x86_inner_stack(struct x86_cpu *cpu, unsigned cpl, uint64_t *sp);
struct x86_segment x86_inner_stack(struct x86_cpu *cpu, unsigned cpl, uint64_t *sp)
{
    uint16_t ss;
    tss_stack(cpu, cpl, &ss, sp);
    if (SEL_NULL(ss))
        fault_sel(cpu, X86_EXC_TS, ss);
    uint64_t raw = x86_desc_read(cpu, ss, X86_EXC_TS);
    unsigned type = desc_type(raw);
    if (SEL_RPL(ss) != cpl || desc_dpl(raw) != cpl || !desc_s(raw) || (type & TYPE_CODE) ||
        !(type & TYPE_RW))
        fault_sel(cpu, X86_EXC_TS, ss);
    if (!desc_present(raw))
        fault_sel(cpu, X86_EXC_SS, ss);
    return x86_desc_segment(raw | 1ull << 40, ss);
}

/* The 64-bit TSS's RSPn (n = cpl) or ISTn (ist > 0). */
uint64_t x86_tss64_stack(struct x86_cpu *cpu, unsigned cpl, unsigned ist);
uint64_t x86_tss64_stack(struct x86_cpu *cpu, unsigned cpl, unsigned ist)
{
    unsigned off = ist ? 36 + (ist - 1) * 8 : 4 + cpl * 8;
    if (off + 7 > cpu->tr.limit)
        fault_sel(cpu, X86_EXC_TS, cpu->tr.selector);
    uint64_t sp;
    x86_sys_read(cpu, cpu->tr.base + off, &sp, 8);
    return sp;
}

/* Write n values of size 1 << osz below sp on the stack whose linear base
 * is base (mask: the stack pointer's width); returns the new sp. */
static uint64_t push_frame(struct x86_cpu *cpu, uint64_t base, uint64_t sp, uint64_t mask,
                           unsigned osz, const uint64_t *v, unsigned n, bool sys)
{
    unsigned size = 1u << osz;
    for (unsigned i = 0; i < n; i++) {
        sp = (sp - size) & mask;
        if (sys)
            x86_sys_write(cpu, base + sp, &v[i], size);
        else
            x86_store_seg(cpu, base + sp, osz, v[i], X86_SS);
    }
    return sp;
}

void x86_far_call(struct x86_cpu *cpu, uint16_t sel, uint64_t offset, unsigned osz)
{
    uint64_t ret[2] = {cpu->seg[X86_CS].selector, cpu->rip};
    if (!(cpu->cr0 & X86_CR0_PE)) {
        uint64_t sp = push_frame(cpu, cpu->seg[X86_SS].base, cpu->gpr[X86_RSP], cpu->sp_mask, osz,
                                 ret, 2, false);
        x86_far_jump(cpu, sel, offset, osz);
        x86_sp_set(cpu, sp);
        return;
    }
    unsigned cpl;
    struct gate g;
    struct x86_segment cs = far_target(cpu, sel, &offset, true, &cpl, &g);
    if (g.type)
        osz = cpu->long_mode ? 3 : (g.type & 8) ? 2 : 1;
    uint64_t rip = target_rip(cpu, &cs, offset, osz);
    if (cpl == cpu->cpl) {
        uint64_t sp = push_frame(cpu, cpu->seg[X86_SS].base, cpu->gpr[X86_RSP], cpu->sp_mask, osz,
                                 ret, 2, false);
        x86_set_cs(cpu, &cs, cpl);
        x86_sp_set(cpu, sp);
        cpu->rip = rip;
        return;
    }
    /* Through a call gate to an inner level: switch to the TSS's stack
     * and push the old SS:SP (and, legacy, the gate's parameters), then
     * CS:IP. */
    struct x86_segment ss;
    uint64_t sp, base, mask;
    if (cpu->long_mode) {
        sp = x86_tss64_stack(cpu, cpl, 0);
        ss = (struct x86_segment){.selector = (uint16_t)cpl,
                                  .attr = (uint16_t)(0x93 | cpl << 5 | X86_ATTR_DB)};
        base = 0;
        mask = ~0ull;
    } else {
        ss = x86_inner_stack(cpu, cpl, &sp);
        base = ss.base;
        mask = (ss.attr & X86_ATTR_DB) ? 0xffffffffull : 0xffff;
    }
    uint64_t frame[4 + 31];
    unsigned n = 0;
    frame[n++] = cpu->seg[X86_SS].selector;
    frame[n++] = cpu->gpr[X86_RSP] & cpu->sp_mask;
    for (unsigned i = 0; i < g.params; i++) {
        uint64_t a =
            cpu->seg[X86_SS].base +
            ((cpu->gpr[X86_RSP] + (uint64_t)(g.params - 1 - i) * (1u << osz)) & cpu->sp_mask);
        frame[n++] = x86_load_seg(cpu, a, osz, X86_SS);
    }
    frame[n++] = ret[0];
    frame[n++] = ret[1];
    sp = push_frame(cpu, base, sp, mask, osz, frame, n, true);
    x86_set_cs(cpu, &cs, cpl);
    x86_seg_commit(cpu, X86_SS, &ss);
    x86_sp_set(cpu, sp);
    cpu->rip = rip;
}

/* After a return to an outer level: data segment registers the new CPL
 * may not use become null. */
static void null_outer_segments(struct x86_cpu *cpu)
{
    static const unsigned regs[] = {X86_ES, X86_DS, X86_FS, X86_GS};
    for (unsigned i = 0; i < 4; i++) {
        struct x86_segment *s = &cpu->seg[regs[i]];
        unsigned type = s->attr & 15;
        bool conforming_code = (type & TYPE_CODE) && (type & TYPE_CONFORM);
        if (!SEL_NULL(s->selector) && !conforming_code && X86_ATTR_DPL(s->attr) < cpu->cpl) {
            struct x86_segment z = {.selector = 0, .dbase = regs[i] >= X86_FS ? s->dbase : 0};
            x86_seg_commit(cpu, regs[i], &z);
        }
    }
}

/* The checks of a far RET/IRET target CS at RPL rpl >= CPL. */
static struct x86_segment return_cs(struct x86_cpu *cpu, uint16_t sel)
{
    if (SEL_NULL(sel))
        x86_raise(cpu, X86_EXC_GP, 0);
    uint64_t raw = x86_desc_read(cpu, sel, X86_EXC_GP);
    unsigned type = desc_type(raw), dpl = desc_dpl(raw), rpl = SEL_RPL(sel);
    if (!desc_s(raw) || !(type & TYPE_CODE) || rpl < cpu->cpl)
        fault_sel(cpu, X86_EXC_GP, sel);
    if ((type & TYPE_CONFORM) ? dpl > rpl : dpl != rpl)
        fault_sel(cpu, X86_EXC_GP, sel);
    return code_target(cpu, sel, raw, rpl);
}

/* The SS of a return to outer level rpl (or to 64-bit code, where a null
 * SS is allowed below CPL 3). */
static struct x86_segment return_ss(struct x86_cpu *cpu, uint16_t sel, unsigned rpl, bool to64)
{
    if (SEL_NULL(sel)) {
        if (!to64 || rpl == 3)
            x86_raise(cpu, X86_EXC_GP, 0);
        return (struct x86_segment){.selector = sel,
                                    .attr = (uint16_t)(0x93 | rpl << 5 | X86_ATTR_DB)};
    }
    uint64_t raw = x86_desc_read(cpu, sel, X86_EXC_GP);
    unsigned type = desc_type(raw);
    if (SEL_RPL(sel) != rpl || desc_dpl(raw) != rpl || !desc_s(raw) || (type & TYPE_CODE) ||
        !(type & TYPE_RW))
        fault_sel(cpu, X86_EXC_GP, sel);
    if (!desc_present(raw))
        fault_sel(cpu, X86_EXC_SS, sel);
    return x86_desc_segment(raw | 1ull << 40, sel);
}

void x86_far_return(struct x86_cpu *cpu, unsigned osz, uint16_t release)
{
    unsigned size = 1u << osz;
    uint64_t sp = cpu->gpr[X86_RSP], ssb = cpu->seg[X86_SS].base, m = cpu->sp_mask;
    uint64_t off = x86_load_seg(cpu, ssb + (sp & m), osz, X86_SS);
    uint16_t sel = (uint16_t)x86_load_seg(cpu, ssb + ((sp + size) & m), 1, X86_SS);
    if (!(cpu->cr0 & X86_CR0_PE)) {
        x86_far_jump(cpu, sel, off, osz);
        x86_sp_set(cpu, sp + 2 * size + release);
        return;
    }
    struct x86_segment cs = return_cs(cpu, sel);
    unsigned rpl = SEL_RPL(sel);
    uint64_t rip = target_rip(cpu, &cs, off, osz);
    if (rpl == cpu->cpl) {
        x86_set_cs(cpu, &cs, rpl);
        x86_sp_set(cpu, sp + 2 * size + release);
        cpu->rip = rip;
        return;
    }
    uint64_t at = sp + 2 * size + release;
    uint64_t nsp = x86_load_seg(cpu, ssb + (at & m), osz, X86_SS);
    uint16_t nss = (uint16_t)x86_load_seg(cpu, ssb + ((at + size) & m), 1, X86_SS);
    struct x86_segment ss = return_ss(cpu, nss, rpl, cpu->long_mode && (cs.attr & X86_ATTR_L));
    x86_set_cs(cpu, &cs, rpl);
    x86_seg_commit(cpu, X86_SS, &ss);
    cpu->gpr[X86_RSP] = cpu->code_mode == X86_MODE64 ? nsp + release : 0;
    if (cpu->code_mode != X86_MODE64)
        x86_sp_set(cpu, nsp + release);
    cpu->rip = rip;
    null_outer_segments(cpu);
}

/* --- IRET --- */

/* RFLAGS after IRET/POPF-like loads: which bits the privilege allows. */
static void iret_flags(struct x86_cpu *cpu, uint64_t v, unsigned osz, unsigned old_cpl)
{
    uint64_t cur = x86_get_rflags(cpu);
    uint64_t mask = X86_FLAGS_ARITH | X86_FLAG_TF | X86_FLAG_DF | X86_FLAG_NT | X86_FLAG_RF |
                    X86_FLAG_AC | X86_FLAG_ID;
    unsigned iopl = (cur & X86_FLAG_IOPL) >> 12;
    if (old_cpl <= iopl)
        mask |= X86_FLAG_IF;
    if (old_cpl == 0)
        mask |= X86_FLAG_IOPL | X86_FLAG_VIF | X86_FLAG_VIP;
    if (osz == 1)
        mask &= 0xffff;
    x86_set_rflags(cpu, (cur & ~mask) | (v & mask));
}

void x86_iret(struct x86_cpu *cpu, unsigned osz)
{
    unsigned size = 1u << osz;
    uint64_t sp = cpu->gpr[X86_RSP], ssb = cpu->seg[X86_SS].base, m = cpu->sp_mask;
    uint64_t off = x86_load_seg(cpu, ssb + (sp & m), osz, X86_SS);
    uint16_t sel = (uint16_t)x86_load_seg(cpu, ssb + ((sp + size) & m), 1, X86_SS);
    uint64_t fl = x86_load_seg(cpu, ssb + ((sp + 2 * size) & m), osz, X86_SS);
    if (!(cpu->cr0 & X86_CR0_PE)) {
        uint64_t mask = osz == 1 ? 0xffff : ~0ull;
        x86_far_jump(cpu, sel, off, osz);
        uint64_t cur = x86_get_rflags(cpu);
        uint64_t keep = X86_FLAG_VM | X86_FLAG_VIF | X86_FLAG_VIP;
        x86_set_rflags(cpu, (cur & ~mask) | (fl & mask & ~keep) | (cur & keep));
        x86_sp_set(cpu, sp + 3 * size);
        cpu->nmi_blocked = false;
        return;
    }
    if (cpu->rflags & X86_FLAG_NT)
        x86_raise(cpu, X86_EXC_GP, 0); /* task return: no task switches */
    if (osz == 2 && (fl & X86_FLAG_VM) && cpu->cpl == 0)
        x86_raise(cpu, X86_EXC_GP, 0); /* virtual-8086 mode: not modelled */
    struct x86_segment cs = return_cs(cpu, sel);
    unsigned rpl = SEL_RPL(sel), old_cpl = cpu->cpl;
    bool to64 = cpu->long_mode && (cs.attr & X86_ATTR_L);
    uint64_t rip = target_rip(cpu, &cs, off, osz);
    if (cpu->code_mode != X86_MODE64 && rpl == cpu->cpl) {
        x86_set_cs(cpu, &cs, rpl);
        x86_sp_set(cpu, sp + 3 * size);
        cpu->rip = rip;
        iret_flags(cpu, fl, osz, old_cpl);
        cpu->nmi_blocked = false;
        return;
    }
    /* 64-bit mode always pops SS:RSP; elsewhere only to an outer level. */
    uint64_t nsp = x86_load_seg(cpu, ssb + ((sp + 3 * size) & m), osz, X86_SS);
    uint16_t nss = (uint16_t)x86_load_seg(cpu, ssb + ((sp + 4 * size) & m), 1, X86_SS);
    struct x86_segment ss = return_ss(cpu, nss, rpl, to64);
    x86_set_cs(cpu, &cs, rpl);
    x86_seg_commit(cpu, X86_SS, &ss);
    if (cpu->code_mode == X86_MODE64)
        cpu->gpr[X86_RSP] = nsp;
    else
        cpu->gpr[X86_RSP] = (ss.attr & X86_ATTR_DB)
                                ? (uint32_t)nsp
                                : (cpu->gpr[X86_RSP] & ~0xffffull) | (nsp & 0xffff);
    cpu->rip = rip;
    iret_flags(cpu, fl, osz, old_cpl);
    cpu->nmi_blocked = false;
    if (rpl > old_cpl)
        null_outer_segments(cpu);
}
