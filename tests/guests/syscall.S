/* The syscall guest's kernel entries and 32-bit user code (syscall.c
 * checks what they record). Both entries run on the user stack: SYSCALL
 * does not switch stacks.
 *
 * lstar_entry: records the entry state in entry64, then sysretl to
 * compat_code (ring 3, 32-bit). compat_code records its CS, SS and EFLAGS
 * and syscalls through CSTAR. cstar_entry: records in entry32, then
 * sysretq to the return address the 64-bit code's syscall left in RCX. */
#include "defs.h"

/* struct entry_state in syscall.c */
#define E_RCX    0
#define E_R11    8
#define E_RFLAGS 16
#define E_CS     24
#define E_SS     32

    .macro RECORD state
    movq %rcx, \state + E_RCX(%rip)
    movq %r11, \state + E_R11(%rip)
    pushfq
    popq \state + E_RFLAGS(%rip)
    movw %cs, \state + E_CS(%rip)
    movw %ss, \state + E_SS(%rip)
    .endm

    .section .text
    .code64
    .globl lstar_entry, cstar_entry, sysretl_insn, sysretq_insn
lstar_entry:
    RECORD entry64
    movl $compat_code, %ecx
sysretl_insn:
    sysretl

cstar_entry:
    RECORD entry32
    movq entry64 + E_RCX(%rip), %rcx
sysretq_insn:
    sysretq

    .code32
compat_code:
    movl $(GUEST_UDS | 3), %edx /* the iretq to ring 3 left DS null */
    movw %dx, %ds
    movw %cs, compat_cs
    movw %ss, compat_ss
    pushfl
    popl compat_rflags
    movl $1f, compat_ret_rip
    syscall
1:  ud2                         /* not reached: CSTAR returns to 64-bit code */
    .code64

    .section .note.GNU-stack, "", @progbits
