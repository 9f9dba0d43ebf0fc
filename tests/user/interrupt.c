/* Signals that interrupt: a guest spinning without system calls still gets
 * SIGALRM; a blocking read is restarted by an SA_RESTART handler and fails
 * with EINTR otherwise; nanosleep fails with EINTR even with SA_RESTART; a
 * signal from another process; rt_sigtimedwait takes a blocked signal. */
#include "ulib.h"

#define __NR_setitimer       38
#define __NR_rt_sigtimedwait 128

static volatile int alrm, usr1;

static void on_alrm(int sig)
{
    (void)sig;
    alrm++;
}

static void on_usr1(int sig)
{
    (void)sig;
    usr1++;
}

static void timer_ms(long ms)
{
    long it[4] = {0, 0, ms / 1000, (ms % 1000) * 1000};
    sys3(__NR_setitimer, 0, it, 0);
}

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000};
    while (sys2(__NR_nanosleep, &ts, &ts) == -EINTR)
        ;
}

int main(int argc, char **argv, char **envp)
{
    (void)argc, (void)argv, (void)envp;
    char c = 0;

    /* no system call for the emulator to stop at */
    install(SIGALRM, (void *)on_alrm, 0, 0);
    timer_ms(50);
    for (volatile unsigned long i = 0; !alrm; i++)
        ;
    put_kv("spin_interrupted", alrm);

    int fds[2];
    sys1(__NR_pipe, fds);
    long child = sys0(__NR_fork);
    if (child == 0) {
        sleep_ms(400);
        sys3(__NR_write, fds[1], "x", 1);
        sleep_ms(1100);
        sys3(__NR_write, fds[1], "y", 1);
        sleep_ms(300);
        sys2(__NR_kill, sys0(__NR_getppid), SIGUSR1);
        exit_group(0);
    }
    install(SIGALRM, (void *)on_alrm, SA_RESTART, 0);
    alrm = 0;
    timer_ms(100);
    long n = sys3(__NR_read, fds[0], &c, 1);
    put_err("read_restarted", n);
    put_kv("got", c);
    put_kv("alrm_restart", alrm);

    install(SIGALRM, (void *)on_alrm, 0, 0);
    alrm = 0;
    timer_ms(100);
    put_err("read_interrupted", sys3(__NR_read, fds[0], &c, 1));
    put_kv("alrm_eintr", alrm);
    put_err("read_again", sys3(__NR_read, fds[0], &c, 1));
    put_kv("got", c);

    install(SIGUSR1, (void *)on_usr1, SA_RESTART, 0);
    struct timespec ts = {10, 0};
    put_err("nanosleep_until_child_signal", sys2(__NR_nanosleep, &ts, &ts));
    put_kv("usr1", usr1);
    put_kv("remaining_set", ts.tv_sec > 0 && ts.tv_sec < 10);
    int st;
    sys4(__NR_wait4, child, &st, 0, 0);

    uint64_t set = BIT(SIGUSR2);
    struct ksiginfo info;
    sys4(__NR_rt_sigprocmask, SIG_BLOCK, &set, 0, 8);
    sys2(__NR_kill, sys0(__NR_getpid), SIGUSR2);
    put_err("sigtimedwait", sys4(__NR_rt_sigtimedwait, &set, &info, 0, 8));
    put_kv("info_signo", info.si_signo);
    put_kv("info_code", info.si_code);
    struct timespec zero = {0, 0};
    put_err("sigtimedwait_none", sys4(__NR_rt_sigtimedwait, &set, &info, &zero, 8));
    return 0;
}
