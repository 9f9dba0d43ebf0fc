/* cpudiff templates: data movement. MOV in all forms (moffs included),
 * MOVZX MOVSX MOVSXD, LEA, XCHG, CMPXCHG, XADD, CMPXCHG8B/16B, CBW/CWD
 * and their wider forms, SETcc, CMOVcc, XLAT. */
#include "gen.h"

enum {
    MV_RM_R,
    MV_R_RM,
    MV_RM_I,
    MV_R_I,
    MV_MOFFS,
    MV_EXT8,
    MV_EXT16,
    MV_SXD,
    MV_LEA,
    MV_XCHG,
    MV_XCHG_A,
    MV_CMPXCHG,
    MV_XADD,
    MV_CX8,
    MV_CONV,
    MV_SETCC,
    MV_CMOV,
    MV_XLAT,
};

static uint64_t mask_of(unsigned bits)
{
    return bits >= 64 ? ~0ULL : (1ULL << bits) - 1;
}

/* Require register `reg` (AH..BH included) to hold v at size osz, keeping
 * random bits elsewhere. */
static void req_sized(struct cd_gen *g, unsigned reg, unsigned osz, uint64_t v)
{
    uint64_t m = mask_of(8u << osz);
    if (reg >= R_AH)
        cd_req_reg(g, reg - R_AH, (cd_rand(g->r) & ~0xff00ULL) | (v & 0xff) << 8);
    else
        cd_req_reg(g, reg, (cd_rand(g->r) & ~m) | (v & m));
}

static void gen_mov(struct cd_gen *g, const struct cd_tmpl *t)
{
    struct cd_rng *r = g->r;
    unsigned osz = cd_osz(g, t->sizes);
    unsigned w = osz ? 1 : 0;
    bool mem = cd_chance(r, 1, 2);
    switch (t->form) {
    case MV_RM_R:
    case MV_R_RM:
        cd_opcode(g, (t->form == MV_RM_R ? 0x88 : 0x8a) + w);
        cd_modrm_reg(g, cd_pick_reg(g, osz, 0));
        cd_rm(g, osz, mem, 0, 0);
        break;
    case MV_RM_I:
        cd_opcode(g, 0xc6 + w);
        cd_modrm_ext(g, 0);
        cd_rm(g, osz, mem, 0, 0);
        cd_imm(g, osz == 0 ? 1 : osz == 1 ? 2 : 4, cd_value(r));
        break;
    case MV_R_I:
        cd_opcode(g, osz ? 0xb8 : 0xb0);
        cd_opreg(g, cd_pick_reg(g, osz, 0));
        cd_imm(g, 1u << osz > 4 ? 8 : 1u << osz, cd_value(r));
        break;
    case MV_MOFFS: { /* A0-A3: the accumulator and an absolute address */
        bool a32 = cd_chance(r, 1, 4);
        if (a32)
            cd_prefix(g, 0x67);
        cd_opcode(g, t->op + w);
        cd_imm(g, a32 ? 4 : 8, cd_pick_addr(g, 1u << osz, 0));
        break;
    }
    }
}

/* MOVZX/MOVSX from 8 or 16 bits, MOVSXD. */
static void gen_ext(struct cd_gen *g, const struct cd_tmpl *t)
{
    struct cd_rng *r = g->r;
    unsigned osz = cd_osz(g, t->sizes);
    unsigned ssz = t->form == MV_EXT8 ? 0 : t->form == MV_EXT16 ? 1 : osz == 1 ? 1 : 2;
    uint32_t avoid = 0;
    if (ssz == 0) { /* byte source: AH-BH without REX, SPL-DIL with */
        g->byteop = true;
        g->legacy8 = osz != 3 && cd_chance(r, 1, 2);
        g->e.no_rex = g->legacy8;
        avoid = g->legacy8 ? 0xff00 : 0;
    }
    cd_opcode(g, t->op);
    cd_modrm_reg(g, cd_pick_reg(g, osz, avoid));
    cd_rm(g, ssz, cd_chance(r, 1, 2), 0, 0);
}

static void gen_lea(struct cd_gen *g, const struct cd_tmpl *t)
{
    unsigned osz = cd_osz(g, t->sizes);
    cd_opcode(g, 0x8d);
    cd_modrm_reg(g, cd_pick_reg(g, osz, 0));
    /* LEA touches no memory: any address will do. */
    cd_mem_at(g, cd_chance(g->r, 1, 2) ? cd_value(g->r) : cd_pick_addr(g, 1, 0), 0);
}

static void gen_xchg(struct cd_gen *g, const struct cd_tmpl *t)
{
    unsigned osz = cd_osz(g, t->sizes);
    if (t->form == MV_XCHG_A) { /* 90+r: register 0 without REX.B is NOP */
        cd_opcode(g, 0x90);
        cd_opreg(g, cd_pick_reg(g, osz, 0));
        return;
    }
    cd_opcode(g, 0x86 + (osz ? 1 : 0));
    cd_modrm_reg(g, cd_pick_reg(g, osz, 0));
    cd_rm(g, osz, cd_chance(g->r, 1, 2), CD_M_ALIGN, 0); /* implicitly locked */
}

/* CMPXCHG and XADD: r/m, reg; CMPXCHG finds equal operands half the time. */
static void gen_cmpxchg(struct cd_gen *g, const struct cd_tmpl *t)
{
    struct cd_rng *r = g->r;
    unsigned osz = cd_osz(g, t->sizes);
    bool mem = cd_chance(r, 1, 2);
    bool lock = mem && cd_chance(r, 1, 2);
    if (lock)
        cd_prefix(g, 0xf0);
    cd_opcode(g, t->op + (osz ? 1 : 0));
    cd_modrm_reg(g, cd_pick_reg(g, osz, 0));
    bool equal = t->form == MV_CMPXCHG && cd_chance(r, 1, 2);
    uint64_t v = cd_value(r);
    if (equal)
        req_sized(g, R_RAX, osz, v);
    if (mem) {
        uint64_t a = cd_mem(g, 1u << osz, lock ? CD_M_ALIGN : 0);
        if (equal)
            cd_req_mem(g, a, &v, 1u << osz);
    } else {
        unsigned reg = cd_pick_reg(g, osz, 0);
        cd_rm_reg(g, reg);
        if (equal && cd_regbit(reg) != 1)
            req_sized(g, reg, osz, v);
    }
}

/* CMPXCHG8B / CMPXCHG16B m: EDX:EAX (RDX:RAX) against memory. */
static void gen_cx8(struct cd_gen *g, const struct cd_tmpl *t)
{
    struct cd_rng *r = g->r;
    bool wide = t->ext == 16;
    unsigned size = wide ? 16 : 8;
    if (cd_chance(r, 1, 2))
        cd_prefix(g, 0xf0);
    g->e.w = wide;
    cd_opcode(g, 0x1c7);
    cd_modrm_ext(g, 1);
    uint64_t v[2] = {cd_value(r), cd_value(r)};
    for (unsigned reg = 0; reg < 4; reg++)
        cd_req_reg(g, reg, cd_value(r));
    uint64_t a = cd_pick_addr(g, size, CD_M_ALIGN);
    if (wide && cd_chance(r, 1, 8) && a + 24 <= CD_DATA_END)
        a += 8;               /* misaligned: #GP */
    if (cd_chance(r, 1, 2)) { /* equal: memory holds EDX:EAX */
        uint64_t ax, dx;
        cd_req_value(g, R_RAX, &ax);
        cd_req_value(g, R_RDX, &dx);
        if (wide) {
            v[0] = ax;
            v[1] = dx;
        } else {
            v[0] = (uint32_t)ax | dx << 32;
        }
    }
    cd_req_mem(g, a, v, size);
    cd_mem_at(g, a, 0);
}

static void gen_conv(struct cd_gen *g, const struct cd_tmpl *t)
{
    cd_osz(g, t->sizes);
    cd_opcode(g, t->op);
}

static void gen_cc(struct cd_gen *g, const struct cd_tmpl *t)
{
    struct cd_rng *r = g->r;
    unsigned cc = cd_below(r, 16);
    g->reads = cd_cc_reads(cc);
    if (t->form == MV_SETCC) {
        cd_opsize(g, 0);
        cd_opcode(g, t->op + cc);
        cd_modrm_ext(g, cd_chance(r, 1, 4) ? cd_below(r, 8) : 0); /* reg is ignored */
        cd_rm(g, 0, cd_chance(r, 1, 2), 0, 0);
        return;
    }
    unsigned osz = cd_osz(g, t->sizes);
    cd_opcode(g, t->op + cc);
    cd_modrm_reg(g, cd_pick_reg(g, osz, 0));
    cd_rm(g, osz, cd_chance(r, 1, 2), 0, 0);
}

/* MOVNTI m32/m64, r (memory only). */
static void gen_movnti(struct cd_gen *g, const struct cd_tmpl *t)
{
    unsigned osz = cd_osz(g, t->sizes);
    cd_opcode(g, t->op);
    cd_modrm_reg(g, cd_pick_reg(g, osz, 0));
    cd_mem(g, 1u << osz, 0);
}

static void gen_xlat(struct cd_gen *g, const struct cd_tmpl *t)
{
    struct cd_rng *r = g->r;
    uint64_t base = CD_DATA + cd_below(r, CD_DATA_SIZE - 256);
    if (cd_chance(r, 1, 4)) {
        cd_prefix(g, 0x67);
        base |= cd_rand(r) & ~0xffffffffULL;
    }
    g->e.w = cd_chance(r, 1, 4);
    cd_opcode(g, t->op);
    cd_req_reg(g, R_RBX, base);
}

#define WIDE 0xe

const struct cd_tmpl cd_tmpl_move[] = {
    {"mov r/m,r", gen_mov, 0, 0, 0xf, MV_RM_R, 0, 0, 0, 0, 0},
    {"mov r,r/m", gen_mov, 0, 0, 0xf, MV_R_RM, 0, 0, 0, 0, 0},
    {"mov r/m,imm", gen_mov, 0, 0, 0xf, MV_RM_I, 0, 0, 0, 0, 0},
    {"mov r,imm", gen_mov, 0, 0, 0xf, MV_R_I, 0, 0, 0, 0, 0},
    {"mov a,moffs", gen_mov, 0xa0, 0, 0xf, MV_MOFFS, 0, 0, 0, 0, 0},
    {"mov moffs,a", gen_mov, 0xa2, 0, 0xf, MV_MOFFS, 0, 0, 0, 0, 0},
    {"movzx r,r/m8", gen_ext, 0x1b6, 0, WIDE, MV_EXT8, 0, 0, 0, 0, 0},
    {"movzx r,r/m16", gen_ext, 0x1b7, 0, WIDE, MV_EXT16, 0, 0, 0, 0, 0},
    {"movsx r,r/m8", gen_ext, 0x1be, 0, WIDE, MV_EXT8, 0, 0, 0, 0, 0},
    {"movsx r,r/m16", gen_ext, 0x1bf, 0, WIDE, MV_EXT16, 0, 0, 0, 0, 0},
    {"movsxd", gen_ext, 0x63, 0, WIDE, MV_SXD, 0, 0, 0, 0, 0},
    {"lea", gen_lea, 0x8d, 0, WIDE, MV_LEA, 0, 0, 0, 0, 0},
    {"xchg r/m,r", gen_xchg, 0x86, 0, 0xf, MV_XCHG, 0, 0, 0, 0, 0},
    {"xchg a,r", gen_xchg, 0x90, 0, WIDE, MV_XCHG_A, 0, 0, 0, 0, 0},
    {"cmpxchg", gen_cmpxchg, 0x1b0, 0, 0xf, MV_CMPXCHG, 0, CD_T_LOCK, 0, F_ALL, 0},
    {"xadd", gen_cmpxchg, 0x1c0, 0, 0xf, MV_XADD, 0, CD_T_LOCK, 0, F_ALL, 0},
    {"cmpxchg8b", gen_cx8, 0x1c7, 8, 0, MV_CX8, 0, CD_T_LOCK, 0, F_ZF, 0},
    {"cmpxchg16b", gen_cx8, 0x1c7, 16, 0, MV_CX8, CD_FEAT_CX16, CD_T_LOCK, 0, F_ZF, 0},
    {"cbw/cwde/cdqe", gen_conv, 0x98, 0, WIDE, MV_CONV, 0, 0, 0, 0, 0},
    {"cwd/cdq/cqo", gen_conv, 0x99, 0, WIDE, MV_CONV, 0, 0, 0, 0, 0},
    {"setcc", gen_cc, 0x190, 0, 1, MV_SETCC, 0, 0, 0, 0, 0},
    {"cmovcc", gen_cc, 0x140, 0, WIDE, MV_CMOV, 0, 0, 0, 0, 0},
    {"xlat", gen_xlat, 0xd7, 0, 0, MV_XLAT, 0, 0, 0, 0, 0},
    {"movnti", gen_movnti, 0x1c3, 0, 0xc, MV_RM_R, 0, 0, 0, 0, 0},
    {0},
};
