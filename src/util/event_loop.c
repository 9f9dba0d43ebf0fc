#include "util/event_loop.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "util/log.h"

#define EVENT_LOOP_MAX_FDS 64

/* A slot is free while fd is -1. Other threads add and remove handlers
 * while the loop runs, so slots are read and written under lock; the loop
 * copies a handler out before calling it. */
struct event_handler {
    int fd;
    event_fn fn;
    void *opaque;
};

struct event_loop {
    int epfd;
    int stopfd;
    int stopping;         /* atomic */
    pthread_mutex_t lock; /* slot allocation */
    struct event_handler handlers[EVENT_LOOP_MAX_FDS];
};

struct event_loop *event_loop_new(void)
{
    struct event_loop *loop = calloc(1, sizeof(*loop));
    if (!loop)
        return NULL;
    pthread_mutex_init(&loop->lock, NULL);
    loop->epfd = epoll_create1(EPOLL_CLOEXEC);
    loop->stopfd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (loop->epfd < 0 || loop->stopfd < 0)
        goto fail;
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = NULL};
    if (epoll_ctl(loop->epfd, EPOLL_CTL_ADD, loop->stopfd, &ev) < 0)
        goto fail;
    for (unsigned i = 0; i < EVENT_LOOP_MAX_FDS; i++)
        loop->handlers[i].fd = -1;
    return loop;
fail:
    event_loop_free(loop);
    return NULL;
}

void event_loop_free(struct event_loop *loop)
{
    if (!loop)
        return;
    if (loop->epfd >= 0)
        close(loop->epfd);
    if (loop->stopfd >= 0)
        close(loop->stopfd);
    pthread_mutex_destroy(&loop->lock);
    free(loop);
}

int event_loop_add(struct event_loop *loop, int fd, uint32_t events, event_fn fn, void *opaque)
{
    int r = -ENOSPC;
    pthread_mutex_lock(&loop->lock);
    for (unsigned i = 0; i < EVENT_LOOP_MAX_FDS; i++) {
        struct event_handler *h = &loop->handlers[i];
        if (h->fd >= 0)
            continue;
        struct epoll_event ev = {.events = events, .data.ptr = h};
        *h = (struct event_handler){fd, fn, opaque};
        r = 0;
        if (epoll_ctl(loop->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
            r = -errno;
            h->fd = -1;
        }
        break;
    }
    pthread_mutex_unlock(&loop->lock);
    return r;
}

int event_loop_del(struct event_loop *loop, int fd)
{
    int r = -ENOENT;
    pthread_mutex_lock(&loop->lock);
    for (unsigned i = 0; i < EVENT_LOOP_MAX_FDS; i++) {
        if (loop->handlers[i].fd == fd) {
            epoll_ctl(loop->epfd, EPOLL_CTL_DEL, fd, NULL);
            loop->handlers[i].fd = -1;
            r = 0;
            break;
        }
    }
    pthread_mutex_unlock(&loop->lock);
    return r;
}

int event_loop_run(struct event_loop *loop)
{
    struct epoll_event evs[16];
    while (!__atomic_load_n(&loop->stopping, __ATOMIC_ACQUIRE)) {
        int n = epoll_wait(loop->epfd, evs, 16, -1);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            log_error("event loop: epoll_wait: %d", errno);
            return -errno;
        }
        for (int i = 0; i < n && !__atomic_load_n(&loop->stopping, __ATOMIC_ACQUIRE); i++) {
            struct event_handler h = {.fd = -1};
            if (evs[i].data.ptr) {
                pthread_mutex_lock(&loop->lock);
                h = *(struct event_handler *)evs[i].data.ptr;
                pthread_mutex_unlock(&loop->lock);
            }
            if (h.fd >= 0)
                h.fn(h.opaque, h.fd, evs[i].events);
        }
    }
    return 0;
}

void event_loop_stop(struct event_loop *loop)
{
    uint64_t one = 1;
    __atomic_store_n(&loop->stopping, 1, __ATOMIC_RELEASE);
    if (write(loop->stopfd, &one, sizeof(one)) < 0) {
        /* The eventfd is non-blocking and only full after 2^64-1 stops. */
    }
}
