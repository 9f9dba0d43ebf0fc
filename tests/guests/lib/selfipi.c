/* A recorded LAPIC self-IPI, for tests of when a pending interrupt is
 * taken: self_ipi_init() installs the handler (it counts the interrupts and
 * keeps the interrupted RIP of the first) and enables the LAPIC;
 * self_ipi_send() makes the interrupt pending and waits until the IRR
 * shows it, so that it is pending before the instruction under test. */
#include "guest.h"

#define ICR_SELF  (1u << 18) /* destination shorthand: self */
#define LAPIC_IRR 0x200
#define IRR_POLLS 1000

volatile uint64_t self_ipi_count, self_ipi_rip;
static unsigned ipi_vector;

static void ipi_handler(struct irq_frame *f)
{
    if (!self_ipi_count++)
        self_ipi_rip = f->rip;
    lapic_eoi();
}

static void spurious_handler(struct irq_frame *f)
{
    (void)f; /* a spurious interrupt takes no EOI */
}

void self_ipi_init(unsigned vector, unsigned spurious_vector)
{
    ipi_vector = vector;
    idt_set_handler(vector, ipi_handler);
    idt_set_handler(spurious_vector, spurious_handler);
    pic_disable();
    lapic_write(LAPIC_LVT_LINT0, LAPIC_LVT_MASKED); /* no virtual-wire ExtINT */
    lapic_enable(spurious_vector);
}

bool self_ipi_send(void)
{
    self_ipi_count = 0;
    self_ipi_rip = 0;
    lapic_write(LAPIC_ICR_HIGH, 0);
    lapic_write(LAPIC_ICR_LOW, ipi_vector | ICR_SELF);
    uint32_t bit = 1u << (ipi_vector % 32);
    for (unsigned i = 0; i < IRR_POLLS; i++)
        if (lapic_read(LAPIC_IRR + 0x10 * (ipi_vector / 32)) & bit)
            return true;
    return false;
}
