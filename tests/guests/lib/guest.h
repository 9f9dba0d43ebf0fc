/* The test guests' runtime: what lib/ gives every guest.
 *
 * A guest is one C file defining guest_main(). start.S enters it in 64-bit
 * long mode with the first 4 GiB identity mapped (2 MiB pages), a flat GDT
 * (GUEST_CS64, GUEST_DS, GUEST_CS32), interrupts off, the UART initialised
 * and an IDT in which every exception, and every vector without a handler
 * from idt_set_handler(), is reported and fails the test. When guest_main()
 * returns, the guest exits with code 0 (xuni status 1), or 1 if a check()
 * failed.
 *
 * Everything runs at ring 0 (but what a guest runs through user_run()),
 * which the nested KVM on our development hosts emulates at about 1 us per
 * instruction: keep loops short, and never use `int n` outside guests
 * marked needs=intn (that host cannot run it, at ring 0 or ring 3). What
 * else it gets wrong is in the guests that probe for it (guests.list).
 */
#ifndef GUEST_LIB_GUEST_H
#define GUEST_LIB_GUEST_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "defs.h"
#include "io.h"
#include "multiboot.h"

/* Exit codes for the debug-exit device (xuni status = code * 2 + 1). */
#define GUEST_EXIT_PASS        0
#define GUEST_EXIT_FAIL        1
#define GUEST_EXIT_EXCEPTION   2
#define GUEST_EXIT_HOST_DEFECT 3

/* Where the multiboot loader left us (saved by start.S). */
extern uint32_t guest_mb_magic;
extern uint32_t guest_mb_info;
extern char guest_image_start[], guest_image_end[]; /* from guest.ld */

void guest_main(uint32_t mb_magic, uint32_t mb_info);

/* --- exit --- */
__attribute__((noreturn)) void guest_exit(int code);

/* --- serial console (COM1, polled) --- */
void serial_init(void);
void serial_putc(char c);
void serial_puts(const char *s);

/* --- formatted output: %s %c %d %u %x %p with l/ll, width and 0 flag --- */
int printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
int vprintf(const char *fmt, va_list ap);

/* --- checks: print a FAIL line, remember it; guest_finish() exits --- */
extern unsigned guest_failures;
bool check(bool cond, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
__attribute__((noreturn)) void guest_finish(void);
/* For a probe guest (probe=F in guests.list) that sees F go wrong: print
 * "host defect: ..." and exit with GUEST_EXIT_HOST_DEFECT. Under kvm only
 * the host's CPU can be wrong, and run-guests.sh skips the guests that need
 * F there; under any other accelerator it is a failure like any other. */
__attribute__((noreturn, format(printf, 1, 2))) void guest_host_defect(const char *fmt, ...);

/* --- strings (gcc may emit calls to the mem* functions itself) --- */
void *memcpy(void *dst, const void *src, size_t n);
void *memset(void *dst, int c, size_t n);
int memcmp(const void *a, const void *b, size_t n);
size_t strlen(const char *s);
int strcmp(const char *a, const char *b);
int strncmp(const char *a, const char *b, size_t n);
const char *basename_of(const char *path, size_t len); /* last '/'-component of path[0..len) */

/* --- interrupts --- */
struct irq_frame {
    uint64_t r15, r14, r13, r12, rbp, rbx, r11, r10, r9, r8;
    uint64_t rdi, rsi, rdx, rcx, rax;
    uint64_t vector, error;
    uint64_t rip, cs, rflags, rsp, ss; /* pushed by the CPU */
};
typedef void (*irq_handler_t)(struct irq_frame *frame);

void idt_init(void);
void idt_load(void); /* on an AP: load the shared IDT */
void idt_set_handler(unsigned vector, irq_handler_t handler);
/* "#GP" for 13, ... "interrupt" for a vector that is not an exception. */
const char *exception_name(uint64_t vector);

static inline void irq_enable(void)
{
    __asm__ volatile("sti" ::: "memory");
}
static inline void irq_disable(void)
{
    __asm__ volatile("cli" ::: "memory");
}
/* sti; hlt as one pair: the sti shadow means an interrupt pending now still
 * wakes the hlt instead of slipping in before it. Returns with IF clear. */
static inline void irq_wait(void)
{
    __asm__ volatile("sti; hlt; cli" ::: "memory");
}

/* --- local APIC (xAPIC MMIO), IOAPIC, 8259 --- */
#define LAPIC_BASE  0xfee00000UL
#define IOAPIC_BASE 0xfec00000UL

#define LAPIC_ID         0x020
#define LAPIC_VERSION    0x030
#define LAPIC_EOI        0x0b0
#define LAPIC_SVR        0x0f0
#define LAPIC_ICR_LOW    0x300
#define LAPIC_ICR_HIGH   0x310
#define LAPIC_LVT_TIMER  0x320
#define LAPIC_LVT_LINT0  0x350
#define LAPIC_LVT_LINT1  0x360
#define LAPIC_TIMER_INIT 0x380
#define LAPIC_TIMER_CUR  0x390
#define LAPIC_TIMER_DIV  0x3e0

#define LAPIC_LVT_MASKED (1u << 16)

uint32_t lapic_read(unsigned reg);
void lapic_write(unsigned reg, uint32_t value);
unsigned lapic_id(void);
void lapic_enable(unsigned spurious_vector);
void lapic_eoi(void);
/* Send an IPI and wait (bounded) until the LAPIC reports it delivered.
 * Returns false on timeout. */
bool lapic_send_ipi(unsigned dest_apic_id, uint32_t icr_low);

uint32_t ioapic_read(unsigned reg);
void ioapic_write(unsigned reg, uint32_t value);
/* Route pin to vector on dest_apic_id: fixed, physical, edge, active high. */
void ioapic_route(unsigned pin, unsigned vector, unsigned dest_apic_id);
void ioapic_mask(unsigned pin);

/* Initialise both 8259s to vectors 0x20-0x2f and mask every line, so a
 * virtual-wire PIC can never deliver a stray vector. */
void pic_disable(void);

/* --- a recorded self-IPI (selfipi.c) --- */
extern volatile uint64_t self_ipi_count, self_ipi_rip; /* RIP: of the first */
/* Handle vector (and the spurious one), mask the 8259s and LINT0, enable the LAPIC. */
void self_ipi_init(unsigned vector, unsigned spurious_vector);
/* Reset the record, send the IPI to this CPU, wait until it is pending in
 * the IRR (false if it never is). Taken once IF and the shadows allow. */
bool self_ipi_send(void);

/* --- firmware tables --- */
/* The ACPI table with this signature ("FACP", "APIC"), found through the
 * RSDP's XSDT (RSDT for ACPI 1.0), with a valid checksum; NULL (after
 * printing why) if there is none. */
const void *acpi_find_table(const char *sig);
/* The table at addr if it has this signature and a valid checksum, or NULL. */
const void *acpi_table_at(uint64_t addr, const char *sig);

#define ACPI_MAX_CPUS 64
struct cpu_list {
    unsigned count;
    uint8_t apic_id[ACPI_MAX_CPUS];
};
/* Enabled processors from the ACPI MADT / the MP table, in table order.
 * Return false (after printing why) if the table is missing or invalid. */
bool acpi_madt_cpus(struct cpu_list *out);
bool mptable_cpus(struct cpu_list *out);

/* --- SMP --- */
typedef void (*ap_entry_t)(unsigned cpu_index);
/* Copy the real-mode trampoline to its page below 1 MiB and start the AP
 * with this APIC id (INIT, SIPI, SIPI). It runs entry(cpu_index) on its own
 * stack with the BSP's GDT, page tables and IDT. Returns false if the AP
 * did not check in within the timeout. */
bool smp_start_ap(unsigned apic_id, unsigned cpu_index, ap_entry_t entry);

/* --- time (only for timeouts: no test output may depend on it) --- */
static inline uint64_t rdtsc(void)
{
    uint32_t lo, hi;
    __asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
    return ((uint64_t)hi << 32) | lo;
}
/* Some seconds on any plausible TSC; long enough for a slow emulator. */
#define TSC_TIMEOUT (8ULL << 30)

static inline void cpu_relax(void)
{
    __asm__ volatile("pause" ::: "memory");
}

/* --- control registers --- */
static inline uint64_t read_cr0(void)
{
    uint64_t v;
    __asm__ volatile("mov %%cr0, %0" : "=r"(v));
    return v;
}
static inline void write_cr0(uint64_t v)
{
    __asm__ volatile("mov %0, %%cr0" ::"r"(v) : "memory");
}
static inline uint64_t read_cr3(void)
{
    uint64_t v;
    __asm__ volatile("mov %%cr3, %0" : "=r"(v));
    return v;
}
static inline void write_cr3(uint64_t v)
{
    __asm__ volatile("mov %0, %%cr3" ::"r"(v) : "memory");
}
static inline uint64_t read_cr4(void)
{
    uint64_t v;
    __asm__ volatile("mov %%cr4, %0" : "=r"(v));
    return v;
}
static inline void write_cr4(uint64_t v)
{
    __asm__ volatile("mov %0, %%cr4" ::"r"(v) : "memory");
}
static inline void invlpg(const volatile void *p)
{
    __asm__ volatile("invlpg (%0)" ::"r"(p) : "memory");
}
static inline void cpuid(uint32_t leaf, uint32_t subleaf, uint32_t r[4])
{
    __asm__ volatile("cpuid"
                     : "=a"(r[0]), "=b"(r[1]), "=c"(r[2]), "=d"(r[3])
                     : "a"(leaf), "c"(subleaf));
}

/* The boot page tables of start.S: 0-4 GiB identity mapped in 2 MiB pages. */
extern uint64_t guest_pml4[512];

/* --- descriptors and ring 3 (desc.c, user.S) --- */
#define TSS_IOMAP_BYTES 128 /* ports 0-0x3ff; ports above are beyond the TSS limit */
struct tss64 {
    uint32_t reserved0;
    uint64_t rsp[3];
    uint64_t reserved1;
    uint64_t ist[7]; /* ist[0] is IST1 */
    uint64_t reserved2;
    uint16_t reserved3;
    uint16_t iomap_base;
    uint8_t iomap[TSS_IOMAP_BYTES + 1]; /* a set bit denies the port; then 0xff */
} __attribute__((packed));
extern struct tss64 guest_tss;

/* A code or data descriptor: access byte (P, DPL, S, type), flags (G, D/B, L). */
uint64_t seg_desc(uint32_t base, uint32_t limit, unsigned access, unsigned flags);
/* Put a descriptor into the extended GDT (selector GUEST_GDT_FREE and up are free). */
void gdt_set(unsigned selector, uint64_t desc);
/* Load the extended GDT and the TSS (once). */
void desc_init(void);
/* Change an IDT gate's DPL, IST index (0: none) and present bit; after
 * idt_set_handler(), which resets them (DPL 0, no IST, present). */
void idt_set_attr(unsigned vector, unsigned dpl, unsigned ist, bool present);

/* desc_init(), the first 4 MiB user-accessible, and trap_init(), whose
 * handler ends ring-3 code (a guest's own #UD handler would break that). */
void user_init(void);
/* Run fn(arg) at ring 3 with these RFLAGS (IF, IOPL) on a user stack; returns
 * what fn returns, or the value a ring-0 handler passes to user_return(). */
uint64_t user_run(uint64_t (*fn)(uint64_t), uint64_t arg, uint64_t rflags);
__attribute__((noreturn)) void user_return(uint64_t value);
extern char user_stack_top[];

/* --- expected exceptions (trap.c) --- */
#define TRAP_NONE (~0ULL)
struct trap_record {
    uint64_t vector, error, rip, cs, rsp, cr2; /* cr2: #PF only */
    unsigned count;
};
extern volatile struct trap_record trap;
extern volatile uint64_t trap_resume;
/* Route every exception vector to the recording handler. */
void trap_init(void);
/* Forget the last exception. */
void trap_reset(void);
/* Exactly one exception happened since trap_reset(), with this vector and error code. */
bool trapped(unsigned vector, uint64_t error);
/* Print "WHAT: #GP(0x80)" (or "WHAT: no exception") and check trapped(). */
void trap_report(const char *what, unsigned vector, uint64_t error);
/* Print "WHAT: no exception", or fail. */
void trap_report_none(const char *what);
/* Extended asm whose instructions may fault: an exception is recorded in
 * `trap` and execution resumes after the instructions (at the privilege
 * level it came from). Use: TRAP_ASM("mov %0, %%ds", : : "r"(sel) : "memory"). */
#define TRAP_ASM(insns, ...)                                                                       \
    __asm__ volatile("movq $.Ltrap_resume%=, trap_resume(%%rip)\n\t" insns                         \
                     "\n.Ltrap_resume%=:\n\tmovq $0, trap_resume(%%rip)" __VA_ARGS__)

#endif
