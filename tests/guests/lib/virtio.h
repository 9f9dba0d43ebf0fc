/* PCI configuration mechanism #1 and a minimal virtio 1.x PCI driver for
 * the test guests: find a function, walk its capabilities, bring it up
 * with split virtqueues, post descriptor chains and ring doorbells.
 * Rings live in the guest's identity-mapped RAM, so their addresses are
 * their pointers. */
#ifndef GUEST_LIB_VIRTIO_H
#define GUEST_LIB_VIRTIO_H

#include <stdbool.h>
#include <stdint.h>

/* --- PCI, bus 0 --- */
#define PCI_ECAM_BASE 0xe0000000UL

uint32_t pci_read32(unsigned slot, unsigned reg);
uint8_t pci_read8(unsigned slot, unsigned reg);
void pci_write32(unsigned slot, unsigned reg, uint32_t v);
void pci_write16(unsigned slot, unsigned reg, uint16_t v);
/* The address BAR n (32- or 64-bit memory) holds. */
uint64_t pci_bar(unsigned slot, unsigned n);
/* The first slot whose vendor:device is id (device << 16 | vendor), or 0. */
unsigned pci_find(uint32_t id);

/* --- virtio over PCI --- */
#define VQ_SIZE 8

struct vq_desc {
    uint64_t addr;
    uint32_t len;
    uint16_t flags, next;
};
#define VQ_DESC_NEXT  1
#define VQ_DESC_WRITE 2

struct vq {
    struct vq_desc desc[VQ_SIZE] __attribute__((aligned(16)));
    struct {
        uint16_t flags, idx, ring[VQ_SIZE], used_event;
    } avail __attribute__((aligned(2)));
    volatile struct {
        uint16_t flags, idx;
        struct {
            uint32_t id, len;
        } ring[VQ_SIZE];
        uint16_t avail_event;
    } used __attribute__((aligned(4)));
    uint16_t next; /* requests posted so far */
};

struct vpci {
    unsigned slot;
    uint64_t common, notify, isr, device, msix_table;
    uint32_t notify_mul;
    unsigned msix_cap;
};

/* Turn on memory decoding and bus mastering (MSIs are dropped without
 * it), walk slot's capabilities: the virtio register blocks in BAR 4,
 * MSI-X. False (after a FAIL line) if one is missing. */
bool vpci_probe(struct vpci *v, unsigned slot);
/* Point MSI-X vector n at this CPU's vector. */
void vpci_msix_route(struct vpci *v, unsigned n, unsigned vector);
void vpci_msix_enable(struct vpci *v, bool on);
/* Reset, ACKNOWLEDGE, DRIVER, accept VERSION_1 plus features (bits 0-31),
 * FEATURES_OK, queue 0 = q with MSI-X vector 1 (configuration changes:
 * vector 0), DRIVER_OK. False (after a FAIL line) on a refusal. */
bool vpci_bring_up(struct vpci *v, uint32_t features, struct vq *q);
/* Post the chain that starts at q->desc[head] (the caller filled it) and
 * ring queue 0's doorbell. Returns the request's number. */
unsigned vq_post(struct vpci *v, struct vq *q, uint16_t head);
/* Wait (sti; hlt) until *counter moves; false (FAIL line) on a timeout. */
bool vq_wait(volatile unsigned *counter, unsigned before, const char *what);

#endif
