/* The SMBIOS tables (boot/smbios.c), read back as a guest would: the
 * 64-bit entry point in the 0xf0000 area, then every structure walked by
 * its length and string set, with the fields Linux and dmidecode use. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "boot/smbios.h"
#include "util/bytes.h"
#include "util/log.h"
#include "vm/layout.h"
#include "vm/memory.h"

#define MAX_STRUCTS 64

struct sm_struct {
    const uint8_t *p; /* the formatted area */
    const char *strings[8];
    unsigned nstrings;
};

struct sm_table {
    const uint8_t *ep;
    struct sm_struct s[MAX_STRUCTS];
    unsigned n;
};

static uint8_t sum(const uint8_t *p, size_t len)
{
    uint8_t s = 0;
    for (size_t i = 0; i < len; i++)
        s = (uint8_t)(s + p[i]);
    return s;
}

/* Check the entry point and split the table into its structures. */
static void walk(const struct guest_memory *mem, struct sm_table *t)
{
    t->ep = guest_memory_ptr(mem, LAYOUT_SMBIOS_START, 0x18);
    assert_non_null(t->ep);
    assert_memory_equal(t->ep, "_SM3_", 5);
    assert_int_equal(t->ep[6], 0x18);
    assert_int_equal(sum(t->ep, 0x18), 0);
    assert_int_equal(t->ep[7], 3); /* version 3.0 */
    assert_int_equal(t->ep[8], 0);
    assert_int_equal(t->ep[10], 1);
    uint32_t max = get_le32(t->ep + 0x0c);
    uint64_t addr = get_le64(t->ep + 0x10);
    assert_true(addr >= LAYOUT_SMBIOS_START && addr + max <= LAYOUT_SMBIOS_END);
    const uint8_t *p = guest_memory_ptr(mem, addr, max), *end = p + max;
    assert_non_null(p);
    t->n = 0;
    while (p < end) {
        assert_true(t->n < MAX_STRUCTS);
        struct sm_struct *s = &t->s[t->n];
        assert_true(p + 4 <= end && p[1] >= 4 && p + p[1] + 2 <= end);
        assert_int_equal(get_le16(p + 2), t->n); /* handles 0, 1, 2, ... */
        s->p = p;
        s->nstrings = 0;
        const char *q = (const char *)p + p[1];
        if (!q[0]) {
            assert_int_equal(q[1], 0); /* no strings: two NULs */
            q += 2;
        } else {
            while (*q) {
                size_t len = strnlen(q, (size_t)((const char *)end - q));
                assert_true(q + len < (const char *)end);
                assert_true(s->nstrings < 8);
                s->strings[s->nstrings++] = q;
                q += len + 1;
            }
            q++;
        }
        p = (const uint8_t *)q;
        t->n++;
        if (s->p[0] == 127)
            break;
    }
    assert_ptr_equal(p, end); /* the table ends with type 127, exactly */
}

static const char *str(const struct sm_struct *s, unsigned field)
{
    uint8_t n = s->p[field];
    assert_true(n >= 1 && n <= s->nstrings);
    return s->strings[n - 1];
}

static const struct sm_struct *find(const struct sm_table *t, uint8_t type, unsigned nth)
{
    for (unsigned i = 0; i < t->n; i++)
        if (t->s[i].p[0] == type && nth-- == 0)
            return &t->s[i];
    return NULL;
}

static void test_small_machine(void **state)
{
    (void)state;
    struct guest_memory mem;
    assert_int_equal(guest_memory_init(&mem, 64 << 20), 0);
    assert_int_equal(smbios_build(&mem, 2), 0);
    struct sm_table t;
    walk(&mem, &t);
    static const uint8_t order[] = {0, 1, 3, 4, 4, 16, 17, 19, 32, 127};
    assert_int_equal(t.n, sizeof(order));
    for (unsigned i = 0; i < t.n; i++)
        assert_int_equal(t.s[i].p[0], order[i]);

    const struct sm_struct *bios = find(&t, 0, 0);
    assert_string_equal(str(bios, 0x04), SMBIOS_VENDOR);
    assert_true(bios->p[0x13] & 0x10); /* a virtual machine */
    const struct sm_struct *sys = find(&t, 1, 0);
    assert_string_equal(str(sys, 0x04), SMBIOS_VENDOR);
    assert_string_equal(str(sys, 0x05), SMBIOS_PRODUCT);
    assert_true(sys->p[1] >= 0x1b);
    assert_string_equal(str(find(&t, 4, 0), 0x04), "CPU 0");
    assert_string_equal(str(find(&t, 4, 1), 0x04), "CPU 1");
    assert_int_equal(find(&t, 4, 1)->p[0x18], 0x41); /* populated, enabled */

    const struct sm_struct *array = find(&t, 16, 0), *dev = find(&t, 17, 0);
    assert_int_equal(get_le32(array->p + 0x07), 64 << 10); /* KiB */
    assert_int_equal(get_le16(dev->p + 0x04), get_le16(array->p + 2));
    assert_int_equal(get_le16(dev->p + 0x0c), 64); /* MiB */
    const struct sm_struct *range = find(&t, 19, 0);
    assert_int_equal(get_le32(range->p + 0x04), 0);
    assert_int_equal(get_le32(range->p + 0x08), (64 << 10) - 1);
    assert_int_equal(get_le16(range->p + 0x0c), get_le16(array->p + 2));
    guest_memory_destroy(&mem);
}

/* RAM above the 32-bit hole: a second mapped range at 4 GiB. */
static void test_ram_above_4g(void **state)
{
    (void)state;
    struct guest_memory mem;
    uint64_t ram = 3584ULL << 20;
    assert_int_equal(guest_memory_init(&mem, ram), 0);
    assert_int_equal(mem.nregions, 2);
    assert_int_equal(smbios_build(&mem, 1), 0);
    struct sm_table t;
    walk(&mem, &t);
    assert_int_equal(get_le16(find(&t, 17, 0)->p + 0x0c), 3584);
    for (unsigned i = 0; i < 2; i++) {
        const struct sm_struct *r = find(&t, 19, i);
        assert_non_null(r);
        assert_int_equal(get_le32(r->p + 0x04), mem.regions[i].gpa >> 10);
        assert_int_equal(get_le32(r->p + 0x08),
                         (mem.regions[i].gpa + mem.regions[i].size - 1) >> 10);
    }
    assert_int_equal(get_le32(find(&t, 19, 1)->p + 0x04), 4ULL << 20); /* 4 GiB in KiB */
    guest_memory_destroy(&mem);
}

static void test_errors(void **state)
{
    (void)state;
    struct guest_memory mem;
    assert_int_equal(guest_memory_init(&mem, 64 << 20), 0);
    FILE *devnull = fopen("/dev/null", "w");
    log_set_stream(devnull);
    assert_int_equal(smbios_build(&mem, 0), -EINVAL);
    assert_int_equal(smbios_build(&mem, 5000), -ENOSPC); /* more CPUs than fit */
    log_set_stream(NULL);
    fclose(devnull);
    guest_memory_destroy(&mem);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_small_machine),
        cmocka_unit_test(test_ram_above_4g),
        cmocka_unit_test(test_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
