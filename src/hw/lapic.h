/* The local APIC of one vCPU (emu accelerator only), per the Intel SDM
 * vol. 3 chapter 11 ("Advanced Programmable Interrupt Controller").
 *
 * What it models: the xAPIC register page and the x2APIC MSRs
 * (0x800-0x8ff), IA32_APIC_BASE (0x1b) with its mode transitions, the
 * timer (one-shot, periodic, TSC-deadline through IA32_TSC_DEADLINE 0x6e0),
 * IRR/ISR/TMR with TPR/PPR priorities, EOI, the spurious vector and
 * software enable (SVR bit 8), the six LVTs (timer, thermal, perf, LINT0,
 * LINT1, error: version 0x50014, max LVT entry 5), ESR, and the ICR, whose
 * writes become messages on the APIC bus (hw/apic_bus.h).
 *
 * It knows nothing of the CPU emulator. The vCPU side calls, always with the
 * board's device lock held:
 *
 *   lapic_pending(l)   LAPIC_NONE, LAPIC_EXTINT, or the vector (0-255) the
 *                      CPU would take now (IRR above PPR). Whether the CPU
 *                      can take it (RFLAGS.IF, interrupt shadow) is its own
 *                      business.
 *   lapic_ack(l)       the INTA cycle: moves that vector from IRR to ISR and
 *                      returns it; LAPIC_EXTINT means "ask the 8259" (then
 *                      pic_ack() gives the vector); if nothing is
 *                      deliverable any more, the spurious vector (SVR[7:0]),
 *                      which the CPU takes like any vector, with no EOI.
 *   lapic_take_events(l, &sipi_vector)
 *                      the NMI / INIT / SIPI events since the last call, as
 *                      LAPIC_EV_* bits (cleared by the call). Handle INIT
 *                      before SIPI; a SIPI outside wait-for-SIPI is ignored
 *                      by the CPU. The LAPIC resets itself when it accepts
 *                      an INIT; the CPU resets its own state.
 *   lapic_get_cr8 / lapic_set_cr8    CR8 = TPR[7:4].
 *   lapic_rdmsr / lapic_wrmsr        for lapic_msr_is_apic() MSRs; they
 *                      return LAPIC_GP where the CPU must raise #GP(0).
 *   lapic_mmio_base(l) and lapic_mmio_ops
 *                      every vCPU sees its own LAPIC at the same address:
 *                      the accelerator checks an MMIO address against its
 *                      vCPU's lapic_mmio_base() (which moves with
 *                      IA32_APIC_BASE and vanishes in x2APIC mode or when
 *                      the APIC is disabled) and calls lapic_mmio_ops with
 *                      the LAPIC as opaque and the offset in the page.
 *
 * The kick callback runs whenever something may have become pending for the
 * vCPU (an IRR bit, ExtINT, an event, or an EOI/TPR/SVR change that lets a
 * held interrupt through), so a halted vCPU wakes and a running one stops at
 * its next block boundary. Kicks may be spurious; the vCPU re-checks
 * lapic_pending() and lapic_take_events().
 *
 * LINT0/LINT1: lapic_set_lint() sets the input's level (1 asserted; the
 * LVT polarity bit is stored but the level is taken as logical). Per the
 * LVT's delivery mode: ExtINT makes lapic_pending() return LAPIC_EXTINT
 * while the line is high (the 8259's INT output), NMI and INIT act on a
 * rising edge, fixed is edge or level (remote IRR, cleared by EOI). With
 * the APIC disabled in IA32_APIC_BASE the pins act as INTR and NMI, as on
 * real CPUs. After power-up reset the BSP is in virtual-wire mode as PC
 * firmware leaves it (LINT0 ExtINT, LINT1 NMI, both unmasked), so the
 * 8259 reaches the CPU before the OS programs the APIC.
 *
 * Timer: bus_hz is the input clock before the divide configuration
 * register. The current count is computed from the timer service's clock on
 * every read; expiry is a timer_service timer. A periodic timer raises at
 * most one interrupt per LAPIC_MIN_PERIOD_NS of host time; ticks missed
 * beyond that are coalesced (the count still follows the guest's period).
 * TSC-deadline mode compares with the TSC from read_tsc (NULL: a TSC of
 * tsc_hz counting from the timer service's clock zero).
 *
 * Not modelled: SMI delivery (logged once, dropped), the thermal and
 * performance-counter sources (their LVTs are plain registers), CMCI, EOI
 * broadcast suppression, the remote read register (reads 0), focus
 * processor checks.
 */
#ifndef XUNI_HW_LAPIC_H
#define XUNI_HW_LAPIC_H

#include <stdbool.h>
#include <stdint.h>

#include "hw/apic_bus.h"
#include "util/timer.h"
#include "vm/bus.h"

#define LAPIC_NONE   (-1)
#define LAPIC_EXTINT (-2)
#define LAPIC_GP     (-1) /* from lapic_rdmsr/lapic_wrmsr: raise #GP(0) */

#define LAPIC_EV_NMI  0x1u
#define LAPIC_EV_INIT 0x2u
#define LAPIC_EV_SIPI 0x4u

#define LAPIC_DEFAULT_BASE  0xfee00000ULL
#define LAPIC_PAGE_SIZE     0x1000ULL
#define LAPIC_NO_MMIO       UINT64_MAX
#define LAPIC_VERSION       0x00050014u /* version 0x14, max LVT entry 5 */
#define LAPIC_MIN_PERIOD_NS 100000ULL   /* 10 kHz: the fastest periodic interrupt rate */

/* MSRs. */
#define MSR_IA32_APIC_BASE    0x1b
#define MSR_IA32_TSC_DEADLINE 0x6e0
#define MSR_X2APIC_FIRST      0x800
#define MSR_X2APIC_LAST       0x8ff

/* IA32_APIC_BASE bits. */
#define APIC_BASE_BSP    (1ULL << 8)
#define APIC_BASE_EXTD   (1ULL << 10)
#define APIC_BASE_ENABLE (1ULL << 11)

enum lapic_mode { LAPIC_MODE_DISABLED, LAPIC_MODE_XAPIC, LAPIC_MODE_X2APIC };

struct lapic_params {
    uint32_t id;          /* initial APIC ID = x2APIC ID (xAPIC: low 8 bits) */
    bool bsp;             /* IA32_APIC_BASE.BSP, virtual-wire reset state */
    bool x2apic;          /* CPUID advertises x2APIC: EXTD may be set */
    unsigned phys_bits;   /* MAXPHYADDR for IA32_APIC_BASE (0: 52) */
    struct apic_bus *bus; /* IPIs and EOIs go here (NULL: dropped) */
    struct timer_service *timers;
    uint64_t bus_hz;                 /* timer input clock, e.g. 1000000000 */
    uint64_t tsc_hz;                 /* TSC rate for TSC-deadline mode */
    uint64_t (*read_tsc)(void *ctx); /* the vCPU's TSC now; NULL: see above */
    void *tsc_ctx;
    void (*kick)(void *ctx); /* something may be pending (may be NULL) */
    void *kick_ctx;
};

struct lapic;

/* Power-up state; attached to params->bus. NULL (logged) when out of memory
 * or with a zero bus_hz/tsc_hz or no timer service. */
struct lapic *lapic_new(const struct lapic_params *params);
void lapic_free(struct lapic *l);
/* RESET: the power-up state, IA32_APIC_BASE included. */
void lapic_reset(struct lapic *l);

/* --- the vCPU's side (see above) --- */
int lapic_pending(const struct lapic *l);
int lapic_ack(struct lapic *l);
unsigned lapic_take_events(struct lapic *l, uint8_t *sipi_vector);
bool lapic_has_events(const struct lapic *l); /* something for lapic_take_events */
uint8_t lapic_get_cr8(const struct lapic *l);
void lapic_set_cr8(struct lapic *l, uint64_t cr8);

bool lapic_msr_is_apic(uint32_t msr);
int lapic_rdmsr(struct lapic *l, uint32_t msr, uint64_t *value);
int lapic_wrmsr(struct lapic *l, uint32_t msr, uint64_t value);

uint64_t lapic_mmio_base(const struct lapic *l);
extern const struct bus_ops lapic_mmio_ops;

/* --- inputs --- */
void lapic_set_lint(struct lapic *l, unsigned pin, int level);
/* A message from the APIC bus; true if accepted (a software-disabled or
 * hardware-disabled APIC drops fixed interrupts). */
bool lapic_deliver(struct lapic *l, const struct apic_msg *msg);

/* --- what the APIC bus reads for destinations and arbitration --- */
enum lapic_mode lapic_mode(const struct lapic *l);
uint32_t lapic_id(const struct lapic *l); /* xAPIC: ID[31:24]; x2APIC: 32-bit */
uint32_t lapic_ldr(const struct lapic *l);
uint32_t lapic_dfr(const struct lapic *l);
bool lapic_sw_enabled(const struct lapic *l);
uint8_t lapic_arb_priority(const struct lapic *l);

#endif
