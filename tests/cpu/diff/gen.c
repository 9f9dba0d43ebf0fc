/* cpudiff: building samples from templates.
 *
 * A sample is a list of units (one, or 2-6 for the seq family). Each unit
 * is a template instance: its requirements become the initial state (unit
 * 0) or flag-neutral MOVs placed before it (later units), then the
 * instruction. The code starts at CD_ENTRY (or, to test instruction
 * fetch faults, just before the end of the code page); the rest of the
 * code page is
 * int3, so the sample ends at the int3 after its last unit, or at the pad
 * a branch went to, or at a fault.
 *
 * Undefined flags: u_in of a unit are the flags earlier units left
 * undefined (along every path: a forward branch to unit k adds its u_out
 * to k's u_in); a template that reads one of them is not chosen there.
 * The comparison masks the undefined flags of the point where the native
 * run stopped (report.c).
 */
#include <cpuid.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gen.h"

#define FAM(n, c)           .name = #n, .tmpl = cd_tmpl_##n, .count = c
#define FPFAM(n, c, tables) FAM(n, c), .fp = true, .emu = tables
const struct cd_family cd_families[] = {
    {FAM(alu, 30000)},
    {FAM(shift, 20000)},
    {FAM(muldiv, 15000)},
    {FAM(bit, 15000)},
    {FAM(move, 25000)},
    {FAM(stack, 12000)},
    {FAM(branch, 12000)},
    {FAM(string, 12000)},
    {FAM(misc, 6000)},
    {FAM(invalid, 3000)},
    {FAM(random, 25000)},
    {.name = "seq", .count = 25000, .seq = true, .src_lo = 0, .src_n = 9},
    /* The x87/MMX/SSE families: new ones go here, before fpseq. */
    {FPFAM(sse_fp, 30000, "sse_fp")},
    {FPFAM(sse_int, 30000, "mmx,sse_int")},
    {FPFAM(sse_move, 15000, "sse_move")},
    {FPFAM(sse_str, 10000, "sse_str")},
    {FPFAM(x87, 30000, "x87")},
    {.name = "fpseq",
     .count = 15000,
     .seq = true,
     .src_lo = 12,
     .src_n = 5,
     .fp = true,
     .emu = "x87,mmx,sse_move,sse_int,sse_fp,sse_str"},
    {FPFAM(fprandom, 15000, "x87,mmx,sse_move,sse_int,sse_fp,sse_str")},
};
const unsigned cd_nfamilies = sizeof(cd_families) / sizeof(cd_families[0]);

bool cd_ignore_emu_cpuid;

int cd_family_built(const struct cd_family *f)
{
    if (!f->emu)
        return 2;
    unsigned have = 0, all = 0;
    for (const char *p = f->emu; *p;) {
        size_t len = strcspn(p, ",");
        char name[32];
        snprintf(name, sizeof(name), "%.*s", (int)len, p);
        all++;
        have += cd_emu_table_built(name);
        p += len + (p[len] == ',');
    }
    return have == all ? 2 : have ? 1 : 0;
}

bool cd_feat_emu[CD_NFEATURES], cd_feat_host[CD_NFEATURES];

void cd_features_init(void)
{
    unsigned a, b, c, d;
    for (unsigned i = 0; i < CD_NFEATURES; i++)
        cd_feat_emu[i] = true; /* until emu.c asks the emulator */
    cd_feat_host[CD_FEAT_NONE] = true;
    if (__get_cpuid(1, &a, &b, &c, &d)) {
        cd_feat_host[CD_FEAT_SSE3] = c & 1;
        cd_feat_host[CD_FEAT_SSSE3] = c >> 9 & 1;
        cd_feat_host[CD_FEAT_SSE41] = c >> 19 & 1;
        cd_feat_host[CD_FEAT_SSE42] = c >> 20 & 1;
        cd_feat_host[CD_FEAT_AES] = c >> 25 & 1;
        cd_feat_host[CD_FEAT_PCLMUL] = c >> 1 & 1;
        cd_feat_host[CD_FEAT_POPCNT] = c >> 23 & 1;
        cd_feat_host[CD_FEAT_MOVBE] = c >> 22 & 1;
        cd_feat_host[CD_FEAT_CX16] = c >> 13 & 1;
        cd_feat_host[CD_FEAT_CLFSH] = d >> 19 & 1;
    }
    if (__get_cpuid(0x80000001, &a, &b, &c, &d)) {
        cd_feat_host[CD_FEAT_LAHF] = c & 1;
        cd_feat_host[CD_FEAT_LZCNT] = c >> 5 & 1;
        cd_feat_host[CD_FEAT_SSE4A] = c >> 6 & 1;
        cd_feat_host[CD_FEAT_PRFCHW] = c >> 8 & 1;
    }
    if (__get_cpuid_count(7, 0, &a, &b, &c, &d))
        cd_feat_host[CD_FEAT_BMI1] = b >> 3 & 1;
}

bool cd_feature_claimed(enum cd_feature f)
{
    return f == CD_FEAT_NONE || cd_feat_emu[f];
}

bool cd_feature_ok(enum cd_feature f)
{
    return f == CD_FEAT_NONE || ((cd_feat_emu[f] || cd_ignore_emu_cpuid) && cd_feat_host[f]);
}

/* The data area's random contents: a window of a fixed random pool, each
 * word mixed with the sample's seed (cheaper than a generator per byte). */
#define POOL_WORDS 8192
static uint64_t pool[POOL_WORDS + CD_DATA_SIZE / 8];

void cd_fill_data(uint8_t *dst, const struct cd_sample *s)
{
    if (!pool[0]) {
        struct cd_rng r;
        cd_rng_seed(&r, 0x5eed, 0, 0);
        for (unsigned i = 0; i < sizeof(pool) / 8; i++)
            pool[i] = cd_rand(&r) | 1;
    }
    const uint64_t *src = pool + (s->data_seed >> 40) % POOL_WORDS;
    uint64_t mix = s->data_seed;
    for (unsigned i = 0; i < CD_DATA_SIZE / 8; i++) {
        uint64_t v = src[i] ^ mix;
        memcpy(dst + 8 * i, &v, 8);
    }
    for (unsigned i = 0; i < s->npatch; i++)
        memcpy(dst + s->patch[i].off, s->patch_bytes + s->patch[i].at, s->patch[i].len);
}

static void init_state(struct cd_rng *r, struct cd_state *st, bool fp)
{
    for (unsigned i = 0; i < 16; i++)
        st->gpr[i] = cd_value(r);
    st->rip = CD_ENTRY;
    uint64_t f = 0x202 | (cd_rand(r) & CD_FLAGS_ARITH);
    if (cd_chance(r, 1, 4))
        f |= X86_FLAG_DF;
    if (cd_chance(r, 1, 8))
        f |= X86_FLAG_ID;
    if (cd_chance(r, 1, 16))
        f |= CD_FLAG_NT;
    st->rflags = f;
    if (fp) {
        cd_fp_state(r, &st->fx);
        return;
    }
    /* The integer families: the x87 as FNINIT leaves it, random XMM. */
    st->fx.fcw = 0x37f;
    st->fx.mxcsr = 0x1f80 | (uint32_t)(cd_rand(r) & 0x3f);
    for (unsigned i = 0; i < 16; i++)
        for (unsigned j = 0; j < 16; j += 8) {
            uint64_t v = cd_rand(r);
            memcpy(&st->fx.xmm[i][j], &v, 8);
        }
}

static unsigned count_rows(const struct cd_tmpl *t)
{
    unsigned n = 0;
    while (t[n].gen)
        n++;
    return n;
}

static const struct cd_tmpl *pick_tmpl(const struct cd_family *f, struct cd_rng *r)
{
    if (f->seq)
        f = &cd_families[f->src_lo + cd_below(r, f->src_n)];
    return &f->tmpl[cd_below(r, count_rows(f->tmpl))];
}

/* Unit 0's requirements: the initial state. */
static bool apply_init(struct cd_sample *s, const struct cd_gen *g, struct cd_fixups *fx)
{
    unsigned used = 0;
    for (unsigned i = 0; i < s->npatch; i++)
        used = s->patch[i].at + s->patch[i].len;
    for (unsigned i = 0; i < g->nreq; i++) {
        const struct cd_req *q = &g->req[i];
        if (q->kind == CD_REQ_REG) {
            s->init.gpr[q->reg] = q->value;
            if (q->tgt_unit >= 0)
                cd_fixup_add(fx, CD_FIX_GPR, q->tgt_unit, q->reg, 0);
            continue;
        }
        if (q->kind == CD_REQ_XMM) {
            memcpy(s->init.fx.xmm[q->reg], g->mbuf + q->at, 16);
            continue;
        }
        if (q->kind == CD_REQ_MM) { /* mmN is physical R(N): ST((N - TOP) & 7) */
            memcpy(s->init.fx.st[(q->reg - CD_FSW_TOP(s->init.fx.fsw)) & 7], &q->value, 8);
            continue;
        }
        if (s->npatch >= CD_MAX_PATCH || used + q->len > CD_PATCH_BYTES)
            return false;
        s->patch[s->npatch++] = (struct cd_patch){
            .off = (uint16_t)(q->addr - CD_DATA), .len = q->len, .at = (uint16_t)used};
        memcpy(s->patch_bytes + used, g->mbuf + q->at, q->len);
        if (q->tgt_unit >= 0)
            cd_fixup_add(fx, CD_FIX_PATCH, q->tgt_unit, used, 0);
        used += q->len;
    }
    return true;
}

static void put_le(uint8_t *p, uint64_t v, unsigned n)
{
    for (unsigned i = 0; i < n; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

/* MOV [abs32], imm32 (or imm8) x len: no flags change. */
static unsigned emit_store(struct cd_sample *s, const uint8_t *bytes, unsigned len, uint64_t addr,
                           const struct cd_req *q, struct cd_fixups *fx, unsigned pos)
{
    uint8_t *c = s->code;
    for (unsigned k = 0; k < len;) {
        bool dword = len - k >= 4;
        uint8_t *c0 = c + pos;
        c0[0] = dword ? 0xc7 : 0xc6;
        c0[1] = 0x04;
        c0[2] = 0x25;
        put_le(c0 + 3, addr + k, 4);
        if (dword) {
            memcpy(c0 + 7, bytes + k, 4);
            if (k == 0 && q && q->tgt_unit >= 0)
                cd_fixup_add(fx, CD_FIX_ABS32, q->tgt_unit, pos + 7, 0);
        } else {
            c0[7] = bytes[k];
        }
        pos += dword ? 11 : 8;
        k += dword ? 4 : 1;
    }
    return pos;
}

/* Where later units stage XMM values: the end of the data area (a memory
 * requirement of the same unit is written afterwards and wins). */
#define XMM_STAGE (CD_DATA_END - 16)

/* A later unit's requirements: MOV r64, imm64 and MOV [abs32], imm32/imm8
 * in front of it, XMM values first as MOVDQU xmm, [abs32] from staged
 * bytes (none of them changes flags or FP state). MM values are dropped.
 * Returns the new position or 0. */
static unsigned emit_setup(struct cd_sample *s, const struct cd_gen *g, struct cd_fixups *fx,
                           unsigned pos)
{
    for (unsigned pass = 0; pass < 2; pass++)
        for (unsigned i = 0; i < g->nreq; i++) {
            const struct cd_req *q = &g->req[i];
            if ((q->kind == CD_REQ_XMM) != (pass == 0) || q->kind == CD_REQ_MM)
                continue;
            if (pos + 16 * (q->kind == CD_REQ_REG ? 1 : q->len) > CD_CODE_MAX - 32)
                return 0;
            uint8_t *c = s->code;
            if (q->kind == CD_REQ_REG) {
                c[pos] = (uint8_t)(0x48 | q->reg >> 3);
                c[pos + 1] = (uint8_t)(0xb8 + (q->reg & 7));
                put_le(c + pos + 2, q->value, 8);
                if (q->tgt_unit >= 0)
                    cd_fixup_add(fx, CD_FIX_ABS64, q->tgt_unit, pos + 2, 0);
                pos += 10;
            } else if (q->kind == CD_REQ_XMM) {
                pos = emit_store(s, g->mbuf + q->at, 16, XMM_STAGE, NULL, fx, pos);
                c[pos++] = 0xf3;
                if (q->reg >= 8)
                    c[pos++] = 0x44;
                c[pos++] = 0x0f;
                c[pos++] = 0x6f;
                c[pos++] = (uint8_t)(0x04 | (q->reg & 7) << 3);
                c[pos++] = 0x25;
                put_le(c + pos, XMM_STAGE, 4);
                pos += 4;
            } else {
                pos = emit_store(s, g->mbuf + q->at, q->len, q->addr, q, fx, pos);
            }
        }
    return pos;
}

static bool resolve_fixups(struct cd_sample *s, const struct cd_fixups *fx)
{
    if (fx->overflow)
        return false;
    for (unsigned i = 0; i < fx->n; i++) {
        const struct cd_fix *f = &fx->f[i];
        uint64_t to = s->init.rip + (f->unit < s->nunits ? s->unit[f->unit].start : s->code_len);
        int64_t d = (int64_t)(to - f->base);
        switch (f->kind) {
        case CD_FIX_REL8:
            if (d < -128 || d > 127)
                return false;
            s->code[f->pos] = (uint8_t)d;
            break;
        case CD_FIX_REL32:
            put_le(s->code + f->pos, (uint64_t)d, 4);
            break;
        case CD_FIX_ABS64:
            put_le(s->code + f->pos, to, 8);
            break;
        case CD_FIX_ABS32:
            put_le(s->code + f->pos, to, 4);
            break;
        case CD_FIX_GPR:
            s->init.gpr[f->pos] = to;
            break;
        case CD_FIX_PATCH:
            put_le(s->patch_bytes + f->pos, to, 8);
            break;
        }
    }
    return true;
}

/* Whether the emulator implements the instance in g: while a family's
 * tables are only partly linked, an encoding its decoder rejects is left
 * to the comparison; for a feature its CPUID does not claim, it is not. */
static bool implemented(const struct cd_gen *g, bool partial)
{
    uint8_t buf[32];
    struct cd_fixups fx = {.n = 0};
    unsigned len = g->raw_len;
    if (len)
        memcpy(buf, g->raw, len);
    else if (!(len = cd_encode(&g->e, CD_ENTRY, buf, &fx, 0)))
        return true;
    int k = cd_emu_implements(buf, len);
    return k > 0 || (k < 0 && partial && !g->unclaimed);
}

/* One instance of a template fit for unit k, in g. */
static bool gen_unit(const struct cd_family *f, struct cd_rng *r, unsigned k, unsigned n,
                     uint32_t u_in, struct cd_gen *g)
{
    bool partial = cd_family_built(f) == 1;
    for (int tries = 0; tries < 500; tries++) {
        const struct cd_tmpl *t = pick_tmpl(f, r);
        if (!cd_feature_ok(t->feature) || (f->seq && (t->tflags & CD_T_NOSEQ)))
            continue;
        memset(g, 0, sizeof(*g));
        g->r = r;
        g->t = t;
        g->unit = k;
        g->nunits = n;
        g->seq = f->seq;
        g->u_in = u_in;
        g->undef = t->undef;
        g->defines = t->defines;
        g->reads = t->reads;
        g->tgt_unit = -1;
        g->fetch_cut = -1;
        g->unclaimed = !cd_feature_claimed(t->feature);
        t->gen(g, t);
        if (g->reject || (g->reads & u_in))
            continue;
        if (k > 0 && (g->mlen > 64 || g->raw_len))
            continue;
        if ((partial || g->unclaimed) && !implemented(g, partial))
            continue;
        return true;
    }
    return false;
}

static bool build_once(unsigned fam, uint64_t seed, uint32_t index, unsigned attempt,
                       struct cd_sample *s)
{
    const struct cd_family *f = &cd_families[fam];
    struct cd_rng r;
    cd_rng_seed(&r, seed, fam + 1, (uint64_t)index << 8 | attempt);
    memset(s, 0, sizeof(*s));
    s->seed = seed;
    s->index = index;
    s->family = (uint8_t)fam;
    init_state(&r, &s->init, f->fp);
    s->data_seed = cd_rand(&r);
    unsigned n = f->seq ? 2 + cd_below(&r, 5) : 1;
    s->nunits = (uint8_t)n;
    static struct cd_gen g;
    struct cd_fixups fx = {.n = 0};
    uint32_t pending[CD_MAX_UNITS + 1] = {0};
    unsigned pos = 0;
    for (unsigned k = 0; k < n; k++) {
        struct cd_unit *u = &s->unit[k];
        u->u_in = (k ? s->unit[k - 1].u_out : 0) | pending[k];
        if (!gen_unit(f, &r, k, n, u->u_in, &g))
            return false;
        u->tmpl = g.t;
        u->start = (uint16_t)pos;
        if (k == 0 ? !apply_init(s, &g, &fx) : !(pos = emit_setup(s, &g, &fx, pos)))
            return false;
        if (pos + 16 > CD_CODE_MAX)
            return false;
        unsigned len = g.raw_len;
        if (len)
            memcpy(s->code + pos, g.raw, len);
        else
            len = cd_encode(&g.e, CD_ENTRY + pos, s->code + pos, &fx, pos);
        if (!len || len > 16)
            return false;
        if (k == 0 && g.fetch_cut >= 0) {
            /* Start so that only fetch_cut bytes lie in the code page: the
             * fetch of the rest faults (n == 1, no relative operands). */
            s->init.rip = CD_CODE + CD_CODE_SIZE - (unsigned)g.fetch_cut;
            if (!g.raw_len)
                cd_encode(&g.e, s->init.rip, s->code, &fx, 0);
        }
        u->insn = (uint16_t)pos;
        u->len = (uint8_t)len;
        u->u_out = (u->u_in & ~g.defines) | g.undef;
        u->pad = g.pad;
        if (g.fz_hi > g.fz_lo) {
            u->fz_lo = (uint16_t)(g.fz_lo - CD_DATA);
            u->fz_hi = (uint16_t)(g.fz_hi - CD_DATA);
        }
        u->fz_fpu = g.fz_fpu;
        if (g.img && g.img_addr >= CD_DATA && g.img_addr < CD_DATA_END) {
            u->img = g.img;
            u->img_off = (uint16_t)(g.img_addr - CD_DATA);
        }
        if (g.tgt_unit >= 0)
            pending[g.tgt_unit] |= u->u_out;
        pos += len;
    }
    s->code_len = (uint16_t)pos;
    s->u_end = s->unit[n - 1].u_out | pending[n];
    return resolve_fixups(s, &fx);
}

void cd_build(unsigned family, uint64_t seed, uint32_t index, struct cd_sample *s)
{
    for (unsigned attempt = 0; attempt < 256; attempt++)
        if (build_once(family, seed, index, attempt, s))
            return;
    /* Every template of the family rejected every instance: a tester bug. */
    fprintf(stderr, "cpudiff: cannot build sample %u of family %s\n", index,
            cd_families[family].name);
    abort();
}
