/* SSE floating-point arithmetic: ADD SUB MUL DIV MIN MAX SQRT (ps, pd, ss,
 * sd), RCP and RSQRT (ps, ss), the bitwise AND ANDN OR XOR, CMP with its
 * predicate immediate, COMIS/UCOMIS, the SSE3 ADDSUB/HADD/HSUB, MOVMSK,
 * LDMXCSR and STMXCSR.
 *
 * Each arithmetic form is a descriptor for x86_ssefp_run() (sse_fp.c):
 * the host instruction, the memory operand size, and the lane function
 * that models unmasked overflow and underflow for the operations that can
 * produce them. RCP/RSQRT are approximations: the host's instruction gives
 * the host's exact table values.
 */
#include "cpu/x86/flags.h"
#include "cpu/x86/sse_fp.h"
#include "cpu/x86/x87.h"

SSEFP_HOST_FN(h_addps, "addps")
SSEFP_HOST_FN(h_addpd, "addpd")
SSEFP_HOST_FN(h_addss, "addss")
SSEFP_HOST_FN(h_addsd, "addsd")
SSEFP_HOST_FN(h_subps, "subps")
SSEFP_HOST_FN(h_subpd, "subpd")
SSEFP_HOST_FN(h_subss, "subss")
SSEFP_HOST_FN(h_subsd, "subsd")
SSEFP_HOST_FN(h_mulps, "mulps")
SSEFP_HOST_FN(h_mulpd, "mulpd")
SSEFP_HOST_FN(h_mulss, "mulss")
SSEFP_HOST_FN(h_mulsd, "mulsd")
SSEFP_HOST_FN(h_divps, "divps")
SSEFP_HOST_FN(h_divpd, "divpd")
SSEFP_HOST_FN(h_divss, "divss")
SSEFP_HOST_FN(h_divsd, "divsd")
SSEFP_HOST_FN(h_minps, "minps")
SSEFP_HOST_FN(h_minpd, "minpd")
SSEFP_HOST_FN(h_minss, "minss")
SSEFP_HOST_FN(h_minsd, "minsd")
SSEFP_HOST_FN(h_maxps, "maxps")
SSEFP_HOST_FN(h_maxpd, "maxpd")
SSEFP_HOST_FN(h_maxss, "maxss")
SSEFP_HOST_FN(h_maxsd, "maxsd")
SSEFP_HOST_FN(h_sqrtps, "sqrtps")
SSEFP_HOST_FN(h_sqrtpd, "sqrtpd")
SSEFP_HOST_FN(h_sqrtss, "sqrtss")
SSEFP_HOST_FN(h_sqrtsd, "sqrtsd")
SSEFP_HOST_FN(h_rcpps, "rcpps")
SSEFP_HOST_FN(h_rcpss, "rcpss")
SSEFP_HOST_FN(h_rsqrtps, "rsqrtps")
SSEFP_HOST_FN(h_rsqrtss, "rsqrtss")
SSEFP_HOST_FN(h_addsubps, "addsubps")
SSEFP_HOST_FN(h_addsubpd, "addsubpd")
SSEFP_HOST_FN(h_haddps, "haddps")
SSEFP_HOST_FN(h_haddpd, "haddpd")
SSEFP_HOST_FN(h_hsubps, "hsubps")
SSEFP_HOST_FN(h_hsubpd, "hsubpd")

/* CMP: only imm[2:0] selects the predicate without VEX (the host ignores
 * imm[7:3]). */
#define CMP_HOST_FN(name, mnem)                                                                    \
    static uint32_t name(x86_xmm *d, const x86_xmm *s, uint32_t mx, unsigned imm)                  \
    {                                                                                              \
        ssefp_vec dv = ssefp_get(d), sv = ssefp_get(s);                                            \
        uint32_t r;                                                                                \
        switch (imm & 7) {                                                                         \
            SSEFP_C4(SSEFP_IMM_CASE, mnem, 0)                                                      \
            SSEFP_C4(SSEFP_IMM_CASE, mnem, 4)                                                      \
        default:                                                                                   \
            __builtin_unreachable();                                                               \
        }                                                                                          \
        ssefp_put(d, dv);                                                                          \
        return r;                                                                                  \
    }
CMP_HOST_FN(h_cmpps, "cmpps")
CMP_HOST_FN(h_cmppd, "cmppd")
CMP_HOST_FN(h_cmpss, "cmpss")
CMP_HOST_FN(h_cmpsd, "cmpsd")

/* An op function running host function h on xmm[reg] and the source. */
#define SSEFP_OP(name, h, size, lanes_fn, op, is_dbl, n)                                           \
    static const struct ssefp_desc desc_##name = {                                                 \
        .host = h, .lanes = lanes_fn, .msize = size, .arith = op, .dbl = is_dbl, .nlanes = n};     \
    void x86_ssefp_##name(struct x86_cpu *cpu, const struct x86_insn *in)                          \
    {                                                                                              \
        x86_ssefp_run(cpu, in, &desc_##name);                                                      \
    }

/* The four forms of an operation that can overflow or underflow. */
#define ARITH4(op, ARITH)                                                                          \
    SSEFP_OP(op##ps, h_##op##ps, 16, x86_ssefp_lanes_vert, ARITH, 0, 4)                            \
    SSEFP_OP(op##pd, h_##op##pd, 16, x86_ssefp_lanes_vert, ARITH, 1, 2)                            \
    SSEFP_OP(op##ss, h_##op##ss, 4, x86_ssefp_lanes_vert, ARITH, 0, 1)                             \
    SSEFP_OP(op##sd, h_##op##sd, 8, x86_ssefp_lanes_vert, ARITH, 1, 1)
/* The four forms of one that cannot (invalid, denormal, precision only). */
#define PLAIN4(op)                                                                                 \
    SSEFP_OP(op##ps, h_##op##ps, 16, NULL, 0, 0, 4)                                                \
    SSEFP_OP(op##pd, h_##op##pd, 16, NULL, 0, 1, 2)                                                \
    SSEFP_OP(op##ss, h_##op##ss, 4, NULL, 0, 0, 1)                                                 \
    SSEFP_OP(op##sd, h_##op##sd, 8, NULL, 0, 1, 1)

ARITH4(add, SSEFP_ADD)
ARITH4(sub, SSEFP_SUB)
ARITH4(mul, SSEFP_MUL)
ARITH4(div, SSEFP_DIV)
PLAIN4(min)
PLAIN4(max)
PLAIN4(sqrt)
PLAIN4(cmp)
SSEFP_OP(rcpps, h_rcpps, 16, NULL, 0, 0, 4)
SSEFP_OP(rcpss, h_rcpss, 4, NULL, 0, 0, 1)
SSEFP_OP(rsqrtps, h_rsqrtps, 16, NULL, 0, 0, 4)
SSEFP_OP(rsqrtss, h_rsqrtss, 4, NULL, 0, 0, 1)
SSEFP_OP(addsubps, h_addsubps, 16, x86_ssefp_lanes_addsub, 0, 0, 4)
SSEFP_OP(addsubpd, h_addsubpd, 16, x86_ssefp_lanes_addsub, 0, 1, 2)
SSEFP_OP(haddps, h_haddps, 16, x86_ssefp_lanes_horiz, SSEFP_ADD, 0, 4)
SSEFP_OP(haddpd, h_haddpd, 16, x86_ssefp_lanes_horiz, SSEFP_ADD, 1, 2)
SSEFP_OP(hsubps, h_hsubps, 16, x86_ssefp_lanes_horiz, SSEFP_SUB, 0, 4)
SSEFP_OP(hsubpd, h_hsubpd, 16, x86_ssefp_lanes_horiz, SSEFP_SUB, 1, 2)

/* --- bitwise: no floating-point exceptions, no host instruction --- */

#define LOGIC_OP(name, expr)                                                                       \
    void x86_ssefp_##name(struct x86_cpu *cpu, const struct x86_insn *in)                          \
    {                                                                                              \
        x86_xmm s, *d = &cpu->xmm[in->reg];                                                        \
        x86_ssefp_src(cpu, in, &s, 16);                                                            \
        for (int i = 0; i < 2; i++) {                                                              \
            uint64_t a = d->u64[i], b = s.u64[i];                                                  \
            d->u64[i] = (expr);                                                                    \
        }                                                                                          \
    }
LOGIC_OP(andps, (a & b))
LOGIC_OP(andnps, b & ~a)
LOGIC_OP(orps, a | b)
LOGIC_OP(xorps, a ^ b)

/* --- COMIS/UCOMIS: ZF PF CF from the comparison, OF SF AF cleared --- */

#define COMI_HOST_FN(name, mnem)                                                                   \
    static uint32_t name(const x86_xmm *d, const x86_xmm *s, uint32_t mx, uint64_t *fl)            \
    {                                                                                              \
        ssefp_vec dv = ssefp_get(d), sv = ssefp_get(s);                                            \
        uint8_t z, p, c;                                                                           \
        uint32_t r = SSEFP_HOST_X(mnem " %[s], %[d]\n\tsetz %[z]\n\tsetp %[p]\n\tsetc %[c]", dv,   \
                                  sv, mx, 0, , [z] "=q"(z), [p] "=q"(p), [c] "=q"(c));             \
        *fl = (z ? X86_FLAG_ZF : 0) | (p ? X86_FLAG_PF : 0) | (c ? X86_FLAG_CF : 0);               \
        return r;                                                                                  \
    }
COMI_HOST_FN(h_comiss, "comiss")
COMI_HOST_FN(h_comisd, "comisd")
COMI_HOST_FN(h_ucomiss, "ucomiss")
COMI_HOST_FN(h_ucomisd, "ucomisd")

typedef uint32_t comi_host_fn(const x86_xmm *d, const x86_xmm *s, uint32_t mx, uint64_t *fl);

static void comi(struct x86_cpu *cpu, const struct x86_insn *in, comi_host_fn *h, unsigned size)
{
    x86_xmm s;
    uint64_t fl;
    x86_ssefp_src(cpu, in, &s, size);
    uint32_t f = h(&cpu->xmm[in->reg], &s, ssefp_run_mx(cpu->mxcsr), &fl);
    x86_ssefp_check(cpu, f, NULL, NULL, NULL, 0);
    x86_flags_set(cpu, fl);
}

void x86_ssefp_comiss(struct x86_cpu *cpu, const struct x86_insn *in)
{
    comi(cpu, in, h_comiss, 4);
}

void x86_ssefp_comisd(struct x86_cpu *cpu, const struct x86_insn *in)
{
    comi(cpu, in, h_comisd, 8);
}

void x86_ssefp_ucomiss(struct x86_cpu *cpu, const struct x86_insn *in)
{
    comi(cpu, in, h_ucomiss, 4);
}

void x86_ssefp_ucomisd(struct x86_cpu *cpu, const struct x86_insn *in)
{
    comi(cpu, in, h_ucomisd, 8);
}

/* --- MOVMSK: sign bits to a general register (register source only) --- */

void x86_ssefp_movmskps(struct x86_cpu *cpu, const struct x86_insn *in)
{
    const x86_xmm *s = &cpu->xmm[in->rm];
    uint64_t m = 0;
    for (unsigned i = 0; i < 4; i++)
        m |= (uint64_t)(s->u32[i] >> 31) << i;
    x86_reg_write(cpu, in->reg, 3, m);
}

void x86_ssefp_movmskpd(struct x86_cpu *cpu, const struct x86_insn *in)
{
    const x86_xmm *s = &cpu->xmm[in->rm];
    x86_reg_write(cpu, in->reg, 3, (s->u64[0] >> 63) | (s->u64[1] >> 63) << 1);
}

/* --- LDMXCSR / STMXCSR (0F AE /2, /3, memory only) --- */

void x86_ssefp_ldmxcsr(struct x86_cpu *cpu, const struct x86_insn *in)
{
    uint32_t v = x86_load32(cpu, x86_ea(cpu, in));
    if (v & ~x87_mxcsr_mask())
        x86_raise(cpu, X86_EXC_GP, 0);
    cpu->mxcsr = v;
}

void x86_ssefp_stmxcsr(struct x86_cpu *cpu, const struct x86_insn *in)
{
    x86_store(cpu, x86_ea(cpu, in), 2, cpu->mxcsr);
}
