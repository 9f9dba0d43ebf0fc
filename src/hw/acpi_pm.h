/* The ACPI PM1 fixed-hardware register block (ACPI spec, "ACPI Hardware
 * Specification": PM1 event, PM1 control, PM timer).
 *
 * Three port ranges, each with its own ops; the board registers them exactly
 * as the FADT describes them (boot/acpi.c uses the same constants):
 *
 *   bus_register(pio, LAYOUT_PORT_ACPI_PM1A_EVT, ACPI_PM_EVT_LEN,
 *                &acpi_pm_evt_ops, pm, "acpi-pm1-evt");
 *   bus_register(pio, LAYOUT_PORT_ACPI_PM1A_CNT, ACPI_PM_CNT_LEN,
 *                &acpi_pm_cnt_ops, pm, "acpi-pm1-cnt");
 *   bus_register(pio, LAYOUT_PORT_ACPI_PM_TMR, ACPI_PM_TMR_LEN,
 *                &acpi_pm_tmr_ops, pm, "acpi-pm-tmr");
 *
 * The power line is called from the vCPU thread with the device lock held.
 *
 * PM1 event block: PM1_STS (offset 0, write 1 to clear) and PM1_EN (offset
 * 2). The SCI line is held high while any enabled status bit is set (the
 * SCI is level-triggered, active high, as the MADT override says).
 *
 * PM1 control: SCI_EN always reads 1 (the FADT has no SMI_CMD: the machine
 * is always in ACPI mode). Writing SLP_EN with SLP_TYP = ACPI_PM_SLP_TYP_S5
 * (the DSDT's \_S5 value) requests POWER_OFF on the power line; other sleep
 * types are logged once and answered as an immediate wake (WAK_STS set).
 *
 * PM timer: 24 bits at 3.579545 MHz from the host's CLOCK_MONOTONIC,
 * wrapping; TMR_STS is set when bit 23 changes. It is computed when the guest
 * reads, so no host timer runs: with TMR_EN set, the SCI for a timer carry is
 * raised at the guest's next access to the block, not at the carry itself
 * (Linux never enables it).
 *
 * Accesses of 1, 2 or 4 bytes at any offset are served byte by byte; bytes
 * past the end of a block read as all-ones and are dropped on write.
 */
#ifndef XUNI_HW_ACPI_PM_H
#define XUNI_HW_ACPI_PM_H

#include <stdint.h>

#include "hw/irq.h"
#include "vm/bus.h"

#define ACPI_PM_EVT_LEN 4
#define ACPI_PM_CNT_LEN 2
#define ACPI_PM_TMR_LEN 4

#define ACPI_PM_TIMER_HZ   3579545u
#define ACPI_PM_TIMER_BITS 24

/* SLP_TYP value that means soft-off (S5); the DSDT's \_S5 package holds it. */
#define ACPI_PM_SLP_TYP_S5 5

/* PM1_STS / PM1_EN bits */
#define ACPI_PM1_TMR     (1u << 0)
#define ACPI_PM1_BM_STS  (1u << 4)
#define ACPI_PM1_GBL     (1u << 5)
#define ACPI_PM1_PWRBTN  (1u << 8)
#define ACPI_PM1_SLPBTN  (1u << 9)
#define ACPI_PM1_RTC     (1u << 10)
#define ACPI_PM1_WAK_STS (1u << 15)

/* PM1_CNT bits */
#define ACPI_PM1_CNT_SCI_EN        (1u << 0)
#define ACPI_PM1_CNT_BM_RLD        (1u << 1)
#define ACPI_PM1_CNT_GBL_RLS       (1u << 2)
#define ACPI_PM1_CNT_SLP_TYP_SHIFT 10
#define ACPI_PM1_CNT_SLP_TYP       (7u << ACPI_PM1_CNT_SLP_TYP_SHIFT)
#define ACPI_PM1_CNT_SLP_EN        (1u << 13)

struct acpi_pm;

/* sci: the SCI interrupt line (LAYOUT_IRQ_SCI); power: where S5 goes.
 * Returns NULL (with a message logged) when out of memory. */
struct acpi_pm *acpi_pm_new(struct irq_line sci, struct power_line power);
void acpi_pm_free(struct acpi_pm *pm);

/* A press of the fixed-feature power button: sets PWRBTN_STS, which raises
 * the SCI if the guest enabled it (Linux then shuts down cleanly). Call it
 * with the device lock held, as bus callbacks are. */
void acpi_pm_press_power_button(struct acpi_pm *pm);

/* Replace the host clock (monotonic nanoseconds) the PM timer counts from;
 * for tests, which cannot wait seconds for the 24-bit counter to carry. */
void acpi_pm_set_clock(struct acpi_pm *pm, uint64_t (*now_ns)(void *ctx), void *ctx);

/* The timer value at monotonic time ns: ticks since 0, modulo 2^24. */
uint32_t acpi_pm_timer_at(uint64_t ns);

extern const struct bus_ops acpi_pm_evt_ops, acpi_pm_cnt_ops, acpi_pm_tmr_ops;

#endif
