/* Minimal ACPI tables: how a modern guest finds its CPUs, interrupt
 * controllers, PM registers and how to power off.
 *
 * acpi_build() writes into [LAYOUT_ACPI_START, LAYOUT_ACPI_END):
 *
 *   RSDP (rev 2, at LAYOUT_ACPI_START, 16-byte aligned so a scan of
 *         0xe0000-0xfffff finds it) -> RSDT and XSDT -> FADT, MADT, MCFG
 *   FADT (rev 6) -> FACS, DSDT; PM1a event/control and PM timer at the
 *         LAYOUT_PORT_ACPI_* ports (hw/acpi_pm.h), SCI on LAYOUT_IRQ_SCI,
 *         no SMI_CMD (always in ACPI mode), reset through port 0x64 = 0xfe
 *   DSDT  \_S5 = {5, 5, 0, 0}: SLP_TYP 5 is soft-off;
 *         \_SB.PCI0: the PCI host bridge (PNP0A08, compatible PNP0A03,
 *         segment 0, bus 0) with _CRS (buses 0-255, ports 0xcf8-0xcff
 *         consumed, every other port and the LAYOUT_PCI_MMIO window
 *         forwarded), _PRT (pins INTA-D of all 32 slots to the GSIs of
 *         layout_pci_intx_gsi) and an _OSC granting all; \_SB.MRES
 *         (PNP0C02) reserving the ECAM window
 *   MADT  one local APIC per vCPU (processor id = APIC id = index), the
 *         I/O APIC, ISA overrides IRQ 0 -> GSI 2 and SCI level/high, NMI on
 *         LINT1 of every CPU
 *   MCFG  the ECAM window at LAYOUT_PCI_ECAM_BASE for segment 0, buses
 *         0 to LAYOUT_PCI_ECAM_BUSES - 1
 */
#ifndef XUNI_BOOT_ACPI_H
#define XUNI_BOOT_ACPI_H

#include <stdint.h>

#include "vm/memory.h"

#define ACPI_OEM_ID       "XUNI  "   /* 6 bytes */
#define ACPI_OEM_TABLE_ID "XUNIVM  " /* 8 bytes */
#define ACPI_CREATOR_ID   "XUNI"     /* 4 bytes */

/* The I/O port and value of the FADT's RESET_REG: the i8042's pulse-reset
 * command, which the board's keyboard controller turns into POWER_RESET. */
#define ACPI_RESET_PORT  0x64
#define ACPI_RESET_VALUE 0xfe

/* Write the tables for ncpus vCPUs (clamped to LAYOUT_MAX_VCPUS) and return
 * the RSDP's guest-physical address in *rsdp_addr. Returns 0, -EINVAL for
 * ncpus 0, -EFAULT if the area is not guest RAM, -ENOSPC if the tables do not
 * fit; each with a message logged. */
int acpi_build(struct guest_memory *mem, unsigned ncpus, uint64_t *rsdp_addr);

#endif
