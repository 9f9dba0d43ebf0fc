/* SSE, SSE2, SSE3 and SSE4.1 floating point: arithmetic, comparisons,
 * conversions, rounding, dot products, blends, MXCSR loads and stores.
 *
 * The operations run on the host's own instructions under the guest's
 * MXCSR (see sse_fp.h); this file holds what every form shares: fetching
 * the source operand (alignment included), the rules for unmasked
 * exceptions and the lane model behind them, #XM, the MMX side effects of
 * the conversions that name an MMX register, and the registration table.
 * The op functions are in sse_fp_arith.c, sse_fp_cvt.c and sse_fp_sse41.c.
 */
#include "cpu/x86/sse_fp.h"

#define CR4_OSXMMEXCPT (1u << 10)

void x86_ssefp_src(struct x86_cpu *cpu, const struct x86_insn *in, x86_xmm *s, unsigned size)
{
    if (!(in->flags & X86_I_MEM)) {
        *s = cpu->xmm[in->rm];
        return;
    }
    uint64_t lin = size == 16 ? x86_ssefp_ea_aligned(cpu, in) : x86_ea(cpu, in);
    memset(s, 0, sizeof(*s));
    x86_load_bytes(cpu, lin, s, size);
}

uint64_t x86_ssefp_ea_aligned(struct x86_cpu *cpu, const struct x86_insn *in)
{
    uint64_t lin = x86_ea(cpu, in);
    if ((lin & 15) && !(cpu->mxcsr & SSEFP_MM))
        x86_raise(cpu, X86_EXC_GP, 0);
    return lin;
}

_Noreturn void x86_ssefp_raise_xm(struct x86_cpu *cpu)
{
    /* Without CR4.OSXMMEXCPT an unmasked SIMD exception is #UD; Linux
     * sets it for user mode. */
    if (!cpu->user_mode && !(cpu->cr4 & CR4_OSXMMEXCPT))
        x86_raise_ud(cpu);
    x86_raise(cpu, X86_EXC_XM, 0);
}

void x86_ssefp_check(struct x86_cpu *cpu, uint32_t f, const struct ssefp_desc *op, const x86_xmm *d,
                     const x86_xmm *s, unsigned imm)
{
    uint32_t g = cpu->mxcsr, unmasked = ~(g >> 7) & SSEFP_FLAGS;
    f &= SSEFP_FLAGS;
    /* The host's masked run answers everything except what depends on
     * the masks: unmasked pre-computation exceptions hide the rest;
     * unmasked overflow/underflow (and any unmasked exception of a
     * multi-step operation) need the element-wise model. */
    if (op && op->staged &&
        ((f & unmasked) || !(g & SSEFP_UM) || ((f & SSEFP_OE) && !(g & SSEFP_OM))))
        f = op->lanes(op, d, s, g, imm);
    else if (f & SSEFP_PRE & unmasked)
        f &= SSEFP_PRE;
    else if (op && op->lanes && (!(g & SSEFP_UM) || ((f & SSEFP_OE) && !(g & SSEFP_OM))))
        f = op->lanes(op, d, s, g, imm);
    if (!f)
        return;
    cpu->mxcsr = g | f;
    if (f & unmasked)
        x86_ssefp_raise_xm(cpu);
}

void x86_ssefp_run(struct x86_cpu *cpu, const struct x86_insn *in, const struct ssefp_desc *op)
{
    x86_xmm s, d = cpu->xmm[in->reg];
    x86_ssefp_src(cpu, in, &s, op->msize);
    x86_xmm r = d;
    uint32_t f = op->host(&r, &s, ssefp_run_mx(cpu->mxcsr), (unsigned)in->imm);
    x86_ssefp_check(cpu, f, op, &d, &s, (unsigned)in->imm);
    cpu->xmm[in->reg] = r;
}

void x86_ssefp_mmx_enter(struct x86_cpu *cpu)
{
    if (cpu->fpu.fsw & 0x80) /* ES: an unmasked x87 exception is pending */
        x86_raise(cpu, X86_EXC_MF, 0);
}

void x86_ssefp_mmx_transition(struct x86_cpu *cpu)
{
    cpu->fpu.top = 0;
    cpu->fpu.ftw = 0xff;
}

/* --- the lane model --- */

/* Host scalar operations for one element: lane 0 of d and s. */
SSEFP_HOST_FN(lane_addss, "addss")
SSEFP_HOST_FN(lane_addsd, "addsd")
SSEFP_HOST_FN(lane_subss, "subss")
SSEFP_HOST_FN(lane_subsd, "subsd")
SSEFP_HOST_FN(lane_mulss, "mulss")
SSEFP_HOST_FN(lane_mulsd, "mulsd")
SSEFP_HOST_FN(lane_divss, "divss")
SSEFP_HOST_FN(lane_divsd, "divsd")
SSEFP_HOST_FN(lane_cvtsd2ss, "cvtsd2ss")

static ssefp_host_fn *const lane_host[5][2] = {
    [SSEFP_ADD] = {lane_addss, lane_addsd},       [SSEFP_SUB] = {lane_subss, lane_subsd},
    [SSEFP_MUL] = {lane_mulss, lane_mulsd},       [SSEFP_DIV] = {lane_divss, lane_divsd},
    [SSEFP_CVT] = {lane_cvtsd2ss, lane_cvtsd2ss},
};

/* An element as a long double (exact), denormals as zero under DAZ. */
static long double lane_wide(uint64_t bits, bool dbl, bool daz)
{
    if (dbl) {
        double v;
        memcpy(&v, &bits, 8);
        if (daz && (bits & 0x7ff0000000000000ULL) == 0)
            v = (bits >> 63) ? -0.0 : 0.0;
        return v;
    }
    uint32_t b32 = (uint32_t)bits;
    float v;
    memcpy(&v, &b32, 4);
    if (daz && (b32 & 0x7f800000u) == 0)
        v = (b32 >> 31) ? -0.0f : 0.0f;
    return v;
}

/* a op b on the host x87 in extended precision (64-bit significand);
 * *inexact: the extended result was rounded. */
static long double lane_x87(unsigned arith, long double a, long double b, bool *inexact)
{
    uint16_t cw = 0x37f, save, sw;
    long double r;
#define LANE_X87(text)                                                                             \
    __asm__ volatile("fnstcw %[save]\n\t"                                                          \
                     "fldcw %[cw]\n\t"                                                             \
                     "fnclex\n\t" text "\n\t"                                                      \
                     "fnstsw %[sw]\n\t"                                                            \
                     "fldcw %[save]"                                                               \
                     : "=t"(r), [save] "=m"(save), [sw] "=a"(sw)                                   \
                     : "0"(a), "u"(b), [cw] "m"(cw))
    switch (arith) {
    case SSEFP_ADD:
        LANE_X87("fadd %%st(1), %%st");
        break;
    case SSEFP_SUB:
        LANE_X87("fsub %%st(1), %%st");
        break;
    case SSEFP_MUL:
        LANE_X87("fmul %%st(1), %%st");
        break;
    default:
        LANE_X87("fdiv %%st(1), %%st");
        break;
    }
#undef LANE_X87
    *inexact = sw & 0x20;
    return r;
}

/* Is the exact result of the element inexact at the destination's
 * precision with an unbounded exponent? (Only asked for finite elements
 * that overflowed or are tiny.) */
static bool lane_inexact_unbounded(unsigned arith, bool dbl, uint64_t a, uint64_t b, bool daz)
{
    unsigned bits = dbl && arith != SSEFP_CVT ? 53 : 24;
    bool inexact = false;
    x86_fpreg r;
    if (arith == SSEFP_CVT)
        r.f = lane_wide(b, true, daz);
    else
        r.f = lane_x87(arith, lane_wide(a, dbl, daz), lane_wide(b, dbl, daz), &inexact);
    if (inexact)
        return true; /* more than 64 significant bits */
    return (r.raw.mant & ((1ULL << (64 - bits)) - 1)) != 0;
}

static bool lane_is_denormal(uint64_t r, bool dbl)
{
    if (dbl)
        return (r & 0x7ff0000000000000ULL) == 0 && (r << 1) != 0;
    return (r & 0x7f800000u) == 0 && (r & 0x7fffffffu) != 0;
}

uint32_t x86_ssefp_lane(unsigned arith, bool dbl, uint64_t a, uint64_t b, uint32_t g, uint64_t *res)
{
    x86_xmm d = {.u64 = {a, 0}}, s = {.u64 = {b, 0}};
    uint32_t f = lane_host[arith][dbl](&d, &s, ssefp_run_mx(g), 0) & SSEFP_FLAGS;
    bool rdbl = dbl && arith != SSEFP_CVT;
    uint64_t r = rdbl ? d.u64[0] : d.u32[0];
    *res = r;
    uint32_t post = f & (SSEFP_OE | SSEFP_UE | SSEFP_PE);
    /* Tiny: the masked run reported underflow (an inexact tiny result,
     * or any tiny one flushed by FTZ), or left an exact denormal. */
    if ((f & SSEFP_OE) && !(g & SSEFP_OM))
        post = SSEFP_OE;
    else if (!(g & SSEFP_UM) && ((f & SSEFP_UE) || lane_is_denormal(r, rdbl)))
        post = SSEFP_UE;
    else
        return f;
    if (lane_inexact_unbounded(arith, dbl, a, b, g & SSEFP_DAZ))
        post |= SSEFP_PE;
    return (f & SSEFP_PRE) | post;
}

static uint64_t lane_elem(const x86_xmm *x, bool dbl, unsigned i)
{
    return dbl ? x->u64[i] : x->u32[i];
}

uint32_t x86_ssefp_lanes_vert(const struct ssefp_desc *op, const x86_xmm *d, const x86_xmm *s,
                              uint32_t g, unsigned imm)
{
    (void)imm;
    uint32_t f = 0;
    uint64_t r;
    for (unsigned i = 0; i < op->nlanes; i++)
        f |= x86_ssefp_lane(op->arith, op->dbl, lane_elem(d, op->dbl, i), lane_elem(s, op->dbl, i),
                            g, &r);
    return f;
}

uint32_t x86_ssefp_lanes_addsub(const struct ssefp_desc *op, const x86_xmm *d, const x86_xmm *s,
                                uint32_t g, unsigned imm)
{
    (void)imm;
    uint32_t f = 0;
    uint64_t r;
    for (unsigned i = 0; i < op->nlanes; i++)
        f |= x86_ssefp_lane(i & 1 ? SSEFP_ADD : SSEFP_SUB, op->dbl, lane_elem(d, op->dbl, i),
                            lane_elem(s, op->dbl, i), g, &r);
    return f;
}

uint32_t x86_ssefp_lanes_horiz(const struct ssefp_desc *op, const x86_xmm *d, const x86_xmm *s,
                               uint32_t g, unsigned imm)
{
    (void)imm;
    uint32_t f = 0;
    uint64_t r;
    unsigned half = op->nlanes / 2;
    for (unsigned i = 0; i < op->nlanes; i++) {
        const x86_xmm *x = i < half ? d : s;
        unsigned j = (i % half) * 2;
        f |= x86_ssefp_lane(op->arith, op->dbl, lane_elem(x, op->dbl, j),
                            lane_elem(x, op->dbl, j + 1), g, &r);
    }
    return f;
}

uint32_t x86_ssefp_lanes_cvt(const struct ssefp_desc *op, const x86_xmm *d, const x86_xmm *s,
                             uint32_t g, unsigned imm)
{
    (void)imm;
    (void)d;
    uint32_t f = 0;
    uint64_t r;
    for (unsigned i = 0; i < op->nlanes; i++)
        f |= x86_ssefp_lane(SSEFP_CVT, true, 0, s->u64[i], g, &r);
    return f;
}

/* --- registration --- */

#define F   X86_MAP_0F
#define F38 X86_MAP_0F38
#define F3A X86_MAP_0F3A
#define PN  X86_PFX_NONE
#define P66 X86_PFX_66
#define PF3 X86_PFX_F3
#define PF2 X86_PFX_F2
#define ROW(map, op, pfx, name)                                                                    \
    {                                                                                              \
        map, op, pfx, -1, X86_MOD_ANY, x86_ssefp_##name, #name                                     \
    }
/* An opcode whose four prefix columns are the ps, pd, ss, sd forms. */
#define ROW4(op, name)                                                                             \
    ROW(F, op, PN, name##ps), ROW(F, op, P66, name##pd), ROW(F, op, PF3, name##ss),                \
        ROW(F, op, PF2, name##sd)

const struct x86_op_entry x86_ops_sse_fp[] = {
    ROW4(0x58, add),
    ROW4(0x59, mul),
    ROW4(0x5c, sub),
    ROW4(0x5d, min),
    ROW4(0x5e, div),
    ROW4(0x5f, max),
    ROW4(0x51, sqrt),
    ROW4(0xc2, cmp),
    ROW(F, 0x52, PN, rsqrtps),
    ROW(F, 0x52, PF3, rsqrtss),
    ROW(F, 0x53, PN, rcpps),
    ROW(F, 0x53, PF3, rcpss),
    /* the bitwise operations: one function for ps and pd */
    {F, 0x54, PN, -1, X86_MOD_ANY, x86_ssefp_andps, "andps"},
    {F, 0x54, P66, -1, X86_MOD_ANY, x86_ssefp_andps, "andpd"},
    {F, 0x55, PN, -1, X86_MOD_ANY, x86_ssefp_andnps, "andnps"},
    {F, 0x55, P66, -1, X86_MOD_ANY, x86_ssefp_andnps, "andnpd"},
    {F, 0x56, PN, -1, X86_MOD_ANY, x86_ssefp_orps, "orps"},
    {F, 0x56, P66, -1, X86_MOD_ANY, x86_ssefp_orps, "orpd"},
    {F, 0x57, PN, -1, X86_MOD_ANY, x86_ssefp_xorps, "xorps"},
    {F, 0x57, P66, -1, X86_MOD_ANY, x86_ssefp_xorps, "xorpd"},
    ROW(F, 0x2e, PN, ucomiss),
    ROW(F, 0x2e, P66, ucomisd),
    ROW(F, 0x2f, PN, comiss),
    ROW(F, 0x2f, P66, comisd),
    ROW(F, 0x50, PN, movmskps),
    ROW(F, 0x50, P66, movmskpd),
    ROW(F, 0xd0, P66, addsubpd),
    ROW(F, 0xd0, PF2, addsubps),
    ROW(F, 0x7c, P66, haddpd),
    ROW(F, 0x7c, PF2, haddps),
    ROW(F, 0x7d, P66, hsubpd),
    ROW(F, 0x7d, PF2, hsubps),
    {F, 0xae, PN, 2, X86_MOD_MEM, x86_ssefp_ldmxcsr, "ldmxcsr"},
    {F, 0xae, PN, 3, X86_MOD_MEM, x86_ssefp_stmxcsr, "stmxcsr"},
    /* conversions */
    ROW(F, 0x2a, PN, cvtpi2ps),
    ROW(F, 0x2a, P66, cvtpi2pd),
    ROW(F, 0x2a, PF3, cvtsi2ss),
    ROW(F, 0x2a, PF2, cvtsi2sd),
    ROW(F, 0x2c, PN, cvttps2pi),
    ROW(F, 0x2c, P66, cvttpd2pi),
    ROW(F, 0x2c, PF3, cvttss2si),
    ROW(F, 0x2c, PF2, cvttsd2si),
    ROW(F, 0x2d, PN, cvtps2pi),
    ROW(F, 0x2d, P66, cvtpd2pi),
    ROW(F, 0x2d, PF3, cvtss2si),
    ROW(F, 0x2d, PF2, cvtsd2si),
    ROW(F, 0x5a, PN, cvtps2pd),
    ROW(F, 0x5a, P66, cvtpd2ps),
    ROW(F, 0x5a, PF3, cvtss2sd),
    ROW(F, 0x5a, PF2, cvtsd2ss),
    ROW(F, 0x5b, PN, cvtdq2ps),
    ROW(F, 0x5b, P66, cvtps2dq),
    ROW(F, 0x5b, PF3, cvttps2dq),
    ROW(F, 0xe6, P66, cvttpd2dq),
    ROW(F, 0xe6, PF3, cvtdq2pd),
    ROW(F, 0xe6, PF2, cvtpd2dq),
    /* SSE4.1 */
    ROW(F3A, 0x08, P66, roundps),
    ROW(F3A, 0x09, P66, roundpd),
    ROW(F3A, 0x0a, P66, roundss),
    ROW(F3A, 0x0b, P66, roundsd),
    ROW(F3A, 0x0c, P66, blendps),
    ROW(F3A, 0x0d, P66, blendpd),
    ROW(F3A, 0x17, P66, extractps),
    ROW(F3A, 0x21, P66, insertps),
    ROW(F3A, 0x40, P66, dpps),
    ROW(F3A, 0x41, P66, dppd),
    ROW(F38, 0x14, P66, blendvps),
    ROW(F38, 0x15, P66, blendvpd),
    {0, 0, 0, 0, 0, NULL, NULL},
};
