/* A freestanding runtime for the `xuni user` test programs: raw system
 * calls, a few string and output helpers, setjmp/longjmp, and the kernel's
 * signal structures. The programs run natively and under xuni, and their
 * output and exit status are compared, so they print only what both must
 * agree on. */
#ifndef XUNI_TESTS_USER_ULIB_H
#define XUNI_TESTS_USER_ULIB_H

#include <stddef.h>
#include <stdint.h>

#define __NR_read           0
#define __NR_write          1
#define __NR_open           2
#define __NR_close          3
#define __NR_fstat          5
#define __NR_lseek          8
#define __NR_mmap           9
#define __NR_mprotect       10
#define __NR_munmap         11
#define __NR_brk            12
#define __NR_rt_sigaction   13
#define __NR_rt_sigprocmask 14
#define __NR_rt_sigreturn   15
#define __NR_pread64        17
#define __NR_writev         20
#define __NR_pipe           22
#define __NR_mremap         25
#define __NR_dup2           33
#define __NR_pause          34
#define __NR_nanosleep      35
#define __NR_alarm          37
#define __NR_getpid         39
#define __NR_fork           57
#define __NR_vfork          58
#define __NR_execve         59
#define __NR_exit           60
#define __NR_wait4          61
#define __NR_kill           62
#define __NR_uname          63
#define __NR_fcntl          72
#define __NR_ftruncate      77
#define __NR_getcwd         79
#define __NR_chdir          80
#define __NR_rename         82
#define __NR_mkdir          83
#define __NR_rmdir          84
#define __NR_unlink         87
#define __NR_readlink       89
#define __NR_getuid         102
#define __NR_getppid        110
#define __NR_rt_sigpending  127
#define __NR_sigaltstack    131
#define __NR_arch_prctl     158
#define __NR_gettid         186
#define __NR_tgkill         234
#define __NR_getdents64     217
#define __NR_clock_gettime  228
#define __NR_exit_group     231
#define __NR_openat         257
#define __NR_pipe2          293

#define O_RDONLY    0
#define O_WRONLY    1
#define O_RDWR      2
#define O_CREAT     0100
#define O_TRUNC     01000
#define O_DIRECTORY 0200000
#define O_CLOEXEC   02000000
#define SEEK_SET    0
#define SEEK_END    2

#define PROT_NONE      0
#define PROT_READ      1
#define PROT_WRITE     2
#define MAP_PRIVATE    0x02
#define MAP_FIXED      0x10
#define MAP_ANONYMOUS  0x20
#define MREMAP_MAYMOVE 1

#define SIGHUP  1
#define SIGINT  2
#define SIGILL  4
#define SIGTRAP 5
#define SIGABRT 6
#define SIGBUS  7
#define SIGFPE  8
#define SIGKILL 9
#define SIGUSR1 10
#define SIGSEGV 11
#define SIGUSR2 12
#define SIGPIPE 13
#define SIGALRM 14
#define SIGTERM 15
#define SIGCHLD 17

#define SA_SIGINFO   0x4
#define SA_ONSTACK   0x08000000
#define SA_RESTART   0x10000000
#define SA_NODEFER   0x40000000
#define SA_RESETHAND 0x80000000
#define SA_RESTORER  0x04000000
#define SIG_BLOCK    0
#define SIG_UNBLOCK  1
#define SIG_SETMASK  2
#define SIG_DFL      0
#define SIG_IGN      1

#define EINTR  4
#define ENOENT 2
#define EFAULT 14
#define ENOSYS 38

#define AT_NULL     0
#define AT_PHDR     3
#define AT_PHENT    4
#define AT_PHNUM    5
#define AT_PAGESZ   6
#define AT_ENTRY    9
#define AT_UID      11
#define AT_EUID     12
#define AT_GID      13
#define AT_EGID     14
#define AT_PLATFORM 15
#define AT_HWCAP    16
#define AT_CLKTCK   17
#define AT_SECURE   23
#define AT_RANDOM   25
#define AT_EXECFN   31

#define BIT(sig) (1UL << ((sig)-1))

struct ksigaction {
    void *handler;
    unsigned long flags;
    void (*restorer)(void);
    uint64_t mask;
};

struct ksiginfo {
    int si_signo, si_errno, si_code, pad;
    union {
        struct {
            int pid, uid;
            int status; /* SIGCHLD */
        } kill;
        void *addr;
    };
    char rest[96];
};

struct timespec {
    long tv_sec, tv_nsec;
};

static inline long sys6(long n, long a, long b, long c, long d, long e, long f)
{
    register long r10 __asm__("r10") = d;
    register long r8 __asm__("r8") = e;
    register long r9 __asm__("r9") = f;
    long ret;
    __asm__ volatile("syscall"
                     : "=a"(ret)
                     : "a"(n), "D"(a), "S"(b), "d"(c), "r"(r10), "r"(r8), "r"(r9)
                     : "rcx", "r11", "memory");
    return ret;
}

#define sys0(n)             sys6((n), 0, 0, 0, 0, 0, 0)
#define sys1(n, a)          sys6((n), (long)(a), 0, 0, 0, 0, 0)
#define sys2(n, a, b)       sys6((n), (long)(a), (long)(b), 0, 0, 0, 0)
#define sys3(n, a, b, c)    sys6((n), (long)(a), (long)(b), (long)(c), 0, 0, 0)
#define sys4(n, a, b, c, d) sys6((n), (long)(a), (long)(b), (long)(c), (long)(d), 0, 0)

/* ulib.c */
size_t strlen(const char *s);
int strcmp(const char *a, const char *b);
int strncmp(const char *a, const char *b, size_t n);
void *memset(void *d, int c, size_t n);
void *memcpy(void *d, const void *s, size_t n);
int memcmp(const void *a, const void *b, size_t n);
void put(const char *s); /* to stdout */
void put_num(long v);    /* decimal */
void put_hex(unsigned long v);
/* put("name=") put_num(v) put("\n") */
void put_kv(const char *name, long v);
void put_err(const char *what, long r); /* "what: -errno name\n" or "what: ok\n" */
_Noreturn void exit_group(int status);
int install(int sig, void *handler, unsigned long flags, uint64_t mask);
char *getenv_from(char **envp, const char *name);

/* start.S */
void restore_rt(void);
typedef long jmpbuf[8];
int setjmp_(jmpbuf env) __attribute__((returns_twice));
_Noreturn void longjmp_(jmpbuf env, int v);
extern long entry_rsp; /* RSP at _start */

int main(int argc, char **argv, char **envp);

#endif
