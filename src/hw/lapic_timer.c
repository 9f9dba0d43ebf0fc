/* The LAPIC timer (SDM 11.5.4).
 *
 * One-shot and periodic: writing the initial count starts counting down
 * from it at bus_hz / divisor. Nothing ticks: the state is "the count was
 * base_count at start_ns", and the current count is computed from the timer
 * service's clock when read. base_count equals the initial count except
 * after a divide-configuration change in mid-count, which re-bases the
 * count on the new rate. A periodic count reloads from the initial count
 * each time it reaches zero.
 *
 * The interrupt comes from a timer_service timer armed for the next time
 * the count reaches zero; a periodic timer re-arms from its callback for the
 * next zero after now, but not sooner than LAPIC_MIN_PERIOD_NS ahead, so
 * a tiny period cannot flood the host (missed zeros coalesce into one
 * interrupt).
 *
 * TSC-deadline: IA32_TSC_DEADLINE is converted to a host deadline through
 * tsc_hz when written; a deadline already passed fires at once. The MSR
 * reads back until the timer fires, then reads 0.
 *
 * A change of timer mode in the LVT disarms the timer (initial count and
 * deadline cleared), as the SDM says. */
#include "hw/lapic_internal.h"

#define NS NSEC_PER_SEC_U64

/* DCR bits 0, 1 and 3: 000 -> 2, 001 -> 4, ..., 110 -> 128, 111 -> 1. */
static uint64_t divisor(const struct lapic *l)
{
    unsigned v = (l->dcr & 3) | ((l->dcr >> 1) & 4);
    return 1ULL << ((v + 1) & 7);
}

static uint64_t ticks_to_ns(const struct lapic *l, uint64_t ticks)
{
    return muldiv64_up(ticks, divisor(l) * NS, l->bus_hz);
}

static uint64_t ns_to_ticks(const struct lapic *l, uint64_t ns)
{
    return muldiv64(ns, l->bus_hz, divisor(l) * NS);
}

static bool counting(const struct lapic *l)
{
    return l->initial_count && lapic_timer_mode(l) != TIMER_TSC_DEADLINE;
}

static uint64_t ticks_since_start(const struct lapic *l, uint64_t now)
{
    return now > l->start_ns ? ns_to_ticks(l, now - l->start_ns) : 0;
}

uint32_t lapic_timer_current(const struct lapic *l)
{
    if (!counting(l))
        return 0;
    uint64_t ticks = ticks_since_start(l, timer_now(l->timers));
    if (ticks < l->base_count)
        return (uint32_t)(l->base_count - ticks);
    if (lapic_timer_mode(l) != TIMER_PERIODIC)
        return 0;
    return l->initial_count - (uint32_t)((ticks - l->base_count) % l->initial_count);
}

/* Arm for the next time the count reaches zero after now, not before
 * not_before; or disarm when it never will. */
static void schedule(struct lapic *l, uint64_t now, uint64_t not_before)
{
    uint64_t ticks = ticks_since_start(l, now), target;
    if (ticks < l->base_count)
        target = l->base_count;
    else if (lapic_timer_mode(l) == TIMER_PERIODIC)
        target = l->base_count +
                 ((ticks - l->base_count) / l->initial_count + 1) * (uint64_t)l->initial_count;
    else {
        timer_del(l->timer);
        return;
    }
    uint64_t deadline = l->start_ns + ticks_to_ns(l, target);
    timer_mod(l->timer, deadline > not_before ? deadline : not_before);
}

void lapic_timer_expired(void *opaque)
{
    struct lapic *l = opaque;
    uint64_t now = timer_now(l->timers);
    if (lapic_timer_mode(l) == TIMER_TSC_DEADLINE) {
        if (!l->tsc_deadline)
            return;
        l->tsc_deadline = 0;
        lapic_fire_lvt(l, LVT_TIMER);
        return;
    }
    if (!counting(l))
        return;
    lapic_fire_lvt(l, LVT_TIMER);
    if (lapic_timer_mode(l) == TIMER_PERIODIC)
        schedule(l, now, now + LAPIC_MIN_PERIOD_NS);
}

void lapic_timer_stop(struct lapic *l)
{
    timer_del(l->timer);
    l->initial_count = l->base_count = 0;
    l->tsc_deadline = 0;
}

void lapic_timer_write_initial(struct lapic *l, uint32_t count)
{
    if (lapic_timer_mode(l) == TIMER_TSC_DEADLINE)
        return; /* ignored in TSC-deadline mode */
    uint64_t now = timer_now(l->timers);
    l->initial_count = l->base_count = count;
    l->start_ns = now;
    if (count)
        schedule(l, now, 0);
    else
        timer_del(l->timer);
}

/* A new rate from now on: the count so far stays, later ticks are slower
 * or faster. */
void lapic_timer_write_dcr(struct lapic *l, uint32_t dcr)
{
    if (!counting(l)) {
        l->dcr = dcr;
        return;
    }
    uint64_t now = timer_now(l->timers);
    uint32_t cur = lapic_timer_current(l);
    l->dcr = dcr;
    l->base_count = cur;
    l->start_ns = now;
    if (cur)
        schedule(l, now, 0);
}

void lapic_timer_write_lvt(struct lapic *l, uint32_t value)
{
    unsigned old = lapic_timer_mode(l);
    unsigned mode = (value & LVT_TIMER_MODE) >> LVT_TIMER_SHIFT;
    if (mode == 3) /* reserved: keep the mode */
        value = (value & ~LVT_TIMER_MODE) | (old << LVT_TIMER_SHIFT);
    l->lvt[LVT_TIMER] = value;
    if (lapic_timer_mode(l) != old)
        lapic_timer_stop(l);
    lapic_update(l);
}

static uint64_t read_tsc(const struct lapic *l)
{
    if (l->read_tsc)
        return l->read_tsc(l->tsc_ctx);
    return muldiv64(timer_now(l->timers), l->tsc_hz, NS);
}

uint64_t lapic_timer_read_deadline(const struct lapic *l)
{
    return lapic_timer_mode(l) == TIMER_TSC_DEADLINE ? l->tsc_deadline : 0;
}

void lapic_timer_write_deadline(struct lapic *l, uint64_t tsc)
{
    if (lapic_timer_mode(l) != TIMER_TSC_DEADLINE || !lapic_hw_enabled(l))
        return; /* writes are ignored outside TSC-deadline mode */
    l->tsc_deadline = tsc;
    if (!tsc) {
        timer_del(l->timer);
        return;
    }
    uint64_t now_tsc = read_tsc(l);
    if (tsc <= now_tsc) {
        timer_del(l->timer);
        lapic_timer_expired(l);
        return;
    }
    uint64_t now = timer_now(l->timers);
    timer_mod(l->timer, now + muldiv64_up(tsc - now_tsc, NS, l->tsc_hz));
}
