/* Virtio devices and their transport (virtio 1.x).
 *
 * A device model (virtio-blk, -net, -console, -rng) knows nothing of PCI:
 * it describes itself with a struct virtio_device_ops and talks to its
 * transport through the struct virtio_dev it is given. The transport
 * (virtio_pci.c: the modern PCI transport with MSI-X) owns the device
 * status, feature negotiation, the queues' configuration and the
 * interrupts.
 *
 * Features: the device offers its device-specific bits (0-23) in
 * `features`; the transport adds VIRTIO_F_VERSION_1, VIRTIO_F_EVENT_IDX and
 * VIRTIO_F_INDIRECT_DESC (and refuses FEATURES_OK without VERSION_1).
 *
 * Calls into the device (all with the board's device lock held):
 *   queue_notify(dev, q)  the driver kicked queue q (the device pops with
 *                         virtq_pop, pushes with virtq_push, then calls
 *                         virtio_notify(vdev, q));
 *   config_read/_write    the device-specific configuration space;
 *   reset(dev)            the driver wrote status 0 (or a failed start):
 *                         drop in-flight state (requests still running on
 *                         worker threads must complete without touching the
 *                         queues afterwards: the transport bumps
 *                         vdev->generation on reset, compare it);
 *   started(dev)          DRIVER_OK was set (may be NULL).
 * Calls from the device into the transport (device lock held):
 *   virtio_notify(vdev, q)      used buffers on q: interrupt if the queue
 *                               wants one (virtq_should_notify);
 *   virtio_config_changed(vdev) the config space changed;
 *   virtio_needs_reset(vdev)    the driver broke the rules (a malformed
 *                               chain): DEVICE_NEEDS_RESET, config interrupt.
 */
#ifndef XUNI_HW_VIRTIO_VIRTIO_H
#define XUNI_HW_VIRTIO_VIRTIO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "hw/virtio/virtq.h"

#define VIRTIO_ID_NET     1
#define VIRTIO_ID_BLOCK   2
#define VIRTIO_ID_CONSOLE 3
#define VIRTIO_ID_RNG     4

#define VIRTIO_F_INDIRECT_DESC 28
#define VIRTIO_F_EVENT_IDX     29
#define VIRTIO_F_VERSION_1     32

#define VIRTIO_STATUS_ACKNOWLEDGE 1
#define VIRTIO_STATUS_DRIVER      2
#define VIRTIO_STATUS_DRIVER_OK   4
#define VIRTIO_STATUS_FEATURES_OK 8
#define VIRTIO_STATUS_NEEDS_RESET 64
#define VIRTIO_STATUS_FAILED      128

#define VIRTIO_MAX_QUEUES 8

struct virtio_dev;

struct virtio_device_ops {
    const char *name; /* "virtio-blk", for messages */
    uint16_t device_id;
    uint64_t features; /* device-specific bits offered */
    unsigned nqueues;
    uint16_t queue_size; /* the maximum the device offers for each queue */
    uint32_t config_size;
    void (*config_read)(void *dev, uint32_t offset, void *buf, unsigned len);
    /* NULL: every field is read-only (writes are ignored). */
    void (*config_write)(void *dev, uint32_t offset, const void *buf, unsigned len);
    void (*queue_notify)(void *dev, unsigned queue);
    void (*reset)(void *dev);
    void (*started)(void *dev);
};

/* What a device sees of its transport. */
struct virtio_dev {
    const struct virtio_device_ops *ops;
    void *dev; /* the device model, passed to ops */
    const struct guest_memory *mem;
    struct virtq vq[VIRTIO_MAX_QUEUES];
    uint64_t features; /* negotiated (valid once FEATURES_OK) */
    uint8_t status;
    uint32_t generation; /* bumped on every reset */
    /* Set by the transport. */
    void (*notify)(struct virtio_dev *vdev, unsigned queue);
    void (*config_changed)(struct virtio_dev *vdev);
    void (*needs_reset)(struct virtio_dev *vdev);
    void *transport;
};

/* config_read for a device whose configuration space is the image
 * config[size]: bytes past its end read as 0. */
static inline void virtio_config_copy(const uint8_t *config, size_t size, uint32_t offset,
                                      void *buf, unsigned len)
{
    memset(buf, 0, len);
    if (offset < size)
        memcpy(buf, config + offset, len < size - offset ? len : size - offset);
}

static inline bool virtio_has_feature(const struct virtio_dev *vdev, unsigned bit)
{
    return (vdev->features >> bit) & 1;
}

static inline void virtio_notify(struct virtio_dev *vdev, unsigned queue)
{
    vdev->notify(vdev, queue);
}

static inline void virtio_config_changed(struct virtio_dev *vdev)
{
    vdev->config_changed(vdev);
}

static inline void virtio_needs_reset(struct virtio_dev *vdev)
{
    vdev->needs_reset(vdev);
}

#endif
