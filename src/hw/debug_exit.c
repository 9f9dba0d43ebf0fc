#include "hw/debug_exit.h"

#include <stdlib.h>

#include "util/log.h"

struct debug_exit {
    struct power_line power;
};

static uint64_t debug_exit_read(void *opaque, uint64_t offset, unsigned size)
{
    (void)opaque;
    (void)offset;
    return bus_all_ones(size);
}

static void debug_exit_write(void *opaque, uint64_t offset, unsigned size, uint64_t value)
{
    struct debug_exit *dev = opaque;
    (void)offset;
    uint64_t v = value & bus_all_ones(size > 4 ? 4 : size);
    /* Only the low byte survives as a process exit status; the int keeps
     * what it can, as QEMU's exit() does. */
    power_line_request(&dev->power, POWER_EXIT, (int)(uint32_t)((v << 1) | 1), "debug exit");
}

const struct bus_ops debug_exit_ops = {
    .read = debug_exit_read,
    .write = debug_exit_write,
};

struct debug_exit *debug_exit_new(struct power_line power)
{
    struct debug_exit *dev = calloc(1, sizeof(*dev));
    if (!dev) {
        log_error("debug-exit: out of memory");
        return NULL;
    }
    dev->power = power;
    return dev;
}

void debug_exit_free(struct debug_exit *dev)
{
    free(dev);
}
