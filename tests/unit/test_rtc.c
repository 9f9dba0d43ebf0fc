/* The MC146818 RTC and CMOS through its bus ops. Most tests drive a fake
 * clock; the first ones check the real host clock. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <time.h>

#include "hw/rtc.h"

#define NS  1000000000ULL
#define MIB (1024ULL * 1024)
#define GIB (1024 * MIB)

struct fake_clock {
    uint64_t realtime, monotonic;
};

static uint64_t fake_realtime(void *ctx)
{
    return ((struct fake_clock *)ctx)->realtime;
}

static uint64_t fake_monotonic(void *ctx)
{
    return ((struct fake_clock *)ctx)->monotonic;
}

static struct rtc *new_rtc(void)
{
    struct rtc *rtc = rtc_new((struct irq_line){0}, 128 * MIB, 0);
    assert_non_null(rtc);
    return rtc;
}

static void set_fake_clock(struct rtc *rtc, struct fake_clock *clk, time_t t, uint64_t frac_ns)
{
    clk->realtime = (uint64_t)t * NS + frac_ns;
    clk->monotonic = 1000 * NS;
    rtc_set_clock(rtc, fake_realtime, fake_monotonic, clk);
}

static uint8_t cmos_read(struct rtc *rtc, uint8_t index)
{
    rtc_bus_ops.write(rtc, 0, 1, index);
    return (uint8_t)rtc_bus_ops.read(rtc, 1, 1);
}

static void cmos_write(struct rtc *rtc, uint8_t index, uint8_t value)
{
    rtc_bus_ops.write(rtc, 0, 1, index);
    rtc_bus_ops.write(rtc, 1, 1, value);
}

static int from_bcd(uint8_t v)
{
    return (v >> 4) * 10 + (v & 0x0f);
}

/* Read the clock as Linux's mc146818_get_time does: wait out UIP and
 * retry if the seconds moved meanwhile. */
static time_t read_clock(struct rtc *rtc, int binary)
{
    uint8_t r[7];
    do {
        while (cmos_read(rtc, 0x0a) & 0x80)
            ;
        r[0] = cmos_read(rtc, 0);
        r[1] = cmos_read(rtc, 2);
        r[2] = cmos_read(rtc, 4);
        r[3] = cmos_read(rtc, 7);
        r[4] = cmos_read(rtc, 8);
        r[5] = cmos_read(rtc, 9);
        r[6] = cmos_read(rtc, 0x32);
    } while (r[0] != cmos_read(rtc, 0));
    int v[7];
    for (int i = 0; i < 7; i++)
        v[i] = binary ? r[i] : from_bcd(r[i]);
    struct tm tm = {.tm_sec = v[0],
                    .tm_min = v[1],
                    .tm_hour = v[2],
                    .tm_mday = v[3],
                    .tm_mon = v[4] - 1,
                    .tm_year = v[6] * 100 + v[5] - 1900};
    return timegm(&tm);
}

static void test_bcd_time_matches_host(void **state)
{
    (void)state;
    struct rtc *rtc = new_rtc();
    assert_int_equal(cmos_read(rtc, 0x0b), 0x02); /* 24 h, BCD */
    time_t before = time(NULL);
    time_t t = read_clock(rtc, 0);
    time_t after = time(NULL);
    assert_true(t >= before - 2 && t <= after + 2);
    struct tm tm;
    gmtime_r(&t, &tm);
    assert_int_equal(from_bcd(cmos_read(rtc, 6)), tm.tm_wday + 1);
    rtc_free(rtc);
}

static void test_binary_time_matches_host(void **state)
{
    (void)state;
    struct rtc *rtc = new_rtc();
    cmos_write(rtc, 0x0b, 0x06);
    time_t before = time(NULL);
    time_t t = read_clock(rtc, 1);
    time_t after = time(NULL);
    assert_true(t >= before - 2 && t <= after + 2);
    rtc_free(rtc);
}

static void test_twelve_hour_mode(void **state)
{
    (void)state;
    static const struct {
        int hour;
        uint8_t bcd, binary;
    } cases[] = {{0, 0x12, 12},    {1, 0x01, 1},     {11, 0x11, 11},
                 {12, 0x92, 0x8c}, {13, 0x81, 0x81}, {23, 0x91, 0x8b}};
    struct rtc *rtc = new_rtc();
    struct fake_clock clk;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        set_fake_clock(rtc, &clk, 1709596800 + cases[i].hour * 3600 + 7 * 60, 0); /* 2024-03-05 */
        cmos_write(rtc, 0x0b, 0x00);
        assert_int_equal(cmos_read(rtc, 4), cases[i].bcd);
        assert_int_equal(cmos_read(rtc, 2), 0x07);
        cmos_write(rtc, 0x0b, 0x04);
        assert_int_equal(cmos_read(rtc, 4), cases[i].binary);
        cmos_write(rtc, 0x0b, 0x02);
        assert_int_equal(from_bcd(cmos_read(rtc, 4)), cases[i].hour);
    }
    rtc_free(rtc);
}

static void test_register_c_clears_on_read(void **state)
{
    (void)state;
    struct rtc *rtc = new_rtc();
    struct fake_clock clk;
    set_fake_clock(rtc, &clk, 1709596800, 100000000);
    assert_int_equal(cmos_read(rtc, 0x0c), 0x00);
    clk.realtime += 2 * NS; /* an update cycle passed */
    assert_int_equal(cmos_read(rtc, 0x0c), 0x10);
    assert_int_equal(cmos_read(rtc, 0x0c), 0x00);
    /* Periodic at 1024 Hz (register A rate 6), enabled: PF and IRQF. */
    cmos_write(rtc, 0x0b, 0x42);
    clk.monotonic += 1000000; /* 1 ms */
    assert_int_equal(cmos_read(rtc, 0x0c), 0xc0);
    assert_int_equal(cmos_read(rtc, 0x0c), 0x00);
    /* Alarm at 00:00:05 (BCD), enabled: comes up once its second passes. */
    cmos_write(rtc, 0x0b, 0x22);
    cmos_write(rtc, 0x01, 0x05);
    cmos_write(rtc, 0x03, 0x00);
    cmos_write(rtc, 0x05, 0xc0); /* any hour */
    clk.realtime += 2 * NS;
    assert_int_equal(cmos_read(rtc, 0x0c), 0x10);
    clk.realtime += 2 * NS;
    assert_int_equal(cmos_read(rtc, 0x0c), 0xb0);
    assert_int_equal(cmos_read(rtc, 0x0d), 0x80);
    rtc_free(rtc);
}

static void test_uip_before_each_update(void **state)
{
    (void)state;
    struct rtc *rtc = new_rtc();
    struct fake_clock clk;
    set_fake_clock(rtc, &clk, 1709596800, 999900000);
    assert_int_equal(cmos_read(rtc, 0x0a), 0xa6);
    clk.realtime += 200000;
    assert_int_equal(cmos_read(rtc, 0x0a), 0x26);
    cmos_write(rtc, 0x0a, 0xa6); /* UIP is read-only */
    assert_int_equal(cmos_read(rtc, 0x0a), 0x26);
    rtc_free(rtc);
}

/* The sequence of Linux's mc146818_set_time(). */
static void test_guest_sets_time(void **state)
{
    (void)state;
    struct rtc *rtc = new_rtc();
    struct fake_clock clk;
    set_fake_clock(rtc, &clk, 1709596800, 0); /* 2024-03-05 00:00:00 */
    cmos_write(rtc, 0x0b, 0x82);
    cmos_write(rtc, 0x0a, 0x66);
    clk.realtime += 10 * NS; /* frozen while SET */
    cmos_write(rtc, 0x09, 0x99);
    cmos_write(rtc, 0x08, 0x02);
    cmos_write(rtc, 0x07, 0x28);
    cmos_write(rtc, 0x04, 0x23);
    cmos_write(rtc, 0x02, 0x59);
    cmos_write(rtc, 0x00, 0x58);
    cmos_write(rtc, 0x32, 0x19);
    assert_int_equal(cmos_read(rtc, 0x00), 0x58);
    cmos_write(rtc, 0x0b, 0x02);
    cmos_write(rtc, 0x0a, 0x26);
    clk.realtime += 3 * NS; /* and the set time keeps running */
    assert_int_equal(read_clock(rtc, 0), 920246398 + 3);
    assert_int_equal(cmos_read(rtc, 0x08), 0x03); /* 1999-03-01 00:00:01 */
    rtc_free(rtc);
}

static void test_memory_size_bytes(void **state)
{
    (void)state;
    static const struct {
        uint64_t below, above;
        uint16_t base, ext, above_16m;
        uint32_t above_4g;
    } cases[] = {
        {128 * MIB, 0, 640, 0xffff, 0x0700, 0},
        {3 * GIB, 0, 640, 0xffff, 0xbf00, 0},
        {3 * GIB, 3 * GIB, 640, 0xffff, 0xbf00, 0xc000},
        {8 * MIB, 0, 640, 7168, 0, 0},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct rtc *rtc = rtc_new((struct irq_line){0}, cases[i].below, cases[i].above);
        assert_non_null(rtc);
        assert_int_equal(cmos_read(rtc, 0x15) | cmos_read(rtc, 0x16) << 8, cases[i].base);
        assert_int_equal(cmos_read(rtc, 0x17) | cmos_read(rtc, 0x18) << 8, cases[i].ext);
        assert_int_equal(cmos_read(rtc, 0x30) | cmos_read(rtc, 0x31) << 8, cases[i].ext);
        assert_int_equal(cmos_read(rtc, 0x34) | cmos_read(rtc, 0x35) << 8, cases[i].above_16m);
        assert_int_equal(cmos_read(rtc, 0x5b) | cmos_read(rtc, 0x5c) << 8 |
                             cmos_read(rtc, 0x5d) << 16,
                         cases[i].above_4g);
        assert_int_equal(cmos_read(rtc, 0x10), 0x00);
        rtc_free(rtc);
    }
}

static void test_nmi_bit_masked(void **state)
{
    (void)state;
    struct rtc *rtc = new_rtc();
    cmos_write(rtc, 0x80 | 0x40, 0x3c);
    assert_int_equal(cmos_read(rtc, 0x40), 0x3c);
    assert_int_equal(cmos_read(rtc, 0x80 | 0x40), 0x3c);
    assert_int_equal(rtc_bus_ops.read(rtc, 0, 1), 0xff);
    rtc_free(rtc);
}

static void test_scratch_ram(void **state)
{
    (void)state;
    struct rtc *rtc = new_rtc();
    for (unsigned i = 0x0e; i < 0x80; i++)
        if (i != 0x32)
            cmos_write(rtc, (uint8_t)i, (uint8_t)(i * 7 + 1));
    for (unsigned i = 0x0e; i < 0x80; i++)
        if (i != 0x32)
            assert_int_equal(cmos_read(rtc, (uint8_t)i), (uint8_t)(i * 7 + 1));
    /* A 16-bit write is the index then the data byte. */
    rtc_bus_ops.write(rtc, 0, 2, 0x5a20);
    assert_int_equal(cmos_read(rtc, 0x20), 0x5a);
    rtc_free(rtc);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bcd_time_matches_host),
        cmocka_unit_test(test_binary_time_matches_host),
        cmocka_unit_test(test_twelve_hour_mode),
        cmocka_unit_test(test_register_c_clears_on_read),
        cmocka_unit_test(test_uip_before_each_update),
        cmocka_unit_test(test_guest_sets_time),
        cmocka_unit_test(test_memory_size_bytes),
        cmocka_unit_test(test_nmi_bit_masked),
        cmocka_unit_test(test_scratch_ram),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
