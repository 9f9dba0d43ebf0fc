/* The iret guest's round trips (iret.c prints and checks what they record).
 *
 * iret_ring0: iretq from 64-bit code into compatibility mode, a 32-bit
 * iret to compatibility mode, a 32-bit iret back to 64-bit code. Records
 * the CS of each step in k_cs[] and ESP before the first 32-bit iret's
 * pushes minus ESP after the last iret in k_esp_delta (0: the irets popped
 * only what was pushed: no SS:ESP at the same privilege level).
 *
 * iret_ring3: the same at ring 3 (user_run() calls it): iretq into 32-bit
 * user code, a 32-bit iret back; u_cs[], u_esp_delta. */
#include "defs.h"

    .section .text
    .code64
    .globl iret_ring0, iret_ring3, iret_code_end
iret_ring0:
    pushq %rbx
    movq %rsp, saved_rsp(%rip)
    movq %rsp, %rax
    pushq $GUEST_DS
    pushq %rax
    pushq $2
    pushq $GUEST_CS32
    pushq $1f
    iretq
    .code32
1:  movw %cs, k_cs
    movl %esp, %ebx
    pushfl
    pushl $GUEST_CS32
    pushl $2f
    iret
2:  movw %cs, k_cs + 8
    pushfl
    pushl $GUEST_CS64
    pushl $3f
    iret
    .code64
3:  movw %cs, k_cs + 16(%rip)
    movl %ebx, %eax
    subl %esp, %eax
    movq %rax, k_esp_delta(%rip)
    movq saved_rsp(%rip), %rsp
    popq %rbx
    ret

iret_ring3:
    pushq %rbx
    movq %rsp, saved_rsp(%rip)
    movq %rsp, %rax
    pushq $(GUEST_UDS | 3)
    pushq %rax
    pushfq
    pushq $(GUEST_UCS32 | 3)
    pushq $1f
    iretq
    .code32
1:  movl $(GUEST_UDS | 3), %edx /* the iretq to ring 3 left DS null */
    movw %dx, %ds
    movw %cs, u_cs
    movl %esp, %ebx
    pushfl
    pushl $(GUEST_UCS64 | 3)
    pushl $2f
    iret
    .code64
2:  movw %cs, u_cs + 8(%rip)
    movl %ebx, %eax
    subl %esp, %eax
    movq %rax, u_esp_delta(%rip)
    movq saved_rsp(%rip), %rsp
    popq %rbx
    ret
iret_code_end:

    .section .note.GNU-stack, "", @progbits
