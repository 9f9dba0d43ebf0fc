/* The virtio PCI transport, driven through its BARs and configuration
 * space as a driver would, in front of a fake device model over the real
 * virtqueue code: capabilities, feature negotiation, the status machine and
 * reset, queue setup, doorbells, ISR/INTx and MSI-X interrupts, the device
 * configuration window and the PCI_CFG access window. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hw/pci_msix.h"
#include "hw/virtio/virtio_pci.h"
#include "pci_rig.h"
#include "util/log.h"

#define QSIZE 16
#define DESC  0x10000ULL
#define AVAIL 0x11000ULL
#define USED  0x12000ULL
#define DATA  0x20000ULL

/* The fake device: two queues, 8 bytes of config, bits 0 and 5 offered
 * (and bit 30, which is the transport's and must not get through). */
struct fake {
    struct virtio_dev *vdev;
    unsigned notified[2], resets, starts;
    uint8_t config[8];
    uint32_t last_cfg_write_off;
};

static void fake_config_read(void *dev, uint32_t off, void *buf, unsigned len)
{
    struct fake *f = dev;
    memcpy(buf, f->config + off, len);
}

static void fake_config_write(void *dev, uint32_t off, const void *buf, unsigned len)
{
    struct fake *f = dev;
    memcpy(f->config + off, buf, len);
    f->last_cfg_write_off = off;
}

/* Pop everything, "use" it, push, notify: what a device model does. */
static void fake_queue_notify(void *dev, unsigned q)
{
    struct fake *f = dev;
    static struct virtq_elem e;
    f->notified[q]++;
    int r;
    bool pushed = false;
    while ((r = virtq_pop(&f->vdev->vq[q], &e)) > 0) {
        virtq_push(&f->vdev->vq[q], &e, (uint32_t)e.in_bytes);
        pushed = true;
    }
    if (r < 0)
        virtio_needs_reset(f->vdev);
    if (pushed)
        virtio_notify(f->vdev, q);
}

static void fake_reset(void *dev)
{
    ((struct fake *)dev)->resets++;
}

static void fake_started(void *dev)
{
    ((struct fake *)dev)->starts++;
}

static const struct virtio_device_ops fake_ops = {
    .name = "virtio-fake",
    .device_id = 4,
    .features = 1u << 0 | 1u << 5 | 1u << 30,
    .nqueues = 2,
    .queue_size = QSIZE,
    .config_size = 8,
    .config_read = fake_config_read,
    .config_write = fake_config_write,
    .queue_notify = fake_queue_notify,
    .reset = fake_reset,
    .started = fake_started,
};

struct rig {
    struct guest_memory mem;
    struct bus pio, mmio;
    struct pci_host *host;
    struct virtio_pci *vp;
    struct pci_device *pci;
    struct virtio_dev *vdev;
    struct fake fake;
    uint64_t bar4, bar1;
    int intx;
    unsigned msis;
    uint32_t msi_data[16];
    uint16_t avail_idx;
};

static void rig_irq(void *ctx, unsigned gsi, int level)
{
    struct rig *r = ctx;
    assert_int_equal(gsi, 17); /* slot 1, INTA */
    r->intx = level;
}

static int rig_msi(void *ctx, uint64_t addr, uint32_t data)
{
    struct rig *r = ctx;
    assert_true((addr & 0xfff00000) == 0xfee00000);
    if (r->msis < 16)
        r->msi_data[r->msis] = data;
    r->msis++;
    return 0;
}

static unsigned gsi_of(unsigned slot, unsigned pin)
{
    return 16 + (slot + pin) % 8;
}

static int setup(void **state)
{
    struct rig *r = calloc(1, sizeof(*r));
    assert_int_equal(guest_memory_init(&r->mem, 4 << 20), 0);
    struct pci_host_config cfg = pci_rig_config(&r->pio, &r->mmio);
    cfg.intx_gsi = gsi_of;
    cfg.irq = (struct irq_line){.set = rig_irq, .ctx = r};
    cfg.msi = rig_msi;
    cfg.msi_ctx = r;
    r->host = pci_host_new(&cfg);
    r->vp = virtio_pci_new(&fake_ops, &r->fake, &r->mem);
    assert_non_null(r->vp);
    r->pci = virtio_pci_device(r->vp);
    r->vdev = virtio_pci_vdev(r->vp);
    r->fake.vdev = r->vdev;
    memcpy(r->fake.config, "ABCDEFGH", 8);
    assert_int_equal(pci_host_add_device(r->host, r->pci), 1);
    r->bar4 = pci_bar_address(r->pci, VIRTIO_PCI_REGS_BAR);
    r->bar1 = pci_bar_address(r->pci, VIRTIO_PCI_MSIX_BAR);
    assert_int_not_equal(r->bar4, 0);
    assert_int_not_equal(r->bar1, 0);
    pci_config_write(r->pci, PCI_COMMAND, 2, PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER);
    *state = r;
    return 0;
}

static int teardown(void **state)
{
    struct rig *r = *state;
    pci_host_free(r->host);
    virtio_pci_free(r->vp);
    bus_destroy(&r->pio);
    bus_destroy(&r->mmio);
    guest_memory_destroy(&r->mem);
    free(r);
    return 0;
}

static uint64_t rd(struct rig *r, uint64_t off, unsigned size)
{
    return bus_read(&r->mmio, r->bar4 + off, size);
}

static void wr(struct rig *r, uint64_t off, unsigned size, uint64_t v)
{
    bus_write(&r->mmio, r->bar4 + off, size, v);
}

static uint8_t status(struct rig *r)
{
    return (uint8_t)rd(r, VIRTIO_PCI_COMMON_STATUS, 1);
}

static uint64_t device_features(struct rig *r)
{
    wr(r, VIRTIO_PCI_COMMON_DFSELECT, 4, 0);
    uint64_t lo = rd(r, VIRTIO_PCI_COMMON_DF, 4);
    wr(r, VIRTIO_PCI_COMMON_DFSELECT, 4, 1);
    return lo | rd(r, VIRTIO_PCI_COMMON_DF, 4) << 32;
}

static void driver_features(struct rig *r, uint64_t f)
{
    wr(r, VIRTIO_PCI_COMMON_GFSELECT, 4, 0);
    wr(r, VIRTIO_PCI_COMMON_GF, 4, (uint32_t)f);
    wr(r, VIRTIO_PCI_COMMON_GFSELECT, 4, 1);
    wr(r, VIRTIO_PCI_COMMON_GF, 4, f >> 32);
}

#define S_ACK VIRTIO_STATUS_ACKNOWLEDGE
#define S_DRV VIRTIO_STATUS_DRIVER
#define S_FOK VIRTIO_STATUS_FEATURES_OK
#define S_DOK VIRTIO_STATUS_DRIVER_OK
#define F_V1  (1ULL << VIRTIO_F_VERSION_1)

/* The driver's side of bring-up (virtio 1.2, 3.1.1) up to FEATURES_OK. */
static void negotiate(struct rig *r, uint64_t f)
{
    wr(r, VIRTIO_PCI_COMMON_STATUS, 1, 0);
    wr(r, VIRTIO_PCI_COMMON_STATUS, 1, S_ACK);
    wr(r, VIRTIO_PCI_COMMON_STATUS, 1, S_ACK | S_DRV);
    driver_features(r, f);
    wr(r, VIRTIO_PCI_COMMON_STATUS, 1, S_ACK | S_DRV | S_FOK);
}

static void setup_queue(struct rig *r, unsigned q, uint16_t vector)
{
    wr(r, VIRTIO_PCI_COMMON_Q_SELECT, 2, q);
    wr(r, VIRTIO_PCI_COMMON_Q_SIZE, 2, QSIZE);
    wr(r, VIRTIO_PCI_COMMON_Q_MSIX, 2, vector);
    uint64_t off = q * 0x4000ULL;
    wr(r, VIRTIO_PCI_COMMON_Q_DESC, 4, (uint32_t)(DESC + off));
    wr(r, VIRTIO_PCI_COMMON_Q_DESC + 4, 4, 0);
    wr(r, VIRTIO_PCI_COMMON_Q_DRIVER, 8, AVAIL + off);
    wr(r, VIRTIO_PCI_COMMON_Q_DEVICE, 4, (uint32_t)(USED + off));
    wr(r, VIRTIO_PCI_COMMON_Q_DEVICE + 4, 4, 0);
    wr(r, VIRTIO_PCI_COMMON_Q_ENABLE, 2, 1);
}

/* One writable buffer on queue 0, made available. */
static void add_buffer(struct rig *r)
{
    uint16_t i = r->avail_idx % QSIZE;
    uint8_t d[16] = {0};
    uint64_t addr = DATA + 0x100 * i;
    uint32_t len = 64;
    uint16_t flags = 2; /* WRITE */
    memcpy(d, &addr, 8);
    memcpy(d + 8, &len, 4);
    memcpy(d + 12, &flags, 2);
    assert_int_equal(guest_memory_write(&r->mem, DESC + 16 * i, d, 16), 0);
    assert_int_equal(guest_memory_write(&r->mem, AVAIL + 4 + 2 * i, &i, 2), 0);
    r->avail_idx++;
    assert_int_equal(guest_memory_write(&r->mem, AVAIL + 2, &r->avail_idx, 2), 0);
}

static uint16_t used_idx(struct rig *r)
{
    uint16_t v;
    assert_int_equal(guest_memory_read(&r->mem, USED + 2, &v, 2), 0);
    return v;
}

static void doorbell(struct rig *r, unsigned q)
{
    wr(r, VIRTIO_PCI_NOTIFY_OFF + VIRTIO_PCI_NOTIFY_MUL * q, 2, q);
}

/* --- tests --- */

static void test_identity_and_capabilities(void **state)
{
    struct rig *r = *state;
    struct pci_device *d = r->pci;
    assert_int_equal(pci_config_read(d, PCI_VENDOR_ID, 2), 0x1af4);
    assert_int_equal(pci_config_read(d, PCI_DEVICE_ID, 2), 0x1044);
    assert_int_equal(pci_config_read(d, PCI_REVISION_ID, 1), 1);
    assert_int_equal(pci_config_read(d, PCI_SUBSYSTEM_VENDOR_ID, 2), 0x1af4);
    assert_int_equal(pci_config_read(d, PCI_SUBSYSTEM_ID, 2), 0x1100);
    assert_int_equal(pci_config_read(d, PCI_REVISION_ID, 4) >> 8, 0x00ff00);
    assert_int_equal(pci_config_read(d, PCI_INTERRUPT_PIN, 1), 1);
    assert_int_equal(pci_config_read(d, PCI_BAR0 + 4 * 4, 4) & 0xf, PCI_BAR_MEM_64);

    /* Walk the list: one of each virtio structure, and MSI-X. */
    unsigned seen[6] = {0}, msix = 0;
    for (unsigned at = pci_config_read(d, PCI_CAPABILITY_LIST, 1); at;
         at = pci_config_read(d, at + 1, 1)) {
        uint8_t id = (uint8_t)pci_config_read(d, at, 1);
        if (id == PCI_CAP_ID_MSIX) {
            msix++;
            assert_int_equal(pci_config_read(d, at + 2, 2) & 0x7ff, 2); /* 3 vectors */
            assert_int_equal(pci_config_read(d, at + 4, 4), VIRTIO_PCI_MSIX_BAR);
            assert_int_equal(pci_config_read(d, at + 8, 4),
                             VIRTIO_PCI_MSIX_PBA | VIRTIO_PCI_MSIX_BAR);
            continue;
        }
        assert_int_equal(id, PCI_CAP_ID_VENDOR);
        uint8_t type = (uint8_t)pci_config_read(d, at + 3, 1);
        uint32_t off = pci_config_read(d, at + 8, 4), len = pci_config_read(d, at + 12, 4);
        assert_in_range(type, 1, 5);
        seen[type]++;
        if (type == VIRTIO_PCI_CAP_PCI_CFG) {
            assert_int_equal(pci_config_read(d, at + 2, 1), 20);
            continue;
        }
        assert_int_equal(pci_config_read(d, at + 4, 1), VIRTIO_PCI_REGS_BAR);
        assert_true(off + len <= VIRTIO_PCI_REGS_SIZE);
        switch (type) {
        case VIRTIO_PCI_CAP_COMMON_CFG:
            assert_int_equal(off, VIRTIO_PCI_COMMON_OFF);
            assert_true(len >= 0x38);
            break;
        case VIRTIO_PCI_CAP_NOTIFY_CFG:
            assert_int_equal(pci_config_read(d, at + 2, 1), 20);
            assert_int_equal(pci_config_read(d, at + 16, 4), VIRTIO_PCI_NOTIFY_MUL);
            assert_true(len >= 2 * VIRTIO_PCI_NOTIFY_MUL);
            break;
        case VIRTIO_PCI_CAP_ISR_CFG:
            assert_true(len >= 1);
            break;
        case VIRTIO_PCI_CAP_DEVICE_CFG:
            assert_int_equal(len, 8);
            break;
        }
    }
    assert_int_equal(msix, 1);
    for (unsigned t = 1; t <= 5; t++)
        assert_int_equal(seen[t], 1);
    assert_int_equal(rd(r, VIRTIO_PCI_COMMON_NUMQ, 2), 2);
}

static void test_feature_negotiation(void **state)
{
    struct rig *r = *state;
    FILE *devnull = fopen("/dev/null", "w");
    log_set_stream(devnull);
    uint64_t f = device_features(r);
    assert_true(f == (1ULL << 0 | 1ULL << 5 | 1ULL << VIRTIO_F_INDIRECT_DESC |
                      1ULL << VIRTIO_F_EVENT_IDX | F_V1)); /* bit 30 filtered */
    wr(r, VIRTIO_PCI_COMMON_DFSELECT, 4, 2);
    assert_int_equal(rd(r, VIRTIO_PCI_COMMON_DF, 4), 0);

    /* Without VERSION_1: FEATURES_OK does not stick. */
    negotiate(r, 1ULL << 5);
    assert_int_equal(status(r), S_ACK | S_DRV);
    /* A feature not offered: refused too. */
    negotiate(r, F_V1 | 1ULL << 7);
    assert_int_equal(status(r), S_ACK | S_DRV);
    negotiate(r, F_V1 | 1ULL << 5);
    assert_int_equal(status(r), S_ACK | S_DRV | S_FOK);
    assert_true(r->vdev->features == (F_V1 | 1ULL << 5));
    /* The driver reads back what it wrote; later writes change nothing. */
    wr(r, VIRTIO_PCI_COMMON_GFSELECT, 4, 1);
    assert_int_equal(rd(r, VIRTIO_PCI_COMMON_GF, 4), 1);
    wr(r, VIRTIO_PCI_COMMON_GFSELECT, 4, 0);
    wr(r, VIRTIO_PCI_COMMON_GF, 4, 1);
    assert_int_equal(rd(r, VIRTIO_PCI_COMMON_GF, 4), 1u << 5);
    assert_true(r->vdev->features == (F_V1 | 1ULL << 5));
    log_set_stream(NULL);
    fclose(devnull);
}

static void test_status_and_reset(void **state)
{
    struct rig *r = *state;
    uint32_t gen = r->vdev->generation;
    unsigned resets = r->fake.resets;
    negotiate(r, F_V1);
    setup_queue(r, 0, 1);
    wr(r, VIRTIO_PCI_COMMON_MSIX, 2, 0);
    wr(r, VIRTIO_PCI_COMMON_STATUS, 1, S_ACK | S_DRV | S_FOK | S_DOK);
    assert_int_equal(status(r), S_ACK | S_DRV | S_FOK | S_DOK);
    assert_int_equal(r->fake.starts, 1);
    wr(r, VIRTIO_PCI_COMMON_STATUS, 1, S_ACK | S_DRV | S_FOK | S_DOK);
    assert_int_equal(r->fake.starts, 1); /* once per start */

    wr(r, VIRTIO_PCI_COMMON_STATUS, 1, 0);
    assert_int_equal(status(r), 0);
    assert_int_equal(r->fake.resets, resets + 2); /* negotiate() resets first too */
    assert_int_equal(r->vdev->generation, gen + 2);
    assert_true(r->vdev->features == 0);
    assert_int_equal(rd(r, VIRTIO_PCI_COMMON_MSIX, 2), VIRTIO_MSI_NO_VECTOR);
    wr(r, VIRTIO_PCI_COMMON_Q_SELECT, 2, 0);
    assert_int_equal(rd(r, VIRTIO_PCI_COMMON_Q_SIZE, 2), QSIZE);
    assert_int_equal(rd(r, VIRTIO_PCI_COMMON_Q_ENABLE, 2), 0);
    assert_int_equal(rd(r, VIRTIO_PCI_COMMON_Q_MSIX, 2), VIRTIO_MSI_NO_VECTOR);
    assert_true(rd(r, VIRTIO_PCI_COMMON_Q_DESC, 8) == 0);
    assert_false(r->vdev->vq[0].ready);
    wr(r, VIRTIO_PCI_COMMON_GFSELECT, 4, 1);
    assert_int_equal(rd(r, VIRTIO_PCI_COMMON_GF, 4), 0);
}

static void test_queue_registers(void **state)
{
    struct rig *r = *state;
    negotiate(r, F_V1 | 1ULL << VIRTIO_F_EVENT_IDX);
    wr(r, VIRTIO_PCI_COMMON_Q_SELECT, 2, 1);
    assert_int_equal(rd(r, VIRTIO_PCI_COMMON_Q_NOFF, 2), 1);
    assert_int_equal(rd(r, VIRTIO_PCI_COMMON_Q_SIZE, 2), QSIZE);
    wr(r, VIRTIO_PCI_COMMON_Q_SIZE, 2, 8);
    assert_int_equal(rd(r, VIRTIO_PCI_COMMON_Q_SIZE, 2), 8);
    wr(r, VIRTIO_PCI_COMMON_Q_SIZE, 2, 6); /* not a power of two */
    wr(r, VIRTIO_PCI_COMMON_Q_SIZE, 2, 2 * QSIZE);
    wr(r, VIRTIO_PCI_COMMON_Q_SIZE, 2, 0);
    assert_int_equal(rd(r, VIRTIO_PCI_COMMON_Q_SIZE, 2), 8);
    wr(r, VIRTIO_PCI_COMMON_Q_MSIX, 2, 2);
    assert_int_equal(rd(r, VIRTIO_PCI_COMMON_Q_MSIX, 2), 2);
    wr(r, VIRTIO_PCI_COMMON_Q_MSIX, 2, 3); /* only 3 vectors */
    assert_int_equal(rd(r, VIRTIO_PCI_COMMON_Q_MSIX, 2), VIRTIO_MSI_NO_VECTOR);
    wr(r, VIRTIO_PCI_COMMON_MSIX, 2, 7);
    assert_int_equal(rd(r, VIRTIO_PCI_COMMON_MSIX, 2), VIRTIO_MSI_NO_VECTOR);
    /* 64-bit addresses as two dwords, or one qword. */
    wr(r, VIRTIO_PCI_COMMON_Q_DESC, 4, 0x11223340);
    wr(r, VIRTIO_PCI_COMMON_Q_DESC + 4, 4, 0x55);
    assert_true(rd(r, VIRTIO_PCI_COMMON_Q_DESC, 8) == 0x5511223340ULL);
    assert_int_equal(rd(r, VIRTIO_PCI_COMMON_Q_DESC + 4, 4), 0x55);

    /* Out-of-range queue: size 0, writes ignored. */
    wr(r, VIRTIO_PCI_COMMON_Q_SELECT, 2, 2);
    assert_int_equal(rd(r, VIRTIO_PCI_COMMON_Q_SIZE, 2), 0);
    wr(r, VIRTIO_PCI_COMMON_Q_ENABLE, 2, 1);
    assert_int_equal(rd(r, VIRTIO_PCI_COMMON_Q_ENABLE, 2), 0);

    /* A good queue: enabled, the virtq set up with the features. */
    setup_queue(r, 0, 0);
    assert_int_equal(rd(r, VIRTIO_PCI_COMMON_Q_ENABLE, 2), 1);
    struct virtq *q = &r->vdev->vq[0];
    assert_true(q->ready && q->event_idx && !q->indirect);
    assert_true(q->desc_gpa == DESC && q->avail_gpa == AVAIL && q->used_gpa == USED);
    /* Once enabled its registers are frozen (the vector is not). */
    wr(r, VIRTIO_PCI_COMMON_Q_SIZE, 2, 4);
    wr(r, VIRTIO_PCI_COMMON_Q_DESC, 8, 0x8000);
    assert_int_equal(rd(r, VIRTIO_PCI_COMMON_Q_SIZE, 2), QSIZE);
    assert_true(q->desc_gpa == DESC);
    wr(r, VIRTIO_PCI_COMMON_Q_MSIX, 2, 1);
    assert_int_equal(rd(r, VIRTIO_PCI_COMMON_Q_MSIX, 2), 1);
    assert_int_equal(status(r) & VIRTIO_STATUS_NEEDS_RESET, 0);
}

static void test_bad_ring_needs_reset(void **state)
{
    struct rig *r = *state;
    FILE *devnull = fopen("/dev/null", "w");
    log_set_stream(devnull);
    negotiate(r, F_V1);
    wr(r, VIRTIO_PCI_COMMON_MSIX, 2, 0);
    wr(r, VIRTIO_PCI_COMMON_STATUS, 1, S_ACK | S_DRV | S_FOK | S_DOK);
    wr(r, VIRTIO_PCI_COMMON_Q_SELECT, 2, 1);
    wr(r, VIRTIO_PCI_COMMON_Q_DESC, 8, 0xd0000000); /* not RAM */
    wr(r, VIRTIO_PCI_COMMON_Q_ENABLE, 2, 1);
    log_set_stream(NULL);
    fclose(devnull);
    assert_int_equal(rd(r, VIRTIO_PCI_COMMON_Q_ENABLE, 2), 0);
    assert_int_equal(status(r), S_ACK | S_DRV | S_FOK | S_DOK | VIRTIO_STATUS_NEEDS_RESET);
    /* The driver hears about it: a configuration interrupt (INTx here). */
    assert_int_equal(r->intx, 1);
    assert_int_equal(rd(r, VIRTIO_PCI_ISR_OFF, 1), VIRTIO_PCI_ISR_CONFIG);
    assert_int_equal(r->intx, 0);
    /* The driver cannot clear it; only a reset does. */
    wr(r, VIRTIO_PCI_COMMON_STATUS, 1, S_ACK | S_DRV | S_FOK | S_DOK);
    assert_true(status(r) & VIRTIO_STATUS_NEEDS_RESET);
    wr(r, VIRTIO_PCI_COMMON_STATUS, 1, 0);
    assert_int_equal(status(r), 0);
}

static void test_doorbells(void **state)
{
    struct rig *r = *state;
    negotiate(r, F_V1);
    setup_queue(r, 0, VIRTIO_MSI_NO_VECTOR);
    add_buffer(r);
    doorbell(r, 0); /* before DRIVER_OK: not yet */
    assert_int_equal(r->fake.notified[0], 0);
    /* DRIVER_OK runs the enabled queues: the buffer is used. */
    wr(r, VIRTIO_PCI_COMMON_STATUS, 1, S_ACK | S_DRV | S_FOK | S_DOK);
    assert_int_equal(r->fake.notified[0], 1);
    assert_int_equal(r->fake.notified[1], 0); /* not enabled */
    assert_int_equal(used_idx(r), 1);
    add_buffer(r);
    doorbell(r, 0);
    assert_int_equal(r->fake.notified[0], 2);
    assert_int_equal(used_idx(r), 2);
    doorbell(r, 1); /* not enabled */
    doorbell(r, 5); /* no such queue */
    wr(r, VIRTIO_PCI_NOTIFY_OFF + 0x100, 4, 0);
    assert_int_equal(r->fake.notified[0] + r->fake.notified[1], 2);
    /* While the device needs a reset, doorbells are ignored. */
    FILE *devnull = fopen("/dev/null", "w");
    log_set_stream(devnull);
    virtio_needs_reset(r->vdev);
    log_set_stream(NULL);
    fclose(devnull);
    doorbell(r, 0);
    assert_int_equal(r->fake.notified[0], 2);
}

/* A fake board taking doorbells off the MMIO path, as kvm's ioeventfd. */
struct fake_board {
    uint64_t bound[2]; /* per queue, 0: not bound */
    unsigned binds, unbinds;
    int fail; /* bind's answer when not 0 */
};

static int fb_bind(void *ctx, struct virtio_pci *vp, unsigned q, uint64_t gpa)
{
    (void)vp;
    struct fake_board *b = ctx;
    assert_true(q < 2);
    assert_int_equal(b->bound[q], 0); /* never bound twice */
    b->binds++;
    if (b->fail)
        return b->fail;
    b->bound[q] = gpa;
    return 0;
}

static void fb_unbind(void *ctx, struct virtio_pci *vp, unsigned q, uint64_t gpa)
{
    (void)vp;
    struct fake_board *b = ctx;
    assert_true(q < 2);
    assert_int_equal(b->bound[q], gpa); /* only what was bound */
    b->bound[q] = 0;
    b->unbinds++;
}

static const struct virtio_pci_doorbell_ops fb_ops = {fb_bind, fb_unbind};

static void test_doorbells_off_the_vcpu_thread(void **state)
{
    struct rig *r = *state;
    struct fake_board b = {0};
    virtio_pci_set_doorbell_ops(r->vp, &fb_ops, &b);
    negotiate(r, F_V1);
    setup_queue(r, 0, VIRTIO_MSI_NO_VECTOR);
    assert_int_equal(b.binds, 0); /* not before DRIVER_OK */
    wr(r, VIRTIO_PCI_COMMON_STATUS, 1, S_ACK | S_DRV | S_FOK | S_DOK);
    uint64_t bell0 = r->bar4 + VIRTIO_PCI_NOTIFY_OFF;
    assert_int_equal(b.bound[0], bell0);
    assert_int_equal(b.bound[1], 0); /* queue 1 is not enabled */
    /* The board rings it: the queue runs, nothing counted as MMIO. */
    add_buffer(r);
    virtio_pci_doorbell(r->vp, 0);
    assert_int_equal(used_idx(r), 1);
    assert_int_equal(virtio_pci_mmio_doorbells(r->vp), 0);
    virtio_pci_doorbell(r->vp, 7); /* no such queue: ignored */

    /* The BAR moves: unbound from the old address, bound at the new one;
     * with decoding off, unbound. */
    uint64_t to = r->bar4 + 0x100000;
    pci_config_write(r->pci, PCI_COMMAND, 2, PCI_COMMAND_MASTER);
    assert_int_equal(b.bound[0], 0);
    pci_config_write(r->pci, PCI_BAR0 + 4 * VIRTIO_PCI_REGS_BAR, 4, (uint32_t)to | PCI_BAR_MEM_64);
    pci_config_write(r->pci, PCI_COMMAND, 2, PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER);
    assert_int_equal(pci_bar_address(r->pci, VIRTIO_PCI_REGS_BAR), to);
    assert_int_equal(b.bound[0], to + VIRTIO_PCI_NOTIFY_OFF);
    assert_int_equal(b.binds, 2);

    /* NEEDS_RESET and reset unbind; a failed bind leaves the MMIO path. */
    FILE *devnull = fopen("/dev/null", "w");
    log_set_stream(devnull);
    virtio_needs_reset(r->vdev);
    log_set_stream(NULL);
    fclose(devnull);
    assert_int_equal(b.bound[0], 0);
    r->bar4 = to;
    negotiate(r, F_V1); /* writes status 0 first */
    assert_int_equal(b.unbinds, 2);
    r->avail_idx = 0;
    setup_queue(r, 0, VIRTIO_MSI_NO_VECTOR);
    b.fail = -ENOSYS;
    wr(r, VIRTIO_PCI_COMMON_STATUS, 1, S_ACK | S_DRV | S_FOK | S_DOK);
    assert_int_equal(b.bound[0], 0);
    add_buffer(r);
    doorbell(r, 0);
    assert_int_equal(used_idx(r), 1);
    assert_int_equal(virtio_pci_mmio_doorbells(r->vp), 1);
    wr(r, VIRTIO_PCI_COMMON_STATUS, 1, 0);
    assert_int_equal(b.bound[0], 0);
}

static void test_intx_and_isr(void **state)
{
    struct rig *r = *state;
    negotiate(r, F_V1);
    setup_queue(r, 0, VIRTIO_MSI_NO_VECTOR);
    wr(r, VIRTIO_PCI_COMMON_STATUS, 1, S_ACK | S_DRV | S_FOK | S_DOK);
    assert_int_equal(r->intx, 0);
    add_buffer(r);
    doorbell(r, 0);
    assert_int_equal(r->intx, 1);
    assert_true(pci_config_read(r->pci, PCI_STATUS, 2) & PCI_STATUS_INTERRUPT);
    /* Reading the ISR returns the cause and lowers the line. */
    assert_int_equal(rd(r, VIRTIO_PCI_ISR_OFF, 1), VIRTIO_PCI_ISR_QUEUE);
    assert_int_equal(r->intx, 0);
    assert_int_equal(rd(r, VIRTIO_PCI_ISR_OFF, 1), 0);
    /* A configuration change: generation moves, ISR bit 1. */
    uint8_t gen = (uint8_t)rd(r, VIRTIO_PCI_COMMON_CFGGEN, 1);
    virtio_config_changed(r->vdev);
    assert_int_equal(rd(r, VIRTIO_PCI_COMMON_CFGGEN, 1), (uint8_t)(gen + 1));
    assert_int_equal(r->intx, 1);
    assert_int_equal(rd(r, VIRTIO_PCI_ISR_OFF, 1), VIRTIO_PCI_ISR_CONFIG);
    /* The driver asked for no interrupts (VIRTQ_AVAIL_F_NO_INTERRUPT). */
    uint16_t no_int = 1;
    assert_int_equal(guest_memory_write(&r->mem, AVAIL, &no_int, 2), 0);
    add_buffer(r);
    doorbell(r, 0);
    assert_int_equal(r->intx, 0);
    assert_int_equal(used_idx(r), 2);
    /* Reset lowers a raised line. */
    virtio_config_changed(r->vdev);
    assert_int_equal(r->intx, 1);
    wr(r, VIRTIO_PCI_COMMON_STATUS, 1, 0);
    assert_int_equal(r->intx, 0);
    assert_int_equal(r->msis, 0);
}

static void msix_vector(struct rig *r, unsigned v, uint32_t data)
{
    bus_write(&r->mmio, r->bar1 + 16 * v, 4, 0xfee00000);
    bus_write(&r->mmio, r->bar1 + 16 * v + 4, 4, 0);
    bus_write(&r->mmio, r->bar1 + 16 * v + 8, 4, data);
    bus_write(&r->mmio, r->bar1 + 16 * v + 12, 4, 0);
}

static void test_msix(void **state)
{
    struct rig *r = *state;
    struct pci_msix *m = r->pci->msix;
    pci_config_write(r->pci, m->cap + 2, 2, PCI_MSIX_FLAGS_ENABLE);
    msix_vector(r, 0, 0x30);
    msix_vector(r, 1, 0x31);
    negotiate(r, F_V1);
    wr(r, VIRTIO_PCI_COMMON_MSIX, 2, 0);
    setup_queue(r, 0, 1);
    wr(r, VIRTIO_PCI_COMMON_STATUS, 1, S_ACK | S_DRV | S_FOK | S_DOK);
    add_buffer(r);
    doorbell(r, 0);
    assert_int_equal(r->msis, 1);
    assert_int_equal(r->msi_data[0], 0x31);
    assert_int_equal(r->intx, 0); /* no INTx with MSI-X on */
    assert_int_equal(rd(r, VIRTIO_PCI_ISR_OFF, 1), 0);
    virtio_config_changed(r->vdev);
    assert_int_equal(r->msis, 2);
    assert_int_equal(r->msi_data[1], 0x30);
    /* NO_VECTOR: no interrupt at all. */
    wr(r, VIRTIO_PCI_COMMON_Q_SELECT, 2, 0);
    wr(r, VIRTIO_PCI_COMMON_Q_MSIX, 2, VIRTIO_MSI_NO_VECTOR);
    add_buffer(r);
    doorbell(r, 0);
    assert_int_equal(r->msis, 2);
    assert_int_equal(used_idx(r), 2);
    assert_int_equal(r->intx, 0);
    /* A masked vector goes pending and fires on unmask. */
    wr(r, VIRTIO_PCI_COMMON_Q_MSIX, 2, 1);
    bus_write(&r->mmio, r->bar1 + 16 + 12, 4, 1);
    add_buffer(r);
    doorbell(r, 0);
    assert_int_equal(r->msis, 2);
    bus_write(&r->mmio, r->bar1 + 16 + 12, 4, 0);
    assert_int_equal(r->msis, 3);
    assert_int_equal(r->msi_data[2], 0x31);
}

static void test_device_config(void **state)
{
    struct rig *r = *state;
    assert_int_equal(rd(r, VIRTIO_PCI_DEVICE_OFF, 4), 0x44434241); /* "ABCD" */
    assert_int_equal(rd(r, VIRTIO_PCI_DEVICE_OFF + 6, 2), 0x4847);
    assert_true(rd(r, VIRTIO_PCI_DEVICE_OFF, 8) == 0x4847464544434241ULL);
    assert_int_equal(rd(r, VIRTIO_PCI_DEVICE_OFF + 6, 4), 0); /* crosses the end */
    assert_int_equal(rd(r, VIRTIO_PCI_DEVICE_OFF + 0x100, 1), 0);
    wr(r, VIRTIO_PCI_DEVICE_OFF + 2, 2, 0x7a79);
    assert_int_equal(r->fake.last_cfg_write_off, 2);
    assert_memory_equal(r->fake.config, "AByzEFGH", 8);
    wr(r, VIRTIO_PCI_DEVICE_OFF + 8, 1, 0x21); /* beyond: dropped */
    assert_memory_equal(r->fake.config, "AByzEFGH", 8);
}

/* cap.bar / offset / length, then pci_cfg_data. */
static void test_pci_cfg_window(void **state)
{
    struct rig *r = *state;
    struct pci_device *d = r->pci;
    unsigned cap = 0;
    for (unsigned at = pci_config_read(d, PCI_CAPABILITY_LIST, 1); at;
         at = pci_config_read(d, at + 1, 1))
        if (pci_config_read(d, at, 1) == PCI_CAP_ID_VENDOR &&
            pci_config_read(d, at + 3, 1) == VIRTIO_PCI_CAP_PCI_CFG)
            cap = at;
    assert_int_not_equal(cap, 0);
    pci_config_write(d, cap + 4, 1, VIRTIO_PCI_REGS_BAR);
    pci_config_write(d, cap + 8, 4, VIRTIO_PCI_COMMON_NUMQ);
    pci_config_write(d, cap + 12, 4, 2);
    assert_int_equal(pci_config_read(d, cap + 16, 2), 2);
    /* Write the status through the window. */
    pci_config_write(d, cap + 8, 4, VIRTIO_PCI_COMMON_STATUS);
    pci_config_write(d, cap + 12, 4, 1);
    pci_config_write(d, cap + 16, 1, S_ACK);
    assert_int_equal(status(r), S_ACK);
    assert_int_equal(pci_config_read(d, cap + 16, 4) & 0xff, S_ACK);
    /* A bad length or BAR: nothing happens, plain bytes read back. */
    pci_config_write(d, cap + 12, 4, 3);
    pci_config_write(d, cap + 16, 1, 0);
    assert_int_equal(status(r), S_ACK);
    pci_config_write(d, cap + 4, 1, 9);
    pci_config_write(d, cap + 12, 4, 1);
    pci_config_write(d, cap + 16, 1, 0);
    assert_int_equal(status(r), S_ACK);
}

static void test_odd_accesses_ignored(void **state)
{
    struct rig *r = *state;
    char *buf = NULL;
    size_t len = 0;
    FILE *log = open_memstream(&buf, &len);
    log_set_stream(log);
    wr(r, VIRTIO_PCI_COMMON_DFSELECT, 1, 1);   /* wrong size */
    wr(r, VIRTIO_PCI_COMMON_NUMQ, 2, 9);       /* read-only */
    wr(r, VIRTIO_PCI_COMMON_STATUS, 2, S_ACK); /* wrong size */
    wr(r, VIRTIO_PCI_COMMON_LEN + 4, 4, 1);    /* past the end */
    assert_int_equal(rd(r, VIRTIO_PCI_COMMON_LEN, 4), 0);
    assert_int_equal(rd(r, 0x800, 4), 0);
    fflush(log);
    log_set_stream(NULL);
    fclose(log);
    assert_int_equal(rd(r, VIRTIO_PCI_COMMON_DFSELECT, 4), 0);
    assert_int_equal(rd(r, VIRTIO_PCI_COMMON_NUMQ, 2), 2);
    assert_int_equal(status(r), 0);
    /* Logged, once. */
    const char *first = strstr(buf, "ignored");
    assert_non_null(first);
    assert_null(strstr(first + 1, "ignored"));
    free(buf);
    /* Byte reads of wider fields work (drivers may do them). */
    assert_int_equal(rd(r, VIRTIO_PCI_COMMON_NUMQ, 1), 2);
}

static void test_bad_ops_refused(void **state)
{
    (void)state;
    struct guest_memory mem = {0};
    struct virtio_device_ops ops = fake_ops;
    FILE *devnull = fopen("/dev/null", "w");
    log_set_stream(devnull);
    ops.nqueues = 0;
    assert_null(virtio_pci_new(&ops, NULL, &mem));
    ops.nqueues = VIRTIO_MAX_QUEUES + 1;
    assert_null(virtio_pci_new(&ops, NULL, &mem));
    ops.nqueues = 1;
    ops.queue_size = 100;
    assert_null(virtio_pci_new(&ops, NULL, &mem));
    ops.queue_size = 2 * VIRTQ_MAX_SIZE;
    assert_null(virtio_pci_new(&ops, NULL, &mem));
    ops.queue_size = 16;
    ops.config_size = 0x2000;
    assert_null(virtio_pci_new(&ops, NULL, &mem));
    log_set_stream(NULL);
    fclose(devnull);
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_identity_and_capabilities),
        T(test_feature_negotiation),
        T(test_status_and_reset),
        T(test_queue_registers),
        T(test_bad_ring_needs_reset),
        T(test_doorbells),
        T(test_doorbells_off_the_vcpu_thread),
        T(test_intx_and_isr),
        T(test_msix),
        T(test_device_config),
        T(test_pci_cfg_window),
        T(test_odd_accesses_ignored),
        cmocka_unit_test(test_bad_ops_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
