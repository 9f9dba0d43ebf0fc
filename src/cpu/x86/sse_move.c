/* SSE data movement and shuffles: MOVUPS/MOVUPD/MOVAPS/MOVAPD, MOVSS/MOVSD,
 * MOVLPS/MOVLPD/MOVHPS/MOVHPD, MOVHLPS/MOVLHPS, MOVNTPS/MOVNTPD/MOVNTDQ
 * (and AMD's SSE4a MOVNTSS/MOVNTSD), MOVDQA/MOVDQU, LDDQU, the SSE3
 * duplicates MOVDDUP/MOVSLDUP/MOVSHDUP, UNPCK[LH]P[SD] and SHUFPS/SHUFPD.
 *
 * None of these look at the values they move (no SIMD floating-point
 * exceptions, NaNs pass bit for bit), so everything is done on the integer
 * views of the registers. Each op reads its source (the access that can
 * fault) into a temporary before writing anything, and a store is the last
 * thing an op does, so a fault leaves the state as it was.
 *
 * Alignment: the legacy-SSE forms with a 16-byte memory operand raise
 * #GP(0) on a misaligned address, except the ones defined as unaligned
 * (MOVUPS/MOVUPD/MOVDQU/LDDQU). The 8- and 4-byte forms never check. The
 * check comes before any page fault, as on hardware.
 */
#include "cpu/x86/insn.h"
#include "cpu/x86/operand.h"

enum { SSE_UNALIGNED, SSE_ALIGNED };

/* Linear address of the memory operand of a 16-byte access. */
static uint64_t sse_ea16(struct x86_cpu *cpu, const struct x86_insn *in, int aligned)
{
    uint64_t lin = x86_ea(cpu, in);
    if (aligned && (lin & 15))
        x86_raise(cpu, X86_EXC_GP, 0);
    return lin;
}

/* The xmm/m128 source operand. */
static void sse_src128(struct x86_cpu *cpu, const struct x86_insn *in, int aligned, x86_xmm *v)
{
    if (in->flags & X86_I_MEM) {
        x86_load_bytes(cpu, sse_ea16(cpu, in, aligned), v, 16);
        /* Make the compiler read all 16 bytes even where the op uses only
         * half (UNPCKHPS): reading just the upper half would fault at
         * another address than the instruction does (CR2). */
        __asm__("" : "+m"(*v));
    } else
        *v = cpu->xmm[in->rm];
}

/* The xmm/m64 source operand: the register's low quadword. */
static uint64_t sse_src64(struct x86_cpu *cpu, const struct x86_insn *in)
{
    if (in->flags & X86_I_MEM)
        return x86_load64(cpu, x86_ea(cpu, in));
    return cpu->xmm[in->rm].u64[0];
}

/* --- full-register moves --- */

static void sse_load128(struct x86_cpu *cpu, const struct x86_insn *in, int aligned)
{
    x86_xmm v;
    sse_src128(cpu, in, aligned, &v);
    cpu->xmm[in->reg] = v;
}

/* One 16-byte host store: a store that runs into an unmapped page then
 * faults before writing anything, as the guest's does. (A memcpy may be
 * split, or be a library call that writes the first part before the
 * fault.) */
typedef long long sse_v16 __attribute__((vector_size(16), aligned(1), may_alias));

static void sse_store16(struct x86_cpu *cpu, uint64_t lin, const x86_xmm *v)
{
    sse_v16 x;
    memcpy(&x, v, 16);
    *(sse_v16 *)x86_mem_ptr(cpu, lin, 16, 1) = x;
}

static void sse_store128(struct x86_cpu *cpu, const struct x86_insn *in, int aligned)
{
    if (in->flags & X86_I_MEM)
        sse_store16(cpu, sse_ea16(cpu, in, aligned), &cpu->xmm[in->reg]);
    else
        cpu->xmm[in->rm] = cpu->xmm[in->reg];
}

/* 0F 10 MOVUPS, 66 0F 10 MOVUPD, F3 0F 6F MOVDQU, F2 0F F0 LDDQU */
static void op_movu_load(struct x86_cpu *cpu, const struct x86_insn *in)
{
    sse_load128(cpu, in, SSE_UNALIGNED);
}

/* 0F 28 MOVAPS, 66 0F 28 MOVAPD, 66 0F 6F MOVDQA */
static void op_mova_load(struct x86_cpu *cpu, const struct x86_insn *in)
{
    sse_load128(cpu, in, SSE_ALIGNED);
}

/* 0F 11 MOVUPS, 66 0F 11 MOVUPD, F3 0F 7F MOVDQU */
static void op_movu_store(struct x86_cpu *cpu, const struct x86_insn *in)
{
    sse_store128(cpu, in, SSE_UNALIGNED);
}

/* 0F 29 MOVAPS, 66 0F 29 MOVAPD, 66 0F 7F MOVDQA; memory only: 0F 2B
 * MOVNTPS, 66 0F 2B MOVNTPD, 66 0F E7 MOVNTDQ (the non-temporal hint does
 * not matter here; the alignment rule does). */
static void op_mova_store(struct x86_cpu *cpu, const struct x86_insn *in)
{
    sse_store128(cpu, in, SSE_ALIGNED);
}

/* --- scalar moves --- */

/* F3 0F 10 MOVSS: from memory the rest of the register is zeroed, from a
 * register only the low dword changes. */
static void op_movss_load(struct x86_cpu *cpu, const struct x86_insn *in)
{
    if (in->flags & X86_I_MEM) {
        uint32_t v = x86_load32(cpu, x86_ea(cpu, in));
        cpu->xmm[in->reg] = (x86_xmm){.u32 = {v, 0, 0, 0}};
    } else {
        cpu->xmm[in->reg].u32[0] = cpu->xmm[in->rm].u32[0];
    }
}

/* F2 0F 10 MOVSD: the same for the low quadword. */
static void op_movsd_load(struct x86_cpu *cpu, const struct x86_insn *in)
{
    if (in->flags & X86_I_MEM) {
        uint64_t v = x86_load64(cpu, x86_ea(cpu, in));
        cpu->xmm[in->reg] = (x86_xmm){.u64 = {v, 0}};
    } else {
        cpu->xmm[in->reg].u64[0] = cpu->xmm[in->rm].u64[0];
    }
}

/* F3 0F 11 MOVSS, F3 0F 2B MOVNTSS (memory only) */
static void op_movss_store(struct x86_cpu *cpu, const struct x86_insn *in)
{
    if (in->flags & X86_I_MEM)
        x86_store(cpu, x86_ea(cpu, in), 2, cpu->xmm[in->reg].u32[0]);
    else
        cpu->xmm[in->rm].u32[0] = cpu->xmm[in->reg].u32[0];
}

/* F2 0F 11 MOVSD, F2 0F 2B MOVNTSD (memory only) */
static void op_movsd_store(struct x86_cpu *cpu, const struct x86_insn *in)
{
    if (in->flags & X86_I_MEM)
        x86_store(cpu, x86_ea(cpu, in), 3, cpu->xmm[in->reg].u64[0]);
    else
        cpu->xmm[in->rm].u64[0] = cpu->xmm[in->reg].u64[0];
}

/* --- half-register moves --- */

/* 0F 12 MOVLPS, 66 0F 12 MOVLPD (memory): the low quadword, high kept. */
static void op_movlp_load(struct x86_cpu *cpu, const struct x86_insn *in)
{
    cpu->xmm[in->reg].u64[0] = x86_load64(cpu, x86_ea(cpu, in));
}

/* 0F 12 with a register operand: MOVHLPS xmm1, xmm2. */
static void op_movhlps(struct x86_cpu *cpu, const struct x86_insn *in)
{
    cpu->xmm[in->reg].u64[0] = cpu->xmm[in->rm].u64[1];
}

/* 0F 16 MOVHPS, 66 0F 16 MOVHPD (memory): the high quadword, low kept. */
static void op_movhp_load(struct x86_cpu *cpu, const struct x86_insn *in)
{
    cpu->xmm[in->reg].u64[1] = x86_load64(cpu, x86_ea(cpu, in));
}

/* 0F 16 with a register operand: MOVLHPS xmm1, xmm2. */
static void op_movlhps(struct x86_cpu *cpu, const struct x86_insn *in)
{
    cpu->xmm[in->reg].u64[1] = cpu->xmm[in->rm].u64[0];
}

/* 0F 13 MOVLPS, 66 0F 13 MOVLPD m64, xmm */
static void op_movlp_store(struct x86_cpu *cpu, const struct x86_insn *in)
{
    x86_store(cpu, x86_ea(cpu, in), 3, cpu->xmm[in->reg].u64[0]);
}

/* 0F 17 MOVHPS, 66 0F 17 MOVHPD m64, xmm */
static void op_movhp_store(struct x86_cpu *cpu, const struct x86_insn *in)
{
    x86_store(cpu, x86_ea(cpu, in), 3, cpu->xmm[in->reg].u64[1]);
}

/* --- SSE3 duplicates --- */

/* F2 0F 12 MOVDDUP xmm, xmm/m64 (an 8-byte access: no alignment check) */
static void op_movddup(struct x86_cpu *cpu, const struct x86_insn *in)
{
    uint64_t v = sse_src64(cpu, in);
    cpu->xmm[in->reg] = (x86_xmm){.u64 = {v, v}};
}

/* F3 0F 12 MOVSLDUP: dwords 0 and 2 duplicated (aligned m128). */
static void op_movsldup(struct x86_cpu *cpu, const struct x86_insn *in)
{
    x86_xmm s;
    sse_src128(cpu, in, SSE_ALIGNED, &s);
    cpu->xmm[in->reg] = (x86_xmm){.u32 = {s.u32[0], s.u32[0], s.u32[2], s.u32[2]}};
}

/* F3 0F 16 MOVSHDUP: dwords 1 and 3 duplicated (aligned m128). */
static void op_movshdup(struct x86_cpu *cpu, const struct x86_insn *in)
{
    x86_xmm s;
    sse_src128(cpu, in, SSE_ALIGNED, &s);
    cpu->xmm[in->reg] = (x86_xmm){.u32 = {s.u32[1], s.u32[1], s.u32[3], s.u32[3]}};
}

/* --- unpacks and shuffles (aligned m128; the destination may also be the
 * source register, hence the copies) --- */

/* 0F 14 UNPCKLPS */
static void op_unpcklps(struct x86_cpu *cpu, const struct x86_insn *in)
{
    x86_xmm s, d = cpu->xmm[in->reg];
    sse_src128(cpu, in, SSE_ALIGNED, &s);
    cpu->xmm[in->reg] = (x86_xmm){.u32 = {d.u32[0], s.u32[0], d.u32[1], s.u32[1]}};
}

/* 0F 15 UNPCKHPS */
static void op_unpckhps(struct x86_cpu *cpu, const struct x86_insn *in)
{
    x86_xmm s, d = cpu->xmm[in->reg];
    sse_src128(cpu, in, SSE_ALIGNED, &s);
    cpu->xmm[in->reg] = (x86_xmm){.u32 = {d.u32[2], s.u32[2], d.u32[3], s.u32[3]}};
}

/* 66 0F 14 UNPCKLPD */
static void op_unpcklpd(struct x86_cpu *cpu, const struct x86_insn *in)
{
    x86_xmm s;
    sse_src128(cpu, in, SSE_ALIGNED, &s);
    cpu->xmm[in->reg].u64[1] = s.u64[0];
}

/* 66 0F 15 UNPCKHPD */
static void op_unpckhpd(struct x86_cpu *cpu, const struct x86_insn *in)
{
    x86_xmm s, d = cpu->xmm[in->reg];
    sse_src128(cpu, in, SSE_ALIGNED, &s);
    cpu->xmm[in->reg] = (x86_xmm){.u64 = {d.u64[1], s.u64[1]}};
}

/* 0F C6 SHUFPS: the low two dwords from the destination, the high two from
 * the source, each picked by two bits of imm8. */
static void op_shufps(struct x86_cpu *cpu, const struct x86_insn *in)
{
    x86_xmm s, d = cpu->xmm[in->reg];
    unsigned imm = (unsigned)in->imm;
    sse_src128(cpu, in, SSE_ALIGNED, &s);
    cpu->xmm[in->reg] = (x86_xmm){.u32 = {d.u32[imm & 3], d.u32[(imm >> 2) & 3],
                                          s.u32[(imm >> 4) & 3], s.u32[(imm >> 6) & 3]}};
}

/* 66 0F C6 SHUFPD: imm8 bit 0 picks the destination's quadword, bit 1 the
 * source's. */
static void op_shufpd(struct x86_cpu *cpu, const struct x86_insn *in)
{
    x86_xmm s, d = cpu->xmm[in->reg];
    unsigned imm = (unsigned)in->imm;
    sse_src128(cpu, in, SSE_ALIGNED, &s);
    cpu->xmm[in->reg] = (x86_xmm){.u64 = {d.u64[imm & 1], s.u64[(imm >> 1) & 1]}};
}

#define F  X86_MAP_0F
#define NP X86_PFX_NONE
#define PD X86_PFX_66
#define SS X86_PFX_F3
#define SD X86_PFX_F2
#define MA X86_MOD_ANY
#define MM X86_MOD_MEM
#define MR X86_MOD_REG

/* 0F 6F/7F without a prefix (MOVQ mm), 0F E7 without (MOVNTQ) and 0F D6
 * MOVQ belong to the MMX and SSE integer families. */
const struct x86_op_entry x86_ops_sse_move[] = {
    {F, 0x10, NP, -1, MA, op_movu_load, "movups"},
    {F, 0x10, PD, -1, MA, op_movu_load, "movupd"},
    {F, 0x10, SS, -1, MA, op_movss_load, "movss"},
    {F, 0x10, SD, -1, MA, op_movsd_load, "movsd"},
    {F, 0x11, NP, -1, MA, op_movu_store, "movups"},
    {F, 0x11, PD, -1, MA, op_movu_store, "movupd"},
    {F, 0x11, SS, -1, MA, op_movss_store, "movss"},
    {F, 0x11, SD, -1, MA, op_movsd_store, "movsd"},
    {F, 0x12, NP, -1, MM, op_movlp_load, "movlps"},
    {F, 0x12, NP, -1, MR, op_movhlps, "movhlps"},
    {F, 0x12, PD, -1, MM, op_movlp_load, "movlpd"},
    {F, 0x12, SS, -1, MA, op_movsldup, "movsldup"},
    {F, 0x12, SD, -1, MA, op_movddup, "movddup"},
    {F, 0x13, NP, -1, MM, op_movlp_store, "movlps"},
    {F, 0x13, PD, -1, MM, op_movlp_store, "movlpd"},
    {F, 0x14, NP, -1, MA, op_unpcklps, "unpcklps"},
    {F, 0x14, PD, -1, MA, op_unpcklpd, "unpcklpd"},
    {F, 0x15, NP, -1, MA, op_unpckhps, "unpckhps"},
    {F, 0x15, PD, -1, MA, op_unpckhpd, "unpckhpd"},
    {F, 0x16, NP, -1, MM, op_movhp_load, "movhps"},
    {F, 0x16, NP, -1, MR, op_movlhps, "movlhps"},
    {F, 0x16, PD, -1, MM, op_movhp_load, "movhpd"},
    {F, 0x16, SS, -1, MA, op_movshdup, "movshdup"},
    {F, 0x17, NP, -1, MM, op_movhp_store, "movhps"},
    {F, 0x17, PD, -1, MM, op_movhp_store, "movhpd"},
    {F, 0x28, NP, -1, MA, op_mova_load, "movaps"},
    {F, 0x28, PD, -1, MA, op_mova_load, "movapd"},
    {F, 0x29, NP, -1, MA, op_mova_store, "movaps"},
    {F, 0x29, PD, -1, MA, op_mova_store, "movapd"},
    {F, 0x2b, NP, -1, MM, op_mova_store, "movntps"},
    {F, 0x2b, PD, -1, MM, op_mova_store, "movntpd"},
    {F, 0x2b, SS, -1, MM, op_movss_store, "movntss"},
    {F, 0x2b, SD, -1, MM, op_movsd_store, "movntsd"},
    {F, 0x6f, PD, -1, MA, op_mova_load, "movdqa"},
    {F, 0x6f, SS, -1, MA, op_movu_load, "movdqu"},
    {F, 0x7f, PD, -1, MA, op_mova_store, "movdqa"},
    {F, 0x7f, SS, -1, MA, op_movu_store, "movdqu"},
    {F, 0xe7, PD, -1, MM, op_mova_store, "movntdq"},
    {F, 0xf0, SD, -1, MM, op_movu_load, "lddqu"},
    {F, 0xc6, NP, -1, MA, op_shufps, "shufps"},
    {F, 0xc6, PD, -1, MA, op_shufpd, "shufpd"},
    {0, 0, 0, 0, 0, NULL, NULL},
};
