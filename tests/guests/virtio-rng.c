/* virtio-rng over PCI, driven as a driver would: find the devices on bus 0
 * through configuration mechanism #1 (and see ECAM agree), size a BAR,
 * take the BARs the board assigned, walk the capabilities, bring the device
 * up (virtio 1.2, 3.1.1) and read random bytes: first signalled by MSI-X
 * (an irqfd under kvm, the emulated APIC bus under emu), then by INTx,
 * level-triggered through the IOAPIC pin the interrupt line register
 * names, then by MSI-X again after moving BAR 4 (the doorbell follows it:
 * under kvm the ioeventfd is bound again), 80 times, the vector's message
 * changed each time (under kvm new irqfd routes, more than the route cache
 * holds). Nothing printed depends on the random bytes. */
#include "guest.h"
#include "virtio.h"

#define MSI_VECTOR   0x50
#define INTX_VECTOR  0x51
#define MANY_BASE    0x60
#define MANY_VECTORS 80
#define SPURIOUS     0xff
#define BAR4_MOVE    0x1000000 /* 16 MiB up, still in the PCI window */

/* The board's layout, as the firmware tables describe it. */
#define RNG_ID    0x10441af4u /* 1af4:1044 */
#define HOST_ID   0x29c08086u
#define REDTBL(p) (0x10 + 2 * (p))

static struct vq queue;
static uint8_t buffers[VQ_SIZE][64];

static volatile unsigned msi_count, intx_count, many_count, many_last;
static volatile uint8_t intx_isr;
static uint64_t isr_addr;

static void msi_handler(struct irq_frame *f)
{
    (void)f;
    msi_count++;
    lapic_eoi();
}

static void many_handler(struct irq_frame *f)
{
    many_last = (unsigned)f->vector;
    many_count++;
    lapic_eoi();
}

/* Level-triggered: read the ISR (which lowers the line) before the EOI. */
static void intx_handler(struct irq_frame *f)
{
    (void)f;
    intx_isr = mmio_read8(isr_addr);
    intx_count++;
    lapic_eoi();
}

static void spurious_handler(struct irq_frame *f)
{
    (void)f;
}

/* Every function on bus 0: the host bridge in slot 0, the rng somewhere. */
static unsigned find_rng(void)
{
    for (unsigned slot = 0; slot < 32; slot++) {
        uint32_t id = pci_read32(slot, 0);
        if (id == 0xffffffffu)
            continue;
        uint32_t class = pci_read32(slot, 8) >> 8;
        printf("00:%02x.0 %04x:%04x class %06x\n", slot, id & 0xffff, id >> 16, class);
        check(mmio_read32(PCI_ECAM_BASE + ((uint64_t)slot << 15)) == id,
              "ECAM disagrees on slot %u", slot);
        check(slot != 0 || id == HOST_ID, "slot 0 is not the host bridge");
    }
    check(mmio_read32(PCI_ECAM_BASE + (1UL << 20)) == 0xffffffffu, "bus 1 answers");
    unsigned slot = pci_find(RNG_ID);
    check(slot != 0, "no virtio-rng on bus 0");
    return slot;
}

/* BAR 1 (MSI-X): all-ones in, the size mask out, as firmware sizes it. */
static void size_bar1(unsigned slot)
{
    uint32_t saved = pci_read32(slot, 0x14);
    pci_write16(slot, 4, 0); /* decoding off while sizing */
    pci_write32(slot, 0x14, 0xffffffffu);
    uint32_t mask = pci_read32(slot, 0x14);
    pci_write32(slot, 0x14, saved);
    pci_write16(slot, 4, 0x0006); /* memory decoding, bus master */
    printf("BAR 1: %u bytes\n", ~(mask & ~0xfu) + 1);
}

/* Decoding off, BAR 4 16 MiB up, decoding on: the registers follow. */
static void move_bar4(struct vpci *v)
{
    uint64_t old = pci_bar(v->slot, 4), to = old + BAR4_MOVE;
    check(to + 0x4000 <= PCI_ECAM_BASE, "no room to move BAR 4");
    pci_write16(v->slot, 4, 0x0004);
    pci_write32(v->slot, 0x20, (uint32_t)to | (pci_read32(v->slot, 0x20) & 0xf));
    pci_write16(v->slot, 4, 0x0006);
    check(pci_bar(v->slot, 4) == to, "BAR 4 did not move");
    v->common += BAR4_MOVE;
    v->notify += BAR4_MOVE;
    v->isr += BAR4_MOVE;
    isr_addr = v->isr;
    check(mmio_read8(v->common + 0x14) == 0x0f, "status lost in the move");
}

/* One 64-byte buffer to fill; kick; wait for the counter to move. */
static bool request(struct vpci *v, volatile unsigned *counter)
{
    unsigned before = *counter, slot = queue.next % VQ_SIZE;
    uint8_t *buf = buffers[slot];
    for (unsigned i = 0; i < sizeof(buffers[slot]); i++)
        buf[i] = 0;
    queue.desc[slot] = (struct vq_desc){(uint64_t)buf, sizeof(buffers[slot]), VQ_DESC_WRITE, 0};
    unsigned n = vq_post(v, &queue, (uint16_t)slot);
    if (!vq_wait(counter, before, "a request"))
        return false;
    bool random = false;
    for (unsigned i = 0; i < sizeof(buffers[slot]); i++)
        random |= buf[i] != 0;
    check(queue.used.idx == (uint16_t)(n + 1), "used idx %u", queue.used.idx);
    check(queue.used.ring[slot].id == slot && queue.used.ring[slot].len == 64,
          "used element %u: id %u len %u", n, queue.used.ring[slot].id, queue.used.ring[slot].len);
    return check(random, "request %u: all zero", n);
}

/* Requests signalled by MSI-X with the queue's vector sending a new
 * message each time (under kvm each needs an irqfd route of its own: more
 * of them than the cache holds). */
static bool changing_vectors(struct vpci *v)
{
    for (unsigned k = 0; k < MANY_VECTORS; k++) {
        unsigned vec = MANY_BASE + k;
        mmio_write32(v->msix_table + 16 + 8, vec);
        if (!request(v, &many_count) ||
            !check(many_last == vec, "request %u: vector 0x%x, not 0x%x", k, many_last, vec))
            return false;
    }
    return true;
}

void guest_main(uint32_t magic, uint32_t info)
{
    (void)magic;
    (void)info;
    struct vpci v;
    pic_disable();
    idt_set_handler(MSI_VECTOR, msi_handler);
    idt_set_handler(INTX_VECTOR, intx_handler);
    for (unsigned k = 0; k < MANY_VECTORS; k++)
        idt_set_handler(MANY_BASE + k, many_handler);
    idt_set_handler(SPURIOUS, spurious_handler);
    lapic_enable(SPURIOUS);
    unsigned slot = find_rng();
    if (!slot)
        guest_finish();
    size_bar1(slot);
    if (!vpci_probe(&v, slot))
        guest_finish();
    isr_addr = v.isr;

    /* MSI-X: vectors 0 and 1 to this CPU, then enable. */
    vpci_msix_route(&v, 0, MSI_VECTOR);
    vpci_msix_route(&v, 1, MSI_VECTOR);
    vpci_msix_enable(&v, true);
    if (!vpci_bring_up(&v, 0, &queue))
        guest_finish();
    if (request(&v, &msi_count))
        printf("64 random bytes, by MSI-X\n");
    check(intx_count == 0, "INTx while MSI-X is on");

    /* INTx: MSI-X off, the pin from the interrupt line register. */
    unsigned pin = pci_read8(slot, 0x3c);
    printf("INTA -> IOAPIC pin %u\n", pin);
    vpci_msix_enable(&v, false);
    ioapic_write(REDTBL(pin) + 1, lapic_id() << 24);
    ioapic_write(REDTBL(pin), INTX_VECTOR | 1u << 15); /* level */
    if (request(&v, &intx_count) && check(intx_isr == 1, "ISR 0x%x", intx_isr))
        printf("64 random bytes, by INTx\n");
    check(msi_count == 1, "%u MSIs", msi_count);
    ioapic_mask(pin);

    /* MSI-X again, with BAR 4 moved while the device runs. */
    vpci_msix_enable(&v, true);
    move_bar4(&v);
    if (changing_vectors(&v))
        printf("%u x 64 random bytes at the moved BAR, by MSI-X, a new vector each\n",
               MANY_VECTORS);
    /* Not by INTx: the ISR bit would be set. (Not intx_count: this host's
     * nested KVM leaves a level-triggered vector pending in the IRR after
     * delivering it, so INTX_VECTOR may run once more, reading the ISR.) */
    check(msi_count == 1, "%u MSIs on the old vector", msi_count);
    check(mmio_read8(v.isr) == 0, "ISR set by a request signalled by MSI-X");
    mmio_write8(v.common + 0x14, 0);
    guest_finish();
}
