/*
 * blkbench: the guest's side of `make bench-blk`, built static and carried
 * into the guest's initramfs (busybox has no clock finer than a second and
 * its dd reads only sequentially).
 *
 *   blkbench now                        CLOCK_MONOTONIC in nanoseconds
 *   blkbench randread DEVICE COUNT [SEED]
 *
 * randread reads COUNT aligned 4 KiB blocks at offsets from a xorshift64 sequence
 * seeded with SEED (default 1), so every VMM reads the same blocks in the
 * same order, one request at a time (queue depth 1: the latency of one
 * request, guest and VMM, is what is measured). Prints
 * "randread: N reads in S s, I IOPS" timed with CLOCK_MONOTONIC, or one
 * error and status 1.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>
#include <errno.h>
#include <linux/fs.h>

enum { BLOCK = 4096 };

static uint64_t xorshift64(uint64_t *s)
{
    uint64_t x = *s;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    *s = x;
    return x;
}

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int parse_u64(const char *s, uint64_t *out)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 0);
    if (errno || end == s || *end || s[0] == '-')
        return -1;
    *out = v;
    return 0;
}

static int usage(void)
{
    fprintf(stderr, "usage: blkbench now | blkbench randread DEVICE COUNT [SEED (not 0)]\n");
    return 1;
}

static int randread(const char *dev, uint64_t count, uint64_t seed)
{
    uint64_t size;
    int fd = open(dev, O_RDONLY | O_DIRECT);
    if (fd < 0) {
        fprintf(stderr, "randread: %s: %s\n", dev, strerror(errno));
        return 1;
    }
    if (ioctl(fd, BLKGETSIZE64, &size) < 0 || size < BLOCK) {
        fprintf(stderr, "randread: %s: not a block device of 4 KiB or more\n", dev);
        return 1;
    }
    void *buf;
    if (posix_memalign(&buf, BLOCK, BLOCK)) {
        fprintf(stderr, "randread: out of memory\n");
        return 1;
    }
    uint64_t blocks = size / BLOCK;
    uint64_t t0 = now_ns();
    for (uint64_t i = 0; i < count; i++) {
        off_t off = (off_t)(xorshift64(&seed) % blocks) * BLOCK;
        ssize_t n = pread(fd, buf, BLOCK, off);
        if (n != BLOCK) {
            fprintf(stderr, "randread: read at %lld: %s\n", (long long)off,
                    n < 0 ? strerror(errno) : "short read");
            return 1;
        }
    }
    double dt = (double)(now_ns() - t0) / 1e9;
    printf("randread: %" PRIu64 " reads in %.3f s, %.0f IOPS\n", count, dt, (double)count / dt);
    return 0;
}

int main(int argc, char **argv)
{
    uint64_t count, seed = 1;
    if (argc == 2 && !strcmp(argv[1], "now")) {
        printf("%" PRIu64 "\n", now_ns());
        return 0;
    }
    if (argc < 4 || argc > 5 || strcmp(argv[1], "randread") || parse_u64(argv[3], &count) ||
        count == 0 || (argc == 5 && (parse_u64(argv[4], &seed) || seed == 0)))
        return usage();
    return randread(argv[2], count, seed);
}
