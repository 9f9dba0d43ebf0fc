/* The AML emitter: exact bytes for integers, names, EISA ids, strings,
 * PkgLength at each encoding size, resource descriptors, and overflow. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "boot/aml.h"

#define EXPECT(a, ...)                                                                             \
    do {                                                                                           \
        const uint8_t want_[] = {__VA_ARGS__};                                                     \
        assert_int_equal((a)->len, sizeof(want_));                                                 \
        assert_memory_equal((a)->buf, want_, sizeof(want_));                                       \
    } while (0)

static uint8_t buf[8192];

static struct aml fresh(void)
{
    struct aml a;
    memset(buf, 0xcc, sizeof(buf));
    aml_init(&a, buf, sizeof(buf));
    return a;
}

static void test_integers(void **state)
{
    (void)state;
    struct aml a = fresh();
    aml_int(&a, 0);
    aml_int(&a, 1);
    aml_int(&a, 2);
    aml_int(&a, 0xff);
    aml_int(&a, 0x100);
    aml_int(&a, 0xffff);
    aml_int(&a, 0x10000);
    aml_int(&a, 0x100000000ULL);
    EXPECT(&a, 0x00, 0x01, 0x0a, 0x02, 0x0a, 0xff, 0x0b, 0x00, 0x01, 0x0b, 0xff, 0xff, 0x0c, 0x00,
           0x00, 0x01, 0x00, 0x0e, 0, 0, 0, 0, 1, 0, 0, 0);
}

static void test_names_and_strings(void **state)
{
    (void)state;
    struct aml a = fresh();
    aml_name_string(&a, "\\_SB");
    aml_name_string(&a, "PCI0");
    aml_name_string(&a, "\\_SB.PCI0");
    aml_name_string(&a, "A.B.C");
    EXPECT(&a, '\\', '_', 'S', 'B', '_', 'P', 'C', 'I', '0', '\\', 0x2e, '_', 'S', 'B', '_', 'P',
           'C', 'I', '0', 0x2f, 3, 'A', '_', '_', '_', 'B', '_', '_', '_', 'C', '_', '_', '_');
    a = fresh();
    aml_name(&a, "_UID");
    aml_string(&a, "xuni");
    EXPECT(&a, 0x08, '_', 'U', 'I', 'D', 0x0d, 'x', 'u', 'n', 'i', 0);
}

static void test_eisaid(void **state)
{
    (void)state;
    struct aml a = fresh();
    aml_eisaid(&a, "PNP0A03");
    aml_eisaid(&a, "PNP0c02"); /* hex digits in either case */
    EXPECT(&a, 0x0c, 0x41, 0xd0, 0x0a, 0x03, 0x0c, 0x41, 0xd0, 0x0c, 0x02);
}

/* A Package of n ZeroOps: PkgLength covers itself, NumElements and n. */
static void check_pkglen(size_t n, const uint8_t *enc, size_t enc_len)
{
    struct aml a = fresh();
    size_t m = aml_package_begin(&a, 0);
    for (size_t i = 0; i < n; i++)
        aml_int(&a, 0);
    aml_end(&a, m);
    assert_false(a.overflow);
    assert_int_equal(a.len, 1 + enc_len + 1 + n);
    assert_int_equal(buf[0], 0x12);
    assert_memory_equal(buf + 1, enc, enc_len);
    assert_int_equal(buf[1 + enc_len], 0); /* NumElements moved intact */
    assert_int_equal(buf[a.len - 1], 0);
}

static void test_pkglength_encodings(void **state)
{
    (void)state;
    /* NumElements and 61 zeros: 62, plus one PkgLength byte: 63 fits */
    check_pkglen(61, (const uint8_t[]){63}, 1);
    /* content 63 needs two bytes: total 65 = 0x41 -> 0x41, 0x04 */
    check_pkglen(62, (const uint8_t[]){0x40 | 1, 0x04}, 2);
    /* total 4095 still fits two bytes: content 4093 */
    check_pkglen(4092, (const uint8_t[]){0x40 | 0xf, 0xff}, 2);
    /* content 4094: three bytes, total 4097 = 0x1001 */
    check_pkglen(4093, (const uint8_t[]){0x80 | 1, 0x00, 0x01}, 3);
}

static void test_nesting(void **state)
{
    (void)state;
    struct aml a = fresh();
    size_t s = aml_scope_begin(&a, "\\_SB");
    size_t d = aml_device_begin(&a, "DEV");
    size_t m = aml_method_begin(&a, "_OSC", 4);
    aml_return(&a);
    aml_arg(&a, 3);
    aml_end(&a, m);
    aml_end(&a, d);
    aml_end(&a, s);
    EXPECT(&a, 0x10, 22, '\\', '_', 'S', 'B', '_', 0x5b, 0x82, 14, 'D', 'E', 'V', '_', 0x14, 8, '_',
           'O', 'S', 'C', 4, 0xa4, 0x6b);
}

static void test_buffer_and_resources(void **state)
{
    (void)state;
    uint8_t rbuf[64];
    struct aml r;
    aml_init(&r, rbuf, sizeof(rbuf));
    aml_res_io(&r, 0xcf8, 8);
    aml_res_mem32_fixed(&r, 0xe0000000, 0x10000000);
    aml_res_end(&r);
    const uint8_t want[] = {0x47, 1, 0xf8, 0x0c, 0xf8, 0x0c, 1, 8, 0x86, 9,    0,
                            1,    0, 0,    0,    0xe0, 0,    0, 0, 0x10, 0x79, 0};
    assert_int_equal(r.len, sizeof(want));
    assert_memory_equal(rbuf, want, sizeof(want));
    struct aml a = fresh();
    aml_buffer(&a, rbuf, r.len);
    assert_int_equal(a.len, 1 + 1 + 2 + r.len);
    assert_int_equal(buf[0], 0x11);
    assert_int_equal(buf[1], 2 + 1 + r.len); /* PkgLength: itself, BufferSize, data */
    assert_int_equal(buf[2], 0x0a);
    assert_int_equal(buf[3], r.len);
    assert_memory_equal(buf + 4, rbuf, r.len);

    aml_init(&r, rbuf, sizeof(rbuf));
    aml_res_bus_range(&r, 0, 0xff);
    EXPECT(&r, 0x88, 13, 0, 2, 0x0c, 0, 0, 0, 0, 0, 0xff, 0, 0, 0, 0, 1);
    aml_init(&r, rbuf, sizeof(rbuf));
    aml_res_io_range(&r, 0xd00, 0xffff);
    EXPECT(&r, 0x88, 13, 0, 1, 0x0c, 3, 0, 0, 0, 0x0d, 0xff, 0xff, 0, 0, 0, 0xf3);
    aml_init(&r, rbuf, sizeof(rbuf));
    aml_res_mem_range(&r, 0xc0000000, 0xdfffffff);
    EXPECT(&r, 0x87, 23, 0, 0, 0x0c, 1, 0, 0, 0, 0, 0, 0, 0, 0xc0, 0xff, 0xff, 0xff, 0xdf, 0, 0, 0,
           0, 0, 0, 0, 0x20);
}

static void test_overflow(void **state)
{
    (void)state;
    uint8_t small[8];
    struct aml a;
    aml_init(&a, small, sizeof(small));
    size_t p = aml_package_begin(&a, 3);
    aml_int(&a, 0x12345678); /* 5 more: 7 in all */
    aml_end(&a, p);          /* the PkgLength byte would make 8: fits */
    assert_false(a.overflow);
    assert_int_equal(a.len, 8);
    aml_int(&a, 0);
    assert_true(a.overflow);
    assert_int_equal(a.len, 8);
    /* Once overflowed, nothing more is written or closed. */
    aml_init(&a, small, 4);
    p = aml_scope_begin(&a, "ABCD");
    assert_true(a.overflow);
    aml_end(&a, p);
    assert_int_equal(a.len, 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_integers), cmocka_unit_test(test_names_and_strings),
        cmocka_unit_test(test_eisaid),   cmocka_unit_test(test_pkglength_encodings),
        cmocka_unit_test(test_nesting),  cmocka_unit_test(test_buffer_and_resources),
        cmocka_unit_test(test_overflow),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
