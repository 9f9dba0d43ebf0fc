/* smp: find the CPUs in the ACPI MADT (and check the MP table agrees),
 * start every AP with INIT-SIPI-SIPI; each AP records its APIC id and
 * atomically bumps a counter. Run with --smp 2 (works for any count). */
#include "guest.h"

static volatile unsigned ap_count;
static volatile bool ap_seen[256]; /* by APIC id */

static void ap_main(unsigned cpu_index)
{
    (void)cpu_index;
    ap_seen[lapic_id()] = true;
    __atomic_fetch_add(&ap_count, 1, __ATOMIC_SEQ_CST);
    for (;;)
        __asm__ volatile("cli; hlt");
}

static void sort_ids(struct cpu_list *l)
{
    for (unsigned i = 1; i < l->count; i++)
        for (unsigned j = i; j > 0 && l->apic_id[j - 1] > l->apic_id[j]; j--) {
            uint8_t t = l->apic_id[j];
            l->apic_id[j] = l->apic_id[j - 1];
            l->apic_id[j - 1] = t;
        }
}

static bool same_cpus(struct cpu_list *a, struct cpu_list *b)
{
    sort_ids(a);
    sort_ids(b);
    return a->count == b->count && memcmp(a->apic_id, b->apic_id, a->count) == 0;
}

void guest_main(uint32_t magic, uint32_t info)
{
    (void)magic;
    (void)info;
    printf("smp guest\n");
    struct cpu_list madt, mp;
    if (!check(acpi_madt_cpus(&madt), "no CPUs from the MADT"))
        return;
    printf("madt: %u cpus\n", madt.count);
    if (check(mptable_cpus(&mp), "no CPUs from the MP table")) {
        printf("mp table: %u cpus\n", mp.count);
        check(same_cpus(&madt, &mp), "the MADT and the MP table list different CPUs");
    }
    sort_ids(&madt);

    unsigned bsp = lapic_id();
    bool bsp_listed = false;
    for (unsigned i = 0; i < madt.count; i++)
        bsp_listed |= madt.apic_id[i] == bsp;
    check(bsp_listed, "the BSP (apic id %u) is not in the MADT", bsp);
    printf("cpus: %u\n", madt.count);

    lapic_enable(0xff);
    unsigned started = 0;
    for (unsigned i = 0; i < madt.count; i++) {
        unsigned id = madt.apic_id[i];
        if (id == bsp)
            continue;
        if (check(smp_start_ap(id, started + 1, ap_main), "ap %u did not start", id))
            started++;
    }
    uint64_t t0 = rdtsc();
    while (__atomic_load_n(&ap_count, __ATOMIC_SEQ_CST) < started && rdtsc() - t0 < TSC_TIMEOUT)
        cpu_relax();
    for (unsigned i = 0; i < madt.count; i++) {
        unsigned id = madt.apic_id[i];
        if (id != bsp && ap_seen[id])
            printf("ap %u up\n", id);
    }
    check(ap_count == madt.count - 1, "%u of %u APs checked in", ap_count, madt.count - 1);
    printf("smp done\n");
}
