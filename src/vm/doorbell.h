/* Virtio doorbells off the vCPU thread: the board's side of
 * virtio_pci_doorbell_ops.
 *
 * Under kvm a queue's doorbell gets an eventfd that KVM_IOEVENTFD signals
 * when the guest writes the doorbell address, so the vCPU does not leave
 * the kernel: the I/O thread reads the eventfd and runs the queue under
 * the device lock. Where the accelerator has no ioeventfd (emu, whose
 * doorbell writes are direct calls already) binding fails and doorbells
 * stay MMIO writes.
 *
 * An eventfd, once made for a (device, queue), stays in the I/O loop
 * until vm_doorbells_free(); unbinding only detaches it from the address,
 * so a signal already in flight finds its doorbell still there (the
 * transport ignores a queue that is no longer live).
 */
#ifndef XUNI_VM_DOORBELL_H
#define XUNI_VM_DOORBELL_H

#include <stdint.h>

#include "hw/virtio/virtio_pci.h"

struct vm;

/* ctx: the struct vm. */
extern const struct virtio_pci_doorbell_ops vm_doorbell_ops;

/* Doorbells rung through eventfds so far (for XUNI_STATS). */
uint64_t vm_doorbells_rung(struct vm *vm);
/* With the I/O thread stopped. */
void vm_doorbells_free(struct vm *vm);

#endif
