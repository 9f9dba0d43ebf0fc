/* Kernel loading: detect the format of a kernel file and load it with its
 * initrd/modules and command line into guest memory, producing the state
 * the boot CPU starts in.
 *
 * The loaders only write guest RAM (through guest_memory_*) and describe the
 * entry state in a struct boot_entry; each accelerator turns that into its
 * own register state, so both accelerators boot the same way.
 */
#ifndef XUNI_BOOT_BOOT_H
#define XUNI_BOOT_BOOT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vm/memory.h"

enum boot_mode {
    BOOT_MODE_PROTECTED32, /* flat 32-bit protected mode, paging off (multiboot) */
    BOOT_MODE_LONG64,      /* 64-bit long mode, identity-mapped paging (Linux) */
};

/* A segment register's visible and hidden parts, in the form the SDM gives
 * them; accelerators translate it 1:1. */
struct boot_segment {
    uint64_t base;
    uint32_t limit; /* in bytes, already scaled by granularity */
    uint16_t selector;
    uint8_t type; /* 4-bit descriptor type */
    uint8_t s, dpl, present, db, l, g;
};

struct boot_entry {
    enum boot_mode mode;
    uint64_t rip, rsp, rax, rbx, rsi;
    uint64_t cr0, cr3, cr4, efer;
    uint64_t gdt_base;
    uint16_t gdt_limit;
    struct boot_segment cs, ds; /* ds is loaded into ds/es/fs/gs/ss */
};

/* Who unpacks a bzImage's compressed kernel: xuni, before the guest starts
 * (the default: the guest enters the uncompressed kernel directly), or the
 * kernel's own decompressor, run by the guest. */
enum kernel_decompress {
    KERNEL_DECOMPRESS_HOST,
    KERNEL_DECOMPRESS_GUEST,
};

enum kernel_format {
    KERNEL_UNKNOWN,
    KERNEL_BZIMAGE,   /* Linux boot protocol, "HdrS" setup header */
    KERNEL_ELF64,     /* ELF64 vmlinux, entered through the 64-bit protocol */
    KERNEL_MULTIBOOT, /* multiboot v1 header in the first 8 KiB */
};

/* What to load. initrds is a list of nfiles paths (for multiboot, each with
 * optional arguments after a space: "path args", as QEMU's -initrd). */
struct boot_params_in {
    const char *kernel_path;
    const char *cmdline; /* --append, may be NULL */
    const char *const *initrds;
    unsigned ninitrds;
    unsigned ncpus;
    uint64_t acpi_rsdp; /* guest-physical RSDP address for the zero page, 0 if none */
    enum kernel_decompress decompress; /* bzImage only; ignored for other formats */
};

/* A whole file read into memory. */
struct boot_file {
    uint8_t *data;
    size_t size;
    const char *path;
};

/* Read a file whole; on failure log "cannot read PATH: reason" and return a
 * negative errno. */
int boot_file_read(const char *path, struct boot_file *f);
void boot_file_free(struct boot_file *f);

enum kernel_format boot_detect_format(const uint8_t *data, size_t size);
const char *boot_format_name(enum kernel_format fmt);

/* Detect and load; fill entry. Returns 0 or a negative errno with one
 * message naming the problem logged. */
int boot_load(struct guest_memory *mem, const struct boot_params_in *in, struct boot_entry *entry);

/* Flat segments for an entry state (shared by the loaders). */
void boot_flat_segments(struct boot_entry *entry, int long_mode, uint16_t cs_sel, uint16_t ds_sel);

/* Also shared by the loaders: a + b, saturating at UINT64_MAX; whether
 * [start, end) is non-empty and lies in one RAM region; RAM in MiB for
 * messages. */
uint64_t boot_sat_add(uint64_t a, uint64_t b);
bool boot_ram_covers(const struct guest_memory *mem, uint64_t start, uint64_t end);
unsigned long long boot_ram_mib(const struct guest_memory *mem);

#endif
