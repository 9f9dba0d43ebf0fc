/* The virtio PCI transport, modern interface only (virtio 1.2, section
 * 4.1): one PCI function per virtio device, implementing the transport side
 * of virtio.h.
 *
 * Identity: vendor 0x1af4, device 0x1040 + virtio device id, revision 1,
 * subsystem 0x1af4:0x1100, a class code per device type, interrupt pin
 * INTA.
 *
 * BAR 4 (64-bit memory, 16 KiB) holds the four register blocks, each found
 * through a vendor-specific capability (struct virtio_pci_cap):
 *   0x0000 COMMON_CFG  struct virtio_pci_common_cfg (0x38 bytes)
 *   0x1000 ISR_CFG     one byte: bit 0 queue interrupt, bit 1 config
 *                      change; reading clears it and lowers INTx
 *   0x2000 DEVICE_CFG  the device's configuration space (ops->config_*)
 *   0x3000 NOTIFY_CFG  queue q's doorbell at 0x3000 + 4 * q
 *                      (notify_off_multiplier 4, queue_notify_off = q)
 * and a PCI_CFG capability gives the same registers through configuration
 * space (bar, offset, length, then pci_cfg_data). BAR 1 (4 KiB) holds the
 * MSI-X table (one vector per queue plus one for configuration changes)
 * and its PBA.
 *
 * The common configuration follows the spec's state machine: feature
 * words selected by device/driver_feature_select (the transport offers
 * VERSION_1, EVENT_IDX and INDIRECT_DESC beside the device's bits, and
 * refuses FEATURES_OK for a feature it did not offer or without
 * VERSION_1: the bit then reads back clear); writing status 0 resets the
 * device (ops->reset, every queue and vector, vdev->generation bumped);
 * queue registers are written while the selected queue is disabled, and
 * writing queue_enable 1 checks its rings (virtq_setup: a bad ring sets
 * DEVICE_NEEDS_RESET). An MSI-X vector the table does not have reads back
 * as NO_VECTOR (0xffff). Accesses of a size the field does not have are
 * ignored (reads give 0).
 *
 * A doorbell write calls ops->queue_notify() for an enabled queue once the
 * driver set DRIVER_OK (and not while DEVICE_NEEDS_RESET is set); setting
 * DRIVER_OK also runs every enabled queue once, so buffers queued before
 * it are not missed. Interrupts: with MSI-X enabled, the queue's or the
 * configuration vector (none for NO_VECTOR); otherwise the ISR bit and a
 * level on INTA until the driver reads the ISR.
 *
 * A doorbell is an MMIO write handled on the vCPU thread under the device
 * lock, unless the board took it off that path (virtio_pci_doorbell_ops:
 * under kvm an ioeventfd signals the I/O thread, which calls
 * virtio_pci_doorbell()). The transport binds a queue's doorbell while
 * the queue is enabled, the driver has set DRIVER_OK (and not
 * DEVICE_NEEDS_RESET) and BAR 4 is mapped, at the doorbell's current
 * guest-physical address; it unbinds it when any of that stops being true
 * or the BAR moves.
 */
#ifndef XUNI_HW_VIRTIO_VIRTIO_PCI_H
#define XUNI_HW_VIRTIO_VIRTIO_PCI_H

#include "hw/pci.h"
#include "hw/virtio/virtio.h"

#define VIRTIO_PCI_VENDOR      0x1af4
#define VIRTIO_PCI_DEVICE_BASE 0x1040
#define VIRTIO_PCI_SUBSYSTEM   0x1100

#define VIRTIO_PCI_REGS_BAR  4
#define VIRTIO_PCI_REGS_SIZE 0x4000
#define VIRTIO_PCI_MSIX_BAR  1
#define VIRTIO_PCI_MSIX_SIZE 0x1000
#define VIRTIO_PCI_MSIX_PBA  0x800

#define VIRTIO_PCI_COMMON_OFF 0x0000
#define VIRTIO_PCI_COMMON_LEN 0x38
#define VIRTIO_PCI_ISR_OFF    0x1000
#define VIRTIO_PCI_DEVICE_OFF 0x2000
#define VIRTIO_PCI_DEVICE_MAX 0x1000
#define VIRTIO_PCI_NOTIFY_OFF 0x3000
#define VIRTIO_PCI_NOTIFY_MUL 4

/* Capability types (cfg_type). */
#define VIRTIO_PCI_CAP_COMMON_CFG 1
#define VIRTIO_PCI_CAP_NOTIFY_CFG 2
#define VIRTIO_PCI_CAP_ISR_CFG    3
#define VIRTIO_PCI_CAP_DEVICE_CFG 4
#define VIRTIO_PCI_CAP_PCI_CFG    5

/* struct virtio_pci_common_cfg offsets. */
#define VIRTIO_PCI_COMMON_DFSELECT 0x00
#define VIRTIO_PCI_COMMON_DF       0x04
#define VIRTIO_PCI_COMMON_GFSELECT 0x08
#define VIRTIO_PCI_COMMON_GF       0x0c
#define VIRTIO_PCI_COMMON_MSIX     0x10
#define VIRTIO_PCI_COMMON_NUMQ     0x12
#define VIRTIO_PCI_COMMON_STATUS   0x14
#define VIRTIO_PCI_COMMON_CFGGEN   0x15
#define VIRTIO_PCI_COMMON_Q_SELECT 0x16
#define VIRTIO_PCI_COMMON_Q_SIZE   0x18
#define VIRTIO_PCI_COMMON_Q_MSIX   0x1a
#define VIRTIO_PCI_COMMON_Q_ENABLE 0x1c
#define VIRTIO_PCI_COMMON_Q_NOFF   0x1e
#define VIRTIO_PCI_COMMON_Q_DESC   0x20
#define VIRTIO_PCI_COMMON_Q_DRIVER 0x28
#define VIRTIO_PCI_COMMON_Q_DEVICE 0x30

#define VIRTIO_PCI_ISR_QUEUE  1
#define VIRTIO_PCI_ISR_CONFIG 2
#define VIRTIO_MSI_NO_VECTOR  0xffff

struct virtio_pci;

/* The transport for one device model (ops, dev) over guest memory mem;
 * plug virtio_pci_device() into the PCI host afterwards. NULL (logged) if
 * ops describes something the transport cannot present. */
struct virtio_pci *virtio_pci_new(const struct virtio_device_ops *ops, void *dev,
                                  const struct guest_memory *mem);
/* The device must be unplugged (its host freed) or never plugged. */
void virtio_pci_free(struct virtio_pci *vp);

struct pci_device *virtio_pci_device(struct virtio_pci *vp);
struct virtio_dev *virtio_pci_vdev(struct virtio_pci *vp);

/* The board's way of taking doorbells off the vCPU thread (device lock
 * held). bind: writes to gpa now ring queue q elsewhere (0), or not
 * (negative errno: the MMIO path stays). unbind: gpa is MMIO again. */
struct virtio_pci_doorbell_ops {
    int (*bind)(void *ctx, struct virtio_pci *vp, unsigned q, uint64_t gpa);
    void (*unbind)(void *ctx, struct virtio_pci *vp, unsigned q, uint64_t gpa);
};
void virtio_pci_set_doorbell_ops(struct virtio_pci *vp, const struct virtio_pci_doorbell_ops *ops,
                                 void *ctx);
/* Queue q's doorbell rang (device lock held): run the queue if it is live. */
void virtio_pci_doorbell(struct virtio_pci *vp, unsigned q);
/* How many doorbells came as MMIO writes (for XUNI_STATS). */
uint64_t virtio_pci_mmio_doorbells(const struct virtio_pci *vp);

#endif
