/* The accelerator interface: what runs the guest's CPUs.
 *
 * The board (vm.c) owns memory, buses, devices and threads; an accelerator
 * owns CPU state. The board calls, in order:
 *
 *   init(vm)                 open the engine, create the VM, map RAM regions
 *   vcpu_create(vm, i)       for every vCPU
 *   vcpu_reset(vcpu, entry)  the boot CPU gets the loader's entry state;
 *                            APs wait for INIT/SIPI (entry == NULL)
 *   vcpu_run(vcpu)           on the vCPU's own thread; returns when the VM
 *                            stops (vm_request_exit) or on a fatal error
 *   vcpu_kick(vcpu)          from any thread: make vcpu_run notice a stop
 *   destroy(vm)
 *
 * Port I/O and MMIO exits go to vm->pio / vm->mmio (bus_read/bus_write).
 * Devices raise interrupts through set_irq (the board wires irq_lines to
 * it); msi is optional. Both are called with the board's device lock held,
 * as is ioeventfd (doorbells that bypass the vCPU thread, see vm/doorbell.h).
 * Nothing outside accel/kvm includes <linux/kvm.h>.
 */
#ifndef XUNI_ACCEL_ACCEL_H
#define XUNI_ACCEL_ACCEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "boot/boot.h"

struct vm;
struct accel_vcpu;

/* Register state for dumps (triple fault, internal errors) and debugging. */
struct accel_regs {
    uint64_t rax, rbx, rcx, rdx, rsi, rdi, rbp, rsp;
    uint64_t r8, r9, r10, r11, r12, r13, r14, r15;
    uint64_t rip, rflags;
    uint64_t cr0, cr2, cr3, cr4, cr8, efer;
    struct boot_segment cs, ds, es, fs, gs, ss, tr, ldt;
    uint64_t gdt_base, idt_base;
    uint16_t gdt_limit, idt_limit;
};

struct accel_ops {
    const char *name;
    /* Can this engine run here? If not, write the reason to why. */
    bool (*available)(char *why, size_t len);
    /* Does it run guest kernel code at hardware speed here (may be NULL:
     * yes)? --accel auto takes kvm only then. why says either way. */
    bool (*fast)(char *why, size_t len);
    int (*init)(struct vm *vm);
    int (*vcpu_create)(struct vm *vm, unsigned index, struct accel_vcpu **out);
    int (*vcpu_reset)(struct accel_vcpu *vcpu, const struct boot_entry *entry);
    int (*vcpu_run)(struct accel_vcpu *vcpu);
    void (*vcpu_kick)(struct accel_vcpu *vcpu);
    int (*vcpu_get_regs)(struct accel_vcpu *vcpu, struct accel_regs *regs);
    void (*set_irq)(struct vm *vm, unsigned gsi, int level);
    int (*msi)(struct vm *vm, uint64_t addr, uint32_t data); /* may be NULL */
    /* Optional (NULL: not here): let guest writes to gpa signal the
     * eventfd fd instead of exiting to the MMIO bus (assign true), or undo
     * that (false). 0 or a negative errno; on error the MMIO path stays. */
    int (*ioeventfd)(struct vm *vm, uint64_t gpa, int fd, bool assign);
    void (*destroy)(struct vm *vm);
};

extern const struct accel_ops accel_kvm_ops;
extern const struct accel_ops accel_emu_ops;

/* Print a register dump, one log line per group. */
void accel_dump_regs(const struct accel_regs *regs);

#endif
