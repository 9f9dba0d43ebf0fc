/* Signal system calls: actions, masks, the alternate stack, waiting for
 * signals, rt_sigreturn; sending signals passes through to the host. */
#define _GNU_SOURCE
#include <errno.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "user/user_proc.h"

#define USER_MINSIGSTKSZ   2048
#define USER_SS_AUTODISARM (1U << 31)

static long sys_rt_sigaction(struct user_proc *p, const uint64_t *a)
{
    int sig = (int)a[0];
    if (a[3] != 8 || sig < 1 || sig > USER_NSIG)
        return -EINVAL;
    struct user_ksigaction old = p->sig.act[sig], act;
    if (a[1]) {
        if (sig == SIGKILL || sig == SIGSTOP)
            return -EINVAL;
        long r = user_copy_in(p, &act, a[1], sizeof(act));
        if (r < 0)
            return r;
        act.mask &= ~USER_SIG_UNBLOCKABLE;
        user_sig_set_action(p, sig, &act);
    }
    return a[2] ? user_copy_out(p, a[2], &old, sizeof(old)) : 0;
}

static long sys_rt_sigprocmask(struct user_proc *p, const uint64_t *a)
{
    if (a[3] != 8)
        return -EINVAL;
    uint64_t old = p->sig.blocked, set;
    if (a[1]) {
        long r = user_copy_in(p, &set, a[1], 8);
        if (r < 0)
            return r;
        switch ((int)a[0]) {
        case SIG_BLOCK:
            set |= old;
            break;
        case SIG_UNBLOCK:
            set = old & ~set;
            break;
        case SIG_SETMASK:
            break;
        default:
            return -EINVAL;
        }
        user_sig_set_blocked(p, set);
    }
    return a[2] ? user_copy_out(p, a[2], &old, 8) : 0;
}

static long sys_rt_sigreturn(struct user_proc *p, const uint64_t *a)
{
    (void)a;
    return user_sigreturn(p);
}

/* The guest's stack_t: ss_sp, ss_flags (int, padded), ss_size. */
struct user_stack {
    uint64_t sp;
    int32_t flags, pad;
    uint64_t size;
};

static long sys_sigaltstack(struct user_proc *p, const uint64_t *a)
{
    struct user_sig *s = &p->sig;
    bool onstack = user_sig_on_altstack(s, p->cpu.gpr[X86_RSP]);
    struct user_stack old = {.sp = s->ss_sp, .size = s->ss_size};
    old.flags = onstack ? SS_ONSTACK : !s->ss_size ? SS_DISABLE : s->ss_flags;
    if (a[0]) {
        struct user_stack ss;
        long r = user_copy_in(p, &ss, a[0], sizeof(ss));
        if (r < 0)
            return r;
        if (onstack)
            return -EPERM;
        int mode = ss.flags & ~(int32_t)USER_SS_AUTODISARM;
        if (mode != 0 && mode != SS_ONSTACK && mode != SS_DISABLE)
            return -EINVAL;
        if (mode == SS_DISABLE) {
            s->ss_sp = s->ss_size = 0;
            s->ss_flags = SS_DISABLE;
        } else {
            if (ss.size < USER_MINSIGSTKSZ)
                return -ENOMEM;
            s->ss_sp = ss.sp;
            s->ss_size = ss.size;
            s->ss_flags = ss.flags & (int32_t)USER_SS_AUTODISARM;
        }
    }
    return a[1] ? user_copy_out(p, a[1], &old, sizeof(old)) : 0;
}

/* Wait until a handler runs: the host pause() with the guest's mask on
 * the host, interruptible (no signal can slip in before it sleeps). */
static long sys_pause(struct user_proc *p, const uint64_t *a)
{
    (void)a;
    USER_SYSCALL(p, SYS_pause, 0, 0, 0, 0, 0, 0);
    return -EINTR;
}

static long sys_rt_sigsuspend(struct user_proc *p, const uint64_t *a)
{
    uint64_t mask;
    if (a[1] != 8)
        return -EINVAL;
    long r = user_copy_in(p, &mask, a[0], 8);
    if (r < 0)
        return r;
    user_sig_temp_mask(p, mask);
    return sys_pause(p, a);
}

static long sys_rt_sigpending(struct user_proc *p, const uint64_t *a)
{
    if (a[1] > 8)
        return -EINVAL;
    uint64_t host = 0;
    syscall(SYS_rt_sigpending, &host, 8);
    uint64_t set = (host | __atomic_load_n(&p->sig.pending, __ATOMIC_SEQ_CST)) & p->sig.blocked;
    return user_copy_out(p, a[0], &set, a[1]);
}

static long sys_rt_sigtimedwait(struct user_proc *p, const uint64_t *a)
{
    uint64_t set;
    if (a[3] != 8)
        return -EINVAL;
    long r = user_copy_in(p, &set, a[0], 8);
    if (r < 0)
        return r;
    set &= ~USER_SIG_UNBLOCKABLE;
    siginfo_t info;
    uint64_t ready = __atomic_load_n(&p->sig.pending, __ATOMIC_SEQ_CST) & set;
    if (ready) {
        /* Caught by xuni already: take it from there. */
        int sig = __builtin_ctzll(ready) + 1;
        __atomic_fetch_and(&p->sig.pending, ~USER_SIGBIT(sig), __ATOMIC_SEQ_CST);
        info = p->sig.info[sig];
        user_sig_update_deliverable(p);
        r = sig;
    } else {
        void *ts;
        if ((r = user_xlate(p, a[2], 16, &ts)) < 0)
            return r;
        r = USER_SYSCALL(p, SYS_rt_sigtimedwait, (long)(uintptr_t)&set, (long)(uintptr_t)&info,
                         (long)(uintptr_t)ts, 8, 0, 0);
    }
    if (r > 0 && a[1]) {
        long w = user_copy_out(p, a[1], &info, sizeof(info));
        if (w < 0)
            return w;
    }
    return r;
}

const struct user_syscall_def user_syscalls_signal[] = {
    USYS_FN(rt_sigaction, 0, sys_rt_sigaction),
    USYS_FN(rt_sigprocmask, 0, sys_rt_sigprocmask),
    USYS_FN(rt_sigreturn, 0, sys_rt_sigreturn),
    USYS_FN(sigaltstack, 0, sys_sigaltstack),
    USYS_FN(pause, USER_SYS_BLOCKS | USER_SYS_NORESTART, sys_pause),
    USYS_FN(rt_sigsuspend, USER_SYS_BLOCKS | USER_SYS_NORESTART, sys_rt_sigsuspend),
    USYS_FN(rt_sigpending, 0, sys_rt_sigpending),
    USYS_FN(rt_sigtimedwait, USER_SYS_BLOCKS | USER_SYS_NORESTART, sys_rt_sigtimedwait),
    USYS(kill, 0, UV, UV),
    USYS(tkill, 0, UV, UV),
    USYS(tgkill, 0, UV, UV, UV),
    USYS(rt_sigqueueinfo, 0, UV, UV, UPTR(128)),
    USYS(rt_tgsigqueueinfo, 0, UV, UV, UV, UPTR(128)),
    {0, 0, NULL, NULL, {{0, 0, 0}}},
};
