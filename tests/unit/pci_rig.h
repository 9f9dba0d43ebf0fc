/* The host configuration the PCI, MSI-X and virtio-pci tests share: a
 * PCI host over two private buses, with the board's kind of windows (a
 * test then sets its interrupt and MSI callbacks). */
#ifndef XUNI_TESTS_PCI_RIG_H
#define XUNI_TESTS_PCI_RIG_H

#include "hw/pci.h"

#define RIG_ECAM     0xe0000000ULL
#define RIG_WIN      0xc0000000ULL
#define RIG_WIN_END  0xe0000000ULL
#define RIG_IO_START 0xc000
#define RIG_IO_END   0x10000

static inline struct pci_host_config pci_rig_config(struct bus *pio, struct bus *mmio)
{
    bus_init(pio, "port", NULL);
    bus_init(mmio, "mmio", NULL);
    return (struct pci_host_config){
        .pio = pio,
        .mmio = mmio,
        .config_port = 0xcf8,
        .ecam_base = RIG_ECAM,
        .ecam_size = 1 << 20,
        .mmio_start = RIG_WIN,
        .mmio_end = RIG_WIN_END,
        .io_start = RIG_IO_START,
        .io_end = RIG_IO_END,
    };
}

#endif
