/* cpudiff templates: MUL, IMUL (one, two and three operands), DIV, IDIV.
 * Divisions choose dividend and divisor so that some samples divide by
 * zero or overflow the quotient (#DE) and the rest divide normally. */
#include "gen.h"

enum { MD_ONE, MD_TWO, MD_THREE, MD_THREE8, MD_DIV };

static uint64_t mask_of(unsigned bits)
{
    return bits >= 64 ? ~0ULL : (1ULL << bits) - 1;
}

static void gen_mul(struct cd_gen *g, const struct cd_tmpl *t)
{
    unsigned osz = cd_osz(g, t->sizes);
    bool mem = cd_chance(g->r, 1, 2);
    switch (t->form) {
    case MD_ONE:
        cd_opcode(g, 0xf6 + (osz ? 1 : 0));
        cd_modrm_ext(g, t->ext);
        break;
    case MD_TWO:
        cd_opcode(g, 0x1af);
        cd_modrm_reg(g, cd_pick_reg(g, osz, 0));
        break;
    default:
        cd_opcode(g, t->form == MD_THREE ? 0x69 : 0x6b);
        cd_modrm_reg(g, cd_pick_reg(g, osz, 0));
        cd_imm(g, t->form == MD_THREE8 ? 1 : osz == 1 ? 2 : 4, cd_value(g->r));
    }
    cd_rm(g, osz, mem, 0, 0);
}

/* Dividend (2 * bits wide, as hi:lo) and divisor for a DIV/IDIV. */
static void div_operands(struct cd_rng *r, unsigned bits, bool sgn, uint64_t *hi, uint64_t *lo,
                         uint64_t *d)
{
    uint64_t m = mask_of(bits);
    unsigned __int128 n;
    unsigned kind = cd_below(r, 10);
    *d = cd_value(r) & m;
    if (kind == 0) { /* divide by zero */
        *d = 0;
        n = ((unsigned __int128)cd_value(r) << 64) | cd_value(r);
    } else if (kind == 1 && !sgn) { /* quotient overflow: high half >= divisor */
        if (!*d)
            *d = 1;
        uint64_t h = *d + (cd_rand(r) & m & (cd_chance(r, 1, 2) ? 0 : ~0ULL));
        if ((h & m) < *d)
            h = *d;
        n = ((unsigned __int128)h << bits) | (cd_value(r) & m);
    } else if (kind == 1) { /* signed overflow: MIN / -1, or a quotient just too large */
        if (cd_chance(r, 1, 2)) {
            *d = m;
            n = (unsigned __int128)1 << (2 * bits - 1);
        } else {
            *d = (cd_below(r, 100) + 2) & m;
            n = (unsigned __int128)((__int128)((unsigned __int128)1 << (bits - 1)) * (__int128)*d);
        }
    } else { /* a quotient that fits: q * d + rem */
        if (!*d)
            *d = (1 + cd_below(r, 1000)) & m; /* masked: 256 is 0 for an 8-bit divisor */
        if (!*d)
            *d = 1;
        uint64_t q = cd_value(r) & m;
        if (sgn) {
            __int128 sd = (__int128)((int64_t)(*d << (64 - bits)) >> (64 - bits));
            __int128 sq = (__int128)((int64_t)(q << (64 - bits)) >> (64 - bits));
            __int128 rem = sd > 0 ? (__int128)(cd_rand(r) % (uint64_t)sd)
                                  : -(__int128)(cd_rand(r) % (uint64_t)(-sd));
            if (sq < 0 && rem > 0)
                rem = -rem; /* the remainder takes the dividend's sign */
            n = (unsigned __int128)(sq * sd + rem);
        } else {
            n = (unsigned __int128)q * *d + cd_rand(r) % *d;
        }
    }
    *lo = (uint64_t)n & m;
    *hi = (uint64_t)(n >> bits) & m;
}

static void gen_div(struct cd_gen *g, const struct cd_tmpl *t)
{
    struct cd_rng *r = g->r;
    unsigned osz = cd_osz(g, t->sizes);
    unsigned bits = 8u << osz;
    uint64_t hi, lo, d;
    div_operands(r, bits, t->ext == 7, &hi, &lo, &d);
    uint64_t keep = osz == 3 ? 0 : cd_rand(r) & ~mask_of(osz ? bits : 16);
    if (osz == 0) {
        cd_req_reg(g, R_RAX, keep | hi << 8 | lo);
    } else {
        cd_req_reg(g, R_RAX, keep | lo);
        cd_req_reg(g, R_RDX, (osz == 3 ? 0 : cd_rand(r) & ~mask_of(bits)) | hi);
    }
    cd_opcode(g, 0xf6 + (osz ? 1 : 0));
    cd_modrm_ext(g, t->ext);
    if (cd_chance(r, 1, 2)) {
        unsigned reg = cd_pick_reg(g, osz, g->claimed);
        cd_rm_reg(g, reg);
        if (reg >= R_AH) /* CH, DH, BH: bits 8-15 of their register */
            cd_req_reg(g, reg - R_AH, (cd_rand(r) & ~0xff00ULL) | d << 8);
        else
            cd_req_reg(g, reg, (cd_rand(r) & ~mask_of(bits)) | d);
    } else {
        uint64_t a = cd_mem(g, 1u << osz, 0);
        cd_req_mem(g, a, &d, 1u << osz);
    }
}

const struct cd_tmpl cd_tmpl_muldiv[] = {
    {"mul", gen_mul, 0, 4, 0xf, MD_ONE, 0, 0, F_SF | F_ZF | F_AF | F_PF, F_CF | F_OF, 0},
    {"imul r/m", gen_mul, 0, 5, 0xf, MD_ONE, 0, 0, F_SF | F_ZF | F_AF | F_PF, F_CF | F_OF, 0},
    {"imul r,r/m", gen_mul, 0, 0, 0xe, MD_TWO, 0, 0, F_SF | F_ZF | F_AF | F_PF, F_CF | F_OF, 0},
    {"imul r,r/m,imm", gen_mul, 0, 0, 0xe, MD_THREE, 0, 0, F_SF | F_ZF | F_AF | F_PF, F_CF | F_OF,
     0},
    {"imul r,r/m,imm8", gen_mul, 0, 0, 0xe, MD_THREE8, 0, 0, F_SF | F_ZF | F_AF | F_PF, F_CF | F_OF,
     0},
    {"div", gen_div, 0, 6, 0xf, MD_DIV, 0, 0, F_ALL, 0, 0},
    {"idiv", gen_div, 0, 7, 0xf, MD_DIV, 0, 0, F_ALL, 0, 0},
    {0},
};
