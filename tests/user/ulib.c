/* The test programs' freestanding runtime (see ulib.h). */
#include "ulib.h"

static const char *const errnames[] = {
    [1] = "EPERM",   [2] = "ENOENT",     [4] = "EINTR",   [9] = "EBADF",   [11] = "EAGAIN",
    [12] = "ENOMEM", [13] = "EACCES",    [14] = "EFAULT", [17] = "EEXIST", [20] = "ENOTDIR",
    [21] = "EISDIR", [22] = "EINVAL",    [25] = "ENOTTY", [29] = "ESPIPE", [32] = "EPIPE",
    [38] = "ENOSYS", [39] = "ENOTEMPTY",
};

size_t strlen(const char *s)
{
    size_t n = 0;
    while (s[n])
        n++;
    return n;
}

int strcmp(const char *a, const char *b)
{
    while (*a && *a == *b)
        a++, b++;
    return (unsigned char)*a - (unsigned char)*b;
}

int strncmp(const char *a, const char *b, size_t n)
{
    for (; n; n--, a++, b++)
        if (*a != *b || !*a)
            return (unsigned char)*a - (unsigned char)*b;
    return 0;
}

void *memset(void *d, int c, size_t n)
{
    unsigned char *p = d;
    while (n--)
        *p++ = (unsigned char)c;
    return d;
}

void *memcpy(void *d, const void *s, size_t n)
{
    unsigned char *p = d;
    const unsigned char *q = s;
    while (n--)
        *p++ = *q++;
    return d;
}

int memcmp(const void *a, const void *b, size_t n)
{
    const unsigned char *p = a, *q = b;
    for (; n; n--, p++, q++)
        if (*p != *q)
            return *p - *q;
    return 0;
}

void put(const char *s)
{
    sys3(__NR_write, 1, s, strlen(s));
}

static void put_unsigned(unsigned long v, unsigned base)
{
    char buf[24];
    int i = sizeof(buf);
    buf[--i] = 0;
    do {
        buf[--i] = "0123456789abcdef"[v % base];
        v /= base;
    } while (v);
    put(buf + i);
}

void put_num(long v)
{
    if (v < 0) {
        put("-");
        put_unsigned(-(unsigned long)v, 10);
    } else {
        put_unsigned((unsigned long)v, 10);
    }
}

void put_hex(unsigned long v)
{
    put("0x");
    put_unsigned(v, 16);
}

void put_kv(const char *name, long v)
{
    put(name);
    put("=");
    put_num(v);
    put("\n");
}

void put_err(const char *what, long r)
{
    put(what);
    if (r >= 0) {
        put(": ok ");
        put_num(r);
    } else if (-r < (long)(sizeof(errnames) / sizeof(errnames[0])) && errnames[-r]) {
        put(": ");
        put(errnames[-r]);
    } else {
        put(": error ");
        put_num(r);
    }
    put("\n");
}

_Noreturn void exit_group(int status)
{
    for (;;)
        sys1(__NR_exit_group, status);
}

int install(int sig, void *handler, unsigned long flags, uint64_t mask)
{
    struct ksigaction act = {handler, flags | SA_RESTORER, restore_rt, mask};
    return (int)sys4(__NR_rt_sigaction, sig, &act, 0, 8);
}

char *getenv_from(char **envp, const char *name)
{
    size_t n = strlen(name);
    for (; *envp; envp++)
        if (strncmp(*envp, name, n) == 0 && (*envp)[n] == '=')
            return *envp + n + 1;
    return 0;
}

void ulib_start(long *sp);
void ulib_start(long *sp)
{
    int argc = (int)sp[0];
    char **argv = (char **)(sp + 1);
    exit_group(main(argc, argv, argv + argc + 1));
}
