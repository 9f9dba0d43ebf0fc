/* The run loop and blocks (exec.c) through x86_run(): instruction fetch
 * faults report the first byte that cannot be fetched, with the
 * instructions before it in the block executed; a block's instructions may
 * cross a page end; the #PF error code comes from the host's (present bit)
 * and says "write" for a read-modify-write (as on AMD). */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "x86_flow_harness.h"

H_FAMILY(alu)
H_FAMILY(shift)

/* Copy code so that it ends at `end` (a page boundary, say). */
static uint64_t place(uint8_t *end, const uint8_t *code, size_t len)
{
    memcpy(end - len, code, len);
    return (uintptr_t)(end - len);
}

static void test_fetch_faults(void **state)
{
    (void)state;
    assert_non_null(h_ops_alu);
    assert_non_null(x86_ops_move);
    struct x86_cpu *cpu = h_new_cpu();
    uint8_t *mem = h_pages(1, 1, 0); /* [code][no access] */
    uint8_t *guard = mem + H_PAGE;

    /* inc eax; then add dword [rax + 0x11223344], 0x55667788 (10 bytes),
     * of which 3 fit on the page: the inc runs, the add faults at the page
     * end with RIP at its first byte. */
    static const uint8_t code[] = {0xff, 0xc0, 0x81, 0x80, 0x44, 0x33, 0x22, 0x11, 0x88, 0x77};
    uint64_t pc = place(guard, code, 5);
    cpu->rip = pc;
    cpu->gpr[X86_RAX] = 41;
    assert_int_equal(x86_run(cpu, 100), X86_EXIT_EXCEPTION);
    assert_int_equal(cpu->exc.vector, X86_EXC_PF);
    assert_int_equal(cpu->exc.addr, (uintptr_t)guard);
    assert_int_equal(cpu->exc.error, X86_PF_USER | X86_PF_FETCH);
    assert_int_equal(cpu->rip, pc + 2);
    assert_int_equal(cpu->gpr[X86_RAX], 42);

    /* Every split of a crossing instruction: the same address. */
    for (unsigned cut = 1; cut < sizeof(code) - 2; cut++) {
        cpu->rip = place(guard, code + 2, cut);
        x86_invalidate_code(cpu, (uintptr_t)mem, H_PAGE);
        assert_int_equal(x86_run(cpu, 100), X86_EXIT_EXCEPTION);
        assert_int_equal(cpu->exc.addr, (uintptr_t)guard);
        assert_int_equal(cpu->rip, (uintptr_t)guard - cut);
    }

    /* A jump into the unreadable page: the target itself. */
    for (unsigned off = 0; off < 16; off += 5) {
        cpu->rip = (uintptr_t)guard + 0x120 + off;
        assert_int_equal(x86_run(cpu, 100), X86_EXIT_EXCEPTION);
        assert_int_equal(cpu->exc.vector, X86_EXC_PF);
        assert_int_equal(cpu->exc.addr, (uintptr_t)guard + 0x120 + off);
        assert_int_equal(cpu->rip, (uintptr_t)guard + 0x120 + off);
    }

    /* Past mem_limit (not on a page boundary): the limit. */
    uint64_t limit_saved = cpu->mem_limit;
    cpu->mem_limit = (uintptr_t)mem + 0x800;
    cpu->rip = place(mem + 0x800, code + 2, 4);
    x86_invalidate_code(cpu, (uintptr_t)mem, H_PAGE);
    assert_int_equal(x86_run(cpu, 100), X86_EXIT_EXCEPTION);
    assert_int_equal(cpu->exc.vector, X86_EXC_PF);
    assert_int_equal(cpu->exc.addr, (uintptr_t)mem + 0x800);
    assert_int_equal(cpu->rip, (uintptr_t)mem + 0x800 - 4);
    cpu->mem_limit = limit_saved;
    munmap(mem, 2 * H_PAGE);
    h_free_cpu(cpu);
}

/* Blocks end at page ends, but instructions still cross them. */
static void test_code_across_pages(void **state)
{
    (void)state;
    assert_non_null(x86_ops_misc);
    struct x86_cpu *cpu = h_new_cpu();
    uint8_t *mem = h_pages(2, 0, 0);
    static const uint8_t code[] = {
        0x48, 0xff, 0xc0,                                           /* inc rax */
        0x48, 0xb9, 0x88, 0x77, 0x66, 0x55, 0x44, 0x33, 0x22, 0x11, /* mov rcx, imm64 */
        0x48, 0xff, 0xc0,                                           /* inc rax */
        0x0f, 0x05,                                                 /* syscall */
    };
    for (unsigned at = 0; at <= 8; at++) {
        uint64_t pc = place(mem + H_PAGE - at + sizeof(code), code, sizeof(code));
        x86_invalidate_code(cpu, (uintptr_t)mem, 2 * H_PAGE);
        cpu->rip = pc;
        cpu->gpr[X86_RAX] = 0;
        cpu->gpr[X86_RCX] = 0;
        assert_int_equal(x86_run(cpu, 100), X86_EXIT_SYSCALL);
        assert_int_equal(cpu->gpr[X86_RAX], 2);
        assert_int_equal(cpu->gpr[X86_R11] & 1, 0);
        assert_int_equal(cpu->rip, pc + sizeof(code));
    }
    munmap(mem, 2 * H_PAGE);
    h_free_cpu(cpu);
}

/* The #PF error code of data accesses: present from the host, write for a
 * store and for a read-modify-write whose load faulted. */
static void test_fault_error_codes(void **state)
{
    (void)state;
    assert_non_null(h_ops_shift);
    struct x86_cpu *cpu = h_new_cpu();
    uint8_t *code = h_pages(1, 0, 0);
    uint8_t *data = h_pages(1, 0, 0);
    static const struct {
        uint8_t bytes[4];
        uint8_t len;
        int prot;
        uint32_t error;
    } cases[] = {
        {{0x8b, 0x03}, 2, PROT_NONE, X86_PF_USER},                /* mov eax,[rbx] */
        {{0x89, 0x03}, 2, PROT_NONE, X86_PF_USER | X86_PF_WRITE}, /* mov [rbx],eax */
        {{0x89, 0x03}, 2, PROT_READ, X86_PF_USER | X86_PF_WRITE | X86_PF_PRESENT},
        {{0x01, 0x03}, 2, PROT_NONE, X86_PF_USER | X86_PF_WRITE}, /* add [rbx],eax */
        {{0x01, 0x03}, 2, PROT_READ, X86_PF_USER | X86_PF_WRITE | X86_PF_PRESENT},
        {{0x39, 0x03}, 2, PROT_NONE, X86_PF_USER},                      /* cmp [rbx],eax */
        {{0xf6, 0x13}, 2, PROT_NONE, X86_PF_USER | X86_PF_WRITE},       /* not byte [rbx] */
        {{0xfe, 0x03}, 2, PROT_NONE, X86_PF_USER | X86_PF_WRITE},       /* inc byte [rbx] */
        {{0xc1, 0x2b, 0x20}, 3, PROT_NONE, X86_PF_USER | X86_PF_WRITE}, /* shr [rbx],32 */
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        memcpy(code, cases[i].bytes, cases[i].len);
        x86_invalidate_code(cpu, (uintptr_t)code, H_PAGE);
        mprotect(data, H_PAGE, cases[i].prot);
        if (cases[i].prot != PROT_NONE)
            (void)*(volatile uint8_t *)data; /* present in the host's page tables */
        cpu->rip = (uintptr_t)code;
        cpu->gpr[X86_RBX] = (uintptr_t)data + 8;
        assert_int_equal(x86_run(cpu, 1), X86_EXIT_EXCEPTION);
        if (cpu->exc.vector != X86_EXC_PF)
            fail_msg("case %zu: vector %u", i, cpu->exc.vector);
        assert_int_equal(cpu->exc.addr, (uintptr_t)data + 8);
        if (cpu->exc.error != cases[i].error)
            fail_msg("case %zu: error %#x, expected %#x", i, cpu->exc.error, cases[i].error);
    }
    munmap(code, H_PAGE);
    munmap(data, H_PAGE);
    h_free_cpu(cpu);
}

int main(void)
{
    (void)h_exec; /* the harness's single-op runner: these tests use x86_run() */
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fetch_faults),
        cmocka_unit_test(test_code_across_pages),
        cmocka_unit_test(test_fault_error_codes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
