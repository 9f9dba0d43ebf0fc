/* Entry point, signal restorer and setjmp/longjmp for the test programs. */
    .text
    .globl _start
_start:
    xor %ebp, %ebp
    mov %rsp, entry_rsp(%rip)
    mov %rsp, %rdi
    and $-16, %rsp
    call ulib_start
    hlt

    .globl restore_rt
restore_rt:
    mov $15, %eax
    syscall
    hlt

/* int setjmp_(jmpbuf env): rbx rbp r12 r13 r14 r15 rsp rip */
    .globl setjmp_
setjmp_:
    mov %rbx, 0(%rdi)
    mov %rbp, 8(%rdi)
    mov %r12, 16(%rdi)
    mov %r13, 24(%rdi)
    mov %r14, 32(%rdi)
    mov %r15, 40(%rdi)
    lea 8(%rsp), %rdx
    mov %rdx, 48(%rdi)
    mov (%rsp), %rdx
    mov %rdx, 56(%rdi)
    xor %eax, %eax
    ret

/* void longjmp_(jmpbuf env, int v) */
    .globl longjmp_
longjmp_:
    mov %esi, %eax
    test %eax, %eax
    jnz 1f
    inc %eax
1:  mov 0(%rdi), %rbx
    mov 8(%rdi), %rbp
    mov 16(%rdi), %r12
    mov 24(%rdi), %r13
    mov 32(%rdi), %r14
    mov 40(%rdi), %r15
    mov 48(%rdi), %rsp
    jmp *56(%rdi)

    .data
    .globl entry_rsp
    .balign 8
entry_rsp:
    .quad 0

    .section .note.GNU-stack, "", @progbits
