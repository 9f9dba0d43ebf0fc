/* Multiboot v1, as QEMU's -kernel takes it: ELF32 kernels (also ELF32 files
 * carrying 64-bit code, as kvm-unit-tests' .flat) loaded by program headers,
 * or by the a.out-kludge address fields when header flag 16 is set; info
 * structure with memory sizes, memory map, command line and modules; entry
 * in flat 32-bit protected mode, paging off, EAX = 0x2BADB002, EBX = info. */
#ifndef XUNI_BOOT_MULTIBOOT_H
#define XUNI_BOOT_MULTIBOOT_H

#include <stdbool.h>

#include "boot/boot.h"

#define MULTIBOOT_HEADER_MAGIC     0x1BADB002u
#define MULTIBOOT_BOOTLOADER_MAGIC 0x2BADB002u
#define MULTIBOOT_SEARCH           8192
#define MULTIBOOT_MAX_MODULES      16

struct multiboot_header {
    uint32_t magic, flags, checksum;
    uint32_t header_addr, load_addr, load_end_addr, bss_end_addr, entry_addr;
};

/* Find a valid header (magic and checksum) 4-byte aligned in the first 8 KiB;
 * return its file offset or -1. */
long multiboot_find_header(const uint8_t *data, size_t size, struct multiboot_header *hdr);

int multiboot_load(struct guest_memory *mem, const struct boot_file *kernel,
                   const struct boot_params_in *in, struct boot_entry *entry);

#endif
