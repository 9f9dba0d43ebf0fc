/* The MC146818 CMOS real-time clock and its 128 bytes of CMOS RAM.
 *
 * Two ports (LAYOUT_PORT_RTC): index at offset 0 (bit 7 is the NMI-disable
 * gate of the PC; it is masked off), data at offset 1. Reading the index
 * port returns all-ones.
 *
 * Time: the host's CLOCK_REALTIME (UTC) at the moment the guest reads, plus
 * a whole-second offset once the guest sets the clock, so a guest-set time
 * keeps running. Registers 0-9 and the century byte (0x32) are in BCD or
 * binary per register B's DM bit, hours in 12- or 24-hour form per its 24/12
 * bit. While register B's SET bit is set the clock is frozen and writes to
 * the time registers are collected; clearing SET starts the new time.
 * Register A reports UIP during the last 244 us of each second, as the
 * chip does before an update, so readers that wait for UIP to clear (Linux's
 * mc146818_get_time) see it clear again at once.
 *
 * Interrupt flags (register C: PF, AF, UF and IRQF) are computed when C is
 * read, from the time that passed since the previous read of C. Known limit:
 * no host timer runs for the RTC, so the IRQ line is never raised; periodic,
 * alarm and update-ended interrupts are only visible to a guest that polls
 * register C (Linux's rtc-cmos then falls back to polling where it can).
 *
 * CMOS RAM holds the PC BIOS layout that firmware and loaders read:
 *   0x10 floppy types (0: none), 0x14 equipment byte (FPU present),
 *   0x15/0x16 base memory in KiB (640), 0x17/0x18 and 0x30/0x31 extended
 *   memory above 1 MiB in KiB (max 0xffff), 0x34/0x35 memory above 16 MiB
 *   below 4 GiB in 64 KiB units (max 0xffff), 0x5b-0x5d memory above 4 GiB
 *   in 64 KiB units (as QEMU and SeaBIOS use them).
 * Every other byte is scratch RAM the guest may write.
 */
#ifndef XUNI_HW_RTC_H
#define XUNI_HW_RTC_H

#include <stdint.h>

#include "hw/irq.h"
#include "vm/bus.h"

#define RTC_NR_PORTS 2

/* CMOS offsets of interest outside the clock registers. */
#define RTC_REG_A        0x0a
#define RTC_REG_B        0x0b
#define RTC_REG_C        0x0c
#define RTC_REG_D        0x0d
#define RTC_CMOS_CENTURY 0x32

struct rtc;

/* ram_below_4g/ram_above_4g: guest RAM in bytes below and above 4 GiB,
 * for the memory-size bytes. Returns NULL (logged) when out of memory. */
struct rtc *rtc_new(struct irq_line irq, uint64_t ram_below_4g, uint64_t ram_above_4g);
void rtc_free(struct rtc *rtc);

/* Replace the host clocks (nanoseconds of CLOCK_REALTIME, and of
 * CLOCK_MONOTONIC for the periodic flag); for tests. */
void rtc_set_clock(struct rtc *rtc, uint64_t (*realtime_ns)(void *ctx),
                   uint64_t (*monotonic_ns)(void *ctx), void *ctx);

extern const struct bus_ops rtc_bus_ops;

#endif
