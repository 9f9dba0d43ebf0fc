/* cpudiff: x87, MMX and SSE values and state, and the generic SSE/MMX
 * template generator (see gen.h).
 *
 * Floating-point results are compared bit for bit, so the inputs are
 * chosen where implementations go wrong: signed zeros, denormals (with
 * DAZ/FTZ), infinities, NaNs of both kinds with payloads (which one a
 * two-NaN operation returns, quieting), values next to the overflow and
 * underflow thresholds, halves (rounding modes), the limits of the integer
 * conversions, and for the x87 the encodings it no longer supports
 * (unnormals, pseudo-NaNs). Control words are random, exception masks
 * included: an unmasked exception must fault without writing anything.
 */
#include <string.h>

#include "gen.h"

static uint32_t f32_bits(float f)
{
    uint32_t v;
    memcpy(&v, &f, 4);
    return v;
}

static uint64_t f64_bits(double d)
{
    uint64_t v;
    memcpy(&v, &d, 8);
    return v;
}

/* Small numbers with a fraction, in both directions: n + k/4. */
static double halves(struct cd_rng *r)
{
    return (int)cd_below(r, 21) - 10 + (double)cd_below(r, 4) / 4;
}

/* Powers of two the integer conversions and the x87 integer stores turn
 * on. */
static double int_limit(struct cd_rng *r)
{
    static const unsigned exps[] = {7, 8, 15, 16, 31, 32, 63, 64};
    unsigned e = exps[cd_below(r, 8)];
    return e == 64 ? 18446744073709551616.0 : (double)(1ULL << e);
}

uint32_t cd_f32(struct cd_rng *r)
{
    uint32_t sign = (uint32_t)(cd_rand(r) & 1) << 31;
    uint32_t m = (uint32_t)cd_rand(r) & 0x7fffff;
    switch (cd_below(r, 16)) {
    case 0:
        return sign;
    case 1: /* denormal */
        return sign | (m ? m : 1);
    case 2:
        return sign | 0x7f800000;
    case 3: /* QNaN with a payload */
        return sign | 0x7fc00000 | (cd_chance(r, 1, 2) ? m : 0);
    case 4: /* SNaN */
        return sign | 0x7f800000 | ((m & 0x3fffff) ? m & 0x3fffff : 1);
    case 5: /* next to the largest finite */
        return sign | (0x7f7fffff - cd_below(r, 3));
    case 6: /* next to the smallest normal */
        return sign | (0x00800000 + cd_below(r, 3) - 1);
    case 7:
        return f32_bits((float)((int)cd_below(r, 201) - 100));
    case 8:
        return f32_bits((float)halves(r));
    case 9: { /* an integer conversion limit, a few ulps off */
        uint32_t v = f32_bits((float)int_limit(r)) + cd_below(r, 5) - 2;
        return sign | v;
    }
    case 10:
    case 11: /* ordinary numbers */
        return sign | (uint32_t)(127 - 30 + cd_below(r, 61)) << 23 | m;
    case 12: /* tiny or huge: products and quotients over/underflow */
        return sign |
               (uint32_t)(cd_chance(r, 1, 2) ? 1 + cd_below(r, 24) : 230 + cd_below(r, 25)) << 23 |
               m;
    default:
        return (uint32_t)cd_rand(r);
    }
}

uint64_t cd_f64(struct cd_rng *r)
{
    uint64_t sign = (cd_rand(r) & 1) << 63;
    uint64_t m = cd_rand(r) & 0xfffffffffffffULL;
    switch (cd_below(r, 16)) {
    case 0:
        return sign;
    case 1:
        return sign | (m ? m : 1);
    case 2:
        return sign | 0x7ff0000000000000ULL;
    case 3:
        return sign | 0x7ff8000000000000ULL | (cd_chance(r, 1, 2) ? m : 0);
    case 4: {
        uint64_t p = m & 0x7ffffffffffffULL;
        return sign | 0x7ff0000000000000ULL | (p ? p : 1);
    }
    case 5:
        return sign | (0x7fefffffffffffffULL - cd_below(r, 3));
    case 6:
        return sign | (0x0010000000000000ULL + cd_below(r, 3) - 1);
    case 7:
        return f64_bits((double)((int)cd_below(r, 201) - 100));
    case 8:
        return f64_bits(halves(r));
    case 9:
        return sign | (f64_bits(int_limit(r)) + cd_below(r, 5) - 2);
    case 10:
        return sign | (uint64_t)(1023 - 60 + cd_below(r, 121)) << 52 | m;
    case 11: /* a float widened: conversions back to float are exact */
        return f64_bits((double)({
            uint32_t b = cd_f32(r);
            float f;
            memcpy(&f, &b, 4);
            f;
        }));
    case 12:
        return sign |
               (uint64_t)(cd_chance(r, 1, 2) ? 1 + cd_below(r, 53) : 1990 + cd_below(r, 57)) << 52 |
               m;
    default:
        return cd_rand(r);
    }
}

static void put_f80(uint8_t out[10], uint64_t mant, unsigned sign_exp)
{
    memcpy(out, &mant, 8);
    out[8] = (uint8_t)sign_exp;
    out[9] = (uint8_t)(sign_exp >> 8);
}

static void ld_f80(uint8_t out[10], long double v)
{
    memcpy(out, &v, 10);
}

void cd_f80(struct cd_rng *r, uint8_t out[10])
{
    unsigned sign = (unsigned)(cd_rand(r) & 1) << 15;
    uint64_t m = cd_rand(r);
    const uint64_t J = 1ULL << 63;
    switch (cd_below(r, 20)) {
    case 0:
        put_f80(out, 0, sign);
        return;
    case 1: /* denormal */
        put_f80(out, (m & ~J) ? m & ~J : 1, sign);
        return;
    case 2:
        put_f80(out, J, sign | 0x7fff);
        return;
    case 3: /* QNaN (the indefinite now and then) */
        put_f80(out, cd_chance(r, 1, 3) ? 3ULL << 62 : m | 3ULL << 62, sign | 0x7fff);
        return;
    case 4: { /* SNaN */
        uint64_t p = m & ((1ULL << 62) - 1);
        put_f80(out, J | (p ? p : 1), sign | 0x7fff);
        return;
    }
    case 5:
        put_f80(out, ~0ULL - cd_below(r, 3), sign | 0x7ffe);
        return;
    case 6: /* smallest normals */
        put_f80(out, J | (cd_chance(r, 1, 2) ? 0 : m), sign | 1);
        return;
    case 7:
        ld_f80(out, (long double)((int)cd_below(r, 201) - 100));
        return;
    case 8:
        ld_f80(out, (long double)halves(r));
        return;
    case 9: { /* integer limits, a few ulps off */
        long double v = (long double)int_limit(r);
        ld_f80(out, v);
        uint64_t mm;
        memcpy(&mm, out, 8);
        mm += cd_below(r, 5) - 2;
        if (!(mm & J))
            mm = J;
        put_f80(out, mm, (unsigned)(out[8] | out[9] << 8) | sign);
        return;
    }
    case 10: { /* exactly a float or a double: stores may be exact */
        uint32_t b = cd_f32(r);
        float f;
        memcpy(&f, &b, 4);
        ld_f80(out, (long double)f);
        return;
    }
    case 11: {
        uint64_t b = cd_f64(r);
        double d;
        memcpy(&d, &b, 8);
        ld_f80(out, (long double)d);
        return;
    }
    case 12:
    case 13:
        put_f80(out, m | J, sign | (0x3fff - 70 + cd_below(r, 141)));
        return;
    case 14: { /* multiples of pi/4 (FPREM, the trigonometric ones) */
        long double v = 0.785398163397448309615660845819875721L * ((int)cd_below(r, 41) - 20);
        ld_f80(out, v);
        if (cd_chance(r, 1, 2)) {
            uint64_t mm;
            memcpy(&mm, out, 8);
            mm ^= cd_below(r, 4);
            memcpy(out, &mm, 8);
        }
        return;
    }
    case 15: /* near and beyond 2^63: FSIN and friends give up */
        put_f80(out, m | J, sign | (0x3fff + 60 + cd_below(r, 6)));
        return;
    case 16: { /* scale factors: FSCALE over- and underflows */
        static const int k[] = {1, 2, 10, 64, 1000, 16383, 16384, 16446, 20000, 70000};
        ld_f80(out, (long double)k[cd_below(r, 10)] * (sign ? -1 : 1));
        return;
    }
    case 17: /* unsupported encodings: unnormal, pseudo-denormal, pseudo-NaN/inf */
        switch (cd_below(r, 3)) {
        case 0:
            put_f80(out, m & ~J, sign | (1 + cd_below(r, 0x7ffe)));
            return;
        case 1:
            put_f80(out, m | J, sign);
            return;
        default:
            put_f80(out, m & ~J, sign | 0x7fff);
            return;
        }
    default:
        put_f80(out, m | J, sign | cd_below(r, 0x7fff));
        return;
    }
}

uint64_t cd_lane(struct cd_rng *r, unsigned bits)
{
    uint64_t mask = bits == 64 ? ~0ULL : (1ULL << bits) - 1;
    uint64_t smin = 1ULL << (bits - 1);
    /* The saturation edges of the pack instructions and byte/word limits. */
    static const uint64_t edge[] = {0x7f, 0x80, 0xff, 0x100, 0x7fff, 0x8000, 0xffff, 0x10000};
    uint64_t v;
    switch (cd_below(r, 12)) {
    case 0:
        v = 0;
        break;
    case 1:
        v = 1;
        break;
    case 2:
        v = ~0ULL;
        break;
    case 3:
        v = smin;
        break;
    case 4:
        v = smin - 1;
        break;
    case 5:
        v = cd_chance(r, 1, 2) ? smin + 1 : smin - 2;
        break;
    case 6:
        v = cd_below(r, 17);
        break;
    case 7:
        v = -(uint64_t)cd_below(r, 17);
        break;
    case 8:
        v = edge[cd_below(r, 8)] + cd_below(r, 3) - 1;
        if (cd_chance(r, 1, 2))
            v = -v;
        break;
    case 9:
        v = 1ULL << cd_below(r, bits);
        break;
    default:
        v = cd_rand(r);
    }
    return v & mask;
}

static void fill_lanes(struct cd_rng *r, unsigned vk, uint8_t *dst, unsigned len)
{
    unsigned w = vk == CD_V_F32 || vk == CD_V_I32 ? 4 : vk == CD_V_I16 ? 2 : vk == CD_V_I8 ? 1 : 8;
    unsigned i = 0;
    for (; i + w <= len; i += w) {
        uint64_t v;
        if (vk == CD_V_F32)
            v = cd_f32(r);
        else if (vk == CD_V_F64)
            v = cd_f64(r);
        else
            v = cd_lane(r, 8 * w);
        memcpy(dst + i, &v, w);
    }
    for (; i < len; i++)
        dst[i] = (uint8_t)cd_rand(r);
}

uint32_t cd_mxcsr(struct cd_rng *r)
{
    uint32_t v = (uint32_t)cd_below(r, 4) << 13; /* rounding */
    if (cd_chance(r, 1, 4))
        v |= 1u << 6; /* DAZ */
    if (cd_chance(r, 1, 4))
        v |= 1u << 15; /* FTZ */
    if (cd_chance(r, 3, 5))
        v |= 0x3fu << 7;
    else
        for (unsigned i = 0; i < 6; i++)
            if (!cd_chance(r, 1, 3))
                v |= 1u << (7 + i);
    if (cd_chance(r, 1, 2))
        v |= (uint32_t)cd_rand(r) & 0x3f;
    /* Bit 17 (AMD's misaligned-SSE mask, MXCSR_MASK 0x2ffff here) is left
     * out: the emulated CPU does not have it. */
    return v;
}

uint16_t cd_fcw(struct cd_rng *r)
{
    static const uint16_t pc[] = {3, 3, 3, 2, 2, 0};
    uint16_t v = (uint16_t)(0x40 | pc[cd_below(r, 6)] << 8 | cd_below(r, 4) << 10);
    if (cd_chance(r, 1, 2))
        v |= 1u << 12; /* IC: kept, ignored */
    if (cd_chance(r, 7, 10))
        v |= 0x3f;
    else
        for (unsigned i = 0; i < 6; i++)
            if (!cd_chance(r, 1, 3))
                v |= (uint16_t)(1u << i);
    return v;
}

uint16_t cd_fsw(struct cd_rng *r, uint16_t fcw, bool loose)
{
    uint16_t v = (uint16_t)(cd_rand(r) & (CD_FSW_C0 | CD_FSW_C1 | CD_FSW_C2 | CD_FSW_C3));
    v |= (uint16_t)(cd_below(r, 8) << 11);
    uint16_t flags = (uint16_t)(cd_rand(r) & cd_rand(r) & fcw & 0x3f);
    if (loose || cd_chance(r, 1, 12))
        flags |= (uint16_t)(1u << cd_below(r, 6)); /* maybe unmasked: pending */
    if ((flags & 1) && cd_chance(r, 1, 2))
        flags |= 1u << 6; /* SF with IE */
    v |= flags;
    bool es = flags & ~fcw & 0x3f;
    if (loose && cd_chance(r, 1, 2))
        es = cd_chance(r, 1, 2);
    if (es)
        v |= CD_FSW_ES | CD_FSW_B;
    return v;
}

void cd_fill(struct cd_rng *r, unsigned vk, uint8_t *dst, unsigned len)
{
    static const uint8_t mix[] = {CD_V_F32, CD_V_F64, CD_V_I8,  CD_V_I16,
                                  CD_V_I32, CD_V_I64, CD_V_BITS};
    if (vk == CD_V_MIX)
        vk = mix[cd_below(r, sizeof(mix))];
    switch (vk) {
    case CD_V_COUNT:
        for (unsigned i = 0; i < len; i++)
            dst[i] = (uint8_t)cd_rand(r);
        if (len >= 8) {
            uint64_t c = cd_chance(r, 3, 4) ? cd_below(r, 70) : cd_lane(r, 64);
            memcpy(dst, &c, 8);
        }
        return;
    case CD_V_MXCSR: {
        uint32_t v = cd_mxcsr(r);
        if (cd_chance(r, 1, 16))
            v |= 1u << (18 + cd_below(r, 14)); /* reserved: #GP */
        memcpy(dst, &v, len < 4 ? len : 4);
        return;
    }
    case CD_V_BITS:
        for (unsigned i = 0; i < len; i++)
            dst[i] = (uint8_t)cd_rand(r);
        return;
    default:
        fill_lanes(r, vk, dst, len);
    }
}

void cd_fp_state(struct cd_rng *r, struct cd_fxsave *fx)
{
    memset(fx, 0, sizeof(*fx));
    fx->fcw = cd_fcw(r);
    fx->mxcsr = cd_mxcsr(r);
    unsigned top = cd_below(r, 8);
    uint8_t ftw = 0;
    bool mmx = cd_chance(r, 1, 8);
    if (mmx) { /* as MMX code leaves it: TOP 0, all valid, exponents all-ones */
        top = 0;
        ftw = 0xff;
    } else if (cd_chance(r, 1, 10)) {
        ftw = (uint8_t)cd_rand(r);
    } else {
        /* n values pushed: empty and full stacks (underflow, overflow) too */
        unsigned n = cd_chance(r, 1, 8) ? (cd_chance(r, 1, 2) ? 0 : 8) : 1 + cd_below(r, 7);
        for (unsigned i = 0; i < n; i++)
            ftw |= (uint8_t)(1u << ((top + i) & 7));
    }
    for (unsigned i = 0; i < 8; i++) {
        if (mmx) {
            cd_fill(r, CD_V_MIX, fx->st[i], 8);
            fx->st[i][8] = fx->st[i][9] = 0xff;
        } else {
            cd_f80(r, fx->st[i]);
        }
    }
    fx->ftw = ftw;
    fx->fsw = (uint16_t)((cd_fsw(r, fx->fcw, false) & ~0x3800u) | top << 11);
    static const uint8_t kinds[] = {CD_V_F32, CD_V_F32, CD_V_F64, CD_V_F64, CD_V_MIX};
    for (unsigned i = 0; i < 16; i++)
        cd_fill(r, kinds[cd_below(r, sizeof(kinds))], fx->xmm[i], 16);
}

uint8_t cd_imm8(struct cd_rng *r)
{
    static const uint8_t edge[] = {7, 8, 15, 16, 17, 31, 32, 33, 63, 64, 65, 127, 128, 255};
    switch (cd_below(r, 3)) {
    case 0:
        return (uint8_t)cd_below(r, 16);
    case 1:
        return edge[cd_below(r, sizeof(edge))];
    default:
        return (uint8_t)cd_rand(r);
    }
}

/* ---- the generic SSE/MMX template ---------------------------------------- */

static const uint8_t mandatory[4] = {0, 0x66, 0xf3, 0xf2};

/* A vector register operand: reg or rm field. MMX registers ignore REX.R
 * and REX.B, so those are set now and then. */
static unsigned vec_reg(struct cd_gen *g, unsigned kind, uint8_t *field, uint8_t *rex)
{
    unsigned n = cd_below(g->r, kind == CD_K_XMM ? 16 : 8);
    *field = (uint8_t)(n & 7);
    *rex = (uint8_t)(n >> 3);
    if (kind == CD_K_MM && cd_chance(g->r, 1, 8))
        *rex = 1;
    return n;
}

static void vec_value(struct cd_gen *g, unsigned kind, unsigned n, unsigned vk)
{
    uint8_t b[16];
    cd_fill(g->r, vk, b, 16);
    if (kind == CD_K_XMM)
        cd_req_xmm(g, n, b);
    else if (kind == CD_K_MM) {
        uint64_t v;
        memcpy(&v, b, 8);
        cd_req_mm(g, n, v);
    }
}

void cd_gen_sse(struct cd_gen *g, const struct cd_tmpl *t)
{
    struct cd_rng *r = g->r;
    unsigned pfx = t->ext & 3;
    unsigned rk = t->form & 15, mk = t->form >> 4;
    unsigned svk = t->tflags >> 8 & 15, dvk = t->tflags >> 12 & 15;
    if (!dvk)
        dvk = svk;
    if (pfx >= CD_P_F3 && cd_chance(r, 1, 16))
        cd_prefix(g, 0x66); /* F2/F3 win over 66 */
    if (pfx)
        cd_prefix(g, mandatory[pfx]);
    if (t->tflags & CD_T_W)
        g->e.w = cd_chance(r, 1, 2);
    else if (!(t->tflags & CD_T_NOW) && cd_chance(r, 1, 8))
        g->e.w = true;
    if (cd_chance(r, 1, 16))
        g->e.force_rex = true;
    cd_opcode(g, t->op);
    g->e.has_modrm = true;
    unsigned gsz = g->e.w ? 3 : 2;
    /* ModRM.reg */
    if (t->ext & 0x20) {
        cd_modrm_ext(g, t->ext >> 2 & 7);
    } else if (rk == CD_K_GPR) {
        cd_modrm_reg(g, cd_pick_reg(g, gsz, 0));
    } else {
        unsigned n = vec_reg(g, rk, &g->e.reg, &g->e.rexr);
        vec_value(g, rk, n, dvk);
    }
    /* ModRM.rm */
    bool mem =
        (t->tflags & CD_T_MEM) || mk == CD_K_MEM || (!(t->tflags & CD_T_REG) && cd_chance(r, 1, 2));
    if (mem) {
        unsigned size = t->sizes ? t->sizes : g->e.w ? 8 : 4;
        bool align = (t->tflags & CD_T_A16) && cd_chance(r, 5, 6);
        uint64_t a = cd_pick_addr(g, size, align ? CD_M_ALIGN : 0);
        if ((t->tflags & CD_T_A16) && !align && cd_chance(r, 3, 4))
            a |= 1u << cd_below(r, 4); /* misaligned: #GP(0) */
        cd_mem_at(g, a, 0);
        uint8_t b[16];
        cd_fill(r, svk, b, size < 16 ? size : 16);
        cd_req_mem(g, a, b, size < 16 ? size : 16);
    } else if (mk == CD_K_GPR) {
        cd_rm_reg(g, cd_pick_reg(g, gsz, g->claimed));
    } else {
        g->e.mod = 3;
        unsigned n = vec_reg(g, mk, &g->e.rm, &g->e.rexb);
        vec_value(g, mk, n, svk);
    }
    if (t->tflags & CD_T_IB)
        cd_imm(g, 1, cd_imm8(r));
}
