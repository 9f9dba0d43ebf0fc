/* tsc-cpuid: the time stamp counter and CPUID. rdtsc never goes back (at
 * ring 0 and at ring 3), rdtscp returns TSC_AUX (where the CPU has it; the
 * ring3 guest has CR4.TSD). CPUID: a known vendor, sane
 * maximum leaves and address sizes, the features every x86-64 CPU Linux
 * runs on has, the initial APIC ID, the hypervisor leaf with the TSC and
 * bus frequencies. Only facts true on any correct CPU are printed, never
 * raw values that differ between CPUs (family, frequencies, feature sets). */
#include "guest.h"

#define MSR_TSC_AUX 0xc0000103

#define RING0_READS 100
#define RING3_READS 10000
#define TSC_AUX     0x1234

#define CPUID_RDTSCP (1u << 27) /* 0x80000001 EDX */

#define LEAF_HYPERVISOR 0x40000000u
#define LEAF_TIMING     0x40000010u /* EAX: TSC kHz, EBX: bus (LAPIC timer) kHz */

struct feature {
    const char *name;
    uint32_t leaf;
    unsigned reg; /* 2: ECX, 3: EDX */
    unsigned bit;
};

static const struct feature features[] = {
    {"fpu", 1, 3, 0},          {"tsc", 1, 3, 4},
    {"msr", 1, 3, 5},          {"pae", 1, 3, 6},
    {"cx8", 1, 3, 8},          {"apic", 1, 3, 9},
    {"pge", 1, 3, 13},         {"cmov", 1, 3, 15},
    {"pat", 1, 3, 16},         {"fxsr", 1, 3, 24},
    {"sse", 1, 3, 25},         {"sse2", 1, 3, 26},
    {"hypervisor", 1, 2, 31},  {"syscall", 0x80000001, 3, 11},
    {"nx", 0x80000001, 3, 20}, {"lm", 0x80000001, 3, 29},
};

static inline uint64_t rdtscp(uint32_t *aux)
{
    uint32_t lo, hi;
    __asm__ volatile("rdtscp" : "=a"(lo), "=d"(hi), "=c"(*aux));
    return ((uint64_t)hi << 32) | lo;
}

/* Reads the TSC n times; returns how often it went back. */
static uint64_t tsc_backsteps(uint64_t n)
{
    uint64_t back = 0, last = rdtsc();
    for (uint64_t i = 0; i < n; i++) {
        uint64_t t = rdtsc();
        back += t < last;
        last = t;
    }
    return back;
}

/* rdtscp's aux, or ~0 if it went back against rdtsc. */
static uint64_t user_rdtscp(uint64_t arg)
{
    (void)arg;
    uint32_t aux;
    uint64_t before = rdtsc();
    uint64_t t = rdtscp(&aux);
    return t >= before ? aux : ~0ULL;
}

static void test_tsc(void)
{
    uint64_t back = tsc_backsteps(RING0_READS);
    printf("rdtsc at ring 0, %u reads: went back %lu times\n", RING0_READS, back);
    check(!back, "the TSC went back at ring 0");
    back = user_run(tsc_backsteps, RING3_READS, 0x2);
    printf("rdtsc at ring 3, %u reads: went back %lu times\n", RING3_READS, back);
    check(!back, "the TSC went back at ring 3");

    /* Not every CPU has rdtscp (this host's KVM has not): the same line either way. */
    uint32_t r[4];
    cpuid(0x80000001, 0, r);
    bool has_rdtscp = r[3] & CPUID_RDTSCP, ok = true;
    if (has_rdtscp) {
        wrmsr(MSR_TSC_AUX, TSC_AUX);
        uint32_t aux;
        uint64_t before = rdtsc();
        uint64_t t = rdtscp(&aux);
        uint64_t user_aux = user_run(user_rdtscp, 0, 0x2);
        ok = aux == TSC_AUX && t >= before && user_aux == TSC_AUX && rdmsr(MSR_TSC_AUX) == TSC_AUX;
    }
    printf("rdtscp (if the CPU has it): TSC_AUX at ring 0 and 3 %s\n", ok ? "ok" : "wrong");
    check(ok, "rdtscp");
}

static void test_vendor_and_leaves(void)
{
    uint32_t r[4];
    cpuid(0, 0, r);
    char vendor[13];
    memcpy(vendor, &r[1], 4);
    memcpy(vendor + 4, &r[3], 4);
    memcpy(vendor + 8, &r[2], 4);
    vendor[12] = 0;
    bool known = !strcmp(vendor, "GenuineIntel") || !strcmp(vendor, "AuthenticAMD");
    printf("vendor %s\n", known ? "ok" : "unknown");
    check(known, "vendor \"%s\"", vendor);
    uint32_t max_basic = r[0];
    cpuid(0x80000000, 0, r);
    uint32_t max_ext = r[0];
    bool sane =
        max_basic >= 1 && max_basic < 0x100 && max_ext >= 0x80000008 && max_ext < 0x80000100;
    printf("max leaves: basic >= 1, extended >= 0x80000008: %s\n", sane ? "yes" : "no");
    check(sane, "max leaves 0x%x 0x%x", max_basic, max_ext);

    cpuid(0x80000008, 0, r);
    unsigned phys_bits = r[0] & 0xff, linear_bits = (r[0] >> 8) & 0xff;
    bool sizes = phys_bits >= 36 && phys_bits <= 52 && linear_bits == 48;
    printf("address sizes: physical 36-52 bits, linear 48: %s\n", sizes ? "yes" : "no");
    check(sizes, "address sizes %u/%u", phys_bits, linear_bits);

    cpuid(1, 0, r);
    unsigned apic_id = r[1] >> 24;
    printf("initial APIC ID %s the LAPIC's\n", apic_id == lapic_id() ? "matches" : "differs from");
    check(apic_id == lapic_id(), "CPUID APIC ID %u, LAPIC %u", apic_id, lapic_id());
}

static void test_features(void)
{
    unsigned missing = 0;
    printf("features:");
    for (size_t i = 0; i < sizeof(features) / sizeof(features[0]); i++) {
        const struct feature *f = &features[i];
        uint32_t r[4];
        cpuid(f->leaf, 0, r);
        bool has = r[f->reg] & (1u << f->bit);
        printf(" %s%s", f->name, has ? "" : " (missing)");
        missing += !has;
    }
    printf("\n");
    check(!missing, "%u feature(s) missing", missing);
}

static void test_hypervisor_leaves(void)
{
    uint32_t r[4];
    cpuid(LEAF_HYPERVISOR, 0, r);
    bool has_timing = r[0] >= LEAF_TIMING && r[0] < LEAF_HYPERVISOR + 0x100;
    uint32_t tsc_khz = 0, bus_khz = 0;
    if (has_timing) {
        cpuid(LEAF_TIMING, 0, r);
        tsc_khz = r[0];
        bus_khz = r[1];
    }
    printf("hypervisor leaf 0x%x: TSC and bus frequencies %s\n", LEAF_TIMING,
           tsc_khz && bus_khz ? "given" : "missing");
    check(tsc_khz && bus_khz, "leaf 0x%x: TSC %u kHz, bus %u kHz", LEAF_TIMING, tsc_khz, bus_khz);
}

void guest_main(uint32_t magic, uint32_t info)
{
    (void)magic;
    (void)info;
    printf("tsc-cpuid guest\n");
    user_init();
    test_vendor_and_leaves();
    test_features();
    test_hypervisor_leaves();
    test_tsc();
    printf("tsc-cpuid done\n");
}
