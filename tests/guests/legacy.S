/* The legacy guest's ring-3 code (32-bit, cdecl, run by user32_run(); see
 * legacy.c). Each function records ESP just before the instruction that
 * traps (r3_esp) and again once the handler's IRET has brought it back to
 * ring 3 (r3_esp_after), and returns CS | SS << 16 as ring 3 sees them
 * then. None touches the arithmetic flags before the trap, so the EFLAGS
 * in the frame are the ones user32_run() gave.
 */
#include "defs.h"

#define LAPIC_ICR_LOW_REG 0xfee00300
#define IPI_SPIN          100000

    .macro BACK_IN_RING3
    movl %esp, r3_esp_after
    xorl %eax, %eax
    movw %ss, %ax
    shll $16, %eax
    movw %cs, %ax
    ret
    .endm

    .section .text
    .code32
    .globl r3_ud2, r3_ud2_insn, r3_gp, r3_gp_insn, r3_pf, r3_pf_insn
    .globl r3_ipi, r3_ipi_sent, r3_ipi_end

/* #UD */
r3_ud2:
    movl %esp, r3_esp
    movl $1f, trap32_resume
r3_ud2_insn:
    ud2
1:  BACK_IN_RING3

/* #GP(GUEST_DS): a DPL-0 data segment loaded into DS at CPL 3. */
r3_gp:
    movl $GUEST_DS, %eax
    movl %esp, r3_esp
    movl $1f, trap32_resume
r3_gp_insn:
    movw %ax, %ds
1:  BACK_IN_RING3

/* #PF: a read of the address in the argument. */
r3_pf:
    movl 4(%esp), %edx
    movl %esp, r3_esp
    movl $1f, trap32_resume
r3_pf_insn:
    movl (%edx), %eax
1:  BACK_IN_RING3

/* An interrupt: a self-IPI sent through the ICR (the argument is the ICR's
 * low dword), then a bounded wait for the handler to count it. */
r3_ipi:
    movl 4(%esp), %eax
    movl %esp, r3_esp
    movl %eax, LAPIC_ICR_LOW_REG
r3_ipi_sent:
    movl $IPI_SPIN, %ecx
1:  cmpl $0, trap32
    jne 2f
    decl %ecx
    jnz 1b
2:
r3_ipi_end:
    BACK_IN_RING3

    .section .bss
    .balign 4
    .globl r3_esp, r3_esp_after
r3_esp:
    .skip 4
r3_esp_after:
    .skip 4

    .section .note.GNU-stack, "", @progbits
