/* The user-mode network: libslirp behind the event loop (see net.h).
 *
 * libslirp is poll()-shaped: before sleeping, slirp_pollfds_fill() lists
 * the sockets it wants watched (they come and go with the guest's
 * connections) and a timeout; after waking, slirp_pollfds_poll() reads the
 * results. The board's event loop is epoll-shaped and has a fixed number of
 * slots, so the backend keeps a private epoll set holding slirp's current
 * sockets and a timerfd, and puts only that epoll descriptor on the loop
 * (an epoll descriptor is readable when any of its members is ready). Each
 * wakeup: run due slirp timers, poll() the listed sockets without
 * sleeping, hand the results to slirp, then list the sockets again and
 * rebuild the private set. The guest's frames (slirp_input) can open
 * sockets too, so the set is rebuilt after each of them as well.
 *
 * libslirp is not thread-safe: every call into it is made with the device
 * lock held (the I/O thread takes it; sends arrive with it held), which is
 * also what delivering frames to the device needs.
 */
#include "backend/net.h"

#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <slirp/libslirp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "util/event_loop.h"
#include "util/log.h"

#define SLIRP_MAX_WAIT_MS 1000 /* wake at least this often for slirp's own timers */

struct slirp_timer {
    struct slirp_timer *next;
    SlirpTimerCb cb;
    void *cb_opaque;
    int64_t expire_ms; /* -1: not armed */
};

struct net_slirp {
    struct net_backend be;
    Slirp *slirp;
    pthread_mutex_t *lock;
    struct event_loop *loop;
    int epfd, timerfd;
    struct pollfd *pfd; /* what slirp asked for in the last fill */
    unsigned npfd, cap;
    int *watched; /* the descriptors now in epfd (besides timerfd) */
    unsigned nwatched, watched_cap;
    struct slirp_timer *timers;
};

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* --- libslirp's callbacks (device lock held) --- */

static ssize_t cb_send_packet(const void *buf, size_t len, void *opaque)
{
    struct net_slirp *s = opaque;
    net_backend_deliver(&s->be, buf, len);
    return (ssize_t)len;
}

static void cb_guest_error(const char *msg, void *opaque)
{
    (void)opaque;
    log_warn("net user: guest error: %s", msg);
}

static int64_t cb_clock_get_ns(void *opaque)
{
    (void)opaque;
    return now_ns();
}

static void arm(struct net_slirp *s, int64_t delay_ns)
{
    if (delay_ns < 1)
        delay_ns = 1; /* 0 would disarm */
    struct itimerspec its = {.it_value = {delay_ns / 1000000000, delay_ns % 1000000000}};
    timerfd_settime(s->timerfd, 0, &its, NULL);
}

static void *cb_timer_new(SlirpTimerCb cb, void *cb_opaque, void *opaque)
{
    struct net_slirp *s = opaque;
    struct slirp_timer *t = calloc(1, sizeof(*t));
    if (!t)
        return NULL;
    *t = (struct slirp_timer){.next = s->timers, .cb = cb, .cb_opaque = cb_opaque, .expire_ms = -1};
    s->timers = t;
    return t;
}

static void cb_timer_free(void *timer, void *opaque)
{
    struct net_slirp *s = opaque;
    for (struct slirp_timer **p = &s->timers; *p; p = &(*p)->next) {
        if (*p == timer) {
            *p = (*p)->next;
            free(timer);
            return;
        }
    }
}

static void cb_timer_mod(void *timer, int64_t expire_time, void *opaque)
{
    struct slirp_timer *t = timer;
    t->expire_ms = expire_time;
    arm(opaque, expire_time * 1000000 - now_ns());
}

static void cb_register_poll_fd(int fd, void *opaque)
{
    (void)fd, (void)opaque; /* the next fill lists it */
}

/* slirp has more to do (a socket's window opened): wake the loop now. */
static void cb_notify(void *opaque)
{
    arm(opaque, 1);
}

static const SlirpCb slirp_callbacks = {
    .send_packet = cb_send_packet,
    .guest_error = cb_guest_error,
    .clock_get_ns = cb_clock_get_ns,
    .timer_new = cb_timer_new,
    .timer_free = cb_timer_free,
    .timer_mod = cb_timer_mod,
    .register_poll_fd = cb_register_poll_fd,
    .unregister_poll_fd = cb_register_poll_fd,
    .notify = cb_notify,
};

/* --- the private epoll set --- */

static int cb_add_poll(int fd, int events, void *opaque)
{
    struct net_slirp *s = opaque;
    if (s->npfd == s->cap) {
        unsigned cap = s->cap ? 2 * s->cap : 16;
        struct pollfd *p = realloc(s->pfd, cap * sizeof(*p));
        if (!p)
            return -1; /* slirp then ignores this socket for a round */
        s->pfd = p;
        s->cap = cap;
    }
    short ev = 0;
    ev |= events & SLIRP_POLL_IN ? POLLIN : 0;
    ev |= events & SLIRP_POLL_OUT ? POLLOUT : 0;
    ev |= events & SLIRP_POLL_PRI ? POLLPRI : 0;
    s->pfd[s->npfd] = (struct pollfd){.fd = fd, .events = ev};
    return (int)s->npfd++;
}

static int cb_get_revents(int idx, void *opaque)
{
    struct net_slirp *s = opaque;
    if (idx < 0 || (unsigned)idx >= s->npfd)
        return 0;
    short r = s->pfd[idx].revents;
    return (r & POLLIN ? SLIRP_POLL_IN : 0) | (r & POLLOUT ? SLIRP_POLL_OUT : 0) |
           (r & POLLPRI ? SLIRP_POLL_PRI : 0) | (r & POLLERR ? SLIRP_POLL_ERR : 0) |
           (r & POLLHUP ? SLIRP_POLL_HUP : 0);
}

/* Ask slirp what to watch, then make epfd and the timer say exactly that. */
static void resync(struct net_slirp *s)
{
    uint32_t timeout = SLIRP_MAX_WAIT_MS;
    s->npfd = 0;
    slirp_pollfds_fill(s->slirp, &timeout, cb_add_poll, s);
    int64_t now = now_ns(), delay = (int64_t)timeout * 1000000;
    for (struct slirp_timer *t = s->timers; t; t = t->next)
        if (t->expire_ms >= 0 && t->expire_ms * 1000000 - now < delay)
            delay = t->expire_ms * 1000000 - now;
    arm(s, delay);

    /* Closed sockets left the set by themselves; EBADF/ENOENT are fine. */
    for (unsigned i = 0; i < s->nwatched; i++)
        epoll_ctl(s->epfd, EPOLL_CTL_DEL, s->watched[i], NULL);
    s->nwatched = 0;
    if (s->watched_cap < s->npfd) {
        int *w = realloc(s->watched, s->npfd * sizeof(*w));
        if (!w)
            return;
        s->watched = w;
        s->watched_cap = s->npfd;
    }
    for (unsigned i = 0; i < s->npfd; i++) {
        struct epoll_event ev = {.events = (uint32_t)s->pfd[i].events, .data.fd = s->pfd[i].fd};
        if (epoll_ctl(s->epfd, EPOLL_CTL_ADD, s->pfd[i].fd, &ev) == 0)
            s->watched[s->nwatched++] = s->pfd[i].fd;
    }
}

static void run_due_timers(struct net_slirp *s)
{
    int64_t now_ms = now_ns() / 1000000;
    bool again = true;
    /* A callback may free or re-arm timers: restart the walk after each. */
    while (again) {
        again = false;
        for (struct slirp_timer *t = s->timers; t; t = t->next) {
            if (t->expire_ms >= 0 && t->expire_ms <= now_ms) {
                t->expire_ms = -1;
                t->cb(t->cb_opaque);
                again = true;
                break;
            }
        }
    }
}

/* The I/O thread: something in the private set is ready. */
static void on_ready(void *opaque, int fd, uint32_t events)
{
    struct net_slirp *s = opaque;
    (void)fd, (void)events;
    if (s->lock)
        pthread_mutex_lock(s->lock);
    uint64_t ticks;
    if (read(s->timerfd, &ticks, sizeof(ticks)) < 0) {
        /* not expired: a socket woke us */
    }
    run_due_timers(s);
    int r = s->npfd ? poll(s->pfd, s->npfd, 0) : 0;
    slirp_pollfds_poll(s->slirp, r < 0, cb_get_revents, s);
    resync(s);
    if (s->lock)
        pthread_mutex_unlock(s->lock);
}

/* --- the backend --- */

static void slirp_send(struct net_backend *be, const uint8_t *frame, size_t len)
{
    struct net_slirp *s = (struct net_slirp *)be;
    slirp_input(s->slirp, frame, (int)len);
    resync(s);
}

static void slirp_free(struct net_backend *be)
{
    struct net_slirp *s = (struct net_slirp *)be;
    if (s->loop && s->epfd >= 0)
        event_loop_del(s->loop, s->epfd);
    if (s->slirp)
        slirp_cleanup(s->slirp);
    while (s->timers)
        cb_timer_free(s->timers, s);
    if (s->epfd >= 0)
        close(s->epfd);
    if (s->timerfd >= 0)
        close(s->timerfd);
    free(s->pfd);
    free(s->watched);
    free(s);
}

static const struct net_backend_ops slirp_ops = {.send = slirp_send, .free = slirp_free};

static int add_forwards(struct net_slirp *s, const struct net_config *cfg)
{
    for (unsigned i = 0; i < cfg->nfwd; i++) {
        const struct net_hostfwd *f = &cfg->fwd[i];
        if (slirp_add_hostfwd(s->slirp, f->udp, f->host_addr, f->host_port, f->guest_addr,
                              f->guest_port) < 0) {
            char host[INET_ADDRSTRLEN];
            inet_ntop(AF_INET, &f->host_addr, host, sizeof(host));
            log_error("--net user: cannot forward host %s port %s:%u (in use, or not "
                      "permitted)",
                      f->udp ? "udp" : "tcp", host, f->host_port);
            return -1;
        }
    }
    return 0;
}

struct net_backend *net_slirp_new(const struct net_config *cfg, pthread_mutex_t *lock,
                                  struct event_loop *loop)
{
    struct net_slirp *s = calloc(1, sizeof(*s));
    if (!s) {
        log_error("--net user: out of memory");
        return NULL;
    }
    s->be.ops = &slirp_ops;
    s->lock = lock;
    s->epfd = epoll_create1(EPOLL_CLOEXEC);
    s->timerfd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
    struct epoll_event ev = {.events = EPOLLIN, .data.fd = s->timerfd};
    if (s->epfd < 0 || s->timerfd < 0 || epoll_ctl(s->epfd, EPOLL_CTL_ADD, s->timerfd, &ev) < 0) {
        log_error("--net user: cannot create its event descriptors: %s", strerror(errno));
        slirp_free(&s->be);
        return NULL;
    }
    SlirpConfig sc = {
        .version = 1,
        .in_enabled = true,
        .vnetwork.s_addr = htonl(0x0a000200), /* 10.0.2.0/24 */
        .vnetmask.s_addr = htonl(0xffffff00),
        .vhost.s_addr = htonl(0x0a000202),       /* 10.0.2.2 */
        .vdhcp_start.s_addr = htonl(0x0a00020f), /* 10.0.2.15 */
        .vnameserver.s_addr = htonl(0x0a000203), /* 10.0.2.3 */
        .vhostname = "xuni",
    };
    s->slirp = slirp_new(&sc, &slirp_callbacks, s);
    if (!s->slirp) {
        log_error("--net user: libslirp could not start");
        slirp_free(&s->be);
        return NULL;
    }
    if (add_forwards(s, cfg) < 0) {
        slirp_free(&s->be);
        return NULL;
    }
    resync(s);
    if (loop) {
        int r = event_loop_add(loop, s->epfd, EPOLLIN, on_ready, s);
        if (r < 0) {
            log_error("--net user: cannot join the I/O loop: %s", strerror(-r));
            slirp_free(&s->be);
            return NULL;
        }
        s->loop = loop;
    }
    return &s->be;
}
