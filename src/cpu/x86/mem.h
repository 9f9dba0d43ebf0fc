/* Guest memory accesses for op functions.
 *
 * Every load and store an instruction makes goes through these, with a
 * linear address (segment base already added: x86_ea() in operand.h).
 * Both memory models sit behind one fast path, a software TLB probe
 * (struct x86_tlb in cpu.h) that yields a host pointer:
 *   flat (user mode): linear address a is host address mem_base + a below
 *     mem_limit; the host's page protections do the rest, and a host fault
 *     on guest memory becomes a guest #PF through the embedder's SIGSEGV
 *     handler (x86_fault_from_signal);
 *   paging (system mode): the guest's page tables map linear to physical
 *     addresses, the embedder's ram_ptr hook physical addresses to host
 *     memory; MMIO goes to its hooks (mmu.c).
 *
 * Accesses may be unaligned (x86 allows it); they are done with memcpy,
 * which compiles to single moves.
 */
#ifndef XUNI_CPU_X86_MEM_H
#define XUNI_CPU_X86_MEM_H

#include <string.h>

#include "cpu/x86/cpu.h"

#define X86_PF_PRESENT (1u << 0)
#define X86_PF_WRITE   (1u << 1)
#define X86_PF_USER    (1u << 2)
#define X86_PF_FETCH   (1u << 4)

/* The slow path of every access (mmu.c): a TLB miss, an access crossing a
 * page, MMIO, a write to a page holding decoded code, or a fault.
 *
 * Flat model (user mode): [lin, lin+size) must lie below mem_limit. A
 * non-canonical address is #GP(0), or #SS(0) for an access through the
 * stack segment (seg X86_SS: the implicit stack accesses of PUSH, POP,
 * CALL, RET, ENTER, LEAVE; X86_SEG_NONE: the running instruction's memory
 * operand decides, SS when it is based on RSP or RBP, as the hardware
 * ignores segment overrides other than FS and GS for this in 64-bit mode).
 * Anything else is a #PF at the first byte that is out of range.
 *
 * Paging model (system mode): the page walk for the current privilege,
 * #PF with the SDM's error code and CR2. RAM comes back as a host pointer
 * (and fills the TLB); MMIO and page-crossing accesses come back as the
 * CPU's bounce buffer: read accesses find the data there, and what a write
 * leaves there is written out when the instruction's block ends (the block
 * is cut right after the instruction). write: 0 read, 1 write. */
void *x86_mem_slow(struct x86_cpu *cpu, uint64_t lin, uint64_t size, int write, unsigned seg);

/* The fault of an access outside the flat model's memory (the slow path's
 * flat-model tail; never returns). */
_Noreturn void x86_mem_fault(struct x86_cpu *cpu, uint64_t lin, uint64_t size, int write,
                             unsigned seg);

/* Host pointer for [lin, lin+size) (size <= 4096), or an exception (never
 * returns NULL). The fast path is one TLB probe. */
static inline void *x86_mem_ptr_seg(struct x86_cpu *cpu, uint64_t lin, uint64_t size, int write,
                                    unsigned seg)
{
    const struct x86_tlb_entry *e = &cpu->tlb->e[write][(lin >> 12) & (X86_TLB_SIZE - 1)];
    if (__builtin_expect(e->tag == (lin & ~0xfffull) && (lin & 0xfff) + size <= 0x1000, 1))
        return (void *)(uintptr_t)(lin + e->addend);
    return x86_mem_slow(cpu, lin, size, write, seg);
}

/* An access through the running instruction's memory operand (or any
 * access that is not through SS). */
static inline void *x86_mem_ptr(struct x86_cpu *cpu, uint64_t lin, uint64_t size, int write)
{
    return x86_mem_ptr_seg(cpu, lin, size, write, X86_SEG_NONE);
}

/* Host pointer for [lin, lin+n) if it is ordinary RAM that is contiguous in
 * the host (flat model: inside memory; paging: within one page), for bulk
 * string operations; NULL otherwise (the caller goes element by element).
 * Raises the access's fault if lin itself faults. */
void *x86_mem_direct(struct x86_cpu *cpu, uint64_t lin, uint64_t n, int write, unsigned seg);

/* Check that [lin, lin+n) (any length) could be read or written without a
 * fault, changing nothing (paging model; the flat model's touch helpers in
 * stack.h do their own). */
void x86_mem_check(struct x86_cpu *cpu, uint64_t lin, uint64_t n, int write, unsigned seg);

static inline uint8_t x86_load8(struct x86_cpu *cpu, uint64_t lin)
{
    return *(const uint8_t *)x86_mem_ptr(cpu, lin, 1, 0);
}

static inline uint16_t x86_load16(struct x86_cpu *cpu, uint64_t lin)
{
    uint16_t v;
    memcpy(&v, x86_mem_ptr(cpu, lin, 2, 0), 2);
    return v;
}

static inline uint32_t x86_load32(struct x86_cpu *cpu, uint64_t lin)
{
    uint32_t v;
    memcpy(&v, x86_mem_ptr(cpu, lin, 4, 0), 4);
    return v;
}

static inline uint64_t x86_load64(struct x86_cpu *cpu, uint64_t lin)
{
    uint64_t v;
    memcpy(&v, x86_mem_ptr(cpu, lin, 8, 0), 8);
    return v;
}

/* Load of 1 << osz bytes, zero-extended, through segment seg (see
 * x86_mem_fault). */
static inline uint64_t x86_load_seg(struct x86_cpu *cpu, uint64_t lin, unsigned osz, unsigned seg)
{
    uint16_t v16;
    uint32_t v32;
    uint64_t v64;
    switch (osz) {
    case 0:
        return *(const uint8_t *)x86_mem_ptr_seg(cpu, lin, 1, 0, seg);
    case 1:
        memcpy(&v16, x86_mem_ptr_seg(cpu, lin, 2, 0, seg), 2);
        return v16;
    case 2:
        memcpy(&v32, x86_mem_ptr_seg(cpu, lin, 4, 0, seg), 4);
        return v32;
    default:
        memcpy(&v64, x86_mem_ptr_seg(cpu, lin, 8, 0, seg), 8);
        return v64;
    }
}

static inline uint64_t x86_load(struct x86_cpu *cpu, uint64_t lin, unsigned osz)
{
    return x86_load_seg(cpu, lin, osz, X86_SEG_NONE);
}

static inline void x86_store_seg(struct x86_cpu *cpu, uint64_t lin, unsigned osz, uint64_t v,
                                 unsigned seg)
{
    unsigned n = 1u << osz;
    memcpy(x86_mem_ptr_seg(cpu, lin, n, 1, seg), &v, n); /* little-endian host: low bytes first */
}

static inline void x86_store(struct x86_cpu *cpu, uint64_t lin, unsigned osz, uint64_t v)
{
    x86_store_seg(cpu, lin, osz, v, X86_SEG_NONE);
}

static inline void x86_load_bytes(struct x86_cpu *cpu, uint64_t lin, void *dst, unsigned n)
{
    memcpy(dst, x86_mem_ptr(cpu, lin, n, 0), n);
}

static inline void x86_store_bytes(struct x86_cpu *cpu, uint64_t lin, const void *src, unsigned n)
{
    memcpy(x86_mem_ptr(cpu, lin, n, 1), src, n);
}

/* Probe that a store of n bytes at lin would not fault, before any state
 * changes (for instructions that store after other side effects). */
static inline void x86_probe_write(struct x86_cpu *cpu, uint64_t lin, uint64_t n)
{
    x86_mem_check(cpu, lin, n, 1, X86_SEG_NONE);
}

/* The embedder's SIGSEGV/SIGBUS handler calls this when a host fault hit
 * guest memory, with the host's page-fault error code (the ucontext's
 * REG_ERR: bit 0 the page was present, bit 1 a write): if cpu is inside
 * x86_run() it raises #PF at the guest address (and does not return). It
 * returns if host_addr is not guest memory or the CPU is not running (then
 * the fault is the embedder's). */
void x86_fault_from_signal(struct x86_cpu *cpu, uintptr_t host_addr, uint64_t host_err);

#endif
