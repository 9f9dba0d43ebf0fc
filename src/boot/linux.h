/* Linux x86 boot protocol (Documentation/arch/x86/boot.rst): bzImage with
 * protocol >= 2.06 and a 64-bit entry point, and ELF64 vmlinux. Both are
 * entered at the 64-bit entry in long mode with identity-mapped page tables,
 * a flat GDT (__BOOT_CS 0x10, __BOOT_DS 0x18) and RSI = the zero page. */
#ifndef XUNI_BOOT_LINUX_H
#define XUNI_BOOT_LINUX_H

#include "boot/boot.h"

/* kernel->data holds the whole file; fmt is KERNEL_BZIMAGE or KERNEL_ELF64. */
int linux_load(struct guest_memory *mem, const struct boot_file *kernel, enum kernel_format fmt,
               const struct boot_params_in *in, struct boot_entry *entry);

#endif
