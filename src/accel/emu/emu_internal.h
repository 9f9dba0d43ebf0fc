/* State shared by the emu accelerator's files; private to accel/emu.
 *
 * The emu accelerator runs the vCPUs on xuni's own CPU (cpu/x86) and
 * supplies what KVM keeps in the kernel: a local APIC per vCPU, the APIC
 * bus, an IOAPIC, the 8259 pair and the 8254 PIT (hw/), with their timers
 * on a timer service thread.
 *
 * Threads: all vCPUs run round-robin on one thread (vCPU 0's; the other
 * vCPU threads return at once), in slices of EMU_SLICE instructions. Why
 * not a thread per vCPU: guest atomics, the shared block cache and
 * cross-modifying code, TLB shootdowns and the interrupt shadow are then
 * correct by construction, and the CI machines have two cores anyway; the
 * price is that N vCPUs share one host CPU. A halted vCPU is skipped; when
 * every vCPU is halted the thread sleeps until a kick (an interrupt, a
 * timer, a stop request).
 */
#ifndef XUNI_ACCEL_EMU_INTERNAL_H
#define XUNI_ACCEL_EMU_INTERNAL_H

#include <pthread.h>
#include <stdbool.h>

#include "accel/accel.h"
#include "cpu/x86/cpu.h"

struct vm;
struct lapic;
struct apic_bus;
struct ioapic;
struct pic;
struct pit;
struct timer_service;

#define EMU_SLICE   20000u        /* instructions per turn when several vCPUs run */
#define EMU_TSC_KHZ 1000000u      /* the TSC counts host nanoseconds */
#define EMU_BUS_HZ  1000000000ull /* the LAPIC timer's input clock */

struct emu_state {
    struct vm *vm;
    struct timer_service *timers;
    struct apic_bus *apic_bus;
    struct ioapic *ioapic;
    struct pic *pic;
    struct pit *pit;
    struct accel_vcpu *vcpus[64];
    struct accel_vcpu *running; /* the vCPU inside x86_run(), or NULL */
    uint64_t start_ns;          /* host time at VM start (kvmclock's zero) */
    /* Guest RAM written by devices (DMA), for the CPU to drop code decoded
     * there before it runs again (guest_memory's write notifier). */
    pthread_mutex_t dma_lock;
    struct emu_dma_range {
        uint64_t gpa, len;
    } dma[256];
    unsigned ndma;
    bool dma_overflow;
    unsigned nvcpus;
    /* Sleeping while every vCPU is halted. */
    pthread_mutex_t wait_lock;
    pthread_cond_t wait_cond;
    bool kicked;
};

struct accel_vcpu {
    struct emu_state *emu;
    struct vm *vm;
    unsigned index;
    struct lapic *lapic;
    bool wait_sipi;       /* an AP before its SIPI, or any vCPU after INIT */
    uint64_t pvclock_msr; /* MSR_KVM_SYSTEM_TIME_NEW */
    struct x86_cpu cpu;
};

int emu_vcpu_create(struct vm *vm, unsigned index, struct accel_vcpu **out);
int emu_vcpu_reset(struct accel_vcpu *vcpu, const struct boot_entry *entry);
int emu_vcpu_run(struct accel_vcpu *vcpu);
void emu_vcpu_kick(struct accel_vcpu *vcpu);
int emu_vcpu_get_regs(struct accel_vcpu *vcpu, struct accel_regs *regs);

/* kvmclock (emu_pvclock.c). */
void emu_pvclock_cpuid(uint32_t leaf, uint32_t out[4]);
bool emu_pvclock_msr(uint32_t msr);
int emu_pvclock_rdmsr(struct accel_vcpu *vcpu, uint32_t msr, uint64_t *value);
int emu_pvclock_wrmsr(struct accel_vcpu *vcpu, uint32_t msr, uint64_t value);
/* The guest set its TSC: rewrite the time page, whose tsc_timestamp
 * follows the TSC (as KVM does on a TSC write). */
void emu_pvclock_tsc_written(struct accel_vcpu *vcpu);

/* Drop decoded code where devices wrote guest RAM (vCPU thread). */
void emu_dma_drain(struct emu_state *emu);

/* Wake the vCPU thread (something may be pending). */
void emu_wake(struct emu_state *emu);
/* The guest TSC of a vCPU. */
uint64_t emu_host_ns(void);

#endif
