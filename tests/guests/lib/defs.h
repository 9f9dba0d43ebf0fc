/* Constants shared by the C runtime and the assembly (start.S, isr.S,
 * ap-trampoline.S): nothing but #defines here. */
#ifndef GUEST_LIB_DEFS_H
#define GUEST_LIB_DEFS_H

/* GDT selectors (gdt in start.S). */
#define GUEST_CS64 0x08
#define GUEST_DS   0x10
#define GUEST_CS32 0x18
/* The extended GDT of desc.c adds ring-3 segments laid out for SYSRET
 * (STAR[63:48] = GUEST_UCS32: 32-bit CS, then SS, then 64-bit CS), the TSS
 * (two slots) and free slots for a guest's own descriptors. */
#define GUEST_UCS32     0x20
#define GUEST_UDS       0x28
#define GUEST_UCS64     0x30
#define GUEST_TSS       0x38
#define GUEST_GDT_FREE  0x48 /* first free slot */
#define GUEST_GDT_SLOTS 16

/* The AP trampoline's page: below 1 MiB (a SIPI vector names a 4 KiB page
 * there), clear of xuni's multiboot info at 0x9000 and of the EBDA. */
#define AP_TRAMP_BASE 0x8000

#define GUEST_STACK_SIZE 0x4000
#define AP_STACK_SIZE    0x1000

#define MSR_EFER 0xc0000080
#define EFER_LME 0x100
#define CR0_PE   0x1
#define CR0_PG   0x80000000
#define CR4_PAE  0x20

#define EFLAGS_IF    0x200
#define EFLAGS_IOPL3 0x3000 /* both bits: IOPL 3 */

#endif
