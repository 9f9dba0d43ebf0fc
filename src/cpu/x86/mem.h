/* Guest memory accesses for op functions.
 *
 * Every load and store an instruction makes goes through these, with a
 * linear address (segment base already added: x86_ea() in operand.h).
 * Today the CPU has one memory model, flat: linear address a is host
 * address cpu->mem_base + a, valid below cpu->mem_limit; the host's page
 * protections do the rest, and a host fault on guest memory becomes a guest
 * #PF through the embedder's SIGSEGV handler (x86_fault_from_signal).
 * Addresses at or past mem_limit take the slow path (x86_mem_fault): #GP
 * or #SS if non-canonical, else #PF.
 * The system-level issue adds paging behind the same functions: a software
 * TLB with a host-pointer fast path, and MMIO through the embedder's hooks.
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

/* The slow path of every access: [lin, lin+size) is not below mem_limit.
 * A non-canonical address is #GP(0), or #SS(0) for an access through the
 * stack segment (seg X86_SS: the implicit stack accesses of PUSH, POP,
 * CALL, RET, ENTER, LEAVE; X86_SEG_NONE: the running instruction's memory
 * operand decides, SS when it is based on RSP or RBP, as the hardware
 * ignores segment overrides other than FS and GS for this in 64-bit mode).
 * Anything else is a #PF at the first byte that is out of range. */
_Noreturn void x86_mem_fault(struct x86_cpu *cpu, uint64_t lin, uint64_t size, int write,
                             unsigned seg);

/* Host pointer for [lin, lin+size), or an exception (never returns NULL).
 * The fast path is one range check; seg only matters on the slow path. */
static inline void *x86_mem_ptr_seg(struct x86_cpu *cpu, uint64_t lin, uint64_t size, int write,
                                    unsigned seg)
{
    if (__builtin_expect(lin >= cpu->mem_limit || size > cpu->mem_limit - lin, 0))
        x86_mem_fault(cpu, lin, size, write, seg);
    return (void *)(cpu->mem_base + (uintptr_t)lin);
}

/* An access through the running instruction's memory operand (or any
 * access that is not through SS). */
static inline void *x86_mem_ptr(struct x86_cpu *cpu, uint64_t lin, uint64_t size, int write)
{
    return x86_mem_ptr_seg(cpu, lin, size, write, X86_SEG_NONE);
}

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
    (void)x86_mem_ptr(cpu, lin, n, 1);
}

/* The embedder's SIGSEGV/SIGBUS handler calls this when a host fault hit
 * guest memory, with the host's page-fault error code (the ucontext's
 * REG_ERR: bit 0 the page was present, bit 1 a write): if cpu is inside
 * x86_run() it raises #PF at the guest address (and does not return). It
 * returns if host_addr is not guest memory or the CPU is not running (then
 * the fault is the embedder's). */
void x86_fault_from_signal(struct x86_cpu *cpu, uintptr_t host_addr, uint64_t host_err);

#endif
