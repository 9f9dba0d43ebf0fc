/* shift.c against the host CPU: ROL ROR RCL RCR SHL SAL SHR SAR by 1, Ib
 * and CL, SHLD/SHRD, every operand size, counts around every boundary,
 * register and memory destinations. Flags the SDM leaves undefined are
 * compared too when the host is AMD (shift.c follows it there).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "x86_host.h"

#define HOST_SHIFT(name, mnem)                                                                     \
    HOST2(name##_0, mnem " %%cl, %b[d]", "c")                                                      \
    HOST2(name##_1, mnem " %%cl, %w[d]", "c")                                                      \
    HOST2(name##_2, mnem " %%cl, %k[d]", "c")                                                      \
    HOST2(name##_3, mnem " %%cl, %q[d]", "c")                                                      \
    static host2_fn *const name[4] = {name##_0, name##_1, name##_2, name##_3};

HOST_SHIFT(h_rol, "rol")
HOST_SHIFT(h_ror, "ror")
HOST_SHIFT(h_rcl, "rcl")
HOST_SHIFT(h_rcr, "rcr")
HOST_SHIFT(h_shl, "shl")
HOST_SHIFT(h_shr, "shr")
HOST_SHIFT(h_sal, "sal")
HOST_SHIFT(h_sar, "sar")

static host2_fn *const *const shift_host[8] = {h_rol, h_ror, h_rcl, h_rcr,
                                               h_shl, h_shr, h_sal, h_sar};
static const char *const shift_name[8] = {"rol", "ror", "rcl", "rcr", "shl", "shr", "sal", "sar"};

static const unsigned counts[] = {0,  1,  2,  3,  4,  7,  8,  9,  10, 15,  16,
                                  17, 18, 24, 31, 32, 33, 63, 64, 65, 127, 255};
#define N_COUNTS (sizeof(counts) / sizeof(counts[0]))

enum count_src { C_ONE, C_IMM, C_CL };

static uint8_t buf[32];

/* The flags the SDM defines after op k of width w by masked count c. */
static uint64_t shift_defined(unsigned k, unsigned w, unsigned c)
{
    if (c == 0)
        return ARITH; /* unchanged */
    uint64_t mask = ARITH;
    if (c != 1)
        mask &= ~OF;
    if (k >= 4) { /* shifts: AF undefined, CF too once everything is shifted out */
        mask &= ~AF;
        if (k != 7 && c >= w)
            mask &= ~CF;
    }
    return mask;
}

static void shift_one(unsigned k, unsigned osz, enum count_src src, bool mem, uint64_t d,
                      unsigned count, uint64_t fin)
{
    unsigned opc = src == C_ONE ? 0xd0 : src == C_IMM ? 0xc0 : 0xd2;
    unsigned w = 8u << osz, c = count & (osz == 3 ? 63 : 31);
    uint64_t hd = d, hf, mask;
    uint64_t rcx = src == C_CL ? (rnd() & ~0xffULL) | count : 0x5a5a5a5a5a5a5a5aULL;
    struct x86_insn in;
    char what[96];

    hf = shift_host[k][osz](&hd, count, fin);
    mask = host_is_amd() ? ARITH : shift_defined(k, w, c);
    snprintf(what, sizeof(what), "%s osz %u src %d mem %d d %llx count %u fin %llx", shift_name[k],
             osz, src, mem, (unsigned long long)d, count, (unsigned long long)fin);

    opc += osz != 0;
    if (mem) {
        memset(buf, 0xa5, sizeof(buf));
        memcpy(buf + 7, &d, 1u << osz);
        cpu->gpr[X86_RBX] = (uint64_t)(uintptr_t)buf;
        in = insn_mem(0, opc, osz, k, X86_RBX, 7);
    } else {
        in = insn_reg(0, opc, osz, k, X86_RDX);
    }
    in.imm = (int8_t)count;
    cpu->gpr[X86_RDX] = d;
    cpu->gpr[X86_RCX] = rcx;
    set_flags(fin);
    run_op(find_op(x86_ops_shift, 0, opc, X86_PFX_NONE, k, mem), &in);

    if (mem) {
        uint8_t want[32];
        memset(want, 0xa5, sizeof(want));
        memcpy(want + 7, &hd, 1u << osz);
        if (memcmp(buf, want, sizeof(buf)) != 0) {
            uint64_t got = 0;
            memcpy(&got, buf + 7, 1u << osz);
            fail_msg("%s: memory %llx, host %llx", what, (unsigned long long)got,
                     (unsigned long long)(hd & x86_mask(osz)));
        }
    } else if (cpu->gpr[X86_RDX] != hd) {
        fail_msg("%s: result %llx, host %llx", what, (unsigned long long)cpu->gpr[X86_RDX],
                 (unsigned long long)hd);
    }
    assert_int_equal(cpu->gpr[X86_RCX], rcx);
    check_flags(hf, mask, what);
}

static void test_shift_by_count(void **state)
{
    (void)state;
    for (unsigned k = 0; k < 8; k++)
        for (unsigned osz = 0; osz < 4; osz++)
            for (unsigned ci = 0; ci < N_COUNTS; ci++)
                for (unsigned i = 0; i < N_EDGE; i++)
                    for (unsigned fi = 0; fi < N_FLAGIN; fi++) {
                        uint64_t d = edge_values[i], fin = flag_inputs[fi];
                        bool mem = (i + fi) & 1;
                        shift_one(k, osz, C_CL, mem, d, counts[ci], fin);
                        shift_one(k, osz, C_IMM, !mem, d, counts[ci], fin);
                        if (counts[ci] == 1)
                            shift_one(k, osz, C_ONE, mem, d, 1, fin);
                    }
}

static void test_shift_random(void **state)
{
    (void)state;
    for (int n = 0; n < 100000; n++) {
        unsigned k = (unsigned)(rnd() & 7), osz = (unsigned)(rnd() & 3);
        shift_one(k, osz, (enum count_src)(1 + (rnd() & 1)), rnd() & 1, rnd_value(),
                  (unsigned)(rnd() & 0xff), flag_inputs[rnd() & 3]);
    }
}

/* SHLD/SHRD: d = shift of d, filled from s; count in CL. */
typedef uint64_t host3_fn(uint64_t *d, uint64_t s, uint64_t count, uint64_t fin);

#define HOST3(fname, text)                                                                         \
    static uint64_t fname(uint64_t *d, uint64_t s, uint64_t count, uint64_t fin)                   \
    {                                                                                              \
        uint64_t dv = *d, f;                                                                       \
        __asm__ volatile(HOST_PRE text HOST_POST                                                   \
                         : [d] "+&r"(dv), [fout] "=&r"(f)                                          \
                         : [s] "r"(s), "c"(count), [fin] "r"(fin)                                  \
                         : "cc");                                                                  \
        *d = dv;                                                                                   \
        return f;                                                                                  \
    }
HOST3(h_shld_1, "shld %%cl, %w[s], %w[d]")
HOST3(h_shld_2, "shld %%cl, %k[s], %k[d]")
HOST3(h_shld_3, "shld %%cl, %q[s], %q[d]")
HOST3(h_shrd_1, "shrd %%cl, %w[s], %w[d]")
HOST3(h_shrd_2, "shrd %%cl, %k[s], %k[d]")
HOST3(h_shrd_3, "shrd %%cl, %q[s], %q[d]")
static host3_fn *const h_shld[4] = {NULL, h_shld_1, h_shld_2, h_shld_3};
static host3_fn *const h_shrd[4] = {NULL, h_shrd_1, h_shrd_2, h_shrd_3};

static void double_one(bool left, bool by_cl, bool mem, unsigned osz, uint64_t d, uint64_t s,
                       unsigned count, uint64_t fin)
{
    unsigned w = 8u << osz, c = count & (osz == 3 ? 63 : 31);
    unsigned opc = (left ? 0xa4 : 0xac) + by_cl;
    uint64_t hd = d, hf = (left ? h_shld : h_shrd)[osz](&hd, s, count, fin), mask;
    bool amd = host_is_amd();
    struct x86_insn in;
    char what[96];

    snprintf(what, sizeof(what), "%s osz %u cl %d mem %d d %llx s %llx count %u",
             left ? "shld" : "shrd", osz, by_cl, mem, (unsigned long long)d, (unsigned long long)s,
             count);
    if (c > w && !amd)
        return; /* result and flags undefined */
    mask = c == 0 ? ARITH : amd ? ARITH : (c == 1 ? ARITH & ~AF : ARITH & ~(AF | OF));

    if (mem) {
        memset(buf, 0xa5, sizeof(buf));
        memcpy(buf + 3, &d, 1u << osz);
        cpu->gpr[X86_RBX] = (uint64_t)(uintptr_t)buf;
        in = insn_mem(X86_MAP_0F, opc, osz, X86_RSI, X86_RBX, 3);
    } else {
        in = insn_reg(X86_MAP_0F, opc, osz, X86_RSI, X86_RDX);
    }
    in.imm = (int8_t)count;
    cpu->gpr[X86_RDX] = d;
    cpu->gpr[X86_RSI] = s;
    cpu->gpr[X86_RCX] = by_cl ? count : 0xffff;
    set_flags(fin);
    run_op(find_op(x86_ops_shift, X86_MAP_0F, opc, X86_PFX_NONE, 0, mem), &in);
    if (mem) {
        uint64_t got = 0;
        memcpy(&got, buf + 3, 1u << osz);
        if (got != (hd & x86_mask(osz)) || buf[2] != 0xa5 || buf[3 + (1u << osz)] != 0xa5)
            fail_msg("%s: memory %llx, host %llx", what, (unsigned long long)got,
                     (unsigned long long)hd);
    } else if (cpu->gpr[X86_RDX] != hd) {
        fail_msg("%s: result %llx, host %llx", what, (unsigned long long)cpu->gpr[X86_RDX],
                 (unsigned long long)hd);
    }
    assert_int_equal(cpu->gpr[X86_RSI], s);
    check_flags(hf, mask, what);
}

static void test_shift_double(void **state)
{
    (void)state;
    for (unsigned osz = 1; osz < 4; osz++)
        for (unsigned ci = 0; ci < N_COUNTS; ci++)
            for (unsigned i = 0; i < N_EDGE; i++)
                for (int n = 0; n < 6; n++) {
                    uint64_t d = edge_values[i],
                             s = n < 3 ? edge_values[(i * 7 + n) % N_EDGE] : rnd_value();
                    uint64_t fin = flag_inputs[n & 3];
                    double_one(true, n & 1, n & 2, osz, d, s, counts[ci], fin);
                    double_one(false, n & 1, !(n & 2), osz, d, s, counts[ci], fin);
                }
    for (int n = 0; n < 50000; n++)
        double_one(rnd() & 1, rnd() & 1, rnd() & 1, 1 + (unsigned)(rnd() % 3), rnd_value(),
                   rnd_value(), (unsigned)(rnd() & 0xff), flag_inputs[rnd() & 3]);
}

/* Count 0 leaves every flag as it was, including a materialized state
 * with bits no single operation could produce together. */
static void test_shift_count_zero_keeps_flags(void **state)
{
    (void)state;
    for (unsigned k = 0; k < 8; k++) {
        struct x86_insn in = insn_reg(0, 0xd3, 2, k, X86_RAX);
        cpu->gpr[X86_RAX] = 0xffffffff00000001ULL;
        cpu->gpr[X86_RCX] = 32; /* masked to 0 */
        x86_flags_set(cpu, ARITH);
        run_op(find_op(x86_ops_shift, 0, 0xd3, X86_PFX_NONE, k, false), &in);
        assert_int_equal(x86_flags_eval(cpu), ARITH);
        assert_int_equal(cpu->gpr[X86_RAX], 1); /* a 32-bit destination is still written */
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_shift_by_count, host_setup, host_teardown),
        cmocka_unit_test_setup_teardown(test_shift_random, host_setup, host_teardown),
        cmocka_unit_test_setup_teardown(test_shift_double, host_setup, host_teardown),
        cmocka_unit_test_setup_teardown(test_shift_count_zero_keeps_flags, host_setup,
                                        host_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
