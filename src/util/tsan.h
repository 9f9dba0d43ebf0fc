/* Happens-before edges ThreadSanitizer cannot see because they pass
 * through the kernel (a request handed to io_uring on one thread and
 * completed on another). No-ops outside `make MODE=tsan`. */
#ifndef XUNI_UTIL_TSAN_H
#define XUNI_UTIL_TSAN_H

#if defined(__SANITIZE_THREAD__)
void __tsan_acquire(void *addr);
void __tsan_release(void *addr);
#define tsan_release(p) __tsan_release(p)
#define tsan_acquire(p) __tsan_acquire(p)
#else
#define tsan_release(p) ((void)(p))
#define tsan_acquire(p) ((void)(p))
#endif

#endif
