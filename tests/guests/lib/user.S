/* Ring 3 for test guests: user_run() enters a function at ring 3 by iretq
 * (64-bit user code segment, its own user stack) and returns when a ring-0
 * handler calls user_return(). The function's own `ret` goes to user_exit,
 * whose ud2 trap.c turns into user_return(RAX): not `int n`, which the
 * nested KVM of our hosts turns into #UD at ring 3. Interrupts and
 * exceptions from ring 3 arrive on the stack user_run() was called on
 * (TSS.RSP0), below its saved registers.
 *
 *   uint64_t user_run(uint64_t (*fn)(uint64_t), uint64_t arg, uint64_t rflags)
 *   void user_return(uint64_t value)    (noreturn; ring 0 only)
 */
#include "defs.h"

#define TSS_RSP0 4 /* offset in struct tss64 */

    .section .text
    .globl user_run, user_return, user_exit
user_run:
    pushq %rbx
    pushq %rbp
    pushq %r12
    pushq %r13
    pushq %r14
    pushq %r15
    movq %rsp, user_kernel_rsp(%rip)
    movq %rsp, guest_tss + TSS_RSP0(%rip)
    leaq user_stack_top - 8(%rip), %rax
    movq $user_exit, (%rax)     /* fn's return address */
    pushq $(GUEST_UDS | 3)
    pushq %rax
    pushq %rdx                  /* RFLAGS: the caller's choice of IF and IOPL */
    pushq $(GUEST_UCS64 | 3)
    pushq %rdi
    movq %rsi, %rdi
    iretq

user_exit:                      /* ring 3: fn returned its value in RAX */
    ud2

user_return:
    movq %rdi, %rax
    movq user_kernel_rsp(%rip), %rsp
    /* iretq to ring 3 nulled DS and ES (DPL 0), and the way back nulled
     * SS: reload them for callers that go on to legacy modes. */
    movl $GUEST_DS, %ecx
    movw %cx, %ds
    movw %cx, %es
    movw %cx, %ss
    popq %r15
    popq %r14
    popq %r13
    popq %r12
    popq %rbp
    popq %rbx
    ret

    .section .bss
    .balign 16
user_kernel_rsp:
    .skip 8
    .balign 16
    .globl user_stack_top
user_stack:
    .skip 0x2000
user_stack_top:

    .section .note.GNU-stack, "", @progbits
