/* timer: interrupts that wake HLT. First the LAPIC timer (one-shot), then
 * PIT channel 0 (mode 0) through IOAPIC pin 2, where the board routes ISA
 * IRQ 0. While waiting for the PIT a periodic LAPIC timer acts as a
 * watchdog, so a lost PIT interrupt fails the test instead of hanging it.
 * No timing value is printed: the output must not depend on speed. */
#include "guest.h"

#define LAPIC_TIMER_VECTOR 0x40
#define PIT_VECTOR         0x41
#define SPURIOUS_VECTOR    0xff

#define LVT_TIMER_PERIODIC (1u << 17)
#define TIMER_DIV_1        0x0b
#define TIMER_DIV_16       0x03

#define PIT_CH0 0x40
#define PIT_CMD 0x43
#define PIT_GSI 2
#define PIT_1MS 1193 /* 1.193182 MHz input clock */

static volatile unsigned lapic_ticks, pit_ticks;

static void lapic_timer_handler(struct irq_frame *f)
{
    (void)f;
    lapic_ticks++;
    lapic_eoi();
}

static void pit_handler(struct irq_frame *f)
{
    (void)f;
    pit_ticks++;
    lapic_eoi();
}

static void spurious_handler(struct irq_frame *f)
{
    (void)f; /* a spurious interrupt takes no EOI */
}

static void test_lapic_timer(void)
{
    lapic_write(LAPIC_TIMER_DIV, TIMER_DIV_1);
    lapic_write(LAPIC_LVT_TIMER, LAPIC_TIMER_VECTOR); /* one-shot, unmasked */
    lapic_write(LAPIC_TIMER_INIT, 100000);            /* 100 us at a 1 GHz APIC clock */
    while (!lapic_ticks)
        irq_wait();
    printf("lapic timer fired\n");
    check(lapic_read(LAPIC_TIMER_CUR) == 0, "one-shot timer still counting after it fired");
}

static void test_pit(void)
{
    unsigned bsp = lapic_id();
    ioapic_route(PIT_GSI, PIT_VECTOR, bsp);

    lapic_ticks = 0;
    lapic_write(LAPIC_TIMER_DIV, TIMER_DIV_16);
    lapic_write(LAPIC_LVT_TIMER, LAPIC_TIMER_VECTOR | LVT_TIMER_PERIODIC);
    lapic_write(LAPIC_TIMER_INIT, 10000000); /* watchdog tick, ~160 ms at 1 GHz */

    outb(PIT_CMD, 0x30); /* channel 0, lobyte/hibyte, mode 0, binary */
    outb(PIT_CH0, PIT_1MS & 0xff);
    outb(PIT_CH0, PIT_1MS >> 8);

    uint64_t start = rdtsc();
    while (!pit_ticks && rdtsc() - start < TSC_TIMEOUT)
        irq_wait();
    lapic_write(LAPIC_TIMER_INIT, 0);
    ioapic_mask(PIT_GSI);
    if (check(pit_ticks, "no PIT interrupt on IOAPIC pin %u after %u watchdog ticks", PIT_GSI,
              lapic_ticks))
        printf("pit irq fired\n");
}

void guest_main(uint32_t magic, uint32_t info)
{
    (void)magic;
    (void)info;
    printf("timer guest\n");
    idt_set_handler(LAPIC_TIMER_VECTOR, lapic_timer_handler);
    idt_set_handler(PIT_VECTOR, pit_handler);
    idt_set_handler(SPURIOUS_VECTOR, spurious_handler);
    pic_disable();
    lapic_write(LAPIC_LVT_LINT0, LAPIC_LVT_MASKED); /* no virtual-wire ExtINT from the PIC */
    lapic_enable(SPURIOUS_VECTOR);
    test_lapic_timer();
    test_pit();
    printf("timer done\n");
}
