/* Faults and traps. `segv catch`: SIGSEGV handlers that longjmp out (with
 * the mask restored as siglongjmp does) and that fix the faulting register
 * and return; SIGFPE for a division by zero; SIGTRAP for int3. `segv die`,
 * `segv ud2`, `segv div0`: no handler, the program dies by the signal. */
#include "ulib.h"

/* glibc's REG_* indexes into uc_mcontext.gregs, at offset 40 in ucontext */
#define REG_RBX    11
#define REG_RIP    16
#define REG_ERR    19
#define REG_TRAPNO 20
#define REG_CR2    22

static jmpbuf env;
static volatile long got_sig, got_code, got_addr, got_trapno, got_err, got_cr2, got_rip;
static long good = 1234;
extern char div_insn[], int3_after[];

static uint64_t *gregs(void *uc)
{
    return (uint64_t *)((char *)uc + 40);
}

static void record(int sig, struct ksiginfo *si, void *uc)
{
    got_sig = sig;
    got_code = si->si_code;
    got_addr = (long)si->addr;
    got_trapno = (long)gregs(uc)[REG_TRAPNO];
    got_err = (long)gregs(uc)[REG_ERR];
    got_cr2 = (long)gregs(uc)[REG_CR2];
    got_rip = (long)gregs(uc)[REG_RIP];
}

static void jump_out(int sig, struct ksiginfo *si, void *uc)
{
    record(sig, si, uc);
    longjmp_(env, 1);
}

static void fix_rbx(int sig, struct ksiginfo *si, void *uc)
{
    record(sig, si, uc);
    gregs(uc)[REG_RBX] = (uint64_t)(uintptr_t)&good;
}

static void skip_insn(int sig, struct ksiginfo *si, void *uc)
{
    record(sig, si, uc);
    gregs(uc)[REG_RIP] += 2; /* the 2-byte div */
}

static uint64_t blocked(void)
{
    uint64_t old;
    sys4(__NR_rt_sigprocmask, SIG_BLOCK, 0, &old, 8);
    return old;
}

static void report(const char *what)
{
    put(what);
    put(": sig=");
    put_num(got_sig);
    put(" code=");
    put_num(got_code);
    put(" addr=");
    put_hex((unsigned long)got_addr);
    put(" trapno=");
    put_num(got_trapno);
    put(" err=");
    put_num(got_err & 7);
    put("\n");
}

static void catch_tests(void)
{
    /* a NULL-page read, left by longjmp; the mask is restored by hand */
    install(SIGSEGV, (void *)jump_out, SA_SIGINFO, BIT(SIGUSR1));
    uint64_t saved = blocked();
    if (setjmp_(env) == 0) {
        (void)*(volatile char *)16;
        put("not reached\n");
    }
    put_kv("mask_in_handler_had_segv_usr1",
           (blocked() & (BIT(SIGSEGV) | BIT(SIGUSR1))) == (BIT(SIGSEGV) | BIT(SIGUSR1)));
    sys4(__NR_rt_sigprocmask, SIG_SETMASK, &saved, 0, 8);
    report("null read");
    put_kv("cr2", got_cr2);
    put_kv("mask_restored", blocked() == saved);

    /* a write to read-only memory (this function's code) */
    if (setjmp_(env) == 0)
        *(volatile char *)(uintptr_t)catch_tests = 0;
    sys4(__NR_rt_sigprocmask, SIG_SETMASK, &saved, 0, 8);
    report("text write");
    put_kv("addr_is_text", got_addr == (long)(uintptr_t)catch_tests);

    /* the handler repairs RBX and returns: the load runs again */
    install(SIGSEGV, (void *)fix_rbx, SA_SIGINFO, 0);
    long v;
    __asm__ volatile("mov (%%rbx), %0" : "=r"(v) : "b"(8L) : "memory");
    report("fixed load");
    put_kv("loaded", v);

    /* division by zero, skipped by the handler */
    install(SIGFPE, (void *)skip_insn, SA_SIGINFO, 0);
    long q = 100, zero = 0;
    __asm__ volatile("cqo\n"
                     ".globl div_insn\n"
                     "div_insn: idiv %2\n"
                     : "+a"(q)
                     : "d"(0L), "r"(zero)
                     : "cc");
    report("divide");
    put_kv("addr_is_div", got_addr == (long)(uintptr_t)div_insn);
    put_kv("rip_is_div", got_rip == (long)(uintptr_t)div_insn);

    /* int3: a trap, reported after the instruction */
    install(SIGTRAP, (void *)record, SA_SIGINFO, 0);
    __asm__ volatile("int3\n"
                     ".globl int3_after\n"
                     "int3_after:\n");
    report("int3");
    put_kv("rip_after_int3", got_rip == (long)(uintptr_t)int3_after);
}

int main(int argc, char **argv, char **envp)
{
    (void)envp;
    const char *mode = argc > 1 ? argv[1] : "catch";
    if (strcmp(mode, "catch") == 0) {
        catch_tests();
        return 0;
    }
    put("dying\n");
    if (strcmp(mode, "die") == 0)
        *(volatile char *)8 = 1;
    else if (strcmp(mode, "ud2") == 0)
        __asm__ volatile("ud2");
    else if (strcmp(mode, "div0") == 0) {
        volatile long zero = 0;
        put_num(10 / zero);
    } else if (strcmp(mode, "ignored") == 0) {
        /* an ignored SIGSEGV cannot hold off a fault */
        install(SIGSEGV, (void *)SIG_IGN, 0, 0);
        *(volatile char *)8 = 1;
    }
    put("survived\n");
    return 1;
}
