/* virtio-blk: requests parsed and checked here, run by the block backend
 * (see virtio_blk.h for the rules). */
#include "hw/virtio/virtio_blk.h"

#include <errno.h>
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend/block.h"
#include "util/bytes.h"
#include "util/log.h"

#define BLK_NUM_QUEUES 1

struct blk_req {
    struct block_req io;
    struct virtio_blk *blk;
    unsigned queue;
    uint32_t generation;
    uint32_t type;
    uint8_t *status;
    struct blk_req *next_free;
    struct iovec data[VIRTQ_MAX_SEGS];
    struct virtq_elem elem;
};

struct virtio_blk {
    struct virtio_device_ops ops;
    struct virtio_dev *vdev;
    const struct guest_memory *mem; /* vdev->mem, kept for the last completions */
    pthread_mutex_t *lock;
    struct block_dev *bdev;
    uint64_t sectors;
    bool closing; /* virtio_blk_free is draining: completions only clean up */
    char serial[VIRTIO_BLK_ID_BYTES];
    uint8_t config[VIRTIO_BLK_CONFIG_SIZE];
    unsigned inflight[BLK_NUM_QUEUES];
    bool throttled[BLK_NUM_QUEUES];
    struct blk_req *free_reqs;
    struct log_once_set logged;
};

/* Keys for log_once: one message per kind of guest mistake. */
enum blk_complaint {
    BLK_BAD_HEADER = 1,
    BLK_NO_STATUS,
    BLK_BAD_DATA,
    BLK_OUT_OF_RANGE,
    BLK_BAD_SEGMENTS,
    BLK_IO_ERROR = 0x100
};

static void complain(struct virtio_blk *blk, uint64_t key, const char *what)
{
    if (log_once_check(&blk->logged, key))
        log_warn("virtio-blk %s: %s", block_path(blk->bdev), what);
}

/* A request the driver got wrong: IOERR, and a message the first time. */
static int bad(struct virtio_blk *blk, uint64_t key, const char *what)
{
    complain(blk, key, what);
    return VIRTIO_BLK_S_IOERR;
}

/* --- requests --- */

static struct blk_req *req_get(struct virtio_blk *blk)
{
    struct blk_req *r = blk->free_reqs;
    if (r) {
        blk->free_reqs = r->next_free;
        return r;
    }
    r = malloc(sizeof(*r));
    if (r)
        r->blk = blk;
    return r;
}

static void req_put(struct virtio_blk *blk, struct blk_req *r)
{
    r->next_free = blk->free_reqs;
    blk->free_reqs = r;
}

/* Give the chain back; every writable byte counts as written (the status
 * is the last one), so the write notifier hears of all of them. */
static void req_push(struct virtio_blk *blk, struct blk_req *r)
{
    uint64_t n = r->elem.in_bytes;
    virtq_push(&blk->vdev->vq[r->queue], &r->elem, n > UINT32_MAX ? UINT32_MAX : (uint32_t)n);
}

static void req_complete(struct virtio_blk *blk, struct blk_req *r, uint8_t status)
{
    *r->status = status;
    req_push(blk, r);
    req_put(blk, r);
}

/* Copy the iovecs covering bytes [skip, skip + len) of src into dst. */
static unsigned iov_slice(struct iovec *dst, const struct iovec *src, unsigned n, uint64_t skip,
                          uint64_t len)
{
    unsigned k = 0;
    for (unsigned i = 0; i < n && len; i++) {
        uint64_t l = src[i].iov_len;
        if (skip >= l) {
            skip -= l;
            continue;
        }
        uint64_t take = l - skip < len ? l - skip : len;
        dst[k++] = (struct iovec){.iov_base = (char *)src[i].iov_base + skip, .iov_len = take};
        len -= take;
        skip = 0;
    }
    return k;
}

static bool range_ok(const struct virtio_blk *blk, uint64_t sector, uint64_t nsectors)
{
    return sector <= blk->sectors && nsectors <= blk->sectors - sector;
}

static void io_done(struct block_req *io, int result);

/* Hand r to the backend; false (and r untouched) if it refused. */
static bool req_submit(struct virtio_blk *blk, struct blk_req *r)
{
    r->io.done = io_done;
    int e = block_submit(blk->bdev, &r->io);
    if (e < 0) {
        if (log_once_check(&blk->logged, BLK_IO_ERROR - e))
            log_warn("virtio-blk %s: the backend refused a request: %s", block_path(blk->bdev),
                     strerror(-e));
        return false;
    }
    blk->inflight[r->queue]++;
    return true;
}

/* IN and OUT. Returns the status for an immediate completion, or -1 when
 * the request went to the backend. */
static int start_rw(struct virtio_blk *blk, struct blk_req *r, uint64_t sector)
{
    const struct virtq_elem *e = &r->elem;
    bool write = r->type == VIRTIO_BLK_T_OUT;
    uint64_t len;
    if (write) {
        if (e->in_bytes != 1)
            return bad(blk, BLK_BAD_HEADER, "a write with data in writable buffers");
        len = e->out_bytes - VIRTIO_BLK_HDR_SIZE;
        r->io.niov = iov_slice(r->data, e->out, e->nout, VIRTIO_BLK_HDR_SIZE, len);
    } else {
        if (e->out_bytes != VIRTIO_BLK_HDR_SIZE)
            return bad(blk, BLK_BAD_HEADER, "a read with more than a header to read");
        len = e->in_bytes - 1;
        r->io.niov = iov_slice(r->data, e->in, e->nin, 0, len);
    }
    if (len % BLOCK_SECTOR_SIZE)
        return bad(blk, BLK_BAD_DATA, "data not a multiple of 512 bytes");
    if (write && block_readonly(blk->bdev))
        return VIRTIO_BLK_S_IOERR;
    if (!range_ok(blk, sector, len / BLOCK_SECTOR_SIZE))
        return bad(blk, BLK_OUT_OF_RANGE, "sectors beyond the end of the disk");
    if (len == 0)
        return VIRTIO_BLK_S_OK;
    r->io.op = write ? BLOCK_OP_WRITE : BLOCK_OP_READ;
    r->io.offset = sector * BLOCK_SECTOR_SIZE;
    r->io.iov = r->data;
    return req_submit(blk, r) ? -1 : VIRTIO_BLK_S_IOERR;
}

static int start_flush(struct virtio_blk *blk, struct blk_req *r)
{
    if (r->elem.out_bytes != VIRTIO_BLK_HDR_SIZE)
        return bad(blk, BLK_BAD_HEADER, "a flush with data");
    r->io.op = BLOCK_OP_FLUSH;
    return req_submit(blk, r) ? -1 : VIRTIO_BLK_S_IOERR;
}

static int get_id(struct virtio_blk *blk, struct blk_req *r)
{
    const struct virtq_elem *e = &r->elem;
    uint64_t room = e->in_bytes - 1;
    if (e->out_bytes != VIRTIO_BLK_HDR_SIZE)
        return bad(blk, BLK_BAD_HEADER, "a get-id with data");
    iov_from_buf(e->in, e->nin, 0, blk->serial,
                 room < VIRTIO_BLK_ID_BYTES ? room : VIRTIO_BLK_ID_BYTES);
    return VIRTIO_BLK_S_OK;
}

/* DISCARD and WRITE_ZEROES: one segment {sector, num_sectors, flags}. */
static int start_discard(struct virtio_blk *blk, struct blk_req *r)
{
    const struct virtq_elem *e = &r->elem;
    bool zeroes = r->type == VIRTIO_BLK_T_WRITE_ZEROES;
    if (block_readonly(blk->bdev))
        return VIRTIO_BLK_S_IOERR;
    if (!virtio_has_feature(blk->vdev, zeroes ? VIRTIO_BLK_F_WRITE_ZEROES : VIRTIO_BLK_F_DISCARD))
        return VIRTIO_BLK_S_UNSUPP;
    uint8_t seg[VIRTIO_BLK_SEG_SIZE];
    if (e->out_bytes != VIRTIO_BLK_HDR_SIZE + VIRTIO_BLK_SEG_SIZE || e->in_bytes != 1)
        return bad(blk, BLK_BAD_SEGMENTS, "a discard/write-zeroes not of one segment");
    iov_to_buf(e->out, e->nout, VIRTIO_BLK_HDR_SIZE, seg, sizeof(seg));
    uint64_t sector = get_le64(seg);
    uint32_t num = get_le32(seg + 8), flags = get_le32(seg + 12);
    if (flags & ~VIRTIO_BLK_WZ_FLAG_UNMAP || (!zeroes && flags))
        return VIRTIO_BLK_S_UNSUPP;
    if (num > VIRTIO_BLK_MAX_DISCARD_SECT || !range_ok(blk, sector, num))
        return bad(blk, BLK_OUT_OF_RANGE, "sectors beyond the end of the disk");
    if (num == 0)
        return VIRTIO_BLK_S_OK;
    r->io.op = zeroes ? BLOCK_OP_ZEROES : BLOCK_OP_DISCARD;
    r->io.offset = sector * BLOCK_SECTOR_SIZE;
    r->io.len = (uint64_t)num * BLOCK_SECTOR_SIZE;
    r->io.may_unmap = flags & VIRTIO_BLK_WZ_FLAG_UNMAP;
    return req_submit(blk, r) ? -1 : VIRTIO_BLK_S_IOERR;
}

/* Check and start one popped request: true if it completed at once. */
static bool req_start(struct virtio_blk *blk, struct blk_req *r)
{
    const struct virtq_elem *e = &r->elem;
    uint8_t hdr[VIRTIO_BLK_HDR_SIZE];
    const struct iovec *last = &e->in[e->nin - 1];
    r->status = (uint8_t *)last->iov_base + last->iov_len - 1;
    int status;
    if (iov_to_buf(e->out, e->nout, 0, hdr, sizeof(hdr)) != sizeof(hdr)) {
        complain(blk, BLK_BAD_HEADER, "a request without its 16-byte header");
        status = VIRTIO_BLK_S_IOERR;
    } else {
        r->type = get_le32(hdr);
        uint64_t sector = get_le64(hdr + 8);
        switch (r->type) {
        case VIRTIO_BLK_T_IN:
        case VIRTIO_BLK_T_OUT:
            status = start_rw(blk, r, sector);
            break;
        case VIRTIO_BLK_T_FLUSH:
            status = start_flush(blk, r);
            break;
        case VIRTIO_BLK_T_GET_ID:
            status = get_id(blk, r);
            break;
        case VIRTIO_BLK_T_DISCARD:
        case VIRTIO_BLK_T_WRITE_ZEROES:
            status = start_discard(blk, r);
            break;
        default:
            status = VIRTIO_BLK_S_UNSUPP;
            break;
        }
    }
    if (status < 0)
        return false;
    req_complete(blk, r, (uint8_t)status);
    return true;
}

/* Pop and start requests until the queue is empty or full of work in
 * flight; notify once for those completed here. */
static void process_queue(struct virtio_blk *blk, unsigned q)
{
    struct virtio_dev *vdev = blk->vdev;
    struct virtq *vq = &vdev->vq[q];
    bool pushed = false;
    blk->throttled[q] = false;
    while (vq->ready && vq->size) {
        if (blk->inflight[q] >= vq->size) {
            blk->throttled[q] = true;
            break;
        }
        struct blk_req *r = req_get(blk);
        if (!r) {
            blk->throttled[q] = blk->inflight[q] > 0; /* retried as requests complete */
            break;
        }
        int n = virtq_pop(vq, &r->elem);
        if (n <= 0) {
            req_put(blk, r);
            if (n < 0)
                virtio_needs_reset(vdev);
            break;
        }
        r->queue = q;
        r->generation = vdev->generation;
        if (r->elem.in_bytes == 0) {
            /* Nowhere to put a status: the driver broke the protocol. */
            complain(blk, BLK_NO_STATUS, "a request without a writable status byte");
            virtq_push(vq, &r->elem, 0);
            req_put(blk, r);
            pushed = true;
            virtio_needs_reset(vdev);
            continue;
        }
        pushed |= req_start(blk, r);
    }
    if (pushed)
        virtio_notify(vdev, q);
}

/* A request the driver reset away: its reads still landed in guest RAM. */
static void note_stale_writes(struct virtio_blk *blk, const struct blk_req *r)
{
    const struct virtq_elem *e = &r->elem;
    if (r->type != VIRTIO_BLK_T_IN)
        return;
    for (unsigned i = 0; i < e->nin; i++)
        guest_memory_note_write(blk->mem, e->in_gpa[i], e->in[i].iov_len);
}

static void io_done(struct block_req *io, int result)
{
    struct blk_req *r = (struct blk_req *)((char *)io - offsetof(struct blk_req, io));
    struct virtio_blk *blk = r->blk;
    unsigned q = r->queue;
    pthread_mutex_lock(blk->lock);
    blk->inflight[q]--;
    if (result < 0 && log_once_check(&blk->logged, BLK_IO_ERROR - result))
        log_warn("virtio-blk %s: a request failed on the host: %s", block_path(blk->bdev),
                 strerror(-result));
    if (blk->closing || r->generation != blk->vdev->generation) {
        note_stale_writes(blk, r);
        req_put(blk, r);
    } else {
        req_complete(blk, r, result < 0 ? VIRTIO_BLK_S_IOERR : VIRTIO_BLK_S_OK);
        virtio_notify(blk->vdev, q);
    }
    /* A slot is free: requests held back wait for it (even when this one
     * was from before a reset). */
    if (blk->throttled[q] && !blk->closing)
        process_queue(blk, q);
    pthread_mutex_unlock(blk->lock);
}

/* --- virtio_device_ops --- */

static void blk_queue_notify(void *dev, unsigned q)
{
    struct virtio_blk *blk = dev;
    if (q < BLK_NUM_QUEUES && !blk->closing)
        process_queue(blk, q);
}

static void blk_config_read(void *dev, uint32_t offset, void *buf, unsigned len)
{
    struct virtio_blk *blk = dev;
    virtio_config_copy(blk->config, sizeof(blk->config), offset, buf, len);
}

static void blk_reset(void *dev)
{
    struct virtio_blk *blk = dev;
    /* Requests in flight notice the new generation when they complete. */
    for (unsigned q = 0; q < BLK_NUM_QUEUES; q++)
        blk->throttled[q] = false;
}

/* --- building --- */

static void fill_config(struct virtio_blk *blk)
{
    uint8_t *c = blk->config;
    unsigned min_io = block_min_io(blk->bdev);
    put_le64(c + VIRTIO_BLK_CFG_CAPACITY, blk->sectors);
    put_le32(c + VIRTIO_BLK_CFG_SEG_MAX, VIRTIO_BLK_QUEUE_SIZE - 2);
    put_le32(c + VIRTIO_BLK_CFG_BLK_SIZE, min_io);
    put_le16(c + VIRTIO_BLK_CFG_NUM_QUEUES, BLK_NUM_QUEUES);
    if (!block_can_discard(blk->bdev))
        return;
    put_le32(c + VIRTIO_BLK_CFG_MAX_DISCARD_SECT, VIRTIO_BLK_MAX_DISCARD_SECT);
    put_le32(c + VIRTIO_BLK_CFG_MAX_DISCARD_SEG, 1);
    put_le32(c + VIRTIO_BLK_CFG_DISCARD_ALIGN, min_io / BLOCK_SECTOR_SIZE);
    put_le32(c + VIRTIO_BLK_CFG_MAX_WZ_SECT, VIRTIO_BLK_MAX_DISCARD_SECT);
    put_le32(c + VIRTIO_BLK_CFG_MAX_WZ_SEG, 1);
    c[VIRTIO_BLK_CFG_WZ_MAY_UNMAP] = 1;
}

static uint64_t features_for(const struct block_dev *bd)
{
    uint64_t f =
        1ULL << VIRTIO_BLK_F_SEG_MAX | 1ULL << VIRTIO_BLK_F_BLK_SIZE | 1ULL << VIRTIO_BLK_F_FLUSH;
    if (block_readonly(bd))
        f |= 1ULL << VIRTIO_BLK_F_RO;
    else if (block_can_discard(bd))
        f |= 1ULL << VIRTIO_BLK_F_DISCARD | 1ULL << VIRTIO_BLK_F_WRITE_ZEROES;
    return f;
}

/* The serial= option, else a stable name from the image's absolute path:
 * 16 hex digits of its FNV-1a hash. */
static void make_serial(struct virtio_blk *blk, const struct drive_config *cfg)
{
    if (cfg->serial) {
        memcpy(blk->serial, cfg->serial, strnlen(cfg->serial, sizeof(blk->serial)));
        return;
    }
    char *abs = realpath(cfg->file, NULL);
    const char *p = abs ? abs : cfg->file;
    uint64_t h = 0xcbf29ce484222325ULL;
    for (; *p; p++)
        h = (h ^ (uint8_t)*p) * 0x100000001b3ULL;
    free(abs);
    char text[17];
    snprintf(text, sizeof(text), "%016llx", (unsigned long long)h);
    memcpy(blk->serial, text, 16);
}

struct virtio_blk *virtio_blk_new(const struct drive_config *cfg, pthread_mutex_t *lock)
{
    struct virtio_blk *blk = calloc(1, sizeof(*blk));
    if (!blk)
        return NULL;
    const struct block_open_opts o = {
        .path = cfg->file,
        .readonly = cfg->readonly,
        .cache = cfg->cache,
        .engine = cfg->aio,
        .queue_depth = VIRTIO_BLK_QUEUE_SIZE * BLK_NUM_QUEUES,
    };
    if (block_open(&o, &blk->bdev) < 0) {
        free(blk);
        return NULL;
    }
    blk->lock = lock;
    blk->sectors = block_size(blk->bdev) / BLOCK_SECTOR_SIZE;
    make_serial(blk, cfg);
    fill_config(blk);
    blk->ops = (struct virtio_device_ops){
        .name = "virtio-blk",
        .device_id = VIRTIO_ID_BLOCK,
        .features = features_for(blk->bdev),
        .nqueues = BLK_NUM_QUEUES,
        .queue_size = VIRTIO_BLK_QUEUE_SIZE,
        .config_size = VIRTIO_BLK_CONFIG_SIZE,
        .config_read = blk_config_read,
        .config_write = NULL, /* every field is read-only without CONFIG_WCE */
        .queue_notify = blk_queue_notify,
        .reset = blk_reset,
    };
    return blk;
}

const struct virtio_device_ops *virtio_blk_ops(const struct virtio_blk *blk)
{
    return &blk->ops;
}

void virtio_blk_attach(struct virtio_blk *blk, struct virtio_dev *vdev)
{
    blk->vdev = vdev;
    blk->mem = vdev->mem;
}

void virtio_blk_free(struct virtio_blk *blk)
{
    if (!blk)
        return;
    pthread_mutex_lock(blk->lock);
    blk->closing = true;
    pthread_mutex_unlock(blk->lock);
    block_close(blk->bdev);
    while (blk->free_reqs) {
        struct blk_req *r = blk->free_reqs;
        blk->free_reqs = r->next_free;
        free(r);
    }
    free(blk);
}
