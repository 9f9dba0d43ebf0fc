/* File I/O in a scratch directory (argv[1]): create, write, seek, read,
 * stat, truncate, writev, rename, list, unlink, rmdir; bad pointers give
 * EFAULT. */
#include "ulib.h"

struct iovec_ {
    const void *base;
    unsigned long len;
};

static void put_buf(const char *what, const char *buf, long n)
{
    put(what);
    put("=[");
    if (n > 0)
        sys3(__NR_write, 1, buf, n);
    put("]\n");
}

int main(int argc, char **argv, char **envp)
{
    (void)envp;
    char buf[256];
    if (argc < 2 || sys1(__NR_chdir, argv[1]) != 0) {
        put("usage: fileio DIR\n");
        return 2;
    }
    put_err("mkdir", sys2(__NR_mkdir, "d", 0755));
    put_err("mkdir_again", sys2(__NR_mkdir, "d", 0755));
    int fd = (int)sys4(__NR_openat, -100, "d/f", O_CREAT | O_RDWR | O_TRUNC | O_CLOEXEC, 0644);
    put_kv("open_ok", fd >= 0);
    put_err("write", sys3(__NR_write, fd, "hello file, line one\n", 21));
    put_err("lseek_set", sys3(__NR_lseek, fd, 6, SEEK_SET));
    long n = sys3(__NR_read, fd, buf, 4);
    put_buf("read4", buf, n);
    n = sys4(__NR_pread64, fd, buf, 8, 12);
    put_buf("pread", buf, n);
    char st[144];
    put_err("fstat", sys2(__NR_fstat, fd, st));
    put_kv("size", *(long *)(st + 48));
    put_kv("mode_reg_644", (*(unsigned *)(st + 24) & 0170777) == 0100644);
    put_err("ftruncate", sys2(__NR_ftruncate, fd, 5));
    put_err("lseek_end", sys3(__NR_lseek, fd, 0, SEEK_END));
    struct iovec_ iov[2] = {{" and", 4}, {" more\n", 6}};
    put_err("writev", sys3(__NR_writev, fd, iov, 2));
    n = sys4(__NR_pread64, fd, buf, sizeof(buf), 0);
    put_buf("contents", buf, n);
    put_err("cloexec", sys2(__NR_fcntl, fd, 1 /* F_GETFD */));
    put_err("write_bad_pointer", sys3(__NR_write, fd, 8, 4));
    put_err("read_into_text", sys4(__NR_pread64, fd, (void *)(uintptr_t)main, 4, 0));
    put_err("close", sys1(__NR_close, fd));
    put_err("close_again", sys1(__NR_close, fd));
    put_err("rename", sys2(__NR_rename, "d/f", "d/g"));
    put_err("open_old_name", sys3(__NR_open, "d/f", O_RDONLY, 0));
    put_err("open_null", sys3(__NR_open, 0, O_RDONLY, 0));

    int dfd = (int)sys3(__NR_open, "d", O_RDONLY | O_DIRECTORY, 0);
    char dents[1024];
    n = sys3(__NR_getdents64, dfd, dents, sizeof(dents));
    for (long off = 0; off < n;) {
        unsigned short reclen = *(unsigned short *)(dents + off + 16);
        const char *name = dents + off + 19;
        if (strcmp(name, ".") && strcmp(name, "..")) {
            put("entry=");
            put(name);
            put("\n");
        }
        off += reclen;
    }
    sys1(__NR_close, dfd);
    put_err("rmdir_not_empty", sys1(__NR_rmdir, "d"));
    put_err("unlink", sys1(__NR_unlink, "d/g"));
    put_err("unlink_again", sys1(__NR_unlink, "d/g"));
    put_err("rmdir", sys1(__NR_rmdir, "d"));
    n = sys2(__NR_getcwd, buf, sizeof(buf));
    put_kv("getcwd_is_dir", n > 0 && strcmp(buf, argv[1]) == 0);
    return 0;
}
