/* Linux boot protocol loader: synthetic bzImages and ELF64 vmlinux files are
 * loaded into guest RAM, and the zero page, command line, initrd and entry
 * state are checked at their raw ABI offsets (not through the loader's own
 * structs), so a wrong field offset in the loader fails here. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <elf.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "boot/linux.h"
#include "util/log.h"
#include "vm/e820.h"
#include "vm/layout.h"

#define MIB (1ULL << 20)

/* Zero-page offsets, from Documentation/arch/x86/zero-page.rst and boot.rst. */
#define ZP_ACPI_RSDP      0x070
#define ZP_EXT_RD_IMAGE   0x0c0
#define ZP_EXT_RD_SIZE    0x0c4
#define ZP_EXT_CMDLINE    0x0c8
#define ZP_E820_ENTRIES   0x1e8
#define ZP_SENTINEL       0x1ef
#define ZP_SETUP_SECTS    0x1f1
#define ZP_SYSSIZE        0x1f4
#define ZP_VID_MODE       0x1fa
#define ZP_ROOT_DEV       0x1fc
#define ZP_BOOT_FLAG      0x1fe
#define ZP_JUMP           0x200
#define ZP_HEADER         0x202
#define ZP_VERSION        0x206
#define ZP_TYPE_OF_LOADER 0x210
#define ZP_LOADFLAGS      0x211
#define ZP_CODE32_START   0x214
#define ZP_RAMDISK_IMAGE  0x218
#define ZP_RAMDISK_SIZE   0x21c
#define ZP_HEAP_END_PTR   0x224
#define ZP_CMD_LINE_PTR   0x228
#define ZP_INITRD_MAX     0x22c
#define ZP_KERNEL_ALIGN   0x230
#define ZP_RELOCATABLE    0x234
#define ZP_XLOADFLAGS     0x236
#define ZP_CMDLINE_SIZE   0x238
#define ZP_PREF_ADDRESS   0x258
#define ZP_INIT_SIZE      0x260
#define ZP_HANDOVER       0x264
#define ZP_E820_TABLE     0x2d0

static void put16(uint8_t *p, uint16_t v)
{
    memcpy(p, &v, 2);
}
static void put32(uint8_t *p, uint32_t v)
{
    memcpy(p, &v, 4);
}
static void put64(uint8_t *p, uint64_t v)
{
    memcpy(p, &v, 8);
}
static uint16_t get16(const uint8_t *p)
{
    uint16_t v;
    memcpy(&v, p, 2);
    return v;
}
static uint32_t get32(const uint8_t *p)
{
    uint32_t v;
    memcpy(&v, p, 4);
    return v;
}
static uint64_t get64(const uint8_t *p)
{
    uint64_t v;
    memcpy(&v, p, 8);
    return v;
}

/* --- log capture --- */

static char *log_buf;
static size_t log_len;
static FILE *log_file;

static void log_capture(void)
{
    log_file = open_memstream(&log_buf, &log_len);
    assert_non_null(log_file);
    log_set_stream(log_file);
}

/* Stop capturing; returns the text (valid until the next capture). */
static const char *log_release(void)
{
    static char *last;
    log_set_stream(NULL);
    fclose(log_file);
    free(last);
    last = log_buf;
    log_buf = NULL;
    return last ? last : "";
}

/* --- synthetic bzImage --- */

struct bz_opts {
    uint8_t setup_sects;
    uint8_t header_len; /* the byte at 0x201: header ends at 0x202 + this */
    uint16_t version;
    uint8_t loadflags;
    uint32_t code32_start;
    uint8_t relocatable;
    uint32_t kernel_alignment;
    uint64_t pref_address;
    uint32_t init_size;
    uint16_t xloadflags;
    uint32_t cmdline_size;
    uint32_t initrd_addr_max;
    size_t payload;
};

static struct bz_opts bz_default(void)
{
    return (struct bz_opts){
        .setup_sects = 0, /* means 4 */
        .header_len = 0x6a,
        .version = 0x020f,
        .loadflags = 0x01 | 0x20, /* LOADED_HIGH, and QUIET for the loader to clear */
        .code32_start = 0x100000,
        .relocatable = 0,
        .kernel_alignment = 0x200000,
        .pref_address = 0x1000000,
        .init_size = 0x800000,
        .xloadflags = 0x1,
        .cmdline_size = 255,
        .initrd_addr_max = 0x7fffffff,
        .payload = 0x12345,
    };
}

static uint8_t payload_byte(size_t i)
{
    return (uint8_t)(i * 7 + 3);
}

static size_t bz_kernel_offset(const struct bz_opts *o)
{
    return ((o->setup_sects ? o->setup_sects : 4) + 1) * 512;
}

/* An exact-size heap buffer, so ASan catches any read past the file. */
static uint8_t *bz_build(const struct bz_opts *o, size_t *size)
{
    size_t off = bz_kernel_offset(o);
    *size = off + o->payload;
    uint8_t *d = calloc(1, *size);
    assert_non_null(d);
    d[ZP_SETUP_SECTS] = o->setup_sects;
    put32(d + ZP_SYSSIZE, (uint32_t)((o->payload + 15) / 16));
    put16(d + ZP_ROOT_DEV, 0x0801);
    put16(d + ZP_BOOT_FLAG, 0xaa55);
    d[ZP_JUMP] = 0xeb;
    d[ZP_JUMP + 1] = o->header_len;
    memcpy(d + ZP_HEADER, "HdrS", 4);
    put16(d + ZP_VERSION, o->version);
    d[ZP_LOADFLAGS] = o->loadflags;
    put32(d + ZP_CODE32_START, o->code32_start);
    put32(d + ZP_INITRD_MAX, o->initrd_addr_max);
    put32(d + ZP_KERNEL_ALIGN, o->kernel_alignment);
    d[ZP_RELOCATABLE] = o->relocatable;
    put16(d + ZP_XLOADFLAGS, o->xloadflags);
    put32(d + ZP_CMDLINE_SIZE, o->cmdline_size);
    put64(d + ZP_PREF_ADDRESS, o->pref_address);
    put32(d + ZP_INIT_SIZE, o->init_size);
    put32(d + ZP_HANDOVER, 0x190);
    for (size_t i = 0; i < o->payload; i++)
        d[off + i] = payload_byte(i);
    return d;
}

/* --- a loaded machine --- */

struct loaded {
    struct guest_memory mem;
    struct boot_entry entry;
    uint8_t *zp;
    int r;
};

static const struct boot_params_in default_in = {
    .kernel_path = "/test/vmlinuz",
    .cmdline = "console=ttyS0 root=/dev/vda",
    .ncpus = 1,
    .acpi_rsdp = 0xe0000,
};

static void load_file(struct loaded *l, uint64_t ram, uint8_t *data, size_t size,
                      enum kernel_format fmt, const struct boot_params_in *in)
{
    memset(l, 0, sizeof(*l));
    assert_int_equal(guest_memory_init(&l->mem, ram), 0);
    struct boot_file k = {.data = data, .size = size, .path = in->kernel_path};
    l->r = linux_load(&l->mem, &k, fmt, in, &l->entry);
    l->zp = guest_memory_ptr(&l->mem, LAYOUT_ZERO_PAGE, 4096);
    assert_non_null(l->zp);
}

static void load_bz(struct loaded *l, uint64_t ram, const struct bz_opts *o,
                    const struct boot_params_in *in)
{
    size_t size;
    uint8_t *d = bz_build(o, &size);
    load_file(l, ram, d, size, KERNEL_BZIMAGE, in);
    free(d);
}

static void unload(struct loaded *l)
{
    guest_memory_destroy(&l->mem);
}

static void assert_payload_at(const struct guest_memory *mem, uint64_t gpa, size_t n)
{
    const uint8_t *p = guest_memory_ptr(mem, gpa, n);
    assert_non_null(p);
    for (size_t i = 0; i < n; i++)
        if (p[i] != payload_byte(i))
            fail_msg("payload byte %zu at 0x%llx is 0x%02x, want 0x%02x", i,
                     (unsigned long long)(gpa + i), p[i], payload_byte(i));
}

/* Run a load expected to fail; return the captured log. */
static const char *load_bz_fail(const struct bz_opts *o, uint64_t ram, int want)
{
    struct loaded l;
    log_capture();
    load_bz(&l, ram, o, &default_in);
    const char *log = log_release();
    assert_int_equal(l.r, want);
    unload(&l);
    return log;
}

/* --- bzImage --- */

static void test_bzimage_basic(void **state)
{
    (void)state;
    struct bz_opts o = bz_default();
    struct loaded l;
    load_bz(&l, 64 * MIB, &o, &default_in);
    assert_int_equal(l.r, 0);
    uint8_t *zp = l.zp;

    /* setup_sects 0 means 4: the payload starts at file offset 5 * 512. */
    assert_payload_at(&l.mem, 0x100000, o.payload);

    /* The header as the file had it... */
    assert_int_equal(zp[ZP_SETUP_SECTS], 0);
    assert_int_equal(get16(zp + ZP_ROOT_DEV), 0x0801);
    assert_int_equal(get16(zp + ZP_BOOT_FLAG), 0xaa55);
    assert_memory_equal(zp + ZP_HEADER, "HdrS", 4);
    assert_int_equal(get16(zp + ZP_VERSION), 0x020f);
    assert_int_equal(get32(zp + ZP_KERNEL_ALIGN), 0x200000);
    assert_int_equal(get32(zp + ZP_INITRD_MAX), 0x7fffffff);
    assert_int_equal(get32(zp + ZP_CMDLINE_SIZE), 255);
    assert_int_equal(get64(zp + ZP_PREF_ADDRESS), 0x1000000);
    assert_int_equal(get32(zp + ZP_INIT_SIZE), 0x800000);
    assert_int_equal(get32(zp + ZP_HANDOVER), 0x190);
    /* ...with the loader's fields written. */
    assert_int_equal(zp[ZP_TYPE_OF_LOADER], 0xff);
    assert_int_equal(zp[ZP_LOADFLAGS], 0x81); /* LOADED_HIGH kept, CAN_USE_HEAP, no QUIET */
    assert_int_equal(get16(zp + ZP_HEAP_END_PTR), 0xfe00);
    assert_int_equal(get16(zp + ZP_VID_MODE), 0xffff);
    assert_int_equal(get32(zp + ZP_CODE32_START), 0x100000);
    assert_int_equal(get32(zp + ZP_CMD_LINE_PTR), LAYOUT_CMDLINE);
    assert_int_equal(get32(zp + ZP_EXT_CMDLINE), 0);
    assert_string_equal((const char *)guest_memory_ptr(&l.mem, LAYOUT_CMDLINE, 64),
                        default_in.cmdline);
    assert_int_equal(get64(zp + ZP_ACPI_RSDP), 0xe0000);
    assert_int_equal(get32(zp + ZP_RAMDISK_IMAGE), 0);
    assert_int_equal(get32(zp + ZP_RAMDISK_SIZE), 0);
    assert_int_equal(zp[ZP_SENTINEL], 0);
    /* Nothing outside the header comes from the file. */
    for (unsigned i = 0; i < ZP_SETUP_SECTS; i++)
        if (i < ZP_ACPI_RSDP || i >= ZP_ACPI_RSDP + 8)
            if (i != ZP_E820_ENTRIES && zp[i])
                fail_msg("zero page byte 0x%x is 0x%02x", i, zp[i]);

    /* e820 as the board builds it. */
    struct e820_entry want[E820_MAX_ENTRIES];
    unsigned n = e820_build(&l.mem, want);
    assert_true(n >= 2);
    assert_int_equal(zp[ZP_E820_ENTRIES], n);
    for (unsigned i = 0; i < n; i++) {
        const uint8_t *e = zp + ZP_E820_TABLE + 20 * i;
        assert_int_equal(get64(e), want[i].addr);
        assert_int_equal(get64(e + 8), want[i].size);
        assert_int_equal(get32(e + 16), want[i].type);
    }
    assert_int_equal(get32(zp + ZP_E820_TABLE + 20 * n + 16), 0);

    /* Entry state: 64-bit entry = load + 0x200, RSI = zero page. */
    assert_int_equal(l.entry.mode, BOOT_MODE_LONG64);
    assert_int_equal(l.entry.rip, 0x100200);
    assert_int_equal(l.entry.rsi, LAYOUT_ZERO_PAGE);
    assert_int_equal(l.entry.rsp, LAYOUT_BOOT_STACK);
    assert_int_equal(l.entry.cr0, 0x80050033);
    assert_int_equal(l.entry.cr3, LAYOUT_BOOT_PML4);
    assert_int_equal(l.entry.cr4, 0x20);
    assert_int_equal(l.entry.efer, 0x500);
    assert_int_equal(l.entry.gdt_base, LAYOUT_BOOT_GDT);
    assert_int_equal(l.entry.gdt_limit, 31);
    assert_int_equal(l.entry.cs.selector, 0x10);
    assert_int_equal(l.entry.cs.l, 1);
    assert_int_equal(l.entry.ds.selector, 0x18);
    unload(&l);
}

static void test_gdt_and_page_tables(void **state)
{
    (void)state;
    struct bz_opts o = bz_default();
    struct loaded l;
    load_bz(&l, 64 * MIB, &o, &default_in);
    assert_int_equal(l.r, 0);

    const uint8_t *gdt = guest_memory_ptr(&l.mem, LAYOUT_BOOT_GDT, 32);
    assert_int_equal(get64(gdt + 0), 0);
    assert_int_equal(get64(gdt + 8), 0);
    uint64_t cs = get64(gdt + 0x10), ds = get64(gdt + 0x18);
    assert_true(cs & (1ULL << 47));            /* present */
    assert_true(cs & (1ULL << 53));            /* L: 64-bit code */
    assert_false(cs & (1ULL << 54));           /* D must be 0 with L=1 */
    assert_int_equal((cs >> 40) & 0x18, 0x18); /* S=1, code */
    assert_int_equal((cs >> 45) & 3, 0);       /* DPL 0 */
    assert_int_equal(cs, 0x00af9b000000ffffULL);
    assert_int_equal(ds, 0x00cf93000000ffffULL); /* flat 4 GiB, writable data */

    const uint8_t *pml4 = guest_memory_ptr(&l.mem, LAYOUT_BOOT_PML4, 4096);
    const uint8_t *pdpt = guest_memory_ptr(&l.mem, LAYOUT_BOOT_PDPT, 4096);
    const uint8_t *pd = guest_memory_ptr(&l.mem, LAYOUT_BOOT_PD, 4 * 4096);
    assert_int_equal(get64(pml4), LAYOUT_BOOT_PDPT | 3);
    assert_int_equal(get64(pml4 + 8), 0);
    for (unsigned i = 0; i < 4; i++)
        assert_int_equal(get64(pdpt + 8 * i), (LAYOUT_BOOT_PD + 4096 * i) | 3);
    assert_int_equal(get64(pdpt + 32), 0);
    for (uint64_t i = 0; i < 2048; i++)
        if (get64(pd + 8 * i) != ((i << 21) | 0x83))
            fail_msg("PD entry %llu is 0x%llx", (unsigned long long)i,
                     (unsigned long long)get64(pd + 8 * i));
    unload(&l);
}

/* The header copy ends at 0x202 + the byte at 0x201. */
static void test_bzimage_header_length(void **state)
{
    (void)state;
    struct bz_opts o = bz_default();
    o.header_len = 0x62; /* ends at 0x264: handover_offset is past it */
    struct loaded l;
    load_bz(&l, 64 * MIB, &o, &default_in);
    assert_int_equal(l.r, 0);
    assert_int_equal(get32(l.zp + ZP_INIT_SIZE), 0x800000);
    assert_int_equal(get32(l.zp + ZP_HANDOVER), 0);
    unload(&l);

    o.header_len = 0x40; /* ends at 0x242: before pref_address/init_size of 2.10 */
    const char *log = load_bz_fail(&o, 64 * MIB, -EINVAL);
    assert_non_null(strstr(log, "/test/vmlinuz: setup header ends at 0x242"));
}

static void test_bzimage_relocatable_pref_address(void **state)
{
    (void)state;
    struct bz_opts o = bz_default();
    o.relocatable = 1;
    struct loaded l;
    load_bz(&l, 64 * MIB, &o, &default_in);
    assert_int_equal(l.r, 0);
    assert_payload_at(&l.mem, 0x1000000, o.payload);
    const uint8_t *low = guest_memory_ptr(&l.mem, 0x100000, 16);
    for (int i = 0; i < 16; i++)
        assert_int_equal(low[i], 0);
    assert_int_equal(l.entry.rip, 0x1000200);
    assert_int_equal(get32(l.zp + ZP_CODE32_START), 0x1000000);
    unload(&l);
}

static void test_bzimage_relocatable_alignment(void **state)
{
    (void)state;
    /* No pref_address: the load address is code32_start rounded up. */
    struct bz_opts o = bz_default();
    o.relocatable = 1;
    o.pref_address = 0;
    o.kernel_alignment = 0x400000;
    struct loaded l;
    load_bz(&l, 64 * MIB, &o, &default_in);
    assert_int_equal(l.r, 0);
    assert_payload_at(&l.mem, 0x400000, o.payload);
    assert_int_equal(l.entry.rip, 0x400200);
    assert_int_equal(get32(l.zp + ZP_CODE32_START), 0x400000);
    unload(&l);

    /* A pref_address that breaks the alignment is not used. */
    o = bz_default();
    o.relocatable = 1;
    o.pref_address = 0x1100000;
    load_bz(&l, 64 * MIB, &o, &default_in);
    assert_int_equal(l.r, 0);
    assert_int_equal(l.entry.rip, 0x200200);
    unload(&l);

    /* Protocol 2.09 has no pref_address field: whatever sits there is ignored. */
    o = bz_default();
    o.relocatable = 1;
    o.version = 0x0209;
    o.xloadflags = 1;
    load_bz(&l, 64 * MIB, &o, &default_in);
    assert_int_equal(l.r, 0);
    assert_int_equal(l.entry.rip, 0x200200);
    unload(&l);
}

static void test_bzimage_old_protocol_rejected(void **state)
{
    (void)state;
    struct bz_opts o = bz_default();
    o.version = 0x0205;
    const char *log = load_bz_fail(&o, 64 * MIB, -EINVAL);
    assert_non_null(
        strstr(log, "/test/vmlinuz: boot protocol 2.05 is too old; xuni needs 2.06 or later"));
}

static void test_bzimage_no_64bit_entry_rejected(void **state)
{
    (void)state;
    struct bz_opts o = bz_default();
    o.xloadflags = 0x2;
    const char *log = load_bz_fail(&o, 64 * MIB, -EINVAL);
    assert_non_null(strstr(log, "/test/vmlinuz: kernel has no 64-bit entry point"));
}

static void test_bzimage_not_hdrs_rejected(void **state)
{
    (void)state;
    struct bz_opts o = bz_default();
    size_t size;
    uint8_t *d = bz_build(&o, &size);
    memcpy(d + ZP_HEADER, "HdrX", 4);
    struct loaded l;
    log_capture();
    load_file(&l, 64 * MIB, d, size, KERNEL_BZIMAGE, &default_in);
    const char *log = log_release();
    assert_int_equal(l.r, -EINVAL);
    assert_non_null(strstr(log, "HdrS"));
    unload(&l);
    free(d);
}

/* Cut a valid image to n bytes (an exact-size buffer) and expect -EINVAL. */
static const char *load_cut(const struct bz_opts *o, size_t n)
{
    size_t size;
    uint8_t *full = bz_build(o, &size);
    uint8_t *d = malloc(n);
    assert_non_null(d);
    memcpy(d, full, n < size ? n : size);
    free(full);
    struct loaded l;
    log_capture();
    load_file(&l, 64 * MIB, d, n, KERNEL_BZIMAGE, &default_in);
    const char *log = log_release();
    assert_int_equal(l.r, -EINVAL);
    unload(&l);
    free(d);
    return log;
}

static void test_bzimage_truncated_rejected(void **state)
{
    (void)state;
    struct bz_opts o = bz_default();
    /* Tiny files, cut inside the header, and exactly at the setup end. */
    assert_non_null(strstr(load_cut(&o, 0x100), "too small"));
    assert_non_null(strstr(load_cut(&o, 0x204), "too small"));
    assert_non_null(strstr(load_cut(&o, 0x250), "truncated"));
    assert_non_null(strstr(load_cut(&o, bz_kernel_offset(&o)), "truncated"));
    /* Payload shorter than syssize says. */
    assert_non_null(strstr(load_cut(&o, bz_kernel_offset(&o) + 0x1000), "truncated"));

    /* setup_sects pointing past the end of the file. */
    o.setup_sects = 200;
    o.payload = 0;
    size_t size;
    uint8_t *d = bz_build(&o, &size);
    d[ZP_SETUP_SECTS] = 250;
    struct loaded l;
    log_capture();
    load_file(&l, 64 * MIB, d, size, KERNEL_BZIMAGE, &default_in);
    const char *log = log_release();
    assert_int_equal(l.r, -EINVAL);
    assert_non_null(strstr(log, "setup_sects 250"));
    unload(&l);
    free(d);
}

static void test_bzimage_memory_too_small(void **state)
{
    (void)state;
    struct bz_opts o = bz_default();
    o.relocatable = 1;
    o.init_size = 0x3800000; /* 16 MiB + 56 MiB > 64 MiB */
    const char *log = load_bz_fail(&o, 64 * MIB, -ENOMEM);
    assert_non_null(
        strstr(log, "/test/vmlinuz: guest memory (64 MiB) is too small for the kernel"));

    /* The same kernel fits in 128 MiB. */
    struct loaded l;
    load_bz(&l, 128 * MIB, &o, &default_in);
    assert_int_equal(l.r, 0);
    unload(&l);

    /* A non-relocatable kernel still decompresses at pref_address. */
    o.relocatable = 0;
    load_bz_fail(&o, 64 * MIB, -ENOMEM);
}

static void test_cmdline_truncated(void **state)
{
    (void)state;
    struct bz_opts o = bz_default();
    o.cmdline_size = 16;
    struct boot_params_in in = default_in;
    in.cmdline = "console=ttyS0 root=/dev/vda rw quiet";
    struct loaded l;
    log_capture();
    load_bz(&l, 64 * MIB, &o, &in);
    const char *log = log_release();
    assert_int_equal(l.r, 0);
    const char *cl = guest_memory_ptr(&l.mem, LAYOUT_CMDLINE, 64);
    assert_string_equal(cl, "console=ttyS0 ro");
    assert_non_null(strstr(log, "truncated"));
    unload(&l);

    /* No command line: an empty string, still pointed to. */
    in.cmdline = NULL;
    load_bz(&l, 64 * MIB, &o, &in);
    assert_int_equal(l.r, 0);
    assert_int_equal(get32(l.zp + ZP_CMD_LINE_PTR), LAYOUT_CMDLINE);
    assert_string_equal((const char *)guest_memory_ptr(&l.mem, LAYOUT_CMDLINE, 1), "");
    unload(&l);
}

/* --- initrd --- */

static void write_temp(char *path, const uint8_t *data, size_t len)
{
    strcpy(path, "/tmp/xuni-test-initrd-XXXXXX");
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, data, len), (ssize_t)len);
    close(fd);
}

static uint8_t *pattern(size_t len, uint8_t seed)
{
    uint8_t *p = malloc(len);
    assert_non_null(p);
    for (size_t i = 0; i < len; i++)
        p[i] = (uint8_t)(seed + i * 13 + (i >> 8));
    return p;
}

static void test_initrd_two_files(void **state)
{
    (void)state;
    const size_t n1 = 5001, n2 = 3001;
    uint8_t *a = pattern(n1, 1), *b = pattern(n2, 99);
    char pa[64], pb[64];
    write_temp(pa, a, n1);
    write_temp(pb, b, n2);
    const char *initrds[] = {pa, pb};
    struct boot_params_in in = default_in;
    in.initrds = initrds;
    in.ninitrds = 2;

    struct bz_opts o = bz_default();
    o.relocatable = 1;
    struct loaded l;
    memset(&l, 0, sizeof(l));
    load_bz(&l, 64 * MIB, &o, &in);
    assert_int_equal(l.r, 0);

    /* The second archive starts 4-byte aligned: 5001 -> 5004. */
    uint64_t total = 5004 + n2;
    uint64_t image = get32(l.zp + ZP_RAMDISK_IMAGE) | (uint64_t)get32(l.zp + ZP_EXT_RD_IMAGE) << 32;
    uint64_t size = get32(l.zp + ZP_RAMDISK_SIZE) | (uint64_t)get32(l.zp + ZP_EXT_RD_SIZE) << 32;
    assert_int_equal(size, total);
    assert_int_equal(image & 0xfff, 0);
    assert_true(image >= 0x1000000 + o.init_size); /* above the decompressed kernel */
    assert_true(image + size <= 64 * MIB);
    assert_int_equal(image, (64 * MIB - total) & ~0xfffULL); /* as high as possible */
    const uint8_t *rd = guest_memory_ptr(&l.mem, image, size);
    assert_memory_equal(rd, a, n1);
    assert_memory_equal(rd + n1, "\0\0\0", 3);
    assert_memory_equal(rd + 5004, b, n2);
    unload(&l);

    unlink(pa);
    unlink(pb);
    free(a);
    free(b);
}

static void test_initrd_addr_max(void **state)
{
    (void)state;
    const size_t n = 70000;
    uint8_t *a = pattern(n, 5);
    char pa[64];
    write_temp(pa, a, n);
    const char *initrds[] = {pa};
    struct boot_params_in in = default_in;
    in.initrds = initrds;
    in.ninitrds = 1;

    struct bz_opts o = bz_default();
    o.initrd_addr_max = 0x1ffffff; /* highest byte: 32 MiB - 1 */
    struct loaded l;
    load_bz(&l, 64 * MIB, &o, &in);
    assert_int_equal(l.r, 0);
    uint32_t image = get32(l.zp + ZP_RAMDISK_IMAGE);
    assert_int_equal(get32(l.zp + ZP_RAMDISK_SIZE), n);
    assert_int_equal(image, (0x2000000 - n) & ~0xfffULL);
    assert_memory_equal(guest_memory_ptr(&l.mem, image, n), a, n);
    unload(&l);

    /* With RAM past the 32-bit hole the initrd still ends below initrd_addr_max. */
    o.initrd_addr_max = 0x7fffffff;
    load_bz(&l, 4096 * MIB, &o, &in);
    assert_int_equal(l.r, 0);
    image = get32(l.zp + ZP_RAMDISK_IMAGE);
    assert_int_equal(get32(l.zp + ZP_EXT_RD_IMAGE), 0);
    assert_int_equal(image, (0x80000000ULL - n) & ~0xfffULL);
    assert_memory_equal(guest_memory_ptr(&l.mem, image, n), a, n);
    unload(&l);

    unlink(pa);
    free(a);
}

static void test_initrd_too_big(void **state)
{
    (void)state;
    const size_t n = 8 * MIB;
    uint8_t *a = pattern(n, 7);
    char pa[64];
    write_temp(pa, a, n);
    const char *initrds[] = {pa};
    struct boot_params_in in = default_in;
    in.initrds = initrds;
    in.ninitrds = 1;

    /* Kernel claims up to 16 + 44 MiB; 8 MiB of initrd do not fit in 64. */
    struct bz_opts o = bz_default();
    o.init_size = 44 * MIB;
    struct loaded l;
    log_capture();
    load_bz(&l, 64 * MIB, &o, &in);
    const char *log = log_release();
    assert_int_equal(l.r, -ENOMEM);
    assert_non_null(strstr(log, pa));
    assert_non_null(strstr(log, "too small for the initrd (8192 KiB)"));
    unload(&l);

    unlink(pa);
    free(a);

    /* A missing initrd is an error from the file reader. */
    in.initrds = (const char *[]){"/nonexistent/xuni-initrd"};
    o = bz_default();
    log_capture();
    load_bz(&l, 64 * MIB, &o, &in);
    log = log_release();
    assert_int_equal(l.r, -ENOENT);
    assert_non_null(strstr(log, "/nonexistent/xuni-initrd"));
    unload(&l);
}

/* --- ELF64 vmlinux --- */

struct elf_seg {
    uint64_t paddr, vaddr, filesz, memsz;
};

/* An ELF64 x86-64 executable with the given PT_LOAD segments (file bytes
 * are payload_byte(i) counted per segment) and a PT_NOTE in between. */
static uint8_t *elf_build(const struct elf_seg *segs, unsigned nseg, uint64_t entry, size_t *size)
{
    unsigned nph = nseg + 1;
    size_t off = sizeof(Elf64_Ehdr) + nph * sizeof(Elf64_Phdr);
    size_t total = off;
    for (unsigned i = 0; i < nseg; i++)
        total += segs[i].filesz;
    uint8_t *d = calloc(1, total);
    assert_non_null(d);
    Elf64_Ehdr eh = {
        .e_type = ET_EXEC,
        .e_machine = EM_X86_64,
        .e_version = EV_CURRENT,
        .e_entry = entry,
        .e_phoff = sizeof(Elf64_Ehdr),
        .e_ehsize = sizeof(Elf64_Ehdr),
        .e_phentsize = sizeof(Elf64_Phdr),
        .e_phnum = nph,
    };
    memcpy(eh.e_ident, ELFMAG, SELFMAG);
    eh.e_ident[EI_CLASS] = ELFCLASS64;
    eh.e_ident[EI_DATA] = ELFDATA2LSB;
    eh.e_ident[EI_VERSION] = EV_CURRENT;
    memcpy(d, &eh, sizeof(eh));
    Elf64_Phdr note = {.p_type = PT_NOTE, .p_offset = 0, .p_filesz = 16};
    memcpy(d + sizeof(eh), &note, sizeof(note));
    for (unsigned i = 0; i < nseg; i++) {
        Elf64_Phdr ph = {
            .p_type = PT_LOAD,
            .p_flags = PF_R | PF_X,
            .p_offset = off,
            .p_vaddr = segs[i].vaddr,
            .p_paddr = segs[i].paddr,
            .p_filesz = segs[i].filesz,
            .p_memsz = segs[i].memsz,
            .p_align = 0x200000,
        };
        memcpy(d + sizeof(eh) + (i + 1) * sizeof(ph), &ph, sizeof(ph));
        for (size_t j = 0; j < segs[i].filesz; j++)
            d[off + j] = payload_byte(j);
        off += segs[i].filesz;
    }
    *size = total;
    return d;
}

static const struct elf_seg vmlinux_segs[] = {
    {.paddr = 0x1000000, .vaddr = 0xffffffff81000000ULL, .filesz = 0x3000, .memsz = 0x3000},
    {.paddr = 0x1200000, .vaddr = 0xffffffff81200000ULL, .filesz = 0x100, .memsz = 0x5000},
};

static void test_elf_vmlinux(void **state)
{
    (void)state;
    const size_t n = 4000;
    uint8_t *a = pattern(n, 3);
    char pa[64];
    write_temp(pa, a, n);
    const char *initrds[] = {pa};
    struct boot_params_in in = default_in;
    in.initrds = initrds;
    in.ninitrds = 1;

    size_t size;
    uint8_t *d = elf_build(vmlinux_segs, 2, 0x1000040, &size);
    struct loaded l;
    memset(&l, 0, sizeof(l));
    assert_int_equal(guest_memory_init(&l.mem, 64 * MIB), 0);
    /* Dirty the bss so the test sees the loader zero it. */
    memset(guest_memory_ptr(&l.mem, 0x1200000, 0x6000), 0xcc, 0x6000);
    struct boot_file k = {.data = d, .size = size, .path = "/test/vmlinux"};
    l.r = linux_load(&l.mem, &k, KERNEL_ELF64, &in, &l.entry);
    l.zp = guest_memory_ptr(&l.mem, LAYOUT_ZERO_PAGE, 4096);
    assert_int_equal(l.r, 0);

    assert_payload_at(&l.mem, 0x1000000, 0x3000);
    assert_payload_at(&l.mem, 0x1200000, 0x100);
    const uint8_t *bss = guest_memory_ptr(&l.mem, 0x1200100, 0x4f00);
    for (size_t i = 0; i < 0x4f00; i++)
        if (bss[i])
            fail_msg("bss byte 0x%zx is 0x%02x", i, bss[i]);
    assert_int_equal(*(uint8_t *)guest_memory_ptr(&l.mem, 0x1205000, 1), 0xcc);

    assert_int_equal(l.entry.rip, 0x1000040);
    assert_int_equal(l.entry.rsi, LAYOUT_ZERO_PAGE);
    assert_int_equal(l.entry.cr3, LAYOUT_BOOT_PML4);
    assert_int_equal(l.entry.efer, 0x500);

    /* The synthetic setup header. */
    assert_int_equal(get16(l.zp + ZP_BOOT_FLAG), 0xaa55);
    assert_memory_equal(l.zp + ZP_HEADER, "HdrS", 4);
    assert_int_equal(get16(l.zp + ZP_VERSION), 0x020f);
    assert_int_equal(l.zp[ZP_TYPE_OF_LOADER], 0xff);
    assert_int_equal(get32(l.zp + ZP_KERNEL_ALIGN), 0x1000000);
    assert_int_equal(l.zp[ZP_RELOCATABLE], 0);
    assert_true(get32(l.zp + ZP_CMDLINE_SIZE) >= 255);
    assert_int_equal(get32(l.zp + ZP_INITRD_MAX), 0x7fffffff);
    assert_int_equal(get32(l.zp + ZP_CMD_LINE_PTR), LAYOUT_CMDLINE);
    assert_string_equal((const char *)guest_memory_ptr(&l.mem, LAYOUT_CMDLINE, 64),
                        default_in.cmdline);
    assert_int_equal(get64(l.zp + ZP_ACPI_RSDP), 0xe0000);
    assert_true(l.zp[ZP_E820_ENTRIES] >= 2);

    uint32_t image = get32(l.zp + ZP_RAMDISK_IMAGE);
    assert_int_equal(get32(l.zp + ZP_RAMDISK_SIZE), n);
    assert_true(image >= 0x1205000);
    assert_int_equal(image & 0xfff, 0);
    assert_memory_equal(guest_memory_ptr(&l.mem, image, n), a, n);
    unload(&l);
    free(d);
    unlink(pa);
    free(a);
}

static void test_elf_virtual_entry(void **state)
{
    (void)state;
    size_t size;
    uint8_t *d = elf_build(vmlinux_segs, 2, 0xffffffff81000080ULL, &size);
    struct loaded l;
    load_file(&l, 64 * MIB, d, size, KERNEL_ELF64, &default_in);
    assert_int_equal(l.r, 0);
    assert_int_equal(l.entry.rip, 0x1000080);
    unload(&l);
    free(d);
}

static int elf_load_expect(uint8_t *d, size_t size, uint64_t ram, const char *want_log)
{
    struct loaded l;
    log_capture();
    load_file(&l, ram, d, size, KERNEL_ELF64, &default_in);
    const char *log = log_release();
    if (want_log && !strstr(log, want_log))
        fail_msg("log \"%s\" lacks \"%s\"", log, want_log);
    unload(&l);
    return l.r;
}

static void test_elf_rejects_bad_files(void **state)
{
    (void)state;
    size_t size;
    uint8_t *d = elf_build(vmlinux_segs, 2, 0x1000000, &size);
    uint8_t *bad = malloc(size);
    assert_non_null(bad);
    Elf64_Ehdr eh;
    Elf64_Phdr ph;
    const size_t ph1 = sizeof(Elf64_Ehdr) + sizeof(Elf64_Phdr); /* first PT_LOAD */

    memcpy(bad, d, size);
    bad[EI_CLASS] = ELFCLASS32;
    assert_int_equal(elf_load_expect(bad, size, 64 * MIB, "64-bit"), -EINVAL);

    memcpy(bad, d, size);
    memcpy(&eh, bad, sizeof(eh));
    eh.e_type = ET_DYN;
    memcpy(bad, &eh, sizeof(eh));
    assert_int_equal(elf_load_expect(bad, size, 64 * MIB, "ET_EXEC"), -EINVAL);

    memcpy(bad, d, size);
    eh.e_type = ET_EXEC;
    eh.e_machine = EM_386;
    memcpy(bad, &eh, sizeof(eh));
    assert_int_equal(elf_load_expect(bad, size, 64 * MIB, "x86-64"), -EINVAL);

    /* Program headers past the end of the file. */
    memcpy(bad, d, size);
    eh.e_machine = EM_X86_64;
    eh.e_phnum = 0xff00;
    memcpy(bad, &eh, sizeof(eh));
    assert_int_equal(elf_load_expect(bad, size, 64 * MIB, "program headers"), -EINVAL);

    /* A segment whose file bytes run past the end of the file. */
    memcpy(bad, d, size);
    memcpy(&ph, bad + ph1, sizeof(ph));
    ph.p_filesz = 0x4000;
    ph.p_memsz = 0x4000;
    memcpy(bad + ph1, &ph, sizeof(ph));
    assert_int_equal(elf_load_expect(bad, size, 64 * MIB, "inside the file"), -EINVAL);

    /* A segment with an offset that would wrap. */
    memcpy(bad, d, size);
    memcpy(&ph, bad + ph1, sizeof(ph));
    ph.p_offset = UINT64_MAX - 0x10;
    memcpy(bad + ph1, &ph, sizeof(ph));
    assert_int_equal(elf_load_expect(bad, size, 64 * MIB, "inside the file"), -EINVAL);

    /* filesz > memsz. */
    memcpy(bad, d, size);
    memcpy(&ph, bad + ph1, sizeof(ph));
    ph.p_memsz = 0x100;
    memcpy(bad + ph1, &ph, sizeof(ph));
    assert_int_equal(elf_load_expect(bad, size, 64 * MIB, "more file bytes"), -EINVAL);

    /* A segment beyond RAM, and one whose end wraps around. */
    memcpy(bad, d, size);
    memcpy(&ph, bad + ph1, sizeof(ph));
    ph.p_paddr = 0x8000000;
    memcpy(bad + ph1, &ph, sizeof(ph));
    assert_int_equal(elf_load_expect(bad, size, 64 * MIB, "too small"), -ENOMEM);
    ph.p_paddr = UINT64_MAX - 0xfff;
    memcpy(bad + ph1, &ph, sizeof(ph));
    assert_int_equal(elf_load_expect(bad, size, 64 * MIB, "too small"), -ENOMEM);

    /* A segment over the boot structures in low memory. */
    ph.p_paddr = 0x7000;
    memcpy(bad + ph1, &ph, sizeof(ph));
    assert_int_equal(elf_load_expect(bad, size, 64 * MIB, "below 1 MiB"), -EINVAL);

    /* An entry point outside every segment. */
    memcpy(bad, d, size);
    memcpy(&eh, bad, sizeof(eh));
    eh.e_entry = 0x5000000;
    memcpy(bad, &eh, sizeof(eh));
    assert_int_equal(elf_load_expect(bad, size, 64 * MIB, "entry point"), -EINVAL);

    /* Cut inside the ELF header. */
    assert_int_equal(elf_load_expect(d, 40, 64 * MIB, "too small"), -EINVAL);

    free(bad);
    free(d);
}

static void test_unknown_format_rejected(void **state)
{
    (void)state;
    struct bz_opts o = bz_default();
    size_t size;
    uint8_t *d = bz_build(&o, &size);
    struct loaded l;
    log_capture();
    load_file(&l, 64 * MIB, d, size, KERNEL_MULTIBOOT, &default_in);
    log_release();
    assert_int_equal(l.r, -EINVAL);
    unload(&l);
    free(d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bzimage_basic),
        cmocka_unit_test(test_gdt_and_page_tables),
        cmocka_unit_test(test_bzimage_header_length),
        cmocka_unit_test(test_bzimage_relocatable_pref_address),
        cmocka_unit_test(test_bzimage_relocatable_alignment),
        cmocka_unit_test(test_bzimage_old_protocol_rejected),
        cmocka_unit_test(test_bzimage_no_64bit_entry_rejected),
        cmocka_unit_test(test_bzimage_not_hdrs_rejected),
        cmocka_unit_test(test_bzimage_truncated_rejected),
        cmocka_unit_test(test_bzimage_memory_too_small),
        cmocka_unit_test(test_cmdline_truncated),
        cmocka_unit_test(test_initrd_two_files),
        cmocka_unit_test(test_initrd_addr_max),
        cmocka_unit_test(test_initrd_too_big),
        cmocka_unit_test(test_elf_vmlinux),
        cmocka_unit_test(test_elf_virtual_entry),
        cmocka_unit_test(test_elf_rejects_bad_files),
        cmocka_unit_test(test_unknown_format_rejected),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
