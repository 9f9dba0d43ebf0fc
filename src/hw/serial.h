/* A 16550A UART (the PC's COM port), as the National Semiconductor PC16550D
 * datasheet describes it.
 *
 * The board registers 8 ports (LAYOUT_PORT_COM1) with serial_bus_ops and the
 * struct serial as opaque, and hands it the COM1 interrupt line.
 *
 * Transmit is instant: a byte written to THR goes straight to the chardev,
 * so THRE and TEMT are always set and, with ETBEI enabled, the THR-empty
 * interrupt is pending again right after each write (as if the byte left
 * the shift register at once). Receive goes through a 16-byte FIFO (1 byte
 * while FIFOs are disabled); the serial takes from the chardev only what
 * fits, and calls chardev_accept_input() once the guest makes room, so no
 * input is lost. A receive FIFO below its trigger level reports the
 * character-timeout interrupt at once instead of after four character
 * times.
 *
 * The interrupt line follows "an enabled interrupt is pending" gated by
 * MCR.OUT2, as the PC wires it; in loopback mode the OUT2 pin is inactive,
 * so the line stays low (the interrupt sources still show in IIR).
 *
 * Accesses wider than a byte are split into byte accesses of consecutive
 * registers. Callbacks run under the board's device lock; so does the
 * chardev's receive callback.
 */
#ifndef XUNI_HW_SERIAL_H
#define XUNI_HW_SERIAL_H

#include "backend/chardev.h"
#include "hw/irq.h"
#include "vm/bus.h"

#define SERIAL_NR_PORTS  8
#define SERIAL_FIFO_SIZE 16

struct serial;

/* chr may be NULL (output dropped, no input). The serial becomes chr's
 * frontend. Returns NULL (logged) when out of memory. */
struct serial *serial_new(struct chardev *chr, struct irq_line irq);
/* Detaches from the chardev (which stays open) and frees. */
void serial_free(struct serial *s);

extern const struct bus_ops serial_bus_ops;

#endif
