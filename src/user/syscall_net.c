/* Sockets: pass-through, with socket addresses, their in/out lengths,
 * message headers and the one socket option that carries a pointer
 * (classic BPF filters) translated. */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/filter.h>
#include <stddef.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/uio.h>

#include "user/user_proc.h"

/* An (address, socklen_t *length) pair the kernel fills in. */
static long addr_out(struct user_proc *p, uint64_t gaddr, uint64_t glen, long *haddr, long *hlen)
{
    void *a = NULL, *l;
    long r = user_xlate(p, glen, 4, &l);
    if (r < 0)
        return r;
    if (gaddr) {
        uint32_t len;
        if ((r = user_copy_in(p, &len, glen, 4)) < 0)
            return r;
        if ((int32_t)len < 0)
            return -EINVAL;
        if ((r = user_xlate(p, gaddr, len, &a)) < 0)
            return r;
    }
    *haddr = (long)(uintptr_t)a;
    *hlen = (long)(uintptr_t)l;
    return 0;
}

static long sys_accept4(struct user_proc *p, const uint64_t *a)
{
    long h[6] = {(long)a[0], 0, 0, (long)a[3]};
    long r = addr_out(p, a[1], a[2], &h[1], &h[2]);
    return r < 0 ? r : user_host_syscall(p, SYS_accept4, h);
}

static long sys_accept(struct user_proc *p, const uint64_t *a)
{
    return sys_accept4(p, (const uint64_t[6]){a[0], a[1], a[2], 0});
}

static long name_call(struct user_proc *p, long nr, const uint64_t *a)
{
    long h[6] = {(long)a[0]};
    long r = addr_out(p, a[1], a[2], &h[1], &h[2]);
    return r < 0 ? r : user_host_syscall_plain(nr, h);
}

static long sys_getsockname(struct user_proc *p, const uint64_t *a)
{
    return name_call(p, SYS_getsockname, a);
}

static long sys_getpeername(struct user_proc *p, const uint64_t *a)
{
    return name_call(p, SYS_getpeername, a);
}

static long sys_recvfrom(struct user_proc *p, const uint64_t *a)
{
    long h[6] = {(long)a[0], 0, (long)a[2], (long)a[3]};
    void *buf;
    uint64_t len = a[2];
    if (a[1] && a[1] < p->mm.size && len > p->mm.size - a[1])
        h[2] = (long)(len = p->mm.size - a[1]);
    long r = user_xlate(p, a[1], len, &buf);
    if (r < 0 || (r = addr_out(p, a[4], a[5], &h[4], &h[5])) < 0)
        return r;
    h[1] = (long)(uintptr_t)buf;
    return user_host_syscall(p, SYS_recvfrom, h);
}

static long sys_getsockopt(struct user_proc *p, const uint64_t *a)
{
    long h[6] = {(long)a[0], (long)a[1], (long)a[2]};
    long r = addr_out(p, a[3], a[4], &h[3], &h[4]);
    return r < 0 ? r : user_host_syscall_plain(SYS_getsockopt, h);
}

static long sys_setsockopt(struct user_proc *p, const uint64_t *a)
{
    void *val;
    long r;
    if ((int)a[1] == SOL_SOCKET &&
        ((int)a[2] == SO_ATTACH_FILTER || (int)a[2] == SO_ATTACH_REUSEPORT_CBPF)) {
        struct sock_fprog prog;
        if ((uint32_t)a[4] < sizeof(prog))
            return -EINVAL;
        if ((r = user_copy_in(p, &prog, a[3], sizeof(prog))) < 0)
            return r;
        void *filter;
        r = user_xlate(p, (uintptr_t)prog.filter, (uint64_t)prog.len * sizeof(struct sock_filter),
                       &filter);
        if (r < 0)
            return r;
        prog.filter = filter;
        return USER_SYSCALL_PLAIN(SYS_setsockopt, (long)a[0], (long)a[1], (long)a[2],
                                  (long)(uintptr_t)&prog, sizeof(prog), 0);
    }
    if ((r = user_xlate(p, a[3], (uint32_t)a[4], &val)) < 0)
        return r;
    return USER_SYSCALL_PLAIN(SYS_setsockopt, (long)a[0], (long)a[1], (long)a[2],
                              (long)(uintptr_t)val, (long)(uint32_t)a[4], 0);
}

/* sendmsg/recvmsg: the header's name, control buffer and iovecs. */
static long msg_call(struct user_proc *p, long nr, const uint64_t *a)
{
    struct msghdr m;
    struct iovec iov[USER_IOV_MAX];
    long r = user_copy_in(p, &m, a[1], sizeof(m));
    if (r < 0)
        return r;
    struct msghdr h = m;
    void *name, *control;
    if ((r = user_xlate(p, (uintptr_t)m.msg_name, m.msg_namelen, &name)) < 0 ||
        (r = user_xlate(p, (uintptr_t)m.msg_control, m.msg_controllen, &control)) < 0 ||
        (r = user_iov_in(p, (uintptr_t)m.msg_iov, m.msg_iovlen, iov)) < 0)
        return r;
    h.msg_name = name;
    h.msg_control = control;
    h.msg_iov = iov;
    r = USER_SYSCALL(p, nr, (long)a[0], (long)(uintptr_t)&h, (long)a[2], 0, 0, 0);
    if (r >= 0 && nr == SYS_recvmsg) {
        m.msg_namelen = h.msg_namelen;
        m.msg_controllen = h.msg_controllen;
        m.msg_flags = h.msg_flags;
        long w = user_copy_out(p, a[1], &m, sizeof(m));
        if (w < 0)
            return w;
    }
    return r;
}

static long sys_sendmsg(struct user_proc *p, const uint64_t *a)
{
    return msg_call(p, SYS_sendmsg, a);
}

static long sys_recvmsg(struct user_proc *p, const uint64_t *a)
{
    return msg_call(p, SYS_recvmsg, a);
}

const struct user_syscall_def user_syscalls_net[] = {
    USYS(socket, 0, UV, UV, UV),
    USYS(socketpair, 0, UV, UV, UV, UPTR(8)),
    USYS(bind, 0, UV, UBUF(2), UV),
    USYS(connect, USER_SYS_BLOCKS, UV, UBUF(2), UV),
    USYS(listen, 0, UV, UV),
    USYS(shutdown, 0, UV, UV),
    USYS_FN(accept, USER_SYS_BLOCKS, sys_accept),
    USYS_FN(accept4, USER_SYS_BLOCKS, sys_accept4),
    USYS_FN(getsockname, 0, sys_getsockname),
    USYS_FN(getpeername, 0, sys_getpeername),
    USYS(sendto, USER_SYS_BLOCKS, UV, UBUF(2), UV, UV, UBUF(5), UV),
    USYS_FN(recvfrom, USER_SYS_BLOCKS, sys_recvfrom),
    USYS_FN(setsockopt, 0, sys_setsockopt),
    USYS_FN(getsockopt, 0, sys_getsockopt),
    USYS_FN(sendmsg, USER_SYS_BLOCKS, sys_sendmsg),
    USYS_FN(recvmsg, USER_SYS_BLOCKS, sys_recvmsg),
    {0, 0, NULL, NULL, {{0, 0, 0}}},
};
