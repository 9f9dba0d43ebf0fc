/* SSE floating point (sse_fp*.c), private to the family.
 *
 * Exactness comes from the host: every operation that rounds, compares or
 * can raise a floating-point exception runs the host's own instruction
 * under an MXCSR derived from the guest's (rounding control, DAZ, FTZ), and
 * the sticky flags the host raised are read back. SSEFP_HOST() does that in
 * one asm statement, STMXCSR/LDMXCSR around the operation, so the compiler
 * cannot move the operation out from under the guest's control bits.
 *
 * The host always runs with every exception masked (it must never trap),
 * so an unmasked guest exception is modelled (sse_fp.c, x86_ssefp_check):
 *   - pre-computation exceptions (invalid, denormal operand, divide by
 *     zero) of any element that are unmasked: only those flags are set,
 *     no post-computation flag of any element;
 *   - otherwise each element contributes its post-computation flags; with
 *     overflow (or underflow) unmasked an element that overflows (or is
 *     tiny, even if exact) sets OE (UE), and PE only if the result rounded
 *     to the destination precision with an unbounded exponent is inexact
 *     (computed on the host x87 in extended precision);
 *   - any raised flag that is unmasked: the flags are set, the destination
 *     is not written and #XM (vector 19) is raised.
 * This is what this host (AMD Zen 3) does; tininess is detected after
 * rounding, as the host's own masked run reports it. DPPS/DPPD are
 * several steps (products, then sums) and the hardware traps between
 * them, so their lane function walks the steps.
 */
#ifndef XUNI_CPU_X86_SSE_FP_H
#define XUNI_CPU_X86_SSE_FP_H

#include <stdbool.h>
#include <string.h>

#include "cpu/x86/insn.h"
#include "cpu/x86/operand.h"

/* MXCSR bits. */
#define SSEFP_IE    0x0001u
#define SSEFP_DE    0x0002u
#define SSEFP_ZE    0x0004u
#define SSEFP_OE    0x0008u
#define SSEFP_UE    0x0010u
#define SSEFP_PE    0x0020u
#define SSEFP_FLAGS 0x003fu
#define SSEFP_PRE   (SSEFP_IE | SSEFP_DE | SSEFP_ZE) /* pre-computation exceptions */
#define SSEFP_DAZ   0x0040u
#define SSEFP_OM    0x0400u
#define SSEFP_UM    0x0800u
#define SSEFP_MASKS 0x1f80u
#define SSEFP_RC    0x6000u
#define SSEFP_FTZ   0x8000u
#define SSEFP_MM    0x20000u /* AMD misaligned SSE mode */
/* The MXCSR bits LDMXCSR accepts are the host's MXCSR_MASK (x87_mxcsr_mask():
 * 0x2ffff on this AMD host, with DAZ and AMD's MM; 0xffff on Intel), since
 * the guest's MXCSR is loaded into the host around each operation: a bit the
 * host lacks must be #GP(0) for the guest, never reach the host. */

#define SSEFP_INLINE static inline __attribute__((always_inline))

/* A 16-byte vector in an xmm register, for "x" asm operands. */
typedef double ssefp_vec __attribute__((vector_size(16)));

SSEFP_INLINE ssefp_vec ssefp_get(const x86_xmm *x)
{
    ssefp_vec v;
    memcpy(&v, x, 16);
    return v;
}

SSEFP_INLINE void ssefp_put(x86_xmm *x, ssefp_vec v)
{
    memcpy(x, &v, 16);
}

/* The MXCSR an operation runs under on the host: the guest's rounding
 * control, DAZ and FTZ; every exception masked; no sticky flags (to see
 * what this operation raises). */
SSEFP_INLINE uint32_t ssefp_run_mx(uint32_t guest)
{
    return (guest & (SSEFP_RC | SSEFP_DAZ | SSEFP_FTZ)) | SSEFP_MASKS;
}

/* Run `text` on the host under MXCSR mx and evaluate to the MXCSR after it.
 * Operands: %[d] (xmm, read and written), %[s] (xmm), %[i] (immediate
 * imm, a constant expression); SSEFP_HOST_X appends further output
 * operands (general registers, condition bytes). */
#define SSEFP_HOST_X(text, dv, sv, mx, imm, ...)                                                   \
    ({                                                                                             \
        uint32_t save_, out_;                                                                      \
        __asm__ volatile("stmxcsr %[save_]\n\t"                                                    \
                         "ldmxcsr %[mx_]\n\t" text "\n\t"                                          \
                         "stmxcsr %[out_]\n\t"                                                     \
                         "ldmxcsr %[save_]"                                                        \
                         : [d] "+x"(dv), [save_] "=m"(save_), [out_] "=m"(out_)__VA_ARGS__         \
                         : [s] "x"(sv), [mx_] "m"(mx), [i] "i"(imm));                              \
        out_;                                                                                      \
    })
#define SSEFP_HOST(text, dv, sv, mx, imm) SSEFP_HOST_X(text, dv, sv, mx, imm, )

/* A host operation on a destination and a source vector, with the
 * instruction's immediate (ignored by most). Returns the MXCSR after. */
typedef uint32_t ssefp_host_fn(x86_xmm *d, const x86_xmm *s, uint32_t mx, unsigned imm);

/* `name`: d = mnem(d, s). */
#define SSEFP_HOST_FN(name, mnem)                                                                  \
    static uint32_t name(x86_xmm *d, const x86_xmm *s, uint32_t mx, unsigned imm)                  \
    {                                                                                              \
        (void)imm;                                                                                 \
        ssefp_vec dv = ssefp_get(d), sv = ssefp_get(s);                                            \
        uint32_t r = SSEFP_HOST(mnem " %[s], %[d]", dv, sv, mx, 0);                                \
        ssefp_put(d, dv);                                                                          \
        return r;                                                                                  \
    }

/* Case labels for immediates: X(mnem, n) for n in [base, base + 4^k). */
#define SSEFP_C4(X, m, n) X(m, (n)) X(m, (n) + 1) X(m, (n) + 2) X(m, (n) + 3)
#define SSEFP_C16(X, m, n)                                                                         \
    SSEFP_C4(X, m, n) SSEFP_C4(X, m, (n) + 4) SSEFP_C4(X, m, (n) + 8) SSEFP_C4(X, m, (n) + 12)
#define SSEFP_C64(X, m, n)                                                                         \
    SSEFP_C16(X, m, n) SSEFP_C16(X, m, (n) + 16) SSEFP_C16(X, m, (n) + 32) SSEFP_C16(X, m, (n) + 48)
#define SSEFP_C256(X, m)                                                                           \
    SSEFP_C64(X, m, 0) SSEFP_C64(X, m, 64) SSEFP_C64(X, m, 128) SSEFP_C64(X, m, 192)
#define SSEFP_IMM_CASE(m, n)                                                                       \
    case n:                                                                                        \
        r = SSEFP_HOST(m " %[i], %[s], %[d]", dv, sv, mx, n);                                      \
        break;

/* The element operations of the lane model (unmasked overflow/underflow). */
enum ssefp_arith { SSEFP_ADD, SSEFP_SUB, SSEFP_MUL, SSEFP_DIV, SSEFP_CVT /* double -> single */ };

struct ssefp_desc;
/* The flags an operation raises under guest MXCSR g, element by element
 * (see the overview). d and s are the inputs. */
typedef uint32_t ssefp_lanes_fn(const struct ssefp_desc *op, const x86_xmm *d, const x86_xmm *s,
                                uint32_t g, unsigned imm);

/* An xmm-destination operation run by x86_ssefp_run(). */
struct ssefp_desc {
    ssefp_host_fn *host;
    ssefp_lanes_fn *lanes; /* NULL: the operation cannot overflow or underflow */
    uint8_t msize;         /* bytes of a memory source; 16: must be aligned */
    uint8_t arith;         /* enum ssefp_arith, for the lane functions */
    uint8_t dbl;           /* double-precision elements */
    uint8_t nlanes;        /* elements computed */
    uint8_t staged;        /* several dependent steps (DP): lanes decides whenever anything
                              is unmasked, as the hardware traps between the steps */
};

/* Generic lane functions: element i of d and s (vertical), of pairs
 * within d then s (horizontal), alternating SUB/ADD (ADDSUB), and the
 * double -> single conversions. */
ssefp_lanes_fn x86_ssefp_lanes_vert, x86_ssefp_lanes_horiz, x86_ssefp_lanes_addsub,
    x86_ssefp_lanes_cvt;

/* One element: a op b (for SSEFP_CVT, b converted) under guest MXCSR g.
 * Returns the flags with the unmasked rules; *res the masked result. */
uint32_t x86_ssefp_lane(unsigned arith, bool dbl, uint64_t a, uint64_t b, uint32_t g,
                        uint64_t *res);

/* The source operand: register rm, or size bytes of memory (zero-filled
 * to 16); 16-byte operands must be aligned unless MXCSR.MM (#GP(0)). */
void x86_ssefp_src(struct x86_cpu *cpu, const struct x86_insn *in, x86_xmm *s, unsigned size);

/* Linear address of the memory operand, checked for 16-byte alignment. */
uint64_t x86_ssefp_ea_aligned(struct x86_cpu *cpu, const struct x86_insn *in);

/* Account the flags f a host run raised (the MXCSR after it): applies the
 * unmasked-exception rules (op->lanes when needed; op may be NULL), sets
 * the sticky flags and raises #XM if any is unmasked. Returns only if the
 * destination may be written. */
void x86_ssefp_check(struct x86_cpu *cpu, uint32_t f, const struct ssefp_desc *op, const x86_xmm *d,
                     const x86_xmm *s, unsigned imm);

_Noreturn void x86_ssefp_raise_xm(struct x86_cpu *cpu);

/* xmm[reg] = op(xmm[reg], source). */
void x86_ssefp_run(struct x86_cpu *cpu, const struct x86_insn *in, const struct ssefp_desc *op);

/* MMX operands of the conversions: a pending x87 exception is #MF, and an
 * instruction that touches an MMX register moves the x87 to MMX mode
 * (TOP = 0, every tag valid). */
void x86_ssefp_mmx_enter(struct x86_cpu *cpu);
void x86_ssefp_mmx_transition(struct x86_cpu *cpu);

/* An op function of the family per instruction form (sse_fp_arith.c,
 * sse_fp_cvt.c, sse_fp_sse41.c), listed in x86_ops_sse_fp (sse_fp.c). */
#define SSEFP_ARITH_OPS(X)                                                                         \
    X(addps)                                                                                       \
    X(addpd)                                                                                       \
    X(addss)                                                                                       \
    X(addsd)                                                                                       \
    X(subps)                                                                                       \
    X(subpd) X(subss) X(subsd) X(mulps) X(mulpd) X(mulss) X(mulsd) X(divps) X(divpd) X(divss)      \
        X(divsd) X(minps) X(minpd) X(minss) X(minsd) X(maxps) X(maxpd) X(maxss) X(maxsd) X(sqrtps) \
            X(sqrtpd) X(sqrtss) X(sqrtsd) X(rcpps) X(rcpss) X(rsqrtps) X(rsqrtss) X(andps)         \
                X(andnps) X(orps) X(xorps) X(cmpps) X(cmppd) X(cmpss) X(cmpsd) X(comiss) X(comisd) \
                    X(ucomiss) X(ucomisd) X(addsubps) X(addsubpd) X(haddps) X(haddpd) X(hsubps)    \
                        X(hsubpd) X(movmskps) X(movmskpd) X(ldmxcsr) X(stmxcsr)
#define SSEFP_CVT_OPS(X)                                                                           \
    X(cvtpi2ps)                                                                                    \
    X(cvtpi2pd)                                                                                    \
    X(cvtsi2ss)                                                                                    \
    X(cvtsi2sd)                                                                                    \
    X(cvtps2pi)                                                                                    \
    X(cvttps2pi) X(cvtpd2pi) X(cvttpd2pi) X(cvtss2si) X(cvttss2si) X(cvtsd2si) X(cvttsd2si)        \
        X(cvtps2pd) X(cvtpd2ps) X(cvtss2sd) X(cvtsd2ss) X(cvtdq2ps) X(cvtps2dq) X(cvttps2dq)       \
            X(cvtdq2pd) X(cvtpd2dq) X(cvttpd2dq)
#define SSEFP_SSE41_OPS(X)                                                                         \
    X(roundps)                                                                                     \
    X(roundpd)                                                                                     \
    X(roundss)                                                                                     \
    X(roundsd)                                                                                     \
    X(dpps) X(dppd) X(blendps) X(blendpd) X(blendvps) X(blendvpd) X(insertps) X(extractps)
#define SSEFP_DECLARE_OP(name) x86_op_fn x86_ssefp_##name;
SSEFP_ARITH_OPS(SSEFP_DECLARE_OP)
SSEFP_CVT_OPS(SSEFP_DECLARE_OP)
SSEFP_SSE41_OPS(SSEFP_DECLARE_OP)
#undef SSEFP_DECLARE_OP

#endif
