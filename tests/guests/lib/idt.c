/* The IDT: the 32 exception vectors, and every vector given a handler,
 * point at their stubs in isr.S; isr_dispatch() calls the handler
 * installed for the vector, or reports the unexpected event and ends the
 * test. Other gates stay empty, so a stray interrupt arrives as a #GP whose
 * error code names the vector: filling all 256 gates would cost ~5k ring-0
 * instructions. */
#include "guest.h"

struct idt_gate {
    uint16_t offset_low;
    uint16_t selector;
    uint8_t ist;
    uint8_t type_attr;
    uint16_t offset_mid;
    uint32_t offset_high;
    uint32_t reserved;
} __attribute__((packed));

struct idt_desc {
    uint16_t limit;
    uint64_t base;
} __attribute__((packed));

#define IDT_GATE_INTERRUPT 0x8e /* present, DPL 0, 64-bit interrupt gate */
#define ISR_STUB_SIZE      16
#define NUM_EXCEPTIONS     32
#define ERROR_IDT          0x2 /* error code bit: the selector indexes the IDT */

extern char isr_stubs[];
void isr_dispatch(struct irq_frame *frame);

static struct idt_gate idt[256] __attribute__((aligned(16)));
static irq_handler_t handlers[256];

static const char *const exception_names[32] = {
    "#DE", "#DB", "NMI", "#BP", "#OF", "#BR", "#UD", "#NM", "#DF", "CSO", "#TS",
    "#NP", "#SS", "#GP", "#PF", "-",   "#MF", "#AC", "#MC", "#XM", "#VE", "#CP",
};

const char *exception_name(uint64_t vector)
{
    return vector < NUM_EXCEPTIONS && exception_names[vector] ? exception_names[vector]
                                                              : "interrupt";
}

static void set_gate(unsigned v)
{
    uint64_t addr = (uintptr_t)isr_stubs + v * ISR_STUB_SIZE;
    idt[v] = (struct idt_gate){
        .offset_low = (uint16_t)addr,
        .selector = GUEST_CS64,
        .type_attr = IDT_GATE_INTERRUPT,
        .offset_mid = (uint16_t)(addr >> 16),
        .offset_high = (uint32_t)(addr >> 32),
    };
}

void idt_init(void)
{
    for (unsigned v = 0; v < NUM_EXCEPTIONS; v++)
        set_gate(v);
    idt_load();
}

void idt_load(void)
{
    struct idt_desc desc = {sizeof(idt) - 1, (uintptr_t)idt};
    __asm__ volatile("lidt %0" ::"m"(desc));
}

void idt_set_handler(unsigned vector, irq_handler_t handler)
{
    handlers[vector & 0xff] = handler;
    set_gate(vector & 0xff);
}

void isr_dispatch(struct irq_frame *f)
{
    irq_handler_t h = handlers[f->vector & 0xff];
    if (h) {
        h(f);
        return;
    }
    /* An empty gate (invalid type) gives #GP, a not-present one #NP; the
     * error code indexes the IDT (SDM: vector << 3; QEMU TCG: << 4). */
    if ((f->vector == 11 || f->vector == 13) && (f->error & ERROR_IDT)) {
        printf("unexpected interrupt: empty IDT gate (error 0x%lx: vector %lu) at rip 0x%lx\n",
               f->error, (f->error >> 3) & 0x1fff, f->rip);
        guest_exit(GUEST_EXIT_EXCEPTION);
    }
    const char *name = exception_name(f->vector);
    printf("unexpected %s (vector %lu) error 0x%lx at rip 0x%lx rsp 0x%lx\n", name, f->vector,
           f->error, f->rip, f->rsp);
    if (f->vector == 14)
        printf("  cr2 0x%lx\n", read_cr2());
    guest_exit(GUEST_EXIT_EXCEPTION);
}
