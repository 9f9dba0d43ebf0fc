#include "accel/kvm/kvm_exit.h"

#include <stdio.h>
#include <string.h>

#include "util/log.h"

const char *kvm_exit_reason_name(unsigned reason)
{
    static const char *const names[] = {
        [KVM_EXIT_UNKNOWN] = "UNKNOWN",
        [KVM_EXIT_EXCEPTION] = "EXCEPTION",
        [KVM_EXIT_IO] = "IO",
        [KVM_EXIT_HYPERCALL] = "HYPERCALL",
        [KVM_EXIT_DEBUG] = "DEBUG",
        [KVM_EXIT_HLT] = "HLT",
        [KVM_EXIT_MMIO] = "MMIO",
        [KVM_EXIT_IRQ_WINDOW_OPEN] = "IRQ_WINDOW_OPEN",
        [KVM_EXIT_SHUTDOWN] = "SHUTDOWN",
        [KVM_EXIT_FAIL_ENTRY] = "FAIL_ENTRY",
        [KVM_EXIT_INTR] = "INTR",
        [KVM_EXIT_SET_TPR] = "SET_TPR",
        [KVM_EXIT_TPR_ACCESS] = "TPR_ACCESS",
        [KVM_EXIT_NMI] = "NMI",
        [KVM_EXIT_INTERNAL_ERROR] = "INTERNAL_ERROR",
        [KVM_EXIT_SYSTEM_EVENT] = "SYSTEM_EVENT",
    };
    if (reason < sizeof(names) / sizeof(names[0]) && names[reason])
        return names[reason];
    return "unknown";
}

static void handle_io(const struct kvm_exit_env *env, struct kvm_run *run)
{
    unsigned size = run->io.size;
    uint8_t *data = (uint8_t *)run + run->io.data_offset;
    /* count > 1 for rep ins/outs: KVM hands over all elements at once. */
    for (uint32_t i = 0; i < run->io.count; i++, data += size) {
        if (run->io.direction == KVM_EXIT_IO_OUT) {
            uint64_t v = 0;
            memcpy(&v, data, size);
            bus_write(env->pio, run->io.port, size, v);
        } else {
            uint64_t v = bus_read(env->pio, run->io.port, size);
            memcpy(data, &v, size);
        }
    }
}

static void handle_mmio(const struct kvm_exit_env *env, struct kvm_run *run)
{
    unsigned len = run->mmio.len;
    if (len == 0 || len > 8)
        return;
    if (run->mmio.is_write) {
        uint64_t v = 0;
        memcpy(&v, run->mmio.data, len);
        bus_write(env->mmio, run->mmio.phys_addr, len, v);
    } else {
        uint64_t v = bus_read(env->mmio, run->mmio.phys_addr, len);
        memcpy(run->mmio.data, &v, len);
    }
}

static enum kvm_exit_action fatal(const struct kvm_exit_env *env, const char *why)
{
    log_error("vCPU %u: %s", env->vcpu_index, why);
    if (env->dump_regs)
        env->dump_regs(env->opaque);
    env->stop(env->opaque, KVM_EXIT_STATUS_FATAL, why);
    return KVM_EXIT_ACTION_STOP;
}

static enum kvm_exit_action handle_internal_error(const struct kvm_exit_env *env,
                                                  struct kvm_run *run)
{
    static const char *const sub[] = {
        [KVM_INTERNAL_ERROR_EMULATION] = "instruction emulation failed",
        [KVM_INTERNAL_ERROR_SIMUL_EX] = "exception while delivering an exception",
        [KVM_INTERNAL_ERROR_DELIVERY_EV] = "event delivery failed",
        [KVM_INTERNAL_ERROR_UNEXPECTED_EXIT_REASON] = "unexpected exit reason",
    };
    unsigned s = run->internal.suberror;
    const char *what = s < sizeof(sub) / sizeof(sub[0]) && sub[s] ? sub[s] : "unknown";
    char msg[256];
    int n = snprintf(msg, sizeof(msg), "KVM internal error: suberror %u (%s)", s, what);
    for (uint32_t i = 0; i < run->internal.ndata && i < 16 && n < (int)sizeof(msg) - 20; i++)
        n += snprintf(msg + n, sizeof(msg) - n, "%s%#llx", i ? " " : ", data ",
                      (unsigned long long)run->internal.data[i]);
    return fatal(env, msg);
}

static enum kvm_exit_action handle_system_event(const struct kvm_exit_env *env, struct kvm_run *run)
{
    switch (run->system_event.type) {
    case KVM_SYSTEM_EVENT_SHUTDOWN:
        env->stop(env->opaque, KVM_EXIT_STATUS_POWEROFF, "guest shut down");
        return KVM_EXIT_ACTION_STOP;
    case KVM_SYSTEM_EVENT_RESET:
        env->stop(env->opaque, KVM_EXIT_STATUS_POWEROFF, "guest reset");
        return KVM_EXIT_ACTION_STOP;
    default: {
        char msg[64];
        snprintf(msg, sizeof(msg), "guest system event %u (crash)", run->system_event.type);
        return fatal(env, msg);
    }
    }
}

enum kvm_exit_action kvm_handle_exit(const struct kvm_exit_env *env, struct kvm_run *run)
{
    char msg[128];
    switch (run->exit_reason) {
    case KVM_EXIT_IO:
        handle_io(env, run);
        return KVM_EXIT_ACTION_CONTINUE;
    case KVM_EXIT_MMIO:
        handle_mmio(env, run);
        return KVM_EXIT_ACTION_CONTINUE;
    case KVM_EXIT_INTR:
        /* A signal (a kick) interrupted KVM_RUN; the loop checks for a stop. */
        return KVM_EXIT_ACTION_CONTINUE;
    case KVM_EXIT_HLT:
        /* Only without an in-kernel irqchip; xuni always has one, so a HLT
         * exit means nothing can wake this vCPU again. */
        return fatal(env, "guest halted with no way to wake up (HLT exit)");
    case KVM_EXIT_SHUTDOWN:
        return fatal(env, "guest triple fault (shutdown)");
    case KVM_EXIT_SYSTEM_EVENT:
        return handle_system_event(env, run);
    case KVM_EXIT_FAIL_ENTRY:
        snprintf(msg, sizeof(msg), "KVM_RUN failed to enter the guest: hardware reason %#llx",
                 (unsigned long long)run->fail_entry.hardware_entry_failure_reason);
        return fatal(env, msg);
    case KVM_EXIT_INTERNAL_ERROR:
        return handle_internal_error(env, run);
    default:
        snprintf(msg, sizeof(msg), "unhandled KVM exit %u (%s)", run->exit_reason,
                 kvm_exit_reason_name(run->exit_reason));
        return fatal(env, msg);
    }
}
