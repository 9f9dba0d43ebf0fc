/* The gates guest's far transfers through call gates (gates.c installs
 * the gates and checks what these record).
 *
 * Long mode: r3_gate64 (ring 3, by user_run) calls through the gate whose
 * selector it is given (a fault resumes after the call: trap.c); gate64_entry (ring 0, 64-bit) records its RSP, the
 * four quadwords the CPU pushed and its CS and SS, and returns by lretq.
 * gate_jmp64 (ring 0) jumps through a gate to gate_jmp64_target, which
 * records RSP and returns CS. gate_bad_target is where the gates that must
 * fault point: reached anyway, it counts and returns.
 *
 * Legacy mode (32-bit code, by legacy_call): r3_gate32 (ring 3, by
 * user32_run) pushes two parameters and calls through SEL_GATE32 (DPL 3, a
 * parameter count of 2); gate32_entry (ring 0) records its ESP, the six
 * dwords the CPU pushed (EIP, CS, the parameters copied, ESP, SS) and its CS
 * and SS, and returns by `lret $8`, which releases the parameters on both
 * stacks. gate_jmp32 (ring 0) jumps through SEL_GATE32_JMP.
 */
#include "defs.h"

#define SEL_GATE32     GUEST_GDT_FREE          /* as gates.c */
#define SEL_GATE32_JMP (GUEST_GDT_FREE + 0x10) /* as gates.c */
#define PARAM0         0x11111111
#define PARAM1         0x22222222

    /* EAX = CS | SS << 16, as the code sees them. */
    .macro SEGS_TO_EAX
    xorl %eax, %eax
    movw %ss, %ax
    shll $16, %eax
    movw %cs, %ax
    .endm

    .section .text
    .code64
    .globl gate_user_run, r3_gate64, r3_gate64_call, r3_gate64_ret, gate64_entry, gate_jmp64
    .globl gate_jmp64_target, gate_bad_target

/* user_run() with TSS.RSP0 16-byte aligned, so that whether a call gate
 * aligns the new stack (it does not: only interrupts do) cannot matter.
 * Called with RSP = 8 mod 16, this enters user_run with RSP = 0 mod 16,
 * which its six pushes keep. */
gate_user_run:
    call user_run
    ret

r3_gate64:                      /* (selector) */
    movw %di, g64_far + 4(%rip)
    movq %rsp, g64_user_rsp(%rip)
    movq $r3_gate64_ret, trap_resume(%rip)
r3_gate64_call:
    lcall *g64_far(%rip)
r3_gate64_ret:
    movq $0, trap_resume(%rip)
    movq %rsp, g64_user_rsp_after(%rip)
    SEGS_TO_EAX
    ret

gate64_entry:
    movq %rsp, g64_kernel_rsp(%rip)
    movq (%rsp), %rax
    movq %rax, g64_frame(%rip)
    movq 8(%rsp), %rax
    movq %rax, g64_frame + 8(%rip)
    movq 16(%rsp), %rax
    movq %rax, g64_frame + 16(%rip)
    movq 24(%rsp), %rax
    movq %rax, g64_frame + 24(%rip)
    SEGS_TO_EAX
    movq %rax, g64_kernel_segs(%rip)
    lretq

gate_jmp64:                     /* (selector) */
    movw %di, g64_far + 4(%rip)
    movq %rsp, gj_rsp_before(%rip)
    ljmp *g64_far(%rip)
gate_jmp64_target:
    movq %rsp, gj_rsp_after(%rip)
    SEGS_TO_EAX
    ret

gate_bad_target:
    incq gate_bad_count(%rip)
    lretq

    .code32
    .globl r3_gate32, r3_gate32_ret, gate32_entry, gate_jmp32, gate_jmp32_target
r3_gate32:
    movl %esp, g32_user_esp
    pushl $PARAM1
    pushl $PARAM0
    lcall $(SEL_GATE32 | 3), $0
r3_gate32_ret:
    movl %esp, g32_user_esp_after
    SEGS_TO_EAX
    ret

gate32_entry:
    movl %esp, g32_kernel_esp
    movl (%esp), %eax
    movl %eax, g32_frame
    movl 4(%esp), %eax
    movl %eax, g32_frame + 4
    movl 8(%esp), %eax
    movl %eax, g32_frame + 8
    movl 12(%esp), %eax
    movl %eax, g32_frame + 12
    movl 16(%esp), %eax
    movl %eax, g32_frame + 16
    movl 20(%esp), %eax
    movl %eax, g32_frame + 20
    SEGS_TO_EAX
    movl %eax, g32_kernel_segs
    lret $8

gate_jmp32:
    movl %esp, gj_esp32_before
    ljmp $SEL_GATE32_JMP, $0
gate_jmp32_target:
    movl %esp, gj_esp32_after
    SEGS_TO_EAX
    ret

    .section .bss
    .balign 8
    .globl g64_user_rsp, g64_user_rsp_after, g64_kernel_rsp, g64_frame, g64_kernel_segs
    .globl gj_rsp_before, gj_rsp_after, gate_bad_count
    .globl g32_user_esp, g32_user_esp_after, g32_kernel_esp, g32_frame, g32_kernel_segs
    .globl gj_esp32_before, gj_esp32_after
g64_far:                        /* m16:32: the offset is ignored through a gate */
    .skip 8
g64_user_rsp:
    .skip 8
g64_user_rsp_after:
    .skip 8
g64_kernel_rsp:
    .skip 8
g64_frame:
    .skip 32
g64_kernel_segs:
    .skip 8
gj_rsp_before:
    .skip 8
gj_rsp_after:
    .skip 8
gate_bad_count:
    .skip 8
g32_user_esp:
    .skip 4
g32_user_esp_after:
    .skip 4
g32_kernel_esp:
    .skip 4
g32_frame:
    .skip 24
g32_kernel_segs:
    .skip 4
gj_esp32_before:
    .skip 4
gj_esp32_after:
    .skip 4

    .section .note.GNU-stack, "", @progbits
