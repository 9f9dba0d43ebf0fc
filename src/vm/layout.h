/* The board's fixed addresses and interrupt lines: the one place they are
 * chosen. Devices never pick their own port, address or IRQ; the builder
 * (vm.c) reads them from here.
 *
 * Guest-physical memory map (PC compatible):
 *
 *   0x00000000 - 0x0009fbff  low RAM (usable)
 *     0x00000500               boot GDT (Linux 64-bit entry)
 *     0x00007000               Linux zero page (struct boot_params)
 *     0x00009000               boot page tables (PML4, PDPT, 4 PDs)
 *     0x00020000               Linux command line
 *   0x0009fc00 - 0x0009ffff  EBDA: MP floating pointer and MP table
 *   0x000a0000 - 0x000dffff  legacy VGA/option ROM hole (reserved, RAM-backed)
 *   0x000e0000 - 0x000fffff  BIOS area (reserved): ACPI RSDP and tables from
 *                            0xe0000, SMBIOS entry point and tables from 0xf0000
 *   0x00100000 - low_end     RAM (kernel, initrd, ...)
 *   0xc0000000 - 0xffffffff  32-bit MMIO hole:
 *     0xc0000000 - 0xdfffffff  PCI MMIO window (BARs, placed by the board)
 *     0xe0000000 - 0xefffffff  PCI ECAM (buses 0-255; reserved: e820, ACPI)
 *     0xfec00000               IOAPIC; 0xfee00000 LAPIC; 0xfeffc000 KVM TSS
 *   0x100000000 -            RAM above 4 GiB when -m exceeds the low limit
 */
#ifndef XUNI_VM_LAYOUT_H
#define XUNI_VM_LAYOUT_H

#include <stdint.h>

/* --- memory map --- */
#define LAYOUT_LOW_RAM_END    0x0009fc00ULL /* end of usable conventional memory */
#define LAYOUT_EBDA_START     0x0009fc00ULL
#define LAYOUT_EBDA_SIZE      0x400ULL
#define LAYOUT_BIOS_START     0x000e0000ULL
#define LAYOUT_BIOS_END       0x00100000ULL
#define LAYOUT_HIGH_MEM_START 0x00100000ULL /* 1 MiB */

#define LAYOUT_MMIO_HOLE_START 0xc0000000ULL /* RAM below 4 GiB ends here at most */
#define LAYOUT_MMIO_HOLE_END   0x100000000ULL
#define LAYOUT_RAM_ABOVE_4G    0x100000000ULL

#define LAYOUT_PCI_MMIO_START 0xc0000000ULL /* BAR window: the host bridge's _CRS */
#define LAYOUT_PCI_MMIO_END   0xe0000000ULL
#define LAYOUT_PCI_ECAM_BASE  0xe0000000ULL /* PCIe enhanced configuration (MCFG) */
#define LAYOUT_PCI_ECAM_BUSES 256
#define LAYOUT_PCI_ECAM_SIZE  ((uint64_t)LAYOUT_PCI_ECAM_BUSES << 20)
#define LAYOUT_IOAPIC_BASE    0xfec00000ULL
#define LAYOUT_IOAPIC_SIZE    0x1000ULL
#define LAYOUT_LAPIC_BASE     0xfee00000ULL
#define LAYOUT_LAPIC_SIZE     0x1000ULL
#define LAYOUT_KVM_IDENT_MAP  0xfeffc000ULL /* one page, for KVM_SET_IDENTITY_MAP_ADDR */
#define LAYOUT_KVM_TSS        0xfeffd000ULL /* three pages, for KVM_SET_TSS_ADDR */

/* --- boot structures (low RAM) --- */
#define LAYOUT_BOOT_GDT       0x00000500ULL
#define LAYOUT_ZERO_PAGE      0x00007000ULL
#define LAYOUT_BOOT_STACK     0x00008ff0ULL
#define LAYOUT_BOOT_PML4      0x00009000ULL
#define LAYOUT_BOOT_PDPT      0x0000a000ULL
#define LAYOUT_BOOT_PD        0x0000b000ULL /* four pages: identity map of 0-4 GiB */
#define LAYOUT_CMDLINE        0x00020000ULL
#define LAYOUT_CMDLINE_MAX    0x10000ULL
#define LAYOUT_MULTIBOOT_INFO 0x00009000ULL /* as QEMU; moved above the kernel on overlap */
#define LAYOUT_MP_TABLE       LAYOUT_EBDA_START
#define LAYOUT_ACPI_START     LAYOUT_BIOS_START
#define LAYOUT_ACPI_END       0x000f0000ULL
#define LAYOUT_SMBIOS_START   0x000f0000ULL /* entry point, then the structure table */
#define LAYOUT_SMBIOS_END     0x00100000ULL

/* --- port I/O --- */
#define LAYOUT_PORT_PIC_MASTER 0x20
#define LAYOUT_PORT_PIT        0x40
#define LAYOUT_PORT_I8042_DATA 0x60
#define LAYOUT_PORT_SPEAKER    0x61
#define LAYOUT_PORT_I8042_CMD  0x64
#define LAYOUT_PORT_RTC        0x70 /* 2 ports: index, data */
#define LAYOUT_PORT_POST       0x80 /* POST code sink */
#define LAYOUT_PORT_PIC_SLAVE  0xa0
#define LAYOUT_PORT_DEBUG_EXIT 0xf4 /* 4 ports, QEMU isa-debug-exit compatible */
#define LAYOUT_PORT_COM1       0x3f8
/* ISA devices this board does not have but guests probe for: they float
 * (reads all-ones, writes dropped), quietly, as on a PC without them. */
#define LAYOUT_PORT_SUPERIO_A  0x2e  /* 2 ports: Super I/O configuration index/data */
#define LAYOUT_PORT_SUPERIO_B  0x4e  /* 2 ports: the alternative Super I/O address */
#define LAYOUT_PORT_DMA_PAGE   0x81  /* 15 ports (0x81-0x8f; 0x80 is the POST sink) */
#define LAYOUT_PORT_COM2       0x2f8 /* 8 ports each */
#define LAYOUT_PORT_COM3       0x3e8
#define LAYOUT_PORT_COM4       0x2e8
#define LAYOUT_PORT_ELCR       0x4d0  /* 2 ports: 8259 edge/level control */
#define LAYOUT_PORT_PCI_CONFIG 0xcf8  /* 8 ports: configuration mechanism #1 */
#define LAYOUT_PCI_IO_START    0xc000 /* where the board places I/O BARs */
#define LAYOUT_PCI_IO_END      0x10000

/* --- interrupt lines (ISA IRQ numbers; GSI = IRQ except IRQ 0 -> GSI 2) --- */
#define LAYOUT_IRQ_PIT     0
#define LAYOUT_GSI_PIT     2 /* ISA IRQ 0 is overridden to IOAPIC pin 2, as on real boards */
#define LAYOUT_IRQ_KBD     1
#define LAYOUT_IRQ_COM1    4
#define LAYOUT_IRQ_RTC     8
#define LAYOUT_IRQ_SCI     9
#define LAYOUT_IRQ_MOUSE   12
#define LAYOUT_IOAPIC_PINS 24
#define LAYOUT_IOAPIC_ID   0 /* as QEMU and the KVM in-kernel IOAPIC reset value */

/* --- PCI bus 0 --- */
/* INTx: slot s, pin p (0 = INTA) reaches GSI 16 + (s + p) % 8 (see
 * layout_pci_intx_gsi), level triggered, as the ACPI _PRT and the MP table
 * say: the usual swizzle, so neighbouring slots spread over the lines. */
#define LAYOUT_PCI_GSI_BASE  16
#define LAYOUT_PCI_GSI_COUNT 8
#define LAYOUT_PCI_SLOTS     32

/* --- ACPI PM1 registers (FADT), port I/O --- */
#define LAYOUT_PORT_ACPI_PM1A_EVT 0x600 /* 4 bytes: status, enable */
#define LAYOUT_PORT_ACPI_PM1A_CNT 0x604 /* 2 bytes: SLP_TYP/SLP_EN */
#define LAYOUT_PORT_ACPI_PM_TMR   0x608 /* 4 bytes */

#define LAYOUT_MAX_VCPUS 64

static inline unsigned layout_pci_intx_gsi(unsigned slot, unsigned pin)
{
    return LAYOUT_PCI_GSI_BASE + (slot + pin) % LAYOUT_PCI_GSI_COUNT;
}

#endif
