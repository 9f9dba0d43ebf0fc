/* cpudiff templates: the x87 FPU. Loads and stores of every memory format
 * (32/64/80-bit reals, 16/32/64-bit integers, packed BCD), the arithmetic
 * in its memory, ST(0),ST(i), ST(i),ST(0) and popping forms, the compares
 * (FCOM/FUCOM/FICOM/FTST/FXAM, FCOMI/FUCOMI with EFLAGS), FXCH, FCMOVcc,
 * the constants, FABS FCHS FRNDINT FSQRT FSCALE FXTRACT FPREM FPREM1, the
 * transcendentals, FINCSTP/FDECSTP/FFREE(P), the control instructions
 * (FLDCW/FNSTCW, FNSTSW, FNSTENV/FLDENV, FNSAVE/FRSTOR, FNINIT, FNCLEX,
 * FWAIT), FXSAVE/FXRSTOR (64-bit and legacy layouts; the stored image is
 * compared without its reserved bytes, pointers and empty registers) and
 * EMMS. The initial state is random (fp.c): stacks from empty to full,
 * every precision and rounding control, unmasked exceptions (which must
 * leave their result unwritten and fault with #MF at the next waiting
 * instruction), pending ones, and the MMX state. The condition codes an
 * instruction leaves undefined are masked (CD_U_C*). */
#include <string.h>

#include "gen.h"

/* Memory operand kinds (template sizes). */
enum {
    XK_F32,
    XK_F64,
    XK_F80,
    XK_I16,
    XK_I32,
    XK_I64,
    XK_BCD,
    XK_CW,    /* FLDCW */
    XK_STORE, /* a store: any contents (size in form) */
    XK_ENV,   /* FLDENV image; FNSTENV: a store of it */
    XK_STATE, /* FRSTOR image; FNSAVE */
    XK_FX,    /* FXRSTOR image; FXSAVE */
};

static const uint8_t kind_size[] = {4, 8, 10, 2, 4, 8, 10, 2};

/* Packed BCD: 18 digits and a sign byte (bits 0-6 ignored). */
static void bcd(struct cd_rng *r, uint8_t out[10])
{
    unsigned digits = cd_chance(r, 1, 4) ? 18 : cd_below(r, 19);
    memset(out, 0, 10);
    for (unsigned i = 0; i < digits; i++) {
        unsigned d = cd_chance(r, 1, 4) ? 9 : cd_below(r, 10);
        out[i / 2] |= (uint8_t)(d << (4 * (i & 1)));
    }
    out[9] = (uint8_t)(cd_rand(r) & 0x80);
    if (cd_chance(r, 1, 8))
        out[9] |= (uint8_t)(cd_rand(r) & 0x7f);
}

/* A full tag word: valid, zero, special or empty per register. */
static uint16_t tag_word(struct cd_rng *r)
{
    static const uint8_t tags[] = {0, 0, 0, 0, 3, 3, 3, 3, 1, 2};
    uint16_t t = 0;
    for (unsigned i = 0; i < 8; i++)
        t |= (uint16_t)(tags[cd_below(r, sizeof(tags))] << (2 * i));
    return t;
}

static void put16(uint8_t *p, unsigned v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}

/* An FLDENV/FRSTOR environment, 14 or 28 bytes. */
static unsigned env_image(struct cd_rng *r, bool w32, uint8_t *out)
{
    uint16_t fcw = cd_chance(r, 1, 8) ? (uint16_t)cd_rand(r) : cd_fcw(r);
    uint16_t fsw = cd_fsw(r, fcw, cd_chance(r, 1, 8));
    unsigned len = w32 ? 28 : 14, step = w32 ? 4 : 2;
    for (unsigned i = 0; i < len; i++)
        out[i] = (uint8_t)cd_rand(r);
    if (w32 && cd_chance(r, 3, 4))
        for (unsigned i = 0; i < 28; i += 4)
            put16(out + i + 2, 0xffff);
    put16(out, fcw);
    put16(out + step, fsw);
    put16(out + 2 * step, tag_word(r));
    return len;
}

static void gen_x87_mem(struct cd_gen *g, const struct cd_tmpl *t)
{
    struct cd_rng *r = g->r;
    unsigned kind = t->sizes;
    bool env = kind == XK_ENV || kind == XK_STATE;
    bool w16 = env ? cd_chance(r, 1, 3) : cd_chance(r, 1, 16);
    if (w16)
        cd_prefix(g, 0x66); /* 16-bit environment layout; ignored elsewhere */
    if (cd_chance(r, 1, 16))
        g->e.w = true; /* ignored */
    cd_opcode(g, t->op);
    cd_modrm_ext(g, t->ext);
    uint8_t buf[128];
    unsigned size = kind < XK_STORE ? kind_size[kind] : t->form;
    bool store = t->form != 0;
    if (env)
        size = (kind == XK_ENV ? 14 : 94) + (w16 ? 0 : 14);
    uint64_t a = cd_mem(g, size, 0);
    if (store) {
        if (env) {
            static const uint8_t img[2][2] = {{CD_IMG_ENV32, CD_IMG_ENV16},
                                              {CD_IMG_SAVE32, CD_IMG_SAVE16}};
            g->img = img[kind == XK_STATE][w16];
            g->img_addr = a;
            g->fz_lo = a; /* a faulting store may have written part */
            g->fz_hi = a + size;
        }
        return;
    }
    switch (kind) {
    case XK_F32: {
        uint32_t v = cd_f32(r);
        memcpy(buf, &v, 4);
        break;
    }
    case XK_F64: {
        uint64_t v = cd_f64(r);
        memcpy(buf, &v, 8);
        break;
    }
    case XK_F80:
        cd_f80(r, buf);
        break;
    case XK_I16:
    case XK_I32:
    case XK_I64: {
        uint64_t v = cd_lane(r, 8u * size);
        memcpy(buf, &v, 8);
        break;
    }
    case XK_BCD:
        bcd(r, buf);
        break;
    case XK_CW:
        put16(buf, cd_chance(r, 1, 4) ? (unsigned)cd_rand(r) : cd_fcw(r));
        break;
    case XK_ENV:
        env_image(r, !w16, buf);
        break;
    case XK_STATE: {
        unsigned n = env_image(r, !w16, buf);
        for (unsigned i = 0; i < 8; i++)
            cd_f80(r, buf + n + 10 * i);
        break;
    }
    }
    cd_req_mem(g, a, buf, size);
}

/* FXSAVE/FXRSTOR m512 (0F AE /0 /1): REX.W picks the 64-bit layout of the
 * pointers. 16-byte alignment, else #GP(0). FXRSTOR loads a structured
 * state, now and then with MXCSR reserved bits set (#GP(0)). */
static void gen_fxsave(struct cd_gen *g, const struct cd_tmpl *t)
{
    struct cd_rng *r = g->r;
    g->e.w = cd_chance(r, 1, 2);
    cd_opcode(g, 0x1ae);
    cd_modrm_ext(g, t->ext);
    uint64_t a = cd_pick_addr(g, 512, 0);
    if (cd_chance(r, 7, 8))
        a &= ~15ULL;
    else if (!(a & 15))
        a += 1 + cd_below(r, 15);
    cd_mem_at(g, a, 0);
    if (t->ext == 0) {
        g->img = CD_IMG_FXSAVE;
        g->img_addr = a;
        g->fz_lo = a;
        g->fz_hi = a + 512;
        return;
    }
    struct cd_fxsave fx;
    cd_fp_state(r, &fx);
    fx.fop = (uint16_t)(cd_rand(r) & 0x7ff);
    fx.fip = cd_rand(r);
    fx.fdp = cd_rand(r);
    fx.mxcsr_mask = (uint32_t)cd_rand(r); /* ignored */
    if (cd_chance(r, 1, 16))
        fx.mxcsr |= 1u << (18 + cd_below(r, 14));
    cd_req_mem(g, a, &fx, 416);
}

/* ST(i) forms: opcode, ModRM 0xc0 | ext, i random. REX.B must not matter. */
static void gen_x87_sti(struct cd_gen *g, const struct cd_tmpl *t)
{
    if (cd_chance(g->r, 1, 16))
        g->e.rexb = 1;
    cd_opcode(g, t->op);
    g->e.has_modrm = true;
    g->e.mod = 3;
    g->e.reg = (uint8_t)(t->ext >> 3 & 7);
    g->e.rm = (uint8_t)cd_below(g->r, 8);
}

/* Fixed encodings: opcode and (if ext) the ModRM byte itself. */
static void gen_x87_fixed(struct cd_gen *g, const struct cd_tmpl *t)
{
    if (cd_chance(g->r, 1, 16))
        g->e.force_rex = true;
    cd_opcode(g, t->op);
    if (t->ext) {
        g->e.has_modrm = true;
        g->e.mod = 3;
        g->e.reg = (uint8_t)(t->ext >> 3 & 7);
        g->e.rm = (uint8_t)(t->ext & 7);
    }
}

/* Condition-code effects (SDM "FPU Flags Affected"). */
#define C_ALL CD_U_C
#define C023  (CD_U_C0 | CD_U_C2 | CD_U_C3)
#define C03   (CD_U_C0 | CD_U_C3)
#define C1    CD_U_C1

/* An operation that sets C1 (rounding, stack fault) and leaves the others
 * undefined: the arithmetic, loads, stores, most of the rest. */
#define ARI(u) (u), C1
/* name, opcode, /n or ModRM, kind, store size (0: a load); then undef, defines */
#define XM(name, op, n, kind, st, ...)                                                             \
    {                                                                                              \
        name, gen_x87_mem, op, n, kind, st, 0, 0, __VA_ARGS__, 0                                   \
    }
#define XR(name, op, m, ...)                                                                       \
    {                                                                                              \
        name, gen_x87_sti, op, m, 0, 0, 0, 0, __VA_ARGS__, 0                                       \
    }
#define XF(name, op, m, ...)                                                                       \
    {                                                                                              \
        name, gen_x87_fixed, op, m, 0, 0, 0, 0, __VA_ARGS__, 0                                     \
    }
/* The eight arithmetic operations of D8/DA/DC/DE /0-/7 on a memory operand. */
#define XARITH(pfx, op, kind)                                                                      \
    XM("fadd " pfx, op, 0, kind, 0, ARI(C023)), XM("fmul " pfx, op, 1, kind, 0, ARI(C023)),        \
        XM("fcom " pfx, op, 2, kind, 0, 0, C_ALL), XM("fcomp " pfx, op, 3, kind, 0, 0, C_ALL),     \
        XM("fsub " pfx, op, 4, kind, 0, ARI(C023)), XM("fsubr " pfx, op, 5, kind, 0, ARI(C023)),   \
        XM("fdiv " pfx, op, 6, kind, 0, ARI(C023)), XM("fdivr " pfx, op, 7, kind, 0, ARI(C023))
#define FCMOV(name, op, m, rd)                                                                     \
    {                                                                                              \
        name, gen_x87_sti, op, m, 0, 0, 0, 0, C023, C1, rd                                         \
    }
#define FCOMI(name, op, m)                                                                         \
    {                                                                                              \
        name, gen_x87_sti, op, m, 0, 0, 0, 0, 0, C1 | F_ALL, 0                                     \
    }

const struct cd_tmpl cd_tmpl_x87[] = {
    XARITH("m32", 0xd8, XK_F32),
    XARITH("m64", 0xdc, XK_F64),
    XARITH("m32int", 0xda, XK_I32),
    XARITH("m16int", 0xde, XK_I16),
    XR("fadd st,st(i)", 0xd8, 0xc0, ARI(C023)),
    XR("fmul st,st(i)", 0xd8, 0xc8, ARI(C023)),
    XR("fcom st(i)", 0xd8, 0xd0, 0, C_ALL),
    XR("fcomp st(i)", 0xd8, 0xd8, 0, C_ALL),
    XR("fsub st,st(i)", 0xd8, 0xe0, ARI(C023)),
    XR("fsubr st,st(i)", 0xd8, 0xe8, ARI(C023)),
    XR("fdiv st,st(i)", 0xd8, 0xf0, ARI(C023)),
    XR("fdivr st,st(i)", 0xd8, 0xf8, ARI(C023)),
    XR("fadd st(i),st", 0xdc, 0xc0, ARI(C023)),
    XR("fmul st(i),st", 0xdc, 0xc8, ARI(C023)),
    XR("fsubr st(i),st", 0xdc, 0xe0, ARI(C023)),
    XR("fsub st(i),st", 0xdc, 0xe8, ARI(C023)),
    XR("fdivr st(i),st", 0xdc, 0xf0, ARI(C023)),
    XR("fdiv st(i),st", 0xdc, 0xf8, ARI(C023)),
    XR("faddp", 0xde, 0xc0, ARI(C023)),
    XR("fmulp", 0xde, 0xc8, ARI(C023)),
    XR("fsubrp", 0xde, 0xe0, ARI(C023)),
    XR("fsubp", 0xde, 0xe8, ARI(C023)),
    XR("fdivrp", 0xde, 0xf0, ARI(C023)),
    XR("fdivp", 0xde, 0xf8, ARI(C023)),
    XF("fcompp", 0xde, 0xd9, 0, C_ALL),
    /* loads and stores */
    XM("fld m32", 0xd9, 0, XK_F32, 0, ARI(C023)),
    XM("fst m32", 0xd9, 2, XK_STORE, 4, ARI(C023)),
    XM("fstp m32", 0xd9, 3, XK_STORE, 4, ARI(C023)),
    XM("fld m64", 0xdd, 0, XK_F64, 0, ARI(C023)),
    XM("fst m64", 0xdd, 2, XK_STORE, 8, ARI(C023)),
    XM("fstp m64", 0xdd, 3, XK_STORE, 8, ARI(C023)),
    XM("fld m80", 0xdb, 5, XK_F80, 0, ARI(C023)),
    XM("fstp m80", 0xdb, 7, XK_STORE, 10, ARI(C023)),
    XM("fild m16", 0xdf, 0, XK_I16, 0, ARI(C023)),
    XM("fild m32", 0xdb, 0, XK_I32, 0, ARI(C023)),
    XM("fild m64", 0xdf, 5, XK_I64, 0, ARI(C023)),
    XM("fist m16", 0xdf, 2, XK_STORE, 2, ARI(C023)),
    XM("fist m32", 0xdb, 2, XK_STORE, 4, ARI(C023)),
    XM("fistp m16", 0xdf, 3, XK_STORE, 2, ARI(C023)),
    XM("fistp m32", 0xdb, 3, XK_STORE, 4, ARI(C023)),
    XM("fistp m64", 0xdf, 7, XK_STORE, 8, ARI(C023)),
    {"fisttp m16", gen_x87_mem, 0xdf, 1, XK_STORE, 2, CD_FEAT_SSE3, 0, ARI(C023), 0},
    {"fisttp m32", gen_x87_mem, 0xdb, 1, XK_STORE, 4, CD_FEAT_SSE3, 0, ARI(C023), 0},
    {"fisttp m64", gen_x87_mem, 0xdd, 1, XK_STORE, 8, CD_FEAT_SSE3, 0, ARI(C023), 0},
    XM("fbld", 0xdf, 4, XK_BCD, 0, ARI(C023)),
    XM("fbstp", 0xdf, 6, XK_STORE, 10, ARI(C023)),
    XR("fld st(i)", 0xd9, 0xc0, ARI(C023)),
    XR("fxch", 0xd9, 0xc8, ARI(C023)),
    XR("fst st(i)", 0xdd, 0xd0, ARI(C023)),
    XR("fstp st(i)", 0xdd, 0xd8, ARI(C023)),
    XR("ffree", 0xdd, 0xc0, C_ALL, 0),
    XR("ffreep", 0xdf, 0xc0, C_ALL, 0),
    /* compares */
    XR("fucom", 0xdd, 0xe0, 0, C_ALL),
    XR("fucomp", 0xdd, 0xe8, 0, C_ALL),
    XF("fucompp", 0xda, 0xe9, 0, C_ALL),
    XF("ftst", 0xd9, 0xe4, 0, C_ALL),
    XF("fxam", 0xd9, 0xe5, 0, C_ALL),
    FCOMI("fucomi", 0xdb, 0xe8),
    FCOMI("fcomi", 0xdb, 0xf0),
    FCOMI("fucomip", 0xdf, 0xe8),
    FCOMI("fcomip", 0xdf, 0xf0),
    FCMOV("fcmovb", 0xda, 0xc0, F_CF),
    FCMOV("fcmove", 0xda, 0xc8, F_ZF),
    FCMOV("fcmovbe", 0xda, 0xd0, F_CF | F_ZF),
    FCMOV("fcmovu", 0xda, 0xd8, F_PF),
    FCMOV("fcmovnb", 0xdb, 0xc0, F_CF),
    FCMOV("fcmovne", 0xdb, 0xc8, F_ZF),
    FCMOV("fcmovnbe", 0xdb, 0xd0, F_CF | F_ZF),
    FCMOV("fcmovnu", 0xdb, 0xd8, F_PF),
    /* constants and one-operand operations */
    XF("fld1", 0xd9, 0xe8, ARI(C023)),
    XF("fldl2t", 0xd9, 0xe9, ARI(C023)),
    XF("fldl2e", 0xd9, 0xea, ARI(C023)),
    XF("fldpi", 0xd9, 0xeb, ARI(C023)),
    XF("fldlg2", 0xd9, 0xec, ARI(C023)),
    XF("fldln2", 0xd9, 0xed, ARI(C023)),
    XF("fldz", 0xd9, 0xee, ARI(C023)),
    XF("fchs", 0xd9, 0xe0, ARI(C023)),
    XF("fabs", 0xd9, 0xe1, ARI(C023)),
    XF("f2xm1", 0xd9, 0xf0, ARI(C023)),
    XF("fyl2x", 0xd9, 0xf1, ARI(C023)),
    XF("fptan", 0xd9, 0xf2, C03, C1 | CD_U_C2),
    XF("fpatan", 0xd9, 0xf3, ARI(C023)),
    XF("fxtract", 0xd9, 0xf4, ARI(C023)),
    XF("fprem1", 0xd9, 0xf5, 0, C_ALL),
    XF("fdecstp", 0xd9, 0xf6, ARI(C023)),
    XF("fincstp", 0xd9, 0xf7, ARI(C023)),
    XF("fprem", 0xd9, 0xf8, 0, C_ALL),
    XF("fyl2xp1", 0xd9, 0xf9, ARI(C023)),
    XF("fsqrt", 0xd9, 0xfa, ARI(C023)),
    XF("fsincos", 0xd9, 0xfb, C03, C1 | CD_U_C2),
    XF("frndint", 0xd9, 0xfc, ARI(C023)),
    XF("fscale", 0xd9, 0xfd, ARI(C023)),
    XF("fsin", 0xd9, 0xfe, C03, C1 | CD_U_C2),
    XF("fcos", 0xd9, 0xff, C03, C1 | CD_U_C2),
    /* control */
    XF("fnop", 0xd9, 0xd0, C_ALL, 0),
    XF("fwait", 0x9b, 0, C_ALL, 0),
    XF("fnclex", 0xdb, 0xe2, C_ALL, 0),
    XF("fninit", 0xdb, 0xe3, 0, C_ALL),
    {"fnstsw ax", gen_x87_fixed, 0xdf, 0xe0, 0, 0, 0, 0, C_ALL, 0, C_ALL},
    {"fnstsw m16", gen_x87_mem, 0xdd, 7, XK_STORE, 2, 0, 0, C_ALL, 0, C_ALL},
    XM("fldcw", 0xd9, 5, XK_CW, 0, C_ALL, 0),
    XM("fnstcw", 0xd9, 7, XK_STORE, 2, C_ALL, 0),
    XM("fldenv", 0xd9, 4, XK_ENV, 0, 0, C_ALL),
    {"fnstenv", gen_x87_mem, 0xd9, 6, XK_ENV, 1, 0, 0, C_ALL, 0, C_ALL},
    XM("frstor", 0xdd, 4, XK_STATE, 0, 0, C_ALL),
    {"fnsave", gen_x87_mem, 0xdd, 6, XK_STATE, 1, 0, 0, 0, C_ALL, C_ALL},
    {"fxsave", gen_fxsave, 0x1ae, 0, 0, 0, 0, 0, 0, 0, C_ALL},
    {"fxrstor", gen_fxsave, 0x1ae, 1, 0, 0, 0, 0, 0, C_ALL, 0},
    XF("emms", 0x177, 0, 0, 0),
    {0},
};
