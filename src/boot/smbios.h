/* SMBIOS (DMTF DSP0134 3.x): the firmware's description of the machine,
 * which Linux reports as "DMI: xuni ..." and exports in /sys/class/dmi/id
 * (dmidecode, systemd-detect-virt, udev rules and hardware inventories read
 * it).
 *
 * smbios_build() writes a 64-bit (SMBIOS 3.0, "_SM3_") entry point at
 * LAYOUT_SMBIOS_START, 16-byte aligned in the 0xf0000-0xfffff area where a
 * guest without EFI scans for it, and the structure table after it:
 *   type 0   BIOS: vendor "xuni", characteristics "not supported", the
 *            "describes a virtual machine" bit
 *   type 1   system: manufacturer "xuni", product "Virtual Machine",
 *            UUID all zeroes (none given)
 *   type 3   chassis: "other"
 *   type 4   one processor per vCPU ("CPU 0", ...), 64-bit capable
 *   type 16  the memory array: all of RAM, no ECC
 *   type 17  one memory device of the RAM's size
 *   type 19  one mapped address range per RAM region (below and above the
 *            32-bit hole)
 *   type 32  boot status: no errors
 *   type 127 end of table
 */
#ifndef XUNI_BOOT_SMBIOS_H
#define XUNI_BOOT_SMBIOS_H

#include "vm/memory.h"

#define SMBIOS_VENDOR  "xuni"
#define SMBIOS_PRODUCT "Virtual Machine"

/* Returns 0, -EINVAL for ncpus 0, -ENOSPC if the tables do not fit, or
 * -EFAULT if the area is not guest RAM; each with a message logged. */
int smbios_build(struct guest_memory *mem, unsigned ncpus);

#endif
