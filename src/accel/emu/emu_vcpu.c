/* The emu accelerator's vCPUs: the CPU library's system hooks (memory,
 * MMIO, ports, APIC MSRs, interrupt acknowledge), the boot state, INIT and
 * SIPI, and the round-robin run loop (emu_internal.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "accel/emu/emu_internal.h"
#include "hw/lapic.h"
#include "hw/pic.h"
#include "util/log.h"
#include "util/timer.h"
#include "vm/layout.h"
#include "vm/vm.h"

#define EMU_EXIT_STATUS_FATAL 4 /* as the kvm accelerator: a fatal guest event */

/* --- the CPU's hooks --- */

static void *hook_ram_ptr(void *ctx, uint64_t gpa)
{
    struct accel_vcpu *v = ctx;
    return guest_memory_ptr(&v->vm->mem, gpa, 1);
}

static bool in_lapic(struct accel_vcpu *v, uint64_t gpa, uint64_t *off)
{
    uint64_t base = lapic_mmio_base(v->lapic);
    if (base == LAPIC_NO_MMIO || gpa < base || gpa - base >= LAPIC_PAGE_SIZE)
        return false;
    *off = gpa - base;
    return true;
}

static uint64_t hook_mmio_read(void *ctx, uint64_t gpa, unsigned size)
{
    struct accel_vcpu *v = ctx;
    uint64_t off;
    if (in_lapic(v, gpa, &off)) {
        pthread_mutex_lock(&v->vm->device_lock);
        uint64_t r = lapic_mmio_ops.read(v->lapic, off, size);
        pthread_mutex_unlock(&v->vm->device_lock);
        return r;
    }
    return bus_read(&v->vm->mmio, gpa, size);
}

static void hook_mmio_write(void *ctx, uint64_t gpa, unsigned size, uint64_t value)
{
    struct accel_vcpu *v = ctx;
    uint64_t off;
    if (in_lapic(v, gpa, &off)) {
        pthread_mutex_lock(&v->vm->device_lock);
        lapic_mmio_ops.write(v->lapic, off, size, value);
        pthread_mutex_unlock(&v->vm->device_lock);
        return;
    }
    bus_write(&v->vm->mmio, gpa, size, value);
}

static uint32_t hook_pio_in(void *ctx, uint16_t port, unsigned size)
{
    struct accel_vcpu *v = ctx;
    return (uint32_t)bus_read(&v->vm->pio, port, size);
}

static void hook_pio_out(void *ctx, uint16_t port, unsigned size, uint32_t value)
{
    struct accel_vcpu *v = ctx;
    bus_write(&v->vm->pio, port, size, value);
}

static int hook_rdmsr(void *ctx, uint32_t msr, uint64_t *value)
{
    struct accel_vcpu *v = ctx;
    if (emu_pvclock_msr(msr))
        return emu_pvclock_rdmsr(v, msr, value);
    if (!lapic_msr_is_apic(msr))
        return -1;
    pthread_mutex_lock(&v->vm->device_lock);
    int r = lapic_rdmsr(v->lapic, msr, value);
    pthread_mutex_unlock(&v->vm->device_lock);
    return r == LAPIC_GP ? -1 : 0;
}

static int hook_wrmsr(void *ctx, uint32_t msr, uint64_t value)
{
    struct accel_vcpu *v = ctx;
    if (emu_pvclock_msr(msr))
        return emu_pvclock_wrmsr(v, msr, value);
    if (!lapic_msr_is_apic(msr))
        return -1;
    pthread_mutex_lock(&v->vm->device_lock);
    int r = lapic_wrmsr(v->lapic, msr, value);
    pthread_mutex_unlock(&v->vm->device_lock);
    return r == LAPIC_GP ? -1 : 0;
}

/* Does the LAPIC have something for the CPU? Device lock held. */
static void update_pending(struct accel_vcpu *v)
{
    int p = lapic_pending(v->lapic);
    __atomic_store_n(&v->cpu.irq_pending, p != LAPIC_NONE, __ATOMIC_RELEASE);
}

static int hook_intr_ack(void *ctx)
{
    struct accel_vcpu *v = ctx;
    pthread_mutex_lock(&v->vm->device_lock);
    int vec = lapic_pending(v->lapic) == LAPIC_NONE ? -1 : lapic_ack(v->lapic);
    if (vec == LAPIC_EXTINT)
        vec = pic_ack(v->emu->pic);
    update_pending(v);
    pthread_mutex_unlock(&v->vm->device_lock);
    return vec;
}

static uint64_t hook_get_cr8(void *ctx)
{
    struct accel_vcpu *v = ctx;
    pthread_mutex_lock(&v->vm->device_lock);
    uint64_t r = lapic_get_cr8(v->lapic);
    pthread_mutex_unlock(&v->vm->device_lock);
    return r;
}

static void hook_set_cr8(void *ctx, uint64_t value)
{
    struct accel_vcpu *v = ctx;
    pthread_mutex_lock(&v->vm->device_lock);
    lapic_set_cr8(v->lapic, value);
    update_pending(v);
    pthread_mutex_unlock(&v->vm->device_lock);
}

static uint64_t hook_tsc(void *ctx)
{
    (void)ctx;
    return emu_host_ns();
}

static void hook_tsc_written(void *ctx)
{
    emu_pvclock_tsc_written(ctx);
}

static void hook_cpuid(void *ctx, uint32_t leaf, uint32_t subleaf, uint32_t out[4])
{
    (void)ctx;
    (void)subleaf;
    emu_pvclock_cpuid(leaf, out);
}

static const struct x86_sys_ops emu_sys_ops = {
    .cpuid = hook_cpuid,
    .ram_ptr = hook_ram_ptr,
    .mmio_read = hook_mmio_read,
    .mmio_write = hook_mmio_write,
    .pio_in = hook_pio_in,
    .pio_out = hook_pio_out,
    .rdmsr = hook_rdmsr,
    .wrmsr = hook_wrmsr,
    .intr_ack = hook_intr_ack,
    .get_cr8 = hook_get_cr8,
    .set_cr8 = hook_set_cr8,
    .tsc = hook_tsc,
    .tsc_written = hook_tsc_written,
};

/* --- creation and boot state --- */

static uint64_t lapic_tsc(void *ctx)
{
    struct accel_vcpu *v = ctx;
    return emu_host_ns() + v->cpu.tsc_offset;
}

/* Something may be pending for v (the LAPIC calls this with the device
 * lock held). If another vCPU holds the thread, it yields at its next
 * block boundary so v gets its turn (an INIT/SIPI, an IPI to a halted
 * vCPU). */
static void lapic_kick(void *ctx)
{
    struct accel_vcpu *v = ctx;
    update_pending(v);
    struct accel_vcpu *running = __atomic_load_n(&v->emu->running, __ATOMIC_ACQUIRE);
    if (running && (running != v || lapic_has_events(v->lapic)))
        x86_request_stop(&running->cpu); /* events (NMI, INIT, SIPI) are taken between turns */
    emu_wake(v->emu);
}

int emu_vcpu_create(struct vm *vm, unsigned index, struct accel_vcpu **out)
{
    struct emu_state *emu = vm->accel_state;
    struct accel_vcpu *v = calloc(1, sizeof(*v));
    if (!v)
        return -ENOMEM;
    v->emu = emu;
    v->vm = vm;
    v->index = index;
    uint64_t phys_limit = LAYOUT_RAM_ABOVE_4G + guest_memory_high_size(&vm->mem);
    int r = x86_cpu_init_system(&v->cpu, &emu_sys_ops, v, phys_limit,
                                index ? &emu->vcpus[0]->cpu : NULL);
    if (r < 0) {
        free(v);
        return r;
    }
    v->cpu.apic_id = index;
    v->cpu.ncpus = vm->nvcpus;
    v->cpu.tsc_khz = EMU_TSC_KHZ;
    v->cpu.bus_khz = (uint32_t)(EMU_BUS_HZ / 1000);
    const struct lapic_params lp = {
        .id = index,
        .bsp = index == 0,
        .x2apic = true,
        .phys_bits = 40,
        .bus = emu->apic_bus,
        .timers = emu->timers,
        .bus_hz = EMU_BUS_HZ,
        .tsc_hz = (uint64_t)EMU_TSC_KHZ * 1000,
        .read_tsc = lapic_tsc,
        .tsc_ctx = v,
        .kick = lapic_kick,
        .kick_ctx = v,
    };
    v->lapic = lapic_new(&lp);
    if (!v->lapic) {
        x86_cpu_destroy(&v->cpu);
        free(v);
        return -ENOMEM;
    }
    emu->vcpus[emu->nvcpus++] = v;
    *out = v;
    return 0;
}

static struct x86_segment seg_from_boot(const struct boot_segment *s)
{
    return (struct x86_segment){
        .base = s->base,
        .dbase = s->base,
        .limit = s->limit,
        .selector = s->selector,
        .attr = (uint16_t)((s->type & 15) | (s->s ? X86_ATTR_S : 0) | (s->dpl & 3) << 5 |
                           (s->present ? X86_ATTR_P : 0) | (s->l ? X86_ATTR_L : 0) |
                           (s->db ? X86_ATTR_DB : 0) | (s->g ? X86_ATTR_G : 0)),
    };
}

int emu_vcpu_reset(struct accel_vcpu *v, const struct boot_entry *e)
{
    struct x86_cpu *cpu = &v->cpu;
    x86_cpu_reset(cpu);
    if (!e) {
        v->wait_sipi = true; /* an AP: its LAPIC holds it until INIT/SIPI */
        return 0;
    }
    cpu->cr0 = e->cr0;
    cpu->cr3 = e->cr3;
    cpu->cr4 = e->cr4;
    cpu->efer = e->efer;
    if ((cpu->efer & X86_EFER_LME) && (cpu->cr0 & X86_CR0_PG))
        cpu->efer |= X86_EFER_LMA;
    cpu->gdtr = (struct x86_dtr){.base = e->gdt_base, .limit = e->gdt_limit};
    struct x86_segment ds = seg_from_boot(&e->ds), cs = seg_from_boot(&e->cs);
    x86_update_mode(cpu);
    static const unsigned data_regs[] = {X86_DS, X86_ES, X86_FS, X86_GS, X86_SS};
    for (unsigned i = 0; i < 5; i++)
        x86_set_segment(cpu, data_regs[i], &ds);
    x86_set_segment(cpu, X86_CS, &cs);
    cpu->tr = (struct x86_segment){.limit = 0x67, .attr = 0x8b}; /* a busy 32-bit TSS at 0 */
    cpu->rip = e->rip;
    cpu->gpr[X86_RSP] = e->rsp;
    cpu->gpr[X86_RAX] = e->rax;
    cpu->gpr[X86_RBX] = e->rbx;
    cpu->gpr[X86_RSI] = e->rsi;
    cpu->gpr[X86_RDX] = 0;
    x86_flush_tlb(cpu, true);
    v->wait_sipi = false;
    return 0;
}

/* --- running --- */

/* INIT, SIPI and NMI from the LAPIC; device lock held. */
static void take_events(struct accel_vcpu *v)
{
    uint8_t sipi;
    unsigned ev = lapic_take_events(v->lapic, &sipi);
    if (ev & LAPIC_EV_INIT) {
        x86_cpu_reset(&v->cpu);
        v->wait_sipi = true;
    }
    if ((ev & LAPIC_EV_SIPI) && v->wait_sipi) {
        struct x86_segment cs = v->cpu.seg[X86_CS];
        cs.selector = (uint16_t)(sipi << 8);
        cs.dbase = cs.base = (uint64_t)sipi << 12;
        x86_set_segment(&v->cpu, X86_CS, &cs);
        v->cpu.rip = 0;
        v->wait_sipi = false;
    }
    if (ev & LAPIC_EV_NMI)
        __atomic_store_n(&v->cpu.nmi_pending, 1, __ATOMIC_RELEASE);
    update_pending(v);
}

/* Can this vCPU run now? */
static bool runnable(struct accel_vcpu *v)
{
    const struct x86_cpu *c = &v->cpu;
    if (v->wait_sipi)
        return false;
    if (!c->halted)
        return true;
    return __atomic_load_n(&c->nmi_pending, __ATOMIC_ACQUIRE) ||
           (__atomic_load_n(&c->irq_pending, __ATOMIC_ACQUIRE) && (c->rflags & X86_FLAG_IF));
}

static void fatal(struct accel_vcpu *v, const char *why)
{
    log_error("vCPU %u: %s", v->index, why);
    struct accel_regs regs;
    emu_vcpu_get_regs(v, &regs);
    accel_dump_regs(&regs);
    vm_request_exit(v->vm, EMU_EXIT_STATUS_FATAL, why);
}

/* One turn of one vCPU; false when the machine must stop. */
static bool run_turn(struct accel_vcpu *v, uint64_t slice)
{
    emu_dma_drain(v->emu);
    __atomic_store_n(&v->emu->running, v, __ATOMIC_RELEASE);
    enum x86_exit r = x86_run(&v->cpu, slice);
    __atomic_store_n(&v->emu->running, NULL, __ATOMIC_RELEASE);
    switch (r) {
    case X86_EXIT_SHUTDOWN:
        fatal(v, "guest triple fault (shutdown)");
        return false;
    case X86_EXIT_INTERNAL:
        fatal(v, "emulator internal error: instruction fetch from MMIO");
        return false;
    case X86_EXIT_EXCEPTION:
    case X86_EXIT_SYSCALL:
        fatal(v, "emulator internal error: unexpected exit");
        return false;
    case X86_EXIT_HLT:
    case X86_EXIT_BUDGET:
    case X86_EXIT_STOP:
        break;
    }
    return true;
}

static void wait_for_kick(struct emu_state *emu)
{
    pthread_mutex_lock(&emu->wait_lock);
    while (!emu->kicked && !vm_exit_requested(emu->vm))
        pthread_cond_wait(&emu->wait_cond, &emu->wait_lock);
    emu->kicked = false;
    pthread_mutex_unlock(&emu->wait_lock);
}

int emu_vcpu_run(struct accel_vcpu *v0)
{
    struct emu_state *emu = v0->emu;
    if (v0->index != 0)
        return 0; /* vCPU 0's thread runs them all */
    struct vm *vm = v0->vm;
    while (!vm_exit_requested(vm)) {
        bool ran = false;
        pthread_mutex_lock(&emu->wait_lock);
        emu->kicked = false;
        pthread_mutex_unlock(&emu->wait_lock);
        for (unsigned i = 0; i < emu->nvcpus; i++) {
            pthread_mutex_lock(&vm->device_lock);
            take_events(emu->vcpus[i]);
            pthread_mutex_unlock(&vm->device_lock);
        }
        /* With several vCPUs every turn is a slice: one that is halted now
         * may be woken by a timer while another runs, and must not wait for
         * a spinning vCPU to give up the thread. */
        uint64_t slice = emu->nvcpus > 1 ? EMU_SLICE : 0;
        for (unsigned i = 0; i < emu->nvcpus && !vm_exit_requested(vm); i++) {
            struct accel_vcpu *v = emu->vcpus[i];
            if (!runnable(v))
                continue;
            ran = true;
            if (!run_turn(v, slice))
                return 0;
        }
        if (!ran)
            wait_for_kick(emu);
    }
    return 0;
}

void emu_vcpu_kick(struct accel_vcpu *v)
{
    struct emu_state *emu = v->emu;
    for (unsigned i = 0; i < emu->nvcpus; i++)
        x86_request_stop(&emu->vcpus[i]->cpu);
    emu_wake(emu);
}

static void seg_to_boot(struct boot_segment *d, const struct x86_segment *s)
{
    *d = (struct boot_segment){
        .base = s->dbase,
        .limit = s->limit,
        .selector = s->selector,
        .type = (uint8_t)X86_ATTR_TYPE(s->attr),
        .s = !!(s->attr & X86_ATTR_S),
        .dpl = (uint8_t)X86_ATTR_DPL(s->attr),
        .present = !!(s->attr & X86_ATTR_P),
        .db = !!(s->attr & X86_ATTR_DB),
        .l = !!(s->attr & X86_ATTR_L),
        .g = !!(s->attr & X86_ATTR_G),
    };
}

int emu_vcpu_get_regs(struct accel_vcpu *v, struct accel_regs *out)
{
    struct x86_cpu *c = &v->cpu;
    const uint64_t *g = c->gpr;
    *out = (struct accel_regs){
        .rax = g[X86_RAX],
        .rbx = g[X86_RBX],
        .rcx = g[X86_RCX],
        .rdx = g[X86_RDX],
        .rsi = g[X86_RSI],
        .rdi = g[X86_RDI],
        .rbp = g[X86_RBP],
        .rsp = g[X86_RSP],
        .r8 = g[X86_R8],
        .r9 = g[X86_R9],
        .r10 = g[X86_R10],
        .r11 = g[X86_R11],
        .r12 = g[X86_R12],
        .r13 = g[X86_R13],
        .r14 = g[X86_R14],
        .r15 = g[X86_R15],
        .rip = c->rip,
        .rflags = x86_get_rflags(c),
        .cr0 = c->cr0,
        .cr2 = c->cr2,
        .cr3 = c->cr3,
        .cr4 = c->cr4,
        .efer = c->efer,
        .gdt_base = c->gdtr.base,
        .idt_base = c->idtr.base,
        .gdt_limit = c->gdtr.limit,
        .idt_limit = c->idtr.limit,
    };
    seg_to_boot(&out->cs, &c->seg[X86_CS]);
    seg_to_boot(&out->ds, &c->seg[X86_DS]);
    seg_to_boot(&out->es, &c->seg[X86_ES]);
    seg_to_boot(&out->fs, &c->seg[X86_FS]);
    seg_to_boot(&out->gs, &c->seg[X86_GS]);
    seg_to_boot(&out->ss, &c->seg[X86_SS]);
    seg_to_boot(&out->tr, &c->tr);
    seg_to_boot(&out->ldt, &c->ldtr);
    return 0;
}
