#include "boot/decompress.h"

#include <bzlib.h>
#include <errno.h>
#include <limits.h>
#include <lz4.h>
#include <lzma.h>
#include <lzo/lzo1x.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>
#include <zstd.h>
#include <zstd_errors.h>

#include "util/bytes.h"

/* What a decoder reports: 0 with *produced set once its stream is complete,
 * or -EINVAL/-ENOMEM with *why set. */
typedef int (*decoder_fn)(const uint8_t *in, size_t in_len, uint8_t *out, size_t out_len,
                          size_t *produced, const char **why);

static const char WHY_TRUNCATED[] = "the data ends before the compressed stream does (truncated)";
static const char WHY_TOO_LONG[] = "it decodes to more bytes than the size it records";
static const char WHY_CORRUPT[] = "the compressed data is invalid";
static const char WHY_NOMEM[] = "out of memory while decompressing";

static int fail(const char **why, const char *what, int err)
{
    *why = what;
    return err;
}

/* --- detection --- */

static const struct {
    enum decompress_format fmt;
    const char *name;
    uint8_t magic[9];
    uint8_t magic_len;
} formats[] = {
    {DECOMPRESS_NONE, "uncompressed", {0x7f, 'E', 'L', 'F'}, 4},
    {DECOMPRESS_GZIP, "gzip", {0x1f, 0x8b}, 2},
    {DECOMPRESS_BZIP2, "bzip2", {'B', 'Z', 'h'}, 3},
    /* lc=3 lp=0 pb=2 (the default properties), then a dictionary size whose
     * low byte is 0: the two bytes lib/decompress.c matches. */
    {DECOMPRESS_LZMA, "lzma", {0x5d, 0x00}, 2},
    {DECOMPRESS_XZ, "xz", {0xfd, '7', 'z', 'X', 'Z', 0x00}, 6},
    {DECOMPRESS_LZO, "lzo", {0x89, 'L', 'Z', 'O', 0x00, '\r', '\n', 0x1a, '\n'}, 9},
    {DECOMPRESS_LZ4, "lz4", {0x02, 0x21, 0x4c, 0x18}, 4},
    {DECOMPRESS_ZSTD, "zstd", {0x28, 0xb5, 0x2f, 0xfd}, 4},
};

#define NFORMATS (sizeof(formats) / sizeof(formats[0]))

enum decompress_format decompress_detect(const uint8_t *data, size_t len)
{
    for (size_t i = 0; i < NFORMATS; i++)
        if (len >= formats[i].magic_len && !memcmp(data, formats[i].magic, formats[i].magic_len))
            return formats[i].fmt;
    return DECOMPRESS_UNKNOWN;
}

const char *decompress_format_name(enum decompress_format fmt)
{
    for (size_t i = 0; i < NFORMATS; i++)
        if (formats[i].fmt == fmt)
            return formats[i].name;
    return "unknown";
}

/* --- zlib, liblzma, libbz2, libzstd: whole-buffer decoders --- */

static int dec_gzip(const uint8_t *in, size_t in_len, uint8_t *out, size_t out_len,
                    size_t *produced, const char **why)
{
    if (in_len > UINT_MAX)
        return fail(why, WHY_CORRUPT, -EINVAL);
    z_stream s;
    memset(&s, 0, sizeof(s));
    if (inflateInit2(&s, 16 + MAX_WBITS) != Z_OK) /* +16: gzip wrapper only */
        return fail(why, WHY_NOMEM, -ENOMEM);
    s.next_in = (Bytef *)in;
    s.avail_in = (uInt)in_len;
    s.next_out = out;
    s.avail_out = (uInt)out_len;
    int zr = inflate(&s, Z_FINISH);
    *produced = s.total_out;
    bool out_full = s.avail_out == 0;
    inflateEnd(&s);
    if (zr == Z_STREAM_END)
        return 0;
    if (zr == Z_MEM_ERROR)
        return fail(why, WHY_NOMEM, -ENOMEM);
    if (zr == Z_BUF_ERROR)
        return fail(why, out_full ? WHY_TOO_LONG : WHY_TRUNCATED, -EINVAL);
    return fail(why, WHY_CORRUPT, -EINVAL);
}

/* xz and the legacy .lzma format differ only in the decoder liblzma sets up. */
static int dec_liblzma(bool xz, const uint8_t *in, size_t in_len, uint8_t *out, size_t out_len,
                       size_t *produced, const char **why)
{
    lzma_stream s = LZMA_STREAM_INIT;
    lzma_ret lr = xz ? lzma_stream_decoder(&s, UINT64_MAX, 0) : lzma_alone_decoder(&s, UINT64_MAX);
    if (lr != LZMA_OK)
        return fail(why, WHY_NOMEM, -ENOMEM);
    s.next_in = in;
    s.avail_in = in_len;
    s.next_out = out;
    s.avail_out = out_len;
    do {
        lr = lzma_code(&s, LZMA_FINISH);
    } while (lr == LZMA_OK);
    *produced = s.total_out;
    bool out_full = s.avail_out == 0;
    lzma_end(&s);
    switch (lr) {
    case LZMA_STREAM_END:
        return 0;
    case LZMA_MEM_ERROR:
        return fail(why, WHY_NOMEM, -ENOMEM);
    case LZMA_BUF_ERROR:
        return fail(why, out_full ? WHY_TOO_LONG : WHY_TRUNCATED, -EINVAL);
    case LZMA_OPTIONS_ERROR:
        return fail(why, "it uses options this liblzma does not support", -EINVAL);
    default:
        return fail(why, WHY_CORRUPT, -EINVAL);
    }
}

static int dec_xz(const uint8_t *in, size_t in_len, uint8_t *out, size_t out_len, size_t *produced,
                  const char **why)
{
    return dec_liblzma(true, in, in_len, out, out_len, produced, why);
}

static int dec_lzma(const uint8_t *in, size_t in_len, uint8_t *out, size_t out_len,
                    size_t *produced, const char **why)
{
    return dec_liblzma(false, in, in_len, out, out_len, produced, why);
}

static int dec_bzip2(const uint8_t *in, size_t in_len, uint8_t *out, size_t out_len,
                     size_t *produced, const char **why)
{
    if (in_len > UINT_MAX)
        return fail(why, WHY_CORRUPT, -EINVAL);
    unsigned int n = (unsigned int)out_len;
    int br = BZ2_bzBuffToBuffDecompress((char *)out, &n, (char *)in, (unsigned int)in_len, 0, 0);
    *produced = n;
    switch (br) {
    case BZ_OK:
        return 0;
    case BZ_MEM_ERROR:
        return fail(why, WHY_NOMEM, -ENOMEM);
    case BZ_OUTBUFF_FULL:
        return fail(why, WHY_TOO_LONG, -EINVAL);
    case BZ_UNEXPECTED_EOF:
        return fail(why, WHY_TRUNCATED, -EINVAL);
    default:
        return fail(why, WHY_CORRUPT, -EINVAL);
    }
}

/* One frame, decoded in one pass: ZSTD_decompress() then needs no window
 * buffer, whatever window the kernel's -22 --ultra chose. */
static int dec_zstd(const uint8_t *in, size_t in_len, uint8_t *out, size_t out_len,
                    size_t *produced, const char **why)
{
    size_t frame = ZSTD_findFrameCompressedSize(in, in_len);
    if (ZSTD_isError(frame))
        return fail(
            why, ZSTD_getErrorCode(frame) == ZSTD_error_srcSize_wrong ? WHY_TRUNCATED : WHY_CORRUPT,
            -EINVAL);
    size_t n = ZSTD_decompress(out, out_len, in, frame);
    if (ZSTD_isError(n)) {
        *produced = 0;
        switch (ZSTD_getErrorCode(n)) {
        case ZSTD_error_dstSize_tooSmall:
            return fail(why, WHY_TOO_LONG, -EINVAL);
        case ZSTD_error_memory_allocation:
            return fail(why, WHY_NOMEM, -ENOMEM);
        default:
            return fail(why, WHY_CORRUPT, -EINVAL);
        }
    }
    *produced = n;
    return 0;
}

/* --- LZ4 legacy frames (lib/decompress_unlz4.c's input) --- */

#define LZ4_LEGACY_MAGIC 0x184c2102u
#define LZ4_LEGACY_BLOCK (8u << 20) /* every block but the last decodes to this */

static int dec_lz4(const uint8_t *in, size_t in_len, uint8_t *out, size_t out_len, size_t *produced,
                   const char **why)
{
    size_t pos = 0, done = 0;
    *produced = 0;
    if (in_len < 4 || get_le32(in) != LZ4_LEGACY_MAGIC)
        return fail(why, "it does not start with the LZ4 legacy magic", -EINVAL);
    while (pos < in_len) {
        if (in_len - pos < 4)
            return fail(why, WHY_TRUNCATED, -EINVAL);
        uint32_t csize = get_le32(in + pos);
        pos += 4;
        if (csize == LZ4_LEGACY_MAGIC) /* another frame follows, as cat would make */
            continue;
        if (csize > in_len - pos)
            return fail(why, WHY_TRUNCATED, -EINVAL);
        if (csize == 0 || csize > (uint32_t)LZ4_compressBound(LZ4_LEGACY_BLOCK))
            return fail(why, "a block has an impossible compressed size", -EINVAL);
        if (done == out_len)
            return fail(why, WHY_TOO_LONG, -EINVAL);
        size_t room = out_len - done < LZ4_LEGACY_BLOCK ? out_len - done : LZ4_LEGACY_BLOCK;
        int n =
            LZ4_decompress_safe((const char *)in + pos, (char *)out + done, (int)csize, (int)room);
        if (n < 0)
            return fail(why, WHY_CORRUPT, -EINVAL);
        done += (size_t)n;
        pos += csize;
        *produced = done;
    }
    return 0;
}

/* --- lzop's file format (lib/decompress_unlzo.c's input) --- */

/* Header flags, from lzop's conf.h. */
#define LZOP_ADLER32_D    0x0001u
#define LZOP_ADLER32_C    0x0002u
#define LZOP_EXTRA_FIELD  0x0040u
#define LZOP_CRC32_D      0x0100u
#define LZOP_CRC32_C      0x0200u
#define LZOP_FILTER       0x0800u
#define LZOP_HEADER_CRC32 0x1000u
#define LZOP_NEW_FIELDS   0x0940u /* version from which the header has the newer fields */
#define LZOP_MAGIC_LEN    9

/* A big-endian reader that never runs past its end. */
struct lzop_reader {
    const uint8_t *p;
    size_t len, pos;
    bool short_read;
};

static uint32_t lzop_get(struct lzop_reader *r, unsigned bytes)
{
    uint32_t v = 0;
    if (r->len - r->pos < bytes) {
        r->short_read = true;
        r->pos = r->len;
        return 0;
    }
    for (unsigned i = 0; i < bytes; i++)
        v = v << 8 | r->p[r->pos++];
    return v;
}

static const uint8_t *lzop_take(struct lzop_reader *r, size_t n)
{
    if (r->len - r->pos < n) {
        r->short_read = true;
        r->pos = r->len;
        return NULL;
    }
    r->pos += n;
    return r->p + r->pos - n;
}

static uint32_t lzop_checksum(bool crc, const uint8_t *p, size_t n)
{
    return crc ? lzo_crc32(0, p, n) : lzo_adler32(1, p, n);
}

/* Parse the header up to the first block; return its flags or fail. */
static int lzop_header(struct lzop_reader *r, uint32_t *flags, const char **why)
{
    r->pos = LZOP_MAGIC_LEN;
    uint32_t version = lzop_get(r, 2);
    lzop_get(r, 2); /* the library version that wrote it */
    if (version >= LZOP_NEW_FIELDS)
        lzop_get(r, 2); /* version needed to extract */
    uint32_t method = lzop_get(r, 1);
    if (version >= LZOP_NEW_FIELDS)
        lzop_get(r, 1); /* level */
    *flags = lzop_get(r, 4);
    if (*flags & LZOP_FILTER)
        return fail(why, "it uses an lzop filter, which the kernel never does", -EINVAL);
    lzop_get(r, 4); /* mode */
    lzop_get(r, 4); /* mtime */
    if (version >= LZOP_NEW_FIELDS)
        lzop_get(r, 4);           /* mtime, high half */
    lzop_take(r, lzop_get(r, 1)); /* file name */
    size_t hdr_end = r->pos;
    uint32_t sum = lzop_get(r, 4);
    if (r->short_read)
        return fail(why, WHY_TRUNCATED, -EINVAL);
    if (method < 1 || method > 3) /* LZO1X-1, LZO1X-1(15), LZO1X-999: one decoder */
        return fail(why, "it uses an lzo method other than LZO1X", -EINVAL);
    if (sum !=
        lzop_checksum(*flags & LZOP_HEADER_CRC32, r->p + LZOP_MAGIC_LEN, hdr_end - LZOP_MAGIC_LEN))
        return fail(why, "its header checksum is wrong", -EINVAL);
    if (*flags & LZOP_EXTRA_FIELD) {
        lzop_take(r, lzop_get(r, 4));
        lzop_get(r, 4); /* its checksum */
    }
    return r->short_read ? fail(why, WHY_TRUNCATED, -EINVAL) : 0;
}

/* Check a block's stored checksums of its data: adler32 first, then crc32,
 * each present if its flag is set. */
static bool lzop_sums_ok(struct lzop_reader *r, uint32_t flags, uint32_t adler_flag,
                         uint32_t crc_flag, uint32_t want[2])
{
    want[0] = flags & adler_flag ? lzop_get(r, 4) : 0;
    want[1] = flags & crc_flag ? lzop_get(r, 4) : 0;
    return !r->short_read;
}

static bool lzop_verify(uint32_t flags, uint32_t adler_flag, uint32_t crc_flag,
                        const uint32_t want[2], const uint8_t *p, size_t n)
{
    return (!(flags & adler_flag) || want[0] == lzop_checksum(false, p, n)) &&
           (!(flags & crc_flag) || want[1] == lzop_checksum(true, p, n));
}

static int lzop_block(struct lzop_reader *r, uint32_t flags, uint32_t dst_len, uint8_t *dst,
                      const char **why)
{
    uint32_t src_len = lzop_get(r, 4);
    uint32_t dsum[2], csum[2] = {0, 0};
    if (!lzop_sums_ok(r, flags, LZOP_ADLER32_D, LZOP_CRC32_D, dsum) ||
        (src_len < dst_len && !lzop_sums_ok(r, flags, LZOP_ADLER32_C, LZOP_CRC32_C, csum)))
        return fail(why, WHY_TRUNCATED, -EINVAL);
    const uint8_t *src = lzop_take(r, src_len);
    if (!src)
        return fail(why, WHY_TRUNCATED, -EINVAL);
    if (src_len > dst_len)
        return fail(why, "a block is larger compressed than uncompressed", -EINVAL);
    if (src_len == dst_len) { /* stored as is */
        memcpy(dst, src, dst_len);
    } else {
        if (!lzop_verify(flags, LZOP_ADLER32_C, LZOP_CRC32_C, csum, src, src_len))
            return fail(why, "a block's checksum is wrong", -EINVAL);
        lzo_uint n = dst_len;
        if (lzo1x_decompress_safe(src, src_len, dst, &n, NULL) != LZO_E_OK || n != dst_len)
            return fail(why, WHY_CORRUPT, -EINVAL);
    }
    if (!lzop_verify(flags, LZOP_ADLER32_D, LZOP_CRC32_D, dsum, dst, dst_len))
        return fail(why, "a block's checksum is wrong", -EINVAL);
    return 0;
}

static int dec_lzo(const uint8_t *in, size_t in_len, uint8_t *out, size_t out_len, size_t *produced,
                   const char **why)
{
    struct lzop_reader r = {.p = in, .len = in_len};
    uint32_t flags;
    *produced = 0;
    if (lzo_init() != LZO_E_OK)
        return fail(why, "liblzo2 failed to initialise", -EINVAL);
    int err = lzop_header(&r, &flags, why);
    if (err < 0)
        return err;
    for (;;) {
        uint32_t dst_len = lzop_get(&r, 4);
        if (r.short_read)
            return fail(why, WHY_TRUNCATED, -EINVAL);
        if (dst_len == 0) /* the end marker */
            return 0;
        if (dst_len > out_len - *produced)
            return fail(why, WHY_TOO_LONG, -EINVAL);
        err = lzop_block(&r, flags, dst_len, out + *produced, why);
        if (err < 0)
            return err;
        *produced += dst_len;
    }
}

/* --- the payload --- */

static decoder_fn decoder_for(enum decompress_format fmt)
{
    switch (fmt) {
    case DECOMPRESS_GZIP:
        return dec_gzip;
    case DECOMPRESS_BZIP2:
        return dec_bzip2;
    case DECOMPRESS_LZMA:
        return dec_lzma;
    case DECOMPRESS_XZ:
        return dec_xz;
    case DECOMPRESS_LZO:
        return dec_lzo;
    case DECOMPRESS_LZ4:
        return dec_lz4;
    case DECOMPRESS_ZSTD:
        return dec_zstd;
    default:
        return NULL;
    }
}

int decompress_payload(enum decompress_format fmt, const uint8_t *in, size_t in_len, uint8_t **out,
                       size_t *out_len, const char **why)
{
    *out = NULL;
    *out_len = 0;
    if (fmt == DECOMPRESS_NONE) {
        *out = malloc(in_len ? in_len : 1);
        if (!*out)
            return fail(why, WHY_NOMEM, -ENOMEM);
        memcpy(*out, in, in_len);
        *out_len = in_len;
        return 0;
    }
    decoder_fn dec = decoder_for(fmt);
    if (!dec)
        return fail(why, "its compression format is unknown", -EINVAL);
    if (in_len < 8)
        return fail(why, WHY_TRUNCATED, -EINVAL);
    /* The size word closes the payload; gzip's own trailer is that word, the
     * other formats have it appended after their stream. */
    uint32_t size = get_le32(in + in_len - 4);
    size_t stream_len = fmt == DECOMPRESS_GZIP ? in_len : in_len - 4;
    if (size == 0)
        return fail(why, "it records an uncompressed size of 0", -EINVAL);
    if (size > DECOMPRESS_MAX_OUTPUT)
        return fail(why, "it records an uncompressed size over 1 GiB", -EINVAL);
    uint8_t *buf = malloc(size);
    if (!buf)
        return fail(why, WHY_NOMEM, -ENOMEM);
    size_t produced = 0;
    int err = dec(in, stream_len, buf, size, &produced, why);
    if (err == 0 && produced != size)
        err = fail(why, "it decodes to fewer bytes than the size it records", -EINVAL);
    if (err < 0) {
        free(buf);
        return err;
    }
    *out = buf;
    *out_len = size;
    return 0;
}
