/* Virtio doorbells by eventfd (see doorbell.h). */
#include "vm/doorbell.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "util/event_loop.h"
#include "util/log.h"
#include "vm/vm.h"

struct vm_doorbell {
    struct vm *vm;
    struct virtio_pci *vp;
    unsigned q;
    int fd;
};

struct vm_doorbells {
    struct vm_doorbell *db[LAYOUT_PCI_SLOTS * VIRTIO_MAX_QUEUES];
    unsigned n;
    uint64_t rung; /* device lock */
};

/* On the I/O thread. */
static void doorbell_rung(void *opaque, int fd, uint32_t events)
{
    (void)events;
    struct vm_doorbell *d = opaque;
    eventfd_t count;
    if (eventfd_read(fd, &count) < 0)
        return; /* nothing pending: another wakeup took it */
    pthread_mutex_lock(&d->vm->device_lock);
    d->vm->doorbells->rung++;
    virtio_pci_doorbell(d->vp, d->q);
    pthread_mutex_unlock(&d->vm->device_lock);
}

static struct vm_doorbell *doorbell_get(struct vm *vm, struct virtio_pci *vp, unsigned q)
{
    if (!vm->doorbells && !(vm->doorbells = calloc(1, sizeof(*vm->doorbells))))
        return NULL;
    struct vm_doorbells *set = vm->doorbells;
    for (unsigned i = 0; i < set->n; i++)
        if (set->db[i]->vp == vp && set->db[i]->q == q)
            return set->db[i];
    if (set->n == sizeof(set->db) / sizeof(set->db[0]))
        return NULL;
    struct vm_doorbell *d = calloc(1, sizeof(*d));
    if (!d)
        return NULL;
    *d = (struct vm_doorbell){.vm = vm, .vp = vp, .q = q};
    d->fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (d->fd < 0 || event_loop_add(vm->io_loop, d->fd, EPOLLIN, doorbell_rung, d) < 0) {
        if (d->fd >= 0)
            close(d->fd);
        free(d);
        return NULL;
    }
    set->db[set->n++] = d;
    return d;
}

static int doorbell_bind(void *ctx, struct virtio_pci *vp, unsigned q, uint64_t gpa)
{
    struct vm *vm = ctx;
    if (!vm->accel || !vm->accel->ioeventfd)
        return -ENOSYS;
    struct vm_doorbell *d = doorbell_get(vm, vp, q);
    if (!d)
        return -ENOMEM;
    int r = vm->accel->ioeventfd(vm, gpa, d->fd, true);
    if (r < 0)
        log_debug("doorbell at %#llx stays MMIO: %s", (unsigned long long)gpa, strerror(-r));
    return r;
}

static void doorbell_unbind(void *ctx, struct virtio_pci *vp, unsigned q, uint64_t gpa)
{
    struct vm *vm = ctx;
    struct vm_doorbell *d = doorbell_get(vm, vp, q);
    if (d)
        vm->accel->ioeventfd(vm, gpa, d->fd, false);
}

const struct virtio_pci_doorbell_ops vm_doorbell_ops = {doorbell_bind, doorbell_unbind};

uint64_t vm_doorbells_rung(struct vm *vm)
{
    return vm->doorbells ? vm->doorbells->rung : 0;
}

void vm_doorbells_free(struct vm *vm)
{
    struct vm_doorbells *set = vm->doorbells;
    if (!set)
        return;
    for (unsigned i = 0; i < set->n; i++) {
        event_loop_del(vm->io_loop, set->db[i]->fd);
        close(set->db[i]->fd);
        free(set->db[i]);
    }
    free(set);
    vm->doorbells = NULL;
}
