/* String and memory functions through glibc, for `xuni user` against
 * native runs. glibc picks SSE2/SSSE3/SSE4.2/AVX2 versions of these by
 * CPUID, each with its own paths for alignments, page ends and lengths;
 * every result is checked against a plain C reference and also printed
 * (as a hash), so a wrong answer shows as a mismatch line and a diff.
 *
 *   strings [SECTION...]   search compare copy span sort format convert wide
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <regex.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/mman.h>
#include <unistd.h>
#include <wchar.h>

static uint64_t rng = 88172645463325252ULL;

static uint64_t next(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

/* FNV-1a over the results of a section. */
static uint64_t hash = 1469598103934665603ULL;
static unsigned mismatches;

static void mix(long v)
{
    for (int i = 0; i < 8; i++) {
        hash ^= (uint8_t)(v >> (i * 8));
        hash *= 1099511628211ULL;
    }
}

static void expect(const char *what, long got, long want, int a, int b)
{
    mix(got);
    if (got != want && mismatches++ < 20)
        printf("MISMATCH %s (%d, %d): got %ld, want %ld\n", what, a, b, got, want);
}

static int sign(int v)
{
    return (v > 0) - (v < 0);
}

/* Two pages with the second one unmapped: strings that end right before
 * it test that the vector loops never read past the end. */
static char *page_end;

static char *tail_buffer(size_t len)
{
    return page_end - len;
}

static void search(void)
{
    static char buf[8192] __attribute__((aligned(64)));
    for (int align = 0; align < 64; align++) {
        for (int len = 0; len < 300; len += (len < 70 ? 1 : 13)) {
            char *s = buf + align;
            for (int i = 0; i < len; i++)
                s[i] = 'a' + (char)(next() % 20);
            s[len] = 0;
            expect("strlen", (long)strlen(s), len, align, len);
            expect("strnlen", (long)strnlen(s, len / 2), len / 2, align, len);
            char c = 'a' + (char)(next() % 22);
            char *ref = NULL, *rref = NULL;
            for (int i = 0; i < len; i++)
                if (s[i] == c) {
                    if (!ref)
                        ref = s + i;
                    rref = s + i;
                }
            expect("strchr", strchr(s, c) ? strchr(s, c) - s : -1, ref ? ref - s : -1, align, len);
            expect("strrchr", strrchr(s, c) ? strrchr(s, c) - s : -1, rref ? rref - s : -1, align,
                   len);
            expect("memchr", memchr(s, c, len) ? (char *)memchr(s, c, len) - s : -1,
                   ref ? ref - s : -1, align, len);
            expect("memrchr", memrchr(s, c, len) ? (char *)memrchr(s, c, len) - s : -1,
                   rref ? rref - s : -1, align, len);
            expect("strchrnul", strchrnul(s, c) - s, ref ? ref - s : len, align, len);
            expect("strchr nul", strchr(s, 0) - s, len, align, len);
            expect("rawmemchr", (char *)rawmemchr(s, 0) - s, len, align, len);
            if (len > 8) {
                int at = (int)(next() % (len - 4));
                char needle[5];
                memcpy(needle, s + at, 4);
                needle[4] = 0;
                char *f = strstr(s, needle);
                long want = -1;
                for (int i = 0; i + 4 <= len && want < 0; i++)
                    if (memcmp(s + i, needle, 4) == 0)
                        want = i;
                expect("strstr", f ? f - s : -1, want, align, len);
                f = memmem(s, len, needle, 4);
                expect("memmem", f ? f - s : -1, want, align, len);
                needle[0] = (char)toupper(needle[0]);
                f = strcasestr(s, needle);
                expect("strcasestr", f ? f - s : -1, want, align, len);
            }
        }
    }
    /* Strings ending at a page boundary. */
    for (int len = 0; len < 200; len++) {
        char *s = tail_buffer(len + 1);
        memset(s, 'x', len);
        s[len] = 0;
        expect("strlen@page", (long)strlen(s), len, 0, len);
        expect("strchr@page", strchr(s, 'y') ? 1 : 0, 0, 0, len);
        expect("memchr@page", memchr(s, 'y', len + 1) ? 1 : 0, 0, 0, len);
        expect("strrchr@page", strrchr(s, 'x') ? strrchr(s, 'x') - s : -1, len - 1, 0, len);
    }
    char hay[] = "the quick brown fox jumps over the lazy dog; the end";
    printf("strstr '%s' '%s' '%s'\n", strstr(hay, "the"), strstr(hay, "lazy"),
           strstr(hay, "") == hay ? "(empty ok)" : "?");
    printf("strstr absent %p, strcasestr '%s'\n", (void *)strstr(hay, "cat"),
           strcasestr(hay, "JUMPS"));
}

static void compare(void)
{
    static char a[600], b[600];
    for (int oa = 0; oa < 32; oa += 3)
        for (int ob = 0; ob < 32; ob += 5)
            for (int len = 0; len < 260; len += (len < 40 ? 1 : 7)) {
                char *x = a + oa, *y = b + ob;
                for (int i = 0; i < len; i++)
                    x[i] = y[i] = (char)(32 + next() % 90);
                x[len] = y[len] = 0;
                int diff = len ? (int)(next() % (len + 1)) : 0;
                if (diff < len)
                    y[diff] = (char)(y[diff] + 1 + next() % 100); /* maybe > 127 */
                int want = 0;
                for (int i = 0; i < len && !want; i++)
                    want = sign((unsigned char)x[i] - (unsigned char)y[i]);
                expect("memcmp", sign(memcmp(x, y, len)), want, oa, len);
                expect("strcmp", sign(strcmp(x, y)), want, oa, len);
                expect("strncmp", sign(strncmp(x, y, diff)), 0, oa, len);
                expect("bcmp", bcmp(x, y, len) != 0, want != 0, oa, len);
                for (int i = 0; i < len; i++)
                    y[i] = (char)(isupper((unsigned char)x[i]) ? tolower((unsigned char)x[i])
                                                               : toupper((unsigned char)x[i]));
                expect("strcasecmp", strcasecmp(x, y), 0, oa, len);
                expect("strncasecmp", strncasecmp(x, y, len / 2), 0, oa, len);
            }
    printf("strcmp %d %d %d, strverscmp %d %d\n", sign(strcmp("abc", "abd")),
           sign(strcmp("abc", "ab")), strcmp("", ""), sign(strverscmp("file9", "file10")),
           sign(strverscmp("1.2.10", "1.2.9")));
}

static void copy(void)
{
    static char src[5000], dst[5200];
    for (size_t i = 0; i < sizeof(src); i++)
        src[i] = (char)next();
    for (int os = 0; os < 16; os++)
        for (int od = 0; od < 16; od += 3)
            for (int len = 0; len < 4096; len = len < 80 ? len + 1 : len * 5 / 4) {
                memset(dst, 0x55, sizeof(dst));
                memcpy(dst + od, src + os, len);
                expect("memcpy", memcmp(dst + od, src + os, len), 0, os, len);
                expect("memcpy guard", dst[od + len] == 0x55 && (od == 0 || dst[od - 1] == 0x55), 1,
                       od, len);
                memset(dst + od, os, len);
                int ok = 1;
                for (int i = 0; i < len; i++)
                    ok &= dst[od + i] == os;
                expect("memset", ok && dst[od + len] == 0x55, 1, od, len);
            }
    /* Overlapping moves both ways. */
    for (int shift = -40; shift <= 40; shift += 3)
        for (int len = 0; len < 2000; len = len < 64 ? len + 1 : len * 3 / 2) {
            char ref[5200];
            for (size_t i = 0; i < sizeof(dst); i++)
                dst[i] = (char)(i * 7);
            memcpy(ref, dst, sizeof(dst));
            memmove(dst + 100 + shift, dst + 100, len);
            for (int i = 0; i < len; i++) /* reference: through a copy */
                ref[100 + shift + i] = (char)((100 + i) * 7);
            expect("memmove", memcmp(dst, ref, sizeof(dst)), 0, shift, len);
        }
    char buf[64];
    char *e = stpcpy(stpcpy(buf, "hello, "), "world");
    strcat(buf, "!");
    printf("stpcpy/strcat '%s' end %ld\n", buf, (long)(e - buf));
    strncpy(buf, "abc", 6);
    printf("strncpy pads %d %d %d\n", buf[3], buf[4], buf[5]);
    char *d = strdup("duplicate me"), *nd = strndup("truncate here", 8);
    printf("strdup '%s' strndup '%s'\n", d, nd);
    free(d);
    free(nd);
    char *m = mempcpy(buf, "12345", 5);
    *m = 0;
    printf("mempcpy '%s' memccpy %s\n", buf, memccpy(buf, "ab:cd", ':', 5) ? "found" : "no");
}

static void span(void)
{
    static const char *sets[] = {
        "abc", " \t\n", "0123456789", "xyzXYZ-_", "a", "", "abcdefghijklmnopqrstuvwxyz"};
    static char s[400];
    for (int k = 0; k < 7; k++)
        for (int len = 0; len < 300; len += 7) {
            for (int i = 0; i < len; i++)
                s[i] = "abc xyz-019\tq"[next() % 13];
            s[len] = 0;
            const char *set = sets[k];
            size_t ws = 0, wc = 0;
            while (ws < (size_t)len && strchr(set, s[ws]) && s[ws])
                ws++;
            while (wc < (size_t)len && !strchr(set, s[wc]))
                wc++;
            expect("strspn", (long)strspn(s, set), (long)ws, k, len);
            expect("strcspn", (long)strcspn(s, set), (long)wc, k, len);
            char *p = strpbrk(s, set);
            expect("strpbrk", p ? p - s : -1, wc < (size_t)len ? (long)wc : -1, k, len);
        }
    char text[] = "alpha, beta;gamma  delta,,epsilon";
    char *save, *tok;
    printf("tokens:");
    for (tok = strtok_r(text, ",; ", &save); tok; tok = strtok_r(NULL, ",; ", &save))
        printf(" [%s]", tok);
    char path[] = "/usr/local/bin/xuni", *rest = path;
    printf("\nstrsep:");
    while ((tok = strsep(&rest, "/")))
        printf(" <%s>", tok);
    printf("\n");
    regex_t re;
    regmatch_t mt[3];
    int rc = regcomp(&re, "([a-z]+)-([0-9]+)", REG_EXTENDED);
    rc |= regexec(&re, "id: node-4711 rest", 3, mt, 0);
    printf("regex rc %d match %d-%d group1 %d-%d group2 %d-%d\n", rc, (int)mt[0].rm_so,
           (int)mt[0].rm_eo, (int)mt[1].rm_so, (int)mt[1].rm_eo, (int)mt[2].rm_so,
           (int)mt[2].rm_eo);
    regfree(&re);
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void sort_strings(void)
{
    enum { N = 20000 };
    char **v = malloc(N * sizeof(*v));
    for (int i = 0; i < N; i++) {
        int len = 1 + (int)(next() % 24);
        v[i] = malloc(len + 1);
        for (int j = 0; j < len; j++)
            v[i][j] = (char)('A' + next() % 58);
        v[i][len] = 0;
    }
    qsort(v, N, sizeof(*v), cmp_str);
    int sorted = 1;
    for (int i = 1; i < N; i++) {
        sorted &= strcmp(v[i - 1], v[i]) <= 0;
        for (const char *p = v[i]; *p; p++)
            mix(*p);
    }
    printf("qsort %d strings: sorted %d first '%s' last '%s' median '%s'\n", N, sorted, v[0],
           v[N - 1], v[N / 2]);
    char *key = v[1234];
    char **f = bsearch(&key, v, N, sizeof(*v), cmp_str);
    printf("bsearch finds '%s' at %s\n", key, f && strcmp(*f, key) == 0 ? "the right one" : "?");
    for (int i = 0; i < N; i++)
        free(v[i]);
    free(v);
}

static void format(void)
{
    char buf[256];
    int n = snprintf(buf, sizeof(buf), "[%s|%-12s|%12s|%.3s|%*d|%-*d|%05d|%+d|% d]", "str", "left",
                     "right", "truncate", 6, 42, 6, 42, -42, 7, 7);
    printf("%d %s\n", n, buf);
    n = snprintf(buf, sizeof(buf), "%x %X %#x %o %#o %lld %llu %hhd %hu %zu %c%c", 0xdeadbeef,
                 0xcafe, 255, 8, 8, -9223372036854775807LL - 1, 18446744073709551615ULL, 300, 70000,
                 (size_t)12345, 'o', 'k');
    printf("%d %s\n", n, buf);
    static const char *volatile too_long = "this is far too long for the buffer";
    n = snprintf(buf, 10, "%s", too_long);
    printf("truncated %d '%s'\n", n, buf);
    char *as;
    n = asprintf(&as, "%0*d:%s", 20, 7, "asprintf");
    printf("%d %s\n", n, as);
    free(as);
    /* Large output: printf's own buffering and %s of long strings. */
    char *big = malloc(100001);
    memset(big, 'z', 100000);
    big[100000] = 0;
    n = snprintf(NULL, 0, "%s%s%d", big, big, 12345);
    printf("length of a long format %d\n", n);
    free(big);
    for (int i = 0; i < 2000; i++) {
        n = snprintf(buf, sizeof(buf), "%d:%x:%s", i * 7919, i, i % 2 ? "odd" : "even");
        for (int j = 0; j < n; j++)
            mix(buf[j]);
    }
}

static void convert(void)
{
    static const char *in[] = {
        "12345",    "-42", "0x7fffffff", "0777", "9223372036854775807", "9223372036854775808",
        "  +17abc", "z",   "-0",         "1e5"};
    for (int i = 0; i < 10; i++) {
        char *end;
        long v = strtol(in[i], &end, 0);
        unsigned long u = strtoul(in[i], NULL, 10);
        long long b36 = strtoll(in[i], NULL, 36);
        printf("'%s' strtol %ld end+%d strtoul %lu base36 %lld atoi %d\n", in[i], v,
               (int)(end - in[i]), u, b36, atoi(in[i]));
    }
    char up[] = "Mixed Case 123 ÄÖ";
    for (char *p = up; *p; p++)
        *p = (char)toupper((unsigned char)*p);
    printf("toupper '%s' isalpha %d isdigit %d isspace %d\n", up, isalpha('q') != 0,
           isdigit('7') != 0, isspace('\t') != 0);
}

static void wide(void)
{
    static wchar_t w[600];
    for (int len = 0; len < 500; len += 11) {
        for (int i = 0; i < len; i++)
            w[i] = (wchar_t)(0x41 + next() % 1000);
        w[len] = 0;
        expect("wcslen", (long)wcslen(w), len, 0, len);
        wchar_t c = (wchar_t)(0x41 + next() % 1000);
        long want = -1;
        for (int i = 0; i < len && want < 0; i++)
            if (w[i] == c)
                want = i;
        wchar_t *f = wcschr(w, c);
        expect("wcschr", f ? f - w : -1, want, 0, len);
        f = wmemchr(w, c, len);
        expect("wmemchr", f ? f - w : -1, want, 0, len);
        expect("wcscmp", wcscmp(w, w), 0, 0, len);
    }
    printf("wcscmp %d wcsncmp %d wmemcmp %d\n", sign(wcscmp(L"abc", L"abd")),
           wcsncmp(L"abc", L"abd", 2), sign(wmemcmp(L"\x10000", L"\x1", 1)));
}

static const struct {
    const char *name;
    void (*fn)(void);
} sections[] = {
    {"search", search},     {"compare", compare}, {"copy", copy},       {"span", span},
    {"sort", sort_strings}, {"format", format},   {"convert", convert}, {"wide", wide},
};

int main(int argc, char **argv)
{
    long page = sysconf(_SC_PAGESIZE);
    char *two = mmap(NULL, 2 * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (two == MAP_FAILED || munmap(two + page, page) != 0) {
        perror("mmap");
        return 1;
    }
    page_end = two + page;
    for (size_t i = 0; i < sizeof(sections) / sizeof(sections[0]); i++) {
        int want = argc < 2;
        for (int a = 1; a < argc; a++)
            want |= strcmp(argv[a], sections[i].name) == 0;
        if (!want)
            continue;
        hash = 1469598103934665603ULL;
        mismatches = 0;
        printf("== %s\n", sections[i].name);
        sections[i].fn();
        printf("%s: hash %016llx, %u mismatches\n", sections[i].name, (unsigned long long)hash,
               mismatches);
    }
    return 0;
}
