/* Linux x86 boot protocol loader (Documentation/arch/x86/boot.rst, "64-bit
 * Boot Protocol").
 *
 * A bzImage is a real-mode setup block (boot sector + setup_sects sectors,
 * carrying the setup header at 0x1f1) followed by the protected-mode kernel.
 * xuni never runs the real-mode code: it copies the setup header into a
 * zeroed zero page, loads the protected-mode part high, and enters it at its
 * 64-bit entry (load address + 0x200) in long mode, as a 64-bit boot loader
 * does. An ELF64 vmlinux is loaded segment by segment at its physical
 * addresses and given a synthetic setup header, as other VMMs do.
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

#include <elf.h>
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "boot/linux_params.h"
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

/* Protocol 2.10 added pref_address and init_size. */
#define LINUX_PROTO_MIN  0x0206
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

static uint64_t sat_add(uint64_t a, uint64_t b)
{
    return a > UINT64_MAX - b ? UINT64_MAX : a + b;
}

static unsigned long long ram_mib(const struct guest_memory *mem)
{
    return (unsigned long long)(mem->ram_size >> 20);
}

static bool ram_covers(const struct guest_memory *mem, uint64_t start, uint64_t end)
{
    return end > start && guest_memory_ptr(mem, start, end - start) != NULL;
}

static const char *proto_str(uint16_t version, char *buf, size_t len)
{
    snprintf(buf, len, "%u.%02x", version >> 8, version & 0xff);
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
        bool pref_ok = pref >= LAYOUT_HIGH_MEM_START && !(pref & (align - 1)) &&
                       ram_covers(mem, pref, sat_add(pref, payload > init ? payload : init));
        load = pref_ok ? pref : align_up(base, align);
    }
    /* The 64-bit decompressor never runs below LOAD_PHYSICAL_ADDR, which the
     * header publishes as pref_address; a non-relocatable kernel moves there
     * unconditionally. Its init_size counts from that runtime start. */
    uint64_t runtime = load > pref ? load : pref;
    uint64_t end = sat_add(load, payload);
    if (sat_add(runtime, init) > end)
        end = sat_add(runtime, init);
    if (!ram_covers(mem, load, end)) {
        log_error("%s: guest memory (%llu MiB) is too small for the kernel, which needs RAM "
                  "from 0x%llx to 0x%llx (%llu MiB; init_size %llu KiB)",
                  path, ram_mib(mem), (unsigned long long)load, (unsigned long long)end,
                  (unsigned long long)((end >> 20) + !!(end & (MIB - 1))),
                  (unsigned long long)(init >> 10));
        return -ENOMEM;
    }
    img->load = load;
    img->end = end;
    img->entry = load + LINUX_ENTRY64_OFFSET;
    return 0;
}

static int bzimage_load(struct guest_memory *mem, const struct boot_file *k,
                        struct linux_boot_params *bp, struct linux_image *img)
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
    r = bzimage_place(mem, k->path, h, payload, img);
    if (r < 0)
        return r;
    r = guest_memory_write(mem, img->load, k->data + kernel_off, payload);
    if (r < 0)
        return r;
    /* A relocating loader must tell the kernel where it put it. */
    h->code32_start = (uint32_t)img->load;
    return 0;
}

/* --- ELF64 vmlinux --- */

static int elf_check_header(const struct boot_file *k, Elf64_Ehdr *eh)
{
    if (k->size < sizeof(*eh)) {
        log_error("%s: file is only %zu bytes, too small for an ELF header", k->path, k->size);
        return -EINVAL;
    }
    memcpy(eh, k->data, sizeof(*eh));
    if (memcmp(eh->e_ident, ELFMAG, SELFMAG) != 0) {
        log_error("%s: not an ELF file", k->path);
        return -EINVAL;
    }
    if (eh->e_ident[EI_CLASS] != ELFCLASS64 || eh->e_ident[EI_DATA] != ELFDATA2LSB) {
        log_error("%s: not a little-endian 64-bit ELF file", k->path);
        return -EINVAL;
    }
    if (eh->e_machine != EM_X86_64) {
        log_error("%s: ELF machine %u is not x86-64", k->path, eh->e_machine);
        return -EINVAL;
    }
    if (eh->e_type != ET_EXEC) {
        log_error("%s: ELF type %u is not an executable (ET_EXEC)", k->path, eh->e_type);
        return -EINVAL;
    }
    if (eh->e_phentsize != sizeof(Elf64_Phdr) || eh->e_phnum == 0 || eh->e_phoff > k->size ||
        (uint64_t)eh->e_phnum * sizeof(Elf64_Phdr) > k->size - eh->e_phoff) {
        log_error("%s: ELF program headers (%u at 0x%llx) do not lie inside the file (%zu bytes)",
                  k->path, eh->e_phnum, (unsigned long long)eh->e_phoff, k->size);
        return -EINVAL;
    }
    return 0;
}

static void elf_phdr(const struct boot_file *k, const Elf64_Ehdr *eh, unsigned i, Elf64_Phdr *ph)
{
    memcpy(ph, k->data + eh->e_phoff + (uint64_t)i * sizeof(*ph), sizeof(*ph));
}

static int elf_load_segment(struct guest_memory *mem, const struct boot_file *k, unsigned i,
                            const Elf64_Phdr *ph)
{
    if (ph->p_filesz > ph->p_memsz) {
        log_error("%s: ELF segment %u has more file bytes (0x%llx) than memory bytes (0x%llx)",
                  k->path, i, (unsigned long long)ph->p_filesz, (unsigned long long)ph->p_memsz);
        return -EINVAL;
    }
    if (ph->p_offset > k->size || ph->p_filesz > k->size - ph->p_offset) {
        log_error("%s: ELF segment %u (0x%llx bytes at file offset 0x%llx) does not lie inside "
                  "the file (%zu bytes)",
                  k->path, i, (unsigned long long)ph->p_filesz, (unsigned long long)ph->p_offset,
                  k->size);
        return -EINVAL;
    }
    uint64_t end = sat_add(ph->p_paddr, ph->p_memsz);
    if (ph->p_paddr < LAYOUT_HIGH_MEM_START) {
        log_error("%s: ELF segment %u at 0x%llx overlaps the boot area below 1 MiB", k->path, i,
                  (unsigned long long)ph->p_paddr);
        return -EINVAL;
    }
    uint8_t *dst =
        ram_covers(mem, ph->p_paddr, end) ? guest_memory_ptr(mem, ph->p_paddr, ph->p_memsz) : NULL;
    if (!dst) {
        log_error("%s: guest memory (%llu MiB) is too small for ELF segment %u at "
                  "0x%llx-0x%llx",
                  k->path, ram_mib(mem), i, (unsigned long long)ph->p_paddr,
                  (unsigned long long)end);
        return -ENOMEM;
    }
    memcpy(dst, k->data + ph->p_offset, ph->p_filesz);
    memset(dst + ph->p_filesz, 0, ph->p_memsz - ph->p_filesz);
    return 0;
}

/* e_entry of a vmlinux is physical; accept a virtual one through the
 * segment that holds it. */
static int elf_entry(const struct boot_file *k, const Elf64_Ehdr *eh, uint64_t *entry)
{
    Elf64_Phdr ph;
    for (unsigned i = 0; i < eh->e_phnum; i++) {
        elf_phdr(k, eh, i, &ph);
        if (ph.p_type == PT_LOAD && eh->e_entry - ph.p_paddr < ph.p_memsz) {
            *entry = eh->e_entry;
            return 0;
        }
    }
    for (unsigned i = 0; i < eh->e_phnum; i++) {
        elf_phdr(k, eh, i, &ph);
        if (ph.p_type == PT_LOAD && eh->e_entry - ph.p_vaddr < ph.p_memsz) {
            *entry = eh->e_entry - ph.p_vaddr + ph.p_paddr;
            return 0;
        }
    }
    log_error("%s: ELF entry point 0x%llx lies in no loadable segment", k->path,
              (unsigned long long)eh->e_entry);
    return -EINVAL;
}

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
    Elf64_Ehdr eh;
    Elf64_Phdr ph;
    int r = elf_check_header(k, &eh);
    if (r < 0)
        return r;
    uint64_t lo = UINT64_MAX, hi = 0;
    for (unsigned i = 0; i < eh.e_phnum; i++) {
        elf_phdr(k, &eh, i, &ph);
        if (ph.p_type != PT_LOAD || ph.p_memsz == 0)
            continue;
        r = elf_load_segment(mem, k, i, &ph);
        if (r < 0)
            return r;
        if (ph.p_paddr < lo)
            lo = ph.p_paddr;
        if (ph.p_paddr + ph.p_memsz > hi)
            hi = ph.p_paddr + ph.p_memsz;
    }
    if (hi == 0) {
        log_error("%s: ELF file has no loadable segment", k->path);
        return -EINVAL;
    }
    r = elf_entry(k, &eh, &img->entry);
    if (r < 0)
        return r;
    img->load = lo;
    img->end = hi;
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
                  ram_mib(mem), (unsigned long long)LAYOUT_CMDLINE);
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
                  in->initrds[0], n > 1 ? " and the other initrds" : "", ram_mib(mem),
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
                  ram_mib(mem));
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
        r = bzimage_load(mem, &k, &bp, &img);
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
        log_error("guest memory (%llu MiB) has no room for the zero page", ram_mib(mem));
        return r;
    }
    r = linux_write_entry_state(mem, img.entry, entry);
    if (r < 0)
        return r;
    log_info("%s: Linux kernel at 0x%llx-0x%llx, entry 0x%llx", path, (unsigned long long)img.load,
             (unsigned long long)img.end, (unsigned long long)img.entry);
    return 0;
}
