/* cpudiff templates: bit instructions. BT BTS BTR BTC (register offsets
 * reaching far into memory, negative ones too, and imm8), BSF BSR (zero
 * sources included), LZCNT TZCNT POPCNT, BSWAP, MOVBE. */
#include "gen.h"

enum { BT_REG, BT_IMM, BIT_SCAN, BIT_BSWAP, BIT_MOVBE };

static uint64_t mask_of(unsigned bits)
{
    return bits >= 64 ? ~0ULL : (1ULL << bits) - 1;
}

/* BT* r/m, reg: with a memory operand the register is a signed bit offset
 * from the effective address; the instruction touches the operand-sized
 * unit that holds the bit (at EA + size * floor(offset / bits)). */
static void gen_bt_reg(struct cd_gen *g, const struct cd_tmpl *t)
{
    struct cd_rng *r = g->r;
    unsigned osz = cd_osz(g, t->sizes);
    unsigned bits = 8u << osz, bytes = bits / 8;
    bool mem = cd_chance(r, 1, 2);
    bool lock = mem && (t->tflags & CD_T_LOCK) && cd_chance(r, 1, 3);
    if (lock)
        cd_prefix(g, 0xf0);
    cd_opcode(g, t->op);
    if (!mem) {
        cd_modrm_reg(g, cd_pick_reg(g, osz, 0));
        cd_rm_reg(g, cd_pick_reg(g, osz, 0));
        return;
    }
    /* The unit touched, then an EA up to 1 KiB away from it. */
    uint64_t unit = CD_DATA + 8 + cd_below(r, (CD_DATA_SIZE - 16) / bytes) * bytes;
    int64_t k = (int64_t)cd_below(r, 2048 / bytes) - 1024 / bytes;
    if (unit - (uint64_t)(k * bytes) < CD_DATA || unit - (uint64_t)(k * bytes) >= CD_DATA_END)
        k = 0;
    uint64_t ea = unit - (uint64_t)(k * bytes);
    int64_t off = k * (int64_t)bits + cd_below(r, bits);
    unsigned reg = cd_pick_reg(g, osz, g->claimed | cd_regbit(R_RSP));
    cd_modrm_reg(g, reg);
    cd_req_reg(g, reg, (cd_rand(r) & ~mask_of(bits)) | ((uint64_t)off & mask_of(bits)));
    cd_mem_at(g, ea, 0);
}

static void gen_bt_imm(struct cd_gen *g, const struct cd_tmpl *t)
{
    unsigned osz = cd_osz(g, t->sizes);
    bool mem = cd_chance(g->r, 1, 2);
    bool lock = mem && (t->tflags & CD_T_LOCK) && cd_chance(g->r, 1, 3);
    if (lock)
        cd_prefix(g, 0xf0);
    cd_opcode(g, 0x1ba);
    cd_modrm_ext(g, t->ext);
    cd_rm(g, osz, mem, lock ? CD_M_ALIGN : 0, 0);
    cd_imm(g, 1, cd_rand(g->r) & 0xff);
}

/* BSF BSR LZCNT TZCNT POPCNT: r, r/m with zero sources a fifth of the time. */
static void gen_scan(struct cd_gen *g, const struct cd_tmpl *t)
{
    struct cd_rng *r = g->r;
    unsigned osz = cd_osz(g, t->sizes);
    if (t->ext) /* the mandatory F3 comes last, next to the opcode */
        cd_prefix(g, 0xf3);
    cd_opcode(g, t->op);
    cd_modrm_reg(g, cd_pick_reg(g, osz, 0));
    bool zero = cd_chance(r, 1, 5);
    uint64_t v = zero ? cd_rand(r) & ~mask_of(8u << osz) : cd_value(r);
    if (cd_chance(r, 1, 2)) {
        uint64_t a = cd_mem(g, 1u << osz, 0);
        if (zero)
            cd_req_mem(g, a, &v, 1u << osz);
    } else {
        unsigned reg = cd_pick_reg(g, osz, g->claimed);
        cd_rm_reg(g, reg);
        if (zero)
            cd_req_reg(g, reg, v);
    }
}

static void gen_bswap(struct cd_gen *g, const struct cd_tmpl *t)
{
    unsigned osz = cd_osz(g, t->sizes);
    cd_opcode(g, t->op);
    cd_opreg(g, cd_pick_reg(g, osz, 0));
}

static void gen_movbe(struct cd_gen *g, const struct cd_tmpl *t)
{
    unsigned osz = cd_osz(g, t->sizes);
    cd_opcode(g, t->op);
    cd_modrm_reg(g, cd_pick_reg(g, osz, 0));
    cd_mem(g, 1u << osz, 0);
}

#define BT_UNDEF   (F_OF | F_SF | F_AF | F_PF)
#define SCAN_UNDEF (F_CF | F_OF | F_SF | F_AF | F_PF)
#define CNT_UNDEF  (F_OF | F_SF | F_AF | F_PF)

const struct cd_tmpl cd_tmpl_bit[] = {
    {"bt r/m,r", gen_bt_reg, 0x1a3, 0, 0xe, BT_REG, 0, 0, BT_UNDEF, F_CF, 0},
    {"bts r/m,r", gen_bt_reg, 0x1ab, 0, 0xe, BT_REG, 0, CD_T_LOCK, BT_UNDEF, F_CF, 0},
    {"btr r/m,r", gen_bt_reg, 0x1b3, 0, 0xe, BT_REG, 0, CD_T_LOCK, BT_UNDEF, F_CF, 0},
    {"btc r/m,r", gen_bt_reg, 0x1bb, 0, 0xe, BT_REG, 0, CD_T_LOCK, BT_UNDEF, F_CF, 0},
    {"bt r/m,imm", gen_bt_imm, 0x1ba, 4, 0xe, BT_IMM, 0, 0, BT_UNDEF, F_CF, 0},
    {"bts r/m,imm", gen_bt_imm, 0x1ba, 5, 0xe, BT_IMM, 0, CD_T_LOCK, BT_UNDEF, F_CF, 0},
    {"btr r/m,imm", gen_bt_imm, 0x1ba, 6, 0xe, BT_IMM, 0, CD_T_LOCK, BT_UNDEF, F_CF, 0},
    {"btc r/m,imm", gen_bt_imm, 0x1ba, 7, 0xe, BT_IMM, 0, CD_T_LOCK, BT_UNDEF, F_CF, 0},
    {"bsf", gen_scan, 0x1bc, 0, 0xe, BIT_SCAN, 0, 0, SCAN_UNDEF, F_ZF, 0},
    {"bsr", gen_scan, 0x1bd, 0, 0xe, BIT_SCAN, 0, 0, SCAN_UNDEF, F_ZF, 0},
    {"tzcnt", gen_scan, 0x1bc, 1, 0xe, BIT_SCAN, CD_FEAT_BMI1, 0, CNT_UNDEF, F_CF | F_ZF, 0},
    {"lzcnt", gen_scan, 0x1bd, 1, 0xe, BIT_SCAN, CD_FEAT_LZCNT, 0, CNT_UNDEF, F_CF | F_ZF, 0},
    {"popcnt", gen_scan, 0x1b8, 1, 0xe, BIT_SCAN, CD_FEAT_POPCNT, 0, 0, F_ALL, 0},
    {"bswap", gen_bswap, 0x1c8, 0, 0xc, BIT_BSWAP, 0, 0, 0, 0, 0},
    {"movbe r,m", gen_movbe, 0x2f0, 0, 0xe, BIT_MOVBE, CD_FEAT_MOVBE, 0, 0, 0, 0},
    {"movbe m,r", gen_movbe, 0x2f1, 0, 0xe, BIT_MOVBE, CD_FEAT_MOVBE, 0, 0, 0, 0},
    {0},
};
