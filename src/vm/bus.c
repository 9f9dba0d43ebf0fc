#include "vm/bus.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

void bus_init(struct bus *bus, const char *name, pthread_mutex_t *lock)
{
    memset(bus, 0, sizeof(*bus));
    bus->name = name;
    bus->lock = lock;
}

void bus_destroy(struct bus *bus)
{
    free(bus->ranges);
    bus->ranges = NULL;
    bus->nranges = bus->cap = 0;
}

/* Where a range at base goes in the sorted array, and the claimed range it
 * would overlap (or NULL). */
static unsigned bus_slot(const struct bus *bus, uint64_t base, uint64_t len,
                         const struct bus_range **clash)
{
    unsigned pos = 0;
    while (pos < bus->nranges && bus->ranges[pos].base < base)
        pos++;
    const struct bus_range *prev = pos ? &bus->ranges[pos - 1] : NULL;
    const struct bus_range *next = pos < bus->nranges ? &bus->ranges[pos] : NULL;
    *clash = NULL;
    if (prev && prev->base + prev->len - 1 >= base)
        *clash = prev;
    else if (next && next->base <= base + len - 1)
        *clash = next;
    return pos;
}

bool bus_is_free(const struct bus *bus, uint64_t base, uint64_t len)
{
    const struct bus_range *clash;
    if (len == 0 || base + len - 1 < base)
        return false;
    bus_slot(bus, base, len, &clash);
    return clash == NULL;
}

int bus_register(struct bus *bus, uint64_t base, uint64_t len, const struct bus_ops *ops,
                 void *opaque, const char *name)
{
    if (len == 0 || base + len - 1 < base)
        return -EINVAL;
    const struct bus_range *clash;
    unsigned pos = bus_slot(bus, base, len, &clash);
    if (clash) {
        log_error("%s range %#llx+%#llx of %s overlaps %s", bus->name, (unsigned long long)base,
                  (unsigned long long)len, name, clash->name);
        return -EBUSY;
    }
    if (bus->nranges == bus->cap) {
        unsigned cap = bus->cap ? bus->cap * 2 : 16;
        struct bus_range *r = realloc(bus->ranges, cap * sizeof(*r));
        if (!r)
            return -ENOMEM;
        bus->ranges = r;
        bus->cap = cap;
    }
    memmove(&bus->ranges[pos + 1], &bus->ranges[pos], (bus->nranges - pos) * sizeof(*bus->ranges));
    bus->ranges[pos] = (struct bus_range){base, len, ops, opaque, name};
    bus->nranges++;
    return 0;
}

int bus_unregister(struct bus *bus, uint64_t base, void *opaque)
{
    for (unsigned i = 0; i < bus->nranges; i++) {
        if (bus->ranges[i].base == base && bus->ranges[i].opaque == opaque) {
            memmove(&bus->ranges[i], &bus->ranges[i + 1],
                    (bus->nranges - i - 1) * sizeof(*bus->ranges));
            bus->nranges--;
            return 0;
        }
    }
    return -ENOENT;
}

const struct bus_range *bus_find(const struct bus *bus, uint64_t addr)
{
    unsigned lo = 0, hi = bus->nranges;
    while (lo < hi) {
        unsigned mid = lo + (hi - lo) / 2;
        const struct bus_range *r = &bus->ranges[mid];
        if (addr < r->base)
            hi = mid;
        else if (addr - r->base >= r->len)
            lo = mid + 1;
        else
            return r;
    }
    return NULL;
}

static void report_unclaimed(struct bus *bus, const char *what, uint64_t addr, unsigned size)
{
    /* One report per address and direction; writes use the top bit. */
    uint64_t key = addr ^ (what[0] == 'w' ? 1ULL << 63 : 0);
    if (log_once_check(&bus->unclaimed, key))
        log_warn("unclaimed %s %s at %#llx (size %u)%s", bus->name, what, (unsigned long long)addr,
                 size, what[0] == 'r' ? ": returning all-ones" : ": dropped");
}

uint64_t bus_read(struct bus *bus, uint64_t addr, unsigned size)
{
    uint64_t value = bus_all_ones(size);
    if (bus->lock)
        pthread_mutex_lock(bus->lock);
    const struct bus_range *r = bus_find(bus, addr);
    if (r && r->ops->read)
        value = r->ops->read(r->opaque, addr - r->base, size) & bus_all_ones(size);
    else if (!r)
        report_unclaimed(bus, "read", addr, size);
    if (bus->lock)
        pthread_mutex_unlock(bus->lock);
    return value;
}

void bus_write(struct bus *bus, uint64_t addr, unsigned size, uint64_t value)
{
    if (bus->lock)
        pthread_mutex_lock(bus->lock);
    const struct bus_range *r = bus_find(bus, addr);
    if (r && r->ops->write)
        r->ops->write(r->opaque, addr - r->base, size, value & bus_all_ones(size));
    else if (!r)
        report_unclaimed(bus, "write", addr, size);
    if (bus->lock)
        pthread_mutex_unlock(bus->lock);
}
