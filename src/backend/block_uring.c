/* The block backend's io_uring engine (liburing): the submitting thread
 * turns a request's step into one SQE and enters the kernel; one reaper
 * thread waits for CQEs, continues requests that need another step and
 * finishes the others. The ring has room for every request in flight, so
 * an SQE is always free. */
#include <errno.h>
#include <liburing.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>

#include "backend/block_internal.h"
#include "util/log.h"
#include "util/tsan.h"

struct uring {
    struct io_uring ring;
    pthread_mutex_t sq_lock;
    pthread_t reaper;
};

static void prep_step(struct io_uring_sqe *sqe, int fd, const struct block_step *s)
{
    switch (s->call) {
    case BLOCK_CALL_READV:
        io_uring_prep_readv(sqe, fd, s->iov, s->niov, s->offset);
        break;
    case BLOCK_CALL_WRITEV:
        io_uring_prep_writev(sqe, fd, s->iov, s->niov, s->offset);
        break;
    case BLOCK_CALL_FDATASYNC:
        io_uring_prep_fsync(sqe, fd, IORING_FSYNC_DATASYNC);
        break;
    case BLOCK_CALL_FALLOCATE:
        io_uring_prep_fallocate(sqe, fd, s->mode, (off_t)s->offset, (off_t)s->len);
        break;
    }
}

/* Hand the SQEs to the kernel; it only refuses for a moment (EAGAIN,
 * EBUSY: completions to reap first, which the reaper does). */
static void submit_all(struct uring *u)
{
    for (unsigned tries = 0;; tries++) {
        int r = io_uring_submit(&u->ring);
        if (r >= 0 || (r != -EINTR && r != -EAGAIN && r != -EBUSY))
            return;
        if (tries == 100000) {
            log_error("block: io_uring_submit keeps failing: %s", strerror(-r));
            return;
        }
        sched_yield();
    }
}

/* Queue req's next step (req == NULL: the reaper's stop marker). */
static void queue_step(struct block_dev *bd, struct block_req *req)
{
    struct uring *u = bd->engine_state;
    struct block_step s;
    if (req)
        block_req_step(bd, req, &s);
    pthread_mutex_lock(&u->sq_lock);
    struct io_uring_sqe *sqe;
    while (!(sqe = io_uring_get_sqe(&u->ring)))
        submit_all(u);
    if (req)
        prep_step(sqe, bd->fd, &s);
    else
        io_uring_prep_nop(sqe);
    io_uring_sqe_set_data(sqe, req);
    if (req)
        tsan_release(req); /* the reaper picks it up through the kernel */
    submit_all(u);
    pthread_mutex_unlock(&u->sq_lock);
}

static void *reaper_thread(void *arg)
{
    struct block_dev *bd = arg;
    struct uring *u = bd->engine_state;
    for (;;) {
        struct io_uring_cqe *cqe;
        int r = io_uring_wait_cqe(&u->ring, &cqe);
        if (r == -EINTR || r == -EAGAIN)
            continue;
        if (r < 0) {
            log_error("block: waiting for io_uring completions failed: %s", strerror(-r));
            return NULL;
        }
        struct block_req *req = io_uring_cqe_get_data(cqe);
        if (req)
            tsan_acquire(req);
        long res = cqe->res;
        io_uring_cqe_seen(&u->ring, cqe);
        if (!req)
            return NULL;
        int a = block_req_advance(bd, req, res);
        if (a > 0)
            queue_step(bd, req);
        else
            block_req_finish(bd, req, a);
    }
}

static int uring_start(struct block_dev *bd)
{
    struct uring *u = calloc(1, sizeof(*u));
    if (!u)
        return -ENOMEM;
    /* One more entry than requests in flight: room for the stop marker. */
    int r = io_uring_queue_init(bd->depth + 1, &u->ring, 0);
    if (r < 0) {
        free(u);
        return r;
    }
    pthread_mutex_init(&u->sq_lock, NULL);
    bd->engine_state = u;
    r = pthread_create(&u->reaper, NULL, reaper_thread, bd);
    if (r) {
        io_uring_queue_exit(&u->ring);
        pthread_mutex_destroy(&u->sq_lock);
        free(u);
        bd->engine_state = NULL;
        return -r;
    }
    return 0;
}

static void uring_stop(struct block_dev *bd)
{
    struct uring *u = bd->engine_state;
    if (!u)
        return;
    queue_step(bd, NULL);
    pthread_join(u->reaper, NULL);
    io_uring_queue_exit(&u->ring);
    pthread_mutex_destroy(&u->sq_lock);
    free(u);
    bd->engine_state = NULL;
}

static void uring_submit(struct block_dev *bd, struct block_req *req)
{
    queue_step(bd, req);
}

const struct block_engine_ops block_uring_engine = {
    .name = "io_uring",
    .start = uring_start,
    .submit = uring_submit,
    .stop = uring_stop,
};

static bool uring_ok;

/* A ring can be set up (no seccomp filter or sysctl refuses it) and the
 * kernel knows every operation the engine uses. */
static void probe_uring(void)
{
    struct io_uring ring;
    if (io_uring_queue_init(2, &ring, 0) < 0)
        return;
    struct io_uring_probe *p = io_uring_get_probe_ring(&ring);
    if (p) {
        static const int ops[] = {IORING_OP_NOP, IORING_OP_READV, IORING_OP_WRITEV, IORING_OP_FSYNC,
                                  IORING_OP_FALLOCATE};
        uring_ok = true;
        for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++)
            uring_ok = uring_ok && io_uring_opcode_supported(p, ops[i]);
        io_uring_free_probe(p);
    }
    io_uring_queue_exit(&ring);
}

bool block_uring_available(void)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, probe_uring);
    return uring_ok;
}
