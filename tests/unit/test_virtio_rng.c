/* virtio-rng over a hand-built ring: buffers come back full of bytes that
 * differ, split buffers are filled across their segments, huge ones are
 * capped, readable-only chains get nothing, a malformed chain asks for a
 * reset, and the driver is notified once per batch. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>

#include "hw/virtio/virtio_rng.h"
#include "util/log.h"
#include "virtq_rig.h"

struct rng_rig {
    struct vq_rig vq;
    struct virtio_dev vdev;
    struct virtio_rng *rng;
    unsigned notifies, resets;
};

static void on_notify(struct virtio_dev *vdev, unsigned q)
{
    struct rng_rig *r = vdev->transport;
    assert_int_equal(q, 0);
    if (virtq_should_notify(&vdev->vq[q]))
        r->notifies++;
}

static void on_needs_reset(struct virtio_dev *vdev)
{
    ((struct rng_rig *)vdev->transport)->resets++;
}

static int setup(void **state)
{
    struct rng_rig *r = calloc(1, sizeof(*r));
    assert_int_equal(rig_init(&r->vq, 4 << 20, 16, false, false), 0);
    r->vdev.ops = &virtio_rng_ops;
    r->vdev.mem = &r->vq.mem;
    r->vdev.vq[0] = r->vq.q;
    r->vdev.notify = on_notify;
    r->vdev.needs_reset = on_needs_reset;
    r->vdev.transport = r;
    r->rng = virtio_rng_new();
    assert_non_null(r->rng);
    virtio_rng_attach(r->rng, &r->vdev);
    r->vdev.dev = r->rng;
    *state = r;
    return 0;
}

static int teardown(void **state)
{
    struct rng_rig *r = *state;
    virtio_rng_free(r->rng);
    rig_destroy(&r->vq);
    free(r);
    return 0;
}

static void kick(struct rng_rig *r)
{
    virtio_rng_ops.queue_notify(r->rng, 0);
}

static bool all_zero(const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i])
            return false;
    return true;
}

static void test_ops(void **state)
{
    (void)state;
    assert_int_equal(virtio_rng_ops.device_id, VIRTIO_ID_RNG);
    assert_int_equal(virtio_rng_ops.nqueues, 1);
    assert_int_equal(virtio_rng_ops.config_size, 0);
    assert_true(virtio_rng_ops.features == 0);
    assert_non_null(virtio_rng_ops.queue_notify);
}

static void test_fills_buffers(void **state)
{
    struct rng_rig *r = *state;
    /* Two single buffers and one split over two descriptors. */
    rig_desc(&r->vq, RIG_DESC, 0, RIG_BUF, 64, VIRTQ_DESC_F_WRITE, 0);
    rig_desc(&r->vq, RIG_DESC, 1, RIG_BUF + 0x100, 64, VIRTQ_DESC_F_WRITE, 0);
    rig_desc(&r->vq, RIG_DESC, 2, RIG_BUF + 0x200, 16, VIRTQ_DESC_F_WRITE | VIRTQ_DESC_F_NEXT, 3);
    rig_desc(&r->vq, RIG_DESC, 3, RIG_BUF + 0x300, 16, VIRTQ_DESC_F_WRITE, 0);
    rig_avail_add(&r->vq, 0);
    rig_avail_add(&r->vq, 1);
    rig_avail_add(&r->vq, 2);
    kick(r);
    assert_int_equal(rig_used_idx(&r->vq), 3);
    assert_int_equal(r->notifies, 1); /* one interrupt for the batch */
    uint32_t id, len;
    rig_used_elem(&r->vq, 0, &id, &len);
    assert_int_equal(id, 0);
    assert_int_equal(len, 64);
    rig_used_elem(&r->vq, 2, &id, &len);
    assert_int_equal(id, 2);
    assert_int_equal(len, 32);
    const uint8_t *a = rig_hva(&r->vq, RIG_BUF), *b = rig_hva(&r->vq, RIG_BUF + 0x100);
    assert_false(all_zero(a, 64));
    assert_memory_not_equal(a, b, 64);
    assert_false(all_zero(rig_hva(&r->vq, RIG_BUF + 0x200), 16));
    assert_false(all_zero(rig_hva(&r->vq, RIG_BUF + 0x300), 16));
    /* The DMA was reported to the write notifier. */
    assert_true(r->vq.nnotes >= 4);
    /* A kick with nothing new: no interrupt. */
    kick(r);
    assert_int_equal(r->notifies, 1);
}

static void test_caps_huge_buffers(void **state)
{
    struct rng_rig *r = *state;
    rig_desc(&r->vq, RIG_DESC, 0, RIG_BUF, 3 * VIRTIO_RNG_MAX_FILL, VIRTQ_DESC_F_WRITE, 0);
    rig_avail_add(&r->vq, 0);
    kick(r);
    uint32_t id, len;
    rig_used_elem(&r->vq, 0, &id, &len);
    assert_int_equal(len, VIRTIO_RNG_MAX_FILL);
    const uint8_t *p = rig_hva(&r->vq, RIG_BUF);
    assert_false(all_zero(p + VIRTIO_RNG_MAX_FILL - 64, 64));
    assert_true(all_zero(p + VIRTIO_RNG_MAX_FILL, 64)); /* not a byte more */
}

static void test_readable_only_gets_nothing(void **state)
{
    struct rng_rig *r = *state;
    rig_desc(&r->vq, RIG_DESC, 0, RIG_BUF, 64, 0, 0);
    rig_avail_add(&r->vq, 0);
    kick(r);
    uint32_t id, len;
    rig_used_elem(&r->vq, 0, &id, &len);
    assert_int_equal(rig_used_idx(&r->vq), 1);
    assert_int_equal(len, 0);
    assert_true(all_zero(rig_hva(&r->vq, RIG_BUF), 64));
}

static void test_malformed_chain_needs_reset(void **state)
{
    struct rng_rig *r = *state;
    FILE *devnull = fopen("/dev/null", "w");
    log_set_stream(devnull);
    rig_desc(&r->vq, RIG_DESC, 0, RIG_BUF, 64, VIRTQ_DESC_F_WRITE, 0);
    rig_desc(&r->vq, RIG_DESC, 1, 0xd0000000, 64, VIRTQ_DESC_F_WRITE, 0); /* not RAM */
    rig_avail_add(&r->vq, 0);
    rig_avail_add(&r->vq, 1);
    kick(r);
    log_set_stream(NULL);
    fclose(devnull);
    assert_int_equal(rig_used_idx(&r->vq), 1); /* the good one was served */
    assert_int_equal(r->resets, 1);
    assert_int_equal(r->notifies, 1);
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ops),          T(test_fills_buffers),
        T(test_caps_huge_buffers),           T(test_readable_only_gets_nothing),
        T(test_malformed_chain_needs_reset),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
