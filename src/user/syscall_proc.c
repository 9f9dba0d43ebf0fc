/* Process system calls: identity, exit and wait, fork/vfork/clone (the
 * fork-like forms: a guest process is a host process), arch_prctl, prctl,
 * futex, resource limits. */
#define _GNU_SOURCE
#include <errno.h>
#include <sched.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "user/user_proc.h"

#define ARCH_SET_GS    0x1001
#define ARCH_SET_FS    0x1002
#define ARCH_GET_FS    0x1003
#define ARCH_GET_GS    0x1004
#define ARCH_GET_CPUID 0x1011
#define ARCH_SET_CPUID 0x1012
#define USER_TASK_SIZE 0x7ffffffff000ULL /* segment bases must be user addresses */
#define USER_CSIGNAL   0xff

static long sys_exit_group(struct user_proc *p, const uint64_t *a)
{
    p->exited = true;
    p->exit_status = (int)(a[0] & 0xff);
    return 0;
}

static long sys_arch_prctl(struct user_proc *p, const uint64_t *a)
{
    struct x86_segment *fs = &p->cpu.seg[X86_FS], *gs = &p->cpu.seg[X86_GS];
    switch (a[0]) {
    case ARCH_SET_FS:
    case ARCH_SET_GS:
        if (a[1] >= USER_TASK_SIZE)
            return -EPERM;
        (a[0] == ARCH_SET_FS ? fs : gs)->base = a[1];
        return 0;
    case ARCH_GET_FS:
    case ARCH_GET_GS:
        return user_copy_out(p, a[1], a[0] == ARCH_GET_FS ? &fs->base : &gs->base, 8);
    case ARCH_GET_CPUID:
        return 1; /* CPUID is not faulting */
    case ARCH_SET_CPUID:
        return -ENODEV;
    default:
        return -EINVAL;
    }
}

static long prctl_unsupported(struct user_proc *p, uint64_t option)
{
    if (log_once_check(&p->once, 3ULL << 32 | (uint32_t)option))
        log_warn("user: unsupported prctl option %llu (returning -EINVAL)",
                 (unsigned long long)option);
    return -EINVAL;
}

static long sys_prctl(struct user_proc *p, const uint64_t *a)
{
    char name[16];
    long r;
    void *h;
    switch (a[0]) {
    case PR_SET_NAME:
        memset(name, 0, sizeof(name));
        r = user_copy_str(p, name, a[1], sizeof(name));
        if (r == -ENAMETOOLONG)
            r = user_copy_in(p, name, a[1], sizeof(name) - 1);
        if (r < 0)
            return r;
        return USER_SYSCALL_PLAIN(SYS_prctl, PR_SET_NAME, (long)(uintptr_t)name, 0, 0, 0, 0);
    case PR_GET_NAME:
        r = USER_SYSCALL_PLAIN(SYS_prctl, PR_GET_NAME, (long)(uintptr_t)name, 0, 0, 0, 0);
        return r < 0 ? r : user_copy_out(p, a[1], name, sizeof(name));
    case PR_GET_PDEATHSIG:
    case PR_GET_CHILD_SUBREAPER:
        if ((r = user_xlate(p, a[1], 4, &h)) < 0)
            return r;
        return USER_SYSCALL_PLAIN(SYS_prctl, (long)a[0], (long)(uintptr_t)h, 0, 0, 0, 0);
    case PR_GET_TID_ADDRESS:
        return user_copy_out(p, a[1], &p->clear_child_tid, 8);
    case PR_SET_PDEATHSIG:
    case PR_GET_DUMPABLE:
    case PR_SET_DUMPABLE:
    case PR_GET_KEEPCAPS:
    case PR_SET_KEEPCAPS:
    case PR_GET_TIMERSLACK:
    case PR_SET_TIMERSLACK:
    case PR_SET_NO_NEW_PRIVS:
    case PR_GET_NO_NEW_PRIVS:
    case PR_SET_CHILD_SUBREAPER:
    case PR_CAPBSET_READ:
    case PR_SET_THP_DISABLE:
    case PR_GET_THP_DISABLE:
    case PR_SET_PTRACER:
        return USER_SYSCALL_PLAIN(SYS_prctl, (long)a[0], (long)a[1], (long)a[2], (long)a[3],
                                  (long)a[4], 0);
    default:
        /* PR_SET_SECCOMP would filter xuni's own calls, PR_SET_MM would
         * describe xuni's memory: neither can mean what the guest wants. */
        return prctl_unsupported(p, a[0]);
    }
}

static long sys_set_tid_address(struct user_proc *p, const uint64_t *a)
{
    p->clear_child_tid = a[0];
    return syscall(SYS_gettid);
}

static long sys_set_robust_list(struct user_proc *p, const uint64_t *a)
{
    if (a[1] != 24) /* sizeof(struct robust_list_head) */
        return -EINVAL;
    p->robust_list = a[0];
    p->robust_len = a[1];
    return 0;
}

static long sys_get_robust_list(struct user_proc *p, const uint64_t *a)
{
    if (a[0] != 0 && (pid_t)a[0] != (pid_t)syscall(SYS_gettid))
        return -EPERM;
    long r = user_copy_out(p, a[1], &p->robust_list, 8);
    return r < 0 ? r : user_copy_out(p, a[2], &p->robust_len, 8);
}

static long sys_rseq(struct user_proc *p, const uint64_t *a)
{
    (void)p, (void)a;
    return -ENOSYS; /* glibc then does without */
}

/* futex: the word (and the second word, and the timeout, for the
 * operations that have them) translated; the host kernel does the rest. */
static long sys_futex(struct user_proc *p, const uint64_t *a)
{
    int cmd = (int)a[1] & 0x7f;
    bool has_timeout = cmd == 0 || cmd == 6 || cmd == 9 || cmd == 11 || cmd == 13;
    bool has_uaddr2 = cmd == 3 || cmd == 4 || cmd == 5 || cmd == 11 || cmd == 12;
    if (cmd > 13 || cmd == 2)
        return -ENOSYS;
    void *u1, *u2 = NULL, *t = (void *)(uintptr_t)a[3];
    long r = user_xlate(p, a[0], 4, &u1);
    if (r < 0 || (has_timeout && (r = user_xlate(p, a[3], 16, &t)) < 0) ||
        (has_uaddr2 && (r = user_xlate(p, a[4], 4, &u2)) < 0))
        return r;
    return USER_SYSCALL(p, SYS_futex, (long)(uintptr_t)u1, (long)a[1], (long)a[2],
                        (long)(uintptr_t)t, (long)(uintptr_t)u2, (long)a[5]);
}

/* clone(flags, newsp, parent_tid, child_tid, tls): the fork-like forms.
 * CLONE_VFORK (with or without CLONE_VM, as posix_spawn uses it) is a
 * fork: the child gets its own copy of memory, and the parent does not
 * wait for its exec. */
static long do_clone(struct user_proc *p, uint64_t flags, uint64_t newsp, uint64_t ptid,
                     uint64_t ctid, uint64_t tls)
{
    const uint64_t ok = USER_CSIGNAL | CLONE_VM | CLONE_VFORK | CLONE_PARENT_SETTID |
                        CLONE_CHILD_SETTID | CLONE_CHILD_CLEARTID | CLONE_SETTLS;
    if ((flags & ~ok) || ((flags & CLONE_VM) && !(flags & CLONE_VFORK))) {
        if (log_once_check(&p->once, 4ULL << 32 | (flags & ~USER_CSIGNAL)))
            log_warn("user: clone flags %#llx: %s", (unsigned long long)flags,
                     (flags & CLONE_THREAD) ? "threads are not supported yet"
                                            : "only fork-like clones are supported");
        return -ENOSYS;
    }
    int exit_signal = (int)(flags & USER_CSIGNAL);
    long pid;
    if (exit_signal == SIGCHLD) {
        pid = fork();
        if (pid < 0)
            pid = -errno;
    } else {
        pid = USER_SYSCALL_PLAIN(SYS_clone, exit_signal, 0, 0, 0, 0, 0);
    }
    if (pid < 0)
        return pid;
    if (pid > 0) {
        if (flags & CLONE_PARENT_SETTID)
            user_copy_out(p, ptid, &(int32_t){(int32_t)pid}, 4);
        return pid;
    }
    /* The child: no pending signals, its own stack and TLS if given. */
    __atomic_store_n(&p->sig.pending, 0, __ATOMIC_SEQ_CST);
    p->sig.deliverable = 0;
    if (newsp)
        p->cpu.gpr[X86_RSP] = newsp;
    if (flags & CLONE_SETTLS)
        p->cpu.seg[X86_FS].base = tls;
    int32_t tid = (int32_t)syscall(SYS_gettid);
    if (flags & CLONE_CHILD_SETTID)
        user_copy_out(p, ctid, &tid, 4);
    if (flags & CLONE_CHILD_CLEARTID)
        p->clear_child_tid = ctid;
    return 0;
}

static long sys_clone(struct user_proc *p, const uint64_t *a)
{
    return do_clone(p, a[0], a[1], a[2], a[3], a[4]);
}

static long sys_fork(struct user_proc *p, const uint64_t *a)
{
    (void)a;
    return do_clone(p, SIGCHLD, 0, 0, 0, 0);
}

static long sys_vfork(struct user_proc *p, const uint64_t *a)
{
    (void)a;
    return do_clone(p, CLONE_VM | CLONE_VFORK | SIGCHLD, 0, 0, 0, 0);
}

static long sys_clone3(struct user_proc *p, const uint64_t *a)
{
    (void)p, (void)a;
    return -ENOSYS; /* glibc falls back to clone */
}

/* RLIMIT_AS is the guest's alone: applied to xuni it would count the whole
 * reserved guest region and fail every later mapping. */
static bool is_self(uint64_t pid)
{
    return pid == 0 || (pid_t)pid == getpid();
}

static long sys_prlimit64(struct user_proc *p, const uint64_t *a)
{
    if (a[1] == RLIMIT_AS && is_self(a[0])) {
        uint64_t old[2] = {p->rlimit_as[0], p->rlimit_as[1]}, lim[2];
        long r;
        if (a[2]) {
            if ((r = user_copy_in(p, lim, a[2], sizeof(lim))) < 0)
                return r;
            if (lim[0] > lim[1])
                return -EINVAL;
            if (lim[1] > p->rlimit_as[1] && geteuid() != 0)
                return -EPERM;
        }
        if (a[3] && (r = user_copy_out(p, a[3], old, sizeof(old))) < 0)
            return r;
        if (a[2])
            memcpy(p->rlimit_as, lim, sizeof(lim));
        return 0;
    }
    void *n, *o;
    long r = user_xlate(p, a[2], 16, &n);
    if (r < 0 || (r = user_xlate(p, a[3], 16, &o)) < 0)
        return r;
    return USER_SYSCALL_PLAIN(SYS_prlimit64, (long)a[0], (long)a[1], (long)(uintptr_t)n,
                              (long)(uintptr_t)o, 0, 0);
}

static long sys_getrlimit(struct user_proc *p, const uint64_t *a)
{
    return sys_prlimit64(p, (const uint64_t[6]){0, a[0], 0, a[1]});
}

static long sys_setrlimit(struct user_proc *p, const uint64_t *a)
{
    return sys_prlimit64(p, (const uint64_t[6]){0, a[0], a[1], 0});
}

const struct user_syscall_def user_syscalls_proc[] = {
    USYS_FN(exit, 0, sys_exit_group),
    USYS_FN(exit_group, 0, sys_exit_group),
    USYS(wait4, USER_SYS_BLOCKS, UV, UPTR(4), UV, UPTR(144)),
    USYS(waitid, USER_SYS_BLOCKS, UV, UV, UPTR(128), UV, UPTR(144)),
    USYS_FN(fork, 0, sys_fork),
    USYS_FN(vfork, 0, sys_vfork),
    USYS_FN(clone, 0, sys_clone),
    USYS_FN(clone3, 0, sys_clone3),
    USYS(getpid, 0),
    USYS(getppid, 0),
    USYS(gettid, 0),
    USYS(getuid, 0),
    USYS(geteuid, 0),
    USYS(getgid, 0),
    USYS(getegid, 0),
    USYS(getresuid, 0, UPTR(4), UPTR(4), UPTR(4)),
    USYS(getresgid, 0, UPTR(4), UPTR(4), UPTR(4)),
    USYS(getgroups, 0, UV, UARR(0, 4)),
    USYS(setgroups, 0, UV, UARR(0, 4)),
    USYS(setuid, 0, UV),
    USYS(setgid, 0, UV),
    USYS(setreuid, 0, UV, UV),
    USYS(setregid, 0, UV, UV),
    USYS(setresuid, 0, UV, UV, UV),
    USYS(setresgid, 0, UV, UV, UV),
    USYS(setfsuid, 0, UV),
    USYS(setfsgid, 0, UV),
    USYS(setpgid, 0, UV, UV),
    USYS(getpgid, 0, UV),
    USYS(getpgrp, 0),
    USYS(setsid, 0),
    USYS(getsid, 0, UV),
    USYS(uname, 0, UPTR(390)),
    USYS(sysinfo, 0, UPTR(112)),
    USYS(getrusage, 0, UV, UPTR(144)),
    USYS(times, 0, UPTR(32)),
    USYS(personality, 0, UV),
    USYS(capget, 0, UPTR(8), UPTR(24)),
    USYS(capset, 0, UPTR(8), UPTR(24)),
    USYS(getcpu, 0, UPTR(4), UPTR(4), UV),
    USYS(getpriority, 0, UV, UV),
    USYS(setpriority, 0, UV, UV, UV),
    USYS(sched_yield, 0),
    USYS(sched_getaffinity, 0, UV, UV, UBUF(1)),
    USYS(sched_setaffinity, 0, UV, UV, UBUF(1)),
    USYS(sched_getparam, 0, UV, UPTR(4)),
    USYS(sched_setparam, 0, UV, UPTR(4)),
    USYS(sched_getscheduler, 0, UV),
    USYS(sched_setscheduler, 0, UV, UV, UPTR(4)),
    USYS(sched_get_priority_max, 0, UV),
    USYS(sched_get_priority_min, 0, UV),
    USYS(sched_rr_get_interval, 0, UV, UPTR(16)),
    USYS(getrandom, USER_SYS_BLOCKS, UBUF(1), UV, UV),
    USYS(membarrier, 0, UV, UV, UV),
    USYS_FN(getrlimit, 0, sys_getrlimit),
    USYS_FN(setrlimit, 0, sys_setrlimit),
    USYS_FN(prlimit64, 0, sys_prlimit64),
    USYS_FN(arch_prctl, 0, sys_arch_prctl),
    USYS_FN(prctl, 0, sys_prctl),
    USYS_FN(set_tid_address, 0, sys_set_tid_address),
    USYS_FN(set_robust_list, 0, sys_set_robust_list),
    USYS_FN(get_robust_list, 0, sys_get_robust_list),
    USYS_FN(rseq, 0, sys_rseq),
    USYS_FN(futex, USER_SYS_BLOCKS, sys_futex),
    {0, 0, NULL, NULL, {{0, 0, 0}}},
};
