/* bzImages unpacked on the host: synthetic bzImages whose payload is a tiny
 * vmlinux-like ELF, compressed in every format the kernel offers, must land
 * segment by segment at their physical addresses and be entered at the ELF
 * entry with the bzImage's own setup header in the zero page; the same image
 * with --kernel-decompress guest must load the protected-mode code as it is.
 * Bad payloads end in one error naming the file and the format. If a Debian
 * kernel has been built by `make guest` (or XUNI_TEST_BZIMAGE names one),
 * it is unpacked and loaded too. */
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
#include "kernel_compress.h"
#include "util/bytes.h"
#include "util/log.h"
#include "vm/layout.h"

#define MIB (1ULL << 20)

/* Setup header offsets (Documentation/arch/x86/boot.rst). */
#define H_SETUP_SECTS    0x1f1
#define H_SYSSIZE        0x1f4
#define H_BOOT_FLAG      0x1fe
#define H_JUMP           0x200
#define H_HEADER         0x202
#define H_VERSION        0x206
#define H_LOADFLAGS      0x211
#define H_CODE32_START   0x214
#define H_RAMDISK_IMAGE  0x218
#define H_RAMDISK_SIZE   0x21c
#define H_INITRD_MAX     0x22c
#define H_KERNEL_ALIGN   0x230
#define H_RELOCATABLE    0x234
#define H_XLOADFLAGS     0x236
#define H_CMDLINE_SIZE   0x238
#define H_PAYLOAD_OFFSET 0x248
#define H_PAYLOAD_LENGTH 0x24c
#define H_PREF_ADDRESS   0x258
#define H_INIT_SIZE      0x260

#define SETUP_BYTES 0xa00 /* setup_sects 4: the protected-mode code starts here */
#define STUB_BYTES  0x800 /* the "decompressor" before the payload */
#define STUB_FILL   0xcc
#define PREF        0x1000000ULL
#define INIT_SIZE   0x800000u

/* The vmlinux: text at 16 MiB, data + bss at 18 MiB, as a kernel's. */
#define TEXT_PADDR 0x1000000ULL
#define TEXT_VADDR 0xffffffff81000000ULL
#define TEXT_SIZE  0x3000
#define DATA_PADDR 0x1200000ULL
#define DATA_FILE  0x100
#define DATA_MEM   0x5000
#define RELOCS     0x40 /* what follows vmlinux.bin in a relocatable kernel's payload */

static uint8_t text_byte(size_t i)
{
    return (uint8_t)(i * 13 + 5);
}

static uint8_t data_byte(size_t i)
{
    return (uint8_t)(i * 3 + 0x41);
}

static uint8_t *vmlinux_build(uint64_t entry, size_t *size)
{
    const size_t text_off = 0x1000, data_off = text_off + TEXT_SIZE;
    *size = data_off + DATA_FILE + RELOCS;
    uint8_t *d = calloc(1, *size);
    assert_non_null(d);
    Elf64_Ehdr eh = {
        .e_ident = {ELFMAG0, ELFMAG1, ELFMAG2, ELFMAG3, ELFCLASS64, ELFDATA2LSB, EV_CURRENT},
        .e_type = ET_EXEC,
        .e_machine = EM_X86_64,
        .e_version = EV_CURRENT,
        .e_entry = entry,
        .e_phoff = sizeof(Elf64_Ehdr),
        .e_ehsize = sizeof(Elf64_Ehdr),
        .e_phentsize = sizeof(Elf64_Phdr),
        .e_phnum = 3,
    };
    const Elf64_Phdr ph[3] = {
        {.p_type = PT_LOAD,
         .p_flags = PF_R | PF_X,
         .p_offset = text_off,
         .p_vaddr = TEXT_VADDR,
         .p_paddr = TEXT_PADDR,
         .p_filesz = TEXT_SIZE,
         .p_memsz = TEXT_SIZE},
        {.p_type = PT_NOTE, .p_offset = text_off, .p_paddr = 0x10, .p_filesz = 4, .p_memsz = 4},
        {.p_type = PT_LOAD,
         .p_flags = PF_R | PF_W,
         .p_offset = data_off,
         .p_vaddr = TEXT_VADDR + (DATA_PADDR - TEXT_PADDR),
         .p_paddr = DATA_PADDR,
         .p_filesz = DATA_FILE,
         .p_memsz = DATA_MEM},
    };
    memcpy(d, &eh, sizeof(eh));
    memcpy(d + sizeof(eh), ph, sizeof(ph));
    for (size_t i = 0; i < TEXT_SIZE; i++)
        d[text_off + i] = text_byte(i);
    for (size_t i = 0; i < DATA_FILE; i++)
        d[data_off + i] = data_byte(i);
    memset(d + data_off + DATA_FILE, 0xee, RELOCS);
    return d;
}

struct bz {
    uint16_t version;
    uint32_t init_size;
    int payload_length_delta; /* added to the true length in the header */
};

/* setup (with header) + stub + payload, in an exact-size buffer. */
static uint8_t *bz_wrap(const struct bz *o, const uint8_t *payload, size_t plen, size_t *size)
{
    size_t pm = STUB_BYTES + plen;
    *size = SETUP_BYTES + pm;
    uint8_t *d = calloc(1, *size);
    assert_non_null(d);
    d[H_SETUP_SECTS] = 4;
    put_le32(d + H_SYSSIZE, (uint32_t)((pm + 15) / 16));
    put_le16(d + H_BOOT_FLAG, 0xaa55);
    d[H_JUMP] = 0xeb;
    d[H_JUMP + 1] = 0x6a;
    memcpy(d + H_HEADER, "HdrS", 4);
    put_le16(d + H_VERSION, o->version);
    d[H_LOADFLAGS] = 0x01;
    put_le32(d + H_CODE32_START, 0x100000);
    put_le32(d + H_INITRD_MAX, 0x7fffffff);
    put_le32(d + H_KERNEL_ALIGN, 0x200000);
    d[H_RELOCATABLE] = 1;
    put_le16(d + H_XLOADFLAGS, 0x1);
    put_le32(d + H_CMDLINE_SIZE, 2047);
    put_le32(d + H_PAYLOAD_OFFSET, STUB_BYTES);
    put_le32(d + H_PAYLOAD_LENGTH, (uint32_t)((int64_t)plen + o->payload_length_delta));
    put_le64(d + H_PREF_ADDRESS, PREF);
    put_le32(d + H_INIT_SIZE, o->init_size);
    memset(d + SETUP_BYTES, STUB_FILL, STUB_BYTES);
    memcpy(d + SETUP_BYTES + STUB_BYTES, payload, plen);
    return d;
}

static const struct bz bz_default = {.version = 0x020f, .init_size = INIT_SIZE};

/* A bzImage whose payload is the test vmlinux compressed as fmt. */
static uint8_t *bz_build(enum decompress_format fmt, const struct bz *o, size_t *size)
{
    size_t elf_len, plen;
    uint8_t *elf = vmlinux_build(TEXT_PADDR, &elf_len);
    uint8_t *payload = kc_compress(fmt, elf, elf_len, &plen);
    assert_non_null(payload);
    uint8_t *d = bz_wrap(o, payload, plen, size);
    free(payload);
    free(elf);
    return d;
}

/* --- loading --- */

struct loaded {
    struct guest_memory mem;
    struct boot_entry entry;
    const uint8_t *zp;
    int r;
    char *log;
};

static void load(struct loaded *l, uint64_t ram, const uint8_t *data, size_t size,
                 enum kernel_decompress how, const char *initrd)
{
    memset(l, 0, sizeof(*l));
    assert_int_equal(guest_memory_init(&l->mem, ram), 0);
    /* Dirty the bss so the test sees the loader zero it. */
    memset(guest_memory_ptr(&l->mem, DATA_PADDR, DATA_MEM), 0x5a, DATA_MEM);
    const char *initrds[] = {initrd};
    struct boot_params_in in = {
        .kernel_path = "/test/bzImage",
        .cmdline = "console=ttyS0",
        .initrds = initrds,
        .ninitrds = initrd ? 1 : 0,
        .ncpus = 1,
        .decompress = how,
    };
    size_t log_len;
    FILE *log = open_memstream(&l->log, &log_len);
    assert_non_null(log);
    log_set_stream(log);
    struct boot_file k = {.data = (uint8_t *)data, .size = size, .path = in.kernel_path};
    l->r = linux_load(&l->mem, &k, KERNEL_BZIMAGE, &in, &l->entry);
    log_set_stream(NULL);
    fclose(log);
    l->zp = guest_memory_ptr(&l->mem, LAYOUT_ZERO_PAGE, 4096);
}

static void unload(struct loaded *l)
{
    guest_memory_destroy(&l->mem);
    free(l->log);
}

/* Load must fail with err and a log holding every needle (NULL-ended). */
static void expect_error(const uint8_t *data, size_t size, uint64_t ram, int err, ...)
{
    struct loaded l;
    load(&l, ram, data, size, KERNEL_DECOMPRESS_HOST, NULL);
    if (l.r != err)
        fail_msg("load returned %d, want %d; log: %s", l.r, err, l.log);
    va_list ap;
    va_start(ap, err);
    for (const char *needle; (needle = va_arg(ap, const char *));)
        if (!strstr(l.log, needle))
            fail_msg("log \"%s\" lacks \"%s\"", l.log, needle);
    va_end(ap);
    unload(&l);
}

static void assert_vmlinux_loaded(const struct loaded *l)
{
    const uint8_t *t = guest_memory_ptr(&l->mem, TEXT_PADDR, TEXT_SIZE);
    for (size_t i = 0; i < TEXT_SIZE; i++)
        if (t[i] != text_byte(i))
            fail_msg("text byte 0x%zx is 0x%02x", i, t[i]);
    const uint8_t *d = guest_memory_ptr(&l->mem, DATA_PADDR, DATA_MEM);
    for (size_t i = 0; i < DATA_FILE; i++)
        assert_int_equal(d[i], data_byte(i));
    for (size_t i = DATA_FILE; i < DATA_MEM; i++)
        if (d[i])
            fail_msg("bss byte 0x%zx is 0x%02x", i - DATA_FILE, d[i]);
}

static char *write_initrd(size_t n)
{
    static char path[] = "/tmp/xuni-initrd-XXXXXX";
    strcpy(path, "/tmp/xuni-initrd-XXXXXX");
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    uint8_t *buf = calloc(1, n);
    assert_int_equal(write(fd, buf, n), (ssize_t)n);
    free(buf);
    close(fd);
    return path;
}

/* --- tests --- */

static void test_unpack_every_format(void **state)
{
    (void)state;
    static const enum decompress_format all[] = {
        DECOMPRESS_GZIP, DECOMPRESS_BZIP2, DECOMPRESS_LZMA, DECOMPRESS_XZ,
        DECOMPRESS_LZO,  DECOMPRESS_LZ4,   DECOMPRESS_ZSTD, DECOMPRESS_NONE,
    };
    char *initrd = write_initrd(5000);
    for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++) {
        size_t size;
        uint8_t *d = bz_build(all[i], &bz_default, &size);
        struct loaded l;
        load(&l, 64 * MIB, d, size, KERNEL_DECOMPRESS_HOST, initrd);
        if (l.r != 0)
            fail_msg("%s: load failed: %s", decompress_format_name(all[i]), l.log);
        assert_vmlinux_loaded(&l);

        /* Entered at the ELF's entry, with the 64-bit protocol's state. */
        assert_int_equal(l.entry.mode, BOOT_MODE_LONG64);
        assert_int_equal(l.entry.rip, TEXT_PADDR);
        assert_int_equal(l.entry.rsi, LAYOUT_ZERO_PAGE);
        assert_int_equal(l.entry.cr3, LAYOUT_BOOT_PML4);

        /* The zero page carries the bzImage's own header... */
        assert_memory_equal(l.zp + H_HEADER, "HdrS", 4);
        assert_int_equal(get_le16(l.zp + H_VERSION), 0x020f);
        assert_int_equal(get_le32(l.zp + H_INIT_SIZE), INIT_SIZE);
        assert_int_equal(get_le64(l.zp + H_PREF_ADDRESS), PREF);
        assert_int_equal(get_le32(l.zp + H_PAYLOAD_OFFSET), STUB_BYTES);
        assert_int_equal(get_le32(l.zp + H_KERNEL_ALIGN), 0x200000);
        /* ...with the load address, and the initrd above init_size. */
        assert_int_equal(get_le32(l.zp + H_CODE32_START), TEXT_PADDR);
        uint32_t rd = get_le32(l.zp + H_RAMDISK_IMAGE);
        assert_int_equal(get_le32(l.zp + H_RAMDISK_SIZE), 5000);
        assert_true(rd >= TEXT_PADDR + INIT_SIZE);
        unload(&l);
        free(d);
    }
    unlink(initrd);
}

/* The kernel's own decompressor: the protected-mode code (the stub, then
 * the compressed payload) is loaded as it is and entered at +0x200. */
static void test_guest_decompress(void **state)
{
    (void)state;
    size_t size;
    uint8_t *d = bz_build(DECOMPRESS_XZ, &bz_default, &size);
    struct loaded l;
    load(&l, 64 * MIB, d, size, KERNEL_DECOMPRESS_GUEST, NULL);
    assert_int_equal(l.r, 0);
    assert_int_equal(l.entry.rip, PREF + 0x200);
    assert_memory_equal(guest_memory_ptr(&l.mem, PREF, size - SETUP_BYTES), d + SETUP_BYTES,
                        size - SETUP_BYTES);
    assert_int_equal(get_le32(l.zp + H_CODE32_START), PREF);
    unload(&l);
    free(d);
}

/* Without a payload in the header (protocol < 2.08, or payload_length 0,
 * as xuni's linuxboot test guest has) the host path steps aside. */
static void test_no_payload_falls_back(void **state)
{
    (void)state;
    struct bz o = bz_default;
    o.version = 0x0207;
    size_t size;
    uint8_t *d = bz_build(DECOMPRESS_GZIP, &o, &size);
    struct loaded l;
    load(&l, 64 * MIB, d, size, KERNEL_DECOMPRESS_HOST, NULL);
    assert_int_equal(l.r, 0);
    assert_int_equal(l.entry.rip, 0x200200); /* no pref_address before 2.10 */
    unload(&l);
    free(d);

    d = bz_build(DECOMPRESS_GZIP, &bz_default, &size);
    put_le32(d + H_PAYLOAD_LENGTH, 0);
    load(&l, 64 * MIB, d, size, KERNEL_DECOMPRESS_HOST, NULL);
    assert_int_equal(l.r, 0);
    assert_int_equal(l.entry.rip, PREF + 0x200);
    assert_int_equal(*(uint8_t *)guest_memory_ptr(&l.mem, PREF, 1), STUB_FILL);
    unload(&l);
    free(d);
}

static void test_unknown_compression(void **state)
{
    (void)state;
    uint8_t junk[64];
    memset(junk, 0x42, sizeof(junk));
    size_t size;
    uint8_t *d = bz_wrap(&bz_default, junk, sizeof(junk), &size);
    expect_error(d, size, 64 * MIB, -EINVAL, "/test/bzImage: the kernel payload's compression",
                 "unknown (it starts 42 42 42 42)", "--kernel-decompress guest", NULL);
    free(d);
}

static void test_truncated_payload(void **state)
{
    (void)state;
    /* The header names more bytes than the file holds. */
    struct bz o = bz_default;
    o.payload_length_delta = 1;
    size_t size;
    uint8_t *d = bz_build(DECOMPRESS_LZ4, &o, &size);
    expect_error(d, size, 64 * MIB, -EINVAL, "/test/bzImage: corrupt lz4 payload",
                 "run past the end of the file", NULL);
    free(d);

    /* A payload cut short, its header and size word patched to match. */
    d = bz_build(DECOMPRESS_XZ, &bz_default, &size);
    size_t plen = get_le32(d + H_PAYLOAD_LENGTH), cut = plen / 2;
    uint32_t size_word = get_le32(d + size - 4);
    put_le32(d + SETUP_BYTES + STUB_BYTES + cut - 4, size_word);
    put_le32(d + H_PAYLOAD_LENGTH, (uint32_t)cut);
    put_le32(d + H_SYSSIZE, (uint32_t)((STUB_BYTES + cut + 15) / 16));
    expect_error(d, size - (plen - cut), 64 * MIB, -EINVAL, "/test/bzImage: corrupt xz payload",
                 "truncated", NULL);
    free(d);
}

static void test_corrupt_payload(void **state)
{
    (void)state;
    size_t size;
    uint8_t *d = bz_build(DECOMPRESS_LZ4, &bz_default, &size);
    /* The first block's length, cut to 10: it decodes to garbage. */
    put_le32(d + SETUP_BYTES + STUB_BYTES + 4, 10);
    expect_error(d, size, 64 * MIB, -EINVAL, "/test/bzImage: corrupt lz4 payload: ", NULL);
    free(d);

    d = bz_build(DECOMPRESS_GZIP, &bz_default, &size);
    d[SETUP_BYTES + STUB_BYTES + 40] ^= 0x08;
    expect_error(d, size, 64 * MIB, -EINVAL,
                 "/test/bzImage: corrupt gzip payload: the compressed data is invalid", NULL);
    free(d);
}

/* A payload that unpacks to something other than a vmlinux. */
static void test_payload_not_elf(void **state)
{
    (void)state;
    uint8_t text[4096];
    memset(text, 'k', sizeof(text));
    size_t plen, size;
    uint8_t *payload = kc_compress(DECOMPRESS_GZIP, text, sizeof(text), &plen);
    uint8_t *d = bz_wrap(&bz_default, payload, plen, &size);
    expect_error(d, size, 64 * MIB, -EINVAL,
                 "/test/bzImage (its gzip payload, unpacked): not an ELF file", NULL);
    free(d);
    free(payload);
}

/* init_size counts from the load address and must fit in RAM. */
static void test_init_size_must_fit(void **state)
{
    (void)state;
    struct bz o = bz_default;
    o.init_size = 0x1800000; /* 16 + 24 MiB: more than 32 MiB of RAM */
    size_t size;
    uint8_t *d = bz_build(DECOMPRESS_ZSTD, &o, &size);
    expect_error(d, size, 32 * MIB, -ENOMEM, "guest memory (32 MiB) is too small for the kernel",
                 "init_size 24576 KiB", NULL);
    struct loaded l;
    load(&l, 48 * MIB, d, size, KERNEL_DECOMPRESS_HOST, NULL);
    assert_int_equal(l.r, 0);
    unload(&l);
    free(d);
}

/* A real Debian kernel, where `make guest` has fetched one. */
static void test_debian_kernel(void **state)
{
    (void)state;
    const char *path = getenv("XUNI_TEST_BZIMAGE");
    if (!path)
        path = "build/images/vmlinuz-generic";
    struct boot_file k;
    if (access(path, R_OK) != 0) {
        print_message("# %s absent (make guest builds it): skipped\n", path);
        skip();
    }
    assert_int_equal(boot_file_read(path, &k), 0);
    uint64_t pref = get_le64(k.data + H_PREF_ADDRESS);
    struct loaded l;
    load(&l, 512 * MIB, k.data, k.size, KERNEL_DECOMPRESS_HOST, NULL);
    if (l.r != 0)
        fail_msg("%s: %s", path, l.log);
    /* startup_64 of the uncompressed kernel is its first byte (_text), at
     * LOAD_PHYSICAL_ADDR, the header's pref_address. */
    assert_int_equal(l.entry.rip, pref);
    assert_int_equal(get_le32(l.zp + H_CODE32_START), pref);
    unload(&l);

    load(&l, 512 * MIB, k.data, k.size, KERNEL_DECOMPRESS_GUEST, NULL);
    assert_int_equal(l.r, 0);
    assert_int_equal(l.entry.rip, pref + 0x200);
    unload(&l);
    boot_file_free(&k);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_unpack_every_format),   cmocka_unit_test(test_guest_decompress),
        cmocka_unit_test(test_no_payload_falls_back), cmocka_unit_test(test_unknown_compression),
        cmocka_unit_test(test_truncated_payload),     cmocka_unit_test(test_corrupt_payload),
        cmocka_unit_test(test_payload_not_elf),       cmocka_unit_test(test_init_size_must_fit),
        cmocka_unit_test(test_debian_kernel),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
