/* The PC's pair of 8259A programmable interrupt controllers (emu
 * accelerator only), per the Intel 8259A datasheet, with the PIIX edge/level
 * control registers (ELCR).
 *
 * Ports (the board registers each range with the struct pic as opaque):
 *   pic_master_ops  2 ports (LAYOUT_PORT_PIC_MASTER, 0x20/0x21)
 *   pic_slave_ops   2 ports (LAYOUT_PORT_PIC_SLAVE, 0xa0/0xa1)
 *   pic_elcr_ops    2 ports (0x4d0 master, 0x4d1 slave)
 * Accesses wider than a byte use the low byte.
 *
 * Programming: ICW1-ICW4 initialization (ICW1 clears IMR, ISR and the
 * latched edges and makes IR7 the lowest priority; ICW3 is taken but the
 * slave is always on master IR2; ICW4 auto-EOI and special fully nested
 * mode; 8080 mode is logged and treated as 8086), OCW1 (IMR), OCW2
 * (non-specific and specific EOI, rotate on EOI, rotate in auto-EOI, set
 * priority), OCW3 (read IRR/ISR, poll, special mask mode). ICW1's LTIM bit
 * is ignored: as on the PIIX, the ELCR chooses edge or level per IRQ (IRQ 0,
 * 1, 2, 8 and 13 are always edge).
 *
 * Inputs: pic_set_irq(irq 0-15, level), level 1 asserted. IRQ 2 is the
 * cascade, an edge-triggered master input driven by the slave's INT output
 * (re-armed by each INTA cycle that reaches the slave), so
 * pic_set_irq(2, ...) is ignored. An edge-triggered IRQ latches its request
 * on the rising edge until the INTA cycle takes it (so a device's
 * irq_line_pulse() is enough); a level-triggered IRQ requests while the
 * line is high.
 *
 * Output: the master's INT pin through the intr callback, called when its
 * level changes. The CPU side then runs the INTA cycle with pic_ack(), which
 * returns the vector (ICW2 base + IR) and moves the request into service.
 * If the request vanished in between (a level line dropped, an IRQ was
 * masked), the INTA cycle yields the spurious IR7 of the master (vector
 * base + 7, no ISR bit), or the slave's spurious IR7 (IRQ 15; the master's
 * IR2 is then in service, as on real hardware).
 *
 * Reset state as KVM's in-kernel PIC and QEMU's: initialized, vector base
 * 0, nothing masked, IR7 lowest; a guest programs both chips before it
 * enables interrupts.
 *
 * Called with the board's device lock held.
 */
#ifndef XUNI_HW_PIC_H
#define XUNI_HW_PIC_H

#include "vm/bus.h"

#define PIC_NR_PORTS      2
#define PIC_ELCR_NR_PORTS 2
#define PIC_CASCADE_IRQ   2

struct pic;

typedef void (*pic_intr_fn)(void *ctx, int level);

/* intr may be NULL. NULL when out of memory (logged). */
struct pic *pic_new(pic_intr_fn intr, void *ctx);
void pic_free(struct pic *pic);
void pic_reset(struct pic *pic);

void pic_set_irq(struct pic *pic, unsigned irq, int level);
/* The INTA cycle: the vector for the CPU. */
uint8_t pic_ack(struct pic *pic);
/* The master's INT output now. */
int pic_intr_level(const struct pic *pic);

extern const struct bus_ops pic_master_ops;
extern const struct bus_ops pic_slave_ops;
extern const struct bus_ops pic_elcr_ops;

#endif
