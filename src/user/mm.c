/* The guest address space: one big host region, reserved PROT_NONE at
 * start, inside which guest mappings are host MAP_FIXED mappings.
 *
 * Guest address a is host address base + a. Nothing of the host ever lives
 * inside the region: a guest munmap re-reserves the range (PROT_NONE) rather
 * than unmapping it, so no host allocation can land where the guest reaches.
 * The mapped ranges are tracked here (merged, without protections) to place
 * non-fixed mmaps, to answer mprotect/madvise on unmapped memory with
 * -ENOMEM as Linux does, and to tell SEGV_MAPERR from SEGV_ACCERR.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "user/user_proc.h"

/* Largest first: 2^46 (64 TiB, half the x86-64 user address space) fits
 * next to everything else, also under ASan (whose shadow takes the low 16
 * TiB); smaller sizes are for hosts with RLIMIT_AS or less address space. */
#define USER_REGION_MAX_BITS 46
#define USER_REGION_MIN_BITS 34

int user_mm_init(struct user_mm *mm)
{
    memset(mm, 0, sizeof(*mm));
    for (unsigned bits = USER_REGION_MAX_BITS; bits >= USER_REGION_MIN_BITS; bits--) {
        uint64_t size = 1ULL << bits;
        void *r = mmap(NULL, size, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
        if (r == MAP_FAILED)
            continue;
        /* The reservation is no part of a core dump; guest mappings made
         * over it are new host mappings, which are. */
        madvise(r, size, MADV_DONTDUMP);
        mm->base = (uintptr_t)r;
        mm->size = size;
        if (bits < USER_REGION_MAX_BITS)
            log_info("user: guest address space is 2^%u bytes", bits);
        return 0;
    }
    log_error("cannot reserve a guest address space (2^%d bytes): %s", USER_REGION_MIN_BITS,
              strerror(errno));
    return -ENOMEM;
}

void user_mm_destroy(struct user_mm *mm)
{
    if (mm->size)
        munmap((void *)mm->base, mm->size);
    free(mm->vmas);
    memset(mm, 0, sizeof(*mm));
}

/* --- the tracked ranges --- */

static int vma_reserve(struct user_mm *mm, size_t n)
{
    if (n <= mm->cap)
        return 0;
    size_t cap = mm->cap ? mm->cap * 2 : 32;
    while (cap < n)
        cap *= 2;
    struct user_vma *v = realloc(mm->vmas, cap * sizeof(*v));
    if (!v)
        return -ENOMEM;
    mm->vmas = v;
    mm->cap = cap;
    return 0;
}

/* Replace vmas[i, j) with items[0, n) (n <= 2; capacity reserved). */
static void vma_splice(struct user_mm *mm, size_t i, size_t j, const struct user_vma *items,
                       size_t n)
{
    memmove(&mm->vmas[i + n], &mm->vmas[j], (mm->nvmas - j) * sizeof(mm->vmas[0]));
    memcpy(&mm->vmas[i], items, n * sizeof(items[0]));
    mm->nvmas = mm->nvmas - (j - i) + n;
}

static int vma_add(struct user_mm *mm, uint64_t start, uint64_t end)
{
    if (vma_reserve(mm, mm->nvmas + 1) < 0)
        return -ENOMEM;
    size_t i = 0, j;
    while (i < mm->nvmas && mm->vmas[i].end < start)
        i++;
    for (j = i; j < mm->nvmas && mm->vmas[j].start <= end; j++)
        ;
    struct user_vma v = {start, end};
    if (i < j) {
        if (mm->vmas[i].start < v.start)
            v.start = mm->vmas[i].start;
        if (mm->vmas[j - 1].end > v.end)
            v.end = mm->vmas[j - 1].end;
    }
    vma_splice(mm, i, j, &v, 1);
    return 0;
}

static int vma_remove(struct user_mm *mm, uint64_t start, uint64_t end)
{
    if (vma_reserve(mm, mm->nvmas + 1) < 0)
        return -ENOMEM;
    size_t i = 0, j;
    while (i < mm->nvmas && mm->vmas[i].end <= start)
        i++;
    for (j = i; j < mm->nvmas && mm->vmas[j].start < end; j++)
        ;
    if (i == j)
        return 0;
    struct user_vma keep[2];
    size_t n = 0;
    if (mm->vmas[i].start < start)
        keep[n++] = (struct user_vma){mm->vmas[i].start, start};
    if (mm->vmas[j - 1].end > end)
        keep[n++] = (struct user_vma){end, mm->vmas[j - 1].end};
    vma_splice(mm, i, j, keep, n);
    return 0;
}

bool user_mm_is_free(const struct user_mm *mm, uint64_t addr, uint64_t len)
{
    if (addr > mm->size || len > mm->size - addr)
        return false;
    for (size_t i = 0; i < mm->nvmas; i++)
        if (mm->vmas[i].start < addr + len && mm->vmas[i].end > addr)
            return false;
    return true;
}

bool user_mm_is_mapped(const struct user_mm *mm, uint64_t addr, uint64_t len)
{
    for (size_t i = 0; i < mm->nvmas; i++)
        if (mm->vmas[i].start <= addr && mm->vmas[i].end >= addr + len)
            return true;
    return false;
}

uint64_t user_mm_find_free(const struct user_mm *mm, uint64_t len, uint64_t lo, uint64_t hi)
{
    if (hi > mm->size)
        hi = mm->size;
    uint64_t top = hi;
    for (size_t k = mm->nvmas; k-- > 0;) {
        const struct user_vma *v = &mm->vmas[k];
        if (v->start >= top)
            continue;
        if (top < lo || top - lo < len)
            return 0;
        if (v->end <= top - len)
            return top - len;
        top = v->start;
    }
    return top >= lo && top - lo >= len ? top - len : 0;
}

/* --- host operations --- */

int user_mm_reserve(struct user_mm *mm, uint64_t addr, uint64_t len)
{
    void *h = mmap((void *)(mm->base + addr), len, PROT_NONE,
                   MAP_FIXED | MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (h != MAP_FAILED) {
        madvise(h, len, MADV_DONTDUMP);
        return 0;
    }
    /* A hole in the region would let host allocations land where the guest
     * reaches. The host ran out of mappings (vm.max_map_count): end the
     * guest as the kernel's OOM killer would, rather than run on. */
    log_error("user: cannot re-reserve guest memory: %s", strerror(errno));
    user_sig_die(SIGKILL);
}

/* Guest protections to host ones: the emulator reads code as data, so
 * PROT_EXEC needs readable host pages and nothing more. */
static int host_prot(int prot)
{
    return (prot & (PROT_READ | PROT_WRITE)) | ((prot & PROT_EXEC) ? PROT_READ : 0);
}

int user_mm_map(struct user_proc *p, uint64_t addr, uint64_t len, int prot, int flags, int fd,
                uint64_t off)
{
    struct user_mm *mm = &p->mm;
    if (vma_reserve(mm, mm->nvmas + 2) < 0)
        return -ENOMEM;
    void *h = mmap(user_host(p, addr), len, host_prot(prot), flags | MAP_FIXED, fd, (off_t)off);
    x86_invalidate_code(&p->cpu, addr, len);
    if (h == MAP_FAILED) {
        /* As on Linux, a failed MAP_FIXED may have removed what was there. */
        int e = errno;
        user_mm_reserve(mm, addr, len);
        vma_remove(mm, addr, addr + len);
        return -e;
    }
    return vma_add(mm, addr, addr + len);
}

int user_mm_unmap(struct user_proc *p, uint64_t addr, uint64_t len)
{
    if (vma_reserve(&p->mm, p->mm.nvmas + 2) < 0)
        return -ENOMEM;
    user_mm_reserve(&p->mm, addr, len);
    x86_invalidate_code(&p->cpu, addr, len);
    return vma_remove(&p->mm, addr, addr + len);
}

int user_mm_protect(struct user_proc *p, uint64_t addr, uint64_t len, int prot)
{
    if (!user_mm_is_mapped(&p->mm, addr, len))
        return -ENOMEM;
    if (mprotect(user_host(p, addr), len, host_prot(prot)) < 0)
        return -errno;
    x86_invalidate_code(&p->cpu, addr, len);
    return 0;
}

long user_mm_remap(struct user_proc *p, uint64_t old, uint64_t oldlen, uint64_t newlen,
                   uint64_t dst, bool dontunmap)
{
    struct user_mm *mm = &p->mm;
    if (vma_reserve(mm, mm->nvmas + 3) < 0)
        return -ENOMEM;
    void *h;
    if (dst == old) {
        /* Grow in place: the host must see the tail free, so lift the
         * reservation there first (xuni is single-threaded: nothing else
         * maps in between). */
        munmap(user_host(p, old + oldlen), newlen - oldlen);
        h = mremap(user_host(p, old), oldlen, newlen, 0);
        if (h == MAP_FAILED) {
            int e = errno;
            user_mm_reserve(mm, old + oldlen, newlen - oldlen);
            return -e;
        }
        return vma_add(mm, old, old + newlen) < 0 ? -ENOMEM : (long)old;
    }
    int flags = MREMAP_MAYMOVE | MREMAP_FIXED | (dontunmap ? MREMAP_DONTUNMAP : 0);
    h = mremap(user_host(p, old), oldlen, newlen, flags, user_host(p, dst));
    if (h == MAP_FAILED)
        return -errno;
    x86_invalidate_code(&p->cpu, old, oldlen);
    x86_invalidate_code(&p->cpu, dst, newlen);
    if (!dontunmap) {
        user_mm_reserve(mm, old, oldlen);
        vma_remove(mm, old, old + oldlen);
    }
    return vma_add(mm, dst, dst + newlen) < 0 ? -ENOMEM : (long)dst;
}
