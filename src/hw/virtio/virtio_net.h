/* virtio-net (virtio 1.2, section 5.1): an Ethernet NIC on a network
 * backend (backend/net.h).
 *
 * Queue 0 receives, queue 1 transmits (one pair, no control queue).
 * Features offered: MAC (the address in the configuration space) and
 * STATUS (the link is always up). No offloads: the guest checksums and
 * segments everything itself, so every frame carries a 12-byte
 * struct virtio_net_hdr (VERSION_1 layout, num_buffers included) with all
 * fields zero but num_buffers = 1, and every receive buffer chain holds a
 * whole frame (no MRG_RXBUF).
 *
 * Transmit: each chain is the header then the frame, readable only; the
 * header is stripped and the frame goes to the backend. Receive: a frame
 * from the backend goes into the next writable chain behind a fresh
 * header. Frames arriving while the driver is not running, or with no
 * receive buffer posted, are dropped and counted (as a wire would); a frame
 * bigger than the chain is dropped and the chain returned empty.
 *
 * Malformed chains (what virtq_pop refuses; a transmit chain shorter than
 * the header or with writable parts; a receive chain with readable parts or
 * no room for the header) put the device into DEVICE_NEEDS_RESET.
 */
#ifndef XUNI_HW_VIRTIO_VIRTIO_NET_H
#define XUNI_HW_VIRTIO_VIRTIO_NET_H

#include "backend/net.h"
#include "hw/virtio/virtio.h"

#define VIRTIO_NET_F_MAC       5
#define VIRTIO_NET_F_MRG_RXBUF 15
#define VIRTIO_NET_F_STATUS    16

#define VIRTIO_NET_S_LINK_UP 1

#define VIRTIO_NET_HDR_SIZE                                                                        \
    12 /* flags, gso_type, hdr_len, gso_size, csum_start,                                          \
          csum_offset, num_buffers */
#define VIRTIO_NET_QUEUE_SIZE 256
#define VIRTIO_NET_RXQ        0
#define VIRTIO_NET_TXQ        1

/* Configuration space (struct virtio_net_config, up to mtu). */
#define VIRTIO_NET_CFG_MAC         0
#define VIRTIO_NET_CFG_STATUS      6
#define VIRTIO_NET_CFG_MAX_VQ_PAIR 8
#define VIRTIO_NET_CFG_MTU         10
#define VIRTIO_NET_CONFIG_SIZE     12

struct virtio_net;

struct virtio_net_stats {
    uint64_t tx_frames, tx_bytes;
    uint64_t rx_frames, rx_bytes;
    uint64_t rx_dropped; /* no buffer, driver not running, or too big */
};

/* The device owns `be` from here on (even on failure). NULL when out of
 * memory (logged). */
struct virtio_net *virtio_net_new(const uint8_t mac[NET_ETH_ALEN], struct net_backend *be);
/* Frees the backend too. NULL is ignored. */
void virtio_net_free(struct virtio_net *net);

extern const struct virtio_device_ops virtio_net_ops;
/* Tell the device its transport's struct virtio_dev, before the guest runs. */
void virtio_net_attach(struct virtio_net *net, struct virtio_dev *vdev);
void virtio_net_get_stats(const struct virtio_net *net, struct virtio_net_stats *out);

#endif
