/* The bus: port-I/O and MMIO dispatch by address range.
 *
 * A device registers one or more ranges, each with a struct bus_ops and an
 * opaque pointer. One handler signature serves both address spaces: the
 * callback gets the offset into its range, the access size (1, 2, 4 or 8)
 * and, for writes, the value in the low bytes. The kvm exit path and the
 * emulator call the same bus_read()/bus_write().
 *
 * Unclaimed reads return all-ones of the access size and unclaimed writes
 * are dropped; each unclaimed address is logged once (log_once_set), never
 * fatal. Callbacks run under the bus's lock (the board's big device lock),
 * so a device needs no locking of its own against vCPU threads.
 *
 * Ranges may come and go while the machine runs (a guest moving a PCI BAR):
 * bus_register()/bus_unregister() take no lock themselves, so they are
 * called either before the vCPUs start or with the lock held, typically
 * from inside another range's callback (bus_read/bus_write touch nothing
 * of the range after its callback returns).
 */
#ifndef XUNI_VM_BUS_H
#define XUNI_VM_BUS_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "util/log.h"

struct bus_ops {
    uint64_t (*read)(void *opaque, uint64_t offset, unsigned size);
    void (*write)(void *opaque, uint64_t offset, unsigned size, uint64_t value);
};

struct bus_range {
    uint64_t base;
    uint64_t len;
    const struct bus_ops *ops;
    void *opaque;
    const char *name;
};

struct bus {
    const char *name;         /* "port" or "mmio", for messages */
    struct bus_range *ranges; /* sorted by base, non-overlapping */
    unsigned nranges;
    unsigned cap;
    pthread_mutex_t *lock; /* NULL: caller serializes */
    struct log_once_set unclaimed;
};

void bus_init(struct bus *bus, const char *name, pthread_mutex_t *lock);
void bus_destroy(struct bus *bus);

/* Claim [base, base+len). Returns 0, -EBUSY if it overlaps a claimed range
 * (logged, naming both devices), -EINVAL for len 0 or a wrapping range,
 * -ENOMEM. A callback may be NULL: that direction reads all-ones / drops. */
int bus_register(struct bus *bus, uint64_t base, uint64_t len, const struct bus_ops *ops,
                 void *opaque, const char *name);

/* Release the range claimed at exactly base by opaque: 0, or -ENOENT. */
int bus_unregister(struct bus *bus, uint64_t base, void *opaque);

/* Could [base, base+len) be claimed (non-empty, not wrapping, no overlap)?
 * Lets a caller that must not log (a guest-driven remap) check first. */
bool bus_is_free(const struct bus *bus, uint64_t base, uint64_t len);

/* The range holding addr, or NULL. */
const struct bus_range *bus_find(const struct bus *bus, uint64_t addr);

uint64_t bus_read(struct bus *bus, uint64_t addr, unsigned size);
void bus_write(struct bus *bus, uint64_t addr, unsigned size, uint64_t value);

/* All-ones of an access size, the value of a read nobody answers. */
static inline uint64_t bus_all_ones(unsigned size)
{
    return size >= 8 ? ~0ULL : (1ULL << (8 * size)) - 1;
}

#endif
