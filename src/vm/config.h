/* The VM configuration, and the command line that fills it.
 *
 *   xuni run --kernel FILE [--initrd FILE[,FILE...]] [--append STRING]
 *            [--mem SIZE] [--smp N] [--accel kvm|emu|auto]
 *            [--serial stdio|file:PATH] [--console serial|virtio]
 *            [--kernel-decompress host|guest]
 *            [--drive file=IMG[,readonly=on][,cache=none|writeback][,serial=ID]
 *                     [,aio=io_uring|threads][,format=raw][,if=virtio]]...
 *            [--net user[,hostfwd=[tcp|udp]:[HADDR]:HPORT-[GADDR]:GPORT]...
 *                       |tap[,ifname=NAME]][,mac=MAC]] [--mac MAC]
 *
 * QEMU spellings are accepted as aliases: -kernel, -initrd, -append, -m,
 * -smp, -accel, -nographic (a no-op: xuni has no display), -serial, -drive,
 * -nic (as --net).
 * In --drive values, ",," stands for a comma (as QEMU's).
 */
#ifndef XUNI_VM_CONFIG_H
#define XUNI_VM_CONFIG_H

#include <stdint.h>
#include <stdio.h>

#include "backend/block.h"
#include "backend/net.h"
#include "boot/boot.h"

#define CONFIG_MAX_INITRDS 16
#define CONFIG_MAX_DRIVES  8

/* One --drive: a virtio-blk disk. */
struct drive_config {
    const char *file;
    bool readonly;
    enum block_cache cache; /* default writeback (the host page cache) */
    enum block_engine aio;  /* default: io_uring where it works */
    const char *serial;     /* NULL: derived from the image's path */
};

enum accel_kind { ACCEL_AUTO, ACCEL_KVM, ACCEL_EMU };

/* Which device the --serial backend feeds: the COM1 UART (ttyS0), or a
 * virtio-console (hvc0) while the UART's output goes nowhere. */
enum console_kind { CONSOLE_SERIAL, CONSOLE_VIRTIO };

struct vm_config {
    const char *kernel;
    const char *initrds[CONFIG_MAX_INITRDS]; /* "path" or, for multiboot, "path args" */
    unsigned ninitrds;
    const char *append;
    uint64_t mem_size;
    unsigned smp;
    enum accel_kind accel;
    const char *serial;                       /* "stdio" or "file:PATH" */
    enum console_kind console;                /* default CONSOLE_SERIAL */
    enum kernel_decompress kernel_decompress; /* who unpacks a bzImage (default host) */
    char *initrd_list;                        /* owned copy of --initrd, split in place */
    struct drive_config drives[CONFIG_MAX_DRIVES];
    unsigned ndrives;
    char *drive_text[CONFIG_MAX_DRIVES]; /* owned copies of the --drive values */
    struct net_config net;               /* --net: one virtio-net NIC (kind NET_NONE: none) */
    char *net_text;                      /* owned copy of the --net value */
};

/* Parse "512M", "2G", "1048576", "64K", "1T" (binary units; a bare number is
 * MiB, as QEMU's -m). Returns 0 or -EINVAL. */
int config_parse_size(const char *s, uint64_t *out);

/* Parse the arguments after "run". Returns 0, 1 if --help was printed to out,
 * or -EINVAL after printing one message naming the problem to err. */
int vm_config_parse(struct vm_config *cfg, int argc, char **argv, FILE *out, FILE *err);
void vm_config_free(struct vm_config *cfg);

void vm_config_usage(FILE *out);

#endif
