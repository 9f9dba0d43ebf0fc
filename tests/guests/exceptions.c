/* exceptions: privilege changes and exception delivery in long mode.
 * Ring 3 entered by iretq (and left through an exception: user.S); #GP,
 * #NP and #SS with selector error codes from segment loads and far
 * transfers; IST; #DF from a fault whose gate is not present; sysenter
 * (#UD in 64-bit mode on AMD); cli/sti/popf under IOPL 0; port I/O from
 * ring 3 through the TSS I/O permission bitmap; an interrupt pending at
 * `sti; hlt` waking the hlt.
 *
 * What the nested KVM of our hosts gets wrong is in guests of its own:
 * int n and int3 (softint), sysret (syscall), IF and IOPL 3 at ring 3
 * (ring3), interrupts taken as IF becomes 1 (irqwindow), 32-bit iret
 * (iret). No SYSENTER at ring 0 either: KVM's emulator gives up on it in
 * 64-bit mode; at ring 3, which that host runs natively, it is a plain #UD. */
#include "guest.h"

#define VEC_UD 6
#define VEC_DF 8
#define VEC_NP 11
#define VEC_SS 12
#define VEC_GP 13
#define VEC_PF 14

#define IPI_VECTOR      0x40
#define WATCHDOG_VECTOR 0x41
#define SPURIOUS_VECTOR 0xff

#define IST_UD 1
#define IST_DF 2

/* Selectors of the free GDT slots this guest fills. */
#define SEL_NP_DATA   (GUEST_GDT_FREE + 0x00) /* data, not present */
#define SEL_NP_CODE   (GUEST_GDT_FREE + 0x08) /* 64-bit code, not present */
#define SEL_EXEC_ONLY (GUEST_GDT_FREE + 0x10) /* 64-bit code, not readable */
#define SEL_BEYOND    (GUEST_GDT_SLOTS * 8)   /* first selector past the GDT limit */

#define ACC_DATA_RW 0x92 /* present, DPL 0, data, writable */
#define ACC_CODE_X  0x98 /* present, DPL 0, code, execute-only */
#define ACC_PRESENT 0x80
#define FLAGS_G_DB  0xc
#define FLAGS_G_L   0xa

#define RFLAGS_FIXED 0x2ULL

#define MSR_SYSENTER_CS  0x174
#define MSR_SYSENTER_ESP 0x175
#define MSR_SYSENTER_EIP 0x176

#define COM1_SCR   0x3ff /* the UART's scratch register */
#define COM1_MSR   0x3fe
#define UNMAPPED   0x200000000ULL /* 8 GiB: start.S maps only 0-4 GiB */
#define TIMER_LONG 100000000u     /* watchdog: far longer than any wakeup */

static void load_ds(uint16_t sel)
{
    trap_reset();
    TRAP_ASM("movw %0, %%ds", : : "r"(sel) : "memory");
    __asm__ volatile("movw %0, %%ds" ::"r"((uint16_t)GUEST_DS));
}

static void load_ss(uint16_t sel)
{
    trap_reset();
    TRAP_ASM("movw %0, %%ss", : : "r"(sel) : "memory");
}

/* --- ring 3 by iretq --- */

static uint64_t user_segments(uint64_t arg)
{
    uint16_t cs, ss;
    __asm__ volatile("movw %%cs, %0; movw %%ss, %1" : "=r"(cs), "=r"(ss));
    return cs | (uint64_t)ss << 16 | arg << 32;
}

static void test_ring3(void)
{
    uint64_t r = user_run(user_segments, 0x5a, RFLAGS_FIXED);
    printf("ring 3 by iretq: cs 0x%lx ss 0x%lx, arg 0x%lx\n", r & 0xffff, (r >> 16) & 0xffff,
           r >> 32);
    check(r == ((0x5aULL << 32) | (GUEST_UDS | 3) << 16 | (GUEST_UCS64 | 3)),
          "ring 3 segments 0x%lx", r);
}

/* --- selector faults --- */

static void test_selector_faults(void)
{
    gdt_set(SEL_NP_DATA, seg_desc(0, 0xfffff, ACC_DATA_RW & ~ACC_PRESENT, FLAGS_G_DB));
    gdt_set(SEL_NP_CODE, seg_desc(0, 0xfffff, 0x9a & ~ACC_PRESENT, FLAGS_G_L));
    gdt_set(SEL_EXEC_ONLY, seg_desc(0, 0xfffff, ACC_CODE_X, FLAGS_G_L));

    load_ds(SEL_BEYOND | 3);
    trap_report("mov ds, selector past the GDT limit (rpl 3)", VEC_GP, SEL_BEYOND);
    __asm__ volatile("lldt %w0" ::"r"(0)); /* after reset the LDTR is base 0, limit 0xffff */
    load_ds(0x0c);
    trap_report("mov ds, LDT selector with a null LDTR", VEC_GP, 0x0c);
    load_ds(GUEST_TSS);
    trap_report("mov ds, TSS selector", VEC_GP, GUEST_TSS);
    load_ds(SEL_EXEC_ONLY);
    trap_report("mov ds, execute-only code", VEC_GP, SEL_EXEC_ONLY);
    load_ds(SEL_NP_DATA);
    trap_report("mov ds, not-present data", VEC_NP, SEL_NP_DATA);
    load_ss(GUEST_UDS);
    trap_report("mov ss, DPL-3 data at CPL 0", VEC_GP, GUEST_UDS);
    load_ss(SEL_NP_DATA);
    trap_report("mov ss, not-present data", VEC_SS, SEL_NP_DATA);

    /* m16:32 far pointers (the only form AMD has in 64-bit mode). */
    struct {
        uint32_t offset;
        uint16_t sel;
    } __attribute__((packed)) far = {0, GUEST_DS};
    trap_reset();
    TRAP_ASM("ljmpl *%0", : : "m"(far) : "memory");
    trap_report("far jmp to a data segment", VEC_GP, GUEST_DS);
    far.sel = SEL_NP_CODE;
    trap_reset();
    TRAP_ASM("lcalll *%0", : : "m"(far) : "memory");
    trap_report("far call to a not-present code segment", VEC_NP, SEL_NP_CODE);
    far.sel = SEL_BEYOND;
    trap_reset();
    TRAP_ASM("lcalll *%0", : : "m"(far) : "memory");
    trap_report("far call past the GDT limit", VEC_GP, SEL_BEYOND);
}

/* --- IST and #DF --- */

static uint8_t ist_stack[2][1024] __attribute__((aligned(16)));
static volatile uint64_t saved_rsp;

/* Run ud2 on an unusable stack: only the IST switch can deliver the #UD. */
static void test_ist(void)
{
    guest_tss.ist[IST_UD - 1] = (uintptr_t)ist_stack[0] + sizeof(ist_stack[0]);
    idt_set_attr(VEC_UD, 0, IST_UD, true);
    trap_reset();
    __asm__ volatile("movq %%rsp, saved_rsp(%%rip)\n\t"
                     "movq %0, %%rsp\n\t"
                     "movq $1f, trap_resume(%%rip)\n\t"
                     "ud2\n"
                     "1:\tmovq saved_rsp(%%rip), %%rsp\n\t"
                     "movq $0, trap_resume(%%rip)" ::"r"(UNMAPPED)
                     : "memory");
    idt_set_attr(VEC_UD, 0, 0, true);
    trap_report("ud2 with rsp unmapped, #UD gate on IST1", VEC_UD, 0);
    const uint64_t *top = (const uint64_t *)(ist_stack[0] + sizeof(ist_stack[0]));
    printf("IST1 frame: ss 0x%lx rsp 0x%lx cs 0x%lx\n", top[-1], top[-2], top[-4]);
    check(top[-1] == GUEST_DS && top[-2] == UNMAPPED && top[-4] == GUEST_CS64 &&
              trap.rsp == UNMAPPED,
          "the #UD frame is not on the IST1 stack");
}

static volatile uint64_t df_count, df_error, df_resume;

/* #DF is an abort (the saved CS:RIP are undefined): resume on a known context. */
static void df_handler(struct irq_frame *f)
{
    df_count++;
    df_error = f->error;
    f->rip = df_resume;
    f->cs = GUEST_CS64;
    f->rsp = saved_rsp;
    f->ss = GUEST_DS;
    f->rflags = RFLAGS_FIXED;
}

static void test_double_fault(void)
{
    guest_tss.ist[IST_DF - 1] = (uintptr_t)ist_stack[1] + sizeof(ist_stack[1]);
    idt_set_handler(VEC_DF, df_handler);
    idt_set_attr(VEC_DF, 0, IST_DF, true);

    /* #PF whose gate is not present: #NP while delivering it, then #DF. */
    idt_set_attr(VEC_PF, 0, 0, false);
    trap_reset();
    __asm__ volatile("movq %%rsp, saved_rsp(%%rip)\n\t"
                     "movq $1f, df_resume(%%rip)\n\t"
                     "movq (%0), %%rax\n"
                     "1:" ::"r"(UNMAPPED)
                     : "rax", "memory");
    idt_set_attr(VEC_PF, 0, 0, true);
    printf("#PF with its gate not present: %lu #DF, error 0x%lx\n", df_count, df_error);
    check(df_count == 1 && df_error == 0 && trap.count == 0, "#PF -> #NP -> #DF");

    /* #GP (a bad selector) whose gate is not present. */
    idt_set_attr(VEC_GP, 0, 0, false);
    __asm__ volatile("movq %%rsp, saved_rsp(%%rip)\n\t"
                     "movq $1f, df_resume(%%rip)\n\t"
                     "movw %0, %%ds\n"
                     "1:" ::"r"((uint16_t)SEL_BEYOND)
                     : "memory");
    idt_set_attr(VEC_GP, 0, 0, true);
    printf("#GP with its gate not present: %lu #DF, error 0x%lx\n", df_count, df_error);
    check(df_count == 2 && df_error == 0 && trap.count == 0, "#GP -> #NP -> #DF");
}

static uint64_t user_sysenter(uint64_t arg)
{
    (void)arg;
    TRAP_ASM("sysenter", : : : "memory");
    return 0;
}

static void test_sysenter(void)
{
    /* Valid MSRs, so that only the mode can make it #UD. */
    wrmsr(MSR_SYSENTER_CS, GUEST_CS64);
    wrmsr(MSR_SYSENTER_ESP, (uintptr_t)user_stack_top);
    wrmsr(MSR_SYSENTER_EIP, (uintptr_t)user_sysenter); /* never reached */
    trap_reset();
    user_run(user_sysenter, 0, RFLAGS_FIXED);
    trap_report("sysenter at ring 3 in 64-bit mode (AMD)", VEC_UD, 0);
    wrmsr(MSR_SYSENTER_CS, 0);
}

/* --- IOPL, cli/sti, popf, I/O bitmap --- */

static uint64_t user_cli(uint64_t arg)
{
    (void)arg;
    TRAP_ASM("cli", : : : "memory");
    return 0;
}

static uint64_t user_sti(uint64_t arg)
{
    (void)arg;
    TRAP_ASM("sti", : : : "memory");
    return 0;
}

/* popf of arg; returns the RFLAGS that result. */
static uint64_t user_popf(uint64_t arg)
{
    uint64_t flags;
    __asm__ volatile("pushq %1; popfq; pushfq; popq %0" : "=r"(flags) : "r"(arg) : "memory", "cc");
    return flags;
}

/* IOPL 0 at ring 3 (the ring3 guest has IOPL 3, and IF 0 at ring 3). */
static void test_iopl(void)
{
    trap_reset();
    user_run(user_cli, 0, RFLAGS_FIXED | EFLAGS_IF);
    trap_report("cli at ring 3, IOPL 0", VEC_GP, 0);
    trap_reset();
    user_run(user_sti, 0, RFLAGS_FIXED);
    trap_report("sti at ring 3, IOPL 0", VEC_GP, 0);
    uint64_t flags = user_run(user_popf, RFLAGS_FIXED | EFLAGS_IOPL3, RFLAGS_FIXED | EFLAGS_IF);
    printf("popf clearing IF and setting IOPL 3 at ring 3, IOPL 0: rflags 0x%lx\n", flags);
    check(flags == (RFLAGS_FIXED | EFLAGS_IF), "popf at ring 3 changed IF or IOPL");
}

static uint64_t user_scratch(uint64_t value)
{
    outb(COM1_SCR, (uint8_t)value);
    return inb(COM1_SCR);
}

static uint64_t user_in_port(uint64_t port)
{
    uint8_t v = 0;
    TRAP_ASM("inb %w1, %0", : "+a"(v) : "d"(port) : "memory");
    return v;
}

static uint64_t user_inw_port(uint64_t port)
{
    uint16_t v = 0;
    TRAP_ASM("inw %w1, %0", : "+a"(v) : "d"(port) : "memory");
    return v;
}

static void test_io_bitmap(void)
{
    guest_tss.iomap[COM1_SCR / 8] &= (uint8_t) ~(1u << (COM1_SCR % 8));
    trap_reset();
    uint64_t v = user_run(user_scratch, 0xa5, RFLAGS_FIXED);
    trap_report_none("out/in port 0x3ff at ring 3, allowed by the bitmap");
    printf("port 0x3ff read back 0x%lx\n", v);
    check(v == 0xa5, "scratch register read 0x%lx", v);
    trap_reset();
    user_run(user_in_port, COM1_MSR, RFLAGS_FIXED);
    trap_report("in port 0x3fe at ring 3, denied by the bitmap", VEC_GP, 0);
    trap_reset();
    user_run(user_inw_port, COM1_SCR, RFLAGS_FIXED);
    trap_report("inw port 0x3ff at ring 3 (0x400 past the bitmap)", VEC_GP, 0);
    guest_tss.iomap[COM1_SCR / 8] |= (uint8_t)(1u << (COM1_SCR % 8));
}

/* --- the interrupt shadow of sti --- */

static volatile uint64_t watchdog_count;

static void watchdog_handler(struct irq_frame *f)
{
    (void)f;
    watchdog_count++;
    lapic_eoi();
}

/* A self-IPI while IF is 0, then `sti; hlt`: the interrupt must come after
 * the hlt (sti's shadow), waking it, and not before it, which would leave
 * the hlt to the watchdog. (The irqwindow guest has the other windows.) */
static void test_sti_hlt(void)
{
    self_ipi_init(IPI_VECTOR, SPURIOUS_VECTOR);
    idt_set_handler(WATCHDOG_VECTOR, watchdog_handler);
    lapic_write(LAPIC_TIMER_DIV, 0x0b); /* divide by 1 */
    lapic_write(LAPIC_LVT_TIMER, WATCHDOG_VECTOR);
    lapic_write(LAPIC_TIMER_INIT, TIMER_LONG);
    check(self_ipi_send(), "the self-IPI never became pending");
    uint64_t after;
    __asm__ volatile("movq $1f, %0\n\tsti\n\thlt\n1:\tcli" : "=m"(after)::"memory");
    lapic_write(LAPIC_TIMER_INIT, 0);
    printf("self-IPI pending, sti; hlt: %lu interrupt(s), %s\n", self_ipi_count,
           self_ipi_rip == after ? "woke the hlt" : "taken before the hlt");
    check(self_ipi_count == 1 && self_ipi_rip == after && watchdog_count == 0,
          "the wakeup was lost (watchdog fired %lu times)", watchdog_count);
}

void guest_main(uint32_t magic, uint32_t info)
{
    (void)magic;
    (void)info;
    printf("exceptions guest\n");
    trap_init();
    user_init();
    /* IF is briefly 1 in some tests: no stray legacy interrupts. */
    pic_disable();
    test_ring3();
    test_selector_faults();
    test_ist();
    test_double_fault();
    test_sysenter();
    test_iopl();
    test_io_bitmap();
    test_sti_hlt();
    printf("exceptions done\n");
}
