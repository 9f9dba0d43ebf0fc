/* hello: the multiboot information xuni hands a kernel.
 * Run with --mem 64M --append hello-arg. */
#include "guest.h"

static void show_cmdline(const struct mb_info *mbi)
{
    if (!check(mbi->flags & MB_INFO_CMDLINE, "no command line (flag bit 2)"))
        return;
    /* "KERNELPATH ARGS", as QEMU builds it; print the kernel's file name
     * only, so the output does not depend on where the tree lives. */
    const char *cmd = mb_ptr(mbi->cmdline);
    size_t len = strlen(cmd);
    size_t path_len = 0;
    while (path_len < len && cmd[path_len] != ' ')
        path_len++;
    const char *base = basename_of(cmd, path_len);
    const char *args = path_len < len ? cmd + path_len + 1 : "";
    printf("cmdline: kernel \"%.*s\" args \"%s\"\n", (int)(cmd + path_len - base), base, args);
    const char *want = " hello-arg";
    size_t wlen = strlen(want);
    check(len >= wlen && strcmp(cmd + len - wlen, want) == 0,
          "command line does not end with \"%s\"", want);
}

/* Print the map; return the length of the RAM entry starting at 1 MiB. */
static uint64_t show_mmap(const struct mb_info *mbi)
{
    uint64_t upper = 0;
    if (!check(mbi->flags & MB_INFO_MMAP, "no memory map (flag bit 6)"))
        return 0;
    printf("memory map:\n");
    uint32_t off = 0;
    while (off + sizeof(struct mb_mmap_entry) <= mbi->mmap_length) {
        const struct mb_mmap_entry *e = mb_ptr(mbi->mmap_addr + off);
        printf("  0x%016lx-0x%016lx type %u\n", e->addr, e->addr + e->len - 1, e->type);
        if (e->addr == 0x100000 && e->type == 1)
            upper = e->len;
        if (!check(e->size >= 20, "memory map entry size %u", e->size))
            break;
        off += e->size + 4;
    }
    check(off == mbi->mmap_length, "memory map length %u, entries end at %u", mbi->mmap_length,
          off);
    return upper;
}

void guest_main(uint32_t magic, uint32_t info)
{
    const struct mb_info *mbi = mb_ptr(info);
    printf("hello from xuni guest\n");
    printf("magic 0x%x\n", magic);
    if (!check(magic == MB_BOOTLOADER_MAGIC, "bad multiboot magic"))
        return;
    /* Only the bits every loader must set here; QEMU sets more. */
    printf("flags:%s%s%s\n", mbi->flags & MB_INFO_MEMORY ? " mem" : "",
           mbi->flags & MB_INFO_CMDLINE ? " cmdline" : "",
           mbi->flags & MB_INFO_MMAP ? " mmap" : "");
    if (check(mbi->flags & MB_INFO_MEMORY, "no memory sizes (flag bit 0)")) {
        printf("mem_lower %u KiB\n", mbi->mem_lower);
        printf("mem_upper %u KiB\n", mbi->mem_upper);
    }
    show_cmdline(mbi);
    uint64_t upper = show_mmap(mbi);
    /* The spec defines mem_upper as the memory from 1 MiB up to the first
     * hole: the RAM entry at 1 MiB, unless firmware reserved part of it. */
    printf("mem_upper %s the memory map\n",
           upper / 1024 == mbi->mem_upper ? "matches" : "differs from");
    printf("hello done\n");
}
