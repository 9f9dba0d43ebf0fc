/* Multiboot v1 loader (https://www.gnu.org/software/grub/manual/multiboot/).
 *
 * Layout in guest RAM, as QEMU does it: the kernel where its program headers
 * (or a.out-kludge fields) ask; the info structure with its memory map,
 * module list and strings at 0x9000 unless the kernel sits there, else on
 * the first page after the kernel; modules page-aligned after that.
 */
#include "boot/multiboot.h"

#include <elf.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/log.h"
#include "util/bytes.h"
#include "vm/e820.h"
#include "vm/layout.h"

#define MB_FLAG_PAGE_ALIGN  (1u << 0)
#define MB_FLAG_MEMORY_INFO (1u << 1)
#define MB_FLAG_VIDEO_MODE  (1u << 2)
#define MB_FLAG_AOUT_KLUDGE (1u << 16)
#define MB_FLAGS_SUPPORTED  (MB_FLAG_PAGE_ALIGN | MB_FLAG_MEMORY_INFO | MB_FLAG_VIDEO_MODE)

#define MBI_MEM     (1u << 0)
#define MBI_CMDLINE (1u << 2)
#define MBI_MODS    (1u << 3)
#define MBI_MMAP    (1u << 6)
#define MBI_LOADER  (1u << 9)

struct mb_info {
    uint32_t flags, mem_lower, mem_upper, boot_device, cmdline, mods_count, mods_addr;
    uint32_t syms[4];
    uint32_t mmap_length, mmap_addr, drives_length, drives_addr, config_table;
    uint32_t boot_loader_name, apm_table;
    uint32_t vbe_control_info, vbe_mode_info;
    uint16_t vbe_mode, vbe_interface_seg, vbe_interface_off, vbe_interface_len;
} __attribute__((packed));

struct mb_mmap_entry {
    uint32_t size; /* of the rest of the entry: 20 */
    uint64_t addr, len;
    uint32_t type;
} __attribute__((packed));

struct mb_module {
    uint32_t mod_start, mod_end, string, reserved;
} __attribute__((packed));

/* A loaded image's extent, to keep the info and modules clear of it. */
struct mb_extent {
    uint64_t lo, hi;
};

static uint64_t align_up(uint64_t v, uint64_t a)
{
    return (v + a - 1) & ~(a - 1);
}

long multiboot_find_header(const uint8_t *data, size_t size, struct multiboot_header *hdr)
{
    size_t limit = size < MULTIBOOT_SEARCH ? size : MULTIBOOT_SEARCH;
    for (size_t off = 0; off + 12 <= limit; off += 4) {
        if (get_le32(data + off) != MULTIBOOT_HEADER_MAGIC)
            continue;
        uint32_t flags = get_le32(data + off + 4), sum = get_le32(data + off + 8);
        if (MULTIBOOT_HEADER_MAGIC + flags + sum != 0)
            continue;
        memset(hdr, 0, sizeof(*hdr));
        size_t have = size - off < sizeof(*hdr) ? size - off : sizeof(*hdr);
        memcpy(hdr, data + off, have);
        return (long)off;
    }
    return -1;
}

/* Copy file bytes [off, off+filesz) to gpa and zero up to memsz. */
static int load_segment(struct guest_memory *mem, const struct boot_file *k, uint64_t gpa,
                        uint64_t off, uint64_t filesz, uint64_t memsz, struct mb_extent *ext)
{
    if (filesz > memsz || off > k->size || filesz > k->size - off) {
        log_error("%s: a segment lies outside the file", k->path);
        return -ENOEXEC;
    }
    if (memsz == 0)
        return 0;
    uint8_t *dst = gpa + memsz > gpa && gpa + memsz <= LAYOUT_MMIO_HOLE_END
                       ? guest_memory_ptr(mem, gpa, memsz)
                       : NULL;
    if (!dst) {
        log_error("%s: segment at %#llx (%llu bytes) does not fit in guest memory (%llu MiB)",
                  k->path, (unsigned long long)gpa, (unsigned long long)memsz,
                  (unsigned long long)(mem->ram_size >> 20));
        return -ENOMEM;
    }
    memcpy(dst, k->data + off, filesz);
    memset(dst + filesz, 0, memsz - filesz);
    if (gpa < ext->lo)
        ext->lo = gpa;
    if (gpa + memsz > ext->hi)
        ext->hi = gpa + memsz;
    return 0;
}

static int load_aout_kludge(struct guest_memory *mem, const struct boot_file *k, long hdr_off,
                            const struct multiboot_header *h, struct mb_extent *ext,
                            uint32_t *entry)
{
    if (h->header_addr < h->load_addr || h->header_addr - h->load_addr > (uint64_t)hdr_off ||
        (h->load_end_addr && h->load_end_addr < h->load_addr) ||
        (h->bss_end_addr && h->bss_end_addr < (h->load_end_addr ? h->load_end_addr : 0))) {
        log_error("%s: inconsistent multiboot address fields", k->path);
        return -ENOEXEC;
    }
    uint64_t off = hdr_off - (h->header_addr - h->load_addr);
    uint64_t filesz = h->load_end_addr ? h->load_end_addr - h->load_addr : k->size - off;
    if (filesz > k->size - off) {
        log_error("%s: multiboot load_end_addr lies beyond the end of the file", k->path);
        return -ENOEXEC;
    }
    uint64_t memsz = h->bss_end_addr ? h->bss_end_addr - h->load_addr : filesz;
    *entry = h->entry_addr;
    return load_segment(mem, k, h->load_addr, off, filesz, memsz, ext);
}

/* ELF32 or ELF64 program headers; PT_LOAD at p_paddr. */
static int load_elf(struct guest_memory *mem, const struct boot_file *k, struct mb_extent *ext,
                    uint32_t *entry)
{
    const uint8_t *d = k->data;
    if (k->size < EI_NIDENT || memcmp(d, ELFMAG, SELFMAG) != 0) {
        log_error("%s: multiboot kernel is neither ELF nor uses the a.out kludge (flag 16)",
                  k->path);
        return -ENOEXEC;
    }
    int is64 = d[EI_CLASS] == ELFCLASS64;
    size_t ehsz = is64 ? sizeof(Elf64_Ehdr) : sizeof(Elf32_Ehdr);
    if ((!is64 && d[EI_CLASS] != ELFCLASS32) || d[EI_DATA] != ELFDATA2LSB || k->size < ehsz) {
        log_error("%s: unsupported ELF class or byte order", k->path);
        return -ENOEXEC;
    }
    uint64_t phoff, e_entry;
    unsigned phnum, phentsize, machine;
    if (is64) {
        const Elf64_Ehdr *e = (const Elf64_Ehdr *)d;
        phoff = e->e_phoff, phnum = e->e_phnum, phentsize = e->e_phentsize;
        e_entry = e->e_entry, machine = e->e_machine;
    } else {
        const Elf32_Ehdr *e = (const Elf32_Ehdr *)d;
        phoff = e->e_phoff, phnum = e->e_phnum, phentsize = e->e_phentsize;
        e_entry = e->e_entry, machine = e->e_machine;
    }
    size_t want = is64 ? sizeof(Elf64_Phdr) : sizeof(Elf32_Phdr);
    if ((machine != EM_386 && machine != EM_X86_64) || phentsize < want || phnum == 0 ||
        phoff > k->size || (uint64_t)phnum * phentsize > k->size - phoff) {
        log_error("%s: bad ELF header (machine %u, %u program headers)", k->path, machine, phnum);
        return -ENOEXEC;
    }
    int64_t entry_delta = 0;
    int entry_found = 0;
    for (unsigned i = 0; i < phnum; i++) {
        const uint8_t *p = d + phoff + (uint64_t)i * phentsize;
        uint64_t type, off, vaddr, paddr, filesz, memsz;
        if (is64) {
            Elf64_Phdr ph;
            memcpy(&ph, p, sizeof(ph));
            type = ph.p_type, off = ph.p_offset, vaddr = ph.p_vaddr, paddr = ph.p_paddr;
            filesz = ph.p_filesz, memsz = ph.p_memsz;
        } else {
            Elf32_Phdr ph;
            memcpy(&ph, p, sizeof(ph));
            type = ph.p_type, off = ph.p_offset, vaddr = ph.p_vaddr, paddr = ph.p_paddr;
            filesz = ph.p_filesz, memsz = ph.p_memsz;
        }
        if (type != PT_LOAD)
            continue;
        int r = load_segment(mem, k, paddr, off, filesz, memsz, ext);
        if (r < 0)
            return r;
        /* The entry may be given as a virtual address: translate it through
         * the segment that holds it. */
        if (!entry_found && e_entry - paddr < memsz) {
            entry_found = 1, entry_delta = 0;
        } else if (!entry_found && e_entry - vaddr < memsz) {
            entry_found = 1, entry_delta = (int64_t)paddr - (int64_t)vaddr;
        }
    }
    if (ext->hi == 0) {
        log_error("%s: ELF file has nothing to load", k->path);
        return -ENOEXEC;
    }
    *entry = (uint32_t)(e_entry + entry_delta);
    return 0;
}

static int overlaps(uint64_t lo, uint64_t hi, const struct mb_extent *e)
{
    return lo < e->hi && e->lo < hi;
}

/* Split "path args" into the path (returned, malloc'd) and keep the whole
 * string as the module's command line, as QEMU does. */
static char *module_path(const char *item)
{
    const char *sp = strchr(item, ' ');
    size_t n = sp ? (size_t)(sp - item) : strlen(item);
    char *p = malloc(n + 1);
    if (p) {
        memcpy(p, item, n);
        p[n] = 0;
    }
    return p;
}

static int put(struct guest_memory *mem, uint64_t gpa, const void *src, size_t len)
{
    if (guest_memory_write(mem, gpa, src, len) < 0) {
        log_error("multiboot: guest memory (%llu MiB) is too small for the boot information",
                  (unsigned long long)(mem->ram_size >> 20));
        return -ENOMEM;
    }
    return 0;
}

static int load_modules(struct guest_memory *mem, const struct boot_params_in *in, uint64_t *next,
                        struct mb_module *mods)
{
    for (unsigned i = 0; i < in->ninitrds; i++) {
        char *path = module_path(in->initrds[i]);
        if (!path)
            return -ENOMEM;
        struct boot_file f;
        int r = boot_file_read(path, &f);
        if (r < 0) {
            free(path);
            return r;
        }
        uint64_t at = align_up(*next, 4096);
        if (at + f.size > LAYOUT_MMIO_HOLE_START || guest_memory_write(mem, at, f.data, f.size)) {
            log_error("%s: module of %zu bytes does not fit in guest memory (%llu MiB)", path,
                      f.size, (unsigned long long)(mem->ram_size >> 20));
            boot_file_free(&f);
            free(path);
            return -ENOMEM;
        }
        mods[i].mod_start = (uint32_t)at;
        mods[i].mod_end = (uint32_t)(at + f.size);
        *next = at + f.size;
        boot_file_free(&f);
        free(path);
    }
    return 0;
}

static int write_info(struct guest_memory *mem, const struct boot_params_in *in,
                      const struct mb_extent *ext, uint32_t *info_addr)
{
    struct e820_entry e820[E820_MAX_ENTRIES];
    unsigned ne = e820_build(mem, e820);
    const char *append = in->cmdline && in->cmdline[0] ? in->cmdline : NULL;
    size_t cmdlen = strlen(in->kernel_path) + (append ? strlen(append) + 1 : 0) + 1;
    char *cmdline = malloc(cmdlen);
    if (!cmdline)
        return -ENOMEM;
    snprintf(cmdline, cmdlen, "%s%s%s", in->kernel_path, append ? " " : "", append ? append : "");

    /* Everything but the modules' data, in one block. */
    static const char loader_name[] = "xuni";
    size_t off_mmap = sizeof(struct mb_info);
    size_t off_mods = off_mmap + ne * sizeof(struct mb_mmap_entry);
    size_t off_strings = off_mods + in->ninitrds * sizeof(struct mb_module);
    size_t total = off_strings + cmdlen + sizeof(loader_name);
    for (unsigned i = 0; i < in->ninitrds; i++)
        total += strlen(in->initrds[i]) + 1;

    uint64_t base = LAYOUT_MULTIBOOT_INFO;
    if (overlaps(base, base + total, ext) || base + total > LAYOUT_LOW_RAM_END)
        base = align_up(ext->hi, 4096);
    /* Modules go on the pages after the kernel and the info block. */
    uint64_t next = base + total > ext->hi ? base + total : ext->hi;

    struct mb_module mods[MULTIBOOT_MAX_MODULES];
    int r = load_modules(mem, in, &next, mods);
    if (r < 0)
        goto out;

    struct mb_info info = {
        .flags = MBI_MEM | MBI_CMDLINE | MBI_MODS | MBI_MMAP | MBI_LOADER,
        .mem_lower = (uint32_t)(LAYOUT_LOW_RAM_END / 1024),
        .mem_upper = (uint32_t)((guest_memory_low_end(mem) - LAYOUT_HIGH_MEM_START) / 1024),
        .mods_count = in->ninitrds,
        .mods_addr = (uint32_t)(base + off_mods),
        .mmap_length = (uint32_t)(ne * sizeof(struct mb_mmap_entry)),
        .mmap_addr = (uint32_t)(base + off_mmap),
    };
    uint64_t s = base + off_strings;
    info.cmdline = (uint32_t)s;
    if ((r = put(mem, s, cmdline, cmdlen)) < 0)
        goto out;
    s += cmdlen;
    info.boot_loader_name = (uint32_t)s;
    if ((r = put(mem, s, loader_name, sizeof(loader_name))) < 0)
        goto out;
    s += sizeof(loader_name);
    for (unsigned i = 0; i < in->ninitrds; i++) {
        size_t n = strlen(in->initrds[i]) + 1;
        mods[i].string = (uint32_t)s;
        mods[i].reserved = 0;
        if ((r = put(mem, s, in->initrds[i], n)) < 0)
            goto out;
        s += n;
    }
    for (unsigned i = 0; i < ne; i++) {
        struct mb_mmap_entry m = {20, e820[i].addr, e820[i].size, e820[i].type};
        if ((r = put(mem, base + off_mmap + i * sizeof(m), &m, sizeof(m))) < 0)
            goto out;
    }
    if ((r = put(mem, base + off_mods, mods, in->ninitrds * sizeof(struct mb_module))) < 0)
        goto out;
    if ((r = put(mem, base, &info, sizeof(info))) < 0)
        goto out;
    *info_addr = (uint32_t)base;
out:
    free(cmdline);
    return r;
}

static int write_gdt(struct guest_memory *mem, struct boot_entry *entry)
{
    /* null, null, 0x10: flat 32-bit code, 0x18: flat data. */
    static const uint64_t gdt[] = {0, 0, 0x00cf9b000000ffffULL, 0x00cf93000000ffffULL};
    if (guest_memory_write(mem, LAYOUT_BOOT_GDT, gdt, sizeof(gdt)) < 0)
        return -ENOMEM;
    entry->gdt_base = LAYOUT_BOOT_GDT;
    entry->gdt_limit = sizeof(gdt) - 1;
    boot_flat_segments(entry, 0, 0x10, 0x18);
    return 0;
}

int multiboot_load(struct guest_memory *mem, const struct boot_file *k,
                   const struct boot_params_in *in, struct boot_entry *entry)
{
    struct multiboot_header h;
    long off = multiboot_find_header(k->data, k->size, &h);
    if (off < 0)
        return -ENOEXEC;
    uint32_t unknown = h.flags & 0xffff & ~MB_FLAGS_SUPPORTED;
    if (unknown) {
        log_error("%s: multiboot header requires features xuni lacks (flags %#x)", k->path,
                  unknown);
        return -ENOEXEC;
    }
    if (in->ninitrds > MULTIBOOT_MAX_MODULES) {
        log_error("%s: too many modules (%u, at most %d)", k->path, in->ninitrds,
                  MULTIBOOT_MAX_MODULES);
        return -E2BIG;
    }
    if ((h.flags & MB_FLAG_AOUT_KLUDGE) && (size_t)off + 32 > k->size) {
        log_error("%s: multiboot header is truncated", k->path);
        return -ENOEXEC;
    }
    struct mb_extent ext = {UINT64_MAX, 0};
    uint32_t eip;
    int r = (h.flags & MB_FLAG_AOUT_KLUDGE) ? load_aout_kludge(mem, k, off, &h, &ext, &eip)
                                            : load_elf(mem, k, &ext, &eip);
    if (r < 0)
        return r;
    uint32_t info;
    r = write_info(mem, in, &ext, &info);
    if (r < 0)
        return r;
    r = write_gdt(mem, entry);
    if (r < 0)
        return r;
    entry->mode = BOOT_MODE_PROTECTED32;
    entry->rip = eip;
    entry->rax = MULTIBOOT_BOOTLOADER_MAGIC;
    entry->rbx = info;
    entry->cr0 = 0x11; /* PE | ET */
    return 0;
}
