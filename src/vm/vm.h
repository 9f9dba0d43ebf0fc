/* The board: a PC with RAM, two buses, the legacy devices, and vCPUs run by
 * an accelerator.
 *
 * vm_build() reads straight down: memory -> PCI devices -> firmware tables
 * and kernel -> accelerator -> vCPUs -> legacy devices -> entry state. vm_run() starts the I/O
 * thread and one thread per vCPU, waits until something asks the machine to stop (vm_request_exit:
 * debug exit, reset, power-off, triple fault, an internal error, Ctrl-A x), stops every thread and
 * returns the exit status.
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
struct pci_host;
struct virtio_pci;
struct virtio_rng;
struct virtio_blk;
struct virtio_net;
struct virtio_console;
struct virtio_dev;
struct virtio_device_ops;
struct vm_doorbells;

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
    struct virtio_console *vcon; /* --console virtio: the console's device, else NULL */
    struct serial *com1;
    struct rtc *rtc;
    struct i8042 *i8042;
    struct debug_exit *debug_exit;
    struct acpi_pm *acpi_pm;

    struct pci_host *pci;
    struct virtio_pci *virtio[LAYOUT_PCI_SLOTS]; /* transports, in slot order */
    unsigned nvirtio;
    struct vm_doorbells *doorbells; /* doorbell.c: queue eventfds, made as bound */
    struct virtio_rng *rng;
    struct virtio_blk *blk[CONFIG_MAX_DRIVES]; /* --drive disks */
    unsigned nblk;
    struct virtio_net *net; /* --net NIC, or NULL */
    /* The MP and ACPI tables are written: the PCI slots are final. */
    bool firmware_built;

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

/* Attach a virtio device model (ops, dev) to the PCI bus through a
 * virtio-pci transport in the next free slot; *vdev (if not NULL) is the
 * transport's side for the device (virtio.h). Call it in vm_create_pci()
 * (before the firmware tables describe the slots). 0 or a negative errno,
 * logged. */
int vm_add_virtio(struct vm *vm, const struct virtio_device_ops *ops, void *dev,
                  struct virtio_dev **vdev);

/* The interrupt line and power line the board hands to devices. */
struct irq_line vm_irq_line(struct vm *vm, unsigned gsi);
struct power_line vm_power_line(struct vm *vm);

#endif
