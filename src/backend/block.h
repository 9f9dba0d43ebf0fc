/* Block backend: a raw image file, served off the vCPU threads.
 *
 * block_open() opens the image read-write or read-only, with the host page
 * cache (cache=writeback) or without it (cache=none: O_DIRECT), takes an OFD
 * lock on the whole file (a write lock for read-write, a read lock for
 * read-only) so two VMs cannot both write it, and learns what the file
 * system allows: its size must be a multiple of 512 bytes; discard
 * (fallocate PUNCH_HOLE) is probed once; direct I/O alignment comes from
 * statx.
 *
 * Requests are asynchronous. block_submit() queues a struct block_req and
 * returns at once; the request runs on one of two engines, chosen at open:
 *   - io_uring (liburing): the submitting thread writes one SQE and enters
 *     the kernel; a completion thread reaps CQEs;
 *   - a small thread pool doing preadv/pwritev/fdatasync/fallocate, for
 *     hosts (or sandboxes) where io_uring is missing or refused.
 * Either way req->done(req, result) runs later on a backend thread, with no
 * backend lock held: result is 0 or a negative errno. Short transfers are
 * continued until the request is whole (req->iov may be changed in place);
 * an O_DIRECT request whose buffers are not aligned for the file goes
 * through a bounce buffer.
 *
 * Operations: read and write (vectored, straight to/from the caller's
 * iovecs), flush (fdatasync: what completed before it is on stable storage
 * when it completes), discard (PUNCH_HOLE | KEEP_SIZE) and write-zeroes
 * (ZERO_RANGE; PUNCH_HOLE when the caller allows unmapping; if the file
 * system has no ZERO_RANGE, zeroes are written).
 *
 * At most `queue_depth` requests are in flight; block_submit() returns
 * -EBUSY beyond that. block_close() waits for every request in flight to
 * complete (their callbacks run), so the caller must not hold a lock those
 * callbacks take.
 */
#ifndef XUNI_BACKEND_BLOCK_H
#define XUNI_BACKEND_BLOCK_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>

#define BLOCK_SECTOR_SIZE 512

enum block_cache { BLOCK_CACHE_WRITEBACK, BLOCK_CACHE_NONE };
enum block_engine { BLOCK_ENGINE_AUTO, BLOCK_ENGINE_URING, BLOCK_ENGINE_THREADS };

struct block_open_opts {
    const char *path;
    bool readonly;
    enum block_cache cache;
    enum block_engine engine; /* AUTO: io_uring if it works here, else threads */
    unsigned queue_depth;     /* most requests in flight (0: 128) */
};

enum block_op { BLOCK_OP_READ, BLOCK_OP_WRITE, BLOCK_OP_FLUSH, BLOCK_OP_DISCARD, BLOCK_OP_ZEROES };

struct block_req {
    enum block_op op;
    uint64_t offset;   /* bytes; READ, WRITE, DISCARD, ZEROES */
    uint64_t len;      /* bytes; DISCARD, ZEROES (READ, WRITE: set to the iovecs' sum) */
    struct iovec *iov; /* READ, WRITE; at most BLOCK_MAX_IOV entries */
    unsigned niov;
    bool may_unmap; /* ZEROES: the range may be deallocated */
    void (*done)(struct block_req *req, int result);
    /* Private to the backend. */
    uint64_t done_bytes;
    struct iovec *cur; /* what is left to transfer */
    unsigned ncur;
    bool zero_write; /* ZEROES done by writing zeroes */
    void *bounce;    /* O_DIRECT with unaligned buffers */
    struct iovec one;
    struct block_req *next;
};

#define BLOCK_MAX_IOV 1024

struct block_dev;

/* Open an image; 0 and *out, or a negative errno after one message naming
 * the image and the problem ("IMG: locked by another process"). */
int block_open(const struct block_open_opts *o, struct block_dev **out);
/* Wait for requests in flight, then close. NULL is ignored. */
void block_close(struct block_dev *bd);

int block_submit(struct block_dev *bd, struct block_req *req);

uint64_t block_size(const struct block_dev *bd); /* bytes, a multiple of 512 */
bool block_readonly(const struct block_dev *bd);
bool block_can_discard(const struct block_dev *bd);
/* Smallest I/O size and offset alignment the file takes (512 with the page
 * cache; the file system's direct I/O alignment with cache=none). */
unsigned block_min_io(const struct block_dev *bd);
const char *block_engine_name(const struct block_dev *bd); /* "io_uring" or "threads" */
const char *block_path(const struct block_dev *bd);

/* Can this process use io_uring for files (probed once)? */
bool block_uring_available(void);

#endif
