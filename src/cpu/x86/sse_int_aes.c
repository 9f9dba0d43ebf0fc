/* AES-NI round kernels (AESENC, AESENCLAST, AESDEC, AESDECLAST, AESIMC,
 * AESKEYGENASSIST), in the lane-kernel form of sse_int.h, from FIPS-197
 * and the SDM's pseudocode.
 *
 * The 16 bytes of an xmm register are the AES state in column-major
 * order: byte 4c + r is row r of column c. The S-boxes are computed once
 * at load time (multiplicative inverse in GF(2^8) followed by the affine
 * transform) rather than written out.
 */
#include "cpu/x86/sse_int.h"

static uint8_t aes_sbox[256], aes_inv_sbox[256];

/* Multiplication by x (i.e. 2) modulo x^8 + x^4 + x^3 + x + 1. */
static inline uint8_t aes_xtime(uint8_t a)
{
    return (uint8_t)(a << 1 ^ (a & 0x80 ? 0x1b : 0));
}

static uint8_t aes_mul(uint8_t a, uint8_t b)
{
    uint8_t r = 0;
    while (b) {
        if (b & 1)
            r ^= a;
        a = aes_xtime(a);
        b >>= 1;
    }
    return r;
}

__attribute__((constructor)) static void aes_tables_init(void)
{
    for (unsigned x = 0; x < 256; x++) {
        /* x^254 is the inverse (0 maps to 0). */
        uint8_t inv = 1, p = (uint8_t)x;
        for (unsigned e = 254; e; e >>= 1) {
            if (e & 1)
                inv = aes_mul(inv, p);
            p = aes_mul(p, p);
        }
        if (!x)
            inv = 0;
        uint8_t s = inv;
        for (unsigned i = 1; i < 5; i++)
            s ^= (uint8_t)(inv << i | inv >> (8 - i));
        s ^= 0x63;
        aes_sbox[x] = s;
        aes_inv_sbox[s] = (uint8_t)x;
    }
}

/* ShiftRows (row r rotated left by r) or its inverse, and SubBytes with
 * the matching S-box, in one pass. */
static void aes_shift_sub(x86_xmm *st, int inverse)
{
    x86_xmm t = *st;
    for (unsigned c = 0; c < 4; c++) {
        for (unsigned r = 0; r < 4; r++) {
            unsigned from = inverse ? (c + 4 - r) % 4 : (c + r) % 4;
            uint8_t b = t.u8[4 * from + r];
            st->u8[4 * c + r] = inverse ? aes_inv_sbox[b] : aes_sbox[b];
        }
    }
}

static void aes_mix_columns(x86_xmm *st, int inverse)
{
    static const uint8_t fwd[4] = {2, 3, 1, 1}, inv[4] = {14, 11, 13, 9};
    const uint8_t *m = inverse ? inv : fwd;
    for (unsigned c = 0; c < 4; c++) {
        uint8_t col[4];
        memcpy(col, &st->u8[4 * c], 4);
        for (unsigned r = 0; r < 4; r++) {
            uint8_t v = 0;
            for (unsigned k = 0; k < 4; k++)
                v ^= aes_mul(col[k], m[(k + 4 - r) % 4]);
            st->u8[4 * c + r] = v;
        }
    }
}

static void aes_add_key(x86_xmm *st, const x86_xmm *key)
{
    st->u64[0] ^= key->u64[0];
    st->u64[1] ^= key->u64[1];
}

/* d is the state, s the round key. */
void x86_pint_aesenc(x86_xmm *d, const x86_xmm *s, unsigned n, unsigned imm)
{
    (void)n, (void)imm;
    aes_shift_sub(d, 0);
    aes_mix_columns(d, 0);
    aes_add_key(d, s);
}

void x86_pint_aesenclast(x86_xmm *d, const x86_xmm *s, unsigned n, unsigned imm)
{
    (void)n, (void)imm;
    aes_shift_sub(d, 0);
    aes_add_key(d, s);
}

void x86_pint_aesdec(x86_xmm *d, const x86_xmm *s, unsigned n, unsigned imm)
{
    (void)n, (void)imm;
    aes_shift_sub(d, 1);
    aes_mix_columns(d, 1);
    aes_add_key(d, s);
}

void x86_pint_aesdeclast(x86_xmm *d, const x86_xmm *s, unsigned n, unsigned imm)
{
    (void)n, (void)imm;
    aes_shift_sub(d, 1);
    aes_add_key(d, s);
}

/* AESIMC: InvMixColumns of the source. */
void x86_pint_aesimc(x86_xmm *d, const x86_xmm *s, unsigned n, unsigned imm)
{
    (void)n, (void)imm;
    *d = *s;
    aes_mix_columns(d, 1);
}

static uint32_t aes_sub_word(uint32_t w)
{
    return (uint32_t)aes_sbox[w & 0xff] | (uint32_t)aes_sbox[w >> 8 & 0xff] << 8 |
           (uint32_t)aes_sbox[w >> 16 & 0xff] << 16 | (uint32_t)aes_sbox[w >> 24] << 24;
}

/* AESKEYGENASSIST: SubWord and RotWord of dwords 1 and 3 of the source,
 * with the round constant imm. */
void x86_pint_aeskeygenassist(x86_xmm *d, const x86_xmm *s, unsigned n, unsigned imm)
{
    (void)n;
    uint32_t x1 = aes_sub_word(s->u32[1]), x3 = aes_sub_word(s->u32[3]);
    d->u32[0] = x1;
    d->u32[1] = (x1 >> 8 | x1 << 24) ^ (imm & 0xff);
    d->u32[2] = x3;
    d->u32[3] = (x3 >> 8 | x3 << 24) ^ (imm & 0xff);
}
