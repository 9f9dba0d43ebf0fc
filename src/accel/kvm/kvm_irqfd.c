/* The kvm accelerator's fast paths: ioeventfd for doorbells and irqfd for
 * MSIs.
 *
 * MSIs: every message (address, data) a device sends gets a GSI routed to
 * it (KVM_IRQ_ROUTING_MSI) and an eventfd bound to that GSI (KVM_IRQFD), so
 * sending it again is one eventfd write that KVM turns into the interrupt
 * without an ioctl on the VM. The cache is keyed by the message itself, so
 * it never goes stale when a guest reprograms a vector: the new message
 * simply takes a route of its own (the oldest is recycled once all
 * KVM_MSI_ROUTES are taken). Masking stays with the device model (pci_msix),
 * which sends only unmasked vectors. Without irqfd support, or if a route
 * cannot be set up, KVM_SIGNAL_MSI delivers the message.
 *
 * All of this runs with the board's device lock held (accel.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "accel/kvm/kvm_internal.h"
#include "util/log.h"
#include "vm/layout.h"
#include "vm/vm.h"

/* MSI routes start above the IOAPIC's pins. */
#define KVM_MSI_GSI_BASE LAYOUT_IOAPIC_PINS

int kvm_fast_paths_init(struct kvm_state *k)
{
    k->has_ioeventfd = ioctl(k->vm_fd, KVM_CHECK_EXTENSION, KVM_CAP_IOEVENTFD) > 0;
    k->ioeventfd_any_length =
        ioctl(k->vm_fd, KVM_CHECK_EXTENSION, KVM_CAP_IOEVENTFD_ANY_LENGTH) > 0;
    k->has_irqfd = ioctl(k->vm_fd, KVM_CHECK_EXTENSION, KVM_CAP_IRQFD) > 0 &&
                   ioctl(k->vm_fd, KVM_CHECK_EXTENSION, KVM_CAP_IRQ_ROUTING) >=
                       KVM_MSI_GSI_BASE + KVM_MSI_ROUTES;
    for (unsigned i = 0; i < KVM_MSI_ROUTES; i++)
        k->msi_routes[i].fd = -1;
    k->fast_paths = true;
    return 0;
}

void kvm_fast_paths_destroy(struct kvm_state *k)
{
    if (!k->fast_paths)
        return;
    for (unsigned i = 0; i < KVM_MSI_ROUTES; i++)
        if (k->msi_routes[i].fd >= 0)
            close(k->msi_routes[i].fd);
    if (getenv("XUNI_STATS"))
        fprintf(stderr, "xuni: stats: MSIs: %llu by irqfd, %llu by KVM_SIGNAL_MSI\n",
                (unsigned long long)k->msi_by_irqfd, (unsigned long long)k->msi_by_ioctl);
}

int kvm_ioeventfd(struct vm *vm, uint64_t gpa, int fd, bool assign)
{
    struct kvm_state *k = vm->accel_state;
    if (!k->has_ioeventfd)
        return -ENOSYS;
    /* Linux's virtio driver rings with 16-bit writes; any length where KVM
     * can match it, else the driver's width (others exit as MMIO). */
    struct kvm_ioeventfd io = {
        .addr = gpa,
        .len = k->ioeventfd_any_length ? 0 : 2,
        .fd = fd,
        .flags = assign ? 0 : KVM_IOEVENTFD_FLAG_DEASSIGN,
    };
    return ioctl(k->vm_fd, KVM_IOEVENTFD, &io) < 0 ? -errno : 0;
}

/* The whole routing table: the IOAPIC/PIC routes and the MSI routes. */
static int kvm_commit_routes(struct kvm_state *k)
{
    size_t n = k->base_routes->nr + KVM_MSI_ROUTES;
    struct kvm_irq_routing *rt = calloc(1, sizeof(*rt) + n * sizeof(rt->entries[0]));
    if (!rt)
        return -ENOMEM;
    memcpy(rt->entries, k->base_routes->entries, k->base_routes->nr * sizeof(rt->entries[0]));
    unsigned nr = k->base_routes->nr;
    for (unsigned i = 0; i < KVM_MSI_ROUTES; i++) {
        const struct kvm_msi_route *m = &k->msi_routes[i];
        if (m->fd < 0)
            continue;
        rt->entries[nr++] = (struct kvm_irq_routing_entry){
            .gsi = KVM_MSI_GSI_BASE + i,
            .type = KVM_IRQ_ROUTING_MSI,
            .u.msi = {.address_lo = (uint32_t)m->addr,
                      .address_hi = (uint32_t)(m->addr >> 32),
                      .data = m->data},
        };
    }
    rt->nr = nr;
    int r = ioctl(k->vm_fd, KVM_SET_GSI_ROUTING, rt) < 0 ? -errno : 0;
    free(rt);
    return r;
}

static void kvm_route_release(struct kvm_state *k, unsigned i)
{
    struct kvm_msi_route *m = &k->msi_routes[i];
    if (m->fd < 0)
        return;
    struct kvm_irqfd irqfd = {
        .fd = (uint32_t)m->fd, .gsi = KVM_MSI_GSI_BASE + i, .flags = KVM_IRQFD_FLAG_DEASSIGN};
    ioctl(k->vm_fd, KVM_IRQFD, &irqfd);
    close(m->fd);
    m->fd = -1;
}

/* A route for (addr, data): a free slot or the oldest one. */
static struct kvm_msi_route *kvm_route_new(struct kvm_state *k, uint64_t addr, uint32_t data)
{
    unsigned i = k->msi_next++ % KVM_MSI_ROUTES;
    kvm_route_release(k, i);
    struct kvm_msi_route *m = &k->msi_routes[i];
    int fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (fd < 0)
        return NULL;
    m->addr = addr;
    m->data = data;
    m->fd = fd;
    struct kvm_irqfd irqfd = {.fd = (uint32_t)fd, .gsi = KVM_MSI_GSI_BASE + i};
    int r = kvm_commit_routes(k);
    if (r == 0 && ioctl(k->vm_fd, KVM_IRQFD, &irqfd) < 0)
        r = -errno;
    if (r < 0) {
        close(fd);
        m->fd = -1;
        log_debug("kvm: no irqfd route for MSI %#llx/%#x: %s", (unsigned long long)addr, data,
                  strerror(-r));
        return NULL;
    }
    return m;
}

static struct kvm_msi_route *kvm_route_find(struct kvm_state *k, uint64_t addr, uint32_t data)
{
    for (unsigned i = 0; i < KVM_MSI_ROUTES; i++) {
        struct kvm_msi_route *m = &k->msi_routes[i];
        if (m->fd >= 0 && m->addr == addr && m->data == data)
            return m;
    }
    return NULL;
}

int kvm_msi(struct vm *vm, uint64_t addr, uint32_t data)
{
    struct kvm_state *k = vm->accel_state;
    if (k->has_irqfd) {
        struct kvm_msi_route *m = kvm_route_find(k, addr, data);
        if (!m)
            m = kvm_route_new(k, addr, data);
        if (m && eventfd_write(m->fd, 1) == 0) {
            k->msi_by_irqfd++;
            return 0;
        }
    }
    struct kvm_msi msi = {.address_lo = (uint32_t)addr, .address_hi = addr >> 32, .data = data};
    k->msi_by_ioctl++;
    return ioctl(k->vm_fd, KVM_SIGNAL_MSI, &msi) < 0 ? -errno : 0;
}
