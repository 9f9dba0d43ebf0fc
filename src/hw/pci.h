/* PCI: a host bridge on bus 0 and the devices behind it (PCI Local Bus
 * 3.0, PCI Express 4.0 section 7.2.2 for ECAM).
 *
 * The host (struct pci_host) answers configuration cycles two ways, both
 * reaching the same 256-byte type-0 headers:
 *   - mechanism #1: a dword address register at port+0 (bit 31 enable, bus
 *     23:16, device 15:11, function 10:8, register 7:2) and the data window
 *     at port+4..port+7 (byte, word and dword accesses);
 *   - ECAM: MMIO, bus << 20 | device << 15 | function << 12 | register.
 * Only function 0 of each slot exists; absent slots, functions and buses
 * read all-ones. The host bridge itself sits in slot 0.
 *
 * A device (struct pci_device, embedded in the device model) sets its
 * identity, BARs and capabilities with pci_device_init(),
 * pci_device_add_bar() and pci_device_add_cap() and is then plugged into
 * the next free slot with pci_host_add_device(). The host, acting as the
 * firmware, places its BARs (naturally aligned, in the windows the board
 * gave it), enables memory and I/O decoding and maps the BARs on the
 * board's buses, so a guest can use them as found. A guest that moves a
 * BAR or turns decoding off moves or unmaps it on the bus; a BAR outside
 * the host's windows, at address 0, or overlapping something else stays
 * unmapped (logged once per device).
 *
 * Configuration writes go through a write mask (read-only bits keep their
 * value) and a write-1-to-clear mask (the status register's error bits).
 * BAR sizing works as on hardware: write all-ones, read the size mask back.
 * A device that needs to see its configuration space (MSI-X control, the
 * virtio PCI_CFG window) sets the config_read/config_write hooks.
 *
 * Interrupts: INTx is level-triggered; pci_device_set_intx() drives the
 * device's pin (INTA), honouring the command register's INTx-disable bit
 * and reflecting the level in the status register. The host wires pin
 * INTA of slot s to GSI intx_gsi(s, 0) and ORs the devices sharing a GSI.
 * MSI writes (pci_msix.h) go out through pci_device_msi(), which drops them
 * while the device is not a bus master.
 *
 * Everything runs with the board's device lock held.
 */
#ifndef XUNI_HW_PCI_H
#define XUNI_HW_PCI_H

#include <stdbool.h>
#include <stdint.h>

#include "hw/irq.h"
#include "vm/bus.h"

#define PCI_CONFIG_SIZE 256
#define PCI_NUM_BARS    6
#define PCI_MAX_SLOTS   32

/* Type-0 header registers. */
#define PCI_VENDOR_ID           0x00
#define PCI_DEVICE_ID           0x02
#define PCI_COMMAND             0x04
#define PCI_STATUS              0x06
#define PCI_REVISION_ID         0x08
#define PCI_CLASS_PROG          0x09
#define PCI_HEADER_TYPE         0x0e
#define PCI_BAR0                0x10
#define PCI_SUBSYSTEM_VENDOR_ID 0x2c
#define PCI_SUBSYSTEM_ID        0x2e
#define PCI_CAPABILITY_LIST     0x34
#define PCI_INTERRUPT_LINE      0x3c
#define PCI_INTERRUPT_PIN       0x3d
#define PCI_CAP_START           0x40 /* first byte after the header */

#define PCI_COMMAND_IO           0x0001
#define PCI_COMMAND_MEMORY       0x0002
#define PCI_COMMAND_MASTER       0x0004
#define PCI_COMMAND_SERR         0x0100
#define PCI_COMMAND_INTX_DISABLE 0x0400
#define PCI_STATUS_INTERRUPT     0x0008
#define PCI_STATUS_CAP_LIST      0x0010
#define PCI_STATUS_ERRORS        0xf900 /* the write-1-to-clear error bits */

#define PCI_BAR_SPACE_IO 0x01
#define PCI_BAR_MEM_64   0x04
#define PCI_BAR_MEM_PREF 0x08

#define PCI_CAP_ID_MSIX   0x11
#define PCI_CAP_ID_VENDOR 0x09

enum pci_bar_type { PCI_BAR_NONE, PCI_BAR_IO, PCI_BAR_MEM32, PCI_BAR_MEM64 };

struct pci_bar {
    enum pci_bar_type type;
    uint64_t size; /* a power of two */
    const struct bus_ops *ops;
    void *opaque;
    bool mapped;
    uint64_t mapped_at;
};

struct pci_host;
struct pci_msix;

/* What a device is: pci_device_init() writes it into the header. */
struct pci_id {
    uint16_t vendor, device;
    uint8_t revision;
    uint32_t class_code; /* base class 23:16, subclass 15:8, prog-if 7:0 */
    uint16_t subsystem_vendor, subsystem;
    bool intx; /* uses interrupt pin INTA */
};

struct pci_device {
    const char *name; /* for messages and bus ranges */
    uint8_t config[PCI_CONFIG_SIZE];
    uint8_t wmask[PCI_CONFIG_SIZE];   /* bits the guest may write */
    uint8_t w1cmask[PCI_CONFIG_SIZE]; /* bits a written 1 clears */
    struct pci_bar bar[PCI_NUM_BARS];
    uint16_t cap_end; /* where the next capability goes */
    uint8_t cap_last; /* the last capability (its next pointer is at +1), 0 if none */

    /* Optional hooks of the device model (opaque is theirs): config_read
     * may replace the value read from config[]; config_write runs after
     * the generic write of [off, off+size). */
    uint32_t (*config_read)(struct pci_device *d, unsigned off, unsigned size, uint32_t value);
    void (*config_write)(struct pci_device *d, unsigned off, unsigned size, uint32_t value);
    void *opaque;
    struct pci_msix *msix; /* set by pci_msix_init() */

    /* Set by the host when plugged in. */
    struct pci_host *host;
    unsigned slot;
    unsigned gsi;       /* where INTA goes */
    bool intx_level;    /* the device's own INTx level, before INTx-disable */
    bool intx_out;      /* what the host sees */
    uint8_t map_warned; /* BARs whose failed mapping was logged */
};

/* The host's wiring, all chosen by the board (layout.h). */
struct pci_host_config {
    struct bus *pio, *mmio;
    uint16_t config_port;          /* mechanism #1: 8 ports */
    uint64_t ecam_base, ecam_size; /* ECAM: 1 MiB per bus */
    uint64_t mmio_start, mmio_end; /* memory BAR window */
    uint32_t io_start, io_end;     /* where I/O BARs are placed */
    unsigned (*intx_gsi)(unsigned slot, unsigned pin);
    struct irq_line irq; /* .gsi is replaced per INTx route */
    /* MSI: a 32-bit write of data to addr (may be NULL: MSI dropped). */
    int (*msi)(void *ctx, uint64_t addr, uint32_t data);
    void *msi_ctx;
};

/* --- devices --- */

void pci_device_init(struct pci_device *d, const char *name, const struct pci_id *id);
/* BAR n (a 64-bit BAR also takes n+1) of size bytes (a power of two; at
 * least 16 for memory, 4 for I/O; memory BARs are rounded up to 4 KiB so
 * no two share a page). 0 or -EINVAL. */
int pci_device_add_bar(struct pci_device *d, unsigned n, enum pci_bar_type type, uint64_t size,
                       const struct bus_ops *ops, void *opaque);
/* Append a capability of len bytes (id and next pointer included) to the
 * list: its config offset, or -ENOSPC. */
int pci_device_add_cap(struct pci_device *d, uint8_t id, unsigned len);

/* Configuration space accesses (size 1, 2 or 4, not crossing a dword):
 * what the host's mechanisms call; tests call them directly. */
uint32_t pci_config_read(struct pci_device *d, unsigned off, unsigned size);
void pci_config_write(struct pci_device *d, unsigned off, unsigned size, uint32_t value);

/* Drive INTA (level 1 = asserted). */
void pci_device_set_intx(struct pci_device *d, bool level);
/* Send an MSI as this device: 0, -EPERM if it is not a bus master (the
 * write is dropped), or the host's error. */
int pci_device_msi(struct pci_device *d, uint64_t addr, uint32_t data);

/* The guest-physical / port address a BAR is mapped at, or 0. */
uint64_t pci_bar_address(const struct pci_device *d, unsigned n);

static inline uint16_t pci_config_get16(const struct pci_device *d, unsigned off)
{
    return (uint16_t)(d->config[off] | d->config[off + 1] << 8);
}

/* --- the host --- */

/* Registers the configuration mechanisms on the config's buses; NULL
 * (logged) on failure. */
struct pci_host *pci_host_new(const struct pci_host_config *cfg);
/* Unmaps every BAR and the host's own ranges (devices are the caller's). */
void pci_host_free(struct pci_host *host);
/* Plug d into the next free slot: places and maps its BARs, wires INTx.
 * The slot number, or -ENOSPC (no slot, or no room in a window). */
int pci_host_add_device(struct pci_host *host, struct pci_device *d);
/* Bit s set: slot s holds a device (the host bridge included), or, for
 * pci_host_intx_slots(), a device with an interrupt pin. */
uint32_t pci_host_slots(const struct pci_host *host);
uint32_t pci_host_intx_slots(const struct pci_host *host);
struct pci_device *pci_host_device(const struct pci_host *host, unsigned slot);

/* Host bridge identity (Intel Q35 MCH, as QEMU's q35 machine). */
#define PCI_HOST_VENDOR 0x8086
#define PCI_HOST_DEVICE 0x29c0

#endif
