/* --console parsing (vm/config.c): the default, both values, errors, and
 * the help text naming the option. */
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

static void test_default_is_serial(void **state)
{
    (void)state;
    struct vm_config cfg;
    char *err = NULL;
    assert_int_equal(config_rig_parse(&cfg, &err, 0, NULL), 0);
    assert_int_equal(cfg.console, CONSOLE_SERIAL);
    assert_string_equal(cfg.serial, "stdio");
    vm_config_free(&cfg);
    free(err);
}

static void test_values(void **state)
{
    (void)state;
    struct vm_config cfg;
    char *err = NULL;
    char *virtio[] = {"--console", "virtio"};
    assert_int_equal(config_rig_parse(&cfg, &err, 2, virtio), 0);
    assert_int_equal(cfg.console, CONSOLE_VIRTIO);
    vm_config_free(&cfg);
    free(err);
    char *serial[] = {"--console=virtio", "--console=serial"}; /* the last wins */
    assert_int_equal(config_rig_parse(&cfg, &err, 2, serial), 0);
    assert_int_equal(cfg.console, CONSOLE_SERIAL);
    vm_config_free(&cfg);
    free(err);
}

static void test_errors(void **state)
{
    (void)state;
    struct vm_config cfg;
    char *err = NULL;
    char *bad[] = {"--console", "hvc0"};
    assert_int_equal(config_rig_parse(&cfg, &err, 2, bad), -EINVAL);
    assert_non_null(strstr(err, "invalid --console 'hvc0' (choose serial or virtio)"));
    assert_null(strchr(strchr(err, '\n') + 1, '\n')); /* one line */
    vm_config_free(&cfg);
    free(err);
    char *missing[] = {"--console"};
    assert_int_equal(config_rig_parse(&cfg, &err, 1, missing), -EINVAL);
    assert_non_null(strstr(err, "needs an argument"));
    vm_config_free(&cfg);
    free(err);
}

static void test_help_names_it(void **state)
{
    (void)state;
    char *text = NULL;
    size_t len;
    FILE *out = open_memstream(&text, &len);
    vm_config_usage(out);
    fclose(out);
    assert_non_null(strstr(text, "--console serial|virtio"));
    assert_non_null(strstr(text, "console=hvc0"));
    free(text);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_default_is_serial),
        cmocka_unit_test(test_values),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_help_names_it),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
