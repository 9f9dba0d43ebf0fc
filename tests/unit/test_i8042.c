/* The i8042 keyboard controller through its two ports. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>

#include "hw/i8042.h"

#define STR_OBF     0x01
#define STR_SYS     0x04
#define STR_CMD     0x08
#define STR_UNLOCK  0x10
#define STR_AUXDATA 0x20
#define STR_TIMEOUT 0x40

struct line {
    int level;
    unsigned rises;
};

struct fixture {
    struct line kbd, aux;
    int power_events;
    enum power_event last_event;
    int last_status;
    struct i8042 *k;
};

static void line_set(void *ctx, unsigned gsi, int level)
{
    struct fixture *f = ctx;
    struct line *l = gsi == 1 ? &f->kbd : &f->aux;
    assert_true(gsi == 1 || gsi == 12);
    if (level && !l->level)
        l->rises++;
    l->level = level;
}

static void power_request(void *ctx, enum power_event event, int status, const char *why)
{
    struct fixture *f = ctx;
    assert_non_null(why);
    f->power_events++;
    f->last_event = event;
    f->last_status = status;
}

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    f->k = i8042_new((struct irq_line){line_set, f, 1}, (struct irq_line){line_set, f, 12},
                     (struct power_line){power_request, f});
    assert_non_null(f->k);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    i8042_free(f->k);
    free(f);
    return 0;
}

static uint8_t status(struct fixture *f)
{
    return (uint8_t)i8042_cmd_ops.read(f->k, 0, 1);
}

static void command(struct fixture *f, uint8_t cmd)
{
    i8042_cmd_ops.write(f->k, 0, 1, cmd);
}

static void data_write(struct fixture *f, uint8_t v)
{
    i8042_data_ops.write(f->k, 0, 1, v);
}

static uint8_t data_read(struct fixture *f)
{
    return (uint8_t)i8042_data_ops.read(f->k, 0, 1);
}

/* Linux's i8042_wait_read() + read: the next byte, which must be there. */
static uint8_t expect_byte(struct fixture *f)
{
    assert_true(status(f) & STR_OBF);
    return data_read(f);
}

static uint8_t read_ctr(struct fixture *f)
{
    command(f, 0x20);
    return expect_byte(f);
}

static void write_ctr(struct fixture *f, uint8_t ctr)
{
    command(f, 0x60);
    data_write(f, ctr);
}

static void test_self_test(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(status(f) & (STR_OBF | STR_UNLOCK), STR_UNLOCK);
    command(f, 0xaa);
    assert_int_equal(status(f) & (STR_OBF | STR_CMD | STR_SYS), STR_OBF | STR_CMD | STR_SYS);
    assert_int_equal(data_read(f), 0x55);
    assert_int_equal(status(f) & STR_OBF, 0);
    command(f, 0xab);
    assert_int_equal(expect_byte(f), 0x00);
    command(f, 0xa9);
    assert_int_equal(expect_byte(f), 0x00);
    assert_int_equal(status(f) & STR_OBF, 0);
}

static void test_ctr_read_write(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(read_ctr(f), 0x65);
    write_ctr(f, 0x47);
    assert_int_equal(status(f) & (STR_CMD | STR_OBF), 0);
    assert_int_equal(read_ctr(f), 0x47);
    write_ctr(f, 0x40);
    assert_int_equal(status(f) & STR_SYS, 0); /* the SYS flag follows the CTR */
    /* AUX and keyboard enable/disable commands flip their CTR bits. */
    command(f, 0xa8);
    command(f, 0xad);
    assert_int_equal(read_ctr(f), 0x50);
    command(f, 0xa7);
    command(f, 0xae);
    assert_int_equal(read_ctr(f), 0x60);
}

static void test_reset_requests(void **state)
{
    struct fixture *f = *state;
    command(f, 0xff); /* pulse nothing */
    assert_int_equal(f->power_events, 0);
    command(f, 0xfe);
    assert_int_equal(f->power_events, 1);
    assert_int_equal(f->last_event, POWER_RESET);
    assert_int_equal(f->last_status, 0);
    command(f, 0xf0);
    assert_int_equal(f->power_events, 2);
    /* Writing the output port with the reset line low. */
    command(f, 0xd0);
    assert_int_equal(expect_byte(f) & 0x03, 0x03);
    command(f, 0xd1);
    data_write(f, 0x03);
    assert_int_equal(f->power_events, 2);
    command(f, 0xd1);
    data_write(f, 0x02);
    assert_int_equal(f->power_events, 3);
    assert_int_equal(f->last_event, POWER_RESET);
}

static void test_keyboard_commands(void **state)
{
    struct fixture *f = *state;
    data_write(f, 0xff);
    assert_int_equal(status(f) & STR_CMD, 0);
    assert_int_equal(expect_byte(f), 0xfa);
    assert_int_equal(expect_byte(f), 0xaa);
    assert_int_equal(status(f) & STR_OBF, 0);
    data_write(f, 0xf2); /* translated (CTR XLATE is set) */
    assert_int_equal(expect_byte(f), 0xfa);
    assert_int_equal(expect_byte(f), 0xab);
    assert_int_equal(expect_byte(f), 0x41);
    write_ctr(f, 0x21);
    data_write(f, 0xf2);
    assert_int_equal(expect_byte(f), 0xfa);
    assert_int_equal(expect_byte(f), 0xab);
    assert_int_equal(expect_byte(f), 0x83);
    data_write(f, 0xed);
    assert_int_equal(expect_byte(f), 0xfa);
    data_write(f, 0x07);
    assert_int_equal(expect_byte(f), 0xfa);
    data_write(f, 0xf0);
    assert_int_equal(expect_byte(f), 0xfa);
    data_write(f, 0x00);
    assert_int_equal(expect_byte(f), 0xfa);
    assert_int_equal(expect_byte(f), 0x02);
    data_write(f, 0xf4);
    assert_int_equal(expect_byte(f), 0xfa);
    data_write(f, 0xf5);
    assert_int_equal(expect_byte(f), 0xfa);
    data_write(f, 0x42); /* not a command */
    assert_int_equal(expect_byte(f), 0xfe);
    assert_int_equal(status(f) & STR_OBF, 0);
}

static void test_irq_follows_obf(void **state)
{
    struct fixture *f = *state;
    write_ctr(f, 0x44); /* KBDINT off */
    command(f, 0xaa);
    assert_int_equal(f->kbd.level, 0);
    data_read(f);
    write_ctr(f, 0x45);
    command(f, 0xaa);
    assert_int_equal(f->kbd.level, 1);
    assert_int_equal(f->aux.level, 0);
    data_read(f);
    assert_int_equal(f->kbd.level, 0);
    /* A byte waiting when KBDINT is turned on raises the line then. */
    write_ctr(f, 0x44);
    command(f, 0xaa);
    assert_int_equal(f->kbd.level, 0);
    write_ctr(f, 0x45);
    assert_int_equal(f->kbd.level, 1);
    data_read(f);
    /* One edge per byte: Linux's handler reads one byte per interrupt. */
    unsigned rises = f->kbd.rises;
    data_write(f, 0xff);
    data_read(f);
    data_read(f);
    assert_int_equal(f->kbd.rises - rises, 2);
    assert_int_equal(f->kbd.level, 0);
}

/* Linux's i8042_check_aux() and i8042_check_mux(), then psmouse's first
 * command to the (absent) mouse. */
static void test_aux_port_without_mouse(void **state)
{
    struct fixture *f = *state;
    command(f, 0xd3);
    data_write(f, 0x5a);
    assert_int_equal(status(f) & (STR_OBF | STR_AUXDATA), STR_OBF | STR_AUXDATA);
    assert_int_equal(data_read(f), 0x5a);
    command(f, 0xa7);
    assert_true(read_ctr(f) & 0x20);
    command(f, 0xa8);
    assert_false(read_ctr(f) & 0x20);
    /* The AUX IRQ delivery test. */
    write_ctr(f, 0x47 & ~0x20);
    command(f, 0xd3);
    data_write(f, 0xa5);
    assert_int_equal(f->aux.level, 1);
    assert_int_equal(f->kbd.level, 0);
    assert_int_equal(data_read(f), 0xa5);
    assert_int_equal(f->aux.level, 0);
    /* No active multiplexer: the third loop byte comes back unchanged. */
    static const uint8_t mux_probe[] = {0xf0, 0x56, 0xa4};
    for (int i = 0; i < 3; i++) {
        command(f, 0xd3);
        data_write(f, mux_probe[i]);
        assert_int_equal(expect_byte(f), mux_probe[i]);
    }
    command(f, 0xd4);
    data_write(f, 0xf2);
    assert_int_equal(status(f) & (STR_OBF | STR_AUXDATA | STR_TIMEOUT),
                     STR_OBF | STR_AUXDATA | STR_TIMEOUT);
    assert_int_equal(data_read(f), 0xfe);
    assert_int_equal(status(f) & (STR_OBF | STR_TIMEOUT), 0);
}

static void test_disabled_keyboard_holds_bytes(void **state)
{
    struct fixture *f = *state;
    data_write(f, 0xff);
    command(f, 0xad);
    assert_int_equal(expect_byte(f), 0xfa);   /* already in the output buffer */
    assert_int_equal(status(f) & STR_OBF, 0); /* 0xaa waits in the keyboard */
    command(f, 0x20);                         /* controller replies still come through */
    assert_int_equal(expect_byte(f), 0x75);
    command(f, 0xae);
    assert_int_equal(expect_byte(f), 0xaa);
    assert_int_equal(status(f) & STR_OBF, 0);
}

static void test_wide_access(void **state)
{
    struct fixture *f = *state;
    i8042_cmd_ops.write(f->k, 0, 2, 0x12aa);
    assert_int_equal(i8042_data_ops.read(f->k, 0, 2), 0xff55);
    assert_int_equal(i8042_cmd_ops.read(f->k, 0, 4) & 0xffffff00, 0xffffff00);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_self_test, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ctr_read_write, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reset_requests, setup, teardown),
        cmocka_unit_test_setup_teardown(test_keyboard_commands, setup, teardown),
        cmocka_unit_test_setup_teardown(test_irq_follows_obf, setup, teardown),
        cmocka_unit_test_setup_teardown(test_aux_port_without_mouse, setup, teardown),
        cmocka_unit_test_setup_teardown(test_disabled_keyboard_holds_bytes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_wide_access, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
