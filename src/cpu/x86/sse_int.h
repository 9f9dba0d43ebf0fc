/* Private to the packed-integer families: mmx.c (MMX registers) and
 * sse_int*.c (XMM registers).
 *
 * MMX and SSE2+ share their packed-integer semantics; only the register
 * file and the vector width differ. Each operation is therefore written
 * once, as a lane kernel over a width of n bytes (8 for mm, 16 for xmm):
 *
 *     void kernel(x86_xmm *d, const x86_xmm *s, unsigned n, unsigned imm);
 *
 * d holds the destination operand and receives the result; s is the source
 * (a copy, so d and s never alias); imm is the instruction's imm8 where it
 * has one. Shift kernels take their count from s->u64[0] (the register or
 * memory count, or the immediate put there by the op). Kernels only read
 * and write the low n bytes that matter for the width; they never fault,
 * so the op functions around them load, compute into a temporary and only
 * then commit (precise exceptions).
 *
 * x86_ops_mmx and x86_ops_sse_int are built from the X-macro lists below,
 * one op function per (kernel, register file).
 */
#ifndef XUNI_CPU_X86_SSE_INT_H
#define XUNI_CPU_X86_SSE_INT_H

#include "cpu/x86/operand.h"

typedef void x86_pint_fn(x86_xmm *d, const x86_xmm *s, unsigned n, unsigned imm);

/* clang-format off */

/* Every kernel (sse_int_lanes.c, sse_int_aes.c). */
#define X86_PINT_KERNELS(X)                                                                        \
    X(paddb) X(paddw) X(paddd) X(paddq) X(psubb) X(psubw) X(psubd) X(psubq)                        \
    X(paddsb) X(paddsw) X(paddusb) X(paddusw) X(psubsb) X(psubsw) X(psubusb) X(psubusw)            \
    X(pmullw) X(pmulhw) X(pmulhuw) X(pmuludq) X(pmaddwd) X(pand) X(pandn) X(por) X(pxor)           \
    X(pcmpeqb) X(pcmpeqw) X(pcmpeqd) X(pcmpeqq) X(pcmpgtb) X(pcmpgtw) X(pcmpgtd) X(pcmpgtq)        \
    X(psllw) X(pslld) X(psllq) X(psrlw) X(psrld) X(psrlq) X(psraw) X(psrad) X(pslldq) X(psrldq)    \
    X(packsswb) X(packssdw) X(packuswb) X(packusdw)                                                \
    X(punpcklbw) X(punpcklwd) X(punpckldq) X(punpcklqdq)                                           \
    X(punpckhbw) X(punpckhwd) X(punpckhdq) X(punpckhqdq)                                           \
    X(pminub) X(pmaxub) X(pminsw) X(pmaxsw) X(pminsb) X(pmaxsb) X(pminsd) X(pmaxsd)                \
    X(pminuw) X(pmaxuw) X(pminud) X(pmaxud) X(pavgb) X(pavgw) X(psadbw)                            \
    X(pshufw) X(pshufd) X(pshufhw) X(pshuflw) X(pshufb) X(palignr)                                 \
    X(phaddw) X(phaddd) X(phaddsw) X(pmaddubsw) X(phsubw) X(phsubd) X(phsubsw)                     \
    X(psignb) X(psignw) X(psignd) X(pmulhrsw) X(pabsb) X(pabsw) X(pabsd)                           \
    X(pmuldq) X(pmulld) X(phminposuw) X(pblendw) X(mpsadbw) X(pclmulqdq)                           \
    X(aesenc) X(aesenclast) X(aesdec) X(aesdeclast) X(aesimc) X(aeskeygenassist)

#define X86_PINT_DECLARE(k) x86_pint_fn x86_pint_##k;
X86_PINT_KERNELS(X86_PINT_DECLARE)
#undef X86_PINT_DECLARE

/* Two-operand ops of map 0F with the same shape for mm (no prefix, m64
 * source) and xmm (66, aligned m128 source): X(opcode, kernel). */
#define X86_PINT_BINARY_0F(X)                                                                      \
    X(0x63, packsswb) X(0x64, pcmpgtb) X(0x65, pcmpgtw) X(0x66, pcmpgtd) X(0x67, packuswb)         \
    X(0x68, punpckhbw) X(0x69, punpckhwd) X(0x6a, punpckhdq) X(0x6b, packssdw)                     \
    X(0x74, pcmpeqb) X(0x75, pcmpeqw) X(0x76, pcmpeqd)                                             \
    X(0xd1, psrlw) X(0xd2, psrld) X(0xd3, psrlq) X(0xd4, paddq) X(0xd5, pmullw)                    \
    X(0xd8, psubusb) X(0xd9, psubusw) X(0xda, pminub) X(0xdb, pand)                                \
    X(0xdc, paddusb) X(0xdd, paddusw) X(0xde, pmaxub) X(0xdf, pandn)                               \
    X(0xe0, pavgb) X(0xe1, psraw) X(0xe2, psrad) X(0xe3, pavgw) X(0xe4, pmulhuw) X(0xe5, pmulhw)   \
    X(0xe8, psubsb) X(0xe9, psubsw) X(0xea, pminsw) X(0xeb, por)                                   \
    X(0xec, paddsb) X(0xed, paddsw) X(0xee, pmaxsw) X(0xef, pxor)                                  \
    X(0xf1, psllw) X(0xf2, pslld) X(0xf3, psllq) X(0xf4, pmuludq) X(0xf5, pmaddwd) X(0xf6, psadbw) \
    X(0xf8, psubb) X(0xf9, psubw) X(0xfa, psubd) X(0xfb, psubq)                                    \
    X(0xfc, paddb) X(0xfd, paddw) X(0xfe, paddd)

/* The low unpacks: the mm forms read only 32 bits of memory (mm/m32). */
#define X86_PINT_UNPACK_LOW_0F(X) X(0x60, punpcklbw) X(0x61, punpcklwd) X(0x62, punpckldq)

/* SSSE3 (0F 38): mm and xmm forms. */
#define X86_PINT_BINARY_0F38(X)                                                                    \
    X(0x00, pshufb) X(0x01, phaddw) X(0x02, phaddd) X(0x03, phaddsw) X(0x04, pmaddubsw)            \
    X(0x05, phsubw) X(0x06, phsubd) X(0x07, phsubsw) X(0x08, psignb) X(0x09, psignw)               \
    X(0x0a, psignd) X(0x0b, pmulhrsw) X(0x1c, pabsb) X(0x1d, pabsw) X(0x1e, pabsd)

/* xmm only: SSE2 qword unpacks (0F); SSE4.1, SSE4.2 PCMPGTQ and AES
 * (66 0F 38). */
#define X86_PINT_BINARY_0F_XMM(X) X(0x6c, punpcklqdq) X(0x6d, punpckhqdq)
#define X86_PINT_BINARY_0F38_XMM(X)                                                                \
    X(0x28, pmuldq) X(0x29, pcmpeqq) X(0x2b, packusdw) X(0x37, pcmpgtq)                            \
    X(0x38, pminsb) X(0x39, pminsd) X(0x3a, pminuw) X(0x3b, pminud)                                \
    X(0x3c, pmaxsb) X(0x3d, pmaxsd) X(0x3e, pmaxuw) X(0x3f, pmaxud)                                \
    X(0x40, pmulld) X(0x41, phminposuw)                                                            \
    X(0xdb, aesimc) X(0xdc, aesenc) X(0xdd, aesenclast) X(0xde, aesdec) X(0xdf, aesdeclast)

/* With an imm8 (66 0F 3A), xmm only (PALIGNR, for both, is apart). */
#define X86_PINT_IMM_0F3A_XMM(X)                                                                   \
    X(0x0e, pblendw) X(0x42, mpsadbw) X(0x44, pclmulqdq) X(0xdf, aeskeygenassist)

/* Shifts by immediate, 0F 71/72/73 by ModRM.reg: X(opcode, reg, kernel). */
#define X86_PINT_SHIFT_IMM(X)                                                                      \
    X(0x71, 2, psrlw) X(0x71, 4, psraw) X(0x71, 6, psllw)                                          \
    X(0x72, 2, psrld) X(0x72, 4, psrad) X(0x72, 6, pslld)                                          \
    X(0x73, 2, psrlq) X(0x73, 6, psllq)
#define X86_PINT_SHIFT_IMM_XMM(X) X(0x73, 3, psrldq) X(0x73, 7, pslldq)

/* clang-format on */

/* --- operands --- */

#ifndef X86_FSW_ES
#define X86_FSW_ES 0x80u /* x87 error summary: an unmasked exception is pending */
#endif

/* Every instruction on MMX registers first delivers a pending x87
 * exception (#MF), as the SDM lists for each of them. */
static inline void x86_mmx_enter(struct x86_cpu *cpu)
{
    if (__builtin_expect(cpu->fpu.fsw & X86_FSW_ES, 0))
        x86_raise(cpu, X86_EXC_MF, 0);
}

static inline uint64_t x86_mmx_get(const struct x86_cpu *cpu, unsigned r)
{
    return cpu->fpu.st[r & 7].raw.mant;
}

/* The x87 side of any MMX instruction (SDM Vol. 1, Table 9-2): TOP = 0 and
 * every tag valid. Called once the instruction can no longer fault. */
static inline void x86_mmx_touch(struct x86_cpu *cpu)
{
    cpu->fpu.top = 0;
    cpu->fpu.ftw = 0xff;
}

/* A write of mm r: the significand of R(r), with exponent and sign all
 * ones; also does the touch. */
static inline void x86_mmx_put(struct x86_cpu *cpu, unsigned r, uint64_t v)
{
    x86_mmx_touch(cpu);
    cpu->fpu.st[r & 7].raw.mant = v;
    cpu->fpu.st[r & 7].raw.sign_exp = 0xffff;
}

/* The linear address of a 16-byte SSE memory operand that must be aligned
 * (legacy-SSE encodings): #GP(0) otherwise. */
static inline uint64_t x86_sse_ea_aligned(struct x86_cpu *cpu, const struct x86_insn *in)
{
    uint64_t ea = x86_ea(cpu, in);
    if (__builtin_expect(ea & 15, 0))
        x86_raise(cpu, X86_EXC_GP, 0);
    return ea;
}

/* The xmm/m128 source operand (aligned). */
static inline void x86_sse_src128(struct x86_cpu *cpu, const struct x86_insn *in, x86_xmm *v)
{
    if (in->flags & X86_I_MEM)
        x86_load_bytes(cpu, x86_sse_ea_aligned(cpu, in), v, 16);
    else
        *v = cpu->xmm[in->rm];
}

/* PMOVMSKB: the sign bits of the n bytes of v. */
static inline uint32_t x86_pint_movmskb(const x86_xmm *v, unsigned n)
{
    uint32_t m = 0;
    for (unsigned i = 0; i < n; i++)
        m |= (uint32_t)(v->u8[i] >> 7) << i;
    return m;
}

/* MASKMOVQ / MASKMOVDQU: store the bytes of data whose mask byte has its
 * top bit set to DS:[rDI] (sse_int.c). */
void x86_pint_maskmov(struct x86_cpu *cpu, const struct x86_insn *in, const x86_xmm *data,
                      const x86_xmm *mask, unsigned n);

#endif
