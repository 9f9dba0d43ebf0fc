/* SSE/SSE2 conversions: between single and double precision, between
 * floating point and packed doublewords (xmm and MMX forms), and between
 * scalars and general registers (32- or 64-bit with REX.W), rounding by
 * MXCSR.RC or truncating (CVTT).
 *
 * The MMX forms compute with the xmm form of the same conversion on the
 * host (CVTPI2PS is CVTDQ2PS on two elements, CVTPS2PI is CVTPS2DQ, ...:
 * the same rounding and flags), so the host's x87/MMX state is never
 * touched. For the guest they check for a pending x87 exception (#MF) and
 * move the x87 to MMX mode when they name an MMX register; this host does
 * that move even when the conversion then raises #XM, but not on a fault
 * of the memory operand.
 */
#include "cpu/x86/sse_fp.h"

SSEFP_HOST_FN(h_cvtps2pd, "cvtps2pd")
SSEFP_HOST_FN(h_cvtpd2ps, "cvtpd2ps")
SSEFP_HOST_FN(h_cvtss2sd, "cvtss2sd")
SSEFP_HOST_FN(h_cvtsd2ss, "cvtsd2ss")
SSEFP_HOST_FN(h_cvtdq2ps, "cvtdq2ps")
SSEFP_HOST_FN(h_cvtps2dq, "cvtps2dq")
SSEFP_HOST_FN(h_cvttps2dq, "cvttps2dq")
SSEFP_HOST_FN(h_cvtdq2pd, "cvtdq2pd")
SSEFP_HOST_FN(h_cvtpd2dq, "cvtpd2dq")
SSEFP_HOST_FN(h_cvttpd2dq, "cvttpd2dq")

#define CVT_OP(name, size, lanes_fn, n)                                                            \
    static const struct ssefp_desc desc_##name = {.host = h_##name,                                \
                                                  .lanes = lanes_fn,                               \
                                                  .msize = size,                                   \
                                                  .arith = SSEFP_CVT,                              \
                                                  .dbl = 1,                                        \
                                                  .nlanes = n};                                    \
    void x86_ssefp_##name(struct x86_cpu *cpu, const struct x86_insn *in)                          \
    {                                                                                              \
        x86_ssefp_run(cpu, in, &desc_##name);                                                      \
    }

CVT_OP(cvtps2pd, 8, NULL, 2)
CVT_OP(cvtpd2ps, 16, x86_ssefp_lanes_cvt, 2)
CVT_OP(cvtss2sd, 4, NULL, 1)
CVT_OP(cvtsd2ss, 8, x86_ssefp_lanes_cvt, 1)
CVT_OP(cvtdq2ps, 16, NULL, 4)
CVT_OP(cvtps2dq, 16, NULL, 4)
CVT_OP(cvttps2dq, 16, NULL, 4)
CVT_OP(cvtdq2pd, 8, NULL, 2)
CVT_OP(cvtpd2dq, 16, NULL, 2)
CVT_OP(cvttpd2dq, 16, NULL, 2)

/* --- general register -> scalar --- */

#define CVTSI_HOST_FN(name, text)                                                                  \
    static uint32_t name(x86_xmm *d, uint64_t v, uint32_t mx)                                      \
    {                                                                                              \
        ssefp_vec dv = ssefp_get(d), sv = {0};                                                     \
        uint32_t r = SSEFP_HOST_X(text, dv, sv, mx, 0, , [g] "+r"(v));                             \
        ssefp_put(d, dv);                                                                          \
        return r;                                                                                  \
    }
CVTSI_HOST_FN(h_cvtsi2ss32, "cvtsi2ssl %k[g], %[d]")
CVTSI_HOST_FN(h_cvtsi2ss64, "cvtsi2ssq %q[g], %[d]")
CVTSI_HOST_FN(h_cvtsi2sd32, "cvtsi2sdl %k[g], %[d]")
CVTSI_HOST_FN(h_cvtsi2sd64, "cvtsi2sdq %q[g], %[d]")

typedef uint32_t cvtsi_host_fn(x86_xmm *d, uint64_t v, uint32_t mx);

static void cvtsi(struct x86_cpu *cpu, const struct x86_insn *in, cvtsi_host_fn *h32,
                  cvtsi_host_fn *h64)
{
    bool w = in->flags & X86_I_REXW;
    uint64_t v = x86_rm_read(cpu, in, w ? 3 : 2);
    x86_xmm r = cpu->xmm[in->reg];
    uint32_t f = (w ? h64 : h32)(&r, v, ssefp_run_mx(cpu->mxcsr));
    x86_ssefp_check(cpu, f, NULL, NULL, NULL, 0);
    cpu->xmm[in->reg] = r;
}

void x86_ssefp_cvtsi2ss(struct x86_cpu *cpu, const struct x86_insn *in)
{
    cvtsi(cpu, in, h_cvtsi2ss32, h_cvtsi2ss64);
}

void x86_ssefp_cvtsi2sd(struct x86_cpu *cpu, const struct x86_insn *in)
{
    cvtsi(cpu, in, h_cvtsi2sd32, h_cvtsi2sd64);
}

/* --- scalar -> general register --- */

#define CVT2SI_HOST_FN(name, text)                                                                 \
    static uint32_t name(const x86_xmm *s, uint32_t mx, uint64_t *out)                             \
    {                                                                                              \
        ssefp_vec dv = {0}, sv = ssefp_get(s);                                                     \
        uint64_t g;                                                                                \
        uint32_t r = SSEFP_HOST_X(text, dv, sv, mx, 0, , [g] "=r"(g));                             \
        *out = g;                                                                                  \
        return r;                                                                                  \
    }
CVT2SI_HOST_FN(h_cvtss2si32, "cvtss2si %[s], %k[g]")
CVT2SI_HOST_FN(h_cvtss2si64, "cvtss2si %[s], %q[g]")
CVT2SI_HOST_FN(h_cvttss2si32, "cvttss2si %[s], %k[g]")
CVT2SI_HOST_FN(h_cvttss2si64, "cvttss2si %[s], %q[g]")
CVT2SI_HOST_FN(h_cvtsd2si32, "cvtsd2si %[s], %k[g]")
CVT2SI_HOST_FN(h_cvtsd2si64, "cvtsd2si %[s], %q[g]")
CVT2SI_HOST_FN(h_cvttsd2si32, "cvttsd2si %[s], %k[g]")
CVT2SI_HOST_FN(h_cvttsd2si64, "cvttsd2si %[s], %q[g]")

typedef uint32_t cvt2si_host_fn(const x86_xmm *s, uint32_t mx, uint64_t *out);

static void cvt2si(struct x86_cpu *cpu, const struct x86_insn *in, unsigned size,
                   cvt2si_host_fn *h32, cvt2si_host_fn *h64)
{
    bool w = in->flags & X86_I_REXW;
    x86_xmm s;
    uint64_t v;
    x86_ssefp_src(cpu, in, &s, size);
    uint32_t f = (w ? h64 : h32)(&s, ssefp_run_mx(cpu->mxcsr), &v);
    x86_ssefp_check(cpu, f, NULL, NULL, NULL, 0);
    x86_reg_write(cpu, in->reg, w ? 3 : 2, v);
}

void x86_ssefp_cvtss2si(struct x86_cpu *cpu, const struct x86_insn *in)
{
    cvt2si(cpu, in, 4, h_cvtss2si32, h_cvtss2si64);
}

void x86_ssefp_cvttss2si(struct x86_cpu *cpu, const struct x86_insn *in)
{
    cvt2si(cpu, in, 4, h_cvttss2si32, h_cvttss2si64);
}

void x86_ssefp_cvtsd2si(struct x86_cpu *cpu, const struct x86_insn *in)
{
    cvt2si(cpu, in, 8, h_cvtsd2si32, h_cvtsd2si64);
}

void x86_ssefp_cvttsd2si(struct x86_cpu *cpu, const struct x86_insn *in)
{
    cvt2si(cpu, in, 8, h_cvttsd2si32, h_cvttsd2si64);
}

/* --- MMX forms --- */

static uint64_t mmx_read(const struct x86_cpu *cpu, unsigned r)
{
    return cpu->fpu.st[r & 7].raw.mant;
}

/* 0F 2A: xmm[63:0] <- two doublewords of mm/m64 as singles. */
void x86_ssefp_cvtpi2ps(struct x86_cpu *cpu, const struct x86_insn *in)
{
    bool mmx = !(in->flags & X86_I_MEM);
    x86_xmm s = {.u64 = {0, 0}}, r = {.u64 = {0, 0}};
    if (mmx) {
        x86_ssefp_mmx_enter(cpu);
        s.u64[0] = mmx_read(cpu, in->rm);
    } else {
        s.u64[0] = x86_load64(cpu, x86_ea(cpu, in));
    }
    uint32_t f = h_cvtdq2ps(&r, &s, ssefp_run_mx(cpu->mxcsr), 0);
    if (mmx)
        x86_ssefp_mmx_transition(cpu);
    x86_ssefp_check(cpu, f, NULL, NULL, NULL, 0);
    cpu->xmm[in->reg].u64[0] = r.u64[0];
}

/* 66 0F 2A: xmm <- two doublewords of mm/m64 as doubles (always exact). */
void x86_ssefp_cvtpi2pd(struct x86_cpu *cpu, const struct x86_insn *in)
{
    uint64_t v;
    if (!(in->flags & X86_I_MEM)) {
        x86_ssefp_mmx_enter(cpu);
        v = mmx_read(cpu, in->rm);
        x86_ssefp_mmx_transition(cpu);
    } else {
        v = x86_load64(cpu, x86_ea(cpu, in));
    }
    x86_xmm *d = &cpu->xmm[in->reg];
    d->f64[0] = (int32_t)(uint32_t)v;
    d->f64[1] = (int32_t)(uint32_t)(v >> 32);
}

/* mm <- two doublewords converted from the source by host function h:
 * xmm/m64 (size 8, singles) or xmm/m128 (size 16, doubles, aligned). */
static void cvt2pi(struct x86_cpu *cpu, const struct x86_insn *in, ssefp_host_fn *h, unsigned size)
{
    x86_xmm s, r = {.u64 = {0, 0}};
    x86_ssefp_mmx_enter(cpu);
    x86_ssefp_src(cpu, in, &s, size);
    if (size == 8)
        s.u64[1] = 0; /* only two singles are converted */
    uint32_t f = h(&r, &s, ssefp_run_mx(cpu->mxcsr), 0);
    x86_ssefp_mmx_transition(cpu);
    x86_ssefp_check(cpu, f, NULL, NULL, NULL, 0);
    x86_fpreg *mm = &cpu->fpu.st[in->reg & 7];
    mm->raw.mant = r.u64[0];
    mm->raw.sign_exp = 0xffff;
}

void x86_ssefp_cvtps2pi(struct x86_cpu *cpu, const struct x86_insn *in)
{
    cvt2pi(cpu, in, h_cvtps2dq, 8);
}

void x86_ssefp_cvttps2pi(struct x86_cpu *cpu, const struct x86_insn *in)
{
    cvt2pi(cpu, in, h_cvttps2dq, 8);
}

void x86_ssefp_cvtpd2pi(struct x86_cpu *cpu, const struct x86_insn *in)
{
    cvt2pi(cpu, in, h_cvtpd2dq, 16);
}

void x86_ssefp_cvttpd2pi(struct x86_cpu *cpu, const struct x86_insn *in)
{
    cvt2pi(cpu, in, h_cvttpd2dq, 16);
}
