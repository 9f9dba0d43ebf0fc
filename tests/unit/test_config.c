#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vm/config.h"

/* Parse argv (NULL-terminated list); capture stderr text in *err_text. */
static int parse(struct vm_config *cfg, char **err_text, ...)
{
    char *argv[32];
    int argc = 0;
    va_list ap;
    va_start(ap, err_text);
    for (char *a; (a = va_arg(ap, char *));)
        argv[argc++] = a;
    va_end(ap);
    size_t len;
    FILE *err = open_memstream(err_text, &len);
    FILE *out = fopen("/dev/null", "w");
    int r = vm_config_parse(cfg, argc, argv, out, err);
    fclose(err);
    fclose(out);
    return r;
}

static void test_sizes(void **state)
{
    (void)state;
    uint64_t v;
    assert_int_equal(config_parse_size("512M", &v), 0);
    assert_true(v == 512ULL << 20);
    assert_int_equal(config_parse_size("2G", &v), 0);
    assert_true(v == 2ULL << 30);
    assert_int_equal(config_parse_size("2g", &v), 0);
    assert_true(v == 2ULL << 30);
    assert_int_equal(config_parse_size("64K", &v), 0);
    assert_true(v == 64ULL << 10);
    assert_int_equal(config_parse_size("1T", &v), 0);
    assert_true(v == 1ULL << 40);
    assert_int_equal(config_parse_size("128", &v), 0); /* MiB, like QEMU -m */
    assert_true(v == 128ULL << 20);
    assert_int_equal(config_parse_size("4096B", &v), 0);
    assert_true(v == 4096);
    assert_int_equal(config_parse_size("256MB", &v), 0);
    assert_true(v == 256ULL << 20);
    assert_int_equal(config_parse_size("", &v), -EINVAL);
    assert_int_equal(config_parse_size("abc", &v), -EINVAL);
    assert_int_equal(config_parse_size("12X", &v), -EINVAL);
    assert_int_equal(config_parse_size("-5M", &v), -EINVAL);
    assert_int_equal(config_parse_size("5MM", &v), -EINVAL);
    assert_int_equal(config_parse_size("99999999999999999999", &v), -EINVAL);
    assert_int_equal(config_parse_size("17000000T", &v), -EINVAL); /* overflows 64 bits */
}

static void test_full_command_line(void **state)
{
    (void)state;
    struct vm_config cfg;
    char *err = NULL;
    assert_int_equal(parse(&cfg, &err, "--kernel", "k.elf", "--initrd", "a,b c", "--append",
                           "console=ttyS0", "--mem", "1G", "--smp", "4", "--accel", "kvm",
                           "--serial", "file:/tmp/x", NULL),
                     0);
    assert_string_equal(cfg.kernel, "k.elf");
    assert_int_equal(cfg.ninitrds, 2);
    assert_string_equal(cfg.initrds[0], "a");
    assert_string_equal(cfg.initrds[1], "b c");
    assert_string_equal(cfg.append, "console=ttyS0");
    assert_true(cfg.mem_size == 1ULL << 30);
    assert_int_equal(cfg.smp, 4);
    assert_int_equal(cfg.accel, ACCEL_KVM);
    assert_string_equal(cfg.serial, "file:/tmp/x");
    vm_config_free(&cfg);
    free(err);
}

static void test_qemu_aliases_and_defaults(void **state)
{
    (void)state;
    struct vm_config cfg;
    char *err = NULL;
    assert_int_equal(parse(&cfg, &err, "-kernel", "bz", "-m", "512", "-smp", "cpus=2,sockets=1",
                           "-nographic", "-enable-kvm", "-append", "quiet", "-initrd", "i", NULL),
                     0);
    assert_string_equal(cfg.kernel, "bz");
    assert_true(cfg.mem_size == 512ULL << 20);
    assert_int_equal(cfg.smp, 2);
    assert_int_equal(cfg.accel, ACCEL_KVM);
    assert_string_equal(cfg.append, "quiet");
    vm_config_free(&cfg);
    free(err);

    assert_int_equal(parse(&cfg, &err, "--kernel=k", NULL), 0);
    assert_string_equal(cfg.kernel, "k");
    assert_int_equal(cfg.smp, 1);
    assert_int_equal(cfg.accel, ACCEL_AUTO);
    assert_true(cfg.mem_size == 256ULL << 20);
    assert_string_equal(cfg.serial, "stdio");
    vm_config_free(&cfg);
    free(err);
}

/* Each bad input: a non-zero result and one message naming the problem. */
static void expect_error(const char *needle, ...)
{
    char *argv[16];
    int argc = 0;
    va_list ap;
    va_start(ap, needle);
    for (char *a; (a = va_arg(ap, char *));)
        argv[argc++] = a;
    va_end(ap);
    char *text = NULL;
    size_t len = 0;
    FILE *err = open_memstream(&text, &len);
    FILE *out = fopen("/dev/null", "w");
    struct vm_config cfg;
    int r = vm_config_parse(&cfg, argc, argv, out, err);
    fclose(err);
    fclose(out);
    assert_int_equal(r, -EINVAL);
    assert_non_null(strstr(text, needle));
    int lines = 0;
    for (size_t i = 0; i < len; i++)
        lines += text[i] == '\n';
    assert_int_equal(lines, 1);
    vm_config_free(&cfg);
    free(text);
}

static void test_bad_inputs(void **state)
{
    (void)state;
    expect_error("no kernel given", NULL);
    expect_error("no kernel given", "--mem", "64M", NULL);
    expect_error("invalid memory size 'lots'", "--kernel", "k", "--mem", "lots", NULL);
    expect_error("invalid memory size '100K'", "--kernel", "k", "--mem", "100K", NULL);
    expect_error("invalid --smp '0'", "--kernel", "k", "--smp", "0", NULL);
    expect_error("invalid --smp '65'", "--kernel", "k", "--smp", "65", NULL);
    expect_error("invalid --smp 'two'", "--kernel", "k", "--smp", "two", NULL);
    expect_error("unknown accelerator 'xen'", "--kernel", "k", "--accel", "xen", NULL);
    expect_error("unknown option '--frobnicate'", "--kernel", "k", "--frobnicate", NULL);
    expect_error("option --kernel needs an argument", "--kernel", NULL);
    expect_error("invalid --serial 'tcp:1'", "--kernel", "k", "--serial", "tcp:1", NULL);
    expect_error("unexpected argument 'stray'", "--kernel", "k", "stray", NULL);
    expect_error("takes no argument", "--kernel", "k", "--nographic=1", NULL);
}

/* Who unpacks a bzImage: the host unless told otherwise. */
static void test_kernel_decompress(void **state)
{
    (void)state;
    struct vm_config cfg;
    char *err = NULL;
    assert_int_equal(parse(&cfg, &err, "--kernel", "bz", NULL), 0);
    assert_int_equal(cfg.kernel_decompress, KERNEL_DECOMPRESS_HOST);
    vm_config_free(&cfg);
    free(err);
    assert_int_equal(parse(&cfg, &err, "--kernel", "bz", "--kernel-decompress", "guest", NULL), 0);
    assert_int_equal(cfg.kernel_decompress, KERNEL_DECOMPRESS_GUEST);
    vm_config_free(&cfg);
    free(err);
    assert_int_equal(parse(&cfg, &err, "--kernel-decompress=guest", "--kernel-decompress=host",
                           "-kernel", "bz", NULL),
                     0);
    assert_int_equal(cfg.kernel_decompress, KERNEL_DECOMPRESS_HOST);
    vm_config_free(&cfg);
    free(err);
    expect_error("invalid --kernel-decompress 'fast' (choose host or guest)", "--kernel", "k",
                 "--kernel-decompress", "fast", NULL);
    expect_error("option --kernel-decompress needs an argument", "--kernel", "k",
                 "--kernel-decompress", NULL);
}

static void test_help(void **state)
{
    (void)state;
    struct vm_config cfg;
    char *err = NULL;
    assert_int_equal(parse(&cfg, &err, "--help", NULL), 1);
    vm_config_free(&cfg);
    free(err);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sizes),
        cmocka_unit_test(test_full_command_line),
        cmocka_unit_test(test_qemu_aliases_and_defaults),
        cmocka_unit_test(test_bad_inputs),
        cmocka_unit_test(test_kernel_decompress),
        cmocka_unit_test(test_help),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
