/* KVM exit handling, split from the KVM_RUN loop so that unit tests can feed
 * it hand-made exits.
 *
 * kvm_handle_exit() looks at one struct kvm_run after KVM_RUN returned and
 * does what the exit asks: port I/O and MMIO go to the buses, a triple fault
 * or an internal error stops the VM with a diagnostic and a register dump,
 * a system event (shutdown/reset) stops it cleanly. It reaches the rest of
 * the VM only through struct kvm_exit_env.
 */
#ifndef XUNI_ACCEL_KVM_EXIT_H
#define XUNI_ACCEL_KVM_EXIT_H

#include <linux/kvm.h>

#include "vm/bus.h"

/* Exit statuses xuni itself chooses (the guest's debug exit gives others). */
#define KVM_EXIT_STATUS_POWEROFF 0
/* Triple fault, internal error, failed entry. Even, so that it never equals
 * a debug-exit status ((v << 1) | 1). */
#define KVM_EXIT_STATUS_FATAL 4

struct kvm_exit_env {
    struct bus *pio;
    struct bus *mmio;
    unsigned vcpu_index;
    /* Stop the VM with this status (first request wins). */
    void (*stop)(void *opaque, int status, const char *why);
    /* Log the vCPU's registers (may be NULL). */
    void (*dump_regs)(void *opaque);
    void *opaque;
};

enum kvm_exit_action {
    KVM_EXIT_ACTION_CONTINUE, /* re-enter the guest */
    KVM_EXIT_ACTION_STOP,     /* the VM is stopping: leave the run loop */
};

enum kvm_exit_action kvm_handle_exit(const struct kvm_exit_env *env, struct kvm_run *run);

/* The name of an exit reason, for messages ("IO", "SHUTDOWN", ...). */
const char *kvm_exit_reason_name(unsigned reason);

#endif
