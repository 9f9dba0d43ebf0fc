/* The network backends for real: slirp answers ARP and DHCP inline, its
 * sockets run on an event loop (a host connection to a hostfwd port makes
 * slirp look for the guest), a hostfwd on a busy port is refused; tap
 * frames go both ways through a packet socket on the interface (root with
 * /dev/net/tun only: skipped with the reason otherwise) and bad interface
 * names are refused. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "backend/net.h"
#include "util/event_loop.h"

#define MAX_FRAMES 16

struct sink {
    pthread_mutex_t lock;
    unsigned n;
    size_t len[MAX_FRAMES];
    uint8_t frame[MAX_FRAMES][1600];
};

static void sink_receive(void *opaque, const uint8_t *frame, size_t len)
{
    struct sink *s = opaque;
    if (s->n < MAX_FRAMES && len <= sizeof(s->frame[0])) {
        memcpy(s->frame[s->n], frame, len);
        s->len[s->n] = len;
        s->n++;
    }
}

static const uint8_t guest_mac[6] = {0x52, 0x54, 0x00, 0x12, 0x34, 0x56};

static void put16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

static uint16_t get16(const uint8_t *p)
{
    return (uint16_t)(p[0] << 8 | p[1]);
}

static void put_ip(uint8_t *p, uint32_t a)
{
    put16(p, (uint16_t)(a >> 16));
    put16(p + 2, (uint16_t)a);
}

static uint32_t get_ip(const uint8_t *p)
{
    return (uint32_t)get16(p) << 16 | get16(p + 2);
}

static struct net_config user_config(void)
{
    struct net_config c = {.kind = NET_USER};
    memcpy(c.mac, guest_mac, 6);
    return c;
}

/* A slirp with no loop and no lock: only what it answers inline. */
static struct net_backend *slirp_inline(struct sink *s)
{
    struct net_config c = user_config();
    struct net_backend *be = net_backend_new(&c, NULL, NULL);
    assert_non_null(be);
    net_backend_set_receiver(be, sink_receive, s);
    return be;
}

/* Who has 10.0.2.2? Padded to the Ethernet minimum. */
static size_t arp_request(uint8_t *f, uint32_t target)
{
    memset(f, 0, 60);
    memset(f, 0xff, 6);
    memcpy(f + 6, guest_mac, 6);
    put16(f + 12, 0x0806);
    uint8_t *a = f + 14;
    put16(a, 1);
    put16(a + 2, 0x0800);
    a[4] = 6;
    a[5] = 4;
    put16(a + 6, 1);
    memcpy(a + 8, guest_mac, 6);
    put_ip(a + 14, 0x0a00020f);
    put_ip(a + 24, target);
    return 60;
}

static void test_slirp_arp_inline(void **state)
{
    (void)state;
    struct sink s = {0};
    struct net_backend *be = slirp_inline(&s);
    uint8_t f[60];
    net_backend_send(be, f, arp_request(f, 0x0a000202));
    assert_int_equal(s.n, 1);
    const uint8_t *r = s.frame[0];
    assert_memory_equal(r, guest_mac, 6); /* to us */
    assert_int_equal(get16(r + 12), 0x0806);
    assert_int_equal(get16(r + 14 + 6), 2); /* reply */
    assert_int_equal(get_ip(r + 14 + 14), 0x0a000202);
    assert_memory_equal(r + 14 + 18, guest_mac, 6);
    /* Nobody lives at 10.0.2.99: no answer. */
    net_backend_send(be, f, arp_request(f, 0x0a000263));
    assert_int_equal(s.n, 1);
    net_backend_free(be);
}

static uint16_t ip_checksum(const uint8_t *p, size_t n)
{
    uint32_t sum = 0;
    for (size_t i = 0; i < n; i += 2)
        sum += get16(p + i);
    while (sum >> 16)
        sum = (sum & 0xffff) + (sum >> 16);
    return (uint16_t)~sum;
}

static size_t dhcp_discover(uint8_t *f)
{
    const size_t bootp_len = 300, udp_len = 8 + bootp_len, ip_len = 20 + udp_len;
    memset(f, 0, 14 + ip_len);
    memset(f, 0xff, 6);
    memcpy(f + 6, guest_mac, 6);
    put16(f + 12, 0x0800);
    uint8_t *ip = f + 14, *udp = ip + 20, *b = udp + 8;
    ip[0] = 0x45;
    put16(ip + 2, (uint16_t)ip_len);
    ip[8] = 64;
    ip[9] = 17;
    put_ip(ip + 16, 0xffffffff);
    put16(ip + 10, ip_checksum(ip, 20));
    put16(udp, 68);
    put16(udp + 2, 67);
    put16(udp + 4, (uint16_t)udp_len); /* checksum 0: none */
    b[0] = 1;
    b[1] = 1;
    b[2] = 6;
    put_ip(b + 4, 0x12345678);
    memcpy(b + 28, guest_mac, 6);
    const uint8_t opts[] = {99, 130, 83, 99, 53, 1, 1, 255};
    memcpy(b + 236, opts, sizeof(opts));
    return 14 + ip_len;
}

static void test_slirp_dhcp_inline(void **state)
{
    (void)state;
    struct sink s = {0};
    struct net_backend *be = slirp_inline(&s);
    uint8_t f[400];
    net_backend_send(be, f, dhcp_discover(f));
    assert_true(s.n >= 1);
    const uint8_t *r = s.frame[s.n - 1], *ip = r + 14, *udp = ip + 20, *b = udp + 8;
    assert_int_equal(get16(r + 12), 0x0800);
    assert_int_equal(ip[9], 17);
    assert_int_equal(get16(udp), 67);
    assert_int_equal(get16(udp + 2), 68);
    assert_int_equal(b[0], 2);                    /* BOOTREPLY */
    assert_int_equal(get_ip(b + 4), 0x12345678);  /* our xid */
    assert_int_equal(get_ip(b + 16), 0x0a00020f); /* yiaddr 10.0.2.15 */
    assert_int_equal(b[240], 53);                 /* first option: the message type */
    assert_int_equal(b[242], 2);                  /* DHCPOFFER */
    net_backend_free(be);
}

static void *loop_thread(void *arg)
{
    event_loop_run(arg);
    return NULL;
}

static uint16_t free_port(int *keep)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof(a);
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &len), 0);
    if (keep) {
        assert_int_equal(listen(fd, 1), 0);
        *keep = fd;
    } else {
        close(fd);
    }
    return ntohs(a.sin_port);
}

static void test_slirp_on_event_loop(void **state)
{
    (void)state;
    struct net_config c = user_config();
    uint16_t port = free_port(NULL);
    assert_int_equal(net_parse_hostfwd("tcp:127.0.0.1:1-:8080", &c.fwd[0]), 0);
    c.fwd[0].host_port = port;
    c.nfwd = 1;
    struct sink s = {.lock = PTHREAD_MUTEX_INITIALIZER};
    struct event_loop *loop = event_loop_new();
    assert_non_null(loop);
    struct net_backend *be = net_backend_new(&c, &s.lock, loop);
    assert_non_null(be);
    net_backend_set_receiver(be, sink_receive, &s);
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, loop_thread, loop), 0);

    /* The host connects: slirp accepts on the I/O thread and asks who has
     * the guest's address, to send it the SYN. */
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    struct sockaddr_in a = {
        .sin_family = AF_INET, .sin_port = htons(port), .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    int r = connect(fd, (struct sockaddr *)&a, sizeof(a));
    assert_true(r == 0 || errno == EINPROGRESS);
    unsigned n = 0;
    for (int i = 0; i < 500 && n == 0; i++) {
        usleep(10000);
        pthread_mutex_lock(&s.lock);
        n = s.n;
        pthread_mutex_unlock(&s.lock);
    }
    pthread_mutex_lock(&s.lock);
    assert_true(s.n >= 1);
    const uint8_t *f = s.frame[0];
    assert_int_equal(get16(f + 12), 0x0806);
    assert_int_equal(get16(f + 14 + 6), 1);            /* request */
    assert_int_equal(get_ip(f + 14 + 24), 0x0a00020f); /* for 10.0.2.15 */
    pthread_mutex_unlock(&s.lock);

    event_loop_stop(loop);
    pthread_join(t, NULL);
    close(fd);
    net_backend_free(be);
    event_loop_free(loop);
}

static void test_slirp_busy_port(void **state)
{
    (void)state;
    int keep;
    struct net_config c = user_config();
    assert_int_equal(net_parse_hostfwd("tcp:127.0.0.1:1-:80", &c.fwd[0]), 0);
    c.fwd[0].host_port = free_port(&keep);
    c.nfwd = 1;
    assert_null(net_backend_new(&c, NULL, NULL));
    close(keep);
}

static void test_tap_bad_names(void **state)
{
    (void)state;
    struct net_config c = {.kind = NET_TAP, .ifname = "a-name-far-too-long-for-linux"};
    assert_null(net_backend_new(&c, NULL, NULL));
}

/* Root with /dev/net/tun, or a reason to skip. */
static const char *tap_unavailable(void)
{
    int fd = open("/dev/net/tun", O_RDWR);
    if (fd < 0)
        return errno == ENOENT ? "no /dev/net/tun" : "cannot open /dev/net/tun";
    close(fd);
    return geteuid() == 0 ? NULL : "not root";
}

static int set_up(const char *ifname)
{
    int s = socket(AF_INET, SOCK_DGRAM, 0);
    struct ifreq ifr = {0};
    snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
    int r = ioctl(s, SIOCGIFFLAGS, &ifr);
    ifr.ifr_flags |= IFF_UP;
    if (r == 0)
        r = ioctl(s, SIOCSIFFLAGS, &ifr);
    close(s);
    return r;
}

static void test_tap_frames(void **state)
{
    (void)state;
    const char *why = tap_unavailable();
    if (why) {
        struct net_config c = {.kind = NET_TAP, .ifname = "xunitap0"};
        if (geteuid() != 0)
            assert_null(net_backend_new(&c, NULL, NULL)); /* a clear error, no crash */
        printf("# SKIP tap frames: %s\n", why);
        skip();
    }
    char name[IFNAMSIZ];
    snprintf(name, sizeof(name), "xunit%d", (int)getpid() % 100000);
    struct net_config c = {.kind = NET_TAP, .ifname = name};
    struct sink s = {.lock = PTHREAD_MUTEX_INITIALIZER};
    struct event_loop *loop = event_loop_new();
    struct net_backend *be = net_backend_new(&c, &s.lock, loop);
    assert_non_null(be);
    net_backend_set_receiver(be, sink_receive, &s);
    /* "lo" exists and is no tap: refused. */
    struct net_config lo = {.kind = NET_TAP, .ifname = "lo"};
    assert_null(net_backend_new(&lo, NULL, NULL));

    assert_int_equal(set_up(name), 0);
    int ps = socket(AF_PACKET, SOCK_RAW, htons(0x88b5)); /* local experimental ethertype */
    assert_true(ps >= 0);
    struct sockaddr_ll sll = {.sll_family = AF_PACKET,
                              .sll_protocol = htons(0x88b5),
                              .sll_ifindex = (int)if_nametoindex(name)};
    assert_int_equal(bind(ps, (struct sockaddr *)&sll, sizeof(sll)), 0);

    /* Guest -> tap: the packet socket on the interface sees the frame. */
    uint8_t f[60] = {0};
    memset(f, 0xff, 6);
    memcpy(f + 6, guest_mac, 6);
    put16(f + 12, 0x88b5);
    memcpy(f + 14, "from the guest", 14);
    net_backend_send(be, f, sizeof(f));
    assert_int_equal(be->tx_dropped, 0);
    struct pollfd p = {.fd = ps, .events = POLLIN};
    assert_int_equal(poll(&p, 1, 5000), 1);
    uint8_t got[1600];
    assert_int_equal(recv(ps, got, sizeof(got), 0), 60);
    assert_memory_equal(got, f, 60);

    /* Tap -> guest, through the event loop. */
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, loop_thread, loop), 0);
    memcpy(f + 14, "to the guest!!", 14);
    assert_int_equal(sendto(ps, f, sizeof(f), 0, (struct sockaddr *)&sll, sizeof(sll)), 60);
    bool seen = false;
    for (int i = 0; i < 500 && !seen; i++) {
        usleep(10000);
        pthread_mutex_lock(&s.lock);
        for (unsigned k = 0; k < s.n; k++)
            seen |= s.len[k] == 60 && memcmp(s.frame[k], f, 60) == 0;
        pthread_mutex_unlock(&s.lock);
    }
    assert_true(seen);
    event_loop_stop(loop);
    pthread_join(t, NULL);
    close(ps);
    net_backend_free(be);
    event_loop_free(loop);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_slirp_arp_inline),    cmocka_unit_test(test_slirp_dhcp_inline),
        cmocka_unit_test(test_slirp_on_event_loop), cmocka_unit_test(test_slirp_busy_port),
        cmocka_unit_test(test_tap_bad_names),       cmocka_unit_test(test_tap_frames),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
