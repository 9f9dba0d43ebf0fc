/* Recursion, for `xuni user` against native runs: deep call chains, many
 * calls, and stacks far larger than usual.
 *
 *   recurse [SECTION...]   ackermann fib queens sort parse deep bigstack
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

static uint64_t calls;

static unsigned long ack(unsigned long m, unsigned long n)
{
    calls++;
    if (m == 0)
        return n + 1;
    if (n == 0)
        return ack(m - 1, 1);
    return ack(m - 1, ack(m, n - 1));
}

static void ackermann(void)
{
    for (unsigned long m = 0; m <= 3; m++) {
        for (unsigned long n = 0; n <= (m < 3 ? 6 : 7); n++) {
            calls = 0;
            unsigned long r = ack(m, n);
            printf("ack(%lu,%lu) = %lu (%llu calls)\n", m, n, r, (unsigned long long)calls);
        }
    }
}

static long fib(int n)
{
    return n < 2 ? n : fib(n - 1) + fib(n - 2);
}

static double fib_d(double n) /* the same through SSE registers */
{
    return n < 2 ? n : fib_d(n - 1) + fib_d(n - 2);
}

static void fibonacci(void)
{
    for (int n = 0; n <= 27; n += 3)
        printf("fib(%d) = %ld, as double %.0f\n", n, fib(n), fib_d(n));
}

static int queens_count(int n, int row, uint32_t cols, uint32_t d1, uint32_t d2)
{
    if (row == n)
        return 1;
    int count = 0;
    uint32_t free_ = ~(cols | d1 | d2) & ((1u << n) - 1);
    while (free_) {
        uint32_t bit = free_ & -free_;
        free_ ^= bit;
        count += queens_count(n, row + 1, cols | bit, (d1 | bit) << 1, (d2 | bit) >> 1);
    }
    return count;
}

static int board[16];

/* The first solution in lexical order, by plain backtracking. */
static int queens_first(int n, int row)
{
    if (row == n)
        return 1;
    for (int c = 0; c < n; c++) {
        int ok = 1;
        for (int r = 0; r < row && ok; r++)
            ok = board[r] != c && abs(board[r] - c) != row - r;
        if (ok) {
            board[row] = c;
            if (queens_first(n, row + 1))
                return 1;
        }
    }
    return 0;
}

static void queens(void)
{
    for (int n = 1; n <= 10; n++) {
        int found = queens_first(n, 0);
        printf("queens(%d) = %d solutions; first:", n, queens_count(n, 0, 0, 0, 0));
        for (int i = 0; found && i < n; i++)
            printf(" %d", board[i]);
        printf("\n");
    }
}

static uint32_t seed = 12345;

static uint32_t lcg(void)
{
    seed = seed * 1103515245u + 12345u;
    return seed >> 8;
}

static void merge_sort(int *a, int *tmp, int n)
{
    if (n < 2)
        return;
    int h = n / 2;
    merge_sort(a, tmp, h);
    merge_sort(a + h, tmp, n - h);
    int i = 0, j = h, k = 0;
    while (i < h && j < n)
        tmp[k++] = a[i] <= a[j] ? a[i++] : a[j++];
    while (i < h)
        tmp[k++] = a[i++];
    while (j < n)
        tmp[k++] = a[j++];
    memcpy(a, tmp, n * sizeof(*a));
}

static void quick_sort(int *a, int lo, int hi)
{
    if (lo >= hi)
        return;
    int p = a[(lo + hi) / 2], i = lo, j = hi;
    while (i <= j) {
        while (a[i] < p)
            i++;
        while (a[j] > p)
            j--;
        if (i <= j) {
            int t = a[i];
            a[i++] = a[j];
            a[j--] = t;
        }
    }
    quick_sort(a, lo, j);
    quick_sort(a, i, hi);
}

/* Towers of Hanoi: 2^n - 1 moves, counted recursively. */
static unsigned long hanoi(int n)
{
    return n == 0 ? 0 : hanoi(n - 1) + 1 + hanoi(n - 1);
}

static void sorts(void)
{
    enum { N = 100000 };
    int *a = malloc(N * sizeof(int)), *b = malloc(N * sizeof(int)), *t = malloc(N * sizeof(int));
    for (int i = 0; i < N; i++)
        a[i] = b[i] = (int)(lcg() % 1000000) - 500000;
    merge_sort(a, t, N);
    quick_sort(b, 0, N - 1);
    uint64_t h = 0;
    int same = 1;
    for (int i = 0; i < N; i++) {
        h = h * 31 + (uint32_t)a[i];
        same &= a[i] == b[i] && (i == 0 || a[i - 1] <= a[i]);
    }
    printf("merge/quick sort of %d: same and sorted %d, min %d max %d hash %016llx\n", N, same,
           a[0], a[N - 1], (unsigned long long)h);
    volatile int depth = 20;
    printf("hanoi(%d) = %lu moves\n", depth, hanoi(depth));
    free(a);
    free(b);
    free(t);
}

/* A recursive-descent parser and evaluator of integer expressions. */
static const char *pos;

static long expr(void);

static long primary(void)
{
    while (*pos == ' ')
        pos++;
    if (*pos == '(') {
        pos++;
        long v = expr();
        while (*pos == ' ')
            pos++;
        pos += *pos == ')';
        return v;
    }
    if (*pos == '-') {
        pos++;
        return -primary();
    }
    long v = 0;
    while (*pos >= '0' && *pos <= '9')
        v = v * 10 + (*pos++ - '0');
    return v;
}

static long term(void)
{
    long v = primary();
    for (;;) {
        while (*pos == ' ')
            pos++;
        if (*pos == '*') {
            pos++;
            v *= primary();
        } else if (*pos == '/' || *pos == '%') {
            char op = *pos++;
            long d = primary();
            v = d == 0 ? 0 : op == '/' ? v / d : v % d;
        } else {
            return v;
        }
    }
}

static long expr(void)
{
    long v = term();
    for (;;) {
        while (*pos == ' ')
            pos++;
        if (*pos == '+') {
            pos++;
            v += term();
        } else if (*pos == '-') {
            pos++;
            v -= term();
        } else {
            return v;
        }
    }
}

static void parse(void)
{
    static const char *in[] = {"1 + 2 * 3", "(1 + 2) * 3", "-(4 - 10) % 4 * 1000",
                               "((((((((((7))))))))))", "100 / 7 / 2 - -3"};
    for (int i = 0; i < 5; i++) {
        pos = in[i];
        printf("%s = %ld\n", in[i], expr());
    }
    /* A nested expression 20000 parentheses deep. */
    int depth = 20000;
    char *s = malloc(depth * 4 + 16), *p = s;
    for (int i = 0; i < depth; i++) {
        *p++ = '(';
        *p++ = '1';
        *p++ = '+';
    }
    *p++ = '1';
    for (int i = 0; i < depth; i++)
        *p++ = ')';
    *p = 0;
    pos = s;
    printf("nested %d deep = %ld\n", depth, expr());
    free(s);
}

/* Deep recursion with a real frame: the stack grows page by page. */
static long deep(long n, volatile char *prev)
{
    volatile char frame[96];
    frame[0] = (char)n;
    frame[95] = prev ? prev[0] : 0;
    if (n == 0)
        return frame[0] + frame[95];
    return deep(n - 1, frame) + (frame[0] & 1);
}

static void deep_main(void)
{
    /* About 5 MiB of the main stack (the default limit is 8 MiB). */
    long n = 40000;
    printf("deep(%ld) on the main stack = %ld\n", n, deep(n, NULL));
}

/* fn(arg) on another stack: rsp moved into a big mmap'd region. */
static long call_on_stack(void *top, long (*fn)(long), long arg)
{
    long ret;
    __asm__ volatile("mov %%rsp, %%rbx\n\t"
                     "mov %[top], %%rsp\n\t"
                     "call *%[fn]\n\t"
                     "mov %%rbx, %%rsp\n\t"
                     : "=a"(ret), "+D"(arg)
                     : [top] "r"(top), [fn] "r"(fn)
                     : "rbx", "rcx", "rdx", "rsi", "r8", "r9", "r10", "r11", "memory", "cc", "xmm0",
                       "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "xmm8", "xmm9",
                       "xmm10", "xmm11", "xmm12", "xmm13", "xmm14", "xmm15");
    return ret;
}

static long deep_entry(long n)
{
    return deep(n, NULL);
}

static void bigstack(void)
{
    size_t size = 512ul << 20;
    char *stack = mmap(NULL, size, PROT_READ | PROT_WRITE,
                       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (stack == MAP_FAILED) {
        perror("mmap");
        exit(1);
    }
    /* 2.5 million frames of 128+ bytes: ~330 MiB of stack. */
    long n = 2500000;
    printf("deep(%ld) on a 512 MiB stack = %ld\n", n,
           call_on_stack(stack + size - 64, deep_entry, n));
    munmap(stack, size);
}

static const struct {
    const char *name;
    void (*fn)(void);
} sections[] = {
    {"ackermann", ackermann}, {"fib", fibonacci},  {"queens", queens},     {"sort", sorts},
    {"parse", parse},         {"deep", deep_main}, {"bigstack", bigstack},
};

int main(int argc, char **argv)
{
    for (size_t i = 0; i < sizeof(sections) / sizeof(sections[0]); i++) {
        int want = argc < 2;
        for (int a = 1; a < argc; a++)
            want |= strcmp(argv[a], sections[i].name) == 0;
        if (!want)
            continue;
        printf("== %s\n", sections[i].name);
        fflush(stdout);
        sections[i].fn();
    }
    return 0;
}
