/* Descriptor I/O that needs more than argument translation: scatter/gather
 * vectors, select/poll with temporary signal masks, ioctl and fcntl (whose
 * argument's meaning depends on the command). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <termios.h>

#include "user/user_proc.h"

/* Guest iovecs (same layout as the host's) with translated bases. */
long user_iov_in(struct user_proc *p, uint64_t giov, uint64_t cnt, struct iovec *h)
{
    if (cnt > USER_IOV_MAX)
        return -EINVAL;
    long r = user_copy_in(p, h, giov, cnt * sizeof(*h));
    if (r < 0)
        return r;
    for (uint64_t i = 0; i < cnt; i++) {
        uint64_t base = (uintptr_t)h[i].iov_base, len = h[i].iov_len;
        if (base && base < p->mm.size && len > p->mm.size - base)
            h[i].iov_len = len = p->mm.size - base;
        void *hp;
        r = user_xlate(p, base, len, &hp);
        if (r < 0)
            return r;
        h[i].iov_base = hp;
    }
    return 0;
}

static long iov_call(struct user_proc *p, long nr, const uint64_t *a)
{
    struct iovec h[USER_IOV_MAX];
    long r = user_iov_in(p, a[1], a[2], h);
    if (r < 0)
        return r;
    return USER_SYSCALL(p, nr, (long)a[0], (long)(uintptr_t)h, (long)a[2], (long)a[3], (long)a[4],
                        (long)a[5]);
}

static long sys_readv(struct user_proc *p, const uint64_t *a)
{
    return iov_call(p, SYS_readv, a);
}

static long sys_writev(struct user_proc *p, const uint64_t *a)
{
    return iov_call(p, SYS_writev, a);
}

static long sys_preadv(struct user_proc *p, const uint64_t *a)
{
    return iov_call(p, SYS_preadv, a);
}

static long sys_pwritev(struct user_proc *p, const uint64_t *a)
{
    return iov_call(p, SYS_pwritev, a);
}

static long sys_preadv2(struct user_proc *p, const uint64_t *a)
{
    return iov_call(p, SYS_preadv2, a);
}

static long sys_pwritev2(struct user_proc *p, const uint64_t *a)
{
    return iov_call(p, SYS_pwritev2, a);
}

/* --- select and poll --- */

/* A guest signal mask argument ({mask pointer, size} for pselect6): make it
 * the temporary mask. */
static long temp_mask_in(struct user_proc *p, uint64_t gmask, uint64_t size)
{
    if (!gmask)
        return 0;
    if (size != 8)
        return -EINVAL;
    uint64_t mask;
    long r = user_copy_in(p, &mask, gmask, 8);
    if (r < 0)
        return r;
    user_sig_temp_mask(p, mask);
    return 0;
}

/* After the call: a signal that interrupted it is delivered with the
 * temporary mask in place (its frame saves the old one); otherwise the old
 * mask comes back now. */
static long temp_mask_done(struct user_proc *p, long r)
{
    if (r != -EINTR)
        user_sig_end_temp_mask(p);
    return r;
}

static long fdsets_in(struct user_proc *p, const uint64_t *a, long *h)
{
    if ((int64_t)(int)a[0] < 0)
        return -EINVAL;
    uint64_t bytes = ((uint64_t)(int)a[0] + 63) / 64 * 8;
    for (int i = 1; i <= 3; i++) {
        void *ptr;
        long r = user_xlate(p, a[i], bytes, &ptr);
        if (r < 0)
            return r;
        h[i] = (long)(uintptr_t)ptr;
    }
    return 0;
}

static long sys_select(struct user_proc *p, const uint64_t *a)
{
    long h[6] = {(long)a[0]};
    void *tv;
    long r = fdsets_in(p, a, h);
    if (r < 0 || (r = user_xlate(p, a[4], 16, &tv)) < 0)
        return r;
    h[4] = (long)(uintptr_t)tv;
    return user_host_syscall(p, SYS_select, h);
}

static long sys_pselect6(struct user_proc *p, const uint64_t *a)
{
    long h[6] = {(long)a[0]};
    void *ts;
    long r = fdsets_in(p, a, h);
    if (r < 0 || (r = user_xlate(p, a[4], 16, &ts)) < 0)
        return r;
    h[4] = (long)(uintptr_t)ts;
    if (a[5]) {
        uint64_t sig[2];
        if ((r = user_copy_in(p, sig, a[5], sizeof(sig))) < 0 ||
            (r = temp_mask_in(p, sig[0], sig[1])) < 0)
            return r;
    }
    return temp_mask_done(p, user_host_syscall(p, SYS_pselect6, h));
}

static long sys_ppoll(struct user_proc *p, const uint64_t *a)
{
    void *fds, *ts;
    long r;
    if (a[1] > p->mm.size / 8)
        return -EINVAL;
    if ((r = user_xlate(p, a[0], a[1] * 8, &fds)) < 0 || (r = user_xlate(p, a[2], 16, &ts)) < 0 ||
        (r = temp_mask_in(p, a[3], a[4])) < 0)
        return r;
    r = USER_SYSCALL(p, SYS_ppoll, (long)(uintptr_t)fds, (long)a[1], (long)(uintptr_t)ts, 0, 8);
    return temp_mask_done(p, r);
}

static long sys_epoll_pwait(struct user_proc *p, const uint64_t *a)
{
    void *ev;
    long r;
    if ((int)a[2] <= 0 || (uint64_t)(int)a[2] > p->mm.size / 12)
        return -EINVAL;
    if ((r = user_xlate(p, a[1], (uint64_t)(int)a[2] * 12, &ev)) < 0 ||
        (r = temp_mask_in(p, a[4], a[5])) < 0)
        return r;
    r = USER_SYSCALL(p, SYS_epoll_pwait, (long)a[0], (long)(uintptr_t)ev, (long)a[2], (long)a[3], 0,
                     8);
    return temp_mask_done(p, r);
}

/* --- ioctl --- */

#define IOCTL_VALUE 0xffff /* the argument is a value, not a pointer */

/* Terminal and descriptor ioctls programs use, with the size of what the
 * argument points to. Others are refused: an ioctl's struct may hold
 * pointers, which the host kernel must not follow into xuni. */
static const struct {
    uint32_t cmd;
    uint16_t size;
} ioctls[] = {
    {TCGETS, 36},
    {TCSETS, 36},
    {TCSETSW, 36},
    {TCSETSF, 36},
    {TCGETA, 18},
    {TCSETA, 18},
    {TCSETAW, 18},
    {TCSETAF, 18},
    {TIOCGWINSZ, 8},
    {TIOCSWINSZ, 8},
    {TIOCGPGRP, 4},
    {TIOCSPGRP, 4},
    {TIOCGSID, 4},
    {FIONREAD, 4},
    {TIOCOUTQ, 4},
    {FIONBIO, 4},
    {FIOASYNC, 4},
    {TIOCGPTN, 4},
    {TIOCSPTLCK, 4},
    {TIOCMGET, 4},
    {TIOCMSET, 4},
    {TIOCGETD, 4},
    {TIOCSETD, 4},
    {TIOCSTI, 1},
    {TIOCEXCL, 0},
    {TIOCNXCL, 0},
    {TIOCNOTTY, 0},
    {FIOCLEX, 0},
    {FIONCLEX, 0},
    {TIOCSCTTY, IOCTL_VALUE},
    {TCSBRK, IOCTL_VALUE},
    {TCSBRKP, IOCTL_VALUE},
    {TCXONC, IOCTL_VALUE},
    {TCFLSH, IOCTL_VALUE},
    {TIOCGPTPEER, IOCTL_VALUE},
};

static long sys_ioctl(struct user_proc *p, const uint64_t *a)
{
    uint32_t cmd = (uint32_t)a[1];
    for (size_t i = 0; i < sizeof(ioctls) / sizeof(ioctls[0]); i++) {
        if (ioctls[i].cmd != cmd)
            continue;
        void *arg = (void *)(uintptr_t)a[2];
        if (ioctls[i].size != IOCTL_VALUE) {
            long r = user_xlate(p, a[2], ioctls[i].size, &arg);
            if (r < 0)
                return r;
        }
        return USER_SYSCALL(p, SYS_ioctl, (long)a[0], (long)cmd, (long)(uintptr_t)arg, 0, 0, 0);
    }
    if (log_once_check(&p->once, 1ULL << 32 | cmd))
        log_warn("user: unsupported ioctl %#x (returning -ENOTTY)", cmd);
    return -ENOTTY;
}

/* --- fcntl --- */

static long sys_fcntl(struct user_proc *p, const uint64_t *a)
{
    unsigned size;
    switch ((int)a[1]) {
    case F_DUPFD:
    case F_GETFD:
    case F_SETFD:
    case F_GETFL:
    case F_SETFL:
    case F_SETOWN:
    case F_GETOWN:
    case F_SETSIG:
    case F_GETSIG:
    case F_SETLEASE:
    case F_GETLEASE:
    case F_NOTIFY:
    case F_DUPFD_CLOEXEC:
    case F_SETPIPE_SZ:
    case F_GETPIPE_SZ:
    case F_ADD_SEALS:
    case F_GET_SEALS:
        return USER_SYSCALL(p, SYS_fcntl, (long)a[0], (long)a[1], (long)a[2], 0, 0, 0);
    case F_GETLK:
    case F_SETLK:
    case F_SETLKW:
    case F_OFD_GETLK:
    case F_OFD_SETLK:
    case F_OFD_SETLKW:
        size = 32; /* struct flock */
        break;
    case F_GETOWN_EX:
    case F_SETOWN_EX:
    case F_GET_RW_HINT:
    case F_SET_RW_HINT:
    case F_GET_FILE_RW_HINT:
    case F_SET_FILE_RW_HINT:
        size = 8;
        break;
    default:
        return -EINVAL;
    }
    void *arg;
    long r = user_xlate(p, a[2], size, &arg);
    if (r < 0)
        return r;
    return USER_SYSCALL(p, SYS_fcntl, (long)a[0], (long)a[1], (long)(uintptr_t)arg, 0, 0, 0);
}

const struct user_syscall_def user_syscalls_io[] = {
    USYS_FN(readv, USER_SYS_BLOCKS, sys_readv),
    USYS_FN(writev, USER_SYS_BLOCKS, sys_writev),
    USYS_FN(preadv, USER_SYS_BLOCKS, sys_preadv),
    USYS_FN(pwritev, USER_SYS_BLOCKS, sys_pwritev),
    USYS_FN(preadv2, USER_SYS_BLOCKS, sys_preadv2),
    USYS_FN(pwritev2, USER_SYS_BLOCKS, sys_pwritev2),
    USYS(pipe, 0, UPTR(8)),
    USYS(pipe2, 0, UPTR(8), UV),
    USYS(dup, 0, UV),
    USYS(dup2, 0, UV, UV),
    USYS(dup3, 0, UV, UV, UV),
    USYS_FN(select, USER_SYS_BLOCKS | USER_SYS_NORESTART, sys_select),
    USYS_FN(pselect6, USER_SYS_BLOCKS | USER_SYS_NORESTART, sys_pselect6),
    USYS(poll, USER_SYS_BLOCKS | USER_SYS_NORESTART, UARR(1, 8), UV, UV),
    USYS_FN(ppoll, USER_SYS_BLOCKS | USER_SYS_NORESTART, sys_ppoll),
    USYS(epoll_create, 0, UV),
    USYS(epoll_create1, 0, UV),
    USYS(epoll_ctl, 0, UV, UV, UV, UPTR(12)),
    USYS(epoll_wait, USER_SYS_BLOCKS | USER_SYS_NORESTART, UV, UARR(2, 12), UV, UV),
    USYS_FN(epoll_pwait, USER_SYS_BLOCKS | USER_SYS_NORESTART, sys_epoll_pwait),
    USYS(eventfd, 0, UV),
    USYS(eventfd2, 0, UV, UV),
    USYS(timerfd_create, 0, UV, UV),
    USYS(timerfd_settime, 0, UV, UV, UPTR(32), UPTR(32)),
    USYS(timerfd_gettime, 0, UV, UPTR(32)),
    USYS(signalfd, 0, UV, UPTR(8), UV),
    USYS(signalfd4, 0, UV, UPTR(8), UV, UV),
    USYS_FN(ioctl, USER_SYS_BLOCKS, sys_ioctl),
    USYS_FN(fcntl, USER_SYS_BLOCKS, sys_fcntl),
    {0, 0, NULL, NULL, {{0, 0, 0}}},
};
