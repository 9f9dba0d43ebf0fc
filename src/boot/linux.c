/* Linux x86 boot protocol loader (Documentation/arch/x86/boot.rst, "64-bit
 * Boot Protocol").
 *
 * A bzImage is a real-mode setup block (boot sector + setup_sects sectors,
 * carrying the setup header at 0x1f1) followed by the protected-mode kernel.
 * xuni never runs the real-mode code: it copies the setup header into a
 * zeroed zero page, loads the protected-mode part high, and enters it at its
 * 64-bit entry (load address + 0x200) in long mode, as a 64-bit boot loader
 * does. An ELF64 vmlinux is loaded segment by segment at its physical
 * addresses (boot/vmlinux.h) and given a synthetic setup header, as other
 * VMMs do.
 *
 * By default a bzImage never runs its own decompressor either: the payload
 * its header names (payload_offset, payload_length; protocol 2.08) is
 * unpacked on the host (boot/decompress.h) and the vmlinux inside it loaded
 * like an ELF64 kernel, keeping the bzImage's own setup header; the guest
 * enters the uncompressed kernel's startup_64 with the same zero page.
 * Measured under QEMU TCG, a Debian kernel spends over half of its boot
 * decompressing itself. KERNEL_DECOMPRESS_GUEST, and images whose header
 * names no payload, take the classic path.
 *
 * Guest physical layout used here (all addresses from vm/layout.h):
 *   LAYOUT_BOOT_GDT   flat GDT with __BOOT_CS (0x10) and __BOOT_DS (0x18)
 *   LAYOUT_ZERO_PAGE  struct boot_params, RSI at entry
 *   LAYOUT_BOOT_PML4  PML4 -> PDPT -> 4 PDs: identity map of 0-4 GiB, 2 MiB pages
 *   LAYOUT_CMDLINE    the NUL-terminated command line
 *   >= 1 MiB          the kernel, then the initrd as high as initrd_addr_max allows
 *
 * Everything read from the file is bounds-checked against the file size, and
 * every guest address goes through guest_memory_ptr(), so a truncated or
 * lying header ends in one logged error, never an out-of-bounds access.
 */
#include "boot/linux.h"

#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "boot/decompress.h"
#include "boot/linux_params.h"
#include "boot/vmlinux.h"
#include "util/log.h"
#include "vm/e820.h"
#include "vm/layout.h"

#define LINUX_BOOT_CS 0x10
#define LINUX_BOOT_DS 0x18

#define X86_CR0_PE   (1ULL << 0)
#define X86_CR0_MP   (1ULL << 1)
#define X86_CR0_ET   (1ULL << 4)
#define X86_CR0_NE   (1ULL << 5)
#define X86_CR0_WP   (1ULL << 16)
#define X86_CR0_AM   (1ULL << 18)
#define X86_CR0_PG   (1ULL << 31)
#define X86_CR4_PAE  (1ULL << 5)
#define X86_EFER_LME (1ULL << 8)
#define X86_EFER_LMA (1ULL << 10)

#define PTE_PRESENT  (1ULL << 0)
#define PTE_WRITABLE (1ULL << 1)
#define PTE_PS       (1ULL << 7)

#define PAGE_SIZE_4K 0x1000ULL
#define PAGE_SIZE_2M 0x200000ULL
#define MIB          (1ULL << 20)

/* Protocol 2.08 added payload_offset and payload_length, 2.10 pref_address
 * and init_size. */
#define LINUX_PROTO_MIN  0x0206
#define LINUX_PROTO_2_08 0x0208
#define LINUX_PROTO_2_10 0x020a

/* Values of the synthetic header given to an ELF vmlinux. */
#define LINUX_ELF_VERSION      0x020f
#define LINUX_ELF_ALIGNMENT    0x1000000
#define LINUX_ELF_CMDLINE_SIZE 2047 /* x86 COMMAND_LINE_SIZE less the NUL */
#define LINUX_ELF_INITRD_MAX   0x7fffffff

/* initrd_addr_max of kernels that did not state one (protocol < 2.03). */
#define LINUX_INITRD_MAX_DEFAULT 0x37ffffffULL

/* Concatenated initramfs archives must each start 4-byte aligned. */
#define LINUX_INITRD_ALIGN 4

/* The 64-bit GDT: null, null, __BOOT_CS = 64-bit code (L=1), __BOOT_DS = flat
 * data. Accessed bits are preset so the CPU never writes the table. */
static const uint64_t linux_gdt[] = {
    0, 0, 0x00af9b000000ffffULL, /* G=1 L=1 P=1 DPL=0 S=1 type=0xb (code, read, accessed) */
    0x00cf93000000ffffULL,       /* G=1 D/B=1 P=1 DPL=0 S=1 type=0x3 (data, write, accessed) */
};

/* Where the kernel landed: the rest of the loader only needs these. */
struct linux_image {
    uint64_t load;  /* guest-physical load address */
    uint64_t end;   /* first byte above all memory the kernel claims early */
    uint64_t entry; /* 64-bit entry point */
};

static uint64_t align_up(uint64_t x, uint64_t a)
{
    return (x + a - 1) & ~(a - 1);
}

static const char *proto_str(uint16_t version, char *buf, size_t len)
{
    snprintf(buf, len, "%u.%02u", version >> 8, version & 0xff); /* 0x020f is 2.15 */
    return buf;
}

/* --- bzImage --- */

/* Validate the setup header and copy it into bp the way the 64-bit protocol
 * says: from 0x1f1 to 0x202 + the byte at 0x201 (the jump's offset). */
static int bzimage_read_header(const struct boot_file *k, struct linux_boot_params *bp)
{
    const uint8_t *d = k->data;
    uint32_t magic;
    uint16_t version;
    char proto[16];

    if (k->size < offsetof(struct linux_boot_params, hdr.version) + sizeof(version)) {
        log_error("%s: file is only %zu bytes, too small for a bzImage", k->path, k->size);
        return -EINVAL;
    }
    memcpy(&magic, d + offsetof(struct linux_boot_params, hdr.header), sizeof(magic));
    memcpy(&version, d + offsetof(struct linux_boot_params, hdr.version), sizeof(version));
    if (magic != LINUX_HDRS_MAGIC) {
        log_error("%s: not a bzImage (no \"HdrS\" setup header at 0x202)", k->path);
        return -EINVAL;
    }
    if (version < LINUX_PROTO_MIN) {
        log_error("%s: boot protocol %s is too old; xuni needs 2.06 or later", k->path,
                  proto_str(version, proto, sizeof(proto)));
        return -EINVAL;
    }
    size_t hdr_end = 0x202 + (size_t)d[0x201];
    size_t need = version >= LINUX_PROTO_2_10
                      ? offsetof(struct linux_boot_params, hdr.init_size) + 4
                      : offsetof(struct linux_boot_params, hdr.cmdline_size) + 4;
    if (hdr_end < need) {
        log_error("%s: setup header ends at 0x%zx, short of the fields boot protocol %s defines",
                  k->path, hdr_end, proto_str(version, proto, sizeof(proto)));
        return -EINVAL;
    }
    if (hdr_end > k->size) {
        log_error("%s: truncated: the setup header ends at 0x%zx but the file is %zu bytes",
                  k->path, hdr_end, k->size);
        return -EINVAL;
    }
    if (hdr_end > LINUX_ZERO_PAGE_HDR_END)
        hdr_end = LINUX_ZERO_PAGE_HDR_END;
    memcpy((uint8_t *)bp + LINUX_SETUP_HEADER_OFFSET, d + LINUX_SETUP_HEADER_OFFSET,
           hdr_end - LINUX_SETUP_HEADER_OFFSET);

    if (!(bp->hdr.xloadflags & LINUX_XLF_KERNEL_64)) {
        log_error("%s: kernel has no 64-bit entry point (xloadflags lacks XLF_KERNEL_64)", k->path);
        return -EINVAL;
    }
    return 0;
}

/* Choose the load address and check that the kernel and the memory it
 * decompresses into (init_size from its runtime start) lie in RAM. */
static int bzimage_place(const struct guest_memory *mem, const char *path,
                         const struct linux_setup_header *h, uint64_t payload,
                         struct linux_image *img)
{
    bool reloc = h->relocatable_kernel != 0;
    uint64_t align = h->kernel_alignment;
    uint64_t pref = h->version >= LINUX_PROTO_2_10 ? h->pref_address : 0;
    uint64_t init = h->version >= LINUX_PROTO_2_10 ? h->init_size : 0;
    uint64_t base =
        h->code32_start >= LAYOUT_HIGH_MEM_START ? h->code32_start : LAYOUT_HIGH_MEM_START;

    if (reloc && (align < PAGE_SIZE_4K || (align & (align - 1)) || align > (1ULL << 30))) {
        log_error("%s: kernel_alignment 0x%llx is not a power of two between 4 KiB and 1 GiB", path,
                  (unsigned long long)align);
        return -EINVAL;
    }
    uint64_t load = base;
    if (reloc) {
        bool pref_ok =
            pref >= LAYOUT_HIGH_MEM_START && !(pref & (align - 1)) &&
            boot_ram_covers(mem, pref, boot_sat_add(pref, payload > init ? payload : init));
        load = pref_ok ? pref : align_up(base, align);
    }
    /* The 64-bit decompressor never runs below LOAD_PHYSICAL_ADDR, which the
     * header publishes as pref_address; a non-relocatable kernel moves there
     * unconditionally. Its init_size counts from that runtime start. */
    uint64_t runtime = load > pref ? load : pref;
    uint64_t end = boot_sat_add(load, payload);
    if (boot_sat_add(runtime, init) > end)
        end = boot_sat_add(runtime, init);
    if (!boot_ram_covers(mem, load, end)) {
        log_error("%s: guest memory (%llu MiB) is too small for the kernel, which needs RAM "
                  "from 0x%llx to 0x%llx (%llu MiB; init_size %llu KiB)",
                  path, boot_ram_mib(mem), (unsigned long long)load, (unsigned long long)end,
                  (unsigned long long)((end >> 20) + !!(end & (MIB - 1))),
                  (unsigned long long)(init >> 10));
        return -ENOMEM;
    }
    img->load = load;
    img->end = end;
    img->entry = load + LINUX_ENTRY64_OFFSET;
    return 0;
}

/* --- bzImage, unpacked on the host --- */

/* Where the payload is and what it is, or 1 when the header names none. */
static int payload_locate(const struct boot_file *k, const struct linux_setup_header *h,
                          uint64_t kernel_off, const uint8_t **p, uint32_t *len,
                          enum decompress_format *fmt)
{
    char proto[16];
    if (h->version < LINUX_PROTO_2_08 || h->payload_length == 0) {
        log_info("%s: boot protocol %s names no compressed payload: the kernel's own code "
                 "runs as it is",
                 k->path, proto_str(h->version, proto, sizeof(proto)));
        return 1;
    }
    uint64_t off = kernel_off + h->payload_offset;
    *len = h->payload_length;
    *fmt = off < k->size ? decompress_detect(k->data + off, k->size - off) : DECOMPRESS_UNKNOWN;
    if (off > k->size || *len > k->size - off) {
        log_error("%s: corrupt %s payload: its %u bytes at file offset 0x%llx run past the end "
                  "of the file (%zu bytes)",
                  k->path, decompress_format_name(*fmt), *len, (unsigned long long)off, k->size);
        return -EINVAL;
    }
    *p = k->data + off;
    if (*fmt == DECOMPRESS_UNKNOWN) {
        uint8_t m[4] = {0};
        memcpy(m, *p, *len < 4 ? *len : 4);
        log_error("%s: the kernel payload's compression is unknown (it starts %02x %02x %02x "
                  "%02x); --kernel-decompress guest runs the kernel's own decompressor",
                  k->path, m[0], m[1], m[2], m[3]);
        return -EINVAL;
    }
    return 0;
}

/* Unpack the payload and load the vmlinux in it where it was linked: its
 * p_paddr are LOAD_PHYSICAL_ADDR (the header's pref_address) onwards, where
 * the kernel's own decompressor puts it when it does not randomize. The
 * uncompressed kernel finds its physical address from RIP, so nothing needs
 * relocating. Returns 1 (nothing done) when there is no payload to unpack. */
static int bzimage_unpack(struct guest_memory *mem, const struct boot_file *k,
                          const struct linux_setup_header *h, uint64_t kernel_off,
                          struct linux_image *img)
{
    const uint8_t *p = NULL;
    uint32_t len = 0;
    enum decompress_format fmt = DECOMPRESS_UNKNOWN;
    int r = payload_locate(k, h, kernel_off, &p, &len, &fmt);
    if (r != 0)
        return r;
    const char *name = decompress_format_name(fmt), *why = NULL;
    struct boot_file elf = {.path = NULL};
    r = decompress_payload(fmt, p, len, &elf.data, &elf.size, &why);
    if (r < 0) {
        log_error("%s: %s %s payload: %s", k->path, r == -ENOMEM ? "cannot unpack the" : "corrupt",
                  name, why);
        return r;
    }
    char path[PATH_MAX + 64];
    snprintf(path, sizeof(path), "%s (its %s payload, unpacked)", k->path, name);
    elf.path = path;
    struct vmlinux_image v;
    r = vmlinux_load(mem, &elf, &v);
    boot_file_free(&elf);
    if (r < 0)
        return r;
    /* init_size counts from the load address: bss, brk and the early page
     * tables live there, so the initrd goes above it. */
    uint64_t init = h->version >= LINUX_PROTO_2_10 ? h->init_size : 0;
    uint64_t end = boot_sat_add(v.lo, init) > v.hi ? boot_sat_add(v.lo, init) : v.hi;
    if (!boot_ram_covers(mem, v.lo, end)) {
        log_error("%s: guest memory (%llu MiB) is too small for the kernel, which needs RAM "
                  "from 0x%llx to 0x%llx (init_size %llu KiB)",
                  k->path, boot_ram_mib(mem), (unsigned long long)v.lo, (unsigned long long)end,
                  (unsigned long long)(init >> 10));
        return -ENOMEM;
    }
    img->load = v.lo;
    img->end = end;
    img->entry = v.entry;
    log_info("%s: unpacked the %s payload (%u bytes) on the host", k->path, name, len);
    return 0;
}

static int bzimage_load(struct guest_memory *mem, const struct boot_file *k,
                        enum kernel_decompress decompress, struct linux_boot_params *bp,
                        struct linux_image *img)
{
    int r = bzimage_read_header(k, bp);
    if (r < 0)
        return r;
    struct linux_setup_header *h = &bp->hdr;
    uint64_t setup_sects = h->setup_sects ? h->setup_sects : LINUX_DEFAULT_SETUP_SECTS;
    uint64_t kernel_off = (setup_sects + 1) * LINUX_SECTOR;
    if (kernel_off >= k->size) {
        log_error("%s: truncated: setup_sects %llu puts the kernel at offset 0x%llx but the file "
                  "is %zu bytes",
                  k->path, (unsigned long long)setup_sects, (unsigned long long)kernel_off,
                  k->size);
        return -EINVAL;
    }
    uint64_t payload = k->size - kernel_off;
    /* syssize counts the protected-mode code in 16-byte units, rounded up; a
     * signed image carries more after it, a whole one never less. */
    if ((uint64_t)h->syssize * 16 > payload + 15) {
        log_error("%s: truncated: the header says the kernel is %llu bytes but the file holds "
                  "%llu after the setup code",
                  k->path, (unsigned long long)h->syssize * 16, (unsigned long long)payload);
        return -EINVAL;
    }
    r = decompress == KERNEL_DECOMPRESS_HOST ? bzimage_unpack(mem, k, h, kernel_off, img) : 1;
    if (r < 0)
        return r;
    if (r > 0) { /* the kernel's own decompressor runs */
        r = bzimage_place(mem, k->path, h, payload, img);
        if (r < 0)
            return r;
        r = guest_memory_write(mem, img->load, k->data + kernel_off, payload);
        if (r < 0)
            return r;
    }
    /* A relocating loader must tell the kernel where it put it. */
    h->code32_start = (uint32_t)img->load;
    return 0;
}

/* --- ELF64 vmlinux --- */

/* The header a bzImage would have carried, for the kernel's boot code. */
static void elf_synthetic_header(struct linux_setup_header *h)
{
    h->boot_flag = LINUX_BOOT_FLAG;
    h->header = LINUX_HDRS_MAGIC;
    h->version = LINUX_ELF_VERSION;
    h->loadflags = LINUX_LOADED_HIGH;
    h->kernel_alignment = LINUX_ELF_ALIGNMENT;
    h->relocatable_kernel = 0;
    h->cmdline_size = LINUX_ELF_CMDLINE_SIZE;
    h->initrd_addr_max = LINUX_ELF_INITRD_MAX;
}

static int elf_load(struct guest_memory *mem, const struct boot_file *k,
                    struct linux_boot_params *bp, struct linux_image *img)
{
    struct vmlinux_image v;
    int r = vmlinux_load(mem, k, &v);
    if (r < 0)
        return r;
    img->load = v.lo;
    img->end = v.hi;
    img->entry = v.entry;
    elf_synthetic_header(&bp->hdr);
    return 0;
}

/* --- zero page, command line, initrd --- */

static void linux_fill_zero_page(const struct guest_memory *mem, const struct boot_params_in *in,
                                 struct linux_boot_params *bp)
{
    struct e820_entry table[E820_MAX_ENTRIES];
    _Static_assert(E820_MAX_ENTRIES <= LINUX_E820_MAX_ENTRIES, "e820 fits the zero page");

    bp->hdr.type_of_loader = LINUX_TYPE_OF_LOADER_UNDEFINED;
    bp->hdr.loadflags = (bp->hdr.loadflags | LINUX_CAN_USE_HEAP) & ~LINUX_QUIET_FLAG;
    /* Only the real-mode setup code uses the heap, and it never runs. */
    bp->hdr.heap_end_ptr = 0xfe00;
    bp->hdr.vid_mode = LINUX_VID_MODE_NORMAL;
    bp->acpi_rsdp_addr = in->acpi_rsdp;
    unsigned n = e820_build(mem, table);
    memcpy(bp->e820_table, table, n * sizeof(table[0]));
    bp->e820_entries = (uint8_t)n;
}

static int linux_load_cmdline(struct guest_memory *mem, const char *path, const char *cmdline,
                              struct linux_boot_params *bp)
{
    const char *s = cmdline ? cmdline : "";
    size_t len = strlen(s);
    size_t max = bp->hdr.cmdline_size;
    if (max > LAYOUT_CMDLINE_MAX - 1)
        max = LAYOUT_CMDLINE_MAX - 1;
    if (len > max) {
        log_warn("%s: command line is %zu bytes; truncated to the kernel's limit of %zu", path, len,
                 max);
        len = max;
    }
    char *dst = guest_memory_ptr(mem, LAYOUT_CMDLINE, len + 1);
    if (!dst) {
        log_error("guest memory (%llu MiB) has no room for the command line at 0x%llx",
                  boot_ram_mib(mem), (unsigned long long)LAYOUT_CMDLINE);
        return -ENOMEM;
    }
    memcpy(dst, s, len);
    dst[len] = '\0';
    bp->hdr.cmd_line_ptr = (uint32_t)LAYOUT_CMDLINE;
    bp->ext_cmd_line_ptr = 0;
    return 0;
}

/* Highest 4 KiB-aligned start for total bytes ending at or below limit and
 * starting at or above floor; 0 if there is none. */
static uint64_t initrd_place(uint64_t total, uint64_t floor, uint64_t limit)
{
    if (total > limit)
        return 0;
    uint64_t start = (limit - total) & ~(PAGE_SIZE_4K - 1);
    return start >= floor ? start : 0;
}

static int initrd_copy(struct guest_memory *mem, const struct boot_file *files, unsigned n,
                       uint64_t start, uint64_t total)
{
    uint8_t *dst = guest_memory_ptr(mem, start, total);
    if (!dst)
        return -EFAULT;
    uint64_t off = 0;
    for (unsigned i = 0; i < n; i++) {
        uint64_t aligned = align_up(off, LINUX_INITRD_ALIGN);
        memset(dst + off, 0, aligned - off);
        memcpy(dst + aligned, files[i].data, files[i].size);
        off = aligned + files[i].size;
    }
    return 0;
}

/* Read the initrds and put them, concatenated (each 4-byte aligned, as
 * initramfs wants for several cpio archives), as high as allowed. */
static int linux_load_initrds(struct guest_memory *mem, const struct boot_params_in *in,
                              uint64_t kernel_end, struct linux_boot_params *bp)
{
    unsigned n = in->ninitrds;
    if (n == 0)
        return 0;
    struct boot_file *files = calloc(n, sizeof(*files));
    if (!files)
        return -ENOMEM;
    int r = 0;
    uint64_t total = 0;
    for (unsigned i = 0; i < n; i++) {
        r = boot_file_read(in->initrds[i], &files[i]);
        if (r < 0)
            goto out;
        total = align_up(total, LINUX_INITRD_ALIGN) + files[i].size;
    }
    uint64_t limit = bp->hdr.initrd_addr_max ? (uint64_t)bp->hdr.initrd_addr_max + 1
                                             : LINUX_INITRD_MAX_DEFAULT + 1;
    if (limit > guest_memory_low_end(mem))
        limit = guest_memory_low_end(mem);
    uint64_t floor = align_up(kernel_end, PAGE_SIZE_4K);
    uint64_t start = initrd_place(total, floor, limit);
    if (total && !start) {
        log_error("%s%s: guest memory (%llu MiB) is too small for the initrd (%llu KiB), which "
                  "must lie between the kernel's end at 0x%llx and 0x%llx",
                  in->initrds[0], n > 1 ? " and the other initrds" : "", boot_ram_mib(mem),
                  (unsigned long long)((total + 1023) >> 10), (unsigned long long)floor,
                  (unsigned long long)limit);
        r = -ENOMEM;
        goto out;
    }
    if (total) {
        r = initrd_copy(mem, files, n, start, total);
        if (r < 0)
            goto out;
    }
    bp->hdr.ramdisk_image = (uint32_t)start;
    bp->ext_ramdisk_image = (uint32_t)(start >> 32);
    bp->hdr.ramdisk_size = (uint32_t)total;
    bp->ext_ramdisk_size = (uint32_t)(total >> 32);
    log_info("initrd: %llu bytes at 0x%llx", (unsigned long long)total, (unsigned long long)start);
out:
    for (unsigned i = 0; i < n; i++)
        boot_file_free(&files[i]);
    free(files);
    return r;
}

/* --- entry state --- */

static int linux_write_page_tables(struct guest_memory *mem)
{
    uint64_t *pml4 = guest_memory_ptr(mem, LAYOUT_BOOT_PML4, PAGE_SIZE_4K);
    uint64_t *pdpt = guest_memory_ptr(mem, LAYOUT_BOOT_PDPT, PAGE_SIZE_4K);
    uint64_t *pd = guest_memory_ptr(mem, LAYOUT_BOOT_PD, 4 * PAGE_SIZE_4K);
    if (!pml4 || !pdpt || !pd)
        return -EFAULT;
    memset(pml4, 0, PAGE_SIZE_4K);
    memset(pdpt, 0, PAGE_SIZE_4K);
    pml4[0] = LAYOUT_BOOT_PDPT | PTE_PRESENT | PTE_WRITABLE;
    for (uint64_t i = 0; i < 4; i++)
        pdpt[i] = (LAYOUT_BOOT_PD + i * PAGE_SIZE_4K) | PTE_PRESENT | PTE_WRITABLE;
    for (uint64_t i = 0; i < 4 * 512; i++)
        pd[i] = (i * PAGE_SIZE_2M) | PTE_PRESENT | PTE_WRITABLE | PTE_PS;
    return 0;
}

static int linux_write_entry_state(struct guest_memory *mem, uint64_t rip, struct boot_entry *entry)
{
    int r = guest_memory_write(mem, LAYOUT_BOOT_GDT, linux_gdt, sizeof(linux_gdt));
    if (r == 0)
        r = linux_write_page_tables(mem);
    if (r < 0) {
        log_error("guest memory (%llu MiB) has no room for the boot GDT and page tables",
                  boot_ram_mib(mem));
        return r;
    }
    memset(entry, 0, sizeof(*entry));
    entry->mode = BOOT_MODE_LONG64;
    entry->rip = rip;
    entry->rsi = LAYOUT_ZERO_PAGE;
    entry->rsp = LAYOUT_BOOT_STACK;
    /* Linux's own CR0_STATE. */
    entry->cr0 =
        X86_CR0_PE | X86_CR0_MP | X86_CR0_ET | X86_CR0_NE | X86_CR0_WP | X86_CR0_AM | X86_CR0_PG;
    entry->cr3 = LAYOUT_BOOT_PML4;
    entry->cr4 = X86_CR4_PAE;
    entry->efer = X86_EFER_LME | X86_EFER_LMA;
    entry->gdt_base = LAYOUT_BOOT_GDT;
    entry->gdt_limit = sizeof(linux_gdt) - 1;
    boot_flat_segments(entry, 1, LINUX_BOOT_CS, LINUX_BOOT_DS);
    return 0;
}

int linux_load(struct guest_memory *mem, const struct boot_file *kernel, enum kernel_format fmt,
               const struct boot_params_in *in, struct boot_entry *entry)
{
    struct linux_boot_params bp;
    struct linux_image img;
    struct boot_file k = *kernel;
    int r;

    if (!k.path)
        k.path = "kernel";
    const char *path = k.path;
    memset(&bp, 0, sizeof(bp));
    switch (fmt) {
    case KERNEL_BZIMAGE:
        r = bzimage_load(mem, &k, in->decompress, &bp, &img);
        break;
    case KERNEL_ELF64:
        r = elf_load(mem, &k, &bp, &img);
        break;
    default:
        log_error("%s: not a Linux kernel (bzImage or ELF64 vmlinux)", path);
        r = -EINVAL;
        break;
    }
    if (r < 0)
        return r;
    linux_fill_zero_page(mem, in, &bp);
    r = linux_load_cmdline(mem, path, in->cmdline, &bp);
    if (r < 0)
        return r;
    r = linux_load_initrds(mem, in, img.end, &bp);
    if (r < 0)
        return r;
    r = guest_memory_write(mem, LAYOUT_ZERO_PAGE, &bp, sizeof(bp));
    if (r < 0) {
        log_error("guest memory (%llu MiB) has no room for the zero page", boot_ram_mib(mem));
        return r;
    }
    r = linux_write_entry_state(mem, img.entry, entry);
    if (r < 0)
        return r;
    log_info("%s: Linux kernel at 0x%llx-0x%llx, entry 0x%llx", path, (unsigned long long)img.load,
             (unsigned long long)img.end, (unsigned long long)img.entry);
    return 0;
}
