/* Guest signals: dispositions and masks mirrored on the host, host signals
 * caught for guest handlers, CPU exceptions turned into signals, delivery
 * (with the kernel's restart rules), and death by signal.
 *
 * See user_proc.h for the mirroring. A caught signal is recorded pending
 * (one instance per signal number, real-time ones included) and the CPU is
 * asked to stop; the run loop delivers pending unblocked signals after
 * every exit by building signal frames (sigframe.c).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "user/user_proc.h"

#define USER_SA_RESTORER 0x04000000ULL

/* The restorer of xuni's own host handlers: rt_sigreturn. */
void user_sig_restorer(void);
__asm__(".text\n"
        ".globl user_sig_restorer\n"
        ".hidden user_sig_restorer\n"
        ".type user_sig_restorer, @function\n"
        "user_sig_restorer:\n"
        "    mov $15, %eax\n"
        "    syscall\n"
        ".size user_sig_restorer, .-user_sig_restorer\n");

int user_host_sigaction(int sig, const struct user_ksigaction *act, struct user_ksigaction *old)
{
    struct user_ksigaction k;
    if (act) {
        k = *act;
        if (k.handler != (uint64_t)(uintptr_t)SIG_DFL &&
            k.handler != (uint64_t)(uintptr_t)SIG_IGN) {
            k.flags |= USER_SA_RESTORER;
            k.restorer = (uint64_t)(uintptr_t)user_sig_restorer;
        }
    }
    long r = syscall(SYS_rt_sigaction, sig, act ? &k : NULL, old, 8);
    return r < 0 ? -errno : 0;
}

void user_host_sigmask(uint64_t mask)
{
    syscall(SYS_rt_sigprocmask, SIG_SETMASK, &mask, NULL, 8);
}

static bool sig_default_ignores(int sig)
{
    return sig == SIGCHLD || sig == SIGURG || sig == SIGWINCH || sig == SIGCONT;
}

static bool sig_default_stops(int sig)
{
    return sig == SIGSTOP || sig == SIGTSTP || sig == SIGTTIN || sig == SIGTTOU;
}

void user_sig_catch(int sig, siginfo_t *si, void *uc)
{
    struct user_proc *p = user_self;
    if (!p || sig < 1 || sig > USER_NSIG)
        return;
    if (sig >= USER_SIGRTMIN && p->sig.rtq_len < USER_RTQ_MAX)
        p->sig.rtq[p->sig.rtq_len++] = *si;
    else
        p->sig.info[sig] = *si;
    __atomic_fetch_or(&p->sig.pending, USER_SIGBIT(sig), __ATOMIC_SEQ_CST);
    if (!(p->sig.blocked & USER_SIGBIT(sig))) {
        p->sig.deliverable = 1;
        x86_request_stop(&p->cpu);
        user_syscall_signal_fixup(uc);
    }
}

static void catch_handler(int sig, siginfo_t *si, void *uc)
{
    int saved = errno;
    user_sig_catch(sig, si, uc);
    errno = saved;
}

/* The host side of the guest's disposition for sig. */
static int sig_mirror(const struct user_proc *p, int sig)
{
    if (USER_SIGBIT(sig) & USER_SIG_SYNC)
        return 0; /* xuni's fault handler stays; it forwards kill()s */
    const struct user_ksigaction *g = &p->sig.act[sig];
    struct user_ksigaction h = {.handler = g->handler};
    if (sig == SIGCHLD)
        h.flags = g->flags & (SA_NOCLDSTOP | SA_NOCLDWAIT);
    if (g->handler != (uint64_t)(uintptr_t)SIG_DFL && g->handler != (uint64_t)(uintptr_t)SIG_IGN) {
        h.handler = (uint64_t)(uintptr_t)catch_handler;
        h.flags |= SA_SIGINFO | SA_ONSTACK;
        h.mask = ~USER_SIG_SYNC;
    }
    return user_host_sigaction(sig, &h, NULL);
}

int user_sig_set_action(struct user_proc *p, int sig, const struct user_ksigaction *act)
{
    p->sig.act[sig] = *act;
    if (act->handler == (uint64_t)(uintptr_t)SIG_IGN ||
        (act->handler == (uint64_t)(uintptr_t)SIG_DFL && sig_default_ignores(sig)))
        __atomic_fetch_and(&p->sig.pending, ~USER_SIGBIT(sig), __ATOMIC_SEQ_CST);
    return sig_mirror(p, sig);
}

void user_sig_update_deliverable(struct user_proc *p)
{
    p->sig.deliverable = 0;
    __atomic_signal_fence(__ATOMIC_SEQ_CST);
    if (__atomic_load_n(&p->sig.pending, __ATOMIC_SEQ_CST) & ~p->sig.blocked)
        p->sig.deliverable = 1;
}

void user_sig_set_blocked(struct user_proc *p, uint64_t mask)
{
    p->sig.blocked = mask & ~USER_SIG_UNBLOCKABLE;
    /* Unblocking on the host lets signals it held run the catcher now. */
    user_host_sigmask(p->sig.blocked & ~USER_SIG_SYNC);
    user_sig_update_deliverable(p);
}

void user_sig_temp_mask(struct user_proc *p, uint64_t mask)
{
    if (!p->sig.restore_mask) {
        p->sig.saved_mask = p->sig.blocked;
        p->sig.restore_mask = true;
    }
    user_sig_set_blocked(p, mask);
}

void user_sig_end_temp_mask(struct user_proc *p)
{
    if (!p->sig.restore_mask)
        return;
    p->sig.restore_mask = false;
    user_sig_set_blocked(p, p->sig.saved_mask);
}

int user_sig_init(struct user_proc *p)
{
    /* Ignored signals and the mask survive execve: the guest starts with
     * what xuni was started with. */
    for (int sig = 1; sig <= USER_NSIG; sig++) {
        if (sig == SIGKILL || sig == SIGSTOP)
            continue;
        struct user_ksigaction old;
        if (user_host_sigaction(sig, NULL, &old) < 0)
            continue;
        struct user_ksigaction act = {.handler = (uint64_t)(uintptr_t)SIG_DFL};
        if (old.handler == (uint64_t)(uintptr_t)SIG_IGN)
            act.handler = old.handler;
        user_sig_set_action(p, sig, &act);
    }
    uint64_t mask = 0;
    syscall(SYS_rt_sigprocmask, SIG_BLOCK, NULL, &mask, 8);
    user_sig_set_blocked(p, mask);
    return 0;
}

_Noreturn void user_sig_die(int sig)
{
    struct user_ksigaction dfl = {.handler = (uint64_t)(uintptr_t)SIG_DFL};
    user_host_sigaction(sig, &dfl, NULL);
    uint64_t mask = 0;
    syscall(SYS_rt_sigprocmask, SIG_BLOCK, NULL, &mask, 8);
    user_host_sigmask(mask & ~USER_SIGBIT(sig));
    syscall(SYS_tgkill, getpid(), syscall(SYS_gettid), sig);
    /* Not reached for fatal signals. */
    _exit(128 + sig);
}

/* --- CPU exceptions --- */

enum { EXC_ADDR_NONE, EXC_ADDR_IP, EXC_ADDR_FAULT };

static const struct {
    uint8_t sig;
    uint8_t addr;
    int code;
} exc_sig[32] = {
    [X86_EXC_DE] = {SIGFPE, EXC_ADDR_IP, FPE_INTDIV},
    [X86_EXC_DB] = {SIGTRAP, EXC_ADDR_IP, TRAP_TRACE},
    [X86_EXC_BP] = {SIGTRAP, EXC_ADDR_NONE, SI_KERNEL},
    [X86_EXC_OF] = {SIGSEGV, EXC_ADDR_NONE, SI_KERNEL},
    [X86_EXC_BR] = {SIGSEGV, EXC_ADDR_NONE, SI_KERNEL},
    [X86_EXC_UD] = {SIGILL, EXC_ADDR_IP, ILL_ILLOPN},
    [X86_EXC_NM] = {SIGSEGV, EXC_ADDR_NONE, SI_KERNEL},
    [X86_EXC_TS] = {SIGSEGV, EXC_ADDR_NONE, SI_KERNEL},
    [X86_EXC_NP] = {SIGBUS, EXC_ADDR_NONE, SI_KERNEL},
    [X86_EXC_SS] = {SIGBUS, EXC_ADDR_NONE, SI_KERNEL},
    [X86_EXC_GP] = {SIGSEGV, EXC_ADDR_NONE, SI_KERNEL},
    [X86_EXC_PF] = {SIGSEGV, EXC_ADDR_FAULT, SEGV_MAPERR},
    [X86_EXC_MF] = {SIGFPE, EXC_ADDR_IP, 0},
    [X86_EXC_AC] = {SIGBUS, EXC_ADDR_NONE, BUS_ADRALN},
    [X86_EXC_XM] = {SIGFPE, EXC_ADDR_IP, 0},
};

/* si_code of an x87 or SSE floating-point exception (as the kernel's
 * fpu__exception_code): the unmasked exception flags decide. */
static int fp_code(const struct x86_cpu *cpu, unsigned vector)
{
    unsigned err = vector == X86_EXC_MF ? cpu->fpu.fsw & ~cpu->fpu.fcw & 0x3f
                                        : ~(cpu->mxcsr >> 7) & cpu->mxcsr & 0x3f;
    if (err & 0x01)
        return FPE_FLTINV;
    if (err & 0x04)
        return FPE_FLTDIV;
    if (err & 0x08)
        return FPE_FLTOVF;
    if (err & 0x12)
        return FPE_FLTUND;
    if (err & 0x20)
        return FPE_FLTRES;
    return 0;
}

/* A guest dies by its fault silently, as natively; at XUNI_LOG=info xuni
 * says where (an instruction the CPU does not implement yet shows here). */
static void log_fatal(struct user_proc *p, int sig)
{
    if (log_get_level() < LOG_INFO)
        return;
    uint8_t b[8] = {0};
    for (unsigned i = 0; i < sizeof(b); i++)
        if (user_copy_in(p, &b[i], p->cpu.rip + i, 1) < 0)
            break;
    log_info("user: exception %u (error %#x, address %#llx) at rip %#llx "
             "[%02x %02x %02x %02x %02x %02x %02x %02x]: signal %d",
             p->cpu.exc.vector, p->cpu.exc.error, (unsigned long long)p->cpu.exc.addr,
             (unsigned long long)p->cpu.rip, b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], sig);
}

void user_sig_exception(struct user_proc *p)
{
    const struct x86_exception *e = &p->cpu.exc;
    unsigned v = e->vector < 32 ? e->vector : X86_EXC_GP;
    int sig = exc_sig[v].sig ? exc_sig[v].sig : SIGSEGV;
    siginfo_t info;
    memset(&info, 0, sizeof(info));
    info.si_signo = sig;
    info.si_code = exc_sig[v].sig ? exc_sig[v].code : SI_KERNEL;
    if (exc_sig[v].addr == EXC_ADDR_IP)
        info.si_addr = (void *)(uintptr_t)p->cpu.rip;
    p->sig.trapno = v;
    p->sig.err = e->has_error ? e->error : 0;
    if (v == X86_EXC_PF) {
        uint64_t host_err;
        int host_sig = user_fault_take(&host_err);
        p->sig.cr2 = e->addr;
        info.si_addr = (void *)(uintptr_t)e->addr;
        /* The host knows best whether the page was present (P) and the
         * access a write (W); the guest runs at CPL 3 (U). */
        if (host_sig)
            p->sig.err = (host_err & 3) | 4 | (e->error & 0x10);
        if (host_sig == SIGBUS) {
            info.si_signo = sig = SIGBUS;
            info.si_code = BUS_ADRERR;
        } else if (user_mm_is_mapped(&p->mm, user_page_down(e->addr), 1)) {
            info.si_code = SEGV_ACCERR;
        }
    } else if (v == X86_EXC_MF || v == X86_EXC_XM) {
        info.si_code = fp_code(&p->cpu, v);
    }
    /* As the kernel's force_sig: a blocked or ignored fault signal cannot
     * be held off, it takes its default action. */
    struct user_ksigaction *act = &p->sig.act[sig];
    if (act->handler == (uint64_t)(uintptr_t)SIG_IGN || (p->sig.blocked & USER_SIGBIT(sig))) {
        struct user_ksigaction dfl = {.handler = (uint64_t)(uintptr_t)SIG_DFL};
        user_sig_set_action(p, sig, &dfl);
        user_sig_set_blocked(p, p->sig.blocked & ~USER_SIGBIT(sig));
    }
    if (act->handler == (uint64_t)(uintptr_t)SIG_DFL) {
        log_fatal(p, sig);
        user_sig_die(sig);
    }
    if (user_sigframe_setup(p, sig, &info) < 0)
        user_sig_die(SIGSEGV);
}

/* --- delivery --- */

static void restart_syscall(struct user_proc *p)
{
    p->cpu.rip -= 2; /* the SYSCALL instruction */
    p->cpu.gpr[X86_RAX] = p->sig.interrupted_nr;
}

static int pick_signal(uint64_t ready)
{
    /* Synchronous signals first, as the kernel dequeues them. */
    uint64_t sync = ready & (USER_SIG_SYNC | USER_SIGBIT(SIGSYS));
    return __builtin_ctzll(sync ? sync : ready) + 1;
}

/* Take the next instance of sig: real-time signals from the queue (the bit
 * stays pending while more instances wait), others from info[]. The host
 * handler appends to the queue, so it is held off meanwhile. */
static siginfo_t take_signal(struct user_proc *p, int sig)
{
    if (sig < USER_SIGRTMIN) {
        __atomic_fetch_and(&p->sig.pending, ~USER_SIGBIT(sig), __ATOMIC_SEQ_CST);
        return p->sig.info[sig];
    }
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, &old);
    siginfo_t info = p->sig.info[sig]; /* if the queue overflowed */
    bool more = false, found = false;
    for (unsigned i = 0; i < p->sig.rtq_len; i++) {
        if (p->sig.rtq[i].si_signo != sig)
            continue;
        if (found) {
            more = true;
            break;
        }
        found = true;
        info = p->sig.rtq[i];
        memmove(&p->sig.rtq[i], &p->sig.rtq[i + 1], (p->sig.rtq_len - i - 1) * sizeof(info));
        p->sig.rtq_len--;
        i--;
    }
    if (!more)
        __atomic_fetch_and(&p->sig.pending, ~USER_SIGBIT(sig), __ATOMIC_SEQ_CST);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    return info;
}

void user_sig_deliver(struct user_proc *p)
{
    bool consumed = false;
    for (;;) {
        uint64_t ready = __atomic_load_n(&p->sig.pending, __ATOMIC_SEQ_CST) & ~p->sig.blocked;
        if (!ready)
            break;
        int sig = pick_signal(ready);
        siginfo_t info = take_signal(p, sig);
        const struct user_ksigaction *act = &p->sig.act[sig];
        consumed = true;
        if (act->handler == (uint64_t)(uintptr_t)SIG_IGN)
            continue;
        if (act->handler == (uint64_t)(uintptr_t)SIG_DFL) {
            if (sig_default_stops(sig))
                kill(getpid(), SIGSTOP);
            else if (!sig_default_ignores(sig))
                user_sig_die(sig);
            continue;
        }
        if (p->sig.interrupted) {
            if ((act->flags & SA_RESTART) && !p->sig.interrupted_norestart)
                restart_syscall(p);
            p->sig.interrupted = false;
        }
        if (user_sigframe_setup(p, sig, &info) < 0)
            user_sig_die(SIGSEGV);
    }
    /* Interrupted, and no handler ran: the call resumes (as -ERESTART*
     * does in the kernel when no handler is invoked). */
    if (p->sig.interrupted && consumed)
        restart_syscall(p);
    p->sig.interrupted = false;
    user_sig_end_temp_mask(p);
    user_sig_update_deliverable(p);
}
