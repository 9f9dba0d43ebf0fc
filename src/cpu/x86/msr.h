/* RDMSR/WRMSR in system mode (msr.c). Private to src/cpu/x86. */
#ifndef XUNI_CPU_X86_MSR_H
#define XUNI_CPU_X86_MSR_H

#include "cpu/x86/cpu.h"

/* 0, or -1 when the access is #GP(0). */
int x86_rdmsr(struct x86_cpu *cpu, uint32_t msr, uint64_t *value);
int x86_wrmsr(struct x86_cpu *cpu, uint32_t msr, uint64_t value);

/* The guest's TSC: the embedder's clock plus the offset WRMSR TSC set. */
uint64_t x86_tsc_read(struct x86_cpu *cpu);

static inline bool x86_canonical_addr(uint64_t a)
{
    return (uint64_t)((int64_t)(a << 16) >> 16) == a;
}

#endif
