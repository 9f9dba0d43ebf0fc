/* IPIs and MSIs over the APIC bus: physical, logical flat and cluster,
 * shorthands, broadcast, lowest priority, NMI/INIT/SIPI, x2APIC
 * destinations and MSRs, MSI decoding and the level-triggered EOI. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>

#include "lapic_rig.h"

#define APIC_DFR 0x0e0
#define APIC_LDR 0x0d0
#define IRR      0x200

/* ICR low words */
#define ASSERT     0x4000u
#define LOGICAL    0x800u
#define LOWEST     0x100u
#define NMI        0x400u
#define INIT       0x500u
#define SIPI       0x600u
#define LEVEL_TRIG 0x8000u
#define SH_SELF    0x40000u
#define SH_ALL     0x80000u
#define SH_OTHERS  0xc0000u

static struct rig *rig4(void)
{
    struct rig *r = rig_new(4);
    for (unsigned i = 0; i < 4; i++) {
        assert_non_null(r->l[i]);
        apic_enable(r->l[i]);
    }
    return r;
}

/* Which LAPICs have vector in IRR, as a bit mask; clears them. */
static unsigned got(struct rig *r, uint8_t vector)
{
    unsigned mask = 0;
    for (unsigned i = 0; i < r->n; i++) {
        if (lapic_pending(r->l[i]) == vector) {
            mask |= 1u << i;
            lapic_ack(r->l[i]);
            if (lapic_mode(r->l[i]) == LAPIC_MODE_X2APIC)
                lapic_wrmsr(r->l[i], 0x80b, 0);
            else
                apic_write(r->l[i], APIC_EOI, 0);
        }
    }
    return mask;
}

static void test_physical_and_shorthands(void **state)
{
    (void)state;
    struct rig *r = rig4();
    struct lapic *src = r->l[1];
    apic_ipi(src, 2, ASSERT | 0x31);
    assert_int_equal(got(r, 0x31), 0x4);
    apic_ipi(src, 0xff, ASSERT | 0x32); /* broadcast */
    assert_int_equal(got(r, 0x32), 0xf);
    apic_ipi(src, 9, ASSERT | 0x33); /* nobody */
    assert_int_equal(got(r, 0x33), 0);
    apic_ipi(src, 2, SH_SELF | ASSERT | 0x34); /* shorthands ignore the destination */
    assert_int_equal(got(r, 0x34), 0x2);
    apic_ipi(src, 2, SH_ALL | ASSERT | 0x35);
    assert_int_equal(got(r, 0x35), 0xf);
    apic_ipi(src, 2, SH_OTHERS | ASSERT | 0x36);
    assert_int_equal(got(r, 0x36), 0xd);
    /* a software-disabled LAPIC drops fixed IPIs; a hardware-disabled one everything */
    apic_write(r->l[3], APIC_SVR, 0xff);
    assert_int_equal(lapic_wrmsr(r->l[2], MSR_IA32_APIC_BASE, 0xfee00000), 0);
    apic_ipi(src, 0xff, ASSERT | 0x37);
    assert_int_equal(got(r, 0x37), 0x3);
    apic_ipi(src, 0xff, ASSERT | NMI);
    assert_int_equal(lapic_take_events(r->l[3], NULL), LAPIC_EV_NMI);
    assert_int_equal(lapic_take_events(r->l[2], NULL), 0);
    rig_free(r);
}

static void test_logical_flat_and_cluster(void **state)
{
    (void)state;
    struct rig *r = rig4();
    for (unsigned i = 0; i < 4; i++)
        apic_write(r->l[i], APIC_LDR, 1u << (24 + i)); /* flat: one bit each */
    apic_ipi(r->l[0], 0x05, LOGICAL | ASSERT | 0x41);
    assert_int_equal(got(r, 0x41), 0x5);
    apic_ipi(r->l[0], 0xff, LOGICAL | ASSERT | 0x42);
    assert_int_equal(got(r, 0x42), 0xf);

    /* cluster model: cluster i / 2, member bit i % 2 */
    for (unsigned i = 0; i < 4; i++) {
        apic_write(r->l[i], APIC_DFR, 0x0fffffff);
        apic_write(r->l[i], APIC_LDR, ((i / 2) << 28) | (1u << (24 + i % 2)));
    }
    assert_int_equal(apic_read(r->l[0], APIC_DFR), 0x0fffffff);
    apic_ipi(r->l[0], 0x13, LOGICAL | ASSERT | 0x43); /* cluster 1, both */
    assert_int_equal(got(r, 0x43), 0xc);
    apic_ipi(r->l[0], 0x02, LOGICAL | ASSERT | 0x44); /* cluster 0, member 1 */
    assert_int_equal(got(r, 0x44), 0x2);
    apic_ipi(r->l[0], 0xf1, LOGICAL | ASSERT | 0x45); /* every cluster, member 0 */
    assert_int_equal(got(r, 0x45), 0x5);
    rig_free(r);
}

static void test_lowest_priority(void **state)
{
    (void)state;
    struct rig *r = rig4();
    for (unsigned i = 0; i < 4; i++)
        apic_write(r->l[i], APIC_LDR, 1u << (24 + i));
    apic_write(r->l[1], APIC_TPR, 0x20);
    apic_write(r->l[2], APIC_TPR, 0x10);
    apic_write(r->l[3], APIC_TPR, 0x10);
    apic_ipi(r->l[0], 0x0e, LOGICAL | LOWEST | ASSERT | 0x51);
    assert_int_equal(got(r, 0x51), 0x4); /* lowest TPR; of equals the lowest ID */
    apic_write(r->l[2], APIC_TPR, 0x30);
    apic_ipi(r->l[0], 0x0e, LOGICAL | LOWEST | ASSERT | 0x52);
    assert_int_equal(got(r, 0x52), 0x8);
    rig_free(r);
}

static void test_init_sipi(void **state)
{
    (void)state;
    struct rig *r = rig4();
    struct lapic *ap = r->l[2];
    apic_write(ap, APIC_TPR, 0x40);
    apic_ipi(r->l[0], 2, LEVEL_TRIG | INIT); /* INIT level de-assert: ignored */
    assert_int_equal(lapic_take_events(ap, NULL), 0);
    assert_int_equal(apic_read(ap, APIC_TPR), 0x40);
    apic_ipi(r->l[0], 2, ASSERT | INIT);
    apic_ipi(r->l[0], 2, ASSERT | SIPI | 0x9a);
    uint8_t vec = 0;
    assert_int_equal(lapic_take_events(ap, &vec), LAPIC_EV_INIT | LAPIC_EV_SIPI);
    assert_int_equal(vec, 0x9a);
    /* INIT reset the LAPIC but kept its ID */
    assert_int_equal(apic_read(ap, APIC_TPR), 0);
    assert_int_equal(apic_read(ap, APIC_SVR), 0xff);
    assert_int_equal(lapic_id(ap), 2);
    /* a SIPI before an INIT is stale */
    apic_ipi(r->l[0], 2, ASSERT | SIPI | 0x10);
    apic_ipi(r->l[0], 2, ASSERT | INIT);
    assert_int_equal(lapic_take_events(ap, NULL), LAPIC_EV_INIT);
    rig_free(r);
}

static void go_x2apic(struct lapic *l)
{
    assert_int_equal(
        lapic_wrmsr(l, MSR_IA32_APIC_BASE, 0xfee00000 | APIC_BASE_ENABLE | APIC_BASE_EXTD), 0);
    assert_int_equal(lapic_wrmsr(l, 0x80f, SVR_ON), 0);
}

static void test_x2apic_msrs(void **state)
{
    (void)state;
    struct rig *r = rig_new(0);
    struct lapic *l = rig_lapic(r, 1, 0x123, true);
    uint64_t v;
    assert_int_equal(lapic_rdmsr(l, 0x802, &v), LAPIC_GP); /* x2APIC MSRs need x2APIC mode */
    assert_int_equal(lapic_wrmsr(l, MSR_IA32_APIC_BASE, 0xfee00000 | APIC_BASE_EXTD), LAPIC_GP);
    assert_int_equal(lapic_wrmsr(l, MSR_IA32_APIC_BASE, 0xfee00000 | APIC_BASE_ENABLE | 0x1),
                     LAPIC_GP); /* reserved bit */
    go_x2apic(l);
    assert_int_equal(lapic_mmio_base(l), LAPIC_NO_MMIO);
    assert_int_equal(lapic_rdmsr(l, 0x802, &v), 0);
    assert_int_equal(v, 0x123); /* the 32-bit ID */
    assert_int_equal(lapic_rdmsr(l, 0x80d, &v), 0);
    assert_int_equal(v, (0x12u << 16) | (1u << 3));
    assert_int_equal(lapic_wrmsr(l, 0x802, 5), LAPIC_GP); /* read-only */
    assert_int_equal(lapic_wrmsr(l, 0x80d, 5), LAPIC_GP);
    assert_int_equal(lapic_rdmsr(l, 0x80b, &v), LAPIC_GP); /* EOI is write-only */
    assert_int_equal(lapic_wrmsr(l, 0x80b, 1), LAPIC_GP);  /* and takes only 0 */
    assert_int_equal(lapic_wrmsr(l, 0x80b, 0), 0);
    assert_int_equal(lapic_rdmsr(l, 0x80e, &v), LAPIC_GP); /* no DFR */
    assert_int_equal(lapic_rdmsr(l, 0x831, &v), LAPIC_GP); /* no ICR2 */
    assert_int_equal(lapic_wrmsr(l, 0x808, 1ULL << 32), LAPIC_GP);
    assert_int_equal(lapic_wrmsr(l, 0x808, 0x20), 0);
    assert_int_equal(lapic_get_cr8(l), 2);
    assert_int_equal(lapic_wrmsr(l, 0x828, 1), LAPIC_GP); /* ESR takes only 0 */
    assert_int_equal(lapic_wrmsr(l, 0x83f, 0x66), 0);     /* SELF IPI */
    assert_int_equal(lapic_pending(l), 0x66);
    assert_int_equal(lapic_rdmsr(l, 0x83f, &v), LAPIC_GP);
    assert_int_equal(lapic_wrmsr(l, 0x838, 1000), 0); /* the timer via MSRs */
    timer_service_advance(r->svc, 250);
    assert_int_equal(lapic_rdmsr(l, 0x839, &v), 0);
    assert_int_equal(v, 1000 - 250 / 2); /* divide by 2 after reset */
    /* x2APIC -> xAPIC is illegal; through disabled it is fine */
    assert_int_equal(lapic_wrmsr(l, MSR_IA32_APIC_BASE, 0xfee00000 | APIC_BASE_ENABLE), LAPIC_GP);
    assert_int_equal(lapic_wrmsr(l, MSR_IA32_APIC_BASE, 0xfee00000), 0);
    assert_int_equal(
        lapic_wrmsr(l, MSR_IA32_APIC_BASE, 0xfee00000 | APIC_BASE_ENABLE | APIC_BASE_EXTD),
        LAPIC_GP); /* disabled -> x2APIC is illegal too */
    assert_int_equal(lapic_wrmsr(l, MSR_IA32_APIC_BASE, 0xfed00000 | APIC_BASE_ENABLE), 0);
    assert_int_equal(lapic_mmio_base(l), 0xfed00000);
    assert_int_equal(lapic_id(l), 0x23); /* xAPIC again: the 8-bit ID */
    lapic_free(l);

    /* without x2APIC support EXTD is reserved */
    l = rig_lapic(r, 1, 1, false);
    assert_int_equal(
        lapic_wrmsr(l, MSR_IA32_APIC_BASE, 0xfee00000 | APIC_BASE_ENABLE | APIC_BASE_EXTD),
        LAPIC_GP);
    assert_false(lapic_msr_is_apic(0x10));
    assert_true(lapic_msr_is_apic(0x8ff));
    lapic_free(l);
    rig_free(r);
}

static void test_x2apic_routing(void **state)
{
    (void)state;
    struct rig *r = rig_new(0);
    const uint32_t ids[4] = {0x10, 0x11, 0x25, 0x300};
    r->n = 4;
    for (unsigned i = 0; i < 4; i++) {
        r->l[i] = rig_lapic(r, i, ids[i], true);
        go_x2apic(r->l[i]);
    }
    struct lapic *src = r->l[0];
    assert_int_equal(lapic_wrmsr(src, 0x830, (0x300ULL << 32) | ASSERT | 0x61), 0);
    assert_int_equal(got(r, 0x61), 0x8);
    uint64_t icr;
    assert_int_equal(lapic_rdmsr(src, 0x830, &icr), 0);
    assert_int_equal(icr, (0x300ULL << 32) | ASSERT | 0x61);
    lapic_wrmsr(src, 0x830, (0xffffffffULL << 32) | ASSERT | 0x62);
    assert_int_equal(got(r, 0x62), 0xf);
    lapic_wrmsr(src, 0x830, (0xffULL << 32) | ASSERT | 0x63); /* 0xff is just an ID here */
    assert_int_equal(got(r, 0x63), 0);
    /* logical: cluster 1 (IDs 0x10-0x1f), members 0 and 1 */
    lapic_wrmsr(src, 0x830, (0x10003ULL << 32) | LOGICAL | ASSERT | 0x64);
    assert_int_equal(got(r, 0x64), 0x3);
    lapic_wrmsr(src, 0x830, (0x20020ULL << 32) | LOGICAL | ASSERT | 0x65);
    assert_int_equal(got(r, 0x65), 0x4);
    lapic_wrmsr(src, 0x830, (0xffffffffULL << 32) | LOGICAL | ASSERT | 0x66);
    assert_int_equal(got(r, 0x66), 0xf);
    /* 8-bit destinations (IOAPIC, MSI) reach x2APIC IDs below 0xff */
    assert_int_equal(apic_bus_msi(r->bus, 0xfee25000, 0x67), 1);
    assert_int_equal(got(r, 0x67), 0x4);
    rig_free(r);
}

struct eoi_log {
    unsigned n;
    uint8_t last;
};

static void on_eoi(void *ctx, uint8_t vector)
{
    struct eoi_log *log = ctx;
    log->n++;
    log->last = vector;
}

static void test_msi_and_level_eoi(void **state)
{
    (void)state;
    struct rig *r = rig4();
    struct eoi_log log = {0};
    assert_int_equal(apic_bus_add_eoi_listener(r->bus, on_eoi, &log), 0);
    assert_int_equal(apic_bus_msi(r->bus, 0xfee03000, 0x0071), 1); /* edge, to ID 3 */
    assert_int_equal(lapic_ack(r->l[3]), 0x71);
    apic_write(r->l[3], APIC_EOI, 0);
    assert_int_equal(log.n, 0); /* edge: no EOI message */

    assert_int_equal(apic_bus_msi(r->bus, 0xfee01000, 0xc072), 1); /* level, asserted */
    assert_true(apic_bit(r->l[1], 0x180, 0x72));                   /* TMR */
    assert_int_equal(lapic_ack(r->l[1]), 0x72);
    apic_write(r->l[1], APIC_EOI, 0);
    assert_int_equal(log.n, 1);
    assert_int_equal(log.last, 0x72);
    apic_bus_remove_eoi_listener(r->bus, on_eoi, &log);
    apic_bus_msi(r->bus, 0xfee01000, 0xc072);
    assert_int_equal(lapic_ack(r->l[1]), 0x72);
    apic_write(r->l[1], APIC_EOI, 0);
    assert_int_equal(log.n, 1); /* no longer listening */

    for (unsigned i = 0; i < 4; i++)
        apic_write(r->l[i], APIC_LDR, 1u << (24 + i));
    assert_int_equal(apic_bus_msi(r->bus, 0xfee06004, 0x0073), 2); /* logical 0x06 */
    assert_int_equal(got(r, 0x73), 0x6);
    assert_int_equal(apic_bus_msi(r->bus, 0xfee0f004, 0x0174), 1); /* lowest priority */
    assert_int_equal(got(r, 0x74), 0x1);
    assert_int_equal(apic_bus_msi(r->bus, 0xfee02000, 0x0475), 1); /* NMI */
    assert_int_equal(lapic_take_events(r->l[2], NULL), LAPIC_EV_NMI);
    assert_int_equal(apic_bus_msi(r->bus, 0xfed00000, 0x76), -EINVAL);
    assert_int_equal(apic_bus_msi(r->bus, 0x1fee00000ULL, 0x76), -EINVAL);
    assert_int_equal(got(r, 0x76), 0);
    rig_free(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_physical_and_shorthands),
        cmocka_unit_test(test_logical_flat_and_cluster),
        cmocka_unit_test(test_lowest_priority),
        cmocka_unit_test(test_init_sipi),
        cmocka_unit_test(test_x2apic_msrs),
        cmocka_unit_test(test_x2apic_routing),
        cmocka_unit_test(test_msi_and_level_eoi),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
