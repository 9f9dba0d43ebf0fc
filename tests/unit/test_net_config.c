/* --net and --mac parsing (vm/config.c, backend/net.c): MAC and hostfwd
 * values, defaults, the -nic spelling, and the errors. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend/net.h"
#include "config_rig.h"
#include "vm/config.h"

static void test_mac(void **state)
{
    (void)state;
    uint8_t m[6];
    const uint8_t want[6] = {0x52, 0x54, 0x00, 0xab, 0xcd, 0xef};
    assert_int_equal(net_parse_mac("52:54:00:ab:cd:ef", m), 0);
    assert_memory_equal(m, want, 6);
    assert_int_equal(net_parse_mac("52-54-00-AB-CD-EF", m), 0);
    assert_memory_equal(m, want, 6);
    assert_int_equal(net_parse_mac("01:00:5e:00:00:01", m), -EINVAL); /* multicast */
    assert_int_equal(net_parse_mac("52:54:00:ab:cd", m), -EINVAL);
    assert_int_equal(net_parse_mac("52:54:00:ab:cd:ef:00", m), -EINVAL);
    assert_int_equal(net_parse_mac("52:54:00:ab:cd:eg", m), -EINVAL);
    assert_int_equal(net_parse_mac("52.54.00.ab.cd.ef", m), -EINVAL);
    assert_int_equal(net_parse_mac("", m), -EINVAL);
}

static void test_hostfwd(void **state)
{
    (void)state;
    struct net_hostfwd f;
    assert_int_equal(net_parse_hostfwd("tcp::5555-:22", &f), 0);
    assert_false(f.udp);
    assert_int_equal(ntohl(f.host_addr.s_addr), INADDR_ANY);
    assert_int_equal(f.host_port, 5555);
    assert_int_equal(ntohl(f.guest_addr.s_addr), 0x0a00020f);
    assert_int_equal(f.guest_port, 22);
    assert_int_equal(net_parse_hostfwd("udp:127.0.0.1:5353-10.0.2.16:53", &f), 0);
    assert_true(f.udp);
    assert_int_equal(ntohl(f.host_addr.s_addr), 0x7f000001);
    assert_int_equal(f.host_port, 5353);
    assert_int_equal(ntohl(f.guest_addr.s_addr), 0x0a000210);
    assert_int_equal(f.guest_port, 53);
    assert_int_equal(net_parse_hostfwd("::80-:8080", &f), 0); /* protocol omitted: tcp */
    assert_false(f.udp);
    assert_int_equal(f.host_port, 80);
    assert_int_equal(f.guest_port, 8080);
    const char *bad[] = {
        "tcp:5555-:22", "tcp::0-:22",     "tcp::65536-:22", "tcp::5555", "sctp::1-:2",
        "tcp::1-:",     "tcp:1.2.3:1-:2", "tcp::1-x:2",     "",          "tcp::12345678-:22",
        "tcp::-1-:22"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_int_equal(net_parse_hostfwd(bad[i], &f), -EINVAL);
}

static void test_defaults(void **state)
{
    (void)state;
    struct vm_config cfg;
    char *err = NULL;
    assert_int_equal(config_rig_parse(&cfg, &err, 0, NULL), 0);
    assert_int_equal(cfg.net.kind, NET_NONE);
    assert_memory_equal(cfg.net.mac, net_default_mac, 6);
    /* Locally administered, unicast. */
    assert_int_equal(net_default_mac[0] & 3, 2);
    vm_config_free(&cfg);
    free(err);
}

static void test_user(void **state)
{
    (void)state;
    struct vm_config cfg;
    char *err = NULL;
    char *args[] = {"--net", "user,hostfwd=tcp::2222-:22,hostfwd=udp::5353-:53", "--mac",
                    "52:54:00:00:00:02"};
    assert_int_equal(config_rig_parse(&cfg, &err, 4, args), 0);
    assert_string_equal(err, "");
    assert_int_equal(cfg.net.kind, NET_USER);
    assert_int_equal(cfg.net.nfwd, 2);
    assert_int_equal(cfg.net.fwd[0].host_port, 2222);
    assert_true(cfg.net.fwd[1].udp);
    const uint8_t mac[6] = {0x52, 0x54, 0, 0, 0, 2};
    assert_memory_equal(cfg.net.mac, mac, 6);
    vm_config_free(&cfg);
    free(err);
}

static void test_tap_and_qemu_spelling(void **state)
{
    (void)state;
    struct vm_config cfg;
    char *err = NULL;
    char *args[] = {"-nic", "tap,ifname=tap7,mac=02:00:00:00:00:01,model=virtio"};
    assert_int_equal(config_rig_parse(&cfg, &err, 2, args), 0);
    assert_int_equal(cfg.net.kind, NET_TAP);
    assert_string_equal(cfg.net.ifname, "tap7");
    assert_int_equal(cfg.net.mac[0], 2);
    assert_int_equal(cfg.net.mac[5], 1);
    vm_config_free(&cfg);
    free(err);
    char *args2[] = {"--net=user"};
    assert_int_equal(config_rig_parse(&cfg, &err, 1, args2), 0);
    assert_int_equal(cfg.net.kind, NET_USER);
    assert_int_equal(cfg.net.nfwd, 0);
    vm_config_free(&cfg);
    free(err);
}

static void expect_error(char *opt, char *val, const char *want)
{
    struct vm_config cfg;
    char *err = NULL;
    char *args[] = {opt, val};
    assert_int_equal(config_rig_parse(&cfg, &err, 2, args), -EINVAL);
    if (!strstr(err, want))
        fail_msg("'%s %s': got '%s', want '%s'", opt, val, err, want);
    vm_config_free(&cfg);
    free(err);
}

static void test_errors(void **state)
{
    (void)state;
    expect_error("--net", "bridge", "the type is user or tap");
    expect_error("--net", "", "the type is user or tap");
    expect_error("--net", "user,ifname=x", "ifname= is for --net tap");
    expect_error("--net", "tap,hostfwd=tcp::1-:2", "hostfwd= is for --net user");
    expect_error("--net", "user,hostfwd=tcp::99999-:22", "hostfwd= takes");
    expect_error("--net", "user,speed=10", "unknown option 'speed'");
    expect_error("--net", "user,mac=01:02:03:04:05:06", "mac= takes a unicast address");
    expect_error("--net", "user,model=e1000", "only model=virtio");
    expect_error("--net", "tap,ifname=", "ifname= needs an interface name");
    expect_error("--mac", "zz:54:00:12:34:56", "invalid --mac");

    struct vm_config cfg;
    char *err = NULL;
    char *args[] = {"--net", "user", "--net", "user"};
    assert_int_equal(config_rig_parse(&cfg, &err, 4, args), -EINVAL);
    assert_non_null(strstr(err, "only one --net"));
    vm_config_free(&cfg);
    free(err);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_mac),
        cmocka_unit_test(test_hostfwd),
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_user),
        cmocka_unit_test(test_tap_and_qemu_spelling),
        cmocka_unit_test(test_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
