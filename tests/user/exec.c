/* execve: failures return an error; a successful one replaces the
 * program (here with `args`, in a forked child and then in this process). */
#include "ulib.h"

int main(int argc, char **argv, char **envp)
{
    (void)envp;
    if (argc < 2) {
        put("usage: exec PROGRAM\n");
        return 2;
    }
    char *args[] = {"args-via-exec", "one", "two", 0};
    char *env[] = {"XUNI_TEST_ENV=from-exec", 0};
    put_err("execve_missing", sys3(__NR_execve, "/nonexistent/program", args, env));
    put_err("execve_directory", sys3(__NR_execve, "/", args, env));
    put_err("execve_bad_argv", sys3(__NR_execve, argv[1], 8, env));
    long pid = sys0(__NR_fork);
    if (pid == 0) {
        sys3(__NR_execve, argv[1], args, env);
        exit_group(99);
    }
    int st = 0;
    sys4(__NR_wait4, pid, &st, 0, 0);
    put_kv("child_status", (st >> 8) & 0xff);
    args[0] = "args-exec-self";
    sys3(__NR_execve, argv[1], args, env);
    put("execve returned\n");
    return 1;
}
