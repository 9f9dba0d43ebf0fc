/* The 8254 programmable interval timer (emu accelerator only), per the
 * Intel 82C54 datasheet, and the PC's port 0x61 bits that belong to it.
 *
 * Ports (the board registers each with the struct pit as opaque):
 *   pit_ops         4 ports (LAYOUT_PORT_PIT, 0x40-0x43): the counters of
 *                   channels 0-2 and the control word register
 *   pit_port61_ops  1 port (LAYOUT_PORT_SPEAKER, 0x61). Read: bit 0 gate of
 *                   channel 2, bit 1 speaker data enable (stored only), bits
 *                   2-3 stored, bit 4 the refresh toggle (flips every 15 us
 *                   of host time, as on real boards), bit 5 OUT of channel
 *                   2. Write: bits 0-3.
 *
 * Counting runs at PIT_HZ (1.193182 MHz) on the timer service's clock:
 * nothing ticks, a counter's value and OUT are computed from the time when
 * read. Modes 0 (interrupt on terminal count), 1 (retriggerable one-shot),
 * 2 (rate generator), 3 (square wave), 4 and 5 (software/hardware strobe),
 * with the datasheet's count sequences (mode 3 counts down by two) and
 * gate rules: gate low pauses modes 0 and 4, holds OUT high and stops modes
 * 2 and 3 (a rising gate reloads them), and a rising gate triggers modes 1
 * and 5. Channels 0 and 1 have their gate tied high; channel 2's gate is
 * port 0x61 bit 0. Access modes LSB, MSB and LSB-then-MSB, the counter latch
 * command and the read-back command (count and status latches) are there.
 *
 * Simplifications: BCD counting is refused (logged once, counted in binary;
 * the status byte still shows the BCD bit); a new count written in modes 2
 * and 3 takes effect at once rather than at the end of the current period;
 * the one-clock delay between a count write and the first decrement and
 * mode 0's "first byte stops the count" are not modelled; null count clears
 * when the count is written.
 *
 * IRQ 0: channel 0's OUT, sent as a pulse on irq0 (irq_line_pulse) at each
 * rising edge of OUT (mode 0: terminal count; modes 2 and 3: every period;
 * mode 4: one clock after terminal count), from a timer_service timer. In
 * modes 2 and 3 at most one pulse per PIT_MIN_PERIOD_NS of host time goes
 * out; faster periods coalesce. After reset no channel is programmed (as
 * KVM's in-kernel PIT), so no IRQ 0 comes until the guest sets one up.
 *
 * Called with the board's device lock held (timer callbacks too).
 */
#ifndef XUNI_HW_PIT_H
#define XUNI_HW_PIT_H

#include "hw/irq.h"
#include "util/timer.h"
#include "vm/bus.h"

#define PIT_NR_PORTS        4
#define PIT_PORT61_NR_PORTS 1
#define PIT_HZ              1193182ULL
#define PIT_MIN_PERIOD_NS   100000ULL /* 10 kHz: the fastest IRQ 0 rate */
#define PIT_REFRESH_NS      15085ULL  /* port 0x61 bit 4 flips this often */

struct pit;

/* NULL (logged) when out of memory. */
struct pit *pit_new(struct timer_service *timers, struct irq_line irq0);
void pit_free(struct pit *pit);
void pit_reset(struct pit *pit);

/* OUT of channel 0-2 now (for the board and tests). */
int pit_out(struct pit *pit, unsigned channel);

extern const struct bus_ops pit_ops;
extern const struct bus_ops pit_port61_ops;

#endif
