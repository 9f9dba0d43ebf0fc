/* pipe + fork + wait4: a child's output and exit status; a child killed
 * by a signal; vfork; SIGCHLD caught while waiting in rt_sigsuspend. */
#include "ulib.h"

static volatile int chld;

static void on_chld(int sig)
{
    (void)sig;
    chld++;
}

static void put_status(const char *what, int st)
{
    put(what);
    if ((st & 0x7f) == 0) {
        put(": exited ");
        put_num((st >> 8) & 0xff);
    } else {
        put(": killed by ");
        put_num(st & 0x7f);
    }
    put("\n");
}

int main(int argc, char **argv, char **envp)
{
    (void)argc, (void)argv, (void)envp;
    int fds[2];
    put_err("pipe", sys1(__NR_pipe, fds));
    long pid = sys0(__NR_fork);
    if (pid == 0) {
        sys1(__NR_close, fds[0]);
        sys3(__NR_write, fds[1], "child says hi\n", 14);
        exit_group(5);
    }
    put_kv("fork_ok", pid > 0);
    sys1(__NR_close, fds[1]);
    char buf[64];
    long n, total = 0;
    while ((n = sys3(__NR_read, fds[0], buf + total, sizeof(buf) - total)) > 0)
        total += n;
    put("from child: ");
    sys3(__NR_write, 1, buf, total);
    int st = 0;
    put_kv("wait4_pid", sys4(__NR_wait4, pid, &st, 0, 0) == pid);
    put_status("child", st);

    /* a child that waits to be killed */
    pid = sys0(__NR_fork);
    if (pid == 0) {
        for (;;)
            sys0(__NR_pause);
    }
    struct timespec ts = {0, 20 * 1000 * 1000};
    sys2(__NR_nanosleep, &ts, 0);
    put_err("kill", sys2(__NR_kill, pid, SIGTERM));
    sys4(__NR_wait4, pid, &st, 0, 0);
    put_status("paused child", st);

    /* vfork: the child may only exit */
    pid = sys0(__NR_vfork);
    if (pid == 0)
        sys1(__NR_exit, 9);
    sys4(__NR_wait4, pid, &st, 0, 0);
    put_status("vfork child", st);

    /* SIGCHLD while suspended with it unblocked */
    install(SIGCHLD, (void *)on_chld, 0, 0);
    uint64_t block = BIT(SIGCHLD), none = 0;
    sys4(__NR_rt_sigprocmask, SIG_BLOCK, &block, 0, 8);
    pid = sys0(__NR_fork);
    if (pid == 0)
        exit_group(0);
    put_err("sigsuspend", sys2(130 /* rt_sigsuspend */, &none, 8));
    put_kv("sigchld_handled", chld);
    uint64_t now;
    sys4(__NR_rt_sigprocmask, SIG_BLOCK, 0, &now, 8);
    put_kv("mask_back", now == block);
    sys4(__NR_wait4, pid, &st, 0, 0);
    put_status("last child", st);
    return 0;
}
