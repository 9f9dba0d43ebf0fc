/* cpudiff templates: shifts and rotates (ROL ROR RCL RCR SHL SHR SAL SAR
 * by 1, CL and imm8) and SHLD/SHRD. Which flags are undefined depends on
 * the masked count, so the templates compute them per instance. */
#include "gen.h"

enum { SH_1, SH_CL, SH_IMM };

static unsigned pick_count(struct cd_rng *r, unsigned osz)
{
    unsigned bits = 8u << osz;
    static const unsigned edge[] = {0, 1, 2, 7, 8, 9, 15, 16, 17, 31, 32, 33, 63, 64, 65, 255};
    switch (cd_below(r, 4)) {
    case 0:
        return edge[cd_below(r, 16)];
    case 1:
        return bits - 1 + cd_below(r, 3);
    case 2:
        return 1 + cd_below(r, 4);
    default:
        return cd_below(r, 256);
    }
}

/* The SDM's flag rules for a group-2 shift or rotate by count. */
static void shift_flags(struct cd_gen *g, unsigned ext, unsigned osz, unsigned count)
{
    unsigned bits = 8u << osz;
    unsigned c = count & (osz == 3 ? 63 : 31);
    g->undef = 0;
    g->defines = 0;
    if (c == 0)
        return; /* a masked count of 0 changes no flag */
    switch (ext) {
    case 0: /* ROL, ROR: CF; OF only for a count of 1 */
    case 1:
        g->defines = F_CF | (c == 1 ? F_OF : 0);
        g->undef = c == 1 ? 0 : F_OF;
        break;
    case 2: /* RCL, RCR: the count is taken modulo size + 1 for CF */
    case 3: {
        unsigned tc = osz == 0 ? c % 9 : osz == 1 ? c % 17 : c;
        g->defines = (tc ? F_CF : 0) | (c == 1 ? F_OF : 0);
        g->undef = c == 1 ? 0 : F_OF;
        break;
    }
    default: /* SHL SHR SAL SAR: AF undefined, OF beyond 1, CF for SHL/SHR >= size */
        g->undef = F_AF | (c > 1 ? F_OF : 0);
        if (ext != 7 && c >= bits)
            g->undef |= F_CF;
        g->defines = (F_CF | F_OF | F_SF | F_ZF | F_PF) & ~g->undef;
    }
}

static unsigned shift_count(struct cd_gen *g, unsigned form, unsigned osz)
{
    unsigned count = form == SH_1 ? 1 : pick_count(g->r, osz);
    if (form == SH_CL)
        cd_req_reg(g, R_RCX, (cd_rand(g->r) & ~0xffULL) | count);
    return count;
}

static void gen_shift(struct cd_gen *g, const struct cd_tmpl *t)
{
    unsigned osz = cd_osz(g, t->sizes);
    unsigned count = shift_count(g, t->form, osz);
    static const unsigned opc[] = {0xd0, 0xd2, 0xc0};
    cd_opcode(g, opc[t->form] + (osz ? 1 : 0));
    cd_modrm_ext(g, t->ext);
    cd_rm(g, osz, cd_chance(g->r, 1, 2), 0, 0);
    if (t->form == SH_IMM)
        cd_imm(g, 1, count);
    shift_flags(g, t->ext, osz, count);
}

/* SHLD/SHRD: op is the imm8 form (0F A4 / 0F AC), +1 the CL form. */
static void gen_shxd(struct cd_gen *g, const struct cd_tmpl *t)
{
    unsigned osz = cd_osz(g, t->sizes);
    unsigned count = pick_count(g->r, osz);
    if (osz == 1 && (count & 31) > 16)
        count &= 15; /* above 16 the 16-bit result is undefined */
    if (t->form == SH_CL)
        cd_req_reg(g, R_RCX, (cd_rand(g->r) & ~0xffULL) | count);
    cd_opcode(g, t->op + (t->form == SH_CL ? 1 : 0));
    cd_modrm_reg(g, cd_pick_reg(g, osz, 0));
    cd_rm(g, osz, cd_chance(g->r, 1, 2), 0, 0);
    if (t->form == SH_IMM)
        cd_imm(g, 1, count);
    unsigned c = count & (osz == 3 ? 63 : 31);
    g->undef = c ? F_AF | (c > 1 ? F_OF : 0) : 0;
    g->defines = c ? (F_CF | F_SF | F_ZF | F_PF | F_OF) & ~g->undef : 0;
}

#define SHIFT(name, ext, reads)                                                                    \
    {name " 1", gen_shift, 0, ext, 0xf, SH_1, 0, 0, F_AF | F_OF, F_CF, reads},                     \
        {name " cl", gen_shift, 0, ext, 0xf, SH_CL, 0, 0, F_AF | F_OF, F_CF, reads},               \
    {                                                                                              \
        name " imm", gen_shift, 0, ext, 0xf, SH_IMM, 0, 0, F_AF | F_OF, F_CF, reads                \
    }

const struct cd_tmpl cd_tmpl_shift[] = {
    SHIFT("rol", 0, 0),
    SHIFT("ror", 1, 0),
    SHIFT("rcl", 2, F_CF),
    SHIFT("rcr", 3, F_CF),
    SHIFT("shl", 4, 0),
    SHIFT("shr", 5, 0),
    SHIFT("sal(/6)", 6, 0),
    SHIFT("sar", 7, 0),
    {"shld imm", gen_shxd, 0x1a4, 0, 0xe, SH_IMM, 0, 0, 0, 0, 0},
    {"shld cl", gen_shxd, 0x1a4, 0, 0xe, SH_CL, 0, 0, 0, 0, 0},
    {"shrd imm", gen_shxd, 0x1ac, 0, 0xe, SH_IMM, 0, 0, 0, 0, 0},
    {"shrd cl", gen_shxd, 0x1ac, 0, 0xe, SH_CL, 0, 0, 0, 0, 0},
    {0},
};
