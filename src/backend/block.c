/* The block backend: opening and locking an image, and the steps every
 * request is made of (see block_internal.h); the engines that run the
 * steps are block_uring.c and block_pool.c. */
#define _GNU_SOURCE /* O_DIRECT, fallocate modes, statx, F_OFD_SETLK */
#include "backend/block.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "backend/block_internal.h"
#include "util/log.h"

#define BLOCK_DEFAULT_DEPTH 128

/* --- steps --- */

static void iov_skip(struct iovec **iov, unsigned *n, uint64_t bytes)
{
    while (*n && (bytes || (*iov)->iov_len == 0)) {
        if (bytes >= (*iov)->iov_len) {
            bytes -= (*iov)->iov_len;
            (*iov)++;
            (*n)--;
        } else {
            (*iov)->iov_base = (char *)(*iov)->iov_base + bytes;
            (*iov)->iov_len -= bytes;
            bytes = 0;
        }
    }
}

static void zero_write_step(struct block_dev *bd, struct block_req *req, struct block_step *s)
{
    uint64_t left = req->len - req->done_bytes;
    s->call = BLOCK_CALL_WRITEV;
    s->offset = req->offset + req->done_bytes;
    if (left >= BLOCK_ZERO_CHUNK) {
        uint64_t chunks = left / BLOCK_ZERO_CHUNK;
        s->iov = bd->zero_iov;
        s->niov = chunks < BLOCK_ZERO_IOV ? (unsigned)chunks : BLOCK_ZERO_IOV;
    } else {
        req->one = (struct iovec){.iov_base = bd->zeroes, .iov_len = left};
        s->iov = &req->one;
        s->niov = 1;
    }
}

void block_req_step(struct block_dev *bd, struct block_req *req, struct block_step *s)
{
    memset(s, 0, sizeof(*s));
    switch (req->op) {
    case BLOCK_OP_READ:
    case BLOCK_OP_WRITE:
        s->call = req->op == BLOCK_OP_READ ? BLOCK_CALL_READV : BLOCK_CALL_WRITEV;
        s->iov = req->cur;
        s->niov = req->ncur < IOV_MAX ? req->ncur : IOV_MAX;
        s->offset = req->offset + req->done_bytes;
        return;
    case BLOCK_OP_FLUSH:
        s->call = BLOCK_CALL_FDATASYNC;
        return;
    case BLOCK_OP_DISCARD:
    case BLOCK_OP_ZEROES:
        if (req->zero_write) {
            zero_write_step(bd, req, s);
            return;
        }
        s->call = BLOCK_CALL_FALLOCATE;
        s->offset = req->offset;
        s->len = req->len;
        s->mode = FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE;
        if (req->op == BLOCK_OP_ZEROES && !(req->may_unmap && bd->can_discard))
            s->mode = FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE;
        return;
    }
}

static int advance_transfer(struct block_req *req, long res)
{
    if (res < 0)
        return res == -EINTR || res == -EAGAIN ? 1 : (int)res;
    req->done_bytes += (uint64_t)res;
    if (req->done_bytes >= req->len)
        return 0;
    if (res == 0)
        return -EIO; /* end of file inside the image: it shrank under us */
    if (!req->zero_write)
        iov_skip(&req->cur, &req->ncur, (uint64_t)res);
    return 1;
}

int block_req_advance(struct block_dev *bd, struct block_req *req, long res)
{
    if (req->op == BLOCK_OP_READ || req->op == BLOCK_OP_WRITE || req->zero_write)
        return advance_transfer(req, res);
    if (res == -EINTR)
        return 1;
    if (req->op == BLOCK_OP_ZEROES && res == -EOPNOTSUPP) {
        /* No ZERO_RANGE here (tmpfs, say): write the zeroes. */
        if (!(req->may_unmap && bd->can_discard))
            __atomic_store_n(&bd->no_zero_range, true, __ATOMIC_RELAXED);
        req->zero_write = true;
        return 1;
    }
    return res < 0 ? (int)res : 0;
}

long block_step_run(const struct block_dev *bd, const struct block_step *s)
{
    long r;
    switch (s->call) {
    case BLOCK_CALL_READV:
        r = preadv(bd->fd, s->iov, (int)s->niov, (off_t)s->offset);
        break;
    case BLOCK_CALL_WRITEV:
        r = pwritev(bd->fd, s->iov, (int)s->niov, (off_t)s->offset);
        break;
    case BLOCK_CALL_FDATASYNC:
        r = fdatasync(bd->fd);
        break;
    case BLOCK_CALL_FALLOCATE:
        r = fallocate(bd->fd, s->mode, (off_t)s->offset, (off_t)s->len);
        break;
    default:
        return -EINVAL;
    }
    return r < 0 ? -errno : r;
}

/* --- requests --- */

static size_t iov_copy(const struct iovec *iov, unsigned n, void *buf, bool to_buf)
{
    size_t off = 0;
    for (unsigned i = 0; i < n; i++) {
        if (to_buf)
            memcpy((char *)buf + off, iov[i].iov_base, iov[i].iov_len);
        else
            memcpy(iov[i].iov_base, (char *)buf + off, iov[i].iov_len);
        off += iov[i].iov_len;
    }
    return off;
}

/* O_DIRECT wants aligned buffers and lengths; guests mostly give them. */
static bool needs_bounce(const struct block_dev *bd, const struct block_req *req)
{
    if (!bd->direct)
        return false;
    for (unsigned i = 0; i < req->niov; i++)
        if ((uintptr_t)req->iov[i].iov_base % bd->mem_align || req->iov[i].iov_len % bd->min_io)
            return true;
    return false;
}

static int prepare_transfer(struct block_dev *bd, struct block_req *req)
{
    if (req->niov > BLOCK_MAX_IOV)
        return -EINVAL;
    uint64_t len = 0;
    for (unsigned i = 0; i < req->niov; i++)
        len += req->iov[i].iov_len;
    req->len = len;
    req->cur = req->iov;
    req->ncur = req->niov;
    if (!needs_bounce(bd, req))
        return 0;
    if (len % bd->min_io)
        return -EINVAL;
    size_t align = bd->mem_align > 4096 ? bd->mem_align : 4096;
    req->bounce = aligned_alloc(align, (len + align - 1) / align * align);
    if (!req->bounce)
        return -ENOMEM;
    if (req->op == BLOCK_OP_WRITE)
        iov_copy(req->iov, req->niov, req->bounce, true);
    req->one = (struct iovec){.iov_base = req->bounce, .iov_len = len};
    req->cur = &req->one;
    req->ncur = 1;
    return 0;
}

static int check_request(const struct block_dev *bd, const struct block_req *req)
{
    if (req->op > BLOCK_OP_ZEROES || !req->done)
        return -EINVAL;
    if (req->op != BLOCK_OP_READ && req->op != BLOCK_OP_FLUSH && bd->readonly)
        return -EROFS;
    if (req->op == BLOCK_OP_DISCARD && !bd->can_discard)
        return -EOPNOTSUPP;
    if (req->op == BLOCK_OP_READ || req->op == BLOCK_OP_WRITE)
        return 0;
    if (req->op == BLOCK_OP_FLUSH)
        return 0;
    if (req->len == 0 || req->offset > bd->size || req->len > bd->size - req->offset)
        return -EINVAL;
    return 0;
}

int block_submit(struct block_dev *bd, struct block_req *req)
{
    int r = check_request(bd, req);
    if (r < 0)
        return r;
    req->done_bytes = 0;
    req->zero_write = req->op == BLOCK_OP_ZEROES && !(req->may_unmap && bd->can_discard) &&
                      __atomic_load_n(&bd->no_zero_range, __ATOMIC_RELAXED);
    req->bounce = NULL;
    req->next = NULL;
    if (req->op == BLOCK_OP_READ || req->op == BLOCK_OP_WRITE) {
        if ((r = prepare_transfer(bd, req)) < 0)
            return r;
        if (req->offset > bd->size || req->len > bd->size - req->offset) {
            free(req->bounce);
            req->bounce = NULL;
            return -EINVAL;
        }
    }
    pthread_mutex_lock(&bd->lock);
    if (bd->inflight >= bd->depth) {
        pthread_mutex_unlock(&bd->lock);
        free(req->bounce);
        req->bounce = NULL;
        return -EBUSY;
    }
    bd->inflight++;
    bd->active++;
    pthread_mutex_unlock(&bd->lock);
    bd->engine->submit(bd, req);
    return 0;
}

void block_req_finish(struct block_dev *bd, struct block_req *req, int result)
{
    if (req->bounce) {
        if (req->op == BLOCK_OP_READ && result == 0)
            iov_copy(req->iov, req->niov, req->bounce, false);
        free(req->bounce);
        req->bounce = NULL;
    }
    /* The slot is free before the callback, so it may submit again; the
     * device stays open until the callback has returned. */
    pthread_mutex_lock(&bd->lock);
    bd->inflight--;
    pthread_mutex_unlock(&bd->lock);
    req->done(req, result);
    pthread_mutex_lock(&bd->lock);
    if (--bd->active == 0)
        pthread_cond_broadcast(&bd->idle);
    pthread_mutex_unlock(&bd->lock);
}

/* --- opening --- */

static int lock_image(struct block_dev *bd)
{
    struct flock fl = {
        .l_type = bd->readonly ? F_RDLCK : F_WRLCK,
        .l_whence = SEEK_SET,
    };
    if (fcntl(bd->fd, F_OFD_SETLK, &fl) == 0)
        return 0;
    int e = errno;
    if (e == EAGAIN || e == EACCES)
        log_error("%s: locked by another process", bd->path);
    else
        log_error("%s: cannot lock the image: %s", bd->path, strerror(e));
    return -e;
}

/* Direct I/O alignment from statx; 512 where the file system says nothing
 * (the guest's sector size, which every disk takes). */
static void probe_alignment(struct block_dev *bd)
{
    bd->mem_align = 1;
    bd->min_io = BLOCK_SECTOR_SIZE;
    if (!bd->direct)
        return;
    bd->mem_align = BLOCK_SECTOR_SIZE;
    struct statx stx;
    if (statx(bd->fd, "", AT_EMPTY_PATH, STATX_DIOALIGN, &stx) == 0 &&
        (stx.stx_mask & STATX_DIOALIGN) && stx.stx_dio_offset_align) {
        bd->mem_align = stx.stx_dio_mem_align ? stx.stx_dio_mem_align : 1;
        if (stx.stx_dio_offset_align > BLOCK_SECTOR_SIZE)
            bd->min_io = stx.stx_dio_offset_align;
    }
}

/* Punching a hole past the end of the file changes nothing but tells
 * whether the file system can. */
static void probe_discard(struct block_dev *bd)
{
    bd->can_discard = !bd->readonly && fallocate(bd->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
                                                 (off_t)bd->size, BLOCK_SECTOR_SIZE) == 0;
}

static int open_image(struct block_dev *bd, const struct block_open_opts *o)
{
    int flags = (o->readonly ? O_RDONLY : O_RDWR) | O_CLOEXEC | (bd->direct ? O_DIRECT : 0);
    bd->fd = open(o->path, flags);
    if (bd->fd < 0) {
        int e = errno;
        if (e == EINVAL && bd->direct)
            log_error("%s: the file system refuses O_DIRECT (cache=none); use cache=writeback",
                      o->path);
        else
            log_error("cannot open drive %s: %s", o->path, strerror(e));
        return -e;
    }
    struct stat st;
    if (fstat(bd->fd, &st) < 0) {
        int e = errno;
        log_error("cannot open drive %s: %s", o->path, strerror(e));
        return -e;
    }
    if (!S_ISREG(st.st_mode)) {
        log_error("drive %s: not a regular file (xuni takes raw image files)", o->path);
        return -EINVAL;
    }
    bd->size = (uint64_t)st.st_size;
    if (bd->size % BLOCK_SECTOR_SIZE) {
        log_error("drive %s: its size (%llu bytes) is not a multiple of %d", o->path,
                  (unsigned long long)bd->size, BLOCK_SECTOR_SIZE);
        return -EINVAL;
    }
    return lock_image(bd);
}

static const struct block_engine_ops *choose_engine(enum block_engine e)
{
    if (e == BLOCK_ENGINE_THREADS)
        return &block_pool_engine;
    if (e == BLOCK_ENGINE_URING || block_uring_available())
        return &block_uring_engine;
    return &block_pool_engine;
}

static int alloc_zeroes(struct block_dev *bd)
{
    if (bd->readonly)
        return 0;
    bd->zeroes = aligned_alloc(4096, BLOCK_ZERO_CHUNK);
    if (!bd->zeroes)
        return -ENOMEM;
    memset(bd->zeroes, 0, BLOCK_ZERO_CHUNK);
    for (unsigned i = 0; i < BLOCK_ZERO_IOV; i++)
        bd->zero_iov[i] = (struct iovec){.iov_base = bd->zeroes, .iov_len = BLOCK_ZERO_CHUNK};
    return 0;
}

static void free_dev(struct block_dev *bd)
{
    if (bd->fd >= 0)
        close(bd->fd); /* drops the OFD lock */
    pthread_mutex_destroy(&bd->lock);
    pthread_cond_destroy(&bd->idle);
    free(bd->zeroes);
    free(bd->path);
    free(bd);
}

int block_open(const struct block_open_opts *o, struct block_dev **out)
{
    struct block_dev *bd = calloc(1, sizeof(*bd));
    if (!bd)
        return -ENOMEM;
    bd->fd = -1;
    bd->readonly = o->readonly;
    bd->direct = o->cache == BLOCK_CACHE_NONE;
    bd->depth = o->queue_depth ? o->queue_depth : BLOCK_DEFAULT_DEPTH;
    pthread_mutex_init(&bd->lock, NULL);
    pthread_cond_init(&bd->idle, NULL);
    bd->path = strdup(o->path);
    int r = bd->path ? open_image(bd, o) : -ENOMEM;
    if (r == 0)
        r = alloc_zeroes(bd);
    if (r == 0) {
        probe_alignment(bd);
        probe_discard(bd);
        bd->engine = choose_engine(o->engine);
        r = bd->engine->start(bd);
        if (r < 0)
            log_error("drive %s: cannot start its %s engine: %s", o->path, bd->engine->name,
                      strerror(-r));
    }
    if (r < 0) {
        free_dev(bd);
        return r;
    }
    log_info("drive %s: %llu bytes, %s, %s, %s", bd->path, (unsigned long long)bd->size,
             bd->readonly ? "read-only" : "read-write",
             bd->direct ? "cache=none" : "cache=writeback", bd->engine->name);
    *out = bd;
    return 0;
}

void block_close(struct block_dev *bd)
{
    if (!bd)
        return;
    pthread_mutex_lock(&bd->lock);
    while (bd->active)
        pthread_cond_wait(&bd->idle, &bd->lock);
    pthread_mutex_unlock(&bd->lock);
    bd->engine->stop(bd);
    free_dev(bd);
}

uint64_t block_size(const struct block_dev *bd)
{
    return bd->size;
}

bool block_readonly(const struct block_dev *bd)
{
    return bd->readonly;
}

bool block_can_discard(const struct block_dev *bd)
{
    return bd->can_discard;
}

unsigned block_min_io(const struct block_dev *bd)
{
    return bd->min_io;
}

const char *block_engine_name(const struct block_dev *bd)
{
    return bd->engine->name;
}

const char *block_path(const struct block_dev *bd)
{
    return bd->path;
}
