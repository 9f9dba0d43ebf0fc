/* muldiv.c against the host CPU: MUL IMUL DIV IDIV (F6/F7 /4-/7), IMUL
 * Gv,Ev (0F AF) and Gv,Ev,imm (69/6B); #DE exactly where the host raises
 * it (caught there as SIGFPE), with no register or flag changed.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <signal.h>

#include "x86_host.h"

/* One-operand forms: rDX:rAX op= s. Returns the flags, or sets *fault if
 * the host raised #DE. */
typedef uint64_t hostmd_fn(uint64_t *rax, uint64_t *rdx, uint64_t s, uint64_t fin);

#define HOST_MD(fname, text)                                                                       \
    static uint64_t fname(uint64_t *rax, uint64_t *rdx, uint64_t s, uint64_t fin)                  \
    {                                                                                              \
        uint64_t f;                                                                                \
        __asm__ volatile(HOST_PRE text HOST_POST                                                   \
                         : "+a"(*rax), "+d"(*rdx), [fout] "=&r"(f)                                 \
                         : [s] "r"(s), [fin] "r"(fin)                                              \
                         : "cc");                                                                  \
        return f;                                                                                  \
    }
#define HOST_MD_SIZES(name, mnem)                                                                  \
    HOST_MD(name##_0, mnem " %b[s]")                                                               \
    HOST_MD(name##_1, mnem " %w[s]")                                                               \
    HOST_MD(name##_2, mnem " %k[s]")                                                               \
    HOST_MD(name##_3, mnem " %q[s]")                                                               \
    static hostmd_fn *const name[4] = {name##_0, name##_1, name##_2, name##_3};

HOST_MD_SIZES(h_mul, "mul")
HOST_MD_SIZES(h_imul1, "imul")
HOST_MD_SIZES(h_div, "div")
HOST_MD_SIZES(h_idiv, "idiv")

static hostmd_fn *const *const md_host[4] = {h_mul, h_imul1, h_div, h_idiv};
static const char *const md_name[4] = {"mul", "imul", "div", "idiv"};

static sigjmp_buf fpe_jmp;

static void on_sigfpe(int sig)
{
    (void)sig;
    siglongjmp(fpe_jmp, 1);
}

/* Run the host instruction; false if it raised #DE. */
static bool host_md(hostmd_fn *fn, uint64_t *rax, uint64_t *rdx, uint64_t s, uint64_t fin,
                    uint64_t *flags)
{
    struct sigaction sa = {.sa_handler = on_sigfpe}, old;
    bool ok = true;
    sigaction(SIGFPE, &sa, &old);
    if (sigsetjmp(fpe_jmp, 1))
        ok = false;
    else
        *flags = fn(rax, rdx, s, fin);
    sigaction(SIGFPE, &old, NULL);
    return ok;
}

static uint8_t buf[32];

/* op k (0 MUL, 1 IMUL, 2 DIV, 3 IDIV) with RAX, RDX, source s; true if it
 * raised #DE (on the host, and then also in the emulator). */
static bool md_one(unsigned k, unsigned osz, bool mem, uint64_t rax, uint64_t rdx, uint64_t s,
                   uint64_t fin)
{
    uint64_t hax = rax, hdx = rdx, hf = 0;
    bool ok = host_md(md_host[k][osz], &hax, &hdx, s, fin, &hf);
    unsigned opc = 0xf6 + (osz != 0);
    struct x86_insn in;
    char what[128];

    snprintf(what, sizeof(what), "%s osz %u mem %d rax %llx rdx %llx s %llx", md_name[k], osz, mem,
             (unsigned long long)rax, (unsigned long long)rdx, (unsigned long long)s);
    if (mem) {
        memset(buf, 0x5a, sizeof(buf));
        memcpy(buf + 5, &s, 1u << osz);
        cpu->gpr[X86_RBX] = (uint64_t)(uintptr_t)buf;
        in = insn_mem(0, opc, osz, 4 + k, X86_RBX, 5);
    } else {
        in = insn_reg(0, opc, osz, 4 + k, X86_RSI);
    }
    cpu->gpr[X86_RAX] = rax;
    cpu->gpr[X86_RDX] = rdx;
    cpu->gpr[X86_RSI] = s;
    set_flags(fin);
    int vec = run_op_exc(find_op(x86_ops_muldiv, 0, opc, X86_PFX_NONE, 4 + k, mem), &in);
    if (!ok) {
        if (vec != X86_EXC_DE)
            fail_msg("%s: host raised #DE, emulator %d", what, vec);
        if (cpu->gpr[X86_RAX] != rax || cpu->gpr[X86_RDX] != rdx)
            fail_msg("%s: registers changed before #DE", what);
        assert_int_equal(x86_flags_eval(cpu), fin & ARITH);
        assert_int_equal(cpu->rip, 0x1000); /* back at the instruction */
        return true;
    }
    if (vec != -1)
        fail_msg("%s: emulator raised %d, host did not", what, vec);
    if (cpu->gpr[X86_RAX] != hax || cpu->gpr[X86_RDX] != hdx)
        fail_msg("%s: rax %llx rdx %llx, host %llx %llx", what,
                 (unsigned long long)cpu->gpr[X86_RAX], (unsigned long long)cpu->gpr[X86_RDX],
                 (unsigned long long)hax, (unsigned long long)hdx);
    /* MUL/IMUL define CF and OF only; DIV/IDIV no flag at all. */
    check_flags(hf, k < 2 ? CF | OF : 0, what);
    return false;
}

static void test_muldiv_one_operand(void **state)
{
    (void)state;
    static const uint64_t rdx_values[] = {0,
                                          1,
                                          0x7f,
                                          0x80,
                                          0xffff,
                                          0x8000,
                                          0xffffffffffffffffULL,
                                          0x8000000000000000ULL,
                                          0x3fffffffffffffffULL};
    for (unsigned k = 0; k < 4; k++)
        for (unsigned osz = 0; osz < 4; osz++)
            for (unsigned i = 0; i < N_EDGE; i++)
                for (unsigned j = 0; j < N_EDGE; j++) {
                    uint64_t rdx = rdx_values[(i + j) % 9], fin = flag_inputs[(i * j) & 3];
                    md_one(k, osz, (i ^ j) & 1, edge_values[i], rdx, edge_values[j], fin);
                }
    for (int n = 0; n < 100000; n++) {
        unsigned k = (unsigned)(rnd() & 3), osz = (unsigned)(rnd() & 3);
        uint64_t rdx = (rnd() & 1) ? rnd_value() >> (rnd() & 63) : rnd_value();
        md_one(k, osz, rnd() & 1, rnd_value(), rdx, rnd_value(), flag_inputs[rnd() & 3]);
    }
}

/* The #DE corner cases by name. */
static void test_muldiv_divide_errors(void **state)
{
    (void)state;
    const uint64_t fin = 0x202 | CF | ZF;
    assert_true(md_one(2, 3, false, 5, 0, 0, fin));                             /* div by 0 */
    assert_true(md_one(3, 3, false, 5, 0, 0, fin));                             /* idiv by 0 */
    assert_true(md_one(2, 3, false, 0, 1, 1, fin));                             /* 2^64 */
    assert_true(md_one(3, 3, false, 0x8000000000000000ULL, ~0ULL, ~0ULL, fin)); /* MIN / -1 */
    assert_true(md_one(3, 2, false, 0x80000000, 0xffffffff, 0xffffffff, fin));
    assert_true(md_one(3, 1, true, 0x8000, 0xffff, 0xffff, fin));
    assert_true(md_one(3, 0, false, 0xff80, 0, 0xff, fin)); /* -128 / -1 */
    assert_true(md_one(3, 0, false, 0x8000, 0, 0xff, fin));
    assert_true(md_one(3, 3, false, 0, 0x8000000000000000ULL, ~0ULL, fin)); /* -2^127 / -1 */
    assert_true(md_one(2, 0, false, 0xff00, 0, 0xff, fin));                 /* 256 */
    assert_true(md_one(3, 0, false, 0x7f00, 0, 0x80, fin));                 /* -254 */
    assert_false(md_one(3, 2, false, 0x7fffffff, 0, 0xffffffff, fin));      /* -INT32_MAX */
    assert_false(md_one(2, 0, false, 0xfeff, 0, 0xff, fin));                /* 255 r 254 */
    assert_false(md_one(3, 3, false, 1, 0, ~0ULL, fin));                    /* 1 / -1 */
    assert_false(md_one(3, 3, false, ~0ULL, ~0ULL, 2, fin));                /* -1 / 2 */
}

/* IMUL Gv,Ev (0F AF) and Gv,Ev,imm (69, 6B): the host's two-operand IMUL
 * on (r/m, imm) gives the three-operand result. */
HOST2(h_imul2_1, "imul %w[s], %w[d]", "r")
HOST2(h_imul2_2, "imul %k[s], %k[d]", "r")
HOST2(h_imul2_3, "imul %q[s], %q[d]", "r")
static host2_fn *const h_imul2[4] = {NULL, h_imul2_1, h_imul2_2, h_imul2_3};

static void imul_n_one(unsigned opc, unsigned osz, bool mem, uint64_t d, uint64_t s, uint64_t fin)
{
    int64_t imm = opc == 0x6b ? (int8_t)s : osz == 1 ? (int16_t)s : (int32_t)s;
    bool three = opc != 0xaf;
    /* three operands: the host computes in the destination, which keeps
     * d's bits above a 16-bit operand */
    uint64_t hd = three ? (d & ~x86_mask(osz)) | (s & x86_mask(osz)) : d,
             hf = h_imul2[osz](&hd, three ? (uint64_t)imm : s, fin);
    unsigned map = three ? X86_MAP_PRIMARY : X86_MAP_0F;
    struct x86_insn in;

    if (mem) {
        memset(buf, 0x5a, sizeof(buf));
        memcpy(buf + 2, &s, 1u << osz);
        cpu->gpr[X86_RBX] = (uint64_t)(uintptr_t)buf;
        in = insn_mem(map, opc, osz, X86_RDI, X86_RBX, 2);
    } else {
        in = insn_reg(map, opc, osz, X86_RDI, X86_RSI);
    }
    in.imm = imm;
    cpu->gpr[X86_RDI] = d;
    cpu->gpr[X86_RSI] = s;
    set_flags(fin);
    run_op(find_op(x86_ops_muldiv, map, opc, X86_PFX_NONE, 0, mem), &in);
    if (cpu->gpr[X86_RDI] != hd)
        fail_msg("imul %02x osz %u d %llx s %llx: %llx, host %llx", opc, osz, (unsigned long long)d,
                 (unsigned long long)s, (unsigned long long)cpu->gpr[X86_RDI],
                 (unsigned long long)hd);
    assert_int_equal(cpu->gpr[X86_RSI], s);
    check_flags(hf, CF | OF, "imul n-operand");
}

static void test_muldiv_imul_n(void **state)
{
    (void)state;
    static const unsigned opcs[] = {0xaf, 0x69, 0x6b};
    for (unsigned o = 0; o < 3; o++)
        for (unsigned osz = 1; osz < 4; osz++) {
            for (unsigned i = 0; i < N_EDGE; i++)
                for (unsigned j = 0; j < N_EDGE; j++)
                    imul_n_one(opcs[o], osz, (i + j) & 1, edge_values[i], edge_values[j],
                               flag_inputs[(i + j) & 3]);
            for (int n = 0; n < 5000; n++)
                imul_n_one(opcs[o], osz, rnd() & 1, rnd_value(), rnd_value(),
                           flag_inputs[rnd() & 3]);
        }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_muldiv_one_operand, host_setup, host_teardown),
        cmocka_unit_test_setup_teardown(test_muldiv_divide_errors, host_setup, host_teardown),
        cmocka_unit_test_setup_teardown(test_muldiv_imul_n, host_setup, host_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
