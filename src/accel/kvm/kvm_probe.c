/* Does /dev/kvm run guest ring-0 code at hardware speed? (--accel auto)
 *
 * Some hosts offer a /dev/kvm that is a software hypervisor underneath
 * (nested setups such as kvm_pvm emulate guest ring-0 code, at about a
 * microsecond per instruction): a kernel boots there far slower than under
 * xuni's own CPU. No host list decides; a throwaway VM runs a short ring-0
 * loop (32-bit protected mode, paging off) and the time per instruction
 * does. On real KVM the loop takes well under a millisecond.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "accel/kvm/kvm_internal.h"

#define PROBE_ITERATIONS 20000u
#define PROBE_INSNS      (2u * PROBE_ITERATIONS) /* dec + jnz */
#define PROBE_MEM        0x10000u
#define PROBE_CODE       0x1000u
/* Slower than this per instruction is not hardware speed (real KVM: below
 * a nanosecond; software hypervisors: hundreds). */
#define PROBE_LIMIT_NS 20.0

static double now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e9 + ts.tv_nsec;
}

/* mov ecx, N; 1: dec ecx; jnz 1b; hlt */
static const uint8_t probe_code[] = {
    0xb9, PROBE_ITERATIONS & 0xff, (PROBE_ITERATIONS >> 8) & 0xff, 0, 0, 0x49, 0x75, 0xfd, 0xf4,
};

static int probe_setup(int vm, int cpu, uint8_t *mem)
{
    struct kvm_userspace_memory_region region = {.slot = 0,
                                                 .guest_phys_addr = 0,
                                                 .memory_size = PROBE_MEM,
                                                 .userspace_addr = (uintptr_t)mem};
    if (ioctl(vm, KVM_SET_USER_MEMORY_REGION, &region) < 0)
        return -errno;
    memcpy(mem + PROBE_CODE, probe_code, sizeof(probe_code));
    struct kvm_sregs s;
    if (ioctl(cpu, KVM_GET_SREGS, &s) < 0)
        return -errno;
    struct kvm_segment flat = {.base = 0,
                               .limit = 0xffffffff,
                               .selector = 0x10,
                               .type = 3,
                               .present = 1,
                               .dpl = 0,
                               .db = 1,
                               .s = 1,
                               .g = 1};
    s.ds = s.es = s.fs = s.gs = s.ss = flat;
    flat.type = 11;
    flat.selector = 0x8;
    s.cs = flat;
    s.cr0 = 0x11; /* PE, ET */
    if (ioctl(cpu, KVM_SET_SREGS, &s) < 0)
        return -errno;
    struct kvm_regs r = {.rip = PROBE_CODE, .rflags = 2, .rsp = PROBE_MEM - 16};
    if (ioctl(cpu, KVM_SET_REGS, &r) < 0)
        return -errno;
    return 0;
}

/* Nanoseconds per ring-0 instruction, or a negative errno. */
static double probe_run(int kvm, char *why, size_t len)
{
    double result = -1;
    int vm = ioctl(kvm, KVM_CREATE_VM, 0);
    if (vm < 0) {
        snprintf(why, len, "KVM_CREATE_VM: %s", strerror(errno));
        return -1;
    }
    int cpu = ioctl(vm, KVM_CREATE_VCPU, 0);
    long run_size = ioctl(kvm, KVM_GET_VCPU_MMAP_SIZE, 0);
    uint8_t *mem =
        mmap(NULL, PROBE_MEM, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    struct kvm_run *run = MAP_FAILED;
    if (cpu >= 0 && run_size > 0)
        run = mmap(NULL, (size_t)run_size, PROT_READ | PROT_WRITE, MAP_SHARED, cpu, 0);
    int r;
    if (cpu < 0 || mem == MAP_FAILED || run == MAP_FAILED) {
        snprintf(why, len, "cannot create the probe VM: %s", strerror(errno));
    } else if ((r = probe_setup(vm, cpu, mem)) < 0) {
        snprintf(why, len, "cannot set up the probe VM: %s", strerror(-r));
    } else {
        double t0 = now_ns();
        r = ioctl(cpu, KVM_RUN, 0);
        double t1 = now_ns();
        if (r < 0)
            snprintf(why, len, "KVM_RUN: %s", strerror(errno));
        else if (run->exit_reason != KVM_EXIT_HLT)
            snprintf(why, len, "the probe VM stopped with exit reason %u, not HLT",
                     run->exit_reason);
        else
            result = (t1 - t0) / PROBE_INSNS;
    }
    if (run != MAP_FAILED)
        munmap(run, (size_t)run_size);
    if (mem != MAP_FAILED)
        munmap(mem, PROBE_MEM);
    if (cpu >= 0)
        close(cpu);
    close(vm);
    return result;
}

bool kvm_runs_at_hardware_speed(char *why, size_t len)
{
    int kvm = open(kvm_device_path(), O_RDWR | O_CLOEXEC);
    if (kvm < 0) {
        snprintf(why, len, "%s: %s", kvm_device_path(), strerror(errno));
        return false;
    }
    double ns = probe_run(kvm, why, len);
    close(kvm);
    if (ns < 0)
        return false;
    if (ns > PROBE_LIMIT_NS) {
        snprintf(why, len,
                 "%s runs guest ring-0 code at %.2f us per instruction (a nested or software "
                 "hypervisor)",
                 kvm_device_path(), ns / 1000);
        return false;
    }
    snprintf(why, len, "%s runs guest ring-0 code at %.1f ns per instruction", kvm_device_path(),
             ns);
    return true;
}
