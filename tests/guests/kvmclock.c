/* kvmclock, the paravirtual clock both accelerators give (KVM's own under
 * kvm, xuni's under emu): the "KVMKVMKVM" leaves with CLOCKSOURCE2, a
 * pvclock time page enabled through MSR_KVM_SYSTEM_TIME_NEW that counts
 * forward at the rate of the TSC, the wall clock page, and a guest write
 * to the TSC: the clock must not jump, so the hypervisor has to refresh
 * the page (tsc_timestamp) when the TSC is set. */
#include "guest.h"

#define LEAF_KVM_SIGNATURE       0x40000000u
#define LEAF_KVM_FEATURES        0x40000001u
#define KVM_FEATURE_CLOCKSOURCE2 (1u << 3)

#define MSR_TSC                 0x10
#define MSR_KVM_WALL_CLOCK_NEW  0x4b564d00
#define MSR_KVM_SYSTEM_TIME_NEW 0x4b564d01

#define NS_PER_S 1000000000ull

struct pvclock_time_info {
    uint32_t version, pad0;
    uint64_t tsc_timestamp, system_time;
    uint32_t tsc_to_system_mul;
    int8_t tsc_shift;
    uint8_t flags, pad[2];
} __attribute__((packed));

struct pvclock_wall_clock {
    uint32_t version, sec, nsec;
} __attribute__((packed));

static volatile struct pvclock_time_info ti __attribute__((aligned(64)));
static volatile struct pvclock_wall_clock wc __attribute__((aligned(16)));

/* The guest's system time in ns, as Linux's pvclock_clocksource_read(). */
static uint64_t pvclock_ns(void)
{
    uint32_t version;
    uint64_t ns;
    do {
        version = ti.version;
        __asm__ volatile("lfence" ::: "memory");
        uint64_t delta = rdtsc() - ti.tsc_timestamp;
        int8_t shift = ti.tsc_shift;
        delta = shift < 0 ? delta >> -shift : delta << shift;
        ns = ti.system_time + (uint64_t)(((unsigned __int128)delta * ti.tsc_to_system_mul) >> 32);
        __asm__ volatile("lfence" ::: "memory");
    } while ((version & 1) || version != ti.version);
    return ns;
}

static bool kvm_leaves(void)
{
    uint32_t r[4];
    cpuid(LEAF_KVM_SIGNATURE, 0, r);
    char sig[13];
    for (unsigned i = 0; i < 4; i++) {
        sig[i] = (char)(r[1] >> (8 * i));
        sig[4 + i] = (char)(r[2] >> (8 * i));
        sig[8 + i] = (char)(r[3] >> (8 * i));
    }
    sig[12] = 0;
    const char *want = "KVMKVMKVM";
    bool same = true;
    for (unsigned i = 0; i < 10; i++) /* with the NUL after it */
        same &= sig[i] == want[i];
    if (!check(same, "signature '%s'", sig))
        return false;
    cpuid(LEAF_KVM_FEATURES, 0, r);
    return check(r[0] & KVM_FEATURE_CLOCKSOURCE2, "no CLOCKSOURCE2: features 0x%x", r[0]);
}

/* About ms milliseconds by the pvclock. */
static void wait_ms(unsigned ms)
{
    uint64_t until = pvclock_ns() + ms * 1000000ull;
    while (pvclock_ns() < until)
        cpu_relax();
}

void guest_main(uint32_t magic, uint32_t info)
{
    (void)magic;
    (void)info;
    if (!kvm_leaves())
        guest_finish();
    printf("KVMKVMKVM leaves with CLOCKSOURCE2\n");

    wrmsr(MSR_KVM_SYSTEM_TIME_NEW, (uint64_t)&ti | 1);
    check(ti.version && !(ti.version & 1), "time page version %u", ti.version);
    check(ti.tsc_to_system_mul != 0, "no TSC multiplier");
    uint64_t t0 = pvclock_ns();
    wait_ms(20);
    uint64_t t1 = pvclock_ns();
    if (check(t1 - t0 >= 20000000 && t1 - t0 < NS_PER_S, "20 ms took %lu ns", t1 - t0))
        printf("the time page counts forward\n");

    wrmsr(MSR_KVM_WALL_CLOCK_NEW, (uint64_t)&wc);
    /* Boot time: after 2020-01-01 and not in the future by a year. */
    if (check(wc.version && !(wc.version & 1) && wc.sec > 1577836800u && wc.sec < 4102444800u,
              "wall clock version %u, %u s", wc.version, wc.sec))
        printf("the wall clock page holds a plausible boot time\n");

    /* Set the TSC an hour ahead, then back to 0: the clock goes on from
     * where it was, give or take the time the writes took. */
    uint64_t before = pvclock_ns();
    wrmsr(MSR_TSC, rdtsc() + 3600 * NS_PER_S);
    uint64_t ahead = pvclock_ns();
    wrmsr(MSR_TSC, 0);
    uint64_t reset = pvclock_ns();
    bool ok = check(ahead >= before && ahead - before < NS_PER_S,
                    "after setting the TSC ahead: %lu ns -> %lu ns", before, ahead);
    ok &= check(reset >= ahead && reset - ahead < NS_PER_S,
                "after setting the TSC to 0: %lu ns -> %lu ns", ahead, reset);
    if (ok)
        printf("writing the TSC does not move the clock\n");
    wrmsr(MSR_KVM_SYSTEM_TIME_NEW, 0);
    guest_finish();
}
