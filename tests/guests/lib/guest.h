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
 * Everything runs at ring 0, which the nested KVM on our development hosts
 * emulates at about 1 us per instruction: keep loops short, and never use
 * `int n` outside the dedicated probe guest (that host cannot run it).
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
#define GUEST_EXIT_PASS      0
#define GUEST_EXIT_FAIL      1
#define GUEST_EXIT_EXCEPTION 2

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

#endif
