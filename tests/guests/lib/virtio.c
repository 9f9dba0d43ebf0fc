/* PCI configuration access and a minimal virtio-pci driver (virtio.h). */
#include "virtio.h"

#include "guest.h"

#define CONF_ADDR 0xcf8
#define CONF_DATA 0xcfc

static uint32_t conf_addr(unsigned slot, unsigned reg)
{
    return 0x80000000u | slot << 11 | (reg & 0xfc);
}

uint32_t pci_read32(unsigned slot, unsigned reg)
{
    outl(CONF_ADDR, conf_addr(slot, reg));
    return inl(CONF_DATA);
}

uint8_t pci_read8(unsigned slot, unsigned reg)
{
    outl(CONF_ADDR, conf_addr(slot, reg));
    return inb(CONF_DATA + (reg & 3));
}

void pci_write32(unsigned slot, unsigned reg, uint32_t v)
{
    outl(CONF_ADDR, conf_addr(slot, reg));
    outl(CONF_DATA, v);
}

void pci_write16(unsigned slot, unsigned reg, uint16_t v)
{
    outl(CONF_ADDR, conf_addr(slot, reg));
    outw(CONF_DATA + (reg & 2), v);
}

uint64_t pci_bar(unsigned slot, unsigned n)
{
    uint32_t lo = pci_read32(slot, 0x10 + 4 * n);
    uint64_t a = lo & ~0xfULL;
    if (lo & 4) /* 64-bit */
        a |= (uint64_t)pci_read32(slot, 0x14 + 4 * n) << 32;
    return a;
}

unsigned pci_find(uint32_t id)
{
    for (unsigned slot = 1; slot < 32; slot++)
        if (pci_read32(slot, 0) == id)
            return slot;
    return 0;
}

bool vpci_probe(struct vpci *v, unsigned slot)
{
    *v = (struct vpci){.slot = slot};
    pci_write16(slot, 4, 0x0006); /* memory decoding, bus master (else no MSI) */
    uint64_t bar4 = pci_bar(slot, 4);
    check(bar4 >= 0xc0000000 && bar4 < PCI_ECAM_BASE, "BAR 4 at 0x%lx outside the PCI window",
          (unsigned long)bar4);
    for (unsigned at = pci_read8(slot, 0x34); at; at = pci_read8(slot, at + 1)) {
        uint8_t id = pci_read8(slot, at);
        if (id == 0x11) {
            v->msix_cap = at;
            uint32_t t = pci_read32(slot, at + 4);
            v->msix_table = pci_bar(slot, t & 7) + (t & ~7u);
            continue;
        }
        if (id != 0x09)
            continue;
        uint8_t type = pci_read8(slot, at + 3);
        uint64_t where = bar4 + pci_read32(slot, at + 8);
        if (type == 1)
            v->common = where;
        else if (type == 2) {
            v->notify = where;
            v->notify_mul = pci_read32(slot, at + 16);
        } else if (type == 3)
            v->isr = where;
        else if (type == 4)
            v->device = where;
    }
    return check(v->common && v->notify && v->isr && v->msix_cap, "virtio capabilities missing");
}

void vpci_msix_route(struct vpci *v, unsigned n, unsigned vector)
{
    uint64_t e = v->msix_table + 16 * n;
    mmio_write32(e, 0xfee00000u | lapic_id() << 12);
    mmio_write32(e + 4, 0);
    mmio_write32(e + 8, vector);
    mmio_write32(e + 12, 0);
}

void vpci_msix_enable(struct vpci *v, bool on)
{
    pci_write16(v->slot, v->msix_cap + 2, on ? 0x8000 : 0);
}

bool vpci_bring_up(struct vpci *v, uint32_t features, struct vq *q)
{
    uint64_t c = v->common;
    mmio_write8(c + 0x14, 0);
    check(mmio_read8(c + 0x14) == 0, "reset does not read back 0");
    mmio_write8(c + 0x14, 1);
    mmio_write8(c + 0x14, 3);
    mmio_write32(c + 0x00, 1);
    check(mmio_read32(c + 0x04) & 1, "VERSION_1 not offered");
    mmio_write32(c + 0x00, 0);
    check((mmio_read32(c + 0x04) & features) == features, "features %#x not offered", features);
    mmio_write32(c + 0x08, 0);
    mmio_write32(c + 0x0c, features);
    mmio_write32(c + 0x08, 1);
    mmio_write32(c + 0x0c, 1);
    mmio_write8(c + 0x14, 0x0b);
    if (!check(mmio_read8(c + 0x14) == 0x0b, "FEATURES_OK refused"))
        return false;
    printf("queues: %u\n", mmio_read16(c + 0x12));
    mmio_write16(c + 0x16, 0);
    check(mmio_read16(c + 0x18) >= VQ_SIZE, "queue 0 too small");
    mmio_write16(c + 0x18, VQ_SIZE);
    mmio_write16(c + 0x10, 0); /* configuration changes: vector 0 */
    mmio_write16(c + 0x1a, 1); /* queue 0: vector 1 */
    check(mmio_read16(c + 0x1a) == 1, "vector 1 not taken");
    mmio_write64(c + 0x20, (uint64_t)q->desc);
    mmio_write64(c + 0x28, (uint64_t)&q->avail);
    mmio_write64(c + 0x30, (uint64_t)&q->used);
    mmio_write16(c + 0x1c, 1);
    mmio_write8(c + 0x14, 0x0f);
    return check(mmio_read8(c + 0x14) == 0x0f, "DRIVER_OK not taken");
}

unsigned vq_post(struct vpci *v, struct vq *q, uint16_t head)
{
    unsigned n = q->next++;
    q->avail.ring[n % VQ_SIZE] = head;
    __asm__ volatile("" ::: "memory");
    q->avail.idx = (uint16_t)(n + 1);
    uint16_t qoff = mmio_read16(v->common + 0x1e);
    mmio_write16(v->notify + (uint64_t)qoff * v->notify_mul, 0);
    return n;
}

bool vq_wait(volatile unsigned *counter, unsigned before, const char *what)
{
    uint64_t start = rdtsc();
    while (*counter == before && rdtsc() - start < TSC_TIMEOUT)
        irq_wait();
    return check(*counter != before, "no interrupt for %s", what);
}
