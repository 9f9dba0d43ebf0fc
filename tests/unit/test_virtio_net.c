/* virtio-net over hand-built rings and a fake backend: transmit strips the
 * header (split or not), receive prepends it and fills split buffers,
 * frames without buffers or before DRIVER_OK are dropped and counted,
 * oversized frames come back empty, malformed chains ask for a reset, and
 * a backend that answers inside a send (as slirp does for ARP) works. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>

#include "hw/virtio/virtio_net.h"
#include "virtq_rig.h"

#define MAX_FRAMES 8

struct fake_be {
    struct net_backend be;
    unsigned nframes;
    size_t len[MAX_FRAMES];
    uint8_t frame[MAX_FRAMES][2048];
    bool echo; /* deliver every sent frame straight back */
    bool freed;
};

static void fake_send(struct net_backend *be, const uint8_t *frame, size_t len)
{
    struct fake_be *f = (struct fake_be *)be;
    if (f->nframes < MAX_FRAMES && len <= sizeof(f->frame[0])) {
        memcpy(f->frame[f->nframes], frame, len);
        f->len[f->nframes] = len;
    }
    f->nframes++;
    if (f->echo)
        net_backend_deliver(be, frame, len);
}

static void fake_free(struct net_backend *be)
{
    ((struct fake_be *)be)->freed = true; /* owned by the rig */
}

static const struct net_backend_ops fake_ops = {.send = fake_send, .free = fake_free};

struct net_rig {
    struct vq_rig rx, tx; /* each queue in its own RAM: the device only uses vq[] */
    struct virtio_dev vdev;
    struct fake_be fake;
    struct virtio_net *net;
    unsigned notifies[2], resets;
};

static void on_notify(struct virtio_dev *vdev, unsigned q)
{
    struct net_rig *r = vdev->transport;
    assert_true(q < 2);
    r->notifies[q]++;
}

static void on_needs_reset(struct virtio_dev *vdev)
{
    ((struct net_rig *)vdev->transport)->resets++;
}

static int setup(void **state)
{
    struct net_rig *r = calloc(1, sizeof(*r));
    assert_int_equal(rig_init(&r->rx, 4 << 20, 16, false, false), 0);
    assert_int_equal(rig_init(&r->tx, 4 << 20, 16, false, false), 0);
    r->vdev.ops = &virtio_net_ops;
    r->vdev.mem = &r->rx.mem;
    r->vdev.vq[VIRTIO_NET_RXQ] = r->rx.q;
    r->vdev.vq[VIRTIO_NET_TXQ] = r->tx.q;
    r->vdev.notify = on_notify;
    r->vdev.needs_reset = on_needs_reset;
    r->vdev.transport = r;
    r->vdev.status = VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FEATURES_OK |
                     VIRTIO_STATUS_DRIVER_OK;
    r->fake.be.ops = &fake_ops;
    r->net = virtio_net_new(net_default_mac, &r->fake.be);
    assert_non_null(r->net);
    virtio_net_attach(r->net, &r->vdev);
    r->vdev.dev = r->net;
    *state = r;
    return 0;
}

static int teardown(void **state)
{
    struct net_rig *r = *state;
    virtio_net_free(r->net);
    assert_true(r->fake.freed);
    rig_destroy(&r->rx);
    rig_destroy(&r->tx);
    free(r);
    return 0;
}

static struct virtio_net_stats stats(struct net_rig *r)
{
    struct virtio_net_stats s;
    virtio_net_get_stats(r->net, &s);
    return s;
}

static void fill(uint8_t *p, size_t n, uint8_t seed)
{
    for (size_t i = 0; i < n; i++)
        p[i] = (uint8_t)(seed + i * 7);
}

/* A transmit chain at head: header (12 bytes, all 0) then the frame, as
 * one descriptor or two. */
static void post_tx(struct net_rig *r, uint16_t head, const uint8_t *frame, size_t len, bool split)
{
    uint64_t buf = RIG_BUF + 0x10000ULL * head;
    uint8_t hdr[VIRTIO_NET_HDR_SIZE] = {0};
    rig_put(&r->tx, buf, hdr, sizeof(hdr));
    if (split) {
        rig_put(&r->tx, buf + 0x1000, frame, len);
        rig_desc(&r->tx, RIG_DESC, head, buf, VIRTIO_NET_HDR_SIZE, VIRTQ_DESC_F_NEXT, head + 1);
        rig_desc(&r->tx, RIG_DESC, head + 1, buf + 0x1000, (uint32_t)len, 0, 0);
    } else {
        rig_put(&r->tx, buf + VIRTIO_NET_HDR_SIZE, frame, len);
        rig_desc(&r->tx, RIG_DESC, head, buf, (uint32_t)(VIRTIO_NET_HDR_SIZE + len), 0, 0);
    }
    rig_avail_add(&r->tx, head);
}

/* A receive chain at head: one writable buffer of len, or a 12-byte one
 * and then len - 12. Returns its guest address. */
static uint64_t post_rx(struct net_rig *r, uint16_t head, uint32_t len, bool split)
{
    uint64_t buf = RIG_BUF + 0x10000ULL * head;
    if (split) {
        rig_desc(&r->rx, RIG_DESC, head, buf, VIRTIO_NET_HDR_SIZE,
                 VIRTQ_DESC_F_WRITE | VIRTQ_DESC_F_NEXT, head + 1);
        rig_desc(&r->rx, RIG_DESC, head + 1, buf + VIRTIO_NET_HDR_SIZE, len - VIRTIO_NET_HDR_SIZE,
                 VIRTQ_DESC_F_WRITE, 0);
    } else {
        rig_desc(&r->rx, RIG_DESC, head, buf, len, VIRTQ_DESC_F_WRITE, 0);
    }
    rig_avail_add(&r->rx, head);
    return buf;
}

static void kick_tx(struct net_rig *r)
{
    virtio_net_ops.queue_notify(r->net, VIRTIO_NET_TXQ);
}

static void test_ops_and_config(void **state)
{
    struct net_rig *r = *state;
    assert_int_equal(virtio_net_ops.device_id, VIRTIO_ID_NET);
    assert_int_equal(virtio_net_ops.nqueues, 2);
    assert_int_equal(virtio_net_ops.features,
                     (1ULL << VIRTIO_NET_F_MAC) | (1ULL << VIRTIO_NET_F_STATUS));
    uint8_t cfg[VIRTIO_NET_CONFIG_SIZE];
    virtio_net_ops.config_read(r->net, 0, cfg, sizeof(cfg));
    assert_memory_equal(cfg + VIRTIO_NET_CFG_MAC, net_default_mac, 6);
    assert_int_equal(cfg[VIRTIO_NET_CFG_STATUS] | cfg[VIRTIO_NET_CFG_STATUS + 1] << 8,
                     VIRTIO_NET_S_LINK_UP);
    assert_int_equal(cfg[VIRTIO_NET_CFG_MAX_VQ_PAIR], 1);
    /* Read-only (the transport ignores writes); reads past the end give
     * zeros. */
    assert_null(virtio_net_ops.config_write);
    uint32_t past = 0xffffffff;
    virtio_net_ops.config_read(r->net, VIRTIO_NET_CONFIG_SIZE, &past, 4);
    assert_int_equal(past, 0);
}

static void test_mac_from_config(void **state)
{
    (void)state;
    struct fake_be f = {.be.ops = &fake_ops};
    const uint8_t mac[6] = {0x02, 0xaa, 0xbb, 0xcc, 0xdd, 0xee};
    struct virtio_net *net = virtio_net_new(mac, &f.be);
    uint8_t got[6];
    virtio_net_ops.config_read(net, VIRTIO_NET_CFG_MAC, got, 6);
    assert_memory_equal(got, mac, 6);
    virtio_net_free(net);
    assert_true(f.freed);
    virtio_net_free(NULL);
}

static void test_tx_strips_header(void **state)
{
    struct net_rig *r = *state;
    uint8_t a[60], b[1514];
    fill(a, sizeof(a), 1);
    fill(b, sizeof(b), 2);
    post_tx(r, 0, a, sizeof(a), true);
    post_tx(r, 2, b, sizeof(b), false);
    kick_tx(r);
    assert_int_equal(r->fake.nframes, 2);
    assert_int_equal(r->fake.len[0], sizeof(a));
    assert_memory_equal(r->fake.frame[0], a, sizeof(a));
    assert_int_equal(r->fake.len[1], sizeof(b));
    assert_memory_equal(r->fake.frame[1], b, sizeof(b));
    assert_int_equal(rig_used_idx(&r->tx), 2);
    uint32_t id, len;
    rig_used_elem(&r->tx, 1, &id, &len);
    assert_int_equal(id, 2);
    assert_int_equal(len, 0);
    assert_int_equal(r->notifies[VIRTIO_NET_TXQ], 1); /* one per batch */
    assert_int_equal(stats(r).tx_frames, 2);
    assert_int_equal(stats(r).tx_bytes, sizeof(a) + sizeof(b));
    assert_int_equal(r->resets, 0);
}

static void check_rx(struct net_rig *r, uint64_t buf, unsigned slot, const uint8_t *frame,
                     size_t len)
{
    uint32_t id, used;
    rig_used_elem(&r->rx, slot, &id, &used);
    assert_int_equal(used, VIRTIO_NET_HDR_SIZE + len);
    const uint8_t *p = rig_hva(&r->rx, buf);
    const uint8_t want_hdr[VIRTIO_NET_HDR_SIZE] = {[10] = 1}; /* num_buffers = 1 */
    assert_memory_equal(p, want_hdr, VIRTIO_NET_HDR_SIZE);
    assert_memory_equal(p + VIRTIO_NET_HDR_SIZE, frame, len);
}

static void test_rx_prepends_header(void **state)
{
    struct net_rig *r = *state;
    uint64_t b0 = post_rx(r, 0, 1526, false), b1 = post_rx(r, 2, 1526, true);
    uint8_t a[42], b[1514];
    fill(a, sizeof(a), 3);
    fill(b, sizeof(b), 4);
    /* Poison the buffers: the header must really be written. */
    memset(rig_hva(&r->rx, b0), 0xee, 1526);
    memset(rig_hva(&r->rx, b1), 0xee, 1526);
    net_backend_deliver(&r->fake.be, a, sizeof(a));
    net_backend_deliver(&r->fake.be, b, sizeof(b));
    assert_int_equal(rig_used_idx(&r->rx), 2);
    check_rx(r, b0, 0, a, sizeof(a));
    check_rx(r, b1, 1, b, sizeof(b));
    assert_int_equal(r->notifies[VIRTIO_NET_RXQ], 2);
    assert_int_equal(stats(r).rx_frames, 2);
    assert_int_equal(stats(r).rx_dropped, 0);
}

static void test_rx_without_buffers_drops(void **state)
{
    struct net_rig *r = *state;
    uint8_t a[60];
    fill(a, sizeof(a), 5);
    net_backend_deliver(&r->fake.be, a, sizeof(a));
    net_backend_deliver(&r->fake.be, a, sizeof(a));
    assert_int_equal(stats(r).rx_dropped, 2);
    assert_int_equal(rig_used_idx(&r->rx), 0);
    assert_int_equal(r->resets, 0);
    /* Once the driver posts a buffer, the next frame lands. */
    uint64_t b = post_rx(r, 0, 1526, false);
    net_backend_deliver(&r->fake.be, a, sizeof(a));
    assert_int_equal(rig_used_idx(&r->rx), 1);
    check_rx(r, b, 0, a, sizeof(a));
}

static void test_rx_before_driver_ok_drops(void **state)
{
    struct net_rig *r = *state;
    post_rx(r, 0, 1526, false);
    r->vdev.status &= (uint8_t)~VIRTIO_STATUS_DRIVER_OK;
    uint8_t a[60] = {0};
    net_backend_deliver(&r->fake.be, a, sizeof(a));
    assert_int_equal(rig_used_idx(&r->rx), 0);
    assert_int_equal(stats(r).rx_dropped, 1);
    /* Transmit is ignored too (the queues are not live yet). */
    post_tx(r, 0, a, sizeof(a), false);
    kick_tx(r);
    assert_int_equal(r->fake.nframes, 0);
    /* The posted buffer is still there once the driver is up. */
    r->vdev.status |= VIRTIO_STATUS_DRIVER_OK;
    net_backend_deliver(&r->fake.be, a, sizeof(a));
    assert_int_equal(rig_used_idx(&r->rx), 1);
}

static void test_rx_too_big_returns_empty(void **state)
{
    struct net_rig *r = *state;
    post_rx(r, 0, 100, false);
    uint8_t a[200] = {0};
    net_backend_deliver(&r->fake.be, a, sizeof(a)); /* 212 > 100 */
    assert_int_equal(rig_used_idx(&r->rx), 1);
    uint32_t id, len;
    rig_used_elem(&r->rx, 0, &id, &len);
    assert_int_equal(len, 0);
    assert_int_equal(stats(r).rx_dropped, 1);
    assert_int_equal(stats(r).rx_frames, 0);
    assert_int_equal(r->resets, 0);
    /* Exactly full fits. */
    uint64_t b = post_rx(r, 1, VIRTIO_NET_HDR_SIZE + 88, false);
    net_backend_deliver(&r->fake.be, a, 88);
    check_rx(r, b, 1, a, 88);
}

static void test_tx_malformed_short(void **state)
{
    struct net_rig *r = *state;
    rig_desc(&r->tx, RIG_DESC, 0, RIG_BUF, 8, 0, 0); /* shorter than the header */
    rig_avail_add(&r->tx, 0);
    kick_tx(r);
    assert_int_equal(r->resets, 1);
    assert_int_equal(r->fake.nframes, 0);
}

static void test_tx_malformed_writable(void **state)
{
    struct net_rig *r = *state;
    rig_desc(&r->tx, RIG_DESC, 0, RIG_BUF, 100, VIRTQ_DESC_F_NEXT, 1);
    rig_desc(&r->tx, RIG_DESC, 1, RIG_BUF + 0x1000, 100, VIRTQ_DESC_F_WRITE, 0);
    rig_avail_add(&r->tx, 0);
    kick_tx(r);
    assert_int_equal(r->resets, 1);
    assert_int_equal(r->fake.nframes, 0);
}

static void test_tx_malformed_bad_index(void **state)
{
    struct net_rig *r = *state;
    uint8_t a[60] = {0};
    post_tx(r, 0, a, sizeof(a), false);
    rig_avail_add(&r->tx, 200); /* head outside a 16-entry table */
    kick_tx(r);
    assert_int_equal(r->fake.nframes, 1); /* the good one before it went out */
    assert_int_equal(r->resets, 1);
    kick_tx(r); /* a second kick neither crashes nor sends */
    assert_int_equal(r->fake.nframes, 1);
}

static void test_rx_malformed_readable(void **state)
{
    struct net_rig *r = *state;
    rig_desc(&r->rx, RIG_DESC, 0, RIG_BUF, 1526, 0, 0); /* device-readable */
    rig_avail_add(&r->rx, 0);
    uint8_t a[60] = {0};
    net_backend_deliver(&r->fake.be, a, sizeof(a));
    assert_int_equal(r->resets, 1);
    assert_int_equal(stats(r).rx_dropped, 1);
}

static void test_rx_malformed_loop(void **state)
{
    struct net_rig *r = *state;
    rig_desc(&r->rx, RIG_DESC, 0, RIG_BUF, 1526, VIRTQ_DESC_F_WRITE | VIRTQ_DESC_F_NEXT, 0);
    rig_avail_add(&r->rx, 0);
    uint8_t a[60] = {0};
    net_backend_deliver(&r->fake.be, a, sizeof(a));
    assert_int_equal(r->resets, 1);
    assert_int_equal(stats(r).rx_dropped, 1);
}

static void test_answer_inside_send(void **state)
{
    struct net_rig *r = *state;
    r->fake.echo = true;
    uint64_t b = post_rx(r, 0, 1526, false);
    uint8_t a[60];
    fill(a, sizeof(a), 9);
    post_tx(r, 0, a, sizeof(a), false);
    kick_tx(r);
    assert_int_equal(r->fake.nframes, 1);
    assert_int_equal(rig_used_idx(&r->tx), 1);
    assert_int_equal(rig_used_idx(&r->rx), 1);
    check_rx(r, b, 0, a, sizeof(a));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_ops_and_config, setup, teardown),
        cmocka_unit_test(test_mac_from_config),
        cmocka_unit_test_setup_teardown(test_tx_strips_header, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rx_prepends_header, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rx_without_buffers_drops, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rx_before_driver_ok_drops, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rx_too_big_returns_empty, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tx_malformed_short, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tx_malformed_writable, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tx_malformed_bad_index, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rx_malformed_readable, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rx_malformed_loop, setup, teardown),
        cmocka_unit_test_setup_teardown(test_answer_inside_send, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
