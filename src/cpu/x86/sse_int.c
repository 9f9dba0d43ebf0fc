/* SSE2, SSSE3, SSE4.1 and SSE4.2 packed-integer instructions on the xmm
 * registers (mandatory prefix 66, plus F3/F2 for PSHUFHW/PSHUFLW and the
 * F3 0F 7E MOVQ): arithmetic, compare, logic, shifts, pack/unpack,
 * shuffles, MOVD/MOVQ between xmm and GPRs or memory, PINSRx/PEXTRx,
 * PMOVSX/ZX, PTEST, PBLENDVB, MASKMOVDQU, MOVNTDQA, PCLMULQDQ and the AES
 * rounds (sse_int_aes.c).
 *
 * The operations are the lane kernels shared with MMX (sse_int.h,
 * sse_int_lanes.c) at a width of 16 bytes. A 16-byte memory operand of
 * these legacy-SSE encodings must be 16-byte aligned (#GP(0)); the smaller
 * operands (MOVD/MOVQ, PINSR/PEXTR, PMOVSX/ZX) need not be. None of them
 * touch MXCSR; only PTEST writes RFLAGS.
 */
#include "cpu/x86/flags.h"
#include "cpu/x86/sse_int.h"

#ifndef X86_PAGE_SIZE
#define X86_PAGE_SIZE 4096u
#endif

#define SSE_INLINE static inline __attribute__((always_inline))

/* xmm <- k(xmm, xmm/m128) */
SSE_INLINE void sse_binary(struct x86_cpu *cpu, const struct x86_insn *in, x86_pint_fn *k)
{
    x86_xmm s, d;
    x86_sse_src128(cpu, in, &s);
    d = cpu->xmm[in->reg];
    k(&d, &s, 16, (unsigned)in->imm);
    cpu->xmm[in->reg] = d;
}

/* 66 0F 71/72/73 /n ib: xmm (ModRM.rm) shifted by imm8. */
SSE_INLINE void sse_shift_imm(struct x86_cpu *cpu, const struct x86_insn *in, x86_pint_fn *k)
{
    x86_xmm s = {.u64 = {(uint64_t)in->imm & 0xff, 0}};
    k(&cpu->xmm[in->rm], &s, 16, 0);
}

#define SSE_BINARY(opc, k)                                                                         \
    static void op_sse_##k(struct x86_cpu *cpu, const struct x86_insn *in)                         \
    {                                                                                              \
        sse_binary(cpu, in, x86_pint_##k);                                                         \
    }
#define SSE_SHIFT_IMM(opc, r, k)                                                                   \
    static void op_sse_##k##_imm(struct x86_cpu *cpu, const struct x86_insn *in)                   \
    {                                                                                              \
        sse_shift_imm(cpu, in, x86_pint_##k);                                                      \
    }
X86_PINT_BINARY_0F(SSE_BINARY)
X86_PINT_UNPACK_LOW_0F(SSE_BINARY)
X86_PINT_BINARY_0F_XMM(SSE_BINARY)
X86_PINT_BINARY_0F38(SSE_BINARY)
X86_PINT_BINARY_0F38_XMM(SSE_BINARY)
X86_PINT_IMM_0F3A_XMM(SSE_BINARY)
X86_PINT_SHIFT_IMM(SSE_SHIFT_IMM)
X86_PINT_SHIFT_IMM_XMM(SSE_SHIFT_IMM)
SSE_BINARY(0x70, pshufd)
SSE_BINARY(0x70, pshufhw)
SSE_BINARY(0x70, pshuflw)
SSE_BINARY(0x0f, palignr)

/* --- moves between xmm and GPRs or memory --- */

static void xmm_set_low(struct x86_cpu *cpu, unsigned r, uint64_t v)
{
    cpu->xmm[r].u64[0] = v;
    cpu->xmm[r].u64[1] = 0;
}

/* 66 0F 6E: MOVD xmm, r/m32; with REX.W MOVQ xmm, r/m64 (zero-extended). */
static void op_movd_xmm_rm(struct x86_cpu *cpu, const struct x86_insn *in)
{
    xmm_set_low(cpu, in->reg, x86_rm_read(cpu, in, in->osz == 3 ? 3 : 2));
}

/* 66 0F 7E: MOVD r/m32, xmm; with REX.W MOVQ r/m64, xmm. */
static void op_movd_rm_xmm(struct x86_cpu *cpu, const struct x86_insn *in)
{
    x86_rm_write(cpu, in, in->osz == 3 ? 3 : 2, cpu->xmm[in->reg].u64[0]);
}

/* F3 0F 7E: MOVQ xmm, xmm/m64 (the high qword cleared). */
static void op_movq_xmm_xmmm64(struct x86_cpu *cpu, const struct x86_insn *in)
{
    uint64_t v = in->flags & X86_I_MEM ? x86_load64(cpu, x86_ea(cpu, in)) : cpu->xmm[in->rm].u64[0];
    xmm_set_low(cpu, in->reg, v);
}

/* 66 0F D6: MOVQ xmm/m64, xmm (a register destination's high qword
 * cleared). */
static void op_movq_xmmm64_xmm(struct x86_cpu *cpu, const struct x86_insn *in)
{
    uint64_t v = cpu->xmm[in->reg].u64[0];
    if (in->flags & X86_I_MEM)
        x86_store(cpu, x86_ea(cpu, in), 3, v);
    else
        xmm_set_low(cpu, in->rm, v);
}

/* 66 0F 38 2A: MOVNTDQA xmm, m128 (aligned; the hint does not matter). */
static void op_movntdqa(struct x86_cpu *cpu, const struct x86_insn *in)
{
    x86_xmm v;
    x86_load_bytes(cpu, x86_sse_ea_aligned(cpu, in), &v, 16);
    cpu->xmm[in->reg] = v;
}

/* --- insert and extract --- */

/* PINSRB/PINSRW/PINSRD/PINSRQ xmm, r/m, imm8: element imm (modulo the
 * element count) of size 1 << sz from the r/m operand's low bits. */
SSE_INLINE void sse_insert(struct x86_cpu *cpu, const struct x86_insn *in, unsigned sz)
{
    uint64_t v = x86_rm_read(cpu, in, sz);
    unsigned bytes = 1u << sz, i = (unsigned)in->imm & (16 / bytes - 1);
    memcpy(&cpu->xmm[in->reg].u8[i * bytes], &v, bytes);
}

/* PEXTRB/PEXTRW/PEXTRD/PEXTRQ r/m, xmm, imm8: a register destination is
 * zero-extended to 64 bits, a memory one gets the element's size. */
SSE_INLINE void sse_extract(struct x86_cpu *cpu, const struct x86_insn *in, unsigned sz)
{
    unsigned bytes = 1u << sz, i = (unsigned)in->imm & (16 / bytes - 1);
    uint64_t v = 0;
    memcpy(&v, &cpu->xmm[in->reg].u8[i * bytes], bytes);
    if (in->flags & X86_I_MEM)
        x86_store(cpu, x86_ea(cpu, in), sz, v);
    else
        x86_reg_write(cpu, in->rm, 3, v);
}

static void op_pinsrb(struct x86_cpu *cpu, const struct x86_insn *in)
{
    sse_insert(cpu, in, 0);
}

static void op_pinsrw(struct x86_cpu *cpu, const struct x86_insn *in)
{
    sse_insert(cpu, in, 1);
}

/* 66 0F 3A 22: PINSRD, with REX.W PINSRQ. */
static void op_pinsrd(struct x86_cpu *cpu, const struct x86_insn *in)
{
    sse_insert(cpu, in, in->osz == 3 ? 3 : 2);
}

static void op_pextrb(struct x86_cpu *cpu, const struct x86_insn *in)
{
    sse_extract(cpu, in, 0);
}

static void op_pextrw_rm(struct x86_cpu *cpu, const struct x86_insn *in)
{
    sse_extract(cpu, in, 1);
}

/* 66 0F 3A 16: PEXTRD, with REX.W PEXTRQ. */
static void op_pextrd(struct x86_cpu *cpu, const struct x86_insn *in)
{
    sse_extract(cpu, in, in->osz == 3 ? 3 : 2);
}

/* 66 0F C5: PEXTRW r32/r64, xmm, imm8 (the register form with the GPR in
 * ModRM.reg). */
static void op_pextrw_reg(struct x86_cpu *cpu, const struct x86_insn *in)
{
    unsigned i = (unsigned)in->imm & 7;
    x86_reg_write(cpu, in->reg, 3, cpu->xmm[in->rm].u16[i]);
}

/* 66 0F D7: PMOVMSKB r32/r64, xmm. */
static void op_pmovmskb(struct x86_cpu *cpu, const struct x86_insn *in)
{
    x86_reg_write(cpu, in->reg, 3, x86_pint_movmskb(&cpu->xmm[in->rm], 16));
}

/* --- PMOVSX / PMOVZX: the low 16 * from / to bytes, widened --- */

SSE_INLINE void sse_pmovx(struct x86_cpu *cpu, const struct x86_insn *in, unsigned from,
                          unsigned to, int sign)
{
    x86_xmm s, r;
    unsigned count = 16 / to;
    if (in->flags & X86_I_MEM)
        x86_load_bytes(cpu, x86_ea(cpu, in), &s, count * from);
    else
        s = cpu->xmm[in->rm];
    for (unsigned i = 0; i < count; i++) {
        uint64_t v = 0;
        memcpy(&v, &s.u8[i * from], from);
        if (sign)
            v = (uint64_t)x86_sext(v, (unsigned)__builtin_ctz(from));
        memcpy(&r.u8[i * to], &v, to);
    }
    cpu->xmm[in->reg] = r;
}

#define PMOVX(name, from, to, sign)                                                                \
    static void op_##name(struct x86_cpu *cpu, const struct x86_insn *in)                          \
    {                                                                                              \
        sse_pmovx(cpu, in, from, to, sign);                                                        \
    }
#define PMOVX_LIST(X)                                                                              \
    X(0x20, pmovsxbw, 1, 2, 1)                                                                     \
    X(0x21, pmovsxbd, 1, 4, 1)                                                                     \
    X(0x22, pmovsxbq, 1, 8, 1)                                                                     \
    X(0x23, pmovsxwd, 2, 4, 1)                                                                     \
    X(0x24, pmovsxwq, 2, 8, 1)                                                                     \
    X(0x25, pmovsxdq, 4, 8, 1)                                                                     \
    X(0x30, pmovzxbw, 1, 2, 0)                                                                     \
    X(0x31, pmovzxbd, 1, 4, 0)                                                                     \
    X(0x32, pmovzxbq, 1, 8, 0)                                                                     \
    X(0x33, pmovzxwd, 2, 4, 0)                                                                     \
    X(0x34, pmovzxwq, 2, 8, 0)                                                                     \
    X(0x35, pmovzxdq, 4, 8, 0)
#define PMOVX_DEFINE(opc, name, from, to, sign) PMOVX(name, from, to, sign)
PMOVX_LIST(PMOVX_DEFINE)

/* --- blends, PTEST, MASKMOVDQU --- */

/* 66 0F 38 10: PBLENDVB xmm, xmm/m128, <XMM0>: bytes of the source where
 * the byte of XMM0 has its top bit set. */
static void op_pblendvb(struct x86_cpu *cpu, const struct x86_insn *in)
{
    x86_xmm s;
    x86_sse_src128(cpu, in, &s);
    x86_xmm *d = &cpu->xmm[in->reg];
    const x86_xmm *m = &cpu->xmm[0];
    for (unsigned i = 0; i < 16; i++) {
        if (m->u8[i] & 0x80)
            d->u8[i] = s.u8[i];
    }
}

/* 66 0F 38 17: PTEST xmm, xmm/m128: ZF = (d & s) == 0, CF = (~d & s) ==
 * 0, the other arithmetic flags cleared. */
static void op_ptest(struct x86_cpu *cpu, const struct x86_insn *in)
{
    x86_xmm s;
    x86_sse_src128(cpu, in, &s);
    const x86_xmm *d = &cpu->xmm[in->reg];
    uint64_t and = (d->u64[0] & s.u64[0]) | (d->u64[1] & s.u64[1]);
    uint64_t andn = (~d->u64[0] & s.u64[0]) | (~d->u64[1] & s.u64[1]);
    x86_flags_set(cpu, (and? 0 : X86_FLAG_ZF) | (andn ? 0 : X86_FLAG_CF));
}

void x86_pint_maskmov(struct x86_cpu *cpu, const struct x86_insn *in, const x86_xmm *data,
                      const x86_xmm *mask, unsigned n)
{
    uint64_t a = cpu->gpr[X86_RDI];
    if (in->asz == 2)
        a = (uint32_t)a;
    else if (in->asz == 1)
        a = (uint16_t)a;
    a += cpu->seg[in->seg].base;
    uint8_t *p = x86_mem_ptr(cpu, a, n, 1);
    /* The SDM leaves faults on unselected bytes to the implementation; the
     * host CPU (AMD) checks the whole destination for writing, even with
     * an all-zero mask. So does this, before storing anything, so a fault
     * leaves memory unchanged: an atomic no-op write to the first byte and
     * to the first byte of a second page. */
    uint64_t second = (a + n - 1) & ~(uint64_t)(X86_PAGE_SIZE - 1);
    __atomic_fetch_or(p, 0, __ATOMIC_RELAXED);
    if (second > a)
        __atomic_fetch_or(p + (second - a), 0, __ATOMIC_RELAXED);
    for (unsigned i = 0; i < n; i++) {
        if (mask->u8[i] & 0x80)
            p[i] = data->u8[i];
    }
}

/* 66 0F F7: MASKMOVDQU xmm1, xmm2. */
static void op_maskmovdqu(struct x86_cpu *cpu, const struct x86_insn *in)
{
    x86_pint_maskmov(cpu, in, &cpu->xmm[in->reg], &cpu->xmm[in->rm], 16);
}

#define F   X86_MAP_0F
#define F38 X86_MAP_0F38
#define F3A X86_MAP_0F3A
#define P66 X86_PFX_66
#define MA  X86_MOD_ANY
#define MM  X86_MOD_MEM
#define MR  X86_MOD_REG
#define ROW(map, opc, fn, name)                                                                    \
    {                                                                                              \
        (map), (opc), P66, -1, MA, (fn), (name)                                                    \
    }
#define ROW_0F(opc, k)                       ROW(F, opc, op_sse_##k, #k),
#define ROW_0F38(opc, k)                     ROW(F38, opc, op_sse_##k, #k),
#define ROW_0F3A(opc, k)                     ROW(F3A, opc, op_sse_##k, #k),
#define ROW_SHIFT_IMM(opc, r, k)             {F, (opc), P66, (r), MR, op_sse_##k##_imm, #k},
#define ROW_PMOVX(opc, name, from, to, sign) ROW(F38, opc, op_##name, #name),

/* clang-format off */
const struct x86_op_entry x86_ops_sse_int[] = {
    X86_PINT_BINARY_0F(ROW_0F)
    X86_PINT_UNPACK_LOW_0F(ROW_0F)
    X86_PINT_BINARY_0F_XMM(ROW_0F)
    X86_PINT_BINARY_0F38(ROW_0F38)
    X86_PINT_BINARY_0F38_XMM(ROW_0F38)
    X86_PINT_IMM_0F3A_XMM(ROW_0F3A)
    X86_PINT_SHIFT_IMM(ROW_SHIFT_IMM)
    X86_PINT_SHIFT_IMM_XMM(ROW_SHIFT_IMM)
    PMOVX_LIST(ROW_PMOVX)
    ROW(F, 0x70, op_sse_pshufd, "pshufd"),
    {F, 0x70, X86_PFX_F3, -1, MA, op_sse_pshufhw, "pshufhw"},
    {F, 0x70, X86_PFX_F2, -1, MA, op_sse_pshuflw, "pshuflw"},
    ROW(F3A, 0x0f, op_sse_palignr, "palignr"),
    ROW(F, 0x6e, op_movd_xmm_rm, "movd"),
    ROW(F, 0x7e, op_movd_rm_xmm, "movd"),
    {F, 0x7e, X86_PFX_F3, -1, MA, op_movq_xmm_xmmm64, "movq"},
    ROW(F, 0xd6, op_movq_xmmm64_xmm, "movq"),
    {F38, 0x2a, P66, -1, MM, op_movntdqa, "movntdqa"},
    ROW(F, 0xc4, op_pinsrw, "pinsrw"),
    {F, 0xc5, P66, -1, MR, op_pextrw_reg, "pextrw"},
    ROW(F3A, 0x14, op_pextrb, "pextrb"),
    ROW(F3A, 0x15, op_pextrw_rm, "pextrw"),
    ROW(F3A, 0x16, op_pextrd, "pextrd"),
    ROW(F3A, 0x20, op_pinsrb, "pinsrb"),
    ROW(F3A, 0x22, op_pinsrd, "pinsrd"),
    {F, 0xd7, P66, -1, MR, op_pmovmskb, "pmovmskb"},
    {F, 0xf7, P66, -1, MR, op_maskmovdqu, "maskmovdqu"},
    ROW(F38, 0x10, op_pblendvb, "pblendvb"),
    ROW(F38, 0x17, op_ptest, "ptest"),
    {0, 0, 0, 0, 0, NULL, NULL},
};
/* clang-format on */
