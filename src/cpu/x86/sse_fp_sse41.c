/* SSE4.1 floating point: ROUNDPS/PD/SS/SD, DPPS/DPPD, BLENDPS/PD,
 * BLENDVPS/PD (mask in XMM0), INSERTPS, EXTRACTPS.
 *
 * ROUND and DP run the host instruction with the guest's immediate: the
 * immediate is part of the instruction encoding, so each value the host
 * distinguishes has its own asm statement, chosen by a switch (ROUND reads
 * imm[3:0], DPPD imm[5:4] and imm[1:0], DPPS all eight bits). Blends,
 * INSERTPS and EXTRACTPS only move bits and raise no floating-point
 * exception.
 */
#include "cpu/x86/sse_fp.h"

#define ROUND_HOST_FN(name, mnem)                                                                  \
    static uint32_t name(x86_xmm *d, const x86_xmm *s, uint32_t mx, unsigned imm)                  \
    {                                                                                              \
        ssefp_vec dv = ssefp_get(d), sv = ssefp_get(s);                                            \
        uint32_t r;                                                                                \
        switch (imm & 15) {                                                                        \
            SSEFP_C16(SSEFP_IMM_CASE, mnem, 0)                                                     \
        default:                                                                                   \
            __builtin_unreachable();                                                               \
        }                                                                                          \
        ssefp_put(d, dv);                                                                          \
        return r;                                                                                  \
    }
ROUND_HOST_FN(h_roundps, "roundps")
ROUND_HOST_FN(h_roundpd, "roundpd")
ROUND_HOST_FN(h_roundss, "roundss")
ROUND_HOST_FN(h_roundsd, "roundsd")

static uint32_t h_dpps(x86_xmm *d, const x86_xmm *s, uint32_t mx, unsigned imm)
{
    ssefp_vec dv = ssefp_get(d), sv = ssefp_get(s);
    uint32_t r;
    switch (imm & 255) {
        SSEFP_C256(SSEFP_IMM_CASE, "dpps")
    default:
        __builtin_unreachable();
    }
    ssefp_put(d, dv);
    return r;
}

static uint32_t h_dppd(x86_xmm *d, const x86_xmm *s, uint32_t mx, unsigned imm)
{
    ssefp_vec dv = ssefp_get(d), sv = ssefp_get(s);
    uint32_t r;
    switch (imm & 0x33) {
        SSEFP_C4(SSEFP_IMM_CASE, "dppd", 0x00)
        SSEFP_C4(SSEFP_IMM_CASE, "dppd", 0x10)
        SSEFP_C4(SSEFP_IMM_CASE, "dppd", 0x20)
        SSEFP_C4(SSEFP_IMM_CASE, "dppd", 0x30)
    default:
        __builtin_unreachable();
    }
    ssefp_put(d, dv);
    return r;
}

/* The lane model of DP: the selected products, then the sums in the
 * SDM's order ((p0 + p1) and (p2 + p3), then their sum, for DPPS).
 * Unselected products are +0.0 and raise nothing. The hardware traps
 * between the steps: an unmasked exception of one step ends the
 * instruction with the flags of the steps so far (pre-computation ones
 * only, if one of those is unmasked), and the next step's are not set. */
static bool dp_step(uint32_t *acc, uint32_t f, uint32_t g)
{
    uint32_t unmasked = ~(g >> 7) & SSEFP_FLAGS;
    if (f & SSEFP_PRE & unmasked)
        f &= SSEFP_PRE;
    *acc |= f;
    return !(f & unmasked);
}

static uint32_t lanes_dp(const struct ssefp_desc *op, const x86_xmm *d, const x86_xmm *s,
                         uint32_t g, unsigned imm)
{
    bool dbl = op->dbl;
    uint64_t p[4] = {0, 0, 0, 0}, t0, t1, r;
    uint32_t acc = 0, f = 0;
    for (unsigned i = 0; i < op->nlanes; i++) {
        if (imm & (0x10u << i))
            f |= x86_ssefp_lane(SSEFP_MUL, dbl, dbl ? d->u64[i] : d->u32[i],
                                dbl ? s->u64[i] : s->u32[i], g, &p[i]);
    }
    if (!dp_step(&acc, f, g))
        return acc;
    if (dbl) {
        dp_step(&acc, x86_ssefp_lane(SSEFP_ADD, true, p[0], p[1], g, &r), g);
        return acc;
    }
    f = x86_ssefp_lane(SSEFP_ADD, false, p[0], p[1], g, &t0);
    f |= x86_ssefp_lane(SSEFP_ADD, false, p[2], p[3], g, &t1);
    if (dp_step(&acc, f, g))
        dp_step(&acc, x86_ssefp_lane(SSEFP_ADD, false, t0, t1, g, &r), g);
    return acc;
}

#define SSE41_OP(name, size, lanes_fn, is_dbl, n)                                                  \
    static const struct ssefp_desc desc_##name = {.host = h_##name,                                \
                                                  .lanes = lanes_fn,                               \
                                                  .msize = size,                                   \
                                                  .dbl = is_dbl,                                   \
                                                  .nlanes = n,                                     \
                                                  .staged = lanes_fn != NULL};                     \
    void x86_ssefp_##name(struct x86_cpu *cpu, const struct x86_insn *in)                          \
    {                                                                                              \
        x86_ssefp_run(cpu, in, &desc_##name);                                                      \
    }

SSE41_OP(roundps, 16, NULL, 0, 4)
SSE41_OP(roundpd, 16, NULL, 1, 2)
SSE41_OP(roundss, 4, NULL, 0, 1)
SSE41_OP(roundsd, 8, NULL, 1, 1)
SSE41_OP(dpps, 16, lanes_dp, 0, 4)
SSE41_OP(dppd, 16, lanes_dp, 1, 2)

/* --- bit moves --- */

void x86_ssefp_blendps(struct x86_cpu *cpu, const struct x86_insn *in)
{
    x86_xmm s, *d = &cpu->xmm[in->reg];
    x86_ssefp_src(cpu, in, &s, 16);
    for (unsigned i = 0; i < 4; i++) {
        if (in->imm & (1u << i))
            d->u32[i] = s.u32[i];
    }
}

void x86_ssefp_blendpd(struct x86_cpu *cpu, const struct x86_insn *in)
{
    x86_xmm s, *d = &cpu->xmm[in->reg];
    x86_ssefp_src(cpu, in, &s, 16);
    for (unsigned i = 0; i < 2; i++) {
        if (in->imm & (1u << i))
            d->u64[i] = s.u64[i];
    }
}

/* The mask is the sign bit of each element of XMM0. */
void x86_ssefp_blendvps(struct x86_cpu *cpu, const struct x86_insn *in)
{
    x86_xmm s, m = cpu->xmm[0], *d = &cpu->xmm[in->reg];
    x86_ssefp_src(cpu, in, &s, 16);
    for (unsigned i = 0; i < 4; i++) {
        if (m.u32[i] >> 31)
            d->u32[i] = s.u32[i];
    }
}

void x86_ssefp_blendvpd(struct x86_cpu *cpu, const struct x86_insn *in)
{
    x86_xmm s, m = cpu->xmm[0], *d = &cpu->xmm[in->reg];
    x86_ssefp_src(cpu, in, &s, 16);
    for (unsigned i = 0; i < 2; i++) {
        if (m.u64[i] >> 63)
            d->u64[i] = s.u64[i];
    }
}

/* 66 0F 3A 21: element imm[7:6] of the source register (or the m32) into
 * element imm[5:4], then zero the elements set in imm[3:0]. */
void x86_ssefp_insertps(struct x86_cpu *cpu, const struct x86_insn *in)
{
    unsigned imm = (unsigned)in->imm;
    uint32_t v;
    if (in->flags & X86_I_MEM)
        v = x86_load32(cpu, x86_ea(cpu, in));
    else
        v = cpu->xmm[in->rm].u32[(imm >> 6) & 3];
    x86_xmm *d = &cpu->xmm[in->reg];
    d->u32[(imm >> 4) & 3] = v;
    for (unsigned i = 0; i < 4; i++) {
        if (imm & (1u << i))
            d->u32[i] = 0;
    }
}

/* 66 0F 3A 17: r/m32 <- element imm[1:0]; a register destination is
 * written as a 32-bit register (zero-extended), with or without REX.W. */
void x86_ssefp_extractps(struct x86_cpu *cpu, const struct x86_insn *in)
{
    uint32_t v = cpu->xmm[in->reg].u32[in->imm & 3];
    if (in->flags & X86_I_MEM)
        x86_store(cpu, x86_ea(cpu, in), 2, v);
    else
        x86_reg_write(cpu, in->rm, 2, v);
}
