/* Shared harness of the x86 instruction-family tests (test_x86_*.c): a CPU
 * in flat user mode over the whole host address space, hand-built decoded
 * instructions, op lookup in a family table, and running the same
 * instruction natively on the host to compare against.
 *
 * Include after cmocka.h. Every test file defines its own tests; this
 * header holds only static helpers.
 */
#ifndef XUNI_TESTS_X86_HOST_H
#define XUNI_TESTS_X86_HOST_H

#include <cpuid.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cpu/x86/flags.h"
#include "cpu/x86/insn.h"
#include "cpu/x86/operand.h"

/* insn.h declares the family tables weak, and a weak reference does not
 * pull an object out of libxuni.a: refer to the tested families strongly,
 * through an alias of the same symbol. */
#define X86_TEST_FAMILY(name)                                                                      \
    extern const struct x86_op_entry test_ops_##name[] __asm__("x86_ops_" #name);
X86_TEST_FAMILY(alu)
X86_TEST_FAMILY(shift)
X86_TEST_FAMILY(muldiv)
X86_TEST_FAMILY(bit)
#define x86_ops_alu    test_ops_alu
#define x86_ops_shift  test_ops_shift
#define x86_ops_muldiv test_ops_muldiv
#define x86_ops_bit    test_ops_bit

#define ARITH X86_FLAGS_ARITH
#define CF    X86_FLAG_CF
#define PF    X86_FLAG_PF
#define AF    X86_FLAG_AF
#define ZF    X86_FLAG_ZF
#define SF    X86_FLAG_SF
#define OF    X86_FLAG_OF

/* The CPU under test, set up for every test by host_setup(). */
static struct x86_cpu *cpu;

static inline int host_setup(void **state)
{
    (void)state;
    cpu = aligned_alloc(64, (sizeof(*cpu) + 63) & ~(size_t)63);
    if (!cpu || x86_cpu_init_user(cpu, 0, 1ULL << 47) != 0)
        return -1;
    return 0;
}

static inline int host_teardown(void **state)
{
    (void)state;
    x86_cpu_destroy(cpu);
    free(cpu);
    cpu = NULL;
    return 0;
}

/* Undefined flags differ between vendors; the checks that also pin down
 * what the AMD host does for them run only there. */
static inline bool host_is_amd(void)
{
    unsigned a, b, c, d;
    __cpuid(0, a, b, c, d);
    (void)a;
    return b == 0x68747541 && d == 0x69746e65 && c == 0x444d4163; /* AuthenticAMD */
}

/* The op of (map, opcode, mandatory prefix, reg, mod) in a family table:
 * the most specific matching row, as the decoder picks it. */
static inline x86_op_fn *find_op(const struct x86_op_entry *tab, unsigned map, unsigned opcode,
                                 unsigned pfx, unsigned reg, bool mem)
{
    const struct x86_op_entry *best = NULL;
    int best_score = -1;
    for (const struct x86_op_entry *e = tab; e->fn; e++) {
        if (e->map != map || e->opcode != opcode)
            continue;
        if (e->prefix != X86_PFX_ANY && e->prefix != pfx)
            continue;
        if (e->reg >= 0 && (unsigned)e->reg != reg)
            continue;
        if ((e->mod == X86_MOD_MEM && !mem) || (e->mod == X86_MOD_REG && mem))
            continue;
        int score = (e->prefix != X86_PFX_ANY) * 4 + (e->reg >= 0) * 2 + (e->mod != X86_MOD_ANY);
        if (score > best_score) {
            best = e;
            best_score = score;
        }
    }
    if (!best)
        fail_msg("no op for map %u opcode %02x pfx %u reg %u mem %d", map, opcode, pfx, reg, mem);
    return best->fn;
}

/* A register-form instruction. */
static inline struct x86_insn insn_reg(unsigned map, unsigned opcode, unsigned osz, unsigned reg,
                                       unsigned rm)
{
    return (struct x86_insn){.map = map,
                             .opcode = opcode,
                             .osz = osz,
                             .asz = 3,
                             .reg = reg,
                             .rm = rm,
                             .index = X86_NO_REG,
                             .seg = X86_DS,
                             .len = 3,
                             .flags = X86_I_MODRM};
}

/* A memory-form instruction addressing [base + disp]. */
static inline struct x86_insn insn_mem(unsigned map, unsigned opcode, unsigned osz, unsigned reg,
                                       unsigned base, int32_t disp)
{
    struct x86_insn in = insn_reg(map, opcode, osz, reg, base);
    in.flags |= X86_I_MEM;
    in.disp = disp;
    return in;
}

static inline void run_op(x86_op_fn *fn, const struct x86_insn *in)
{
    cpu->cur_insn = in;
    cpu->rip = 0x1000;
    fn(cpu, in);
}

/* Run an op that may raise: returns the vector, or -1 if it completed. */
static inline int run_op_exc(x86_op_fn *fn, const struct x86_insn *in)
{
    cpu->cur_insn = in;
    cpu->rip = 0x1000 + in->len;
    if (sigsetjmp(cpu->exc_jmp, 0))
        return cpu->exc.vector;
    fn(cpu, in);
    return -1;
}

/* Condition cc from materialized flags, computed independently of flags.c. */
static inline bool ref_cond(uint64_t f, unsigned cc)
{
    bool cf = f & CF, zf = f & ZF, sf = f & SF, of = f & OF, pf = f & PF, r;
    switch (cc >> 1) {
    case 0:
        r = of;
        break;
    case 1:
        r = cf;
        break;
    case 2:
        r = zf;
        break;
    case 3:
        r = cf || zf;
        break;
    case 4:
        r = sf;
        break;
    case 5:
        r = pf;
        break;
    case 6:
        r = sf != of;
        break;
    default:
        r = zf || sf != of;
        break;
    }
    return r ^ (cc & 1);
}

/* The flags each condition reads. */
static inline uint64_t cond_needs(unsigned cc)
{
    static const uint64_t needs[8] = {OF, CF, ZF, CF | ZF, SF, PF, SF | OF, ZF | SF | OF};
    return needs[cc >> 1];
}

/* Check the lazy state against host flags on the flags in mask: the full
 * evaluation, the CF shortcut, and every condition that reads only flags
 * in mask (x86_cond's fast paths). */
static inline void check_flags(uint64_t host, uint64_t mask, const char *what)
{
    uint64_t f = x86_flags_eval(cpu);
    if ((f & mask) != (host & mask))
        fail_msg("%s: flags %03llx, host %03llx (mask %03llx, cc_op %u)", what,
                 (unsigned long long)(f & mask), (unsigned long long)(host & mask),
                 (unsigned long long)mask, cpu->cc_op);
    if ((mask & CF) && x86_flag_cf(cpu) != !!(host & CF))
        fail_msg("%s: x86_flag_cf %d, host CF %d", what, x86_flag_cf(cpu), !!(host & CF));
    for (unsigned cc = 0; cc < 16; cc++) {
        if ((cond_needs(cc) & mask) != cond_needs(cc))
            continue;
        if (x86_cond(cpu, cc) != ref_cond(host, cc))
            fail_msg("%s: x86_cond(%u) %d, host %d (cc_op %u)", what, cc, x86_cond(cpu, cc),
                     ref_cond(host, cc), cpu->cc_op);
    }
}

/* Host execution. The asm moves rsp below the red zone before pushing. */
#define HOST_PRE  "lea -128(%%rsp), %%rsp\n\tpush %[fin]\n\tpopfq\n\t"
#define HOST_POST "\n\tpushfq\n\tpop %[fout]\n\tlea 128(%%rsp), %%rsp"

/* d = d op s with flags in fin; returns the flags after. */
typedef uint64_t host2_fn(uint64_t *d, uint64_t s, uint64_t fin);

#define HOST2(fname, text, scon)                                                                   \
    static uint64_t fname(uint64_t *d, uint64_t s, uint64_t fin)                                   \
    {                                                                                              \
        uint64_t dv = *d, f;                                                                       \
        __asm__ volatile(HOST_PRE text HOST_POST                                                   \
                         : [d] "+&r"(dv), [fout] "=&r"(f)                                          \
                         : [s] scon(s), [fin] "r"(fin)                                             \
                         : "cc", "memory");                                                        \
        *d = dv;                                                                                   \
        return f;                                                                                  \
    }

/* One host function per operand size: name_0 .. name_3. */
#define HOST2_SIZES(name, mnem)                                                                    \
    HOST2(name##_0, mnem " %b[s], %b[d]", "r")                                                     \
    HOST2(name##_1, mnem " %w[s], %w[d]", "r")                                                     \
    HOST2(name##_2, mnem " %k[s], %k[d]", "r")                                                     \
    HOST2(name##_3, mnem " %q[s], %q[d]", "r")                                                     \
    static host2_fn *const name[4] = {name##_0, name##_1, name##_2, name##_3};

/* Single-operand instructions (d only): s is ignored. */
#define HOST1_SIZES(name, mnem)                                                                    \
    HOST2(name##_0, mnem " %b[d]", "r")                                                            \
    HOST2(name##_1, mnem " %w[d]", "r")                                                            \
    HOST2(name##_2, mnem " %k[d]", "r")                                                            \
    HOST2(name##_3, mnem " %q[d]", "r")                                                            \
    static host2_fn *const name[4] = {name##_0, name##_1, name##_2, name##_3};

/* Interesting operand values; upper bits beyond the operand size are
 * garbage on purpose (an op must ignore them, and merge or zero-extend
 * the destination correctly). */
static const uint64_t edge_values[] __attribute__((unused)) = {
    0,
    1,
    2,
    0x0f,
    0x10,
    0x7f,
    0x80,
    0x81,
    0xfe,
    0xff,
    0x7fff,
    0x8000,
    0xffff,
    0x7fffffff,
    0x80000000,
    0xffffffff,
    0x7fffffffffffffffULL,
    0x8000000000000000ULL,
    0xffffffffffffffffULL,
    0xdeadbeef12345680ULL,
    0x5555555555555555ULL,
    0xaaaaaaaaaaaaaaaaULL,
    0x0123456789abcdefULL,
    0xfedcba9876543210ULL,
};
#define N_EDGE (sizeof(edge_values) / sizeof(edge_values[0]))

/* Input flag sets: none, CF only, all six, all but CF. */
static const uint64_t flag_inputs[]
    __attribute__((unused)) = {0x202, 0x203, 0x202 | ARITH, 0x202 | (ARITH & ~CF)};
#define N_FLAGIN (sizeof(flag_inputs) / sizeof(flag_inputs[0]))

static uint64_t rng_state = 0x9e3779b97f4a7c15ULL;

static inline uint64_t rnd(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

/* Random values biased toward edges: sometimes small, sometimes near a
 * sign boundary of some operand size. */
static inline uint64_t rnd_value(void)
{
    uint64_t r = rnd();
    switch (r & 7) {
    case 0:
        return r >> 60;
    case 1:
        return edge_values[(r >> 8) % N_EDGE];
    case 2:
        return (r >> 3) ^ (1ULL << ((r >> 58) & 63));
    default:
        return rnd();
    }
}

static inline void set_flags(uint64_t fin)
{
    x86_flags_set(cpu, fin & ARITH);
}

#endif
