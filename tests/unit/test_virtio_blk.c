/* virtio-blk with hand-built requests on a stand-in transport
 * (blk_fake.h) over a temporary image: every request type, the checks on
 * malformed requests, read-only drives, reset with requests in flight, and
 * more requests than the queue holds. */
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

#define IMG_SIZE    (1u << 20)
#define IMG_SECTORS (IMG_SIZE / 512)

struct req {
    uint64_t hdr, data, status;
    uint32_t len;
};

struct env {
    char *path;
    struct fake f;
};

static struct drive_config drive(const char *path, enum block_engine aio)
{
    return (struct drive_config){.file = path, .aio = aio};
}

static struct env *env_new(struct drive_config d, uint16_t qsize, bool indirect)
{
    struct env *e = calloc(1, sizeof(*e));
    e->path = img_create(NULL, IMG_SIZE);
    d.file = e->path;
    if (d.aio == BLOCK_ENGINE_URING && !block_uring_available())
        d.aio = BLOCK_ENGINE_THREADS;
    assert_true(fake_init(&e->f, &d, qsize, indirect));
    return e;
}

static void env_free(struct env *e)
{
    fake_destroy(&e->f);
    img_remove(e->path);
    free(e);
}

/* Offer a request as Linux builds it: header, data in `pieces`
 * descriptors (writable for reads and get-id), status. */
static struct req offer(struct fake *f, uint32_t type, uint64_t sector, uint32_t len,
                        unsigned pieces)
{
    bool in = type == VIRTIO_BLK_T_IN || type == VIRTIO_BLK_T_GET_ID;
    struct req r = {.hdr = fake_alloc(f, 16, 0), .len = len};
    r.data = len ? fake_alloc(f, len, 0) : 0;
    r.status = fake_new_status(f);
    fake_put_header(f, r.hdr, type, sector);
    struct fake_seg segs[8];
    unsigned n = 0;
    segs[n++] = (struct fake_seg){r.hdr, 16, false};
    for (unsigned i = 0, off = 0; len && i < pieces; i++) {
        uint32_t piece = i + 1 == pieces ? len - off : len / pieces;
        segs[n++] = (struct fake_seg){r.data + off, piece, in};
        off += piece;
    }
    segs[n++] = (struct fake_seg){r.status, 1, true};
    fake_offer(f, segs, n);
    return r;
}

/* Kick, wait for one more used element, check its length; the status. */
static uint8_t complete_one(struct fake *f, const struct req *r, uint32_t want_len)
{
    fake_kick(f);
    assert_true(fake_wait_used(f, (uint16_t)(f->used_seen + 1)));
    uint32_t id, len;
    fake_next_used(f, &id, &len);
    assert_int_equal(len, want_len);
    return fake_byte(f, r->status);
}

static uint8_t do_req(struct fake *f, uint32_t type, uint64_t sector, uint32_t len, unsigned pieces,
                      struct req *out)
{
    struct req r = offer(f, type, sector, len, pieces);
    bool in = type == VIRTIO_BLK_T_IN || type == VIRTIO_BLK_T_GET_ID;
    if (out)
        *out = r;
    return complete_one(f, &r, (in ? len : 0) + 1);
}

static void fill_guest(struct fake *f, uint64_t gpa, uint32_t len, uint8_t seed)
{
    uint8_t *p = rig_hva(&f->rig, gpa);
    for (uint32_t i = 0; i < len; i++)
        p[i] = (uint8_t)(seed ^ (i * 13) ^ (i >> 9));
}

/* A discard or write-zeroes request with one segment {sector, num, flags}
 * (or `nsegs` copies of it). */
static uint8_t do_discard(struct fake *f, uint32_t type, uint64_t sector, uint32_t num,
                          uint32_t flags, unsigned nsegs)
{
    uint64_t hdr = fake_alloc(f, 16, 0), seg = fake_alloc(f, 16 * nsegs, 0);
    uint64_t status = fake_new_status(f);
    fake_put_header(f, hdr, type, 0);
    for (unsigned i = 0; i < nsegs; i++) {
        uint8_t s[16];
        put_le64(s, sector);
        put_le32(s + 8, num);
        put_le32(s + 12, flags);
        rig_put(&f->rig, seg + 16 * i, s, 16);
    }
    struct fake_seg segs[3] = {{hdr, 16, false}, {seg, 16 * nsegs, false}, {status, 1, true}};
    fake_offer(f, segs, 3);
    struct req r = {.status = status};
    return complete_one(f, &r, 1);
}

/* --- tests --- */

static void test_config_and_features(void **state)
{
    (void)state;
    struct env *e = env_new(drive(NULL, BLOCK_ENGINE_AUTO), 256, false);
    const struct virtio_device_ops *ops = e->f.ops;
    assert_int_equal(ops->device_id, VIRTIO_ID_BLOCK);
    assert_int_equal(ops->nqueues, 1);
    assert_int_equal(ops->queue_size, VIRTIO_BLK_QUEUE_SIZE);
    assert_int_equal(ops->config_size, VIRTIO_BLK_CONFIG_SIZE);
    uint64_t want = 1ULL << VIRTIO_BLK_F_SEG_MAX | 1ULL << VIRTIO_BLK_F_BLK_SIZE |
                    1ULL << VIRTIO_BLK_F_FLUSH | 1ULL << VIRTIO_BLK_F_DISCARD |
                    1ULL << VIRTIO_BLK_F_WRITE_ZEROES;
    assert_true(ops->features == want); /* ext4 and tmpfs punch holes */
    uint8_t cfg[VIRTIO_BLK_CONFIG_SIZE + 8];
    ops->config_read(e->f.blk, 0, cfg, sizeof(cfg));
    assert_int_equal(get_le64(cfg + VIRTIO_BLK_CFG_CAPACITY), IMG_SECTORS);
    assert_int_equal(get_le32(cfg + VIRTIO_BLK_CFG_SEG_MAX), VIRTIO_BLK_QUEUE_SIZE - 2);
    assert_int_equal(get_le32(cfg + VIRTIO_BLK_CFG_BLK_SIZE), 512);
    assert_int_equal(get_le16(cfg + VIRTIO_BLK_CFG_NUM_QUEUES), 1);
    assert_int_equal(get_le32(cfg + VIRTIO_BLK_CFG_MAX_DISCARD_SECT), VIRTIO_BLK_MAX_DISCARD_SECT);
    assert_int_equal(get_le32(cfg + VIRTIO_BLK_CFG_MAX_DISCARD_SEG), 1);
    assert_int_equal(get_le32(cfg + VIRTIO_BLK_CFG_DISCARD_ALIGN), 1);
    assert_int_equal(get_le32(cfg + VIRTIO_BLK_CFG_MAX_WZ_SECT), VIRTIO_BLK_MAX_DISCARD_SECT);
    assert_int_equal(get_le32(cfg + VIRTIO_BLK_CFG_MAX_WZ_SEG), 1);
    assert_int_equal(cfg[VIRTIO_BLK_CFG_WZ_MAY_UNMAP], 1);
    assert_true(all_bytes(cfg + VIRTIO_BLK_CONFIG_SIZE, 8, 0)); /* past the end: zeroes */
    uint8_t four[4];
    ops->config_read(e->f.blk, VIRTIO_BLK_CFG_BLK_SIZE, four, 4); /* a field on its own */
    assert_int_equal(get_le32(four), 512);
    assert_null(ops->config_write); /* read-only: the transport ignores writes */
    env_free(e);
}

static void test_write_read_flush(void **state)
{
    enum block_engine aio = (enum block_engine)(uintptr_t)*state;
    if (aio == BLOCK_ENGINE_URING && !block_uring_available())
        skip();
    struct env *e = env_new(drive(NULL, aio), 256, false);
    struct fake *f = &e->f;
    struct req w = offer(f, VIRTIO_BLK_T_OUT, 10, 2048, 3);
    fill_guest(f, w.data, 2048, 0x3c);
    assert_int_equal(complete_one(f, &w, 1), VIRTIO_BLK_S_OK);
    struct req r;
    assert_int_equal(do_req(f, VIRTIO_BLK_T_IN, 9, 3072, 2, &r), VIRTIO_BLK_S_OK);
    uint8_t *back = rig_hva(&f->rig, r.data);
    for (unsigned i = 0; i < 512; i++)
        assert_int_equal(back[i], img_pattern(9 * 512 + i));
    assert_memory_equal(back + 512, rig_hva(&f->rig, w.data), 2048);
    for (unsigned i = 2560; i < 3072; i++)
        assert_int_equal(back[i], img_pattern(9 * 512 + i));
    assert_int_equal(do_req(f, VIRTIO_BLK_T_FLUSH, 0, 0, 0, NULL), VIRTIO_BLK_S_OK);
    uint8_t file[2048];
    img_read(e->path, 10 * 512, file, sizeof(file));
    assert_memory_equal(file, rig_hva(&f->rig, w.data), 2048);
    /* A zero-length read is fine and touches nothing. */
    assert_int_equal(do_req(f, VIRTIO_BLK_T_IN, 0, 0, 0, NULL), VIRTIO_BLK_S_OK);
    assert_true(f->notifies >= 4);
    assert_int_equal(f->needs_resets, 0);
    env_free(e);
}

static void test_readonly(void **state)
{
    (void)state;
    struct drive_config d = drive(NULL, BLOCK_ENGINE_AUTO);
    d.readonly = true;
    struct env *e = env_new(d, 256, false);
    struct fake *f = &e->f;
    assert_true(f->ops->features & 1ULL << VIRTIO_BLK_F_RO);
    assert_false(f->ops->features & 1ULL << VIRTIO_BLK_F_DISCARD);
    f->vdev.features |= 1ULL << VIRTIO_BLK_F_DISCARD | 1ULL << VIRTIO_BLK_F_WRITE_ZEROES;
    struct req w = offer(f, VIRTIO_BLK_T_OUT, 0, 512, 1);
    fill_guest(f, w.data, 512, 0x99);
    assert_int_equal(complete_one(f, &w, 1), VIRTIO_BLK_S_IOERR);
    assert_int_equal(do_discard(f, VIRTIO_BLK_T_DISCARD, 0, 8, 0, 1), VIRTIO_BLK_S_IOERR);
    assert_int_equal(do_discard(f, VIRTIO_BLK_T_WRITE_ZEROES, 0, 8, 1, 1), VIRTIO_BLK_S_IOERR);
    struct req r;
    assert_int_equal(do_req(f, VIRTIO_BLK_T_IN, 0, 4096, 1, &r), VIRTIO_BLK_S_OK);
    for (unsigned i = 0; i < 4096; i++)
        assert_int_equal(fake_byte(f, r.data + i), img_pattern(i));
    assert_int_equal(do_req(f, VIRTIO_BLK_T_FLUSH, 0, 0, 0, NULL), VIRTIO_BLK_S_OK);
    uint8_t file[4096];
    img_read(e->path, 0, file, sizeof(file));
    for (unsigned i = 0; i < 4096; i++)
        assert_int_equal(file[i], img_pattern(i));
    env_free(e);
}

static void test_out_of_range(void **state)
{
    (void)state;
    struct env *e = env_new(drive(NULL, BLOCK_ENGINE_AUTO), 256, false);
    struct fake *f = &e->f;
    assert_int_equal(do_req(f, VIRTIO_BLK_T_IN, IMG_SECTORS - 1, 512, 1, NULL), VIRTIO_BLK_S_OK);
    assert_int_equal(do_req(f, VIRTIO_BLK_T_IN, IMG_SECTORS, 512, 1, NULL), VIRTIO_BLK_S_IOERR);
    assert_int_equal(do_req(f, VIRTIO_BLK_T_IN, IMG_SECTORS - 1, 1024, 1, NULL),
                     VIRTIO_BLK_S_IOERR);
    assert_int_equal(do_req(f, VIRTIO_BLK_T_OUT, IMG_SECTORS - 1, 1024, 2, NULL),
                     VIRTIO_BLK_S_IOERR);
    assert_int_equal(do_req(f, VIRTIO_BLK_T_IN, 1ULL << 63, 512, 1, NULL), VIRTIO_BLK_S_IOERR);
    assert_int_equal(do_req(f, VIRTIO_BLK_T_OUT, UINT64_MAX, 512, 1, NULL), VIRTIO_BLK_S_IOERR);
    assert_int_equal(do_discard(f, VIRTIO_BLK_T_DISCARD, IMG_SECTORS - 4, 8, 0, 1),
                     VIRTIO_BLK_S_IOERR);
    assert_int_equal(do_discard(f, VIRTIO_BLK_T_WRITE_ZEROES, UINT64_MAX, 1, 0, 1),
                     VIRTIO_BLK_S_IOERR);
    assert_int_equal(do_discard(f, VIRTIO_BLK_T_DISCARD, 0, VIRTIO_BLK_MAX_DISCARD_SECT + 1, 0, 1),
                     VIRTIO_BLK_S_IOERR);
    uint8_t file[512];
    img_read(e->path, IMG_SIZE - 512, file, sizeof(file));
    for (unsigned i = 0; i < 512; i++)
        assert_int_equal(file[i], img_pattern(IMG_SIZE - 512 + i));
    assert_int_equal(f->needs_resets, 0);
    env_free(e);
}

/* Requests whose parts have the wrong sizes fail with IOERR, alone. */
static void test_malformed(void **state)
{
    (void)state;
    struct env *e = env_new(drive(NULL, BLOCK_ENGINE_AUTO), 256, false);
    struct fake *f = &e->f;
    assert_int_equal(do_req(f, VIRTIO_BLK_T_IN, 0, 100, 1, NULL), VIRTIO_BLK_S_IOERR);
    assert_int_equal(do_req(f, VIRTIO_BLK_T_OUT, 0, 513, 1, NULL), VIRTIO_BLK_S_IOERR);

    uint64_t hdr = fake_alloc(f, 24, 0), data = fake_alloc(f, 512, 0), st = fake_new_status(f);
    fake_put_header(f, hdr, VIRTIO_BLK_T_IN, 0);
    struct req r = {.status = st};
    /* A read with 8 more readable bytes after its header. */
    fake_offer(f, (struct fake_seg[]){{hdr, 24, false}, {data, 512, true}, {st, 1, true}}, 3);
    assert_int_equal(complete_one(f, &r, 513), VIRTIO_BLK_S_IOERR);
    /* A write with writable data. */
    fake_put_header(f, hdr, VIRTIO_BLK_T_OUT, 0);
    st = r.status = fake_new_status(f);
    fake_offer(f, (struct fake_seg[]){{hdr, 16, false}, {data, 512, true}, {st, 1, true}}, 3);
    assert_int_equal(complete_one(f, &r, 513), VIRTIO_BLK_S_IOERR);
    /* A header of 8 bytes. */
    st = r.status = fake_new_status(f);
    fake_offer(f, (struct fake_seg[]){{hdr, 8, false}, {st, 1, true}}, 2);
    assert_int_equal(complete_one(f, &r, 1), VIRTIO_BLK_S_IOERR);
    /* A flush and a get-id carrying data. */
    fake_put_header(f, hdr, VIRTIO_BLK_T_FLUSH, 0);
    st = r.status = fake_new_status(f);
    fake_offer(f, (struct fake_seg[]){{hdr, 24, false}, {st, 1, true}}, 2);
    assert_int_equal(complete_one(f, &r, 1), VIRTIO_BLK_S_IOERR);
    fake_put_header(f, hdr, VIRTIO_BLK_T_GET_ID, 0);
    st = r.status = fake_new_status(f);
    fake_offer(f, (struct fake_seg[]){{hdr, 24, false}, {data, 20, true}, {st, 1, true}}, 3);
    assert_int_equal(complete_one(f, &r, 21), VIRTIO_BLK_S_IOERR);
    uint8_t file[512];
    img_read(e->path, 0, file, sizeof(file));
    for (unsigned i = 0; i < 512; i++)
        assert_int_equal(file[i], img_pattern(i));
    assert_int_equal(f->needs_resets, 0);
    env_free(e);
}

/* The spec does not promise framing: a header split over descriptors and
 * a status byte sharing a descriptor with data are requests like others. */
static void test_odd_framing(void **state)
{
    (void)state;
    struct env *e = env_new(drive(NULL, BLOCK_ENGINE_AUTO), 256, false);
    struct fake *f = &e->f;
    uint64_t hdr = fake_alloc(f, 16 + 1024, 0);
    fake_put_header(f, hdr, VIRTIO_BLK_T_OUT, 4);
    fill_guest(f, hdr + 16, 1024, 0x42);
    uint64_t st = fake_new_status(f);
    struct req r = {.status = st};
    /* 5 + 11 header bytes, then the data in the same descriptor as the
     * header's tail. */
    fake_offer(f, (struct fake_seg[]){{hdr, 5, false}, {hdr + 5, 11 + 1024, false}, {st, 1, true}},
               3);
    assert_int_equal(complete_one(f, &r, 1), VIRTIO_BLK_S_OK);

    uint64_t rh = fake_alloc(f, 16, 0), buf = fake_alloc(f, 1025, 0);
    fake_put_header(f, rh, VIRTIO_BLK_T_IN, 4);
    r.status = buf + 1024;
    rig_put(&f->rig, r.status, (uint8_t[]){FAKE_STATUS_0}, 1);
    fake_offer(f, (struct fake_seg[]){{rh, 16, false}, {buf, 1025, true}}, 2);
    assert_int_equal(complete_one(f, &r, 1025), VIRTIO_BLK_S_OK);
    assert_memory_equal(rig_hva(&f->rig, buf), rig_hva(&f->rig, hdr + 16), 1024);
    env_free(e);
}

/* A chain with no writable byte has nowhere for a status: it comes back
 * empty and the device asks for a reset; the device itself is fine. */
static void test_no_status(void **state)
{
    (void)state;
    struct env *e = env_new(drive(NULL, BLOCK_ENGINE_AUTO), 256, false);
    struct fake *f = &e->f;
    uint64_t hdr = fake_alloc(f, 16, 0), data = fake_alloc(f, 512, 0);
    fake_put_header(f, hdr, VIRTIO_BLK_T_OUT, 0);
    fill_guest(f, data, 512, 0x55);
    fake_offer(f, (struct fake_seg[]){{hdr, 16, false}, {data, 512, false}}, 2);
    fake_kick(f);
    assert_true(fake_wait_used(f, 1));
    uint32_t id, len;
    fake_next_used(f, &id, &len);
    assert_int_equal(len, 0);
    assert_int_equal(f->needs_resets, 1);
    uint8_t file[512];
    img_read(e->path, 0, file, sizeof(file));
    for (unsigned i = 0; i < 512; i++)
        assert_int_equal(file[i], img_pattern(i));
    assert_int_equal(do_req(f, VIRTIO_BLK_T_IN, 0, 512, 1, NULL), VIRTIO_BLK_S_OK);
    env_free(e);
}

static void test_get_id(void **state)
{
    (void)state;
    struct drive_config d = drive(NULL, BLOCK_ENGINE_AUTO);
    d.serial = "xuni-disk-0";
    struct env *e = env_new(d, 256, false);
    struct req r;
    assert_int_equal(do_req(&e->f, VIRTIO_BLK_T_GET_ID, 0, 20, 1, &r), VIRTIO_BLK_S_OK);
    char id[21] = {0};
    memcpy(id, rig_hva(&e->f.rig, r.data), 20);
    assert_string_equal(id, "xuni-disk-0");
    assert_true(all_bytes((uint8_t *)id + 11, 9, 0)); /* NUL-padded */
    /* A short buffer gets what fits. */
    assert_int_equal(do_req(&e->f, VIRTIO_BLK_T_GET_ID, 0, 4, 1, &r), VIRTIO_BLK_S_OK);
    assert_memory_equal(rig_hva(&e->f.rig, r.data), "xuni", 4);
    env_free(e);

    d.serial = "ABCDEFGHIJKLMNOPQRST"; /* 20 characters: no NUL */
    e = env_new(d, 256, false);
    assert_int_equal(do_req(&e->f, VIRTIO_BLK_T_GET_ID, 0, 20, 1, &r), VIRTIO_BLK_S_OK);
    assert_memory_equal(rig_hva(&e->f.rig, r.data), "ABCDEFGHIJKLMNOPQRST", 20);
    env_free(e);

    d.serial = NULL; /* derived from the path: 16 hex digits */
    e = env_new(d, 256, false);
    assert_int_equal(do_req(&e->f, VIRTIO_BLK_T_GET_ID, 0, 20, 1, &r), VIRTIO_BLK_S_OK);
    const char *got = (const char *)rig_hva(&e->f.rig, r.data);
    assert_int_equal(strspn(got, "0123456789abcdef"), 16);
    assert_true(all_bytes((const uint8_t *)got + 16, 4, 0));
    env_free(e);
}

static void test_unsupported(void **state)
{
    (void)state;
    struct env *e = env_new(drive(NULL, BLOCK_ENGINE_AUTO), 256, false);
    static const uint32_t types[] = {2, 3, 5, 10, 14, 15, 16, 0x80000000u, 0xffffffffu};
    for (unsigned i = 0; i < sizeof(types) / sizeof(types[0]); i++)
        assert_int_equal(do_req(&e->f, types[i], 0, 0, 0, NULL), VIRTIO_BLK_S_UNSUPP);
    env_free(e);
}

static void check_image_zero(const char *path, uint64_t sector, uint32_t n)
{
    uint8_t *buf = malloc((size_t)n * 512 + 1024);
    img_read(path, sector * 512 - 512, buf, (size_t)n * 512 + 1024);
    for (unsigned i = 0; i < 512; i++) {
        assert_int_equal(buf[i], img_pattern(sector * 512 - 512 + i));
        assert_int_equal(buf[512 + n * 512 + i], img_pattern((sector + n) * 512 + i));
    }
    assert_true(all_bytes(buf + 512, (size_t)n * 512, 0));
    free(buf);
}

static void test_discard_and_zeroes(void **state)
{
    (void)state;
    struct env *e = env_new(drive(NULL, BLOCK_ENGINE_AUTO), 256, false);
    struct fake *f = &e->f;
    assert_int_equal(do_discard(f, VIRTIO_BLK_T_DISCARD, 16, 8, 0, 1), VIRTIO_BLK_S_OK);
    check_image_zero(e->path, 16, 8);
    assert_int_equal(do_discard(f, VIRTIO_BLK_T_WRITE_ZEROES, 40, 3, 0, 1), VIRTIO_BLK_S_OK);
    check_image_zero(e->path, 40, 3);
    assert_int_equal(do_discard(f, VIRTIO_BLK_T_WRITE_ZEROES, 100, 64, VIRTIO_BLK_WZ_FLAG_UNMAP, 1),
                     VIRTIO_BLK_S_OK);
    check_image_zero(e->path, 100, 64);
    assert_int_equal(do_discard(f, VIRTIO_BLK_T_DISCARD, 200, 0, 0, 1), VIRTIO_BLK_S_OK);
    /* Flags: unmap on a discard, unknown bits anywhere. */
    assert_int_equal(do_discard(f, VIRTIO_BLK_T_DISCARD, 300, 8, VIRTIO_BLK_WZ_FLAG_UNMAP, 1),
                     VIRTIO_BLK_S_UNSUPP);
    assert_int_equal(do_discard(f, VIRTIO_BLK_T_WRITE_ZEROES, 300, 8, 2, 1), VIRTIO_BLK_S_UNSUPP);
    /* More segments than max_discard_seg. */
    assert_int_equal(do_discard(f, VIRTIO_BLK_T_DISCARD, 300, 8, 0, 2), VIRTIO_BLK_S_IOERR);
    uint8_t file[512];
    img_read(e->path, 300 * 512, file, sizeof(file));
    for (unsigned i = 0; i < 512; i++)
        assert_int_equal(file[i], img_pattern(300 * 512 + i));
    /* A driver that did not negotiate the feature gets UNSUPP. */
    f->vdev.features &= ~(1ULL << VIRTIO_BLK_F_DISCARD);
    assert_int_equal(do_discard(f, VIRTIO_BLK_T_DISCARD, 300, 8, 0, 1), VIRTIO_BLK_S_UNSUPP);
    env_free(e);
}

/* After a reset, requests that were in flight finish without touching the
 * queue; what their reads wrote is still reported to the write notifier. */
static void test_reset_in_flight(void **state)
{
    (void)state;
    struct env *e = env_new(drive(NULL, BLOCK_ENGINE_AUTO), 256, false);
    struct fake *f = &e->f;
    struct req r = offer(f, VIRTIO_BLK_T_IN, 0, 8192, 2);
    struct req w = offer(f, VIRTIO_BLK_T_OUT, 64, 4096, 1);
    fill_guest(f, w.data, 4096, 0x21);
    pthread_mutex_lock(&f->lock);
    f->ops->queue_notify(f->blk, 0); /* both go to the backend... */
    f->vdev.generation++;            /* ...and the driver resets */
    f->ops->reset(f->blk);
    f->rig.nnotes = 0;
    pthread_mutex_unlock(&f->lock);
    virtio_blk_free(f->blk); /* waits for both */
    f->blk = NULL;
    assert_int_equal(rig_used_idx(&f->rig), 0);
    assert_int_equal(fake_byte(f, r.status), FAKE_STATUS_0);
    assert_int_equal(fake_byte(f, w.status), FAKE_STATUS_0);
    assert_int_equal(f->notifies, 0);
    assert_true(f->rig.nnotes >= 2); /* the read's two data segments, at least */
    assert_int_equal(fake_byte(f, r.data + 5), img_pattern(5));
    rig_destroy(&f->rig);
    img_remove(e->path);
    free(e);
}

/* A driver offering one chain again and again cannot have more than the
 * queue size in flight; the rest wait and run as requests complete. */
static void test_throttle(void **state)
{
    (void)state;
    struct env *e = env_new(drive(NULL, BLOCK_ENGINE_AUTO), 4, false);
    struct fake *f = &e->f;
    struct req r = offer(f, VIRTIO_BLK_T_IN, 8, 4096, 1);
    pthread_mutex_lock(&f->lock);
    for (int i = 0; i < 3; i++)
        rig_avail_add(&f->rig, 0);
    f->ops->queue_notify(f->blk, 0);
    for (int i = 0; i < 4; i++)
        rig_avail_add(&f->rig, 0);
    f->ops->queue_notify(f->blk, 0);
    pthread_mutex_unlock(&f->lock);
    assert_true(fake_wait_used(f, 8));
    assert_int_equal(fake_byte(f, r.status), VIRTIO_BLK_S_OK);
    assert_int_equal(fake_byte(f, r.data + 100), img_pattern(8 * 512 + 100));
    assert_int_equal(f->needs_resets, 0);
    env_free(e);
}

/* Requests held back behind a full queue still run when the requests in
 * flight are ones from before a reset. */
static void test_throttle_across_reset(void **state)
{
    (void)state;
    struct env *e = env_new(drive(NULL, BLOCK_ENGINE_AUTO), 4, false);
    struct fake *f = &e->f;
    struct req r = offer(f, VIRTIO_BLK_T_IN, 8, 4096, 1);
    pthread_mutex_lock(&f->lock);
    for (int i = 0; i < 3; i++)
        rig_avail_add(&f->rig, 0);
    f->ops->queue_notify(f->blk, 0); /* four in flight: the queue is full */
    f->vdev.generation++;
    f->ops->reset(f->blk);
    for (int i = 0; i < 4; i++)
        rig_avail_add(&f->rig, 0);
    f->ops->queue_notify(f->blk, 0); /* held back */
    pthread_mutex_unlock(&f->lock);
    assert_true(fake_wait_used(f, 4)); /* only the four after the reset */
    assert_int_equal(fake_byte(f, r.status), VIRTIO_BLK_S_OK);
    virtio_blk_free(f->blk);
    f->blk = NULL;
    assert_int_equal(rig_used_idx(&f->rig), 4);
    rig_destroy(&f->rig);
    img_remove(e->path);
    free(e);
}

/* Many requests offered at once, one kick. */
static void test_many_queued(void **state)
{
    enum block_engine aio = (enum block_engine)(uintptr_t)*state;
    if (aio == BLOCK_ENGINE_URING && !block_uring_available())
        skip();
    enum { N = 48 };
    struct env *e = env_new(drive(NULL, aio), 256, false);
    struct fake *f = &e->f;
    struct req reqs[N];
    for (unsigned i = 0; i < N; i++) {
        uint32_t type = i % 3 == 2 ? VIRTIO_BLK_T_OUT : VIRTIO_BLK_T_IN;
        reqs[i] = offer(f, type, 16ULL * i, 4096 + 512 * (i % 5), 1 + i % 3);
        if (type == VIRTIO_BLK_T_OUT)
            fill_guest(f, reqs[i].data, reqs[i].len, (uint8_t)i);
    }
    fake_kick(f);
    assert_true(fake_wait_used(f, N));
    for (unsigned i = 0; i < N; i++) {
        assert_int_equal(fake_byte(f, reqs[i].status), VIRTIO_BLK_S_OK);
        if (i % 3 == 2)
            continue;
        for (unsigned j = 0; j < reqs[i].len; j += 61)
            assert_int_equal(fake_byte(f, reqs[i].data + j), img_pattern(16ULL * i * 512 + j));
    }
    env_free(e);
}

/* Descriptors from an indirect table. */
static void test_indirect(void **state)
{
    (void)state;
    struct env *e = env_new(drive(NULL, BLOCK_ENGINE_AUTO), 256, true);
    struct fake *f = &e->f;
    uint64_t table = fake_alloc(f, 3 * 16, 0), hdr = fake_alloc(f, 16, 0);
    uint64_t data = fake_alloc(f, 1024, 0), st = fake_new_status(f);
    fake_put_header(f, hdr, VIRTIO_BLK_T_IN, 2);
    rig_desc(&f->rig, table, 0, hdr, 16, VIRTQ_DESC_F_NEXT, 1);
    rig_desc(&f->rig, table, 1, data, 1024, VIRTQ_DESC_F_NEXT | VIRTQ_DESC_F_WRITE, 2);
    rig_desc(&f->rig, table, 2, st, 1, VIRTQ_DESC_F_WRITE, 0);
    fake_offer(f, (struct fake_seg[]){{table, 48, false}}, 1);
    rig_desc(&f->rig, RIG_DESC, 0, table, 48, VIRTQ_DESC_F_INDIRECT, 0);
    struct req r = {.status = st};
    assert_int_equal(complete_one(f, &r, 1025), VIRTIO_BLK_S_OK);
    for (unsigned i = 0; i < 1024; i++)
        assert_int_equal(fake_byte(f, data + i), img_pattern(1024 + i));
    env_free(e);
}

/* A drive that cannot be opened: one message, no device. */
static void test_open_failure(void **state)
{
    (void)state;
    char *text = NULL;
    size_t len;
    FILE *err = open_memstream(&text, &len);
    log_set_stream(err);
    struct drive_config d = drive("/nonexistent/disk.img", BLOCK_ENGINE_AUTO);
    pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
    assert_null(virtio_blk_new(&d, &lock));
    log_set_stream(NULL);
    fclose(err);
    assert_string_equal(text,
                        "xuni: error: cannot open drive /nonexistent/disk.img: No such file or "
                        "directory\n");
    free(text);
    virtio_blk_free(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_config_and_features),
        cmocka_unit_test_prestate(test_write_read_flush, (void *)(uintptr_t)BLOCK_ENGINE_URING),
        cmocka_unit_test_prestate(test_write_read_flush, (void *)(uintptr_t)BLOCK_ENGINE_THREADS),
        cmocka_unit_test(test_readonly),
        cmocka_unit_test(test_out_of_range),
        cmocka_unit_test(test_malformed),
        cmocka_unit_test(test_odd_framing),
        cmocka_unit_test(test_no_status),
        cmocka_unit_test(test_get_id),
        cmocka_unit_test(test_unsupported),
        cmocka_unit_test(test_discard_and_zeroes),
        cmocka_unit_test(test_reset_in_flight),
        cmocka_unit_test(test_throttle),
        cmocka_unit_test(test_throttle_across_reset),
        cmocka_unit_test_prestate(test_many_queued, (void *)(uintptr_t)BLOCK_ENGINE_URING),
        cmocka_unit_test_prestate(test_many_queued, (void *)(uintptr_t)BLOCK_ENGINE_THREADS),
        cmocka_unit_test(test_indirect),
        cmocka_unit_test(test_open_failure),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
