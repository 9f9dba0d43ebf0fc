/* System instructions (system.c) at CPL 3: port I/O and the privileged
 * instructions raise #GP(0) (what the host CPU does, and what the
 * differential tester's "invalid" family checks for IN/OUT); the stores of
 * system state are allowed unless CR4.UMIP, with the values Linux shows
 * user programs. */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "x86_flow_harness.h"

H_FAMILY(system)
#define x86_ops_system h_ops_system

#define T x86_ops_system
#define P X86_MAP_PRIMARY
#define F X86_MAP_0F

/* IN and OUT in every form: #GP(0) at CPL 3 with IOPL 0, RIP at the
 * instruction, RAX untouched; IOPL 3 lets them past the check. */
static void test_port_io(void **state)
{
    (void)state;
    struct x86_cpu *cpu = h_new_cpu();
    static const uint8_t ops[] = {0xe4, 0xe5, 0xe6, 0xe7, 0xec, 0xed, 0xee, 0xef};
    for (size_t i = 0; i < sizeof(ops); i++) {
        struct x86_insn in = h_insn(T, P, ops[i], -1, ops[i] & 1 ? 2 : 0);
        assert_non_null(in.fn);
        cpu->gpr[X86_RAX] = 0x1122334455667788ULL;
        cpu->gpr[X86_RDX] = 0x3f8;
        assert_int_equal(h_exec(cpu, &in), X86_EXC_GP);
        assert_int_equal(cpu->exc.error, 0);
        assert_true(cpu->exc.has_error);
        assert_int_equal(cpu->rip, H_RIP);
        assert_int_equal(cpu->gpr[X86_RAX], 0x1122334455667788ULL);
        cpu->rflags |= 3u << 12; /* IOPL 3 */
        assert_int_not_equal(h_exec(cpu, &in), X86_EXC_GP);
        cpu->rflags &= ~(3ull << 12);
    }
    h_free_cpu(cpu);
}

/* The instructions only CPL 0 may execute: #GP(0) before any memory
 * access (LGDT from an unmapped address is #GP, not #PF). */
static void test_privileged(void **state)
{
    (void)state;
    struct x86_cpu *cpu = h_new_cpu();
    static const struct {
        uint8_t op;
        int8_t reg;
        uint8_t mem;
    } cases[] = {
        {0x00, 2, 0},  /* lldt */
        {0x00, 3, 0},  /* ltr */
        {0x01, 2, 1},  /* lgdt */
        {0x01, 3, 1},  /* lidt */
        {0x01, 6, 0},  /* lmsw */
        {0x01, 7, 1},  /* invlpg */
        {0x06, -1, 0}, /* clts */
        {0x07, -1, 0}, /* sysret */
        {0x08, -1, 0}, /* invd */
        {0x09, -1, 0}, /* wbinvd */
        {0x20, 0, 0},  /* mov r, cr0 */
        {0x21, 7, 0},  /* mov r, dr7 */
        {0x22, 4, 0},  /* mov cr4, r */
        {0x23, 0, 0},  /* mov dr0, r */
        {0x30, -1, 0}, /* wrmsr */
        {0x32, -1, 0}, /* rdmsr */
        {0x33, -1, 0}, /* rdpmc (CR4.PCE clear) */
        {0x35, -1, 0}, /* sysexit */
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct x86_insn in = cases[i].mem
                                 ? h_insn_mem(T, F, cases[i].op, cases[i].reg, 3, X86_RBX, 0)
                                 : h_insn(T, F, cases[i].op, cases[i].reg, 3);
        if (!cases[i].mem) {
            in.rm = X86_RAX;
            in.flags = X86_I_MODRM;
        }
        cpu->gpr[X86_RBX] = 0x10; /* unmapped */
        if (!in.fn)
            fail_msg("0f %02x /%d: no op", cases[i].op, cases[i].reg);
        int v = h_exec(cpu, &in);
        if (v != X86_EXC_GP || cpu->exc.error != 0)
            fail_msg("0f %02x /%d: vector %d error %#x", cases[i].op, cases[i].reg, v,
                     cpu->exc.error);
        assert_int_equal(cpu->rip, H_RIP);
    }
    h_free_cpu(cpu);
}

/* SGDT SIDT SLDT STR SMSW: allowed at CPL 3 without CR4.UMIP. The values
 * are those Linux gives programs (on this host its UMIP emulation returns
 * exactly these); register destinations zero-extend, memory gets 16 bits
 * (10 bytes for the table registers); with CR4.UMIP, #GP(0). */
static void test_store_system_state(void **state)
{
    (void)state;
    struct x86_cpu *cpu = h_new_cpu();
    uint8_t img[16];
    memset(img, 0xee, sizeof(img));
    cpu->gpr[X86_RDI] = (uintptr_t)img;
    struct x86_insn in = h_insn_mem(T, F, 0x01, 0, 3, X86_RDI, 0);
    assert_int_equal(h_exec(cpu, &in), H_NOFAULT);
    uint64_t base;
    uint16_t limit;
    memcpy(&limit, img, 2);
    memcpy(&base, img + 2, 8);
    assert_int_equal(limit, 0);
    assert_int_equal(base, 0xfffffffffffe0000ULL);
    assert_int_equal(img[10], 0xee);
    in = h_insn_mem(T, F, 0x01, 1, 3, X86_RDI, 0);
    assert_int_equal(h_exec(cpu, &in), H_NOFAULT);
    memcpy(&base, img + 2, 8);
    assert_int_equal(base, 0xffffffffffff0000ULL);

    /* SMSW: CR0 as Linux runs user code (PG AM WP NE ET MP PE). */
    static const uint64_t cr0 = 0x80050033;
    static const struct {
        uint8_t op;
        int8_t reg;
        uint64_t value;
    } words[] = {{0x01, 4, cr0}, {0x00, 0, 0}, {0x00, 1, 0x40}};
    for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++) {
        for (unsigned osz = 1; osz <= 3; osz++) {
            in = h_insn(T, F, words[i].op, words[i].reg, osz);
            in.rm = X86_RCX;
            in.flags = X86_I_MODRM;
            cpu->gpr[X86_RCX] = 0x1111111111111111ULL;
            assert_int_equal(h_exec(cpu, &in), H_NOFAULT);
            uint64_t want =
                osz == 1 ? 0x1111111111110000ULL | (words[i].value & 0xffff) : words[i].value;
            assert_int_equal(cpu->gpr[X86_RCX], want);
        }
        uint64_t mem = ~0ULL;
        in = h_insn_mem(T, F, words[i].op, words[i].reg, 3, X86_RDI, 0);
        cpu->gpr[X86_RDI] = (uintptr_t)&mem;
        assert_int_equal(h_exec(cpu, &in), H_NOFAULT);
        assert_int_equal(mem, 0xffffffffffff0000ULL | (words[i].value & 0xffff));
        cpu->cr4 |= 1u << 11; /* UMIP */
        assert_int_equal(h_exec(cpu, &in), X86_EXC_GP);
        assert_int_equal(mem, 0xffffffffffff0000ULL | (words[i].value & 0xffff));
        cpu->cr4 = 0;
    }
    h_free_cpu(cpu);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_port_io),
        cmocka_unit_test(test_privileged),
        cmocka_unit_test(test_store_system_state),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
