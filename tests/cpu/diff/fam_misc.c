/* cpudiff templates: flag instructions (LAHF SAHF CLC STC CMC CLD STD),
 * the NOP forms (90, 66 90, F3 90, 0F 1F /0 and the 0F 19-1E hint NOPs
 * with memory operands they must not touch, PREFETCHW), UD2, the fences
 * and CLFLUSH, MOV r/m,Sreg, INT 3; and the "invalid" family: encodings
 * 64-bit mode rejects (#UD, and #GP for an instruction longer than 15
 * bytes), what CPL 3 may not do (#GP), non-canonical addresses (#GP/#SS). */
#include <string.h>

#include "gen.h"

enum { MI_PLAIN, MI_NOP_RM, MI_RAW };

static void gen_plain(struct cd_gen *g, const struct cd_tmpl *t)
{
    if (t->op >> 8 == 0 && (t->op & 0xff) == 0x90 && t->ext)
        cd_prefix(g, t->ext); /* 66 90, F3 90 (PAUSE) */
    if (cd_chance(g->r, 1, 8) && t->op != 0x90)
        g->e.force_rex = true; /* an empty REX changes nothing */
    cd_opcode(g, t->op);
}

/* LFENCE/MFENCE/SFENCE (0F AE /5 /6 /7, register forms: rm ignored) and
 * CLFLUSH m8 (0F AE /7 memory: it faults like a load). */
static void gen_fence(struct cd_gen *g, const struct cd_tmpl *t)
{
    cd_opcode(g, 0x1ae);
    cd_modrm_ext(g, t->ext);
    if (t->form == MI_RAW) {
        cd_mem(g, 1, 0);
        return;
    }
    g->e.mod = 3;
    g->e.rm = (uint8_t)cd_below(g->r, 8);
}

/* MOV r/m, Sreg (8C /r): Linux's user selectors (CS 0x33, SS 0x2b, the
 * rest 0). Register destinations take the selector zero-extended at 32
 * and 64 bits; memory ones are 16-bit stores. */
static void gen_mov_sreg(struct cd_gen *g, const struct cd_tmpl *t)
{
    (void)t;
    unsigned osz = cd_osz(g, 0xe);
    cd_opcode(g, 0x8c);
    cd_modrm_ext(g, cd_below(g->r, 6));
    cd_rm(g, osz, cd_chance(g->r, 1, 2), 0, 0);
}

/* INT 3 (CD 03): the two-byte form of INT3; a trap like it. */
static void gen_int3(struct cd_gen *g, const struct cd_tmpl *t)
{
    cd_opcode(g, t->op);
    cd_imm(g, 1, 3);
}

/* An instruction that starts 0..len-1 bytes before the end of the code
 * page: fetching the rest faults (#PF at the next page, RIP at the start). */
static void gen_fetch(struct cd_gen *g, const struct cd_tmpl *t)
{
    struct cd_rng *r = g->r;
    unsigned len;
    (void)t;
    switch (cd_below(r, 3)) {
    case 0: /* MOV r64, imm64: 10 bytes */
        cd_opsize(g, 3);
        cd_opcode(g, 0xb8);
        cd_opreg(g, cd_pick_reg(g, 3, 0));
        cd_imm(g, 8, cd_value(r));
        len = 10;
        break;
    case 1: /* ADD dword [base + disp32], imm32 */
        cd_opcode(g, 0x81);
        cd_modrm_ext(g, 0);
        cd_mem(g, 4, CD_M_NORIP | CD_M_NOFAULT);
        cd_imm(g, 4, cd_rand(r));
        len = 1 + 1 + (g->e.has_sib ? 1 : 0) + g->e.disp_size + 4 + (g->e.npfx) +
              (g->e.w || g->e.rexr || g->e.rexx || g->e.rexb ? 1 : 0);
        break;
    default: /* redundant prefixes and a NOP */
        len = 2 + cd_below(r, 8);
        for (unsigned i = 0; i + 1 < len; i++)
            g->raw[i] = 0x66;
        g->raw[len - 1] = 0x90;
        g->raw_len = len;
    }
    g->fetch_cut = (int8_t)cd_below(r, len);
}

/* A NOP or prefetch with a ModRM operand: no memory access and no fault,
 * whatever the address. */
static void gen_nop_rm(struct cd_gen *g, const struct cd_tmpl *t)
{
    struct cd_rng *r = g->r;
    if (cd_chance(r, 1, 4))
        cd_prefix(g, 0x66);
    cd_opcode(g, t->op);
    cd_modrm_ext(g, t->ext == 0xff ? cd_below(r, 8) : t->ext);
    if (cd_chance(r, 1, 4))
        cd_rm_reg(g, cd_pick_reg(g, 2, 0));
    else
        cd_mem_at(g, cd_chance(r, 1, 2) ? cd_value(r) : cd_pick_addr(g, 8, 0), 0);
}

const struct cd_tmpl cd_tmpl_misc[] = {
    {"lahf", gen_plain, 0x9f, 0, 0, MI_PLAIN, CD_FEAT_LAHF, 0, 0, 0,
     F_SF | F_ZF | F_AF | F_PF | F_CF},
    {"sahf", gen_plain, 0x9e, 0, 0, MI_PLAIN, CD_FEAT_LAHF, 0, 0, F_SF | F_ZF | F_AF | F_PF | F_CF,
     0},
    {"clc", gen_plain, 0xf8, 0, 0, MI_PLAIN, 0, 0, 0, F_CF, 0},
    {"stc", gen_plain, 0xf9, 0, 0, MI_PLAIN, 0, 0, 0, F_CF, 0},
    {"cmc", gen_plain, 0xf5, 0, 0, MI_PLAIN, 0, 0, 0, F_CF, F_CF},
    {"cld", gen_plain, 0xfc, 0, 0, MI_PLAIN, 0, 0, 0, 0, 0},
    {"std", gen_plain, 0xfd, 0, 0, MI_PLAIN, 0, 0, 0, 0, 0},
    {"nop", gen_plain, 0x90, 0, 0, MI_PLAIN, 0, 0, 0, 0, 0},
    {"66 nop", gen_plain, 0x90, 0x66, 0, MI_PLAIN, 0, 0, 0, 0, 0},
    {"pause", gen_plain, 0x90, 0xf3, 0, MI_PLAIN, 0, 0, 0, 0, 0},
    {"nop r/m", gen_nop_rm, 0x11f, 0, 0, MI_NOP_RM, 0, 0, 0, 0, 0},
    {"hint nop 0f19", gen_nop_rm, 0x119, 0xff, 0, MI_NOP_RM, 0, 0, 0, 0, 0},
    {"hint nop 0f1c", gen_nop_rm, 0x11c, 0xff, 0, MI_NOP_RM, 0, 0, 0, 0, 0},
    {"hint nop 0f1d", gen_nop_rm, 0x11d, 0xff, 0, MI_NOP_RM, 0, 0, 0, 0, 0},
    {"prefetchw", gen_nop_rm, 0x10d, 1, 0, MI_NOP_RM, CD_FEAT_PRFCHW, 0, 0, 0, 0},
    {"ud2", gen_plain, 0x10b, 0, 0, MI_PLAIN, 0, CD_T_NOSEQ, 0, 0, 0},
    {"lfence", gen_fence, 0, 5, 0, MI_PLAIN, 0, 0, 0, 0, 0},
    {"mfence", gen_fence, 0, 6, 0, MI_PLAIN, 0, 0, 0, 0, 0},
    {"sfence", gen_fence, 0, 7, 0, MI_PLAIN, 0, 0, 0, 0, 0},
    {"clflush", gen_fence, 0, 7, 0, MI_RAW, CD_FEAT_CLFSH, 0, 0, 0, 0},
    {"mov r/m,sreg", gen_mov_sreg, 0x8c, 0, 0, MI_PLAIN, 0, 0, 0, 0, 0},
    {"int 3", gen_int3, 0xcd, 0, 0, MI_PLAIN, 0, CD_T_NOSEQ, 0, 0, 0},
    {"fetch fault", gen_fetch, 0, 0, 0, MI_RAW, 0, CD_T_NOSEQ, 0, F_ALL, 0},
    {0},
};

/* ---- the invalid family ------------------------------------------------ */

/* Byte patterns; 'M' marks a ModRM byte that gets a register operand
 * (mod 11, random reg/rm) unless the row says it needs memory. */
struct bad {
    const char *name;
    uint8_t len;
    uint8_t bytes[8];
    int8_t modrm_at; /* index of a ModRM byte to randomize (-1: none) */
    uint8_t mem;     /* the ModRM names [RBX] (RBX is set to a data address) */
};

static const struct bad bad_list[] = {
    {"push es", 1, {0x06}, -1, 0},
    {"pop es", 1, {0x07}, -1, 0},
    {"push cs", 1, {0x0e}, -1, 0},
    {"push ss", 1, {0x16}, -1, 0},
    {"pop ss", 1, {0x17}, -1, 0},
    {"push ds", 1, {0x1e}, -1, 0},
    {"pop ds", 1, {0x1f}, -1, 0},
    {"daa", 1, {0x27}, -1, 0},
    {"das", 1, {0x2f}, -1, 0},
    {"aaa", 1, {0x37}, -1, 0},
    {"aas", 1, {0x3f}, -1, 0},
    {"pusha", 1, {0x60}, -1, 0},
    {"popa", 1, {0x61}, -1, 0},
    {"82 /r ib", 3, {0x82, 0xc0, 0x01}, 1, 0},
    {"call far", 7, {0x9a, 1, 2, 3, 4, 5, 6}, -1, 0},
    {"into", 1, {0xce}, -1, 0},
    {"aam", 2, {0xd4, 0x0a}, -1, 0},
    {"aad", 2, {0xd5, 0x0a}, -1, 0},
    {"salc", 1, {0xd6}, -1, 0},
    {"jmp far", 7, {0xea, 1, 2, 3, 4, 5, 6}, -1, 0},
    {"ud2", 2, {0x0f, 0x0b}, -1, 0},
    {"ud1", 3, {0x0f, 0xb9, 0xc0}, 2, 0},
    {"lock nop", 2, {0xf0, 0x90}, -1, 0},
    {"lock add r,r", 3, {0xf0, 0x01, 0xc0}, 2, 0},
    {"lock mov m,r", 3, {0xf0, 0x89, 0x03}, -1, 1},
    {"lock mov r,m", 3, {0xf0, 0x8b, 0x03}, -1, 1},
    {"lock cmp m,r", 3, {0xf0, 0x39, 0x03}, -1, 1},
    {"lock test m,r", 3, {0xf0, 0x85, 0x03}, -1, 1},
    {"lock bt m,r", 4, {0xf0, 0x0f, 0xa3, 0x03}, -1, 1},
    {"lock inc r", 3, {0xf0, 0xff, 0xc0}, -1, 0},
    {"lea r,r", 2, {0x8d, 0xc0}, 1, 0},
    {"cmpxchg8b r", 3, {0x0f, 0xc7, 0xc8}, -1, 0},
    {"movbe r,r", 4, {0x0f, 0x38, 0xf0, 0xc0}, 3, 0},
    {"c6 /1", 3, {0xc6, 0xc8, 0x01}, -1, 0},
    {"fe /2", 2, {0xfe, 0xd0}, -1, 0},
    {"ff /7", 2, {0xff, 0xf8}, -1, 0},
    {"jmp far r", 2, {0xff, 0xe8}, -1, 0},
    {"call far r", 2, {0xff, 0xd8}, -1, 0},
    {"0f 04", 2, {0x0f, 0x04}, -1, 0},
    {"0f 0a", 2, {0x0f, 0x0a}, -1, 0},
    {"0f 0c", 2, {0x0f, 0x0c}, -1, 0},
    {"0f 24", 3, {0x0f, 0x24, 0xc0}, -1, 0},
    {"0f 36", 2, {0x0f, 0x36}, -1, 0},
    {"0f 39", 2, {0x0f, 0x39}, -1, 0},
    {"0f a6", 3, {0x0f, 0xa6, 0xc0}, -1, 0},
    {"0f a7", 3, {0x0f, 0xa7, 0xc0}, -1, 0},
};

static void gen_bad(struct cd_gen *g, const struct cd_tmpl *t)
{
    struct cd_rng *r = g->r;
    (void)t;
    const struct bad *b = &bad_list[cd_below(r, sizeof(bad_list) / sizeof(bad_list[0]))];
    memcpy(g->raw, b->bytes, b->len);
    g->raw_len = b->len;
    if (b->modrm_at >= 0)
        g->raw[b->modrm_at] = (uint8_t)(0xc0 | cd_below(r, 64));
    if (b->mem)
        cd_req_reg(g, R_RBX, CD_DATA + cd_below(r, CD_DATA_SIZE - 16));
}

/* Redundant prefixes in front of ADD EAX, EAX: 15 bytes in all is the
 * limit, 16 is #GP(0) on hardware. */
static void gen_toolong(struct cd_gen *g, const struct cd_tmpl *t)
{
    static const uint8_t pfx[] = {0x2e, 0x3e, 0x26, 0x36, 0x66, 0x67, 0xf2};
    (void)t;
    unsigned n = cd_chance(g->r, 1, 2) ? 13 : 14;
    for (unsigned i = 0; i < n; i++)
        g->raw[i] = pfx[cd_below(g->r, sizeof(pfx))];
    g->raw[n] = 0x01;
    g->raw[n + 1] = 0xc0;
    g->raw_len = n + 2;
}

/* What user mode may not do: #GP(0) at CPL 3 with IOPL 0 (HLT CLI STI,
 * port I/O), INT n through a gate user mode may not use (#GP with the
 * IDT-entry error code; 3 and 4 are Linux's user gates, 0x80 a system
 * call: not these), far JMP/CALL through unusable selectors. */
static void gen_priv(struct cd_gen *g, const struct cd_tmpl *t)
{
    struct cd_rng *r = g->r;
    static const uint8_t plain[] = {0xf4, 0xfa, 0xfb, 0xec, 0xed, 0xee,
                                    0xef, 0x6c, 0x6d, 0x6e, 0x6f};
    (void)t;
    switch (cd_below(r, 4)) {
    case 0:
    case 1:
        g->raw[0] = plain[cd_below(r, sizeof(plain))];
        g->raw_len = 1;
        if (g->raw[0] >= 0x6c && g->raw[0] <= 0x6f) { /* INS/OUTS: sane RSI/RDI anyway */
            cd_req_reg(g, R_RSI, CD_DATA + 64);
            cd_req_reg(g, R_RDI, CD_DATA + 64);
        }
        break;
    case 2: { /* IN/OUT imm8 */
        static const uint8_t io[] = {0xe4, 0xe5, 0xe6, 0xe7};
        g->raw[0] = io[cd_below(r, 4)];
        g->raw[1] = (uint8_t)cd_rand(r);
        g->raw_len = 2;
        break;
    }
    default: { /* INT n, or a far JMP/CALL m16:32 to a null, LDT or data selector */
        if (cd_chance(r, 1, 2)) {
            unsigned n;
            do
                n = cd_below(r, 256);
            while (n == 3 || n == 4 || n == 0x80);
            g->raw[0] = 0xcd;
            g->raw[1] = (uint8_t)n;
            g->raw_len = 2;
            break;
        }
        static const uint16_t sel[] = {0, 3, 0x2b, 0x2c, 0x1f, 0xfff8};
        uint8_t ptr[6];
        uint32_t off = (uint32_t)(CD_ENTRY - 8);
        uint16_t sv = sel[cd_below(r, 6)];
        uint64_t a = CD_DATA + cd_below(r, CD_DATA_SIZE - 8);
        memcpy(ptr, &off, 4);
        memcpy(ptr + 4, &sv, 2);
        cd_req_reg(g, R_RBX, a);
        cd_req_mem(g, a, ptr, 6);
        g->raw[0] = 0xff;
        g->raw[1] = cd_chance(r, 1, 2) ? 0x2b : 0x1b; /* /5 or /3, [rbx] */
        g->raw_len = 2;
    }
    }
}

/* A memory operand at a non-canonical address: #GP(0), or #SS(0) through
 * RSP (the emulator must not take these for page faults). */
static void gen_noncanonical(struct cd_gen *g, const struct cd_tmpl *t)
{
    struct cd_rng *r = g->r;
    static const uint8_t forms[][3] = {
        {0x48, 0x8b, 0x03}, /* mov rax, [rbx] */
        {0x48, 0x89, 0x03}, /* mov [rbx], rax */
        {0x01, 0x03, 0x90}, /* add [rbx], eax */
        {0x50, 0x90, 0x90}, /* push rax (RSP non-canonical) */
    };
    (void)t;
    uint64_t v = cd_rand(r); /* bits 47-63 not all equal: */
    if (cd_chance(r, 1, 2))
        v = (v & ((1ULL << 47) - 1)) | 1ULL << 47; /* bit 47 set, 48-63 clear */
    else
        v = (v | 1ULL << 63) & ~(1ULL << 47); /* bit 63 set, 47 clear */
    unsigned f = cd_below(r, 4);
    memcpy(g->raw, forms[f], 3);
    g->raw_len = f == 3 ? 1 : f == 2 ? 2 : 3;
    cd_req_reg(g, f == 3 ? R_RSP : R_RBX, v);
}

const struct cd_tmpl cd_tmpl_invalid[] = {
    {"invalid encoding", gen_bad, 0, 0, 0, MI_RAW, 0, CD_T_NOSEQ, 0, 0, 0},
    {"too long", gen_toolong, 0, 0, 0, MI_RAW, 0, CD_T_NOSEQ, 0, 0, 0},
    {"privileged", gen_priv, 0, 0, 0, MI_RAW, 0, CD_T_NOSEQ, 0, 0, 0},
    {"non-canonical", gen_noncanonical, 0, 0, 0, MI_RAW, 0, CD_T_NOSEQ, 0, 0, 0},
    {0},
};
