/* Calls whose results native and emulated runs share: identity, uname,
 * arch_prctl and %fs, readlink of /proc/self/exe, bad pointers, ioctls
 * on a non-terminal, time. */
#include "ulib.h"

#define ARCH_SET_FS 0x1002
#define ARCH_GET_FS 0x1003

static long tls_block[4] = {0, 0x7a7a, 0, 0};

int main(int argc, char **argv, char **envp)
{
    (void)argc, (void)envp;
    put_kv("pid_is_tid", sys0(__NR_getpid) == sys0(__NR_gettid));
    put_kv("ppid_positive", sys0(__NR_getppid) > 0);

    char uts[390];
    put_err("uname", sys1(__NR_uname, uts));
    put("sysname=");
    put(uts);
    put("\nmachine=");
    put(uts + 4 * 65);
    put("\n");

    put_err("arch_prctl_set_fs", sys2(__NR_arch_prctl, ARCH_SET_FS, tls_block));
    unsigned long fs = 0;
    put_err("arch_prctl_get_fs", sys2(__NR_arch_prctl, ARCH_GET_FS, &fs));
    put_kv("fs_matches", fs == (unsigned long)tls_block);
    long v;
    __asm__ volatile("mov %%fs:8, %0" : "=r"(v));
    put_kv("fs_load", v);
    put_err("arch_prctl_bad", sys2(__NR_arch_prctl, 0x9999, 0));

    char link[512], abs[512];
    long n = sys3(__NR_readlink, "/proc/self/exe", link, sizeof(link) - 1);
    link[n > 0 ? n : 0] = 0;
    /* the path of this program, whatever cwd-relative form argv[0] has */
    const char *base = argv[0];
    for (const char *s = argv[0]; *s; s++)
        if (*s == '/')
            base = s + 1;
    n = sys2(__NR_getcwd, abs, sizeof(abs));
    size_t ln = strlen(link), bn = strlen(base);
    put_kv("self_exe_ends_with_name", ln > bn && strcmp(link + ln - bn, base) == 0);
    put_kv("self_exe_absolute", link[0] == '/');

    put_err("write_null", sys3(__NR_write, 1, 0, 4));
    put_err("write_kernel_address", sys3(__NR_write, 1, 0xffff800000000000UL, 4));
    put_err("read_bad_fd", sys3(__NR_read, 1000, link, 4));
    put_err("tcgets_on_file", sys3(16 /* ioctl */, 1, 0x5401, link));
    put_err("unknown_ioctl", sys3(16, 1, 0x12345678, 0));

    struct timespec t1, t2;
    sys2(__NR_clock_gettime, 1, &t1);
    sys2(__NR_clock_gettime, 1, &t2);
    put_kv("monotonic",
           t2.tv_sec > t1.tv_sec || (t2.tv_sec == t1.tv_sec && t2.tv_nsec >= t1.tv_nsec));
    put_err("clock_bad_pointer", sys2(__NR_clock_gettime, 1, 16));
    return 0;
}
