/* The test exit device, compatible with QEMU's isa-debug-exit: a write of
 * value v (1 to 4 bytes, at any of its ports) ends xuni with status
 * (v << 1) | 1, through power_line_request(POWER_EXIT, ...). So a guest can
 * never end with status 0 this way, and a test tells "the guest said pass"
 * from "xuni exited normally". Reads return all-ones.
 *
 * The board registers DEBUG_EXIT_NR_PORTS ports at LAYOUT_PORT_DEBUG_EXIT
 * with debug_exit_ops and the struct debug_exit as opaque.
 */
#ifndef XUNI_HW_DEBUG_EXIT_H
#define XUNI_HW_DEBUG_EXIT_H

#include "hw/irq.h"
#include "vm/bus.h"

#define DEBUG_EXIT_NR_PORTS 4

struct debug_exit;

/* Returns NULL (logged) when out of memory. */
struct debug_exit *debug_exit_new(struct power_line power);
void debug_exit_free(struct debug_exit *dev);

extern const struct bus_ops debug_exit_ops;

#endif
