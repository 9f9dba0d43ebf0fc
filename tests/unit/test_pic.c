/* The 8259A pair through its ports, initialized as Linux does: the INT
 * output, INTA vectors, priorities and rotation, EOIs, the cascade,
 * spurious IRQ 7 and 15, ELCR level triggering, OCW3 reads and poll. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>

#include "hw/pic.h"

struct fixture {
    struct pic *pic;
    int intr;
    unsigned intr_changes;
};

static void on_intr(void *ctx, int level)
{
    struct fixture *f = ctx;
    f->intr = level;
    f->intr_changes++;
}

static void outb(struct fixture *f, uint16_t port, uint8_t v)
{
    if (port >= 0x4d0)
        pic_elcr_ops.write(f->pic, port - 0x4d0, 1, v);
    else if (port >= 0xa0)
        pic_slave_ops.write(f->pic, port - 0xa0, 1, v);
    else
        pic_master_ops.write(f->pic, port - 0x20, 1, v);
}

static uint8_t inb(struct fixture *f, uint16_t port)
{
    if (port >= 0x4d0)
        return (uint8_t)pic_elcr_ops.read(f->pic, port - 0x4d0, 1);
    if (port >= 0xa0)
        return (uint8_t)pic_slave_ops.read(f->pic, port - 0xa0, 1);
    return (uint8_t)pic_master_ops.read(f->pic, port - 0x20, 1);
}

/* Linux's init_8259A: mask all, ICW1-4 on both, then unmask. */
static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    f->pic = pic_new(on_intr, f);
    outb(f, 0x21, 0xff);
    outb(f, 0xa1, 0xff);
    outb(f, 0x20, 0x11);
    outb(f, 0x21, 0x20);
    outb(f, 0x21, 0x04);
    outb(f, 0x21, 0x01);
    outb(f, 0xa0, 0x11);
    outb(f, 0xa1, 0x28);
    outb(f, 0xa1, 0x02);
    outb(f, 0xa1, 0x01);
    outb(f, 0x21, 0x00);
    outb(f, 0xa1, 0x00);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    pic_free(f->pic);
    free(f);
    return 0;
}

static uint8_t read_isr(struct fixture *f, uint16_t cmd)
{
    outb(f, cmd, 0x0b);
    uint8_t v = inb(f, cmd);
    outb(f, cmd, 0x0a);
    return v;
}

static void pulse(struct fixture *f, unsigned irq)
{
    pic_set_irq(f->pic, irq, 1);
    pic_set_irq(f->pic, irq, 0);
}

static void test_init_and_inta(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(f->intr, 0);
    assert_int_equal(inb(f, 0x21), 0x00);
    outb(f, 0x21, 0xa5);
    assert_int_equal(inb(f, 0x21), 0xa5); /* OCW1 reads back */
    outb(f, 0x21, 0x00);
    pulse(f, 0);
    assert_int_equal(f->intr, 1);
    assert_int_equal(inb(f, 0x20), 0x01); /* IRR by default */
    assert_int_equal(pic_ack(f->pic), 0x20);
    assert_int_equal(f->intr, 0);
    assert_int_equal(inb(f, 0x20), 0x00);
    assert_int_equal(read_isr(f, 0x20), 0x01);
    outb(f, 0x20, 0x20); /* non-specific EOI */
    assert_int_equal(read_isr(f, 0x20), 0x00);
    pulse(f, 2); /* the cascade input is not an external line */
    assert_int_equal(f->intr, 0);
}

static void test_priority_and_nesting(void **state)
{
    struct fixture *f = *state;
    pulse(f, 3);
    pulse(f, 1);
    assert_int_equal(pic_ack(f->pic), 0x21); /* IRQ 1 before IRQ 3 */
    assert_int_equal(f->intr, 0);            /* IRQ 3 waits below IRQ 1 */
    outb(f, 0x20, 0x20);
    assert_int_equal(f->intr, 1);
    assert_int_equal(pic_ack(f->pic), 0x23);
    pulse(f, 0); /* higher than IRQ 3 in service: nests */
    assert_int_equal(f->intr, 1);
    assert_int_equal(pic_ack(f->pic), 0x20);
    assert_int_equal(read_isr(f, 0x20), 0x09);
    outb(f, 0x20, 0x63); /* specific EOI of IRQ 3 */
    assert_int_equal(read_isr(f, 0x20), 0x01);
    outb(f, 0x20, 0x20);
    assert_int_equal(read_isr(f, 0x20), 0x00);

    /* masked requests wait in IRR */
    outb(f, 0x21, 0x10);
    pulse(f, 4);
    assert_int_equal(f->intr, 0);
    assert_int_equal(inb(f, 0x20), 0x10);
    outb(f, 0x21, 0x00);
    assert_int_equal(pic_ack(f->pic), 0x24);
    outb(f, 0x20, 0x20);
}

static void test_rotation(void **state)
{
    struct fixture *f = *state;
    pulse(f, 1);
    assert_int_equal(pic_ack(f->pic), 0x21);
    outb(f, 0x20, 0xa0); /* rotate on non-specific EOI: IRQ 1 now lowest */
    pulse(f, 0);
    pulse(f, 4);
    assert_int_equal(pic_ack(f->pic), 0x24); /* order 2..7, 0, 1 */
    assert_int_equal(f->intr, 0);            /* IRQ 0 now ranks below IRQ 4 */
    outb(f, 0x20, 0x20);
    assert_int_equal(pic_ack(f->pic), 0x20);
    outb(f, 0x20, 0x20);
    outb(f, 0x20, 0xc7); /* set priority: IRQ 7 lowest again */
    pulse(f, 4);
    pulse(f, 0);
    assert_int_equal(pic_ack(f->pic), 0x20);
    outb(f, 0x20, 0x20);
    assert_int_equal(pic_ack(f->pic), 0x24);
    outb(f, 0x20, 0x20);
}

static void test_cascade(void **state)
{
    struct fixture *f = *state;
    pulse(f, 10);
    assert_int_equal(f->intr, 1);
    assert_int_equal(pic_ack(f->pic), 0x2a);
    assert_int_equal(read_isr(f, 0x20), 0x04);
    assert_int_equal(read_isr(f, 0xa0), 0x04);
    pulse(f, 12); /* lower than 10 on the slave: waits */
    assert_int_equal(f->intr, 0);
    outb(f, 0xa0, 0x20);
    outb(f, 0x20, 0x20);
    assert_int_equal(f->intr, 1);
    assert_int_equal(pic_ack(f->pic), 0x2c);
    outb(f, 0xa0, 0x20);
    outb(f, 0x20, 0x20);
    /* a slave in auto-EOI keeps INT high through INTA when another request
     * waits: the master must see IR2 again */
    outb(f, 0xa0, 0x11);
    outb(f, 0xa1, 0x28);
    outb(f, 0xa1, 0x02);
    outb(f, 0xa1, 0x03);
    pulse(f, 8);
    pulse(f, 12);
    assert_int_equal(pic_ack(f->pic), 0x28);
    outb(f, 0x20, 0x20);
    assert_int_equal(f->intr, 1);
    assert_int_equal(pic_ack(f->pic), 0x2c);
    outb(f, 0x20, 0x20);
    /* slave masked as a whole through master IR2 */
    outb(f, 0x21, 0x04);
    pulse(f, 9);
    assert_int_equal(f->intr, 0);
    outb(f, 0x21, 0x00);
    assert_int_equal(pic_ack(f->pic), 0x29);
}

static void test_spurious(void **state)
{
    struct fixture *f = *state;
    pic_set_irq(f->pic, 5, 1);
    assert_int_equal(f->intr, 1);
    outb(f, 0x21, 0x20); /* masked between INTR and INTA */
    assert_int_equal(pic_ack(f->pic), 0x27);
    assert_int_equal(read_isr(f, 0x20), 0x00); /* spurious: no ISR bit */
    outb(f, 0x21, 0x00);
    assert_int_equal(pic_ack(f->pic), 0x25); /* the edge stayed latched */
    outb(f, 0x20, 0x20);
    pic_set_irq(f->pic, 5, 0);

    /* a level request that drops before INTA */
    outb(f, 0x4d0, 0x20);
    pic_set_irq(f->pic, 5, 1);
    pic_set_irq(f->pic, 5, 0);
    assert_int_equal(f->intr, 0);
    assert_int_equal(pic_ack(f->pic), 0x27);

    /* on the slave: IRQ 15, with the master's IR2 in service */
    outb(f, 0x4d1, 0x04);
    pic_set_irq(f->pic, 10, 1);
    pic_set_irq(f->pic, 10, 0);
    assert_int_equal(pic_ack(f->pic), 0x2f);
    assert_int_equal(read_isr(f, 0xa0), 0x00);
    assert_int_equal(read_isr(f, 0x20), 0x04);
    outb(f, 0x20, 0x20);
    /* nothing at all */
    assert_int_equal(pic_ack(f->pic), 0x27);
}

static void test_elcr_level(void **state)
{
    struct fixture *f = *state;
    outb(f, 0x4d0, 0xff);
    outb(f, 0x4d1, 0xff);
    assert_int_equal(inb(f, 0x4d0), 0xf8); /* IRQ 0-2 are always edge */
    assert_int_equal(inb(f, 0x4d1), 0xde); /* IRQ 8 and 13 too */
    pic_set_irq(f->pic, 11, 1);
    assert_int_equal(pic_ack(f->pic), 0x2b);
    outb(f, 0xa0, 0x20);
    outb(f, 0x20, 0x20);
    assert_int_equal(f->intr, 1); /* still high: requested again */
    assert_int_equal(pic_ack(f->pic), 0x2b);
    pic_set_irq(f->pic, 11, 0);
    outb(f, 0xa0, 0x20);
    outb(f, 0x20, 0x20);
    assert_int_equal(f->intr, 0);
    /* an edge IRQ is not requested again by a line left high */
    pic_set_irq(f->pic, 1, 1);
    assert_int_equal(pic_ack(f->pic), 0x21);
    outb(f, 0x20, 0x20);
    assert_int_equal(f->intr, 0);
}

static void test_auto_eoi_and_poll(void **state)
{
    struct fixture *f = *state;
    outb(f, 0x20, 0x11);
    outb(f, 0x21, 0x20);
    outb(f, 0x21, 0x04);
    outb(f, 0x21, 0x03); /* auto-EOI */
    pulse(f, 1);
    assert_int_equal(pic_ack(f->pic), 0x21);
    assert_int_equal(read_isr(f, 0x20), 0x00);
    pulse(f, 6);
    outb(f, 0x20, 0x0c); /* poll */
    assert_int_equal(inb(f, 0x20), 0x86);
    assert_int_equal(f->intr, 0);
    outb(f, 0x20, 0x0c);
    assert_int_equal(inb(f, 0x20), 0x00);
    /* special mask mode: a masked IR in service no longer blocks lower ones */
    outb(f, 0x20, 0x11); /* again with normal EOI */
    outb(f, 0x21, 0x20);
    outb(f, 0x21, 0x04);
    outb(f, 0x21, 0x01);
    pulse(f, 3);
    assert_int_equal(pic_ack(f->pic), 0x23);
    pulse(f, 5);
    assert_int_equal(f->intr, 0);
    outb(f, 0x21, 0x08);
    outb(f, 0x20, 0x68); /* set special mask mode */
    assert_int_equal(f->intr, 1);
    assert_int_equal(pic_ack(f->pic), 0x25);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_init_and_inta, setup, teardown),
        cmocka_unit_test_setup_teardown(test_priority_and_nesting, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rotation, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cascade, setup, teardown),
        cmocka_unit_test_setup_teardown(test_spurious, setup, teardown),
        cmocka_unit_test_setup_teardown(test_elcr_level, setup, teardown),
        cmocka_unit_test_setup_teardown(test_auto_eoi_and_poll, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
