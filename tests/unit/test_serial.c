/* The 16550A through its bus ops, with a fake chardev and a fake IRQ line. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "hw/serial.h"

enum { THR = 0, RBR = 0, DLL = 0, IER = 1, DLM = 1, IIR = 2, FCR = 2, LCR = 3, MCR = 4 };
enum { LSR = 5, MSR = 6, SCR = 7 };

struct fake_chardev {
    struct chardev chr;
    uint8_t out[256];
    size_t out_len;
    unsigned accept_calls;
};

struct fake_irq {
    int level;
    unsigned changes;
};

struct fixture {
    struct fake_chardev fc;
    struct fake_irq irq;
    struct serial *s;
};

static void fake_write(struct chardev *chr, const uint8_t *buf, size_t len)
{
    struct fake_chardev *fc = (struct fake_chardev *)chr;
    assert_true(fc->out_len + len <= sizeof(fc->out));
    memcpy(fc->out + fc->out_len, buf, len);
    fc->out_len += len;
}

static void fake_accept(struct chardev *chr)
{
    ((struct fake_chardev *)chr)->accept_calls++;
}

static const struct chardev_ops fake_ops = {.write = fake_write, .accept_input = fake_accept};

static void fake_irq_set(void *ctx, unsigned gsi, int level)
{
    struct fake_irq *irq = ctx;
    assert_int_equal(gsi, 4);
    irq->level = level;
    irq->changes++;
}

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    f->fc.chr.ops = &fake_ops;
    f->s = serial_new(&f->fc.chr, (struct irq_line){fake_irq_set, &f->irq, 4});
    assert_non_null(f->s);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    serial_free(f->s);
    assert_null(f->fc.chr.receive);
    free(f);
    return 0;
}

static uint8_t rd(struct fixture *f, unsigned reg)
{
    return (uint8_t)serial_bus_ops.read(f->s, reg, 1);
}

static void wr(struct fixture *f, unsigned reg, uint8_t v)
{
    serial_bus_ops.write(f->s, reg, 1, v);
}

static size_t feed(struct fixture *f, const char *text, size_t len)
{
    return f->fc.chr.receive(f->fc.chr.receive_opaque, (const uint8_t *)text, len);
}

static void test_thr_reaches_chardev(void **state)
{
    struct fixture *f = *state;
    wr(f, THR, 'h');
    wr(f, THR, 'i');
    assert_int_equal(f->fc.out_len, 2);
    assert_memory_equal(f->fc.out, "hi", 2);
    /* Transmit is instant: THRE and TEMT stay set, no data ready. */
    assert_int_equal(rd(f, LSR), 0x60);
}

static void test_dlab_divisor_latch(void **state)
{
    struct fixture *f = *state;
    wr(f, IER, 0x05);
    wr(f, LCR, 0x83);
    wr(f, DLL, 0x01);
    wr(f, DLM, 0x02);
    assert_int_equal(rd(f, DLL), 0x01);
    assert_int_equal(rd(f, DLM), 0x02);
    wr(f, LCR, 0x03);
    assert_int_equal(rd(f, LCR), 0x03);
    assert_int_equal(rd(f, IER), 0x05);
    assert_int_equal(f->fc.out_len, 0); /* DLL writes were not transmitted */
    wr(f, LCR, 0x80);
    assert_int_equal(rd(f, DLL), 0x01);
    assert_int_equal(rd(f, DLM), 0x02);
}

static void test_scratch_and_ier_mask(void **state)
{
    struct fixture *f = *state;
    wr(f, SCR, 0xa5);
    assert_int_equal(rd(f, SCR), 0xa5);
    wr(f, SCR, 0x5a);
    assert_int_equal(rd(f, SCR), 0x5a);
    /* Linux's probe: IER bits 0-3 stick, 4-7 (e.g. Xscale's UUE) do not. */
    wr(f, IER, 0xff);
    assert_int_equal(rd(f, IER), 0x0f);
    wr(f, IER, 0);
    assert_int_equal(rd(f, IER), 0);
}

static void test_fifo_receive(void **state)
{
    struct fixture *f = *state;
    wr(f, FCR, 0x07);
    assert_int_equal(feed(f, "abcdefghijklmnopqrst", 20), 16);
    assert_int_equal(rd(f, LSR) & 0x01, 0x01);
    assert_int_equal(f->fc.accept_calls, 0);
    for (int i = 0; i < 16; i++) {
        assert_int_equal(rd(f, LSR) & 0x01, 0x01);
        assert_int_equal(rd(f, RBR), 'a' + i);
        if (i == 0)
            assert_int_equal(f->fc.accept_calls, 1); /* room appeared */
    }
    assert_int_equal(rd(f, LSR) & 0x01, 0);
    assert_int_equal(f->fc.accept_calls, 1);
    assert_int_equal(feed(f, "qrst", 4), 4);
    assert_int_equal(rd(f, RBR), 'q');
    assert_int_equal(f->fc.accept_calls, 1); /* nothing was refused this time */
}

static void test_no_fifo_holds_one_byte(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(feed(f, "xy", 2), 1);
    assert_int_equal(rd(f, RBR), 'x');
    assert_int_equal(f->fc.accept_calls, 1);
    /* Clearing the receive FIFO also makes room. */
    wr(f, FCR, 0x01);
    assert_int_equal(feed(f, "0123456789abcdefg", 17), 16);
    wr(f, FCR, 0x03);
    assert_int_equal(rd(f, LSR) & 0x01, 0);
    assert_int_equal(f->fc.accept_calls, 2);
}

static void test_rx_interrupt(void **state)
{
    struct fixture *f = *state;
    wr(f, IER, 0x01);
    feed(f, "z", 1);
    assert_int_equal(f->irq.level, 0); /* OUT2 gates the line */
    assert_int_equal(rd(f, IIR), 0x04);
    wr(f, MCR, 0x08);
    assert_int_equal(f->irq.level, 1);
    assert_int_equal(rd(f, RBR), 'z');
    assert_int_equal(f->irq.level, 0);
    assert_int_equal(rd(f, IIR), 0x01);
    /* With FIFOs at trigger level 4: below it the character timeout is
     * reported, at it received-data-available. */
    wr(f, FCR, 0x41);
    feed(f, "ab", 2);
    assert_int_equal(f->irq.level, 1);
    assert_int_equal(rd(f, IIR), 0xcc);
    feed(f, "cd", 2);
    assert_int_equal(rd(f, IIR), 0xc4);
    wr(f, IER, 0);
    assert_int_equal(f->irq.level, 0);
}

static void test_thre_interrupt(void **state)
{
    struct fixture *f = *state;
    wr(f, MCR, 0x08);
    wr(f, IER, 0x02);
    assert_int_equal(f->irq.level, 1);
    assert_int_equal(rd(f, IIR), 0x02);
    /* Reading IIR while it reports THRE acknowledges it. */
    assert_int_equal(f->irq.level, 0);
    assert_int_equal(rd(f, IIR), 0x01);
    /* The byte leaves at once, so THR is empty (and due) again. */
    wr(f, THR, 'a');
    assert_int_equal(f->irq.level, 1);
    assert_int_equal(rd(f, IIR), 0x02);
    /* Re-enabling ETBEI re-raises it (Linux's THRE re-assertion test). */
    wr(f, IER, 0x00);
    wr(f, IER, 0x02);
    assert_int_equal(rd(f, IIR), 0x02);
    assert_int_equal(rd(f, IIR), 0x01);
    /* Received data outranks THRE. */
    wr(f, THR, 'b');
    wr(f, IER, 0x03);
    feed(f, "r", 1);
    assert_int_equal(rd(f, IIR), 0x04);
    rd(f, RBR);
    assert_int_equal(rd(f, IIR), 0x02);
}

static void test_loopback(void **state)
{
    struct fixture *f = *state;
    /* Linux's probe: MCR = LOOP | OUT2 | RTS must read MSR 0x9x. */
    wr(f, MCR, 0x1a);
    assert_int_equal(rd(f, MSR) & 0xf0, 0x90);
    wr(f, MCR, 0x1f);
    assert_int_equal(rd(f, MSR), 0xf0 | 0x02); /* DSR and RI came up */
    wr(f, MCR, 0x10);
    assert_int_equal(rd(f, MSR), 0x0f); /* all dropped; RI trailing edge */
    assert_int_equal(rd(f, MSR), 0x00); /* deltas cleared by the read */
    /* Output loops back to input, not to the chardev. */
    wr(f, FCR, 0x07);
    wr(f, IER, 0x01);
    wr(f, MCR, 0x18);
    for (int i = 0; i < 20; i++)
        wr(f, THR, (uint8_t)('A' + i));
    assert_int_equal(f->fc.out_len, 0);
    assert_int_equal(f->irq.level, 0);         /* the OUT2 pin is inactive in loopback */
    assert_int_equal(rd(f, LSR) & 0x03, 0x03); /* DR and overrun */
    assert_int_equal(rd(f, LSR) & 0x03, 0x01);
    int count = 0;
    while (rd(f, LSR) & 0x01)
        assert_int_equal(rd(f, RBR), 'A' + count++);
    assert_int_equal(count, 16);
    /* The outside cannot send while looped back. */
    assert_int_equal(feed(f, "o", 1), 0);
    wr(f, MCR, 0x08);
    assert_int_equal(f->fc.accept_calls, 1);
    assert_int_equal(rd(f, MSR) & 0xf0, 0xb0);
    wr(f, THR, '!');
    assert_int_equal(f->fc.out_len, 1);
}

static void test_iir_fifo_bits(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(rd(f, IIR), 0x01);
    wr(f, FCR, 0x01);
    assert_int_equal(rd(f, IIR), 0xc1);
    /* The 16750's 64-byte bit is not there: Linux reports a 16550A. */
    wr(f, FCR, 0x21);
    assert_int_equal(rd(f, IIR) >> 5, 6);
    wr(f, LCR, 0xbf);
    assert_int_equal(rd(f, IIR), 0xc1); /* no EFR behind IIR */
    wr(f, LCR, 0x03);
    wr(f, FCR, 0x00);
    assert_int_equal(rd(f, IIR), 0x01);
}

static void test_line_status_interrupt(void **state)
{
    struct fixture *f = *state;
    wr(f, MCR, 0x18);
    wr(f, IER, 0x05);
    wr(f, THR, '1');
    wr(f, THR, '2'); /* no FIFO: overrun */
    assert_int_equal(rd(f, IIR), 0x06);
    assert_int_equal(rd(f, LSR) & 0x02, 0x02);
    assert_int_equal(rd(f, IIR), 0x04);
    assert_int_equal(rd(f, RBR), '2'); /* the new byte destroyed the old */
    assert_int_equal(rd(f, LSR) & 0x03, 0);
}

static void test_wide_access_split(void **state)
{
    struct fixture *f = *state;
    serial_bus_ops.write(f->s, 6, 2, 0x4400); /* MSR ignored, SCR = 0x44 */
    assert_int_equal(rd(f, SCR), 0x44);
    assert_int_equal(serial_bus_ops.read(f->s, 3, 2), 0x0003); /* LCR, MCR */
    assert_int_equal(serial_bus_ops.read(f->s, 7, 4), 0xffffff44);
}

/* drivers/tty/serial/8250/8250_port.c size_fifo(): count what a loopback
 * burst leaves in the receive FIFO. */
static int linux_size_fifo(struct fixture *f)
{
    wr(f, LCR, 0);
    wr(f, FCR, 0x07);
    wr(f, MCR, 0x10);
    wr(f, LCR, 0x80);
    wr(f, DLL, 1);
    wr(f, DLM, 0);
    wr(f, LCR, 0x03);
    for (int i = 0; i < 256; i++)
        wr(f, THR, (uint8_t)i);
    int count = 0;
    while ((rd(f, LSR) & 0x01) && count < 256) {
        rd(f, RBR);
        count++;
    }
    wr(f, MCR, 0);
    return count;
}

/* The checks of Linux's autoconfig() and autoconfig_16550a(), in order:
 * each must come out the way a real 16550A answers. */
static void test_linux_autoconfig(void **state)
{
    struct fixture *f = *state;
    wr(f, IER, 0);
    assert_int_equal(rd(f, IER) & 0x0f, 0);
    wr(f, IER, 0x0f);
    assert_int_equal(rd(f, IER) & 0x0f, 0x0f);
    wr(f, IER, 0);
    wr(f, MCR, 0x1a);
    assert_int_equal(rd(f, MSR) & 0xf0, 0x90);
    wr(f, MCR, 0);
    wr(f, LCR, 0xbf);
    wr(f, FCR, 0); /* the EFR, if there were one */
    wr(f, LCR, 0);
    wr(f, FCR, 0x01);
    assert_int_equal(rd(f, IIR) >> 6, 3); /* a 16550A or later */
    wr(f, LCR, 0x80);
    assert_int_not_equal(rd(f, IIR), 0); /* no EFR with DLAB: not a 16650 */
    wr(f, LCR, 0xbf);
    assert_int_not_equal(rd(f, IIR), 0); /* no EFR at 0xbf: not a 16650V2 */
    wr(f, LCR, 0);
    uint8_t mcr = rd(f, MCR);
    wr(f, LCR, 0xe0);
    uint8_t excr1 = rd(f, IIR);
    wr(f, LCR, 0);
    wr(f, MCR, mcr ^ 0x10);
    wr(f, LCR, 0xe0);
    uint8_t excr1_after = rd(f, IIR);
    wr(f, LCR, 0);
    wr(f, MCR, mcr);
    assert_int_equal((excr1 ^ excr1_after) & 0x10, 0); /* not a National SuperIO */
    wr(f, FCR, 0x21);
    uint8_t iir1 = rd(f, IIR) >> 5;
    wr(f, LCR, 0x80);
    wr(f, FCR, 0x21);
    uint8_t iir2 = rd(f, IIR) >> 5;
    wr(f, LCR, 0);
    assert_false(iir1 == 6 && iir2 == 7); /* not a 16750 */
    wr(f, IER, 0x40);
    assert_int_equal(rd(f, IER) & 0x40, 0);   /* not an Xscale */
    assert_int_equal(linux_size_fifo(f), 16); /* not a U6 16550A */
    assert_int_equal(f->fc.out_len, 0);
    assert_int_not_equal(rd(f, LSR), 0xff); /* startup's "LSR safety check" */
    /* serial8250_do_startup: THRI enabled on an idle transmitter must show
     * in IIR, or Linux applies its broken-TX workarounds. */
    wr(f, IER, 0x02);
    uint8_t lsr = rd(f, LSR);
    uint8_t iir = rd(f, IIR);
    wr(f, IER, 0);
    assert_true(lsr & 0x40);
    assert_int_equal(iir & 0x01, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_thr_reaches_chardev, setup, teardown),
        cmocka_unit_test_setup_teardown(test_dlab_divisor_latch, setup, teardown),
        cmocka_unit_test_setup_teardown(test_scratch_and_ier_mask, setup, teardown),
        cmocka_unit_test_setup_teardown(test_fifo_receive, setup, teardown),
        cmocka_unit_test_setup_teardown(test_no_fifo_holds_one_byte, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rx_interrupt, setup, teardown),
        cmocka_unit_test_setup_teardown(test_thre_interrupt, setup, teardown),
        cmocka_unit_test_setup_teardown(test_loopback, setup, teardown),
        cmocka_unit_test_setup_teardown(test_iir_fifo_bits, setup, teardown),
        cmocka_unit_test_setup_teardown(test_line_status_interrupt, setup, teardown),
        cmocka_unit_test_setup_teardown(test_wide_access_split, setup, teardown),
        cmocka_unit_test_setup_teardown(test_linux_autoconfig, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
