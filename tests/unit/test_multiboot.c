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

#include "boot/boot.h"
#include "boot/multiboot.h"
#include "util/log.h"
#include "vm/e820.h"
#include "vm/layout.h"

#define MEM_SIZE (64ULL << 20)

struct seg {
    uint32_t paddr, vaddr, filesz, memsz;
    uint8_t fill;
};

static char tmpdir[] = "/tmp/xuni-mb-XXXXXX";
static FILE *devnull;

static int setup(void **state)
{
    (void)state;
    if (!mkdtemp(tmpdir))
        return -1;
    devnull = fopen("/dev/null", "w");
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    char cmd[64];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", tmpdir);
    fclose(devnull);
    return system(cmd);
}

static char *write_file(const char *name, const void *data, size_t len)
{
    static char path[8][128];
    static int next;
    char *p = path[next++ % 8];
    snprintf(p, 128, "%s/%s", tmpdir, name);
    FILE *f = fopen(p, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(data, 1, len, f), len);
    fclose(f);
    return p;
}

static void put_header(uint8_t *at, uint32_t flags)
{
    uint32_t h[3] = {MULTIBOOT_HEADER_MAGIC, flags, -(MULTIBOOT_HEADER_MAGIC + flags)};
    memcpy(at, h, sizeof(h));
}

/* An ELF32 multiboot kernel with the given segments; segment data at file
 * offset 0x1000 + i * 0x1000, filled with seg.fill. */
static size_t make_elf32(uint8_t *buf, const struct seg *segs, unsigned n, uint32_t entry)
{
    size_t size = 0x1000 + n * 0x1000;
    memset(buf, 0, size);
    Elf32_Ehdr *e = (Elf32_Ehdr *)buf;
    memcpy(e->e_ident, ELFMAG, SELFMAG);
    e->e_ident[EI_CLASS] = ELFCLASS32;
    e->e_ident[EI_DATA] = ELFDATA2LSB;
    e->e_ident[EI_VERSION] = EV_CURRENT;
    e->e_type = ET_EXEC;
    e->e_machine = EM_386;
    e->e_version = EV_CURRENT;
    e->e_entry = entry;
    e->e_phoff = sizeof(*e);
    e->e_ehsize = sizeof(*e);
    e->e_phentsize = sizeof(Elf32_Phdr);
    e->e_phnum = n;
    Elf32_Phdr *ph = (Elf32_Phdr *)(buf + sizeof(*e));
    for (unsigned i = 0; i < n; i++) {
        ph[i] = (Elf32_Phdr){.p_type = PT_LOAD,
                             .p_offset = 0x1000 + i * 0x1000,
                             .p_vaddr = segs[i].vaddr ? segs[i].vaddr : segs[i].paddr,
                             .p_paddr = segs[i].paddr,
                             .p_filesz = segs[i].filesz,
                             .p_memsz = segs[i].memsz,
                             .p_flags = PF_R | PF_X};
        memset(buf + 0x1000 + i * 0x1000, segs[i].fill, segs[i].filesz);
    }
    put_header(buf + 0x200, 0x3); /* page-align modules, memory info */
    return size;
}

struct mb_info_view {
    uint32_t flags, mem_lower, mem_upper, boot_device, cmdline, mods_count, mods_addr;
    uint32_t syms[4];
    uint32_t mmap_length, mmap_addr, drives_length, drives_addr, config_table;
    uint32_t boot_loader_name;
} __attribute__((packed));

static int load(struct guest_memory *mem, const char *path, const char *append,
                const char *const *mods, unsigned nmods, struct boot_entry *entry)
{
    struct boot_params_in in = {
        .kernel_path = path, .cmdline = append, .initrds = mods, .ninitrds = nmods, .ncpus = 1};
    log_set_stream(getenv("TEST_VERBOSE") ? NULL : devnull);
    int r = boot_load(mem, &in, entry);
    log_set_stream(NULL);
    return r;
}

static void test_elf32_segments_info_and_entry(void **state)
{
    (void)state;
    static uint8_t buf[0x4000];
    struct seg segs[] = {{0x100000, 0, 0x800, 0x2000, 0xaa}, {0x400000, 0, 0x100, 0x100, 0xbb}};
    size_t size = make_elf32(buf, segs, 2, 0x100010);
    char *path = write_file("k.elf", buf, size);
    struct guest_memory mem;
    assert_int_equal(guest_memory_init(&mem, MEM_SIZE), 0);
    uint8_t *dirty = guest_memory_ptr(&mem, 0x100000, 0x2000);
    memset(dirty, 0x55, 0x2000); /* bss must be zeroed, whatever was there */
    assert_int_equal(boot_detect_format(buf, size), KERNEL_MULTIBOOT);

    struct boot_entry entry;
    assert_int_equal(load(&mem, path, "hello-arg", NULL, 0, &entry), 0);
    uint8_t *p = guest_memory_ptr(&mem, 0x100000, 0x2000);
    assert_int_equal(p[0], 0xaa);
    assert_int_equal(p[0x7ff], 0xaa);
    assert_int_equal(p[0x800], 0);
    assert_int_equal(p[0x1fff], 0);
    assert_int_equal(*(uint8_t *)guest_memory_ptr(&mem, 0x4000ff, 1), 0xbb);

    assert_int_equal(entry.mode, BOOT_MODE_PROTECTED32);
    assert_true(entry.rip == 0x100010);
    assert_true(entry.rax == MULTIBOOT_BOOTLOADER_MAGIC);
    assert_true(entry.cr0 & 1);
    assert_int_equal(entry.cs.db, 1);
    assert_int_equal(entry.cs.l, 0);
    assert_true(entry.cs.limit == 0xffffffff);

    struct mb_info_view info;
    assert_int_equal(guest_memory_read(&mem, entry.rbx, &info, sizeof(info)), 0);
    assert_true(entry.rbx == LAYOUT_MULTIBOOT_INFO); /* no overlap: QEMU's place */
    assert_true(info.flags & (1 << 0));
    assert_true(info.flags & (1 << 2));
    assert_true(info.flags & (1 << 6));
    assert_int_equal(info.mem_lower, 639);
    assert_int_equal(info.mem_upper, (MEM_SIZE - (1 << 20)) / 1024);
    char cmdline[256];
    assert_int_equal(guest_memory_read(&mem, info.cmdline, cmdline, strlen(path) + 11), 0);
    char want[256];
    snprintf(want, sizeof(want), "%s hello-arg", path);
    assert_string_equal(cmdline, want);
    char name[5];
    assert_int_equal(guest_memory_read(&mem, info.boot_loader_name, name, 5), 0);
    assert_string_equal(name, "xuni");

    /* The memory map is the e820 map, in multiboot's format. */
    struct e820_entry e820[E820_MAX_ENTRIES];
    unsigned ne = e820_build(&mem, e820);
    assert_int_equal(info.mmap_length, ne * 24);
    for (unsigned i = 0; i < ne; i++) {
        uint8_t ent[24];
        assert_int_equal(guest_memory_read(&mem, info.mmap_addr + i * 24, ent, 24), 0);
        uint32_t sz, type;
        uint64_t addr, len;
        memcpy(&sz, ent, 4);
        memcpy(&addr, ent + 4, 8);
        memcpy(&len, ent + 12, 8);
        memcpy(&type, ent + 20, 4);
        assert_int_equal(sz, 20);
        assert_true(addr == e820[i].addr && len == e820[i].size);
        assert_int_equal(type, e820[i].type);
    }
    guest_memory_destroy(&mem);
}

static void test_cmdline_without_append_is_the_path(void **state)
{
    (void)state;
    static uint8_t buf[0x4000];
    struct seg segs[] = {{0x100000, 0, 0x10, 0x10, 0x90}};
    char *path = write_file("k2.elf", buf, make_elf32(buf, segs, 1, 0x100000));
    struct guest_memory mem;
    assert_int_equal(guest_memory_init(&mem, MEM_SIZE), 0);
    struct boot_entry entry;
    assert_int_equal(load(&mem, path, NULL, NULL, 0, &entry), 0);
    struct mb_info_view info;
    assert_int_equal(guest_memory_read(&mem, entry.rbx, &info, sizeof(info)), 0);
    char cmdline[256] = {0};
    assert_int_equal(guest_memory_read(&mem, info.cmdline, cmdline, strlen(path) + 1), 0);
    assert_string_equal(cmdline, path);
    guest_memory_destroy(&mem);
}

static void test_modules(void **state)
{
    (void)state;
    static uint8_t buf[0x4000];
    struct seg segs[] = {{0x100000, 0, 0x100, 0x3000, 0x90}};
    char *path = write_file("k3.elf", buf, make_elf32(buf, segs, 1, 0x100000));
    char m1[0x1801], m2[3] = "xyz";
    memset(m1, 'm', sizeof(m1));
    char *p1 = write_file("mod1", m1, sizeof(m1));
    char *p2 = write_file("mod2", m2, sizeof(m2));
    char item1[200];
    snprintf(item1, sizeof(item1), "%s arg1 arg2", p1);
    const char *mods[] = {item1, p2};
    struct guest_memory mem;
    assert_int_equal(guest_memory_init(&mem, MEM_SIZE), 0);
    struct boot_entry entry;
    assert_int_equal(load(&mem, path, NULL, mods, 2, &entry), 0);
    struct mb_info_view info;
    assert_int_equal(guest_memory_read(&mem, entry.rbx, &info, sizeof(info)), 0);
    assert_true(info.flags & (1 << 3));
    assert_int_equal(info.mods_count, 2);
    uint32_t m[2][4];
    assert_int_equal(guest_memory_read(&mem, info.mods_addr, m, sizeof(m)), 0);
    assert_int_equal(m[0][0] & 0xfff, 0);
    assert_int_equal(m[1][0] & 0xfff, 0);
    assert_int_equal(m[0][1] - m[0][0], sizeof(m1));
    assert_int_equal(m[1][1] - m[1][0], 3);
    assert_true(m[0][0] >= 0x103000); /* clear of the kernel and its bss */
    assert_true(m[1][0] >= m[0][1]);
    assert_memory_equal(guest_memory_ptr(&mem, m[0][0], sizeof(m1)), m1, sizeof(m1));
    assert_memory_equal(guest_memory_ptr(&mem, m[1][0], 3), "xyz", 3);
    char s[256];
    assert_int_equal(guest_memory_read(&mem, m[0][2], s, strlen(item1) + 1), 0);
    assert_string_equal(s, item1);
    assert_int_equal(guest_memory_read(&mem, m[1][2], s, strlen(p2) + 1), 0);
    assert_string_equal(s, p2);

    /* A missing module file is an error naming it. */
    const char *bad[] = {"/nonexistent/module"};
    assert_int_equal(load(&mem, path, NULL, bad, 1, &entry), -ENOENT);
    guest_memory_destroy(&mem);
}

static void test_low_load_moves_info(void **state)
{
    (void)state;
    static uint8_t buf[0x4000];
    /* A kernel loaded in low memory over QEMU's info address. */
    struct seg segs[] = {{0x8000, 0, 0x1000, 0x3000, 0x77}};
    char *path = write_file("low.elf", buf, make_elf32(buf, segs, 1, 0x8000));
    struct guest_memory mem;
    assert_int_equal(guest_memory_init(&mem, MEM_SIZE), 0);
    struct boot_entry entry;
    assert_int_equal(load(&mem, path, "x", NULL, 0, &entry), 0);
    assert_true(entry.rbx >= 0xb000);
    assert_int_equal(*(uint8_t *)guest_memory_ptr(&mem, 0x8800, 1), 0x77); /* kernel intact */
    uint8_t bss[0x2000], zero[0x2000] = {0};
    assert_int_equal(guest_memory_read(&mem, 0x9000, bss, sizeof(bss)), 0);
    assert_memory_equal(bss, zero, sizeof(bss)); /* its bss, not the info */
    guest_memory_destroy(&mem);
}

static void test_virtual_entry_translated(void **state)
{
    (void)state;
    static uint8_t buf[0x4000];
    struct seg segs[] = {{0x200000, 0xc0200000, 0x100, 0x100, 0x11}};
    char *path = write_file("virt.elf", buf, make_elf32(buf, segs, 1, 0xc0200040));
    struct guest_memory mem;
    assert_int_equal(guest_memory_init(&mem, MEM_SIZE), 0);
    struct boot_entry entry;
    assert_int_equal(load(&mem, path, NULL, NULL, 0, &entry), 0);
    assert_true(entry.rip == 0x200040);
    guest_memory_destroy(&mem);
}

static void test_aout_kludge(void **state)
{
    (void)state;
    /* A flat binary: header at offset 0x40 says it is loaded at 0x100000
     * from file offset 0, with 0x1000 bytes of bss after 0x200 of image. */
    static uint8_t buf[0x400];
    memset(buf, 0xcd, sizeof(buf));
    uint32_t flags = 1u << 16;
    uint32_t h[8] = {MULTIBOOT_HEADER_MAGIC,
                     flags,
                     -(MULTIBOOT_HEADER_MAGIC + flags),
                     0x100040,
                     0x100000,
                     0x100200,
                     0x101200,
                     0x100080};
    memcpy(buf + 0x40, h, sizeof(h));
    char *path = write_file("aout.bin", buf, sizeof(buf));
    struct guest_memory mem;
    assert_int_equal(guest_memory_init(&mem, MEM_SIZE), 0);
    memset(guest_memory_ptr(&mem, 0x100000, 0x2000), 0x55, 0x2000);
    struct boot_entry entry;
    assert_int_equal(load(&mem, path, NULL, NULL, 0, &entry), 0);
    uint8_t *p = guest_memory_ptr(&mem, 0x100000, 0x1300);
    assert_memory_equal(p, buf, 0x200);
    assert_int_equal(p[0x200], 0); /* bss zeroed */
    assert_int_equal(p[0x11ff], 0);
    assert_int_equal(p[0x1200], 0x55); /* beyond bss untouched */
    assert_true(entry.rip == 0x100080);
    guest_memory_destroy(&mem);
}

static void test_rejects(void **state)
{
    (void)state;
    static uint8_t buf[0x4000];
    struct guest_memory mem;
    struct boot_entry entry;
    assert_int_equal(guest_memory_init(&mem, MEM_SIZE), 0);

    /* Header past the first 8 KiB: not multiboot (and not anything else). */
    memset(buf, 0, sizeof(buf));
    put_header(buf + 0x2000, 0);
    assert_int_equal(boot_detect_format(buf, sizeof(buf)), KERNEL_UNKNOWN);
    assert_int_equal(load(&mem, write_file("far", buf, sizeof(buf)), NULL, NULL, 0, &entry),
                     -ENOEXEC);

    /* Bad checksum. */
    memset(buf, 0, sizeof(buf));
    uint32_t h[3] = {MULTIBOOT_HEADER_MAGIC, 0, 1};
    memcpy(buf + 4, h, sizeof(h));
    assert_int_equal(boot_detect_format(buf, sizeof(buf)), KERNEL_UNKNOWN);

    /* A required feature xuni lacks (bit 5). */
    struct seg segs[] = {{0x100000, 0, 0x10, 0x10, 1}};
    size_t size = make_elf32(buf, segs, 1, 0x100000);
    put_header(buf + 0x200, 1u << 5);
    assert_int_equal(load(&mem, write_file("feat", buf, size), NULL, NULL, 0, &entry), -ENOEXEC);

    /* A segment beyond RAM. */
    struct seg big[] = {{0x3f00000, 0, 0x10, 0x200000, 1}};
    size = make_elf32(buf, big, 1, 0x3f00000);
    assert_int_equal(load(&mem, write_file("big", buf, size), NULL, NULL, 0, &entry), -ENOMEM);

    /* A segment whose file bytes lie beyond the end of the file. */
    size = make_elf32(buf, segs, 1, 0x100000);
    Elf32_Phdr *ph = (Elf32_Phdr *)(buf + sizeof(Elf32_Ehdr));
    ph->p_filesz = 0x100000;
    ph->p_memsz = 0x100000;
    assert_int_equal(load(&mem, write_file("trunc", buf, size), NULL, NULL, 0, &entry), -ENOEXEC);

    /* Program headers beyond the file. */
    size = make_elf32(buf, segs, 1, 0x100000);
    ((Elf32_Ehdr *)buf)->e_phnum = 0xffff;
    assert_int_equal(load(&mem, write_file("phnum", buf, size), NULL, NULL, 0, &entry), -ENOEXEC);

    /* Not ELF and no a.out kludge. */
    memset(buf, 0, sizeof(buf));
    put_header(buf, 0);
    assert_int_equal(load(&mem, write_file("raw", buf, 64), NULL, NULL, 0, &entry), -ENOEXEC);

    /* Missing and empty files. */
    assert_int_equal(load(&mem, "/nonexistent/kernel", NULL, NULL, 0, &entry), -ENOENT);
    assert_int_equal(load(&mem, write_file("empty", buf, 0), NULL, NULL, 0, &entry), -ENOEXEC);
    assert_int_equal(load(&mem, tmpdir, NULL, NULL, 0, &entry), -EISDIR);
    guest_memory_destroy(&mem);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_elf32_segments_info_and_entry),
        cmocka_unit_test(test_cmdline_without_append_is_the_path),
        cmocka_unit_test(test_modules),
        cmocka_unit_test(test_low_load_moves_info),
        cmocka_unit_test(test_virtual_entry_translated),
        cmocka_unit_test(test_aout_kludge),
        cmocka_unit_test(test_rejects),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
