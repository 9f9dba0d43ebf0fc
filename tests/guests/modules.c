/* modules: multiboot modules (--initrd "build/guests/mod1.bin arg1,
 * build/guests/mod2.bin"): count, page alignment, sizes, strings and
 * contents, and that they overlap neither the kernel nor each other.
 * mod1.bin is 320 lines "mod1 line 00001\n" .. "mod1 line 00320\n" (5120
 * bytes, two pages), mod2.bin is "xuni-module-two\n" (guests.mk). */
#include "guest.h"

#define MOD1_LINES     320
#define MOD1_LINE_SIZE 16
#define MOD1_SIZE      (MOD1_LINES * MOD1_LINE_SIZE)
static const char mod2_text[] = "xuni-module-two\n";

/* Compare with the lines, 8 bytes at a time, counting the line number up
 * in place (odometer): a few instructions per line, not per byte. */
static bool mod1_content_ok(const char *p, size_t size)
{
    if (size != MOD1_SIZE)
        return false;
    union {
        char c[MOD1_LINE_SIZE];
        uint64_t q[2];
    } line = {.c = "mod1 line 00000\n"};
    const uint64_t *data = (const uint64_t *)p;
    for (unsigned n = 0; n < MOD1_LINES; n++) {
        for (int d = 14; line.c[d]++ == '9'; d--)
            line.c[d] = '0';
        if (data[2 * n] != line.q[0] || data[2 * n + 1] != line.q[1])
            return false;
    }
    return true;
}

/* The string is "PATH ARGS"; print the file name and the arguments. */
static void show_string(const char *s)
{
    size_t len = strlen(s), path_len = 0;
    while (path_len < len && s[path_len] != ' ')
        path_len++;
    const char *base = basename_of(s, path_len);
    printf("\"%s\"", base);
}

static bool overlaps(uint64_t a_start, uint64_t a_end, uint64_t b_start, uint64_t b_end)
{
    return a_start < b_end && b_start < a_end;
}

void guest_main(uint32_t magic, uint32_t info)
{
    const struct mb_info *mbi = mb_ptr(info);
    printf("modules guest\n");
    if (!check(magic == MB_BOOTLOADER_MAGIC, "bad multiboot magic 0x%x", magic) ||
        !check(mbi->flags & MB_INFO_MODS, "no modules (flag bit 3)"))
        return;
    printf("mods_count %u\n", mbi->mods_count);
    if (!check(mbi->mods_count == 2, "expected 2 modules"))
        return;
    const struct mb_module *mods = mb_ptr(mbi->mods_addr);
    static const uint32_t sizes[2] = {MOD1_SIZE, sizeof(mod2_text) - 1};
    static const char *const strings[2] = {"mod1.bin arg1", "mod2.bin"};
    for (unsigned i = 0; i < 2; i++) {
        const struct mb_module *m = &mods[i];
        const char *s = mb_ptr(m->string);
        printf("module %u: ", i);
        show_string(s);
        uint32_t size = m->mod_end - m->mod_start;
        printf(" size %u", size);
        printf(" %s", m->mod_start % 4096 == 0 ? "page-aligned" : "NOT page-aligned");
        const char *data = mb_ptr(m->mod_start);
        bool content = size == sizes[i] &&
                       (i == 0 ? mod1_content_ok(data, size) : memcmp(data, mod2_text, size) == 0);
        printf(" content %s\n", content ? "ok" : "differs");
        size_t slen = strlen(s), wlen = strlen(strings[i]);
        check(slen >= wlen && strcmp(s + slen - wlen, strings[i]) == 0 &&
                  (slen == wlen || s[slen - wlen - 1] == '/'),
              "module %u string \"%s\" does not name \"%s\"", i, s, strings[i]);
        check(m->mod_start % 4096 == 0, "module %u at 0x%x not page-aligned", i, m->mod_start);
        check(m->mod_end >= m->mod_start, "module %u ends before it starts", i);
        check(content, "module %u content", i);
        check(!overlaps(m->mod_start, m->mod_end, (uintptr_t)guest_image_start,
                        (uintptr_t)guest_image_end),
              "module %u [0x%x, 0x%x) overlaps the kernel", i, m->mod_start, m->mod_end);
    }
    check(!overlaps(mods[0].mod_start, mods[0].mod_end, mods[1].mod_start, mods[1].mod_end),
          "the modules overlap");
    printf("modules done\n");
}
