/* The start of the linuxboot guest's protected-mode payload, laid out as
 * Linux's arch/x86/boot/compressed/head_64.S: the 32-bit entry at offset 0,
 * the 64-bit entry (startup_64) at 0x200. Between them sits kernel_info
 * (boot protocol 2.15), which the setup header points at.
 *
 * At startup_64 the 64-bit boot protocol promises long mode, an identity
 * map, the loader's GDT with __BOOT_CS (0x10) and __BOOT_DS (0x18),
 * interrupts off and RSI = the zero page, but no stack. linuxboot.c checks
 * all of that; this file only takes a stack, notes RFLAGS before touching
 * IF, makes sure it runs where it was linked (LINUXBOOT_PREF_ADDRESS), and
 * clears .bss, which the loader leaves as it finds it (init_size covers it).
 */
#include "linuxboot.h"

#define KINFO_MAGIC 0x506f544c /* "LToP" */

    .section .head.text, "ax"
    .code32
    .globl startup_32
startup_32:
    /* The 32-bit boot protocol's entry: not implemented. */
    movw $LINUXBOOT_DEBUG_EXIT_PORT, %dx
    movl $LINUXBOOT_EXIT_ENTRY32, %eax
    outl %eax, %dx
1:  hlt
    jmp 1b

    .org LINUXBOOT_KINFO_OFFSET
kernel_info:
    .long KINFO_MAGIC
    .long kernel_info_end - kernel_info     /* size */
    .long kernel_info_end - kernel_info     /* size_total: no variable part */
    .long 0                                 /* setup_type_max */
kernel_info_end:

    .code64
    .org LINUXBOOT_ENTRY64_OFFSET
    .globl startup_64
startup_64:
    leaq linuxboot_stack_top(%rip), %rsp
    pushfq
    popq %rdx                   /* arg 3: RFLAGS at entry */
    cli
    cld
    leaq startup_64(%rip), %rcx
    movl $startup_64, %eax      /* the link address */
    cmpq %rax, %rcx
    jne moved
    movq %rsi, %r12             /* the zero page */
    movq %rdx, %r13
    leaq linuxboot_bss_start(%rip), %rdi
    leaq linuxboot_bss_end(%rip), %rcx
    subq %rdi, %rcx
    xorl %eax, %eax
    rep stosb
    movq %r12, %rdi             /* arg 1: the zero page */
    leaq startup_64(%rip), %rsi /* arg 2: the entry point */
    movq %r13, %rdx
    xorl %ebp, %ebp
    call linuxboot_main
    call guest_finish
2:  cli
    hlt
    jmp 2b

/* Loaded somewhere else than the address the C code is linked at, so it
 * cannot run: say so with position-independent code only, and exit. */
moved:
    leaq moved_msg(%rip), %rsi
3:  lodsb
    testb %al, %al
    jz 5f
    movb %al, %bl
    movw $LINUXBOOT_COM1_LSR, %dx
4:  inb %dx, %al
    testb $LINUXBOOT_LSR_THRE, %al
    jz 4b
    movb %bl, %al
    movw $LINUXBOOT_COM1, %dx
    outb %al, %dx
    jmp 3b
5:  movw $LINUXBOOT_DEBUG_EXIT_PORT, %dx
    movl $LINUXBOOT_EXIT_MOVED, %eax
    outl %eax, %dx
6:  cli
    hlt
    jmp 6b

    .section .rodata
moved_msg:
    .asciz "linuxboot: FAIL: startup_64 entered, but not at pref_address + 0x200\n"

    /* For linuxboot.ld's checks. */
    .globl linuxboot_pref_address, linuxboot_init_size, linuxboot_entry64_offset
    .set linuxboot_pref_address, LINUXBOOT_PREF_ADDRESS
    .set linuxboot_init_size, LINUXBOOT_INIT_SIZE
    .set linuxboot_entry64_offset, LINUXBOOT_ENTRY64_OFFSET

    .section .linuxboot.stack, "aw", @nobits
    .balign 16
    .skip LINUXBOOT_STACK_SIZE
    .globl linuxboot_stack_top
linuxboot_stack_top:

    .section .note.GNU-stack, "", @progbits
