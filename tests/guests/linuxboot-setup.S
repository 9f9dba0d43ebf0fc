/* The linuxboot guest's bzImage: the real-mode setup part with the setup
 * header (Documentation/arch/x86/boot.rst, "The Real-Mode Kernel Header"),
 * followed by the protected-mode payload (linuxboot.payload, included
 * whole). The assembler computes setup_sects and syssize from the labels,
 * so the header always matches the file.
 *
 * The 16-bit code after the header is what a real-mode loader (QEMU's
 * -kernel, GRUB's linux16) runs. This guest implements only the 64-bit
 * entry, so it says so on COM1 and exits with LINUXBOOT_EXIT_REALMODE.
 */
#include "linuxboot.h"

    .code16
    .section .text
setup_start:
    /* The boot sector: no code (no BIOS boots this from a disk). */
    .org 0x1f1
setup_sects:            .byte (setup_end - setup_start) / 512 - 1
root_flags:             .word 0
syssize:                .long (payload_end - payload_start + 15) / 16
ram_size:               .word 0
vid_mode:               .word 0xffff                /* "normal" */
root_dev:               .word 0
boot_flag:              .word 0xaa55
    .org 0x200
    /* A short jump over the header: its offset byte also tells a loader
     * where the header ends (0x202 + offset). */
jump:                   .byte 0xeb, start_of_setup - 1f
1:
header:                 .ascii "HdrS"
version:                .word LINUXBOOT_VERSION
realmode_swtch:         .long 0
start_sys_seg:          .word 0x1000                /* obsolete */
kernel_version:         .word kernel_version_str - setup_start - 0x200
type_of_loader:         .byte 0
loadflags:              .byte LINUXBOOT_LOADED_HIGH
setup_move_size:        .word 0x8000
code32_start:           .long 0x100000
ramdisk_image:          .long 0
ramdisk_size:           .long 0
bootsect_kludge:        .long 0
heap_end_ptr:           .word 0
ext_loader_ver:         .byte 0
ext_loader_type:        .byte 0
cmd_line_ptr:           .long 0
initrd_addr_max:        .long LINUXBOOT_INITRD_ADDR_MAX
kernel_alignment:       .long LINUXBOOT_ALIGNMENT
relocatable_kernel:     .byte 1
min_alignment:          .byte LINUXBOOT_MIN_ALIGN_LG2
xloadflags:             .word LINUXBOOT_XLF_KERNEL_64 | LINUXBOOT_XLF_CAN_BE_LOADED_ABOVE_4G
cmdline_size:           .long LINUXBOOT_CMDLINE_SIZE
hardware_subarch:       .long 0
hardware_subarch_data:  .quad 0
payload_offset:         .long 0
payload_length:         .long 0
setup_data:             .quad 0
pref_address:           .quad LINUXBOOT_PREF_ADDRESS
init_size:              .long LINUXBOOT_INIT_SIZE
handover_offset:        .long 0
kernel_info_offset:     .long LINUXBOOT_KINFO_OFFSET
header_end:
    .if header_end - header != 0x26c - 0x202
    .error "the setup header must end at 0x26c (protocol 2.15)"
    .endif

/* Entered at CS = setup segment + 0x20, IP = 0 (the jump above). Only
 * %cs is trusted: DS is derived from it. Addresses below are offsets
 * from setup_start, which DS:0 points at. */
start_of_setup:
    cli
    cld
    movw %cs, %ax
    subw $0x20, %ax
    movw %ax, %ds
    movw $(realmode_msg - setup_start), %si
1:  lodsb
    testb %al, %al
    jz 3f
    movb %al, %bl
    movw $LINUXBOOT_COM1_LSR, %dx
2:  inb %dx, %al
    testb $LINUXBOOT_LSR_THRE, %al
    jz 2b
    movb %bl, %al
    movw $LINUXBOOT_COM1, %dx
    outb %al, %dx
    jmp 1b
3:  movw $LINUXBOOT_DEBUG_EXIT_PORT, %dx
    movl $LINUXBOOT_EXIT_REALMODE, %eax
    outl %eax, %dx
4:  hlt
    jmp 4b

realmode_msg:
    .asciz "linuxboot: entered at the 16-bit setup code; this guest has only the 64-bit entry\n"
kernel_version_str:
    .asciz "linuxboot (xuni test guest)"

    .balign 512, 0
setup_end:

payload_start:
    .incbin "linuxboot.payload"
payload_end:

    .section .note.GNU-stack, "", @progbits
