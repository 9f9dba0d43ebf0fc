/* The modern virtio PCI transport (see virtio_pci.h): capabilities, the
 * common configuration state machine, doorbells and interrupts. */
#include "hw/virtio/virtio_pci.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "hw/pci_msix.h"
#include "util/bytes.h"
#include "util/log.h"

/* Feature bits 24-40 belong to the transport and the queues. */
#define TRANSPORT_FEATURES_MASK (((1ULL << 41) - 1) & ~((1ULL << 24) - 1))
#define TRANSPORT_OFFERED                                                                          \
    (1ULL << VIRTIO_F_VERSION_1 | 1ULL << VIRTIO_F_EVENT_IDX | 1ULL << VIRTIO_F_INDIRECT_DESC)

/* struct virtio_pci_cap: the offsets inside the capability. */
#define CAP_CFG_TYPE          3
#define CAP_BAR               4
#define CAP_OFFSET            8
#define CAP_LENGTH            12
#define CAP_LEN               16
#define CAP_NOTIFY_MULTIPLIER 16 /* notify: one more dword */
#define CAP_PCI_CFG_DATA      16 /* pci_cfg: the data window */

struct virtio_pci {
    struct pci_device pci;
    struct pci_msix msix;
    struct virtio_dev vdev;
    uint64_t offered;
    uint64_t driver_features;
    uint32_t dfselect, gfselect;
    uint16_t msix_config;
    uint16_t queue_select;
    uint16_t queue_vector[VIRTIO_MAX_QUEUES];
    uint8_t config_generation;
    uint8_t isr;
    unsigned pci_cfg; /* offset of the PCI_CFG capability */
    uint8_t logged;   /* VP_LOG_*: each complaint once per device */
    /* Doorbells the board took off the MMIO path (0: not bound). */
    const struct virtio_pci_doorbell_ops *db_ops;
    void *db_ctx;
    uint64_t db_gpa[VIRTIO_MAX_QUEUES];
    uint64_t doorbells_mmio; /* rung through vp_bar_write */
};

enum { VP_LOG_ACCESS = 1, VP_LOG_FEATURES = 2, VP_LOG_LEGACY = 4, VP_LOG_BROKEN = 8 };

/* Guests can repeat their mistakes: say each once. */
static bool vp_first(struct virtio_pci *vp, uint8_t what)
{
    bool first = !(vp->logged & what);
    vp->logged |= what;
    return first;
}

static struct virtio_pci *vp_of(struct virtio_dev *vdev)
{
    return vdev->transport;
}

/* --- doorbells off the vCPU thread --- */

/* Bind each live queue's doorbell where the BAR now is; unbind the rest.
 * Called after anything that changes what is live or where. */
static void vp_update_doorbells(struct virtio_pci *vp)
{
    if (!vp->db_ops)
        return;
    struct virtio_dev *vdev = &vp->vdev;
    uint64_t bar = pci_bar_address(&vp->pci, VIRTIO_PCI_REGS_BAR);
    bool live = bar && (vdev->status & (VIRTIO_STATUS_DRIVER_OK | VIRTIO_STATUS_NEEDS_RESET)) ==
                           VIRTIO_STATUS_DRIVER_OK;
    for (unsigned q = 0; q < vdev->ops->nqueues; q++) {
        uint64_t want = live && vdev->vq[q].ready
                            ? bar + VIRTIO_PCI_NOTIFY_OFF + (uint64_t)q * VIRTIO_PCI_NOTIFY_MUL
                            : 0;
        if (vp->db_gpa[q] == want)
            continue;
        if (vp->db_gpa[q])
            vp->db_ops->unbind(vp->db_ctx, vp, q, vp->db_gpa[q]);
        vp->db_gpa[q] = 0;
        if (want && vp->db_ops->bind(vp->db_ctx, vp, q, want) == 0)
            vp->db_gpa[q] = want;
    }
}

/* --- interrupts --- */

static void vp_interrupt(struct virtio_pci *vp, uint16_t vector, uint8_t isr_bit)
{
    if (pci_msix_notify(&vp->msix, vector == VIRTIO_MSI_NO_VECTOR ? ~0u : vector))
        return; /* MSI-X is on: sent, pending, or no vector wanted */
    vp->isr |= isr_bit;
    pci_device_set_intx(&vp->pci, true);
}

static void vp_notify(struct virtio_dev *vdev, unsigned q)
{
    struct virtio_pci *vp = vp_of(vdev);
    if (q < vdev->ops->nqueues && virtq_should_notify(&vdev->vq[q]))
        vp_interrupt(vp, vp->queue_vector[q], VIRTIO_PCI_ISR_QUEUE);
}

static void vp_config_changed(struct virtio_dev *vdev)
{
    struct virtio_pci *vp = vp_of(vdev);
    vp->config_generation++;
    if (vdev->status & VIRTIO_STATUS_DRIVER_OK)
        vp_interrupt(vp, vp->msix_config, VIRTIO_PCI_ISR_CONFIG);
}

static void vp_needs_reset(struct virtio_dev *vdev)
{
    struct virtio_pci *vp = vp_of(vdev);
    if (vdev->status & VIRTIO_STATUS_NEEDS_RESET)
        return;
    if (vp_first(vp, VP_LOG_BROKEN))
        log_warn("%s: the driver broke the protocol: device needs a reset", vdev->ops->name);
    vdev->status |= VIRTIO_STATUS_NEEDS_RESET;
    vp_update_doorbells(vp);
    if (vdev->status & VIRTIO_STATUS_DRIVER_OK)
        vp_interrupt(vp, vp->msix_config, VIRTIO_PCI_ISR_CONFIG);
}

/* --- status, features, reset --- */

static void vp_reset_state(struct virtio_pci *vp)
{
    struct virtio_dev *vdev = &vp->vdev;
    for (unsigned q = 0; q < vdev->ops->nqueues; q++) {
        virtq_reset(&vdev->vq[q]);
        vdev->vq[q].size = vdev->ops->queue_size;
        vp->queue_vector[q] = VIRTIO_MSI_NO_VECTOR;
    }
    vdev->features = 0;
    vdev->status = 0;
    vdev->generation++;
    vp->driver_features = 0;
    vp->dfselect = vp->gfselect = 0;
    vp->queue_select = 0;
    vp->msix_config = VIRTIO_MSI_NO_VECTOR;
    vp->isr = 0;
    pci_device_set_intx(&vp->pci, false);
    vp_update_doorbells(vp);
}

static bool vp_negotiate(struct virtio_pci *vp)
{
    uint64_t f = vp->driver_features;
    if (f & ~vp->offered) {
        if (vp_first(vp, VP_LOG_FEATURES))
            log_warn("%s: driver accepted features %#llx that were not offered", vp->vdev.ops->name,
                     (unsigned long long)(f & ~vp->offered));
        return false;
    }
    if (!(f >> VIRTIO_F_VERSION_1 & 1)) {
        if (vp_first(vp, VP_LOG_LEGACY))
            log_warn("%s: driver without VIRTIO_F_VERSION_1: legacy drivers are not supported",
                     vp->vdev.ops->name);
        return false;
    }
    vp->vdev.features = f;
    return true;
}

/* Run every enabled queue, for buffers made available before DRIVER_OK. */
static void vp_kick_all(struct virtio_pci *vp)
{
    struct virtio_dev *vdev = &vp->vdev;
    for (unsigned q = 0; q < vdev->ops->nqueues; q++)
        if (vdev->vq[q].ready && vdev->ops->queue_notify)
            vdev->ops->queue_notify(vdev->dev, q);
}

static void vp_write_status(struct virtio_pci *vp, uint8_t v)
{
    struct virtio_dev *vdev = &vp->vdev;
    if (v == 0) {
        if (vdev->ops->reset)
            vdev->ops->reset(vdev->dev);
        vp_reset_state(vp);
        return;
    }
    uint8_t old = vdev->status;
    if ((v & VIRTIO_STATUS_FEATURES_OK) && !(old & VIRTIO_STATUS_FEATURES_OK) && !vp_negotiate(vp))
        v &= (uint8_t)~VIRTIO_STATUS_FEATURES_OK;
    vdev->status = (uint8_t)((v & ~VIRTIO_STATUS_NEEDS_RESET) | (old & VIRTIO_STATUS_NEEDS_RESET));
    if ((v & VIRTIO_STATUS_DRIVER_OK) && !(old & VIRTIO_STATUS_DRIVER_OK)) {
        if (vdev->ops->started)
            vdev->ops->started(vdev->dev);
        vp_update_doorbells(vp);
        vp_kick_all(vp);
    }
}

/* --- the common configuration --- */

static struct virtq *vp_selected(struct virtio_pci *vp)
{
    return vp->queue_select < vp->vdev.ops->nqueues ? &vp->vdev.vq[vp->queue_select] : NULL;
}

static uint16_t vp_valid_vector(const struct virtio_pci *vp, uint16_t v)
{
    return v < vp->msix.nvectors ? v : VIRTIO_MSI_NO_VECTOR;
}

static void vp_common_image(struct virtio_pci *vp, uint8_t img[VIRTIO_PCI_COMMON_LEN])
{
    struct virtio_dev *vdev = &vp->vdev;
    memset(img, 0, VIRTIO_PCI_COMMON_LEN);
    put_le32(img + VIRTIO_PCI_COMMON_DFSELECT, vp->dfselect);
    put_le32(img + VIRTIO_PCI_COMMON_DF,
             vp->dfselect < 2 ? (uint32_t)(vp->offered >> (32 * vp->dfselect)) : 0);
    put_le32(img + VIRTIO_PCI_COMMON_GFSELECT, vp->gfselect);
    put_le32(img + VIRTIO_PCI_COMMON_GF,
             vp->gfselect < 2 ? (uint32_t)(vp->driver_features >> (32 * vp->gfselect)) : 0);
    put_le16(img + VIRTIO_PCI_COMMON_MSIX, vp->msix_config);
    put_le16(img + VIRTIO_PCI_COMMON_NUMQ, (uint16_t)vdev->ops->nqueues);
    img[VIRTIO_PCI_COMMON_STATUS] = vdev->status;
    img[VIRTIO_PCI_COMMON_CFGGEN] = vp->config_generation;
    put_le16(img + VIRTIO_PCI_COMMON_Q_SELECT, vp->queue_select);
    const struct virtq *q = vp_selected(vp);
    if (!q)
        return; /* queue_size 0: no such queue */
    put_le16(img + VIRTIO_PCI_COMMON_Q_SIZE, q->size);
    put_le16(img + VIRTIO_PCI_COMMON_Q_MSIX, vp->queue_vector[vp->queue_select]);
    put_le16(img + VIRTIO_PCI_COMMON_Q_ENABLE, q->ready);
    put_le16(img + VIRTIO_PCI_COMMON_Q_NOFF, vp->queue_select);
    put_le64(img + VIRTIO_PCI_COMMON_Q_DESC, q->desc_gpa);
    put_le64(img + VIRTIO_PCI_COMMON_Q_DRIVER, q->avail_gpa);
    put_le64(img + VIRTIO_PCI_COMMON_Q_DEVICE, q->used_gpa);
}

static uint64_t vp_common_read(struct virtio_pci *vp, uint64_t off, unsigned size)
{
    uint8_t img[VIRTIO_PCI_COMMON_LEN];
    if (off + size > VIRTIO_PCI_COMMON_LEN)
        return 0;
    vp_common_image(vp, img);
    uint64_t v = 0;
    memcpy(&v, img + off, size);
    return v;
}

static void vp_set_half(uint64_t *v, unsigned half, uint32_t value)
{
    unsigned shift = 32 * half;
    *v = (*v & ~(0xffffffffULL << shift)) | (uint64_t)value << shift;
}

static void vp_queue_enable(struct virtio_pci *vp, struct virtq *q)
{
    q->event_idx = virtio_has_feature(&vp->vdev, VIRTIO_F_EVENT_IDX);
    q->indirect = virtio_has_feature(&vp->vdev, VIRTIO_F_INDIRECT_DESC);
    if (virtq_setup(q) < 0) {
        vp_needs_reset(&vp->vdev);
        return;
    }
    q->ready = true;
    vp_update_doorbells(vp);
}

/* queue_desc, queue_driver, queue_device: the virtq's ring addresses. */
static uint64_t *vp_ring_address(struct virtq *q, uint64_t field)
{
    if (field == VIRTIO_PCI_COMMON_Q_DESC)
        return &q->desc_gpa;
    return field == VIRTIO_PCI_COMMON_Q_DRIVER ? &q->avail_gpa : &q->used_gpa;
}

/* A write to the selected queue's registers: its vector at any time, the
 * rest only while it is disabled. */
static bool vp_queue_write(struct virtio_pci *vp, uint64_t off, unsigned size, uint64_t v)
{
    struct virtq *q = vp_selected(vp);
    if (q && off == VIRTIO_PCI_COMMON_Q_MSIX && size == 2) {
        vp->queue_vector[vp->queue_select] = vp_valid_vector(vp, (uint16_t)v);
        return true;
    }
    if (!q || q->ready)
        return true; /* ignored, as the spec allows */
    if (off >= VIRTIO_PCI_COMMON_Q_DESC && (size == 8 || size == 4)) {
        uint64_t *addr = vp_ring_address(q, off & ~7ULL);
        if (size == 8 && !(off & 7))
            *addr = v;
        else if (size == 4)
            vp_set_half(addr, (off & 4) != 0, (uint32_t)v);
        else
            return false;
        return true;
    }
    if (size != 2)
        return false;
    switch (off) {
    case VIRTIO_PCI_COMMON_Q_SIZE:
        if (v && !(v & (v - 1)) && v <= vp->vdev.ops->queue_size)
            q->size = (uint16_t)v;
        return true;
    case VIRTIO_PCI_COMMON_Q_ENABLE:
        if (v == 1)
            vp_queue_enable(vp, q);
        return true;
    default:
        return false;
    }
}

static bool vp_common_write_field(struct virtio_pci *vp, uint64_t off, unsigned size, uint64_t v)
{
    if (off >= VIRTIO_PCI_COMMON_Q_SIZE && off != VIRTIO_PCI_COMMON_Q_NOFF)
        return vp_queue_write(vp, off, size, v);
    switch (off | (uint64_t)size << 8) {
    case VIRTIO_PCI_COMMON_DFSELECT | 4 << 8:
        vp->dfselect = (uint32_t)v;
        return true;
    case VIRTIO_PCI_COMMON_GFSELECT | 4 << 8:
        vp->gfselect = (uint32_t)v;
        return true;
    case VIRTIO_PCI_COMMON_GF | 4 << 8:
        if (vp->gfselect < 2 && !(vp->vdev.status & VIRTIO_STATUS_FEATURES_OK))
            vp_set_half(&vp->driver_features, vp->gfselect, (uint32_t)v);
        return true;
    case VIRTIO_PCI_COMMON_MSIX | 2 << 8:
        vp->msix_config = vp_valid_vector(vp, (uint16_t)v);
        return true;
    case VIRTIO_PCI_COMMON_STATUS | 1 << 8:
        vp_write_status(vp, (uint8_t)v);
        return true;
    case VIRTIO_PCI_COMMON_Q_SELECT | 2 << 8:
        vp->queue_select = (uint16_t)v;
        return true;
    default:
        return false; /* read-only fields, wrong sizes */
    }
}

static void vp_common_write(struct virtio_pci *vp, uint64_t off, unsigned size, uint64_t v)
{
    if (off + size <= VIRTIO_PCI_COMMON_LEN && vp_common_write_field(vp, off, size, v))
        return;
    if (vp_first(vp, VP_LOG_ACCESS))
        log_warn("%s: ignored a %u-byte write at common config offset %#llx", vp->vdev.ops->name,
                 size, (unsigned long long)off);
}

/* --- the register BAR --- */

static uint64_t vp_device_cfg_read(struct virtio_pci *vp, uint64_t off, unsigned size)
{
    const struct virtio_device_ops *ops = vp->vdev.ops;
    uint8_t buf[8] = {0};
    if (off + size > ops->config_size || !ops->config_read || size > sizeof(buf))
        return 0;
    ops->config_read(vp->vdev.dev, (uint32_t)off, buf, size);
    return get_le64(buf);
}

static void vp_device_cfg_write(struct virtio_pci *vp, uint64_t off, unsigned size, uint64_t v)
{
    const struct virtio_device_ops *ops = vp->vdev.ops;
    uint8_t buf[8];
    if (off + size > ops->config_size || !ops->config_write || size > sizeof(buf))
        return;
    put_le64(buf, v);
    ops->config_write(vp->vdev.dev, (uint32_t)off, buf, size);
}

void virtio_pci_doorbell(struct virtio_pci *vp, unsigned q)
{
    struct virtio_dev *vdev = &vp->vdev;
    if (q >= vdev->ops->nqueues || !vdev->vq[q].ready || !vdev->ops->queue_notify ||
        (vdev->status & (VIRTIO_STATUS_DRIVER_OK | VIRTIO_STATUS_NEEDS_RESET)) !=
            VIRTIO_STATUS_DRIVER_OK)
        return;
    vdev->ops->queue_notify(vdev->dev, q);
}

static uint64_t vp_bar_read(void *opaque, uint64_t off, unsigned size)
{
    struct virtio_pci *vp = opaque;
    if (off < VIRTIO_PCI_ISR_OFF)
        return vp_common_read(vp, off - VIRTIO_PCI_COMMON_OFF, size);
    if (off == VIRTIO_PCI_ISR_OFF) {
        uint8_t isr = vp->isr;
        vp->isr = 0;
        pci_device_set_intx(&vp->pci, false);
        return isr;
    }
    if (off >= VIRTIO_PCI_DEVICE_OFF && off < VIRTIO_PCI_NOTIFY_OFF)
        return vp_device_cfg_read(vp, off - VIRTIO_PCI_DEVICE_OFF, size);
    return 0;
}

static void vp_bar_write(void *opaque, uint64_t off, unsigned size, uint64_t value)
{
    struct virtio_pci *vp = opaque;
    if (off < VIRTIO_PCI_ISR_OFF)
        vp_common_write(vp, off - VIRTIO_PCI_COMMON_OFF, size, value);
    else if (off >= VIRTIO_PCI_DEVICE_OFF && off < VIRTIO_PCI_NOTIFY_OFF)
        vp_device_cfg_write(vp, off - VIRTIO_PCI_DEVICE_OFF, size, value);
    else if (off >= VIRTIO_PCI_NOTIFY_OFF) {
        vp->doorbells_mmio++;
        virtio_pci_doorbell(vp, (unsigned)((off - VIRTIO_PCI_NOTIFY_OFF) / VIRTIO_PCI_NOTIFY_MUL));
    }
}

static const struct bus_ops vp_bar_ops = {vp_bar_read, vp_bar_write};

/* --- the PCI_CFG window: BAR accesses through configuration space --- */

/* The access cap.bar/offset/length describe, if it is one we can do. */
static const struct pci_bar *vp_window(struct virtio_pci *vp, uint32_t *off, unsigned *len)
{
    const uint8_t *cap = vp->pci.config + vp->pci_cfg;
    uint8_t bar = cap[CAP_BAR];
    *off = get_le32(cap + CAP_OFFSET);
    *len = get_le32(cap + CAP_LENGTH);
    if (bar >= PCI_NUM_BARS || vp->pci.bar[bar].type == PCI_BAR_NONE ||
        (*len != 1 && *len != 2 && *len != 4) || (*off & (*len - 1)) ||
        *off + *len > vp->pci.bar[bar].size)
        return NULL;
    return &vp->pci.bar[bar];
}

static bool vp_touches_window(const struct virtio_pci *vp, unsigned off, unsigned size)
{
    unsigned data = vp->pci_cfg + CAP_PCI_CFG_DATA;
    return off < data + 4 && data < off + size;
}

static uint32_t vp_config_read(struct pci_device *d, unsigned off, unsigned size, uint32_t value)
{
    struct virtio_pci *vp = d->opaque;
    uint32_t boff;
    unsigned len;
    const struct pci_bar *b;
    if (!vp_touches_window(vp, off, size) || !(b = vp_window(vp, &boff, &len)))
        return value;
    uint8_t *data = d->config + vp->pci_cfg + CAP_PCI_CFG_DATA;
    put_le32(data, (uint32_t)b->ops->read(b->opaque, boff, len));
    uint32_t v = 0;
    for (unsigned i = 0; i < size; i++)
        v |= (uint32_t)d->config[off + i] << (8 * i);
    return v;
}

static void vp_config_write(struct pci_device *d, unsigned off, unsigned size, uint32_t value)
{
    (void)value;
    struct virtio_pci *vp = d->opaque;
    uint32_t boff;
    unsigned len;
    const struct pci_bar *b;
    vp_update_doorbells(vp); /* the BAR may have moved, or decoding changed */
    if (!vp_touches_window(vp, off, size) || !(b = vp_window(vp, &boff, &len)))
        return;
    uint32_t data = get_le32(d->config + vp->pci_cfg + CAP_PCI_CFG_DATA);
    b->ops->write(b->opaque, boff, len, data & (uint32_t)bus_all_ones(len));
}

/* --- building the function --- */

static uint32_t vp_class(uint16_t device_id)
{
    switch (device_id) {
    case VIRTIO_ID_NET:
        return 0x020000; /* network, ethernet */
    case VIRTIO_ID_BLOCK:
        return 0x010000; /* mass storage, SCSI (as QEMU) */
    case VIRTIO_ID_CONSOLE:
        return 0x078000; /* communication, other */
    default:
        return 0x00ff00; /* unclassified */
    }
}

static int vp_add_cap(struct virtio_pci *vp, uint8_t type, unsigned len, uint32_t off,
                      uint32_t length)
{
    int at = pci_device_add_cap(&vp->pci, PCI_CAP_ID_VENDOR, len);
    if (at < 0)
        return at;
    uint8_t *cap = vp->pci.config + at;
    cap[2] = (uint8_t)len;
    cap[CAP_CFG_TYPE] = type;
    cap[CAP_BAR] = type == VIRTIO_PCI_CAP_PCI_CFG ? 0 : VIRTIO_PCI_REGS_BAR;
    put_le32(cap + CAP_OFFSET, off);
    put_le32(cap + CAP_LENGTH, length);
    return at;
}

static int vp_build(struct virtio_pci *vp)
{
    const struct virtio_device_ops *ops = vp->vdev.ops;
    const struct pci_id id = {
        .vendor = VIRTIO_PCI_VENDOR,
        .device = (uint16_t)(VIRTIO_PCI_DEVICE_BASE + ops->device_id),
        .revision = 1,
        .class_code = vp_class(ops->device_id),
        .subsystem_vendor = VIRTIO_PCI_VENDOR,
        .subsystem = VIRTIO_PCI_SUBSYSTEM,
        .intx = true,
    };
    pci_device_init(&vp->pci, ops->name, &id);
    vp->pci.opaque = vp;
    vp->pci.config_read = vp_config_read;
    vp->pci.config_write = vp_config_write;
    int r = pci_device_add_bar(&vp->pci, VIRTIO_PCI_MSIX_BAR, PCI_BAR_MEM32, VIRTIO_PCI_MSIX_SIZE,
                               &pci_msix_bar_ops, &vp->msix);
    if (r == 0)
        r = pci_device_add_bar(&vp->pci, VIRTIO_PCI_REGS_BAR, PCI_BAR_MEM64, VIRTIO_PCI_REGS_SIZE,
                               &vp_bar_ops, vp);
    if (r == 0)
        r = pci_msix_init(&vp->msix, &vp->pci, ops->nqueues + 1, VIRTIO_PCI_MSIX_BAR, 0,
                          VIRTIO_PCI_MSIX_PBA);
    if (r == 0)
        r = vp_add_cap(vp, VIRTIO_PCI_CAP_COMMON_CFG, CAP_LEN, VIRTIO_PCI_COMMON_OFF,
                       VIRTIO_PCI_COMMON_LEN);
    if (r >= 0)
        r = vp_add_cap(vp, VIRTIO_PCI_CAP_ISR_CFG, CAP_LEN, VIRTIO_PCI_ISR_OFF, 1);
    if (r >= 0 && ops->config_size)
        r = vp_add_cap(vp, VIRTIO_PCI_CAP_DEVICE_CFG, CAP_LEN, VIRTIO_PCI_DEVICE_OFF,
                       ops->config_size);
    if (r >= 0)
        r = vp_add_cap(vp, VIRTIO_PCI_CAP_NOTIFY_CFG, CAP_LEN + 4, VIRTIO_PCI_NOTIFY_OFF,
                       ops->nqueues * VIRTIO_PCI_NOTIFY_MUL);
    if (r >= 0)
        put_le32(vp->pci.config + r + CAP_NOTIFY_MULTIPLIER, VIRTIO_PCI_NOTIFY_MUL);
    if (r >= 0)
        r = vp_add_cap(vp, VIRTIO_PCI_CAP_PCI_CFG, CAP_LEN + 4, 0, 0);
    if (r < 0)
        return r;
    vp->pci_cfg = (unsigned)r;
    /* The driver programs bar, offset, length and the data window. */
    vp->pci.wmask[r + CAP_BAR] = 0xff;
    memset(vp->pci.wmask + r + CAP_OFFSET, 0xff, 8 + 4);
    return 0;
}

static bool vp_ops_ok(const struct virtio_device_ops *ops)
{
    const char *why = NULL;
    if (ops->nqueues == 0 || ops->nqueues > VIRTIO_MAX_QUEUES)
        why = "queue count";
    else if (!ops->queue_size || (ops->queue_size & (ops->queue_size - 1)) ||
             ops->queue_size > VIRTQ_MAX_SIZE)
        why = "queue size";
    else if (ops->config_size > VIRTIO_PCI_DEVICE_MAX)
        why = "config space size";
    if (why)
        log_error("virtio-pci: %s: unsupported %s", ops->name, why);
    return !why;
}

struct virtio_pci *virtio_pci_new(const struct virtio_device_ops *ops, void *dev,
                                  const struct guest_memory *mem)
{
    if (!vp_ops_ok(ops))
        return NULL;
    struct virtio_pci *vp = calloc(1, sizeof(*vp));
    if (!vp) {
        log_error("virtio-pci: out of memory");
        return NULL;
    }
    struct virtio_dev *vdev = &vp->vdev;
    vdev->ops = ops;
    vdev->dev = dev;
    vdev->mem = mem;
    vdev->notify = vp_notify;
    vdev->config_changed = vp_config_changed;
    vdev->needs_reset = vp_needs_reset;
    vdev->transport = vp;
    for (unsigned q = 0; q < ops->nqueues; q++) {
        vdev->vq[q].mem = mem;
        vdev->vq[q].index = q;
        vdev->vq[q].name = ops->name;
    }
    vp->offered = (ops->features & ~TRANSPORT_FEATURES_MASK) | TRANSPORT_OFFERED;
    if (vp_build(vp) < 0) {
        log_error("virtio-pci: %s: its capabilities do not fit", ops->name);
        free(vp);
        return NULL;
    }
    vp_reset_state(vp);
    vdev->generation = 0;
    return vp;
}

void virtio_pci_free(struct virtio_pci *vp)
{
    free(vp);
}

struct pci_device *virtio_pci_device(struct virtio_pci *vp)
{
    return &vp->pci;
}

struct virtio_dev *virtio_pci_vdev(struct virtio_pci *vp)
{
    return &vp->vdev;
}

void virtio_pci_set_doorbell_ops(struct virtio_pci *vp, const struct virtio_pci_doorbell_ops *ops,
                                 void *ctx)
{
    vp->db_ops = ops;
    vp->db_ctx = ctx;
}

uint64_t virtio_pci_mmio_doorbells(const struct virtio_pci *vp)
{
    return vp->doorbells_mmio;
}
