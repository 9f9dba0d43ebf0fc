/* virtio-net: frames between the guest's queues and a network backend (see
 * virtio_net.h). Everything here runs with the device lock held. */
#include "hw/virtio/virtio_net.h"

#include <stdlib.h>
#include <string.h>

#include "util/log.h"

struct virtio_net {
    struct virtio_dev *vdev;
    struct net_backend *be;
    uint8_t config[VIRTIO_NET_CONFIG_SIZE];
    struct virtio_net_stats stats;
    /* Large: kept here, not on the stack; receive has its own element, as
     * a transmit can deliver a frame at once (slirp answers ARP inline). */
    struct virtq_elem tx_elem, rx_elem;
    uint8_t frame[NET_MAX_FRAME];
};

static bool net_running(const struct virtio_net *net)
{
    const struct virtio_dev *vdev = net->vdev;
    return vdev && (vdev->status & VIRTIO_STATUS_DRIVER_OK) &&
           !(vdev->status & VIRTIO_STATUS_NEEDS_RESET);
}

/* A frame from the backend into the next receive buffer, or dropped. */
static void net_receive(void *opaque, const uint8_t *frame, size_t len)
{
    struct virtio_net *net = opaque;
    struct virtq *vq = net_running(net) ? &net->vdev->vq[VIRTIO_NET_RXQ] : NULL;
    struct virtq_elem *e = &net->rx_elem;
    int r = vq ? virtq_pop(vq, e) : 0;
    if (r <= 0) {
        net->stats.rx_dropped++;
        if (r < 0)
            virtio_needs_reset(net->vdev);
        return;
    }
    if (e->nout || e->in_bytes < VIRTIO_NET_HDR_SIZE) {
        net->stats.rx_dropped++;
        virtq_push(vq, e, 0);
        virtio_needs_reset(net->vdev);
        return;
    }
    uint32_t written = 0;
    if (len > e->in_bytes - VIRTIO_NET_HDR_SIZE) {
        net->stats.rx_dropped++; /* the chain goes back empty: the driver drops it */
    } else {
        /* No offloads: everything zero but num_buffers (le16 at 10) = 1. */
        uint8_t hdr[VIRTIO_NET_HDR_SIZE] = {[10] = 1};
        iov_from_buf(e->in, e->nin, 0, hdr, sizeof(hdr));
        iov_from_buf(e->in, e->nin, sizeof(hdr), frame, len);
        written = (uint32_t)(sizeof(hdr) + len);
        net->stats.rx_frames++;
        net->stats.rx_bytes += len;
    }
    virtq_push(vq, e, written);
    virtio_notify(net->vdev, VIRTIO_NET_RXQ);
}

/* One transmit chain: false if it was malformed (already returned). */
static bool net_transmit_one(struct virtio_net *net, struct virtq *vq)
{
    struct virtq_elem *e = &net->tx_elem;
    if (e->nin || e->out_bytes < VIRTIO_NET_HDR_SIZE) {
        virtq_push(vq, e, 0);
        return false;
    }
    size_t len = (size_t)(e->out_bytes - VIRTIO_NET_HDR_SIZE);
    if (len > sizeof(net->frame) || len == 0) {
        net->be->tx_dropped++;
        virtq_push(vq, e, 0);
        return true;
    }
    iov_to_buf(e->out, e->nout, VIRTIO_NET_HDR_SIZE, net->frame, len);
    /* Returned before sending: the chain's memory is no longer needed. */
    virtq_push(vq, e, 0);
    net->stats.tx_frames++;
    net->stats.tx_bytes += len;
    net_backend_send(net->be, net->frame, len);
    return true;
}

static void net_transmit(struct virtio_net *net)
{
    struct virtq *vq = &net->vdev->vq[VIRTIO_NET_TXQ];
    bool pushed = false, ok = true;
    int r;
    while (ok && (r = virtq_pop(vq, &net->tx_elem)) > 0) {
        ok = net_transmit_one(net, vq);
        pushed = true;
    }
    if (!ok || r < 0)
        virtio_needs_reset(net->vdev);
    if (pushed)
        virtio_notify(net->vdev, VIRTIO_NET_TXQ);
}

static void net_queue_notify(void *dev, unsigned queue)
{
    struct virtio_net *net = dev;
    /* Receive buffers are used as frames arrive; nothing waits for them. */
    if (queue == VIRTIO_NET_TXQ && net_running(net))
        net_transmit(net);
}

static void net_config_read(void *dev, uint32_t offset, void *buf, unsigned len)
{
    struct virtio_net *net = dev;
    virtio_config_copy(net->config, sizeof(net->config), offset, buf, len);
}

const struct virtio_device_ops virtio_net_ops = {
    .name = "virtio-net",
    .device_id = VIRTIO_ID_NET,
    .features = (1ULL << VIRTIO_NET_F_MAC) | (1ULL << VIRTIO_NET_F_STATUS),
    .nqueues = 2,
    .queue_size = VIRTIO_NET_QUEUE_SIZE,
    .config_size = VIRTIO_NET_CONFIG_SIZE,
    .config_read = net_config_read,
    /* The MAC is writable only with VIRTIO_NET_F_CTRL_MAC_ADDR's legacy
     * rules, which are not offered: every field is read-only. */
    .config_write = NULL,
    .queue_notify = net_queue_notify,
};

struct virtio_net *virtio_net_new(const uint8_t mac[NET_ETH_ALEN], struct net_backend *be)
{
    struct virtio_net *net = calloc(1, sizeof(*net));
    if (!net) {
        log_error("virtio-net: out of memory");
        net_backend_free(be);
        return NULL;
    }
    net->be = be;
    memcpy(net->config + VIRTIO_NET_CFG_MAC, mac, NET_ETH_ALEN);
    net->config[VIRTIO_NET_CFG_STATUS] = VIRTIO_NET_S_LINK_UP;
    net->config[VIRTIO_NET_CFG_MAX_VQ_PAIR] = 1;
    net_backend_set_receiver(be, net_receive, net);
    return net;
}

void virtio_net_free(struct virtio_net *net)
{
    if (!net)
        return;
    net_backend_free(net->be);
    free(net);
}

void virtio_net_attach(struct virtio_net *net, struct virtio_dev *vdev)
{
    net->vdev = vdev;
}

void virtio_net_get_stats(const struct virtio_net *net, struct virtio_net_stats *out)
{
    *out = net->stats;
}
