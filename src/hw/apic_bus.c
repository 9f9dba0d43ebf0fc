#include "hw/apic_bus.h"

#include <errno.h>
#include <stdlib.h>

#include "hw/lapic.h"
#include "util/log.h"

#define APIC_BUS_MAX_EOI_LISTENERS 4

/* MSI address (SDM 11.11.1): 0xfee in 31:20, destination ID in 19:12,
 * redirection hint in 3, destination mode in 2. Data: vector in 7:0,
 * delivery mode in 10:8, level (assert) in 14, trigger mode in 15. */
#define MSI_ADDR_BASE_MASK 0xfff00000ULL
#define MSI_ADDR_BASE      0xfee00000ULL
#define MSI_ADDR_LOGICAL   (1u << 2)
#define MSI_DATA_ASSERT    (1u << 14)
#define MSI_DATA_LEVEL     (1u << 15)

struct eoi_listener {
    apic_eoi_fn fn;
    void *ctx;
};

struct apic_bus {
    struct lapic **lapics;
    unsigned n, cap;
    struct eoi_listener eoi[APIC_BUS_MAX_EOI_LISTENERS];
    unsigned neoi;
};

struct apic_bus *apic_bus_new(void)
{
    struct apic_bus *bus = calloc(1, sizeof(*bus));
    if (!bus)
        log_error("apic bus: out of memory");
    return bus;
}

void apic_bus_free(struct apic_bus *bus)
{
    if (!bus)
        return;
    if (bus->n)
        log_error("apic bus: freed with %u LAPICs attached", bus->n);
    free(bus->lapics);
    free(bus);
}

int apic_bus_attach(struct apic_bus *bus, struct lapic *lapic)
{
    if (bus->n == bus->cap) {
        unsigned cap = bus->cap ? bus->cap * 2 : 8;
        struct lapic **p = realloc(bus->lapics, cap * sizeof(*p));
        if (!p)
            return -ENOMEM;
        bus->lapics = p;
        bus->cap = cap;
    }
    bus->lapics[bus->n++] = lapic;
    return 0;
}

void apic_bus_detach(struct apic_bus *bus, struct lapic *lapic)
{
    for (unsigned i = 0; i < bus->n; i++) {
        if (bus->lapics[i] == lapic) {
            bus->lapics[i] = bus->lapics[--bus->n];
            return;
        }
    }
}

int apic_bus_add_eoi_listener(struct apic_bus *bus, apic_eoi_fn fn, void *ctx)
{
    if (bus->neoi == APIC_BUS_MAX_EOI_LISTENERS)
        return -ENOSPC;
    bus->eoi[bus->neoi++] = (struct eoi_listener){fn, ctx};
    return 0;
}

void apic_bus_remove_eoi_listener(struct apic_bus *bus, apic_eoi_fn fn, void *ctx)
{
    for (unsigned i = 0; i < bus->neoi; i++) {
        if (bus->eoi[i].fn == fn && bus->eoi[i].ctx == ctx) {
            bus->eoi[i] = bus->eoi[--bus->neoi];
            return;
        }
    }
}

void apic_bus_eoi(struct apic_bus *bus, uint8_t vector)
{
    for (unsigned i = 0; i < bus->neoi; i++)
        bus->eoi[i].fn(bus->eoi[i].ctx, vector);
}

struct lapic *apic_bus_find(const struct apic_bus *bus, uint32_t id)
{
    for (unsigned i = 0; i < bus->n; i++)
        if (lapic_mode(bus->lapics[i]) != LAPIC_MODE_DISABLED && lapic_id(bus->lapics[i]) == id)
            return bus->lapics[i];
    return NULL;
}

/* --- destinations --- */

static bool match_physical(const struct lapic *l, const struct apic_msg *m)
{
    if (m->dest == (m->x2apic_dest ? APIC_BROADCAST_X2APIC : APIC_BROADCAST_XAPIC))
        return true;
    return lapic_id(l) == m->dest;
}

static bool match_logical_x2apic(const struct lapic *l, const struct apic_msg *m)
{
    if (!m->x2apic_dest)
        return m->dest == APIC_BROADCAST_XAPIC;
    if (m->dest == APIC_BROADCAST_X2APIC)
        return true;
    uint32_t ldr = lapic_ldr(l);
    return (m->dest >> 16) == (ldr >> 16) && (m->dest & ldr & 0xffff);
}

static bool match_logical_xapic(const struct lapic *l, const struct apic_msg *m)
{
    if (m->x2apic_dest && m->dest == APIC_BROADCAST_X2APIC)
        return true;
    uint8_t dest = (uint8_t)m->dest, ldr = (uint8_t)(lapic_ldr(l) >> 24);
    if ((lapic_dfr(l) >> 28) == 0xf) /* flat */
        return dest & ldr;
    /* cluster: cluster nibble 0xf addresses every cluster */
    bool cluster = (dest >> 4) == 0xf || (dest >> 4) == (ldr >> 4);
    return cluster && (dest & ldr & 0xf);
}

static bool match_dest(const struct lapic *l, const struct apic_msg *m, const struct lapic *src)
{
    switch (m->shorthand) {
    case APIC_SH_SELF:
        return l == src;
    case APIC_SH_ALL:
        return true;
    case APIC_SH_OTHERS:
        return l != src;
    }
    if (!m->logical)
        return match_physical(l, m);
    if (lapic_mode(l) == LAPIC_MODE_X2APIC)
        return match_logical_x2apic(l, m);
    return match_logical_xapic(l, m);
}

/* Lowest priority: the software-enabled LAPIC of the set with the lowest
 * arbitration priority, ties to the lowest APIC ID. */
static struct lapic *pick_lowest(struct apic_bus *bus, const struct apic_msg *m,
                                 const struct lapic *src)
{
    struct lapic *best = NULL;
    for (unsigned i = 0; i < bus->n; i++) {
        struct lapic *l = bus->lapics[i];
        if (lapic_mode(l) == LAPIC_MODE_DISABLED || !lapic_sw_enabled(l) || !match_dest(l, m, src))
            continue;
        if (!best || lapic_arb_priority(l) < lapic_arb_priority(best) ||
            (lapic_arb_priority(l) == lapic_arb_priority(best) && lapic_id(l) < lapic_id(best)))
            best = l;
    }
    return best;
}

unsigned apic_bus_send(struct apic_bus *bus, const struct apic_msg *msg, struct lapic *src)
{
    if (msg->delivery == APIC_DM_LOWEST) {
        struct lapic *l = pick_lowest(bus, msg, src);
        return l && lapic_deliver(l, msg);
    }
    unsigned accepted = 0;
    for (unsigned i = 0; i < bus->n; i++) {
        struct lapic *l = bus->lapics[i];
        if (lapic_mode(l) != LAPIC_MODE_DISABLED && match_dest(l, msg, src))
            accepted += lapic_deliver(l, msg);
    }
    return accepted;
}

int apic_bus_msi(struct apic_bus *bus, uint64_t addr, uint32_t data)
{
    if ((addr & ~0xffffffffULL) || (addr & MSI_ADDR_BASE_MASK) != MSI_ADDR_BASE)
        return -EINVAL;
    struct apic_msg m = {
        .dest = (uint32_t)(addr >> 12) & 0xff,
        .logical = addr & MSI_ADDR_LOGICAL,
        .vector = (uint8_t)data,
        .delivery = (uint8_t)((data >> 8) & 7),
        .level = data & MSI_DATA_LEVEL,
        .assert = (data & MSI_DATA_ASSERT) || !(data & MSI_DATA_LEVEL),
    };
    return (int)apic_bus_send(bus, &m, NULL);
}
