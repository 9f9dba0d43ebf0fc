/* An 82093AA-compatible I/O APIC with 24 pins (emu accelerator only),
 * per the Intel 82093AA datasheet.
 *
 * MMIO (the board maps a page at LAYOUT_IOAPIC_BASE with ioapic_mmio_ops):
 * IOREGSEL at offset 0x00 (the register index, bits 7:0) and IOWIN at 0x10
 * (the selected register, 32 bits). Registers: 0x00 ID (bits 27:24), 0x01
 * version 0x00170011 (version 0x11, 23 = highest redirection entry), 0x02
 * arbitration ID (= ID), 0x10 + 2n / 0x11 + 2n the low / high halves of
 * redirection entry n: vector 7:0, delivery mode 10:8, destination mode 11,
 * delivery status 12 (always 0: delivery is instant), polarity 13, remote
 * IRR 14 (read-only), trigger mode 15, mask 16, destination 63:56.
 * Accesses other than 32-bit (8-bit for IOREGSEL) read 0 / are dropped.
 *
 * Inputs: ioapic_set_irq(pin, level), level 1 meaning asserted. The
 * polarity bit is stored but not applied: the board's devices drive
 * logical levels, as in QEMU and KVM.
 *   - edge: a rising edge on an unmasked pin sends one message; an edge
 *     while masked is lost (as on the chip);
 *   - level: while the line is asserted, the pin is unmasked and remote IRR
 *     is clear, a message goes out and (if a LAPIC accepted it) remote IRR
 *     is set; the EOI of that vector (APIC bus EOI broadcast) clears remote
 *     IRR, and a line still asserted sends again. Unmasking an asserted
 *     level pin sends too.
 * Messages go to the APIC bus with 8-bit destinations (hw/apic_bus.h).
 *
 * Called with the board's device lock held.
 */
#ifndef XUNI_HW_IOAPIC_H
#define XUNI_HW_IOAPIC_H

#include <stdint.h>

#include "hw/apic_bus.h"
#include "vm/bus.h"

#define IOAPIC_NUM_PINS  24
#define IOAPIC_VERSION   0x00170011u
#define IOAPIC_MMIO_SIZE 0x1000

struct ioapic;

/* Registers itself as an EOI listener of bus (ioapic_free() removes it).
 * NULL (logged) on failure. */
struct ioapic *ioapic_new(struct apic_bus *bus, uint8_t id);
void ioapic_free(struct ioapic *io);
/* Every entry masked, remote IRRs clear; the ID and the input levels stay. */
void ioapic_reset(struct ioapic *io);

void ioapic_set_irq(struct ioapic *io, unsigned pin, int level);

/* The EOI of a level-triggered vector (the APIC bus calls this). */
void ioapic_eoi(struct ioapic *io, uint8_t vector);

extern const struct bus_ops ioapic_mmio_ops;

#endif
