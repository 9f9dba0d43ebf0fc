/* The board. vm_build() reads straight down: memory, the PCI bus and its
 * devices, firmware tables and kernel, accelerator, vCPUs, legacy devices
 * (each at its layout.h address and line), boot state. vm_run() owns the
 * threads. */
#include "vm/vm.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend/chardev.h"
#include "boot/acpi.h"
#include "boot/mptable.h"
#include "boot/smbios.h"
#include "hw/acpi_pm.h"
#include "hw/debug_exit.h"
#include "hw/i8042.h"
#include "hw/pci.h"
#include "hw/rtc.h"
#include "hw/serial.h"
#include "hw/virtio/virtio_blk.h"
#include "hw/virtio/virtio_net.h"
#include "hw/virtio/virtio_console.h"
#include "hw/virtio/virtio_pci.h"
#include "hw/virtio/virtio_rng.h"
#include "util/event_loop.h"
#include "util/log.h"
#include "vm/doorbell.h"

/* --- exit requests --- */

void vm_request_exit(struct vm *vm, int status, const char *why)
{
    pthread_mutex_lock(&vm->exit_lock);
    if (!vm->exit_requested) {
        vm->exit_status = status;
        __atomic_store_n(&vm->exit_requested, true, __ATOMIC_RELEASE);
        log_info("stopping: %s (status %d)", why, status);
        pthread_cond_broadcast(&vm->exit_cond);
    }
    pthread_mutex_unlock(&vm->exit_lock);
}

bool vm_exit_requested(struct vm *vm)
{
    return __atomic_load_n(&vm->exit_requested, __ATOMIC_ACQUIRE);
}

static void vm_set_irq(void *ctx, unsigned gsi, int level)
{
    struct vm *vm = ctx;
    vm->accel->set_irq(vm, gsi, level);
}

struct irq_line vm_irq_line(struct vm *vm, unsigned gsi)
{
    return (struct irq_line){.set = vm_set_irq, .ctx = vm, .gsi = gsi};
}

static void vm_power_request(void *ctx, enum power_event ev, int status, const char *why)
{
    vm_request_exit(ctx, ev == POWER_EXIT ? status : 0, why);
}

struct power_line vm_power_line(struct vm *vm)
{
    return (struct power_line){.request = vm_power_request, .ctx = vm};
}

/* --- building --- */

const struct accel_ops *vm_select_accel(enum accel_kind kind)
{
    char why[256];
    if (kind == ACCEL_KVM || kind == ACCEL_EMU) {
        const struct accel_ops *a = kind == ACCEL_KVM ? &accel_kvm_ops : &accel_emu_ops;
        if (a->available(why, sizeof(why)))
            return a;
        log_error("--accel %s: %s", a->name, why);
        return NULL;
    }
    /* auto: kvm where it runs guest kernel code at hardware speed (found by
     * a probe), else emu; one line says which and why. */
    if (accel_kvm_ops.available(why, sizeof(why))) {
        if (!accel_kvm_ops.fast || accel_kvm_ops.fast(why, sizeof(why))) {
            log_info("--accel auto: kvm (%s)", why);
            return &accel_kvm_ops;
        }
    }
    char why_emu[256];
    if (accel_emu_ops.available(why_emu, sizeof(why_emu))) {
        log_warn("--accel auto: using emu, as %s", why);
        return &accel_emu_ops;
    }
    log_error("no accelerator can run here: kvm: %s; emu: %s", why, why_emu);
    return NULL;
}

static int vm_add_pio(struct vm *vm, uint16_t port, unsigned len, const struct bus_ops *ops,
                      void *opaque, const char *name)
{
    return bus_register(&vm->pio, port, len, ops, opaque, name);
}

static const struct bus_ops sink_ops; /* reads all-ones, writes dropped, quietly */

/* The ports guests probe for ISA devices this board lacks (layout.h):
 * Linux reads COM2-4, the Super I/O configuration ports and a DMA page
 * register on every boot, which would otherwise be a warning each. */
static const struct {
    uint16_t port, len;
    const char *name;
} vm_absent_isa[] = {
    {LAYOUT_PORT_SUPERIO_A, 2, "superio"},  {LAYOUT_PORT_SUPERIO_B, 2, "superio"},
    {LAYOUT_PORT_DMA_PAGE, 15, "dma-page"}, {LAYOUT_PORT_COM2, 8, "com2"},
    {LAYOUT_PORT_COM3, 8, "com3"},          {LAYOUT_PORT_COM4, 8, "com4"},
};

static int vm_add_absent_isa(struct vm *vm)
{
    for (size_t i = 0; i < sizeof(vm_absent_isa) / sizeof(vm_absent_isa[0]); i++) {
        int r = vm_add_pio(vm, vm_absent_isa[i].port, vm_absent_isa[i].len, &sink_ops, NULL,
                           vm_absent_isa[i].name);
        if (r < 0)
            return r;
    }
    return 0;
}

static int vm_create_console(struct vm *vm)
{
    const char *s = vm->cfg->serial;
    vm->console = strncmp(s, "file:", 5) == 0 ? chardev_file_new(s + 5)
                                              : chardev_stdio_new(vm_power_line(vm));
    if (!vm->console)
        return -EIO;
    vm->console->lock = &vm->device_lock;
    if (vm->vcon)
        virtio_console_connect(vm->vcon, vm->console);
    return 0;
}

/* The legacy PC devices. Under kvm, the PIC, PIT, IOAPIC and LAPIC live in
 * the kernel; the emu accelerator will add its own. */
static int vm_create_devices(struct vm *vm)
{
    int r;
    /* With a virtio console, the UART is there but talks to nothing. */
    vm->com1 = serial_new(vm->vcon ? NULL : vm->console, vm_irq_line(vm, LAYOUT_IRQ_COM1));
    vm->rtc = rtc_new(vm_irq_line(vm, LAYOUT_IRQ_RTC), guest_memory_low_end(&vm->mem),
                      guest_memory_high_size(&vm->mem));
    vm->i8042 = i8042_new(vm_irq_line(vm, LAYOUT_IRQ_KBD), vm_irq_line(vm, LAYOUT_IRQ_MOUSE),
                          vm_power_line(vm));
    vm->debug_exit = debug_exit_new(vm_power_line(vm));
    vm->acpi_pm = acpi_pm_new(vm_irq_line(vm, LAYOUT_IRQ_SCI), vm_power_line(vm));
    if (!vm->com1 || !vm->rtc || !vm->i8042 || !vm->debug_exit || !vm->acpi_pm)
        return -ENOMEM;
    if ((r = vm_add_pio(vm, LAYOUT_PORT_COM1, 8, &serial_bus_ops, vm->com1, "serial")) < 0 ||
        (r = vm_add_pio(vm, LAYOUT_PORT_RTC, 2, &rtc_bus_ops, vm->rtc, "rtc")) < 0 ||
        (r = vm_add_pio(vm, LAYOUT_PORT_I8042_DATA, 1, &i8042_data_ops, vm->i8042, "i8042")) < 0 ||
        (r = vm_add_pio(vm, LAYOUT_PORT_I8042_CMD, 1, &i8042_cmd_ops, vm->i8042, "i8042")) < 0 ||
        (r = vm_add_pio(vm, LAYOUT_PORT_DEBUG_EXIT, 4, &debug_exit_ops, vm->debug_exit,
                        "debug-exit")) < 0 ||
        (r = vm_add_pio(vm, LAYOUT_PORT_POST, 1, &sink_ops, NULL, "post")) < 0 ||
        (r = vm_add_pio(vm, LAYOUT_PORT_ACPI_PM1A_EVT, 4, &acpi_pm_evt_ops, vm->acpi_pm,
                        "acpi-pm1-evt")) < 0 ||
        (r = vm_add_pio(vm, LAYOUT_PORT_ACPI_PM1A_CNT, 2, &acpi_pm_cnt_ops, vm->acpi_pm,
                        "acpi-pm1-cnt")) < 0 ||
        (r = vm_add_pio(vm, LAYOUT_PORT_ACPI_PM_TMR, 4, &acpi_pm_tmr_ops, vm->acpi_pm,
                        "acpi-pm-tmr")) < 0)
        return r;
    return vm_add_absent_isa(vm);
}

/* --- PCI --- */

/* MSIs from PCI devices (device lock held); the accelerator exists by the
 * time a guest can enable MSI-X. */
static int vm_msi(void *ctx, uint64_t addr, uint32_t data)
{
    struct vm *vm = ctx;
    if (!vm->accel || !vm->accel->msi)
        return -ENODEV;
    return vm->accel->msi(vm, addr, data);
}

int vm_add_virtio(struct vm *vm, const struct virtio_device_ops *ops, void *dev,
                  struct virtio_dev **vdev)
{
    if (vm->firmware_built) {
        /* The MP table would lack its slot: a bug in the board, not input. */
        log_error("%s: virtio devices are added in vm_create_pci(), before the firmware tables",
                  ops->name);
        return -EBUSY;
    }
    if (vm->nvirtio == sizeof(vm->virtio) / sizeof(vm->virtio[0])) {
        log_error("no PCI slot left for %s", ops->name);
        return -ENOSPC;
    }
    struct virtio_pci *vp = virtio_pci_new(ops, dev, &vm->mem);
    if (!vp)
        return -EINVAL;
    int r = pci_host_add_device(vm->pci, virtio_pci_device(vp));
    if (r < 0) {
        virtio_pci_free(vp);
        return r;
    }
    virtio_pci_set_doorbell_ops(vp, &vm_doorbell_ops, vm);
    vm->virtio[vm->nvirtio++] = vp;
    if (vdev)
        *vdev = virtio_pci_vdev(vp);
    return 0;
}

/* One --drive: a virtio-blk disk in the next slot. */
static int vm_add_drive(struct vm *vm, const struct drive_config *d)
{
    struct virtio_blk *blk = virtio_blk_new(d, &vm->device_lock);
    if (!blk)
        return -EIO;
    vm->blk[vm->nblk++] = blk;
    struct virtio_dev *vdev;
    int r = vm_add_virtio(vm, virtio_blk_ops(blk), blk, &vdev);
    if (r < 0)
        return r;
    virtio_blk_attach(blk, vdev);
    return 0;
}

/* --console virtio: a virtio-console in the next slot; its backend is
 * connected once the console exists (vm_create_console). */
static int vm_add_virtio_console(struct vm *vm)
{
    struct virtio_dev *vdev;
    vm->vcon = virtio_console_new();
    if (!vm->vcon)
        return -ENOMEM;
    int r = vm_add_virtio(vm, &virtio_console_ops, vm->vcon, &vdev);
    if (r < 0)
        return r;
    virtio_console_attach(vm->vcon, vdev);
    return 0;
}

/* --net: a virtio-net NIC in the next slot. Its backend's descriptors go
 * on the I/O loop now (the loop exists from vm_build on; its thread starts
 * in vm_run). */
static int vm_add_net(struct vm *vm, const struct net_config *n)
{
    struct net_backend *be = net_backend_new(n, &vm->device_lock, vm->io_loop);
    if (!be || !(vm->net = virtio_net_new(n->mac, be)))
        return -EIO;
    struct virtio_dev *vdev;
    int r = vm_add_virtio(vm, &virtio_net_ops, vm->net, &vdev);
    if (r < 0)
        return r;
    virtio_net_attach(vm->net, vdev);
    return 0;
}

/* The PCI host bridge and the devices behind it, in slot order. They come
 * before the firmware tables, which describe the slots' interrupts. */
static int vm_create_pci(struct vm *vm)
{
    const struct pci_host_config cfg = {
        .pio = &vm->pio,
        .mmio = &vm->mmio,
        .config_port = LAYOUT_PORT_PCI_CONFIG,
        .ecam_base = LAYOUT_PCI_ECAM_BASE,
        .ecam_size = LAYOUT_PCI_ECAM_SIZE,
        .mmio_start = LAYOUT_PCI_MMIO_START,
        .mmio_end = LAYOUT_PCI_MMIO_END,
        .io_start = LAYOUT_PCI_IO_START,
        .io_end = LAYOUT_PCI_IO_END,
        .intx_gsi = layout_pci_intx_gsi,
        .irq = vm_irq_line(vm, 0),
        .msi = vm_msi,
        .msi_ctx = vm,
    };
    vm->pci = pci_host_new(&cfg);
    if (!vm->pci)
        return -ENOMEM;
    /* Virtio devices, each in the next slot: add new ones here. */
    struct virtio_dev *vdev;
    vm->rng = virtio_rng_new();
    if (!vm->rng)
        return -ENOMEM;
    int r = vm_add_virtio(vm, &virtio_rng_ops, vm->rng, &vdev);
    if (r < 0)
        return r;
    virtio_rng_attach(vm->rng, vdev);
    for (unsigned i = 0; i < vm->cfg->ndrives; i++)
        if ((r = vm_add_drive(vm, &vm->cfg->drives[i])) < 0)
            return r;
    if (vm->cfg->console == CONSOLE_VIRTIO && (r = vm_add_virtio_console(vm)) < 0)
        return r;
    if (vm->cfg->net.kind != NET_NONE && (r = vm_add_net(vm, &vm->cfg->net)) < 0)
        return r;
    return 0;
}

static int vm_create_vcpus(struct vm *vm)
{
    for (unsigned i = 0; i < vm->nvcpus; i++) {
        vm->vcpus[i].vm = vm;
        vm->vcpus[i].index = i;
        int r = vm->accel->vcpu_create(vm, i, &vm->vcpus[i].accel);
        if (r < 0)
            return r;
    }
    return 0;
}

static int vm_load_kernel(struct vm *vm)
{
    uint64_t rsdp = 0;
    vm->firmware_built = true;
    int r = mptable_build(&vm->mem, vm->nvcpus, pci_host_intx_slots(vm->pci));
    if (r < 0 || (r = acpi_build(&vm->mem, vm->nvcpus, &rsdp)) < 0 ||
        (r = smbios_build(&vm->mem, vm->nvcpus)) < 0) {
        log_error("cannot build the firmware tables: %s", strerror(-r));
        return r;
    }
    const struct boot_params_in in = {
        .kernel_path = vm->cfg->kernel,
        .cmdline = vm->cfg->append,
        .initrds = vm->cfg->initrds,
        .ninitrds = vm->cfg->ninitrds,
        .ncpus = vm->nvcpus,
        .acpi_rsdp = rsdp,
        .decompress = vm->cfg->kernel_decompress,
    };
    return boot_load(&vm->mem, &in, &vm->entry);
}

int vm_build(struct vm *vm, const struct vm_config *cfg)
{
    memset(vm, 0, sizeof(*vm));
    vm->cfg = cfg;
    vm->nvcpus = cfg->smp;
    pthread_mutex_init(&vm->device_lock, NULL);
    pthread_mutex_init(&vm->exit_lock, NULL);
    pthread_cond_init(&vm->exit_cond, NULL);
    bus_init(&vm->pio, "port", &vm->device_lock);
    bus_init(&vm->mmio, "mmio", &vm->device_lock);

    /* Guest memory is filled before the accelerator starts, so a bad kernel
     * is reported the same way with or without a usable accelerator. */
    int r = guest_memory_init(&vm->mem, cfg->mem_size);
    if (r < 0)
        return r;
    /* Made here, not in vm_run: backends (--net) join it as they are built. */
    vm->io_loop = event_loop_new();
    if (!vm->io_loop)
        return -ENOMEM;
    if ((r = vm_create_pci(vm)) < 0)
        return r;
    if ((r = vm_load_kernel(vm)) < 0 || (r = vm_create_console(vm)) < 0)
        return r;
    vm->accel = vm_select_accel(cfg->accel);
    if (!vm->accel)
        return -ENODEV;
    if ((r = vm->accel->init(vm)) < 0)
        return r;
    if ((r = vm_create_vcpus(vm)) < 0)
        return r;
    if ((r = vm_create_devices(vm)) < 0)
        return r;
    for (unsigned i = 0; i < vm->nvcpus; i++) {
        r = vm->accel->vcpu_reset(vm->vcpus[i].accel, i == 0 ? &vm->entry : NULL);
        if (r < 0) {
            log_error("cannot set the boot state of vCPU %u: %s", i, strerror(-r));
            return r;
        }
    }
    return 0;
}

/* --- running --- */

static void *vcpu_thread(void *arg)
{
    struct vm_vcpu *c = arg;
    c->vm->accel->vcpu_run(c->accel);
    return NULL;
}

static void *io_thread(void *arg)
{
    struct vm *vm = arg;
    event_loop_run(vm->io_loop);
    return NULL;
}

static void vm_stop_threads(struct vm *vm)
{
    for (unsigned i = 0; i < vm->nvcpus; i++)
        if (vm->vcpus[i].thread_started)
            vm->accel->vcpu_kick(vm->vcpus[i].accel);
    for (unsigned i = 0; i < vm->nvcpus; i++) {
        if (vm->vcpus[i].thread_started) {
            pthread_join(vm->vcpus[i].thread, NULL);
            vm->vcpus[i].thread_started = false;
        }
    }
    if (vm->io_started) {
        event_loop_stop(vm->io_loop);
        pthread_join(vm->io_thread, NULL);
        vm->io_started = false;
    }
}

static int vm_start_threads(struct vm *vm)
{
    if (vm->console->ops->attach) {
        int r = vm->console->ops->attach(vm->console, vm->io_loop);
        if (r < 0)
            return r;
    }
    int r = pthread_create(&vm->io_thread, NULL, io_thread, vm);
    if (r)
        return -r;
    vm->io_started = true;
    for (unsigned i = 0; i < vm->nvcpus; i++) {
        r = pthread_create(&vm->vcpus[i].thread, NULL, vcpu_thread, &vm->vcpus[i]);
        if (r)
            return -r;
        vm->vcpus[i].thread_started = true;
    }
    return 0;
}

int vm_run(struct vm *vm)
{
    int r = vm_start_threads(vm);
    if (r < 0) {
        log_error("cannot start the VM's threads: %s", strerror(-r));
        vm_request_exit(vm, 1, "thread start failed");
    }
    pthread_mutex_lock(&vm->exit_lock);
    while (!vm->exit_requested)
        pthread_cond_wait(&vm->exit_cond, &vm->exit_lock);
    pthread_mutex_unlock(&vm->exit_lock);
    vm_stop_threads(vm);
    return vm->exit_status;
}

/* XUNI_STATS: for benchmarks and the tests of the fast paths. */
static void vm_print_stats(struct vm *vm)
{
    if (!getenv("XUNI_STATS") || !vm->nvirtio)
        return;
    uint64_t mmio = 0;
    for (unsigned i = 0; i < vm->nvirtio; i++)
        mmio += virtio_pci_mmio_doorbells(vm->virtio[i]);
    fprintf(stderr, "xuni: stats: virtio doorbells: %llu by ioeventfd, %llu by MMIO\n",
            (unsigned long long)vm_doorbells_rung(vm), (unsigned long long)mmio);
}

void vm_destroy(struct vm *vm)
{
    vm_stop_threads(vm);
    vm_print_stats(vm);
    vm_doorbells_free(vm);
    if (vm->accel && vm->accel->destroy)
        vm->accel->destroy(vm);
    /* Frontends first: the serial detaches from its chardev; the chardev
     * leaves the event loop before the loop goes. */
    serial_free(vm->com1);
    rtc_free(vm->rtc);
    i8042_free(vm->i8042);
    debug_exit_free(vm->debug_exit);
    acpi_pm_free(vm->acpi_pm);
    for (unsigned i = 0; i < vm->nblk; i++)
        virtio_blk_free(vm->blk[i]); /* drains its requests in flight */
    virtio_net_free(vm->net);        /* its backend leaves the I/O loop */
    /* PCI (device models with work in flight are drained before this): the
     * host unmaps every BAR, then the transports go, then the models. */
    pci_host_free(vm->pci);
    for (unsigned i = 0; i < vm->nvirtio; i++)
        virtio_pci_free(vm->virtio[i]);
    virtio_rng_free(vm->rng);
    virtio_console_free(vm->vcon);
    if (vm->console)
        chardev_close(vm->console);
    event_loop_free(vm->io_loop);
    bus_destroy(&vm->pio);
    bus_destroy(&vm->mmio);
    guest_memory_destroy(&vm->mem);
}
