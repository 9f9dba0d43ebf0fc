/* The i8042 PS/2 keyboard controller, with a keyboard attached and an empty
 * mouse (AUX) port: enough for Linux's i8042 and atkbd probes and for the
 * keyboard-controller reset.
 *
 * The board registers i8042_data_ops at LAYOUT_PORT_I8042_DATA (len 1) and
 * i8042_cmd_ops at LAYOUT_PORT_I8042_CMD (len 1), both with the struct i8042
 * as opaque. Wider accesses act on the low byte (reads fill the rest with
 * all-ones).
 *
 * Controller: status register (OBF, IBF always 0, SYS flag, command/data,
 * keylock off, AUX_OBF, timeout), controller commands 0x20-0x3f/0x60-0x7f
 * (read/write internal RAM, byte 0 is the command byte CTR), 0xa7/0xa8
 * (AUX disable/enable), 0xa9 (AUX interface test: 0x00), 0xaa (self test:
 * 0x55), 0xab (keyboard interface test: 0x00), 0xad/0xae (keyboard
 * disable/enable), 0xc0 (input port), 0xd0/0xd1 (read/write output port;
 * clearing bit 0 resets), 0xd2/0xd3 (write keyboard/AUX output buffer, the
 * latter is Linux's AUX loopback test), 0xd4 (send to the AUX device),
 * 0xe0 (test inputs), 0xf0-0xff (pulse output lines; bit 0 clear = reset).
 * A reset is power_line_request(POWER_RESET, 0, "i8042 reset").
 *
 * No mouse is attached: every byte sent to the AUX device (0xd4) is
 * answered, as a real controller does when the device does not clock the
 * byte in, with 0xfe in the AUX output buffer and the status timeout bit
 * set. Linux's serio drivers treat that as an aborted command at once, so
 * the AUX port registers ("serio: i8042 AUX port") and the mouse probe
 * fails quietly without waiting for timeouts.
 *
 * Keyboard: commands written to the data port are answered with ACK (0xfa):
 * 0xff reset (fa aa), 0xf2 identify (fa ab 83, or fa ab 41 while the
 * controller translates), 0xf4/0xf5/0xf6 enable/disable/defaults, 0xed
 * LEDs and 0xf3 typematic (each with an argument byte), 0xf0 scancode set
 * (argument 0 reads it back), 0xee echo. Unknown commands get 0xfe
 * (resend), as from a real keyboard. No keys are ever pressed.
 *
 * Interrupts: IRQ 1 while the output buffer holds keyboard-port data and
 * CTR.KBDINT is set, IRQ 12 while it holds AUX data and CTR.AUXINT is set.
 * Each byte is a new edge (the lines drop when the guest reads the data
 * port), because Linux's handler reads one byte per interrupt.
 */
#ifndef XUNI_HW_I8042_H
#define XUNI_HW_I8042_H

#include "hw/irq.h"
#include "vm/bus.h"

struct i8042;

/* Returns NULL (logged) when out of memory. */
struct i8042 *i8042_new(struct irq_line kbd_irq, struct irq_line aux_irq, struct power_line power);
void i8042_free(struct i8042 *kbc);

extern const struct bus_ops i8042_data_ops, i8042_cmd_ops;

#endif
