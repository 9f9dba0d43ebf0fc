/* The smallest test: write(1, "hello, world\n") and exit_group(7), with
 * RIP-relative addressing only, so the same source links as a static
 * ET_EXEC (hello) and as a static-pie ET_DYN (hello-pie). */
    .text
    .globl _start
_start:
    mov $1, %eax
    mov $1, %edi
    lea msg(%rip), %rsi
    mov $len, %edx
    syscall
    mov $231, %eax
    mov $7, %edi
    syscall
    hlt

    .section .rodata
msg:
    .ascii "hello, world\n"
    len = . - msg

    .section .note.GNU-stack, "", @progbits
