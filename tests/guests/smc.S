/* The smc guest's code to patch (smc.c says how it is used). Everything
 * here runs at ring 0 from the image, whose pages start.S maps writable. */

#define MOV_EAX_IMM32 0xb8
#define ADD_EAX_IMM32 0x05

    .section .text
    .balign 64
    .globl smc_imm_fn, smc_imm, smc_next_fn, smc_loop_fn, smc_loop_imm
    .globl smc_neighbour_fn, smc_neighbour_data

/* Returns the immediate smc.c writes at smc_imm. */
smc_imm_fn:
    .byte MOV_EAX_IMM32
smc_imm:
    .long 0
    ret

/* Patches the immediate of the next instruction, then jumps to it: the
 * jump makes the new bytes visible. Returns EDI. */
smc_next_fn:
    movl %edi, 1f + 1(%rip)
    jmp 1f
1:  .byte MOV_EAX_IMM32
    .long 0
    ret

/* A loop that adds its own immediate to EAX and increments that immediate
 * every iteration: ECX iterations from an immediate of 0 return
 * 0 + 1 + ... + (ECX - 1). The jump back makes each patch visible. */
smc_loop_fn:
    xorl %eax, %eax
    movl $0, smc_loop_imm(%rip)
    jmp 1f
1:  .byte ADD_EAX_IMM32
smc_loop_imm:
    .long 0
    incl smc_loop_imm(%rip)
    decl %ecx
    jnz 1b
    ret

/* Code with data right behind it, in the same 64 bytes. */
    .balign 64
smc_neighbour_fn:
    movl $0x42, %eax
    ret
smc_neighbour_data:
    .quad 0

    .section .note.GNU-stack, "", @progbits
