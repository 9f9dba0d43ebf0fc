/* The x86 decoder (decode.c) and the dispatch table (ops.c): hand-picked
 * encodings with their expected length and fields. Lengths and validity
 * were checked against the host CPU (tests/cpu/oracle --probe); the random
 * comparison with Zydis is tests/cpu/oracle. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cpu/x86/decode_tables.h"
#include "cpu/x86/insn.h"
#include "util/log.h"

/* Decode hex bytes ("48 89 c0") with exactly that many bytes available. */
static int dec_mode(int mode64, const char *hex, struct x86_insn *in)
{
    uint8_t b[32];
    unsigned n = 0, v;
    int used;
    memset(in, 0xa5, sizeof(*in));
    while (sscanf(hex, " %2x%n", &v, &used) == 1) {
        assert_true(n < sizeof(b));
        b[n++] = (uint8_t)v;
        hex += used;
    }
    return x86_decode(b, n, mode64, in);
}

static int dec(const char *hex, struct x86_insn *in)
{
    return dec_mode(1, hex, in);
}

static const char *op_name(const struct x86_insn *in)
{
    const struct x86_op_entry *e = x86_ops_entry(in->op);
    assert_non_null(e);
    assert_ptr_equal(e->fn, in->fn);
    return e->name;
}

/* A family of the test's own (the real family tables are other files'). */
static void op_a(struct x86_cpu *cpu, const struct x86_insn *in)
{
    (void)cpu;
    (void)in;
}

static void op_b(struct x86_cpu *cpu, const struct x86_insn *in)
{
    (void)cpu;
    (void)in;
}

static const struct x86_op_entry test_family1[] = {
    {X86_MAP_PRIMARY, 0x01, X86_PFX_ANY, -1, X86_MOD_ANY, op_a, "add"},
    {X86_MAP_PRIMARY, 0x89, X86_PFX_ANY, -1, X86_MOD_ANY, op_a, "mov"},
    {X86_MAP_PRIMARY, 0x80, X86_PFX_ANY, -1, X86_MOD_ANY, op_a, "grp1"},
    {X86_MAP_PRIMARY, 0x80, X86_PFX_ANY, 7, X86_MOD_MEM, op_b, "cmp-mem"},
    {X86_MAP_PRIMARY, 0x80, X86_PFX_ANY, 7, X86_MOD_ANY, op_a, "cmp"},
    {X86_MAP_PRIMARY, 0x90, X86_PFX_ANY, -1, X86_MOD_ANY, op_a, "nop"},
    {X86_MAP_PRIMARY, 0x90, X86_PFX_F3, -1, X86_MOD_ANY, op_b, "pause"},
    {X86_MAP_0F, 0x6f, X86_PFX_NONE, -1, X86_MOD_ANY, op_a, "movq"},
    {X86_MAP_0F, 0x6f, X86_PFX_66, -1, X86_MOD_ANY, op_a, "movdqa"},
    {X86_MAP_0F, 0x6f, X86_PFX_F3, -1, X86_MOD_ANY, op_b, "movdqu"},
    {0},
};

static const struct x86_op_entry test_family2[] = {
    /* An exact prefix beats an exact reg. */
    {X86_MAP_0F, 0x10, X86_PFX_ANY, 0, X86_MOD_ANY, op_a, "reg0"},
    {X86_MAP_0F, 0x10, X86_PFX_F3, -1, X86_MOD_ANY, op_b, "movss"},
    {X86_MAP_0F, 0x10, X86_PFX_F2, -1, X86_MOD_ANY, op_b, "movsd"},
    /* Registered twice: the first is kept. */
    {X86_MAP_PRIMARY, 0x01, X86_PFX_ANY, -1, X86_MOD_ANY, op_b, "add-again"},
    {X86_MAP_0F38, 0xf0, X86_PFX_NONE, -1, X86_MOD_MEM, op_a, "movbe"},
    {X86_MAP_0F38, 0xf0, X86_PFX_F2, -1, X86_MOD_ANY, op_b, "crc32"},
    {X86_MAP_0F, 0xc7, X86_PFX_ANY, 6, X86_MOD_REG, op_a, "rdrand"},
    {0},
};

/* One dispatch table for all tests, built from the test's families; the
 * duplicate registration is reported once. */
static int setup_ops(void **state)
{
    static const struct x86_op_entry *const tables[] = {test_family1, NULL, test_family2};
    char *log = NULL;
    size_t log_len = 0;
    FILE *f = open_memstream(&log, &log_len);
    (void)state;
    if (!f)
        return -1;
    log_set_stream(f);
    x86_ops_rebuild(tables, 3);
    log_set_stream(NULL);
    fclose(f);
    int ok = log && strstr(log, "add-again registered twice") && !strstr(log, "movss");
    free(log);
    return ok ? 0 : -1;
}

static void test_basic_forms(void **state)
{
    struct x86_insn in;
    (void)state;
    assert_int_equal(dec("90", &in), 1);
    assert_int_equal(in.len, 1);
    assert_int_equal(in.map, X86_MAP_PRIMARY);
    assert_int_equal(in.opcode, 0x90);
    assert_int_equal(in.osz, 2);
    assert_int_equal(in.asz, 3);
    assert_int_equal(in.flags, 0);

    /* mov rax, rax */
    assert_int_equal(dec("48 89 c0", &in), 3);
    assert_int_equal(in.osz, 3);
    assert_int_equal(in.reg, X86_RAX);
    assert_int_equal(in.rm, X86_RAX);
    assert_int_equal(in.flags, X86_I_MODRM | X86_I_REXW);
    assert_string_equal(op_name(&in), "mov");

    /* mov r9d, ecx... REX.R and REX.B */
    assert_int_equal(dec("45 89 ca", &in), 3);
    assert_int_equal(in.reg, X86_R9);
    assert_int_equal(in.rm, X86_R10);
    assert_int_equal(in.osz, 2);
}

static void test_prefixes_and_rex(void **state)
{
    struct x86_insn in;
    (void)state;
    assert_int_equal(dec("66 89 c0", &in), 3);
    assert_int_equal(in.osz, 1);
    assert_true(in.flags & X86_I_OPSIZE);

    /* REX.W beats 66. */
    assert_int_equal(dec("66 48 89 c0", &in), 4);
    assert_int_equal(in.osz, 3);

    /* A REX followed by another prefix is ignored. */
    assert_int_equal(dec("48 66 89 c0", &in), 4);
    assert_int_equal(in.osz, 1);
    assert_false(in.flags & X86_I_REXW);
    assert_int_equal(dec("41 66 89 c0", &in), 4);
    assert_int_equal(in.rm, X86_RAX);

    /* Only the last of two REX prefixes counts. */
    assert_int_equal(dec("41 48 89 c0", &in), 4);
    assert_int_equal(in.rm, X86_RAX);
    assert_int_equal(in.osz, 3);

    /* Repeated prefixes in any order. */
    assert_int_equal(dec("66 66 2e 66 89 c0", &in), 6);
    assert_int_equal(in.osz, 1);

    /* 67: 32-bit addressing. */
    assert_int_equal(dec("67 89 00", &in), 3);
    assert_int_equal(in.asz, 2);
    assert_int_equal(in.rm, X86_RAX);

    /* REP only on string instructions; the last of F2/F3 wins. */
    assert_int_equal(dec("f3 a4", &in), 2);
    assert_int_equal(in.flags & (X86_I_REP | X86_I_REPNE), X86_I_REP);
    assert_int_equal(in.osz, 0);
    assert_int_equal(dec("f2 a6", &in), 2);
    assert_int_equal(in.flags & (X86_I_REP | X86_I_REPNE), X86_I_REPNE);
    assert_int_equal(dec("f2 f3 48 a5", &in), 4);
    assert_int_equal(in.flags & (X86_I_REP | X86_I_REPNE), X86_I_REP);
    assert_int_equal(in.osz, 3);
    assert_int_equal(dec("f3 01 c0", &in), 3);
    assert_false(in.flags & (X86_I_REP | X86_I_REPNE));
}

static void test_segments(void **state)
{
    struct x86_insn in;
    (void)state;
    assert_int_equal(dec("8b 00", &in), 2);
    assert_int_equal(in.seg, X86_DS);
    assert_int_equal(dec("64 8b 00", &in), 3);
    assert_int_equal(in.seg, X86_FS);
    assert_int_equal(dec("65 8b 00", &in), 3);
    assert_int_equal(in.seg, X86_GS);
    /* CS/DS/ES/SS overrides are ignored in 64-bit mode, even after FS
     * (the host CPU loads from FS for 64 2E 8B ...). */
    assert_int_equal(dec("2e 8b 00", &in), 3);
    assert_int_equal(in.seg, X86_DS);
    assert_int_equal(dec("64 2e 8b 00", &in), 4);
    assert_int_equal(in.seg, X86_FS);
    assert_int_equal(dec("65 64 8b 00", &in), 4);
    assert_int_equal(in.seg, X86_FS);
    /* RSP and RBP bases default to SS; R12 and R13 do not. */
    assert_int_equal(dec("8b 04 24", &in), 3);
    assert_int_equal(in.seg, X86_SS);
    assert_int_equal(dec("8b 45 00", &in), 3);
    assert_int_equal(in.seg, X86_SS);
    assert_int_equal(dec("26 8b 45 00", &in), 4);
    assert_int_equal(in.seg, X86_SS);
    assert_int_equal(dec("41 8b 45 00", &in), 4);
    assert_int_equal(in.rm, X86_R13);
    assert_int_equal(in.seg, X86_DS);
    assert_int_equal(dec("41 8b 04 24", &in), 4);
    assert_int_equal(in.rm, X86_R12);
    assert_int_equal(in.seg, X86_DS);
    /* Outside 64-bit mode every override counts, the last one wins. */
    assert_int_equal(dec_mode(0, "64 26 8b 00", &in), 4);
    assert_int_equal(in.seg, X86_ES);
}

static void test_sib_and_disp(void **state)
{
    struct x86_insn in;
    (void)state;
    /* [rsp] */
    assert_int_equal(dec("8b 04 24", &in), 3);
    assert_int_equal(in.flags & (X86_I_MEM | X86_I_RIPREL), X86_I_MEM);
    assert_int_equal(in.rm, X86_RSP);
    assert_int_equal(in.index, X86_NO_REG);
    assert_int_equal(in.disp, 0);

    /* [disp32]: SIB base 5 with mod 0, no index */
    assert_int_equal(dec("8b 04 25 78 56 34 12", &in), 7);
    assert_int_equal(in.rm, X86_NO_REG);
    assert_int_equal(in.index, X86_NO_REG);
    assert_int_equal(in.disp, 0x12345678);
    assert_false(in.flags & X86_I_RIPREL);
    /* ... REX.B does not make it R13. */
    assert_int_equal(dec("41 8b 04 25 78 56 34 12", &in), 8);
    assert_int_equal(in.rm, X86_NO_REG);

    /* [rbp + rcx*4 + 0x10] */
    assert_int_equal(dec("8b 44 8d 10", &in), 4);
    assert_int_equal(in.rm, X86_RBP);
    assert_int_equal(in.index, X86_RCX);
    assert_int_equal(in.scale, 2);
    assert_int_equal(in.disp, 0x10);

    /* [rax + rcx*8 + 0x100] with disp32 */
    assert_int_equal(dec("8b 84 c8 00 01 00 00", &in), 7);
    assert_int_equal(in.rm, X86_RAX);
    assert_int_equal(in.index, X86_RCX);
    assert_int_equal(in.scale, 3);
    assert_int_equal(in.disp, 0x100);

    /* disp8 is sign-extended */
    assert_int_equal(dec("8b 40 f0", &in), 3);
    assert_int_equal(in.disp, -16);
    assert_int_equal(dec("8b 80 00 00 00 80", &in), 6);
    assert_int_equal(in.disp, INT32_MIN);

    /* index 4 is no index, unless REX.X makes it R12 */
    assert_int_equal(dec("8b 04 a0", &in), 3);
    assert_int_equal(in.index, X86_NO_REG);
    assert_int_equal(dec("42 8b 04 a0", &in), 4);
    assert_int_equal(in.index, X86_R12);
    assert_int_equal(in.scale, 2);

    /* REX.X and REX.B together: [r9 + r10*2] */
    assert_int_equal(dec("43 8b 04 51", &in), 4);
    assert_int_equal(in.rm, X86_R9);
    assert_int_equal(in.index, X86_R10);
    assert_int_equal(in.scale, 1);
}

static void test_riprel(void **state)
{
    struct x86_insn in;
    (void)state;
    assert_int_equal(dec("8b 05 10 00 00 00", &in), 6);
    assert_int_equal(in.flags & (X86_I_MEM | X86_I_RIPREL), X86_I_MEM | X86_I_RIPREL);
    assert_int_equal(in.rm, X86_NO_REG);
    assert_int_equal(in.disp, 16);
    /* REX.B does not matter */
    assert_int_equal(dec("41 8b 05 f0 ff ff ff", &in), 7);
    assert_true(in.flags & X86_I_RIPREL);
    assert_int_equal(in.disp, -16);
    /* 67: EIP-relative */
    assert_int_equal(dec("67 8b 05 10 00 00 00", &in), 7);
    assert_true(in.flags & X86_I_RIPREL);
    assert_int_equal(in.asz, 2);
    /* with an immediate after the displacement */
    assert_int_equal(dec("c7 05 10 00 00 00 78 56 34 12", &in), 10);
    assert_int_equal(in.disp, 16);
    assert_int_equal(in.imm, 0x12345678);
    /* outside 64-bit mode, mod 0 rm 5 is an absolute disp32 */
    assert_int_equal(dec_mode(0, "8b 05 10 00 00 00", &in), 6);
    assert_false(in.flags & X86_I_RIPREL);
    assert_int_equal(in.rm, X86_NO_REG);
}

static void test_moffs_and_imm64(void **state)
{
    struct x86_insn in;
    (void)state;
    assert_int_equal(dec("a1 88 77 66 55 44 33 22 11", &in), 9);
    assert_int_equal((uint64_t)in.imm, 0x1122334455667788ULL);
    assert_int_equal(in.osz, 2);
    assert_int_equal(dec("48 a3 88 77 66 55 44 33 22 11", &in), 10);
    assert_int_equal(in.osz, 3);
    assert_int_equal(dec("67 a0 44 33 22 11", &in), 6);
    assert_int_equal(in.imm, 0x11223344);
    assert_int_equal(in.osz, 0);
    assert_int_equal(dec("64 a1 00 00 00 00 00 00 00 00", &in), 10);
    assert_int_equal(in.seg, X86_FS);

    assert_int_equal(dec("48 b8 88 77 66 55 44 33 22 11", &in), 10);
    assert_int_equal((uint64_t)in.imm, 0x1122334455667788ULL);
    assert_int_equal(in.reg, X86_RAX);
    assert_int_equal(dec("49 bf ff ff ff ff ff ff ff ff", &in), 10);
    assert_int_equal(in.reg, X86_R15);
    assert_int_equal(in.imm, -1);
    assert_int_equal(dec("b8 78 56 34 12", &in), 5);
    assert_int_equal(in.imm, 0x12345678);
    assert_int_equal(dec("66 b9 34 12", &in), 4);
    assert_int_equal(in.imm, 0x1234);
    assert_int_equal(in.reg, X86_RCX);
    assert_int_equal(dec("66 48 b8 01 00 00 00 00 00 00 00", &in), 11);
    assert_int_equal(in.osz, 3);
}

static void test_immediates(void **state)
{
    struct x86_insn in;
    (void)state;
    /* Iz: 16 bits with 66, else 32, sign-extended only for 64-bit ops */
    assert_int_equal(dec("66 05 34 12", &in), 4);
    assert_int_equal(in.imm, 0x1234);
    assert_int_equal(dec("05 ff ff ff ff", &in), 5);
    assert_int_equal(in.imm, 0xffffffffLL);
    assert_int_equal(dec("48 05 ff ff ff ff", &in), 6);
    assert_int_equal(in.imm, -1);
    assert_int_equal(dec("48 81 c0 00 00 00 80", &in), 7);
    assert_int_equal(in.imm, (int64_t)INT32_MIN);

    /* Ib of 83 and 6B: sign-extended to the operand size */
    assert_int_equal(dec("83 c0 ff", &in), 3);
    assert_int_equal(in.imm, 0xffffffffLL);
    assert_int_equal(dec("66 83 c0 ff", &in), 4);
    assert_int_equal(in.imm, 0xffff);
    assert_int_equal(dec("48 83 c0 80", &in), 4);
    assert_int_equal(in.imm, -128);
    assert_int_equal(dec("48 6b c0 fe", &in), 4);
    assert_int_equal(in.imm, -2);
    /* other Ib: zero-extended */
    assert_int_equal(dec("c1 e0 ff", &in), 3);
    assert_int_equal(in.imm, 0xff);
    assert_int_equal(dec("b4 ff", &in), 2);
    assert_int_equal(in.imm, 0xff);

    /* PUSH imm: default 64-bit operand size */
    assert_int_equal(dec("6a ff", &in), 2);
    assert_int_equal(in.osz, 3);
    assert_int_equal(in.imm, -1);
    assert_int_equal(dec("66 6a ff", &in), 3);
    assert_int_equal(in.osz, 1);
    assert_int_equal(in.imm, 0xffff);
    assert_int_equal(dec("68 ff ff ff ff", &in), 5);
    assert_int_equal(in.imm, -1);
    assert_int_equal(dec("66 68 34 12", &in), 4);
    assert_int_equal(in.imm, 0x1234);

    /* TEST in group 3 has an immediate, NOT does not */
    assert_int_equal(dec("f7 c0 01 00 00 00", &in), 6);
    assert_int_equal(dec("f7 d0", &in), 2);
    assert_int_equal(dec("f6 00 01", &in), 3);

    /* ENTER Iw, Ib; RET Iw */
    assert_int_equal(dec("c8 10 00 01", &in), 4);
    assert_int_equal(in.imm, 16);
    assert_int_equal(in.imm2, 1);
    assert_int_equal(in.osz, 3);
    assert_int_equal(dec("c2 08 00", &in), 3);
    assert_int_equal(in.imm, 8);

    /* SSE4a EXTRQ xmm, ib, ib */
    assert_int_equal(dec("66 0f 78 c0 01 02", &in), 6);
    assert_int_equal(in.imm, 1);
    assert_int_equal(in.imm2, 2);
    assert_int_equal(dec("66 0f 78 c8 01 02", &in), -X86_EXC_UD);
    /* XBEGIN rel32 (a displacement), XABORT ib */
    assert_int_equal(dec("c7 f8 fb ff ff ff", &in), 6);
    assert_int_equal(in.imm, -5);
    assert_int_equal(dec("c6 f8 01", &in), 3);
}

static void test_branches(void **state)
{
    struct x86_insn in;
    (void)state;
    assert_int_equal(dec("eb fe", &in), 2);
    assert_int_equal(in.imm, -2);
    assert_int_equal(in.osz, 3);
    assert_int_equal(dec("e9 00 01 00 00", &in), 5);
    assert_int_equal(in.imm, 0x100);
    assert_int_equal(dec("e8 fb ff ff ff", &in), 5);
    assert_int_equal(in.imm, -5);
    assert_int_equal(dec("0f 84 f0 ff ff ff", &in), 6);
    assert_int_equal(in.map, X86_MAP_0F);
    assert_int_equal(in.opcode, 0x84);
    assert_int_equal(in.imm, -16);
    assert_int_equal(dec("e3 10", &in), 2);
    assert_int_equal(dec("67 e2 f0", &in), 3);
    assert_int_equal(in.asz, 2);
    assert_int_equal(in.imm, -16);

    /* 66 on near branches: Intel ignores it (f64), AMD gives rel16. The host
     * here (AMD EPYC) fetches 4 bytes for 66 E8 rel16. */
    x86_decode_set_amd_branches(false);
    assert_int_equal(dec("66 e8 00 01 00 00", &in), 6);
    assert_int_equal(in.osz, 3);
    assert_int_equal(dec("66 ff d0", &in), 3);
    assert_int_equal(in.osz, 3);
    x86_decode_set_amd_branches(true);
    assert_int_equal(dec("66 e8 00 81", &in), 4);
    assert_int_equal(in.osz, 1);
    assert_int_equal(in.imm, -0x7f00);
    assert_int_equal(dec("66 0f 85 00 01", &in), 5);
    assert_int_equal(dec("66 48 e8 00 01 00 00", &in), 7);
    assert_int_equal(in.osz, 3);

    /* Outside 64-bit mode, 66 gives rel16 on every CPU. */
    assert_int_equal(dec_mode(0, "66 e8 00 01", &in), 4);

    /* PUSH/POP/CALL r/m: 64-bit default, 66 gives 16 (not for CALL) */
    assert_int_equal(dec("41 57", &in), 2);
    assert_int_equal(in.reg, X86_R15);
    assert_int_equal(in.osz, 3);
    assert_int_equal(dec("66 50", &in), 2);
    assert_int_equal(in.osz, 1);
    assert_int_equal(dec("ff 30", &in), 2);
    assert_int_equal(in.osz, 3);
    assert_int_equal(dec("66 ff 30", &in), 3);
    assert_int_equal(in.osz, 1);
    assert_int_equal(dec("8f c0", &in), 2);
    assert_int_equal(in.osz, 3);
    assert_int_equal(dec("ff d0", &in), 2);
    assert_int_equal(in.osz, 3);
    assert_int_equal(dec("ff 20", &in), 2); /* jmp [rax] */
    assert_int_equal(dec("ff 18", &in), 2); /* call far [rax] */
    assert_int_equal(in.osz, 2);
    assert_int_equal(dec("ff d8", &in), -X86_EXC_UD); /* call far needs memory */
    assert_int_equal(dec("ff 38", &in), -X86_EXC_UD); /* FF /7 */
    /* 32-bit mode: PUSH is 32-bit */
    assert_int_equal(dec_mode(0, "50", &in), 1);
    assert_int_equal(in.osz, 2);
}

static void test_byte_registers(void **state)
{
    struct x86_insn in;
    (void)state;
    /* mov ah, ah: without REX, 4-7 are AH..BH */
    assert_int_equal(dec("88 e4", &in), 2);
    assert_int_equal(in.reg, X86_AH);
    assert_int_equal(in.rm, X86_AH);
    assert_int_equal(in.osz, 0);
    /* with any REX they are SPL..DIL */
    assert_int_equal(dec("40 88 e4", &in), 3);
    assert_int_equal(in.reg, X86_RSP);
    assert_int_equal(in.rm, X86_RSP);
    /* a REX that does not count does not count here either */
    assert_int_equal(dec("40 66 88 e4", &in), 4);
    assert_int_equal(in.reg, X86_AH);
    /* mov bh, dl; mov r12b, al */
    assert_int_equal(dec("88 d7", &in), 2);
    assert_int_equal(in.reg, X86_RDX);
    assert_int_equal(in.rm, X86_AH + 3);
    assert_int_equal(dec("44 88 e0", &in), 3);
    assert_int_equal(in.reg, X86_R12);
    assert_int_equal(in.rm, X86_RAX);
    /* mov ch, imm8 / mov bpl, imm8 */
    assert_int_equal(dec("b5 12", &in), 2);
    assert_int_equal(in.reg, X86_AH + 1);
    assert_int_equal(dec("40 b5 12", &in), 3);
    assert_int_equal(in.reg, X86_RBP);
    /* movzx eax, ah: only the r/m operand is a byte register */
    assert_int_equal(dec("0f b6 c4", &in), 3);
    assert_int_equal(in.rm, X86_AH);
    assert_int_equal(in.reg, X86_RAX);
    assert_int_equal(in.osz, 2);
    assert_int_equal(dec("0f b6 e0", &in), 3);
    assert_int_equal(in.reg, X86_RSP);
    /* setz bh */
    assert_int_equal(dec("0f 94 c7", &in), 3);
    assert_int_equal(in.rm, X86_AH + 3);
    /* memory operands are never byte registers */
    assert_int_equal(dec("88 24 24", &in), 3);
    assert_int_equal(in.rm, X86_RSP);
    assert_int_equal(in.reg, X86_AH);
}

static void test_lock(void **state)
{
    struct x86_insn in;
    (void)state;
    assert_int_equal(dec("f0 01 00", &in), 3);
    assert_true(in.flags & X86_I_LOCK);
    assert_int_equal(dec("01 00", &in), 2);
    assert_false(in.flags & X86_I_LOCK);
    assert_int_equal(dec("f0 01 c0", &in), -X86_EXC_UD); /* register destination */
    assert_int_equal(dec("f0 90", &in), -X86_EXC_UD);
    assert_int_equal(dec("f0 8b 00", &in), -X86_EXC_UD);       /* MOV */
    assert_int_equal(dec("f0 83 38 01", &in), -X86_EXC_UD);    /* CMP */
    assert_int_equal(dec("f0 83 30 01", &in), 4);              /* XOR */
    assert_int_equal(dec("f0 86 00", &in), 3);                 /* XCHG */
    assert_int_equal(dec("f0 f6 00 01", &in), -X86_EXC_UD);    /* TEST */
    assert_int_equal(dec("f0 f6 10", &in), 3);                 /* NOT */
    assert_int_equal(dec("f0 fe 08", &in), 3);                 /* DEC */
    assert_int_equal(dec("f0 ff 30", &in), -X86_EXC_UD);       /* PUSH */
    assert_int_equal(dec("f0 0f ba 20 01", &in), -X86_EXC_UD); /* BT */
    assert_int_equal(dec("f0 0f ba 28 01", &in), 5);           /* BTS */
    assert_int_equal(dec("f0 0f c7 08", &in), 4);              /* CMPXCHG8B */
    assert_int_equal(dec("f0 48 0f c7 08", &in), 5);           /* CMPXCHG16B */
    assert_int_equal(in.osz, 3);
    assert_int_equal(dec("f0 0f c1 00", &in), 4);           /* XADD */
    assert_int_equal(dec("f0 0f b1 00", &in), 4);           /* CMPXCHG */
    assert_int_equal(dec("f0 0f a3 00", &in), -X86_EXC_UD); /* BT Ev, Gv */
    assert_int_equal(dec("f0 0f ab 00", &in), 4);           /* BTS Ev, Gv */
    /* LOCK MOV CR0 (AMD's CR8 alias) is #UD, as on Intel */
    assert_int_equal(dec("f0 0f 20 c0", &in), -X86_EXC_UD);
}

static void test_length_limit(void **state)
{
    struct x86_insn in;
    (void)state;
    /* 14 prefixes + NOP: 15 bytes, fine */
    assert_int_equal(dec("66 66 66 66 66 66 66 66 66 66 66 66 66 66 90", &in), 15);
    assert_int_equal(in.len, 15);
    /* 15 prefixes + NOP: the host CPU raises #GP */
    assert_int_equal(dec("66 66 66 66 66 66 66 66 66 66 66 66 66 66 66 90", &in), -X86_EXC_GP);
    assert_int_equal(dec("66 66 66 66 66 66 66 66 66 66 66 66 66 66 66", &in), -X86_EXC_GP);
    /* 11 prefixes + add eax, imm32 = 16 bytes */
    assert_int_equal(dec("2e 2e 2e 2e 2e 2e 2e 2e 2e 2e 2e 05 00 00 00 00", &in), -X86_EXC_GP);
    assert_int_equal(dec("2e 2e 2e 2e 2e 2e 2e 2e 2e 2e 05 00 00 00 00", &in), 15);
    /* beyond the limit even with fewer bytes available */
    assert_int_equal(dec("2e 2e 2e 2e 2e 2e 2e 2e 2e 2e 2e 05 00", &in), -X86_EXC_GP);
    /* lock add word fs:[r8 + ecx*4 + disp32], imm16: 15 bytes, then 16 */
    assert_int_equal(dec("2e 2e 2e 64 67 66 f0 41 81 84 88 78 56 34 12 34 12", &in), -X86_EXC_GP);
    assert_int_equal(dec("2e 64 67 66 f0 41 81 84 88 78 56 34 12 34 12", &in), 15);
    assert_int_equal(in.rm, X86_R8);
    assert_int_equal(in.index, X86_RCX);
    assert_int_equal(in.imm, 0x1234);
    assert_true(in.flags & X86_I_LOCK);
    assert_int_equal(in.seg, X86_FS);
    assert_int_equal(in.asz, 2);
    assert_int_equal(in.osz, 1);
}

static void test_more_bytes(void **state)
{
    struct x86_insn in;
    (void)state;
    assert_int_equal(dec("", &in), X86_DECODE_MORE);
    assert_int_equal(dec("48", &in), X86_DECODE_MORE);
    assert_int_equal(dec("66 f3", &in), X86_DECODE_MORE);
    assert_int_equal(dec("0f", &in), X86_DECODE_MORE);
    assert_int_equal(dec("0f 38", &in), X86_DECODE_MORE);
    assert_int_equal(dec("8b", &in), X86_DECODE_MORE);
    assert_int_equal(dec("8b 04", &in), X86_DECODE_MORE);
    assert_int_equal(dec("8b 80 00 00 00", &in), X86_DECODE_MORE);
    assert_int_equal(dec("b8 00 00", &in), X86_DECODE_MORE);
    assert_int_equal(dec("48 b8 00 00 00 00 00 00 00", &in), X86_DECODE_MORE);
    assert_int_equal(dec("c8 00 00", &in), X86_DECODE_MORE);
    assert_int_equal(dec("c7 05 00 00 00 00 00 00 00", &in), X86_DECODE_MORE);
    assert_int_equal(dec("66 0f 78 c0 01", &in), X86_DECODE_MORE);
    /* an invalid encoding is #UD without waiting for bytes it would not have */
    assert_int_equal(dec("ff f8", &in), -X86_EXC_UD);
    assert_int_equal(dec("06", &in), -X86_EXC_UD);
}

static void test_invalid(void **state)
{
    static const char *const i64[] = {"06", "07",    "0e",    "16",       "17",
                                      "1e", "1f",    "27",    "2f",       "37",
                                      "3f", "60",    "61",    "82 c0 01", "9a 00 00 00 00 00 00",
                                      "ce", "d4 0a", "d5 0a", "d6",       "ea 00 00 00 00 00 00"};
    static const char *const undefined[] = {
        "0f 04", "0f 0a", "0f 0c", "0f 24 c0", "0f 25", "0f 36", "0f 39", "0f 3b", "0f 7a c0",
        "0f a6 c0", "0f a7 c0", "0f 0e", "0f 0f c0 9e", "f2 0f 6f c1", "0f 38 50 c0",
        "0f 3a 00 c0 00", "0f b8 c0", "66 0f b8 c0",
        /* undefined group members */
        "fe 10", "8f c8", "c6 c8 00", "c7 08 00 00 00 00", "0f 00 30", "0f ba 00 01", "d9 08",
        "d9 d1", "dd f0", "0f c7 00", "0f 71 c0 01", "0f 0d c0", "8e c8", "8c f0", "8d c0",
        /* MOV CR1, CR5, CR9; DR8 */
        "0f 20 c8", "0f 22 e8", "44 0f 20 c8", "44 0f 21 c0",
        /* VEX, EVEX, XOP: the emulated CPU has no AVX */
        "c5 f9 10 c0", "c4 e1 79 10 c0", "62 f1 fd 48 10 c0", "8f e8 78 c0 c0 00"};
    struct x86_insn in;
    (void)state;
    for (unsigned k = 0; k < sizeof(i64) / sizeof(i64[0]); k++) {
        if (dec(i64[k], &in) != -X86_EXC_UD)
            fail_msg("%s decodes in 64-bit mode", i64[k]);
        if (dec_mode(0, i64[k], &in) <= 0)
            fail_msg("%s does not decode in 32-bit mode", i64[k]);
    }
    for (unsigned k = 0; k < sizeof(undefined) / sizeof(undefined[0]); k++) {
        if (dec(undefined[k], &in) != -X86_EXC_UD)
            fail_msg("%s decodes", undefined[k]);
    }
    /* Defined, but raising #UD when run: decoded (the op decides). */
    assert_int_equal(dec("0f 0b", &in), 2);
    assert_int_equal(dec("0f b9 c0", &in), 3);
    assert_int_equal(dec("0f ff c0", &in), 3);
}

static void test_x87_and_system(void **state)
{
    struct x86_insn in;
    (void)state;
    assert_int_equal(dec("d9 e8", &in), 2); /* fld1 */
    assert_int_equal(in.rm, 0);
    assert_int_equal(in.reg, 5);
    assert_int_equal(dec("dd 38", &in), 2); /* fnstsw [rax] */
    assert_int_equal(dec("de d9", &in), 2); /* fcompp */
    assert_int_equal(dec("db 2c 24", &in), 3);
    assert_int_equal(dec("df e0", &in), 2);
    /* MOV CR: mod is ignored, no SIB or displacement follows */
    assert_int_equal(dec("0f 20 04", &in), 3);
    assert_false(in.flags & X86_I_MEM);
    assert_int_equal(in.rm, X86_RSP);
    assert_int_equal(dec("44 0f 22 c0", &in), 4); /* CR8 */
    assert_int_equal(in.reg, 8);
    assert_int_equal(dec("0f 01 d0", &in), 3); /* xgetbv */
    assert_int_equal(dec("0f 01 f9", &in), 3); /* rdtscp */
    assert_int_equal(dec("0f 05", &in), 2);
    assert_int_equal(dec("0f 1f 44 00 00", &in), 5); /* nop dword [rax+rax] */
    assert_int_equal(dec("f3 0f 1e fa", &in), 4);    /* endbr64 */
    assert_int_equal(dec("0f ae f0", &in), 3);       /* mfence */
    assert_int_equal(dec("f3 48 0f ae c0", &in), 5); /* rdfsbase rax */
}

static void test_sse_prefixes(void **state)
{
    struct x86_insn in;
    (void)state;
    /* The mandatory prefix selects the op and is no operand-size or REP. */
    assert_int_equal(dec("0f 6f c1", &in), 3);
    assert_string_equal(op_name(&in), "movq");
    assert_int_equal(dec("66 0f 6f c1", &in), 4);
    assert_string_equal(op_name(&in), "movdqa");
    assert_false(in.flags & X86_I_OPSIZE);
    assert_int_equal(in.osz, 2);
    assert_int_equal(dec("f3 0f 6f c1", &in), 4);
    assert_string_equal(op_name(&in), "movdqu");
    assert_false(in.flags & (X86_I_REP | X86_I_REPNE));
    assert_int_equal(dec("f2 0f 6f c1", &in), -X86_EXC_UD);
    assert_int_equal(dec("66 44 0f 6f c9", &in), 5);
    assert_int_equal(in.reg, 9);
    assert_int_equal(in.rm, 1);
    /* F2/F3 beat 66 whatever the order; the last of F2/F3 wins (the host
     * agrees: F3 F2 0F 6F is #UD, F2 F3 0F 6F is MOVDQU). */
    assert_int_equal(dec("66 f3 0f 6f c1", &in), 5);
    assert_string_equal(op_name(&in), "movdqu");
    assert_int_equal(dec("f3 66 0f 6f c1", &in), 5);
    assert_string_equal(op_name(&in), "movdqu");
    assert_int_equal(dec("f2 f3 0f 6f c1", &in), 5);
    assert_int_equal(dec("f3 f2 0f 6f c1", &in), -X86_EXC_UD);
    assert_int_equal(dec("f3 f2 0f 10 c1", &in), 5);
    assert_string_equal(op_name(&in), "movsd");
    /* mandatory 66 with REX.W: ADCX r64 */
    assert_int_equal(dec("66 0f 38 f6 c0", &in), 5);
    assert_int_equal(in.osz, 2);
    assert_int_equal(dec("66 48 0f 38 f6 c0", &in), 6);
    assert_int_equal(in.osz, 3);
    /* F3 selects, 66 stays the operand size: popcnt ax, ax */
    assert_int_equal(dec("66 f3 0f b8 c0", &in), 5);
    assert_int_equal(in.osz, 1);
    assert_true(in.flags & X86_I_OPSIZE);
    assert_int_equal(dec("f3 0f b8 c0", &in), 4);
    assert_int_equal(in.osz, 2);
    /* MOVBE (66 = operand size) vs CRC32 (F2) */
    assert_int_equal(dec("66 0f 38 f0 00", &in), 5);
    assert_string_equal(op_name(&in), "movbe");
    assert_int_equal(in.osz, 1);
    assert_int_equal(dec("0f 38 f0 c0", &in), -X86_EXC_UD); /* MOVBE needs memory */
    assert_int_equal(dec("66 f2 0f 38 f0 c4", &in), 6);
    assert_string_equal(op_name(&in), "crc32");
    assert_int_equal(in.rm, X86_AH);
    /* rdrand ax: 66 is both a column and the operand size here */
    assert_int_equal(dec("66 0f c7 f0", &in), 4);
    assert_string_equal(op_name(&in), "rdrand");
    assert_int_equal(in.osz, 1);
    /* PAUSE is F3 90; NOP with other prefixes */
    assert_int_equal(dec("f3 90", &in), 2);
    assert_string_equal(op_name(&in), "pause");
    assert_int_equal(dec("66 90", &in), 2);
    assert_string_equal(op_name(&in), "nop");
}

static void test_dispatch(void **state)
{
    struct x86_insn in;
    (void)state;
    /* reg and mod exact beat reg exact beat any */
    assert_int_equal(dec("80 38 01", &in), 3);
    assert_string_equal(op_name(&in), "cmp-mem");
    assert_ptr_equal(in.fn, op_b);
    assert_int_equal(dec("80 f8 01", &in), 3);
    assert_string_equal(op_name(&in), "cmp");
    assert_int_equal(dec("80 00 01", &in), 3);
    assert_string_equal(op_name(&in), "grp1");
    /* an exact prefix beats an exact reg */
    assert_int_equal(dec("f3 0f 10 c0", &in), 4);
    assert_string_equal(op_name(&in), "movss");
    assert_int_equal(dec("0f 10 c0", &in), 3);
    assert_string_equal(op_name(&in), "reg0");
    /* nothing matches: the #UD op, entry 0 */
    assert_int_equal(dec("66 0f 10 c8", &in), 4);
    assert_ptr_equal(in.fn, x86_op_ud);
    assert_int_equal(in.op, 0);
    assert_int_equal(dec("0f 05", &in), 2);
    assert_ptr_equal(in.fn, x86_op_ud);
    /* registered twice: the first kept */
    assert_int_equal(dec("01 c0", &in), 2);
    assert_string_equal(op_name(&in), "add");
    assert_ptr_equal(in.fn, op_a);

    uint16_t idx;
    const struct x86_op_entry *e = x86_ops_lookup(X86_MAP_0F, 0x6f, X86_PFX_66, 0, 0, &idx);
    assert_string_equal(e->name, "movdqa");
    assert_ptr_equal(x86_ops_entry(idx), e);
    e = x86_ops_lookup(X86_MAP_0F, 0x6f, X86_PFX_F2, 0, 0, &idx);
    assert_ptr_equal(e->fn, x86_op_ud);
    assert_int_equal(idx, 0);
    assert_null(x86_ops_entry(60000));
    /* no ModRM (reg 8): only reg -1 entries match */
    e = x86_ops_lookup(X86_MAP_PRIMARY, 0x80, X86_PFX_NONE, 8, 0, &idx);
    assert_string_equal(e->name, "grp1");
}

static void test_mode32(void **state)
{
    struct x86_insn in;
    (void)state;
    assert_int_equal(dec_mode(0, "40", &in), 1); /* inc eax */
    assert_int_equal(in.reg, X86_RAX);
    assert_int_equal(dec_mode(0, "4f", &in), 1); /* dec edi */
    assert_int_equal(in.reg, X86_RDI);
    assert_int_equal(dec_mode(0, "a1 44 33 22 11", &in), 5);
    assert_int_equal(in.imm, 0x11223344);
    assert_int_equal(dec_mode(0, "67 a1 22 11", &in), 4);
    assert_int_equal(dec_mode(0, "9a 78 56 34 12 34 12", &in), 7);
    assert_int_equal(in.imm, 0x123412345678LL);
    assert_int_equal(dec_mode(0, "66 ea 34 12 78 56", &in), 6);
    assert_int_equal(dec_mode(0, "c4 00", &in), 2); /* les eax, [eax] */
    assert_int_equal(dec_mode(0, "c5 c0", &in), -X86_EXC_UD);
    assert_int_equal(dec_mode(0, "63 c0", &in), 2); /* arpl */
    /* 16-bit addressing: [bp + 2] and [bx + si] */
    assert_int_equal(dec_mode(0, "67 8b 46 02", &in), 4);
    assert_int_equal(in.rm, X86_RBP);
    assert_int_equal(in.index, X86_NO_REG);
    assert_int_equal(in.disp, 2);
    assert_int_equal(in.seg, X86_SS);
    assert_int_equal(in.asz, 1);
    assert_int_equal(dec_mode(0, "67 8b 00", &in), 3);
    assert_int_equal(in.rm, X86_RBX);
    assert_int_equal(in.index, X86_RSI);
    assert_int_equal(in.seg, X86_DS);
    assert_int_equal(dec_mode(0, "67 8b 7c 10", &in), 4); /* [si + 0x10] */
    assert_int_equal(in.rm, X86_RSI);
    assert_int_equal(in.index, X86_NO_REG);
    assert_int_equal(dec_mode(0, "67 8b 06 34 12", &in), 5);
    assert_int_equal(in.rm, X86_NO_REG);
    assert_int_equal(in.disp, 0x1234);
    assert_int_equal(dec_mode(0, "67 8b 86 00 80", &in), 5);
    assert_int_equal(in.disp, -0x8000);
    /* 64-bit-only forms */
    assert_int_equal(dec_mode(0, "0f 01 f8", &in), -X86_EXC_UD);    /* swapgs */
    assert_int_equal(dec_mode(0, "f3 0f ae c0", &in), -X86_EXC_UD); /* rdfsbase */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_basic_forms),    cmocka_unit_test(test_prefixes_and_rex),
        cmocka_unit_test(test_segments),       cmocka_unit_test(test_sib_and_disp),
        cmocka_unit_test(test_riprel),         cmocka_unit_test(test_moffs_and_imm64),
        cmocka_unit_test(test_immediates),     cmocka_unit_test(test_branches),
        cmocka_unit_test(test_byte_registers), cmocka_unit_test(test_lock),
        cmocka_unit_test(test_length_limit),   cmocka_unit_test(test_more_bytes),
        cmocka_unit_test(test_invalid),        cmocka_unit_test(test_x87_and_system),
        cmocka_unit_test(test_sse_prefixes),   cmocka_unit_test(test_dispatch),
        cmocka_unit_test(test_mode32),
    };
    return cmocka_run_group_tests(tests, setup_ops, NULL);
}
