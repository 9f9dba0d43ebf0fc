/* The MMX family (src/cpu/x86/mmx.c): every instruction on mm registers,
 * register and memory forms, run on the host and in the emulator from the
 * same random states (x86_pint_host.h), including the x87 side effects
 * (TOP, tags, sign/exponent of the aliased registers, #MF on a pending x87
 * exception) as FXSAVE shows them on the host.
 */
#define _GNU_SOURCE /* REG_ERR */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "x86_pint_host.h"

/* clang-format off */
/* mm0 <- mm0 op mm1 / (%rsi); and one form with REX.R and REX.B, which mm
 * operands ignore. */
#define MM2(X, m, fl) X(m, #m " %mm1, %mm0", fl) X(m##_m, #m " (%rsi), %mm0", fl)
#define MM3(X, m, fl)                                                                              \
    MM2(X, m, fl) X(m##_rex, ".byte 0x45\n\t" #m " %mm1, %mm0", fl)
#define MMI(X, m, fl)                                                                              \
    X(m, #m " $0, %mm1, %mm0", (fl) | PH_IMM) X(m##_m, #m " $0, (%rsi), %mm0", (fl) | PH_IMM)
#define MMS(X, m) X(m##_i, #m " $0, %mm0", PH_SHIMM) X(m##_i2, #m " $0, %mm5", PH_SHIMM)

#define ARITH_CASES(X)                                                                             \
    MM3(X, paddb, 0) MM2(X, paddw, 0) MM2(X, paddd, 0) MM2(X, paddq, 0) MM3(X, psubb, 0)           \
    MM2(X, psubw, 0) MM2(X, psubd, 0) MM2(X, psubq, 0) MM2(X, paddsb, 0) MM2(X, paddsw, 0)         \
    MM2(X, paddusb, 0) MM2(X, paddusw, 0) MM2(X, psubsb, 0) MM2(X, psubsw, 0)                      \
    MM2(X, psubusb, 0) MM2(X, psubusw, 0) MM2(X, pmullw, 0) MM2(X, pmulhw, 0)                      \
    MM2(X, pmulhuw, 0) MM2(X, pmuludq, 0) MM2(X, pmaddwd, 0) MM2(X, pand, 0) MM2(X, pandn, 0)      \
    MM2(X, por, 0) MM2(X, pxor, 0) MM2(X, pcmpeqb, 0) MM2(X, pcmpeqw, 0) MM2(X, pcmpeqd, 0)        \
    MM2(X, pcmpgtb, 0) MM2(X, pcmpgtw, 0) MM3(X, pcmpgtd, 0) MM2(X, pminub, 0)                     \
    MM2(X, pmaxub, 0) MM2(X, pminsw, 0) MM2(X, pmaxsw, 0) MM2(X, pavgb, 0) MM2(X, pavgw, 0)        \
    MM2(X, psadbw, 0)

#define SHUFFLE_CASES(X)                                                                           \
    MM2(X, packsswb, 0) MM2(X, packssdw, 0) MM3(X, packuswb, 0) MM2(X, punpcklbw, 0)               \
    MM2(X, punpcklwd, 0) MM2(X, punpckldq, 0) MM2(X, punpckhbw, 0) MM2(X, punpckhwd, 0)            \
    MM2(X, punpckhdq, 0) MMI(X, pshufw, 0)

#define SHIFT_CASES(X)                                                                             \
    MM2(X, psllw, PH_COUNT) MM2(X, pslld, PH_COUNT) MM2(X, psllq, PH_COUNT)                        \
    MM2(X, psrlw, PH_COUNT) MM2(X, psrld, PH_COUNT) MM3(X, psrlq, PH_COUNT)                        \
    MM2(X, psraw, PH_COUNT) MM2(X, psrad, PH_COUNT) MMS(X, psllw) MMS(X, pslld) MMS(X, psllq)      \
    MMS(X, psrlw) MMS(X, psrld) MMS(X, psrlq) MMS(X, psraw) MMS(X, psrad)                          \
    X(psrlw_rex, ".byte 0x41\n\tpsrlw $0, %mm2", PH_SHIMM)

#define SSSE3_CASES(X)                                                                             \
    MM3(X, pshufb, PH_SSSE3) MM2(X, phaddw, PH_SSSE3) MM2(X, phaddd, PH_SSSE3)                     \
    MM2(X, phaddsw, PH_SSSE3) MM2(X, pmaddubsw, PH_SSSE3) MM2(X, phsubw, PH_SSSE3)                 \
    MM2(X, phsubd, PH_SSSE3) MM2(X, phsubsw, PH_SSSE3) MM2(X, psignb, PH_SSSE3)                    \
    MM2(X, psignw, PH_SSSE3) MM2(X, psignd, PH_SSSE3) MM2(X, pmulhrsw, PH_SSSE3)                   \
    MM2(X, pabsb, PH_SSSE3) MM2(X, pabsw, PH_SSSE3) MM2(X, pabsd, PH_SSSE3)                        \
    MMI(X, palignr, PH_SSSE3)

#define MOVE_CASES(X)                                                                              \
    X(movd_load_r, "movd %eax, %mm0", 0)                                                           \
    X(movd_load_r10, "movd %r10d, %mm3", 0)                                                        \
    X(movd_load_m, "movd (%rsi), %mm0", 0)                                                         \
    X(movq_load_r, "movq %rax, %mm0", 0)                                                           \
    X(movq_load_m_6e, ".byte 0x48, 0x0f, 0x6e, 0x06", 0)                                           \
    X(movd_store_r, "movd %mm1, %eax", 0)                                                          \
    X(movd_store_r9, "movd %mm1, %r9d", 0)                                                         \
    X(movd_store_m, "movd %mm1, (%rsi)", 0)                                                        \
    X(movq_store_r, "movq %mm1, %rax", 0)                                                          \
    X(movq_store_m_7e, ".byte 0x48, 0x0f, 0x7e, 0x0e", 0)                                          \
    X(movq_mm_mm, "movq %mm1, %mm0", 0)                                                            \
    X(movq_mm_m, "movq (%rsi), %mm0", 0)                                                           \
    X(movq_m_mm, "movq %mm1, (%rsi)", 0)                                                           \
    X(movq_mm_mm_7f, ".byte 0x0f, 0x7f, 0xc8", 0)                                                  \
    X(movntq, "movntq %mm1, (%rsi)", 0)                                                            \
    X(emms, "emms", 0)                                                                             \
    X(pinsrw_r, "pinsrw $0, %eax, %mm0", PH_IMM)                                                   \
    X(pinsrw_m, "pinsrw $0, (%rsi), %mm0", PH_IMM)                                                 \
    X(pextrw, "pextrw $0, %mm1, %eax", PH_IMM)                                                     \
    X(pextrw_w, ".byte 0x4c, 0x0f, 0xc5, 0xd1, 0", PH_IMM)                                         \
    X(pmovmskb, "pmovmskb %mm1, %eax", 0)                                                          \
    X(pmovmskb_r9, ".byte 0x4c, 0x0f, 0xd7, 0xc9", 0)                                              \
    X(maskmovq, "maskmovq %mm1, %mm0", PH_AMD)                                                     \
    X(maskmovq_2, "maskmovq %mm0, %mm3", PH_AMD)                                                   \
    X(movdq2q, "movdq2q %xmm1, %mm0", 0)                                                           \
    X(movdq2q_rex, "movdq2q %xmm13, %mm2", 0)                                                      \
    X(movq2dq, "movq2dq %mm1, %xmm0", 0)                                                           \
    X(movq2dq_rex, "movq2dq %mm1, %xmm10", 0)

/* clang-format on */

ARITH_CASES(PH_INSN)
SHUFFLE_CASES(PH_INSN)
SHIFT_CASES(PH_INSN)
SSSE3_CASES(PH_INSN)
MOVE_CASES(PH_INSN)

static const struct ph_case arith_cases[] = {ARITH_CASES(PH_ROW)};
static const struct ph_case shuffle_cases[] = {SHUFFLE_CASES(PH_ROW)};
static const struct ph_case shift_cases[] = {SHIFT_CASES(PH_ROW)};
static const struct ph_case ssse3_cases[] = {SSSE3_CASES(PH_ROW)};
static const struct ph_case move_cases[] = {MOVE_CASES(PH_ROW)};
#define RUN(t)        ph_run_cases(t, sizeof(t) / sizeof(t[0]))
#define CASE(t, name) ph_find(t, sizeof(t) / sizeof(t[0]), name)

static void test_mmx_arith(void **state)
{
    (void)state;
    RUN(arith_cases);
}

static void test_mmx_shuffle(void **state)
{
    (void)state;
    RUN(shuffle_cases);
}

static void test_mmx_shift(void **state)
{
    (void)state;
    RUN(shift_cases);
}

static void test_mmx_ssse3(void **state)
{
    (void)state;
    RUN(ssse3_cases);
}

static void test_mmx_move(void **state)
{
    (void)state;
    RUN(move_cases);
}

/* The x87 side, spelled out (SDM Vol. 1 Table 9-2): TOP 0 and all tags
 * valid after any MMX instruction, exponent and sign all ones in the
 * registers written and only there; EMMS empties the tags. */
static void test_mmx_x87_alias(void **state)
{
    (void)state;
    struct x86_cpu *c = ph_cpu;
    for (unsigned i = 0; i < 8; i++) {
        c->fpu.st[i].raw.mant = 0x0101010101010101ULL * (i + 1);
        c->fpu.st[i].raw.sign_exp = 0x4000;
    }
    c->fpu.top = 5;
    c->fpu.ftw = 0x21;
    c->fpu.fsw = 0;

    assert_int_equal(ph_exec(CASE(arith_cases, "paddb")), -1); /* paddb %mm1, %mm0 */
    assert_int_equal(c->fpu.top, 0);
    assert_int_equal(c->fpu.ftw, 0xff);
    assert_int_equal(c->fpu.st[0].raw.mant, 0x0303030303030303ULL);
    assert_int_equal(c->fpu.st[0].raw.sign_exp, 0xffff);
    assert_int_equal(c->fpu.st[1].raw.sign_exp, 0x4000);

    c->fpu.top = 3;
    c->fpu.ftw = 0;
    c->gpr[X86_RAX] = ~0ULL;
    assert_int_equal(ph_exec(CASE(move_cases, "movd_store_r")),
                     -1); /* movd %mm1, %eax: a read only */
    assert_int_equal(c->gpr[X86_RAX], 0x02020202);
    assert_int_equal(c->fpu.top, 0);
    assert_int_equal(c->fpu.ftw, 0xff);
    assert_int_equal(c->fpu.st[1].raw.sign_exp, 0x4000);

    c->fpu.top = 6;
    assert_int_equal(ph_exec(CASE(move_cases, "emms")), -1); /* emms */
    assert_int_equal(c->fpu.ftw, 0);
    assert_int_equal(c->fpu.top, 0);
}

/* A pending unmasked x87 exception is delivered first, as #MF, and the
 * instruction does nothing; SSE forms do not check it. */
static void test_mmx_pending_x87(void **state)
{
    (void)state;
    struct x86_cpu *c = ph_cpu;
    c->fpu.fsw = 0x81;
    c->fpu.top = 4;
    c->fpu.ftw = 0x0f;
    c->fpu.st[0].raw.mant = 1;
    c->fpu.st[0].raw.sign_exp = 0;
    assert_int_equal(ph_exec(CASE(arith_cases, "paddb")), X86_EXC_MF);
    assert_int_equal(c->fpu.st[0].raw.mant, 1);
    assert_int_equal(c->fpu.st[0].raw.sign_exp, 0);
    assert_int_equal(c->fpu.top, 4);
    assert_int_equal(c->fpu.ftw, 0x0f);
    assert_int_equal(ph_exec(CASE(move_cases, "emms")), X86_EXC_MF); /* emms too */
    assert_int_equal(c->fpu.ftw, 0x0f);
    c->fpu.fsw = 0;
}

/* A memory operand that runs into an unmapped page: #PF, nothing written. */
static void test_mmx_page_fault(void **state)
{
    (void)state;
    struct x86_cpu *c = ph_cpu;
    c->fpu.fsw = 0;
    c->fpu.top = 2;
    c->fpu.st[0].raw.mant = 0x1122334455667788ULL;
    c->gpr[X86_RSI] = (uintptr_t)ph_mem + 2 * PH_PAGE - 4;
    assert_int_equal(ph_exec(CASE(arith_cases, "paddb_m")), X86_EXC_PF); /* paddb (%rsi), %mm0 */
    assert_int_equal(c->exc.addr, (uintptr_t)ph_mem + 2 * PH_PAGE);
    assert_int_equal(c->fpu.st[0].raw.mant, 0x1122334455667788ULL);
    assert_int_equal(c->fpu.top, 2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_mmx_arith),       cmocka_unit_test(test_mmx_shuffle),
        cmocka_unit_test(test_mmx_shift),       cmocka_unit_test(test_mmx_ssse3),
        cmocka_unit_test(test_mmx_move),        cmocka_unit_test(test_mmx_x87_alias),
        cmocka_unit_test(test_mmx_pending_x87), cmocka_unit_test(test_mmx_page_fault),
    };
    return cmocka_run_group_tests(tests, ph_setup, ph_teardown);
}
