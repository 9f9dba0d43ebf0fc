/* Bit operations and flag consumers: BT BTS BTR BTC, BSF BSR, TZCNT LZCNT
 * POPCNT, BSWAP, MOVBE, CBW/CWDE/CDQE, CWD/CDQ/CQO, SETcc, CMOVcc, CLC STC
 * CMC, LAHF SAHF.
 */
#include "cpu/x86/atomic.h"
#include "cpu/x86/flags.h"
#include "cpu/x86/operand.h"

#define BIT_INLINE static inline __attribute__((always_inline))

enum bt_op { BT_TEST, BT_SET, BT_RESET, BT_COMP };

/* Replace CF, keep the other arithmetic flags (BT*, CLC, STC, CMC). */
static void set_cf(struct x86_cpu *cpu, bool cf)
{
    x86_flags_set(cpu, (x86_flags_eval(cpu) & ~(uint64_t)X86_FLAG_CF) | (cf ? X86_FLAG_CF : 0));
}

BIT_INLINE uint64_t bt_result(enum bt_op op, uint64_t a, uint64_t mask)
{
    switch (op) {
    case BT_SET:
        return a | mask;
    case BT_RESET:
        return a & ~mask;
    case BT_COMP:
        return a ^ mask;
    default:
        return a;
    }
}

/* With a register bit offset, a memory operand is the start of a bit
 * string: the operand-size unit holding the bit is at ea + (offset
 * (signed) / w) * (w / 8), wrapping at the address size. */
static uint64_t bt_addr(const struct x86_cpu *cpu, const struct x86_insn *in, int64_t off)
{
    uint64_t base = cpu->seg[in->seg].base;
    uint64_t a = x86_ea(cpu, in) - base + ((uint64_t)(off >> (3 + in->osz)) << in->osz);

    if (in->asz == 2)
        a = (uint32_t)a;
    else if (in->asz == 1)
        a = (uint16_t)a;
    return a + base;
}

BIT_INLINE void bt_apply(struct x86_cpu *cpu, const struct x86_insn *in, enum bt_op op,
                         uint64_t off, bool reg_offset)
{
    unsigned osz = in->osz, bit = (unsigned)off & ((8u << osz) - 1);
    uint64_t mask = 1ULL << bit, a;

    if (!(in->flags & X86_I_MEM)) {
        a = x86_reg_read(cpu, in->rm, osz);
        if (op != BT_TEST)
            x86_reg_write(cpu, in->rm, osz, bt_result(op, a, mask));
    } else {
        uint64_t ea = reg_offset ? bt_addr(cpu, in, x86_sext(off, osz)) : x86_ea(cpu, in);
        if (op != BT_TEST && (in->flags & X86_I_LOCK)) {
            void *p = x86_mem_ptr(cpu, ea, 1u << osz, 1);
            if (op == BT_SET)
                a = x86_atomic_fetch_or(p, osz, mask);
            else if (op == BT_RESET)
                a = x86_atomic_fetch_and(p, osz, ~mask);
            else
                a = x86_atomic_fetch_xor(p, osz, mask);
        } else {
            a = x86_load(cpu, ea, osz);
            if (op != BT_TEST)
                x86_store(cpu, ea, osz, bt_result(op, a, mask));
        }
    }
    set_cf(cpu, (a >> bit) & 1);
}

#define BT_FORMS(name, OP)                                                                         \
    static void bit_##name##_g(struct x86_cpu *cpu, const struct x86_insn *in)                     \
    {                                                                                              \
        bt_apply(cpu, in, OP, x86_reg_read(cpu, in->reg, in->osz), true);                          \
    }                                                                                              \
    static void bit_##name##_i(struct x86_cpu *cpu, const struct x86_insn *in)                     \
    {                                                                                              \
        bt_apply(cpu, in, OP, (uint64_t)in->imm, false);                                           \
    }

BT_FORMS(bt, BT_TEST)
BT_FORMS(bts, BT_SET)
BT_FORMS(btr, BT_RESET)
BT_FORMS(btc, BT_COMP)

/* BSF/BSR: a zero source sets ZF and leaves the destination alone (no
 * zero-extension either, as the hardware does). The other flags are
 * undefined: recorded as LOGIC of the source. */
static void bit_bsf(struct x86_cpu *cpu, const struct x86_insn *in)
{
    uint64_t s = x86_rm_read(cpu, in, in->osz);
    if (s)
        x86_reg_write(cpu, in->reg, in->osz, (uint64_t)__builtin_ctzll(s));
    x86_set_cc(cpu, X86_CC(X86_CC_KIND_LOGIC, in->osz), s, 0, 0);
}

static void bit_bsr(struct x86_cpu *cpu, const struct x86_insn *in)
{
    uint64_t s = x86_rm_read(cpu, in, in->osz);
    if (s)
        x86_reg_write(cpu, in->reg, in->osz, (uint64_t)(63 - __builtin_clzll(s)));
    x86_set_cc(cpu, X86_CC(X86_CC_KIND_LOGIC, in->osz), s, 0, 0);
}

/* TZCNT/LZCNT: CF = source zero, ZF = result zero; the undefined OF SF AF
 * PF are cleared (the AMD host keeps OF). */
static void bit_count_result(struct x86_cpu *cpu, const struct x86_insn *in, uint64_t s, uint64_t r)
{
    x86_reg_write(cpu, in->reg, in->osz, r);
    x86_flags_set(cpu, (s == 0 ? X86_FLAG_CF : 0) | (r == 0 ? X86_FLAG_ZF : 0));
}

static void bit_tzcnt(struct x86_cpu *cpu, const struct x86_insn *in)
{
    uint64_t s = x86_rm_read(cpu, in, in->osz);
    bit_count_result(cpu, in, s, s ? (uint64_t)__builtin_ctzll(s) : 8u << in->osz);
}

static void bit_lzcnt(struct x86_cpu *cpu, const struct x86_insn *in)
{
    unsigned w = 8u << in->osz;
    uint64_t s = x86_rm_read(cpu, in, in->osz);
    bit_count_result(cpu, in, s, s ? (uint64_t)(__builtin_clzll(s) - (64 - w)) : w);
}

static void bit_popcnt(struct x86_cpu *cpu, const struct x86_insn *in)
{
    uint64_t s = x86_rm_read(cpu, in, in->osz);
    x86_reg_write(cpu, in->reg, in->osz, (uint64_t)__builtin_popcountll(s));
    x86_flags_set(cpu, s == 0 ? X86_FLAG_ZF : 0);
}

static uint64_t bswap_size(uint64_t v, unsigned osz)
{
    switch (osz) {
    case 1:
        return __builtin_bswap16((uint16_t)v);
    case 2:
        return __builtin_bswap32((uint32_t)v);
    default:
        return __builtin_bswap64(v);
    }
}

/* BSWAP r (0F C8+r). The 16-bit form is undefined; hardware (AMD and
 * Intel alike) clears the low word. */
static void bit_bswap(struct x86_cpu *cpu, const struct x86_insn *in)
{
    uint64_t v = in->osz == 1 ? 0 : bswap_size(x86_reg_read(cpu, in->reg, in->osz), in->osz);
    x86_reg_write(cpu, in->reg, in->osz, v);
}

/* MOVBE Gv, Mv (0F 38 F0) and Mv, Gv (F1). */
static void bit_movbe_load(struct x86_cpu *cpu, const struct x86_insn *in)
{
    uint64_t v = x86_load(cpu, x86_ea(cpu, in), in->osz);
    x86_reg_write(cpu, in->reg, in->osz, bswap_size(v, in->osz));
}

static void bit_movbe_store(struct x86_cpu *cpu, const struct x86_insn *in)
{
    uint64_t v = bswap_size(x86_reg_read(cpu, in->reg, in->osz), in->osz);
    x86_store(cpu, x86_ea(cpu, in), in->osz, v);
}

/* CBW/CWDE/CDQE: rAX = sign-extended lower half. */
static void bit_cbw(struct x86_cpu *cpu, const struct x86_insn *in)
{
    unsigned osz = in->osz;
    x86_reg_write(cpu, X86_RAX, osz, (uint64_t)x86_sext(cpu->gpr[X86_RAX], osz - 1));
}

/* CWD/CDQ/CQO: rDX = the sign of rAX. */
static void bit_cwd(struct x86_cpu *cpu, const struct x86_insn *in)
{
    unsigned osz = in->osz;
    uint64_t sign = (cpu->gpr[X86_RAX] >> ((8u << osz) - 1)) & 1;
    x86_reg_write(cpu, X86_RDX, osz, sign ? ~0ULL : 0);
}

static void bit_setcc(struct x86_cpu *cpu, const struct x86_insn *in)
{
    x86_rm_write(cpu, in, 0, x86_cond(cpu, in->opcode & 15));
}

/* CMOVcc: the source is read (and may fault) whatever the condition, and
 * a 32-bit destination is zero-extended even when nothing moves. */
static void bit_cmov(struct x86_cpu *cpu, const struct x86_insn *in)
{
    uint64_t v = x86_rm_read(cpu, in, in->osz);
    if (x86_cond(cpu, in->opcode & 15))
        x86_reg_write(cpu, in->reg, in->osz, v);
    else if (in->osz == 2)
        x86_reg_write(cpu, in->reg, 2, cpu->gpr[in->reg]);
}

static void bit_clc(struct x86_cpu *cpu, const struct x86_insn *in)
{
    (void)in;
    set_cf(cpu, false);
}

static void bit_stc(struct x86_cpu *cpu, const struct x86_insn *in)
{
    (void)in;
    set_cf(cpu, true);
}

static void bit_cmc(struct x86_cpu *cpu, const struct x86_insn *in)
{
    (void)in;
    set_cf(cpu, !x86_flag_cf(cpu));
}

#define LAHF_FLAGS (X86_FLAG_SF | X86_FLAG_ZF | X86_FLAG_AF | X86_FLAG_PF | X86_FLAG_CF)

/* LAHF/SAHF: valid in 64-bit mode (CPUID 80000001h ECX.LAHF-SAHF). */
static void bit_lahf(struct x86_cpu *cpu, const struct x86_insn *in)
{
    (void)in;
    x86_reg_write(cpu, X86_AH, 0, (x86_flags_eval(cpu) & LAHF_FLAGS) | 2);
}

static void bit_sahf(struct x86_cpu *cpu, const struct x86_insn *in)
{
    uint64_t ah = (cpu->gpr[X86_RAX] >> 8) & LAHF_FLAGS;
    (void)in;
    x86_flags_set(cpu, (x86_flags_eval(cpu) & X86_FLAG_OF) | ah);
}

#define ROWP(map, op, pfx, reg, mod, fn, name)                                                     \
    {                                                                                              \
        X86_MAP_##map, op, X86_PFX_##pfx, reg, X86_MOD_##mod, fn, name                             \
    }
#define ROW(map, op, reg, fn, name) ROWP(map, op, ANY, reg, ANY, fn, name)

#define CC_ROWS(base, fn, name)                                                                    \
    ROW(0F, base + 0, -1, fn, name "o"), ROW(0F, base + 1, -1, fn, name "no"),                     \
        ROW(0F, base + 2, -1, fn, name "b"), ROW(0F, base + 3, -1, fn, name "ae"),                 \
        ROW(0F, base + 4, -1, fn, name "e"), ROW(0F, base + 5, -1, fn, name "ne"),                 \
        ROW(0F, base + 6, -1, fn, name "be"), ROW(0F, base + 7, -1, fn, name "a"),                 \
        ROW(0F, base + 8, -1, fn, name "s"), ROW(0F, base + 9, -1, fn, name "ns"),                 \
        ROW(0F, base + 10, -1, fn, name "p"), ROW(0F, base + 11, -1, fn, name "np"),               \
        ROW(0F, base + 12, -1, fn, name "l"), ROW(0F, base + 13, -1, fn, name "ge"),               \
        ROW(0F, base + 14, -1, fn, name "le"), ROW(0F, base + 15, -1, fn, name "g")

const struct x86_op_entry x86_ops_bit[] = {
    ROW(0F, 0xa3, -1, bit_bt_g, "bt"),
    ROW(0F, 0xab, -1, bit_bts_g, "bts"),
    ROW(0F, 0xb3, -1, bit_btr_g, "btr"),
    ROW(0F, 0xbb, -1, bit_btc_g, "btc"),
    ROW(0F, 0xba, 4, bit_bt_i, "bt"),
    ROW(0F, 0xba, 5, bit_bts_i, "bts"),
    ROW(0F, 0xba, 6, bit_btr_i, "btr"),
    ROW(0F, 0xba, 7, bit_btc_i, "btc"),
    ROW(0F, 0xbc, -1, bit_bsf, "bsf"),
    ROW(0F, 0xbd, -1, bit_bsr, "bsr"),
    ROWP(0F, 0xbc, F3, -1, ANY, bit_tzcnt, "tzcnt"),
    ROWP(0F, 0xbd, F3, -1, ANY, bit_lzcnt, "lzcnt"),
    ROWP(0F, 0xb8, F3, -1, ANY, bit_popcnt, "popcnt"),
    ROW(0F, 0xc8, -1, bit_bswap, "bswap"),
    ROW(0F, 0xc9, -1, bit_bswap, "bswap"),
    ROW(0F, 0xca, -1, bit_bswap, "bswap"),
    ROW(0F, 0xcb, -1, bit_bswap, "bswap"),
    ROW(0F, 0xcc, -1, bit_bswap, "bswap"),
    ROW(0F, 0xcd, -1, bit_bswap, "bswap"),
    ROW(0F, 0xce, -1, bit_bswap, "bswap"),
    ROW(0F, 0xcf, -1, bit_bswap, "bswap"),
    ROWP(0F38, 0xf0, ANY, -1, MEM, bit_movbe_load, "movbe"),
    ROWP(0F38, 0xf1, ANY, -1, MEM, bit_movbe_store, "movbe"),
    ROW(PRIMARY, 0x98, -1, bit_cbw, "cbw"),
    ROW(PRIMARY, 0x99, -1, bit_cwd, "cwd"),
    CC_ROWS(0x90, bit_setcc, "set"),
    CC_ROWS(0x40, bit_cmov, "cmov"),
    ROW(PRIMARY, 0xf5, -1, bit_cmc, "cmc"),
    ROW(PRIMARY, 0xf8, -1, bit_clc, "clc"),
    ROW(PRIMARY, 0xf9, -1, bit_stc, "stc"),
    ROW(PRIMARY, 0x9e, -1, bit_sahf, "sahf"),
    ROW(PRIMARY, 0x9f, -1, bit_lahf, "lahf"),
    {0},
};
