/* Model-specific registers (RDMSR/WRMSR in system mode).
 *
 * The CPU keeps the MSRs that are architectural state of the core (EFER,
 * the SYSCALL and SYSENTER targets, segment bases, PAT, MTRRs, TSC and
 * TSC_AUX); the embedder's hooks answer the rest (the local APIC's base and
 * x2APIC registers, TSC deadline, paravirtual clocks) and say -1 for MSRs
 * that do not exist, which is #GP(0) as on hardware.
 */
#include <stddef.h>

#include "cpu/x86/msr.h"
#include "cpu/x86/mmu.h"
#include "cpu/x86/seg.h"

#define MSR_TSC             0x10
#define MSR_PATCH_LEVEL     0x8b
#define MSR_MTRRCAP         0xfe
#define MSR_SYSENTER_CS     0x174
#define MSR_SYSENTER_ESP    0x175
#define MSR_SYSENTER_EIP    0x176
#define MSR_MCG_CAP         0x179
#define MSR_MCG_STATUS      0x17a
#define MSR_MISC_ENABLE     0x1a0
#define MSR_MTRR_PHYS_BASE0 0x200
#define MSR_MTRR_FIX64K     0x250
#define MSR_MTRR_FIX16K_0   0x258
#define MSR_MTRR_FIX16K_1   0x259
#define MSR_MTRR_FIX4K_0    0x268
#define MSR_PAT             0x277
#define MSR_MTRR_DEF_TYPE   0x2ff
#define MSR_EFER            0xc0000080
#define MSR_STAR            0xc0000081
#define MSR_LSTAR           0xc0000082
#define MSR_CSTAR           0xc0000083
#define MSR_SFMASK          0xc0000084
#define MSR_FS_BASE         0xc0000100
#define MSR_GS_BASE         0xc0000101
#define MSR_KERNEL_GS_BASE  0xc0000102
#define MSR_TSC_AUX         0xc0000103
#define MSR_K7_HWCR         0xc0010015
#define MSR_AMD64_SYSCFG    0xc0010010 /* read by Linux's MTRR code on AMD family >= 0Fh */
#define MSR_K8_INT_PENDING  0xc0010055 /* read by Linux's C1E (erratum 400) check on K8 */

/* VCNT 8 variable ranges, fixed ranges, write-combining. */
#define MTRRCAP_VALUE (8u | 1u << 8 | 1u << 10)
#define EFER_WRITABLE (X86_EFER_SCE | X86_EFER_LME | X86_EFER_NXE | X86_EFER_FFXSR)

uint64_t x86_tsc_read(struct x86_cpu *cpu)
{
    return cpu->sys->tsc(cpu->sys_ctx) + cpu->tsc_offset;
}

/* The slot for a fixed-range MTRR, or NULL. */
static uint64_t *mtrr_fixed(struct x86_cpu *cpu, uint32_t msr)
{
    if (msr == MSR_MTRR_FIX64K)
        return &cpu->mtrr_fixed[0];
    if (msr == MSR_MTRR_FIX16K_0 || msr == MSR_MTRR_FIX16K_1)
        return &cpu->mtrr_fixed[1 + msr - MSR_MTRR_FIX16K_0];
    if (msr >= MSR_MTRR_FIX4K_0 && msr < MSR_MTRR_FIX4K_0 + 8)
        return &cpu->mtrr_fixed[3 + msr - MSR_MTRR_FIX4K_0];
    return NULL;
}

/* The MSRs that are plain storage here. */
static uint64_t *msr_slot(struct x86_cpu *cpu, uint32_t msr)
{
    switch (msr) {
    case MSR_SYSENTER_CS:
        return &cpu->sysenter_cs;
    case MSR_SYSENTER_ESP:
        return &cpu->sysenter_esp;
    case MSR_SYSENTER_EIP:
        return &cpu->sysenter_eip;
    case MSR_MISC_ENABLE:
        return &cpu->misc_enable;
    case MSR_PAT:
        return &cpu->pat;
    case MSR_MTRR_DEF_TYPE:
        return &cpu->mtrr_def_type;
    case MSR_STAR:
        return &cpu->star;
    case MSR_SFMASK:
        return &cpu->sfmask;
    case MSR_KERNEL_GS_BASE:
        return &cpu->kernel_gs_base;
    case MSR_K7_HWCR:
        return &cpu->hwcr;
    }
    if (msr >= MSR_MTRR_PHYS_BASE0 && msr < MSR_MTRR_PHYS_BASE0 + 16)
        return &cpu->mtrr_var[msr - MSR_MTRR_PHYS_BASE0];
    return mtrr_fixed(cpu, msr);
}

int x86_rdmsr(struct x86_cpu *cpu, uint32_t msr, uint64_t *v)
{
    uint64_t *slot = msr_slot(cpu, msr);
    if (slot) {
        *v = *slot;
        return 0;
    }
    switch (msr) {
    case MSR_TSC:
        *v = x86_tsc_read(cpu);
        return 0;
    case MSR_PATCH_LEVEL:
    case MSR_MCG_CAP:
    case MSR_MCG_STATUS:
    case MSR_AMD64_SYSCFG:
    case MSR_K8_INT_PENDING:
        *v = 0; /* nothing modelled is enabled there */
        return 0;
    case MSR_MTRRCAP:
        *v = MTRRCAP_VALUE;
        return 0;
    case MSR_EFER:
        *v = cpu->efer;
        return 0;
    case MSR_LSTAR:
        *v = cpu->lstar;
        return 0;
    case MSR_CSTAR:
        *v = cpu->cstar;
        return 0;
    case MSR_FS_BASE:
        *v = cpu->seg[X86_FS].dbase;
        return 0;
    case MSR_GS_BASE:
        *v = cpu->seg[X86_GS].dbase;
        return 0;
    case MSR_TSC_AUX:
        *v = cpu->tsc_aux;
        return 0;
    }
    return cpu->sys->rdmsr ? cpu->sys->rdmsr(cpu->sys_ctx, msr, v) : -1;
}

/* EFER: reserved bits and changing LME while paging is on are #GP; LMA is
 * the CPU's (CR0.PG with LME). */
static int efer_write(struct x86_cpu *cpu, uint64_t v)
{
    if (v & ~(EFER_WRITABLE | X86_EFER_LMA))
        return -1;
    if ((cpu->cr0 & X86_CR0_PG) && ((v ^ cpu->efer) & X86_EFER_LME))
        return -1;
    uint64_t old = cpu->efer;
    cpu->efer = (v & EFER_WRITABLE) | (cpu->efer & X86_EFER_LMA);
    if ((old ^ cpu->efer) & X86_EFER_NXE)
        x86_flush_tlb(cpu, true);
    return 0;
}

static void set_base(struct x86_cpu *cpu, unsigned sreg, uint64_t v)
{
    struct x86_segment s = cpu->seg[sreg];
    s.dbase = v;
    x86_seg_commit(cpu, sreg, &s);
}

int x86_wrmsr(struct x86_cpu *cpu, uint32_t msr, uint64_t v)
{
    bool canonical = x86_canonical_addr(v);
    switch (msr) {
    case MSR_TSC:
        cpu->tsc_offset = v - cpu->sys->tsc(cpu->sys_ctx);
        if (cpu->sys->tsc_written)
            cpu->sys->tsc_written(cpu->sys_ctx);
        return 0;
    case MSR_EFER:
        return efer_write(cpu, v);
    case MSR_LSTAR:
    case MSR_CSTAR:
    case MSR_FS_BASE:
    case MSR_GS_BASE:
    case MSR_KERNEL_GS_BASE:
        if (!canonical)
            return -1;
        break;
    case MSR_TSC_AUX:
        if (v >> 32)
            return -1;
        cpu->tsc_aux = v;
        return 0;
    case MSR_PATCH_LEVEL:
    case MSR_MCG_STATUS:
    case MSR_AMD64_SYSCFG:
    case MSR_K8_INT_PENDING:
        return 0;
    case MSR_MTRRCAP:
    case MSR_MCG_CAP:
        return -1;
    }
    switch (msr) {
    case MSR_LSTAR:
        cpu->lstar = v;
        return 0;
    case MSR_CSTAR:
        cpu->cstar = v;
        return 0;
    case MSR_FS_BASE:
        set_base(cpu, X86_FS, v);
        return 0;
    case MSR_GS_BASE:
        set_base(cpu, X86_GS, v);
        return 0;
    }
    uint64_t *slot = msr_slot(cpu, msr);
    if (slot) {
        *slot = v;
        return 0;
    }
    return cpu->sys->wrmsr ? cpu->sys->wrmsr(cpu->sys_ctx, msr, v) : -1;
}
