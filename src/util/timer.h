/* One-shot timers on host CLOCK_MONOTONIC nanoseconds, for device models
 * (LAPIC timer, PIT, ...).
 *
 * A struct timer_service keeps its armed timers sorted by deadline and runs
 * each expired timer's callback once. A device that wants a periodic tick
 * re-arms its timer from the callback.
 *
 * Two kinds of service:
 *   - threaded (timer_service_new): a thread of its own sleeps on a
 *     CLOCK_MONOTONIC condition variable until the earliest deadline (never
 *     busy-waits) and runs due callbacks with the board's device lock held;
 *   - manual (timer_service_new_manual), for unit tests: time stands still
 *     until timer_service_advance(), which moves it forward and runs due
 *     callbacks on the caller's thread, in deadline order, with the clock
 *     set to each timer's own deadline while its callback runs (so a device
 *     sees exactly the time it asked for). The caller plays the device lock.
 *
 * Locking. Two locks are involved: the device lock (given, owned by the
 * board) and the service's internal mutex (private). The order is always
 * device lock -> internal mutex:
 *   - timer_mod/timer_del/timer_free/timer_pending are called with the
 *     device lock held (from port/MMIO handlers or from callbacks) and take
 *     the internal mutex only for the list update;
 *   - the service thread drops its internal mutex before it takes the
 *     device lock, then, holding the device lock, takes the internal mutex
 *     again just to unlink each due timer, and runs the callback with the
 *     device lock held and the internal mutex free.
 * So a callback may call timer_mod()/timer_del() (on any timer), and, since a
 * timer is only taken off the list under the device lock, timer_del() with
 * the device lock held guarantees its callback will not run afterwards.
 *
 * Teardown order: timer_service_stop() (joins the thread; call it without
 * the device lock held), then free the devices (their timers), then
 * timer_service_free().
 */
#ifndef XUNI_UTIL_TIMER_H
#define XUNI_UTIL_TIMER_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#define NSEC_PER_SEC_U64 1000000000ULL

/* Where a manual service's clock starts: not zero, so code that silently
 * assumes "time starts at 0" fails its tests. */
#define TIMER_MANUAL_START_NS (1000ULL * NSEC_PER_SEC_U64)

struct timer_service;
struct timer;

typedef void (*timer_cb)(void *opaque);

/* A threaded service; lock is the device lock taken around every callback
 * (may be NULL: callbacks then run with no lock). Returns NULL (logged) when
 * out of memory or when the thread cannot start. */
struct timer_service *timer_service_new(pthread_mutex_t *lock);
/* A manual service, clock at TIMER_MANUAL_START_NS. NULL when out of memory. */
struct timer_service *timer_service_new_manual(void);
/* Stops the thread (no-op for a manual service or a second call). After
 * this no callback runs; timers may still be armed and deleted. */
void timer_service_stop(struct timer_service *svc);
/* Stops and frees. Every timer must have been freed already. */
void timer_service_free(struct timer_service *svc);

/* The service's clock: CLOCK_MONOTONIC in ns, or the manual clock. */
uint64_t timer_now(const struct timer_service *svc);

/* Manual services only: move the clock forward by ns, running every
 * callback whose deadline is at or before now + ns (those already overdue
 * first, at the current time), including timers the callbacks arm meanwhile,
 * then leave the clock at now + ns. advance(svc, 0) runs overdue timers. */
void timer_service_advance(struct timer_service *svc, uint64_t ns);

/* A new, unarmed timer. NULL when out of memory. */
struct timer *timer_new(struct timer_service *svc, timer_cb cb, void *opaque);
/* Arm (or re-arm) for an absolute deadline on timer_now()'s clock; a
 * deadline already past fires as soon as possible. */
void timer_mod(struct timer *t, uint64_t deadline_ns);
/* Disarm; the callback will not run until the next timer_mod(). */
void timer_del(struct timer *t);
bool timer_pending(const struct timer *t);
/* Disarm and free; NULL is ignored. */
void timer_free(struct timer *t);

/* ns * num / den without overflow (128-bit intermediate), rounded down or up:
 * the conversions between nanoseconds and device clock ticks. */
static inline uint64_t muldiv64(uint64_t a, uint64_t num, uint64_t den)
{
    return (uint64_t)((unsigned __int128)a * num / den);
}

static inline uint64_t muldiv64_up(uint64_t a, uint64_t num, uint64_t den)
{
    return (uint64_t)(((unsigned __int128)a * num + den - 1) / den);
}

#endif
