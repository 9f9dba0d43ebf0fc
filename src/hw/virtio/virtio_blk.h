/* virtio-blk (virtio 1.2, section 5.2): a disk backed by a raw image.
 *
 * One request queue. Each request is a chain: a 16-byte header (type,
 * reserved, sector) at the start of the readable part, then data (readable
 * for writes, writable for reads), then the status byte as the chain's last
 * writable byte. The device validates every request before touching the
 * image: header and status present, data a multiple of 512 bytes, sectors
 * inside the capacity, no writes to a read-only drive (VIRTIO_BLK_S_IOERR),
 * unknown types VIRTIO_BLK_S_UNSUPP. A chain without a writable byte has
 * nowhere to put a status: it is returned empty and the device asks for a
 * reset.
 *
 * Reads, writes, flushes, discards and write-zeroes go to the block backend
 * (backend/block.h) and complete on its threads: the completion takes the
 * device lock, writes the status, pushes the chain and notifies. A flush
 * completes only after fdatasync. A driver reset (vdev->generation moves)
 * leaves running requests to finish without touching the queues. At most
 * queue-size requests per queue are in flight; the queue is drained further
 * as they complete.
 *
 * Features offered: SEG_MAX, BLK_SIZE, FLUSH, RO (readonly drives), and
 * DISCARD and WRITE_ZEROES where the image's file system can punch holes.
 * GET_ID returns the drive's serial (serial=, else derived from the
 * image's path).
 */
#ifndef XUNI_HW_VIRTIO_VIRTIO_BLK_H
#define XUNI_HW_VIRTIO_VIRTIO_BLK_H

#include <pthread.h>

#include "hw/virtio/virtio.h"
#include "vm/config.h"

#define VIRTIO_BLK_F_SEG_MAX      2
#define VIRTIO_BLK_F_RO           5
#define VIRTIO_BLK_F_BLK_SIZE     6
#define VIRTIO_BLK_F_FLUSH        9
#define VIRTIO_BLK_F_DISCARD      13
#define VIRTIO_BLK_F_WRITE_ZEROES 14

#define VIRTIO_BLK_T_IN           0
#define VIRTIO_BLK_T_OUT          1
#define VIRTIO_BLK_T_FLUSH        4
#define VIRTIO_BLK_T_GET_ID       8
#define VIRTIO_BLK_T_DISCARD      11
#define VIRTIO_BLK_T_WRITE_ZEROES 13

#define VIRTIO_BLK_S_OK     0
#define VIRTIO_BLK_S_IOERR  1
#define VIRTIO_BLK_S_UNSUPP 2

#define VIRTIO_BLK_WZ_FLAG_UNMAP 1u
#define VIRTIO_BLK_ID_BYTES      20
#define VIRTIO_BLK_HDR_SIZE      16 /* le32 type, le32 reserved, le64 sector */
#define VIRTIO_BLK_SEG_SIZE      16 /* discard/write-zeroes: le64 sector, le32 num, le32 flags */

#define VIRTIO_BLK_QUEUE_SIZE       256
#define VIRTIO_BLK_MAX_DISCARD_SECT (1u << 22) /* per discard or write-zeroes request */

/* Configuration space offsets (struct virtio_blk_config). */
#define VIRTIO_BLK_CFG_CAPACITY         0
#define VIRTIO_BLK_CFG_SEG_MAX          12
#define VIRTIO_BLK_CFG_BLK_SIZE         20
#define VIRTIO_BLK_CFG_NUM_QUEUES       34
#define VIRTIO_BLK_CFG_MAX_DISCARD_SECT 36
#define VIRTIO_BLK_CFG_MAX_DISCARD_SEG  40
#define VIRTIO_BLK_CFG_DISCARD_ALIGN    44
#define VIRTIO_BLK_CFG_MAX_WZ_SECT      48
#define VIRTIO_BLK_CFG_MAX_WZ_SEG       52
#define VIRTIO_BLK_CFG_WZ_MAY_UNMAP     56
#define VIRTIO_BLK_CONFIG_SIZE          60

struct virtio_blk;

/* Open the drive's image and build the device; NULL after one message
 * naming the problem. `lock` is the board's device lock, taken by
 * completions. */
struct virtio_blk *virtio_blk_new(const struct drive_config *cfg, pthread_mutex_t *lock);
/* Waits for requests in flight, which finish without touching the queues
 * or the transport (call it without the device lock held, while guest
 * memory is still mapped). NULL is ignored. */
void virtio_blk_free(struct virtio_blk *blk);

/* What the transport needs to present the device (per device: the
 * features depend on the drive). */
const struct virtio_device_ops *virtio_blk_ops(const struct virtio_blk *blk);
/* Tell the device its transport's struct virtio_dev, before the guest runs. */
void virtio_blk_attach(struct virtio_blk *blk, struct virtio_dev *vdev);

#endif
