/* Test helper: compress a buffer the way the kernel's build compresses its
 * payload (arch/x86/boot/compressed/Makefile, scripts/Makefile.lib), with
 * the libraries' encoders: the format's stream followed by the uncompressed
 * size as a 32-bit little-endian word (gzip's own trailer is that word).
 * LZ4 is written as legacy frames and LZO as an lzop file, as the kernel's
 * `lz4 -l` and `lzop` calls write them.
 *
 * kc_compress() returns a malloc'd buffer of exactly *out_len bytes, so
 * ASan catches a decoder reading past it.
 */
#ifndef XUNI_TESTS_KERNEL_COMPRESS_H
#define XUNI_TESTS_KERNEL_COMPRESS_H

#include <bzlib.h>
#include <lz4.h>
#include <lzma.h>
#include <lzo/lzo1x.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>
#include <zstd.h>

#include "boot/decompress.h"

struct kc_buf {
    uint8_t *p;
    size_t len, cap;
};

static inline void kc_reserve(struct kc_buf *b, size_t more)
{
    if (b->len + more <= b->cap)
        return;
    b->cap = (b->len + more) * 2;
    b->p = realloc(b->p, b->cap);
    if (!b->p)
        abort();
}

static inline void kc_put(struct kc_buf *b, const void *p, size_t n)
{
    kc_reserve(b, n);
    memcpy(b->p + b->len, p, n);
    b->len += n;
}

static inline void kc_le32(struct kc_buf *b, uint32_t v)
{
    uint8_t x[4] = {(uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24)};
    kc_put(b, x, 4);
}

static inline void kc_be(struct kc_buf *b, uint32_t v, unsigned bytes)
{
    for (unsigned i = bytes; i-- > 0;) {
        uint8_t c = (uint8_t)(v >> (8 * i));
        kc_put(b, &c, 1);
    }
}

static inline int kc_gzip(const uint8_t *in, size_t n, struct kc_buf *b)
{
    z_stream s;
    memset(&s, 0, sizeof(s));
    if (deflateInit2(&s, 9, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY) != Z_OK)
        return -1;
    kc_reserve(b, deflateBound(&s, n));
    s.next_in = (Bytef *)in;
    s.avail_in = (uInt)n;
    s.next_out = b->p + b->len;
    s.avail_out = (uInt)(b->cap - b->len);
    int r = deflate(&s, Z_FINISH);
    b->len += s.total_out;
    deflateEnd(&s);
    return r == Z_STREAM_END ? 0 : -1;
}

static inline int kc_bzip2(const uint8_t *in, size_t n, struct kc_buf *b)
{
    unsigned int out = (unsigned int)(n + n / 100 + 600);
    kc_reserve(b, out);
    if (BZ2_bzBuffToBuffCompress((char *)b->p + b->len, &out, (char *)in, (unsigned int)n, 9, 0,
                                 0) != BZ_OK)
        return -1;
    b->len += out;
    return 0;
}

static inline int kc_lzma(const uint8_t *in, size_t n, struct kc_buf *b)
{
    lzma_options_lzma opt;
    lzma_stream s = LZMA_STREAM_INIT;
    if (lzma_lzma_preset(&opt, 6) || lzma_alone_encoder(&s, &opt) != LZMA_OK)
        return -1;
    kc_reserve(b, n + n / 2 + 4096);
    s.next_in = in;
    s.avail_in = n;
    s.next_out = b->p + b->len;
    s.avail_out = b->cap - b->len;
    lzma_ret r;
    do {
        r = lzma_code(&s, LZMA_FINISH);
    } while (r == LZMA_OK);
    b->len += s.total_out;
    lzma_end(&s);
    return r == LZMA_STREAM_END ? 0 : -1;
}

/* As scripts/xz_wrap.sh: the x86 BCJ filter, LZMA2, CRC32 check. */
static inline int kc_xz(const uint8_t *in, size_t n, struct kc_buf *b)
{
    lzma_options_lzma opt;
    if (lzma_lzma_preset(&opt, 6))
        return -1;
    lzma_filter filters[] = {
        {.id = LZMA_FILTER_X86, .options = NULL},
        {.id = LZMA_FILTER_LZMA2, .options = &opt},
        {.id = LZMA_VLI_UNKNOWN, .options = NULL},
    };
    size_t bound = lzma_stream_buffer_bound(n), pos = 0;
    kc_reserve(b, bound);
    if (lzma_stream_buffer_encode(filters, LZMA_CHECK_CRC32, NULL, in, n, b->p + b->len, &pos,
                                  bound) != LZMA_OK)
        return -1;
    b->len += pos;
    return 0;
}

#define KC_LZ4_BLOCK (8u << 20)

/* Legacy frames; a second magic in the middle, as concatenated frames. */
static inline int kc_lz4(const uint8_t *in, size_t n, struct kc_buf *b)
{
    kc_le32(b, 0x184c2102);
    for (size_t off = 0; off < n; off += KC_LZ4_BLOCK) {
        int chunk = (int)(n - off < KC_LZ4_BLOCK ? n - off : KC_LZ4_BLOCK);
        int bound = LZ4_compressBound(chunk);
        kc_reserve(b, 4 + (size_t)bound);
        int c =
            LZ4_compress_default((const char *)in + off, (char *)b->p + b->len + 4, chunk, bound);
        if (c <= 0)
            return -1;
        uint8_t *hdr = b->p + b->len;
        hdr[0] = (uint8_t)c;
        hdr[1] = (uint8_t)(c >> 8);
        hdr[2] = (uint8_t)(c >> 16);
        hdr[3] = (uint8_t)(c >> 24);
        b->len += 4 + (size_t)c;
        if (off == 0 && n > KC_LZ4_BLOCK)
            kc_le32(b, 0x184c2102);
    }
    return 0;
}

static inline int kc_zstd(const uint8_t *in, size_t n, struct kc_buf *b)
{
    ZSTD_CCtx *c = ZSTD_createCCtx();
    size_t bound = ZSTD_compressBound(n);
    kc_reserve(b, bound);
    ZSTD_CCtx_setParameter(c, ZSTD_c_compressionLevel, 19);
    ZSTD_CCtx_setParameter(c, ZSTD_c_checksumFlag, 1);
    size_t r = ZSTD_compress2(c, b->p + b->len, bound, in, n);
    ZSTD_freeCCtx(c);
    if (ZSTD_isError(r))
        return -1;
    b->len += r;
    return 0;
}

#define KC_LZO_BLOCK (256u << 10)

/* An lzop file: header (version 0x1040, LZO1X-1, adler32 of each block's
 * uncompressed and compressed data), blocks, end marker. */
static inline int kc_lzo(const uint8_t *in, size_t n, struct kc_buf *b)
{
    static const uint8_t magic[] = {0x89, 'L', 'Z', 'O', 0, '\r', '\n', 0x1a, '\n'};
    const uint32_t flags = 0x03000003; /* Unix; ADLER32_D | ADLER32_C */
    if (lzo_init() != LZO_E_OK)
        return -1;
    kc_put(b, magic, sizeof(magic));
    size_t hdr = b->len;
    kc_be(b, 0x1040, 2); /* version */
    kc_be(b, 0x20a0, 2); /* library version */
    kc_be(b, 0x0940, 2); /* version needed */
    kc_be(b, 1, 1);      /* method: LZO1X-1 */
    kc_be(b, 5, 1);      /* level */
    kc_be(b, flags, 4);
    kc_be(b, 0100644, 4); /* mode */
    kc_be(b, 0, 4);       /* mtime */
    kc_be(b, 0, 4);
    kc_be(b, 0, 1); /* no name */
    kc_be(b, lzo_adler32(1, b->p + hdr, b->len - hdr), 4);
    void *wrk = malloc(LZO1X_1_MEM_COMPRESS);
    uint8_t *tmp = malloc(KC_LZO_BLOCK + KC_LZO_BLOCK / 16 + 64 + 3);
    for (size_t off = 0; off < n; off += KC_LZO_BLOCK) {
        size_t chunk = n - off < KC_LZO_BLOCK ? n - off : KC_LZO_BLOCK;
        lzo_uint c = 0;
        lzo1x_1_compress(in + off, chunk, tmp, &c, wrk);
        kc_be(b, (uint32_t)chunk, 4);
        kc_be(b, (uint32_t)(c < chunk ? c : chunk), 4);
        kc_be(b, lzo_adler32(1, in + off, chunk), 4);
        if (c < chunk) {
            kc_be(b, lzo_adler32(1, tmp, c), 4);
            kc_put(b, tmp, c);
        } else {
            kc_put(b, in + off, chunk);
        }
    }
    kc_be(b, 0, 4);
    free(wrk);
    free(tmp);
    return 0;
}

/* The payload for fmt, or NULL if the encoder failed. */
static inline uint8_t *kc_compress(enum decompress_format fmt, const uint8_t *in, size_t n,
                                   size_t *out_len)
{
    struct kc_buf b = {0};
    int r = -1;
    switch (fmt) {
    case DECOMPRESS_NONE:
        kc_put(&b, in, n);
        r = 0;
        break;
    case DECOMPRESS_GZIP:
        r = kc_gzip(in, n, &b);
        break;
    case DECOMPRESS_BZIP2:
        r = kc_bzip2(in, n, &b);
        break;
    case DECOMPRESS_LZMA:
        r = kc_lzma(in, n, &b);
        break;
    case DECOMPRESS_XZ:
        r = kc_xz(in, n, &b);
        break;
    case DECOMPRESS_LZO:
        r = kc_lzo(in, n, &b);
        break;
    case DECOMPRESS_LZ4:
        r = kc_lz4(in, n, &b);
        break;
    case DECOMPRESS_ZSTD:
        r = kc_zstd(in, n, &b);
        break;
    default:
        break;
    }
    if (r == 0 && fmt != DECOMPRESS_GZIP && fmt != DECOMPRESS_NONE)
        kc_le32(&b, (uint32_t)n);
    uint8_t *exact = r == 0 ? malloc(b.len ? b.len : 1) : NULL;
    if (exact)
        memcpy(exact, b.p, b.len);
    *out_len = r == 0 ? b.len : 0;
    free(b.p);
    return exact;
}

/* Every compressed format, for loops over them. */
static const enum decompress_format kc_formats[] = {
    DECOMPRESS_GZIP, DECOMPRESS_BZIP2, DECOMPRESS_LZMA, DECOMPRESS_XZ,
    DECOMPRESS_LZO,  DECOMPRESS_LZ4,   DECOMPRESS_ZSTD,
};

#define KC_NFORMATS (sizeof(kc_formats) / sizeof(kc_formats[0]))

#endif
