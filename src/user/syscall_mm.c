/* Memory system calls: mmap, munmap, mprotect, brk, mremap, madvise and
 * friends, checked as Linux checks them and carried out in the guest
 * region (mm.c). Non-fixed mmaps are placed top-down below the stack. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/syscall.h>

#include "user/user_proc.h"

#ifndef MAP_FIXED_NOREPLACE
#define MAP_FIXED_NOREPLACE 0x100000
#endif
#ifndef MAP_UNINITIALIZED
#define MAP_UNINITIALIZED 0x4000000
#endif
#define USER_MAP_TYPE    0x0f
#define USER_PROT_SEM    0x8
#define USER_STACK_GUARD (1ULL << 20) /* brk and mmaps stay this far below the stack */

static uint64_t stack_floor(const struct user_mm *mm)
{
    return mm->stack_top - mm->stack_size - USER_STACK_GUARD;
}

static uint64_t mmap_place(struct user_proc *p, uint64_t hint, uint64_t len, int flags)
{
    struct user_mm *mm = &p->mm;
    if (flags & MAP_32BIT)
        return user_mm_find_free(mm, len, 0x40000000, 0x80000000);
    hint = user_page_up(hint);
    if (hint >= USER_MMAP_MIN && hint < stack_floor(mm) && len <= stack_floor(mm) - hint &&
        user_mm_is_free(mm, hint, len))
        return hint;
    uint64_t a = user_mm_find_free(mm, len, USER_MMAP_MIN, mm->mmap_top);
    return a ? a : user_mm_find_free(mm, len, USER_MMAP_MIN, stack_floor(mm));
}

/* Linux's checks that come before anything is unmapped. */
static long mmap_check_fd(int fd, int flags, int prot)
{
    int fl = fcntl(fd, F_GETFL);
    if (fl < 0)
        return -EBADF;
    if ((fl & O_ACCMODE) == O_WRONLY)
        return -EACCES;
    if ((flags & USER_MAP_TYPE) != MAP_PRIVATE && (prot & PROT_WRITE) && (fl & O_ACCMODE) != O_RDWR)
        return -EACCES;
    return 0;
}

static long sys_mmap(struct user_proc *p, const uint64_t *a)
{
    uint64_t addr = a[0], len = a[1], off = a[5];
    int prot = (int)a[2], flags = (int)a[3], fd = (int)a[4];
    int type = flags & USER_MAP_TYPE;
    if ((off & (USER_PAGE - 1)) || len == 0)
        return -EINVAL;
    if (type != MAP_SHARED && type != MAP_PRIVATE && type != MAP_SHARED_VALIDATE)
        return -EINVAL;
    if (prot & ~(PROT_READ | PROT_WRITE | PROT_EXEC | USER_PROT_SEM))
        return -EINVAL;
    uint64_t plen = user_page_up(len);
    if (plen < len || plen > p->mm.size)
        return -ENOMEM;
    if (!(flags & MAP_ANONYMOUS)) {
        long r = mmap_check_fd(fd, flags, prot);
        if (r < 0)
            return r;
    } else {
        fd = -1;
        off = 0;
    }
    if (flags & (MAP_FIXED | MAP_FIXED_NOREPLACE)) {
        if (addr & (USER_PAGE - 1))
            return -EINVAL;
        if (!user_range_ok(p, addr, plen))
            return -ENOMEM;
        if (addr < USER_MMAP_MIN)
            return -EPERM;
        if (!(flags & MAP_FIXED) && !user_mm_is_free(&p->mm, addr, plen))
            return -EEXIST;
    } else {
        addr = mmap_place(p, addr, plen, flags);
        if (!addr)
            return -ENOMEM;
    }
    int hflags = flags & ~(MAP_FIXED | MAP_FIXED_NOREPLACE | MAP_GROWSDOWN | MAP_32BIT |
                           MAP_DENYWRITE | MAP_EXECUTABLE | MAP_UNINITIALIZED);
    long r = user_mm_map(p, addr, plen, prot, hflags, fd, off);
    return r < 0 ? r : (long)addr;
}

static long sys_munmap(struct user_proc *p, const uint64_t *a)
{
    uint64_t addr = a[0], len = user_page_up(a[1]);
    if ((addr & (USER_PAGE - 1)) || len == 0 || len < a[1])
        return -EINVAL;
    if (addr >= p->mm.size)
        return 0; /* nothing of the guest's lives there */
    if (len > p->mm.size - addr)
        len = p->mm.size - addr;
    return user_mm_unmap(p, addr, len);
}

static long sys_mprotect(struct user_proc *p, const uint64_t *a)
{
    uint64_t addr = a[0], len = user_page_up(a[1]);
    int prot = (int)a[2];
    if (addr & (USER_PAGE - 1))
        return -EINVAL;
    if (prot &
        ~(PROT_READ | PROT_WRITE | PROT_EXEC | USER_PROT_SEM | PROT_GROWSDOWN | PROT_GROWSUP))
        return -EINVAL;
    if ((prot & PROT_GROWSDOWN) && (prot & PROT_GROWSUP))
        return -EINVAL;
    if (len < a[1])
        return -ENOMEM;
    if (len == 0)
        return 0;
    if (!user_range_ok(p, addr, len))
        return -ENOMEM;
    return user_mm_protect(p, addr, len, prot & (PROT_READ | PROT_WRITE | PROT_EXEC));
}

static long sys_brk(struct user_proc *p, const uint64_t *a)
{
    struct user_mm *mm = &p->mm;
    uint64_t want = a[0];
    uint64_t old_end = user_page_up(mm->brk), new_end = user_page_up(want);
    if (want < mm->brk_start || new_end < want) /* below the start, or wrapping */
        return (long)mm->brk;
    if (new_end < old_end) {
        if (user_mm_unmap(p, new_end, old_end - new_end) < 0)
            return (long)mm->brk;
    } else if (new_end > old_end) {
        if (new_end > stack_floor(mm) || !user_mm_is_free(mm, old_end, new_end - old_end) ||
            user_mm_map(p, old_end, new_end - old_end, PROT_READ | PROT_WRITE,
                        MAP_PRIVATE | MAP_ANONYMOUS, -1, 0) < 0)
            return (long)mm->brk;
    }
    mm->brk = want;
    return (long)want;
}

static long sys_mremap(struct user_proc *p, const uint64_t *a)
{
    uint64_t old = a[0], oldlen = user_page_up(a[1]), newlen = user_page_up(a[2]);
    uint64_t flags = a[3], dst = a[4];
    bool dontunmap = flags & MREMAP_DONTUNMAP;
    if ((old & (USER_PAGE - 1)) ||
        (flags & ~(uint64_t)(MREMAP_MAYMOVE | MREMAP_FIXED | MREMAP_DONTUNMAP)))
        return -EINVAL;
    if (((flags & (MREMAP_FIXED | MREMAP_DONTUNMAP)) && !(flags & MREMAP_MAYMOVE)) ||
        (dontunmap && oldlen != newlen) || newlen == 0 || newlen < a[2] || oldlen < a[1])
        return -EINVAL;
    if (oldlen == 0) {
        if (log_once_check(&p->once, 2ULL << 32))
            log_warn("user: mremap of a zero-length (shared) mapping is not supported");
        return -EINVAL;
    }
    if (!user_range_ok(p, old, oldlen) || !user_mm_is_mapped(&p->mm, old, oldlen))
        return -EFAULT;
    if (flags & MREMAP_FIXED) {
        if ((dst & (USER_PAGE - 1)) || !user_range_ok(p, dst, newlen) ||
            (dst < old + oldlen && old < dst + newlen))
            return -EINVAL;
        return user_mm_remap(p, old, oldlen, newlen, dst, dontunmap);
    }
    if (!dontunmap && newlen <= oldlen) {
        if (newlen < oldlen)
            user_mm_unmap(p, old + newlen, oldlen - newlen);
        return (long)old;
    }
    if (!dontunmap && user_mm_is_free(&p->mm, old + oldlen, newlen - oldlen) &&
        old + newlen <= stack_floor(&p->mm))
        return user_mm_remap(p, old, oldlen, newlen, old, false);
    if (!(flags & MREMAP_MAYMOVE))
        return -ENOMEM;
    dst = mmap_place(p, 0, newlen, 0);
    return dst ? user_mm_remap(p, old, oldlen, newlen, dst, dontunmap) : -ENOMEM;
}

/* A page-aligned guest range for madvise/msync/mlock/mincore: its host
 * address, or -ENOMEM/-EINVAL as Linux answers. */
static long range_in(struct user_proc *p, uint64_t addr, uint64_t *len, void **h)
{
    uint64_t l = user_page_up(*len);
    if ((addr & (USER_PAGE - 1)) || l < *len)
        return -EINVAL;
    if (!user_range_ok(p, addr, l))
        return -ENOMEM;
    *len = l;
    *h = user_host(p, addr);
    return 0;
}

static long sys_madvise(struct user_proc *p, const uint64_t *a)
{
    uint64_t len = a[1];
    int advice = (int)a[2];
    void *h;
    long r = range_in(p, a[0], &len, &h);
    if (r < 0 || len == 0)
        return r;
    if (advice == MADV_DONTFORK) {
        /* The child would get a hole in its guest region: not honoured. */
        return user_mm_is_mapped(&p->mm, a[0], len) ? 0 : -ENOMEM;
    }
    r = USER_SYSCALL_PLAIN(SYS_madvise, (long)(uintptr_t)h, (long)len, advice, 0, 0, 0);
    if (r == 0 && !user_mm_is_mapped(&p->mm, a[0], len))
        r = -ENOMEM;
    if (advice == MADV_DONTNEED || advice == MADV_FREE || advice == MADV_REMOVE)
        x86_invalidate_code(&p->cpu, a[0], len);
    return r;
}

static long sys_msync(struct user_proc *p, const uint64_t *a)
{
    uint64_t len = a[1];
    void *h;
    long r = range_in(p, a[0], &len, &h);
    if (r < 0)
        return r;
    if (len && !user_mm_is_mapped(&p->mm, a[0], len))
        return -ENOMEM;
    return USER_SYSCALL_PLAIN(SYS_msync, (long)(uintptr_t)h, (long)len, (long)a[2], 0, 0, 0);
}

/* mlock, munlock, mlock2: the range may start anywhere in a page. */
static long lock_call(struct user_proc *p, long nr, const uint64_t *a)
{
    uint64_t start = user_page_down(a[0]), len = a[1] + (a[0] - start);
    void *h;
    if (len < a[1])
        return -ENOMEM;
    long r = range_in(p, start, &len, &h);
    if (r < 0)
        return r;
    if (len && !user_mm_is_mapped(&p->mm, start, len))
        return -ENOMEM;
    return USER_SYSCALL_PLAIN(nr, (long)(uintptr_t)h, (long)len, (long)a[2], 0, 0, 0);
}

static long sys_mlock(struct user_proc *p, const uint64_t *a)
{
    return lock_call(p, SYS_mlock, a);
}

static long sys_munlock(struct user_proc *p, const uint64_t *a)
{
    return lock_call(p, SYS_munlock, a);
}

static long sys_mlock2(struct user_proc *p, const uint64_t *a)
{
    return lock_call(p, SYS_mlock2, a);
}

static long sys_mincore(struct user_proc *p, const uint64_t *a)
{
    uint64_t len = a[1];
    void *h, *vec;
    long r = range_in(p, a[0], &len, &h);
    if (r < 0 || (r = user_xlate(p, a[2], len / USER_PAGE, &vec)) < 0)
        return r;
    if (!user_mm_is_mapped(&p->mm, a[0], len))
        return -ENOMEM;
    return USER_SYSCALL_PLAIN(SYS_mincore, (long)(uintptr_t)h, (long)len, (long)(uintptr_t)vec, 0,
                              0, 0);
}

const struct user_syscall_def user_syscalls_mm[] = {
    USYS_FN(mmap, 0, sys_mmap),
    USYS_FN(munmap, 0, sys_munmap),
    USYS_FN(mprotect, 0, sys_mprotect),
    USYS_FN(brk, 0, sys_brk),
    USYS_FN(mremap, 0, sys_mremap),
    USYS_FN(madvise, 0, sys_madvise),
    USYS_FN(msync, 0, sys_msync),
    USYS_FN(mlock, 0, sys_mlock),
    USYS_FN(munlock, 0, sys_munlock),
    USYS_FN(mlock2, 0, sys_mlock2),
    USYS(mlockall, 0, UV),
    USYS(munlockall, 0),
    USYS_FN(mincore, 0, sys_mincore),
    {0, 0, NULL, NULL, {{0, 0, 0}}},
};
