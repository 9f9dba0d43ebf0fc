/* execve: a static x86-64 program runs in a new xuni.
 *
 * Rather than replacing the guest image inside this process, xuni
 * re-executes itself (`xuni user --argv0 ARGV0 -- PROGRAM ARGS...`, with
 * the guest's environment). The host kernel then does what Linux's execve
 * does for the guest for free: close-on-exec descriptors are closed,
 * caught signals return to their default (their host dispositions mirror
 * the guest's), ignored ones stay ignored, the signal mask and pending
 * signals carry over, the process keeps its pid, and a vfork parent is
 * released. Nothing of the old guest or of xuni's own state survives.
 *
 * Anything that is not a static x86-64 ELF -- a dynamically linked
 * program, a script whose interpreter is one -- is handed to the host's
 * execve and runs natively, as it would under qemu-x86_64 on an x86-64
 * host. Scripts whose interpreter is static stay under xuni.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "user/user_proc.h"

#define USER_ARG_STRLEN   (128u << 10) /* MAX_ARG_STRLEN */
#define USER_ARG_TOTAL    (2u << 20)
#define USER_SCRIPT_LINE  256 /* BINPRM_BUF_SIZE */
#define USER_SCRIPT_DEPTH 4

struct strvec {
    char **v;
    size_t n, bytes;
};

static void strvec_free(struct strvec *s)
{
    for (size_t i = 0; i < s->n; i++)
        free(s->v[i]);
    free(s->v);
    memset(s, 0, sizeof(*s));
}

static long strvec_push(struct strvec *s, const char *str)
{
    char **v = realloc(s->v, (s->n + 2) * sizeof(*v));
    if (!v)
        return -ENOMEM;
    s->v = v;
    if (!(v[s->n] = strdup(str)))
        return -ENOMEM;
    v[++s->n] = NULL;
    s->bytes += strlen(str) + 1;
    return s->bytes > USER_ARG_TOTAL ? -E2BIG : 0;
}

/* A guest char *[] (NULL-terminated; a NULL array is empty). */
static long strvec_in(struct user_proc *p, uint64_t gvec, struct strvec *s, char *tmp)
{
    long r;
    if (!(s->v = calloc(1, sizeof(*s->v)))) /* an empty vector is {NULL} */
        return -ENOMEM;
    for (uint64_t i = 0; gvec; i++) {
        uint64_t gs;
        if ((r = user_copy_in(p, &gs, gvec + i * 8, 8)) < 0)
            return r;
        if (!gs)
            break;
        r = user_copy_str(p, tmp, gs, USER_ARG_STRLEN);
        if (r < 0)
            return r == -ENAMETOOLONG ? -E2BIG : r;
        if ((r = strvec_push(s, tmp)) < 0)
            return r;
    }
    return 0;
}

/* "#!interp [arg]" of a script: 1 and the two words, 0 if not a script. */
static int script_line(int fd, char *interp, char *arg)
{
    char buf[USER_SCRIPT_LINE + 1];
    ssize_t n = pread(fd, buf, USER_SCRIPT_LINE, 0);
    if (n < 2 || buf[0] != '#' || buf[1] != '!')
        return 0;
    buf[n] = 0;
    char *nl = strchr(buf, '\n');
    if (nl)
        *nl = 0;
    char *s = buf + 2;
    s += strspn(s, " \t");
    size_t len = strcspn(s, " \t");
    memcpy(interp, s, len);
    interp[len] = 0;
    s += len;
    s += strspn(s, " \t");
    len = strlen(s);
    while (len && (s[len - 1] == ' ' || s[len - 1] == '\t'))
        len--;
    memcpy(arg, s, len);
    arg[len] = 0;
    return interp[0] ? 1 : -1;
}

/* Does path (following #! lines) end at a static program? Returns 1 if
 * so (*prog is the program, *pre the interpreter words to put before the
 * script), 0 if it is for the host, or -errno as execve would fail. */
static long exec_target(const char *path, struct strvec *pre, char *prog, int depth)
{
    if (faccessat(AT_FDCWD, path, X_OK, AT_EACCESS) < 0)
        return -errno;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return 0; /* executable but unreadable: only the host can run it */
    struct stat st;
    char interp[USER_SCRIPT_LINE], arg[USER_SCRIPT_LINE];
    long r = fstat(fd, &st) < 0 ? -errno : S_ISREG(st.st_mode) ? 0 : -EACCES;
    int script = r < 0 ? 0 : script_line(fd, interp, arg);
    if (r == 0 && !script) {
        r = user_elf_classify(fd) == USER_ELF_STATIC;
        snprintf(prog, PATH_MAX, "%s", path);
    }
    close(fd);
    if (r != 0 || !script)
        return r;
    if (script < 0)
        return -ENOEXEC;
    if (depth >= USER_SCRIPT_DEPTH)
        return -ELOOP;
    /* The interpreter's own words (if it is a script too) come first, then
     * this line's. */
    struct strvec inner = {0};
    r = exec_target(interp, &inner, prog, depth + 1);
    for (size_t i = 0; r > 0 && i < inner.n; i++)
        if (strvec_push(pre, inner.v[i]) < 0)
            r = -ENOMEM;
    strvec_free(&inner);
    if (r > 0 && strvec_push(pre, interp) < 0)
        r = -ENOMEM;
    if (r > 0 && arg[0] && strvec_push(pre, arg) < 0)
        r = -ENOMEM;
    return r;
}

static long do_execve(struct user_proc *p, const char *path, uint64_t gargv, uint64_t genvp)
{
    /* busybox runs its applets by exec'ing itself through /proc/self/exe,
     * which on the host is xuni: mean the guest program instead. */
    if (user_is_self_exe(path))
        path = p->exe;
    struct strvec argv = {0}, envp = {0}, pre = {0}, xargv = {0};
    char *tmp = malloc(USER_ARG_STRLEN);
    char *prog = malloc(PATH_MAX);
    long r = tmp && prog ? 0 : -ENOMEM;
    if (r == 0)
        r = strvec_in(p, gargv, &argv, tmp);
    if (r == 0)
        r = strvec_in(p, genvp, &envp, tmp);
    if (r == 0)
        r = exec_target(path, &pre, prog, 0);
    if (r == 0) {
        /* For the host to run natively. */
        execve(path, argv.v, envp.v);
        r = -errno;
    } else if (r > 0) {
        const char *argv0 = argv.n ? argv.v[0] : "";
        const char *head[] = {p->xuni, "user", "--argv0", pre.n ? pre.v[0] : argv0, "--", prog};
        r = 0;
        for (size_t i = 0; r == 0 && i < sizeof(head) / sizeof(head[0]); i++)
            r = strvec_push(&xargv, head[i]);
        /* A script: the interpreter's words (the first became argv[0]),
         * then the script's path where its argv[0] was. */
        for (size_t i = 1; r == 0 && i < pre.n; i++)
            r = strvec_push(&xargv, pre.v[i]);
        if (r == 0 && pre.n)
            r = strvec_push(&xargv, path);
        for (size_t i = 1; r == 0 && i < argv.n; i++)
            r = strvec_push(&xargv, argv.v[i]);
        if (r == 0) {
            execve(p->xuni, xargv.v, envp.v);
            r = -errno;
        }
    }
    strvec_free(&argv);
    strvec_free(&envp);
    strvec_free(&pre);
    strvec_free(&xargv);
    free(tmp);
    free(prog);
    return r;
}

static long sys_execve(struct user_proc *p, const uint64_t *a)
{
    const char *path;
    long r = user_path_in(p, 0, a[0], &path);
    if (r < 0)
        return r;
    if (!path)
        return -EFAULT;
    return do_execve(p, path, a[1], a[2]);
}

static long sys_execveat(struct user_proc *p, const uint64_t *a)
{
    const char *path;
    int dirfd = (int)a[0], flags = (int)a[4];
    long r = user_path_in(p, 0, a[1], &path);
    if (r < 0)
        return r;
    if (!path)
        return -EFAULT;
    if (flags & ~(AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW))
        return -EINVAL;
    char full[PATH_MAX + 32];
    if (path[0] == 0 && (flags & AT_EMPTY_PATH))
        snprintf(full, sizeof(full), "/proc/self/fd/%d", dirfd);
    else if (path[0] != '/' && dirfd != AT_FDCWD)
        snprintf(full, sizeof(full), "/proc/self/fd/%d/%s", dirfd, path);
    else
        snprintf(full, sizeof(full), "%s", path);
    return do_execve(p, full, a[2], a[3]);
}

const struct user_syscall_def user_syscalls_exec[] = {
    USYS_FN(execve, 0, sys_execve),
    USYS_FN(execveat, 0, sys_execveat),
    {0, 0, NULL, NULL, {{0, 0, 0}}},
};
