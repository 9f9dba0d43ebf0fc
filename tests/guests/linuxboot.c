/* linuxboot: a bzImage entered through the Linux 64-bit boot protocol
 * (Documentation/arch/x86/boot.rst, "64-bit Boot Protocol"), so that the
 * loader is tested by what a kernel finds at its entry, not only by unit
 * tests. Run with --mem 64M --append "console=ttyS0 linuxboot-arg"
 * --initrd build/guests/linuxboot-initrd.bin.
 *
 * linuxboot-head.S enters linuxboot_main() at the link address
 * (pref_address); it checks the CPU state the protocol promises, the zero
 * page (setup header, command line, e820, initrd, ACPI RSDP) and the
 * loader's identity map, and prints what it found. No IDT: the loader's GDT
 * stays loaded, so an exception here ends in a triple fault, which xuni
 * reports. The initrd is 320 lines "initrd 00000001\n" .. "initrd
 * 00000320\n" (5120 bytes; guests.mk).
 */
#include "guest.h"
#include "linuxboot.h"

#define BOOT_CS 0x10 /* __BOOT_CS */
#define BOOT_DS 0x18 /* __BOOT_DS */

#define HDRS_MAGIC     0x53726448 /* "HdrS" */
#define BOOT_FLAG      0xaa55
#define LOADER_UNKNOWN 0xff /* type_of_loader of a loader without an assigned id */

#define EFER_LMA    (1u << 10)
#define RFLAGS_IF   (1u << 9)
#define E820_RAM    1
#define E820_MAX    128
#define ZERO_PAGE   4096
#define GIB         (1ULL << 30)
#define IDENTITY_TO (4 * GIB)

#define INITRD_LINES     320
#define INITRD_LINE_SIZE 16
#define INITRD_SIZE      (INITRD_LINES * INITRD_LINE_SIZE)

static const char want_cmdline[] = "console=ttyS0 linuxboot-arg";

struct setup_header {
    uint8_t setup_sects;
    uint16_t root_flags;
    uint32_t syssize;
    uint16_t ram_size, vid_mode, root_dev, boot_flag, jump;
    uint32_t header;
    uint16_t version;
    uint32_t realmode_swtch;
    uint16_t start_sys_seg, kernel_version;
    uint8_t type_of_loader, loadflags;
    uint16_t setup_move_size;
    uint32_t code32_start, ramdisk_image, ramdisk_size, bootsect_kludge;
    uint16_t heap_end_ptr;
    uint8_t ext_loader_ver, ext_loader_type;
    uint32_t cmd_line_ptr, initrd_addr_max, kernel_alignment;
    uint8_t relocatable_kernel, min_alignment;
    uint16_t xloadflags;
    uint32_t cmdline_size, hardware_subarch;
    uint64_t hardware_subarch_data;
    uint32_t payload_offset, payload_length;
    uint64_t setup_data, pref_address;
    uint32_t init_size, handover_offset, kernel_info_offset;
} __attribute__((packed));

struct e820_entry {
    uint64_t addr, size;
    uint32_t type;
} __attribute__((packed));

/* The zero page (Documentation/arch/x86/zero-page.rst): the fields read here. */
struct boot_params {
    uint8_t _pad0[0x070];
    uint64_t acpi_rsdp_addr; /* 0x070 */
    uint8_t _pad1[0x0c0 - 0x078];
    uint32_t ext_ramdisk_image; /* 0x0c0 */
    uint32_t ext_ramdisk_size;  /* 0x0c4 */
    uint32_t ext_cmd_line_ptr;  /* 0x0c8 */
    uint8_t _pad2[0x1e8 - 0x0cc];
    uint8_t e820_entries; /* 0x1e8 */
    uint8_t _pad3[0x1f1 - 0x1e9];
    struct setup_header hdr; /* 0x1f1 */
    uint8_t _pad4[0x2d0 - 0x26c];
    struct e820_entry e820_table[E820_MAX]; /* 0x2d0 */
} __attribute__((packed));

_Static_assert(__builtin_offsetof(struct boot_params, hdr.header) == 0x202, "header");
_Static_assert(__builtin_offsetof(struct boot_params, hdr.type_of_loader) == 0x210, "loader");
_Static_assert(__builtin_offsetof(struct boot_params, hdr.cmd_line_ptr) == 0x228, "cmdline");
_Static_assert(__builtin_offsetof(struct boot_params, hdr.pref_address) == 0x258, "pref");
_Static_assert(sizeof(struct setup_header) == 0x26c - 0x1f1, "setup header");
_Static_assert(sizeof(struct boot_params) == 0x2d0 + E820_MAX * 20, "zero page");

/* From linuxboot.ld. */
extern char linuxboot_start[], linuxboot_file_end[], linuxboot_end[];

void linuxboot_main(const struct boot_params *bp, uint64_t entry, uint64_t rflags);

static bool overlaps(uint64_t a_start, uint64_t a_end, uint64_t b_start, uint64_t b_end)
{
    return a_start < b_end && b_start < a_end;
}

/* --- CPU state --- */

static void show_entry(uint64_t entry, uint64_t rflags)
{
    printf("entry: rip 0x%lx, interrupts %s\n", entry, rflags & RFLAGS_IF ? "on" : "off");
    check(entry == LINUXBOOT_PREF_ADDRESS + LINUXBOOT_ENTRY64_OFFSET,
          "entered at 0x%lx, not at pref_address + 0x200", entry);
    check(!(rflags & RFLAGS_IF), "interrupts enabled at entry");
}

static void show_mode(void)
{
    uint64_t cr0, cr4;
    __asm__ volatile("mov %%cr0, %0" : "=r"(cr0));
    __asm__ volatile("mov %%cr4, %0" : "=r"(cr4));
    uint64_t efer = rdmsr(MSR_EFER);
    unsigned lme = !!(efer & EFER_LME), lma = !!(efer & EFER_LMA);
    unsigned pe = !!(cr0 & CR0_PE), pg = !!(cr0 & CR0_PG), pae = !!(cr4 & CR4_PAE);
    printf("long mode: EFER.LME %u LMA %u, CR0.PE %u PG %u, CR4.PAE %u\n", lme, lma, pe, pg, pae);
    check(lme && lma && pe && pg && pae, "not in long mode with paging");
}

static uint16_t read_sel(unsigned which)
{
    uint16_t v = 0;
    switch (which) {
    case 0:
        __asm__ volatile("mov %%cs, %0" : "=r"(v));
        break;
    case 1:
        __asm__ volatile("mov %%ds, %0" : "=r"(v));
        break;
    case 2:
        __asm__ volatile("mov %%es, %0" : "=r"(v));
        break;
    default:
        __asm__ volatile("mov %%ss, %0" : "=r"(v));
        break;
    }
    return v;
}

/* A descriptor's verdict: what the protocol asks of __BOOT_CS / __BOOT_DS. */
static bool gdt_code64_ok(uint64_t d)
{
    /* P, S, code (type bit 3), readable (bit 1), DPL 0, L = 1, D = 0 */
    return (d >> 47 & 1) && (d >> 44 & 1) && (d >> 43 & 1) && (d >> 41 & 1) && (d >> 45 & 3) == 0 &&
           (d >> 53 & 1) && !(d >> 54 & 1);
}

static bool gdt_flat_data_ok(uint64_t d)
{
    uint64_t base = (d >> 16 & 0xffffff) | (d >> 56 & 0xff) << 24;
    uint64_t limit = (d & 0xffff) | (d >> 48 & 0xf) << 16;
    /* P, S, data (type bit 3 clear), writable (bit 1), DPL 0, base 0,
     * limit 4 GiB (0xfffff pages, G = 1) */
    return (d >> 47 & 1) && (d >> 44 & 1) && !(d >> 43 & 1) && (d >> 41 & 1) &&
           (d >> 45 & 3) == 0 && base == 0 && limit == 0xfffff && (d >> 55 & 1);
}

static void show_segments(void)
{
    uint16_t cs = read_sel(0), ds = read_sel(1), es = read_sel(2), ss = read_sel(3);
    printf("segments: cs 0x%x ds 0x%x es 0x%x ss 0x%x\n", cs, ds, es, ss);
    check(cs == BOOT_CS, "cs is not __BOOT_CS");
    check(ds == BOOT_DS && es == BOOT_DS && ss == BOOT_DS, "ds, es, ss are not __BOOT_DS");

    struct {
        uint16_t limit;
        uint64_t base;
    } __attribute__((packed)) gdtr;
    __asm__ volatile("sgdt %0" : "=m"(gdtr));
    if (!check(gdtr.limit >= BOOT_DS + 7, "GDT limit 0x%x does not cover __BOOT_DS", gdtr.limit))
        return;
    const uint64_t *gdt = (const uint64_t *)gdtr.base;
    bool code = gdt_code64_ok(gdt[BOOT_CS / 8]), data = gdt_flat_data_ok(gdt[BOOT_DS / 8]);
    printf("gdt: 0x%x %s, 0x%x %s\n", BOOT_CS, code ? "64-bit code" : "NOT 64-bit code", BOOT_DS,
           data ? "flat 4 GiB data" : "NOT flat 4 GiB data");
    check(code, "__BOOT_CS descriptor 0x%lx", gdt[BOOT_CS / 8]);
    check(data, "__BOOT_DS descriptor 0x%lx", gdt[BOOT_DS / 8]);
}

/* --- the zero page --- */

/* The header must be the file's, as the loader copied it, plus the fields
 * a loader writes. */
static void show_header(const struct boot_params *bp)
{
    const struct setup_header *h = &bp->hdr;
    char magic[5];
    memcpy(magic, &h->header, 4);
    magic[4] = '\0';
    printf("setup header: \"%s\" version 0x%x boot_flag 0x%x\n", magic, h->version, h->boot_flag);
    check(h->header == HDRS_MAGIC && h->version == LINUXBOOT_VERSION && h->boot_flag == BOOT_FLAG,
          "setup header not copied");
    uint64_t file = (uint64_t)(linuxboot_file_end - linuxboot_start);
    check(h->syssize == (file + 15) / 16, "syssize 0x%x, payload is 0x%lx bytes", h->syssize, file);
    check(h->pref_address == LINUXBOOT_PREF_ADDRESS && h->init_size == LINUXBOOT_INIT_SIZE &&
              h->kernel_alignment == LINUXBOOT_ALIGNMENT && h->relocatable_kernel == 1 &&
              h->min_alignment == LINUXBOOT_MIN_ALIGN_LG2 &&
              h->cmdline_size == LINUXBOOT_CMDLINE_SIZE &&
              h->initrd_addr_max == LINUXBOOT_INITRD_ADDR_MAX &&
              h->kernel_info_offset == LINUXBOOT_KINFO_OFFSET &&
              h->xloadflags == (LINUXBOOT_XLF_KERNEL_64 | LINUXBOOT_XLF_CAN_BE_LOADED_ABOVE_4G),
          "setup header fields differ from the file's");
    check(h->loadflags & LINUXBOOT_LOADED_HIGH, "loadflags lost LOADED_HIGH");
    printf("type_of_loader 0x%x\n", h->type_of_loader);
    check(h->type_of_loader == LOADER_UNKNOWN, "type_of_loader is not 0xff");

    uint64_t image = (uint64_t)(linuxboot_end - linuxboot_start);
    printf("kernel at 0x%x (code32_start), init_size 0x%x %s the image\n", h->code32_start,
           h->init_size, image <= h->init_size ? "covers" : "DOES NOT cover");
    check(h->code32_start == LINUXBOOT_PREF_ADDRESS, "code32_start is not the load address");
    check(image <= h->init_size, "image 0x%lx bytes", image);
}

static const char *show_cmdline(const struct boot_params *bp)
{
    uint64_t ptr = bp->hdr.cmd_line_ptr | (uint64_t)bp->ext_cmd_line_ptr << 32;
    if (!check(ptr != 0, "no command line"))
        return NULL;
    const char *cmd = (const char *)ptr;
    printf("cmdline: \"%s\"\n", cmd);
    check(strcmp(cmd, want_cmdline) == 0, "command line is not \"%s\"", want_cmdline);
    check(strlen(cmd) <= bp->hdr.cmdline_size, "command line longer than cmdline_size");
    return cmd;
}

static void show_e820(const struct boot_params *bp)
{
    unsigned n = bp->e820_entries;
    printf("e820: %u entries\n", n);
    if (!check(n >= 1 && n <= E820_MAX, "e820_entries %u", n))
        return;
    for (unsigned i = 0; i < n; i++) {
        const struct e820_entry *e = &bp->e820_table[i];
        printf("  0x%016lx-0x%016lx type %u\n", e->addr, e->addr + e->size - 1, e->type);
        check(e->size != 0, "e820 entry %u is empty", i);
        if (i)
            check(e->addr >= bp->e820_table[i - 1].addr + bp->e820_table[i - 1].size,
                  "e820 entry %u overlaps or precedes the one before", i);
    }
}

/* Whether [start, end) lies inside one usable RAM entry of the e820 map. */
static bool e820_usable(const struct boot_params *bp, uint64_t start, uint64_t end)
{
    for (unsigned i = 0; i < bp->e820_entries && i < E820_MAX; i++) {
        const struct e820_entry *e = &bp->e820_table[i];
        if (e->type == E820_RAM && start >= e->addr && end <= e->addr + e->size)
            return true;
    }
    return false;
}

/* Compare with the lines, 8 bytes at a time, counting the line number up
 * in place (as modules.c): a few instructions per line, not per byte. */
static bool initrd_content_ok(const uint64_t *data)
{
    union {
        char c[INITRD_LINE_SIZE];
        uint64_t q[2];
    } line = {.c = "initrd 00000000\n"};
    for (unsigned n = 0; n < INITRD_LINES; n++) {
        for (int d = 14; line.c[d]++ == '9'; d--)
            line.c[d] = '0';
        if (data[2 * n] != line.q[0] || data[2 * n + 1] != line.q[1])
            return false;
    }
    return true;
}

/* Where the loader put things; the initrd must collide with none of them. */
struct placed {
    uint64_t kernel, kernel_end, zero_page, cmdline, cmdline_end;
};

static void show_initrd(const struct boot_params *bp, const struct placed *p)
{
    uint64_t start = bp->hdr.ramdisk_image | (uint64_t)bp->ext_ramdisk_image << 32;
    uint64_t size = bp->hdr.ramdisk_size | (uint64_t)bp->ext_ramdisk_size << 32;
    printf("initrd: %lu bytes at 0x%lx, %s\n", size, start,
           start % 4096 ? "NOT page-aligned" : "page-aligned");
    if (!check(start != 0 && size == INITRD_SIZE, "no initrd of %u bytes", INITRD_SIZE))
        return;
    uint64_t end = start + size;
    bool content = initrd_content_ok((const uint64_t *)start);
    printf("initrd: content %s\n", content ? "ok" : "differs");
    check(content, "initrd content");
    check(start % 4096 == 0, "initrd not page-aligned");
    check(end - 1 <= bp->hdr.initrd_addr_max, "initrd ends above initrd_addr_max");
    check(!overlaps(start, end, p->kernel, p->kernel_end), "initrd inside the kernel's init_size");
    check(!overlaps(start, end, p->zero_page, p->zero_page + ZERO_PAGE) &&
              !overlaps(start, end, p->cmdline, p->cmdline_end),
          "initrd overlaps the zero page or the command line");
}

static void show_placement(const struct boot_params *bp, const struct placed *p)
{
    uint64_t rd = bp->hdr.ramdisk_image | (uint64_t)bp->ext_ramdisk_image << 32;
    uint64_t rd_size = bp->hdr.ramdisk_size | (uint64_t)bp->ext_ramdisk_size << 32;
    bool kernel = e820_usable(bp, p->kernel, p->kernel_end);
    bool zero = e820_usable(bp, p->zero_page, p->zero_page + ZERO_PAGE);
    bool cmd = p->cmdline && e820_usable(bp, p->cmdline, p->cmdline_end);
    bool initrd = rd && e820_usable(bp, rd, rd + rd_size);
    printf("in usable RAM: kernel+init_size %s, zero page %s, cmdline %s, initrd %s\n",
           kernel ? "yes" : "NO", zero ? "yes" : "NO", cmd ? "yes" : "NO", initrd ? "yes" : "NO");
    check(kernel && zero && cmd && initrd, "boot data outside usable RAM");
}

static uint8_t sum_bytes(const void *p, size_t len)
{
    const uint8_t *b = p;
    uint8_t sum = 0;
    while (len--)
        sum += *b++;
    return sum;
}

static void show_rsdp(const struct boot_params *bp)
{
    uint64_t addr = bp->acpi_rsdp_addr;
    if (!check(addr != 0 && addr < IDENTITY_TO, "acpi_rsdp_addr 0x%lx", addr))
        return;
    const uint8_t *r = (const uint8_t *)addr;
    bool sig = memcmp(r, "RSD PTR ", 8) == 0;
    /* ACPI 1.0 checksum over 20 bytes; revision >= 2 adds one over length. */
    uint32_t len = 36;
    memcpy(&len, r + 20, 4);
    bool sum = sum_bytes(r, 20) == 0 && (r[15] < 2 || (len >= 36 && sum_bytes(r, len) == 0));
    printf("acpi_rsdp_addr 0x%lx: %s, checksum %s\n", addr, sig ? "\"RSD PTR \"" : "no signature",
           sum ? "ok" : "bad");
    check(sig && sum, "no valid RSDP at acpi_rsdp_addr");
}

/* --- the loader's page tables --- */

#define PTE_P    0x001ULL
#define PTE_RW   0x002ULL
#define PTE_PS   0x080ULL
#define PTE_ADDR 0x000ffffffffff000ULL

/* The page size mapping va (0 if none), its physical address, and whether
 * every level allows writes. */
static uint64_t pt_walk(uint64_t cr3, uint64_t va, uint64_t *pa, bool *writable)
{
    const uint64_t *table = (const uint64_t *)(cr3 & PTE_ADDR);
    bool rw = true;
    for (int level = 3; level >= 0; level--) {
        unsigned shift = 12 + 9 * (unsigned)level;
        uint64_t e = table[(va >> shift) & 511];
        if (!(e & PTE_P))
            return 0;
        rw = rw && (e & PTE_RW);
        if (level == 0 || (level <= 2 && (e & PTE_PS))) {
            uint64_t size = 1ULL << shift;
            *pa = (e & PTE_ADDR & ~(size - 1)) | (va & (size - 1));
            *writable = rw;
            return size;
        }
        table = (const uint64_t *)(e & PTE_ADDR);
    }
    return 0;
}

static void show_identity_map(void)
{
    uint64_t cr3, va = 0, pa = 0;
    bool rw = false;
    __asm__ volatile("mov %%cr3, %0" : "=r"(cr3));
    while (va < IDENTITY_TO) {
        uint64_t size = pt_walk(cr3, va, &pa, &rw);
        if (!size || pa != va || !rw)
            break;
        va += size;
    }
    bool ok = va >= IDENTITY_TO;
    if (ok)
        printf("identity map: 0-4 GiB, writable\n");
    else
        printf("identity map: FAIL at 0x%lx (%s)\n", va,
               !pt_walk(cr3, va, &pa, &rw) ? "not mapped"
               : pa != va                  ? "not identity"
                                           : "read-only");
    check(ok, "the loader's page tables do not identity-map 0-4 GiB");
    if (!ok)
        return;
    /* Through those tables, the LAPIC (in the MMIO hole below 4 GiB). */
    uint8_t version = mmio_read8(LAPIC_BASE + LAPIC_VERSION);
    printf("lapic version register: %s\n", version ? "nonzero" : "zero");
    check(version != 0, "LAPIC version register reads 0");
}

void linuxboot_main(const struct boot_params *bp, uint64_t entry, uint64_t rflags)
{
    serial_init();
    printf("linuxboot guest\n");
    show_entry(entry, rflags);
    show_mode();
    show_segments();
    printf("zero page at 0x%lx (rsi)\n", (uint64_t)bp);
    if (!check(bp != NULL, "rsi is 0"))
        return;
    show_header(bp);
    const char *cmd = show_cmdline(bp);
    show_e820(bp);
    struct placed p = {
        .kernel = bp->hdr.code32_start,
        .kernel_end = (uint64_t)bp->hdr.code32_start + bp->hdr.init_size,
        .zero_page = (uint64_t)bp,
        .cmdline = (uint64_t)cmd,
        .cmdline_end = cmd ? (uint64_t)cmd + strlen(cmd) + 1 : 0,
    };
    show_placement(bp, &p);
    show_initrd(bp, &p);
    show_rsdp(bp);
    show_identity_map();
    printf("linuxboot done\n");
}
