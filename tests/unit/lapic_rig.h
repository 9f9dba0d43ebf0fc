/* A few LAPICs on an APIC bus over a manual timer service, for the LAPIC,
 * APIC bus and IOAPIC tests. Bus clock and TSC at 1 GHz: one tick a ns. */
#ifndef XUNI_TESTS_LAPIC_RIG_H
#define XUNI_TESTS_LAPIC_RIG_H

#include <stdlib.h>

#include "hw/apic_bus.h"
#include "hw/lapic.h"
#include "util/timer.h"

#define RIG_MAX   4
#define RIG_HZ    1000000000ULL
#define SVR_ON    0x1ff /* spurious vector 0xff, software enabled */
#define APIC_SVR  0x0f0
#define APIC_TPR  0x080
#define APIC_EOI  0x0b0
#define APIC_ICR  0x300
#define APIC_ICR2 0x310

struct rig {
    struct timer_service *svc;
    struct apic_bus *bus;
    struct lapic *l[RIG_MAX];
    unsigned kicks[RIG_MAX];
    unsigned n;
};

static void rig_kick(void *ctx)
{
    (*(unsigned *)ctx)++;
}

static inline struct lapic *rig_lapic(struct rig *r, unsigned i, uint32_t id, bool x2apic)
{
    struct lapic_params p = {
        .id = id,
        .bsp = i == 0,
        .x2apic = x2apic,
        .bus = r->bus,
        .timers = r->svc,
        .bus_hz = RIG_HZ,
        .tsc_hz = RIG_HZ,
        .kick = rig_kick,
        .kick_ctx = &r->kicks[i],
    };
    return lapic_new(&p);
}

static inline struct rig *rig_new(unsigned n)
{
    struct rig *r = calloc(1, sizeof(*r));
    r->svc = timer_service_new_manual();
    r->bus = apic_bus_new();
    r->n = n;
    for (unsigned i = 0; i < n; i++)
        r->l[i] = rig_lapic(r, i, i, true);
    return r;
}

static inline void rig_free(struct rig *r)
{
    for (unsigned i = 0; i < r->n; i++)
        lapic_free(r->l[i]);
    apic_bus_free(r->bus);
    timer_service_free(r->svc);
    free(r);
}

static inline uint32_t apic_read(struct lapic *l, unsigned offset)
{
    return (uint32_t)lapic_mmio_ops.read(l, offset, 4);
}

static inline void apic_write(struct lapic *l, unsigned offset, uint32_t value)
{
    lapic_mmio_ops.write(l, offset, 4, value);
}

static inline void apic_enable(struct lapic *l)
{
    apic_write(l, APIC_SVR, SVR_ON);
}

/* An xAPIC IPI: destination byte, then the low ICR word that sends it. */
static inline void apic_ipi(struct lapic *l, uint8_t dest, uint32_t icr_lo)
{
    apic_write(l, APIC_ICR2, (uint32_t)dest << 24);
    apic_write(l, APIC_ICR, icr_lo);
}

/* Is vector set in the register array at base (ISR 0x100, TMR 0x180, IRR 0x200)? */
static inline bool apic_bit(struct lapic *l, unsigned base, unsigned vector)
{
    return apic_read(l, base + (vector / 32) * 0x10) & (1u << (vector % 32));
}

#endif
