/* Network backends: the common part and the option parsers (see net.h). */
#include "backend/net.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "util/log.h"

const uint8_t net_default_mac[NET_ETH_ALEN] = {0x52, 0x54, 0x00, 0x12, 0x34, 0x56};

static int hex_digit(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c |= 0x20;
    return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

int net_parse_mac(const char *s, uint8_t mac[NET_ETH_ALEN])
{
    if (!s || strlen(s) != 17)
        return -EINVAL;
    for (unsigned i = 0; i < NET_ETH_ALEN; i++) {
        const char *p = s + 3 * i;
        int hi = hex_digit(p[0]), lo = hex_digit(p[1]);
        if (hi < 0 || lo < 0)
            return -EINVAL;
        if (i < NET_ETH_ALEN - 1 && p[2] != ':' && p[2] != '-')
            return -EINVAL;
        mac[i] = (uint8_t)(hi << 4 | lo);
    }
    /* A NIC's own address cannot be a group address. */
    return mac[0] & 1 ? -EINVAL : 0;
}

/* "PORT" -> 1..65535. */
static int parse_port(const char *s, size_t len, uint16_t *port)
{
    if (len == 0 || len > 5)
        return -EINVAL;
    unsigned v = 0;
    for (size_t i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -EINVAL;
        v = v * 10 + (unsigned)(s[i] - '0');
    }
    if (v == 0 || v > 65535)
        return -EINVAL;
    *port = (uint16_t)v;
    return 0;
}

/* "[ADDR]:PORT" of len bytes; an empty ADDR keeps *addr. */
static int parse_endpoint(const char *s, size_t len, struct in_addr *addr, uint16_t *port)
{
    const char *colon = memchr(s, ':', len);
    if (!colon)
        return -EINVAL;
    size_t alen = (size_t)(colon - s);
    if (alen) {
        char buf[INET_ADDRSTRLEN];
        if (alen >= sizeof(buf))
            return -EINVAL;
        memcpy(buf, s, alen);
        buf[alen] = '\0';
        if (inet_pton(AF_INET, buf, addr) != 1)
            return -EINVAL;
    }
    return parse_port(colon + 1, len - alen - 1, port);
}

int net_parse_hostfwd(const char *s, struct net_hostfwd *fwd)
{
    *fwd = (struct net_hostfwd){0};
    fwd->host_addr.s_addr = htonl(INADDR_ANY);
    fwd->guest_addr.s_addr = htonl(0x0a00020f); /* 10.0.2.15 */
    /* "PROTO:" with PROTO tcp, udp or empty (tcp), as QEMU's. */
    if (strncmp(s, "udp:", 4) == 0)
        fwd->udp = true;
    if (strncmp(s, "tcp:", 4) == 0 || strncmp(s, "udp:", 4) == 0)
        s += 4;
    else if (*s == ':')
        s++;
    else
        return -EINVAL;
    const char *dash = strchr(s, '-');
    if (!dash || parse_endpoint(s, (size_t)(dash - s), &fwd->host_addr, &fwd->host_port) < 0)
        return -EINVAL;
    return parse_endpoint(dash + 1, strlen(dash + 1), &fwd->guest_addr, &fwd->guest_port);
}

struct net_backend *net_backend_new(const struct net_config *cfg, pthread_mutex_t *lock,
                                    struct event_loop *loop)
{
    switch (cfg->kind) {
    case NET_USER:
        return net_slirp_new(cfg, lock, loop);
    case NET_TAP:
        return net_tap_new(cfg, lock, loop);
    case NET_NONE:
        break;
    }
    log_error("net: no backend configured");
    return NULL;
}

void net_backend_free(struct net_backend *be)
{
    if (be)
        be->ops->free(be);
}

void net_backend_set_receiver(struct net_backend *be, net_receive_fn fn, void *opaque)
{
    be->receive = fn;
    be->receive_opaque = opaque;
}

void net_backend_send(struct net_backend *be, const uint8_t *frame, size_t len)
{
    be->ops->send(be, frame, len);
}

void net_backend_deliver(struct net_backend *be, const uint8_t *frame, size_t len)
{
    if (be->receive)
        be->receive(be->receive_opaque, frame, len);
}
