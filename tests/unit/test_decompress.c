/* Kernel payload decompression: every format, compressed the way the
 * kernel's build does it -- with the libraries' encoders, and with the
 * command-line tools the kernel's Makefiles call where they are installed
 * (gzip, bzip2, lzma, xz, lzop, lz4, zstd) -- must come back byte for byte;
 * truncated, corrupt and mislabelled payloads must fail with a reason. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "boot/decompress.h"
#include "kernel_compress.h"
#include "util/bytes.h"

/* Compressible but not trivial: text-like runs mixed with noise. */
static uint8_t *sample(size_t n)
{
    uint8_t *p = malloc(n);
    assert_non_null(p);
    uint32_t x = 12345;
    for (size_t i = 0; i < n; i++) {
        x = x * 1103515245 + 12345;
        p[i] = (i / 64) % 3 == 0 ? (uint8_t)(x >> 24) : (uint8_t)("vmlinux-"[i % 8] + (i >> 12));
    }
    return p;
}

static void expect_roundtrip(enum decompress_format fmt, const uint8_t *payload, size_t len,
                             const uint8_t *want, size_t want_len)
{
    assert_int_equal(decompress_detect(payload, len), fmt);
    uint8_t *out;
    size_t out_len;
    const char *why = NULL;
    int r = decompress_payload(fmt, payload, len, &out, &out_len, &why);
    if (r != 0)
        fail_msg("%s: %s", decompress_format_name(fmt), why);
    assert_int_equal(out_len, want_len);
    assert_memory_equal(out, want, want_len);
    free(out);
}

/* Decompression must fail; returns the reason. */
static const char *expect_fail(enum decompress_format fmt, const uint8_t *payload, size_t len)
{
    uint8_t *out = (uint8_t *)"untouched";
    size_t out_len = 1;
    const char *why = NULL;
    int r = decompress_payload(fmt, payload, len, &out, &out_len, &why);
    if (r == 0)
        fail_msg("%s: a bad payload of %zu bytes decoded", decompress_format_name(fmt), len);
    assert_int_equal(r, -EINVAL);
    assert_null(out);
    assert_int_equal(out_len, 0);
    assert_non_null(why);
    return why;
}

static void test_library_roundtrip(void **state)
{
    (void)state;
    const size_t n = 300000;
    uint8_t *in = sample(n);
    for (size_t i = 0; i < KC_NFORMATS; i++) {
        size_t len;
        uint8_t *c = kc_compress(kc_formats[i], in, n, &len);
        assert_non_null(c);
        assert_true(len < n);
        expect_roundtrip(kc_formats[i], c, len, in, n);
        free(c);
    }
    free(in);
}

/* LZ4 legacy blocks hold 8 MiB each: a payload over 8 MiB has two, here
 * with a repeated frame magic between them as concatenated frames have. */
static void test_lz4_several_blocks(void **state)
{
    (void)state;
    const size_t n = (8u << 20) + 70000;
    uint8_t *in = sample(n);
    size_t len;
    uint8_t *c = kc_compress(DECOMPRESS_LZ4, in, n, &len);
    assert_non_null(c);
    expect_roundtrip(DECOMPRESS_LZ4, c, len, in, n);
    free(c);
    free(in);
}

static void test_uncompressed_elf(void **state)
{
    (void)state;
    uint8_t elf[64] = {0x7f, 'E', 'L', 'F', 2, 1, 1};
    expect_roundtrip(DECOMPRESS_NONE, elf, sizeof(elf), elf, sizeof(elf));
}

static void test_detect(void **state)
{
    (void)state;
    static const struct {
        const char *bytes;
        size_t len;
        enum decompress_format fmt;
        const char *name;
    } cases[] = {
        {"\x1f\x8b\x08\x00", 4, DECOMPRESS_GZIP, "gzip"},
        {"BZh9", 4, DECOMPRESS_BZIP2, "bzip2"},
        {"\x5d\x00\x00\x00\x04", 5, DECOMPRESS_LZMA, "lzma"},
        {"\xfd"
         "7zXZ\x00\x00",
         7, DECOMPRESS_XZ, "xz"},
        {"\x89LZO\x00\r\n\x1a\n\x10", 10, DECOMPRESS_LZO, "lzo"},
        {"\x02\x21\x4c\x18", 4, DECOMPRESS_LZ4, "lz4"},
        {"\x28\xb5\x2f\xfd", 4, DECOMPRESS_ZSTD, "zstd"},
        {"\x7f"
         "ELF",
         4, DECOMPRESS_NONE, "uncompressed"},
        {"\x04\x22\x4d\x18", 4, DECOMPRESS_UNKNOWN, "unknown"}, /* LZ4F: not the kernel's */
        {"\xfd"
         "7zX",
         4, DECOMPRESS_UNKNOWN, "unknown"}, /* too short for its magic */
        {"", 0, DECOMPRESS_UNKNOWN, "unknown"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        enum decompress_format f = decompress_detect((const uint8_t *)cases[i].bytes, cases[i].len);
        if (f != cases[i].fmt)
            fail_msg("case %zu detected as %s", i, decompress_format_name(f));
        assert_string_equal(decompress_format_name(f), cases[i].name);
    }
}

/* Cut the payload c (len bytes, n uncompressed) short, keeping a plausible
 * size word at the end, as a cut file with a patched header would have; and
 * lie about the size in both directions. */
static void check_truncated_and_wrong_size(enum decompress_format fmt, const uint8_t *c, size_t len,
                                           size_t n)
{
    uint8_t *bad = malloc(len);
    assert_non_null(bad);
    size_t cut = len / 2;
    memcpy(bad, c, cut - 4);
    memcpy(bad + cut - 4, c + len - 4, 4);
    expect_fail(fmt, bad, cut);

    memcpy(bad, c, len);
    put_le32(bad + len - 4, (uint32_t)n + 1);
    if (fmt == DECOMPRESS_GZIP) /* gzip checks its own trailer */
        expect_fail(fmt, bad, len);
    else
        assert_non_null(strstr(expect_fail(fmt, bad, len), "fewer bytes"));
    put_le32(bad + len - 4, (uint32_t)n - 1);
    const char *why = expect_fail(fmt, bad, len);
    if (fmt != DECOMPRESS_LZ4) /* LZ4 cannot tell a short buffer from bad data */
        assert_non_null(strstr(why, "more bytes"));
    put_le32(bad + len - 4, 0);
    expect_fail(fmt, bad, len);
    put_le32(bad + len - 4, 0xffffffff);
    assert_non_null(strstr(expect_fail(fmt, bad, len), "over 1 GiB"));

    expect_fail(fmt, c, 6); /* nothing but a magic */
    free(bad);
}

/* Formats with checksums (gzip, bzip2, xz, lzo as the kernel's lzop writes
 * it, zstd as its CLI writes it) notice a flipped bit anywhere in the
 * stream, .lzma through its end marker and the size word; LZ4 legacy frames
 * have no check at all, so corrupt a block length there. */
static void check_corrupt(enum decompress_format fmt, uint8_t *c, size_t len)
{
    if (fmt == DECOMPRESS_LZ4)
        put_le32(c + 4, (uint32_t)len); /* first block runs past the end */
    else
        c[len / 2] ^= 0x10;
    const char *why = expect_fail(fmt, c, len);
    assert_true(strlen(why) > 10);
}

static void test_bad_payloads(void **state)
{
    (void)state;
    const size_t n = 200000;
    uint8_t *in = sample(n);
    for (size_t i = 0; i < KC_NFORMATS; i++) {
        size_t len;
        uint8_t *c = kc_compress(kc_formats[i], in, n, &len);
        assert_non_null(c);
        check_truncated_and_wrong_size(kc_formats[i], c, len, n);
        check_corrupt(kc_formats[i], c, len);
        free(c);
    }
    free(in);
}

/* An lzop header with a bad checksum or an unknown method; no format. */
static void test_bad_headers(void **state)
{
    (void)state;
    uint8_t *small = sample(1000);
    size_t len;
    uint8_t *c = kc_compress(DECOMPRESS_LZO, small, 1000, &len);
    c[20] ^= 1; /* the mode field */
    assert_non_null(strstr(expect_fail(DECOMPRESS_LZO, c, len), "header checksum"));
    c[20] ^= 1;
    c[15] = 9; /* method */
    assert_non_null(strstr(expect_fail(DECOMPRESS_LZO, c, len), "method"));
    free(c);

    assert_non_null(strstr(expect_fail(DECOMPRESS_UNKNOWN, small, 1000), "format is unknown"));
    free(small);
}

/* --- the command-line tools, as the kernel's build runs them --- */

static bool have_tool(const char *name)
{
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "command -v %s >/dev/null 2>&1", name);
    return system(cmd) == 0;
}

/* Run "TOOL ARGS < in > out", append the size word unless gzip, read back. */
static uint8_t *tool_compress(const char *tool_cmd, bool size_word, const uint8_t *in, size_t n,
                              size_t *len)
{
    char src[] = "/tmp/xuni-kc-XXXXXX";
    int fd = mkstemp(src);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, in, n), (ssize_t)n);
    close(fd);
    char dst[sizeof(src) + 4];
    snprintf(dst, sizeof(dst), "%s.z", src);
    char cmd[512];
    snprintf(cmd, sizeof(cmd), "%s < %s > %s", tool_cmd, src, dst);
    assert_int_equal(system(cmd), 0);
    FILE *f = fopen(dst, "rb");
    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    long sz = ftell(f);
    rewind(f);
    uint8_t *p = malloc((size_t)sz + 4);
    assert_int_equal(fread(p, 1, (size_t)sz, f), (size_t)sz);
    fclose(f);
    unlink(src);
    unlink(dst);
    *len = (size_t)sz;
    if (size_word) {
        put_le32(p + *len, (uint32_t)n);
        *len += 4;
    }
    return p;
}

static void test_kernel_tools(void **state)
{
    (void)state;
    /* The commands of scripts/Makefile.lib (6.1) and scripts/xz_wrap.sh. */
    static const struct {
        const char *tool;
        const char *cmd;
        enum decompress_format fmt;
        bool big; /* over 8 MiB: several LZ4 and lzop blocks */
    } tools[] = {
        {"gzip", "gzip -n -9", DECOMPRESS_GZIP, false},
        {"bzip2", "bzip2 -9", DECOMPRESS_BZIP2, false},
        {"lzma", "lzma -9", DECOMPRESS_LZMA, false},
        {"xz", "xz --check=crc32 --x86 --lzma2=,dict=32MiB", DECOMPRESS_XZ, false},
        {"lzop", "lzop -9", DECOMPRESS_LZO, true},
        {"lz4", "lz4 -l -9 - -", DECOMPRESS_LZ4, true},
        {"zstd", "zstd -22 --ultra", DECOMPRESS_ZSTD, false},
    };
    const size_t big = (8u << 20) + 300000, small = 300000;
    uint8_t *in = sample(big);
    unsigned ran = 0;
    for (size_t i = 0; i < sizeof(tools) / sizeof(tools[0]); i++) {
        if (!have_tool(tools[i].tool)) {
            print_message("# %s not installed: its case is skipped\n", tools[i].tool);
            continue;
        }
        size_t len, n = tools[i].big ? big : small;
        uint8_t *c = tool_compress(tools[i].cmd, tools[i].fmt != DECOMPRESS_GZIP, in, n, &len);
        expect_roundtrip(tools[i].fmt, c, len, in, n);
        free(c);
        ran++;
    }
    free(in);
    if (ran == 0)
        skip();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_detect),
        cmocka_unit_test(test_library_roundtrip),
        cmocka_unit_test(test_lz4_several_blocks),
        cmocka_unit_test(test_uncompressed_elf),
        cmocka_unit_test(test_bad_payloads),
        cmocka_unit_test(test_bad_headers),
        cmocka_unit_test(test_kernel_tools),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
