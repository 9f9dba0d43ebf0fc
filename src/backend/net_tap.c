/* The tap backend: frames to and from a Linux tap interface (see net.h).
 *
 * /dev/net/tun with IFF_TAP | IFF_NO_PI gives one Ethernet frame per
 * read() and write(). The descriptor is non-blocking: a frame the kernel
 * will not take at once is dropped (counted), and the I/O thread reads
 * every frame waiting when the descriptor becomes readable, delivering
 * each with the device lock held.
 */
#include "backend/net.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "util/event_loop.h"
#include "util/log.h"

#define TAP_DEVICE "/dev/net/tun"

struct net_tap {
    struct net_backend be;
    int fd;
    pthread_mutex_t *lock;
    struct event_loop *loop;
    uint8_t buf[NET_MAX_FRAME];
};

static void tap_on_readable(void *opaque, int fd, uint32_t events)
{
    struct net_tap *t = opaque;
    (void)events;
    for (;;) {
        ssize_t n = read(fd, t->buf, sizeof(t->buf));
        if (n <= 0)
            break; /* EAGAIN: drained */
        if (t->lock)
            pthread_mutex_lock(t->lock);
        net_backend_deliver(&t->be, t->buf, (size_t)n);
        if (t->lock)
            pthread_mutex_unlock(t->lock);
    }
}

static void tap_send(struct net_backend *be, const uint8_t *frame, size_t len)
{
    struct net_tap *t = (struct net_tap *)be;
    ssize_t n;
    do
        n = write(t->fd, frame, len);
    while (n < 0 && errno == EINTR);
    if (n != (ssize_t)len)
        be->tx_dropped++;
}

static void tap_free(struct net_backend *be)
{
    struct net_tap *t = (struct net_tap *)be;
    if (t->loop)
        event_loop_del(t->loop, t->fd);
    if (t->fd >= 0)
        close(t->fd);
    free(t);
}

static const struct net_backend_ops tap_ops = {.send = tap_send, .free = tap_free};

/* Open the tap; -errno after one message. */
static int tap_open(const char *ifname)
{
    const char *name = ifname ? ifname : "(any)";
    if (ifname && strlen(ifname) >= IFNAMSIZ) {
        log_error("--net tap: interface name '%s' is longer than %d characters", ifname,
                  IFNAMSIZ - 1);
        return -EINVAL;
    }
    int fd = open(TAP_DEVICE, O_RDWR | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) {
        int e = errno;
        log_error("--net tap,ifname=%s: cannot open %s: %s%s", name, TAP_DEVICE, strerror(e),
                  e == ENOENT                 ? " (no tun/tap support here: modprobe tun)"
                  : e == EACCES || e == EPERM ? " (needs CAP_NET_ADMIN or access to the device)"
                                              : "");
        return -e;
    }
    struct ifreq ifr = {.ifr_flags = IFF_TAP | IFF_NO_PI};
    if (ifname)
        memcpy(ifr.ifr_name, ifname, strlen(ifname) + 1);
    if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
        int e = errno;
        log_error("--net tap,ifname=%s: cannot attach: %s%s", name, strerror(e),
                  e == EPERM    ? " (needs CAP_NET_ADMIN, or a tap created for this user with "
                                  "'ip tuntap add NAME mode tap user USER')"
                  : e == EBUSY  ? " (in use by another program)"
                  : e == EINVAL ? " (not a tap interface?)"
                                : "");
        close(fd);
        return -e;
    }
    return fd;
}

struct net_backend *net_tap_new(const struct net_config *cfg, pthread_mutex_t *lock,
                                struct event_loop *loop)
{
    int fd = tap_open(cfg->ifname);
    if (fd < 0)
        return NULL;
    struct net_tap *t = calloc(1, sizeof(*t));
    if (!t) {
        close(fd);
        log_error("--net tap: out of memory");
        return NULL;
    }
    t->be.ops = &tap_ops;
    t->fd = fd;
    t->lock = lock;
    if (loop) {
        int r = event_loop_add(loop, fd, EPOLLIN, tap_on_readable, t);
        if (r < 0) {
            log_error("--net tap: cannot join the I/O loop: %s", strerror(-r));
            tap_free(&t->be);
            return NULL;
        }
        t->loop = loop;
    }
    return &t->be;
}
