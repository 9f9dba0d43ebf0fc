/* Signals sent to ourselves: delivery with siginfo, the handler's mask,
 * blocking and rt_sigpending, SA_RESETHAND, the alternate stack, the red
 * zone, SIGALRM ending pause(), an unknown system call. `signals term`:
 * SIGTERM with the default action ends the program. */
#include "ulib.h"

#define SS_ONSTACK 1

static volatile int usr1, usr2, alrm;
static volatile long info_code, info_pid, handler_mask, on_alt, alt_flags;
static char altstack[16384] __attribute__((aligned(16)));

struct stack_ {
    void *sp;
    int flags;
    unsigned long size;
};

static long getmask(void)
{
    uint64_t m;
    sys4(__NR_rt_sigprocmask, SIG_BLOCK, 0, &m, 8);
    return (long)m;
}

static void on_usr1(int sig, struct ksiginfo *si, void *uc)
{
    (void)sig, (void)uc;
    usr1++;
    info_code = si->si_code;
    info_pid = si->kill.pid;
    handler_mask = getmask();
}

static void on_usr2(int sig)
{
    (void)sig;
    char local;
    usr2++;
    on_alt = &local >= altstack && &local < altstack + sizeof(altstack);
    struct stack_ old;
    sys2(__NR_sigaltstack, 0, &old);
    alt_flags = old.flags;
}

static void on_alrm(int sig)
{
    (void)sig;
    alrm++;
}

static long self_kill(int sig)
{
    return sys2(__NR_kill, sys0(__NR_getpid), sig);
}

int main(int argc, char **argv, char **envp)
{
    (void)envp;
    if (argc > 1 && strcmp(argv[1], "term") == 0) {
        put("terminating\n");
        self_kill(SIGTERM);
        put("survived\n");
        return 1;
    }
    install(SIGUSR1, (void *)on_usr1, SA_SIGINFO, BIT(SIGUSR2));
    put_err("kill", self_kill(SIGUSR1));
    put_kv("usr1", usr1);
    put_kv("si_code_user", info_code == 0);
    put_kv("si_pid_self", info_pid == sys0(__NR_getpid));
    put_kv("handler_mask", handler_mask);
    put_kv("mask_after", getmask());

    uint64_t block = BIT(SIGUSR1), pending = 0;
    sys4(__NR_rt_sigprocmask, SIG_BLOCK, &block, 0, 8);
    self_kill(SIGUSR1);
    put_kv("blocked_not_delivered", usr1 == 1);
    sys2(__NR_rt_sigpending, &pending, 8);
    put_kv("pending", (long)pending);
    sys4(__NR_rt_sigprocmask, SIG_UNBLOCK, &block, 0, 8);
    put_kv("delivered_on_unblock", usr1);

    /* SA_RESETHAND and SA_ONSTACK */
    struct stack_ ss = {altstack, 0, sizeof(altstack)};
    put_err("sigaltstack", sys2(__NR_sigaltstack, &ss, 0));
    install(SIGUSR2, (void *)on_usr2, SA_RESETHAND | SA_ONSTACK, 0);
    self_kill(SIGUSR2);
    put_kv("usr2", usr2);
    put_kv("ran_on_altstack", on_alt);
    put_kv("altstack_flags_in_handler", alt_flags);
    struct ksigaction old;
    sys4(__NR_rt_sigaction, SIGUSR2, 0, &old, 8);
    put_kv("reset_to_default", old.handler == (void *)SIG_DFL);

    /* the 128-byte red zone below RSP survives a handler */
    long red;
    __asm__ volatile("movq $0x5eed, -64(%%rsp)\n"
                     "syscall\n"
                     "movq -64(%%rsp), %0\n"
                     : "=r"(red)
                     : "a"((long)__NR_kill), "D"(sys0(__NR_getpid)), "S"((long)SIGUSR1)
                     : "rcx", "r11", "memory");
    put_kv("red_zone_kept", red == 0x5eed);
    put_kv("usr1_again", usr1);

    /* ignored signals vanish */
    install(SIGUSR2, (void *)SIG_IGN, 0, 0);
    put_err("kill_ignored", self_kill(SIGUSR2));

    /* SIGALRM ends pause() */
    install(SIGALRM, (void *)on_alrm, 0, 0);
    sys1(__NR_alarm, 1);
    put_err("pause", sys0(__NR_pause));
    put_kv("alrm", alrm);

    put_err("unknown_syscall_500", sys0(500));
    put_err("bad_sigaction_size", sys4(__NR_rt_sigaction, SIGUSR1, 0, 0, 4));
    put_err("sigaction_kill", install(SIGKILL, (void *)on_alrm, 0, 0));
    return 0;
}
