/* The block backend's thread-pool engine: a few threads take requests off
 * one FIFO and run their steps with ordinary blocking system calls. Used
 * where io_uring is missing or refused. */
#include <errno.h>
#include <stdlib.h>

#include "backend/block_internal.h"

#define POOL_THREADS 4

struct pool {
    pthread_mutex_t lock;
    pthread_cond_t work;
    struct block_req *head, *tail;
    bool stopping;
    unsigned nthreads;
    pthread_t threads[POOL_THREADS];
};

static void run_request(struct block_dev *bd, struct block_req *req)
{
    int r;
    do {
        struct block_step s;
        block_req_step(bd, req, &s);
        r = block_req_advance(bd, req, block_step_run(bd, &s));
    } while (r > 0);
    block_req_finish(bd, req, r);
}

static void *pool_thread(void *arg)
{
    struct block_dev *bd = arg;
    struct pool *p = bd->engine_state;
    pthread_mutex_lock(&p->lock);
    for (;;) {
        while (!p->head && !p->stopping)
            pthread_cond_wait(&p->work, &p->lock);
        struct block_req *req = p->head;
        if (!req)
            break;
        p->head = req->next;
        if (!p->head)
            p->tail = NULL;
        pthread_mutex_unlock(&p->lock);
        run_request(bd, req);
        pthread_mutex_lock(&p->lock);
    }
    pthread_mutex_unlock(&p->lock);
    return NULL;
}

static void pool_stop(struct block_dev *bd)
{
    struct pool *p = bd->engine_state;
    if (!p)
        return;
    pthread_mutex_lock(&p->lock);
    p->stopping = true;
    pthread_cond_broadcast(&p->work);
    pthread_mutex_unlock(&p->lock);
    for (unsigned i = 0; i < p->nthreads; i++)
        pthread_join(p->threads[i], NULL);
    pthread_mutex_destroy(&p->lock);
    pthread_cond_destroy(&p->work);
    free(p);
    bd->engine_state = NULL;
}

static int pool_start(struct block_dev *bd)
{
    struct pool *p = calloc(1, sizeof(*p));
    if (!p)
        return -ENOMEM;
    pthread_mutex_init(&p->lock, NULL);
    pthread_cond_init(&p->work, NULL);
    bd->engine_state = p;
    for (unsigned i = 0; i < POOL_THREADS; i++) {
        int r = pthread_create(&p->threads[i], NULL, pool_thread, bd);
        if (r) {
            pool_stop(bd);
            return -r;
        }
        p->nthreads++;
    }
    return 0;
}

static void pool_submit(struct block_dev *bd, struct block_req *req)
{
    struct pool *p = bd->engine_state;
    pthread_mutex_lock(&p->lock);
    if (p->tail)
        p->tail->next = req;
    else
        p->head = req;
    p->tail = req;
    pthread_cond_signal(&p->work);
    pthread_mutex_unlock(&p->lock);
}

const struct block_engine_ops block_pool_engine = {
    .name = "threads",
    .start = pool_start,
    .submit = pool_submit,
    .stop = pool_stop,
};
