/* The block backend: opening, locking, and every operation on both
 * engines (io_uring and the thread pool), with and without O_DIRECT. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "backend/block.h"
#include "block_rig.h"
#include "util/log.h"

#define IMG_SIZE (1u << 20)

struct mode {
    enum block_engine engine;
    enum block_cache cache;
};

static const struct mode uring_wb = {BLOCK_ENGINE_URING, BLOCK_CACHE_WRITEBACK};
static const struct mode uring_direct = {BLOCK_ENGINE_URING, BLOCK_CACHE_NONE};
static const struct mode threads_wb = {BLOCK_ENGINE_THREADS, BLOCK_CACHE_WRITEBACK};
static const struct mode threads_direct = {BLOCK_ENGINE_THREADS, BLOCK_CACHE_NONE};

/* --- a synchronous wrapper --- */

struct waiter {
    struct block_req req;
    pthread_mutex_t m;
    pthread_cond_t c;
    bool done;
    int result;
};

static void waiter_done(struct block_req *req, int result)
{
    struct waiter *w = (struct waiter *)req;
    pthread_mutex_lock(&w->m);
    w->done = true;
    w->result = result;
    pthread_cond_signal(&w->c);
    pthread_mutex_unlock(&w->m);
}

static void waiter_init(struct waiter *w)
{
    memset(w, 0, sizeof(*w));
    pthread_mutex_init(&w->m, NULL);
    pthread_cond_init(&w->c, NULL);
    w->req.done = waiter_done;
}

static int waiter_wait(struct waiter *w)
{
    pthread_mutex_lock(&w->m);
    while (!w->done)
        pthread_cond_wait(&w->c, &w->m);
    pthread_mutex_unlock(&w->m);
    return w->result;
}

static int run(struct block_dev *bd, enum block_op op, uint64_t off, uint64_t len,
               struct iovec *iov, unsigned niov, bool unmap)
{
    struct waiter w;
    waiter_init(&w);
    w.req.op = op;
    w.req.offset = off;
    w.req.len = len;
    w.req.iov = iov;
    w.req.niov = niov;
    w.req.may_unmap = unmap;
    int r = block_submit(bd, &w.req);
    return r < 0 ? r : waiter_wait(&w);
}

static int rw(struct block_dev *bd, enum block_op op, uint64_t off, void *buf, size_t len)
{
    struct iovec iov = {.iov_base = buf, .iov_len = len};
    return run(bd, op, off, 0, &iov, 1, false);
}

/* --- opening --- */

static struct block_dev *open_mode(const char *path, const struct mode *m, bool ro)
{
    struct block_open_opts o = {
        .path = path, .readonly = ro, .cache = m->cache, .engine = m->engine};
    struct block_dev *bd = NULL;
    assert_int_equal(block_open(&o, &bd), 0);
    return bd;
}

/* The mode's engine works here, or the test is skipped. */
static const struct mode *need_mode(void **state)
{
    const struct mode *m = *state;
    if (m->engine == BLOCK_ENGINE_URING && !block_uring_available())
        skip(); /* io_uring refused on this host */
    return m;
}

/* A fresh image opened in the test's mode (skipped if the mode's engine
 * does not work here). */
static struct block_dev *setup(void **state, char **path, bool ro)
{
    const struct mode *m = need_mode(state);
    *path = img_create(NULL, IMG_SIZE);
    return open_mode(*path, m, ro);
}

static void teardown(struct block_dev *bd, char *path)
{
    block_close(bd);
    img_remove(path);
}

/* block_open's result, with the message it logged in msg. */
static int try_open(const char *path, bool ro, char *msg, size_t msglen)
{
    char *text = NULL;
    size_t len;
    FILE *f = open_memstream(&text, &len);
    log_set_stream(f);
    struct block_open_opts o = {.path = path, .readonly = ro};
    struct block_dev *bd = NULL;
    int r = block_open(&o, &bd);
    log_set_stream(NULL);
    fclose(f);
    snprintf(msg, msglen, "%s", text);
    free(text);
    if (r == 0)
        block_close(bd);
    return r;
}

static void test_open_errors(void **state)
{
    (void)state;
    char msg[512];
    assert_int_equal(try_open("/nonexistent/xuni.img", false, msg, sizeof(msg)), -ENOENT);
    assert_non_null(strstr(msg, "cannot open drive /nonexistent/xuni.img: No such file"));

    char *odd = img_create(NULL, 1000);
    assert_int_equal(try_open(odd, false, msg, sizeof(msg)), -EINVAL);
    assert_non_null(strstr(msg, "is not a multiple of 512"));
    img_remove(odd);

    assert_true(try_open("/tmp", true, msg, sizeof(msg)) < 0);
    assert_non_null(strstr(msg, "not a regular file"));

    char *empty = img_create(NULL, 0); /* a zero-sized disk is still a disk */
    assert_int_equal(try_open(empty, false, msg, sizeof(msg)), 0);
    img_remove(empty);
}

/* OFD locks: one writer or any number of readers, even within a process. */
static void test_locking(void **state)
{
    (void)state;
    char msg[512];
    char *path = img_create(NULL, IMG_SIZE);
    struct block_open_opts o = {.path = path};
    struct block_dev *a = NULL, *b = NULL;
    assert_int_equal(block_open(&o, &a), 0);
    assert_int_equal(try_open(path, false, msg, sizeof(msg)), -EAGAIN);
    char want[600];
    snprintf(want, sizeof(want), "xuni: error: %s: locked by another process\n", path);
    assert_string_equal(msg, want);
    assert_int_equal(try_open(path, true, msg, sizeof(msg)), -EAGAIN);
    block_close(a);

    o.readonly = true;
    assert_int_equal(block_open(&o, &a), 0);
    assert_int_equal(block_open(&o, &b), 0); /* readers share */
    assert_int_equal(try_open(path, false, msg, sizeof(msg)), -EAGAIN);
    block_close(a);
    block_close(b);
    assert_int_equal(try_open(path, false, msg, sizeof(msg)), 0); /* released on close */
    img_remove(path);
}

static void test_auto_engine(void **state)
{
    (void)state;
    char *path = img_create(NULL, IMG_SIZE);
    struct block_open_opts o = {.path = path};
    struct block_dev *bd = NULL;
    assert_int_equal(block_open(&o, &bd), 0);
    assert_string_equal(block_engine_name(bd), block_uring_available() ? "io_uring" : "threads");
    assert_int_equal(block_size(bd), IMG_SIZE);
    assert_false(block_readonly(bd));
    assert_int_equal(block_min_io(bd) % BLOCK_SECTOR_SIZE, 0);
    teardown(bd, path);
}

/* --- operations, per engine and cache mode --- */

static void fill(uint8_t *p, size_t len, uint8_t seed)
{
    for (size_t i = 0; i < len; i++)
        p[i] = (uint8_t)(seed + i * 31 + (i >> 8));
}

/* Written through three segments, read back through two others. */
static void test_read_write(void **state)
{
    char *path;
    struct block_dev *bd = setup(state, &path, false);
    uint8_t *src = aligned_alloc(4096, 8192), *dst = aligned_alloc(4096, 8192);
    fill(src, 8192, 0x5a);
    struct iovec w[3] = {{src, 512}, {src + 512, 1024 + 2048}, {src + 3584, 4608}};
    assert_int_equal(run(bd, BLOCK_OP_WRITE, 65536, 0, w, 3, false), 0);
    memset(dst, 0, 8192);
    struct iovec r[2] = {{dst, 4096}, {dst + 4096, 4096}};
    assert_int_equal(run(bd, BLOCK_OP_READ, 65536, 0, r, 2, false), 0);
    assert_memory_equal(src, dst, 8192);
    assert_int_equal(run(bd, BLOCK_OP_FLUSH, 0, 0, NULL, 0, false), 0);

    uint8_t file[8192 + 512];
    img_read(path, 65536 - 512, file, sizeof(file));
    for (unsigned i = 0; i < 512; i++) /* the sector before is untouched */
        assert_int_equal(file[i], img_pattern(65536 - 512 + i));
    assert_memory_equal(file + 512, src, 8192);

    /* The untouched start of the image reads as created. */
    assert_int_equal(rw(bd, BLOCK_OP_READ, 0, dst, 4096), 0);
    for (unsigned i = 0; i < 4096; i++)
        assert_int_equal(dst[i], img_pattern(i));
    /* The last sector, and one past the end. */
    assert_int_equal(rw(bd, BLOCK_OP_READ, IMG_SIZE - 512, dst, 512), 0);
    assert_int_equal(rw(bd, BLOCK_OP_READ, IMG_SIZE, dst, 512), -EINVAL);
    assert_int_equal(rw(bd, BLOCK_OP_WRITE, IMG_SIZE - 512, src, 1024), -EINVAL);
    free(src);
    free(dst);
    teardown(bd, path);
}

/* Buffers O_DIRECT cannot take go through a bounce buffer. */
static void test_unaligned_buffers(void **state)
{
    char *path;
    struct block_dev *bd = setup(state, &path, false);
    uint8_t *raw = malloc(4096 + 1), *back = malloc(4096 + 3);
    uint8_t *src = raw + 1, *dst = back + 3;
    fill(src, 4096, 0x11);
    assert_int_equal(rw(bd, BLOCK_OP_WRITE, 8192, src, 4096), 0);
    assert_int_equal(rw(bd, BLOCK_OP_READ, 8192, dst, 4096), 0);
    assert_memory_equal(src, dst, 4096);
    uint8_t file[4096];
    img_read(path, 8192, file, sizeof(file));
    assert_memory_equal(file, src, 4096);
    free(raw);
    free(back);
    teardown(bd, path);
}

static void check_zero_range(const char *path, uint64_t off, uint64_t len)
{
    uint8_t *file = malloc(len + 1024);
    img_read(path, off - 512, file, len + 1024);
    for (unsigned i = 0; i < 512; i++) {
        assert_int_equal(file[i], img_pattern(off - 512 + i));
        assert_int_equal(file[512 + len + i], img_pattern(off + len + i));
    }
    assert_true(all_bytes(file + 512, len, 0));
    free(file);
}

static void test_discard_and_zeroes(void **state)
{
    char *path;
    struct block_dev *bd = setup(state, &path, false);
    assert_true(block_can_discard(bd)); /* ext4 and tmpfs can punch holes */
    assert_int_equal(run(bd, BLOCK_OP_DISCARD, 16384, 8192, NULL, 0, false), 0);
    check_zero_range(path, 16384, 8192);
    assert_int_equal(run(bd, BLOCK_OP_ZEROES, 65536, 4096, NULL, 0, false), 0);
    check_zero_range(path, 65536, 4096);
    assert_int_equal(run(bd, BLOCK_OP_ZEROES, 131072, 65536 + 512, NULL, 0, true), 0);
    check_zero_range(path, 131072, 65536 + 512);
    assert_int_equal(run(bd, BLOCK_OP_DISCARD, IMG_SIZE - 512, 1024, NULL, 0, false), -EINVAL);
    assert_int_equal(run(bd, BLOCK_OP_ZEROES, 0, 0, NULL, 0, false), -EINVAL);
    teardown(bd, path);
}

/* tmpfs has no ZERO_RANGE: zeroes are written, in several steps for a
 * range longer than one step's worth of the zero buffer. */
static void test_zeroes_written(void **state)
{
    const struct mode *m = need_mode(state);
    struct stat st;
    if (stat("/dev/shm", &st) != 0)
        skip();
    uint64_t size = 4u << 20, off = 4096 + 512, len = (2u << 20) + 3 * 512;
    char *path = img_create("/dev/shm", size);
    struct block_dev *bd = open_mode(path, m, false);
    assert_int_equal(run(bd, BLOCK_OP_ZEROES, off, len, NULL, 0, false), 0);
    check_zero_range(path, off, len);
    assert_int_equal(run(bd, BLOCK_OP_ZEROES, size - 8192, 4096, NULL, 0, false), 0);
    check_zero_range(path, size - 8192, 4096);
    teardown(bd, path);
}

static void test_readonly(void **state)
{
    char *path;
    struct block_dev *bd = setup(state, &path, true);
    assert_true(block_readonly(bd));
    assert_false(block_can_discard(bd));
    uint8_t *buf = aligned_alloc(4096, 4096);
    memset(buf, 0xee, 4096);
    assert_int_equal(rw(bd, BLOCK_OP_WRITE, 0, buf, 4096), -EROFS);
    assert_int_equal(run(bd, BLOCK_OP_DISCARD, 0, 4096, NULL, 0, false), -EROFS);
    assert_int_equal(run(bd, BLOCK_OP_ZEROES, 0, 4096, NULL, 0, true), -EROFS);
    assert_int_equal(rw(bd, BLOCK_OP_READ, 4096, buf, 4096), 0);
    for (unsigned i = 0; i < 4096; i++)
        assert_int_equal(buf[i], img_pattern(4096 + i));
    assert_int_equal(run(bd, BLOCK_OP_FLUSH, 0, 0, NULL, 0, false), 0);
    free(buf);
    teardown(bd, path);
}

/* --- many requests in flight at once --- */

struct counter {
    pthread_mutex_t m;
    pthread_cond_t c;
    unsigned left;
    int failures;
};

static struct counter *counter_of;

static void counter_start(struct counter *c, unsigned n)
{
    *c = (struct counter){.left = n};
    pthread_mutex_init(&c->m, NULL);
    pthread_cond_init(&c->c, NULL);
    counter_of = c;
}

static void count_done(struct block_req *req, int result)
{
    (void)req;
    pthread_mutex_lock(&counter_of->m);
    if (result != 0)
        counter_of->failures++;
    if (--counter_of->left == 0)
        pthread_cond_signal(&counter_of->c);
    pthread_mutex_unlock(&counter_of->m);
}

static void test_many_in_flight(void **state)
{
    enum { N = 64, LEN = 8192 };
    char *path;
    struct block_dev *bd = setup(state, &path, false);
    struct counter cnt;
    counter_start(&cnt, N);
    uint8_t *bufs = aligned_alloc(4096, (size_t)N * LEN);
    struct block_req *reqs = calloc(N, sizeof(*reqs));
    struct iovec *iov = calloc(N, sizeof(*iov));
    for (unsigned i = 0; i < N; i++) {
        iov[i] = (struct iovec){bufs + (size_t)i * LEN, LEN};
        reqs[i] = (struct block_req){.op = BLOCK_OP_READ,
                                     .offset = (uint64_t)(N - 1 - i) * LEN,
                                     .iov = &iov[i],
                                     .niov = 1,
                                     .done = count_done};
        assert_int_equal(block_submit(bd, &reqs[i]), 0);
    }
    pthread_mutex_lock(&cnt.m);
    while (cnt.left)
        pthread_cond_wait(&cnt.c, &cnt.m);
    pthread_mutex_unlock(&cnt.m);
    assert_int_equal(cnt.failures, 0);
    for (unsigned i = 0; i < N; i++)
        for (unsigned j = 0; j < LEN; j += 97)
            assert_int_equal(bufs[(size_t)i * LEN + j],
                             img_pattern((uint64_t)(N - 1 - i) * LEN + j));
    block_close(bd);
    free(bufs);
    free(reqs);
    free(iov);
    img_remove(path);
}

/* block_close waits for requests in flight: their callbacks have run. */
static void test_close_drains(void **state)
{
    enum { N = 32 };
    char *path;
    struct block_dev *bd = setup(state, &path, false);
    struct counter cnt;
    counter_start(&cnt, N);
    uint8_t *buf = aligned_alloc(4096, 4096);
    memset(buf, 0x77, 4096);
    struct block_req reqs[N];
    struct iovec iov = {buf, 4096};
    for (unsigned i = 0; i < N; i++) {
        reqs[i] = (struct block_req){.op = i % 4 == 3 ? BLOCK_OP_FLUSH : BLOCK_OP_WRITE,
                                     .offset = i * 4096ULL,
                                     .iov = &iov,
                                     .niov = 1,
                                     .done = count_done};
        assert_int_equal(block_submit(bd, &reqs[i]), 0);
    }
    block_close(bd);
    assert_int_equal(cnt.left, 0);
    assert_int_equal(cnt.failures, 0);
    free(buf);
    img_remove(path);
}

#define PER_MODE(fn)                                                                               \
    cmocka_unit_test_prestate(fn, (void *)&uring_wb),                                              \
        cmocka_unit_test_prestate(fn, (void *)&uring_direct),                                      \
        cmocka_unit_test_prestate(fn, (void *)&threads_wb),                                        \
        cmocka_unit_test_prestate(fn, (void *)&threads_direct)

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_open_errors), cmocka_unit_test(test_locking),
        cmocka_unit_test(test_auto_engine), PER_MODE(test_read_write),
        PER_MODE(test_unaligned_buffers),   PER_MODE(test_discard_and_zeroes),
        PER_MODE(test_zeroes_written),      PER_MODE(test_readonly),
        PER_MODE(test_many_in_flight),      PER_MODE(test_close_drains),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
