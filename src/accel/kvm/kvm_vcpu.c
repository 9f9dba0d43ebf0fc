/* kvm vCPUs: creation, CPUID, the boot state, and the run loop (one host
 * thread each; the board creates the threads). */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "accel/kvm/kvm_exit.h"
#include "accel/kvm/kvm_internal.h"
#include "util/log.h"
#include "vm/vm.h"

#define CPUID_HYPERVISOR_BIT (1u << 31)  /* leaf 1 ECX */
#define CPUID_TIMING_LEAF    0x40000010u /* TSC and bus (LAPIC timer) frequency in kHz */
#define KVM_LAPIC_BUS_KHZ    1000000u    /* KVM's LAPIC timer counts nanoseconds */

static struct kvm_cpuid_entry2 *cpuid_find(struct kvm_cpuid2 *c, uint32_t fn, uint32_t index)
{
    for (uint32_t i = 0; i < c->nent; i++)
        if (c->entries[i].function == fn && c->entries[i].index == index)
            return &c->entries[i];
    return NULL;
}

/* KVM's supported CPUID with this vCPU's APIC ID, the hypervisor bit, and
 * the timing leaf so guests need not calibrate the TSC or LAPIC timer. */
int kvm_vcpu_setup_cpuid(struct accel_vcpu *v)
{
    struct kvm_cpuid2 *src = v->kvm->cpuid;
    struct kvm_cpuid2 *c = malloc(sizeof(*c) + (src->nent + 1) * sizeof(c->entries[0]));
    if (!c)
        return -ENOMEM;
    memcpy(c, src, sizeof(*c) + src->nent * sizeof(c->entries[0]));
    uint32_t apic_id = v->index;
    for (uint32_t i = 0; i < c->nent; i++) {
        struct kvm_cpuid_entry2 *e = &c->entries[i];
        switch (e->function) {
        case 1:
            e->ebx = (e->ebx & 0x00ffffff) | (apic_id << 24);
            e->ecx |= CPUID_HYPERVISOR_BIT;
            break;
        case 0xb:
        case 0x1f:
            e->edx = apic_id;
            break;
        case 0x8000001e:
            e->eax = apic_id;
            break;
        }
    }
    int tsc_khz = ioctl(v->fd, KVM_GET_TSC_KHZ, 0);
    struct kvm_cpuid_entry2 *sig = cpuid_find(c, 0x40000000, 0);
    if (sig && tsc_khz > 0 && !cpuid_find(c, CPUID_TIMING_LEAF, 0)) {
        if (sig->eax < CPUID_TIMING_LEAF)
            sig->eax = CPUID_TIMING_LEAF;
        c->entries[c->nent++] = (struct kvm_cpuid_entry2){
            .function = CPUID_TIMING_LEAF, .eax = (uint32_t)tsc_khz, .ebx = KVM_LAPIC_BUS_KHZ};
    }
    int r = ioctl(v->fd, KVM_SET_CPUID2, c) < 0 ? -errno : 0;
    if (r < 0)
        log_error("kvm: KVM_SET_CPUID2 on vCPU %u: %s", v->index, strerror(-r));
    free(c);
    return r;
}

int kvm_vcpu_create(struct vm *vm, unsigned index, struct accel_vcpu **out)
{
    struct kvm_state *k = vm->accel_state;
    struct accel_vcpu *v = calloc(1, sizeof(*v));
    if (!v)
        return -ENOMEM;
    v->vm = vm;
    v->kvm = k;
    v->index = index;
    v->fd = ioctl(k->vm_fd, KVM_CREATE_VCPU, (unsigned long)index);
    if (v->fd < 0) {
        int err = errno;
        log_error("kvm: cannot create vCPU %u: %s", index, strerror(err));
        free(v);
        return -err;
    }
    v->run = mmap(NULL, k->run_size, PROT_READ | PROT_WRITE, MAP_SHARED, v->fd, 0);
    int r = v->run == MAP_FAILED ? -errno : kvm_vcpu_setup_cpuid(v);
    if (r < 0) {
        if (v->run != MAP_FAILED)
            munmap(v->run, k->run_size);
        close(v->fd);
        free(v);
        return r;
    }
    *out = v;
    return 0;
}

static void seg_to_kvm(struct kvm_segment *d, const struct boot_segment *s)
{
    *d = (struct kvm_segment){
        .base = s->base,
        .limit = s->limit,
        .selector = s->selector,
        .type = s->type,
        .present = s->present,
        .dpl = s->dpl,
        .db = s->db,
        .s = s->s,
        .l = s->l,
        .g = s->g,
    };
}

static void seg_from_kvm(struct boot_segment *d, const struct kvm_segment *s)
{
    *d = (struct boot_segment){
        .base = s->base,
        .limit = s->limit,
        .selector = s->selector,
        .type = s->type,
        .present = s->present,
        .dpl = s->dpl,
        .db = s->db,
        .s = s->s,
        .l = s->l,
        .g = s->g,
    };
}

int kvm_vcpu_reset(struct accel_vcpu *v, const struct boot_entry *e)
{
    if (!e)
        return 0; /* an AP: KVM's LAPIC holds it until INIT/SIPI */
    struct kvm_sregs sregs;
    if (ioctl(v->fd, KVM_GET_SREGS, &sregs) < 0)
        return -errno;
    seg_to_kvm(&sregs.cs, &e->cs);
    seg_to_kvm(&sregs.ds, &e->ds);
    sregs.es = sregs.fs = sregs.gs = sregs.ss = sregs.ds;
    sregs.gdt.base = e->gdt_base;
    sregs.gdt.limit = e->gdt_limit;
    sregs.cr0 = e->cr0;
    sregs.cr3 = e->cr3;
    sregs.cr4 = e->cr4;
    sregs.efer = e->efer;
    if (ioctl(v->fd, KVM_SET_SREGS, &sregs) < 0)
        return -errno;
    struct kvm_regs regs = {
        .rip = e->rip, .rsp = e->rsp, .rax = e->rax, .rbx = e->rbx, .rsi = e->rsi, .rflags = 2};
    if (ioctl(v->fd, KVM_SET_REGS, &regs) < 0)
        return -errno;
    return 0;
}

int kvm_vcpu_get_regs(struct accel_vcpu *v, struct accel_regs *out)
{
    struct kvm_regs r;
    struct kvm_sregs s;
    if (ioctl(v->fd, KVM_GET_REGS, &r) < 0 || ioctl(v->fd, KVM_GET_SREGS, &s) < 0)
        return -errno;
    *out = (struct accel_regs){
        .rax = r.rax,
        .rbx = r.rbx,
        .rcx = r.rcx,
        .rdx = r.rdx,
        .rsi = r.rsi,
        .rdi = r.rdi,
        .rbp = r.rbp,
        .rsp = r.rsp,
        .r8 = r.r8,
        .r9 = r.r9,
        .r10 = r.r10,
        .r11 = r.r11,
        .r12 = r.r12,
        .r13 = r.r13,
        .r14 = r.r14,
        .r15 = r.r15,
        .rip = r.rip,
        .rflags = r.rflags,
        .cr0 = s.cr0,
        .cr2 = s.cr2,
        .cr3 = s.cr3,
        .cr4 = s.cr4,
        .cr8 = s.cr8,
        .efer = s.efer,
        .gdt_base = s.gdt.base,
        .gdt_limit = s.gdt.limit,
        .idt_base = s.idt.base,
        .idt_limit = s.idt.limit,
    };
    seg_from_kvm(&out->cs, &s.cs);
    seg_from_kvm(&out->ds, &s.ds);
    seg_from_kvm(&out->es, &s.es);
    seg_from_kvm(&out->fs, &s.fs);
    seg_from_kvm(&out->gs, &s.gs);
    seg_from_kvm(&out->ss, &s.ss);
    seg_from_kvm(&out->tr, &s.tr);
    seg_from_kvm(&out->ldt, &s.ldt);
    return 0;
}

static void vcpu_stop(void *opaque, int status, const char *why)
{
    struct accel_vcpu *v = opaque;
    vm_request_exit(v->vm, status, why);
}

static void vcpu_dump(void *opaque)
{
    struct accel_vcpu *v = opaque;
    struct accel_regs regs;
    if (kvm_vcpu_get_regs(v, &regs) == 0)
        accel_dump_regs(&regs);
}

int kvm_vcpu_run(struct accel_vcpu *v)
{
    const struct kvm_exit_env env = {
        .pio = &v->vm->pio,
        .mmio = &v->vm->mmio,
        .vcpu_index = v->index,
        .stop = vcpu_stop,
        .dump_regs = vcpu_dump,
        .opaque = v,
    };
    v->thread = pthread_self();
    __atomic_store_n(&v->running, true, __ATOMIC_RELEASE);
    while (!vm_exit_requested(v->vm)) {
        if (ioctl(v->fd, KVM_RUN, 0) < 0) {
            if (errno == EINTR || errno == EAGAIN) {
                __atomic_store_n(&v->run->immediate_exit, 0, __ATOMIC_RELAXED);
                continue;
            }
            int err = errno;
            log_error("vCPU %u: KVM_RUN: %s", v->index, strerror(err));
            vm_request_exit(v->vm, KVM_EXIT_STATUS_FATAL, "KVM_RUN failed");
            return -err;
        }
        if (kvm_handle_exit(&env, v->run) == KVM_EXIT_ACTION_STOP)
            break;
    }
    return 0;
}

void kvm_vcpu_kick(struct accel_vcpu *v)
{
    /* immediate_exit covers a kick that lands just before KVM_RUN; the signal
     * one that lands while the vCPU is inside it. */
    __atomic_store_n(&v->run->immediate_exit, 1, __ATOMIC_RELEASE);
    if (__atomic_load_n(&v->running, __ATOMIC_ACQUIRE))
        pthread_kill(v->thread, SIGUSR1);
}
