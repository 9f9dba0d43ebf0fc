/* The IOAPIC through IOREGSEL/IOWIN, delivering to two LAPICs over the
 * APIC bus: registers, edge and level pins, remote IRR and re-delivery on
 * EOI, masking, destinations. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "hw/ioapic.h"
#include "lapic_rig.h"

#define TMR        0x180
#define RTE_LEVEL  0x8000u
#define RTE_MASK   0x10000u
#define RTE_RIRR   0x4000u
#define RTE_LOG    0x800u
#define RTE_LOWEST 0x100u
#define RTE_EXTINT 0x700u

struct fixture {
    struct rig *r;
    struct ioapic *io;
};

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    f->r = rig_new(2);
    apic_enable(f->r->l[0]);
    apic_enable(f->r->l[1]);
    f->io = ioapic_new(f->r->bus, 0);
    *state = f;
    return f->io ? 0 : -1;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    ioapic_free(f->io);
    rig_free(f->r);
    free(f);
    return 0;
}

static uint32_t io_read(struct ioapic *io, uint8_t reg)
{
    ioapic_mmio_ops.write(io, 0x00, 4, reg);
    return (uint32_t)ioapic_mmio_ops.read(io, 0x10, 4);
}

static void io_write(struct ioapic *io, uint8_t reg, uint32_t value)
{
    ioapic_mmio_ops.write(io, 0x00, 4, reg);
    ioapic_mmio_ops.write(io, 0x10, 4, value);
}

static void set_rte(struct ioapic *io, unsigned pin, uint32_t lo, uint8_t dest)
{
    io_write(io, (uint8_t)(0x11 + 2 * pin), (uint32_t)dest << 24);
    io_write(io, (uint8_t)(0x10 + 2 * pin), lo);
}

static void end_of_interrupt(struct lapic *l, uint8_t vector)
{
    assert_int_equal(lapic_ack(l), vector);
    apic_write(l, APIC_EOI, 0);
}

static void test_registers(void **state)
{
    struct fixture *f = *state;
    struct ioapic *io = f->io;
    assert_int_equal(io_read(io, 0x01), 0x00170011);
    assert_int_equal(io_read(io, 0x00), 0);
    io_write(io, 0x00, 0x0a000000);
    assert_int_equal(io_read(io, 0x00), 0x0a000000);
    assert_int_equal(io_read(io, 0x02), 0x0a000000); /* arbitration ID follows */
    io_write(io, 0x01, 0);                           /* version is read-only */
    assert_int_equal(io_read(io, 0x01), 0x00170011);
    for (unsigned pin = 0; pin < IOAPIC_NUM_PINS; pin++)
        assert_int_equal(io_read(io, (uint8_t)(0x10 + 2 * pin)), RTE_MASK);
    io_write(io, 0x10 + 2 * 23, 0xffffffff); /* remote IRR and delivery status are read-only */
    assert_int_equal(io_read(io, 0x10 + 2 * 23), 0x1afff);
    io_write(io, 0x11 + 2 * 23, 0xffffffff);
    assert_int_equal(io_read(io, 0x11 + 2 * 23), 0xff000000);
    assert_int_equal(io_read(io, 0x10 + 2 * 24), 0); /* past the last entry */
    assert_int_equal(ioapic_mmio_ops.read(io, 0x00, 1), 0x10 + 2 * 24);
    ioapic_reset(io);
    assert_int_equal(io_read(io, 0x10 + 2 * 23), RTE_MASK);
    assert_int_equal(io_read(io, 0x00), 0x0a000000); /* the ID survives reset */
}

static void test_edge(void **state)
{
    struct fixture *f = *state;
    struct lapic *l1 = f->r->l[1];
    set_rte(f->io, 4, 0x34, 1);
    ioapic_set_irq(f->io, 4, 1);
    assert_int_equal(lapic_pending(l1), 0x34);
    assert_int_equal(lapic_pending(f->r->l[0]), LAPIC_NONE);
    assert_false(apic_bit(l1, TMR, 0x34));
    end_of_interrupt(l1, 0x34);
    ioapic_set_irq(f->io, 4, 1); /* no new edge */
    assert_int_equal(lapic_pending(l1), LAPIC_NONE);
    ioapic_set_irq(f->io, 4, 0);
    ioapic_set_irq(f->io, 4, 1);
    end_of_interrupt(l1, 0x34);
    ioapic_set_irq(f->io, 4, 0);

    /* an edge while masked is lost */
    set_rte(f->io, 4, RTE_MASK | 0x34, 1);
    ioapic_set_irq(f->io, 4, 1);
    ioapic_set_irq(f->io, 4, 0);
    set_rte(f->io, 4, 0x34, 1);
    assert_int_equal(lapic_pending(l1), LAPIC_NONE);
    ioapic_set_irq(f->io, 99, 1); /* no such pin: ignored */
}

static void test_level_remote_irr(void **state)
{
    struct fixture *f = *state;
    struct lapic *l0 = f->r->l[0];
    set_rte(f->io, 10, RTE_LEVEL | 0x3a, 0);
    ioapic_set_irq(f->io, 10, 1);
    assert_int_equal(lapic_pending(l0), 0x3a);
    assert_true(apic_bit(l0, TMR, 0x3a));
    assert_true(io_read(f->io, 0x10 + 20) & RTE_RIRR);
    assert_int_equal(lapic_ack(l0), 0x3a);
    ioapic_set_irq(f->io, 10, 1); /* remote IRR holds further messages */
    assert_int_equal(lapic_pending(l0), LAPIC_NONE);

    apic_write(l0, APIC_EOI, 0); /* line still asserted: sent again */
    assert_int_equal(lapic_pending(l0), 0x3a);
    assert_true(io_read(f->io, 0x10 + 20) & RTE_RIRR);
    ioapic_set_irq(f->io, 10, 0);
    end_of_interrupt(l0, 0x3a);
    assert_false(io_read(f->io, 0x10 + 20) & RTE_RIRR);
    assert_int_equal(lapic_pending(l0), LAPIC_NONE);

    /* an EOI of another vector leaves remote IRR alone */
    ioapic_set_irq(f->io, 10, 1);
    ioapic_eoi(f->io, 0x3b);
    assert_true(io_read(f->io, 0x10 + 20) & RTE_RIRR);
    /* switching to edge clears remote IRR */
    set_rte(f->io, 10, 0x3a, 0);
    assert_false(io_read(f->io, 0x10 + 20) & RTE_RIRR);
}

static void test_level_masking(void **state)
{
    struct fixture *f = *state;
    struct lapic *l1 = f->r->l[1];
    set_rte(f->io, 16, RTE_MASK | RTE_LEVEL | 0x50, 1);
    ioapic_set_irq(f->io, 16, 1);
    assert_int_equal(lapic_pending(l1), LAPIC_NONE);
    set_rte(f->io, 16, RTE_LEVEL | 0x50, 1); /* unmasked onto an asserted line */
    assert_int_equal(lapic_pending(l1), 0x50);
    set_rte(f->io, 16, RTE_MASK | RTE_LEVEL | 0x50, 1);
    assert_int_equal(lapic_ack(l1), 0x50);
    apic_write(l1, APIC_EOI, 0); /* masked now: not sent again */
    assert_int_equal(lapic_pending(l1), LAPIC_NONE);
    assert_false(io_read(f->io, 0x10 + 32) & RTE_RIRR);

    /* nobody at the destination: no remote IRR, so nothing gets stuck */
    set_rte(f->io, 17, RTE_LEVEL | 0x51, 7);
    ioapic_set_irq(f->io, 17, 1);
    assert_false(io_read(f->io, 0x10 + 34) & RTE_RIRR);
}

static void test_destinations(void **state)
{
    struct fixture *f = *state;
    struct lapic *l0 = f->r->l[0], *l1 = f->r->l[1];
    apic_write(l0, 0x0d0, 0x01000000);
    apic_write(l1, 0x0d0, 0x02000000);
    set_rte(f->io, 5, RTE_LOG | 0x45, 0x02);
    ioapic_set_irq(f->io, 5, 1);
    assert_int_equal(lapic_pending(l1), 0x45);
    assert_int_equal(lapic_pending(l0), LAPIC_NONE);
    end_of_interrupt(l1, 0x45);

    apic_write(l0, APIC_TPR, 0x30);
    set_rte(f->io, 6, RTE_LOG | RTE_LOWEST | 0x46, 0x03);
    ioapic_set_irq(f->io, 6, 1);
    assert_int_equal(lapic_pending(l1), 0x46); /* the lower-priority CPU */
    end_of_interrupt(l1, 0x46);

    set_rte(f->io, 7, 0x47, 0xff); /* physical broadcast */
    ioapic_set_irq(f->io, 7, 1);
    assert_int_equal(lapic_pending(l0), 0x47);
    assert_int_equal(lapic_pending(l1), 0x47);

    set_rte(f->io, 0, RTE_EXTINT, 0); /* virtual wire through the IOAPIC */
    ioapic_set_irq(f->io, 0, 1);
    assert_int_equal(lapic_ack(l0), LAPIC_EXTINT);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_registers, setup, teardown),
        cmocka_unit_test_setup_teardown(test_edge, setup, teardown),
        cmocka_unit_test_setup_teardown(test_level_remote_irr, setup, teardown),
        cmocka_unit_test_setup_teardown(test_level_masking, setup, teardown),
        cmocka_unit_test_setup_teardown(test_destinations, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
