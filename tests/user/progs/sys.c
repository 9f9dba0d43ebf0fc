/* Non-local control flow, signals and processes through glibc, for
 * `xuni user` against native runs.
 *
 *   sys [SECTION...]   jmp faults alarm itimer masks proc exec spawn
 *   sys child ARGS...  (used by exec and spawn: prints its arguments)
 *
 * Output is written with fflush before every fork, and parents wait for
 * their children before printing more, so the order is fixed.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <spawn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;
static const char *self;

static jmp_buf jb;
static int depth_reached;

static void dive(int n)
{
    volatile char pad[64];
    pad[0] = (char)n;
    depth_reached = n;
    if (n == 50)
        longjmp(jb, n + pad[0]);
    if (n < 1000)
        dive(n + 1);
}

static void jmp(void)
{
    volatile int rounds = 0;
    int v = setjmp(jb);
    printf("setjmp returned %d (round %d)\n", v, rounds);
    if (rounds++ < 3)
        longjmp(jb, rounds * 10);
    if ((v = setjmp(jb)) == 0)
        dive(0);
    printf("longjmp out of %d frames: %d\n", depth_reached, v);
    /* longjmp(jb, 0) returns 1. */
    if ((v = setjmp(jb)) == 0)
        longjmp(jb, 0);
    printf("longjmp with 0 gives %d\n", v);
    /* Registers and locals that setjmp must keep. */
    volatile double d = 1.5;
    volatile long l = 77;
    if (setjmp(jb) == 0) {
        d *= 2;
        l += 1;
        longjmp(jb, 1);
    }
    printf("volatile locals after longjmp: %g %ld\n", d, l);
}

static sigjmp_buf sjb;
static volatile sig_atomic_t got_sig, got_code;
static volatile uintptr_t got_addr;

static void on_fault(int sig, siginfo_t *si, void *ctx)
{
    (void)ctx;
    got_sig = sig;
    got_code = si->si_code;
    got_addr = (uintptr_t)si->si_addr;
    siglongjmp(sjb, sig);
}

/* Addresses that are never mapped, hidden from gcc's bounds checks. */
static int *volatile low_addr = (int *)16;
static volatile long never = -1;

static long overflow(long n)
{
    volatile char frame[256];
    frame[0] = (char)n;
    if (n == never)
        return n;
    return overflow(n + 1) + frame[0];
}

static void faults(void)
{
    struct sigaction sa = {.sa_sigaction = on_fault, .sa_flags = SA_SIGINFO | SA_NODEFER};
    sigaction(SIGSEGV, &sa, NULL);
    sigaction(SIGFPE, &sa, NULL);
    sigaction(SIGBUS, &sa, NULL);
    sigaction(SIGILL, &sa, NULL);
    long page = sysconf(_SC_PAGESIZE);
    char *ro = mmap(NULL, page, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    char *none = mmap(NULL, page, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    for (int i = 0; i < 6; i++) {
        int s = sigsetjmp(sjb, 1);
        if (s == 0) {
            volatile int zero = 0;
            switch (i) {
            case 0:
                *low_addr = 1; /* unmapped */
                break;
            case 1:
                ro[100] = 1; /* read-only */
                break;
            case 2:
                (void)*(volatile char *)(none + 200); /* PROT_NONE */
                break;
            case 3:
                printf("%d\n", 10 / zero);
                break;
            case 4:
                __asm__ volatile("ud2");
                break;
            case 5: {
                volatile long min = INT64_MIN, m1 = -1;
                printf("%ld\n", min / m1); /* #DE too */
                break;
            }
            }
            printf("case %d: no signal?\n", i);
            continue;
        }
        uintptr_t base = i == 1 ? (uintptr_t)ro : i == 2 ? (uintptr_t)none : 0;
        printf("case %d: signal %d code %d addr %s%#lx\n", i, s, (int)got_code, base ? "map+" : "",
               (unsigned long)(i >= 3 ? 0 : got_addr - base));
    }
    /* The mask was saved by sigsetjmp(.., 1): SIGSEGV is not blocked now. */
    sigset_t cur;
    sigprocmask(SIG_BLOCK, NULL, &cur);
    printf("SIGSEGV blocked after siglongjmp: %d\n", sigismember(&cur, SIGSEGV));
    /* A stack overflow, caught on an alternate stack. */
    stack_t ss = {.ss_sp = malloc(SIGSTKSZ * 4), .ss_size = SIGSTKSZ * 4};
    sigaltstack(&ss, NULL);
    sa.sa_flags |= SA_ONSTACK;
    sigaction(SIGSEGV, &sa, NULL);
    if (sigsetjmp(sjb, 1) == 0) {
        printf("no stack overflow? %ld\n", overflow(0));
    } else {
        printf("stack overflow caught on the alternate stack: signal %d code %d\n", (int)got_sig,
               (int)got_code);
    }
    munmap(ro, page);
    munmap(none, page);
}

static volatile sig_atomic_t ticks, alarms;

static void on_alarm(int sig)
{
    (void)sig;
    alarms++;
}

static void on_tick(int sig)
{
    (void)sig;
    ticks++;
}

static void alarm_test(void)
{
    signal(SIGALRM, on_alarm);
    printf("alarm(5) previous %u\n", alarm(5));
    printf("alarm(1) previous %u\n", alarm(1));
    int pr = pause(); /* returns after the handler */
    printf("pause returned %d errno %s, alarms %d\n", pr, strerror(errno), (int)alarms);
    /* A blocking read interrupted by SIGALRM, without SA_RESTART. */
    int fd[2];
    if (pipe(fd) != 0)
        return;
    struct sigaction sa = {.sa_handler = on_alarm};
    sigaction(SIGALRM, &sa, NULL);
    struct itimerval it = {.it_value = {0, 100000}};
    setitimer(ITIMER_REAL, &it, NULL);
    char c;
    ssize_t r = read(fd[0], &c, 1);
    printf("read interrupted: %zd %s, alarms %d\n", r, strerror(errno), (int)alarms);
    /* With SA_RESTART the read goes on, and a child's write ends it. */
    sa.sa_flags = SA_RESTART;
    sigaction(SIGALRM, &sa, NULL);
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        usleep(500000); /* well after the 100 ms timer */
        if (write(fd[1], "x", 1) != 1)
            _exit(1);
        _exit(0);
    }
    setitimer(ITIMER_REAL, &it, NULL);
    r = read(fd[0], &c, 1);
    printf("restarted read: %zd '%c', alarms %d\n", r, c, (int)alarms);
    waitpid(pid, NULL, 0);
    close(fd[0]);
    close(fd[1]);
}

static void itimer_test(void)
{
    signal(SIGALRM, on_tick);
    struct itimerval it = {.it_interval = {0, 20000}, .it_value = {0, 20000}};
    setitimer(ITIMER_REAL, &it, NULL);
    sigset_t none;
    sigemptyset(&none);
    while (ticks < 5)
        sigsuspend(&none);
    struct itimerval off = {0}, old;
    setitimer(ITIMER_REAL, &off, &old);
    printf("ITIMER_REAL: %d ticks, interval was %ld us\n", (int)ticks,
           (long)old.it_interval.tv_usec);
    /* CPU-time timers: spin until they fire. */
    ticks = 0;
    signal(SIGVTALRM, on_tick);
    signal(SIGPROF, on_tick);
    struct itimerval cpu = {.it_value = {0, 50000}};
    setitimer(ITIMER_VIRTUAL, &cpu, NULL);
    setitimer(ITIMER_PROF, &cpu, NULL);
    volatile unsigned long spin = 0;
    while (ticks < 2)
        spin++;
    printf("ITIMER_VIRTUAL and ITIMER_PROF fired: %d\n", (int)ticks);
    /* timer_create with a signal, through glibc. */
    timer_t t;
    struct sigevent ev = {.sigev_notify = SIGEV_SIGNAL, .sigev_signo = SIGUSR1};
    signal(SIGUSR1, on_tick);
    ticks = 0;
    if (timer_create(CLOCK_MONOTONIC, &ev, &t) == 0) {
        struct itimerspec ts = {.it_value = {0, 30000000}};
        timer_settime(t, 0, &ts, NULL);
        while (ticks == 0)
            pause();
        timer_delete(t);
        printf("POSIX timer fired %d\n", (int)ticks);
    } else {
        printf("timer_create failed: %s\n", strerror(errno));
    }
}

static volatile sig_atomic_t order[8], norder;

static void on_user(int sig, siginfo_t *si, void *ctx)
{
    (void)ctx;
    if (norder < 8)
        order[norder++] = sig * 1000 + (si->si_code == SI_QUEUE ? si->si_value.sival_int : 0);
}

static void masks(void)
{
    struct sigaction sa = {.sa_sigaction = on_user, .sa_flags = SA_SIGINFO};
    sigaction(SIGUSR1, &sa, NULL);
    sigaction(SIGUSR2, &sa, NULL);
    sigaction(SIGRTMIN, &sa, NULL);
    sigset_t block, pend, old;
    sigemptyset(&block);
    sigaddset(&block, SIGUSR1);
    sigaddset(&block, SIGUSR2);
    sigaddset(&block, SIGRTMIN);
    sigprocmask(SIG_BLOCK, &block, &old);
    /* All process-directed (kill, not raise): Linux takes a thread's own
     * pending signals before the process's, which would decide the order. */
    kill(getpid(), SIGUSR2);
    kill(getpid(), SIGUSR1);
    union sigval v = {.sival_int = 7};
    sigqueue(getpid(), SIGRTMIN, v);
    v.sival_int = 8;
    sigqueue(getpid(), SIGRTMIN, v); /* real-time signals queue */
    sigpending(&pend);
    printf("pending: USR1 %d USR2 %d RTMIN %d, delivered so far %d\n", sigismember(&pend, SIGUSR1),
           sigismember(&pend, SIGUSR2), sigismember(&pend, SIGRTMIN), (int)norder);
    sigprocmask(SIG_SETMASK, &old, NULL);
    /* Both queued SIGRTMIN arrive, in order; then the order of all. */
    int rt = 0;
    for (int i = 0; i < norder; i++)
        if (order[i] / 1000 == SIGRTMIN)
            rt = rt * 10 + order[i] % 1000;
    printf("delivered %d signals; SIGRTMIN values in order: %d\n", (int)norder, rt);
    printf("delivery order:");
    for (int i = 0; i < norder; i++)
        printf(" %s%d", order[i] / 1000 == SIGRTMIN ? "RTMIN/" : "",
               order[i] / 1000 == SIGRTMIN ? order[i] % 1000 : order[i] / 1000);
    printf("\n");
    /* sigwaitinfo takes a blocked signal without a handler running. */
    sigprocmask(SIG_BLOCK, &block, NULL);
    raise(SIGUSR1);
    siginfo_t si;
    int s = sigwaitinfo(&block, &si);
    printf("sigwaitinfo %d code %d\n", s, si.si_code);
    sigprocmask(SIG_SETMASK, &old, NULL);
    signal(SIGUSR1, SIG_IGN);
    raise(SIGUSR1);
    printf("ignored SIGUSR1 survived\n");
}

static void print_status(const char *what, int st)
{
    if (WIFEXITED(st))
        printf("%s: exited %d\n", what, WEXITSTATUS(st));
    else if (WIFSIGNALED(st))
        printf("%s: killed by signal %d%s\n", what, WTERMSIG(st), WCOREDUMP(st) ? " (core)" : "");
    else
        printf("%s: status %#x\n", what, st);
}

static void proc(void)
{
    int fd[2];
    if (pipe(fd) != 0)
        return;
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        close(fd[0]);
        char msg[64];
        int n = snprintf(msg, sizeof(msg), "hello from the child, ppid ok %d", getppid() > 1);
        if (write(fd[1], msg, n) != n)
            _exit(1);
        _exit(42);
    }
    close(fd[1]);
    char buf[128] = {0};
    ssize_t got = 0, r;
    while ((r = read(fd[0], buf + got, sizeof(buf) - 1 - got)) > 0)
        got += r;
    close(fd[0]);
    int st;
    pid_t w = waitpid(pid, &st, 0);
    printf("read '%s'; waited for the child: %d\n", buf, w == pid);
    print_status("child", st);
    /* Deaths by signal: abort(), SIGKILL, SIGSEGV. */
    static const int how[] = {0, SIGKILL, SIGSEGV};
    for (int i = 0; i < 3; i++) {
        fflush(stdout);
        pid = fork();
        if (pid == 0) {
            signal(SIGSEGV, SIG_DFL);
            if (i == 0)
                abort();
            if (i == 1)
                kill(getpid(), SIGKILL);
            *low_addr = 0;
            _exit(0);
        }
        waitpid(pid, &st, 0);
        char what[32];
        snprintf(what, sizeof(what), "child %d", how[i]);
        /* Core dumps depend on the host's rlimit: not printed. */
        printf("%s: signaled %d sig %d\n", what, WIFSIGNALED(st), WTERMSIG(st));
    }
    /* A pipeline of two children; poll on the read end. */
    int p2[2];
    if (pipe2(p2, O_CLOEXEC) != 0)
        return;
    fflush(stdout);
    pid_t a = fork();
    if (a == 0) {
        for (int i = 0; i < 1000; i++)
            dprintf(p2[1], "line %d\n", i);
        _exit(0);
    }
    close(p2[1]);
    printf("pipe2 O_CLOEXEC: %d\n", (fcntl(p2[0], F_GETFD) & FD_CLOEXEC) != 0);
    struct pollfd pfd = {.fd = p2[0], .events = POLLIN};
    int ready = poll(&pfd, 1, 5000);
    long total = 0, lines = 0;
    while ((r = read(p2[0], buf, sizeof(buf))) > 0) {
        total += r;
        for (ssize_t i = 0; i < r; i++)
            lines += buf[i] == '\n';
    }
    close(p2[0]);
    waitpid(a, &st, 0);
    printf("poll %d, %ld bytes, %ld lines from a child\n", ready, total, lines);
    print_status("writer", st);
    /* vfork + _exit. */
    pid = vfork();
    if (pid == 0)
        _exit(7);
    waitpid(pid, &st, 0);
    print_status("vfork child", st);
}

static void exec_test(void)
{
    int fd[2];
    if (pipe(fd) != 0)
        return;
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        dup2(fd[1], 1);
        close(fd[0]);
        close(fd[1]);
        setenv("SYS_TEST_VAR", "passed through execve", 1);
        execl(self, "sys", "child", "one", "two words", (char *)NULL);
        _exit(127);
    }
    close(fd[1]);
    char buf[512] = {0};
    ssize_t got = 0, r;
    while ((r = read(fd[0], buf + got, sizeof(buf) - 1 - got)) > 0)
        got += r;
    close(fd[0]);
    int st;
    waitpid(pid, &st, 0);
    printf("from the exec'd child: %s", buf);
    print_status("exec'd child", st);
    /* execve of something missing fails in the child with ENOENT. */
    fflush(stdout);
    pid = fork();
    if (pid == 0) {
        execl("/nonexistent/program", "x", (char *)NULL);
        printf("execl failed: %s\n", strerror(errno));
        fflush(stdout);
        _exit(3);
    }
    waitpid(pid, &st, 0);
    print_status("failed exec", st);
    /* popen runs /bin/sh (a host program) and reads it. */
    fflush(stdout);
    FILE *f = popen("echo from popen; exit 5", "r");
    if (f) {
        char line[64];
        while (fgets(line, sizeof(line), f))
            printf("popen: %s", line);
        print_status("popen", pclose(f));
    }
}

/* Programs that re-execute themselves through /proc/self/exe (busybox's
 * shell runs its applets so): that must be this program, not its host. */
static void execself_test(void)
{
    char link[4096];
    ssize_t n = readlink("/proc/self/exe", link, sizeof(link) - 1);
    link[n > 0 ? n : 0] = 0;
    char *real = realpath(self, NULL);
    printf("readlink(/proc/self/exe) is argv[0]: %d\n", real && strcmp(link, real) == 0);
    free(real);
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        execl("/proc/self/exe", "sys", "child", "via /proc/self/exe", (char *)NULL);
        _exit(127);
    }
    int st;
    waitpid(pid, &st, 0);
    print_status("exec of /proc/self/exe", st);
}

static void spawn_test(void)
{
    pid_t pid;
    char *args[] = {"sys", "child", "spawned", NULL};
    fflush(stdout);
    int r = posix_spawn(&pid, self, NULL, NULL, args, environ);
    int st;
    if (r == 0) {
        waitpid(pid, &st, 0);
        print_status("posix_spawn", st);
    } else {
        printf("posix_spawn: %s\n", strerror(r));
    }
    fflush(stdout);
    st = system("exit 9");
    print_status("system", st);
}

static int child_main(int argc, char **argv)
{
    printf("child argc %d:", argc);
    for (int i = 0; i < argc; i++)
        printf(" [%s]", argv[i]);
    const char *v = getenv("SYS_TEST_VAR");
    printf(" env %s\n", v ? v : "(unset)");
    return 11;
}

static const struct {
    const char *name;
    void (*fn)(void);
} sections[] = {
    {"jmp", jmp},          {"faults", faults}, {"alarm", alarm_test}, {"itimer", itimer_test},
    {"masks", masks},      {"proc", proc},     {"exec", exec_test},   {"execself", execself_test},
    {"spawn", spawn_test},
};

int main(int argc, char **argv)
{
    self = argv[0];
    if (argc > 1 && strcmp(argv[1], "child") == 0)
        return child_main(argc, argv);
    for (size_t i = 0; i < sizeof(sections) / sizeof(sections[0]); i++) {
        int want = argc < 2;
        for (int a = 1; a < argc; a++)
            want |= strcmp(argv[a], sections[i].name) == 0;
        if (!want)
            continue;
        printf("== %s\n", sections[i].name);
        fflush(stdout);
        sections[i].fn();
        fflush(stdout);
    }
    return 0;
}
