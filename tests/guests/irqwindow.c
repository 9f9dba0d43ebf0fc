/* irqwindow: an interrupt pending while IF is 0 is taken at the first
 * instruction boundary where IF is 1 and nothing inhibits it: after the one
 * instruction that follows sti (its shadow), right after a popf that sets
 * IF, and before the first instruction an iretq that sets IF returns to.
 * The interrupt is a LAPIC self-IPI, made pending (IRR) before IF is set.
 *
 * probe=irqwindow: the nested KVM of our hosts does not take the interrupt
 * at all in these windows (only at a later exit); this guest reports that
 * as a host defect there. (`sti; hlt`, which it gets right, is in the
 * exceptions guest.) */
#include "guest.h"

#define IPI_VECTOR      0x40
#define SPURIOUS_VECTOR 0xff

static void report(const char *what, uint64_t expected_rip)
{
    printf("%s: %lu interrupt(s), %s\n", what, self_ipi_count,
           self_ipi_rip == expected_rip ? "at the expected instruction" : "elsewhere");
    check(self_ipi_count == 1 && self_ipi_rip == expected_rip, "%s: taken at 0x%lx, expected 0x%lx",
          what, self_ipi_rip, expected_rip);
}

static void test_sti(void)
{
    uint64_t after;
    check(self_ipi_send(), "the self-IPI never became pending");
    __asm__ volatile("movq $1f, %0\n\tsti\n\tnop\n1:\tcli" : "=m"(after)::"memory");
    report("sti; nop", after);
}

static void test_popf(void)
{
    uint64_t after;
    check(self_ipi_send(), "the self-IPI never became pending");
    __asm__ volatile("movq $1f, %0\n\tpushq %1\n\tpopfq\n1:\tcli"
                     : "=m"(after)
                     : "i"(0x2 | EFLAGS_IF)
                     : "memory", "cc");
    report("popf setting IF", after);
}

static void test_iretq(void)
{
    uint64_t target;
    check(self_ipi_send(), "the self-IPI never became pending");
    __asm__ volatile("movq $1f, %0\n\t"
                     "movq %%rsp, %%rax\n\t"
                     "pushq %1\n\t"
                     "pushq %%rax\n\t"
                     "pushq %2\n\t"
                     "pushq %3\n\t"
                     "pushq $1f\n\t"
                     "iretq\n"
                     "1:\tcli"
                     : "=m"(target)
                     : "i"(GUEST_DS), "i"(0x2 | EFLAGS_IF), "i"(GUEST_CS64)
                     : "rax", "memory", "cc");
    report("iretq setting IF", target);
}

void guest_main(uint32_t magic, uint32_t info)
{
    (void)magic;
    (void)info;
    printf("irqwindow guest\n");
    self_ipi_init(IPI_VECTOR, SPURIOUS_VECTOR);
    test_sti();
    test_popf();
    test_iretq();
    if (guest_failures)
        guest_host_defect("pending interrupts not taken when IF becomes 1 (%u check(s) failed)",
                          guest_failures);
    printf("irqwindow done\n");
}
