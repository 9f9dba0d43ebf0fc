/* cpudiff templates: control transfer inside the code page. Jcc, JMP,
 * CALL (relative, register and memory), RET (with and without imm16),
 * LOOP/LOOPE/LOOPNE and JRCXZ/JECXZ. Every target is an int3 pad, the
 * instruction's own fall-through (the final int3) or, in sequences, the
 * start of a later instruction, so the sample always ends at an int3
 * whose address shows where the branch went. */
#include "gen.h"

enum {
    BR_JCC8,
    BR_JCC32,
    BR_JMP8,
    BR_JMP32,
    BR_CALL,
    BR_RET,
    BR_RETI,
    BR_JMP_RM,
    BR_CALL_RM,
    BR_LOOP,
    BR_JRCXZ
};

static void call_stack(struct cd_gen *g)
{
    uint64_t sp = CD_DATA + 64 + cd_below(g->r, CD_DATA_SIZE - 128);
    if (cd_chance(g->r, 1, 16))
        sp = CD_DATA + cd_below(g->r, 8); /* the push faults */
    cd_req_reg(g, R_RSP, sp & (cd_chance(g->r, 7, 8) ? ~7ULL : ~0ULL));
}

static void gen_rel(struct cd_gen *g, const struct cd_tmpl *t)
{
    struct cd_rng *r = g->r;
    unsigned cc = cd_below(r, 16);
    switch (t->form) {
    case BR_JCC8:
    case BR_JCC32:
        g->reads = cd_cc_reads(cc);
        cd_opcode(g, t->op + cc);
        cd_rel(g, t->form == BR_JCC8 ? 1 : 4, cd_branch_target(g, t->form == BR_JCC8 ? 1 : 4));
        break;
    case BR_JMP8:
    case BR_JMP32:
        cd_opcode(g, t->op);
        cd_rel(g, t->form == BR_JMP8 ? 1 : 4, cd_branch_target(g, t->form == BR_JMP8 ? 1 : 4));
        break;
    case BR_CALL:
        call_stack(g);
        cd_opcode(g, t->op);
        cd_rel(g, 4, cd_branch_target(g, 4));
        break;
    }
}

static void gen_ret(struct cd_gen *g, const struct cd_tmpl *t)
{
    struct cd_rng *r = g->r;
    uint64_t sp = (CD_DATA + cd_below(r, CD_DATA_SIZE - 64)) & ~7ULL;
    bool fault = cd_chance(r, 1, 16);
    if (fault)
        sp = CD_DATA_END - cd_below(r, 8);
    cd_req_reg(g, R_RSP, sp);
    cd_opcode(g, t->op);
    if (t->form == BR_RETI)
        cd_imm(g, 2, cd_chance(r, 1, 2) ? cd_below(r, 64) : cd_rand(r) & 0xffff);
    if (!fault)
        cd_req_mem_target(g, sp, cd_branch_target(g, 0));
}

/* JMP/CALL r/m64: the target in a register or in memory. */
static void gen_ind(struct cd_gen *g, const struct cd_tmpl *t)
{
    struct cd_rng *r = g->r;
    if (t->form == BR_CALL_RM)
        call_stack(g);
    cd_opcode(g, 0xff);
    cd_modrm_ext(g, t->ext);
    struct cd_target tgt = cd_branch_target(g, 0);
    if (cd_chance(r, 1, 2)) {
        unsigned reg = cd_pick_reg(g, 3, g->claimed);
        cd_rm_reg(g, reg);
        cd_req_reg_target(g, reg, tgt);
    } else {
        uint64_t a = cd_mem(g, 8, 0);
        if (a >= CD_DATA && a + 8 <= CD_DATA_END)
            cd_req_mem_target(g, a, tgt);
        else
            g->tgt_unit = -1, g->pad = 0; /* the load faults: no branch */
    }
    if (cd_chance(r, 1, 8))
        g->e.w = true; /* REX.W changes nothing here */
}

/* LOOPcc and JrCXZ: RCX small (and ECX with 67, upper garbage ignored). */
static void gen_loop(struct cd_gen *g, const struct cd_tmpl *t)
{
    struct cd_rng *r = g->r;
    bool a32 = cd_chance(r, 1, 4);
    uint64_t cx = cd_chance(r, 1, 4) ? 0 : cd_chance(r, 1, 2) ? 1 : cd_below(r, 4);
    if (cd_chance(r, 1, 8))
        cx = cd_value(r);
    if (a32) {
        cd_prefix(g, 0x67);
        cx = (cd_rand(r) & ~0xffffffffULL) | (uint32_t)cx;
    }
    cd_req_reg(g, R_RCX, cx);
    if (t->op == 0xe0 || t->op == 0xe1)
        g->reads = F_ZF;
    cd_opcode(g, t->op);
    cd_rel(g, 1, cd_branch_target(g, 1));
}

const struct cd_tmpl cd_tmpl_branch[] = {
    {"jcc rel8", gen_rel, 0x70, 0, 0, BR_JCC8, 0, 0, 0, 0, 0},
    {"jcc rel32", gen_rel, 0x180, 0, 0, BR_JCC32, 0, 0, 0, 0, 0},
    {"jmp rel8", gen_rel, 0xeb, 0, 0, BR_JMP8, 0, 0, 0, 0, 0},
    {"jmp rel32", gen_rel, 0xe9, 0, 0, BR_JMP32, 0, 0, 0, 0, 0},
    {"call rel32", gen_rel, 0xe8, 0, 0, BR_CALL, 0, 0, 0, 0, 0},
    {"ret", gen_ret, 0xc3, 0, 0, BR_RET, 0, 0, 0, 0, 0},
    {"ret imm16", gen_ret, 0xc2, 0, 0, BR_RETI, 0, 0, 0, 0, 0},
    {"jmp r/m", gen_ind, 0xff, 4, 0, BR_JMP_RM, 0, 0, 0, 0, 0},
    {"call r/m", gen_ind, 0xff, 2, 0, BR_CALL_RM, 0, 0, 0, 0, 0},
    {"loop", gen_loop, 0xe2, 0, 0, BR_LOOP, 0, 0, 0, 0, 0},
    {"loope", gen_loop, 0xe1, 0, 0, BR_LOOP, 0, 0, 0, 0, 0},
    {"loopne", gen_loop, 0xe0, 0, 0, BR_LOOP, 0, 0, 0, 0, 0},
    {"jrcxz", gen_loop, 0xe3, 0, 0, BR_JRCXZ, 0, 0, 0, 0, 0},
    {0},
};
