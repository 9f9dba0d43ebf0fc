/* The guest process of `xuni user` (private to src/user).
 *
 * How the pieces fit:
 *   user.c      `xuni user` command line, set-up, the run loop
 *   elf.c       loads a static ELF (ET_EXEC or static-pie ET_DYN)
 *   stack.c     the initial stack: argc, argv, envp, auxv
 *   mm.c        the guest address space: one reserved host region, guest
 *               address a = host mm.base + a; the mapped ranges it tracks
 *   fault.c     the host SIGSEGV/SIGBUS handler (guest faults, fault-safe
 *               copies between guest memory and xuni)
 *   signal.c    guest signal state, host signals forwarded to the guest,
 *               CPU exceptions turned into signals, delivery and death
 *   sigframe.c  Linux x86-64 rt_sigframe: building it, rt_sigreturn
 *   syscall.c   the system-call table and dispatch, the generic
 *               pass-through (argument descriptors), interruptible host
 *               calls; syscall_*.c hold the calls of one area each
 *
 * One guest per host process: fork() of the guest is fork() of xuni, and
 * execve() of a static program re-executes xuni (syscall_exec.c). So the
 * process state is a singleton (user_self), which host signal handlers
 * reach.
 *
 * Signal masks: the host signal mask mirrors the guest's blocked set (for
 * every signal but the synchronous ones xuni needs, SIGSEGV SIGBUS SIGILL
 * SIGFPE SIGTRAP), and host dispositions mirror the guest's (SIG_DFL and
 * SIG_IGN as they are, a guest handler as xuni's catcher). So the host
 * kernel keeps blocked signals pending, applies default actions itself
 * (exit status as native), and interrupts blocking calls only for signals
 * the guest handles.
 */
#ifndef XUNI_USER_USER_PROC_H
#define XUNI_USER_USER_PROC_H

#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cpu/x86/cpu.h"
#include "util/log.h"

#define USER_PAGE      4096ULL
#define USER_NSIG      64         /* signals 1..64 */
#define USER_MMAP_MIN  0x10000ULL /* vm.mmap_min_addr's usual value */
#define USER_NSYSCALLS 512

#define USER_SIGBIT(sig) (1ULL << ((sig)-1))

static inline uint64_t user_page_down(uint64_t a)
{
    return a & ~(USER_PAGE - 1);
}

static inline uint64_t user_page_up(uint64_t a)
{
    return (a + USER_PAGE - 1) & ~(USER_PAGE - 1);
}

/* A mapped guest range [start, end). */
struct user_vma {
    uint64_t start, end;
};

struct user_mm {
    uintptr_t base;        /* host address of guest address 0 */
    uint64_t size;         /* guest addresses are [0, size) */
    struct user_vma *vmas; /* sorted, disjoint, adjacent ranges merged */
    size_t nvmas, cap;
    uint64_t mmap_top; /* non-fixed mmaps are placed top-down below this */
    uint64_t stack_top, stack_size;
    uint64_t brk_start, brk;
};

/* The kernel's struct sigaction (what rt_sigaction takes). */
struct user_ksigaction {
    uint64_t handler;
    uint64_t flags;
    uint64_t restorer;
    uint64_t mask;
};

#define USER_SIGRTMIN 32 /* the kernel's, not glibc's */
#define USER_RTQ_MAX  64

struct user_sig {
    struct user_ksigaction act[USER_NSIG + 1];
    uint64_t blocked;    /* the guest's mask */
    uint64_t saved_mask; /* rt_sigsuspend/ppoll/pselect6: the mask to restore */
    bool restore_mask;
    uint64_t pending; /* caught, not delivered yet (host handlers set bits atomically) */
    siginfo_t info[USER_NSIG + 1];
    /* Real-time signals queue (the kernel keeps every instance, in order):
     * the instances caught and not delivered yet, oldest first. */
    siginfo_t rtq[USER_RTQ_MAX];
    unsigned rtq_len;
    /* Set while a pending signal is not blocked: interruptible host calls
     * give up (syscall.c). Host handlers set it; the run loop clears it. */
    volatile int deliverable;
    uint64_t ss_sp, ss_size; /* the guest's sigaltstack */
    int32_t ss_flags;
    /* The last CPU exception, for sigcontext trapno/err/cr2. */
    uint64_t trapno, err, cr2;
    /* The last system call returned -EINTR: restart it per SA_RESTART. */
    bool interrupted, interrupted_norestart;
    uint64_t interrupted_nr;
};

struct user_proc {
    struct x86_cpu cpu;
    struct user_mm mm;
    struct user_sig sig;
    char exe[PATH_MAX];  /* the program, absolute (readlink /proc/self/exe) */
    char xuni[PATH_MAX]; /* this xuni binary, for execve */
    uint64_t clear_child_tid, robust_list, robust_len;
    uint64_t rlimit_as[2]; /* RLIMIT_AS as the guest sees it (not applied to xuni) */
    bool sys_noret;        /* the call set RAX itself (rt_sigreturn) */
    bool exited;
    int exit_status;
    char path[2][PATH_MAX]; /* path arguments copied in by the pass-through */
    struct log_once_set once;
};

extern struct user_proc *user_self;

/* --- elf.c --- */
struct user_image {
    uint64_t entry, phdr, phnum, phent, bias, brk;
    bool exec_stack;
};
enum user_elf_kind { USER_ELF_STATIC, USER_ELF_DYNAMIC, USER_ELF_FOREIGN, USER_ELF_NOT_ELF };
/* What kind of program the open file is (for execve). */
enum user_elf_kind user_elf_classify(int fd);
/* Load path into the guest; logs one message and returns -1 on failure. */
int user_elf_load(struct user_proc *p, const char *path, struct user_image *img);

/* --- stack.c --- */
int user_stack_setup(struct user_proc *p, const struct user_image *img, const char *execfn,
                     int argc, char **argv, char **envp);

/* --- mm.c --- */
int user_mm_init(struct user_mm *mm);
void user_mm_destroy(struct user_mm *mm);
int user_mm_map(struct user_proc *p, uint64_t addr, uint64_t len, int prot, int flags, int fd,
                uint64_t off);
int user_mm_unmap(struct user_proc *p, uint64_t addr, uint64_t len);
int user_mm_protect(struct user_proc *p, uint64_t addr, uint64_t len, int prot);
bool user_mm_is_free(const struct user_mm *mm, uint64_t addr, uint64_t len);
bool user_mm_is_mapped(const struct user_mm *mm, uint64_t addr, uint64_t len);
/* Highest free range of len bytes inside [lo, hi); 0 if none. */
uint64_t user_mm_find_free(const struct user_mm *mm, uint64_t len, uint64_t lo, uint64_t hi);
/* Move [old, old+oldlen) to [dst, dst+newlen) (host mremap) and track it. */
long user_mm_remap(struct user_proc *p, uint64_t old, uint64_t oldlen, uint64_t newlen,
                   uint64_t dst, bool dontunmap);
/* Re-reserve [addr, addr+len) on the host (PROT_NONE) without tracking. */
int user_mm_reserve(struct user_mm *mm, uint64_t addr, uint64_t len);

static inline void *user_host(const struct user_proc *p, uint64_t a)
{
    return (void *)(p->mm.base + (uintptr_t)a);
}

static inline bool user_range_ok(const struct user_proc *p, uint64_t a, uint64_t len)
{
    return a <= p->mm.size && len <= p->mm.size - a;
}

/* --- fault.c --- */
int user_fault_init(void);
void user_fault_destroy(void);
/* Copies between xuni and guest memory that fail with -EFAULT (never
 * crash) on unmapped or protected guest pages. */
int user_copy_in(struct user_proc *p, void *dst, uint64_t src, size_t n);
int user_copy_out(struct user_proc *p, uint64_t dst, const void *src, size_t n);
/* A NUL-terminated string of at most max bytes (NUL included): its length,
 * or -EFAULT, or -ENAMETOOLONG. */
long user_copy_str(struct user_proc *p, char *dst, uint64_t src, size_t max);
/* Guest pointer to host pointer for the host kernel: guest 0 is NULL,
 * [a, a+len) must lie in the region (-EFAULT otherwise). */
int user_xlate(struct user_proc *p, uint64_t a, uint64_t len, void **out);
/* The host fault behind the #PF the CPU just raised: its signal (SIGSEGV
 * or SIGBUS; 0 if the CPU raised the #PF itself) and page-fault error
 * code. Clears it. */
int user_fault_take(uint64_t *host_err);

/* --- signal.c --- */
int user_sig_init(struct user_proc *p);
void user_sig_exception(struct user_proc *p);
void user_sig_deliver(struct user_proc *p);
/* The catcher for guest-handled host signals (also the fault handler's
 * path for signals sent by kill). */
void user_sig_catch(int sig, siginfo_t *si, void *uc);
int user_sig_set_action(struct user_proc *p, int sig, const struct user_ksigaction *act);
void user_sig_set_blocked(struct user_proc *p, uint64_t mask);
/* rt_sigsuspend, ppoll, pselect6: a temporary mask until a handler runs. */
void user_sig_temp_mask(struct user_proc *p, uint64_t mask);
void user_sig_end_temp_mask(struct user_proc *p);
void user_sig_update_deliverable(struct user_proc *p);
_Noreturn void user_sig_die(int sig);
/* Raw host signal calls (not through libc or sanitizer interceptors). */
int user_host_sigaction(int sig, const struct user_ksigaction *act, struct user_ksigaction *old);
void user_host_sigmask(uint64_t mask);
/* Signals xuni keeps for itself on the host (never blocked there). */
#define USER_SIG_SYNC                                                                              \
    (USER_SIGBIT(SIGSEGV) | USER_SIGBIT(SIGBUS) | USER_SIGBIT(SIGILL) | USER_SIGBIT(SIGFPE) |      \
     USER_SIGBIT(SIGTRAP))
#define USER_SIG_UNBLOCKABLE (USER_SIGBIT(SIGKILL) | USER_SIGBIT(SIGSTOP))

static inline bool user_sig_on_altstack(const struct user_sig *s, uint64_t sp)
{
    return s->ss_size && sp > s->ss_sp && sp - s->ss_sp <= s->ss_size;
}

/* --- sigframe.c --- */
int user_sigframe_setup(struct user_proc *p, int sig, const siginfo_t *info);
long user_sigreturn(struct user_proc *p);

/* --- syscall.c --- */
typedef long user_sys_fn(struct user_proc *p, const uint64_t *a);

enum user_arg_kind {
    UA_VAL,   /* passed as is */
    UA_PATH,  /* NUL-terminated string, copied in */
    UA_PTR,   /* pointer to size bytes */
    UA_BUF,   /* pointer to arg[n] bytes (clamped to the region) */
    UA_ARRAY, /* pointer to arg[n] elements of size bytes */
};

struct user_arg {
    uint8_t kind, n;
    uint16_t size;
};

/* Flags of a system call. */
#define USER_SYS_BLOCKS    1 /* may block: interruptible by guest signals */
#define USER_SYS_NORESTART 2 /* -EINTR even with SA_RESTART (poll, sleeps, ...) */

struct user_syscall_def {
    uint16_t nr;
    uint8_t flags;
    const char *name;
    user_sys_fn *fn; /* a handler, or NULL: pass through with arg[] */
    struct user_arg arg[6];
};

#define UV                                                                                         \
    {                                                                                              \
        UA_VAL, 0, 0                                                                               \
    }
#define UPATH                                                                                      \
    {                                                                                              \
        UA_PATH, 0, 0                                                                              \
    }
#define UPTR(sz)                                                                                   \
    {                                                                                              \
        UA_PTR, 0, (sz)                                                                            \
    }
#define UBUF(n)                                                                                    \
    {                                                                                              \
        UA_BUF, (n), 1                                                                             \
    }
#define UARR(n, sz)                                                                                \
    {                                                                                              \
        UA_ARRAY, (n), (sz)                                                                        \
    }
/* A pass-through entry and a handler entry. */
#define USYS(name, flags, ...)                                                                     \
    {                                                                                              \
        SYS_##name, (flags), #name, NULL,                                                          \
        {                                                                                          \
            __VA_ARGS__                                                                            \
        }                                                                                          \
    }
#define USYS_FN(name, flags, fn)                                                                   \
    {                                                                                              \
        SYS_##name, (flags), #name, (fn),                                                          \
        {                                                                                          \
            {                                                                                      \
                0, 0, 0                                                                            \
            }                                                                                      \
        }                                                                                          \
    }

/* The areas' tables, each ending with an entry whose name is NULL. */
extern const struct user_syscall_def user_syscalls_fs[], user_syscalls_io[], user_syscalls_mm[],
    user_syscalls_proc[], user_syscalls_exec[], user_syscalls_time[], user_syscalls_net[],
    user_syscalls_signal[];

void user_syscall_init(void);
void user_syscall(struct user_proc *p);
/* Does a signal interrupt this system call only with -EINTR? */
bool user_syscall_norestart(uint64_t nr);
/* A host system call, -errno on failure. Interruptible: returns -EINTR
 * when a deliverable guest signal is pending or arrives while it blocks. */
long user_host_syscall(struct user_proc *p, long nr, const long a[6]);
#define USER_SYSCALL(p, nr, ...) user_host_syscall((p), (nr), (const long[6]){__VA_ARGS__})
/* Not interruptible (for calls that do not block). */
long user_host_syscall_plain(long nr, const long a[6]);
#define USER_SYSCALL_PLAIN(nr, ...) user_host_syscall_plain((nr), (const long[6]){__VA_ARGS__})
/* Signal handlers call this: a signal that arrived between the pending
 * check and the host syscall instruction makes the call return -EINTR. */
void user_syscall_signal_fixup(void *uc);
/* Guest iovecs (at most 1024) into h[] with host bases (syscall_io.c). */
struct iovec;
long user_iov_in(struct user_proc *p, uint64_t giov, uint64_t cnt, struct iovec *h);
#define USER_IOV_MAX 1024
/* Copy path arguments in: slot 0 or 1 of p->path. */
long user_path_in(struct user_proc *p, unsigned slot, uint64_t guest, const char **out);

/* Is path /proc/self/exe (or /proc/PID/exe of this process)? */
bool user_is_self_exe(const char *path);

#endif
