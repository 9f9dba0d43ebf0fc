/* The Linux x86 boot protocol's binary layouts (private to the loader and its
 * tests): the setup header at offset 0x1f1 of a bzImage and the 4 KiB "zero
 * page" (struct boot_params) handed to the kernel in RSI. Offsets follow
 * Documentation/arch/x86/boot.rst and zero-page.rst; the static asserts at
 * the end pin every field the loader touches to its ABI offset.
 */
#ifndef XUNI_BOOT_LINUX_PARAMS_H
#define XUNI_BOOT_LINUX_PARAMS_H

#include <stddef.h>
#include <stdint.h>

#include "vm/e820.h"

#define LINUX_SETUP_HEADER_OFFSET 0x1f1
#define LINUX_HDRS_MAGIC          0x53726448 /* "HdrS" at 0x202 */
#define LINUX_BOOT_FLAG           0xaa55
#define LINUX_SECTOR              512
#define LINUX_DEFAULT_SETUP_SECTS 4     /* setup_sects == 0 means 4 */
#define LINUX_ENTRY64_OFFSET      0x200 /* startup_64 from the load address */
#define LINUX_ZERO_PAGE_HDR_END   0x290 /* end of the hole the header is copied into */
#define LINUX_E820_MAX_ENTRIES    128

/* loadflags */
#define LINUX_LOADED_HIGH  (1u << 0)
#define LINUX_QUIET_FLAG   (1u << 5)
#define LINUX_CAN_USE_HEAP (1u << 7)

/* xloadflags */
#define LINUX_XLF_KERNEL_64 (1u << 0)

#define LINUX_TYPE_OF_LOADER_UNDEFINED 0xff
#define LINUX_VID_MODE_NORMAL          0xffff

struct linux_setup_header {
    uint8_t setup_sects;            /* 0x1f1 */
    uint16_t root_flags;            /* 0x1f2 */
    uint32_t syssize;               /* 0x1f4 */
    uint16_t ram_size;              /* 0x1f8 */
    uint16_t vid_mode;              /* 0x1fa */
    uint16_t root_dev;              /* 0x1fc */
    uint16_t boot_flag;             /* 0x1fe */
    uint16_t jump;                  /* 0x200 */
    uint32_t header;                /* 0x202 */
    uint16_t version;               /* 0x206 */
    uint32_t realmode_swtch;        /* 0x208 */
    uint16_t start_sys_seg;         /* 0x20c */
    uint16_t kernel_version;        /* 0x20e */
    uint8_t type_of_loader;         /* 0x210 */
    uint8_t loadflags;              /* 0x211 */
    uint16_t setup_move_size;       /* 0x212 */
    uint32_t code32_start;          /* 0x214 */
    uint32_t ramdisk_image;         /* 0x218 */
    uint32_t ramdisk_size;          /* 0x21c */
    uint32_t bootsect_kludge;       /* 0x220 */
    uint16_t heap_end_ptr;          /* 0x224 */
    uint8_t ext_loader_ver;         /* 0x226 */
    uint8_t ext_loader_type;        /* 0x227 */
    uint32_t cmd_line_ptr;          /* 0x228 */
    uint32_t initrd_addr_max;       /* 0x22c */
    uint32_t kernel_alignment;      /* 0x230 */
    uint8_t relocatable_kernel;     /* 0x234 */
    uint8_t min_alignment;          /* 0x235 */
    uint16_t xloadflags;            /* 0x236 */
    uint32_t cmdline_size;          /* 0x238 */
    uint32_t hardware_subarch;      /* 0x23c */
    uint64_t hardware_subarch_data; /* 0x240 */
    uint32_t payload_offset;        /* 0x248 */
    uint32_t payload_length;        /* 0x24c */
    uint64_t setup_data;            /* 0x250 */
    uint64_t pref_address;          /* 0x258 */
    uint32_t init_size;             /* 0x260 */
    uint32_t handover_offset;       /* 0x264 */
    uint32_t kernel_info_offset;    /* 0x268 */
} __attribute__((packed));

struct linux_boot_params {
    uint8_t screen_info[0x40];       /* 0x000 */
    uint8_t apm_bios_info[0x14];     /* 0x040 */
    uint8_t _pad2[4];                /* 0x054 */
    uint64_t tboot_addr;             /* 0x058 */
    uint8_t ist_info[0x10];          /* 0x060 */
    uint64_t acpi_rsdp_addr;         /* 0x070 */
    uint8_t _pad3[8];                /* 0x078 */
    uint8_t hd0_info[16];            /* 0x080 */
    uint8_t hd1_info[16];            /* 0x090 */
    uint8_t sys_desc_table[16];      /* 0x0a0 */
    uint8_t olpc_ofw_header[16];     /* 0x0b0 */
    uint32_t ext_ramdisk_image;      /* 0x0c0 */
    uint32_t ext_ramdisk_size;       /* 0x0c4 */
    uint32_t ext_cmd_line_ptr;       /* 0x0c8 */
    uint8_t _pad4[116];              /* 0x0cc */
    uint8_t edid_info[0x80];         /* 0x140 */
    uint8_t efi_info[0x20];          /* 0x1c0 */
    uint32_t alt_mem_k;              /* 0x1e0 */
    uint32_t scratch;                /* 0x1e4 */
    uint8_t e820_entries;            /* 0x1e8 */
    uint8_t eddbuf_entries;          /* 0x1e9 */
    uint8_t edd_mbr_sig_buf_entries; /* 0x1ea */
    uint8_t kbd_status;              /* 0x1eb */
    uint8_t secure_boot;             /* 0x1ec */
    uint8_t _pad5[2];                /* 0x1ed */
    uint8_t sentinel;                /* 0x1ef */
    uint8_t _pad6[1];                /* 0x1f0 */
    struct linux_setup_header hdr;   /* 0x1f1 */
    uint8_t _pad7[LINUX_ZERO_PAGE_HDR_END - LINUX_SETUP_HEADER_OFFSET -
                  sizeof(struct linux_setup_header)];
    uint32_t edd_mbr_sig_buffer[16];                      /* 0x290 */
    struct e820_entry e820_table[LINUX_E820_MAX_ENTRIES]; /* 0x2d0 */
    uint8_t _pad8[48];                                    /* 0xcd0 */
    uint8_t eddbuf[0x1ec];                                /* 0xd00 */
    uint8_t _pad9[276];                                   /* 0xeec */
} __attribute__((packed));

#define LINUX_BP_ASSERT(field, off)                                                                \
    _Static_assert(offsetof(struct linux_boot_params, field) == (off), #field " offset")

LINUX_BP_ASSERT(acpi_rsdp_addr, 0x070);
LINUX_BP_ASSERT(ext_ramdisk_image, 0x0c0);
LINUX_BP_ASSERT(ext_ramdisk_size, 0x0c4);
LINUX_BP_ASSERT(ext_cmd_line_ptr, 0x0c8);
LINUX_BP_ASSERT(e820_entries, 0x1e8);
LINUX_BP_ASSERT(sentinel, 0x1ef);
LINUX_BP_ASSERT(hdr, 0x1f1);
LINUX_BP_ASSERT(hdr.header, 0x202);
LINUX_BP_ASSERT(hdr.version, 0x206);
LINUX_BP_ASSERT(hdr.type_of_loader, 0x210);
LINUX_BP_ASSERT(hdr.code32_start, 0x214);
LINUX_BP_ASSERT(hdr.heap_end_ptr, 0x224);
LINUX_BP_ASSERT(hdr.cmd_line_ptr, 0x228);
LINUX_BP_ASSERT(hdr.kernel_alignment, 0x230);
LINUX_BP_ASSERT(hdr.xloadflags, 0x236);
LINUX_BP_ASSERT(hdr.cmdline_size, 0x238);
LINUX_BP_ASSERT(hdr.pref_address, 0x258);
LINUX_BP_ASSERT(hdr.init_size, 0x260);
LINUX_BP_ASSERT(hdr.kernel_info_offset, 0x268);
LINUX_BP_ASSERT(edd_mbr_sig_buffer, 0x290);
LINUX_BP_ASSERT(e820_table, 0x2d0);
LINUX_BP_ASSERT(eddbuf, 0xd00);
_Static_assert(sizeof(struct linux_boot_params) == 4096, "the zero page is one page");

#endif
