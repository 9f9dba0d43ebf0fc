/* The nmi-shadow guest's single-step sequences (nmi-shadow.c's #DB handler
 * records where each single-step trap arrives and clears TF at the stop).
 *
 * POPF setting TF traps only after the instruction that follows it; then
 * every instruction traps, but the one after a MOV to SS or POP to SS (SDM
 * Vol. 3, 6.8.3: a single-step trap that would follow it is suppressed).
 * Each sequence is
 *     popf (TF = 1); nop; <load SS>; nop; nop
 * so the traps arrive at X_load (after the first nop) and X_stop (after
 * the nop that follows the load), never at X_after (right after the load).
 *
 * ss_mov64: MOV SS in 64-bit mode. ss_pop32: POP SS in compatibility mode
 * (it does not exist in 64-bit mode), then MOV SS there; entered by lretq,
 * left by ljmp.
 */
#include "defs.h"

#define RFLAGS_TF 0x100

    .section .text
    .code64
    .globl ss_mov64, ss_mov64_load, ss_mov64_after, ss_mov64_stop
ss_mov64:
    movw %ss, %ax
    pushfq
    orq $RFLAGS_TF, (%rsp)
    popfq
    nop
ss_mov64_load:
    movw %ax, %ss
ss_mov64_after:
    nop
ss_mov64_stop:
    nop
    pushfq                      /* TF off, whether or not the handler did it */
    andq $~RFLAGS_TF, (%rsp)
    popfq
    ret

    .globl ss_pop32, ss_pop32_load, ss_pop32_after, ss_pop32_stop
    .globl ss_mov32_load, ss_mov32_after, ss_mov32_stop
ss_pop32:
    movq %rsp, saved_rsp(%rip)
    pushq $GUEST_CS32
    pushq $1f
    lretq
    .code32
1:  pushl %ss
    pushfl
    orl $RFLAGS_TF, (%esp)
    popfl
    nop
ss_pop32_load:
    popl %ss
ss_pop32_after:
    nop
ss_pop32_stop:
    nop
    pushfl
    andl $~RFLAGS_TF, (%esp)
    popfl

    movw %ss, %ax
    pushfl
    orl $RFLAGS_TF, (%esp)
    popfl
    nop
ss_mov32_load:
    movw %ax, %ss
ss_mov32_after:
    nop
ss_mov32_stop:
    nop
    pushfl
    andl $~RFLAGS_TF, (%esp)
    popfl
    ljmp $GUEST_CS64, $2f
    .code64
2:  movq saved_rsp(%rip), %rsp  /* RSP[63:32]: not kept by 32-bit code */
    ret

    .section .bss
    .balign 8
saved_rsp:
    .skip 8

    .section .note.GNU-stack, "", @progbits
