/* The 8254 PIT on a manual clock: counts at known times in modes 0-4,
 * IRQ 0 edges, the counter latch and read-back commands, access modes,
 * channel 2's gate and OUT through port 0x61 (Linux's calibration loop). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>

#include "hw/pit.h"

struct fixture {
    struct timer_service *svc;
    struct pit *pit;
    int level;
    unsigned edges;
    uint64_t t0; /* when the count under test was written */
};

static void fake_irq(void *ctx, unsigned gsi, int level)
{
    struct fixture *f = ctx;
    assert_int_equal(gsi, 0);
    if (level && !f->level)
        f->edges++;
    f->level = level;
}

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    f->svc = timer_service_new_manual();
    f->pit = pit_new(f->svc, (struct irq_line){.set = fake_irq, .ctx = f, .gsi = 0});
    *state = f;
    return f->pit ? 0 : -1;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    pit_free(f->pit);
    timer_service_free(f->svc);
    free(f);
    return 0;
}

static void outb(struct fixture *f, uint16_t port, uint8_t v)
{
    if (port == 0x61)
        pit_port61_ops.write(f->pit, 0, 1, v);
    else
        pit_ops.write(f->pit, port - 0x40, 1, v);
}

static uint8_t inb(struct fixture *f, uint16_t port)
{
    if (port == 0x61)
        return (uint8_t)pit_port61_ops.read(f->pit, 0, 1);
    return (uint8_t)pit_ops.read(f->pit, port - 0x40, 1);
}

/* Control word for channel ch, then a 16-bit count (LSB, MSB); t0 = now. */
static void program(struct fixture *f, unsigned ch, uint8_t control, uint16_t count)
{
    outb(f, 0x43, (uint8_t)(ch << 6 | control));
    outb(f, (uint16_t)(0x40 + ch), (uint8_t)count);
    outb(f, (uint16_t)(0x40 + ch), (uint8_t)(count >> 8));
    f->t0 = timer_now(f->svc);
}

/* Move the clock to the moment tick k after t0 begins. */
static void at_tick(struct fixture *f, uint64_t k)
{
    uint64_t target = f->t0 + muldiv64_up(k, NSEC_PER_SEC_U64, PIT_HZ);
    timer_service_advance(f->svc, target - timer_now(f->svc));
}

static uint16_t read16(struct fixture *f, unsigned ch)
{
    uint8_t lo = inb(f, (uint16_t)(0x40 + ch));
    return (uint16_t)(lo | inb(f, (uint16_t)(0x40 + ch)) << 8);
}

static void test_mode0(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(f->edges, 0); /* nothing programmed after reset */
    program(f, 0, 0x30, 1000);
    assert_int_equal(pit_out(f->pit, 0), 0);
    assert_int_equal(read16(f, 0), 1000);
    at_tick(f, 400);
    assert_int_equal(read16(f, 0), 600);
    at_tick(f, 999);
    assert_int_equal(read16(f, 0), 1);
    assert_int_equal(f->edges, 0);
    at_tick(f, 1000);
    assert_int_equal(f->edges, 1); /* IRQ 0 at terminal count */
    assert_int_equal(pit_out(f->pit, 0), 1);
    assert_int_equal(read16(f, 0), 0);
    at_tick(f, 1500);
    assert_int_equal(read16(f, 0), (uint16_t)(1000 - 1500)); /* counts on, wrapping */
    at_tick(f, 100000);
    assert_int_equal(f->edges, 1); /* once */
    assert_int_equal(pit_out(f->pit, 0), 1);
}

static void test_mode2_rate(void **state)
{
    struct fixture *f = *state;
    program(f, 0, 0x34, 1000);
    for (uint64_t p = 0; p < 5; p++) {
        at_tick(f, p * 1000 + 250);
        assert_int_equal(read16(f, 0), 750);
        at_tick(f, p * 1000 + 998);
        assert_int_equal(pit_out(f->pit, 0), 1);
        at_tick(f, p * 1000 + 999);
        assert_int_equal(read16(f, 0), 1);
        assert_int_equal(pit_out(f->pit, 0), 0); /* low for the clock at count 1 */
        assert_int_equal(f->edges, p);
        at_tick(f, p * 1000 + 1000);
        assert_int_equal(f->edges, p + 1);
        assert_int_equal(read16(f, 0), 1000); /* reloaded */
    }
    /* a new control word stops the channel and its IRQs */
    outb(f, 0x43, 0x34);
    at_tick(f, 20000);
    assert_int_equal(f->edges, 5);
}

static void test_mode3_square(void **state)
{
    struct fixture *f = *state;
    program(f, 0, 0x36, 1000);
    assert_int_equal(read16(f, 0), 1000);
    at_tick(f, 100);
    assert_int_equal(read16(f, 0), 800); /* by two per clock */
    at_tick(f, 499);
    assert_int_equal(read16(f, 0), 2);
    assert_int_equal(pit_out(f->pit, 0), 1);
    at_tick(f, 500);
    assert_int_equal(read16(f, 0), 1000);
    assert_int_equal(pit_out(f->pit, 0), 0);
    at_tick(f, 600);
    assert_int_equal(read16(f, 0), 800);
    assert_int_equal(f->edges, 0);
    at_tick(f, 1000);
    assert_int_equal(f->edges, 1);
    assert_int_equal(pit_out(f->pit, 0), 1);
    at_tick(f, 10000);
    assert_int_equal(f->edges, 10);

    /* odd count on channel 2 (gate on): high 3 clocks (5, 4, 2), low 2 (5, 2) */
    outb(f, 0x61, 0x01);
    program(f, 2, 0x36, 5);
    static const uint16_t counts[5] = {5, 4, 2, 5, 2};
    static const int outs[5] = {1, 1, 1, 0, 0};
    for (unsigned k = 0; k < 10; k++) {
        at_tick(f, k);
        assert_int_equal(read16(f, 2), counts[k % 5]);
        assert_int_equal(pit_out(f->pit, 2), outs[k % 5]);
    }
}

static void test_latch_and_readback(void **state)
{
    struct fixture *f = *state;
    program(f, 0, 0x34, 1000);
    at_tick(f, 100);
    outb(f, 0x43, 0x00); /* counter latch */
    at_tick(f, 300);
    outb(f, 0x43, 0x00); /* a second latch before the read is ignored */
    assert_int_equal(read16(f, 0), 900);
    assert_int_equal(read16(f, 0), 700); /* released: live again */

    outb(f, 0x43, 0xc2); /* read-back: count and status of channel 0 */
    at_tick(f, 350);
    assert_int_equal(inb(f, 0x40), 0x80 | 0x34); /* OUT high, count loaded */
    assert_int_equal(read16(f, 0), 700);
    outb(f, 0x43, 0xe2); /* status only */
    assert_int_equal(inb(f, 0x40), 0x80 | 0x34);
    assert_int_equal(read16(f, 0), 650);

    outb(f, 0x43, 0xb0); /* channel 2, mode 0: OUT low, null count */
    outb(f, 0x43, 0xe8); /* status of channel 2 */
    assert_int_equal(inb(f, 0x42), 0x40 | 0x30);

    /* LSB-only and MSB-only access */
    outb(f, 0x43, 0x14);
    outb(f, 0x40, 0x50);
    f->t0 = timer_now(f->svc);
    at_tick(f, 0x10);
    assert_int_equal(inb(f, 0x40), 0x40);
    assert_int_equal(inb(f, 0x40), 0x40);
    outb(f, 0x43, 0x24);
    outb(f, 0x40, 0x02);
    f->t0 = timer_now(f->svc);
    at_tick(f, 0x100);
    assert_int_equal(inb(f, 0x40), 0x01);
    assert_int_equal(inb(f, 0x43), 0xff); /* the control register cannot be read */

    outb(f, 0x43, 0x31); /* BCD: refused, counted in binary, bit kept in status */
    outb(f, 0x40, 0x10);
    outb(f, 0x40, 0x00);
    outb(f, 0x43, 0xe2);
    assert_int_equal(inb(f, 0x40) & 0x3f, 0x31);
}

/* Linux's pit_calibrate_tsc: gate on, speaker off, mode 0 on channel 2,
 * then poll OUT2 in port 0x61. */
static void test_port61_calibration(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(inb(f, 0x61) & 0x21, 0x00); /* gate off, OUT2 low-ish */
    outb(f, 0x61, (uint8_t)((inb(f, 0x61) & ~0x02) | 0x01));
    program(f, 2, 0x30, 11932); /* 10 ms */
    unsigned polls = 0;
    while (!(inb(f, 0x61) & 0x20)) {
        timer_service_advance(f->svc, 1000);
        polls++;
    }
    uint64_t elapsed = timer_now(f->svc) - f->t0;
    assert_in_range(elapsed, 10000000 - 2000, 10000000 + 2000);
    assert_true(polls > 9000);
    assert_int_equal(inb(f, 0x61) & 0x01, 0x01);
    assert_int_equal(f->edges, 0); /* channel 2 is not IRQ 0 */

    /* gate low pauses mode 0; high resumes */
    program(f, 2, 0x30, 1000);
    at_tick(f, 100);
    outb(f, 0x61, 0x00);
    at_tick(f, 5000);
    assert_int_equal(read16(f, 2), 900);
    outb(f, 0x61, 0x03);
    f->t0 = timer_now(f->svc);
    at_tick(f, 899);
    assert_false(inb(f, 0x61) & 0x20);
    at_tick(f, 900);
    assert_true(inb(f, 0x61) & 0x20);
    assert_int_equal(inb(f, 0x61) & 0x0f, 0x03); /* speaker bit stored */

    /* the refresh bit flips every 15 us */
    uint8_t a = inb(f, 0x61) & 0x10;
    timer_service_advance(f->svc, PIT_REFRESH_NS);
    assert_int_not_equal(inb(f, 0x61) & 0x10, a);
}

static void test_gate_modes_1_2(void **state)
{
    struct fixture *f = *state;
    /* mode 1 waits for a rising gate, then runs one shot */
    program(f, 2, 0x32, 100);
    assert_int_equal(pit_out(f->pit, 2), 1);
    at_tick(f, 50);
    assert_int_equal(read16(f, 2), 100);
    outb(f, 0x61, 0x01);
    f->t0 = timer_now(f->svc);
    assert_int_equal(pit_out(f->pit, 2), 0);
    at_tick(f, 60);
    assert_int_equal(read16(f, 2), 40);
    at_tick(f, 100);
    assert_int_equal(pit_out(f->pit, 2), 1);

    /* mode 2: gate low holds OUT high and stops; rising gate reloads */
    outb(f, 0x61, 0x00);
    program(f, 2, 0x34, 100);
    outb(f, 0x61, 0x01);
    f->t0 = timer_now(f->svc);
    at_tick(f, 30);
    outb(f, 0x61, 0x00);
    at_tick(f, 99);
    assert_int_equal(read16(f, 2), 70);
    assert_int_equal(pit_out(f->pit, 2), 1);
    outb(f, 0x61, 0x01);
    f->t0 = timer_now(f->svc);
    assert_int_equal(read16(f, 2), 100);
}

static void test_mode4_strobe(void **state)
{
    struct fixture *f = *state;
    program(f, 0, 0x38, 100);
    at_tick(f, 99);
    assert_int_equal(pit_out(f->pit, 0), 1);
    at_tick(f, 100);
    assert_int_equal(pit_out(f->pit, 0), 0);
    assert_int_equal(f->edges, 0);
    at_tick(f, 101);
    assert_int_equal(pit_out(f->pit, 0), 1);
    assert_int_equal(f->edges, 1);
    at_tick(f, 70000);
    assert_int_equal(f->edges, 1);
}

/* A period of 2 clocks (~1.7 us) gives IRQ 0 at most every PIT_MIN_PERIOD_NS. */
static void test_irq_coalescing(void **state)
{
    struct fixture *f = *state;
    program(f, 0, 0x34, 2);
    for (unsigned i = 0; i < 1000; i++)
        timer_service_advance(f->svc, 1000);
    unsigned most = (unsigned)(1000000 / PIT_MIN_PERIOD_NS) + 1;
    assert_in_range(f->edges, most - 2, most);
    program(f, 0, 0x34, 0); /* 65536: ~55 ms */
    unsigned before = f->edges;
    at_tick(f, 65535);
    assert_int_equal(f->edges, before);
    at_tick(f, 65536);
    assert_int_equal(f->edges, before + 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_mode0, setup, teardown),
        cmocka_unit_test_setup_teardown(test_mode2_rate, setup, teardown),
        cmocka_unit_test_setup_teardown(test_mode3_square, setup, teardown),
        cmocka_unit_test_setup_teardown(test_latch_and_readback, setup, teardown),
        cmocka_unit_test_setup_teardown(test_port61_calibration, setup, teardown),
        cmocka_unit_test_setup_teardown(test_gate_modes_1_2, setup, teardown),
        cmocka_unit_test_setup_teardown(test_mode4_strobe, setup, teardown),
        cmocka_unit_test_setup_teardown(test_irq_coalescing, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
