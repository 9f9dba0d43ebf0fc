/* Multiboot v1 information structure (Multiboot Specification 0.6.96, 3.3). */
#ifndef GUEST_LIB_MULTIBOOT_H
#define GUEST_LIB_MULTIBOOT_H

#include <stdint.h>

#define MB_BOOTLOADER_MAGIC 0x2badb002u

#define MB_INFO_MEMORY  (1u << 0)
#define MB_INFO_BOOTDEV (1u << 1)
#define MB_INFO_CMDLINE (1u << 2)
#define MB_INFO_MODS    (1u << 3)
#define MB_INFO_MMAP    (1u << 6)

struct mb_info {
    uint32_t flags;
    uint32_t mem_lower, mem_upper; /* KiB */
    uint32_t boot_device;
    uint32_t cmdline;
    uint32_t mods_count, mods_addr;
    uint32_t syms[4];
    uint32_t mmap_length, mmap_addr;
} __attribute__((packed));

struct mb_module {
    uint32_t mod_start, mod_end; /* [start, end) */
    uint32_t string;
    uint32_t reserved;
} __attribute__((packed));

/* size counts the bytes after itself, so the next entry is at +size+4. */
struct mb_mmap_entry {
    uint32_t size;
    uint64_t addr, len;
    uint32_t type;
} __attribute__((packed));

/* Guest-physical addresses below 4 GiB are identity mapped. */
static inline void *mb_ptr(uint32_t paddr)
{
    return (void *)(uintptr_t)paddr;
}

#endif
