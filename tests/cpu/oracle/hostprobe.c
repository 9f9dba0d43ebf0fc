/* Ask the host CPU what it makes of a byte string: valid or #UD, and how
 * long the instruction is.
 *
 * The bytes are executed natively in a forked child, placed so that the
 * first L bytes end exactly at the end of an executable page; the page after
 * it is mapped read-write but not executable. If the CPU needs more than L
 * bytes, fetching the next one faults (#PF with the fetch bit, RIP still at
 * the instruction); otherwise the instruction ran (or raised something
 * else). The smallest L without a fetch fault is the host's length, and the
 * signal at that L its verdict: SIGILL (#UD) is "invalid", anything else
 * (ran, #GP for a privileged instruction, #PF on data, #DE...) is "valid".
 *
 * The child runs with every general register pointing into a scratch
 * mapping, a short CPU-time alarm (for jumps to self) and seccomp strict
 * mode (a random SYSCALL kills it instead of doing anything), and reports
 * through a shared page from its signal handler, which runs on an
 * alternate stack and touches no TLS (the instruction may have changed FS).
 */
#define _GNU_SOURCE
#include "hostprobe.h"

#include <linux/seccomp.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <ucontext.h>
#include <unistd.h>

#define PAGE          4096UL
#define CODE_ADDR     0x7e0000000000UL /* code page, then the non-executable page */
#define SCRATCH_ADDR  0x7d0000000000UL /* (high: clear of ASan's shadow) */
#define SCRATCH_SIZE  (2UL << 20)
#define SCRATCH_VALUE (SCRATCH_ADDR + SCRATCH_SIZE / 2)

struct probe_report {
    volatile int done;
    int signo;
    int trapno;
    uint64_t err;
    uint64_t rip;
    uint64_t addr;
};

static struct probe_report *report;

static void __attribute__((no_stack_protector)) probe_handler(int sig, siginfo_t *si, void *uc_)
{
    ucontext_t *uc = uc_;
    report->signo = sig;
    report->trapno = (int)uc->uc_mcontext.gregs[REG_TRAPNO];
    report->err = (uint64_t)uc->uc_mcontext.gregs[REG_ERR];
    report->rip = (uint64_t)uc->uc_mcontext.gregs[REG_RIP];
    report->addr = (uint64_t)(uintptr_t)si->si_addr;
    report->done = 1;
    /* exit (not exit_group): the one way out seccomp strict mode allows. */
    __asm__ volatile("syscall" ::"a"(SYS_exit), "D"(0) : "rcx", "r11", "memory");
    __builtin_unreachable();
}

/* Load every general register with SCRATCH_VALUE (the stack too), clear
 * the flags and jump to target. */
static void __attribute__((noreturn)) probe_enter(uint64_t target)
{
    __asm__ volatile("mov %1, %%rsp\n\t"
                     "push %0\n\t"
                     "push $0x202\n\t"
                     "popfq\n\t"
                     "mov %1, %%rax\n\t"
                     "mov %1, %%rbx\n\t"
                     "mov %1, %%rcx\n\t"
                     "mov %1, %%rdx\n\t"
                     "mov %1, %%rbp\n\t"
                     "mov %1, %%r8\n\t"
                     "mov %1, %%r9\n\t"
                     "mov %1, %%r10\n\t"
                     "mov %1, %%r11\n\t"
                     "mov %1, %%r12\n\t"
                     "mov %1, %%r13\n\t"
                     "mov %1, %%r14\n\t"
                     "mov %1, %%r15\n\t"
                     "mov %1, %%rdi\n\t"
                     "mov %1, %%rsi\n\t"
                     "ret" ::"r"(target),
                     "r"(SCRATCH_VALUE));
    __builtin_unreachable();
}

static void probe_child(const uint8_t *bytes, unsigned n)
{
    static uint8_t altstack[65536];
    stack_t ss = {.ss_sp = altstack, .ss_size = sizeof(altstack)};
    sigaltstack(&ss, NULL);
    struct sigaction sa = {0};
    sa.sa_sigaction = probe_handler;
    sa.sa_flags = SA_SIGINFO | SA_ONSTACK;
    sigfillset(&sa.sa_mask);
    int sigs[] = {SIGILL, SIGSEGV, SIGBUS, SIGTRAP, SIGFPE};
    for (unsigned i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
        sigaction(sigs[i], &sa, NULL);

    uint8_t *code = mmap((void *)CODE_ADDR, 2 * PAGE, PROT_READ | PROT_WRITE,
                         MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
    void *scratch = mmap((void *)SCRATCH_ADDR, SCRATCH_SIZE, PROT_READ | PROT_WRITE,
                         MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
    if (code != (void *)CODE_ADDR || scratch != (void *)SCRATCH_ADDR)
        _exit(99);
    memset(code, 0x90, PAGE - n);
    memcpy(code + PAGE - n, bytes, n);
    if (mprotect(code, PAGE, PROT_READ | PROT_WRITE | PROT_EXEC) != 0)
        _exit(99);

    struct itimerval it = {.it_value = {.tv_usec = 20000}};
    setitimer(ITIMER_PROF, &it, NULL); /* SIGPROF kills a jump to self */
    prctl(PR_SET_SECCOMP, SECCOMP_MODE_STRICT);
    probe_enter(CODE_ADDR + PAGE - n);
}

/* Run the first n bytes at the end of the executable page. */
static int probe_run(const uint8_t *bytes, unsigned n, struct probe_report *out)
{
    memset((void *)report, 0, sizeof(*report));
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0)
        probe_child(bytes, n);
    int status;
    if (waitpid(pid, &status, 0) < 0)
        return -1;
    *out = *report;
    return 0;
}

static int is_fetch_fault(const struct probe_report *r, uint64_t start)
{
    return r->done && r->signo == SIGSEGV && r->trapno == 14 && r->rip == start &&
           r->addr >= CODE_ADDR + PAGE && r->addr < CODE_ADDR + 2 * PAGE && (r->err & 0x10);
}

int host_probe(const uint8_t *bytes, unsigned avail, struct host_verdict *v)
{
    if (!report) {
        void *p = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
        if (p == MAP_FAILED)
            return -1;
        report = p;
    }
    if (avail > 15)
        avail = 15;
    struct probe_report r;
    for (unsigned n = 1; n <= avail; n++) {
        if (probe_run(bytes, n, &r) != 0)
            return -1;
        if (is_fetch_fault(&r, CODE_ADDR + PAGE - n))
            continue;
        v->len = n;
        v->signo = r.done ? r.signo : 0;
        v->trapno = r.done ? r.trapno : -1;
        v->valid = !(r.done && r.signo == SIGILL && r.rip == CODE_ADDR + PAGE - n);
        return 0;
    }
    v->len = 0; /* still fetching after avail bytes */
    v->signo = 0;
    v->trapno = -1;
    v->valid = 0;
    return 0;
}
