/* Control-flow ops (branch.c): JMP, Jcc (against the host for every
 * condition and flag combination), CALL/RET, LOOP/LOOPcc/JrCXZ, far
 * transfers, INT3/INT n/UD*, canonical targets and precise faults. */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "x86_flow_harness.h"

#define T x86_ops_branch
#define P X86_MAP_PRIMARY

/* Whether the host takes jCC with these arithmetic flags. */
#define NATIVE_JCC(cc)                                                                             \
    static int n_j##cc(uint64_t f)                                                                 \
    {                                                                                              \
        int taken;                                                                                 \
        __asm__ volatile("sub $128, %%rsp\n\t"                                                     \
                         "push %1\n\t"                                                             \
                         "popfq\n\t"                                                               \
                         "mov $1, %0\n\t"                                                          \
                         "j" #cc " 1f\n\t"                                                         \
                         "mov $0, %0\n"                                                            \
                         "1:\n\t"                                                                  \
                         "add $128, %%rsp"                                                         \
                         : "=&r"(taken)                                                            \
                         : "r"(f)                                                                  \
                         : "cc", "memory");                                                        \
        return taken;                                                                              \
    }
NATIVE_JCC(o)
NATIVE_JCC(no)
NATIVE_JCC(b)
NATIVE_JCC(ae)
NATIVE_JCC(e)
NATIVE_JCC(ne)
NATIVE_JCC(be)
NATIVE_JCC(a)
NATIVE_JCC(s)
NATIVE_JCC(ns)
NATIVE_JCC(p)
NATIVE_JCC(np)
NATIVE_JCC(l)
NATIVE_JCC(ge)
NATIVE_JCC(le)
NATIVE_JCC(g)

static int (*const native_jcc[16])(uint64_t) = {n_jo, n_jno, n_jb, n_jae, n_je, n_jne, n_jbe, n_ja,
                                                n_js, n_jns, n_jp, n_jnp, n_jl, n_jge, n_jle, n_jg};

static void test_jcc_vs_host(void **state)
{
    (void)state;
    struct x86_cpu *cpu = h_new_cpu();
    static const uint64_t bits[5] = {X86_FLAG_CF, X86_FLAG_PF, X86_FLAG_ZF, X86_FLAG_SF,
                                     X86_FLAG_OF};
    for (unsigned cc = 0; cc < 16; cc++) {
        for (unsigned m = 0; m < 32; m++) {
            uint64_t f = 0x202;
            for (int b = 0; b < 5; b++)
                if (m & (1u << b))
                    f |= bits[b];
            x86_set_rflags(cpu, f);
            for (int map = 0; map < 2; map++) {
                struct x86_insn in =
                    h_insn(T, map ? X86_MAP_0F : P, (map ? 0x80 : 0x70) + cc, -1, 3);
                in.imm = map ? -0x1000 : 0x40;
                assert_int_equal(h_exec(cpu, &in), H_NOFAULT);
                uint64_t next = H_RIP + in.len;
                uint64_t want = native_jcc[cc](f) ? next + (uint64_t)in.imm : next;
                assert_int_equal(cpu->rip, want);
            }
        }
    }
    h_free_cpu(cpu);
}

static void test_jmp(void **state)
{
    (void)state;
    struct x86_cpu *cpu = h_new_cpu();
    struct x86_insn in = h_insn(T, P, 0xeb, -1, 3);
    in.len = 2;
    in.imm = -2; /* jmp $ */
    h_exec(cpu, &in);
    assert_int_equal(cpu->rip, H_RIP);
    in = h_insn(T, P, 0xe9, -1, 3);
    in.len = 5;
    in.imm = 0x12345678;
    h_exec(cpu, &in);
    assert_int_equal(cpu->rip, H_RIP + 5 + 0x12345678);

    /* FF /4 through a register and through memory */
    in = h_insn(T, P, 0xff, 4, 3);
    in.rm = X86_RAX;
    cpu->gpr[X86_RAX] = 0x7fff12345678ULL;
    h_exec(cpu, &in);
    assert_int_equal(cpu->rip, 0x7fff12345678ULL);
    uint64_t target = 0x500000;
    in = h_insn_mem(T, P, 0xff, 4, 3, X86_RBX, 0);
    cpu->gpr[X86_RBX] = (uintptr_t)&target;
    h_exec(cpu, &in);
    assert_int_equal(cpu->rip, 0x500000);

    /* A non-canonical target faults on the jump itself. */
    target = 0x0000800000000000ULL;
    assert_int_equal(h_exec(cpu, &in), X86_EXC_GP);
    assert_int_equal(cpu->rip, H_RIP);
    target = 0xffff800000000000ULL; /* canonical (upper half) */
    assert_int_equal(h_exec(cpu, &in), H_NOFAULT);
    assert_int_equal(cpu->rip, target);

    /* 66 with the decoder's AMD rule (osz 16): the target is truncated. */
    in = h_insn(T, P, 0xe9, -1, 1);
    in.len = 4;
    in.imm = 0x10;
    h_exec(cpu, &in);
    assert_int_equal(cpu->rip, (H_RIP + 4 + 0x10) & 0xffff);
    h_free_cpu(cpu);
}

static void test_call_ret(void **state)
{
    (void)state;
    struct x86_cpu *cpu = h_new_cpu();
    uint64_t sp = cpu->gpr[X86_RSP];
    struct x86_insn call = h_insn(T, P, 0xe8, -1, 3);
    call.len = 5;
    call.imm = -0x100;
    h_exec(cpu, &call);
    assert_int_equal(cpu->rip, H_RIP + 5 - 0x100);
    assert_int_equal(cpu->gpr[X86_RSP], sp - 8);
    assert_int_equal(*(uint64_t *)(uintptr_t)(sp - 8), H_RIP + 5);

    struct x86_insn ret = h_insn(T, P, 0xc3, -1, 3);
    h_exec(cpu, &ret);
    assert_int_equal(cpu->rip, H_RIP + 5);
    assert_int_equal(cpu->gpr[X86_RSP], sp);

    /* call [rsp]: the operand is read with RSP before the push. */
    *(uint64_t *)(uintptr_t)sp = 0x600000;
    struct x86_insn callm = h_insn_mem(T, P, 0xff, 2, 3, X86_RSP, 0);
    h_exec(cpu, &callm);
    assert_int_equal(cpu->rip, 0x600000);
    assert_int_equal(*(uint64_t *)(uintptr_t)(sp - 8), H_RIP + callm.len);

    /* ret 0x10 releases the immediate after the return address. */
    struct x86_insn retn = h_insn(T, P, 0xc2, -1, 3);
    retn.imm = 0x10;
    h_exec(cpu, &retn);
    assert_int_equal(cpu->rip, H_RIP + callm.len);
    assert_int_equal(cpu->gpr[X86_RSP], sp + 0x10);

    /* Non-canonical: #GP, no push, no RSP change. */
    cpu->gpr[X86_RSP] = sp;
    *(uint64_t *)(uintptr_t)(sp - 8) = 0x1234;
    *(uint64_t *)(uintptr_t)sp = 0x8000000000000000ULL;
    assert_int_equal(h_exec(cpu, &callm), X86_EXC_GP);
    assert_int_equal(cpu->gpr[X86_RSP], sp);
    assert_int_equal(*(uint64_t *)(uintptr_t)(sp - 8), 0x1234);
    assert_int_equal(h_exec(cpu, &ret), X86_EXC_GP);
    assert_int_equal(cpu->gpr[X86_RSP], sp);
    assert_int_equal(cpu->rip, H_RIP);

    /* A call whose push faults changes nothing. */
    uint8_t *guard = h_pages(1, 0, 0);
    mprotect(guard, H_PAGE, PROT_READ);
    cpu->gpr[X86_RSP] = (uintptr_t)guard + 64;
    assert_int_equal(h_exec(cpu, &call), X86_EXC_PF);
    assert_int_equal(cpu->gpr[X86_RSP], (uintptr_t)guard + 64);
    assert_int_equal(cpu->rip, H_RIP);
    munmap(guard, H_PAGE);
    h_free_cpu(cpu);
}

static void test_loop_jrcxz(void **state)
{
    (void)state;
    struct x86_cpu *cpu = h_new_cpu();
    struct x86_insn loop = h_insn(T, P, 0xe2, -1, 3);
    loop.len = 2;
    loop.imm = -2;
    cpu->gpr[X86_RCX] = 2;
    h_exec(cpu, &loop);
    assert_int_equal(cpu->gpr[X86_RCX], 1);
    assert_int_equal(cpu->rip, H_RIP);
    h_exec(cpu, &loop);
    assert_int_equal(cpu->gpr[X86_RCX], 0);
    assert_int_equal(cpu->rip, H_RIP + 2);
    /* RCX = 0 wraps to all-ones and branches. */
    h_exec(cpu, &loop);
    assert_int_equal(cpu->gpr[X86_RCX], ~0ULL);
    assert_int_equal(cpu->rip, H_RIP);
    /* 67: ECX counts, and the write clears the upper half (as the host). */
    loop.asz = 2;
    cpu->gpr[X86_RCX] = 0x1234567800000001ULL;
    h_exec(cpu, &loop);
    assert_int_equal(cpu->gpr[X86_RCX], 0);
    assert_int_equal(cpu->rip, H_RIP + 2);

    /* LOOPE/LOOPNE look at ZF and do not change flags. */
    struct x86_insn loope = h_insn(T, P, 0xe1, -1, 3), loopne = h_insn(T, P, 0xe0, -1, 3);
    loope.imm = loopne.imm = 0x20;
    x86_set_rflags(cpu, 0x202 | X86_FLAG_ZF | X86_FLAG_CF);
    cpu->gpr[X86_RCX] = 5;
    h_exec(cpu, &loope);
    assert_int_equal(cpu->rip, H_RIP + loope.len + 0x20);
    h_exec(cpu, &loopne);
    assert_int_equal(cpu->rip, H_RIP + loopne.len);
    assert_int_equal(cpu->gpr[X86_RCX], 3);
    assert_int_equal(x86_get_rflags(cpu), 0x202 | X86_FLAG_ZF | X86_FLAG_CF);
    x86_set_rflags(cpu, 0x202);
    h_exec(cpu, &loope);
    assert_int_equal(cpu->rip, H_RIP + loope.len);
    h_exec(cpu, &loopne);
    assert_int_equal(cpu->rip, H_RIP + loopne.len + 0x20);

    struct x86_insn jrcxz = h_insn(T, P, 0xe3, -1, 3);
    jrcxz.imm = 0x30;
    cpu->gpr[X86_RCX] = 0x100000000ULL;
    h_exec(cpu, &jrcxz);
    assert_int_equal(cpu->rip, H_RIP + jrcxz.len);
    jrcxz.asz = 2; /* jecxz */
    h_exec(cpu, &jrcxz);
    assert_int_equal(cpu->rip, H_RIP + jrcxz.len + 0x30);
    assert_int_equal(cpu->gpr[X86_RCX], 0x100000000ULL);

    /* A taken LOOP to a non-canonical target leaves RCX alone. */
    loop.asz = 3;
    loop.imm = (int64_t)0x00007fffffffff00ULL; /* rip + imm is past the canonical half */
    cpu->gpr[X86_RCX] = 9;
    assert_int_equal(h_exec(cpu, &loop), X86_EXC_GP);
    assert_int_equal(cpu->gpr[X86_RCX], 9);
    h_free_cpu(cpu);
}

static void test_traps_and_ud(void **state)
{
    (void)state;
    struct x86_cpu *cpu = h_new_cpu();
    struct x86_insn in = h_insn(x86_ops_far, P, 0xcc, -1, 3);
    in.len = 1;
    assert_int_equal(h_exec(cpu, &in), X86_EXC_BP);
    assert_int_equal(cpu->rip, H_RIP + 1); /* a trap: after INT3 */

    in = h_insn(x86_ops_far, P, 0xf1, -1, 3);
    in.len = 1;
    assert_int_equal(h_exec(cpu, &in), X86_EXC_DB);
    assert_int_equal(cpu->rip, H_RIP + 1);

    in = h_insn(x86_ops_far, P, 0xcd, -1, 3);
    in.len = 2;
    in.imm = 3;
    assert_int_equal(h_exec(cpu, &in), X86_EXC_BP);
    assert_int_equal(cpu->rip, H_RIP + 2);
    in.imm = 0x80;
    assert_int_equal(h_exec(cpu, &in), X86_EXC_GP);
    assert_int_equal(cpu->exc.error, 0x80 << 3 | 2);
    assert_int_equal(cpu->rip, H_RIP); /* a fault: at INT */
    in.imm = 0x0e;
    assert_int_equal(h_exec(cpu, &in), X86_EXC_GP);
    assert_int_equal(cpu->exc.error, 0x72);

    static const struct {
        uint8_t map, op;
    } uds[] = {{X86_MAP_0F, 0x0b}, {X86_MAP_0F, 0xb9}, {X86_MAP_0F, 0xff}};
    for (size_t i = 0; i < sizeof(uds) / sizeof(uds[0]); i++) {
        in = h_insn(T, uds[i].map, uds[i].op, -1, 3);
        assert_int_equal(h_exec(cpu, &in), X86_EXC_UD);
        assert_int_equal(cpu->rip, H_RIP);
    }

    /* Far JMP/CALL: the pointer is read first (#PF), then #GP(selector). */
    uint8_t ptr[10] = {0x00, 0x10, 0x40, 0x00, 0x33, 0x00};
    in = h_insn_mem(x86_ops_far, P, 0xff, 5, 2, X86_RSI, 0);
    cpu->gpr[X86_RSI] = (uintptr_t)ptr;
    assert_int_equal(h_exec(cpu, &in), X86_EXC_GP);
    assert_int_equal(cpu->exc.error, 0x30);
    in = h_insn_mem(x86_ops_far, P, 0xff, 3, 2, X86_RSI, 0);
    cpu->gpr[X86_RSI] = 0x10; /* unmapped */
    uint64_t sp = cpu->gpr[X86_RSP];
    assert_int_equal(h_exec(cpu, &in), X86_EXC_PF);
    assert_int_equal(cpu->gpr[X86_RSP], sp);
    /* The offset on an unreadable page, the selector on the next, readable
     * one: the offset is read too, so it is #PF there, not #GP. */
    uint8_t *pages = h_pages(2, 0, 0);
    mprotect(pages, H_PAGE, PROT_NONE);
    memcpy(pages + H_PAGE, "\x33\x00", 2);
    cpu->gpr[X86_RSI] = (uintptr_t)pages + H_PAGE - 4;
    assert_int_equal(h_exec(cpu, &in), X86_EXC_PF);
    assert_int_equal(cpu->exc.addr, (uintptr_t)pages + H_PAGE - 4);
    munmap(pages, 2 * H_PAGE);
    h_free_cpu(cpu);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_jcc_vs_host),  cmocka_unit_test(test_jmp),
        cmocka_unit_test(test_call_ret),     cmocka_unit_test(test_loop_jrcxz),
        cmocka_unit_test(test_traps_and_ud),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
