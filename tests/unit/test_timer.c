/* The timer service: the manual clock exactly, the threaded one by order
 * and "fired eventually" (generous bounds, never exact durations). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <time.h>

#include "util/timer.h"

#define MS 1000000ULL

struct probe {
    struct timer_service *svc;
    struct timer *t;
    unsigned fired;
    uint64_t when[8];
    int order[8];
    int *log; /* shared order log */
    unsigned *log_len;
    int id;
    uint64_t period; /* re-arm this far ahead while fired < rearm_times */
    unsigned rearm_times;
    pthread_mutex_t *lock;
    pthread_cond_t *cond;
    int lock_busy; /* trylock result inside the callback */
};

static void probe_cb(void *opaque)
{
    struct probe *p = opaque;
    if (p->fired < 8)
        p->when[p->fired] = timer_now(p->svc);
    p->fired++;
    if (p->log)
        p->log[(*p->log_len)++] = p->id;
    if (p->lock) {
        p->lock_busy = pthread_mutex_trylock(p->lock);
        if (p->lock_busy == 0)
            pthread_mutex_unlock(p->lock);
        pthread_cond_broadcast(p->cond);
    }
    if (p->fired < p->rearm_times)
        timer_mod(p->t, timer_now(p->svc) + p->period);
}

static void probe_init(struct probe *p, struct timer_service *svc, int id)
{
    *p = (struct probe){.svc = svc, .id = id};
    p->t = timer_new(svc, probe_cb, p);
    assert_non_null(p->t);
}

static void test_manual_order_and_time(void **state)
{
    (void)state;
    struct timer_service *svc = timer_service_new_manual();
    uint64_t t0 = timer_now(svc);
    assert_int_equal(t0, TIMER_MANUAL_START_NS);
    int log[8];
    unsigned n = 0;
    struct probe a, b, c;
    probe_init(&a, svc, 1);
    probe_init(&b, svc, 2);
    probe_init(&c, svc, 3);
    a.log = b.log = c.log = log;
    a.log_len = b.log_len = c.log_len = &n;
    timer_mod(a.t, t0 + 300);
    timer_mod(b.t, t0 + 100);
    timer_mod(c.t, t0 + 100); /* same deadline as b, armed later: fires after b */
    assert_true(timer_pending(a.t));

    timer_service_advance(svc, 99);
    assert_int_equal(n, 0);
    timer_service_advance(svc, 1);
    assert_int_equal(n, 2);
    assert_int_equal(log[0], 2);
    assert_int_equal(log[1], 3);
    assert_int_equal(b.when[0], t0 + 100);
    assert_false(timer_pending(b.t));

    timer_service_advance(svc, 1000);
    assert_int_equal(n, 3);
    assert_int_equal(a.when[0], t0 + 300); /* the callback saw its own deadline */
    assert_int_equal(timer_now(svc), t0 + 1100);
    timer_free(a.t);
    timer_free(b.t);
    timer_free(c.t);
    timer_service_free(svc);
}

static void test_manual_del_and_rearm(void **state)
{
    (void)state;
    struct timer_service *svc = timer_service_new_manual();
    uint64_t t0 = timer_now(svc);
    struct probe a, p;
    probe_init(&a, svc, 1);
    probe_init(&p, svc, 2);
    timer_mod(a.t, t0 + 50);
    timer_del(a.t);
    assert_false(timer_pending(a.t));
    timer_mod(a.t, t0 + 70);
    timer_mod(a.t, t0 + 500); /* moved later: not at 70 */

    p.period = 100;
    p.rearm_times = 4;
    timer_mod(p.t, t0 + 100);
    timer_service_advance(svc, 450);
    assert_int_equal(a.fired, 0);
    assert_int_equal(p.fired, 4); /* at 100, 200, 300, 400: re-armed within one advance */
    for (unsigned i = 0; i < 4; i++)
        assert_int_equal(p.when[i], t0 + 100 * (i + 1));
    assert_false(timer_pending(p.t));
    timer_service_advance(svc, 50);
    assert_int_equal(a.fired, 1);

    /* A deadline in the past fires on the next advance, even of 0 ns. */
    timer_mod(a.t, t0);
    timer_service_advance(svc, 0);
    assert_int_equal(a.fired, 2);
    assert_int_equal(a.when[1], t0 + 500);
    timer_free(a.t);
    timer_free(p.t);
    timer_service_free(svc);
}

/* --- the threaded service --- */

/* A threaded service, its device lock, and two probes on it. */
struct rig {
    pthread_mutex_t lock;
    pthread_cond_t cond; /* on CLOCK_MONOTONIC; probes signal it */
    struct timer_service *svc;
    struct probe p[2];
};

static int rig_setup(void **state)
{
    struct rig *r = calloc(1, sizeof(*r));
    pthread_mutex_init(&r->lock, NULL);
    pthread_condattr_t attr;
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(&r->cond, &attr);
    pthread_condattr_destroy(&attr);
    r->svc = timer_service_new(&r->lock);
    if (!r->svc)
        return -1;
    for (unsigned i = 0; i < 2; i++) {
        probe_init(&r->p[i], r->svc, (int)i + 1);
        r->p[i].lock = &r->lock;
        r->p[i].cond = &r->cond;
    }
    *state = r;
    return 0;
}

static int rig_teardown(void **state)
{
    struct rig *r = *state;
    timer_service_stop(r->svc);
    for (unsigned i = 0; i < 2; i++)
        timer_free(r->p[i].t);
    timer_service_free(r->svc);
    pthread_cond_destroy(&r->cond);
    pthread_mutex_destroy(&r->lock);
    free(r);
    return 0;
}

/* With r->lock held: wait until *count reaches want, at most 10 s. */
static void wait_fired(struct rig *r, const unsigned *count, unsigned want)
{
    struct timespec dl;
    clock_gettime(CLOCK_MONOTONIC, &dl);
    dl.tv_sec += 10;
    while (*count < want)
        if (pthread_cond_timedwait(&r->cond, &r->lock, &dl) == ETIMEDOUT)
            break;
    assert_true(*count >= want);
}

static void test_thread_fires_in_order(void **state)
{
    struct rig *r = *state;
    struct probe *p = r->p;
    int log[4];
    unsigned n = 0;
    p[0].log = p[1].log = log;
    p[0].log_len = p[1].log_len = &n;

    pthread_mutex_lock(&r->lock);
    uint64_t now = timer_now(r->svc);
    timer_mod(p[0].t, now + 4 * MS);
    timer_mod(p[1].t, now + 2 * MS);
    wait_fired(r, &n, 2);
    assert_int_equal(log[0], 2);
    assert_int_equal(log[1], 1);
    assert_true(p[1].when[0] >= now + 2 * MS); /* never early */
    assert_int_equal(p[0].lock_busy, EBUSY);   /* ran with the device lock held */
    pthread_mutex_unlock(&r->lock);
}

static void test_thread_del_cancels(void **state)
{
    struct rig *r = *state;
    struct probe *p = r->p;
    pthread_mutex_lock(&r->lock);
    uint64_t now = timer_now(r->svc);
    timer_mod(p[0].t, now + 2 * MS);
    timer_mod(p[1].t, now + 20 * MS);
    timer_del(p[0].t);
    wait_fired(r, &p[1].fired, 1);
    assert_int_equal(p[0].fired, 0);
    pthread_mutex_unlock(&r->lock);
}

/* A nearer deadline wakes a thread asleep on a far one; a callback re-arms. */
static void test_thread_rearm_and_wakeup(void **state)
{
    struct rig *r = *state;
    struct probe *p = r->p;
    pthread_mutex_lock(&r->lock);
    timer_mod(p[0].t, timer_now(r->svc) + 3600 * 1000 * MS);
    pthread_mutex_unlock(&r->lock);
    struct timespec nap = {.tv_nsec = 5 * MS};
    nanosleep(&nap, NULL); /* let the thread sleep on the hour-long deadline */

    pthread_mutex_lock(&r->lock);
    p[1].period = 1 * MS;
    p[1].rearm_times = 3;
    timer_mod(p[1].t, timer_now(r->svc) + 2 * MS);
    wait_fired(r, &p[1].fired, 3);
    assert_int_equal(p[0].fired, 0);
    assert_true(p[1].when[1] > p[1].when[0]);
    assert_true(p[1].when[2] > p[1].when[1]);
    timer_del(p[0].t);
    pthread_mutex_unlock(&r->lock);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_manual_order_and_time),
        cmocka_unit_test(test_manual_del_and_rearm),
        cmocka_unit_test_setup_teardown(test_thread_fires_in_order, rig_setup, rig_teardown),
        cmocka_unit_test_setup_teardown(test_thread_del_cancels, rig_setup, rig_teardown),
        cmocka_unit_test_setup_teardown(test_thread_rearm_and_wakeup, rig_setup, rig_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
