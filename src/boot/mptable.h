/* The Intel MultiProcessor Specification 1.4 table: how a guest without ACPI
 * (or booted with acpi=off) finds its CPUs, its I/O APIC and the routing of
 * the ISA and PCI interrupts.
 *
 * mptable_build() writes the MP floating pointer and the configuration table
 * that follows it into the EBDA at LAYOUT_MP_TABLE (1 KiB, reserved in the
 * e820 map), and points the BIOS data area at it: the EBDA segment at 0x40e
 * and the base memory size (639 KiB) at 0x413, which is where Linux looks.
 */
#ifndef XUNI_BOOT_MPTABLE_H
#define XUNI_BOOT_MPTABLE_H

#include <stdint.h>

#include "vm/memory.h"

/* BIOS data area words the kernel reads to find the EBDA. */
#define MPTABLE_BDA_EBDA_SEG 0x40e
#define MPTABLE_BDA_BASE_KIB 0x413

/* The most processor entries that fit in the EBDA beside the fixed entries
 * and those of the PCI slots in pci_slots; mptable_build() clamps ncpus to
 * this and to LAYOUT_MAX_VCPUS. */
unsigned mptable_max_cpus(uint32_t pci_slots);

/* Write the tables for ncpus vCPUs (APIC ids 0..ncpus-1, cpu 0 the BSP).
 * pci_slots (bit s: a device with INTx in slot s of PCI bus 0) adds the PCI bus as
 * MP bus 0 (the ISA bus becomes bus 1) and an I/O interrupt entry for each
 * pin INTA-D of each slot, to IOAPIC pin layout_pci_intx_gsi(slot, pin).
 * Returns 0, -EINVAL for ncpus 0, -ENOSPC if the tables cannot fit in the
 * EBDA, -EFAULT if the EBDA is not guest RAM; each with a message logged. */
int mptable_build(struct guest_memory *mem, unsigned ncpus, uint32_t pci_slots);

#endif
