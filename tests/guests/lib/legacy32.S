/* Legacy 32-bit protected mode for test guests: the mode switches of
 * legacy_call(), the 32-bit exception/interrupt handler, the accessors and
 * ring 3 (legacy32.h says what each does).
 *
 * legacy_enter(args) runs in 64-bit mode, goes to compatibility mode by
 * lretq, turns paging off (EFER.LMA drops: legacy protected mode), clears
 * EFER.LME, loads the caller's CR4/CR3/EFER bits, the 32-bit IDT and the
 * 32-bit TSS, turns on the caller's CR0 bits (paging), and calls the
 * function. legacy_leave undoes it all, also when the handler aborts (it
 * restores the ESP legacy_enter had before the call).
 */
#include "defs.h"

#define LEGACY_TSS32   (GUEST_GDT_FREE + 0x30) /* as legacy32.h */
#define LEGACY_VECTORS 0x50 /* as legacy32.h */
#define TSS32_ESP0     4
#define EFER_NXE       0x800
#define TYPE_BUSY      2 /* in a TSS descriptor's type */
#define LAPIC_EOI_REG  0xfee000b0
#define VEC_UD         6
#define VEC_PF         14
/* Vectors whose exceptions push an error code: 8, 10-14, 17, 21, 29, 30. */
#define ERROR_VECTORS 0x60227d00

/* struct legacy_args (legacy32.c) */
#define A_FN   0
#define A_A    4
#define A_B    8
#define A_C    12
#define A_CR0  16
#define A_CR3  20
#define A_CR4  24
#define A_EFER 28

/* struct trap32_record (legacy32.h) */
#define T_COUNT   0
#define T_VECTOR  4
#define T_ERROR   8
#define T_EIP     12
#define T_CS      16
#define T_EFLAGS  20
#define T_ESP     24
#define T_SS      28
#define T_CR2     32
#define T_HESP    36
#define T_HEFLAGS 40
#define T_SIZE    44

/* legacy_common's frame: ES, DS, PUSHAL, the stub's vector and error code,
 * then what the CPU pushed. */
#define F_EAX    36
#define F_VEC    40
#define F_ERR    44
#define F_EIP    48
#define F_CS     52
#define F_EFLAGS 56
#define F_ESP    60
#define F_SS     64

    .section .text
    .code64
    .globl legacy_enter
legacy_enter:
    pushq %rbx
    pushq %rbp
    pushq %r12
    pushq %r13
    pushq %r14
    pushq %r15
    movq %rsp, l_saved_rsp(%rip)
    sidt l_saved_idtr(%rip)
    movq %cr0, %rax
    movl %eax, l_saved_cr0(%rip)
    movq %cr3, %rax
    movl %eax, l_saved_cr3(%rip)
    movq %cr4, %rax
    movl %eax, l_saved_cr4(%rip)
    movl $MSR_EFER, %ecx
    rdmsr
    movl %eax, l_saved_efer(%rip)
    movq %rdi, %rbx             /* the arguments: below 4 GiB */
    pushq $GUEST_CS32
    pushq $legacy_compat
    lretq

    .code32
legacy_compat:
    movl %cr0, %eax
    andl $~CR0_PG, %eax
    movl %eax, %cr0             /* EFER.LMA = 0: legacy protected mode */
    movl $MSR_EFER, %ecx
    rdmsr
    andl $~(EFER_LME | EFER_NXE), %eax
    orl A_EFER(%ebx), %eax
    wrmsr
    movl A_CR4(%ebx), %eax
    movl %eax, %cr4
    lidt legacy_idtr
    sgdt l_gdtr
    movl l_gdtr + 2, %eax
    andb $~TYPE_BUSY, LEGACY_TSS32 + 5(%eax) /* ltr wants it available */
    movl $LEGACY_TSS32, %eax
    ltr %ax
    movl %esp, l_legacy_esp
    movl A_CR3(%ebx), %eax
    movl %eax, %cr3
    movl %cr0, %eax
    orl A_CR0(%ebx), %eax
    .globl legacy_paging_on
legacy_paging_on:
    movl %eax, %cr0
    pushl A_C(%ebx)
    pushl A_B(%ebx)
    pushl A_A(%ebx)
    call *A_FN(%ebx)
legacy_leave:                   /* EAX: the result */
    movl %ss:l_legacy_esp, %esp
    movl $GUEST_DS, %ecx
    movw %cx, %ds
    movw %cx, %es
    movl %eax, %esi
    movl %cr0, %eax
    andl $~CR0_PG, %eax
    movl %eax, %cr0
    movl l_saved_cr4, %eax
    movl %eax, %cr4
    movl l_saved_cr3, %eax
    movl %eax, %cr3
    movl $MSR_EFER, %ecx
    xorl %edx, %edx
    movl l_saved_efer, %eax
    wrmsr
    movl l_saved_cr0, %eax
    movl %eax, %cr0             /* EFER.LMA = 1: compatibility mode */
    ljmp $GUEST_CS64, $legacy_back64

    .code64
legacy_back64:
    movl $GUEST_DS, %eax
    movw %ax, %ds
    movw %ax, %es
    movw %ax, %ss
    movq l_saved_rsp(%rip), %rsp
    lidt l_saved_idtr(%rip)
    sgdt l_gdtr64(%rip)
    movq l_gdtr64 + 2(%rip), %rax
    andb $~TYPE_BUSY, GUEST_TSS + 5(%rax)
    movl $GUEST_TSS, %eax
    ltr %ax                     /* the 64-bit TSS again */
    movl %esi, %eax
    popq %r15
    popq %r14
    popq %r13
    popq %r12
    popq %rbp
    popq %rbx
    ret

/* --- the handler --- */

    .code32
    .balign 16
    .globl legacy_stubs
legacy_stubs:
    .set vec, 0
    .rept LEGACY_VECTORS
    .balign 16
    .if !(vec == 8 || vec == 10 || vec == 11 || vec == 12 || vec == 13 || vec == 14 || vec == 17 || vec == 21 || vec == 29 || vec == 30)
    pushl $0
    .endif
    pushl $vec
    jmp legacy_common
    .set vec, vec + 1
    .endr

legacy_common:
    pushal
    pushl %ds
    pushl %es
    pushfl
    popl %ss:l_hflags
    movl $GUEST_DS, %eax
    movw %ax, %ds
    movw %ax, %es
    movl F_VEC(%esp), %eax
    /* The ud2 at user32_exit, from ring 3: ring-3 code is done. */
    cmpl $VEC_UD, %eax
    jne 1f
    testb $3, F_CS(%esp)
    jz 1f
    cmpl $user32_exit, F_EIP(%esp)
    jne 1f
    movl F_EAX(%esp), %eax
    jmp user32_return
1:  incl trap32 + T_COUNT
    movl %eax, trap32 + T_VECTOR
    movl F_ERR(%esp), %ecx
    movl %ecx, trap32 + T_ERROR
    movl F_EIP(%esp), %ecx
    movl %ecx, trap32 + T_EIP
    movzwl F_CS(%esp), %ecx
    movl %ecx, trap32 + T_CS
    movl F_EFLAGS(%esp), %ecx
    movl %ecx, trap32 + T_EFLAGS
    movl l_hflags, %ecx
    movl %ecx, trap32 + T_HEFLAGS
    /* ESP after the CPU's pushes: at the EIP, or at an error code it pushed. */
    leal F_EIP(%esp), %ecx
    cmpl $32, %eax
    jae 2f
    movl $ERROR_VECTORS, %edx
    btl %eax, %edx
    jnc 2f
    subl $4, %ecx
2:  movl %ecx, trap32 + T_HESP
    testb $3, F_CS(%esp)
    jz 3f
    movl F_ESP(%esp), %ecx      /* from ring 3: the SS:ESP the CPU pushed */
    movzwl F_SS(%esp), %edx
    jmp 4f
3:  leal F_ESP(%esp), %ecx      /* same level: just above the frame */
    xorl %edx, %edx
    movw %ss, %dx
4:  movl %ecx, trap32 + T_ESP
    movl %edx, trap32 + T_SS
    xorl %ecx, %ecx
    cmpl $VEC_PF, %eax
    jne 5f
    movl %cr2, %ecx
5:  movl %ecx, trap32 + T_CR2
    cmpl $32, %eax
    jb 6f
    movl $0, LAPIC_EOI_REG      /* an interrupt: acknowledge, return */
    jmp 7f
6:  movl trap32_resume, %ecx
    testl %ecx, %ecx
    jz legacy_abort
    movl %ecx, F_EIP(%esp)
    movl $0, trap32_resume
7:  popl %es
    popl %ds
    popal
    addl $8, %esp
    iret

legacy_abort:                   /* nothing expected it: leave legacy mode */
    movl $1, legacy_aborted
    xorl %eax, %eax
    jmp legacy_leave

/* --- accessors (cdecl) --- */

    .globl legacy_read32, legacy_write32, legacy_fetch32
legacy_read32:
    movl 4(%esp), %edx
    xorl %eax, %eax
    movl $1f, trap32_resume
    movl (%edx), %eax
1:  movl $0, trap32_resume
    ret

legacy_write32:
    movl 4(%esp), %edx
    movl 8(%esp), %ecx
    movl $1f, trap32_resume
    movl %ecx, (%edx)
1:  movl $0, trap32_resume
    xorl %eax, %eax
    ret

legacy_fetch32:
    movl 4(%esp), %edx
    movl $1f, %ecx
    movl $1f, trap32_resume
    jmp *%edx
1:  movl $0, trap32_resume
    xorl %eax, %eax
    ret

/* --- ring 3 --- */

    .globl user32_run, user32_exit
user32_run:                     /* (fn, arg, eflags) */
    pushl %ebp
    pushl %ebx
    pushl %esi
    pushl %edi
    movl %esp, user32_kernel_esp
    movl %esp, legacy_tss + TSS32_ESP0
    movl 20(%esp), %eax
    movl 24(%esp), %ecx
    movl 28(%esp), %edx
    movl $user32_stack_top - 8, %edi
    movl $user32_exit, (%edi)   /* fn's return address, then its argument */
    movl %ecx, 4(%edi)
    pushl $(GUEST_UDS | 3)
    pushl %edi
    pushl %edx
    pushl $(GUEST_UCS32 | 3)
    pushl %eax
    movl $(GUEST_UDS | 3), %eax
    movw %ax, %ds
    movw %ax, %es
    iret

user32_exit:                    /* ring 3: fn returned its value in EAX */
    ud2

user32_return:                  /* from legacy_common, EAX: the value */
    movl %ss:user32_kernel_esp, %esp
    movl $GUEST_DS, %ecx
    movw %cx, %ds
    movw %cx, %es
    popl %edi
    popl %esi
    popl %ebx
    popl %ebp
    ret

    .section .rodata
    .balign 8
    .word 0                     /* so that the base is 4-byte aligned */
legacy_idtr:
    .word 256 * 8 - 1
    .long legacy_idt

    .section .bss
    .balign 16
    .globl trap32, trap32_resume, user32_kernel_esp
trap32:
    .skip T_SIZE
trap32_resume:
    .skip 4
user32_kernel_esp:
    .skip 4
l_legacy_esp:
    .skip 4
l_hflags:
    .skip 4
l_saved_cr0:
    .skip 4
l_saved_cr3:
    .skip 4
l_saved_cr4:
    .skip 4
l_saved_efer:
    .skip 4
    .balign 8
l_saved_rsp:
    .skip 8
l_saved_idtr:
    .skip 16
l_gdtr:
    .skip 8
l_gdtr64:
    .skip 16
    .balign 16
user32_stack:
    .skip 0x1000
user32_stack_top:

    .section .note.GNU-stack, "", @progbits
