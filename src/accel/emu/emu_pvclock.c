/* kvmclock under emu: the paravirtual clock a Linux guest finds on KVM,
 * provided by xuni so the same guest needs no calibration on either
 * accelerator (Documentation/virt/kvm/x86/msr.rst, cpuid.rst).
 *
 * CPUID 0x40000000 says "KVMKVMKVM" and 0x40000001 offers the clock
 * (CLOCKSOURCE, CLOCKSOURCE2, the stable bit) and NOP_IO_DELAY, nothing
 * else; 0x40000010 keeps the TSC and bus frequencies. The guest names a
 * struct pvclock_vcpu_time_info per vCPU with MSR_KVM_SYSTEM_TIME_NEW and
 * asks for the boot time with MSR_KVM_WALL_CLOCK_NEW. The TSC counts host
 * nanoseconds, so the scale is 1:1 (shift 1, multiplier 2^31) and one
 * snapshot stays right forever: it is written once per MSR write.
 */
#include <string.h>
#include <time.h>

#include "accel/emu/emu_internal.h"
#include "util/log.h"
#include "vm/vm.h"

#define MSR_KVM_WALL_CLOCK_NEW  0x4b564d00
#define MSR_KVM_SYSTEM_TIME_NEW 0x4b564d01
#define MSR_KVM_WALL_CLOCK      0x11
#define MSR_KVM_SYSTEM_TIME     0x12

#define KVM_FEATURE_CLOCKSOURCE        (1u << 0)
#define KVM_FEATURE_NOP_IO_DELAY       (1u << 1)
#define KVM_FEATURE_CLOCKSOURCE2       (1u << 3)
#define KVM_FEATURE_CLOCKSOURCE_STABLE (1u << 24)
#define PVCLOCK_TSC_STABLE_BIT         (1u << 0)

struct pvclock_time_info {
    uint32_t version;
    uint32_t pad0;
    uint64_t tsc_timestamp;
    uint64_t system_time;
    uint32_t tsc_to_system_mul;
    int8_t tsc_shift;
    uint8_t flags;
    uint8_t pad[2];
};

struct pvclock_wall_clock {
    uint32_t version;
    uint32_t sec;
    uint32_t nsec;
};

void emu_pvclock_cpuid(uint32_t leaf, uint32_t out[4])
{
    switch (leaf) {
    case 0x40000000:
        out[0] = 0x40000010; /* the timing leaf stays reachable */
        memcpy(&out[1], "KVMK", 4);
        memcpy(&out[2], "VMKV", 4);
        memcpy(&out[3], "M\0\0\0", 4);
        break;
    case 0x40000001:
        out[0] = KVM_FEATURE_CLOCKSOURCE | KVM_FEATURE_CLOCKSOURCE2 | KVM_FEATURE_NOP_IO_DELAY |
                 KVM_FEATURE_CLOCKSOURCE_STABLE;
        out[1] = out[2] = out[3] = 0;
        break;
    }
}

/* Guest system time: nanoseconds since the VM started. */
static uint64_t system_ns(const struct emu_state *emu)
{
    return emu_host_ns() - emu->start_ns;
}

static int write_time_info(struct accel_vcpu *v, uint64_t gpa)
{
    void *p = guest_memory_ptr(&v->vm->mem, gpa, sizeof(struct pvclock_time_info));
    if (!p)
        return 0; /* outside RAM: as KVM, nothing is written */
    uint64_t now = emu_host_ns();
    struct pvclock_time_info t = {
        .version = 2,
        .tsc_timestamp = now + v->cpu.tsc_offset,
        .system_time = now - v->emu->start_ns,
        .tsc_to_system_mul = 1u << 31,
        .tsc_shift = 1,
        .flags = PVCLOCK_TSC_STABLE_BIT,
    };
    memcpy(p, &t, sizeof(t));
    return 0;
}

static int write_wall_clock(struct accel_vcpu *v, uint64_t gpa)
{
    void *p = guest_memory_ptr(&v->vm->mem, gpa, sizeof(struct pvclock_wall_clock));
    if (!p)
        return 0;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    /* The wall time at system time 0. */
    uint64_t wall = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec - system_ns(v->emu);
    struct pvclock_wall_clock w = {.version = 2,
                                   .sec = (uint32_t)(wall / 1000000000u),
                                   .nsec = (uint32_t)(wall % 1000000000u)};
    memcpy(p, &w, sizeof(w));
    return 0;
}

bool emu_pvclock_msr(uint32_t msr)
{
    return msr == MSR_KVM_WALL_CLOCK_NEW || msr == MSR_KVM_SYSTEM_TIME_NEW ||
           msr == MSR_KVM_WALL_CLOCK || msr == MSR_KVM_SYSTEM_TIME;
}

int emu_pvclock_rdmsr(struct accel_vcpu *v, uint32_t msr, uint64_t *value)
{
    *value = msr == MSR_KVM_SYSTEM_TIME_NEW || msr == MSR_KVM_SYSTEM_TIME ? v->pvclock_msr : 0;
    return 0;
}

void emu_pvclock_tsc_written(struct accel_vcpu *v)
{
    if (v->pvclock_msr & 1)
        write_time_info(v, v->pvclock_msr & ~1ull);
}

int emu_pvclock_wrmsr(struct accel_vcpu *v, uint32_t msr, uint64_t value)
{
    if (msr == MSR_KVM_WALL_CLOCK_NEW || msr == MSR_KVM_WALL_CLOCK)
        return write_wall_clock(v, value);
    v->pvclock_msr = value;
    if (value & 1)
        return write_time_info(v, value & ~1ull);
    return 0;
}
