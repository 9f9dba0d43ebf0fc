/* The board: a PC with RAM, two buses, the legacy devices, and vCPUs run by
 * an accelerator.
 *
 * vm_build() reads straight down: memory -> accelerator -> vCPUs -> devices
 * -> firmware tables -> kernel -> entry state. vm_run() starts the I/O thread
 * and one thread per vCPU, waits until something asks the machine to stop
 * (vm_request_exit: debug exit, reset, power-off, triple fault, an internal
 * error, Ctrl-A x), stops every thread and returns the exit status.
 */
#ifndef XUNI_VM_VM_H
#define XUNI_VM_VM_H

#include <pthread.h>
#include <stdbool.h>

#include "accel/accel.h"
#include "boot/boot.h"
#include "hw/irq.h"
#include "vm/bus.h"
#include "vm/config.h"
#include "vm/layout.h"
#include "vm/memory.h"

struct event_loop;
struct chardev;
struct serial;
struct rtc;
struct i8042;
struct debug_exit;
struct acpi_pm;

struct vm_vcpu {
    struct vm *vm;
    unsigned index;
    struct accel_vcpu *accel;
    pthread_t thread;
    bool thread_started;
};

struct vm {
    const struct vm_config *cfg;
    struct guest_memory mem;
    pthread_mutex_t device_lock; /* the big device lock, held around device callbacks */
    struct bus pio;
    struct bus mmio;

    const struct accel_ops *accel;
    void *accel_state; /* owned by the accelerator */
    unsigned nvcpus;
    struct vm_vcpu vcpus[LAYOUT_MAX_VCPUS];
    struct boot_entry entry;

    struct event_loop *io_loop;
    pthread_t io_thread;
    bool io_started;

    struct chardev *console;
    struct serial *com1;
    struct rtc *rtc;
    struct i8042 *i8042;
    struct debug_exit *debug_exit;
    struct acpi_pm *acpi_pm;

    pthread_mutex_t exit_lock;
    pthread_cond_t exit_cond;
    bool exit_requested;
    int exit_status;
};

int vm_build(struct vm *vm, const struct vm_config *cfg);
int vm_run(struct vm *vm);
void vm_destroy(struct vm *vm);

/* Ask the machine to stop with this exit status; the first request wins.
 * Safe from any thread. */
void vm_request_exit(struct vm *vm, int status, const char *why);
bool vm_exit_requested(struct vm *vm);

/* Choose the accelerator for cfg->accel ("auto": kvm if usable, else emu).
 * Returns NULL after one message naming the problem. */
const struct accel_ops *vm_select_accel(enum accel_kind kind);

/* The interrupt line and power line the board hands to devices. */
struct irq_line vm_irq_line(struct vm *vm, unsigned gsi);
struct power_line vm_power_line(struct vm *vm);

#endif
