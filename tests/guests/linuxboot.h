/* The linuxboot guest's image layout, shared by linuxboot-setup.S (the
 * setup header), linuxboot-head.S (the entry points) and linuxboot.c (which
 * checks what the loader made of them): nothing but #defines here.
 *
 * The file is a bzImage (Documentation/arch/x86/boot.rst): a setup part of
 * (setup_sects + 1) * 512 bytes carrying the setup header at 0x1f1, then the
 * protected-mode payload, which the loader puts at pref_address and enters
 * at its 64-bit entry, payload + 0x200, in long mode.
 */
#ifndef GUEST_LINUXBOOT_H
#define GUEST_LINUXBOOT_H

#define LINUXBOOT_VERSION         0x020f    /* boot protocol 2.15 */
#define LINUXBOOT_PREF_ADDRESS    0x1000000 /* the payload is linked here */
#define LINUXBOOT_ALIGNMENT       0x200000
#define LINUXBOOT_MIN_ALIGN_LG2   21
#define LINUXBOOT_INIT_SIZE       0x400000 /* payload + bss + stack, with room to spare */
#define LINUXBOOT_CMDLINE_SIZE    2047
#define LINUXBOOT_INITRD_ADDR_MAX 0x7fffffff
#define LINUXBOOT_ENTRY64_OFFSET  0x200 /* startup_64, from the payload's start */
#define LINUXBOOT_KINFO_OFFSET    0x100 /* kernel_info, from the payload's start */

/* loadflags and xloadflags bits */
#define LINUXBOOT_LOADED_HIGH                0x01
#define LINUXBOOT_XLF_KERNEL_64              0x01
#define LINUXBOOT_XLF_CAN_BE_LOADED_ABOVE_4G 0x02

#define LINUXBOOT_STACK_SIZE 0x4000

/* Debug-exit codes of the entries this guest does not implement; the
 * checks in linuxboot.c use GUEST_EXIT_PASS / GUEST_EXIT_FAIL. */
#define LINUXBOOT_EXIT_REALMODE 3 /* entered at the 16-bit setup code */
#define LINUXBOOT_EXIT_ENTRY32  4 /* entered at the 32-bit entry (code32_start) */
#define LINUXBOOT_EXIT_MOVED    5 /* entered at startup_64, but not at pref_address */

#define LINUXBOOT_DEBUG_EXIT_PORT 0xf4
#define LINUXBOOT_COM1            0x3f8
#define LINUXBOOT_COM1_LSR        0x3fd
#define LINUXBOOT_LSR_THRE        0x20

#endif
