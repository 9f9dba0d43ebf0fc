/* Local APIC (xAPIC, MMIO at LAPIC_BASE), IOAPIC and the legacy 8259s. */
#include "guest.h"

#define ICR_DELIVERY_PENDING (1u << 12)
#define SVR_APIC_ENABLE      (1u << 8)

#define IOAPIC_REGSEL      0x00
#define IOAPIC_WIN         0x10
#define IOAPIC_REDTBL(pin) (0x10 + 2 * (pin))
#define IOAPIC_MASKED      (1u << 16)

uint32_t lapic_read(unsigned reg)
{
    return mmio_read32(LAPIC_BASE + reg);
}

void lapic_write(unsigned reg, uint32_t value)
{
    mmio_write32(LAPIC_BASE + reg, value);
}

unsigned lapic_id(void)
{
    return lapic_read(LAPIC_ID) >> 24;
}

void lapic_enable(unsigned spurious_vector)
{
    lapic_write(LAPIC_SVR, SVR_APIC_ENABLE | (spurious_vector & 0xff));
}

void lapic_eoi(void)
{
    lapic_write(LAPIC_EOI, 0);
}

bool lapic_send_ipi(unsigned dest_apic_id, uint32_t icr_low)
{
    lapic_write(LAPIC_ICR_HIGH, dest_apic_id << 24);
    lapic_write(LAPIC_ICR_LOW, icr_low); /* this write sends it */
    uint64_t start = rdtsc();
    while (lapic_read(LAPIC_ICR_LOW) & ICR_DELIVERY_PENDING) {
        if (rdtsc() - start > TSC_TIMEOUT)
            return false;
        cpu_relax();
    }
    return true;
}

uint32_t ioapic_read(unsigned reg)
{
    mmio_write32(IOAPIC_BASE + IOAPIC_REGSEL, reg);
    return mmio_read32(IOAPIC_BASE + IOAPIC_WIN);
}

void ioapic_write(unsigned reg, uint32_t value)
{
    mmio_write32(IOAPIC_BASE + IOAPIC_REGSEL, reg);
    mmio_write32(IOAPIC_BASE + IOAPIC_WIN, value);
}

void ioapic_route(unsigned pin, unsigned vector, unsigned dest_apic_id)
{
    /* Destination first, so the entry never fires half-written. */
    ioapic_write(IOAPIC_REDTBL(pin) + 1, dest_apic_id << 24);
    ioapic_write(IOAPIC_REDTBL(pin), vector & 0xff);
}

void ioapic_mask(unsigned pin)
{
    ioapic_write(IOAPIC_REDTBL(pin), IOAPIC_MASKED);
}

#define PIC1_CMD  0x20
#define PIC1_DATA 0x21
#define PIC2_CMD  0xa0
#define PIC2_DATA 0xa1

void pic_disable(void)
{
    outb(PIC1_CMD, 0x11); /* ICW1: edge, cascade, ICW4 follows */
    outb(PIC2_CMD, 0x11);
    outb(PIC1_DATA, 0x20); /* ICW2: vector base */
    outb(PIC2_DATA, 0x28);
    outb(PIC1_DATA, 0x04); /* ICW3: slave on IR2 */
    outb(PIC2_DATA, 0x02);
    outb(PIC1_DATA, 0x01); /* ICW4: 8086 mode */
    outb(PIC2_DATA, 0x01);
    outb(PIC1_DATA, 0xff); /* OCW1: mask everything */
    outb(PIC2_DATA, 0xff);
}
