/* brk, mmap, munmap, mprotect, mremap: results, and which accesses fault
 * afterwards: *_fault is 0 if the access worked, else the SIGSEGV's si_code
 * (SEGV_MAPERR 1, SEGV_ACCERR 2). */
#include "ulib.h"

#define PAGE 4096UL

static jmpbuf env;
static volatile long fault_code, fault_addr;

static void on_segv(int sig, struct ksiginfo *si, void *uc)
{
    (void)sig, (void)uc;
    fault_code = si->si_code;
    fault_addr = (long)si->addr;
    longjmp_(env, 1);
}

/* 0 if the access worked, else the fault's si_code (and addr matches). */
static long probe(volatile char *p, int write)
{
    fault_code = 0;
    if (setjmp_(env) == 0) {
        if (write)
            *p = 1;
        else
            (void)*p;
        return 0;
    }
    return fault_addr == (long)p ? fault_code : -100;
}

static void *mmap_(void *addr, unsigned long len, int prot, int flags, int fd, long off)
{
    return (void *)sys6(__NR_mmap, (long)addr, (long)len, prot, flags, fd, off);
}

static int is_err(void *p)
{
    return (unsigned long)p > -4096UL;
}

int main(int argc, char **argv, char **envp)
{
    (void)argc, (void)envp;
    install(SIGSEGV, (void *)on_segv, SA_SIGINFO | SA_NODEFER, 0);

    /* brk */
    char *b0 = (char *)sys1(__NR_brk, 0);
    put_kv("brk_page_aligned", ((unsigned long)b0 & (PAGE - 1)) == 0);
    char *b1 = (char *)sys1(__NR_brk, b0 + 10000);
    put_kv("brk_grow", b1 == b0 + 10000);
    memset(b0, 0x5a, 10000);
    put_kv("brk_readback", b0[9999] == 0x5a);
    put_kv("brk_beyond_page_fault", probe(b0 + 3 * PAGE, 1));
    put_kv("brk_shrink", (char *)sys1(__NR_brk, b0 + 100) == b0 + 100);
    put_kv("brk_shrunk_fault", probe(b0 + PAGE + 8, 0));
    put_kv("brk_first_page_fault", probe(b0 + 50, 1));
    put_kv("brk_below_start_unchanged", (char *)sys1(__NR_brk, b0 - PAGE) == b0 + 100);
    put_kv("brk_wrapping_unchanged", (char *)sys1(__NR_brk, -1L) == b0 + 100);
    put_kv("brk_program_intact", probe((volatile char *)(uintptr_t)main, 0));

    /* anonymous mappings */
    char *m = mmap_(0, 3 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    put_kv("mmap_ok", !is_err(m) && ((unsigned long)m & (PAGE - 1)) == 0);
    put_kv("mmap_zeroed", m[0] == 0 && m[3 * PAGE - 1] == 0);
    for (unsigned long i = 0; i < 3 * PAGE; i += 512)
        m[i] = (char)(i >> 9);
    put_kv("mmap_readback", m[2 * PAGE + 512] == (char)((2 * PAGE + 512) >> 9));
    put_kv("munmap_middle", sys2(__NR_munmap, m + PAGE, PAGE));
    put_kv("unmapped_read_fault", probe(m + PAGE + 16, 0));
    put_kv("neighbour_fault", probe(m + 2 * PAGE, 1));
    put_kv("mprotect_ro", sys3(__NR_mprotect, m, PAGE, PROT_READ));
    put_kv("ro_read_fault", probe(m + 8, 0));
    put_kv("ro_write_fault", probe(m + 8, 1));
    put_kv("mprotect_none", sys3(__NR_mprotect, m, PAGE, PROT_NONE));
    put_kv("none_read_fault", probe(m, 0));
    put_kv("mprotect_rw", sys3(__NR_mprotect, m, PAGE, PROT_READ | PROT_WRITE));
    put_kv("rw_again_fault", probe(m + 8, 1));
    put_err("mprotect_unmapped", sys3(__NR_mprotect, m + PAGE, PAGE, PROT_READ));
    put_err("mprotect_unaligned", sys3(__NR_mprotect, m + 1, PAGE, PROT_READ));
    put_err("munmap_unaligned", sys2(__NR_munmap, m + 1, PAGE));
    put_err("munmap_zero", sys2(__NR_munmap, m, 0));
    put_err("mmap_zero_len", (long)mmap_(0, 0, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
    put_err("mmap_fixed_unaligned",
            (long)mmap_(m + 1, PAGE, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0));
    put_err("mmap_huge", (long)mmap_(0, 1UL << 50, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
    put_err("mmap_bad_fd", (long)mmap_(0, PAGE, PROT_READ, MAP_PRIVATE, 1000, 0));

    /* MAP_FIXED over the hole, then a grown copy with mremap */
    char *f = mmap_(m + PAGE, PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED,
                    -1, 0);
    put_kv("mmap_fixed_at_hole", f == m + PAGE);
    f[5] = 42;
    char *g = (char *)sys4(__NR_mremap, m + PAGE, PAGE, 64 * PAGE, MREMAP_MAYMOVE);
    put_kv("mremap_ok", !is_err(g));
    put_kv("mremap_kept_data", !is_err(g) && g[5] == 42);
    put_kv("mremap_tail_zero", !is_err(g) && g[63 * PAGE] == 0);
    if (g != m + PAGE)
        put_kv("mremap_old_fault", probe(m + PAGE, 0));
    else
        put_kv("mremap_old_fault", 1);

    /* a file mapping: this program's own ELF header */
    int fd = (int)sys3(__NR_open, argv[0], O_RDONLY, 0);
    char *e = mmap_(0, PAGE, PROT_READ, MAP_PRIVATE, fd, 0);
    put_kv("file_map_elf", !is_err(e) && e[0] == 0x7f && e[1] == 'E' && e[2] == 'L');
    put_kv("file_map_write_fault", probe(e, 1));
    sys1(__NR_close, fd);
    return 0;
}
