/* virtio-rng over PCI, driven as a driver would: find the devices on bus 0
 * through configuration mechanism #1 (and see ECAM agree), size a BAR,
 * take the BARs the board assigned, walk the capabilities, bring the device
 * up (virtio 1.2, 3.1.1) and read random bytes twice: first signalled by
 * MSI-X (KVM_SIGNAL_MSI under kvm, the emulated APIC bus under emu), then
 * by INTx, level-triggered through the IOAPIC pin the interrupt line
 * register names, then by MSI-X again after moving BAR 4 (the doorbell
 * follows it: under kvm the ioeventfd is bound again), 80 times, the
 * vector's message changed each time (under kvm new irqfd routes, more
 * than the route cache holds). Nothing printed depends on the random
 * bytes. */
#include "guest.h"

#define CONF_ADDR    0xcf8
#define CONF_DATA    0xcfc
#define ECAM_BASE    0xe0000000UL
#define MSI_VECTOR   0x50
#define INTX_VECTOR  0x51
#define MANY_BASE    0x60
#define MANY_VECTORS 80
#define BAR4_MOVE    0x1000000 /* 16 MiB up, still in the PCI window */
#define SPURIOUS     0xff
#define QSIZE        8

/* The board's layout, as the firmware tables describe it. */
#define RNG_ID    0x10441af4u /* 1af4:1044 */
#define HOST_ID   0x29c08086u
#define REDTBL(p) (0x10 + 2 * (p))

static uint32_t conf_addr(unsigned slot, unsigned reg)
{
    return 0x80000000u | slot << 11 | (reg & 0xfc);
}

static uint32_t conf_read32(unsigned slot, unsigned reg)
{
    outl(CONF_ADDR, conf_addr(slot, reg));
    return inl(CONF_DATA);
}

static uint8_t conf_read8(unsigned slot, unsigned reg)
{
    outl(CONF_ADDR, conf_addr(slot, reg));
    return inb(CONF_DATA + (reg & 3));
}

static void conf_write32(unsigned slot, unsigned reg, uint32_t v)
{
    outl(CONF_ADDR, conf_addr(slot, reg));
    outl(CONF_DATA, v);
}

static void conf_write16(unsigned slot, unsigned reg, uint16_t v)
{
    outl(CONF_ADDR, conf_addr(slot, reg));
    outw(CONF_DATA + (reg & 2), v);
}

/* The split virtqueue, in guest RAM (identity mapped). */
struct desc {
    uint64_t addr;
    uint32_t len;
    uint16_t flags, next;
};
static struct desc ring_desc[QSIZE] __attribute__((aligned(16)));
static struct {
    uint16_t flags, idx, ring[QSIZE], used_event;
} ring_avail __attribute__((aligned(2)));
static volatile struct {
    uint16_t flags, idx;
    struct {
        uint32_t id, len;
    } ring[QSIZE];
    uint16_t avail_event;
} ring_used __attribute__((aligned(4)));
static uint8_t buffers[QSIZE][64];

struct rng {
    unsigned slot;
    uint64_t common, notify, isr, msix_table;
    uint32_t notify_mul;
    unsigned msix_cap;
};

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
static bool find_rng(struct rng *r)
{
    r->slot = 0;
    for (unsigned slot = 0; slot < 32; slot++) {
        uint32_t id = conf_read32(slot, 0);
        if (id == 0xffffffffu)
            continue;
        uint32_t class = conf_read32(slot, 8) >> 8;
        printf("00:%02x.0 %04x:%04x class %06x\n", slot, id & 0xffff, id >> 16, class);
        check(mmio_read32(ECAM_BASE + ((uint64_t)slot << 15)) == id, "ECAM disagrees on slot %u",
              slot);
        check(slot != 0 || id == HOST_ID, "slot 0 is not the host bridge");
        if (id == RNG_ID && !r->slot)
            r->slot = slot;
    }
    check(mmio_read32(ECAM_BASE + (1UL << 20)) == 0xffffffffu, "bus 1 answers");
    return check(r->slot != 0, "no virtio-rng on bus 0");
}

static uint64_t bar_address(unsigned slot, unsigned n)
{
    uint32_t lo = conf_read32(slot, 0x10 + 4 * n);
    uint64_t a = lo & ~0xfULL;
    if (lo & 4) /* 64-bit */
        a |= (uint64_t)conf_read32(slot, 0x14 + 4 * n) << 32;
    return a;
}

/* BAR 1 (MSI-X): all-ones in, the size mask out, as firmware sizes it. */
static void size_bar1(unsigned slot)
{
    uint32_t saved = conf_read32(slot, 0x14);
    conf_write16(slot, 4, 0); /* decoding off while sizing */
    conf_write32(slot, 0x14, 0xffffffffu);
    uint32_t mask = conf_read32(slot, 0x14);
    conf_write32(slot, 0x14, saved);
    conf_write16(slot, 4, 0x0006); /* memory decoding, bus master */
    printf("BAR 1: %u bytes\n", ~(mask & ~0xfu) + 1);
}

static void walk_caps(struct rng *r)
{
    uint64_t bar4 = bar_address(r->slot, 4);
    check(bar4 >= 0xc0000000 && bar4 < 0xe0000000, "BAR 4 at %#lx outside the PCI window",
          (unsigned long)bar4);
    for (unsigned at = conf_read8(r->slot, 0x34); at; at = conf_read8(r->slot, at + 1)) {
        uint8_t id = conf_read8(r->slot, at);
        if (id == 0x11) {
            r->msix_cap = at;
            uint32_t t = conf_read32(r->slot, at + 4);
            r->msix_table = bar_address(r->slot, t & 7) + (t & ~7u);
            continue;
        }
        if (id != 0x09)
            continue;
        uint8_t type = conf_read8(r->slot, at + 3);
        uint64_t where = bar4 + conf_read32(r->slot, at + 8);
        if (type == 1)
            r->common = where;
        else if (type == 2) {
            r->notify = where;
            r->notify_mul = conf_read32(r->slot, at + 16);
        } else if (type == 3)
            r->isr = where;
    }
    check(r->common && r->notify && r->isr && r->msix_cap, "virtio capabilities missing");
    isr_addr = r->isr;
}

/* Status, features (VERSION_1 only), queue 0 with vector 1, DRIVER_OK. */
static bool bring_up(struct rng *r)
{
    uint64_t c = r->common;
    mmio_write8(c + 0x14, 0);
    check(mmio_read8(c + 0x14) == 0, "reset does not read back 0");
    mmio_write8(c + 0x14, 1);
    mmio_write8(c + 0x14, 3);
    mmio_write32(c + 0x00, 1);
    check(mmio_read32(c + 0x04) & 1, "VERSION_1 not offered");
    mmio_write32(c + 0x08, 0);
    mmio_write32(c + 0x0c, 0);
    mmio_write32(c + 0x08, 1);
    mmio_write32(c + 0x0c, 1);
    mmio_write8(c + 0x14, 0x0b);
    if (!check(mmio_read8(c + 0x14) == 0x0b, "FEATURES_OK refused"))
        return false;
    printf("queues: %u\n", mmio_read16(c + 0x12));
    mmio_write16(c + 0x16, 0);
    check(mmio_read16(c + 0x18) >= QSIZE, "queue 0 too small");
    mmio_write16(c + 0x18, QSIZE);
    mmio_write16(c + 0x10, 0); /* configuration changes: vector 0 */
    mmio_write16(c + 0x1a, 1); /* queue 0: vector 1 */
    check(mmio_read16(c + 0x1a) == 1, "vector 1 not taken");
    mmio_write64(c + 0x20, (uint64_t)ring_desc);
    mmio_write64(c + 0x28, (uint64_t)&ring_avail);
    mmio_write64(c + 0x30, (uint64_t)&ring_used);
    mmio_write16(c + 0x1c, 1);
    mmio_write8(c + 0x14, 0x0f);
    return check(mmio_read8(c + 0x14) == 0x0f, "DRIVER_OK not taken");
}

/* Decoding off, BAR 4 16 MiB up, decoding on: the registers follow. */
static void move_bar4(struct rng *r)
{
    uint64_t old = bar_address(r->slot, 4), to = old + BAR4_MOVE;
    check(to + 0x4000 <= ECAM_BASE, "no room to move BAR 4");
    conf_write16(r->slot, 4, 0x0004);
    conf_write32(r->slot, 0x20, (uint32_t)to | (conf_read32(r->slot, 0x20) & 0xf));
    conf_write16(r->slot, 4, 0x0006);
    check(bar_address(r->slot, 4) == to, "BAR 4 did not move");
    r->common += BAR4_MOVE;
    r->notify += BAR4_MOVE;
    r->isr += BAR4_MOVE;
    isr_addr = r->isr;
    check(mmio_read8(r->common + 0x14) == 0x0f, "status lost in the move");
}

/* Request n (0, 1, ...): one 64-byte buffer to fill in ring slot
 * n % QSIZE; kick; wait for the counter to move. */
static bool request(struct rng *r, unsigned n, volatile unsigned *counter)
{
    unsigned before = *counter, slot = n % QSIZE;
    uint8_t *buf = buffers[slot];
    for (unsigned i = 0; i < sizeof(buffers[slot]); i++)
        buf[i] = 0;
    ring_desc[slot] = (struct desc){(uint64_t)buf, sizeof(buffers[slot]), 2 /* WRITE */, 0};
    ring_avail.ring[slot] = (uint16_t)slot;
    __asm__ volatile("" ::: "memory");
    ring_avail.idx = (uint16_t)(n + 1);
    uint16_t qoff = mmio_read16(r->common + 0x1e);
    mmio_write16(r->notify + (uint64_t)qoff * r->notify_mul, 0);
    uint64_t start = rdtsc();
    while (*counter == before && rdtsc() - start < TSC_TIMEOUT)
        irq_wait();
    if (!check(*counter != before, "no interrupt for request %u", n))
        return false;
    bool random = false;
    for (unsigned i = 0; i < sizeof(buffers[slot]); i++)
        random |= buf[i] != 0;
    check(ring_used.idx == (uint16_t)(n + 1), "used idx %u", ring_used.idx);
    check(ring_used.ring[slot].id == slot && ring_used.ring[slot].len == 64,
          "used element %u: id %u len %u", n, ring_used.ring[slot].id, ring_used.ring[slot].len);
    return check(random, "request %u: all zero", n);
}

/* Requests signalled by MSI-X with the queue's vector sending a new
 * message each time (under kvm each needs an irqfd route of its own: more
 * of them than the cache holds). */
static bool changing_vectors(struct rng *r, unsigned first)
{
    for (unsigned k = 0; k < MANY_VECTORS; k++) {
        unsigned vec = MANY_BASE + k;
        mmio_write32(r->msix_table + 16 + 8, vec);
        if (!request(r, first + k, &many_count) ||
            !check(many_last == vec, "request %u: vector %#x, not %#x", first + k, many_last, vec))
            return false;
    }
    return true;
}

void guest_main(uint32_t magic, uint32_t info)
{
    (void)magic;
    (void)info;
    struct rng r = {0};
    pic_disable();
    idt_set_handler(MSI_VECTOR, msi_handler);
    idt_set_handler(INTX_VECTOR, intx_handler);
    for (unsigned k = 0; k < MANY_VECTORS; k++)
        idt_set_handler(MANY_BASE + k, many_handler);
    idt_set_handler(SPURIOUS, spurious_handler);
    lapic_enable(SPURIOUS);
    if (!find_rng(&r))
        guest_finish();
    size_bar1(r.slot);
    walk_caps(&r);

    /* MSI-X: vectors 0 and 1 to this CPU, then enable. */
    for (unsigned v = 0; v < 2; v++) {
        uint64_t e = r.msix_table + 16 * v;
        mmio_write32(e, 0xfee00000u | lapic_id() << 12);
        mmio_write32(e + 4, 0);
        mmio_write32(e + 8, MSI_VECTOR);
        mmio_write32(e + 12, 0);
    }
    conf_write16(r.slot, r.msix_cap + 2, 0x8000);
    if (!bring_up(&r))
        guest_finish();
    if (request(&r, 0, &msi_count))
        printf("64 random bytes, by MSI-X\n");
    check(intx_count == 0, "INTx while MSI-X is on");

    /* INTx: MSI-X off, the pin from the interrupt line register. */
    unsigned pin = conf_read8(r.slot, 0x3c);
    printf("INTA -> IOAPIC pin %u\n", pin);
    conf_write16(r.slot, r.msix_cap + 2, 0);
    ioapic_write(REDTBL(pin) + 1, lapic_id() << 24);
    ioapic_write(REDTBL(pin), INTX_VECTOR | 1u << 15); /* level */
    if (request(&r, 1, &intx_count) && check(intx_isr == 1, "ISR %#x", intx_isr))
        printf("64 random bytes, by INTx\n");
    check(msi_count == 1, "%u MSIs", msi_count);
    ioapic_mask(pin);

    /* MSI-X again, with BAR 4 moved while the device runs. */
    conf_write16(r.slot, r.msix_cap + 2, 0x8000);
    move_bar4(&r);
    if (changing_vectors(&r, 2))
        printf("%u x 64 random bytes at the moved BAR, by MSI-X, a new vector each\n",
               MANY_VECTORS);
    /* Not by INTx: the ISR bit would be set. (Not intx_count: this host's
     * nested KVM leaves a level-triggered vector pending in the IRR after
     * delivering it, so INTX_VECTOR may run once more, reading the ISR.) */
    check(msi_count == 1, "%u MSIs on the old vector", msi_count);
    check(mmio_read8(r.isr) == 0, "ISR set by a request signalled by MSI-X");
    mmio_write8(r.common + 0x14, 0);
    guest_finish();
}
