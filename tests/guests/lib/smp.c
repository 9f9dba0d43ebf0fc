/* Starting application processors: INIT, SIPI, SIPI through the ICR (Intel
 * SDM vol. 3, 8.4.4 "MP initialization example"), one AP at a time so they
 * can share one trampoline page and one "next stack" variable. */
#include "guest.h"

#define ICR_INIT   0x00000500u
#define ICR_SIPI   0x00000600u
#define ICR_ASSERT 0x00004000u

#define MAX_APS 63

extern char ap_tramp_start[], ap_tramp_end[];

/* Read by the trampoline (absolute addresses) and smp_ap_main(). */
uint64_t smp_ap_stack;
static volatile unsigned ap_index;
static volatile ap_entry_t ap_entry;
static volatile bool ap_checked_in;

static uint8_t ap_stacks[MAX_APS][AP_STACK_SIZE] __attribute__((aligned(16)));

void smp_ap_main(void);

void smp_ap_main(void)
{
    unsigned index = ap_index;
    ap_entry_t entry = ap_entry;
    idt_load();
    __atomic_store_n(&ap_checked_in, true, __ATOMIC_RELEASE);
    entry(index);
}

bool smp_start_ap(unsigned apic_id, unsigned cpu_index, ap_entry_t entry)
{
    if (cpu_index == 0 || cpu_index > MAX_APS) {
        printf("smp: cpu index %u out of range\n", cpu_index);
        return false;
    }
    memcpy((void *)(uintptr_t)AP_TRAMP_BASE, ap_tramp_start,
           (size_t)(ap_tramp_end - ap_tramp_start));
    smp_ap_stack = (uintptr_t)ap_stacks[cpu_index - 1] + AP_STACK_SIZE;
    ap_index = cpu_index;
    ap_entry = entry;
    __atomic_store_n(&ap_checked_in, false, __ATOMIC_RELEASE);

    /* The SDM's delays (10 ms after INIT, 200 us between SIPIs) are for
     * real hardware; a virtual LAPIC acts on each IPI at once, and a SIPI
     * that finds the AP already running is ignored. */
    if (!lapic_send_ipi(apic_id, ICR_INIT | ICR_ASSERT) ||
        !lapic_send_ipi(apic_id, ICR_SIPI | (AP_TRAMP_BASE >> 12)) ||
        !lapic_send_ipi(apic_id, ICR_SIPI | (AP_TRAMP_BASE >> 12))) {
        printf("smp: IPI to apic %u not delivered\n", apic_id);
        return false;
    }
    uint64_t start = rdtsc();
    while (!__atomic_load_n(&ap_checked_in, __ATOMIC_ACQUIRE)) {
        if (rdtsc() - start > TSC_TIMEOUT)
            return false;
        cpu_relax();
    }
    return true;
}
