/* SSE4.2 string and CRC instructions: PCMPESTRI, PCMPESTRM, PCMPISTRI,
 * PCMPISTRM (66 0F 3A 60-63) and CRC32 (F2 0F 38 F0/F1).
 *
 * PCMPxSTRx follow the SDM (Vol. 2B, 4.1 "Imm8 Control Byte Operation"):
 *
 *   imm8[1:0]  element format: unsigned bytes, unsigned words, signed
 *              bytes, signed words (16 or 8 elements);
 *   imm8[3:2]  aggregation: equal any, ranges, equal each, equal ordered;
 *   imm8[5:4]  polarity: positive, negative, masked positive, masked
 *              negative (only the elements valid in the second operand
 *              are inverted);
 *   imm8[6]    index of the least / most significant set bit (xSTRI), or
 *              a bit mask / element mask in XMM0 (xSTRM); imm8[7] is
 *              reserved and ignored.
 *
 * Elements at or past an operand's length are invalid; each aggregation
 * overrides the comparisons that involve invalid elements in its own way
 * (SDM 4.1.4), which is what lets strcmp and strstr work on
 * string fragments. Lengths are explicit (EAX/EDX, RAX/RDX with REX.W:
 * absolute values saturated to the element count) or implicit (the index
 * of the first null element).
 *
 * Flags: CF = result non-zero, ZF = the second operand is shorter than
 * the element count, SF = the same for the first operand, OF = result bit
 * 0, AF = PF = 0. The memory operand need not be aligned.
 */
#include <emmintrin.h> /* SSE2: the x86-64 baseline, so on every host */

#include "cpu/x86/flags.h"
#include "cpu/x86/insn.h"
#include "cpu/x86/operand.h"

#define PCMP_WORDS  0x01 /* imm8[0]: words, else bytes */
#define PCMP_SIGNED 0x02 /* imm8[1] */
#define PCMP_MSB    0x40 /* imm8[6]: most significant index / element mask */

enum pcmp_agg { PCMP_EQUAL_ANY, PCMP_RANGES, PCMP_EQUAL_EACH, PCMP_EQUAL_ORDERED };

/* Number of elements of the format. */
static unsigned pcmp_count(unsigned imm)
{
    return imm & PCMP_WORDS ? 8 : 16;
}

/* Element compare results (all-ones lanes) to a bit mask, bit j for
 * element j. */
static uint32_t pcmp_bits(__m128i m, bool words)
{
    if (words)
        m = _mm_packs_epi16(m, _mm_setzero_si128());
    return (uint32_t)_mm_movemask_epi8(m) & (words ? 0xffu : 0xffffu);
}

static __m128i pcmp_eq(__m128i x, __m128i y, bool words)
{
    return words ? _mm_cmpeq_epi16(x, y) : _mm_cmpeq_epi8(x, y);
}

static __m128i pcmp_gt(__m128i x, __m128i y, bool words)
{
    return words ? _mm_cmpgt_epi16(x, y) : _mm_cmpgt_epi8(x, y);
}

/* Element i of v broadcast to all lanes. */
static __m128i pcmp_splat(const x86_xmm *v, unsigned i, bool words)
{
    return words ? _mm_set1_epi16((short)v->u16[i]) : _mm_set1_epi8((char)v->u8[i]);
}

/* Explicit length: |v| saturated to n (no overflow for the most negative
 * value). */
static unsigned pcmp_explicit_len(int64_t v, unsigned n)
{
    if (v < 0)
        return v < -(int64_t)n ? n : (unsigned)-v;
    return v > (int64_t)n ? n : (unsigned)v;
}

/* Implicit length: the index of the first null element, or n. */
static unsigned pcmp_implicit_len(__m128i v, bool words, unsigned n)
{
    uint32_t z = pcmp_bits(pcmp_eq(v, _mm_setzero_si128(), words), words);
    return z ? (unsigned)__builtin_ctz(z) : n;
}

/* IntRes1: bit j for element j of the second operand b (xmm2/m128), a
 * being the first operand (xmm1: the character set, the ranges, or the
 * needle). Bit-parallel over b: one compare per element of a. */
static uint32_t pcmp_aggregate(const x86_xmm *av, unsigned la, const x86_xmm *bv, unsigned lb,
                               unsigned imm)
{
    bool words = imm & PCMP_WORDS;
    unsigned n = pcmp_count(imm);
    uint32_t all = (1u << n) - 1, vb = (1u << lb) - 1, va = (1u << la) - 1, r = 0;
    __m128i a = _mm_loadu_si128((const __m128i *)av), b = _mm_loadu_si128((const __m128i *)bv);

    switch ((imm >> 2) & 3) {
    case PCMP_EQUAL_ANY: /* invalid on either side: false */
        for (unsigned i = 0; i < la; i++)
            r |= pcmp_bits(pcmp_eq(b, pcmp_splat(av, i, words), words), words);
        return r & vb;
    case PCMP_RANGES: {
        /* a holds [low, high] pairs; an unpaired low never matches.
         * Unsigned order is signed order with the sign bits flipped. */
        __m128i bias = imm & PCMP_SIGNED ? _mm_setzero_si128()
                       : words           ? _mm_set1_epi16((short)0x8000)
                                         : _mm_set1_epi8((char)0x80);
        __m128i bb = _mm_xor_si128(b, bias);
        for (unsigned i = 0; i + 1 < la; i += 2) {
            __m128i lo = _mm_xor_si128(pcmp_splat(av, i, words), bias);
            __m128i hi = _mm_xor_si128(pcmp_splat(av, i + 1, words), bias);
            __m128i out = _mm_or_si128(pcmp_gt(lo, bb, words), pcmp_gt(bb, hi, words));
            r |= ~pcmp_bits(out, words) & all;
        }
        return r & vb;
    }
    case PCMP_EQUAL_EACH: /* both invalid: true, one invalid: false */
        return (pcmp_bits(pcmp_eq(a, b, words), words) & va & vb) | (all & ~va & ~vb);
    default:
        /* Equal ordered: a at position j of b. Past the end of a, or past
         * the end of the register, always matches; past the end of b
         * never. */
        r = all;
        for (unsigned i = 0; i < la; i++) {
            uint32_t eq = pcmp_bits(pcmp_eq(b, pcmp_splat(av, i, words), words), words) & vb;
            r &= (eq >> i) | (all & ~(all >> i));
        }
        return r;
    }
}

/* IntRes2 from IntRes1 by the polarity imm8[5:4]. */
static uint32_t pcmp_polarity(uint32_t r, unsigned lb, unsigned n, unsigned imm)
{
    switch ((imm >> 4) & 3) {
    case 1:
        return ~r & ((1u << n) - 1);
    case 3:
        return r ^ ((1u << lb) - 1);
    default:
        return r;
    }
}

/* Run the comparison: returns IntRes2, sets the flags. explicit: lengths
 * from rAX/rDX. */
static uint32_t pcmp_run(struct x86_cpu *cpu, const struct x86_insn *in, bool explicit)
{
    x86_xmm bv;
    if (in->flags & X86_I_MEM)
        x86_load_bytes(cpu, x86_ea(cpu, in), &bv, 16);
    else
        bv = cpu->xmm[in->rm];

    const x86_xmm *av = &cpu->xmm[in->reg];
    unsigned imm = (unsigned)in->imm & 0x7f, n = pcmp_count(imm), la, lb;
    bool words = imm & PCMP_WORDS;
    if (explicit) {
        bool w = in->flags & X86_I_REXW;
        int64_t ra = w ? (int64_t)cpu->gpr[X86_RAX] : (int32_t)cpu->gpr[X86_RAX];
        int64_t rd = w ? (int64_t)cpu->gpr[X86_RDX] : (int32_t)cpu->gpr[X86_RDX];
        la = pcmp_explicit_len(ra, n);
        lb = pcmp_explicit_len(rd, n);
    } else {
        la = pcmp_implicit_len(_mm_loadu_si128((const __m128i *)av), words, n);
        lb = pcmp_implicit_len(_mm_loadu_si128((const __m128i *)&bv), words, n);
    }

    uint32_t r2 = pcmp_polarity(pcmp_aggregate(av, la, &bv, lb, imm), lb, n, imm);
    uint64_t f = (r2 ? X86_FLAG_CF : 0) | (lb < n ? X86_FLAG_ZF : 0) | (la < n ? X86_FLAG_SF : 0) |
                 (r2 & 1 ? X86_FLAG_OF : 0);
    x86_flags_set(cpu, f);
    return r2;
}

/* xSTRI: the index into ECX (RCX with REX.W: the same value, zero-extended
 * either way), n when no bit is set. */
static void pcmp_index(struct x86_cpu *cpu, const struct x86_insn *in, uint32_t r)
{
    unsigned idx = pcmp_count((unsigned)in->imm);
    if (r)
        idx = in->imm & PCMP_MSB ? 31 - (unsigned)__builtin_clz(r) : (unsigned)__builtin_ctz(r);
    cpu->gpr[X86_RCX] = idx;
}

/* xSTRM: the bit mask zero-extended into XMM0, or expanded to elements. */
static void pcmp_mask(struct x86_cpu *cpu, const struct x86_insn *in, uint32_t r)
{
    x86_xmm m = {.u64 = {0, 0}};
    if (!(in->imm & PCMP_MSB)) {
        m.u32[0] = r;
    } else if (in->imm & PCMP_WORDS) {
        for (unsigned i = 0; i < 8; i++)
            m.u16[i] = (r >> i) & 1 ? 0xffff : 0;
    } else {
        for (unsigned i = 0; i < 16; i++)
            m.u8[i] = (r >> i) & 1 ? 0xff : 0;
    }
    cpu->xmm[0] = m;
}

/* 66 0F 3A 60 PCMPESTRM */
static void op_pcmpestrm(struct x86_cpu *cpu, const struct x86_insn *in)
{
    pcmp_mask(cpu, in, pcmp_run(cpu, in, true));
}

/* 66 0F 3A 61 PCMPESTRI */
static void op_pcmpestri(struct x86_cpu *cpu, const struct x86_insn *in)
{
    pcmp_index(cpu, in, pcmp_run(cpu, in, true));
}

/* 66 0F 3A 62 PCMPISTRM */
static void op_pcmpistrm(struct x86_cpu *cpu, const struct x86_insn *in)
{
    pcmp_mask(cpu, in, pcmp_run(cpu, in, false));
}

/* 66 0F 3A 63 PCMPISTRI */
static void op_pcmpistri(struct x86_cpu *cpu, const struct x86_insn *in)
{
    pcmp_index(cpu, in, pcmp_run(cpu, in, false));
}

/* --- CRC32 --- */

/* CRC-32C (Castagnoli), bit-reflected: polynomial 0x1EDC6F41 reversed.
 * The table is computed by the preprocessor, so it needs no set-up. */
#define CRC_POLY     0x82f63b78u
#define CRC_STEP(c)  (((c) >> 1) ^ (CRC_POLY & (0u - ((c)&1u))))
#define CRC_STEP2(c) CRC_STEP(CRC_STEP(c))
#define CRC_STEP8(c) CRC_STEP2(CRC_STEP2(CRC_STEP2(CRC_STEP2(c))))
#define CRC_E1(i)    CRC_STEP8((uint32_t)(i))
#define CRC_E4(i)    CRC_E1(i), CRC_E1((i) + 1), CRC_E1((i) + 2), CRC_E1((i) + 3)
#define CRC_E16(i)   CRC_E4(i), CRC_E4((i) + 4), CRC_E4((i) + 8), CRC_E4((i) + 12)
#define CRC_E64(i)   CRC_E16(i), CRC_E16((i) + 16), CRC_E16((i) + 32), CRC_E16((i) + 48)

static const uint32_t crc32c_table[256] = {CRC_E64(0), CRC_E64(64), CRC_E64(128), CRC_E64(192)};

/* The CRC of the low `bytes` bytes of v, least significant byte first (as
 * the instruction takes its source), continuing from crc. No pre- or
 * post-inversion: the instruction does neither. */
static uint32_t crc32c_update(uint32_t crc, uint64_t v, unsigned bytes)
{
    for (unsigned i = 0; i < bytes; i++, v >>= 8)
        crc = crc32c_table[(crc ^ v) & 0xff] ^ (crc >> 8);
    return crc;
}

/* F2 0F 38 F0 CRC32 r32/r64, r/m8; F2 0F 38 F1 CRC32 r32/r64, r/m16/32/64
 * (66: 16, REX.W: 64). The result is 32 bits, zero-extended into r64. */
static void op_crc32(struct x86_cpu *cpu, const struct x86_insn *in)
{
    unsigned ssz = in->opcode == 0xf0 ? 0 : in->osz;
    uint64_t v = x86_rm_read(cpu, in, ssz);
    uint32_t crc = (uint32_t)cpu->gpr[in->reg];
    cpu->gpr[in->reg] = crc32c_update(crc, v, 1u << ssz);
}

#define F38 X86_MAP_0F38
#define F3A X86_MAP_0F3A
#define PD  X86_PFX_66
#define SD  X86_PFX_F2
#define MA  X86_MOD_ANY

const struct x86_op_entry x86_ops_sse_str[] = {
    {F3A, 0x60, PD, -1, MA, op_pcmpestrm, "pcmpestrm"},
    {F3A, 0x61, PD, -1, MA, op_pcmpestri, "pcmpestri"},
    {F3A, 0x62, PD, -1, MA, op_pcmpistrm, "pcmpistrm"},
    {F3A, 0x63, PD, -1, MA, op_pcmpistri, "pcmpistri"},
    {F38, 0xf0, SD, -1, MA, op_crc32, "crc32"},
    {F38, 0xf1, SD, -1, MA, op_crc32, "crc32"},
    {0, 0, 0, 0, 0, NULL, NULL},
};
