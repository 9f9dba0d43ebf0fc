/* Character backends: the file backend, the stdio escape parser, and the
 * stdio backend over pipes with a real event loop on its own thread. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "backend/chardev.h"
#include "backend/stdio_escape.h"
#include "util/event_loop.h"
#include "util/log.h"

/* --- file backend --- */

static char *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    static char buf[65536];
    *len = fread(buf, 1, sizeof(buf), f);
    fclose(f);
    return buf;
}

static void test_file_writes_exactly(void **state)
{
    (void)state;
    char dir[] = "/tmp/xuni-chardev-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char path[64];
    snprintf(path, sizeof(path), "%s/out.txt", dir);
    FILE *old = fopen(path, "w");
    assert_non_null(old);
    fputs("old contents that must go away", old);
    fclose(old);

    struct chardev *chr = chardev_file_new(path);
    assert_non_null(chr);
    assert_null(chr->ops->attach);
    static uint8_t big[20000];
    for (size_t i = 0; i < sizeof(big); i++)
        big[i] = (uint8_t)(i * 31);
    chardev_write(chr, (const uint8_t *)"hello\n", 6);
    chardev_write(chr, (const uint8_t *)"\0\r\n\xff", 4);
    /* Unbuffered: the bytes are in the file before close. */
    size_t len;
    char *got = read_file(path, &len);
    assert_int_equal(len, 10);
    assert_memory_equal(got, "hello\n\0\r\n\xff", 10);
    chardev_write(chr, big, sizeof(big));
    chardev_close(chr);
    got = read_file(path, &len);
    assert_int_equal(len, 10 + sizeof(big));
    assert_memory_equal(got + 10, big, sizeof(big));
    unlink(path);
    rmdir(dir);
}

static void test_file_missing_directory(void **state)
{
    (void)state;
    FILE *log = tmpfile();
    assert_non_null(log);
    log_set_stream(log);
    struct chardev *chr = chardev_file_new("/nonexistent-xuni-dir/serial.log");
    log_set_stream(NULL);
    assert_null(chr);
    char msg[256] = {0};
    rewind(log);
    assert_non_null(fgets(msg, sizeof(msg), log));
    fclose(log);
    assert_non_null(strstr(msg, "cannot open serial output /nonexistent-xuni-dir/serial.log: "));
    assert_non_null(strstr(msg, strerror(ENOENT)));
}

/* --- the escape parser --- */

/* Feed a string; collect the bytes for the guest and the last action. */
static size_t feed(struct stdio_escape *esc, const char *in, size_t n, uint8_t *out,
                   enum stdio_escape_action *last)
{
    size_t len = 0;
    *last = STDIO_ESCAPE_NONE;
    for (size_t i = 0; i < n; i++) {
        enum stdio_escape_action a;
        len += stdio_escape_feed(esc, (uint8_t)in[i], out + len, &a);
        if (a != STDIO_ESCAPE_NONE)
            *last = a;
    }
    return len;
}

static void test_escape_parser(void **state)
{
    (void)state;
    struct stdio_escape esc = {0};
    uint8_t out[16];
    enum stdio_escape_action a;

    assert_int_equal(feed(&esc, "ab\x03", 3, out, &a), 3);
    assert_memory_equal(out, "ab\x03", 3); /* Ctrl-C goes to the guest */
    assert_int_equal(a, STDIO_ESCAPE_NONE);

    assert_int_equal(feed(&esc, "\x01x", 2, out, &a), 0);
    assert_int_equal(a, STDIO_ESCAPE_QUIT);

    assert_int_equal(feed(&esc, "\x01\x01z", 3, out, &a), 2);
    assert_memory_equal(out, "\x01z", 2);
    assert_int_equal(a, STDIO_ESCAPE_NONE);

    assert_int_equal(feed(&esc, "\x01y", 2, out, &a), 2);
    assert_memory_equal(out, "\x01y", 2);
    assert_int_equal(a, STDIO_ESCAPE_NONE);

    assert_int_equal(feed(&esc, "\x01h", 2, out, &a), 0);
    assert_int_equal(a, STDIO_ESCAPE_HELP);

    /* The escape spans separate reads. */
    assert_int_equal(feed(&esc, "q\x01", 2, out, &a), 1);
    assert_true(esc.armed);
    assert_int_equal(feed(&esc, "x", 1, out, &a), 0);
    assert_int_equal(a, STDIO_ESCAPE_QUIT);
    assert_false(esc.armed);
}

/* --- the stdio backend over pipes --- */

struct front {
    pthread_mutex_t lock; /* plays the board's device lock */
    pthread_cond_t cond;
    uint8_t got[8192];
    size_t len;
    size_t room; /* bytes the frontend still takes */
    int power_requests;
    enum power_event event;
    int status;
};

static size_t front_receive(void *opaque, const uint8_t *buf, size_t len)
{
    struct front *f = opaque;
    size_t n = len < f->room ? len : f->room;
    assert_true(f->len + n <= sizeof(f->got));
    memcpy(f->got + f->len, buf, n);
    f->len += n;
    f->room -= n;
    pthread_cond_broadcast(&f->cond);
    return n;
}

static void front_power(void *ctx, enum power_event event, int status, const char *why)
{
    struct front *f = ctx;
    assert_non_null(why);
    pthread_mutex_lock(&f->lock);
    f->power_requests++;
    f->event = event;
    f->status = status;
    pthread_cond_broadcast(&f->cond);
    pthread_mutex_unlock(&f->lock);
}

/* Wait (at most 5 s) until the frontend holds want bytes or saw a power
 * request; call with f->lock held. */
static void front_wait(struct front *f, size_t want, int power)
{
    struct timespec deadline;
    clock_gettime(CLOCK_REALTIME, &deadline);
    deadline.tv_sec += 5;
    while (f->len < want || f->power_requests < power)
        if (pthread_cond_timedwait(&f->cond, &f->lock, &deadline) == ETIMEDOUT)
            break;
}

struct rig {
    struct front front;
    struct chardev *chr;
    struct event_loop *loop;
    pthread_t thread;
    int in[2], out[2];
};

static void *loop_thread(void *arg)
{
    event_loop_run(arg);
    return NULL;
}

static void rig_start(struct rig *r, int in_fd, size_t room)
{
    pthread_mutex_init(&r->front.lock, NULL);
    pthread_cond_init(&r->front.cond, NULL);
    r->front.room = room;
    assert_int_equal(pipe(r->out), 0);
    r->chr = chardev_stdio_new_fds((struct power_line){front_power, &r->front}, in_fd, r->out[1]);
    assert_non_null(r->chr);
    r->chr->lock = &r->front.lock;
    chardev_set_frontend(r->chr, front_receive, &r->front);
    r->loop = event_loop_new();
    assert_non_null(r->loop);
    assert_int_equal(r->chr->ops->attach(r->chr, r->loop), 0);
    assert_int_equal(pthread_create(&r->thread, NULL, loop_thread, r->loop), 0);
}

static void rig_stop(struct rig *r)
{
    event_loop_stop(r->loop);
    pthread_join(r->thread, NULL);
    chardev_close(r->chr);
    event_loop_free(r->loop);
    close(r->out[0]);
    close(r->out[1]);
}

static void test_stdio_flow_control(void **state)
{
    (void)state;
    struct rig r = {0};
    assert_int_equal(pipe(r.in), 0);
    rig_start(&r, r.in[0], 4);

    chardev_write(r.chr, (const uint8_t *)"out\n", 4);
    char out[8];
    assert_int_equal(read(r.out[0], out, sizeof(out)), 4);
    assert_memory_equal(out, "out\n", 4);

    assert_int_equal(write(r.in[1], "abcdefghij", 10), 10);
    pthread_mutex_lock(&r.front.lock);
    front_wait(&r.front, 4, 0);
    assert_int_equal(r.front.len, 4);
    /* The guest drains its FIFO: the rest arrives only when asked for. */
    r.front.room = 100;
    chardev_accept_input(r.chr);
    front_wait(&r.front, 10, 0);
    assert_int_equal(r.front.len, 10);
    assert_memory_equal(r.front.got, "abcdefghij", 10);
    pthread_mutex_unlock(&r.front.lock);

    /* End of input stops reading but does not end the machine. */
    close(r.in[1]);
    usleep(50000);
    pthread_mutex_lock(&r.front.lock);
    assert_int_equal(r.front.power_requests, 0);
    pthread_mutex_unlock(&r.front.lock);
    rig_stop(&r);
    close(r.in[0]);
}

static void test_stdio_ctrl_a_x_quits(void **state)
{
    (void)state;
    struct rig r = {0};
    assert_int_equal(pipe(r.in), 0);
    rig_start(&r, r.in[0], 100);

    FILE *err = tmpfile();
    assert_non_null(err);
    int saved_stderr = dup(STDERR_FILENO);
    dup2(fileno(err), STDERR_FILENO);
    assert_int_equal(write(r.in[1], "ok\x01\x01\x01xlost", 9), 9);
    pthread_mutex_lock(&r.front.lock);
    front_wait(&r.front, 3, 1);
    pthread_mutex_unlock(&r.front.lock);
    dup2(saved_stderr, STDERR_FILENO);
    close(saved_stderr);

    assert_int_equal(r.front.power_requests, 1);
    assert_int_equal(r.front.event, POWER_OFF);
    assert_int_equal(r.front.status, 0);
    assert_int_equal(r.front.len, 3);
    assert_memory_equal(r.front.got, "ok\x01", 3);
    char msg[64] = {0};
    rewind(err);
    assert_non_null(fgets(msg, sizeof(msg), err));
    fclose(err);
    assert_string_equal(msg, "xuni: terminated\n");
    rig_stop(&r);
    close(r.in[0]);
    close(r.in[1]);
}

/* A regular file on stdin cannot be polled: it is read on wakeups. */
static void test_stdio_regular_file_input(void **state)
{
    (void)state;
    FILE *in = tmpfile();
    assert_non_null(in);
    static char text[6000];
    for (size_t i = 0; i < sizeof(text); i++)
        text[i] = (char)('a' + i % 26);
    assert_int_equal(fwrite(text, 1, sizeof(text), in), sizeof(text));
    fflush(in);
    rewind(in);
    struct rig r = {0};
    rig_start(&r, fileno(in), sizeof(text));
    pthread_mutex_lock(&r.front.lock);
    front_wait(&r.front, sizeof(text), 0);
    assert_int_equal(r.front.len, sizeof(text));
    assert_memory_equal(r.front.got, text, sizeof(text));
    pthread_mutex_unlock(&r.front.lock);
    rig_stop(&r);
    fclose(in);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_file_writes_exactly),
        cmocka_unit_test(test_file_missing_directory),
        cmocka_unit_test(test_escape_parser),
        cmocka_unit_test(test_stdio_flow_control),
        cmocka_unit_test(test_stdio_ctrl_a_x_quits),
        cmocka_unit_test(test_stdio_regular_file_input),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
