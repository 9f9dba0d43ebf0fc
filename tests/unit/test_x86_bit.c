/* bit.c against the host CPU: BT BTS BTR BTC (register, immediate, memory
 * bit strings, LOCK), BSF BSR TZCNT LZCNT POPCNT, BSWAP, MOVBE, CBW/CWD
 * families, SETcc, CMOVcc, CLC STC CMC, LAHF SAHF.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "x86_host.h"

#define HOST2_WIDE(name, mnem)                                                                     \
    HOST2(name##_1, mnem " %w[s], %w[d]", "r")                                                     \
    HOST2(name##_2, mnem " %k[s], %k[d]", "r")                                                     \
    HOST2(name##_3, mnem " %q[s], %q[d]", "r")                                                     \
    static host2_fn *const name[4] = {NULL, name##_1, name##_2, name##_3};

HOST2_WIDE(h_bt, "bt")
HOST2_WIDE(h_bts, "bts")
HOST2_WIDE(h_btr, "btr")
HOST2_WIDE(h_btc, "btc")
HOST2_WIDE(h_bsf, "bsf")
HOST2_WIDE(h_bsr, "bsr")
HOST2_WIDE(h_tzcnt, "tzcnt")
HOST2_WIDE(h_lzcnt, "lzcnt")
HOST2_WIDE(h_popcnt, "popcnt")

static host2_fn *const *const bt_host[4] = {h_bt, h_bts, h_btr, h_btc};
static const unsigned bt_opcode[4] = {0xa3, 0xab, 0xb3, 0xbb};

/* After BT*: CF defined, ZF unchanged; the AMD host keeps the rest too. */
static uint64_t bt_mask(void)
{
    return host_is_amd() ? ARITH : CF | ZF;
}

static void test_bit_bt_register(void **state)
{
    (void)state;
    for (unsigned k = 0; k < 4; k++)
        for (unsigned osz = 1; osz < 4; osz++)
            for (int n = 0; n < 3000; n++) {
                uint64_t d = rnd_value(), fin = flag_inputs[n & 3], hd = d;
                bool imm = n & 1;
                /* an Ib offset reaches the host as the same register offset */
                uint64_t s = imm ? (uint64_t)(int8_t)rnd() : rnd();
                unsigned opc = imm ? 0xba : bt_opcode[k];
                uint64_t hf = bt_host[k][osz](&hd, s, fin);

                struct x86_insn in = insn_reg(X86_MAP_0F, opc, osz, imm ? 4 + k : X86_RCX, X86_RAX);
                in.imm = (int64_t)s;
                cpu->gpr[X86_RAX] = d;
                cpu->gpr[X86_RCX] = s;
                set_flags(fin);
                run_op(find_op(x86_ops_bit, X86_MAP_0F, opc, X86_PFX_NONE, imm ? 4 + k : 0, false),
                       &in);
                assert_int_equal(cpu->gpr[X86_RAX], hd);
                check_flags(hf, bt_mask(), "bt reg");
            }
}

/* Memory forms with a register offset address a bit string around the
 * operand, in either direction. */
#define HOST_BTMEM(fname, text)                                                                    \
    static uint64_t fname(uint8_t *p, uint64_t off, uint64_t fin)                                  \
    {                                                                                              \
        uint64_t f;                                                                                \
        __asm__ volatile(HOST_PRE text HOST_POST                                                   \
                         : [fout] "=&r"(f)                                                         \
                         : [p] "r"(p), [s] "r"(off), [fin] "r"(fin)                                \
                         : "cc", "memory");                                                        \
        return f;                                                                                  \
    }
#define HOST_BTMEM_SIZES(name, mnem)                                                               \
    HOST_BTMEM(name##_1, mnem "w %w[s], (%[p])")                                                   \
    HOST_BTMEM(name##_2, mnem "l %k[s], (%[p])")                                                   \
    HOST_BTMEM(name##_3, mnem "q %q[s], (%[p])")                                                   \
    static uint64_t (*const name[4])(uint8_t *, uint64_t, uint64_t) = {NULL, name##_1, name##_2,   \
                                                                       name##_3};
HOST_BTMEM_SIZES(hm_bt, "bt")
HOST_BTMEM_SIZES(hm_bts, "bts")
HOST_BTMEM_SIZES(hm_btr, "btr")
HOST_BTMEM_SIZES(hm_btc, "btc")
HOST_BTMEM_SIZES(hm_lbts, "lock bts")
HOST_BTMEM_SIZES(hm_lbtr, "lock btr")
HOST_BTMEM_SIZES(hm_lbtc, "lock btc")

static uint64_t (*const *const btm_host[7])(uint8_t *, uint64_t, uint64_t) = {
    hm_bt, hm_bts, hm_btr, hm_btc, hm_bt, hm_lbts, hm_lbtr,
};

static uint8_t bits_host[1024], bits_emu[1024];

static void test_bit_bt_memory(void **state)
{
    (void)state;
    for (int n = 0; n < 20000; n++) {
        unsigned k = (unsigned)(rnd() % 4), osz = 1 + (unsigned)(rnd() % 3);
        bool lock = k != 0 && (rnd() & 1), imm = (rnd() & 3) == 0;
        /* offsets within +-3000 bits of the operand at the middle */
        int64_t off = (int64_t)(rnd() % 6000) - 3000;
        uint64_t fin = flag_inputs[n & 3], hf;
        uint64_t host_off = imm ? (uint64_t)(off & ((8 << osz) - 1)) : (uint64_t)off;
        unsigned opc = imm ? 0xba : bt_opcode[k];

        for (unsigned i = 0; i < sizeof(bits_host); i++)
            bits_host[i] = bits_emu[i] = (uint8_t)rnd();
        if (k == 3 && lock)
            hf = hm_lbtc[osz](bits_host + 512, host_off, fin);
        else
            hf = btm_host[k + (lock ? 4 : 0)][osz](bits_host + 512, host_off, fin);

        /* base register + displacement, so the operand address is computed */
        struct x86_insn in = insn_mem(X86_MAP_0F, opc, osz, imm ? 4 + k : X86_RCX, X86_RBX, 12);
        if (lock)
            in.flags |= X86_I_LOCK;
        in.imm = (int64_t)(int8_t)host_off;
        cpu->gpr[X86_RBX] = (uint64_t)(uintptr_t)(bits_emu + 500);
        /* garbage above the operand size: the offset is sign-extended from it */
        cpu->gpr[X86_RCX] = ((uint64_t)off & x86_mask(osz)) | (rnd() & ~x86_mask(osz));
        set_flags(fin);
        run_op(find_op(x86_ops_bit, X86_MAP_0F, opc, X86_PFX_NONE, imm ? 4 + k : 0, true), &in);
        if (memcmp(bits_host, bits_emu, sizeof(bits_host)) != 0)
            fail_msg("bt%u osz %u lock %d imm %d off %lld: memory differs", k, osz, lock, imm,
                     (long long)off);
        check_flags(hf, bt_mask(), "bt mem");
    }
}

/* BSF BSR TZCNT LZCNT POPCNT */
static void scan_one(unsigned opc, unsigned pfx, host2_fn *const *host, uint64_t mask, unsigned osz,
                     bool mem, uint64_t d, uint64_t s, uint64_t fin)
{
    uint64_t hd = d, hf = host[osz](&hd, s, fin);
    uint8_t m[8];
    struct x86_insn in;

    if (mem) {
        memcpy(m, &s, sizeof(m));
        cpu->gpr[X86_RBX] = (uint64_t)(uintptr_t)m;
        in = insn_mem(X86_MAP_0F, opc, osz, X86_RAX, X86_RBX, 0);
    } else {
        in = insn_reg(X86_MAP_0F, opc, osz, X86_RAX, X86_RCX);
    }
    cpu->gpr[X86_RAX] = d;
    cpu->gpr[X86_RCX] = s;
    set_flags(fin);
    run_op(find_op(x86_ops_bit, X86_MAP_0F, opc, pfx, 0, mem), &in);
    if (cpu->gpr[X86_RAX] != hd)
        fail_msg("0f %02x pfx %u osz %u s %llx: %llx, host %llx", opc, pfx, osz,
                 (unsigned long long)s, (unsigned long long)cpu->gpr[X86_RAX],
                 (unsigned long long)hd);
    check_flags(hf, mask, "bit scan");
}

static void test_bit_scan_count(void **state)
{
    (void)state;
    for (unsigned osz = 1; osz < 4; osz++)
        for (unsigned i = 0; i < N_EDGE + 2000; i++) {
            uint64_t s = i < N_EDGE ? edge_values[i] : rnd_value() >> (rnd() & 63);
            uint64_t d = rnd(), fin = flag_inputs[i & 3];
            bool mem = i & 1;
            scan_one(0xbc, X86_PFX_NONE, h_bsf, ZF, osz, mem, d, s, fin);
            scan_one(0xbd, X86_PFX_NONE, h_bsr, ZF, osz, mem, d, s, fin);
            scan_one(0xbc, X86_PFX_F3, h_tzcnt, CF | ZF, osz, mem, d, s, fin);
            scan_one(0xbd, X86_PFX_F3, h_lzcnt, CF | ZF, osz, mem, d, s, fin);
            scan_one(0xb8, X86_PFX_F3, h_popcnt, ARITH, osz, mem, d, s, fin);
        }
}

HOST2(h_bswap16, ".byte 0x66\n\tbswap %k[d]", "r") /* undefined: as the host does */
HOST2(h_bswap32, "bswap %k[d]", "r")
HOST2(h_bswap64, "bswap %q[d]", "r")
static host2_fn *const h_bswap[4] = {NULL, h_bswap16, h_bswap32, h_bswap64};

static void test_bit_bswap(void **state)
{
    (void)state;
    x86_op_fn *fn = find_op(x86_ops_bit, X86_MAP_0F, 0xcb, X86_PFX_NONE, 0, false);
    for (unsigned osz = 1; osz < 4; osz++) {
        if (osz == 1 && !host_is_amd())
            continue; /* undefined; the AMD host clears the word */
        for (int n = 0; n < 200; n++) {
            uint64_t d = rnd(), hd = d;
            h_bswap[osz](&hd, 0, 0x202);
            struct x86_insn in = insn_reg(X86_MAP_0F, 0xcb, osz, X86_RBX, 0);
            in.flags = 0; /* no ModRM; the register is in reg */
            cpu->gpr[X86_RBX] = d;
            set_flags(0x202 | ZF);
            run_op(fn, &in);
            assert_int_equal(cpu->gpr[X86_RBX], hd);
            assert_int_equal(x86_flags_eval(cpu), ZF);
        }
    }
}

static bool host_has_movbe(void)
{
    unsigned a, b, c, d;
    __cpuid(1, a, b, c, d);
    (void)a, (void)b, (void)d;
    return c & (1u << 22);
}

static void test_bit_movbe(void **state)
{
    (void)state;
    uint8_t m[16], hm[16];
    if (!host_has_movbe())
        skip();
    for (unsigned osz = 1; osz < 4; osz++)
        for (int n = 0; n < 200; n++) {
            uint64_t v = rnd(), d = rnd(), hd = d;
            for (unsigned i = 0; i < sizeof(m); i++)
                m[i] = hm[i] = (uint8_t)rnd();
            /* load: MOVBE r, m */
            if (osz == 1)
                __asm__("movbe (%[p]), %w[d]" : [d] "+r"(hd) : [p] "r"(hm + 3) : "memory");
            else if (osz == 2)
                __asm__("movbe (%[p]), %k[d]" : [d] "+r"(hd) : [p] "r"(hm + 3) : "memory");
            else
                __asm__("movbe (%[p]), %q[d]" : [d] "+r"(hd) : [p] "r"(hm + 3) : "memory");
            struct x86_insn in = insn_mem(X86_MAP_0F38, 0xf0, osz, X86_RDX, X86_RSI, 3);
            cpu->gpr[X86_RSI] = (uint64_t)(uintptr_t)m;
            cpu->gpr[X86_RDX] = d;
            run_op(find_op(x86_ops_bit, X86_MAP_0F38, 0xf0, X86_PFX_NONE, 0, true), &in);
            assert_int_equal(cpu->gpr[X86_RDX], hd);

            /* store: MOVBE m, r */
            if (osz == 1)
                __asm__("movbe %w[v], (%[p])" : : [v] "r"(v), [p] "r"(hm + 5) : "memory");
            else if (osz == 2)
                __asm__("movbe %k[v], (%[p])" : : [v] "r"(v), [p] "r"(hm + 5) : "memory");
            else
                __asm__("movbe %q[v], (%[p])" : : [v] "r"(v), [p] "r"(hm + 5) : "memory");
            in = insn_mem(X86_MAP_0F38, 0xf1, osz, X86_RDX, X86_RSI, 5);
            cpu->gpr[X86_RDX] = v;
            run_op(find_op(x86_ops_bit, X86_MAP_0F38, 0xf1, X86_PFX_NONE, 0, true), &in);
            assert_memory_equal(m, hm, sizeof(m));
        }
}

/* CBW/CWDE/CDQE and CWD/CDQ/CQO */
static void test_bit_convert(void **state)
{
    (void)state;
    for (unsigned i = 0; i < N_EDGE + 300; i++) {
        uint64_t v = i < N_EDGE ? edge_values[i] : rnd(), dx = rnd();
        uint64_t want[2][4];
        uint64_t a, d;
        a = v;
        __asm__("cbtw" : "+a"(a));
        want[0][1] = a;
        a = v;
        __asm__("cwtl" : "+a"(a));
        want[0][2] = a;
        a = v;
        __asm__("cltq" : "+a"(a));
        want[0][3] = a;
        d = dx;
        __asm__("cwtd" : "+d"(d) : "a"(v));
        want[1][1] = d;
        d = dx;
        __asm__("cltd" : "+d"(d) : "a"(v));
        want[1][2] = d;
        d = dx;
        __asm__("cqto" : "+d"(d) : "a"(v));
        want[1][3] = d;
        for (unsigned osz = 1; osz < 4; osz++) {
            struct x86_insn in = insn_reg(0, 0x98, osz, 0, 0);
            cpu->gpr[X86_RAX] = v;
            cpu->gpr[X86_RDX] = dx;
            run_op(find_op(x86_ops_bit, 0, 0x98, X86_PFX_NONE, 0, false), &in);
            assert_int_equal(cpu->gpr[X86_RAX], want[0][osz]);
            assert_int_equal(cpu->gpr[X86_RDX], dx);
            in.opcode = 0x99;
            cpu->gpr[X86_RAX] = v;
            run_op(find_op(x86_ops_bit, 0, 0x99, X86_PFX_NONE, 0, false), &in);
            assert_int_equal(cpu->gpr[X86_RDX], want[1][osz]);
            assert_int_equal(cpu->gpr[X86_RAX], v);
        }
    }
}

/* SETcc and CMOVcc for every condition and every combination of the six
 * flags, the flags materialized. */
#define HOST_CC(cc)                                                                                \
    HOST2(h_set##cc, "set" #cc " %b[d]", "r")                                                      \
    HOST2(h_cmov##cc##_1, "cmov" #cc " %w[s], %w[d]", "r")                                         \
    HOST2(h_cmov##cc##_2, "cmov" #cc " %k[s], %k[d]", "r")                                         \
    HOST2(h_cmov##cc##_3, "cmov" #cc " %q[s], %q[d]", "r")
HOST_CC(o)
HOST_CC(no)
HOST_CC(b)
HOST_CC(ae)
HOST_CC(e)
HOST_CC(ne)
HOST_CC(be)
HOST_CC(a)
HOST_CC(s)
HOST_CC(ns)
HOST_CC(p)
HOST_CC(np)
HOST_CC(l)
HOST_CC(ge)
HOST_CC(le)
HOST_CC(g)
#define CC_LIST(X)                                                                                 \
    X(o), X(no), X(b), X(ae), X(e), X(ne), X(be), X(a), X(s), X(ns), X(p), X(np), X(l), X(ge),     \
        X(le), X(g)
#define SET_FN(cc) h_set##cc
#define CMOV_FN(cc)                                                                                \
    {                                                                                              \
        NULL, h_cmov##cc##_1, h_cmov##cc##_2, h_cmov##cc##_3                                       \
    }
static host2_fn *const h_setcc[16] = {CC_LIST(SET_FN)};
static host2_fn *const h_cmovcc[16][4] = {CC_LIST(CMOV_FN)};

/* The six arithmetic flags from a 6-bit number. */
static uint64_t flags_combo(unsigned n)
{
    static const uint64_t bit[6] = {CF, PF, AF, ZF, SF, OF};
    uint64_t f = 0x202;
    for (unsigned i = 0; i < 6; i++)
        if (n & (1u << i))
            f |= bit[i];
    return f;
}

static void test_bit_setcc_cmovcc(void **state)
{
    (void)state;
    for (unsigned cc = 0; cc < 16; cc++)
        for (unsigned combo = 0; combo < 64; combo++) {
            uint64_t fin = flags_combo(combo), d = rnd(), s = rnd(), hd = d;
            uint8_t m[4] = {0xaa, 0xaa, 0xaa, 0xaa};

            /* SETcc r/m8 into AH, then into memory */
            h_setcc[cc](&hd, 0, fin);
            struct x86_insn in = insn_reg(X86_MAP_0F, 0x90 + cc, 0, 0, X86_AH + X86_RAX);
            cpu->gpr[X86_RAX] = d;
            set_flags(fin);
            run_op(find_op(x86_ops_bit, X86_MAP_0F, 0x90 + cc, X86_PFX_NONE, 0, false), &in);
            assert_int_equal(cpu->gpr[X86_RAX], (d & ~0xff00ULL) | (hd & 0xff) << 8);
            in = insn_mem(X86_MAP_0F, 0x90 + cc, 0, 0, X86_RBX, 1);
            cpu->gpr[X86_RBX] = (uint64_t)(uintptr_t)m;
            run_op(find_op(x86_ops_bit, X86_MAP_0F, 0x90 + cc, X86_PFX_NONE, 0, true), &in);
            assert_int_equal(m[1], hd & 0xff);
            assert_int_equal(m[0], 0xaa);
            assert_int_equal(m[2], 0xaa);
            assert_int_equal(x86_flags_eval(cpu), fin & ARITH);

            /* CMOVcc: a false 32-bit move still zero-extends */
            for (unsigned osz = 1; osz < 4; osz++) {
                hd = d;
                h_cmovcc[cc][osz](&hd, s, fin);
                bool mem = combo & 1;
                uint8_t src[8];
                memcpy(src, &s, 8);
                in = mem ? insn_mem(X86_MAP_0F, 0x40 + cc, osz, X86_RDX, X86_RBX, 0)
                         : insn_reg(X86_MAP_0F, 0x40 + cc, osz, X86_RDX, X86_RSI);
                cpu->gpr[X86_RBX] = (uint64_t)(uintptr_t)src;
                cpu->gpr[X86_RDX] = d;
                cpu->gpr[X86_RSI] = s;
                set_flags(fin);
                run_op(find_op(x86_ops_bit, X86_MAP_0F, 0x40 + cc, X86_PFX_NONE, 0, mem), &in);
                assert_int_equal(cpu->gpr[X86_RDX], hd);
            }
        }
}

/* CLC STC CMC LAHF SAHF */
HOST2(h_clc, "clc", "r")
HOST2(h_stc, "stc", "r")
HOST2(h_cmc, "cmc", "r")

static uint64_t h_lahf(uint64_t *rax, uint64_t fin)
{
    uint64_t f;
    __asm__ volatile(HOST_PRE "lahf" HOST_POST
                     : "+a"(*rax), [fout] "=&r"(f)
                     : [fin] "r"(fin)
                     : "cc");
    return f;
}

static uint64_t h_sahf(uint64_t rax, uint64_t fin)
{
    uint64_t f;
    __asm__ volatile(HOST_PRE "sahf" HOST_POST : [fout] "=&r"(f) : "a"(rax), [fin] "r"(fin) : "cc");
    return f;
}

static void test_bit_flag_ops(void **state)
{
    (void)state;
    static const unsigned opc[3] = {0xf8, 0xf9, 0xf5};
    host2_fn *const host[3] = {h_clc, h_stc, h_cmc};
    for (unsigned combo = 0; combo < 64; combo++) {
        uint64_t fin = flags_combo(combo), d = 0;
        for (unsigned i = 0; i < 3; i++) {
            uint64_t hf = host[i](&d, 0, fin);
            struct x86_insn in = insn_reg(0, opc[i], 2, 0, 0);
            set_flags(fin);
            run_op(find_op(x86_ops_bit, 0, opc[i], X86_PFX_NONE, 0, false), &in);
            check_flags(hf, ARITH, "clc/stc/cmc");
        }

        uint64_t rax = rnd(), hax = rax;
        uint64_t hf = h_lahf(&hax, fin);
        struct x86_insn in = insn_reg(0, 0x9f, 2, 0, 0);
        cpu->gpr[X86_RAX] = rax;
        set_flags(fin);
        run_op(find_op(x86_ops_bit, 0, 0x9f, X86_PFX_NONE, 0, false), &in);
        assert_int_equal(cpu->gpr[X86_RAX], hax);
        check_flags(hf, ARITH, "lahf");

        /* SAHF from every AH pattern over flags fin: OF survives */
        for (unsigned ah = 0; ah < 256; ah += 7) {
            rax = rnd() & ~0xff00ULL;
            rax |= (uint64_t)ah << 8;
            hf = h_sahf(rax, fin);
            in.opcode = 0x9e;
            cpu->gpr[X86_RAX] = rax;
            set_flags(fin);
            run_op(find_op(x86_ops_bit, 0, 0x9e, X86_PFX_NONE, 0, false), &in);
            check_flags(hf, ARITH, "sahf");
        }
    }
    /* CMC and STC on a lazy state: the other flags come from the operation. */
    struct x86_insn sub = insn_reg(0, 0x29, 2, X86_RCX, X86_RAX);
    x86_op_fn *fsub = find_op(x86_ops_alu, 0, 0x29, X86_PFX_NONE, 0, false);
    struct x86_insn cmc = insn_reg(0, 0xf5, 2, 0, 0);
    cpu->gpr[X86_RAX] = 1;
    cpu->gpr[X86_RCX] = 2;
    run_op(fsub, &sub); /* 1 - 2: CF SF AF PF set */
    run_op(find_op(x86_ops_bit, 0, 0xf5, X86_PFX_NONE, 0, false), &cmc);
    assert_int_equal(x86_flags_eval(cpu), SF | AF | PF);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_bit_bt_register, host_setup, host_teardown),
        cmocka_unit_test_setup_teardown(test_bit_bt_memory, host_setup, host_teardown),
        cmocka_unit_test_setup_teardown(test_bit_scan_count, host_setup, host_teardown),
        cmocka_unit_test_setup_teardown(test_bit_bswap, host_setup, host_teardown),
        cmocka_unit_test_setup_teardown(test_bit_movbe, host_setup, host_teardown),
        cmocka_unit_test_setup_teardown(test_bit_convert, host_setup, host_teardown),
        cmocka_unit_test_setup_teardown(test_bit_setcc_cmovcc, host_setup, host_teardown),
        cmocka_unit_test_setup_teardown(test_bit_flag_ops, host_setup, host_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
