/* cpudiff templates: the ALU family (ADD OR ADC SBB AND SUB XOR CMP, TEST,
 * INC DEC NOT NEG) in every form and size, register and memory operands,
 * with LOCK on memory destinations. */
#include "gen.h"

enum {
    ALU_RM_R,  /* 00/01 +8n: r/m, reg */
    ALU_R_RM,  /* 02/03: reg, r/m */
    ALU_A_IMM, /* 04/05: AL/eAX, imm */
    ALU_RM_I,  /* 80/81 /n */
    ALU_RM_I8, /* 83 /n: sign-extended imm8 */
    ALU_TEST_RM_R,
    ALU_TEST_A_IMM,
    ALU_TEST_RM_I,
    ALU_UNARY, /* FE/FF /0 /1 (INC DEC), F6/F7 /2 /3 (NOT NEG) */
};

static unsigned imm_size(unsigned osz)
{
    return osz == 0 ? 1 : osz == 1 ? 2 : 4;
}

/* LOCK is valid only with a memory destination; some of the time. */
static bool want_lock(struct cd_gen *g, const struct cd_tmpl *t, bool mem)
{
    if (!(t->tflags & CD_T_LOCK) || !mem || !cd_chance(g->r, 1, 3))
        return false;
    cd_prefix(g, 0xf0);
    return true;
}

static void gen_alu(struct cd_gen *g, const struct cd_tmpl *t)
{
    struct cd_rng *r = g->r;
    unsigned osz = cd_osz(g, t->sizes);
    bool mem = cd_chance(r, 1, 2);
    unsigned wide = osz ? 1 : 0;
    unsigned mf = 0;
    switch (t->form) {
    case ALU_RM_R:
    case ALU_TEST_RM_R:
        if (want_lock(g, t, mem))
            mf = CD_M_ALIGN;
        cd_opcode(g, (t->form == ALU_RM_R ? t->ext * 8u : 0x84u) + wide);
        cd_modrm_reg(g, cd_pick_reg(g, osz, 0));
        cd_rm(g, osz, mem, mf, 0);
        break;
    case ALU_R_RM:
        cd_opcode(g, t->ext * 8u + 2 + wide);
        cd_modrm_reg(g, cd_pick_reg(g, osz, 0));
        cd_rm(g, osz, mem, 0, 0);
        break;
    case ALU_A_IMM:
    case ALU_TEST_A_IMM:
        cd_opcode(g, (t->form == ALU_A_IMM ? t->ext * 8u + 4 : 0xa8u) + wide);
        cd_imm(g, imm_size(osz), cd_value(r));
        break;
    case ALU_RM_I:
    case ALU_RM_I8:
    case ALU_TEST_RM_I:
        if (t->form != ALU_TEST_RM_I && want_lock(g, t, mem))
            mf = CD_M_ALIGN;
        if (t->form == ALU_RM_I8)
            cd_opcode(g, 0x83);
        else
            cd_opcode(g, (t->form == ALU_RM_I ? 0x80u : 0xf6u) + wide);
        cd_modrm_ext(g, t->ext);
        cd_rm(g, osz, mem, mf, 0);
        cd_imm(g, t->form == ALU_RM_I8 ? 1 : imm_size(osz), cd_value(r));
        break;
    case ALU_UNARY:
        if (want_lock(g, t, mem))
            mf = CD_M_ALIGN;
        cd_opcode(g, t->op + wide);
        cd_modrm_ext(g, t->ext);
        cd_rm(g, osz, mem, mf, 0);
        break;
    }
}

#define ALL  0xf
#define WIDE 0xe

#define ALU_OP(name, ext, undef, reads)                                                            \
    {name " r/m,r", gen_alu, 0,    ext, ALL, ALU_RM_R, 0, (ext) != 7 ? CD_T_LOCK : 0,              \
     undef,         F_ALL,   reads},                                                               \
        {name " r,r/m", gen_alu, 0, ext, ALL, ALU_R_RM, 0, 0, undef, F_ALL, reads},                \
        {name " a,imm", gen_alu, 0, ext, ALL, ALU_A_IMM, 0, 0, undef, F_ALL, reads},               \
        {name " r/m,imm", gen_alu, 0,    ext, ALL, ALU_RM_I, 0, (ext) != 7 ? CD_T_LOCK : 0,        \
         undef,           F_ALL,   reads},                                                         \
    {                                                                                              \
        name " r/m,imm8", gen_alu, 0, ext, WIDE, ALU_RM_I8, 0, (ext) != 7 ? CD_T_LOCK : 0, undef,  \
            F_ALL, reads                                                                           \
    }

/* AND, OR, XOR and TEST leave AF undefined (SDM); the rest are exact. */
const struct cd_tmpl cd_tmpl_alu[] = {
    ALU_OP("add", 0, 0, 0),
    ALU_OP("or", 1, F_AF, 0),
    ALU_OP("adc", 2, 0, F_CF),
    ALU_OP("sbb", 3, 0, F_CF),
    ALU_OP("and", 4, F_AF, 0),
    ALU_OP("sub", 5, 0, 0),
    ALU_OP("xor", 6, F_AF, 0),
    ALU_OP("cmp", 7, 0, 0),
    {"test r/m,r", gen_alu, 0, 0, ALL, ALU_TEST_RM_R, 0, 0, F_AF, F_ALL, 0},
    {"test a,imm", gen_alu, 0, 0, ALL, ALU_TEST_A_IMM, 0, 0, F_AF, F_ALL, 0},
    {"test r/m,imm", gen_alu, 0, 0, ALL, ALU_TEST_RM_I, 0, 0, F_AF, F_ALL, 0},
    {"inc", gen_alu, 0xfe, 0, ALL, ALU_UNARY, 0, CD_T_LOCK, 0, F_ALL & ~F_CF, 0},
    {"dec", gen_alu, 0xfe, 1, ALL, ALU_UNARY, 0, CD_T_LOCK, 0, F_ALL & ~F_CF, 0},
    {"not", gen_alu, 0xf6, 2, ALL, ALU_UNARY, 0, CD_T_LOCK, 0, 0, 0},
    {"neg", gen_alu, 0xf6, 3, ALL, ALU_UNARY, 0, CD_T_LOCK, 0, F_ALL, 0},
    {0},
};
