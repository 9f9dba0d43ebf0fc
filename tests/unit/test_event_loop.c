/* The I/O thread's event loop (util/event_loop.c): handlers added and
 * removed by other threads while the loop runs (as virtio doorbells are,
 * from vCPU threads), events delivered on the loop's thread, stop from
 * another thread. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <pthread.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "util/event_loop.h"

#define NFDS 16

struct ctx {
    struct event_loop *loop;
    pthread_t loop_thread;
    int fds[NFDS];
    unsigned calls[NFDS]; /* atomic */
};

static void *run(void *arg)
{
    struct ctx *c = arg;
    event_loop_run(c->loop);
    return NULL;
}

static void on_event(void *opaque, int fd, uint32_t events)
{
    unsigned *calls = opaque;
    eventfd_t v;
    assert_true(events & EPOLLIN);
    if (eventfd_read(fd, &v) == 0)
        __atomic_add_fetch(calls, 1, __ATOMIC_RELEASE);
}

static void wait_calls(struct ctx *c, unsigned i, unsigned n)
{
    for (int tries = 0; tries < 5000; tries++) {
        if (__atomic_load_n(&c->calls[i], __ATOMIC_ACQUIRE) >= n)
            return;
        nanosleep(&(struct timespec){0, 1000000}, NULL);
    }
    fail_msg("handler %u: %u calls, wanted %u", i, c->calls[i], n);
}

static void test_add_del_while_running(void **state)
{
    (void)state;
    struct ctx c = {0};
    c.loop = event_loop_new();
    assert_non_null(c.loop);
    assert_int_equal(pthread_create(&c.loop_thread, NULL, run, &c), 0);
    for (unsigned i = 0; i < NFDS; i++) {
        c.fds[i] = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
        assert_true(c.fds[i] >= 0);
        eventfd_write(c.fds[i], 1); /* already readable when added */
        assert_int_equal(event_loop_add(c.loop, c.fds[i], EPOLLIN, on_event, &c.calls[i]), 0);
    }
    for (unsigned i = 0; i < NFDS; i++)
        wait_calls(&c, i, 1);
    for (unsigned round = 2; round <= 50; round++)
        for (unsigned i = 0; i < NFDS; i++) {
            eventfd_write(c.fds[i], 1);
            wait_calls(&c, i, round);
        }
    /* Removed: no more calls; the slot is free for another. */
    assert_int_equal(event_loop_del(c.loop, c.fds[0]), 0);
    assert_int_equal(event_loop_del(c.loop, c.fds[0]), -ENOENT);
    eventfd_write(c.fds[0], 1);
    int again = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    unsigned again_calls = 0;
    assert_int_equal(event_loop_add(c.loop, again, EPOLLIN, on_event, &again_calls), 0);
    eventfd_write(again, 1);
    for (int tries = 0; tries < 5000 && !__atomic_load_n(&again_calls, __ATOMIC_ACQUIRE); tries++)
        nanosleep(&(struct timespec){0, 1000000}, NULL);
    assert_int_equal(again_calls, 1);
    assert_int_equal(__atomic_load_n(&c.calls[0], __ATOMIC_ACQUIRE), 50);
    event_loop_stop(c.loop);
    assert_int_equal(pthread_join(c.loop_thread, NULL), 0);
    for (unsigned i = 0; i < NFDS; i++)
        close(c.fds[i]);
    close(again);
    event_loop_free(c.loop);
}

/* Concurrent adders (two threads) never share a slot. */
struct adder {
    struct event_loop *loop;
    int fds[NFDS / 2];
    unsigned calls[NFDS / 2];
};

static void *add_all(void *arg)
{
    struct adder *a = arg;
    for (unsigned i = 0; i < NFDS / 2; i++) {
        a->fds[i] = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
        if (event_loop_add(a->loop, a->fds[i], EPOLLIN, on_event, &a->calls[i]) < 0)
            return (void *)1;
    }
    return NULL;
}

static void test_concurrent_adds(void **state)
{
    (void)state;
    struct ctx c = {0};
    c.loop = event_loop_new();
    assert_int_equal(pthread_create(&c.loop_thread, NULL, run, &c), 0);
    struct adder a[2] = {{.loop = c.loop}, {.loop = c.loop}};
    pthread_t t[2];
    for (unsigned k = 0; k < 2; k++)
        assert_int_equal(pthread_create(&t[k], NULL, add_all, &a[k]), 0);
    for (unsigned k = 0; k < 2; k++) {
        void *r;
        assert_int_equal(pthread_join(t[k], &r), 0);
        assert_null(r);
    }
    for (unsigned k = 0; k < 2; k++)
        for (unsigned i = 0; i < NFDS / 2; i++)
            eventfd_write(a[k].fds[i], 1);
    for (unsigned k = 0; k < 2; k++)
        for (unsigned i = 0; i < NFDS / 2; i++) {
            for (int tries = 0; tries < 5000 && !__atomic_load_n(&a[k].calls[i], __ATOMIC_ACQUIRE);
                 tries++)
                nanosleep(&(struct timespec){0, 1000000}, NULL);
            assert_int_equal(a[k].calls[i], 1); /* each handler its own slot */
        }
    event_loop_stop(c.loop);
    assert_int_equal(pthread_join(c.loop_thread, NULL), 0);
    for (unsigned k = 0; k < 2; k++)
        for (unsigned i = 0; i < NFDS / 2; i++)
            close(a[k].fds[i]);
    event_loop_free(c.loop);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_add_del_while_running),
        cmocka_unit_test(test_concurrent_adds),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
