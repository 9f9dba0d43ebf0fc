/* Network backends: where a virtual NIC's Ethernet frames go.
 *
 *   user  libslirp's user-mode network (net_slirp.c): 10.0.2.0/24, the
 *         gateway 10.0.2.2 (also the host's loopback), DNS at 10.0.2.3,
 *         DHCP handing out 10.0.2.15 and up; hostfwd= rules forward host
 *         ports to the guest. Needs no privileges.
 *   tap   an existing or new Linux tap interface (net_tap.c): /dev/net/tun
 *         with IFF_TAP | IFF_NO_PI; usually needs CAP_NET_ADMIN.
 *
 * A backend is built with the board's device lock and its I/O event loop.
 * Frames from the guest go out with net_backend_send(), called with the
 * device lock held. Frames for the guest arrive at the receiver set with
 * net_backend_set_receiver(), always with the device lock held (from the
 * I/O thread, or synchronously from inside net_backend_send() when slirp
 * answers at once, e.g. ARP). The backend never blocks the caller: a frame
 * it cannot take is dropped and counted, as a wire would.
 *
 * Configuration text (--net) is parsed by vm/config.c; the value parsers
 * it needs live here.
 */
#ifndef XUNI_BACKEND_NET_H
#define XUNI_BACKEND_NET_H

#include <netinet/in.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define NET_MAX_HOSTFWD 16
#define NET_MAX_FRAME   65536 /* the largest frame either way (no offloads: 1514 in practice) */
#define NET_ETH_ALEN    6

enum net_kind { NET_NONE, NET_USER, NET_TAP };

/* hostfwd=[tcp|udp]:[HOSTADDR]:HOSTPORT-[GUESTADDR]:GUESTPORT */
struct net_hostfwd {
    bool udp;
    struct in_addr host_addr; /* default 0.0.0.0 (all interfaces) */
    uint16_t host_port;
    struct in_addr guest_addr; /* default 10.0.2.15, slirp's first DHCP lease */
    uint16_t guest_port;
};

struct net_config {
    enum net_kind kind;
    const char *ifname; /* tap: the interface (NULL: the kernel names one) */
    struct net_hostfwd fwd[NET_MAX_HOSTFWD];
    unsigned nfwd;
    uint8_t mac[NET_ETH_ALEN]; /* the guest NIC's address */
    bool mac_set;
};

/* The default guest MAC: locally administered, unicast (QEMU's). */
extern const uint8_t net_default_mac[NET_ETH_ALEN];

/* "52:54:00:12:34:56" (also '-' separated): 0, or -EINVAL for malformed
 * text or a multicast address. */
int net_parse_mac(const char *s, uint8_t mac[NET_ETH_ALEN]);
/* The value of one hostfwd= (see struct net_hostfwd): 0 or -EINVAL. */
int net_parse_hostfwd(const char *s, struct net_hostfwd *fwd);

typedef void (*net_receive_fn)(void *opaque, const uint8_t *frame, size_t len);

struct net_backend;
struct event_loop;

struct net_backend_ops {
    void (*send)(struct net_backend *be, const uint8_t *frame, size_t len);
    void (*free)(struct net_backend *be);
};

struct net_backend {
    const struct net_backend_ops *ops;
    net_receive_fn receive;
    void *receive_opaque;
    uint64_t tx_dropped; /* frames the backend could not send */
};

/* Build the backend cfg->kind names; its descriptors go on `loop` (the
 * callbacks take `lock`, which may be NULL in tests). NULL after one
 * message naming the problem. */
struct net_backend *net_backend_new(const struct net_config *cfg, pthread_mutex_t *lock,
                                    struct event_loop *loop);
struct net_backend *net_slirp_new(const struct net_config *cfg, pthread_mutex_t *lock,
                                  struct event_loop *loop);
struct net_backend *net_tap_new(const struct net_config *cfg, pthread_mutex_t *lock,
                                struct event_loop *loop);
/* Leaves the event loop (call it while the loop is not running, or from its
 * thread). NULL is ignored. */
void net_backend_free(struct net_backend *be);

void net_backend_set_receiver(struct net_backend *be, net_receive_fn fn, void *opaque);
/* Device lock held. */
void net_backend_send(struct net_backend *be, const uint8_t *frame, size_t len);
/* For backends: hand a frame to the receiver (device lock held). */
void net_backend_deliver(struct net_backend *be, const uint8_t *frame, size_t len);

#endif
