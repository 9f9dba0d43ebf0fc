/* The modes guest's mode changes (modes.c prints what they record).
 *
 * modes_run() goes from 64-bit mode down to real mode and back up, by the
 * architectural routes, recording one log entry per step:
 *   1  64-bit mode (as start.S left it)
 *   2  compatibility mode, entered by lretq
 *   3  legacy 32-bit protected mode: CR0.PG cleared in compatibility mode
 *      (EFER.LMA drops), then EFER.LME cleared
 *   4  sysexit to ring 3 and sysenter back (legacy mode: AMD has them only
 *      there)
 *   5  16-bit protected mode (a 16-bit code segment, by ljmp)
 *   6  real mode (CR0.PE cleared, then ljmp to a real-mode CS)
 *   7  real mode: a far pointer (les) read
 *   8  real mode: 16-bit offsets wrap within the segment
 *   9  real mode: push and pop
 *   10 real mode: far call into another CS:IP for the same code, lret
 *   11 real mode: int $0x30 through the IVT, iret
 *   12 16-bit protected mode again (CR0.PE set, ljmp)
 *   13 32-bit protected mode (ljmpl to a 32-bit code segment)
 *   14 long mode on (PAE, CR3, EFER.LME, CR0.PG), still in a 32-bit
 *      segment: compatibility mode
 *   15 64-bit mode (ljmp to the 64-bit code segment)
 *   16 compatibility mode, entered by a far call (m16:32) ...
 *   17 ... and 64-bit mode again after its 32-bit lret
 *   18 compatibility mode, entered by iretq (a mode-changing iret) ...
 *   19 ... and 64-bit mode again by ljmp. (Not by a 32-bit iret: the
 *      nested KVM of our hosts raises #GP for iret in compatibility mode;
 *      the iret guest has that.)
 *
 * Every step runs PROBE, the same bytes in every mode, decoded per mode:
 *   b8 01 00 90 90   mov $0x90900001, %eax  | 16-bit: mov $1, %ax; nop; nop
 *   40 90            inc %eax; nop          | 64-bit: REX nop
 *   89 e1            mov %esp, %ecx         | 16-bit: mov %sp, %cx
 *   50               push %eax (%ax, %rax)
 *   29 e1            sub %esp, %ecx         | 16-bit: sub %sp, %cx
 *   58               pop
 * From EAX = 0x12340000, ECX = 0 it leaves EAX = 0x12340002 (16-bit),
 * 0x90900002 (32-bit) or 0x90900001 (64-bit), and ECX = the push width.
 *
 * A log entry is five dwords: step, EAX, ECX, EDX, ESI (EDX and ESI are
 * step-specific). The code that runs below 32-bit mode is copied to
 * LOW_BASE (real-mode segment LOW_SEG) with its data and the log; the 16-bit
 * protected-mode segments have that base too, so offsets from
 * modes16_start address the same bytes in both. Interrupts stay off, but
 * for the real-mode int test; the 64-bit IDT is restored after step 14.
 */
#include "defs.h"

#define LOW_BASE 0x10000
#define LOW_SEG  (LOW_BASE >> 4)
#define STACK16  0xfff0 /* SP in real and 16-bit protected mode */
#define OFF(sym) ((sym) - modes16_start)
#define LOW(sym) (LOW_BASE + OFF(sym))

#define SEL_CS16 GUEST_GDT_FREE          /* base LOW_BASE, 64 KiB, 16-bit code */
#define SEL_DS16 (GUEST_GDT_FREE + 0x08) /* base LOW_BASE, 64 KiB, data */
/* SYSENTER_CS: flat 32-bit code and data for ring 0, then for ring 3. */
#define SEL_SYSENTER (GUEST_GDT_FREE + 0x10)

#define MSR_SYSENTER_CS  0x174
#define MSR_SYSENTER_ESP 0x175
#define MSR_SYSENTER_EIP 0x176

#define INT_VECTOR   0x30
#define IRET_RFLAGS  0x803 /* OF, CF and the fixed bit: step 17 shows them */
#define FAR_CS_DELTA 1 /* step 9 calls through CS = LOW_SEG - 1, IP + 16 */

    .macro PRESET
    movl $0x12340000, %eax
    xorl %ecx, %ecx
    .endm

    .macro PROBE
    .byte 0xb8, 0x01, 0x00, 0x90, 0x90
    .byte 0x40, 0x90
    .byte 0x89, 0xe1
    .byte 0x50
    .byte 0x29, 0xe1
    .byte 0x58
    .endm

    /* DS has base LOW_BASE. */
    .macro LOG16 step
    movw OFF(log_next), %di
    movl $\step, (%di)
    movl %eax, 4(%di)
    movl %ecx, 8(%di)
    movl %edx, 12(%di)
    movl %esi, 16(%di)
    addw $20, OFF(log_next)
    .endm

    /* Flat DS, in 32-bit and 64-bit code (addresses below 2 GiB). */
    .macro LOG32 step, reg=%edi
    movl LOW(log_next), %edi
    movl $\step, LOW_BASE(\reg)
    movl %eax, LOW_BASE + 4(\reg)
    movl %ecx, LOW_BASE + 8(\reg)
    movl %edx, LOW_BASE + 12(\reg)
    movl %esi, LOW_BASE + 16(\reg)
    addl $20, LOW(log_next)
    .endm

    /* Read the code segment selector into EDX. */
    .macro CS_TO_EDX
    xorl %edx, %edx
    movw %cs, %dx
    .endm

    /* EFER into EDX, keeping EAX and ECX (rdmsr takes both). */
    .macro EFER_TO_EDX
    movl %eax, %ebx
    movl %ecx, %ebp
    movl $MSR_EFER, %ecx
    rdmsr
    movl %eax, %edx
    movl %ebx, %eax
    movl %ebp, %ecx
    .endm

    .section .text
    .code64
    .globl modes_run
modes_run:
    pushq %rbx
    pushq %rbp
    pushq %r12
    pushq %r13
    pushq %r14
    pushq %r15
    movq %rsp, saved_rsp(%rip)
    sidt saved_idtr(%rip)
    movl $OFF(log), LOW(log_next)

    PRESET
    PROBE
    CS_TO_EDX
    xorl %esi, %esi
    LOG32 1, %rdi
    pushq $GUEST_CS32
    pushq $down_compat
    lretq

    .code32
down_compat:
    PRESET
    PROBE
    EFER_TO_EDX
    movl %cr0, %esi
    LOG32 2
    movl %cr0, %eax
    andl $~CR0_PG, %eax
    movl %eax, %cr0             /* long mode off: EFER.LMA = 0 */
    movl $MSR_EFER, %ecx
    rdmsr
    andl $~EFER_LME, %eax
    wrmsr
    PRESET
    PROBE
    EFER_TO_EDX
    movl %cr0, %esi
    LOG32 3

    /* 4: sysexit to ring 3 and sysenter back, still in 32-bit protected mode. */
    movl $MSR_SYSENTER_CS, %ecx
    xorl %edx, %edx
    movl $SEL_SYSENTER, %eax
    wrmsr
    movl $MSR_SYSENTER_ESP, %ecx
    movl %esp, %eax
    wrmsr
    movl $MSR_SYSENTER_EIP, %ecx
    movl $sysenter_entry, %eax
    wrmsr
    movl %esp, %ecx
    movl $ring3_legacy, %edx
    sysexit
ring3_legacy:
    xorl %eax, %eax
    movw %cs, %ax
    xorl %ecx, %ecx
    movw %ss, %cx
    sysenter
sysenter_entry:
    CS_TO_EDX
    xorl %esi, %esi
    movw %ss, %si
    LOG32 4
    movl $GUEST_DS, %ebx        /* SS is SEL_SYSENTER + 8: back to the usual one */
    movw %bx, %ss
    ljmp $SEL_CS16, $OFF(pm16_down)

    .code32
pm32_up:
    movl $GUEST_DS, %eax
    movw %ax, %ds
    movw %ax, %es
    movw %ax, %ss
    movl saved_rsp, %esp
    PRESET
    PROBE
    CS_TO_EDX
    xorl %esi, %esi
    LOG32 13
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
    movl %eax, %cr0             /* long mode on: EFER.LMA = 1 */
    PRESET
    PROBE
    EFER_TO_EDX
    movl %cr0, %esi
    LOG32 14
    ljmp $GUEST_CS64, $up64

    .code64
up64:
    movl $GUEST_DS, %eax
    movw %ax, %ds
    movw %ax, %es
    movw %ax, %ss
    movq saved_rsp(%rip), %rsp
    lidt saved_idtr(%rip)
    PRESET
    PROBE
    CS_TO_EDX
    xorl %esi, %esi
    LOG32 15, %rdi

    lcall *compat_far(%rip)     /* m16:32: pushes 32-bit CS and EIP */
    movq saved_rsp(%rip), %rsp  /* RSP[63:32] are not kept by 32-bit code */
    PRESET
    PROBE
    CS_TO_EDX
    xorl %esi, %esi
    LOG32 17, %rdi

    movq %rsp, %rax
    pushq $GUEST_DS
    pushq %rax
    pushq $IRET_RFLAGS
    pushq $GUEST_CS32
    pushq $compat_iret
    iretq

back64:
    movq saved_rsp(%rip), %rsp
    PRESET
    PROBE
    CS_TO_EDX
    xorl %esi, %esi
    LOG32 19, %rdi
    popq %r15
    popq %r14
    popq %r13
    popq %r12
    popq %rbp
    popq %rbx
    ret

    .code32
compat_call:
    PRESET
    PROBE
    CS_TO_EDX
    xorl %esi, %esi
    LOG32 16
    lret

compat_iret:
    pushfl
    popl %esi
    PRESET
    PROBE
    CS_TO_EDX
    LOG32 18
    ljmp $GUEST_CS64, $back64

    .section .rodata
    .balign 8
compat_far:
    .long compat_call
    .word GUEST_CS32

    .section .bss
    .balign 8
saved_rsp:
    .skip 8
saved_idtr:
    .skip 16

/* --- copied to LOW_BASE: 16-bit code, its data, the log --- */
    .section .rodata
    .balign 16
    .globl modes16_start, modes16_end, modes16_log, modes16_int_ret, modes16_far_ret
modes16_start:
    .code16
pm16_down:
    movw $SEL_DS16, %ax
    movw %ax, %ds
    movw %ax, %es
    movw %ax, %ss
    movl $STACK16, %esp
    PRESET
    PROBE
    movl $0x1234ffff, %edx
    incw %dx                    /* 16-bit: wraps to 0x12340000 */
    movl $0x1234ffff, %esi
    incl %esi                   /* 66-prefixed: 0x12350000 */
    LOG16 5
    movl %cr0, %ebx
    andl $~CR0_PE, %ebx
    movl %ebx, %cr0
    ljmp $LOW_SEG, $OFF(real_mode)

real_mode:
    movw $LOW_SEG, %ax
    movw %ax, %ds
    movw %ax, %es
    movw %ax, %ss
    lidt OFF(real_idtr)
    PRESET
    PROBE
    CS_TO_EDX
    movl %cr0, %esi
    LOG16 6

    /* 6: les loads ES:BX = 1233:0010, linear 0x12340 (modes.c put a word there). */
    les OFF(far_ptr), %bx
    movzwl %es:(%bx), %edx
    movw %es, %si
    shll $16, %esi
    movw %bx, %si
    movw $LOW_SEG, %ax
    movw %ax, %es
    xorl %eax, %eax
    xorl %ecx, %ecx
    LOG16 7

    /* 7: DS = 0x1200, BX + SI = 0x10040 wraps to offset 0x40: linear 0x12040. */
    movw $0x1200, %ax
    movw %ax, %ds
    movw $0xfff0, %bx
    movw $0x0050, %si
    movzwl (%bx, %si), %edx
    movw $LOW_SEG, %ax
    movw %ax, %ds
    xorl %eax, %eax
    xorl %ecx, %ecx
    xorl %esi, %esi
    LOG16 8

    /* 8: EAX = SP after the pop, ECX = after the push, ESI = before. */
    xorl %esi, %esi
    movw %sp, %si
    pushw $0xabcd
    xorl %ecx, %ecx
    movw %sp, %cx
    xorl %edx, %edx
    popw %dx
    xorl %eax, %eax
    movw %sp, %ax
    LOG16 9

    /* 9: the callee sees CS = LOW_SEG - 1; EAX = CS after its lret. */
    lcall $(LOW_SEG - FAR_CS_DELTA), $(OFF(far_callee) + (FAR_CS_DELTA << 4))
modes16_far_ret:
    xorl %eax, %eax
    movw %cs, %ax
    LOG16 10

    /* 10: IVT[INT_VECTOR] = LOW_SEG:int_handler; FLAGS with IF set. */
    xorw %ax, %ax
    movw %ax, %es
    movw $OFF(int_handler), %es:(INT_VECTOR * 4)
    movw $LOW_SEG, %es:(INT_VECTOR * 4 + 2)
    movw $LOW_SEG, %ax
    movw %ax, %es
    pushw $0x0246
    popfw
    int $INT_VECTOR
modes16_int_ret:
    cli
    LOG16 11

    movl %cr0, %eax
    orl $CR0_PE, %eax
    movl %eax, %cr0
    ljmp $SEL_CS16, $OFF(pm16_up)

pm16_up:
    movw $SEL_DS16, %ax
    movw %ax, %ds
    movw %ax, %es
    movw %ax, %ss
    PRESET
    PROBE
    CS_TO_EDX
    movl %cr0, %esi
    LOG16 12
    ljmpl $GUEST_CS32, $pm32_up

/* EDX = CS, ESI = the return IP, ECX = the return CS. */
far_callee:
    CS_TO_EDX
    movw %sp, %bp
    movzwl (%bp), %esi
    movzwl 2(%bp), %ecx
    lret

/* EAX = 0x5555, ECX = FLAGS in the handler, EDX = the pushed FLAGS, ESI =
 * the pushed CS:IP. */
int_handler:
    pushfw
    movw %sp, %bp
    movzwl (%bp), %ecx
    movzwl 6(%bp), %edx
    movzwl 4(%bp), %esi
    shll $16, %esi
    movw 2(%bp), %si
    popfw
    movl $0x5555, %eax
    iret

    .balign 8
far_ptr:
    .word 0x0010, 0x1233
real_idtr:
    .word 0x3ff
    .long 0
    .balign 4
log_next:
    .long 0
modes16_log:
log:
    .fill 19 * 5, 4, 0
modes16_end:

    .section .note.GNU-stack, "", @progbits
