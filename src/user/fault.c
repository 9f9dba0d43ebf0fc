/* Host faults: the SIGSEGV/SIGBUS handler and fault-safe guest copies.
 *
 * A host fault on an address inside the guest region is one of:
 *   - the emulator touching guest memory for an instruction: the CPU turns
 *     it into a guest #PF (x86_fault_from_signal longjmps into x86_run);
 *   - xuni copying to or from guest memory for a system call: the copy
 *     gives up with -EFAULT (longjmp to user_copy_*), as the kernel's
 *     copy_from_user would.
 * Signals of these kinds that another process sent (kill) are not faults:
 * they go to the guest like any other signal. Anything else is a bug in
 * xuni: say so and abort.
 *
 * The handler runs on its own stack (sigaltstack) with SA_NODEFER and an
 * empty mask, so that leaving it by longjmp leaves the mask as it was.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <ucontext.h>
#include <unistd.h>

#include "cpu/x86/mem.h"
#include "user/user_proc.h"

#define USER_ALTSTACK_SIZE (256u << 10)

static __thread sigjmp_buf *copy_env;
static __thread int last_fault_signal;
static __thread uint64_t last_fault_err;
static void *altstack;

int user_fault_take(uint64_t *host_err)
{
    int sig = last_fault_signal;
    *host_err = last_fault_err;
    last_fault_signal = 0;
    return sig;
}

/* A fault xuni cannot explain: report it without anything that may lock
 * (the fault may have hit inside malloc or stdio), then abort. */
static void fault_bug(int sig, const siginfo_t *si, const ucontext_t *uc)
{
    char msg[160] = "xuni: internal error: host signal ";
    char num[20];
    uint64_t vals[3] = {(uint64_t)sig, (uint64_t)(uintptr_t)si->si_addr,
                        (uint64_t)uc->uc_mcontext.gregs[REG_RIP]};
    const char *labels[3] = {"", " at address 0x", " (host rip 0x"};
    for (int i = 0; i < 3; i++) {
        unsigned base = i == 0 ? 10 : 16, n = 0;
        uint64_t v = vals[i];
        do {
            num[n++] = "0123456789abcdef"[v % base];
            v /= base;
        } while (v);
        strcat(msg, labels[i]);
        size_t len = strlen(msg);
        while (n)
            msg[len++] = num[--n];
        msg[len] = 0;
    }
    strcat(msg, ")\n");
    ssize_t w = write(2, msg, strlen(msg));
    (void)w;
    struct user_ksigaction dfl = {.handler = (uint64_t)(uintptr_t)SIG_DFL};
    user_host_sigaction(SIGABRT, &dfl, NULL);
    user_host_sigaction(sig, &dfl, NULL);
    abort();
}

static void fault_handler(int sig, siginfo_t *si, void *ucv)
{
    ucontext_t *uc = ucv;
    if (si->si_code <= 0) {
        /* Sent by kill/tgkill/sigqueue: a signal for the guest. */
        user_sig_catch(sig, si, ucv);
        return;
    }
    struct user_proc *p = user_self;
    uintptr_t a = (uintptr_t)si->si_addr;
    if (p && (sig == SIGSEGV || sig == SIGBUS) && a >= p->mm.base && a - p->mm.base < p->mm.size) {
        if (copy_env)
            siglongjmp(*copy_env, 1);
        /* REG_ERR is the host's page-fault error code: bit 1 set for a
         * write, bit 0 for a present page (a protection fault). */
        last_fault_signal = sig;
        last_fault_err = (uint64_t)uc->uc_mcontext.gregs[REG_ERR];
        x86_fault_from_signal(&p->cpu, a, last_fault_err);
        last_fault_signal = 0;
    }
    fault_bug(sig, si, uc);
}

int user_fault_init(void)
{
    altstack =
        mmap(NULL, USER_ALTSTACK_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (altstack == MAP_FAILED) {
        altstack = NULL;
        return -errno;
    }
    stack_t ss = {.ss_sp = altstack, .ss_size = USER_ALTSTACK_SIZE};
    if (sigaltstack(&ss, NULL) < 0)
        return -errno;
    static const int sigs[] = {SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGTRAP};
    struct user_ksigaction act = {
        .handler = (uint64_t)(uintptr_t)fault_handler,
        .flags = SA_SIGINFO | SA_ONSTACK | SA_NODEFER,
    };
    for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++) {
        int r = user_host_sigaction(sigs[i], &act, NULL);
        if (r < 0)
            return r;
    }
    return 0;
}

void user_fault_destroy(void)
{
    if (!altstack)
        return;
    stack_t ss = {.ss_flags = SS_DISABLE};
    sigaltstack(&ss, NULL);
    munmap(altstack, USER_ALTSTACK_SIZE);
    altstack = NULL;
}

/* memcpy that returns -EFAULT instead of crashing on a guest-memory fault.
 * The signal fences keep the compiler from moving the copy out of the
 * window in which copy_env is set. */
static int safe_memcpy(void *dst, const void *src, size_t n)
{
    sigjmp_buf env;
    if (sigsetjmp(env, 0)) {
        copy_env = NULL;
        return -EFAULT;
    }
    copy_env = &env;
    __atomic_signal_fence(__ATOMIC_SEQ_CST);
    memcpy(dst, src, n);
    __atomic_signal_fence(__ATOMIC_SEQ_CST);
    copy_env = NULL;
    return 0;
}

int user_copy_in(struct user_proc *p, void *dst, uint64_t src, size_t n)
{
    if (n == 0)
        return 0;
    if (!user_range_ok(p, src, n))
        return -EFAULT;
    return safe_memcpy(dst, user_host(p, src), n);
}

int user_copy_out(struct user_proc *p, uint64_t dst, const void *src, size_t n)
{
    if (n == 0)
        return 0;
    if (!user_range_ok(p, dst, n))
        return -EFAULT;
    return safe_memcpy(user_host(p, dst), src, n);
}

static long safe_strnlen(const char *s, size_t max)
{
    sigjmp_buf env;
    if (sigsetjmp(env, 0)) {
        copy_env = NULL;
        return -EFAULT;
    }
    copy_env = &env;
    __atomic_signal_fence(__ATOMIC_SEQ_CST);
    size_t n = strnlen(s, max);
    __atomic_signal_fence(__ATOMIC_SEQ_CST);
    copy_env = NULL;
    return (long)n;
}

long user_copy_str(struct user_proc *p, char *dst, uint64_t src, size_t max)
{
    if (src >= p->mm.size)
        return -EFAULT;
    size_t avail = p->mm.size - src;
    long n = safe_strnlen(user_host(p, src), avail < max ? avail : max);
    if (n < 0)
        return n;
    if ((size_t)n == max)
        return -ENAMETOOLONG;
    if ((size_t)n == avail)
        return -EFAULT; /* runs off the end of the address space */
    int r = user_copy_in(p, dst, src, (size_t)n + 1);
    return r < 0 ? r : n;
}

int user_xlate(struct user_proc *p, uint64_t a, uint64_t len, void **out)
{
    if (a == 0) {
        *out = NULL;
        return 0;
    }
    if (!user_range_ok(p, a, len))
        return -EFAULT;
    *out = user_host(p, a);
    return 0;
}
