/* Temporary image files for the block backend and virtio-blk tests. */
#ifndef XUNI_TESTS_BLOCK_RIG_H
#define XUNI_TESTS_BLOCK_RIG_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The byte the test images hold at offset off, before anyone writes. */
static inline uint8_t img_pattern(uint64_t off)
{
    return (uint8_t)(off * 7 + (off >> 9) * 13 + 1);
}

/* A new image of `size` bytes holding img_pattern, in dir (NULL: $TMPDIR
 * or /tmp). Returns a malloc'd path; aborts if the test cannot set up. */
static inline char *img_create(const char *dir, uint64_t size)
{
    if (!dir)
        dir = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
    size_t n = strlen(dir) + 32;
    char *path = malloc(n);
    snprintf(path, n, "%s/xuni-blk-XXXXXX", dir);
    int fd = mkstemp(path);
    if (fd < 0)
        abort();
    uint8_t buf[4096];
    for (uint64_t off = 0; off < size; off += sizeof(buf)) {
        size_t len = size - off < sizeof(buf) ? size - off : sizeof(buf);
        for (size_t i = 0; i < len; i++)
            buf[i] = img_pattern(off + i);
        if (pwrite(fd, buf, len, (off_t)off) != (ssize_t)len)
            abort();
    }
    close(fd);
    return path;
}

static inline void img_remove(char *path)
{
    unlink(path);
    free(path);
}

/* Read len bytes of the image at off, past any cache xuni keeps. */
static inline void img_read(const char *path, uint64_t off, void *buf, size_t len)
{
    FILE *f = fopen(path, "rb");
    if (!f || fseek(f, (long)off, SEEK_SET) || fread(buf, 1, len, f) != len)
        abort();
    fclose(f);
}

static inline int all_bytes(const uint8_t *p, size_t len, uint8_t v)
{
    for (size_t i = 0; i < len; i++)
        if (p[i] != v)
            return 0;
    return 1;
}

#endif
