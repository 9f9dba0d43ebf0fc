/* Multiboot v1 entry: from flat 32-bit protected mode (paging off,
 * EAX = 0x2BADB002, EBX = info) to 64-bit long mode, then guest_main().
 *
 * The page tables are built by the assembler, not at run time: an identity
 * map of the first 4 GiB in 2 MiB pages (4 page directories, 2048 entries)
 * costs the guest no instructions at all, where a fill loop would cost
 * ~10k ring-0 instructions (~10 ms on a nested KVM). The fourth GiB (PCI
 * hole, IOAPIC, LAPIC) is mapped uncached. The loader must therefore load
 * .data exactly as the program headers say, which is part of the test.
 */
#include "defs.h"

#define MB_HEADER_MAGIC 0x1badb002
/* bit 0: page-align modules; bit 1: we want the memory fields. Bit 16 is
 * clear: load by ELF program headers. */
#define MB_HEADER_FLAGS 0x00000003

#define PTE_P   0x001
#define PTE_RW  0x002
#define PTE_PWT 0x008
#define PTE_PCD 0x010
#define PTE_PS  0x080

    .section .multiboot, "a"
    .balign 4
    .long MB_HEADER_MAGIC
    .long MB_HEADER_FLAGS
    .long -(MB_HEADER_MAGIC + MB_HEADER_FLAGS)

    .section .text.entry, "ax"
    .code32
    .globl _start
_start:
    cli
    cld
    movl %eax, guest_mb_magic
    movl %ebx, guest_mb_info
    movl $guest_stack_top, %esp
    lgdt guest_gdt_desc

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
    orl $(CR0_PG | CR0_PE), %eax
    movl %eax, %cr0
    ljmp $GUEST_CS64, $start64

    .code64
start64:
    movl $GUEST_DS, %eax
    movw %ax, %ds
    movw %ax, %es
    movw %ax, %ss
    movw %ax, %fs
    movw %ax, %gs
    movq $guest_stack_top, %rsp
    xorl %ebp, %ebp
    call serial_init
    call idt_init
    movl guest_mb_magic(%rip), %edi
    movl guest_mb_info(%rip), %esi
    call guest_main
    call guest_finish
1:  cli
    hlt
    jmp 1b

    .section .rodata
    .balign 8
    .globl guest_gdt, guest_gdt_desc
guest_gdt:
    .quad 0                     /* null */
    .quad 0x00af9a000000ffff    /* GUEST_CS64: 64-bit code */
    .quad 0x00cf92000000ffff    /* GUEST_DS: flat data */
    .quad 0x00cf9a000000ffff    /* GUEST_CS32: flat 32-bit code (AP trampoline) */
guest_gdt_end:
    .balign 8
    .word 0, 0, 0               /* so that the base below is 8-byte aligned */
guest_gdt_desc:
    .word guest_gdt_end - guest_gdt - 1
    .quad guest_gdt             /* lgdt reads 4 bytes of it in 32-bit mode, 8 in 64-bit */

    .section .data
    .balign 4
    .globl guest_mb_magic, guest_mb_info
guest_mb_magic:
    .long 0
guest_mb_info:
    .long 0

    .section .data.pagetables, "aw"
    .balign 4096
    .globl guest_pml4
guest_pml4:
    .quad guest_pdpt + PTE_P + PTE_RW
    .fill 511, 8, 0
guest_pdpt:
    .quad guest_pd + 0x0000 + PTE_P + PTE_RW
    .quad guest_pd + 0x1000 + PTE_P + PTE_RW
    .quad guest_pd + 0x2000 + PTE_P + PTE_RW
    .quad guest_pd + 0x3000 + PTE_P + PTE_RW
    .fill 508, 8, 0
guest_pd:
    .set page, 0
    .rept 2048
    .if page < 0xc0000000
    .quad page + PTE_P + PTE_RW + PTE_PS
    .else
    .quad page + PTE_P + PTE_RW + PTE_PS + PTE_PCD + PTE_PWT
    .endif
    .set page, page + 0x200000
    .endr

    .section .bss
    .balign 16
guest_stack:
    .skip GUEST_STACK_SIZE
    .globl guest_stack_top
guest_stack_top:

    .section .note.GNU-stack, "", @progbits
