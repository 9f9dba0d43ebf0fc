/* Decompression of a Linux kernel's payload on the host.
 *
 * A bzImage carries the real kernel (the ELF vmlinux, followed by its
 * relocation table when the kernel is built relocatable) compressed in one
 * of the formats the kernel's Kconfig offers; the kernel's own decompressor
 * (arch/x86/boot/compressed) unpacks it at boot. This module does the same
 * work on the host with the usual libraries -- zlib, liblzma, liblz4,
 * libzstd, libbz2, liblzo2 -- so the guest starts at the uncompressed
 * kernel's entry.
 *
 * The kernel's build appends the uncompressed size as a 32-bit
 * little-endian word to every payload (for gzip it is the trailer gzip
 * writes itself), so the output size is known before decoding and the
 * whole payload must decode to exactly that many bytes. The format is told
 * by the payload's magic bytes, as the kernel's own lib/decompress.c does.
 *
 * The containers the libraries do not read themselves are parsed here: the
 * kernel's LZ4 "legacy" frames (magic 0x184c2102, then blocks of a 32-bit
 * compressed size and data that decodes to at most 8 MiB; LZ4F does not read
 * them) and lzop's file format (a header, then blocks of uncompressed size,
 * compressed size, checksums and data). The decoding itself is always the
 * library's.
 */
#ifndef XUNI_BOOT_DECOMPRESS_H
#define XUNI_BOOT_DECOMPRESS_H

#include <stddef.h>
#include <stdint.h>

enum decompress_format {
    DECOMPRESS_UNKNOWN,
    DECOMPRESS_NONE, /* already an ELF file: nothing to do */
    DECOMPRESS_GZIP,
    DECOMPRESS_BZIP2,
    DECOMPRESS_LZMA, /* the legacy .lzma ("LZMA alone") format */
    DECOMPRESS_XZ,
    DECOMPRESS_LZO, /* lzop's file format */
    DECOMPRESS_LZ4, /* LZ4 legacy frames */
    DECOMPRESS_ZSTD,
};

/* The format of a payload from its first bytes. */
enum decompress_format decompress_detect(const uint8_t *data, size_t len);

/* "gzip", "xz", ... ("unknown" for DECOMPRESS_UNKNOWN). */
const char *decompress_format_name(enum decompress_format fmt);

/* Refuse payloads that claim to unpack to more than this: no kernel is that
 * big, and the claim comes from the file. */
#define DECOMPRESS_MAX_OUTPUT (1ULL << 30)

/* Unpack a whole kernel payload (with its trailing size word) into a new
 * malloc'd buffer, *out of *out_len bytes. Returns 0, or -EINVAL with
 * *why set to a static description of what is wrong with the data, or
 * -ENOMEM (also with *why). The caller owns *out on success. */
int decompress_payload(enum decompress_format fmt, const uint8_t *in, size_t in_len, uint8_t **out,
                       size_t *out_len, const char **why);

#endif
