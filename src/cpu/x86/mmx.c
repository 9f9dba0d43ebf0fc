/* MMX: the packed-integer instructions on the mm registers (no mandatory
 * prefix), including those SSE, SSE2 and SSSE3 added for them (PAVGB,
 * PSHUFW, MASKMOVQ, PADDQ, PMULUDQ, PSHUFB mm, PALIGNR mm, ...), MOVD/MOVQ,
 * MOVDQ2Q/MOVQ2DQ and EMMS.
 *
 * mmN is the significand of the physical x87 register R(N). Every MMX
 * instruction first delivers a pending x87 exception (#MF), then, once it
 * can no longer fault, sets TOP to 0 and all tags valid; writing an mm
 * register also sets that register's sign and exponent to all ones
 * (sse_int.h: x86_mmx_enter, x86_mmx_touch, x86_mmx_put). The operations
 * themselves are the lane kernels shared with the xmm forms (sse_int.h),
 * run at a width of 8 bytes.
 *
 * Register numbers: reg and rm include REX.R/REX.B, which mm operands
 * ignore (x86_mmx_get/put mask them); GPR operands use all four bits.
 */
#include "cpu/x86/sse_int.h"

#define MMX_INLINE static inline __attribute__((always_inline))

/* mm <- k(mm, mm/m64), or mm/m32 for the low unpacks (msize 4). */
MMX_INLINE void mmx_binary(struct x86_cpu *cpu, const struct x86_insn *in, x86_pint_fn *k,
                           unsigned msize)
{
    x86_mmx_enter(cpu);
    x86_xmm d = {0}, s = {0};
    if (in->flags & X86_I_MEM)
        s.u64[0] = x86_load(cpu, x86_ea(cpu, in), msize == 4 ? 2 : 3);
    else
        s.u64[0] = x86_mmx_get(cpu, in->rm);
    d.u64[0] = x86_mmx_get(cpu, in->reg);
    k(&d, &s, 8, (unsigned)in->imm);
    x86_mmx_put(cpu, in->reg, d.u64[0]);
}

/* 0F 71/72/73 /n ib: mm (ModRM.rm) shifted by imm8. */
MMX_INLINE void mmx_shift_imm(struct x86_cpu *cpu, const struct x86_insn *in, x86_pint_fn *k)
{
    x86_mmx_enter(cpu);
    x86_xmm d = {0}, s = {0};
    d.u64[0] = x86_mmx_get(cpu, in->rm);
    s.u64[0] = (uint64_t)in->imm & 0xff;
    k(&d, &s, 8, 0);
    x86_mmx_put(cpu, in->rm, d.u64[0]);
}

#define MMX_BINARY(opc, k)                                                                         \
    static void op_mmx_##k(struct x86_cpu *cpu, const struct x86_insn *in)                         \
    {                                                                                              \
        mmx_binary(cpu, in, x86_pint_##k, 8);                                                      \
    }
#define MMX_UNPACK_LOW(opc, k)                                                                     \
    static void op_mmx_##k(struct x86_cpu *cpu, const struct x86_insn *in)                         \
    {                                                                                              \
        mmx_binary(cpu, in, x86_pint_##k, 4);                                                      \
    }
#define MMX_SHIFT_IMM(opc, r, k)                                                                   \
    static void op_mmx_##k##_imm(struct x86_cpu *cpu, const struct x86_insn *in)                   \
    {                                                                                              \
        mmx_shift_imm(cpu, in, x86_pint_##k);                                                      \
    }
X86_PINT_BINARY_0F(MMX_BINARY)
X86_PINT_BINARY_0F38(MMX_BINARY)
X86_PINT_UNPACK_LOW_0F(MMX_UNPACK_LOW)
X86_PINT_SHIFT_IMM(MMX_SHIFT_IMM)
MMX_BINARY(0x70, pshufw)
MMX_BINARY(0x0f, palignr)

/* 0F 6E: MOVD mm, r/m32; with REX.W MOVQ mm, r/m64. */
static void op_movd_mm_rm(struct x86_cpu *cpu, const struct x86_insn *in)
{
    x86_mmx_enter(cpu);
    uint64_t v = x86_rm_read(cpu, in, in->osz == 3 ? 3 : 2);
    x86_mmx_put(cpu, in->reg, v);
}

/* 0F 7E: MOVD r/m32, mm; with REX.W MOVQ r/m64, mm. A 32-bit register
 * destination is zero-extended, as any 32-bit write. */
static void op_movd_rm_mm(struct x86_cpu *cpu, const struct x86_insn *in)
{
    x86_mmx_enter(cpu);
    x86_rm_write(cpu, in, in->osz == 3 ? 3 : 2, x86_mmx_get(cpu, in->reg));
    x86_mmx_touch(cpu);
}

/* 0F 6F: MOVQ mm, mm/m64. */
static void op_movq_mm_mmm64(struct x86_cpu *cpu, const struct x86_insn *in)
{
    x86_mmx_enter(cpu);
    uint64_t v =
        in->flags & X86_I_MEM ? x86_load64(cpu, x86_ea(cpu, in)) : x86_mmx_get(cpu, in->rm);
    x86_mmx_put(cpu, in->reg, v);
}

/* 0F 7F: MOVQ mm/m64, mm; 0F E7: MOVNTQ m64, mm (the hint does not
 * matter here). */
static void op_movq_mmm64_mm(struct x86_cpu *cpu, const struct x86_insn *in)
{
    x86_mmx_enter(cpu);
    uint64_t v = x86_mmx_get(cpu, in->reg);
    if (in->flags & X86_I_MEM) {
        x86_store(cpu, x86_ea(cpu, in), 3, v);
        x86_mmx_touch(cpu);
    } else {
        x86_mmx_put(cpu, in->rm, v);
    }
}

/* 0F 77: EMMS empties every tag (and, as any MMX instruction, sets TOP 0). */
static void op_emms(struct x86_cpu *cpu, const struct x86_insn *in)
{
    (void)in;
    x86_mmx_enter(cpu);
    cpu->fpu.top = 0;
    cpu->fpu.ftw = 0;
}

/* 0F C4: PINSRW mm, r32/m16, imm8. */
static void op_pinsrw_mm(struct x86_cpu *cpu, const struct x86_insn *in)
{
    x86_mmx_enter(cpu);
    uint64_t w = x86_rm_read(cpu, in, 1);
    unsigned sh = 16 * ((unsigned)in->imm & 3);
    uint64_t v = x86_mmx_get(cpu, in->reg);
    x86_mmx_put(cpu, in->reg, (v & ~(0xffffULL << sh)) | w << sh);
}

/* 0F C5: PEXTRW r32/r64, mm, imm8 (zero-extended). */
static void op_pextrw_mm(struct x86_cpu *cpu, const struct x86_insn *in)
{
    x86_mmx_enter(cpu);
    uint64_t v = (x86_mmx_get(cpu, in->rm) >> (16 * ((unsigned)in->imm & 3))) & 0xffff;
    x86_mmx_touch(cpu);
    x86_reg_write(cpu, in->reg, 3, v);
}

/* 0F D7: PMOVMSKB r32/r64, mm. */
static void op_pmovmskb_mm(struct x86_cpu *cpu, const struct x86_insn *in)
{
    x86_mmx_enter(cpu);
    x86_xmm v = {.u64 = {x86_mmx_get(cpu, in->rm), 0}};
    x86_mmx_touch(cpu);
    x86_reg_write(cpu, in->reg, 3, x86_pint_movmskb(&v, 8));
}

/* 0F F7: MASKMOVQ mm1, mm2: the bytes of mm1 selected by mm2 to DS:[rDI]. */
static void op_maskmovq(struct x86_cpu *cpu, const struct x86_insn *in)
{
    x86_mmx_enter(cpu);
    x86_xmm data = {.u64 = {x86_mmx_get(cpu, in->reg), 0}};
    x86_xmm mask = {.u64 = {x86_mmx_get(cpu, in->rm), 0}};
    x86_pint_maskmov(cpu, in, &data, &mask, 8);
    x86_mmx_touch(cpu);
}

/* F2 0F D6: MOVDQ2Q mm, xmm (the low qword). */
static void op_movdq2q(struct x86_cpu *cpu, const struct x86_insn *in)
{
    x86_mmx_enter(cpu);
    x86_mmx_put(cpu, in->reg, cpu->xmm[in->rm].u64[0]);
}

/* F3 0F D6: MOVQ2DQ xmm, mm (the high qword cleared). */
static void op_movq2dq(struct x86_cpu *cpu, const struct x86_insn *in)
{
    x86_mmx_enter(cpu);
    uint64_t v = x86_mmx_get(cpu, in->rm);
    x86_mmx_touch(cpu);
    cpu->xmm[in->reg].u64[0] = v;
    cpu->xmm[in->reg].u64[1] = 0;
}

#define F                        X86_MAP_0F
#define NP                       X86_PFX_NONE
#define MA                       X86_MOD_ANY
#define MM                       X86_MOD_MEM
#define MR                       X86_MOD_REG
#define ROW_0F(opc, k)           {F, (opc), NP, -1, MA, op_mmx_##k, #k},
#define ROW_0F38(opc, k)         {X86_MAP_0F38, (opc), NP, -1, MA, op_mmx_##k, #k},
#define ROW_SHIFT_IMM(opc, r, k) {F, (opc), NP, (r), MR, op_mmx_##k##_imm, #k},

/* clang-format off */
const struct x86_op_entry x86_ops_mmx[] = {
    X86_PINT_BINARY_0F(ROW_0F)
    X86_PINT_UNPACK_LOW_0F(ROW_0F)
    X86_PINT_BINARY_0F38(ROW_0F38)
    X86_PINT_SHIFT_IMM(ROW_SHIFT_IMM)
    {F, 0x70, NP, -1, MA, op_mmx_pshufw, "pshufw"},
    {X86_MAP_0F3A, 0x0f, NP, -1, MA, op_mmx_palignr, "palignr"},
    {F, 0x6e, NP, -1, MA, op_movd_mm_rm, "movd"},
    {F, 0x7e, NP, -1, MA, op_movd_rm_mm, "movd"},
    {F, 0x6f, NP, -1, MA, op_movq_mm_mmm64, "movq"},
    {F, 0x7f, NP, -1, MA, op_movq_mmm64_mm, "movq"},
    {F, 0xe7, NP, -1, MM, op_movq_mmm64_mm, "movntq"},
    {F, 0x77, NP, -1, MA, op_emms, "emms"},
    {F, 0xc4, NP, -1, MA, op_pinsrw_mm, "pinsrw"},
    {F, 0xc5, NP, -1, MR, op_pextrw_mm, "pextrw"},
    {F, 0xd7, NP, -1, MR, op_pmovmskb_mm, "pmovmskb"},
    {F, 0xf7, NP, -1, MR, op_maskmovq, "maskmovq"},
    {F, 0xd6, X86_PFX_F2, -1, MR, op_movdq2q, "movdq2q"},
    {F, 0xd6, X86_PFX_F3, -1, MR, op_movq2dq, "movq2dq"},
    {0, 0, 0, 0, 0, NULL, NULL},
};
/* clang-format on */
