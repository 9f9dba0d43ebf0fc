/* The SSE packed-integer family (src/cpu/x86/sse_int*.c): SSE2, SSSE3,
 * SSE4.1, SSE4.2 PCMPGTQ and PCLMULQDQ on xmm registers, register forms
 * (with and without REX), memory forms (aligned, misaligned, at an
 * unmapped page), run on the host and in the emulator from the same
 * random states (x86_pint_host.h).
 */
#define _GNU_SOURCE /* REG_ERR */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "x86_pint_host.h"

/* clang-format off */
/* xmm0 <- xmm0 op xmm1 / (%rsi); xmm10 <- xmm10 op xmm13 (REX.R, REX.B). */
#define XM3(X, m, fl)                                                                              \
    X(m, #m " %xmm1, %xmm0", fl) X(m##_m, #m " (%rsi), %xmm0", fl)                                 \
    X(m##_rex, #m " %xmm13, %xmm10", fl)
#define XMI(X, m, fl)                                                                              \
    X(m, #m " $0, %xmm1, %xmm0", (fl) | PH_IMM)                                                    \
    X(m##_m, #m " $0, (%rsi), %xmm0", (fl) | PH_IMM)                                               \
    X(m##_rex, #m " $0, %xmm13, %xmm10", (fl) | PH_IMM)
#define XMS(X, m) X(m##_i, #m " $0, %xmm0", PH_SHIMM) X(m##_i2, #m " $0, %xmm9", PH_SHIMM)
#define S3        PH_SSSE3
#define S4        PH_SSE41

#define ARITH_CASES(X)                                                                             \
    XM3(X, paddb, 0) XM3(X, paddw, 0) XM3(X, paddd, 0) XM3(X, paddq, 0) XM3(X, psubb, 0)           \
    XM3(X, psubw, 0) XM3(X, psubd, 0) XM3(X, psubq, 0) XM3(X, paddsb, 0) XM3(X, paddsw, 0)         \
    XM3(X, paddusb, 0) XM3(X, paddusw, 0) XM3(X, psubsb, 0) XM3(X, psubsw, 0)                      \
    XM3(X, psubusb, 0) XM3(X, psubusw, 0) XM3(X, pmullw, 0) XM3(X, pmulhw, 0)                      \
    XM3(X, pmulhuw, 0) XM3(X, pmuludq, 0) XM3(X, pmaddwd, 0) XM3(X, pand, 0) XM3(X, pandn, 0)      \
    XM3(X, por, 0) XM3(X, pxor, 0) XM3(X, pcmpeqb, 0) XM3(X, pcmpeqw, 0) XM3(X, pcmpeqd, 0)        \
    XM3(X, pcmpgtb, 0) XM3(X, pcmpgtw, 0) XM3(X, pcmpgtd, 0) XM3(X, pminub, 0)                     \
    XM3(X, pmaxub, 0) XM3(X, pminsw, 0) XM3(X, pmaxsw, 0) XM3(X, pavgb, 0) XM3(X, pavgw, 0)        \
    XM3(X, psadbw, 0)

#define SHUFFLE_CASES(X)                                                                           \
    XM3(X, packsswb, 0) XM3(X, packssdw, 0) XM3(X, packuswb, 0) XM3(X, punpcklbw, 0)               \
    XM3(X, punpcklwd, 0) XM3(X, punpckldq, 0) XM3(X, punpcklqdq, 0) XM3(X, punpckhbw, 0)           \
    XM3(X, punpckhwd, 0) XM3(X, punpckhdq, 0) XM3(X, punpckhqdq, 0) XMI(X, pshufd, 0)              \
    XMI(X, pshufhw, 0) XMI(X, pshuflw, 0)

#define SHIFT_CASES(X)                                                                             \
    XM3(X, psllw, PH_COUNT) XM3(X, pslld, PH_COUNT) XM3(X, psllq, PH_COUNT)                        \
    XM3(X, psrlw, PH_COUNT) XM3(X, psrld, PH_COUNT) XM3(X, psrlq, PH_COUNT)                        \
    XM3(X, psraw, PH_COUNT) XM3(X, psrad, PH_COUNT) XMS(X, psllw) XMS(X, pslld) XMS(X, psllq)      \
    XMS(X, psrlw) XMS(X, psrld) XMS(X, psrlq) XMS(X, psraw) XMS(X, psrad) XMS(X, pslldq)           \
    XMS(X, psrldq)

#define SSSE3_CASES(X)                                                                             \
    XM3(X, pshufb, S3) XM3(X, phaddw, S3) XM3(X, phaddd, S3) XM3(X, phaddsw, S3)                   \
    XM3(X, pmaddubsw, S3) XM3(X, phsubw, S3) XM3(X, phsubd, S3) XM3(X, phsubsw, S3)                \
    XM3(X, psignb, S3) XM3(X, psignw, S3) XM3(X, psignd, S3) XM3(X, pmulhrsw, S3)                  \
    XM3(X, pabsb, S3) XM3(X, pabsw, S3) XM3(X, pabsd, S3) XMI(X, palignr, S3)

#define PMOVX(X, m) X(m, #m " %xmm1, %xmm0", S4) X(m##_m, #m " (%rsi), %xmm0", S4)
#define SSE41_CASES(X)                                                                             \
    XM3(X, pmuldq, S4) XM3(X, pcmpeqq, S4) XM3(X, packusdw, S4) XM3(X, pmulld, S4)                 \
    XM3(X, pminsb, S4) XM3(X, pminsd, S4) XM3(X, pminuw, S4) XM3(X, pminud, S4)                    \
    XM3(X, pmaxsb, S4) XM3(X, pmaxsd, S4) XM3(X, pmaxuw, S4) XM3(X, pmaxud, S4)                    \
    XM3(X, phminposuw, S4) XM3(X, ptest, S4) XMI(X, pblendw, S4) XMI(X, mpsadbw, S4)               \
    PMOVX(X, pmovsxbw) PMOVX(X, pmovsxbd) PMOVX(X, pmovsxbq) PMOVX(X, pmovsxwd)                    \
    PMOVX(X, pmovsxwq) PMOVX(X, pmovsxdq) PMOVX(X, pmovzxbw) PMOVX(X, pmovzxbd)                    \
    PMOVX(X, pmovzxbq) PMOVX(X, pmovzxwd) PMOVX(X, pmovzxwq) PMOVX(X, pmovzxdq)                    \
    X(pmovzxbw_rex, "pmovzxbw %xmm13, %xmm10", S4)                                                 \
    X(pblendvb, "pblendvb %xmm0, %xmm1, %xmm2", S4)                                                \
    X(pblendvb_m, "pblendvb %xmm0, (%rsi), %xmm2", S4)                                             \
    X(pblendvb_rex, "pblendvb %xmm0, %xmm13, %xmm10", S4)                                          \
    X(movntdqa, "movntdqa (%rsi), %xmm0", S4)                                                      \
    X(movntdqa_rex, "movntdqa (%rsi), %xmm12", S4)

/* SSE4.2 PCMPGTQ, PCLMULQDQ, AES. */
#define OTHER_CASES(X)                                                                             \
    XM3(X, pcmpgtq, PH_SSE42) XMI(X, pclmulqdq, PH_PCLMUL) XM3(X, aesenc, PH_AES)                  \
    XM3(X, aesenclast, PH_AES) XM3(X, aesdec, PH_AES) XM3(X, aesdeclast, PH_AES)                   \
    XM3(X, aesimc, PH_AES) XMI(X, aeskeygenassist, PH_AES)

#define MOVE_CASES(X)                                                                              \
    X(movd_load_r, "movd %eax, %xmm0", 0)                                                          \
    X(movd_load_r10, "movd %r10d, %xmm11", 0)                                                      \
    X(movd_load_m, "movd (%rsi), %xmm0", 0)                                                        \
    X(movq_load_r, "movq %rax, %xmm0", 0)                                                          \
    X(movq_load_r9, "movq %r9, %xmm10", 0)                                                         \
    X(movq_load_m_6e, ".byte 0x66, 0x48, 0x0f, 0x6e, 0x06", 0)                                     \
    X(movd_store_r, "movd %xmm1, %eax", 0)                                                         \
    X(movd_store_r9, "movd %xmm13, %r9d", 0)                                                       \
    X(movd_store_m, "movd %xmm1, (%rsi)", 0)                                                       \
    X(movq_store_r, "movq %xmm1, %rax", 0)                                                         \
    X(movq_store_m_7e, ".byte 0x66, 0x48, 0x0f, 0x7e, 0x0e", 0)                                    \
    X(movq_f3_r, "movq %xmm1, %xmm0", 0)                                                           \
    X(movq_f3_rex, "movq %xmm13, %xmm10", 0)                                                       \
    X(movq_f3_m, "movq (%rsi), %xmm0", 0)                                                          \
    X(movq_d6_m, "movq %xmm1, (%rsi)", 0)                                                          \
    X(movq_d6_r, ".byte 0x66, 0x0f, 0xd6, 0xc8", 0)                                                \
    X(movq_d6_rex, ".byte 0x66, 0x45, 0x0f, 0xd6, 0xea", 0)                                        \
    X(pinsrw_r, "pinsrw $0, %eax, %xmm0", PH_IMM)                                                  \
    X(pinsrw_m, "pinsrw $0, (%rsi), %xmm0", PH_IMM)                                                \
    X(pextrw_c5, "pextrw $0, %xmm1, %eax", PH_IMM)                                                 \
    X(pextrw_c5_rex, "pextrw $0, %xmm13, %r9d", PH_IMM)                                            \
    X(pextrw_3a, ".byte 0x66, 0x0f, 0x3a, 0x15, 0xc8, 0", PH_IMM | S4)                             \
    X(pextrw_3a_m, "pextrw $0, %xmm1, (%rsi)", PH_IMM | S4)                                        \
    X(pextrb, "pextrb $0, %xmm1, %eax", PH_IMM | S4)                                               \
    X(pextrb_rex, "pextrb $0, %xmm13, %r9d", PH_IMM | S4)                                          \
    X(pextrb_m, "pextrb $0, %xmm1, (%rsi)", PH_IMM | S4)                                           \
    X(pextrd, "pextrd $0, %xmm1, %eax", PH_IMM | S4)                                               \
    X(pextrd_m, "pextrd $0, %xmm1, (%rsi)", PH_IMM | S4)                                           \
    X(pextrq, "pextrq $0, %xmm1, %rax", PH_IMM | S4)                                               \
    X(pextrq_m, "pextrq $0, %xmm13, (%rsi)", PH_IMM | S4)                                          \
    X(pinsrb, "pinsrb $0, %eax, %xmm0", PH_IMM | S4)                                               \
    X(pinsrb_r9, "pinsrb $0, %r9d, %xmm10", PH_IMM | S4)                                           \
    X(pinsrb_m, "pinsrb $0, (%rsi), %xmm0", PH_IMM | S4)                                           \
    X(pinsrd, "pinsrd $0, %eax, %xmm0", PH_IMM | S4)                                               \
    X(pinsrd_m, "pinsrd $0, (%rsi), %xmm0", PH_IMM | S4)                                           \
    X(pinsrq, "pinsrq $0, %rax, %xmm0", PH_IMM | S4)                                               \
    X(pinsrq_m, "pinsrq $0, (%rsi), %xmm12", PH_IMM | S4)                                          \
    X(pmovmskb, "pmovmskb %xmm1, %eax", 0)                                                         \
    X(pmovmskb_rex, "pmovmskb %xmm13, %r9d", 0)                                                    \
    X(maskmovdqu, "maskmovdqu %xmm1, %xmm0", PH_AMD)                                               \
    X(maskmovdqu_rex, "maskmovdqu %xmm0, %xmm13", PH_AMD)

/* clang-format on */

ARITH_CASES(PH_INSN)
SHUFFLE_CASES(PH_INSN)
SHIFT_CASES(PH_INSN)
SSSE3_CASES(PH_INSN)
SSE41_CASES(PH_INSN)
OTHER_CASES(PH_INSN)
MOVE_CASES(PH_INSN)

static const struct ph_case arith_cases[] = {ARITH_CASES(PH_ROW)};
static const struct ph_case shuffle_cases[] = {SHUFFLE_CASES(PH_ROW)};
static const struct ph_case shift_cases[] = {SHIFT_CASES(PH_ROW)};
static const struct ph_case ssse3_cases[] = {SSSE3_CASES(PH_ROW)};
static const struct ph_case sse41_cases[] = {SSE41_CASES(PH_ROW)};
static const struct ph_case other_cases[] = {OTHER_CASES(PH_ROW)};
static const struct ph_case move_cases[] = {MOVE_CASES(PH_ROW)};
#define RUN(t)        ph_run_cases(t, sizeof(t) / sizeof(t[0]))
#define CASE(t, name) ph_find(t, sizeof(t) / sizeof(t[0]), name)

static void test_sse_arith(void **state)
{
    (void)state;
    RUN(arith_cases);
}

static void test_sse_shuffle(void **state)
{
    (void)state;
    RUN(shuffle_cases);
}

static void test_sse_shift(void **state)
{
    (void)state;
    RUN(shift_cases);
}

static void test_sse_ssse3(void **state)
{
    (void)state;
    RUN(ssse3_cases);
}

static void test_sse_sse41(void **state)
{
    (void)state;
    RUN(sse41_cases);
}

static void test_sse_other(void **state)
{
    (void)state;
    RUN(other_cases);
}

static void test_sse_move(void **state)
{
    (void)state;
    RUN(move_cases);
}

/* The SDM's alignment rules, spelled out: a misaligned 16-byte operand of
 * a legacy-SSE instruction is #GP(0) and changes nothing; PMOVSX/ZX and
 * the small moves take any address. */
static void test_sse_alignment(void **state)
{
    (void)state;
    struct x86_cpu *c = ph_cpu;
    const struct ph_case *faulting[] = {CASE(arith_cases, "paddb_m"), CASE(ssse3_cases, "pshufb_m"),
                                        CASE(shift_cases, "psllw_m"), CASE(sse41_cases, "ptest_m"),
                                        CASE(sse41_cases, "movntdqa")};
    static const char *const fine[] = {"pmovsxbw_m", "pinsrq_m", "movq_f3_m"};
    uint8_t *buf = ph_mem + 64;
    memset(buf, 0x11, 64);
    for (unsigned off = 1; off < 16; off++) {
        c->gpr[X86_RSI] = (uintptr_t)buf + off;
        for (unsigned i = 0; i < sizeof(faulting) / sizeof(faulting[0]); i++) {
            const struct ph_case *tc = faulting[i];
            c->xmm[0].u64[0] = 0x0102030405060708ULL;
            c->xmm[0].u64[1] = 0x1112131415161718ULL;
            assert_int_equal(ph_exec(tc), X86_EXC_GP);
            assert_int_equal(c->exc.error, 0);
            assert_int_equal(c->rip, (uintptr_t)tc->start);
            assert_int_equal(c->xmm[0].u64[0], 0x0102030405060708ULL);
            assert_int_equal(c->xmm[0].u64[1], 0x1112131415161718ULL);
        }
        assert_int_equal(ph_exec(CASE(sse41_cases, fine[0])), -1);
        assert_int_equal(c->xmm[0].u64[0], 0x0011001100110011ULL);
        assert_int_equal(ph_exec(CASE(move_cases, fine[1])), -1);
        assert_int_equal(ph_exec(CASE(move_cases, fine[2])), -1);
        assert_int_equal(c->xmm[0].u64[1], 0);
    }
    c->gpr[X86_RSI] = (uintptr_t)buf;
    assert_int_equal(ph_exec(CASE(arith_cases, "paddb_m")), -1);
    assert_int_equal(c->xmm[0].u64[0], 0x2222222222222222ULL);
}

/* PTEST sets ZF and CF from the two tests and clears AF OF PF SF. */
static void test_sse_ptest_flags(void **state)
{
    (void)state;
    struct x86_cpu *c = ph_cpu;
    const struct ph_case *tc = CASE(sse41_cases, "ptest");
    static const struct {
        uint64_t d, s, flags;
    } t[] = {{0xf0, 0x0f, X86_FLAG_ZF},
             {0xff, 0x0f, X86_FLAG_CF},
             {0, 0, X86_FLAG_ZF | X86_FLAG_CF},
             {0xf0, 0x18, 0}};
    for (unsigned i = 0; i < 4; i++) {
        x86_set_rflags(c, 0x202 | X86_FLAGS_ARITH);
        c->xmm[0] = (x86_xmm){.u64 = {t[i].d, 0}};
        c->xmm[1] = (x86_xmm){.u64 = {t[i].s, 0}};
        assert_int_equal(ph_exec(tc), -1);
        assert_int_equal(x86_get_rflags(c) & X86_FLAGS_ARITH, t[i].flags);
    }
}

/* SSE instructions do not touch the x87 state, and a pending x87
 * exception does not stop them. */
static void test_sse_no_x87(void **state)
{
    (void)state;
    struct x86_cpu *c = ph_cpu;
    c->fpu.fsw = 0x81;
    c->fpu.top = 3;
    c->fpu.ftw = 0x12;
    c->fpu.st[0].raw.sign_exp = 0x1234;
    assert_int_equal(ph_exec(CASE(arith_cases, "paddb")), -1);
    assert_int_equal(c->fpu.top, 3);
    assert_int_equal(c->fpu.ftw, 0x12);
    assert_int_equal(c->fpu.st[0].raw.sign_exp, 0x1234);
    c->fpu.fsw = 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sse_arith),       cmocka_unit_test(test_sse_shuffle),
        cmocka_unit_test(test_sse_shift),       cmocka_unit_test(test_sse_ssse3),
        cmocka_unit_test(test_sse_sse41),       cmocka_unit_test(test_sse_other),
        cmocka_unit_test(test_sse_move),        cmocka_unit_test(test_sse_alignment),
        cmocka_unit_test(test_sse_ptest_flags), cmocka_unit_test(test_sse_no_x87),
    };
    return cmocka_run_group_tests(tests, ph_setup, ph_teardown);
}
