/* Loading an ELF64 vmlinux into guest RAM: every PT_LOAD segment at its
 * physical address (p_paddr), its file bytes copied and the rest of p_memsz
 * (.bss, .brk) zeroed, as the kernel's own decompressor does
 * (arch/x86/boot/compressed/misc.c, parse_elf) when it runs at the address
 * the kernel was linked for (LOAD_PHYSICAL_ADDR). Used for a vmlinux given
 * as the kernel file and for the payload of a bzImage unpacked on the host.
 *
 * Everything read from the file is bounds-checked; a bad file ends in one
 * logged error naming it.
 */
#ifndef XUNI_BOOT_VMLINUX_H
#define XUNI_BOOT_VMLINUX_H

#include <stdint.h>

#include "boot/boot.h"

struct vmlinux_image {
    uint64_t lo;    /* lowest physical address of a loaded segment */
    uint64_t hi;    /* first byte above the highest one */
    uint64_t entry; /* physical 64-bit entry (e_entry, translated if virtual) */
};

/* Load k (an ELF64 x86-64 ET_EXEC file) into mem. Returns 0, -EINVAL for a
 * malformed file or -ENOMEM when a segment lies outside guest RAM. */
int vmlinux_load(struct guest_memory *mem, const struct boot_file *k, struct vmlinux_image *img);

#endif
