/* Stack and segment helpers shared by the stack, branch, move, string and
 * misc instruction families (private to src/cpu/x86).
 *
 * The stack pointer is RSP, SP or ESP by cpu->sp_mask (64-bit mode, or
 * SS.B), and the stack segment's base is added (zero in 64-bit mode). Pushes are split in
 * two so op functions can keep exceptions precise: x86_stack_store() writes
 * below RSP and returns the new RSP without committing it; the caller sets
 * RSP once every access that can fault is done.
 */
#ifndef XUNI_CPU_X86_STACK_H
#define XUNI_CPU_X86_STACK_H

#include "cpu/x86/operand.h"

#ifndef X86_PAGE_SIZE
#define X86_PAGE_SIZE 4096u
#endif

/* Set the stack pointer: only its low 16 or 32 bits change outside
 * 64-bit mode (SS.B; sp_mask). */
static inline void x86_sp_set(struct x86_cpu *cpu, uint64_t sp)
{
    cpu->gpr[X86_RSP] = (cpu->gpr[X86_RSP] & ~cpu->sp_mask) | (sp & cpu->sp_mask);
}

/* Segment base for a data access; seg may be X86_SEG_NONE (no override
 * and no ModRM): that is DS. */
static inline uint64_t x86_seg_base(const struct x86_cpu *cpu, unsigned seg)
{
    return cpu->seg[seg < 6 ? seg : X86_DS].base;
}

static inline uint64_t x86_stack_lin(const struct x86_cpu *cpu, uint64_t rsp)
{
    return (rsp & cpu->sp_mask) + cpu->seg[X86_SS].base;
}

/* Store v (1 << osz bytes) where a push would put it; returns the RSP the
 * push leaves, without setting it. */
static inline uint64_t x86_stack_store(struct x86_cpu *cpu, unsigned osz, uint64_t v)
{
    uint64_t sp = cpu->gpr[X86_RSP] - (1u << osz);
    x86_store_seg(cpu, x86_stack_lin(cpu, sp), osz, v, X86_SS);
    return sp;
}

static inline void x86_push(struct x86_cpu *cpu, unsigned osz, uint64_t v)
{
    x86_sp_set(cpu, x86_stack_store(cpu, osz, v));
}

/* The value at RSP + off (1 << osz bytes), without popping it. */
static inline uint64_t x86_stack_peek(struct x86_cpu *cpu, unsigned osz, uint64_t off)
{
    return x86_load_seg(cpu, x86_stack_lin(cpu, cpu->gpr[X86_RSP] + off), osz, X86_SS);
}

/* Make sure a store of n bytes at lin would not fault, without changing
 * memory: in the flat model protection lives in the host page tables, so
 * each page is touched with an atomic read-modify-write that stores the
 * value it read (a host fault here is a precise guest #PF). */
static inline void x86_touch_write(struct x86_cpu *cpu, uint64_t lin, uint64_t n, unsigned seg)
{
    if (cpu->sys) {
        x86_mem_check(cpu, lin, n, 1, seg);
        return;
    }
    uint8_t *p = x86_mem_ptr_seg(cpu, lin, n, 1, seg);
    uint64_t first = lin & ~(uint64_t)(X86_PAGE_SIZE - 1);
    for (uint64_t page = first; page < lin + n; page += X86_PAGE_SIZE) {
        uint8_t *q = page < lin ? p : p + (page - lin);
        __asm__ volatile("lock orb $0, (%0)" : : "r"(q) : "memory");
    }
}

/* Make sure a load of n bytes at lin would not fault (the loaded value is
 * not needed yet): each page is read through a volatile pointer, so the
 * access is really made. */
static inline void x86_touch_read(struct x86_cpu *cpu, uint64_t lin, uint64_t n, unsigned seg)
{
    if (cpu->sys) {
        x86_mem_check(cpu, lin, n, 0, seg);
        return;
    }
    const volatile uint8_t *p = x86_mem_ptr_seg(cpu, lin, n, 0, seg);
    uint64_t first = lin & ~(uint64_t)(X86_PAGE_SIZE - 1);
    for (uint64_t page = first; page < lin + n; page += X86_PAGE_SIZE)
        (void)(page < lin ? p[0] : p[page - lin]);
}

/* Load segment register sreg with selector sel, with the checks of MOV
 * Sreg and POP Sreg (#GP(selector), #GP(0) for a null SS); system.c. */
void x86_seg_load(struct x86_cpu *cpu, unsigned sreg, uint16_t sel);

/* Canonical 48-bit linear address (bits 63:47 all equal). */
static inline int x86_canonical(uint64_t a)
{
    return (uint64_t)((int64_t)(a << 16) >> 16) == a;
}

#endif
