/* The LAPIC's state and the functions its three files share:
 *   lapic.c        acceptance, priorities, EOI, the vCPU side, LINT inputs
 *   lapic_regs.c   the register file: xAPIC MMIO, x2APIC MSRs,
 *                  IA32_APIC_BASE, ICR -> APIC bus messages
 *   lapic_timer.c  the timer: counts from time, expiry through the timer
 *                  service, TSC-deadline mode
 * Nothing outside src/hw/lapic*.c includes this header.
 */
#ifndef XUNI_HW_LAPIC_INTERNAL_H
#define XUNI_HW_LAPIC_INTERNAL_H

#include "hw/lapic.h"

/* LVT indexes; register offset 0x320 + 0x10 * index. */
enum { LVT_TIMER, LVT_THERMAL, LVT_PERF, LVT_LINT0, LVT_LINT1, LVT_ERROR, LVT_COUNT };

#define LVT_VECTOR      0x000000ffu
#define LVT_DM_SHIFT    8
#define LVT_DM_MASK     (7u << LVT_DM_SHIFT)
#define LVT_PENDING     (1u << 12) /* delivery status, read-only */
#define LVT_POLARITY    (1u << 13)
#define LVT_REMOTE_IRR  (1u << 14)
#define LVT_LEVEL       (1u << 15)
#define LVT_MASKED      (1u << 16)
#define LVT_TIMER_SHIFT 17
#define LVT_TIMER_MODE  (3u << LVT_TIMER_SHIFT)
#define LVT_RESET       LVT_MASKED

enum lapic_timer_mode { TIMER_ONESHOT = 0, TIMER_PERIODIC = 1, TIMER_TSC_DEADLINE = 2 };

#define SVR_ENABLE   (1u << 8)
#define SVR_FOCUS    (1u << 9)
#define SVR_WRITABLE (0xffu | SVR_ENABLE | SVR_FOCUS)
#define SVR_RESET    0xffu

/* ESR bits. */
#define ESR_SEND_ILLEGAL (1u << 5)
#define ESR_RECV_ILLEGAL (1u << 6)
#define ESR_ILLEGAL_REG  (1u << 7)

struct lapic {
    struct apic_bus *bus;
    struct timer_service *timers;
    struct timer *timer;
    uint64_t bus_hz, tsc_hz;
    uint64_t (*read_tsc)(void *ctx);
    void *tsc_ctx;
    void (*kick)(void *ctx);
    void *kick_ctx;
    uint32_t initial_id;
    bool bsp, x2apic_allowed;
    uint64_t base_reserved; /* IA32_APIC_BASE bits that must be zero */

    uint64_t apic_base; /* IA32_APIC_BASE */
    uint32_t id;        /* the xAPIC ID register (ID in 31:24); x2APIC uses initial_id */
    uint32_t tpr, ldr, dfr, svr;
    uint32_t irr[8], isr[8], tmr[8];
    uint32_t esr;         /* what software reads */
    uint32_t esr_pending; /* errors since the last ESR write */
    uint32_t icr_lo, icr_hi;
    uint32_t lvt[LVT_COUNT];

    /* timer */
    uint32_t dcr;
    uint32_t initial_count; /* the reload value; 0: stopped */
    uint32_t base_count;    /* the count at start_ns */
    uint64_t start_ns;
    uint64_t tsc_deadline;

    /* inputs and events */
    uint8_t lint_level[2];
    bool extint_msg; /* an ExtINT message (IOAPIC/MSI) waits for INTA */
    unsigned events;
    uint8_t sipi_vector;
};

static inline bool lapic_hw_enabled(const struct lapic *l)
{
    return l->apic_base & APIC_BASE_ENABLE;
}

static inline bool lapic_x2apic(const struct lapic *l)
{
    return lapic_mode(l) == LAPIC_MODE_X2APIC;
}

static inline bool lvt_masked(const struct lapic *l, unsigned lvt)
{
    return l->lvt[lvt] & LVT_MASKED;
}

static inline unsigned lvt_delivery(uint32_t lvt)
{
    return (lvt & LVT_DM_MASK) >> LVT_DM_SHIFT;
}

static inline unsigned lapic_timer_mode(const struct lapic *l)
{
    return (l->lvt[LVT_TIMER] & LVT_TIMER_MODE) >> LVT_TIMER_SHIFT;
}

/* lapic.c */
void lapic_accept_fixed(struct lapic *l, uint8_t vector, bool level);
void lapic_fire_lvt(struct lapic *l, unsigned lvt);
void lapic_error(struct lapic *l, uint32_t esr_bits);
void lapic_eoi(struct lapic *l);
void lapic_update(struct lapic *l);
uint8_t lapic_ppr(const struct lapic *l);
void lapic_init_state(struct lapic *l);
void lapic_lint_sync(struct lapic *l, unsigned pin, bool rising);

/* lapic_timer.c */
uint32_t lapic_timer_current(const struct lapic *l);
void lapic_timer_stop(struct lapic *l);
void lapic_timer_write_initial(struct lapic *l, uint32_t count);
void lapic_timer_write_dcr(struct lapic *l, uint32_t dcr);
void lapic_timer_write_lvt(struct lapic *l, uint32_t value);
uint64_t lapic_timer_read_deadline(const struct lapic *l);
void lapic_timer_write_deadline(struct lapic *l, uint64_t tsc);
void lapic_timer_expired(void *opaque);

#endif
