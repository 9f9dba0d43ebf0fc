#include "vm/e820.h"

#include "vm/layout.h"

static void add(struct e820_entry *t, unsigned *n, uint64_t addr, uint64_t end, uint32_t type)
{
    if (end <= addr || *n >= E820_MAX_ENTRIES)
        return;
    t[*n].addr = addr;
    t[*n].size = end - addr;
    t[*n].type = type;
    (*n)++;
}

unsigned e820_build(const struct guest_memory *mem, struct e820_entry *t)
{
    unsigned n = 0;
    uint64_t low_end = guest_memory_low_end(mem);
    add(t, &n, 0, LAYOUT_LOW_RAM_END, E820_RAM);
    add(t, &n, LAYOUT_EBDA_START, LAYOUT_EBDA_START + LAYOUT_EBDA_SIZE, E820_RESERVED);
    /* ACPI tables live in the BIOS area; reserving it whole keeps them safe. */
    add(t, &n, LAYOUT_BIOS_START, LAYOUT_BIOS_END, E820_RESERVED);
    add(t, &n, LAYOUT_HIGH_MEM_START, low_end, E820_RAM);
    /* Linux checks the PCI ECAM window is reserved before it uses it. */
    add(t, &n, LAYOUT_PCI_ECAM_BASE, LAYOUT_PCI_ECAM_BASE + LAYOUT_PCI_ECAM_SIZE, E820_RESERVED);
    add(t, &n, LAYOUT_KVM_IDENT_MAP, LAYOUT_KVM_TSS + 0x3000, E820_RESERVED);
    if (guest_memory_high_size(mem))
        add(t, &n, LAYOUT_RAM_ABOVE_4G, LAYOUT_RAM_ABOVE_4G + guest_memory_high_size(mem),
            E820_RAM);
    return n;
}
