/* The AP trampoline. smp_start_ap() copies [ap_tramp_start, ap_tramp_end)
 * to AP_TRAMP_BASE; a SIPI starts the AP there in real mode (CS = base >> 4,
 * IP = 0). It goes straight to protected mode and then long mode with the
 * BSP's GDT and page tables, takes the stack the BSP left in smp_ap_stack
 * and calls smp_ap_main(). Every address used before long mode is inside
 * the copied page, hence TRAMP(). */
#include "defs.h"

#define TRAMP(sym) ((sym) - ap_tramp_start + AP_TRAMP_BASE)

    .section .rodata
    .balign 16
    .globl ap_tramp_start, ap_tramp_end
    .code16
ap_tramp_start:
    cli
    cld
    xorw %ax, %ax
    movw %ax, %ds
    lgdtl TRAMP(tramp_gdt_desc)
    movl %cr0, %eax
    orl $CR0_PE, %eax
    movl %eax, %cr0
    ljmpl $GUEST_CS32, $TRAMP(tramp32)

    .code32
tramp32:
    movl $GUEST_DS, %eax
    movw %ax, %ds
    movw %ax, %es
    movw %ax, %ss
    movl %cr4, %eax
    orl $CR4_PAE, %eax
    movl %eax, %cr4
    movl $guest_pml4, %eax
    movl %eax, %cr3
    movl $MSR_EFER, %ecx
    rdmsr
    orl $EFER_LME, %eax
    wrmsr
    movl %cr0, %eax
    orl $CR0_PG, %eax
    movl %eax, %cr0
    ljmp $GUEST_CS64, $TRAMP(tramp64)

    .code64
tramp64:
    movl $GUEST_DS, %eax
    movw %ax, %ds
    movw %ax, %es
    movw %ax, %ss
    movw %ax, %fs
    movw %ax, %gs
    movq smp_ap_stack, %rsp
    xorl %ebp, %ebp
    movabsq $smp_ap_main, %rax
    call *%rax
1:  cli
    hlt
    jmp 1b

    .balign 8
    .word 0, 0, 0
tramp_gdt_desc:                 /* the BSP's GDT, reachable from real mode */
    .word 4 * 8 - 1
    .long guest_gdt
ap_tramp_end:

    .section .note.GNU-stack, "", @progbits
