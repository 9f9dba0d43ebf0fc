/* ioport: what unclaimed ports and MMIO answer (all-ones; writes dropped),
 * the CMOS/RTC at 0x70/0x71 and the POST port 0x80. The manifest also
 * requires xuni to log the unclaimed port and MMIO accesses. */
#include "guest.h"

#define UNCLAIMED_PORT 0x1234
#define UNCLAIMED_MMIO 0xd0000000UL /* inside the PCI hole, nothing mapped */

#define CMOS_INDEX      0x70
#define CMOS_DATA       0x71
#define CMOS_SECONDS    0x00
#define CMOS_STATUS_B   0x0b
#define CMOS_SCRATCH    0x4f /* general-purpose NVRAM byte */
#define STATUS_B_BINARY 0x04

#define POST_PORT 0x80

static uint8_t cmos_read(uint8_t index)
{
    outb(CMOS_INDEX, index); /* bit 7 clear: NMIs stay enabled */
    return inb(CMOS_DATA);
}

static void cmos_write(uint8_t index, uint8_t value)
{
    outb(CMOS_INDEX, index);
    outb(CMOS_DATA, value);
}

static void test_unclaimed_port(void)
{
    uint8_t b = inb(UNCLAIMED_PORT);
    uint16_t w = inw(UNCLAIMED_PORT);
    uint32_t l = inl(UNCLAIMED_PORT);
    printf("port 0x%x: inb 0x%x inw 0x%x inl 0x%x\n", UNCLAIMED_PORT, b, w, l);
    check(b == 0xff && w == 0xffff && l == 0xffffffff, "unclaimed port reads not all-ones");
    outb(UNCLAIMED_PORT, 0x5a);
    outw(UNCLAIMED_PORT, 0x1234);
    outl(UNCLAIMED_PORT, 0x12345678);
    b = inb(UNCLAIMED_PORT);
    printf("port 0x%x after writes: inb 0x%x\n", UNCLAIMED_PORT, b);
    check(b == 0xff, "unclaimed port kept a written value");
}

static void test_post_port(void)
{
    for (unsigned v = 0; v < 4; v++)
        outb(POST_PORT, (uint8_t)(0x10 + v));
    printf("port 0x80: 4 writes ok\n");
}

static void test_cmos(void)
{
    static const uint8_t patterns[2] = {0xa5, 0x5a};
    for (unsigned i = 0; i < 2; i++) {
        cmos_write(CMOS_SCRATCH, patterns[i]);
        uint8_t got = cmos_read(CMOS_SCRATCH);
        printf("cmos 0x%x: wrote 0x%x read 0x%x\n", CMOS_SCRATCH, patterns[i], got);
        check(got == patterns[i], "cmos scratch byte did not keep its value");
    }
    uint8_t sec = cmos_read(CMOS_SECONDS);
    bool binary = cmos_read(CMOS_STATUS_B) & STATUS_B_BINARY;
    bool valid = binary ? sec < 60 : (sec & 0x0f) < 10 && sec < 0x60;
    printf("cmos seconds: %s\n", valid ? "valid" : "INVALID");
    check(valid, "cmos seconds 0x%x not a valid %s value", sec, binary ? "binary" : "BCD");
}

static void test_unclaimed_mmio(void)
{
    uint8_t b = mmio_read8(UNCLAIMED_MMIO);
    uint16_t w = mmio_read16(UNCLAIMED_MMIO);
    uint32_t l = mmio_read32(UNCLAIMED_MMIO);
    uint64_t q = mmio_read64(UNCLAIMED_MMIO);
    printf("mmio 0x%lx: read8 0x%x read16 0x%x read32 0x%x read64 0x%lx\n", UNCLAIMED_MMIO, b, w, l,
           q);
    check(b == 0xff && w == 0xffff && l == 0xffffffff && q == ~0ULL,
          "unclaimed mmio reads not all-ones");
    mmio_write32(UNCLAIMED_MMIO, 0x12345678);
    mmio_write64(UNCLAIMED_MMIO + 8, 0);
    l = mmio_read32(UNCLAIMED_MMIO);
    q = mmio_read64(UNCLAIMED_MMIO + 8);
    printf("mmio 0x%lx after writes: read32 0x%x read64 0x%lx\n", UNCLAIMED_MMIO, l, q);
    check(l == 0xffffffff && q == ~0ULL, "unclaimed mmio kept a written value");
}

void guest_main(uint32_t magic, uint32_t info)
{
    (void)magic;
    (void)info;
    printf("ioport guest\n");
    test_unclaimed_port();
    test_post_port();
    test_cmos();
    test_unclaimed_mmio();
    printf("ioport done\n");
}
