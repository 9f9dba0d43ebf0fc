/* cpudiff templates: the SSE4.2 string compares (PCMPESTRI/M,
 * PCMPISTRI/M) with random control bytes (every element format,
 * aggregation, polarity and output selection) over structured strings:
 * a small alphabet so that elements match and ranges hold, NULs (the
 * implicit-length terminator) anywhere, explicit lengths from -18 to 17
 * and beyond (they saturate), with 32-bit lengths whose upper register
 * halves must be ignored and 64-bit ones (REX.W); and CRC32 with 8, 16,
 * 32 and 64-bit sources (66 and F2 in either order). */
#include <string.h>

#include "gen.h"

/* Elements: NUL, letters that repeat, the signed/unsigned edges. */
static unsigned element(struct cd_rng *r, bool word)
{
    static const uint16_t alpha[] = {0, 'a', 'b', 'c', 'z', 'A', 0x7f, 0x80, 0xff};
    unsigned k = cd_below(r, 12);
    if (k < 9) {
        unsigned v = alpha[k];
        if (word && v >= 0x7f && cd_chance(r, 1, 2))
            v = v << 8 | v; /* 0x7f7f, 0x8080, 0xffff */
        return v;
    }
    return (unsigned)cd_rand(r) & (word ? 0xffff : 0xff);
}

static void string16(struct cd_rng *r, bool word, uint8_t out[16])
{
    unsigned n = word ? 8 : 16;
    for (unsigned i = 0; i < n; i++) {
        unsigned v = element(r, word);
        if (v == 0 && cd_chance(r, 2, 3))
            v = 'b'; /* NULs from the alphabet: rarer than the explicit one below */
        if (word) {
            out[2 * i] = (uint8_t)v;
            out[2 * i + 1] = (uint8_t)(v >> 8);
        } else {
            out[i] = (uint8_t)v;
        }
    }
    if (cd_chance(r, 2, 3)) { /* a terminator at 0..n-1 */
        unsigned at = cd_below(r, n);
        out[word ? 2 * at : at] = 0;
        if (word)
            out[2 * at + 1] = 0;
    }
}

/* An explicit length: the interesting range, the saturation limits, and
 * garbage in the upper half of a 32-bit one. */
static uint64_t length(struct cd_rng *r, bool w64)
{
    static const int64_t big[] = {0x7fffffff, -0x7fffffff - 1, 0x80000000LL, -0x80000001LL,
                                  INT64_MAX,  INT64_MIN,       1LL << 40,    -(1LL << 40)};
    int64_t v;
    unsigned k = cd_below(r, 10);
    if (k < 6)
        v = (int)cd_below(r, 36) - 18;
    else if (k < 8)
        v = cd_chance(r, 1, 2) ? 8 : 16;
    else
        v = big[cd_below(r, 8)];
    uint64_t u = (uint64_t)v;
    if (!w64)
        u = (cd_rand(r) & ~0xffffffffULL) | (uint32_t)u;
    return u;
}

static void gen_pcmpstr(struct cd_gen *g, const struct cd_tmpl *t)
{
    struct cd_rng *r = g->r;
    bool expl = !(t->op & 2); /* 60/61 explicit, 62/63 implicit lengths */
    uint8_t imm = (uint8_t)cd_rand(r);
    bool word = imm & 1;
    cd_prefix(g, 0x66);
    g->e.w = cd_chance(r, 1, 3);
    cd_opcode(g, t->op);
    if (expl) {
        cd_req_reg(g, R_RAX, length(r, g->e.w));
        cd_req_reg(g, R_RDX, length(r, g->e.w));
    }
    uint8_t a[16], b[16];
    string16(r, word, a);
    string16(r, word, b);
    unsigned x = cd_below(r, 16);
    g->e.has_modrm = true;
    g->e.reg = (uint8_t)(x & 7);
    g->e.rexr = (uint8_t)(x >> 3);
    cd_req_xmm(g, x, a);
    if (cd_chance(r, 1, 2)) {
        uint64_t addr = cd_mem(g, 16, 0); /* no alignment required */
        cd_req_mem(g, addr, b, 16);
    } else {
        unsigned y = cd_below(r, 16);
        g->e.mod = 3;
        g->e.rm = (uint8_t)(y & 7);
        g->e.rexb = (uint8_t)(y >> 3);
        if (y != x)
            cd_req_xmm(g, y, b);
    }
    cd_imm(g, 1, imm);
}

/* CRC32 r32/r64, r/m8/16/32/64 (F2 0F 38 F0/F1). Byte sources without
 * REX reach AH-BH; with REX, SPL-DIL. */
static void gen_crc32(struct cd_gen *g, const struct cd_tmpl *t)
{
    struct cd_rng *r = g->r;
    unsigned osz = t->sizes; /* log2 bytes of the source */
    bool legacy = osz == 0 && cd_chance(r, 1, 2);
    if (osz == 1 && cd_chance(r, 1, 2)) {
        cd_prefix(g, 0xf2);
        cd_prefix(g, 0x66);
    } else {
        if (osz == 1)
            cd_prefix(g, 0x66);
        cd_prefix(g, 0xf2);
    }
    g->e.no_rex = legacy;
    if (osz == 3 || (osz == 0 && !legacy && cd_chance(r, 1, 3)))
        g->e.w = true; /* r64, r/m8 (F0) or r64, r/m64 (F1) */
    if (osz == 0 && !legacy)
        g->e.force_rex = true;
    cd_opcode(g, t->op);
    unsigned d = cd_below(r, legacy ? 8 : 16);
    g->e.has_modrm = true;
    g->e.reg = (uint8_t)(d & 7);
    g->e.rexr = (uint8_t)(d >> 3);
    if (cd_chance(r, 1, 2)) {
        cd_mem(g, 1u << osz, 0);
    } else {
        unsigned s = cd_below(r, legacy ? 8 : 16);
        g->e.mod = 3;
        g->e.rm = (uint8_t)(s & 7);
        g->e.rexb = (uint8_t)(s >> 3);
    }
}

#define PCMP(name, op)                                                                             \
    {                                                                                              \
        name, gen_pcmpstr, op, 0, 16, 0, CD_FEAT_SSE42, 0, 0, F_ALL, 0                             \
    }
#define CRC(name, op, osz)                                                                         \
    {                                                                                              \
        name, gen_crc32, op, 0, osz, 0, CD_FEAT_SSE42, 0, 0, 0, 0                                  \
    }

const struct cd_tmpl cd_tmpl_sse_str[] = {
    PCMP("pcmpestrm", 0x360),     PCMP("pcmpestri", 0x361),     PCMP("pcmpistrm", 0x362),
    PCMP("pcmpistri", 0x363),     CRC("crc32 r/m8", 0x2f0, 0),  CRC("crc32 r/m16", 0x2f1, 1),
    CRC("crc32 r/m32", 0x2f1, 2), CRC("crc32 r/m64", 0x2f1, 3), {0},
};
