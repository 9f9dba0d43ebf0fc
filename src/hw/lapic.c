/* The LAPIC core: interrupt acceptance (IRR/TMR), priorities (TPR, PPR,
 * arbitration), the INTA cycle, EOI, NMI/INIT/SIPI events and the LINT pins.
 * The register file is in lapic_regs.c, the timer in lapic_timer.c. */
#include "hw/lapic_internal.h"

#include <stdlib.h>
#include <string.h>

#include "util/log.h"

static struct log_once_set lapic_once;

static void vec_set(uint32_t *bm, unsigned v)
{
    bm[v / 32] |= 1u << (v % 32);
}

static void vec_clear(uint32_t *bm, unsigned v)
{
    bm[v / 32] &= ~(1u << (v % 32));
}

static bool vec_test(const uint32_t *bm, unsigned v)
{
    return bm[v / 32] & (1u << (v % 32));
}

/* The highest vector set, or -1. */
static int vec_highest(const uint32_t *bm)
{
    for (int i = 7; i >= 0; i--)
        if (bm[i])
            return i * 32 + 31 - __builtin_clz(bm[i]);
    return -1;
}

struct lapic *lapic_new(const struct lapic_params *p)
{
    if (!p->timers || !p->bus_hz || !p->tsc_hz) {
        log_error("lapic: a timer service and non-zero bus_hz and tsc_hz are required");
        return NULL;
    }
    struct lapic *l = calloc(1, sizeof(*l));
    if (!l) {
        log_error("lapic: out of memory");
        return NULL;
    }
    l->timers = p->timers;
    l->bus_hz = p->bus_hz;
    l->tsc_hz = p->tsc_hz;
    l->read_tsc = p->read_tsc;
    l->tsc_ctx = p->tsc_ctx;
    l->kick = p->kick;
    l->kick_ctx = p->kick_ctx;
    l->initial_id = p->id;
    l->bsp = p->bsp;
    l->x2apic_allowed = p->x2apic;
    unsigned bits = p->phys_bits && p->phys_bits < 52 ? p->phys_bits : 52;
    /* Bits 0-7 and 9 are reserved, and everything above MAXPHYADDR. */
    l->base_reserved = 0x2ffULL | ~((1ULL << bits) - 1) | (p->x2apic ? 0 : APIC_BASE_EXTD);
    l->timer = timer_new(p->timers, lapic_timer_expired, l);
    if (!l->timer)
        goto fail;
    if (p->bus && apic_bus_attach(p->bus, l) < 0)
        goto fail;
    l->bus = p->bus;
    lapic_reset(l);
    return l;
fail:
    log_error("lapic: cannot create the LAPIC of APIC ID %u", p->id);
    timer_free(l->timer);
    free(l);
    return NULL;
}

void lapic_free(struct lapic *l)
{
    if (!l)
        return;
    if (l->bus)
        apic_bus_detach(l->bus, l);
    timer_free(l->timer);
    free(l);
}

/* The state INIT leaves (SDM 11.4.7.3): as power-up, except the APIC ID,
 * IA32_APIC_BASE (so the x2APIC mode) and the input pins' levels. */
void lapic_init_state(struct lapic *l)
{
    lapic_timer_stop(l);
    memset(l->irr, 0, sizeof(l->irr));
    memset(l->isr, 0, sizeof(l->isr));
    memset(l->tmr, 0, sizeof(l->tmr));
    l->tpr = 0;
    l->ldr = 0;
    l->dfr = 0xffffffffu;
    l->svr = SVR_RESET;
    l->esr = l->esr_pending = 0;
    l->icr_lo = l->icr_hi = 0;
    for (unsigned i = 0; i < LVT_COUNT; i++)
        l->lvt[i] = LVT_RESET;
    l->dcr = 0;
    l->extint_msg = false;
}

void lapic_reset(struct lapic *l)
{
    l->apic_base = LAPIC_DEFAULT_BASE | APIC_BASE_ENABLE | (l->bsp ? APIC_BASE_BSP : 0);
    l->id = l->initial_id << 24;
    l->events = 0;
    l->sipi_vector = 0;
    lapic_init_state(l);
    if (l->bsp) {
        /* Virtual-wire mode, as the BIOS leaves the boot CPU. */
        l->lvt[LVT_LINT0] = APIC_DM_EXTINT << LVT_DM_SHIFT;
        l->lvt[LVT_LINT1] = APIC_DM_NMI << LVT_DM_SHIFT;
    }
}

/* --- priorities --- */

uint8_t lapic_ppr(const struct lapic *l)
{
    int isrv = vec_highest(l->isr);
    unsigned isr_class = isrv < 0 ? 0 : (unsigned)isrv & 0xf0;
    return (l->tpr & 0xf0) >= isr_class ? (uint8_t)l->tpr : (uint8_t)isr_class;
}

uint8_t lapic_arb_priority(const struct lapic *l)
{
    int irrv = vec_highest(l->irr), isrv = vec_highest(l->isr);
    int hi = irrv > isrv ? irrv : isrv;
    unsigned hi_class = hi < 0 ? 0 : (unsigned)hi & 0xf0;
    return (l->tpr & 0xf0) >= hi_class ? (uint8_t)l->tpr : (uint8_t)hi_class;
}

static bool extint_pending(const struct lapic *l)
{
    if (l->extint_msg)
        return true;
    if (!l->lint_level[0])
        return false;
    if (!lapic_hw_enabled(l))
        return true; /* LINT0 is the CPU's INTR pin */
    uint32_t lvt = l->lvt[LVT_LINT0];
    return !(lvt & LVT_MASKED) && lvt_delivery(lvt) == APIC_DM_EXTINT;
}

int lapic_pending(const struct lapic *l)
{
    if (extint_pending(l))
        return LAPIC_EXTINT;
    if (!lapic_hw_enabled(l))
        return LAPIC_NONE;
    int v = vec_highest(l->irr);
    if (v < 0 || ((unsigned)v & 0xf0) <= (lapic_ppr(l) & 0xf0u))
        return LAPIC_NONE;
    return v;
}

int lapic_ack(struct lapic *l)
{
    if (extint_pending(l)) {
        l->extint_msg = false;
        return LAPIC_EXTINT;
    }
    int v = lapic_pending(l);
    if (v == LAPIC_NONE)
        return (int)(l->svr & 0xff);
    vec_clear(l->irr, (unsigned)v);
    vec_set(l->isr, (unsigned)v);
    return v;
}

/* Kick the vCPU if anything is there for it. */
void lapic_update(struct lapic *l)
{
    if (l->kick && (l->events || lapic_pending(l) != LAPIC_NONE))
        l->kick(l->kick_ctx);
}

bool lapic_has_events(const struct lapic *l)
{
    return l->events != 0;
}

unsigned lapic_take_events(struct lapic *l, uint8_t *sipi_vector)
{
    unsigned ev = l->events;
    l->events = 0;
    if (sipi_vector)
        *sipi_vector = l->sipi_vector;
    return ev;
}

uint8_t lapic_get_cr8(const struct lapic *l)
{
    return (uint8_t)((l->tpr >> 4) & 0xf);
}

void lapic_set_cr8(struct lapic *l, uint64_t cr8)
{
    l->tpr = (uint32_t)(cr8 & 0xf) << 4;
    lapic_update(l);
}

/* --- acceptance --- */

void lapic_accept_fixed(struct lapic *l, uint8_t vector, bool level)
{
    if (vector < 16) {
        lapic_error(l, ESR_RECV_ILLEGAL);
        return;
    }
    vec_set(l->irr, vector);
    if (level)
        vec_set(l->tmr, vector);
    else
        vec_clear(l->tmr, vector);
    lapic_update(l);
}

/* The error LVT fires on every error; one whose own vector is illegal only
 * records that too (so an error cannot raise itself forever). */
void lapic_error(struct lapic *l, uint32_t esr_bits)
{
    l->esr_pending |= esr_bits;
    uint32_t lvt = l->lvt[LVT_ERROR];
    if (lvt & LVT_MASKED)
        return;
    if ((lvt & LVT_VECTOR) < 16)
        l->esr_pending |= ESR_RECV_ILLEGAL;
    else
        lapic_accept_fixed(l, (uint8_t)(lvt & LVT_VECTOR), false);
}

/* The timer and error LVTs: fixed delivery, edge. */
void lapic_fire_lvt(struct lapic *l, unsigned lvt)
{
    if (!lvt_masked(l, lvt))
        lapic_accept_fixed(l, (uint8_t)(l->lvt[lvt] & LVT_VECTOR), false);
}

static void lapic_do_init(struct lapic *l)
{
    lapic_init_state(l);
    l->events = (l->events & LAPIC_EV_NMI) | LAPIC_EV_INIT; /* a SIPI before INIT is stale */
}

bool lapic_deliver(struct lapic *l, const struct apic_msg *m)
{
    if (!lapic_hw_enabled(l))
        return false;
    switch (m->delivery) {
    case APIC_DM_FIXED:
    case APIC_DM_LOWEST:
        if (!lapic_sw_enabled(l))
            return false;
        lapic_accept_fixed(l, m->vector, m->level);
        return true;
    case APIC_DM_NMI:
        l->events |= LAPIC_EV_NMI;
        break;
    case APIC_DM_INIT:
        if (m->level && !m->assert)
            return false; /* INIT level de-assert: nothing on modern CPUs */
        lapic_do_init(l);
        break;
    case APIC_DM_SIPI:
        l->events |= LAPIC_EV_SIPI;
        l->sipi_vector = m->vector;
        break;
    case APIC_DM_EXTINT:
        l->extint_msg = true;
        break;
    default:
        if (log_once_check(&lapic_once, m->delivery))
            log_warn("lapic: delivery mode %u (SMI or reserved) not supported; dropped",
                     m->delivery);
        return false;
    }
    lapic_update(l);
    return true;
}

/* --- LINT pins --- */

/* A fixed-delivery LINT: edge, or (LINT0 only, as the SDM allows) level with
 * remote IRR, which an EOI of its vector clears. */
void lapic_lint_sync(struct lapic *l, unsigned pin, bool rising)
{
    uint32_t *lvt = &l->lvt[LVT_LINT0 + pin];
    if ((*lvt & LVT_MASKED) || lvt_delivery(*lvt) != APIC_DM_FIXED)
        return;
    uint8_t vector = (uint8_t)(*lvt & LVT_VECTOR);
    if (pin == 1 || !(*lvt & LVT_LEVEL)) {
        if (rising)
            lapic_accept_fixed(l, vector, false);
        return;
    }
    if (l->lint_level[pin] && !(*lvt & LVT_REMOTE_IRR)) {
        *lvt |= LVT_REMOTE_IRR;
        lapic_accept_fixed(l, vector, true);
    }
}

void lapic_set_lint(struct lapic *l, unsigned pin, int level)
{
    if (pin > 1)
        return;
    bool rising = level && !l->lint_level[pin];
    l->lint_level[pin] = level != 0;
    uint32_t lvt = l->lvt[LVT_LINT0 + pin];
    if (!lapic_hw_enabled(l)) {
        if (pin == 1 && rising)
            l->events |= LAPIC_EV_NMI; /* LINT1 is the CPU's NMI pin */
    } else if (!(lvt & LVT_MASKED)) {
        switch (lvt_delivery(lvt)) {
        case APIC_DM_FIXED:
            lapic_lint_sync(l, pin, rising);
            break;
        case APIC_DM_NMI:
            if (rising)
                l->events |= LAPIC_EV_NMI;
            break;
        case APIC_DM_INIT:
            if (rising)
                lapic_do_init(l);
            break;
        case APIC_DM_EXTINT:
            break; /* a level: lapic_pending() looks at the pin */
        default:
            if (log_once_check(&lapic_once, 0x100 + lvt_delivery(lvt)))
                log_warn("lapic: LINT delivery mode %u not supported", lvt_delivery(lvt));
        }
    }
    lapic_update(l);
}

/* --- EOI --- */

static void lint_eoi(struct lapic *l, uint8_t vector)
{
    for (unsigned pin = 0; pin < 2; pin++) {
        uint32_t *lvt = &l->lvt[LVT_LINT0 + pin];
        if ((*lvt & LVT_REMOTE_IRR) && (*lvt & LVT_VECTOR) == vector) {
            *lvt &= ~LVT_REMOTE_IRR;
            lapic_lint_sync(l, pin, false); /* a line still high comes back */
        }
    }
}

void lapic_eoi(struct lapic *l)
{
    int v = vec_highest(l->isr);
    if (v < 0)
        return;
    vec_clear(l->isr, (unsigned)v);
    if (vec_test(l->tmr, (unsigned)v)) {
        lint_eoi(l, (uint8_t)v);
        if (l->bus)
            apic_bus_eoi(l->bus, (uint8_t)v);
    }
    lapic_update(l);
}

/* --- what the APIC bus reads --- */

enum lapic_mode lapic_mode(const struct lapic *l)
{
    if (!(l->apic_base & APIC_BASE_ENABLE))
        return LAPIC_MODE_DISABLED;
    return l->apic_base & APIC_BASE_EXTD ? LAPIC_MODE_X2APIC : LAPIC_MODE_XAPIC;
}

uint32_t lapic_id(const struct lapic *l)
{
    return lapic_x2apic(l) ? l->initial_id : l->id >> 24;
}

/* x2APIC: derived from the ID, cluster in 31:16 and one bit of 16 in 15:0. */
uint32_t lapic_ldr(const struct lapic *l)
{
    if (!lapic_x2apic(l))
        return l->ldr;
    return ((l->initial_id >> 4) << 16) | (1u << (l->initial_id & 0xf));
}

uint32_t lapic_dfr(const struct lapic *l)
{
    return l->dfr;
}

bool lapic_sw_enabled(const struct lapic *l)
{
    return l->svr & SVR_ENABLE;
}
