/* Stack ops (stack.c): PUSH/POP in every form, PUSHF/POPF flag masks,
 * ENTER with nesting levels and LEAVE, compared with the host CPU running
 * the same instruction on a stack of our own; precise faults. */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "x86_flow_harness.h"

#define T x86_ops_stack
#define P X86_MAP_PRIMARY

/* Run one instruction natively with RSP and RBP taken from r[0], r[1]
 * (written back afterwards). */
#define NATIVE_ON_STACK(name, insn)                                                                \
    static void name(uint64_t *r)                                                                  \
    {                                                                                              \
        __asm__ volatile("mov %%rsp, %%r12\n\t"                                                    \
                         "mov %%rbp, %%r13\n\t"                                                    \
                         "mov 0(%0), %%rsp\n\t"                                                    \
                         "mov 8(%0), %%rbp\n\t" insn "\n\t"                                        \
                         "mov %%rsp, 0(%0)\n\t"                                                    \
                         "mov %%rbp, 8(%0)\n\t"                                                    \
                         "mov %%r12, %%rsp\n\t"                                                    \
                         "mov %%r13, %%rbp"                                                        \
                         :                                                                         \
                         : "D"(r)                                                                  \
                         : "r12", "r13", "memory");                                                \
    }

NATIVE_ON_STACK(n_enter_0, "enter $0x20, $0")
NATIVE_ON_STACK(n_enter_1, "enter $0x20, $1")
NATIVE_ON_STACK(n_enter_2, "enter $0x18, $2")
NATIVE_ON_STACK(n_enter_5, "enter $0, $5")
NATIVE_ON_STACK(n_enter_31, "enter $0x1234, $31")
NATIVE_ON_STACK(n_enter_33, "enter $8, $33") /* the level is taken mod 32 */
NATIVE_ON_STACK(n_enter16_0, ".byte 0x66, 0xc8, 0x10, 0x00, 0x00")
NATIVE_ON_STACK(n_enter16_3, ".byte 0x66, 0xc8, 0x06, 0x00, 0x03")
NATIVE_ON_STACK(n_leave, "leave")
NATIVE_ON_STACK(n_leave16, ".byte 0x66, 0xc9")
NATIVE_ON_STACK(n_pop_rsp8, "popq 8(%%rsp)")
NATIVE_ON_STACK(n_popw_rsp2, "popw 2(%%rsp)")
NATIVE_ON_STACK(n_push_rsp8, "pushq 8(%%rsp)")
NATIVE_ON_STACK(n_push_rsp, "push %%rsp")
NATIVE_ON_STACK(n_pop_rsp, "pop %%rsp")
NATIVE_ON_STACK(n_pop_sp, ".byte 0x66, 0x5c")

#define STACK_PAGES 4

struct stack_case {
    void (*native)(uint64_t *r);
    struct x86_insn in;
};

static uint8_t *stack_mem;

static void fill_stack(void)
{
    for (size_t i = 0; i < STACK_PAGES * H_PAGE; i++)
        stack_mem[i] = (uint8_t)(i * 7 + 3);
}

/* Run c natively and in the emulator from the same stack contents and
 * RSP/RBP; compare RSP, RBP and the whole stack area. */
static void compare_on_stack(struct x86_cpu *cpu, const struct stack_case *c, uint64_t rsp,
                             uint64_t rbp)
{
    static uint8_t native_mem[STACK_PAGES * H_PAGE];
    uint64_t r[2] = {rsp, rbp};
    fill_stack();
    c->native(r);
    memcpy(native_mem, stack_mem, sizeof(native_mem));

    fill_stack();
    cpu->gpr[X86_RSP] = rsp;
    cpu->gpr[X86_RBP] = rbp;
    assert_int_equal(h_exec(cpu, &c->in), H_NOFAULT);
    assert_int_equal(cpu->gpr[X86_RSP], r[0]);
    assert_int_equal(cpu->gpr[X86_RBP], r[1]);
    assert_memory_equal(stack_mem, native_mem, sizeof(native_mem));
}

static struct x86_insn enter_insn(unsigned size, unsigned level, unsigned osz)
{
    struct x86_insn in = h_insn(T, P, 0xc8, -1, osz);
    in.imm = size;
    in.imm2 = (uint8_t)level;
    return in;
}

static void test_enter_leave_vs_host(void **state)
{
    (void)state;
    struct x86_cpu *cpu = h_new_cpu();
    stack_mem = h_pages(STACK_PAGES, 0, 0);
    uint64_t rsp = (uintptr_t)stack_mem + 2 * H_PAGE + 0x40;
    uint64_t rbp = (uintptr_t)stack_mem + 3 * H_PAGE + 0x100;
    const struct stack_case cases[] = {
        {n_enter_0, enter_insn(0x20, 0, 3)},     {n_enter_1, enter_insn(0x20, 1, 3)},
        {n_enter_2, enter_insn(0x18, 2, 3)},     {n_enter_5, enter_insn(0, 5, 3)},
        {n_enter_31, enter_insn(0x1234, 31, 3)}, {n_enter_33, enter_insn(8, 33, 3)},
        {n_enter16_0, enter_insn(0x10, 0, 1)},   {n_enter16_3, enter_insn(6, 3, 1)},
        {n_leave, h_insn(T, P, 0xc9, -1, 3)},    {n_leave16, h_insn(T, P, 0xc9, -1, 1)},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        compare_on_stack(cpu, &cases[i], rsp, rbp);
        compare_on_stack(cpu, &cases[i], rsp - 3, rbp + 5); /* unaligned */
    }
    /* RBP whose upper half differs from RSP's: the 16-bit forms write BP. */
    compare_on_stack(cpu, &cases[6], rsp, 0x1111222200000000ULL | (rbp & 0xffffffff));
    /* Old frame pointers read from where the new frame is being pushed:
     * each read sees the pushes before it, in the SDM's order. */
    for (int d = -16; d <= 16; d += 8) {
        compare_on_stack(cpu, &cases[3], rsp, rsp + d); /* enter 0, 5 */
        compare_on_stack(cpu, &cases[4], rsp, rsp + d); /* enter 0x1234, 31 */
        compare_on_stack(cpu, &cases[7], rsp, rsp + d); /* 16-bit enter 6, 3 */
    }
    munmap(stack_mem, STACK_PAGES * H_PAGE);
    h_free_cpu(cpu);
}

static void test_push_pop_rsp_vs_host(void **state)
{
    (void)state;
    struct x86_cpu *cpu = h_new_cpu();
    stack_mem = h_pages(STACK_PAGES, 0, 0);
    uint64_t rsp = (uintptr_t)stack_mem + 2 * H_PAGE;
    struct stack_case cases[] = {
        {n_pop_rsp8, h_insn_mem(T, P, 0x8f, 0, 3, X86_RSP, 8)},
        {n_popw_rsp2, h_insn_mem(T, P, 0x8f, 0, 1, X86_RSP, 2)},
        {n_push_rsp8, h_insn_mem(T, P, 0xff, 6, 3, X86_RSP, 8)},
        {n_push_rsp, h_insn(T, P, 0x54, -1, 3)},
        {n_pop_rsp, h_insn(T, P, 0x5c, -1, 3)},
        {n_pop_sp, h_insn(T, P, 0x5c, -1, 1)},
    };
    for (size_t i = 3; i < 6; i++)
        cases[i].in.reg = X86_RSP;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        compare_on_stack(cpu, &cases[i], rsp, rsp + 0x80);
    munmap(stack_mem, STACK_PAGES * H_PAGE);
    h_free_cpu(cpu);
}

static void test_push_pop_forms(void **state)
{
    (void)state;
    struct x86_cpu *cpu = h_new_cpu();
    uint64_t sp = cpu->gpr[X86_RSP];
    /* 41 55: push r13; 66 41 5d: pop r13w. */
    struct x86_insn in = h_insn(T, P, 0x55, -1, 3);
    in.reg = X86_R13;
    cpu->gpr[X86_R13] = 0x0123456789abcdefULL;
    h_exec(cpu, &in);
    assert_int_equal(cpu->gpr[X86_RSP], sp - 8);
    assert_int_equal(*(uint64_t *)(uintptr_t)(sp - 8), 0x0123456789abcdefULL);
    in = h_insn(T, P, 0x5d, -1, 1);
    in.reg = X86_R13;
    cpu->gpr[X86_R13] = ~0ULL;
    h_exec(cpu, &in);
    assert_int_equal(cpu->gpr[X86_RSP], sp - 6);
    assert_int_equal(cpu->gpr[X86_R13], 0xffffffffffffcdefULL);
    /* 6A: push imm8, sign-extended to 64 bits; 66 68: push imm16. */
    cpu->gpr[X86_RSP] = sp;
    in = h_insn(T, P, 0x6a, -1, 3);
    in.imm = -3;
    h_exec(cpu, &in);
    assert_int_equal(*(uint64_t *)(uintptr_t)(sp - 8), 0xfffffffffffffffdULL);
    in = h_insn(T, P, 0x68, -1, 1);
    in.imm = 0x8001;
    h_exec(cpu, &in);
    assert_int_equal(cpu->gpr[X86_RSP], sp - 10);
    assert_int_equal(*(uint16_t *)(uintptr_t)(sp - 10), 0x8001);
    /* 8F C0: pop rax (the register form of 8F /0). */
    in = h_insn(T, P, 0x8f, 0, 3);
    in.rm = X86_RAX;
    cpu->gpr[X86_RSP] = sp - 8;
    h_exec(cpu, &in);
    assert_int_equal(cpu->gpr[X86_RAX], 0xfffffffffffffffdULL);
    assert_int_equal(cpu->gpr[X86_RSP], sp);
    h_free_cpu(cpu);
}

/* PUSH/POP FS/GS: the selector. POP checks it as MOV Sreg does, against
 * the descriptors Linux gives user code (system.c), before RSP moves; the
 * results are the AMD host's: 0x2b (__USER_DS) loads with base 0, a kernel
 * selector is #GP(selector), a null one loads and clears the base. */
static void test_push_pop_seg(void **state)
{
    (void)state;
    struct x86_cpu *cpu = h_new_cpu();
    uint64_t sp = cpu->gpr[X86_RSP];
    cpu->seg[X86_GS].selector = 0x2b;
    cpu->seg[X86_GS].base = 0x5000;
    struct x86_insn in = h_insn(T, X86_MAP_0F, 0xa8, -1, 3);
    *(uint64_t *)(uintptr_t)(sp - 8) = ~0ULL;
    h_exec(cpu, &in);
    assert_int_equal(*(uint64_t *)(uintptr_t)(sp - 8), 0x2b);
    in = h_insn(T, X86_MAP_0F, 0xa9, -1, 3);
    *(uint64_t *)(uintptr_t)(sp - 8) = 0x1b; /* __KERNEL_DS with RPL 3 */
    assert_int_equal(h_exec(cpu, &in), X86_EXC_GP);
    assert_int_equal(cpu->exc.error, 0x18);
    assert_int_equal(cpu->gpr[X86_RSP], sp - 8);
    assert_int_equal(cpu->seg[X86_GS].base, 0x5000);
    *(uint64_t *)(uintptr_t)(sp - 8) = 0x2f; /* an LDT selector: there is no LDT */
    assert_int_equal(h_exec(cpu, &in), X86_EXC_GP);
    assert_int_equal(cpu->exc.error, 0x2c);
    *(uint64_t *)(uintptr_t)(sp - 8) = 3;
    assert_int_equal(h_exec(cpu, &in), H_NOFAULT);
    assert_int_equal(cpu->gpr[X86_RSP], sp);
    assert_int_equal(cpu->seg[X86_GS].selector, 3);
    assert_int_equal(cpu->seg[X86_GS].base, 0);
    cpu->seg[X86_GS].base = 0x5000;
    cpu->gpr[X86_RSP] = sp - 8;
    *(uint64_t *)(uintptr_t)(sp - 8) = 0x2b;
    assert_int_equal(h_exec(cpu, &in), H_NOFAULT);
    assert_int_equal(cpu->seg[X86_GS].selector, 0x2b);
    assert_int_equal(cpu->seg[X86_GS].base, 0);
    h_free_cpu(cpu);
}

/* POPF then PUSHF natively: which bits user mode can change. */
static uint64_t native_popf(uint64_t v, int word)
{
    uint64_t out;
    if (word)
        __asm__ volatile("sub $128, %%rsp\n\t"
                         "pushfq\n\t"
                         "pushw %w1\n\t"
                         "popfw\n\t"
                         "pushfq\n\t"
                         "pop %0\n\t"
                         "popfq\n\t"
                         "add $128, %%rsp"
                         : "=&r"(out)
                         : "r"(v)
                         : "cc", "memory");
    else
        __asm__ volatile("sub $128, %%rsp\n\t"
                         "pushfq\n\t"
                         "push %1\n\t"
                         "popfq\n\t"
                         "pushfq\n\t"
                         "pop %0\n\t"
                         "popfq\n\t"
                         "add $128, %%rsp"
                         : "=&r"(out)
                         : "r"(v)
                         : "cc", "memory");
    return out;
}

static void test_popf_pushf_vs_host(void **state)
{
    (void)state;
    struct x86_cpu *cpu = h_new_cpu();
    /* TF would single-step the host; everything else is fair. */
    const uint64_t values[] = {~0ULL & ~(uint64_t)X86_FLAG_TF, 0, 0x00000000003f7fd5ULL,
                               0x0000000000244ed5ULL, 0xffffffffffc08a2aULL};
    struct x86_insn popf = h_insn(T, P, 0x9d, -1, 3), pushf = h_insn(T, P, 0x9c, -1, 3);
    for (size_t i = 0; i < sizeof(values) / sizeof(values[0]); i++) {
        for (int word = 0; word < 2; word++) {
            uint64_t v = values[i] & ~(uint64_t)X86_FLAG_TF;
            uint64_t want = native_popf(v, word);
            x86_set_rflags(cpu, 0x202);
            uint64_t sp = cpu->gpr[X86_RSP];
            popf.osz = word ? 1 : 3;
            if (word)
                *(uint16_t *)(uintptr_t)(sp - 2) = (uint16_t)v;
            else
                *(uint64_t *)(uintptr_t)(sp - 8) = v;
            cpu->gpr[X86_RSP] = sp - (word ? 2 : 8);
            assert_int_equal(h_exec(cpu, &popf), H_NOFAULT);
            assert_int_equal(cpu->gpr[X86_RSP], sp);
            h_exec(cpu, &pushf);
            assert_int_equal(*(uint64_t *)(uintptr_t)(sp - 8), want);
            assert_int_equal(x86_get_rflags(cpu), want);
            cpu->gpr[X86_RSP] = sp;
        }
    }
    /* At CPL 0, IF and IOPL change too. */
    cpu->cpl = 0;
    uint64_t sp = cpu->gpr[X86_RSP];
    *(uint64_t *)(uintptr_t)(sp - 8) = 0x3000;
    cpu->gpr[X86_RSP] = sp - 8;
    h_exec(cpu, &popf);
    assert_int_equal(x86_get_rflags(cpu), 0x3002);
    h_free_cpu(cpu);
}

/* Faults leave RSP, the destination and memory as they were. */
static void test_stack_faults_precise(void **state)
{
    (void)state;
    struct x86_cpu *cpu = h_new_cpu();
    uint8_t *mem = h_pages(2, 0, 0); /* [no access][stack] */
    mprotect(mem, H_PAGE, PROT_NONE);
    uint8_t *top = mem + H_PAGE;
    memset(top, 0xcc, H_PAGE);

    /* push with RSP at the bottom of the stack page */
    cpu->gpr[X86_RSP] = (uintptr_t)top;
    struct x86_insn in = h_insn(T, P, 0x50, -1, 3);
    assert_int_equal(h_exec(cpu, &in), X86_EXC_PF);
    assert_int_equal(cpu->exc.addr, (uintptr_t)top - 8);
    assert_int_equal(cpu->gpr[X86_RSP], (uintptr_t)top);
    assert_int_equal(cpu->rip, H_RIP);

    /* ENTER level 3 whose last push lands in the guard page: nothing is
     * written, not even the pushes that would fit. */
    cpu->gpr[X86_RSP] = (uintptr_t)top + 16;
    cpu->gpr[X86_RBP] = (uintptr_t)top + 256;
    in = enter_insn(0, 3, 3);
    assert_int_equal(h_exec(cpu, &in), X86_EXC_PF);
    assert_int_equal(cpu->gpr[X86_RSP], (uintptr_t)top + 16);
    assert_int_equal(cpu->gpr[X86_RBP], (uintptr_t)top + 256);
    for (int i = 0; i < 64; i++)
        assert_int_equal(top[i], 0xcc);

    /* ENTER faults at the first access that faults in the SDM's order:
     * here the second push (the first one fits), not the bottom of the
     * frame; and a read of an old frame pointer from the guard page comes
     * before the push after it. */
    cpu->gpr[X86_RSP] = (uintptr_t)top + 8;
    cpu->gpr[X86_RBP] = (uintptr_t)top + 256;
    in = enter_insn(0x20, 3, 3);
    assert_int_equal(h_exec(cpu, &in), X86_EXC_PF);
    assert_int_equal(cpu->exc.addr, (uintptr_t)top - 8);
    assert_true(cpu->exc.error & 2);
    assert_int_equal(cpu->gpr[X86_RSP], (uintptr_t)top + 8);
    assert_int_equal(top[0], 0xcc);
    cpu->gpr[X86_RSP] = (uintptr_t)top + 64;
    cpu->gpr[X86_RBP] = (uintptr_t)top + 8;
    assert_int_equal(h_exec(cpu, &in), X86_EXC_PF);
    assert_int_equal(cpu->exc.addr, (uintptr_t)top - 8);
    assert_false(cpu->exc.error & 2);
    assert_int_equal(top[56], 0xcc);

    /* ENTER whose frame fits but whose final RSP is in the guard page
     * (the host's AMD CPU faults there too, at the final RSP). */
    cpu->gpr[X86_RSP] = (uintptr_t)top + 64;
    in = enter_insn(0x100, 0, 3);
    assert_int_equal(h_exec(cpu, &in), X86_EXC_PF);
    assert_int_equal(cpu->exc.addr, (uintptr_t)top + 64 - 8 - 0x100);
    assert_int_equal(cpu->gpr[X86_RSP], (uintptr_t)top + 64);
    assert_int_equal(top[64 - 8], 0xcc);

    /* pop [rbx] into the guard page: RSP stays. */
    cpu->gpr[X86_RSP] = (uintptr_t)top + 32;
    cpu->gpr[X86_RBX] = (uintptr_t)mem;
    in = h_insn_mem(T, P, 0x8f, 0, 3, X86_RBX, 0);
    assert_int_equal(h_exec(cpu, &in), X86_EXC_PF);
    assert_int_equal(cpu->gpr[X86_RSP], (uintptr_t)top + 32);
    assert_true(cpu->exc.error & 2);

    /* leave with RBP in the guard page */
    cpu->gpr[X86_RBP] = (uintptr_t)mem + 8;
    in = h_insn(T, P, 0xc9, -1, 3);
    assert_int_equal(h_exec(cpu, &in), X86_EXC_PF);
    assert_int_equal(cpu->gpr[X86_RSP], (uintptr_t)top + 32);
    assert_int_equal(cpu->gpr[X86_RBP], (uintptr_t)mem + 8);
    munmap(mem, 2 * H_PAGE);
    h_free_cpu(cpu);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_enter_leave_vs_host), cmocka_unit_test(test_push_pop_rsp_vs_host),
        cmocka_unit_test(test_push_pop_forms),      cmocka_unit_test(test_push_pop_seg),
        cmocka_unit_test(test_popf_pushf_vs_host),  cmocka_unit_test(test_stack_faults_precise),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
