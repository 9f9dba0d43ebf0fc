/* Lane kernels of the MMX / SSE2 / SSSE3 packed-integer instructions (see
 * sse_int.h for the kernel contract: d = d op s over n bytes).
 *
 * Element-wise operations are instantiated from one macro per shape;
 * arithmetic that can wrap is done in unsigned types (signed overflow is
 * undefined in C), saturation in a wider signed type.
 */
#include "cpu/x86/sse_int.h"

#define KERNEL(name) void x86_pint_##name(x86_xmm *d, const x86_xmm *s, unsigned n, unsigned imm)

/* d.f[i] = expr(a = d.f[i], b = s.f[i]) for every lane of type T. */
#define LANES(name, T, f, expr)                                                                    \
    KERNEL(name)                                                                                   \
    {                                                                                              \
        (void)imm;                                                                                 \
        for (unsigned i = 0; i < n / sizeof(T); i++) {                                             \
            T a = d->f[i], b = s->f[i];                                                            \
            d->f[i] = (T)(expr);                                                                   \
        }                                                                                          \
    }

static inline int32_t sat_i8(int32_t v)
{
    return v > 127 ? 127 : v < -128 ? -128 : v;
}

static inline int32_t sat_u8(int32_t v)
{
    return v > 255 ? 255 : v < 0 ? 0 : v;
}

static inline int32_t sat_i16(int32_t v)
{
    return v > 32767 ? 32767 : v < -32768 ? -32768 : v;
}

static inline int32_t sat_u16(int32_t v)
{
    return v > 65535 ? 65535 : v < 0 ? 0 : v;
}

/* --- add, subtract, plain and saturating --- */

LANES(paddb, uint8_t, u8, a + b)
LANES(paddw, uint16_t, u16, a + b)
LANES(paddd, uint32_t, u32, a + b)
LANES(paddq, uint64_t, u64, a + b)
LANES(psubb, uint8_t, u8, a - b)
LANES(psubw, uint16_t, u16, a - b)
LANES(psubd, uint32_t, u32, a - b)
LANES(psubq, uint64_t, u64, a - b)
LANES(paddsb, int8_t, i8, sat_i8(a + b))
LANES(paddsw, int16_t, i16, sat_i16(a + b))
LANES(psubsb, int8_t, i8, sat_i8(a - b))
LANES(psubsw, int16_t, i16, sat_i16(a - b))
LANES(paddusb, uint8_t, u8, sat_u8(a + b))
LANES(paddusw, uint16_t, u16, sat_u16(a + b))
LANES(psubusb, uint8_t, u8, sat_u8(a - b))
LANES(psubusw, uint16_t, u16, sat_u16(a - b))

/* --- multiply --- */

LANES(pmullw, uint16_t, u16, (uint32_t)a *b)
LANES(pmulhw, int16_t, i16, ((int32_t)a * b) >> 16)
LANES(pmulhuw, uint16_t, u16, ((uint32_t)a * b) >> 16)
LANES(pmulld, uint32_t, u32, a *b)
/* Round to nearest of the product scaled by 2^-15. */
LANES(pmulhrsw, int16_t, i16, ((((int32_t)a * b) >> 14) + 1) >> 1)

/* Even dwords to qwords: unsigned (PMULUDQ) or signed (PMULDQ). */
KERNEL(pmuludq)
{
    (void)imm;
    for (unsigned i = 0; i < n / 8; i++)
        d->u64[i] = (uint64_t)d->u32[2 * i] * s->u32[2 * i];
}

KERNEL(pmuldq)
{
    (void)imm;
    for (unsigned i = 0; i < n / 8; i++)
        d->i64[i] = (int64_t)d->i32[2 * i] * s->i32[2 * i];
}

/* Word pairs multiplied and summed into dwords; -32768 * -32768 twice
 * wraps to 0x80000000, as the hardware gives. */
KERNEL(pmaddwd)
{
    (void)imm;
    for (unsigned i = 0; i < n / 4; i++) {
        int32_t p0 = (int32_t)d->i16[2 * i] * s->i16[2 * i];
        int32_t p1 = (int32_t)d->i16[2 * i + 1] * s->i16[2 * i + 1];
        d->u32[i] = (uint32_t)p0 + (uint32_t)p1;
    }
}

/* Unsigned bytes of d times signed bytes of s, pairs summed with signed
 * saturation. */
KERNEL(pmaddubsw)
{
    (void)imm;
    for (unsigned i = 0; i < n / 2; i++) {
        int32_t v = d->u8[2 * i] * s->i8[2 * i] + d->u8[2 * i + 1] * s->i8[2 * i + 1];
        d->i16[i] = (int16_t)sat_i16(v);
    }
}

/* --- logic and compare --- */

LANES(pand, uint64_t, u64, a &b)
LANES(pandn, uint64_t, u64, ~a &b)
LANES(por, uint64_t, u64, a | b)
LANES(pxor, uint64_t, u64, a ^ b)
LANES(pcmpeqb, uint8_t, u8, -(uint32_t)(a == b))
LANES(pcmpeqw, uint16_t, u16, -(uint32_t)(a == b))
LANES(pcmpeqd, uint32_t, u32, -(uint32_t)(a == b))
LANES(pcmpeqq, uint64_t, u64, -(uint64_t)(a == b))
LANES(pcmpgtb, int8_t, i8, -(a > b))
LANES(pcmpgtw, int16_t, i16, -(a > b))
LANES(pcmpgtd, int32_t, i32, -(a > b))
LANES(pcmpgtq, int64_t, i64, -(int64_t)(a > b))

/* --- min, max, average, sum of absolute differences --- */

LANES(pminub, uint8_t, u8, a < b ? a : b)
LANES(pmaxub, uint8_t, u8, a > b ? a : b)
LANES(pminsb, int8_t, i8, a < b ? a : b)
LANES(pmaxsb, int8_t, i8, a > b ? a : b)
LANES(pminuw, uint16_t, u16, a < b ? a : b)
LANES(pmaxuw, uint16_t, u16, a > b ? a : b)
LANES(pminsw, int16_t, i16, a < b ? a : b)
LANES(pmaxsw, int16_t, i16, a > b ? a : b)
LANES(pminud, uint32_t, u32, a < b ? a : b)
LANES(pmaxud, uint32_t, u32, a > b ? a : b)
LANES(pminsd, int32_t, i32, a < b ? a : b)
LANES(pmaxsd, int32_t, i32, a > b ? a : b)
LANES(pavgb, uint8_t, u8, (a + b + 1) >> 1)
LANES(pavgw, uint16_t, u16, ((uint32_t)a + b + 1) >> 1)

KERNEL(psadbw)
{
    (void)imm;
    for (unsigned q = 0; q < n / 8; q++) {
        uint32_t sum = 0;
        for (unsigned i = 8 * q; i < 8 * q + 8; i++)
            sum += d->u8[i] > s->u8[i] ? d->u8[i] - s->u8[i] : s->u8[i] - d->u8[i];
        d->u64[q] = sum;
    }
}

/* --- sign, absolute value (SSSE3) --- */

/* PSIGN: negate, zero or keep each lane of d by the sign of s's lane. */
#define SIGN(name, T, U, f)                                                                        \
    KERNEL(name)                                                                                   \
    {                                                                                              \
        (void)imm;                                                                                 \
        for (unsigned i = 0; i < n / sizeof(T); i++) {                                             \
            T b = s->f[i];                                                                         \
            U a = (U)d->f[i];                                                                      \
            d->f[i] = (T)(b < 0 ? (U)(0u - a) : b == 0 ? 0 : a);                                   \
        }                                                                                          \
    }
SIGN(psignb, int8_t, uint8_t, i8)
SIGN(psignw, int16_t, uint16_t, i16)
SIGN(psignd, int32_t, uint32_t, i32)

/* PABS of the source; the most negative value stays (as unsigned, its
 * absolute value). */
#define ABS(name, T, U, f)                                                                         \
    KERNEL(name)                                                                                   \
    {                                                                                              \
        (void)imm;                                                                                 \
        for (unsigned i = 0; i < n / sizeof(T); i++) {                                             \
            T b = s->f[i];                                                                         \
            d->f[i] = (T)(b < 0 ? (U)(0u - (U)b) : (U)b);                                          \
        }                                                                                          \
    }
ABS(pabsb, int8_t, uint8_t, i8)
ABS(pabsw, int16_t, uint16_t, i16)
ABS(pabsd, int32_t, uint32_t, i32)

/* --- shifts: the count is s->u64[0], all 64 bits of it --- */

#define SHIFT_LEFT(name, T, f, bits)                                                               \
    KERNEL(name)                                                                                   \
    {                                                                                              \
        (void)imm;                                                                                 \
        uint64_t c = s->u64[0];                                                                    \
        for (unsigned i = 0; i < n / sizeof(T); i++)                                               \
            d->f[i] = c >= (bits) ? 0 : (T)((T)d->f[i] << c);                                      \
    }
#define SHIFT_RIGHT(name, T, f, bits)                                                              \
    KERNEL(name)                                                                                   \
    {                                                                                              \
        (void)imm;                                                                                 \
        uint64_t c = s->u64[0];                                                                    \
        for (unsigned i = 0; i < n / sizeof(T); i++)                                               \
            d->f[i] = c >= (bits) ? 0 : (T)(d->f[i] >> c);                                         \
    }
/* Arithmetic: counts past the lane width fill with the sign bit. */
#define SHIFT_ARITH(name, T, f, bits)                                                              \
    KERNEL(name)                                                                                   \
    {                                                                                              \
        (void)imm;                                                                                 \
        uint64_t c = s->u64[0] >= (bits) ? (bits)-1 : s->u64[0];                                   \
        for (unsigned i = 0; i < n / sizeof(T); i++)                                               \
            d->f[i] = (T)(d->f[i] >> c);                                                           \
    }
SHIFT_LEFT(psllw, uint16_t, u16, 16)
SHIFT_LEFT(pslld, uint32_t, u32, 32)
SHIFT_LEFT(psllq, uint64_t, u64, 64)
SHIFT_RIGHT(psrlw, uint16_t, u16, 16)
SHIFT_RIGHT(psrld, uint32_t, u32, 32)
SHIFT_RIGHT(psrlq, uint64_t, u64, 64)
SHIFT_ARITH(psraw, int16_t, i16, 16)
SHIFT_ARITH(psrad, int32_t, i32, 32)

/* Whole-register byte shifts (xmm only). */
KERNEL(pslldq)
{
    (void)imm;
    uint64_t c = s->u64[0] > 16 ? 16 : s->u64[0];
    x86_xmm r = {0};
    for (unsigned i = (unsigned)c; i < n; i++)
        r.u8[i] = d->u8[i - c];
    *d = r;
}

KERNEL(psrldq)
{
    (void)imm;
    uint64_t c = s->u64[0] > 16 ? 16 : s->u64[0];
    x86_xmm r = {0};
    for (unsigned i = 0; i + c < n; i++)
        r.u8[i] = d->u8[i + c];
    *d = r;
}

/* --- pack, unpack --- */

/* The lanes of d narrowed into the low half, those of s into the high. */
#define PACK(name, W, wf, N, nf, sat)                                                              \
    KERNEL(name)                                                                                   \
    {                                                                                              \
        (void)imm;                                                                                 \
        unsigned k = n / sizeof(W);                                                                \
        x86_xmm r;                                                                                 \
        for (unsigned i = 0; i < k; i++) {                                                         \
            r.nf[i] = (N)sat(d->wf[i]);                                                            \
            r.nf[k + i] = (N)sat(s->wf[i]);                                                        \
        }                                                                                          \
        *d = r;                                                                                    \
    }
PACK(packsswb, int16_t, i16, int8_t, i8, sat_i8)
PACK(packuswb, int16_t, i16, uint8_t, u8, sat_u8)
PACK(packssdw, int32_t, i32, int16_t, i16, sat_i16)
PACK(packusdw, int32_t, i32, uint16_t, u16, sat_u16)

/* Interleave the elements (size e bytes) of one half of d and s. */
static void unpack(x86_xmm *d, const x86_xmm *s, unsigned n, unsigned e, unsigned high)
{
    x86_xmm r;
    unsigned base = high ? n / 2 : 0;
    for (unsigned i = 0; i < n / 2 / e; i++) {
        memcpy(&r.u8[2 * i * e], &d->u8[base + i * e], e);
        memcpy(&r.u8[(2 * i + 1) * e], &s->u8[base + i * e], e);
    }
    *d = r;
}

#define UNPACK(name, e, high)                                                                      \
    KERNEL(name)                                                                                   \
    {                                                                                              \
        (void)imm;                                                                                 \
        unpack(d, s, n, e, high);                                                                  \
    }
UNPACK(punpcklbw, 1, 0)
UNPACK(punpcklwd, 2, 0)
UNPACK(punpckldq, 4, 0)
UNPACK(punpcklqdq, 8, 0)
UNPACK(punpckhbw, 1, 1)
UNPACK(punpckhwd, 2, 1)
UNPACK(punpckhdq, 4, 1)
UNPACK(punpckhqdq, 8, 1)

/* --- shuffles --- */

/* PSHUFW (mm) and PSHUFD: lane i of d is lane imm[2i+1:2i] of s. */
KERNEL(pshufw)
{
    (void)n;
    for (unsigned i = 0; i < 4; i++)
        d->u16[i] = s->u16[(imm >> (2 * i)) & 3];
}

KERNEL(pshufd)
{
    (void)n;
    for (unsigned i = 0; i < 4; i++)
        d->u32[i] = s->u32[(imm >> (2 * i)) & 3];
}

/* PSHUFHW/PSHUFLW: shuffle the words of one qword, copy the other. */
KERNEL(pshufhw)
{
    (void)n;
    d->u64[0] = s->u64[0];
    for (unsigned i = 0; i < 4; i++)
        d->u16[4 + i] = s->u16[4 + ((imm >> (2 * i)) & 3)];
}

KERNEL(pshuflw)
{
    (void)n;
    d->u64[1] = s->u64[1];
    for (unsigned i = 0; i < 4; i++)
        d->u16[i] = s->u16[(imm >> (2 * i)) & 3];
}

/* PSHUFB: bytes of d picked by the control bytes of s (bit 7: zero). */
KERNEL(pshufb)
{
    (void)imm;
    x86_xmm t = *d;
    for (unsigned i = 0; i < n; i++)
        d->u8[i] = s->u8[i] & 0x80 ? 0 : t.u8[s->u8[i] & (n - 1)];
}

/* PALIGNR: the 2n-byte concatenation d:s shifted right by imm bytes. */
KERNEL(palignr)
{
    uint8_t cat[32];
    memcpy(cat, s->u8, n);
    memcpy(cat + n, d->u8, n);
    for (unsigned i = 0; i < n; i++)
        d->u8[i] = i + imm < 2 * n ? cat[i + imm] : 0;
}

/* --- horizontal add and subtract (SSSE3) --- */

/* Adjacent pairs of d into the low half of the result, of s into the
 * high half. */
#define HORIZ(name, T, f, expr)                                                                    \
    KERNEL(name)                                                                                   \
    {                                                                                              \
        (void)imm;                                                                                 \
        unsigned half = n / sizeof(T) / 2;                                                         \
        x86_xmm r;                                                                                 \
        for (unsigned i = 0; i < half; i++) {                                                      \
            T a = d->f[2 * i], b = d->f[2 * i + 1];                                                \
            r.f[i] = (T)(expr);                                                                    \
            a = s->f[2 * i];                                                                       \
            b = s->f[2 * i + 1];                                                                   \
            r.f[half + i] = (T)(expr);                                                             \
        }                                                                                          \
        *d = r;                                                                                    \
    }
HORIZ(phaddw, uint16_t, u16, a + b)
HORIZ(phaddd, uint32_t, u32, a + b)
HORIZ(phaddsw, int16_t, i16, sat_i16(a + b))
HORIZ(phsubw, uint16_t, u16, a - b)
HORIZ(phsubd, uint32_t, u32, a - b)
HORIZ(phsubsw, int16_t, i16, sat_i16(a - b))

/* --- SSE4.1 and PCLMULQDQ --- */

/* PHMINPOSUW: the smallest word (the lowest index among equals) and its
 * index; everything else cleared. */
KERNEL(phminposuw)
{
    (void)imm;
    (void)d;
    unsigned best = 0;
    for (unsigned i = 1; i < n / 2; i++) {
        if (s->u16[i] < s->u16[best])
            best = i;
    }
    x86_xmm r = {0};
    r.u16[0] = s->u16[best];
    r.u16[1] = (uint16_t)best;
    *d = r;
}

/* PBLENDW: word i from s where imm bit i is set. */
KERNEL(pblendw)
{
    for (unsigned i = 0; i < n / 2; i++) {
        if (imm >> i & 1)
            d->u16[i] = s->u16[i];
    }
}

/* MPSADBW: eight sums of absolute differences between the 4-byte block
 * of s at imm[1:0] * 4 and the sliding 4-byte windows of d starting at
 * imm[2] * 4. */
KERNEL(mpsadbw)
{
    (void)n;
    unsigned a = (imm >> 2 & 1) * 4, b = (imm & 3) * 4;
    x86_xmm r;
    for (unsigned i = 0; i < 8; i++) {
        unsigned sum = 0;
        for (unsigned j = 0; j < 4; j++) {
            int diff = d->u8[a + i + j] - s->u8[b + j];
            sum += (unsigned)(diff < 0 ? -diff : diff);
        }
        r.u16[i] = (uint16_t)sum;
    }
    *d = r;
}

/* PCLMULQDQ: carry-less product of the qword of d chosen by imm bit 0 and
 * the qword of s chosen by imm bit 4. */
KERNEL(pclmulqdq)
{
    (void)n;
    uint64_t a = d->u64[imm & 1], b = s->u64[imm >> 4 & 1], lo = 0, hi = 0;
    for (unsigned i = 0; i < 64; i++) {
        if (b >> i & 1) {
            lo ^= a << i;
            hi ^= i ? a >> (64 - i) : 0;
        }
    }
    d->u64[0] = lo;
    d->u64[1] = hi;
}
