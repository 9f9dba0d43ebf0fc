/* System instructions: segment register loads (for MOV Sreg and POP
 * FS/GS in move.c and stack.c), port I/O (IN/OUT), the
 * descriptor-table and control-register instructions (SGDT SIDT SLDT STR
 * SMSW, LGDT LIDT LLDT LTR LMSW, MOV to/from CR and DR, CLTS, INVLPG),
 * cache control (INVD, WBINVD), RDMSR/WRMSR, RDPMC, SYSRET and SYSEXIT.
 *
 * Today the CPU runs user code only (CPL 3, IOPL 0): the privileged ones
 * raise #GP(0), as the hardware does there. Each op checks the privilege
 * first and then falls through to a "not yet" #UD; the system-level work
 * (descriptor tables, paging, the embedder's port hooks) replaces that
 * second part, so the op functions keep their place and their checks.
 *
 * Descriptors: there are no descriptor tables in user mode; the embedder
 * plays the kernel. Selector loads resolve against the descriptors Linux's
 * GDT gives user code (x86_64: GDT_ENTRY_DEFAULT_USER32_CS 4,
 * GDT_ENTRY_DEFAULT_USER_DS 5, GDT_ENTRY_DEFAULT_USER_CS 6, and the
 * read-only CPUNODE segment 15), which is what the host CPU does for
 * these selectors under Linux; every other non-null selector fails its
 * checks (kernel descriptors have DPL 0, the TSS and LDT are system
 * descriptors, empty TLS slots are not code or data).
 */
#include "cpu/x86/insn.h"
#include "cpu/x86/operand.h"
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

/* With CPL > IOPL the hardware consults the TSS I/O permission bitmap;
 * user mode has none (Linux gives programs no ioperm() here), so #GP(0). */
static void io_check(struct x86_cpu *cpu)
{
    if (cpu->cpl > (cpu->rflags & RFLAGS_IOPL) >> 12)
        x86_raise(cpu, X86_EXC_GP, 0);
}

/* E4 E5 EC ED: IN; E6 E7 EE EF: OUT. */
static void op_in_out(struct x86_cpu *cpu, const struct x86_insn *in)
{
    (void)in;
    io_check(cpu);
    x86_raise_ud(cpu); /* not yet: the embedder's port hooks (system-level work) */
}

/* --- privileged instructions: CPL 0 only --- */

static void need_cpl0(struct x86_cpu *cpu)
{
    if (cpu->cpl > 0)
        x86_raise(cpu, X86_EXC_GP, 0);
}

/* LGDT LIDT LLDT LTR LMSW INVLPG CLTS INVD WBINVD RDMSR WRMSR, MOV CR/DR:
 * the privilege check comes first (MOV CR/DR with a register number that
 * does not exist is #UD at decode, before it, as on the host). The memory
 * operands of LGDT/LIDT/INVLPG are not touched at CPL 3: #GP(0) comes
 * before any access. */
static void op_privileged(struct x86_cpu *cpu, const struct x86_insn *in)
{
    (void)in;
    need_cpl0(cpu);
    x86_raise_ud(cpu); /* not yet: descriptor tables, CRs, MSRs (system-level work) */
}

/* 0F 33: user mode may read the counters only with CR4.PCE. */
static void op_rdpmc(struct x86_cpu *cpu, const struct x86_insn *in)
{
    (void)in;
    if (cpu->cpl > 0 && !(cpu->cr4 & CR4_PCE))
        x86_raise(cpu, X86_EXC_GP, 0);
    x86_raise_ud(cpu); /* not yet: no performance counters are modelled */
}

/* 0F 07: #UD without EFER.SCE (user mode acts as if it were set: SYSCALL
 * works there), then #GP(0) outside CPL 0. */
static void op_sysret(struct x86_cpu *cpu, const struct x86_insn *in)
{
    (void)in;
    if (!(cpu->efer & EFER_SCE) && !cpu->user_mode)
        x86_raise_ud(cpu);
    need_cpl0(cpu);
    x86_raise_ud(cpu); /* not yet: the kernel-mode SYSCALL/SYSRET path */
}

/* 0F 35: the host (AMD, long mode) checks the privilege first: #GP(0).
 * (SYSENTER, 0F 34, is #UD in long mode on AMD: not registered.) */
static void op_sysexit(struct x86_cpu *cpu, const struct x86_insn *in)
{
    (void)in;
    need_cpl0(cpu);
    x86_raise_ud(cpu);
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

static void op_sgdt(struct x86_cpu *cpu, const struct x86_insn *in)
{
    store_dtr(cpu, in, USER_GDT_BASE);
}

static void op_sidt(struct x86_cpu *cpu, const struct x86_insn *in)
{
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
    store_word(cpu, in, USER_LDTR);
}

static void op_str(struct x86_cpu *cpu, const struct x86_insn *in)
{
    store_word(cpu, in, USER_TR);
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
    ROW(P, 0xe4, -1, MA, op_in_out, "in"),         ROW(P, 0xe5, -1, MA, op_in_out, "in"),
    ROW(P, 0xec, -1, MA, op_in_out, "in"),         ROW(P, 0xed, -1, MA, op_in_out, "in"),
    ROW(P, 0xe6, -1, MA, op_in_out, "out"),        ROW(P, 0xe7, -1, MA, op_in_out, "out"),
    ROW(P, 0xee, -1, MA, op_in_out, "out"),        ROW(P, 0xef, -1, MA, op_in_out, "out"),
    ROW(F, 0x00, 0, MA, op_sldt, "sldt"),          ROW(F, 0x00, 1, MA, op_str, "str"),
    ROW(F, 0x00, 2, MA, op_privileged, "lldt"),    ROW(F, 0x00, 3, MA, op_privileged, "ltr"),
    ROW(F, 0x01, 0, MM, op_sgdt, "sgdt"),          ROW(F, 0x01, 1, MM, op_sidt, "sidt"),
    ROW(F, 0x01, 2, MM, op_privileged, "lgdt"),    ROW(F, 0x01, 3, MM, op_privileged, "lidt"),
    ROW(F, 0x01, 4, MA, op_smsw, "smsw"),          ROW(F, 0x01, 6, MA, op_privileged, "lmsw"),
    ROW(F, 0x01, 7, MM, op_privileged, "invlpg"),  ROW(F, 0x06, -1, MA, op_privileged, "clts"),
    ROW(F, 0x07, -1, MA, op_sysret, "sysret"),     ROW(F, 0x08, -1, MA, op_privileged, "invd"),
    ROW(F, 0x09, -1, MA, op_privileged, "wbinvd"), ROW(F, 0x20, -1, MA, op_privileged, "mov"),
    ROW(F, 0x21, -1, MA, op_privileged, "mov"),    ROW(F, 0x22, -1, MA, op_privileged, "mov"),
    ROW(F, 0x23, -1, MA, op_privileged, "mov"),    ROW(F, 0x30, -1, MA, op_privileged, "wrmsr"),
    ROW(F, 0x32, -1, MA, op_privileged, "rdmsr"),  ROW(F, 0x33, -1, MA, op_rdpmc, "rdpmc"),
    ROW(F, 0x35, -1, MA, op_sysexit, "sysexit"),   {0, 0, 0, 0, 0, NULL, NULL},
};
