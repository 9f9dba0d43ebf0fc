/* A seeded, randomized test of virtio-blk's request handling: batches of
 * random requests, mostly well-formed and some not (split and short
 * headers, odd lengths, wrong directions, missing status, bad sectors and
 * flags, unknown types), each checked against a model of the spec: the
 * status, the used length, the data read, and at the end the whole image
 * against a shadow copy. The device is reopened every few hundred requests
 * with another engine, cache mode, read-only setting and feature set.
 *
 * XUNI_FUZZ_ITERS sets the number of requests (default 3000, for `make
 * test`; `make fuzz` runs far more), XUNI_FUZZ_SEED the seed. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "blk_fake.h"
#include "util/log.h"

#define IMG_SIZE    (2u << 20)
#define IMG_SECTORS (IMG_SIZE / 512)
#define ROUND       300 /* requests between reopenings */
#define MAX_BATCH   6
#define MAX_SEGS    8
#define SERIAL      "fuzz-serial"

static uint64_t rng;

static uint64_t rnd(void)
{
    rng ^= rng >> 12;
    rng ^= rng << 25;
    rng ^= rng >> 27;
    return rng * 0x2545f4914f6cdd1dULL;
}

static uint64_t below(uint64_t n)
{
    return n ? rnd() % n : 0;
}

static bool chance(unsigned percent)
{
    return below(100) < percent;
}

struct fz_req {
    struct fake_seg segs[MAX_SEGS];
    unsigned nsegs;
    uint16_t head;
    uint64_t out_bytes, in_bytes;
    int want; /* expected status, or -1: no status (needs reset) */
    uint32_t type;
    uint64_t sector, nsect; /* range touched when want is OK */
    bool modifies;
};

struct fuzz {
    struct fake f;
    uint8_t *shadow;
    char *path;
    bool readonly;
    unsigned done, checked_ok, resets;
};

/* --- building a random request --- */

static uint32_t pick_type(void)
{
    static const uint32_t types[] = {
        VIRTIO_BLK_T_IN,    VIRTIO_BLK_T_IN,    VIRTIO_BLK_T_IN,      VIRTIO_BLK_T_OUT,
        VIRTIO_BLK_T_OUT,   VIRTIO_BLK_T_OUT,   VIRTIO_BLK_T_DISCARD, VIRTIO_BLK_T_WRITE_ZEROES,
        VIRTIO_BLK_T_FLUSH, VIRTIO_BLK_T_GET_ID};
    return chance(5) ? (uint32_t)rnd() : types[below(sizeof(types) / sizeof(types[0]))];
}

static uint64_t pick_sector(void)
{
    unsigned k = (unsigned)below(20);
    if (k < 16)
        return below(IMG_SECTORS);
    if (k < 18)
        return IMG_SECTORS - 70 + below(76);
    return k == 18 ? rnd() : UINT64_MAX - below(100);
}

static uint32_t pick_len(void)
{
    return chance(85) ? 512 * (uint32_t)below(65) : 1 + (uint32_t)below(33000);
}

/* Split [gpa, gpa+len) into up to `pieces` descriptors. */
static void add_pieces(struct fz_req *q, uint64_t gpa, uint64_t len, unsigned pieces, bool w)
{
    while (len && q->nsegs < MAX_SEGS) {
        uint64_t n = pieces <= 1 || q->nsegs + 1 == MAX_SEGS ? len : 1 + below(len);
        q->segs[q->nsegs++] = (struct fake_seg){gpa, (uint32_t)n, w};
        gpa += n;
        len -= n;
        if (pieces > 1)
            pieces--;
    }
}

static void fill_random(struct fake *f, uint64_t gpa, uint64_t len)
{
    uint8_t *p = rig_hva(&f->rig, gpa);
    for (uint64_t i = 0; i < len; i++)
        p[i] = (uint8_t)rnd();
}

/* Lay out a random request in guest memory: header, payload, status. */
static bool build(struct fuzz *z, struct fz_req *q)
{
    struct fake *f = &z->f;
    memset(q, 0, sizeof(*q));
    uint32_t type = pick_type();
    bool discard = type == VIRTIO_BLK_T_DISCARD || type == VIRTIO_BLK_T_WRITE_ZEROES;
    bool writable = (type == VIRTIO_BLK_T_IN || type == VIRTIO_BLK_T_GET_ID) != chance(3);
    uint32_t len = discard                       ? 16 * (chance(90) ? 1 : (uint32_t)below(3))
                   : type == VIRTIO_BLK_T_GET_ID ? (chance(80) ? 20 : (uint32_t)below(40))
                   : type == VIRTIO_BLK_T_FLUSH  ? (chance(90) ? 0 : (uint32_t)below(600))
                                                 : pick_len();
    if (discard)
        writable = chance(3);
    unsigned hdr_len = chance(90) ? 16 : chance(50) ? 8 : 24;
    uint64_t hdr = fake_alloc(f, 24, 0);
    uint64_t data = fake_alloc(f, len + 1, chance(30) ? (unsigned)below(512) : 0);
    uint64_t status = fake_alloc(f, 1, 0);
    if (!hdr || !data || !status)
        return false;
    fill_random(f, hdr, 24);
    fake_put_header(f, hdr, type, pick_sector());
    fill_random(f, data, len + 1);
    if (discard) {
        for (uint32_t off = 0; off < len; off += 16) {
            uint8_t s[16];
            put_le64(s, chance(80) ? below(IMG_SECTORS) : pick_sector());
            put_le32(s + 8, chance(85) ? (uint32_t)below(300) : (uint32_t)rnd());
            put_le32(s + 12, chance(85) ? (uint32_t)below(2) : (uint32_t)rnd());
            rig_put(&f->rig, data + off, s, 16);
        }
    }
    if (chance(20) && hdr_len > 1) {
        unsigned cut = 1 + (unsigned)below(hdr_len - 1);
        q->segs[q->nsegs++] = (struct fake_seg){hdr, cut, false};
        q->segs[q->nsegs++] = (struct fake_seg){hdr + cut, hdr_len - cut, false};
    } else {
        q->segs[q->nsegs++] = (struct fake_seg){hdr, hdr_len, false};
    }
    bool merged = writable && len && chance(10); /* status in the data's last byte */
    add_pieces(q, data, len + merged, 1 + (unsigned)below(4), writable);
    if (!merged && chance(97)) {
        uint8_t s = FAKE_STATUS_0;
        rig_put(&f->rig, status, &s, 1);
        q->segs[q->nsegs++] = (struct fake_seg){status, 1, true};
    }
    for (unsigned i = 0; i < q->nsegs; i++)
        *(q->segs[i].writable ? &q->in_bytes : &q->out_bytes) += q->segs[i].len;
    return true;
}

/* --- the model --- */

/* Bytes [off, off+len) of the chain's readable (or writable) stream. */
static void stream(struct fake *f, const struct fz_req *q, bool writable, uint64_t off,
                   uint8_t *buf, uint64_t len)
{
    for (unsigned i = 0; i < q->nsegs && len; i++) {
        if (q->segs[i].writable != writable)
            continue;
        uint64_t l = q->segs[i].len;
        if (off >= l) {
            off -= l;
            continue;
        }
        uint64_t n = l - off < len ? l - off : len;
        memcpy(buf, rig_hva(&f->rig, q->segs[i].gpa + off), n);
        buf += n;
        len -= n;
        off = 0;
    }
}

static bool in_range(uint64_t sector, uint64_t n)
{
    return sector <= IMG_SECTORS && n <= IMG_SECTORS - sector;
}

static int model_rw(struct fuzz *z, struct fz_req *q, uint64_t sector)
{
    bool write = q->type == VIRTIO_BLK_T_OUT;
    if (write ? q->in_bytes != 1 : q->out_bytes != 16)
        return VIRTIO_BLK_S_IOERR;
    uint64_t len = write ? q->out_bytes - 16 : q->in_bytes - 1;
    if (len % 512 || (write && z->readonly) || !in_range(sector, len / 512))
        return VIRTIO_BLK_S_IOERR;
    q->sector = sector;
    q->nsect = len / 512;
    q->modifies = write && len;
    return VIRTIO_BLK_S_OK;
}

static int model_discard(struct fuzz *z, struct fz_req *q)
{
    bool zeroes = q->type == VIRTIO_BLK_T_WRITE_ZEROES;
    if (z->readonly)
        return VIRTIO_BLK_S_IOERR;
    if (!virtio_has_feature(&z->f.vdev, zeroes ? VIRTIO_BLK_F_WRITE_ZEROES : VIRTIO_BLK_F_DISCARD))
        return VIRTIO_BLK_S_UNSUPP;
    if (q->out_bytes != 32 || q->in_bytes != 1)
        return VIRTIO_BLK_S_IOERR;
    uint8_t s[16];
    stream(&z->f, q, false, 16, s, 16);
    uint64_t sector = get_le64(s);
    uint32_t num = get_le32(s + 8), flags = get_le32(s + 12);
    if ((flags & ~1u) || (!zeroes && flags))
        return VIRTIO_BLK_S_UNSUPP;
    if (num > VIRTIO_BLK_MAX_DISCARD_SECT || !in_range(sector, num))
        return VIRTIO_BLK_S_IOERR;
    q->sector = sector;
    q->nsect = num;
    q->modifies = num > 0;
    return VIRTIO_BLK_S_OK;
}

/* What the device must answer, from the spec's rules. */
static int model(struct fuzz *z, struct fz_req *q)
{
    if (q->in_bytes == 0)
        return -1;
    if (q->out_bytes < 16)
        return VIRTIO_BLK_S_IOERR;
    uint8_t hdr[16];
    stream(&z->f, q, false, 0, hdr, 16);
    q->type = get_le32(hdr);
    switch (q->type) {
    case VIRTIO_BLK_T_IN:
    case VIRTIO_BLK_T_OUT:
        return model_rw(z, q, get_le64(hdr + 8));
    case VIRTIO_BLK_T_FLUSH:
    case VIRTIO_BLK_T_GET_ID:
        return q->out_bytes == 16 ? VIRTIO_BLK_S_OK : VIRTIO_BLK_S_IOERR;
    case VIRTIO_BLK_T_DISCARD:
    case VIRTIO_BLK_T_WRITE_ZEROES:
        return model_discard(z, q);
    default:
        return VIRTIO_BLK_S_UNSUPP;
    }
}

static bool overlaps(const struct fz_req *a, const struct fz_req *b)
{
    return a->nsect && b->nsect && a->sector < b->sector + b->nsect &&
           b->sector < a->sector + a->nsect;
}

/* Requests of one batch run in any order: only ones whose effects do not
 * depend on that order go together. */
static bool order_free(const struct fz_req *batch, unsigned n, const struct fz_req *q)
{
    for (unsigned i = 0; i < n; i++)
        if ((q->modifies || batch[i].modifies) && overlaps(&batch[i], q))
            return false;
    return true;
}

/* --- checking --- */

static void check_done(struct fuzz *z, struct fz_req *q, uint32_t used_len)
{
    struct fake *f = &z->f;
    if (q->want < 0) {
        assert_int_equal(used_len, 0);
        return;
    }
    assert_int_equal(used_len, q->in_bytes);
    uint8_t status;
    stream(f, q, true, q->in_bytes - 1, &status, 1);
    if (status != q->want)
        fail_msg("request type %u sector %llu (out %llu, in %llu): status %u, want %d", q->type,
                 (unsigned long long)q->sector, (unsigned long long)q->out_bytes,
                 (unsigned long long)q->in_bytes, status, q->want);
    if (q->want != VIRTIO_BLK_S_OK)
        return;
    uint64_t off = q->sector * 512, len = q->nsect * 512;
    uint8_t *buf = malloc(len + 20);
    if (q->type == VIRTIO_BLK_T_IN) {
        stream(f, q, true, 0, buf, len);
        assert_memory_equal(buf, z->shadow + off, len);
    } else if (q->type == VIRTIO_BLK_T_OUT) {
        stream(f, q, false, 16, buf, len);
        memcpy(z->shadow + off, buf, len);
    } else if (q->type == VIRTIO_BLK_T_DISCARD || q->type == VIRTIO_BLK_T_WRITE_ZEROES) {
        memset(z->shadow + off, 0, len);
    } else if (q->type == VIRTIO_BLK_T_GET_ID) {
        uint64_t n = q->in_bytes - 1 < 20 ? q->in_bytes - 1 : 20;
        char want[20] = SERIAL;
        stream(f, q, true, 0, buf, n);
        assert_memory_equal(buf, want, n);
    }
    free(buf);
    z->checked_ok++;
}

static void run_batch(struct fuzz *z, unsigned n)
{
    struct fake *f = &z->f;
    struct fz_req batch[MAX_BATCH];
    unsigned k = 0, resets = f->needs_resets;
    f->buf_next = RIG_BUF;
    for (unsigned tries = 0; k < n && tries < 4 * n; tries++) {
        struct fz_req *q = &batch[k];
        if (!build(z, q))
            break;
        q->want = model(z, q);
        if (!order_free(batch, k, q))
            continue;
        q->head = fake_offer(f, q->segs, q->nsegs);
        k++;
    }
    fake_kick(f);
    if (!fake_wait_used(f, (uint16_t)(f->used_seen + k)))
        fail_msg("%u requests did not complete", k);
    unsigned want_resets = 0;
    for (unsigned i = 0; i < k; i++) {
        uint32_t id, len;
        fake_next_used(f, &id, &len);
        unsigned j = 0;
        while (j < k && batch[j].head != id)
            j++;
        assert_true(j < k);
        check_done(z, &batch[j], len);
        batch[j].head = 0xffff; /* each chain comes back once */
        want_resets += batch[j].want < 0;
    }
    assert_int_equal(f->needs_resets - resets, want_resets);
    z->done += k;
}

/* --- rounds --- */

static void open_round(struct fuzz *z, unsigned round)
{
    struct drive_config d = {.file = z->path, .serial = SERIAL};
    d.aio = round % 2 ? BLOCK_ENGINE_THREADS : BLOCK_ENGINE_URING;
    if (d.aio == BLOCK_ENGINE_URING && !block_uring_available())
        d.aio = BLOCK_ENGINE_THREADS;
    d.cache = round % 4 >= 2 ? BLOCK_CACHE_NONE : BLOCK_CACHE_WRITEBACK;
    d.readonly = round % 5 == 4;
    z->readonly = d.readonly;
    assert_true(fake_init(&z->f, &d, 256, chance(50)));
    if (round % 3 == 2) /* a driver that takes neither discard nor write-zeroes */
        z->f.vdev.features &= ~(1ULL << VIRTIO_BLK_F_DISCARD | 1ULL << VIRTIO_BLK_F_WRITE_ZEROES);
}

static unsigned env_uint(const char *name, unsigned dflt)
{
    const char *s = getenv(name);
    return s && *s ? (unsigned)strtoul(s, NULL, 0) : dflt;
}

static void test_fuzz(void **state)
{
    (void)state;
    unsigned iters = env_uint("XUNI_FUZZ_ITERS", 3000);
    unsigned seed = env_uint("XUNI_FUZZ_SEED", 1);
    rng = 0x9e3779b97f4a7c15ULL ^ seed;
    printf("# virtio-blk fuzz: %u requests, seed %u\n", iters, seed);
    struct fuzz z = {0};
    z.path = img_create(NULL, IMG_SIZE);
    z.shadow = malloc(IMG_SIZE);
    img_read(z.path, 0, z.shadow, IMG_SIZE);
    /* The device's warnings about bad requests are expected here. */
    FILE *null = fopen("/dev/null", "w");
    log_set_stream(null);
    for (unsigned round = 0; z.done < iters; round++) {
        open_round(&z, round);
        unsigned end = z.done + ROUND;
        while (z.done < end && z.done < iters)
            run_batch(&z, 1 + (unsigned)below(MAX_BATCH));
        fake_destroy(&z.f);
    }
    log_set_stream(NULL);
    fclose(null);
    uint8_t *file = malloc(IMG_SIZE);
    img_read(z.path, 0, file, IMG_SIZE);
    for (uint64_t off = 0; off < IMG_SIZE; off += 512)
        if (memcmp(file + off, z.shadow + off, 512))
            fail_msg("sector %llu of the image differs from the model",
                     (unsigned long long)(off / 512));
    printf("# %u requests, %u completed OK and checked\n", z.done, z.checked_ok);
    assert_true(z.checked_ok > z.done / 4);
    free(file);
    free(z.shadow);
    img_remove(z.path);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fuzz),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
