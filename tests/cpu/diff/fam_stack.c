/* cpudiff templates: the stack. PUSH/POP of registers, memory and
 * immediates (64- and 16-bit), PUSH RSP / POP RSP, POP with an RSP-based
 * address, PUSHF/POPF, ENTER (nesting levels included), LEAVE. RSP always
 * points into the data area, near its ends now and then so pushes and pops
 * fault. */
#include "gen.h"

enum {
    ST_PUSH_R,
    ST_POP_R,
    ST_PUSH_I,
    ST_PUSH_RM,
    ST_POP_RM,
    ST_POP_RSP_REL,
    ST_PUSHF,
    ST_POPF,
    ST_ENTER,
    ST_LEAVE,
    ST_PUSH_SEG
};

/* A stack pointer for an instruction moving it by up to `room` bytes. */
static uint64_t stack_ptr(struct cd_gen *g, unsigned room)
{
    struct cd_rng *r = g->r;
    uint64_t sp;
    if (cd_chance(r, 1, 16)) /* near an end of the data area: some accesses fault */
        sp = cd_chance(r, 1, 2) ? CD_DATA + cd_below(r, 16) : CD_DATA_END - cd_below(r, 16);
    else
        sp = CD_DATA + room + 16 + cd_below(r, CD_DATA_SIZE - 2 * room - 32);
    if (cd_chance(r, 7, 8))
        sp &= ~7ULL;
    cd_req_reg(g, R_RSP, sp);
    return sp;
}

/* Operand size of a stack operation: 64 (default) or 16 (66). */
static unsigned stack_osz(struct cd_gen *g)
{
    unsigned osz = cd_chance(g->r, 1, 6) ? 1 : 3;
    if (osz == 1)
        cd_prefix(g, 0x66);
    else if (cd_chance(g->r, 1, 8))
        g->e.w = true; /* REX.W changes nothing here */
    return osz;
}

static void gen_stack(struct cd_gen *g, const struct cd_tmpl *t)
{
    struct cd_rng *r = g->r;
    unsigned osz = stack_osz(g);
    uint64_t sp = stack_ptr(g, 64);
    switch (t->form) {
    case ST_PUSH_R:
    case ST_POP_R:
        cd_opcode(g, t->op);
        cd_opreg(g, cd_pick_reg(g, osz, 0));
        break;
    case ST_PUSH_I:
        cd_opcode(g, t->op);
        cd_imm(g, t->op == 0x6a ? 1 : osz == 1 ? 2 : 4, cd_value(r));
        break;
    case ST_PUSH_RM:
    case ST_POP_RM:
        cd_opcode(g, t->op);
        cd_modrm_ext(g, t->ext);
        cd_rm(g, osz, cd_chance(r, 1, 2), 0, cd_regbit(R_RSP));
        break;
    case ST_POP_RSP_REL: /* POP [RSP + d8]: the address uses RSP after the pop */
        cd_opcode(g, 0x8f);
        g->e.has_modrm = g->e.has_sib = true;
        g->e.mod = 1;
        g->e.rm = 4;
        g->e.base = 4;
        g->e.index = 4;
        g->e.disp_size = 1;
        g->e.disp = (int8_t)((int)cd_below(r, 64) - 32);
        break;
    case ST_PUSHF:
        cd_opcode(g, 0x9c);
        break;
    case ST_PUSH_SEG: /* PUSH FS / PUSH GS: the selector (0 under Linux) */
        cd_opcode(g, t->op);
        break;
    case ST_POPF: { /* a value without TF (single-step) and AC (alignment checks) */
        uint64_t v = (cd_value(r) | cd_rand(r)) & ~(uint64_t)(X86_FLAG_TF | X86_FLAG_AC);
        cd_opcode(g, 0x9d);
        cd_req_mem(g, sp, &v, osz == 1 ? 2 : 8);
        break;
    }
    }
}

/* ENTER imm16, imm8: level 0-31 copies level-1 frame pointers from RBP. */
static void gen_enter(struct cd_gen *g, const struct cd_tmpl *t)
{
    struct cd_rng *r = g->r;
    unsigned osz = stack_osz(g);
    unsigned level = cd_chance(r, 3, 4) ? cd_below(r, 4) : cd_below(r, 256);
    unsigned alloc = cd_chance(r, 1, 2) ? cd_below(r, 64) : cd_below(r, 0x10000);
    cd_fault_zone_below(g, stack_ptr(g, 8 * 33 + 16));
    cd_req_reg(g, R_RBP, CD_DATA + 300 + cd_below(r, CD_DATA_SIZE - 320));
    cd_opcode(g, t->op);
    cd_imm(g, 2, alloc);
    cd_imm2(g, 1, level);
    (void)osz;
}

static void gen_leave(struct cd_gen *g, const struct cd_tmpl *t)
{
    struct cd_rng *r = g->r;
    stack_osz(g);
    uint64_t bp = CD_DATA + cd_below(r, CD_DATA_SIZE - 8);
    if (cd_chance(r, 1, 16))
        bp = CD_DATA_END - cd_below(r, 8);
    cd_req_reg(g, R_RBP, bp);
    cd_opcode(g, t->op);
}

const struct cd_tmpl cd_tmpl_stack[] = {
    {"push r", gen_stack, 0x50, 0, 0xa, ST_PUSH_R, 0, 0, 0, 0, 0},
    {"pop r", gen_stack, 0x58, 0, 0xa, ST_POP_R, 0, 0, 0, 0, 0},
    {"push imm32", gen_stack, 0x68, 0, 0xa, ST_PUSH_I, 0, 0, 0, 0, 0},
    {"push imm8", gen_stack, 0x6a, 0, 0xa, ST_PUSH_I, 0, 0, 0, 0, 0},
    {"push r/m", gen_stack, 0xff, 6, 0xa, ST_PUSH_RM, 0, 0, 0, 0, 0},
    {"pop r/m", gen_stack, 0x8f, 0, 0xa, ST_POP_RM, 0, 0, 0, 0, 0},
    {"pop [rsp+d8]", gen_stack, 0x8f, 0, 0xa, ST_POP_RSP_REL, 0, 0, 0, 0, 0},
    {"pushf", gen_stack, 0x9c, 0, 0xa, ST_PUSHF, 0, 0, 0, 0, F_ALL},
    {"popf", gen_stack, 0x9d, 0, 0xa, ST_POPF, 0, 0, 0, F_ALL, 0},
    {"enter", gen_enter, 0xc8, 0, 0xa, ST_ENTER, 0, 0, 0, 0, 0},
    {"leave", gen_leave, 0xc9, 0, 0xa, ST_LEAVE, 0, 0, 0, 0, 0},
    {"push fs", gen_stack, 0x1a0, 0, 0xa, ST_PUSH_SEG, 0, 0, 0, 0, 0},
    {"push gs", gen_stack, 0x1a8, 0, 0xa, ST_PUSH_SEG, 0, 0, 0, 0, 0},
    {0},
};
