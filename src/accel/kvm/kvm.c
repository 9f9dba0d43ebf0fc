/* The kvm accelerator: the kernel's KVM runs the CPUs and memory; xuni
 * answers the I/O exits. This file holds the VM-wide part: capability checks,
 * memslots, the in-kernel irqchip and PIT, interrupt routing. kvm_vcpu.c
 * holds the per-vCPU part, kvm_exit.c the exit handling, kvm_irqfd.c the
 * ioeventfd and irqfd fast paths. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "accel/kvm/kvm_internal.h"
#include "util/log.h"
#include "vm/layout.h"
#include "vm/vm.h"

/* XUNI_KVM_DEVICE overrides the path, so tests can show the error for a
 * host without KVM on a host with it. */
const char *kvm_device_path(void)
{
    const char *dev = getenv("XUNI_KVM_DEVICE");
    return dev && *dev ? dev : "/dev/kvm";
}

struct kvm_cap_need {
    int cap;
    const char *name;
    const char *why;
};

static const struct kvm_cap_need kvm_caps_needed[] = {
    {KVM_CAP_USER_MEMORY, "KVM_CAP_USER_MEMORY", "guest RAM"},
    {KVM_CAP_SET_TSS_ADDR, "KVM_CAP_SET_TSS_ADDR", "the TSS region"},
    {KVM_CAP_SET_IDENTITY_MAP_ADDR, "KVM_CAP_SET_IDENTITY_MAP_ADDR", "the identity map"},
    {KVM_CAP_IRQCHIP, "KVM_CAP_IRQCHIP", "the in-kernel PIC, IOAPIC and LAPIC"},
    {KVM_CAP_IRQ_ROUTING, "KVM_CAP_IRQ_ROUTING", "interrupt routing"},
    {KVM_CAP_PIT2, "KVM_CAP_PIT2", "the in-kernel PIT"},
    {KVM_CAP_EXT_CPUID, "KVM_CAP_EXT_CPUID", "CPUID setup"},
    {KVM_CAP_IMMEDIATE_EXIT, "KVM_CAP_IMMEDIATE_EXIT", "stopping vCPUs"},
};

static int kvm_open(char *why, size_t len)
{
    int fd = open(kvm_device_path(), O_RDWR | O_CLOEXEC);
    if (fd < 0) {
        snprintf(why, len, "cannot open %s: %s", kvm_device_path(), strerror(errno));
        return -1;
    }
    int version = ioctl(fd, KVM_GET_API_VERSION, 0);
    if (version != KVM_API_VERSION) {
        snprintf(why, len, "%s speaks KVM API version %d, xuni needs %d", kvm_device_path(),
                 version, KVM_API_VERSION);
        close(fd);
        return -1;
    }
    for (size_t i = 0; i < sizeof(kvm_caps_needed) / sizeof(kvm_caps_needed[0]); i++) {
        if (ioctl(fd, KVM_CHECK_EXTENSION, kvm_caps_needed[i].cap) <= 0) {
            snprintf(why, len, "KVM lacks %s (needed for %s)", kvm_caps_needed[i].name,
                     kvm_caps_needed[i].why);
            close(fd);
            return -1;
        }
    }
    return fd;
}

static bool kvm_available(char *why, size_t len)
{
    int fd = kvm_open(why, len);
    if (fd < 0)
        return false;
    close(fd);
    return true;
}

static void kvm_kick_handler(int sig)
{
    (void)sig; /* only here to interrupt KVM_RUN with EINTR */
}

/* Route GSIs as a PC with an IOAPIC: ISA IRQ 0 (the PIT) reaches IOAPIC pin 2
 * as the firmware tables' interrupt source override says; IRQs 1-15 reach
 * the PIC and the IOAPIC pin of the same number; GSIs 16-23 only the IOAPIC. */
static int kvm_setup_routing(struct kvm_state *k)
{
    size_t n = 15 + LAYOUT_IOAPIC_PINS;
    struct kvm_irq_routing *rt = calloc(1, sizeof(*rt) + n * sizeof(rt->entries[0]));
    if (!rt)
        return -ENOMEM;
    unsigned i = 0;
    for (unsigned irq = 0; irq < 16; irq++) {
        if (irq == 2)
            continue; /* the cascade */
        rt->entries[i++] = (struct kvm_irq_routing_entry){
            .gsi = irq,
            .type = KVM_IRQ_ROUTING_IRQCHIP,
            .u.irqchip = {irq < 8 ? KVM_IRQCHIP_PIC_MASTER : KVM_IRQCHIP_PIC_SLAVE, irq % 8},
        };
    }
    for (unsigned gsi = 0; gsi < LAYOUT_IOAPIC_PINS; gsi++) {
        if (gsi == LAYOUT_GSI_PIT)
            continue; /* pin 2 is fed by IRQ 0 */
        rt->entries[i++] = (struct kvm_irq_routing_entry){
            .gsi = gsi,
            .type = KVM_IRQ_ROUTING_IRQCHIP,
            .u.irqchip = {KVM_IRQCHIP_IOAPIC, gsi == LAYOUT_IRQ_PIT ? LAYOUT_GSI_PIT : gsi},
        };
    }
    rt->nr = i;
    k->base_routes = rt; /* kept: MSI routes are added to it (kvm_irqfd.c) */
    return ioctl(k->vm_fd, KVM_SET_GSI_ROUTING, rt) < 0 ? -errno : 0;
}

static int kvm_fail(const char *what)
{
    int err = errno;
    log_error("kvm: %s: %s", what, strerror(err));
    return -err;
}

static int kvm_setup_vm(struct vm *vm, struct kvm_state *k)
{
    if (ioctl(k->vm_fd, KVM_SET_IDENTITY_MAP_ADDR, &(uint64_t){LAYOUT_KVM_IDENT_MAP}) < 0)
        return kvm_fail("KVM_SET_IDENTITY_MAP_ADDR");
    if (ioctl(k->vm_fd, KVM_SET_TSS_ADDR, (unsigned long)LAYOUT_KVM_TSS) < 0)
        return kvm_fail("KVM_SET_TSS_ADDR");
    if (ioctl(k->vm_fd, KVM_CREATE_IRQCHIP, 0) < 0)
        return kvm_fail("KVM_CREATE_IRQCHIP");
    struct kvm_pit_config pit = {.flags = KVM_PIT_SPEAKER_DUMMY};
    if (ioctl(k->vm_fd, KVM_CREATE_PIT2, &pit) < 0)
        return kvm_fail("KVM_CREATE_PIT2");
    int r = kvm_setup_routing(k);
    if (r < 0) {
        errno = -r;
        return kvm_fail("KVM_SET_GSI_ROUTING");
    }
    for (unsigned i = 0; i < vm->mem.nregions; i++) {
        const struct guest_ram_region *reg = &vm->mem.regions[i];
        struct kvm_userspace_memory_region slot = {
            .slot = i,
            .guest_phys_addr = reg->gpa,
            .memory_size = reg->size,
            .userspace_addr = (uintptr_t)reg->host,
        };
        if (ioctl(k->vm_fd, KVM_SET_USER_MEMORY_REGION, &slot) < 0)
            return kvm_fail("KVM_SET_USER_MEMORY_REGION");
    }
    return 0;
}

static int kvm_load_cpuid(struct kvm_state *k)
{
    for (int n = 64; n <= 4096; n *= 2) {
        struct kvm_cpuid2 *c = calloc(1, sizeof(*c) + n * sizeof(c->entries[0]));
        if (!c)
            return -ENOMEM;
        c->nent = n;
        if (ioctl(k->kvm_fd, KVM_GET_SUPPORTED_CPUID, c) == 0) {
            k->cpuid = c;
            return 0;
        }
        free(c);
        if (errno != E2BIG)
            return kvm_fail("KVM_GET_SUPPORTED_CPUID");
    }
    return kvm_fail("KVM_GET_SUPPORTED_CPUID");
}

static void kvm_destroy(struct vm *vm)
{
    struct kvm_state *k = vm->accel_state;
    if (!k)
        return;
    for (unsigned i = 0; i < vm->nvcpus; i++) {
        struct accel_vcpu *v = vm->vcpus[i].accel;
        if (!v)
            continue;
        munmap(v->run, k->run_size);
        close(v->fd);
        free(v);
        vm->vcpus[i].accel = NULL;
    }
    kvm_fast_paths_destroy(k);
    if (k->vm_fd >= 0)
        close(k->vm_fd);
    if (k->kvm_fd >= 0)
        close(k->kvm_fd);
    free(k->cpuid);
    free(k->base_routes);
    free(k);
    vm->accel_state = NULL;
}

static int kvm_init(struct vm *vm)
{
    char why[256];
    struct kvm_state *k = calloc(1, sizeof(*k));
    if (!k)
        return -ENOMEM;
    k->vm_fd = -1;
    vm->accel_state = k;
    k->kvm_fd = kvm_open(why, sizeof(why));
    if (k->kvm_fd < 0) {
        log_error("kvm accelerator unavailable: %s", why);
        kvm_destroy(vm);
        return -ENODEV;
    }
    int r;
    long run_size = ioctl(k->kvm_fd, KVM_GET_VCPU_MMAP_SIZE, 0);
    k->vm_fd = ioctl(k->kvm_fd, KVM_CREATE_VM, 0);
    if (run_size <= 0 || k->vm_fd < 0) {
        r = kvm_fail(run_size <= 0 ? "KVM_GET_VCPU_MMAP_SIZE" : "KVM_CREATE_VM");
        goto fail;
    }
    k->run_size = run_size;
    if ((r = kvm_setup_vm(vm, k)) < 0 || (r = kvm_load_cpuid(k)) < 0 ||
        (r = kvm_fast_paths_init(k)) < 0)
        goto fail;
    struct sigaction sa = {.sa_handler = kvm_kick_handler};
    sigemptyset(&sa.sa_mask);
    sigaction(SIGUSR1, &sa, NULL);
    return 0;
fail:
    kvm_destroy(vm);
    return r;
}

static void kvm_set_irq(struct vm *vm, unsigned gsi, int level)
{
    struct kvm_state *k = vm->accel_state;
    struct kvm_irq_level irq = {.irq = gsi, .level = level};
    if (ioctl(k->vm_fd, KVM_IRQ_LINE, &irq) < 0)
        log_warn("kvm: KVM_IRQ_LINE gsi %u: %s", gsi, strerror(errno));
}

const struct accel_ops accel_kvm_ops = {
    .name = "kvm",
    .available = kvm_available,
    .fast = kvm_runs_at_hardware_speed,
    .init = kvm_init,
    .vcpu_create = kvm_vcpu_create,
    .vcpu_reset = kvm_vcpu_reset,
    .vcpu_run = kvm_vcpu_run,
    .vcpu_kick = kvm_vcpu_kick,
    .vcpu_get_regs = kvm_vcpu_get_regs,
    .set_irq = kvm_set_irq,
    .msi = kvm_msi,
    .ioeventfd = kvm_ioeventfd,
    .destroy = kvm_destroy,
};
