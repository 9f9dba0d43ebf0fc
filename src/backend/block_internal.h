/* Inside the block backend: what block.c shares with its two engines
 * (block_uring.c, block_pool.c).
 *
 * A request runs as a sequence of steps, each one system call: block.c's
 * block_req_step() says what the next call is, the engine performs it
 * (synchronously on a pool thread, or as an io_uring SQE), and
 * block_req_advance() takes its result and says whether another step is
 * needed (a short transfer, EINTR, ZERO_RANGE refused) or the request is
 * finished. block_req_finish() ends it and calls the owner back.
 */
#ifndef XUNI_BACKEND_BLOCK_INTERNAL_H
#define XUNI_BACKEND_BLOCK_INTERNAL_H

#include <pthread.h>

#include "backend/block.h"

#define BLOCK_ZERO_CHUNK (64u << 10) /* the zero buffer for written zeroes */
#define BLOCK_ZERO_IOV   16          /* zero chunks per step */

enum block_call { BLOCK_CALL_READV, BLOCK_CALL_WRITEV, BLOCK_CALL_FDATASYNC, BLOCK_CALL_FALLOCATE };

struct block_step {
    enum block_call call;
    const struct iovec *iov;
    unsigned niov;
    uint64_t offset;
    uint64_t len; /* FALLOCATE */
    int mode;     /* FALLOCATE */
};

struct block_engine_ops {
    const char *name;
    int (*start)(struct block_dev *bd);
    /* Queue a request whose first step is ready; cannot fail. */
    void (*submit)(struct block_dev *bd, struct block_req *req);
    /* Called once nothing is in flight. */
    void (*stop)(struct block_dev *bd);
};

extern const struct block_engine_ops block_uring_engine;
extern const struct block_engine_ops block_pool_engine;

struct block_dev {
    char *path;
    int fd;
    bool readonly;
    bool direct;
    bool can_discard;
    bool no_zero_range; /* ZERO_RANGE refused once: write zeroes instead */
    uint64_t size;
    unsigned mem_align; /* direct I/O: buffer address alignment */
    unsigned min_io;    /* offset and segment length alignment */
    void *zeroes;       /* BLOCK_ZERO_CHUNK zero bytes, aligned */
    struct iovec zero_iov[BLOCK_ZERO_IOV];

    const struct block_engine_ops *engine;
    void *engine_state;

    pthread_mutex_t lock;
    pthread_cond_t idle;
    unsigned depth;
    unsigned inflight; /* slots taken (freed before the callback) */
    unsigned active;   /* requests whose callback has not returned */
};

/* The next system call of req. */
void block_req_step(struct block_dev *bd, struct block_req *req, struct block_step *s);
/* Account for the result of the step just run (bytes or -errno): 1 if
 * another step is needed, 0 when done, or a negative errno. */
int block_req_advance(struct block_dev *bd, struct block_req *req, long res);
/* End req with a result (0 or -errno) and call its owner back. */
void block_req_finish(struct block_dev *bd, struct block_req *req, int result);

/* Run one step with ordinary system calls: bytes or -errno. */
long block_step_run(const struct block_dev *bd, const struct block_step *s);

#endif
