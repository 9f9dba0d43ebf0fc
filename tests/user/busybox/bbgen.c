/* bbgen: deterministic pseudo-random inputs for the busybox tests and the
 * user benchmarks. Runs natively only; the same arguments always give the
 * same bytes on every machine (xorshift64*, no libc randomness).
 *
 *   bbgen text  BYTES SEED    lines of words and numbers (sort, sed, grep, gzip)
 *   bbgen table BYTES SEED    "key int float word" lines (sort -k, awk, cut)
 *   bbgen bin   BYTES SEED    binary: random runs, repeats and text (hashes, compressors)
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint64_t rng_state;

static uint64_t rng_next(void)
{
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * 0x2545f4914f6cdd1dULL;
}

static unsigned rng_below(unsigned n)
{
    return (unsigned)((rng_next() >> 33) % n);
}

static const char *const words[] = {
    "alpha",   "bravo",    "charlie", "delta",   "echo",     "foxtrot",  "golf",    "hotel",
    "india",   "juliet",   "kilo",    "lima",    "mike",     "november", "oscar",   "papa",
    "quebec",  "romeo",    "sierra",  "tango",   "uniform",  "victor",   "whiskey", "xray",
    "yankee",  "zulu",     "Apple",   "Banana",  "Cherry",   "the",      "of",      "and",
    "to",      "in",       "is",      "that",    "for",      "it",       "as",      "with",
    "was",     "on",       "be",      "at",      "by",       "this",     "had",     "not",
    "kernel",  "emulator", "virtual", "machine", "register", "page",     "table",   "interrupt",
    "vector",  "segment",  "x86-64",  "busybox", "gzip",     "tar",      "sed",     "awk",
    "foo_bar", "BAZ",      "qux42",   "a",       "I",        "zz",       "ZZtop",   "MiXeD",
};
#define NWORDS (sizeof(words) / sizeof(words[0]))

static void gen_text(long bytes)
{
    long out = 0;
    while (out < bytes) {
        int n = 1 + (int)rng_below(12);
        char line[512];
        int len = 0;
        for (int i = 0; i < n; i++) {
            unsigned r = rng_below(100);
            const char *sep = i ? " " : "";
            if (r < 70)
                len +=
                    snprintf(line + len, sizeof(line) - len, "%s%s", sep, words[rng_below(NWORDS)]);
            else if (r < 85)
                len += snprintf(line + len, sizeof(line) - len, "%s%u", sep, rng_below(100000));
            else if (r < 92)
                len += snprintf(line + len, sizeof(line) - len, "%s%s,", sep,
                                words[rng_below(NWORDS)]);
            else
                len += snprintf(line + len, sizeof(line) - len, "%s%c%u.%02u", sep,
                                "+-"[rng_below(2)], rng_below(1000), rng_below(100));
        }
        if (rng_below(10) == 0)
            len += snprintf(line + len, sizeof(line) - len, "\t.");
        line[len++] = '\n';
        fwrite(line, 1, len, stdout);
        out += len;
    }
}

static void gen_table(long bytes)
{
    long out = 0;
    while (out < bytes) {
        int r = printf("%s%u %d %u.%03u %s\n", words[rng_below(26)], rng_below(50),
                       (int)rng_below(200001) - 100000, rng_below(10000), rng_below(1000),
                       words[rng_below(NWORDS)]);
        out += r;
    }
}

/* Blocks of: random bytes, a repeat of earlier output (LZ matches), a run
 * of one byte, or text; so compressors see every kind of input. */
static void gen_bin(long bytes)
{
    unsigned char *buf = malloc(bytes + 4096);
    if (!buf) {
        perror("bbgen");
        exit(1);
    }
    long n = 0;
    while (n < bytes) {
        unsigned kind = rng_below(4), len = 16 + rng_below(4000);
        if (kind == 0 || n < 4096) {
            for (unsigned i = 0; i < len; i++)
                buf[n + i] = (unsigned char)(rng_next() >> 56);
        } else if (kind == 1) {
            long from = n - 1 - rng_below(n < 32768 ? (unsigned)n : 32768);
            for (unsigned i = 0; i < len; i++)
                buf[n + i] = buf[from + i];
        } else if (kind == 2) {
            memset(buf + n, (int)rng_below(256), len);
        } else {
            unsigned i = 0;
            while (i < len) {
                const char *w = words[rng_below(NWORDS)];
                for (; *w && i < len; w++)
                    buf[n + i++] = (unsigned char)*w;
                if (i < len)
                    buf[n + i++] = ' ';
            }
        }
        n += len;
    }
    fwrite(buf, 1, bytes, stdout);
    free(buf);
}

int main(int argc, char **argv)
{
    if (argc != 4) {
        fprintf(stderr, "usage: bbgen text|table|bin BYTES SEED\n");
        return 2;
    }
    long bytes = atol(argv[2]);
    rng_state = 0x9e3779b97f4a7c15ULL ^ strtoull(argv[3], NULL, 0);
    if (!rng_state)
        rng_state = 1;
    if (strcmp(argv[1], "text") == 0)
        gen_text(bytes);
    else if (strcmp(argv[1], "table") == 0)
        gen_table(bytes);
    else if (strcmp(argv[1], "bin") == 0)
        gen_bin(bytes);
    else {
        fprintf(stderr, "bbgen: unknown kind '%s'\n", argv[1]);
        return 2;
    }
    return fflush(stdout) == 0 ? 0 : 1;
}
