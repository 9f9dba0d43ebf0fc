#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vm/bus.h"

struct fake_dev {
    uint64_t last_offset, last_value;
    unsigned last_size, reads, writes;
    uint64_t read_value;
};

static uint64_t fake_read(void *opaque, uint64_t offset, unsigned size)
{
    struct fake_dev *d = opaque;
    d->last_offset = offset;
    d->last_size = size;
    d->reads++;
    return d->read_value;
}

static void fake_write(void *opaque, uint64_t offset, unsigned size, uint64_t value)
{
    struct fake_dev *d = opaque;
    d->last_offset = offset;
    d->last_size = size;
    d->last_value = value;
    d->writes++;
}

static const struct bus_ops fake_ops = {fake_read, fake_write};

static void test_dispatch_by_range(void **state)
{
    (void)state;
    struct bus bus;
    struct fake_dev a = {.read_value = 0x11}, b = {.read_value = 0x22};
    bus_init(&bus, "port", NULL);
    assert_int_equal(bus_register(&bus, 0x3f8, 8, &fake_ops, &a, "a"), 0);
    assert_int_equal(bus_register(&bus, 0x70, 2, &fake_ops, &b, "b"), 0);
    assert_int_equal(bus_read(&bus, 0x3fd, 1), 0x11);
    assert_int_equal(a.last_offset, 5);
    assert_int_equal(a.last_size, 1);
    assert_int_equal(bus_read(&bus, 0x71, 1), 0x22);
    assert_int_equal(b.last_offset, 1);
    bus_write(&bus, 0x3f8, 2, 0x1234);
    assert_int_equal(a.writes, 1);
    assert_int_equal(a.last_value, 0x1234);
    assert_int_equal(a.last_size, 2);
    assert_int_equal(b.writes, 0);
    bus_destroy(&bus);
}

static void test_read_value_truncated_to_size(void **state)
{
    (void)state;
    struct bus bus;
    struct fake_dev a = {.read_value = 0xdeadbeefcafef00dULL};
    bus_init(&bus, "mmio", NULL);
    assert_int_equal(bus_register(&bus, 0x1000, 0x100, &fake_ops, &a, "a"), 0);
    assert_int_equal(bus_read(&bus, 0x1000, 1), 0x0d);
    assert_int_equal(bus_read(&bus, 0x1000, 2), 0xf00d);
    assert_int_equal(bus_read(&bus, 0x1000, 4), 0xcafef00d);
    assert_true(bus_read(&bus, 0x1000, 8) == 0xdeadbeefcafef00dULL);
    bus_write(&bus, 0x10ff, 1, 0x1ff);
    assert_int_equal(a.last_value, 0xff);
    bus_destroy(&bus);
}

static void test_unclaimed_all_ones_and_logged_once(void **state)
{
    (void)state;
    struct bus bus;
    char *buf = NULL;
    size_t len = 0;
    FILE *log = open_memstream(&buf, &len);
    log_set_stream(log);
    bus_init(&bus, "port", NULL);
    assert_int_equal(bus_read(&bus, 0x1234, 1), 0xff);
    assert_int_equal(bus_read(&bus, 0x1234, 2), 0xffff);
    assert_int_equal(bus_read(&bus, 0x1234, 4), 0xffffffffu);
    assert_true(bus_read(&bus, 0x1234, 8) == ~0ULL);
    bus_write(&bus, 0x1234, 1, 5);
    bus_write(&bus, 0x1234, 1, 6);
    fflush(log);
    /* One line for the reads, one for the writes, however many accesses. */
    int lines = 0;
    for (size_t i = 0; i < len; i++)
        lines += buf[i] == '\n';
    assert_int_equal(lines, 2);
    assert_non_null(strstr(buf, "unclaimed port read at 0x1234"));
    assert_non_null(strstr(buf, "unclaimed port write at 0x1234"));
    log_set_stream(NULL);
    fclose(log);
    free(buf);
    bus_destroy(&bus);
}

static void test_unclaimed_reports_are_bounded(void **state)
{
    (void)state;
    struct bus bus;
    char *buf = NULL;
    size_t len = 0;
    FILE *log = open_memstream(&buf, &len);
    log_set_stream(log);
    bus_init(&bus, "mmio", NULL);
    for (uint64_t a = 0; a < 100000; a++)
        bus_read(&bus, 0xd0000000 + a * 4, 4);
    fflush(log);
    int lines = 0;
    for (size_t i = 0; i < len; i++)
        lines += buf[i] == '\n';
    assert_true(lines <= 300);
    assert_true(lines >= 256);
    log_set_stream(NULL);
    fclose(log);
    free(buf);
    bus_destroy(&bus);
}

static void test_overlap_rejected(void **state)
{
    (void)state;
    struct bus bus;
    struct fake_dev a = {0};
    FILE *devnull = fopen("/dev/null", "w");
    log_set_stream(devnull);
    bus_init(&bus, "port", NULL);
    assert_int_equal(bus_register(&bus, 0x40, 4, &fake_ops, &a, "pit"), 0);
    assert_int_equal(bus_register(&bus, 0x43, 1, &fake_ops, &a, "x"), -EBUSY);
    assert_int_equal(bus_register(&bus, 0x3c, 5, &fake_ops, &a, "y"), -EBUSY);
    assert_int_equal(bus_register(&bus, 0x30, 0x20, &fake_ops, &a, "z"), -EBUSY);
    assert_int_equal(bus_register(&bus, 0x3c, 4, &fake_ops, &a, "ok-before"), 0);
    assert_int_equal(bus_register(&bus, 0x44, 4, &fake_ops, &a, "ok-after"), 0);
    assert_int_equal(bus_register(&bus, 0x50, 0, &fake_ops, &a, "empty"), -EINVAL);
    assert_int_equal(bus_register(&bus, ~0ULL, 2, &fake_ops, &a, "wrap"), -EINVAL);
    log_set_stream(NULL);
    fclose(devnull);
    bus_destroy(&bus);
}

static void test_many_ranges_sorted_lookup(void **state)
{
    (void)state;
    struct bus bus;
    static struct fake_dev devs[100];
    FILE *devnull = fopen("/dev/null", "w");
    log_set_stream(devnull);
    bus_init(&bus, "mmio", NULL);
    /* Register in a scrambled order; lookups must still find each. */
    for (unsigned i = 0; i < 100; i++) {
        unsigned k = (i * 37) % 100;
        devs[k].read_value = k;
        assert_int_equal(bus_register(&bus, 0x10000 + k * 0x100, 0x80, &fake_ops, &devs[k], "d"),
                         0);
    }
    for (unsigned k = 0; k < 100; k++) {
        assert_int_equal(bus_read(&bus, 0x10000 + k * 0x100 + 0x7f, 1), k);
        assert_int_equal(bus_read(&bus, 0x10000 + k * 0x100 + 0x80, 1), 0xff); /* the gap */
        assert_non_null(bus_find(&bus, 0x10000 + k * 0x100));
    }
    assert_null(bus_find(&bus, 0xffff));
    log_set_stream(NULL);
    fclose(devnull);
    bus_destroy(&bus);
}

static void test_null_callbacks_are_quiet_sinks(void **state)
{
    (void)state;
    static const struct bus_ops sink = {0};
    struct bus bus;
    char *buf = NULL;
    size_t len = 0;
    FILE *log = open_memstream(&buf, &len);
    log_set_stream(log);
    bus_init(&bus, "port", NULL);
    assert_int_equal(bus_register(&bus, 0x80, 1, &sink, NULL, "post"), 0);
    bus_write(&bus, 0x80, 1, 0x12);
    assert_int_equal(bus_read(&bus, 0x80, 1), 0xff);
    fflush(log);
    assert_int_equal(len, 0);
    log_set_stream(NULL);
    fclose(log);
    free(buf);
    bus_destroy(&bus);
}

static void test_unregister_and_is_free(void **state)
{
    (void)state;
    struct bus bus;
    struct fake_dev a = {.read_value = 0xa}, b = {.read_value = 0xb};
    bus_init(&bus, "mmio", NULL);
    assert_true(bus_is_free(&bus, 0x1000, 0x100));
    assert_int_equal(bus_register(&bus, 0x1000, 0x100, &fake_ops, &a, "a"), 0);
    assert_int_equal(bus_register(&bus, 0x2000, 0x100, &fake_ops, &b, "b"), 0);
    assert_false(bus_is_free(&bus, 0x10ff, 1));
    assert_false(bus_is_free(&bus, 0xf00, 0x101));
    assert_true(bus_is_free(&bus, 0x1100, 0xf00));
    assert_false(bus_is_free(&bus, 0x3000, 0));
    assert_false(bus_is_free(&bus, ~0ULL, 2));
    /* Only the exact base and owner release a range. */
    assert_int_equal(bus_unregister(&bus, 0x1001, &a), -ENOENT);
    assert_int_equal(bus_unregister(&bus, 0x1000, &b), -ENOENT);
    assert_int_equal(bus_unregister(&bus, 0x1000, &a), 0);
    assert_int_equal(bus_unregister(&bus, 0x1000, &a), -ENOENT);
    assert_null(bus_find(&bus, 0x1000));
    assert_true(bus_is_free(&bus, 0x1000, 0x100));
    assert_int_equal(bus_read(&bus, 0x2000, 1), 0xb); /* the other range stays */
    /* The freed space can be claimed again, e.g. a BAR moved back. */
    assert_int_equal(bus_register(&bus, 0x1080, 0x100, &fake_ops, &a, "a"), 0);
    assert_int_equal(bus_read(&bus, 0x1080, 1), 0xa);
    assert_int_equal(bus.nranges, 2);
    bus_destroy(&bus);
}

/* A write callback that moves its own range, as a PCI BAR write does. */
struct mover {
    struct bus *bus;
    uint64_t base;
};

static void mover_write(void *opaque, uint64_t offset, unsigned size, uint64_t value)
{
    (void)offset;
    (void)size;
    struct mover *m = opaque;
    static const struct bus_ops ops = {NULL, mover_write};
    assert_int_equal(bus_unregister(m->bus, m->base, m), 0);
    m->base = value;
    assert_int_equal(bus_register(m->bus, m->base, 0x10, &ops, m, "mover"), 0);
}

static void test_callback_moves_its_range(void **state)
{
    (void)state;
    struct bus bus;
    static const struct bus_ops ops = {NULL, mover_write};
    struct mover m = {&bus, 0x100};
    struct fake_dev pad[20];
    bus_init(&bus, "mmio", NULL);
    assert_int_equal(bus_register(&bus, 0x100, 0x10, &ops, &m, "mover"), 0);
    /* Enough other ranges that re-registering reallocates the array. */
    for (unsigned i = 0; i < 20; i++)
        assert_int_equal(bus_register(&bus, 0x1000 + i * 0x10, 8, &fake_ops, &pad[i], "pad"), 0);
    bus_write(&bus, 0x104, 4, 0x5000);
    assert_int_equal(m.base, 0x5000);
    assert_null(bus_find(&bus, 0x100));
    assert_ptr_equal(bus_find(&bus, 0x500f)->opaque, &m);
    bus_destroy(&bus);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_dispatch_by_range),
        cmocka_unit_test(test_unregister_and_is_free),
        cmocka_unit_test(test_callback_moves_its_range),
        cmocka_unit_test(test_read_value_truncated_to_size),
        cmocka_unit_test(test_unclaimed_all_ones_and_logged_once),
        cmocka_unit_test(test_unclaimed_reports_are_bounded),
        cmocka_unit_test(test_overlap_rejected),
        cmocka_unit_test(test_many_ranges_sorted_lookup),
        cmocka_unit_test(test_null_callbacks_are_quiet_sinks),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
