/* The I/O thread's event loop: epoll over file descriptors, plus a wakeup
 * so other threads can stop it. Callbacks run on the loop's thread. Timers
 * are timerfds added like any other descriptor. */
#ifndef XUNI_UTIL_EVENT_LOOP_H
#define XUNI_UTIL_EVENT_LOOP_H

#include <stdint.h>

struct event_loop;

/* events: EPOLLIN/EPOLLOUT bits; the callback gets what happened. */
typedef void (*event_fn)(void *opaque, int fd, uint32_t events);

struct event_loop *event_loop_new(void);
void event_loop_free(struct event_loop *loop);

int event_loop_add(struct event_loop *loop, int fd, uint32_t events, event_fn fn, void *opaque);
int event_loop_del(struct event_loop *loop, int fd);

/* Run until event_loop_stop(); returns 0 or a negative errno. */
int event_loop_run(struct event_loop *loop);
/* Safe from any thread and from signal handlers. */
void event_loop_stop(struct event_loop *loop);

#endif
