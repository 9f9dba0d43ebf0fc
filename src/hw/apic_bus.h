/* The APIC bus: the local APICs of one VM and the interrupt messages among
 * them (emu accelerator only; under kvm the kernel has all of this).
 *
 * Three kinds of sender produce one message format, struct apic_msg:
 *   - a LAPIC writing its ICR (an IPI), through apic_bus_send() with itself
 *     as src, so the shorthands self / all including self / all excluding
 *     self can be resolved;
 *   - the IOAPIC, for a redirection entry (src NULL, 8-bit destination);
 *   - an MSI write (virtio MSI-X, later), through apic_bus_msi(), which
 *     decodes the address/data pair (Intel SDM vol. 3 section 11.11).
 *
 * Destinations (SDM 11.6.2, 11.12.9/10):
 *   - physical: the APIC ID; 0xff (8-bit destinations) or 0xffffffff
 *     (x2APIC destinations) is a broadcast to every LAPIC. An 8-bit
 *     destination reaching a LAPIC in x2APIC mode is compared with its
 *     32-bit x2APIC ID, as an IOAPIC or MSI destination is on real boards;
 *   - logical, xAPIC: the LDR's top byte against the destination byte, in
 *     the flat model (DFR 0xffffffff: any common bit) or the cluster model
 *     (DFR 0x0fffffff: cluster nibble equal, or 0xf for all clusters, and a
 *     common bit in the low nibble);
 *   - logical, x2APIC: cluster (bits 31:16) equal and a common bit in the
 *     low 16; 0xffffffff is a broadcast. An 8-bit logical destination
 *     reaches x2APIC-mode LAPICs only as the broadcast 0xff (x2APIC logical
 *     interrupts from IOAPIC/MSI need interrupt remapping, which we lack).
 * Lowest priority delivers to one LAPIC of the destination set: the one
 * with the lowest arbitration priority (TPR/ISR/IRR class), ties to the
 * lowest APIC ID; software-disabled LAPICs are passed over.
 *
 * Level-triggered fixed interrupts end with an EOI the LAPIC broadcasts
 * (apic_bus_eoi()); EOI listeners (the IOAPIC) clear their remote IRR.
 *
 * Everything runs with the board's device lock held.
 */
#ifndef XUNI_HW_APIC_BUS_H
#define XUNI_HW_APIC_BUS_H

#include <stdbool.h>
#include <stdint.h>

/* Delivery modes (ICR, redirection entries, LVTs and MSI data bits 10:8). */
enum apic_delivery {
    APIC_DM_FIXED = 0,
    APIC_DM_LOWEST = 1,
    APIC_DM_SMI = 2,
    APIC_DM_NMI = 4,
    APIC_DM_INIT = 5,
    APIC_DM_SIPI = 6,
    APIC_DM_EXTINT = 7,
};

/* ICR destination shorthands (bits 19:18). */
enum apic_shorthand {
    APIC_SH_NONE = 0,
    APIC_SH_SELF = 1,
    APIC_SH_ALL = 2,
    APIC_SH_OTHERS = 3,
};

#define APIC_BROADCAST_XAPIC  0xffu
#define APIC_BROADCAST_X2APIC 0xffffffffu

struct apic_msg {
    uint32_t dest; /* destination field; meaning per logical/x2apic_dest */
    uint8_t vector;
    uint8_t delivery;  /* enum apic_delivery */
    uint8_t shorthand; /* enum apic_shorthand; APIC_SH_NONE outside IPIs */
    bool logical;      /* destination mode */
    bool level;        /* trigger mode: level (else edge) */
    bool assert;       /* the level bit: false only in an INIT level de-assert */
    bool x2apic_dest;  /* a 32-bit x2APIC destination (sender in x2APIC mode) */
};

struct apic_bus;
struct lapic;

typedef void (*apic_eoi_fn)(void *ctx, uint8_t vector);

/* NULL when out of memory (logged). */
struct apic_bus *apic_bus_new(void);
/* The LAPICs must have been freed (or detached) first. */
void apic_bus_free(struct apic_bus *bus);

/* lapic_new() attaches its LAPIC and lapic_free() detaches it; 0 or -ENOMEM. */
int apic_bus_attach(struct apic_bus *bus, struct lapic *lapic);
void apic_bus_detach(struct apic_bus *bus, struct lapic *lapic);

/* Called for every EOI of a level-triggered vector. 0, or -ENOSPC beyond
 * a few listeners. */
int apic_bus_add_eoi_listener(struct apic_bus *bus, apic_eoi_fn fn, void *ctx);
void apic_bus_remove_eoi_listener(struct apic_bus *bus, apic_eoi_fn fn, void *ctx);

/* Deliver a message; src is the sending LAPIC (IPIs) or NULL. Returns how
 * many LAPICs accepted it (the IOAPIC sets remote IRR only if one did). */
unsigned apic_bus_send(struct apic_bus *bus, const struct apic_msg *msg, struct lapic *src);

/* An MSI: a 32-bit write of data to addr. Returns the number of LAPICs that
 * accepted it, or -EINVAL for an address outside 0xfee00000-0xfeefffff. */
int apic_bus_msi(struct apic_bus *bus, uint64_t addr, uint32_t data);

/* The broadcast EOI of a level-triggered vector (called by the LAPICs). */
void apic_bus_eoi(struct apic_bus *bus, uint8_t vector);

/* The LAPIC whose (current) APIC ID is id, or NULL. */
struct lapic *apic_bus_find(const struct apic_bus *bus, uint32_t id);

#endif
