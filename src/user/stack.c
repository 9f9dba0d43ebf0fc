/* The initial stack of a Linux x86-64 process, laid out as the kernel's
 * create_elf_tables() does, from the top down:
 *
 *   the program's file name (AT_EXECFN), environment strings, argument
 *   strings, the platform string "x86_64", 16 random bytes (AT_RANDOM),
 *   then at a 16-byte aligned RSP: argc, argv[], NULL, envp[], NULL, auxv
 *   pairs ending with AT_NULL.
 *
 * No AT_SYSINFO_EHDR: the guest has no vDSO, so glibc makes real system
 * calls for clock_gettime and friends.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <unistd.h>

#include "user/user_proc.h"

#define USER_AUXV_MAX 24

struct stack_writer {
    struct user_proc *p;
    uint64_t sp;
};

static uint64_t push_bytes(struct stack_writer *w, const void *data, size_t n)
{
    w->sp -= n;
    memcpy(user_host(w->p, w->sp), data, n);
    return w->sp;
}

static uint64_t push_str(struct stack_writer *w, const char *s)
{
    return push_bytes(w, s, strlen(s) + 1);
}

static size_t strings_size(char **v, int n)
{
    size_t total = 0;
    for (int i = 0; i < n; i++)
        total += strlen(v[i]) + 1;
    return total;
}

static int count(char **v)
{
    int n = 0;
    while (v && v[n])
        n++;
    return n;
}

/* Push strings so that v[0] ends lowest; their guest addresses to out[]. */
static void push_strings(struct stack_writer *w, char **v, int n, uint64_t *out)
{
    for (int i = n; i-- > 0;)
        out[i] = push_str(w, v[i]);
}

int user_stack_setup(struct user_proc *p, const struct user_image *img, const char *execfn,
                     int argc, char **argv, char **envp)
{
    struct user_mm *mm = &p->mm;
    int envc = count(envp);
    /* Linux allows a quarter of the stack limit for the strings. */
    size_t strings = strlen(execfn) + 1 + strings_size(argv, argc) + strings_size(envp, envc);
    size_t tables = ((size_t)argc + envc + 3 + 2 * USER_AUXV_MAX) * 8 + 64;
    if (strings + tables > mm->stack_size / 4) {
        log_error("user: argument list too long");
        return -E2BIG;
    }
    uint64_t bottom = mm->stack_top - mm->stack_size;
    if (!user_mm_is_free(mm, bottom, mm->stack_size) ||
        user_mm_map(p, bottom, mm->stack_size,
                    PROT_READ | PROT_WRITE | (img->exec_stack ? PROT_EXEC : 0),
                    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0) < 0) {
        log_error("user: cannot map the stack");
        return -ENOMEM;
    }

    uint64_t *argp = calloc((size_t)argc + envc + 1, sizeof(uint64_t));
    if (!argp)
        return -ENOMEM;
    uint64_t *envp_g = argp + argc;
    struct stack_writer w = {p, mm->stack_top - 8};
    uint64_t execfn_g = push_str(&w, execfn);
    push_strings(&w, envp, envc, envp_g);
    push_strings(&w, argv, argc, argp);
    w.sp &= ~15ULL;
    uint64_t platform_g = push_str(&w, "x86_64");
    uint8_t rnd[16];
    if (getrandom(rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd))
        memset(rnd, 0x5a, sizeof(rnd));
    uint64_t random_g = push_bytes(&w, rnd, sizeof(rnd));

    uint32_t id[4];
    x86_cpuid(&p->cpu, 1, 0, id);
    const uint64_t auxv[][2] = {
        {AT_HWCAP, id[3]},
        {AT_PAGESZ, USER_PAGE},
        {AT_CLKTCK, (uint64_t)sysconf(_SC_CLK_TCK)},
        {AT_PHDR, img->phdr},
        {AT_PHENT, img->phent},
        {AT_PHNUM, img->phnum},
        {AT_BASE, 0},
        {AT_FLAGS, 0},
        {AT_ENTRY, img->entry},
        {AT_UID, getuid()},
        {AT_EUID, geteuid()},
        {AT_GID, getgid()},
        {AT_EGID, getegid()},
        {AT_SECURE, 0},
        {AT_RANDOM, random_g},
        {AT_EXECFN, execfn_g},
        {AT_PLATFORM, platform_g},
        {AT_NULL, 0},
    };
    size_t nauxv = sizeof(auxv) / sizeof(auxv[0]);
    size_t words = 1 + (size_t)argc + 1 + (size_t)envc + 1 + 2 * nauxv;
    w.sp = (w.sp - words * 8) & ~15ULL;
    uint64_t *t = user_host(p, w.sp);
    *t++ = (uint64_t)argc;
    for (int i = 0; i < argc; i++)
        *t++ = argp[i];
    *t++ = 0;
    for (int i = 0; i < envc; i++)
        *t++ = envp_g[i];
    *t++ = 0;
    memcpy(t, auxv, sizeof(auxv));
    free(argp);

    memset(p->cpu.gpr, 0, sizeof(p->cpu.gpr));
    p->cpu.gpr[X86_RSP] = w.sp;
    p->cpu.gpr[X86_RDX] = 0; /* no function for atexit (the dynamic linker's) */
    p->cpu.rip = img->entry;
    return 0;
}
