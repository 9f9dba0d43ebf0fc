/* Legacy 32-bit protected mode for test guests (legacy32.c, legacy32.S).
 *
 * legacy_call() leaves long mode by the architectural route (lretq to
 * compatibility mode, CR0.PG off, which clears EFER.LMA, then EFER.LME
 * off), sets up the paging its caller chose (none, 32-bit with CR4.PSE, or
 * PAE), loads a 32-bit IDT and a 32-bit TSS, calls a 32-bit function with
 * three arguments (cdecl), and comes back to long mode the same way; it
 * returns what the function returned in EAX. The C runtime is 64-bit code,
 * so the 32-bit functions are assembly: the accessors below, user32_run()
 * for ring 3, and a guest's own .S file.
 *
 * Exceptions and interrupts in legacy mode go through 32-bit gates (32-bit
 * interrupt gates at DPL 0 unless legacy_idt_set() says otherwise) to a
 * recording handler: `trap32` keeps the last one, with the frame the CPU
 * pushed. An exception resumes at trap32_resume if the 32-bit code armed
 * it (`movl $resume, trap32_resume` before the instruction, cleared after
 * it, as the accessors do), at the privilege level it came from, through
 * IRET; it ends ring-3 code if it is the #UD of user32_exit; any other
 * exception aborts the legacy_call(), which then reports it and ends the
 * test (a #GP from the mov to CR0 that turns paging on is reported as a
 * host defect: the nested KVM of our hosts cannot page outside long mode).
 * An interrupt (vector 32 and up) is acknowledged with a LAPIC EOI (so the
 * LAPIC must be reachable: paging off, or mapped) and returns.
 *
 * Ring 3: user32_run(fn, arg, eflags) enters fn(arg) at CPL 3 (GUEST_UCS32,
 * GUEST_UDS) by a 32-bit IRET, on a user stack in the image; ESP0 of the
 * 32-bit TSS is the stack user32_run was called on (user32_kernel_esp).
 * fn's `ret` goes to user32_exit, whose ud2 returns EAX from user32_run.
 * Under paging, the image (first 4 MiB) must be mapped user-accessible.
 */
#ifndef GUEST_LIB_LEGACY32_H
#define GUEST_LIB_LEGACY32_H

#include "guest.h"

/* The 32-bit TSS takes the last free slot of desc.c's GDT: guests use
 * GUEST_GDT_FREE .. LEGACY_TSS32 - 8. */
#define LEGACY_TSS32 (GUEST_GDT_FREE + 0x30)

#define LEGACY_GATE_INTR 0xe  /* 32-bit interrupt gate */
#define LEGACY_GATE_TRAP 0xf  /* 32-bit trap gate */
#define LEGACY_VECTORS   0x50 /* vectors with a handler stub: 0 to 0x4f */

struct tss32 {
    uint16_t link, reserved0;
    uint32_t esp0;
    uint16_t ss0, reserved1;
    uint32_t esp1;
    uint16_t ss1, reserved2;
    uint32_t esp2;
    uint16_t ss2, reserved3;
    uint32_t cr3, eip, eflags, eax, ecx, edx, ebx, esp, ebp, esi, edi;
    uint16_t es, reserved4, cs, reserved5, ss, reserved6, ds, reserved7;
    uint16_t fs, reserved8, gs, reserved9, ldt, reserved10;
    uint16_t trap, iomap_base;
} __attribute__((packed));
extern struct tss32 legacy_tss;

/* What legacy mode runs under: CR0 bits besides PE (CR0_PG, CR0_WP), CR3,
 * CR4 (e.g. PSE or PAE), EFER bits besides LME (e.g. NXE). */
struct legacy_env {
    uint32_t cr0, cr3, cr4, efer;
};

/* The last exception or interrupt in legacy mode. esp and ss are the
 * interrupted stack: popped from the frame after a privilege change, or
 * the handler's own before the frame otherwise. handler_esp is ESP once
 * the CPU has pushed its frame (and error code); handler_eflags the
 * handler's EFLAGS (IF shows the gate type). Offsets: legacy32.S. */
struct trap32_record {
    uint32_t count, vector, error, eip, cs, eflags, esp, ss, cr2, handler_esp, handler_eflags;
};
extern volatile struct trap32_record trap32;
extern volatile uint32_t trap32_resume;
extern volatile uint32_t user32_kernel_esp; /* ESP0 of the last user32_run() */

/* desc_init(), the 32-bit TSS in the GDT (SS0 = GUEST_DS), the 32-bit IDT. */
void legacy_init(void);
/* Gate type (LEGACY_GATE_*), DPL and present bit of a vector's gate
 * (vector < LEGACY_VECTORS). */
void legacy_idt_set(unsigned vector, unsigned type, unsigned dpl, bool present);
void trap32_reset(void);
/* Run fn(a, b, c), a 32-bit function, in legacy protected mode under env. */
uint32_t legacy_call(const void *fn, uint32_t a, uint32_t b, uint32_t c,
                     const struct legacy_env *env);
static inline uint32_t addr32(const volatile void *p)
{
    return (uint32_t)(uintptr_t)p;
}

/* 32-bit functions for legacy_call() and user32_run(), each armed so that
 * a fault resumes after the access (the value read is then 0):
 *   uint32_t legacy_read32(uint32_t addr)          read a dword
 *   uint32_t legacy_write32(uint32_t addr, uint32_t v)
 *   uint32_t legacy_fetch32(uint32_t addr)         jump to addr, where
 *                     `jmp *%ecx` (ff e1) must come back
 *   uint32_t user32_run(uint32_t fn, uint32_t arg, uint32_t eflags) */
extern char legacy_read32[], legacy_write32[], legacy_fetch32[], user32_run[];
extern char user32_exit[];

#endif
