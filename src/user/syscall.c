/* System calls: the table, dispatch, and the generic pass-through.
 *
 * The guest's system-call numbers are the host's (both x86-64 Linux), and
 * so are the structures, so most calls go straight to the host kernel once
 * their pointer arguments are translated. Each area file (syscall_fs.c,
 * syscall_io.c, ...) lists its calls in a table: either a handler, or for a
 * pass-through the kind of each argument (user_proc.h: a value, a path, a
 * pointer to a fixed-size struct, a buffer whose length is another
 * argument, an array). The dispatch table is built from those at start-up.
 *
 * Interruptible host calls (user_safe_syscall below) solve the race
 * between "no guest signal pending" and entering a blocking call: the host
 * signal handler that records a guest signal also moves a thread that is
 * between the pending check and the SYSCALL instruction to a path that
 * returns -EINTR (user_syscall_signal_fixup), so a signal is never left
 * waiting behind a sleep.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <ucontext.h>

#include "user/user_proc.h"

/* long user_safe_syscall(volatile int *flag, long nr, const long args[6]) */
long user_safe_syscall(volatile int *flag, long nr, const long *args);
extern const char user_safe_syscall_start[], user_safe_syscall_end[], user_safe_syscall_eintr[];
__asm__(".text\n"
        ".globl user_safe_syscall\n"
        ".hidden user_safe_syscall\n"
        ".type user_safe_syscall, @function\n"
        "user_safe_syscall:\n"
        "    mov %rdi, %r11\n"
        "    mov %rsi, %rax\n"
        "    mov 0(%rdx), %rdi\n"
        "    mov 8(%rdx), %rsi\n"
        "    mov 24(%rdx), %r10\n"
        "    mov 32(%rdx), %r8\n"
        "    mov 40(%rdx), %r9\n"
        "    mov 16(%rdx), %rdx\n"
        ".globl user_safe_syscall_start\n"
        ".hidden user_safe_syscall_start\n"
        "user_safe_syscall_start:\n"
        "    cmpl $0, (%r11)\n"
        "    jne user_safe_syscall_eintr\n"
        "    syscall\n"
        ".globl user_safe_syscall_end\n"
        ".hidden user_safe_syscall_end\n"
        "user_safe_syscall_end:\n"
        "    ret\n"
        ".globl user_safe_syscall_eintr\n"
        ".hidden user_safe_syscall_eintr\n"
        "user_safe_syscall_eintr:\n"
        "    mov $-4, %rax\n"
        "    ret\n"
        ".size user_safe_syscall, .-user_safe_syscall\n");

void user_syscall_signal_fixup(void *ucv)
{
    ucontext_t *uc = ucv;
    uintptr_t rip = (uintptr_t)uc->uc_mcontext.gregs[REG_RIP];
    if (rip >= (uintptr_t)user_safe_syscall_start && rip < (uintptr_t)user_safe_syscall_end)
        uc->uc_mcontext.gregs[REG_RIP] = (greg_t)(uintptr_t)user_safe_syscall_eintr;
}

long user_host_syscall(struct user_proc *p, long nr, const long a[6])
{
    return user_safe_syscall(&p->sig.deliverable, nr, a);
}

long user_host_syscall_plain(long nr, const long a[6])
{
    static volatile int never;
    return user_safe_syscall(&never, nr, a);
}

/* --- the table --- */

static const struct user_syscall_def *table[USER_NSYSCALLS];

void user_syscall_init(void)
{
    const struct user_syscall_def *areas[] = {
        user_syscalls_fs,   user_syscalls_io,   user_syscalls_mm,  user_syscalls_proc,
        user_syscalls_exec, user_syscalls_time, user_syscalls_net, user_syscalls_signal,
    };
    for (size_t i = 0; i < sizeof(areas) / sizeof(areas[0]); i++)
        for (const struct user_syscall_def *d = areas[i]; d->name; d++)
            if (d->nr < USER_NSYSCALLS)
                table[d->nr] = d;
}

bool user_syscall_norestart(uint64_t nr)
{
    return nr < USER_NSYSCALLS && table[nr] && (table[nr]->flags & USER_SYS_NORESTART);
}

long user_path_in(struct user_proc *p, unsigned slot, uint64_t guest, const char **out)
{
    if (!guest) {
        *out = NULL;
        return 0;
    }
    long r = user_copy_str(p, p->path[slot], guest, PATH_MAX);
    *out = r < 0 ? NULL : p->path[slot];
    return r < 0 ? r : 0;
}

/* Translate one argument of a pass-through call into h[]. */
static long pass_arg(struct user_proc *p, const struct user_arg *ar, const uint64_t *a, unsigned i,
                     long *h, unsigned *slot)
{
    void *ptr = NULL;
    uint64_t len;
    long r = 0;
    switch (ar->kind) {
    case UA_VAL:
        return 0;
    case UA_PATH: {
        const char *s;
        r = user_path_in(p, (*slot)++, a[i], &s);
        h[i] = (long)(uintptr_t)s;
        return r;
    }
    case UA_PTR:
        r = user_xlate(p, a[i], ar->size, &ptr);
        break;
    case UA_BUF:
        /* A buffer running past the region ends where the guest's address
         * space ends: the host sees it shortened, as if unmapped there. */
        len = a[ar->n];
        if (a[i] && a[i] < p->mm.size && len > p->mm.size - a[i])
            h[ar->n] = (long)(len = p->mm.size - a[i]);
        if (len == 0 && !user_range_ok(p, a[i], 0))
            break; /* never touched: NULL does as well */
        r = user_xlate(p, a[i], len, &ptr);
        break;
    case UA_ARRAY:
        len = a[ar->n];
        if (len > p->mm.size / (ar->size ? ar->size : 1))
            return -EFAULT;
        r = user_xlate(p, a[i], len * ar->size, &ptr);
        break;
    }
    h[i] = (long)(uintptr_t)ptr;
    return r;
}

static long pass_through(struct user_proc *p, const struct user_syscall_def *d, const uint64_t *a)
{
    long h[6];
    unsigned slot = 0;
    for (unsigned i = 0; i < 6; i++)
        h[i] = (long)a[i];
    for (unsigned i = 0; i < 6; i++) {
        long r = pass_arg(p, &d->arg[i], a, i, h, &slot);
        if (r < 0)
            return r;
    }
    if (d->flags & USER_SYS_BLOCKS)
        return user_host_syscall(p, d->nr, h);
    return user_host_syscall_plain(d->nr, h);
}

void user_syscall(struct user_proc *p)
{
    struct x86_cpu *cpu = &p->cpu;
    uint64_t nr = cpu->gpr[X86_RAX];
    const uint64_t a[6] = {cpu->gpr[X86_RDI], cpu->gpr[X86_RSI], cpu->gpr[X86_RDX],
                           cpu->gpr[X86_R10], cpu->gpr[X86_R8],  cpu->gpr[X86_R9]};
    const struct user_syscall_def *d = nr < USER_NSYSCALLS ? table[nr] : NULL;
    long r;
    p->sys_noret = false;
    if (!d) {
        if (log_once_check(&p->once, nr))
            log_warn("user: unsupported system call %llu (returning -ENOSYS)",
                     (unsigned long long)nr);
        r = -ENOSYS;
    } else if (d->fn) {
        r = d->fn(p, a);
    } else {
        r = pass_through(p, d, a);
    }
    if (log_get_level() >= LOG_DEBUG)
        log_debug("user: %s(%#llx, %#llx, %#llx, %#llx) = %ld", d ? d->name : "?",
                  (unsigned long long)a[0], (unsigned long long)a[1], (unsigned long long)a[2],
                  (unsigned long long)a[3], p->sys_noret ? (long)cpu->gpr[X86_RAX] : r);
    if (p->sys_noret)
        return;
    cpu->gpr[X86_RAX] = (uint64_t)r;
    if (r == -EINTR) {
        p->sig.interrupted = true;
        p->sig.interrupted_nr = nr;
        p->sig.interrupted_norestart = d && (d->flags & USER_SYS_NORESTART);
    }
}
