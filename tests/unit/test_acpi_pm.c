/* ACPI PM1 block, driven through its bus ops as a vCPU reaches it, with a
 * fake SCI line, a fake power line and (where time matters) a fake clock. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "hw/acpi_pm.h"
#include "util/log.h"
#include "vm/bus.h"
#include "vm/layout.h"

struct fakes {
    int sci_level;
    unsigned sci_calls;
    unsigned sci_gsi;
    unsigned power_calls;
    enum power_event power_event;
    int power_status;
    char power_why[64];
    uint64_t now_ns;
};

static void fake_sci(void *ctx, unsigned gsi, int level)
{
    struct fakes *f = ctx;
    f->sci_level = level;
    f->sci_gsi = gsi;
    f->sci_calls++;
}

static void fake_power(void *ctx, enum power_event event, int status, const char *why)
{
    struct fakes *f = ctx;
    f->power_calls++;
    f->power_event = event;
    f->power_status = status;
    snprintf(f->power_why, sizeof(f->power_why), "%s", why);
}

static uint64_t fake_clock(void *ctx)
{
    return ((struct fakes *)ctx)->now_ns;
}

/* A port bus with the block registered exactly as acpi_pm.h tells the board. */
struct rig {
    struct fakes f;
    struct acpi_pm *pm;
    struct bus pio;
};

static int setup(void **state)
{
    struct rig *r = calloc(1, sizeof(*r));
    assert_non_null(r);
    r->f.sci_level = -1;
    struct irq_line sci = {fake_sci, &r->f, LAYOUT_IRQ_SCI};
    struct power_line power = {fake_power, &r->f};
    r->pm = acpi_pm_new(sci, power);
    assert_non_null(r->pm);
    bus_init(&r->pio, "port", NULL);
    assert_int_equal(bus_register(&r->pio, LAYOUT_PORT_ACPI_PM1A_EVT, ACPI_PM_EVT_LEN,
                                  &acpi_pm_evt_ops, r->pm, "acpi-pm1-evt"),
                     0);
    assert_int_equal(bus_register(&r->pio, LAYOUT_PORT_ACPI_PM1A_CNT, ACPI_PM_CNT_LEN,
                                  &acpi_pm_cnt_ops, r->pm, "acpi-pm1-cnt"),
                     0);
    assert_int_equal(bus_register(&r->pio, LAYOUT_PORT_ACPI_PM_TMR, ACPI_PM_TMR_LEN,
                                  &acpi_pm_tmr_ops, r->pm, "acpi-pm-tmr"),
                     0);
    *state = r;
    return 0;
}

static int teardown(void **state)
{
    struct rig *r = *state;
    bus_destroy(&r->pio);
    acpi_pm_free(r->pm);
    free(r);
    return 0;
}

#define STS LAYOUT_PORT_ACPI_PM1A_EVT
#define EN  (LAYOUT_PORT_ACPI_PM1A_EVT + 2)
#define CNT LAYOUT_PORT_ACPI_PM1A_CNT
#define TMR LAYOUT_PORT_ACPI_PM_TMR

static uint64_t in(struct rig *r, uint64_t port, unsigned size)
{
    return bus_read(&r->pio, port, size);
}

static void out(struct rig *r, uint64_t port, unsigned size, uint64_t v)
{
    bus_write(&r->pio, port, size, v);
}

static uint16_t slp(unsigned typ, int en)
{
    return (uint16_t)(typ << ACPI_PM1_CNT_SLP_TYP_SHIFT | (en ? ACPI_PM1_CNT_SLP_EN : 0));
}

static void test_sci_en_reads_one(void **state)
{
    struct rig *r = *state;
    assert_int_equal(in(r, CNT, 2), ACPI_PM1_CNT_SCI_EN);
    out(r, CNT, 2, 0); /* the guest cannot leave ACPI mode */
    assert_int_equal(in(r, CNT, 2) & ACPI_PM1_CNT_SCI_EN, ACPI_PM1_CNT_SCI_EN);
    out(r, CNT, 2, slp(3, 0));
    assert_int_equal(in(r, CNT, 2), slp(3, 0) | ACPI_PM1_CNT_SCI_EN);
    assert_int_equal(in(r, CNT + 1, 1), slp(3, 0) >> 8);
    assert_int_equal(in(r, CNT, 1), ACPI_PM1_CNT_SCI_EN);
}

static void test_s5_powers_off(void **state)
{
    struct rig *r = *state;
    out(r, CNT, 2, slp(ACPI_PM_SLP_TYP_S5, 0)); /* ACPICA writes SLP_TYP first */
    assert_int_equal(r->f.power_calls, 0);
    out(r, CNT, 2, slp(ACPI_PM_SLP_TYP_S5, 1) | ACPI_PM1_CNT_SCI_EN);
    assert_int_equal(r->f.power_calls, 1);
    assert_int_equal(r->f.power_event, POWER_OFF);
    assert_int_equal(r->f.power_status, 0);
    assert_string_equal(r->f.power_why, "ACPI S5 power-off");
    assert_int_equal(in(r, CNT, 2) & ACPI_PM1_CNT_SLP_EN, 0); /* write-only */
}

static void test_s5_by_byte_write(void **state)
{
    struct rig *r = *state;
    out(r, CNT + 1, 1, slp(ACPI_PM_SLP_TYP_S5, 1) >> 8);
    assert_int_equal(r->f.power_calls, 1);
    assert_int_equal(r->f.power_event, POWER_OFF);
}

static unsigned count_lines(FILE *f)
{
    unsigned n = 0;
    int c;
    rewind(f);
    while ((c = fgetc(f)) != EOF)
        n += c == '\n';
    return n;
}

static void test_other_sleep_types_ignored(void **state)
{
    struct rig *r = *state;
    FILE *log = tmpfile();
    assert_non_null(log);
    log_set_stream(log);
    for (unsigned typ = 0; typ < 8; typ++) {
        if (typ == ACPI_PM_SLP_TYP_S5)
            continue;
        out(r, STS, 2, 0xffff); /* clear everything */
        out(r, CNT, 2, slp(typ, 1));
        out(r, CNT, 2, slp(typ, 1)); /* again: logged once, still ignored */
        assert_int_equal(r->f.power_calls, 0);
        /* answered as an immediate wake, so a waiting guest goes on */
        assert_true(in(r, STS, 2) & ACPI_PM1_WAK_STS);
    }
    /* a byte write to the low half cannot reach SLP_EN */
    out(r, CNT, 1, 0xff);
    assert_int_equal(r->f.power_calls, 0);
    log_set_stream(NULL);
    assert_int_equal(count_lines(log), 7); /* one line per sleep type */
    fclose(log);
}

static void test_status_write_one_to_clear(void **state)
{
    struct rig *r = *state;
    acpi_pm_press_power_button(r->pm);
    assert_true(in(r, STS, 2) & ACPI_PM1_PWRBTN);
    assert_int_not_equal(r->f.sci_level, 1); /* not enabled: no SCI */

    out(r, EN, 2, ACPI_PM1_PWRBTN);
    assert_int_equal(in(r, EN, 2), ACPI_PM1_PWRBTN);
    assert_int_equal(r->f.sci_level, 1);
    assert_int_equal(r->f.sci_gsi, LAYOUT_IRQ_SCI);

    out(r, STS, 2, 0); /* writing zeros changes nothing */
    assert_true(in(r, STS, 2) & ACPI_PM1_PWRBTN);
    out(r, STS, 2, (uint16_t)~ACPI_PM1_PWRBTN); /* other bits: still set */
    assert_true(in(r, STS, 2) & ACPI_PM1_PWRBTN);
    assert_int_equal(r->f.sci_level, 1);

    out(r, STS, 2, ACPI_PM1_PWRBTN);
    assert_false(in(r, STS, 2) & ACPI_PM1_PWRBTN);
    assert_int_equal(r->f.sci_level, 0);
}

/* A dword write at offset 0 clears status and sets enable in one go. */
static void test_dword_event_access(void **state)
{
    struct rig *r = *state;
    acpi_pm_press_power_button(r->pm);
    out(r, STS, 4, (uint32_t)ACPI_PM1_PWRBTN << 16 | ACPI_PM1_PWRBTN);
    uint32_t v = (uint32_t)in(r, STS, 4);
    assert_int_equal(v >> 16, ACPI_PM1_PWRBTN);
    assert_false(v & ACPI_PM1_PWRBTN);
    assert_int_not_equal(r->f.sci_level, 1);
    acpi_pm_press_power_button(r->pm);
    assert_int_equal(r->f.sci_level, 1);
    /* the enable register's high byte alone */
    out(r, EN + 1, 1, 0);
    assert_int_equal(in(r, EN, 2), 0);
    assert_int_equal(r->f.sci_level, 0);
}

/* Bytes past a block read as all-ones and are dropped on write. */
static void test_access_past_block(void **state)
{
    struct rig *r = *state;
    assert_int_equal(in(r, CNT, 4), 0xffff0000u | ACPI_PM1_CNT_SCI_EN);
    assert_int_equal(in(r, CNT + 1, 2), 0xff00);
    assert_int_equal(in(r, EN + 1, 4) >> 8, 0xffffff);
    out(r, CNT + 1, 4, 0xffffffff);
    assert_int_equal(r->f.power_calls, 0);       /* SLP_TYP 7 | SLP_EN: not S5 */
    assert_int_equal(in(r, TMR + 3, 2), 0xff00); /* timer byte 3 is 0 */
}

static void test_timer_conversion(void **state)
{
    (void)state;
    assert_int_equal(acpi_pm_timer_at(0), 0);
    assert_int_equal(acpi_pm_timer_at(1000000000ull), ACPI_PM_TIMER_HZ);
    assert_int_equal(acpi_pm_timer_at(1000ull), 3); /* 3.58 ticks */
    /* 2^24 ticks ~ 4.687 s: wraps to a small value */
    uint64_t wrap_ns = (1ull << 24) * 1000000000ull / ACPI_PM_TIMER_HZ + 1000;
    assert_true(acpi_pm_timer_at(wrap_ns) < 16);
    /* a day of uptime: still 24 bits */
    assert_true(acpi_pm_timer_at(86400ull * 1000000000ull) < (1u << 24));
}

static void test_timer_fake_clock(void **state)
{
    struct rig *r = *state;
    r->f.now_ns = 1000000000ull; /* 1 s */
    acpi_pm_set_clock(r->pm, fake_clock, &r->f);
    assert_int_equal(in(r, TMR, 4), ACPI_PM_TIMER_HZ);
    assert_int_equal(in(r, TMR, 1), ACPI_PM_TIMER_HZ & 0xff);
    assert_int_equal(in(r, TMR + 1, 2), (ACPI_PM_TIMER_HZ >> 8) & 0xffff);
    assert_int_equal(in(r, TMR + 3, 1), 0);
    out(r, TMR, 4, 0); /* read-only */
    assert_int_equal(in(r, TMR, 4), ACPI_PM_TIMER_HZ);

    r->f.now_ns = 5000000000ull; /* 5 s: past the 24-bit wrap */
    uint32_t v = (uint32_t)in(r, TMR, 4);
    assert_int_equal(v, (5ull * ACPI_PM_TIMER_HZ) & 0xffffff);
    assert_true(v < (1u << 24));
}

/* TMR_STS follows bit 23; with TMR_EN it raises the SCI. */
static void test_timer_status(void **state)
{
    struct rig *r = *state;
    r->f.now_ns = 0;
    acpi_pm_set_clock(r->pm, fake_clock, &r->f);
    assert_false(in(r, STS, 2) & ACPI_PM1_TMR);
    r->f.now_ns = 2000000000ull; /* 7.16M ticks: bit 23 not yet set */
    assert_false(in(r, STS, 2) & ACPI_PM1_TMR);
    r->f.now_ns = 2400000000ull; /* 8.59M ticks > 2^23 */
    assert_true(in(r, STS, 2) & ACPI_PM1_TMR);
    out(r, STS, 2, ACPI_PM1_TMR);
    assert_false(in(r, STS, 2) & ACPI_PM1_TMR);

    out(r, EN, 2, ACPI_PM1_TMR);
    assert_int_not_equal(r->f.sci_level, 1);
    r->f.now_ns = 4800000000ull; /* past 2^24: bit 23 changed again */
    in(r, TMR, 4);
    assert_int_equal(r->f.sci_level, 1);
    out(r, STS, 2, ACPI_PM1_TMR);
    assert_int_equal(r->f.sci_level, 0);
}

/* With the host clock the counter moves and stays in 24 bits. */
static void test_timer_host_clock(void **state)
{
    struct rig *r = *state;
    uint32_t a = (uint32_t)in(r, TMR, 4);
    struct timespec ts = {0, 2000000}; /* 2 ms ~ 7159 ticks */
    nanosleep(&ts, NULL);
    uint32_t b = (uint32_t)in(r, TMR, 4);
    assert_true(a < (1u << 24) && b < (1u << 24));
    uint32_t delta = (b - a) & 0xffffff;
    assert_true(delta >= 7000);
    assert_true(delta < (1u << 23)); /* well under the 4.7 s wrap */
}

int main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_sci_en_reads_one),          T(test_s5_powers_off),
        T(test_s5_by_byte_write),          T(test_other_sleep_types_ignored),
        T(test_status_write_one_to_clear), T(test_dword_event_access),
        T(test_access_past_block),         cmocka_unit_test(test_timer_conversion),
        T(test_timer_fake_clock),          T(test_timer_status),
        T(test_timer_host_clock),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
