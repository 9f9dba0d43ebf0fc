/* --drive parsing (vm/config.c): keys, defaults, QEMU spellings, errors. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config_rig.h"
#include "vm/config.h"

static void test_defaults_and_keys(void **state)
{
    (void)state;
    struct vm_config cfg;
    char *err = NULL;
    char *args[] = {
        "--drive", "file=a.img", "-drive",
        "file=b.img,readonly=on,cache=none,aio=threads,serial=S1",
        "--drive=file=c.img,readonly,format=raw,if=virtio,aio=io_uring,cache=writeback"};
    assert_int_equal(config_rig_parse(&cfg, &err, 5, args), 0);
    assert_string_equal(err, "");
    assert_int_equal(cfg.ndrives, 3);
    const struct drive_config *d = cfg.drives;
    assert_string_equal(d[0].file, "a.img");
    assert_false(d[0].readonly);
    assert_int_equal(d[0].cache, BLOCK_CACHE_WRITEBACK);
    assert_int_equal(d[0].aio, BLOCK_ENGINE_AUTO);
    assert_null(d[0].serial);
    assert_string_equal(d[1].file, "b.img");
    assert_true(d[1].readonly);
    assert_int_equal(d[1].cache, BLOCK_CACHE_NONE);
    assert_int_equal(d[1].aio, BLOCK_ENGINE_THREADS);
    assert_string_equal(d[1].serial, "S1");
    assert_string_equal(d[2].file, "c.img");
    assert_true(d[2].readonly);
    assert_int_equal(d[2].aio, BLOCK_ENGINE_URING);
    vm_config_free(&cfg);
    assert_int_equal(cfg.ndrives, 0);
    free(err);
}

static void test_commas_and_bools(void **state)
{
    (void)state;
    struct vm_config cfg;
    char *err = NULL;
    char *args[] = {"--drive", "readonly=off,file=x,,y,,,,z.img", "--drive", "file=w,readonly=yes"};
    assert_int_equal(config_rig_parse(&cfg, &err, 4, args), 0);
    assert_string_equal(cfg.drives[0].file, "x,y,,z.img");
    assert_false(cfg.drives[0].readonly);
    assert_true(cfg.drives[1].readonly);
    /* The caller's argv is left alone. */
    assert_string_equal(args[1], "readonly=off,file=x,,y,,,,z.img");
    vm_config_free(&cfg);
    free(err);
}

static void expect_error(const char *value, const char *message)
{
    struct vm_config cfg;
    char *err = NULL;
    char *args[] = {"--drive", (char *)value};
    assert_int_equal(config_rig_parse(&cfg, &err, 2, args), -EINVAL);
    if (!strstr(err, message))
        fail_msg("--drive '%s': got \"%s\", want \"%s\"", value, err, message);
    assert_int_equal(strncmp(err, "xuni: error: ", 13), 0);
    assert_true(strchr(err, '\n') == err + strlen(err) - 1); /* one line */
    vm_config_free(&cfg);
    free(err);
}

static void test_errors(void **state)
{
    (void)state;
    expect_error("readonly=on", "invalid --drive 'readonly=on': no file=IMG given");
    expect_error("file=", "no file=IMG given");
    expect_error("", "no file=IMG given");
    expect_error("file=a,size=3", "invalid --drive 'file=a,size=3': unknown option 'size'");
    expect_error("file=a,cache=directsync", "cache= takes none or writeback");
    expect_error("file=a,readonly=2", "readonly= takes on or off");
    expect_error("file=a,aio=native", "aio= takes io_uring or threads");
    expect_error("file=a,format=qcow2", "only format=raw images are supported");
    expect_error("file=a,if=scsi", "only if=virtio disks are supported");
    expect_error("file=a,serial=123456789012345678901", "at most 20 printable ASCII");
    expect_error("file=a,serial=tab\there", "at most 20 printable ASCII");
}

static void test_too_many(void **state)
{
    (void)state;
    struct vm_config cfg;
    char *err = NULL;
    char *args[2 * (CONFIG_MAX_DRIVES + 1)];
    for (int i = 0; i <= CONFIG_MAX_DRIVES; i++) {
        args[2 * i] = "--drive";
        args[2 * i + 1] = "file=d.img";
    }
    assert_int_equal(config_rig_parse(&cfg, &err, 2 * (CONFIG_MAX_DRIVES + 1), args), -EINVAL);
    assert_non_null(strstr(err, "too many --drive options (at most 8)"));
    vm_config_free(&cfg);
    free(err);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults_and_keys),
        cmocka_unit_test(test_commas_and_bools),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_too_many),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
