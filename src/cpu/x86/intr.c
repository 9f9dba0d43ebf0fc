/* Interrupt and exception delivery in system mode (seg.h).
 *
 * Real mode: the IVT (4-byte vectors at IDTR.base), a 16-bit frame.
 * Protected mode: 8-byte interrupt and trap gates (16- and 32-bit), a stack
 * switch through the TSS when the handler is more privileged. Long mode:
 * 16-byte gates to 64-bit code, an 8-byte-slot frame that always holds
 * SS:RSP, the stack aligned to 16, IST stacks. Task gates are not modelled
 * (#GP). The frame is written before any register changes, so a fault
 * while delivering leaves the state of the first exception for the next
 * attempt (#DF, or a shutdown after that).
 */
#include "cpu/x86/mem.h"
#include "cpu/x86/mmu.h"
#include "cpu/x86/seg.h"
#include "cpu/x86/stack.h"

struct x86_segment x86_inner_stack(struct x86_cpu *cpu, unsigned cpl, uint64_t *sp);
uint64_t x86_tss64_stack(struct x86_cpu *cpu, unsigned cpl, unsigned ist);

/* Error code of a fault on IDT entry vec: IDT bit, and EXT for events not
 * caused by the instruction stream. */
static uint32_t idt_error(unsigned vec, bool ext)
{
    return vec << 3 | 2 | (ext ? 1 : 0);
}

static void deliver_real(struct x86_cpu *cpu, unsigned vec)
{
    if (vec * 4 + 3 > cpu->idtr.limit)
        x86_raise(cpu, X86_EXC_GP, idt_error(vec, false));
    uint8_t e[4];
    x86_sys_read(cpu, cpu->idtr.base + vec * 4, e, 4);
    uint64_t fl = x86_get_rflags(cpu);
    uint64_t frame[3] = {fl & 0xffff, cpu->seg[X86_CS].selector, cpu->rip & 0xffff};
    uint64_t sp = cpu->gpr[X86_RSP];
    for (unsigned i = 0; i < 3; i++) {
        sp = (sp - 2) & cpu->sp_mask;
        x86_sys_write(cpu, cpu->seg[X86_SS].base + sp, &frame[i], 2);
    }
    x86_sp_set(cpu, sp);
    struct x86_segment cs = cpu->seg[X86_CS];
    cs.selector = (uint16_t)(e[2] | e[3] << 8);
    cs.dbase = (uint64_t)cs.selector << 4;
    x86_seg_commit(cpu, X86_CS, &cs);
    cpu->rip = (uint16_t)(e[0] | e[1] << 8);
    cpu->rflags &= ~(uint64_t)(X86_FLAG_IF | X86_FLAG_TF | X86_FLAG_AC | X86_FLAG_RF);
}

static void deliver_protected(struct x86_cpu *cpu, unsigned vec, bool has_err, uint32_t err,
                              bool soft, bool ext)
{
    bool lm = cpu->long_mode;
    unsigned esz = lm ? 16 : 8;
    if (vec * esz + esz - 1 > cpu->idtr.limit)
        x86_raise(cpu, X86_EXC_GP, idt_error(vec, ext));
    uint64_t g[2] = {0, 0};
    x86_sys_read(cpu, cpu->idtr.base + vec * esz, g, esz);
    unsigned type = (g[0] >> 40) & 15, dpl = (g[0] >> 45) & 3;
    bool ok = lm ? (type == 0xe || type == 0xf)
                 : (type == 0x6 || type == 0x7 || type == 0xe || type == 0xf);
    if (!ok)
        x86_raise(cpu, X86_EXC_GP, idt_error(vec, ext)); /* includes task gates */
    if (soft && dpl < cpu->cpl)
        x86_raise(cpu, X86_EXC_GP, idt_error(vec, false));
    if (!(g[0] & (1ull << 47)))
        x86_raise(cpu, X86_EXC_NP, idt_error(vec, ext));
    uint16_t sel = (uint16_t)(g[0] >> 16);
    uint64_t offset = (g[0] & 0xffff) | ((g[0] >> 32) & 0xffff0000);
    if (lm)
        offset |= g[1] << 32;
    unsigned ist = lm ? (g[0] >> 32) & 7 : 0;
    bool gate32 = lm || (type & 8);
    if (((sel & ~3u) == 0))
        x86_raise(cpu, X86_EXC_GP, ext ? 1 : 0);
    uint64_t raw = x86_desc_read(cpu, sel, X86_EXC_GP);
    unsigned ctype = (raw >> 40) & 15, cdpl = (raw >> 45) & 3;
    if (!(raw & (1ull << 44)) || !(ctype & 8) || cdpl > cpu->cpl)
        x86_raise(cpu, X86_EXC_GP, (sel & 0xfffc) | (ext ? 1 : 0));
    if (!(raw & (1ull << 47)))
        x86_raise(cpu, X86_EXC_NP, (sel & 0xfffc) | (ext ? 1 : 0));
    if (lm && (!(raw & (1ull << 53)) || (raw & (1ull << 54))))
        x86_raise(cpu, X86_EXC_GP, (sel & 0xfffc) | (ext ? 1 : 0));
    unsigned new_cpl = (ctype & 4) ? cpu->cpl : cdpl;
    struct x86_segment cs = x86_desc_segment(raw | 1ull << 40, (uint16_t)((sel & ~3u) | new_cpl));

    uint64_t fl = x86_get_rflags(cpu);
    uint64_t old_sp = cpu->gpr[X86_RSP];
    uint16_t old_ss = cpu->seg[X86_SS].selector;
    uint64_t frame[6];
    unsigned n = 0;
    struct x86_segment ss = cpu->seg[X86_SS];
    uint64_t sp, base, mask;
    bool switch_stack = new_cpl < cpu->cpl;
    if (lm) {
        if (switch_stack || ist) {
            sp = x86_tss64_stack(cpu, new_cpl, ist);
            if (switch_stack)
                ss = (struct x86_segment){.selector = (uint16_t)new_cpl,
                                          .attr = (uint16_t)(0x93 | new_cpl << 5 | X86_ATTR_DB)};
        } else {
            sp = old_sp;
        }
        sp &= ~0xfull;
        base = 0;
        mask = ~0ull;
        if (!x86_canonical(sp))
            x86_raise(cpu, X86_EXC_SS, 0);
        frame[n++] = old_ss;
        frame[n++] = old_sp;
    } else if (switch_stack) {
        ss = x86_inner_stack(cpu, new_cpl, &sp);
        base = ss.dbase;
        mask = (ss.attr & X86_ATTR_DB) ? 0xffffffffull : 0xffff;
        frame[n++] = old_ss;
        frame[n++] = old_sp & cpu->sp_mask;
    } else {
        sp = old_sp;
        base = cpu->seg[X86_SS].base;
        mask = cpu->sp_mask;
    }
    frame[n++] = fl;
    frame[n++] = cpu->seg[X86_CS].selector;
    frame[n++] = cpu->rip;
    if (has_err)
        frame[n++] = err;
    unsigned size = lm ? 8 : gate32 ? 4 : 2;
    for (unsigned i = 0; i < n; i++) {
        sp = (sp - size) & mask;
        x86_sys_write(cpu, base + sp, &frame[i], size);
    }
    uint64_t target = lm ? offset : gate32 ? (uint32_t)offset : (uint16_t)offset;
    if (lm && !x86_canonical(target))
        x86_raise(cpu, X86_EXC_GP, ext ? 1 : 0);

    /* Commit. */
    x86_set_cs(cpu, &cs, new_cpl);
    if (switch_stack)
        x86_seg_commit(cpu, X86_SS, &ss);
    if (lm || switch_stack)
        cpu->gpr[X86_RSP] =
            (mask == ~0ull) ? sp : (mask == 0xffff ? (old_sp & ~0xffffull) | sp : sp);
    else
        x86_sp_set(cpu, sp);
    cpu->rip = target;
    uint64_t clear = X86_FLAG_TF | X86_FLAG_NT | X86_FLAG_RF | X86_FLAG_VM;
    if (!(type & 1))
        clear |= X86_FLAG_IF; /* interrupt gate */
    cpu->rflags &= ~clear;
    if (switch_stack && !lm) {
        /* Leaving for an inner level: nothing else; data segments stay. */
    }
}

static void deliver(struct x86_cpu *cpu, unsigned vec, bool has_err, uint32_t err, bool soft,
                    bool ext)
{
    cpu->halted = false;
    if (!(cpu->cr0 & X86_CR0_PE))
        deliver_real(cpu, vec);
    else
        deliver_protected(cpu, vec, has_err, err, soft, ext);
}

static bool contributory(unsigned v)
{
    return v == X86_EXC_DE || (v >= X86_EXC_TS && v <= X86_EXC_GP);
}

bool x86_deliver_exception(struct x86_cpu *cpu)
{
    unsigned vec = cpu->exc.vector;
    bool has_err = cpu->exc.has_error;
    uint32_t err = cpu->exc.error;
    int prev = cpu->delivering;
    if (prev >= 0) {
        if (prev == X86_EXC_DF)
            return false; /* triple fault */
        if ((contributory((unsigned)prev) && contributory(vec)) ||
            (prev == X86_EXC_PF && (contributory(vec) || vec == X86_EXC_PF))) {
            vec = X86_EXC_DF;
            has_err = true;
            err = 0;
        }
    }
    cpu->delivering = (int)vec;
    bool ext = prev >= 0 || cpu->exc_external;
    deliver(cpu, vec, has_err, err, cpu->exc.soft, ext);
    cpu->delivering = -1;
    cpu->exc_external = false;
    return true;
}

void x86_deliver_trap(struct x86_cpu *cpu, unsigned vector)
{
    cpu->delivering = (int)vector;
    deliver(cpu, vector, false, 0, false, false);
    cpu->delivering = -1;
}

void x86_deliver_event(struct x86_cpu *cpu, unsigned vector)
{
    /* A fault while delivering comes back through x86_run's exception
     * path, which then treats it as a fault during delivery (EXT set). */
    cpu->exc_external = true;
    cpu->delivering = (int)vector;
    deliver(cpu, vector, false, 0, false, true);
    cpu->delivering = -1;
    cpu->exc_external = false;
}
