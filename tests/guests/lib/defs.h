/* Constants shared by the C runtime and the assembly (start.S, isr.S,
 * ap-trampoline.S): nothing but #defines here. */
#ifndef GUEST_LIB_DEFS_H
#define GUEST_LIB_DEFS_H

/* GDT selectors (gdt in start.S). */
#define GUEST_CS64 0x08
#define GUEST_DS   0x10
#define GUEST_CS32 0x18

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

#endif
