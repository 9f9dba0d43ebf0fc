/* MSI-X for PCI devices (PCI Local Bus 3.0, section 6.8.2).
 *
 * pci_msix_init() adds the MSI-X capability to a device: message control
 * (table size, function mask bit 14, enable bit 15), and the offsets of
 * the vector table and the pending bit array (PBA) inside one of the
 * device's memory BARs. The BAR itself is the device's: map it with
 * pci_msix_bar_ops (opaque = the struct pci_msix) when it holds only the
 * table and the PBA.
 *
 * The table: 16 bytes per vector (message address low/high, data, vector
 * control whose bit 0 masks the vector), read and written with naturally
 * aligned dword or qword accesses; entries start masked. The PBA is
 * read-only.
 *
 * pci_msix_notify(v) sends vector v's message through pci_device_msi(), or,
 * while the vector or the whole function is masked, sets its pending bit;
 * unmasking (the vector's mask bit, the function mask, or enabling MSI-X)
 * sends what is pending and clears the bit. While MSI-X is disabled the
 * device signals through INTx instead: pci_msix_notify() returns false.
 *
 * Device lock held.
 */
#ifndef XUNI_HW_PCI_MSIX_H
#define XUNI_HW_PCI_MSIX_H

#include <stdbool.h>
#include <stdint.h>

#include "hw/pci.h"
#include "vm/bus.h"

#define PCI_MSIX_MAX_VECTORS 64
#define PCI_MSIX_ENTRY_SIZE  16
#define PCI_MSIX_CAP_LEN     12

#define PCI_MSIX_FLAGS_MASKALL 0x4000
#define PCI_MSIX_FLAGS_ENABLE  0x8000
#define PCI_MSIX_ENTRY_MASKED  1

struct pci_msix_entry {
    uint32_t addr_lo, addr_hi, data, ctrl;
};

struct pci_msix {
    struct pci_device *dev;
    unsigned nvectors;
    unsigned cap; /* configuration space offset of the capability */
    uint32_t table_off, pba_off;
    struct pci_msix_entry table[PCI_MSIX_MAX_VECTORS];
    uint64_t pba; /* bit v: vector v pending */
};

/* nvectors (1..PCI_MSIX_MAX_VECTORS) with the table at table_off and the
 * PBA at pba_off (both 8-byte aligned) in BAR bar. 0, -EINVAL, -ENOSPC. */
int pci_msix_init(struct pci_msix *m, struct pci_device *d, unsigned nvectors, unsigned bar,
                  uint32_t table_off, uint32_t pba_off);

bool pci_msix_enabled(const struct pci_msix *m);

/* Signal vector v: true if MSI-X took it (sent, pending, or dropped for a
 * bad vector number); false while MSI-X is disabled. */
bool pci_msix_notify(struct pci_msix *m, unsigned v);

/* pci.c calls this after every configuration write to the device. */
void pci_msix_config_written(struct pci_msix *m, unsigned off, unsigned size);

/* The table and the PBA; offsets relative to the BAR. */
uint64_t pci_msix_bar_read(void *opaque, uint64_t off, unsigned size);
void pci_msix_bar_write(void *opaque, uint64_t off, unsigned size, uint64_t value);
extern const struct bus_ops pci_msix_bar_ops;

#endif
