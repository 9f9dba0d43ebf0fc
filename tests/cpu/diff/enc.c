/* cpudiff: random numbers, the x86-64 encoder and the operand helpers
 * templates build instructions with (see gen.h). */
#include <string.h>

#include "gen.h"

/* ---- random numbers ---------------------------------------------------- */

static uint64_t splitmix(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

void cd_rng_seed(struct cd_rng *r, uint64_t a, uint64_t b, uint64_t c)
{
    uint64_t x = a * 0x100000001b3ULL ^ (b << 40) ^ (c * 0xff51afd7ed558ccdULL);
    for (int i = 0; i < 4; i++)
        r->s[i] = splitmix(&x);
}

static inline uint64_t rotl(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

uint64_t cd_rand(struct cd_rng *r)
{
    uint64_t *s = r->s;
    uint64_t result = rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

uint64_t cd_value(struct cd_rng *r)
{
    static const uint64_t edge[] = {
        0,
        1,
        2,
        ~0ULL,
        0x8000000000000000ULL,
        0x7fffffffffffffffULL,
        0x80000000ULL,
        0x7fffffffULL,
        0xffffffffULL,
        0x8000,
        0x7fff,
        0xffff,
        0x80,
        0x7f,
        0xff,
        0x100,
    };
    unsigned k = cd_below(r, 20);
    uint64_t garbage = cd_rand(r);
    if (k < 6)
        return edge[cd_below(r, sizeof(edge) / sizeof(edge[0]))];
    if (k < 8) /* an edge value of a narrower size, with garbage above it */
        return (garbage & ~0xffffffffULL) | edge[6 + cd_below(r, 10)];
    if (k < 9)
        return 1ULL << cd_below(r, 64);
    if (k < 10)
        return (1ULL << cd_below(r, 64)) - 1;
    if (k < 12)
        return cd_below(r, 256);
    if (k < 13)
        return -(uint64_t)cd_below(r, 256);
    return garbage;
}

/* ---- encoder ----------------------------------------------------------- */

void cd_fixup_add(struct cd_fixups *fx, int kind, int unit, unsigned pos, uint64_t base)
{
    if (fx->n >= sizeof(fx->f) / sizeof(fx->f[0])) {
        fx->overflow = true;
        return;
    }
    fx->f[fx->n++] = (struct cd_fix){.kind = kind, .unit = unit, .pos = pos, .base = base};
}

static void put_le(uint8_t *p, uint64_t v, unsigned n)
{
    for (unsigned i = 0; i < n; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

unsigned cd_encode(const struct cd_enc *e, uint64_t at, uint8_t *out, struct cd_fixups *fx,
                   unsigned out_off)
{
    unsigned n = 0;
    for (unsigned i = 0; i < e->npfx; i++)
        out[n++] = e->pfx[i];
    uint8_t rex = 0x40 | e->w << 3 | e->rexr << 2 | e->rexx << 1 | e->rexb;
    if (!e->no_rex && (rex != 0x40 || e->force_rex))
        out[n++] = rex;
    if (e->map >= 1)
        out[n++] = 0x0f;
    if (e->map == 2)
        out[n++] = 0x38;
    if (e->map == 3)
        out[n++] = 0x3a;
    out[n++] = e->opc;
    if (e->has_modrm) {
        out[n++] = (uint8_t)(e->mod << 6 | (e->reg & 7) << 3 | (e->rm & 7));
        if (e->has_sib)
            out[n++] = (uint8_t)(e->scale << 6 | (e->index & 7) << 3 | (e->base & 7));
    }
    unsigned disp_pos = n;
    put_le(out + n, (uint64_t)(int64_t)e->disp, e->disp_size);
    n += e->disp_size;
    put_le(out + n, e->imm, e->imm_size);
    n += e->imm_size;
    put_le(out + n, e->imm2, e->imm2_size);
    n += e->imm2_size;
    unsigned rel_pos = n;
    n += e->rel_size;
    if (e->riprel)
        put_le(out + disp_pos, e->rip_target - (at + n), 4);
    if (e->rel_size) {
        if (e->rel.unit >= 0) {
            cd_fixup_add(fx, e->rel_size == 1 ? CD_FIX_REL8 : CD_FIX_REL32, e->rel.unit,
                         out_off + rel_pos, at + n);
        } else {
            int64_t d = (int64_t)(e->rel.addr - (at + n));
            if (e->rel_size == 1 && (d < -128 || d > 127))
                return 0;
            put_le(out + rel_pos, (uint64_t)d, e->rel_size);
        }
    }
    return n;
}

/* ---- operand helpers ----------------------------------------------------- */

void cd_prefix(struct cd_gen *g, uint8_t p)
{
    if (g->e.npfx < sizeof(g->e.pfx))
        g->e.pfx[g->e.npfx++] = p;
}

void cd_opcode(struct cd_gen *g, unsigned op)
{
    g->e.map = (uint8_t)(op >> 8);
    g->e.opc = (uint8_t)op;
}

void cd_opsize(struct cd_gen *g, unsigned osz)
{
    g->byteop = osz == 0;
    if (osz == 1)
        cd_prefix(g, 0x66);
    if (osz == 3)
        g->e.w = true;
    if (osz == 0) {
        g->legacy8 = cd_chance(g->r, 1, 2);
        g->e.no_rex = g->legacy8;
        if (!g->legacy8 && cd_chance(g->r, 1, 8))
            g->e.force_rex = true; /* a REX with no bits still selects SPL..DIL */
    }
}

unsigned cd_osz(struct cd_gen *g, unsigned sizes)
{
    unsigned pick[4], n = 0;
    for (unsigned i = 0; i < 4; i++)
        if (sizes & (1u << i))
            pick[n++] = i;
    unsigned osz = n ? pick[cd_below(g->r, n)] : 2;
    cd_opsize(g, osz);
    return osz;
}

uint32_t cd_regbit(unsigned reg)
{
    return 1u << (reg >= R_AH ? reg - R_AH : reg);
}

unsigned cd_pick_reg(struct cd_gen *g, unsigned osz, uint32_t avoid)
{
    for (int tries = 0; tries < 200; tries++) {
        unsigned reg;
        if (osz == 0 && g->legacy8) {
            reg = cd_below(g->r, 8);
            if (reg >= 4)
                reg = R_AH + reg - 4;
        } else {
            reg = cd_below(g->r, 16);
        }
        if (cd_regbit(reg) & avoid)
            continue;
        if (reg == R_RSP && cd_chance(g->r, 3, 4))
            continue; /* keep RSP an operand, but a rarer one */
        return reg;
    }
    g->reject = true;
    return R_RAX;
}

/* 3-bit field and extension bit of a register operand. */
static unsigned reg_field(struct cd_gen *g, unsigned reg, uint8_t *ext)
{
    if (reg >= R_AH) {
        *ext = 0;
        return reg - R_AH + 4;
    }
    *ext = reg >> 3;
    if (g->byteop && reg >= 4 && reg < 8)
        g->e.force_rex = true;
    return reg & 7;
}

void cd_modrm_reg(struct cd_gen *g, unsigned reg)
{
    g->e.has_modrm = true;
    g->e.reg = (uint8_t)reg_field(g, reg, &g->e.rexr);
}

void cd_modrm_ext(struct cd_gen *g, unsigned ext)
{
    g->e.has_modrm = true;
    g->e.reg = (uint8_t)ext;
}

void cd_rm_reg(struct cd_gen *g, unsigned reg)
{
    g->e.has_modrm = true;
    g->e.mod = 3;
    g->e.rm = (uint8_t)reg_field(g, reg, &g->e.rexb);
}

void cd_opreg(struct cd_gen *g, unsigned reg)
{
    g->e.opc = (uint8_t)((g->e.opc & ~7u) | reg_field(g, reg, &g->e.rexb));
}

void cd_imm(struct cd_gen *g, unsigned size, uint64_t v)
{
    g->e.imm_size = (uint8_t)size;
    g->e.imm = v;
}

void cd_imm2(struct cd_gen *g, unsigned size, uint64_t v)
{
    g->e.imm2_size = (uint8_t)size;
    g->e.imm2 = v;
}

void cd_rel(struct cd_gen *g, unsigned rel_size, struct cd_target t)
{
    g->e.rel_size = (uint8_t)rel_size;
    g->e.rel = t;
}

/* ---- requirements ------------------------------------------------------ */

static struct cd_req *find_reg_req(struct cd_gen *g, unsigned reg)
{
    for (unsigned i = 0; i < g->nreq; i++)
        if (g->req[i].kind == CD_REQ_REG && g->req[i].reg == reg)
            return &g->req[i];
    return NULL;
}

static struct cd_req *new_req(struct cd_gen *g)
{
    if (g->nreq >= CD_MAX_REQ) {
        g->reject = true;
        return &g->req[0];
    }
    struct cd_req *q = &g->req[g->nreq++];
    memset(q, 0, sizeof(*q));
    q->tgt_unit = -1;
    return q;
}

void cd_req_reg(struct cd_gen *g, unsigned reg, uint64_t value)
{
    if (reg >= R_AH)
        reg -= R_AH;
    struct cd_req *q = find_reg_req(g, reg);
    if (q) {
        if (q->value != value || q->tgt_unit >= 0)
            g->reject = true;
        return;
    }
    q = new_req(g);
    q->kind = CD_REQ_REG;
    q->reg = (uint8_t)reg;
    q->value = value;
    g->claimed |= 1u << reg;
}

void cd_req_reg_target(struct cd_gen *g, unsigned reg, struct cd_target t)
{
    if (find_reg_req(g, reg)) {
        g->reject = true;
        return;
    }
    cd_req_reg(g, reg, t.addr);
    if (t.unit >= 0)
        find_reg_req(g, reg)->tgt_unit = t.unit;
}

bool cd_req_value(const struct cd_gen *g, unsigned reg, uint64_t *v)
{
    for (unsigned i = 0; i < g->nreq; i++)
        if (g->req[i].kind == CD_REQ_REG && g->req[i].reg == reg && g->req[i].tgt_unit < 0) {
            *v = g->req[i].value;
            return true;
        }
    return false;
}

void cd_req_mem(struct cd_gen *g, uint64_t addr, const void *bytes, unsigned len)
{
    const uint8_t *b = bytes;
    /* Only the part inside the data area: the rest is guard space. */
    while (len && addr < CD_DATA) {
        addr++, b++, len--;
    }
    if (addr >= CD_DATA_END)
        return;
    if (addr + len > CD_DATA_END)
        len = (unsigned)(CD_DATA_END - addr);
    if (!len)
        return;
    if (g->mlen + len > sizeof(g->mbuf)) {
        g->reject = true;
        return;
    }
    struct cd_req *q = new_req(g);
    q->kind = CD_REQ_MEM;
    q->addr = addr;
    q->len = (uint16_t)len;
    q->at = (uint16_t)g->mlen;
    memcpy(g->mbuf + g->mlen, b, len);
    g->mlen += len;
}

void cd_req_xmm(struct cd_gen *g, unsigned reg, const uint8_t bytes[16])
{
    /* In a sequence, half of the time what earlier units computed flows on. */
    if (g->unit > 0 && cd_chance(g->r, 1, 2))
        return;
    for (unsigned i = 0; i < g->nreq; i++)
        if (g->req[i].kind == CD_REQ_XMM && g->req[i].reg == reg)
            return; /* the first value stands */
    if (g->mlen + 16 > sizeof(g->mbuf)) {
        g->reject = true;
        return;
    }
    struct cd_req *q = new_req(g);
    q->kind = CD_REQ_XMM;
    q->reg = (uint8_t)reg;
    q->len = 16;
    q->at = (uint16_t)g->mlen;
    memcpy(g->mbuf + g->mlen, bytes, 16);
    g->mlen += 16;
}

void cd_req_mm(struct cd_gen *g, unsigned reg, uint64_t value)
{
    for (unsigned i = 0; i < g->nreq; i++)
        if (g->req[i].kind == CD_REQ_MM && g->req[i].reg == reg)
            return;
    struct cd_req *q = new_req(g);
    q->kind = CD_REQ_MM;
    q->reg = (uint8_t)reg;
    q->value = value;
}

void cd_req_mem_target(struct cd_gen *g, uint64_t addr, struct cd_target t)
{
    uint64_t v = t.addr;
    if (addr < CD_DATA || addr + 8 > CD_DATA_END) {
        g->reject = true;
        return;
    }
    cd_req_mem(g, addr, &v, 8);
    if (t.unit >= 0 && !g->reject)
        g->req[g->nreq - 1].tgt_unit = t.unit;
}

/* ---- memory operands ----------------------------------------------------- */

static unsigned pick_addr_reg(struct cd_gen *g, uint32_t avoid)
{
    for (int tries = 0; tries < 100; tries++) {
        unsigned reg = cd_below(g->r, g->e.no_rex ? 8 : 16);
        if (!((1u << reg) & (avoid | g->claimed)))
            return reg;
    }
    g->reject = true;
    return 0;
}

static void set_disp(struct cd_gen *g, unsigned size, int32_t disp)
{
    g->e.disp_size = (uint8_t)size;
    g->e.disp = disp;
}

void cd_mem_at(struct cd_gen *g, uint64_t addr, unsigned mflags)
{
    struct cd_enc *e = &g->e;
    struct cd_rng *r = g->r;
    bool a32 = !(mflags & CD_M_NOA32) && cd_chance(r, 1, 10);
    unsigned form = cd_below(r, 10);
    e->has_modrm = true;
    if (a32)
        cd_prefix(g, 0x67);
    if (form == 0 && (mflags & CD_M_NORIP))
        form = 3;
    if (form == 0) { /* RIP-relative */
        e->mod = 0;
        e->rm = 5;
        e->riprel = true;
        e->rip_target = addr;
        set_disp(g, 4, 0);
        return;
    }
    if (form == 1) { /* [disp32]: SIB with no base and no index */
        e->mod = 0;
        e->rm = 4;
        e->has_sib = true;
        e->base = 5;
        e->index = 4;
        e->scale = (uint8_t)cd_below(r, 4);
        set_disp(g, 4, (int32_t)addr);
        return;
    }
    bool has_base = form != 2;
    bool has_index = form == 2 || form >= 6;
    unsigned base = 0, index = 0, scale = 0;
    uint64_t ival = 0;
    if (has_index) {
        index = pick_addr_reg(g, 1u << R_RSP);
        scale = cd_below(r, 4);
        ival = (uint64_t)(int64_t)((int)cd_below(r, 2048) - 1024);
    }
    if (has_base)
        base = pick_addr_reg(g, has_index ? 1u << index : 0);
    if (g->reject)
        return;
    /* The displacement: none, 8-bit or 32-bit. */
    unsigned dsize = has_base ? (unsigned[]){0, 1, 4}[cd_below(r, 3)] : 4;
    if (has_base && dsize == 0 && (base & 7) == 5)
        dsize = 1; /* mod 00 with base RBP/R13 means disp32 alone */
    int32_t disp = 0;
    if (dsize == 1)
        disp = (int8_t)cd_rand(r);
    else if (dsize == 4)
        disp = cd_chance(r, 1, 2) ? (int32_t)cd_rand(r) : (int32_t)cd_below(r, 0x20000) - 0x10000;
    if (!has_base)
        disp = (int32_t)(addr - (ival << scale));
    set_disp(g, dsize, disp);
    e->mod = dsize == 0 ? 0 : dsize == 1 ? 1 : 2;
    if (!has_base)
        e->mod = 0;
    if (has_index || (base & 7) == 4 || !has_base) {
        e->rm = 4;
        e->has_sib = true;
        e->scale = (uint8_t)scale;
        e->index = has_index ? (uint8_t)(index & 7) : 4;
        e->rexx = has_index ? (uint8_t)(index >> 3) : 0;
        e->base = has_base ? (uint8_t)(base & 7) : 5;
        e->rexb = (uint8_t)(base >> 3);
    } else {
        e->rm = (uint8_t)(base & 7);
        e->rexb = (uint8_t)(base >> 3);
    }
    uint64_t bval = addr - (uint64_t)(int64_t)disp - (has_index ? ival << scale : 0);
    if (a32) { /* 32-bit address arithmetic ignores the upper halves */
        bval = (cd_rand(r) & ~0xffffffffULL) | (uint32_t)bval;
        ival = (cd_rand(r) & ~0xffffffffULL) | (uint32_t)ival;
    }
    if (has_index)
        cd_req_reg(g, index, ival);
    if (has_base)
        cd_req_reg(g, base, bval);
}

uint64_t cd_pick_addr(struct cd_gen *g, unsigned size, unsigned mflags)
{
    struct cd_rng *r = g->r;
    uint64_t a;
    if (!size)
        size = 1;
    if (!(mflags & CD_M_NOFAULT) && cd_chance(r, 1, 24)) {
        switch (cd_below(r, 3)) {
        case 0: /* straddles the end of the data area, or just past it */
            a = CD_DATA_END - cd_below(r, size);
            break;
        case 1: /* ends in the low guard */
            a = CD_DATA - 1 - cd_below(r, size);
            break;
        default:
            a = CD_DATA_END + cd_below(r, 0x200);
        }
        if (mflags & CD_M_ALIGN)
            a = a >= CD_DATA_END ? (a & ~(uint64_t)(size - 1)) : CD_DATA - size;
    } else {
        a = CD_DATA + cd_below(r, CD_DATA_SIZE - size + 1);
        if ((mflags & CD_M_ALIGN) || cd_chance(r, 1, 2))
            a &= ~(uint64_t)(size - 1);
        else if (cd_chance(r, 1, 8)) /* across the page boundary inside the area */
            a = CD_DATA + 0x1000 - 1 - cd_below(r, size - (size > 1));
    }
    return a;
}

uint64_t cd_mem(struct cd_gen *g, unsigned size, unsigned mflags)
{
    uint64_t a = cd_pick_addr(g, size, mflags);
    cd_mem_at(g, a, mflags);
    return a;
}

uint64_t cd_rm(struct cd_gen *g, unsigned osz, bool mem, unsigned mflags, uint32_t avoid)
{
    if (mem)
        return cd_mem(g, 1u << osz, mflags);
    cd_rm_reg(g, cd_pick_reg(g, osz, avoid));
    return 0;
}

/* ---- branch targets ------------------------------------------------------ */

static uint64_t pad_in(struct cd_rng *r, uint64_t lo, uint64_t hi)
{
    return lo + cd_below(r, (unsigned)(hi - lo));
}

struct cd_target cd_branch_target(struct cd_gen *g, unsigned rel_size)
{
    struct cd_rng *r = g->r;
    struct cd_target t = {.unit = -1};
    bool single = g->nunits == 1;
    if (cd_chance(r, 1, single ? 8 : 2) || (!single && rel_size == 1)) {
        t.unit = (int8_t)(g->unit + 1 + cd_below(r, g->nunits - g->unit));
        g->tgt_unit = t.unit;
        return t;
    }
    bool low = cd_chance(r, 1, 2);
    if (single && rel_size != 1 && cd_chance(r, 1, 24)) {
        /* Unmapped: the fetch at the target faults, with RIP = target. */
        t.addr =
            low ? CD_CODE - 1 - cd_below(r, 0x1000) : CD_CODE + CD_CODE_SIZE + cd_below(r, 0x1000);
        return t;
    }
    if (rel_size == 1)
        t.addr =
            low ? pad_in(r, CD_ENTRY - 100, CD_ENTRY) : pad_in(r, CD_ENTRY + 16, CD_ENTRY + 110);
    else if (single)
        t.addr =
            low ? pad_in(r, CD_CODE, CD_ENTRY) : pad_in(r, CD_ENTRY + 16, CD_CODE + CD_CODE_SIZE);
    else
        t.addr = low ? pad_in(r, CD_CODE, CD_ENTRY) : pad_in(r, CD_PAD_HI, CD_CODE + CD_CODE_SIZE);
    g->pad = t.addr;
    return t;
}

void cd_fault_zone_below(struct cd_gen *g, uint64_t sp)
{
    g->fz_lo = CD_DATA;
    g->fz_hi = sp < CD_DATA ? CD_DATA : sp > CD_DATA_END ? CD_DATA_END : sp;
}

uint32_t cd_cc_reads(unsigned cc)
{
    static const uint32_t reads[8] = {
        F_OF, F_CF, F_ZF, F_CF | F_ZF, F_SF, F_PF, F_SF | F_OF, F_ZF | F_SF | F_OF,
    };
    return reads[(cc >> 1) & 7];
}
