#include "util/timer.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "util/log.h"

/* Callbacks run per hold of the device lock before the service thread lets
 * vCPUs in again; and the most a manual advance runs before it decides a
 * device re-arms in the past forever. */
#define TIMER_BATCH      64
#define TIMER_MANUAL_MAX 10000000UL

struct timer {
    struct timer_service *svc;
    timer_cb cb;
    void *opaque;
    uint64_t deadline;
    bool pending;
    struct timer *prev, *next; /* the service's list, sorted by deadline */
};

struct timer_service {
    pthread_mutex_t mu;    /* guards the list, stop and (manual) now */
    pthread_cond_t cond;   /* on CLOCK_MONOTONIC: the list head changed, or stop */
    pthread_mutex_t *lock; /* the device lock around callbacks, or NULL */
    struct timer *head;
    bool manual;
    bool thread_running;
    bool stop;
    uint64_t now; /* manual clock */
    pthread_t thread;
};

static uint64_t monotonic_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * NSEC_PER_SEC_U64 + (uint64_t)ts.tv_nsec;
}

uint64_t timer_now(const struct timer_service *svc)
{
    return svc->manual ? svc->now : monotonic_ns();
}

static void list_unlink(struct timer_service *svc, struct timer *t)
{
    if (t->prev)
        t->prev->next = t->next;
    else
        svc->head = t->next;
    if (t->next)
        t->next->prev = t->prev;
    t->prev = t->next = NULL;
    t->pending = false;
}

/* Insert after every timer with the same or an earlier deadline, so timers
 * due at the same time fire in the order they were armed. */
static void list_insert(struct timer_service *svc, struct timer *t)
{
    struct timer *prev = NULL, *cur = svc->head;
    while (cur && cur->deadline <= t->deadline) {
        prev = cur;
        cur = cur->next;
    }
    t->prev = prev;
    t->next = cur;
    if (prev)
        prev->next = t;
    else
        svc->head = t;
    if (cur)
        cur->prev = t;
    t->pending = true;
}

/* Unlink and return the earliest timer due at now, or NULL. */
static struct timer *pop_due(struct timer_service *svc, uint64_t now)
{
    pthread_mutex_lock(&svc->mu);
    struct timer *t = svc->head;
    if (t && t->deadline <= now)
        list_unlink(svc, t);
    else
        t = NULL;
    pthread_mutex_unlock(&svc->mu);
    return t;
}

/* With the internal mutex free: take the device lock, then run what is due. */
static void run_due(struct timer_service *svc)
{
    uint64_t now = monotonic_ns();
    if (svc->lock)
        pthread_mutex_lock(svc->lock);
    struct timer *t;
    for (unsigned n = 0; n < TIMER_BATCH && (t = pop_due(svc, now)); n++)
        t->cb(t->opaque);
    if (svc->lock)
        pthread_mutex_unlock(svc->lock);
}

static struct timespec to_timespec(uint64_t ns)
{
    return (struct timespec){.tv_sec = (time_t)(ns / NSEC_PER_SEC_U64),
                             .tv_nsec = (long)(ns % NSEC_PER_SEC_U64)};
}

static void *timer_thread(void *arg)
{
    struct timer_service *svc = arg;
    pthread_mutex_lock(&svc->mu);
    while (!svc->stop) {
        if (!svc->head) {
            pthread_cond_wait(&svc->cond, &svc->mu);
            continue;
        }
        if (svc->head->deadline > monotonic_ns()) {
            struct timespec ts = to_timespec(svc->head->deadline);
            pthread_cond_timedwait(&svc->cond, &svc->mu, &ts);
            continue;
        }
        pthread_mutex_unlock(&svc->mu);
        run_due(svc);
        pthread_mutex_lock(&svc->mu);
    }
    pthread_mutex_unlock(&svc->mu);
    return NULL;
}

static struct timer_service *service_alloc(bool manual)
{
    struct timer_service *svc = calloc(1, sizeof(*svc));
    if (!svc) {
        log_error("timer: out of memory");
        return NULL;
    }
    pthread_condattr_t attr;
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(&svc->cond, &attr);
    pthread_condattr_destroy(&attr);
    pthread_mutex_init(&svc->mu, NULL);
    svc->manual = manual;
    svc->now = TIMER_MANUAL_START_NS;
    return svc;
}

struct timer_service *timer_service_new(pthread_mutex_t *lock)
{
    struct timer_service *svc = service_alloc(false);
    if (!svc)
        return NULL;
    svc->lock = lock;
    int err = pthread_create(&svc->thread, NULL, timer_thread, svc);
    if (err) {
        log_error("timer: cannot start the timer thread: %s", strerror(err));
        timer_service_free(svc);
        return NULL;
    }
    svc->thread_running = true;
    return svc;
}

struct timer_service *timer_service_new_manual(void)
{
    return service_alloc(true);
}

void timer_service_stop(struct timer_service *svc)
{
    if (!svc || !svc->thread_running)
        return;
    pthread_mutex_lock(&svc->mu);
    svc->stop = true;
    pthread_cond_signal(&svc->cond);
    pthread_mutex_unlock(&svc->mu);
    pthread_join(svc->thread, NULL);
    svc->thread_running = false;
}

void timer_service_free(struct timer_service *svc)
{
    if (!svc)
        return;
    timer_service_stop(svc);
    if (svc->head)
        log_error("timer: service freed with timers still armed");
    pthread_cond_destroy(&svc->cond);
    pthread_mutex_destroy(&svc->mu);
    free(svc);
}

void timer_service_advance(struct timer_service *svc, uint64_t ns)
{
    if (!svc->manual) {
        log_error("timer: timer_service_advance on a threaded service");
        return;
    }
    uint64_t target = svc->now + ns;
    struct timer *t;
    unsigned long n = 0;
    while ((t = pop_due(svc, target))) {
        if (++n > TIMER_MANUAL_MAX) {
            log_error("timer: a callback keeps re-arming in the past; advance stopped");
            break;
        }
        if (t->deadline > svc->now)
            svc->now = t->deadline;
        t->cb(t->opaque);
    }
    svc->now = target;
}

struct timer *timer_new(struct timer_service *svc, timer_cb cb, void *opaque)
{
    struct timer *t = calloc(1, sizeof(*t));
    if (!t) {
        log_error("timer: out of memory");
        return NULL;
    }
    t->svc = svc;
    t->cb = cb;
    t->opaque = opaque;
    return t;
}

void timer_mod(struct timer *t, uint64_t deadline_ns)
{
    struct timer_service *svc = t->svc;
    pthread_mutex_lock(&svc->mu);
    if (t->pending)
        list_unlink(svc, t);
    t->deadline = deadline_ns;
    list_insert(svc, t);
    /* Only a new head changes how long the thread must sleep. */
    if (svc->head == t)
        pthread_cond_signal(&svc->cond);
    pthread_mutex_unlock(&svc->mu);
}

void timer_del(struct timer *t)
{
    struct timer_service *svc = t->svc;
    pthread_mutex_lock(&svc->mu);
    if (t->pending)
        list_unlink(svc, t);
    pthread_mutex_unlock(&svc->mu);
}

bool timer_pending(const struct timer *t)
{
    struct timer_service *svc = t->svc;
    pthread_mutex_lock(&svc->mu);
    bool pending = t->pending;
    pthread_mutex_unlock(&svc->mu);
    return pending;
}

void timer_free(struct timer *t)
{
    if (!t)
        return;
    timer_del(t);
    free(t);
}
