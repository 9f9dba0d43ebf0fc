/* The isa-debug-exit compatible device through its bus ops. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "hw/debug_exit.h"

struct request {
    int count;
    enum power_event event;
    int status;
};

static void power_request(void *ctx, enum power_event event, int status, const char *why)
{
    struct request *r = ctx;
    assert_non_null(why);
    r->count++;
    r->event = event;
    r->status = status;
}

static void test_write_requests_exit(void **state)
{
    (void)state;
    struct request r = {0};
    struct debug_exit *dev = debug_exit_new((struct power_line){power_request, &r});
    assert_non_null(dev);
    debug_exit_ops.write(dev, 0, 1, 0x10);
    assert_int_equal(r.count, 1);
    assert_int_equal(r.event, POWER_EXIT);
    assert_int_equal(r.status, 0x21);
    debug_exit_ops.write(dev, 0, 1, 0);
    assert_int_equal(r.status, 1);
    debug_exit_free(dev);
}

static void test_access_sizes(void **state)
{
    (void)state;
    struct request r = {0};
    struct debug_exit *dev = debug_exit_new((struct power_line){power_request, &r});
    assert_non_null(dev);
    debug_exit_ops.write(dev, 0, 1, 0x31);
    assert_int_equal(r.status, 0x63);
    debug_exit_ops.write(dev, 0, 2, 0x0102);
    assert_int_equal(r.status, 0x0205);
    debug_exit_ops.write(dev, 0, 4, 0x00012345);
    assert_int_equal(r.status, 0x0002468b);
    /* Only the access size counts, at any of the four ports. */
    debug_exit_ops.write(dev, 3, 1, 0xff01);
    assert_int_equal(r.status, 0x03);
    assert_int_equal(r.count, 4);
    assert_int_equal(debug_exit_ops.read(dev, 0, 1), 0xff);
    assert_int_equal(debug_exit_ops.read(dev, 0, 4), 0xffffffff);
    assert_int_equal(r.count, 4);
    debug_exit_free(dev);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_write_requests_exit),
        cmocka_unit_test(test_access_sizes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
