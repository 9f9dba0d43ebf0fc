/* File and file-system system calls: nearly all pass straight through,
 * with paths copied in and buffers translated (see syscall.c). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "user/user_proc.h"

#define STAT_SIZE   144 /* struct stat */
#define STATX_SIZE  256
#define STATFS_SIZE 120

/* /proc/self/exe names the guest program, not xuni (readlink, execve). */
bool user_is_self_exe(const char *path)
{
    char own[32];
    snprintf(own, sizeof(own), "/proc/%d/exe", (int)getpid());
    return path && (strcmp(path, "/proc/self/exe") == 0 || strcmp(path, own) == 0);
}

static long readlink_common(struct user_proc *p, long dirfd, uint64_t path, uint64_t buf,
                            uint64_t size)
{
    const char *s;
    long r = user_path_in(p, 0, path, &s);
    if (r < 0)
        return r;
    if ((int64_t)size <= 0)
        return -EINVAL;
    if (user_is_self_exe(s) && (dirfd == AT_FDCWD || s[0] == '/')) {
        size_t n = strlen(p->exe);
        if (n > size)
            n = size;
        r = user_copy_out(p, buf, p->exe, n);
        return r < 0 ? r : (long)n;
    }
    if (buf < p->mm.size && size > p->mm.size - buf)
        size = p->mm.size - buf;
    void *h;
    r = user_xlate(p, buf, size, &h);
    if (r < 0)
        return r;
    return USER_SYSCALL_PLAIN(SYS_readlinkat, dirfd, (long)(uintptr_t)s, (long)(uintptr_t)h,
                              (long)size, 0, 0);
}

static long sys_readlink(struct user_proc *p, const uint64_t *a)
{
    return readlink_common(p, AT_FDCWD, a[0], a[1], a[2]);
}

static long sys_readlinkat(struct user_proc *p, const uint64_t *a)
{
    return readlink_common(p, (long)(int)a[0], a[1], a[2], a[3]);
}

const struct user_syscall_def user_syscalls_fs[] = {
    USYS(read, USER_SYS_BLOCKS, UV, UBUF(2), UV),
    USYS(write, USER_SYS_BLOCKS, UV, UBUF(2), UV),
    USYS(pread64, USER_SYS_BLOCKS, UV, UBUF(2), UV, UV),
    USYS(pwrite64, USER_SYS_BLOCKS, UV, UBUF(2), UV, UV),
    USYS(open, USER_SYS_BLOCKS, UPATH, UV, UV),
    USYS(openat, USER_SYS_BLOCKS, UV, UPATH, UV, UV),
    USYS(creat, USER_SYS_BLOCKS, UPATH, UV),
    USYS(close, 0, UV),
    USYS(close_range, 0, UV, UV, UV),
    USYS(stat, 0, UPATH, UPTR(STAT_SIZE)),
    USYS(lstat, 0, UPATH, UPTR(STAT_SIZE)),
    USYS(fstat, 0, UV, UPTR(STAT_SIZE)),
    USYS(newfstatat, 0, UV, UPATH, UPTR(STAT_SIZE), UV),
    USYS(statx, 0, UV, UPATH, UV, UV, UPTR(STATX_SIZE)),
    USYS(statfs, 0, UPATH, UPTR(STATFS_SIZE)),
    USYS(fstatfs, 0, UV, UPTR(STATFS_SIZE)),
    USYS(lseek, 0, UV, UV, UV),
    USYS(access, 0, UPATH, UV),
    USYS(faccessat, 0, UV, UPATH, UV),
    USYS(faccessat2, 0, UV, UPATH, UV, UV),
    USYS(flock, USER_SYS_BLOCKS, UV, UV),
    USYS(fsync, 0, UV),
    USYS(fdatasync, 0, UV),
    USYS(sync, 0),
    USYS(syncfs, 0, UV),
    USYS(sync_file_range, 0, UV, UV, UV, UV),
    USYS(fadvise64, 0, UV, UV, UV, UV),
    USYS(fallocate, 0, UV, UV, UV, UV),
    USYS(truncate, 0, UPATH, UV),
    USYS(ftruncate, 0, UV, UV),
    USYS(getdents64, 0, UV, UBUF(2), UV),
    USYS(getdents, 0, UV, UBUF(2), UV),
    USYS(getcwd, 0, UBUF(1), UV),
    USYS(chdir, 0, UPATH),
    USYS(fchdir, 0, UV),
    USYS(chroot, 0, UPATH),
    USYS(rename, 0, UPATH, UPATH),
    USYS(renameat, 0, UV, UPATH, UV, UPATH),
    USYS(renameat2, 0, UV, UPATH, UV, UPATH, UV),
    USYS(mkdir, 0, UPATH, UV),
    USYS(mkdirat, 0, UV, UPATH, UV),
    USYS(rmdir, 0, UPATH),
    USYS(mknod, 0, UPATH, UV, UV),
    USYS(mknodat, 0, UV, UPATH, UV, UV),
    USYS(link, 0, UPATH, UPATH),
    USYS(linkat, 0, UV, UPATH, UV, UPATH, UV),
    USYS(unlink, 0, UPATH),
    USYS(unlinkat, 0, UV, UPATH, UV),
    USYS(symlink, 0, UPATH, UPATH),
    USYS(symlinkat, 0, UPATH, UV, UPATH),
    USYS_FN(readlink, 0, sys_readlink),
    USYS_FN(readlinkat, 0, sys_readlinkat),
    USYS(chmod, 0, UPATH, UV),
    USYS(fchmod, 0, UV, UV),
    USYS(fchmodat, 0, UV, UPATH, UV),
    USYS(chown, 0, UPATH, UV, UV),
    USYS(fchown, 0, UV, UV, UV),
    USYS(lchown, 0, UPATH, UV, UV),
    USYS(fchownat, 0, UV, UPATH, UV, UV, UV),
    USYS(utimensat, 0, UV, UPATH, UPTR(32), UV),
    USYS(utime, 0, UPATH, UPTR(16)),
    USYS(utimes, 0, UPATH, UPTR(32)),
    USYS(futimesat, 0, UV, UPATH, UPTR(32)),
    USYS(umask, 0, UV),
    USYS(sendfile, USER_SYS_BLOCKS, UV, UV, UPTR(8), UV),
    USYS(copy_file_range, USER_SYS_BLOCKS, UV, UPTR(8), UV, UPTR(8), UV, UV),
    USYS(splice, USER_SYS_BLOCKS, UV, UPTR(8), UV, UPTR(8), UV, UV),
    USYS(tee, USER_SYS_BLOCKS, UV, UV, UV, UV),
    USYS(memfd_create, 0, UPATH, UV),
    USYS(inotify_init, 0),
    USYS(inotify_init1, 0, UV),
    USYS(inotify_add_watch, 0, UV, UPATH, UV),
    USYS(inotify_rm_watch, 0, UV, UV),
    {0, 0, NULL, NULL, {{0, 0, 0}}},
};
