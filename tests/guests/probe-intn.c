/* probe-intn: a software interrupt (`int $0x40`) at ring 0. The runner runs
 * it first on each accelerator: on a host whose KVM ends it in an internal
 * error it learns that guests marked needs=intn must be skipped there. */
#include "guest.h"

#define PROBE_VECTOR 0x40

static volatile bool handled;

static void probe_handler(struct irq_frame *f)
{
    (void)f;
    handled = true;
    printf("int n ok\n");
}

void guest_main(uint32_t magic, uint32_t info)
{
    (void)magic;
    (void)info;
    idt_set_handler(PROBE_VECTOR, probe_handler);
    printf("probe-intn: int $0x%x\n", PROBE_VECTOR);
    __asm__ volatile("int %0" ::"i"(PROBE_VECTOR) : "memory");
    check(handled, "the handler did not run");
    printf("probe-intn done\n");
}
