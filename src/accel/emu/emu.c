/* The emu accelerator: the VM-level part (emu_internal.h): the interrupt
 * and timer platform KVM would keep in the kernel, interrupt lines, and
 * the accelerator's ops table. The vCPU loop is in emu_vcpu.c. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "accel/emu/emu_internal.h"
#include "hw/apic_bus.h"
#include "hw/ioapic.h"
#include "hw/lapic.h"
#include "hw/pic.h"
#include "hw/pit.h"
#include "util/log.h"
#include "util/timer.h"
#include "vm/layout.h"
#include "vm/vm.h"

uint64_t emu_host_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

void emu_wake(struct emu_state *emu)
{
    pthread_mutex_lock(&emu->wait_lock);
    emu->kicked = true;
    pthread_cond_signal(&emu->wait_cond);
    pthread_mutex_unlock(&emu->wait_lock);
}

static bool emu_available(char *why, size_t len)
{
    (void)why;
    (void)len;
    return true;
}

/* An ISA interrupt line: the 8259 input and the IOAPIC pin (IRQ 0 is
 * wired to pin 2, as the MADT override says). Device lock held. */
static void emu_set_isa_irq(struct emu_state *emu, unsigned irq, int level)
{
    if (irq < 16 && irq != PIC_CASCADE_IRQ)
        pic_set_irq(emu->pic, irq, level);
    ioapic_set_irq(emu->ioapic, irq == LAYOUT_IRQ_PIT ? LAYOUT_GSI_PIT : irq, level);
}

/* The board's lines are GSIs (ISA IRQ = GSI except IRQ 0 -> GSI 2). */
static void emu_set_irq(struct vm *vm, unsigned gsi, int level)
{
    struct emu_state *emu = vm->accel_state;
    if (gsi == LAYOUT_GSI_PIT) {
        emu_set_isa_irq(emu, LAYOUT_IRQ_PIT, level);
        return;
    }
    if (gsi < 16)
        pic_set_irq(emu->pic, gsi, level);
    if (gsi < IOAPIC_NUM_PINS)
        ioapic_set_irq(emu->ioapic, gsi, level);
}

static void pit_irq(void *ctx, unsigned gsi, int level)
{
    (void)gsi;
    emu_set_isa_irq(ctx, LAYOUT_IRQ_PIT, level);
}

/* The 8259's INT output goes to the boot CPU's LINT0 (virtual wire). */
static void pic_intr(void *ctx, int level)
{
    struct emu_state *emu = ctx;
    if (emu->nvcpus && emu->vcpus[0]->lapic)
        lapic_set_lint(emu->vcpus[0]->lapic, 0, level);
}

/* Device lock held, as for set_irq: MSIs come from device callbacks (a
 * doorbell write) or from completions that took the lock. */
static int emu_msi(struct vm *vm, uint64_t addr, uint32_t data)
{
    struct emu_state *emu = vm->accel_state;
    int r = apic_bus_msi(emu->apic_bus, addr, data);
    return r < 0 ? r : 0;
}

/* A device wrote guest RAM (any thread): queue the range; the vCPU thread
 * drops code decoded there before its next turn (emu_dma_drain), and a
 * running vCPU ends its turn at the next block boundary. */
static void emu_dma_written(void *ctx, uint64_t gpa, uint64_t len)
{
    struct emu_state *emu = ctx;
    pthread_mutex_lock(&emu->dma_lock);
    struct emu_dma_range *last = emu->ndma ? &emu->dma[emu->ndma - 1] : NULL;
    if (last && gpa == last->gpa + last->len)
        last->len += len; /* the next page of the same buffer, the usual case */
    else if (emu->ndma < sizeof(emu->dma) / sizeof(emu->dma[0]))
        emu->dma[emu->ndma++] = (struct emu_dma_range){gpa, len};
    else
        emu->dma_overflow = true;
    pthread_mutex_unlock(&emu->dma_lock);
    struct accel_vcpu *running = __atomic_load_n(&emu->running, __ATOMIC_ACQUIRE);
    if (running)
        x86_request_stop(&running->cpu);
}

void emu_dma_drain(struct emu_state *emu)
{
    if (!__atomic_load_n(&emu->ndma, __ATOMIC_RELAXED) &&
        !__atomic_load_n(&emu->dma_overflow, __ATOMIC_RELAXED))
        return;
    struct x86_cpu *cpu = &emu->vcpus[0]->cpu; /* the block cache is shared */
    pthread_mutex_lock(&emu->dma_lock);
    if (emu->dma_overflow) {
        x86_invalidate_code(cpu, 0, LAYOUT_RAM_ABOVE_4G + guest_memory_high_size(&emu->vm->mem));
    } else {
        for (unsigned i = 0; i < emu->ndma; i++)
            x86_invalidate_code(cpu, emu->dma[i].gpa, emu->dma[i].len);
    }
    emu->ndma = 0;
    emu->dma_overflow = false;
    pthread_mutex_unlock(&emu->dma_lock);
}

static int emu_init(struct vm *vm)
{
    struct emu_state *emu = calloc(1, sizeof(*emu));
    if (!emu)
        return -ENOMEM;
    vm->accel_state = emu;
    emu->vm = vm;
    emu->start_ns = emu_host_ns();
    pthread_mutex_init(&emu->dma_lock, NULL);
    vm->mem.write_notify = emu_dma_written;
    vm->mem.write_notify_ctx = emu;
    pthread_mutex_init(&emu->wait_lock, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&emu->wait_cond, &ca);
    pthread_condattr_destroy(&ca);
    emu->timers = timer_service_new(&vm->device_lock);
    emu->apic_bus = apic_bus_new();
    if (!emu->timers || !emu->apic_bus)
        return -ENOMEM;
    emu->ioapic = ioapic_new(emu->apic_bus, LAYOUT_IOAPIC_ID);
    emu->pic = pic_new(pic_intr, emu);
    emu->pit = pit_new(emu->timers, (struct irq_line){.set = pit_irq, .ctx = emu});
    if (!emu->ioapic || !emu->pic || !emu->pit)
        return -ENOMEM;
    int r;
    if ((r = bus_register(&vm->pio, LAYOUT_PORT_PIC_MASTER, PIC_NR_PORTS, &pic_master_ops, emu->pic,
                          "pic")) < 0 ||
        (r = bus_register(&vm->pio, LAYOUT_PORT_PIC_SLAVE, PIC_NR_PORTS, &pic_slave_ops, emu->pic,
                          "pic")) < 0 ||
        (r = bus_register(&vm->pio, LAYOUT_PORT_ELCR, PIC_ELCR_NR_PORTS, &pic_elcr_ops, emu->pic,
                          "elcr")) < 0 ||
        (r = bus_register(&vm->pio, LAYOUT_PORT_PIT, PIT_NR_PORTS, &pit_ops, emu->pit, "pit")) <
            0 ||
        (r = bus_register(&vm->pio, LAYOUT_PORT_SPEAKER, PIT_PORT61_NR_PORTS, &pit_port61_ops,
                          emu->pit, "port61")) < 0 ||
        (r = bus_register(&vm->mmio, LAYOUT_IOAPIC_BASE, LAYOUT_IOAPIC_SIZE, &ioapic_mmio_ops,
                          emu->ioapic, "ioapic")) < 0)
        return r;
    return 0;
}

static void emu_destroy(struct vm *vm)
{
    struct emu_state *emu = vm->accel_state;
    if (!emu)
        return;
    if (emu->timers)
        timer_service_stop(emu->timers);
    if (getenv("XUNI_STATS")) {
        /* For benchmarks: how much guest work the run was. */
        uint64_t insns = 0, flushes = 0;
        for (unsigned i = 0; i < emu->nvcpus; i++) {
            insns += emu->vcpus[i]->cpu.icount;
            flushes += emu->vcpus[i]->cpu.tlb_flushes;
        }
        fprintf(stderr, "xuni: stats: %llu instructions retired, %llu TLB flushes\n",
                (unsigned long long)insns, (unsigned long long)flushes);
    }
    for (unsigned i = 0; i < emu->nvcpus; i++) {
        struct accel_vcpu *v = emu->vcpus[i];
        x86_cpu_destroy(&v->cpu);
        if (v->lapic)
            lapic_free(v->lapic);
        free(v);
    }
    if (emu->pit)
        pit_free(emu->pit);
    if (emu->pic)
        pic_free(emu->pic);
    if (emu->ioapic)
        ioapic_free(emu->ioapic);
    if (emu->apic_bus)
        apic_bus_free(emu->apic_bus);
    if (emu->timers)
        timer_service_free(emu->timers);
    vm->mem.write_notify = NULL;
    pthread_mutex_destroy(&emu->dma_lock);
    pthread_cond_destroy(&emu->wait_cond);
    pthread_mutex_destroy(&emu->wait_lock);
    free(emu);
    vm->accel_state = NULL;
}

const struct accel_ops accel_emu_ops = {
    .name = "emu",
    .available = emu_available,
    .init = emu_init,
    .vcpu_create = emu_vcpu_create,
    .vcpu_reset = emu_vcpu_reset,
    .vcpu_run = emu_vcpu_run,
    .vcpu_kick = emu_vcpu_kick,
    .vcpu_get_regs = emu_vcpu_get_regs,
    .set_irq = emu_set_irq,
    .msi = emu_msi,
    .destroy = emu_destroy,
};
