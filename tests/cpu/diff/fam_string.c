/* cpudiff templates: string instructions. MOVS CMPS STOS LODS SCAS in all
 * sizes, without and with REP/REPE/REPNE, DF set or clear (from the
 * initial flags), small counts (and now and then a large one that runs
 * into a guard page and faults mid-way), 32-bit addressing with garbage
 * in the upper halves, segment prefixes that 64-bit mode ignores. For
 * REPE/REPNE the data is arranged so that the compare stops part-way. */
#include <string.h>

#include "gen.h"

#define SPAN 96 /* bytes either side of RSI/RDI the ops may touch (12 x 8) */

static bool has_src(unsigned op)
{
    return op == 0xa4 || op == 0xa6 || op == 0xac;
}

static bool has_dst(unsigned op)
{
    return op != 0xac;
}

static bool compares(unsigned op)
{
    return op == 0xa6 || op == 0xae;
}

/* An index register value: usually room either way, sometimes near a guard. */
static uint64_t str_ptr(struct cd_rng *r)
{
    if (cd_chance(r, 1, 16))
        return cd_chance(r, 1, 2) ? CD_DATA + cd_below(r, 24) : CD_DATA_END - cd_below(r, 24);
    return CD_DATA + SPAN + cd_below(r, CD_DATA_SIZE - 2 * SPAN);
}

static void gen_string(struct cd_gen *g, const struct cd_tmpl *t)
{
    struct cd_rng *r = g->r;
    unsigned op = t->op;
    unsigned osz = cd_osz(g, t->sizes);
    unsigned size = 1u << osz;
    unsigned rep = cd_below(r, 3); /* 0: none, 1: F3, 2: F2 */
    if (rep == 2 && !compares(op))
        rep = 1;
    if (rep)
        cd_prefix(g, rep == 1 ? 0xf3 : 0xf2);
    bool a32 = cd_chance(r, 1, 6);
    if (a32)
        cd_prefix(g, 0x67);
    if (cd_chance(r, 1, 8)) /* segment overrides 64-bit mode ignores */
        cd_prefix(g, (uint8_t[]){0x2e, 0x3e, 0x26, 0x36}[cd_below(r, 4)]);
    cd_opcode(g, op + (osz ? 1 : 0));
    uint64_t hi = a32 ? cd_rand(r) & ~0xffffffffULL : 0;
    uint64_t count = cd_chance(r, 1, 8) ? 0 : 1 + cd_below(r, 12);
    if (cd_chance(r, 1, 32))
        count = cd_value(r) | 0x1000; /* runs until a guard page faults */
    uint64_t si = str_ptr(r), di = str_ptr(r);
    cd_req_reg(g, R_RCX, hi | (a32 ? (uint32_t)count : count));
    if (has_src(op))
        cd_req_reg(g, R_RSI, (a32 ? cd_rand(r) & ~0xffffffffULL : 0) | si);
    if (has_dst(op))
        cd_req_reg(g, R_RDI, (a32 ? cd_rand(r) & ~0xffffffffULL : 0) | di);
    /* Flags: CMPS/SCAS define them unless the count is 0 (conservatively: none). */
    g->defines = compares(op) && !rep ? F_ALL : 0;
    if (!compares(op) || !rep || (g->seq && g->unit > 0))
        return;
    /* REPE/REPNE: make the compared data mostly equal (REPE) or mostly
     * different with a match somewhere (REPNE). */
    uint64_t v = cd_value(r);
    uint8_t buf[2 * SPAN];
    unsigned stop = cd_below(r, 2 * SPAN / size) * size;
    if (op == 0xa6) { /* CMPS: the two regions alike, one difference */
        for (unsigned i = 0; i < sizeof(buf); i++)
            buf[i] = (uint8_t)cd_rand(r);
        cd_req_mem(g, si - SPAN, buf, sizeof(buf));
        if (rep == 1)
            buf[stop] ^= 1 + cd_below(r, 255);
        cd_req_mem(g, di - SPAN, buf, sizeof(buf));
        return;
    }
    cd_req_reg(g, R_RAX, v); /* SCAS: the element AL/AX/EAX/RAX */
    for (unsigned i = 0; i < sizeof(buf); i += size) {
        uint64_t e = rep == 1 ? v : cd_rand(r);
        memcpy(buf + i, &e, size);
    }
    uint64_t other = rep == 1 ? ~v : v;
    memcpy(buf + stop, &other, size);
    cd_req_mem(g, di - SPAN, buf, sizeof(buf));
}

const struct cd_tmpl cd_tmpl_string[] = {
    {"movs", gen_string, 0xa4, 0, 0xf, 0, 0, 0, 0, 0, 0},
    {"cmps", gen_string, 0xa6, 0, 0xf, 0, 0, 0, 0, F_ALL, 0},
    {"stos", gen_string, 0xaa, 0, 0xf, 0, 0, 0, 0, 0, 0},
    {"lods", gen_string, 0xac, 0, 0xf, 0, 0, 0, 0, 0, 0},
    {"scas", gen_string, 0xae, 0, 0xf, 0, 0, 0, 0, F_ALL, 0},
    {0},
};
