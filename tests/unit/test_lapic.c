/* The local APIC through its MMIO page, MSRs and vCPU interface: reset
 * state, priorities and EOI order, TPR/CR8, spurious vector, ESR, LINT0
 * ExtINT / NMI / level, and the timer in all three modes on a manual clock. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "lapic_rig.h"

#define APIC_ID    0x020
#define APIC_VER   0x030
#define APIC_PPR   0x0a0
#define APIC_LDR   0x0d0
#define APIC_ESR   0x280
#define APIC_LVTT  0x320
#define APIC_LINT0 0x350
#define APIC_LINT1 0x360
#define APIC_LVTE  0x370
#define APIC_TMICT 0x380
#define APIC_TMCCT 0x390
#define APIC_TDCR  0x3e0
#define ISR        0x100
#define TMR        0x180
#define IRR        0x200

#define LVT_MASK  0x10000u
#define DM_NMI    0x400u
#define DM_EXTINT 0x700u
#define LEVEL     0x8000u
#define PERIODIC  0x20000u
#define TSC_DL    0x40000u
#define DIV_1     0xbu
#define DIV_16    0x3u

static struct rig *setup_rig(unsigned n)
{
    struct rig *r = rig_new(n);
    for (unsigned i = 0; i < n; i++)
        assert_non_null(r->l[i]);
    return r;
}

static void fixed(struct lapic *l, uint8_t vector, bool level)
{
    struct apic_msg m = {.vector = vector, .delivery = APIC_DM_FIXED, .level = level, .assert = 1};
    assert_true(lapic_deliver(l, &m));
}

static uint64_t rdmsr(struct lapic *l, uint32_t msr)
{
    uint64_t v = 0;
    assert_int_equal(lapic_rdmsr(l, msr, &v), 0);
    return v;
}

static void test_reset_state(void **state)
{
    (void)state;
    struct rig *r = setup_rig(2);
    struct lapic *bsp = r->l[0], *ap = r->l[1];
    assert_int_equal(apic_read(ap, APIC_VER), 0x50014);
    assert_int_equal(apic_read(ap, APIC_ID), 1u << 24);
    assert_int_equal(apic_read(ap, APIC_SVR), 0xff);
    assert_int_equal(apic_read(ap, APIC_LINT0), LVT_MASK);
    assert_int_equal(apic_read(ap, APIC_LVTT), LVT_MASK);
    assert_int_equal(rdmsr(ap, MSR_IA32_APIC_BASE), 0xfee00800);
    assert_int_equal(rdmsr(bsp, MSR_IA32_APIC_BASE), 0xfee00900);
    /* the BSP is in virtual-wire mode */
    assert_int_equal(apic_read(bsp, APIC_LINT0), DM_EXTINT);
    assert_int_equal(apic_read(bsp, APIC_LINT1), DM_NMI);
    assert_int_equal(lapic_mmio_base(bsp), LAPIC_DEFAULT_BASE);
    assert_int_equal(lapic_pending(ap), LAPIC_NONE);
    /* the xAPIC ID is writable; routing follows it */
    apic_write(ap, APIC_ID, 0x07000000);
    assert_int_equal(lapic_id(ap), 7);
    assert_ptr_equal(apic_bus_find(r->bus, 7), ap);
    /* narrow reads see the register's bytes */
    assert_int_equal(lapic_mmio_ops.read(ap, APIC_VER + 2, 1), 0x05);
    rig_free(r);
}

static void test_priority_and_eoi_order(void **state)
{
    (void)state;
    struct rig *r = setup_rig(1);
    struct lapic *l = r->l[0];
    apic_enable(l);
    unsigned kicks = r->kicks[0];
    fixed(l, 0x31, false);
    fixed(l, 0x52, false);
    fixed(l, 0x40, false);
    assert_true(r->kicks[0] > kicks);
    assert_true(apic_bit(l, IRR, 0x31) && apic_bit(l, IRR, 0x52) && apic_bit(l, IRR, 0x40));

    assert_int_equal(lapic_pending(l), 0x52);
    assert_int_equal(lapic_ack(l), 0x52);
    assert_true(apic_bit(l, ISR, 0x52));
    assert_false(apic_bit(l, IRR, 0x52));
    assert_int_equal(apic_read(l, APIC_PPR), 0x50);
    assert_int_equal(lapic_pending(l), LAPIC_NONE); /* 0x40 is below class 5 */
    fixed(l, 0x58, false);
    assert_int_equal(lapic_pending(l), LAPIC_NONE); /* same class as in service */
    fixed(l, 0x61, false);
    assert_int_equal(lapic_ack(l), 0x61); /* nests above 0x52 */
    assert_int_equal(apic_read(l, APIC_PPR), 0x60);

    apic_write(l, APIC_EOI, 0); /* ends 0x61, the highest in service */
    assert_false(apic_bit(l, ISR, 0x61));
    assert_true(apic_bit(l, ISR, 0x52));
    assert_int_equal(lapic_pending(l), LAPIC_NONE);
    apic_write(l, APIC_EOI, 0);
    assert_int_equal(lapic_ack(l), 0x58);
    apic_write(l, APIC_EOI, 0);
    assert_int_equal(lapic_ack(l), 0x40);
    assert_int_equal(lapic_pending(l), LAPIC_NONE);
    apic_write(l, APIC_EOI, 0);
    assert_int_equal(lapic_ack(l), 0x31);
    apic_write(l, APIC_EOI, 0);
    assert_int_equal(apic_read(l, APIC_PPR), 0);
    /* nothing left: INTA gets the spurious vector, which sets no ISR bit */
    assert_int_equal(lapic_ack(l), 0xff);
    assert_false(apic_bit(l, ISR, 0xff));
    rig_free(r);
}

static void test_tpr_and_cr8(void **state)
{
    (void)state;
    struct rig *r = setup_rig(1);
    struct lapic *l = r->l[0];
    apic_enable(l);
    apic_write(l, APIC_TPR, 0x55);
    assert_int_equal(lapic_get_cr8(l), 5);
    assert_int_equal(apic_read(l, APIC_PPR), 0x55);
    fixed(l, 0x45, false);
    fixed(l, 0x5f, false);
    assert_int_equal(lapic_pending(l), LAPIC_NONE);
    fixed(l, 0x65, false);
    assert_int_equal(lapic_pending(l), 0x65);
    lapic_set_cr8(l, 7);
    assert_int_equal(apic_read(l, APIC_TPR), 0x70);
    assert_int_equal(lapic_pending(l), LAPIC_NONE);
    unsigned kicks = r->kicks[0];
    lapic_set_cr8(l, 0);
    assert_true(r->kicks[0] > kicks); /* lowering TPR lets them through: kick */
    assert_int_equal(lapic_pending(l), 0x65);
    assert_int_equal(lapic_ack(l), 0x65);
    apic_write(l, APIC_EOI, 0);
    assert_int_equal(lapic_ack(l), 0x5f);
    apic_write(l, APIC_TPR, 0x53); /* same class as in service: PPR is the TPR */
    assert_int_equal(apic_read(l, APIC_PPR), 0x53);
    apic_write(l, APIC_TPR, 0x43);
    assert_int_equal(apic_read(l, APIC_PPR), 0x50);
    rig_free(r);
}

static void test_software_disable(void **state)
{
    (void)state;
    struct rig *r = setup_rig(1);
    struct lapic *l = r->l[0];
    struct apic_msg m = {.vector = 0x40, .delivery = APIC_DM_FIXED};
    assert_false(lapic_deliver(l, &m)); /* SVR bit 8 clear after reset */
    apic_write(l, APIC_LVTT, 0x40);     /* the mask cannot be cleared */
    assert_int_equal(apic_read(l, APIC_LVTT), LVT_MASK | 0x40);
    m.delivery = APIC_DM_NMI; /* NMI, INIT, SIPI still arrive */
    assert_true(lapic_deliver(l, &m));
    assert_int_equal(lapic_take_events(l, NULL), LAPIC_EV_NMI);
    assert_int_equal(lapic_take_events(l, NULL), 0);
    apic_enable(l);
    apic_write(l, APIC_LVTT, 0x40);
    assert_int_equal(apic_read(l, APIC_LVTT), 0x40);
    apic_write(l, APIC_SVR, 0xff); /* disabling masks every LVT */
    assert_int_equal(apic_read(l, APIC_LVTT), LVT_MASK | 0x40);
    assert_int_equal(apic_read(l, APIC_LINT0), LVT_MASK | DM_EXTINT);
    rig_free(r);
}

static void test_esr(void **state)
{
    (void)state;
    struct rig *r = setup_rig(1);
    struct lapic *l = r->l[0];
    apic_enable(l);
    fixed(l, 5, false); /* received illegal vector */
    assert_false(apic_bit(l, IRR, 5));
    assert_int_equal(apic_read(l, APIC_ESR), 0); /* visible only after a write */
    apic_write(l, APIC_ESR, 0);
    assert_int_equal(apic_read(l, APIC_ESR), 0x40);
    apic_write(l, APIC_ESR, 0);
    assert_int_equal(apic_read(l, APIC_ESR), 0);

    apic_write(l, APIC_LVTE, 0xfe); /* error interrupts on */
    apic_ipi(l, 0, 0x4003);         /* send illegal vector 3 */
    apic_read(l, 0x040);            /* illegal register address */
    apic_write(l, APIC_ESR, 0);
    assert_int_equal(apic_read(l, APIC_ESR), 0x20 | 0x80);
    assert_int_equal(lapic_pending(l), 0xfe);
    assert_false(apic_bit(l, IRR, 3));
    rig_free(r);
}

static void test_extint_and_nmi_pins(void **state)
{
    (void)state;
    struct rig *r = setup_rig(2);
    struct lapic *bsp = r->l[0], *ap = r->l[1];
    /* BSP virtual wire: the 8259's INT is an ExtINT while high */
    unsigned kicks = r->kicks[0];
    lapic_set_lint(bsp, 0, 1);
    assert_true(r->kicks[0] > kicks);
    assert_int_equal(lapic_pending(bsp), LAPIC_EXTINT);
    assert_int_equal(lapic_ack(bsp), LAPIC_EXTINT);
    lapic_set_lint(bsp, 0, 0);
    assert_int_equal(lapic_pending(bsp), LAPIC_NONE);
    lapic_set_lint(bsp, 1, 1);
    assert_int_equal(lapic_take_events(bsp, NULL), LAPIC_EV_NMI);
    lapic_set_lint(bsp, 1, 1); /* no new edge */
    assert_int_equal(lapic_take_events(bsp, NULL), 0);

    /* an AP's LINT0 is masked after reset; the OS may set it up */
    lapic_set_lint(ap, 0, 1);
    assert_int_equal(lapic_pending(ap), LAPIC_NONE);
    apic_enable(ap);
    apic_write(ap, APIC_LINT0, DM_EXTINT);
    assert_int_equal(lapic_pending(ap), LAPIC_EXTINT);
    apic_write(ap, APIC_LINT0, DM_EXTINT | LVT_MASK);
    assert_int_equal(lapic_pending(ap), LAPIC_NONE);

    /* an ExtINT message (IOAPIC pin in ExtINT mode) lasts one INTA */
    struct apic_msg m = {.delivery = APIC_DM_EXTINT};
    assert_true(lapic_deliver(ap, &m));
    assert_int_equal(lapic_ack(ap), LAPIC_EXTINT);
    assert_int_equal(lapic_pending(ap), LAPIC_NONE);

    /* APIC disabled in IA32_APIC_BASE: the pins are INTR and NMI */
    assert_int_equal(lapic_wrmsr(ap, MSR_IA32_APIC_BASE, 0xfee00000), 0);
    assert_int_equal(lapic_mmio_base(ap), LAPIC_NO_MMIO);
    assert_int_equal(lapic_pending(ap), LAPIC_EXTINT);
    lapic_set_lint(ap, 1, 1);
    assert_int_equal(lapic_take_events(ap, NULL), LAPIC_EV_NMI);
    rig_free(r);
}

static void test_lint0_fixed_level(void **state)
{
    (void)state;
    struct rig *r = setup_rig(1);
    struct lapic *l = r->l[0];
    apic_enable(l);
    apic_write(l, APIC_LINT0, LEVEL | 0x70);
    lapic_set_lint(l, 0, 1);
    assert_true(apic_bit(l, TMR, 0x70));
    assert_true(apic_read(l, APIC_LINT0) & 0x4000); /* remote IRR */
    assert_int_equal(lapic_ack(l), 0x70);
    apic_write(l, APIC_EOI, 0); /* line still high: back again */
    assert_int_equal(lapic_pending(l), 0x70);
    assert_int_equal(lapic_ack(l), 0x70);
    lapic_set_lint(l, 0, 0);
    apic_write(l, APIC_EOI, 0);
    assert_false(apic_read(l, APIC_LINT0) & 0x4000);
    assert_int_equal(lapic_pending(l), LAPIC_NONE);
    rig_free(r);
}

/* --- timer --- */

/* One enabled LAPIC whose timer counts from count at one tick a ns. */
static struct lapic *start_timer(struct rig *r, uint32_t lvtt, uint32_t count)
{
    struct lapic *l = r->l[0];
    apic_enable(l);
    apic_write(l, APIC_TDCR, DIV_1);
    apic_write(l, APIC_LVTT, lvtt);
    apic_write(l, APIC_TMICT, count);
    return l;
}

static void test_timer_oneshot(void **state)
{
    (void)state;
    struct rig *r = setup_rig(1);
    struct lapic *l = start_timer(r, 0x40, 1000);
    assert_int_equal(apic_read(l, APIC_TMCCT), 1000);
    timer_service_advance(r->svc, 400);
    assert_int_equal(apic_read(l, APIC_TMCCT), 600);
    timer_service_advance(r->svc, 599);
    assert_int_equal(apic_read(l, APIC_TMCCT), 1);
    assert_int_equal(lapic_pending(l), LAPIC_NONE);
    timer_service_advance(r->svc, 1);
    assert_int_equal(apic_read(l, APIC_TMCCT), 0);
    assert_int_equal(lapic_ack(l), 0x40);
    apic_write(l, APIC_EOI, 0);
    timer_service_advance(r->svc, 100000);
    assert_int_equal(lapic_pending(l), LAPIC_NONE); /* one shot only */

    /* divide by 16: 100 ticks are 1600 ns */
    apic_write(l, APIC_TDCR, DIV_16);
    apic_write(l, APIC_TMICT, 100);
    timer_service_advance(r->svc, 800);
    assert_int_equal(apic_read(l, APIC_TMCCT), 50);
    /* to divide by 2 in mid-count: the remaining 50 ticks take 100 ns */
    apic_write(l, APIC_TDCR, 0);
    timer_service_advance(r->svc, 60);
    assert_int_equal(apic_read(l, APIC_TMCCT), 20);
    timer_service_advance(r->svc, 39);
    assert_int_equal(lapic_pending(l), LAPIC_NONE);
    timer_service_advance(r->svc, 1);
    assert_int_equal(lapic_pending(l), 0x40);
    rig_free(r);
}

static void test_timer_periodic(void **state)
{
    (void)state;
    struct rig *r = setup_rig(1);
    const uint32_t period = 1000000; /* 1 ms */
    struct lapic *l = start_timer(r, PERIODIC | 0x41, period);
    for (unsigned i = 0; i < 3; i++) {
        timer_service_advance(r->svc, period / 4);
        assert_int_equal(apic_read(l, APIC_TMCCT), period - period / 4);
        timer_service_advance(r->svc, period - period / 4 - 1);
        assert_int_equal(apic_read(l, APIC_TMCCT), 1);
        assert_int_equal(lapic_pending(l), LAPIC_NONE);
        timer_service_advance(r->svc, 1);
        assert_int_equal(apic_read(l, APIC_TMCCT), period); /* reloaded */
        assert_int_equal(lapic_ack(l), 0x41);
        apic_write(l, APIC_EOI, 0);
    }
    apic_write(l, APIC_LVTT, 0x60000 | 0x41); /* reserved mode 11: the mode stays */
    assert_int_equal(apic_read(l, APIC_LVTT), PERIODIC | 0x41);
    assert_int_equal(apic_read(l, APIC_TMICT), period); /* and stays armed */
    /* masked: counts on, no interrupt */
    apic_write(l, APIC_LVTT, LVT_MASK | PERIODIC | 0x41);
    timer_service_advance(r->svc, period + period / 2);
    assert_int_equal(apic_read(l, APIC_TMCCT), period / 2);
    assert_int_equal(lapic_pending(l), LAPIC_NONE);
    /* stop by writing 0 */
    apic_write(l, APIC_TMICT, 0);
    assert_int_equal(apic_read(l, APIC_TMCCT), 0);
    rig_free(r);
}

/* A 1 us period raises at most one interrupt per LAPIC_MIN_PERIOD_NS. */
static void test_timer_periodic_coalesces(void **state)
{
    (void)state;
    struct rig *r = setup_rig(1);
    struct lapic *l = start_timer(r, PERIODIC | 0x41, 1000);
    unsigned kicks = r->kicks[0], acks = 0;
    for (unsigned i = 0; i < 1000; i++) { /* 1 ms in 1 us steps */
        timer_service_advance(r->svc, 1000);
        if (lapic_pending(l) == 0x41) {
            lapic_ack(l);
            apic_write(l, APIC_EOI, 0);
            acks++;
        }
    }
    unsigned most = (unsigned)(1000000 / LAPIC_MIN_PERIOD_NS) + 1;
    assert_in_range(acks, most - 2, most);
    assert_true(r->kicks[0] - kicks <= most);
    assert_int_equal(apic_read(l, APIC_TMCCT), 1000); /* the count keeps the guest's period */
    rig_free(r);
}

static void test_timer_tsc_deadline(void **state)
{
    (void)state;
    struct rig *r = setup_rig(1);
    struct lapic *l = r->l[0];
    apic_enable(l);
    uint64_t tsc = timer_now(r->svc); /* 1 GHz TSC from clock zero */
    /* one-shot mode: the MSR reads 0 and ignores writes */
    assert_int_equal(lapic_wrmsr(l, MSR_IA32_TSC_DEADLINE, tsc + 10), 0);
    assert_int_equal(rdmsr(l, MSR_IA32_TSC_DEADLINE), 0);

    apic_write(l, APIC_TMICT, 500); /* one-shot armed, then the mode change disarms */
    apic_write(l, APIC_LVTT, TSC_DL | 0x42);
    assert_int_equal(apic_read(l, APIC_TMICT), 0);
    apic_write(l, APIC_TMICT, 500); /* ignored in TSC-deadline mode */
    assert_int_equal(apic_read(l, APIC_TMICT), 0);
    assert_int_equal(lapic_wrmsr(l, MSR_IA32_TSC_DEADLINE, tsc + 5000), 0);
    assert_int_equal(rdmsr(l, MSR_IA32_TSC_DEADLINE), tsc + 5000);
    timer_service_advance(r->svc, 4999);
    assert_int_equal(lapic_pending(l), LAPIC_NONE);
    timer_service_advance(r->svc, 1);
    assert_int_equal(lapic_ack(l), 0x42);
    apic_write(l, APIC_EOI, 0);
    assert_int_equal(rdmsr(l, MSR_IA32_TSC_DEADLINE), 0); /* disarmed by firing */

    tsc = timer_now(r->svc);
    lapic_wrmsr(l, MSR_IA32_TSC_DEADLINE, tsc + 100);
    lapic_wrmsr(l, MSR_IA32_TSC_DEADLINE, 0); /* cancel */
    timer_service_advance(r->svc, 1000);
    assert_int_equal(lapic_pending(l), LAPIC_NONE);
    lapic_wrmsr(l, MSR_IA32_TSC_DEADLINE, tsc); /* already past: at once */
    assert_int_equal(lapic_pending(l), 0x42);
    rig_free(r);
}

/* TSC at 3 GHz from the vCPU's own counter: 3000 cycles are 1000 ns. */
static uint64_t fake_tsc(void *ctx)
{
    struct rig *r = ctx;
    return 7 + (timer_now(r->svc) - TIMER_MANUAL_START_NS) * 3;
}

static void test_timer_tsc_rate(void **state)
{
    (void)state;
    struct rig *r = setup_rig(0);
    struct lapic_params p = {.timers = r->svc,
                             .bus_hz = RIG_HZ,
                             .tsc_hz = 3 * RIG_HZ,
                             .read_tsc = fake_tsc,
                             .tsc_ctx = r};
    struct lapic *l = lapic_new(&p);
    apic_enable(l);
    apic_write(l, APIC_LVTT, TSC_DL | 0x43);
    lapic_wrmsr(l, MSR_IA32_TSC_DEADLINE, fake_tsc(r) + 3000);
    timer_service_advance(r->svc, 999);
    assert_int_equal(lapic_pending(l), LAPIC_NONE);
    timer_service_advance(r->svc, 1);
    assert_int_equal(lapic_pending(l), 0x43);
    lapic_free(l);
    rig_free(r);
}

static void test_bad_params(void **state)
{
    (void)state;
    struct lapic_params p = {.bus_hz = 1};
    assert_null(lapic_new(&p));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_reset_state),
        cmocka_unit_test(test_priority_and_eoi_order),
        cmocka_unit_test(test_tpr_and_cr8),
        cmocka_unit_test(test_software_disable),
        cmocka_unit_test(test_esr),
        cmocka_unit_test(test_extint_and_nmi_pins),
        cmocka_unit_test(test_lint0_fixed_level),
        cmocka_unit_test(test_timer_oneshot),
        cmocka_unit_test(test_timer_periodic),
        cmocka_unit_test(test_timer_periodic_coalesces),
        cmocka_unit_test(test_timer_tsc_deadline),
        cmocka_unit_test(test_timer_tsc_rate),
        cmocka_unit_test(test_bad_params),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
