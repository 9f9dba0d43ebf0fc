/* The e820 map: the guest's view of which physical ranges are RAM, as the
 * Linux zero page and the multiboot memory map report it. Built from the
 * RAM layout and the board's reserved areas in layout.h. */
#ifndef XUNI_VM_E820_H
#define XUNI_VM_E820_H

#include <stdint.h>

#include "vm/memory.h"

#define E820_RAM      1
#define E820_RESERVED 2
#define E820_ACPI     3

#define E820_MAX_ENTRIES 8

struct e820_entry {
    uint64_t addr;
    uint64_t size;
    uint32_t type;
} __attribute__((packed));

/* Fill table (room for E820_MAX_ENTRIES) sorted by address; return the
 * number of entries. */
unsigned e820_build(const struct guest_memory *mem, struct e820_entry *table);

#endif
