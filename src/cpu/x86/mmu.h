/* The software MMU (mmu.c) and its contract with the block cache (exec.c).
 *
 * Private to src/cpu/x86. Op functions use mem.h; this header is for the
 * run loop, the system instructions and interrupt delivery:
 *   - translation of linear to guest-physical addresses by the guest's page
 *     tables (32-bit, PAE and 4-level paging), with the SDM's permission
 *     checks, accessed/dirty bits and #PF error codes;
 *   - the TLB (cpu.h): filled on a miss, flushed by CR3/CR4/CR0 writes,
 *     INVLPG and mode changes; one set per privilege;
 *   - code pages: a page holding decoded blocks never gets a write entry,
 *     so every store to it reaches the slow path, which tells the block
 *     cache which bytes changed (x86_code_write) before the store lands;
 *   - implicit supervisor accesses (descriptor tables, TSS, interrupt
 *     stack frames at a privilege change) with x86_sys_*.
 */
#ifndef XUNI_CPU_X86_MMU_H
#define XUNI_CPU_X86_MMU_H

#include "cpu/x86/insn.h"

#define X86_PF_RSVD      (1u << 3)
#define X86_PF_FETCH_BIT (1u << 4)

/* Host pointer of the byte at linear address lin for an instruction fetch
 * (the rest of its page is valid too), and its guest-physical address.
 * Raises #PF (fetch) if it cannot be fetched. */
const uint8_t *x86_fetch_slow(struct x86_cpu *cpu, uint64_t lin, uint64_t *gpa);
static inline const uint8_t *x86_fetch_ptr(struct x86_cpu *cpu, uint64_t lin, uint64_t *gpa)
{
    const struct x86_tlb_entry *e = &cpu->tlb->e[X86_ACC_FETCH][(lin >> 12) & (X86_TLB_SIZE - 1)];
    if (__builtin_expect(e->tag == (lin & ~0xfffull), 1)) {
        *gpa = (e->phys & ~0xfffull) | (lin & 0xfff);
        return (const uint8_t *)(uintptr_t)(lin + e->addend);
    }
    return x86_fetch_slow(cpu, lin, gpa);
}

/* Write out stores left in the bounce buffer (end of the instruction's
 * block). */
void x86_pending_flush(struct x86_cpu *cpu);
static inline void x86_pending_drop(struct x86_cpu *cpu)
{
    cpu->pending_n = 0;
}

/* Select the TLB set for the current CPL. */
static inline void x86_tlb_select(struct x86_cpu *cpu)
{
    cpu->tlb = &cpu->tlbs[cpu->cpl == 3 && !cpu->user_mode ? 1 : 0];
}

/* Flush one page (INVLPG). */
void x86_flush_page(struct x86_cpu *cpu, uint64_t lin);
/* Drop every write entry for guest-physical page gpa (it now holds code). */
void x86_tlb_drop_writes(struct x86_cpu *cpu, uint64_t gpa);

/* Implicit supervisor accesses at linear addresses (GDT, LDT, IDT, TSS,
 * and stack frames pushed by interrupt delivery), checked as CPL 0
 * accesses whatever the CPL. */
void x86_sys_read(struct x86_cpu *cpu, uint64_t lin, void *dst, unsigned n);
void x86_sys_write(struct x86_cpu *cpu, uint64_t lin, const void *src, unsigned n);

/* Guest-physical accesses (page walks; the embedder's boot setup). */
void *x86_phys_ptr(struct x86_cpu *cpu, uint64_t gpa);

/* Block cache side (exec.c). */
bool x86_code_on_page(const struct x86_cpu *cpu, uint64_t gpa);
void x86_code_write(struct x86_cpu *cpu, uint64_t gpa, uint64_t len);

/* Does the running instruction read its memory operand and write it back
 * (faults on the read are reported as writes)? exec.c. */
bool x86_insn_rmw(const struct x86_insn *in);

#endif
