/* virtio-blk over PCI on a 64 KiB raw image that guests.mk writes with a
 * known first sector: the capacity and block size from the device
 * configuration, a read of sector 0, 4 KiB written, flushed and read back,
 * GET_ID (the serial= option), and a read past the end failing with
 * IOERR. Interrupts by MSI-X. Under kvm the doorbells are ioeventfds, so
 * the requests are served on the I/O thread while the vCPU waits; under emu
 * they are MMIO writes served on the vCPU thread. */
#include "guest.h"
#include "virtio.h"

#define BLK_ID     0x10421af4u /* 1af4:1042 */
#define BLK_VECTOR 0x50
#define SPURIOUS   0xff

#define F_BLK_SIZE (1u << 6)
#define F_FLUSH    (1u << 9)

#define T_IN     0
#define T_OUT    1
#define T_FLUSH  4
#define T_GET_ID 8

#define S_OK    0
#define S_IOERR 1

#define IMAGE_SECTORS 128
#define IMAGE_TEXT    "xuni virtio-blk guest image\n"
#define SERIAL        "xuni-guest-disk"

static struct vq queue;
static struct {
    uint32_t type, reserved;
    uint64_t sector;
} header;
static uint8_t data[4096] __attribute__((aligned(512)));
static volatile uint8_t status;
static volatile unsigned irqs;

static void blk_handler(struct irq_frame *f)
{
    (void)f;
    irqs++;
    lapic_eoi();
}

static void spurious_handler(struct irq_frame *f)
{
    (void)f;
}

/* One request: header, data (len bytes, none for 0), status. Returns the
 * status byte, or 0xff if the device never answered. */
static unsigned blk_request(struct vpci *v, uint32_t type, uint64_t sector, uint32_t len)
{
    header.type = type;
    header.reserved = 0;
    header.sector = sector;
    status = 0xee;
    bool in = type == T_IN || type == T_GET_ID;
    uint16_t d = 0;
    queue.desc[d] = (struct vq_desc){(uint64_t)&header, sizeof(header), VQ_DESC_NEXT, 1};
    if (len) {
        d++;
        queue.desc[d] =
            (struct vq_desc){(uint64_t)data, len, VQ_DESC_NEXT | (in ? VQ_DESC_WRITE : 0), 2};
    }
    d++;
    queue.desc[d] = (struct vq_desc){(uint64_t)&status, 1, VQ_DESC_WRITE, 0};
    queue.desc[d - 1].next = d;
    unsigned before = irqs;
    unsigned n = vq_post(v, &queue, 0);
    if (!vq_wait(&irqs, before, "a block request"))
        return 0xff;
    check(queue.used.idx == (uint16_t)(n + 1), "used idx %u after request %u", queue.used.idx, n);
    return status;
}

static bool fill_check(uint32_t len, uint8_t seed, bool fill)
{
    for (uint32_t i = 0; i < len; i++) {
        uint8_t want = (uint8_t)(i * 7 + seed);
        if (fill)
            data[i] = want;
        else if (data[i] != want)
            return check(false, "byte %u: 0x%x, not 0x%x", i, data[i], want);
    }
    return true;
}

void guest_main(uint32_t magic, uint32_t info)
{
    (void)magic;
    (void)info;
    struct vpci v;
    pic_disable();
    idt_set_handler(BLK_VECTOR, blk_handler);
    idt_set_handler(SPURIOUS, spurious_handler);
    lapic_enable(SPURIOUS);
    unsigned slot = pci_find(BLK_ID);
    if (!check(slot != 0, "no virtio-blk on bus 0") || !vpci_probe(&v, slot))
        guest_finish();
    printf("virtio-blk in slot %u, class %06x\n", slot, pci_read32(slot, 8) >> 8);
    vpci_msix_route(&v, 0, BLK_VECTOR);
    vpci_msix_route(&v, 1, BLK_VECTOR);
    vpci_msix_enable(&v, true);
    if (!check(v.device != 0, "no device configuration") ||
        !vpci_bring_up(&v, F_BLK_SIZE | F_FLUSH, &queue))
        guest_finish();
    printf("capacity: %u sectors, block size %u\n", (unsigned)mmio_read64(v.device),
           mmio_read32(v.device + 20));

    unsigned s = blk_request(&v, T_IN, 0, 512);
    const char *text = IMAGE_TEXT;
    bool same = true;
    for (unsigned i = 0; text[i]; i++)
        same &= data[i] == (uint8_t)text[i];
    if (check(s == S_OK, "read status %u", s) && check(same, "sector 0 is not the image's"))
        printf("sector 0: %s", IMAGE_TEXT);

    fill_check(sizeof(data), 3, true);
    s = blk_request(&v, T_OUT, 8, sizeof(data));
    check(s == S_OK, "write status %u", s);
    s = blk_request(&v, T_FLUSH, 0, 0);
    check(s == S_OK, "flush status %u", s);
    for (unsigned i = 0; i < sizeof(data); i++)
        data[i] = 0;
    s = blk_request(&v, T_IN, 8, sizeof(data));
    if (check(s == S_OK, "read-back status %u", s) && fill_check(sizeof(data), 3, false))
        printf("4096 bytes written, flushed and read back\n");

    for (unsigned i = 0; i < 20; i++)
        data[i] = 0;
    s = blk_request(&v, T_GET_ID, 0, 20);
    data[20] = 0;
    if (check(s == S_OK, "get-id status %u", s))
        printf("serial: %s\n", (const char *)data);

    s = blk_request(&v, T_IN, IMAGE_SECTORS, 512);
    if (check(s == S_IOERR, "read past the end: status %u", s))
        printf("read past the end: IOERR\n");
    mmio_write8(v.common + 0x14, 0);
    guest_finish();
}
