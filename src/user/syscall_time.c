/* Time, sleeps and timers: all pass through. With no vDSO in the guest
 * (no AT_SYSINFO_EHDR), glibc makes real clock_gettime/gettimeofday/time
 * calls, which land here. Sleeps are interruptible and, as in Linux, not
 * restarted after a handler ran, SA_RESTART or not. */
#define _GNU_SOURCE
#include <sys/syscall.h>

#include "user/user_proc.h"

#define TIMESPEC   16
#define TIMEVAL    16
#define ITIMERVAL  32
#define ITIMERSPEC 32
#define SIGEVENT   64

const struct user_syscall_def user_syscalls_time[] = {
    USYS(nanosleep, USER_SYS_BLOCKS | USER_SYS_NORESTART, UPTR(TIMESPEC), UPTR(TIMESPEC)),
    USYS(clock_nanosleep, USER_SYS_BLOCKS | USER_SYS_NORESTART, UV, UV, UPTR(TIMESPEC),
         UPTR(TIMESPEC)),
    USYS(clock_gettime, 0, UV, UPTR(TIMESPEC)),
    USYS(clock_getres, 0, UV, UPTR(TIMESPEC)),
    USYS(gettimeofday, 0, UPTR(TIMEVAL), UPTR(8)),
    USYS(time, 0, UPTR(8)),
    USYS(getitimer, 0, UV, UPTR(ITIMERVAL)),
    USYS(setitimer, 0, UV, UPTR(ITIMERVAL), UPTR(ITIMERVAL)),
    USYS(alarm, 0, UV),
    USYS(timer_create, 0, UV, UPTR(SIGEVENT), UPTR(4)),
    USYS(timer_settime, 0, UV, UV, UPTR(ITIMERSPEC), UPTR(ITIMERSPEC)),
    USYS(timer_gettime, 0, UV, UPTR(ITIMERSPEC)),
    USYS(timer_getoverrun, 0, UV),
    USYS(timer_delete, 0, UV),
    {0, 0, NULL, NULL, {{0, 0, 0}}},
};
