/* Miscellaneous ops (misc.c): the CPUID model, RDTSC/RDTSCP, SYSCALL,
 * HLT, CLD/STD, CLI/STI, fences, CLFLUSH, PREFETCH, XLAT, RDRAND; and a
 * short program through the decoder and x86_run() using the move, stack,
 * branch and misc families together. */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <time.h>

#include "x86_flow_harness.h"

#define T x86_ops_misc
#define F X86_MAP_0F
#define P X86_MAP_PRIMARY

static void cpuid(struct x86_cpu *cpu, uint32_t leaf, uint32_t sub, uint32_t r[4])
{
    struct x86_insn in = h_insn(T, F, 0xa2, -1, 2);
    cpu->gpr[X86_RAX] = 0xffffffff00000000ULL | leaf;
    cpu->gpr[X86_RCX] = 0xffffffff00000000ULL | sub;
    cpu->gpr[X86_RBX] = cpu->gpr[X86_RDX] = ~0ULL;
    assert_int_equal(h_exec(cpu, &in), H_NOFAULT);
    for (int i = 0; i < 4; i++) {
        static const int regs[4] = {X86_RAX, X86_RBX, X86_RCX, X86_RDX};
        assert_true(cpu->gpr[regs[i]] <= 0xffffffffULL); /* upper halves cleared */
        r[i] = (uint32_t)cpu->gpr[regs[i]];
    }
    uint32_t direct[4];
    x86_cpuid(cpu, leaf, sub, direct);
    assert_memory_equal(r, direct, sizeof(direct));
}

static void test_cpuid(void **state)
{
    (void)state;
    struct x86_cpu *cpu = h_new_cpu();
    uint32_t r[4];
    char vendor[13] = {0};
    cpuid(cpu, 0, 0, r);
    memcpy(vendor, &r[1], 4);
    memcpy(vendor + 4, &r[3], 4);
    memcpy(vendor + 8, &r[2], 4);
    assert_string_equal(vendor, "AuthenticAMD");
    uint32_t max_basic = r[0];
    assert_int_equal(max_basic, 7);

    /* Leaf 1: exactly the implemented features. */
    cpuid(cpu, 1, 0, r);
    unsigned family = (r[0] >> 8 & 0xf) + (r[0] >> 20 & 0xff);
    unsigned model = (r[0] >> 4 & 0xf) | (r[0] >> 12 & 0xf0);
    assert_int_equal(family, 0xf);
    assert_int_equal(model, 0x6b);
    assert_int_equal(r[3], 1u << 0 | 1u << 4 | 1u << 8 | 1u << 15 | 1u << 19 | 1u << 23 | 1u << 24 |
                               1u << 25 | 1u << 26);
    /* SSE3 PCLMULQDQ SSSE3 CX16 SSE4.1 SSE4.2 MOVBE POPCNT AES; no AVX, XSAVE,
     * OSXSAVE or x2APIC: nothing the emulator does not implement. */
    assert_int_equal(r[2], 1u << 0 | 1u << 1 | 1u << 9 | 1u << 13 | 1u << 19 | 1u << 20 | 1u << 22 |
                               1u << 23 | 1u << 25);
    assert_int_equal(r[1] >> 8 & 0xff, 8); /* 64-byte CLFLUSH line */

    cpuid(cpu, 7, 0, r);
    assert_int_equal(r[0], 0);
    assert_int_equal(r[1], 1u << 9); /* ERMS only: no BMI1/BMI2/AVX2... */
    assert_int_equal(r[2] | r[3], 0);
    cpuid(cpu, 7, 1, r);
    assert_int_equal(r[0] | r[1] | r[2] | r[3], 0);
    cpuid(cpu, max_basic + 1, 0, r);
    assert_int_equal(r[0] | r[1] | r[2] | r[3], 0);
    cpuid(cpu, 0xd, 0, r); /* no XSAVE */
    assert_int_equal(r[0] | r[1] | r[2] | r[3], 0);

    cpuid(cpu, 0x80000000, 0, r);
    uint32_t max_ext = r[0];
    assert_int_equal(max_ext, 0x80000008);
    cpuid(cpu, 0x80000001, 0, r);
    assert_true(r[3] & 1u << 29);                        /* LM */
    assert_true(r[3] & 1u << 11);                        /* SYSCALL */
    assert_true(r[3] & 1u << 20);                        /* NX */
    assert_true(r[3] & 1u << 27);                        /* RDTSCP */
    assert_true(r[3] & 1u << 22);                        /* MmxExt */
    assert_int_equal(r[2], 1u << 0 | 1u << 5 | 1u << 8); /* LAHF_LM ABM PREFETCHW */
    char brand[49] = {0};
    for (uint32_t l = 0; l < 3; l++) {
        cpuid(cpu, 0x80000002 + l, 0, r);
        memcpy(brand + 16 * l, r, 16);
    }
    assert_string_equal(brand, "xuni x86-64 emulator");
    cpuid(cpu, 0x80000008, 0, r);
    assert_int_equal(r[0] & 0xffff, 48 << 8 | 40);
    cpuid(cpu, max_ext + 1, 0, r);
    assert_int_equal(r[0] | r[1] | r[2] | r[3], 0);
    cpuid(cpu, 0x40000000, 0, r);
    assert_int_equal(r[0] | r[1] | r[2] | r[3], 0);
    h_free_cpu(cpu);
}

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void test_rdtsc(void **state)
{
    (void)state;
    struct x86_cpu *cpu = h_new_cpu();
    struct x86_insn in = h_insn(T, F, 0x31, -1, 2);
    cpu->gpr[X86_RAX] = cpu->gpr[X86_RDX] = ~0ULL;
    uint64_t before = now_ns();
    assert_int_equal(h_exec(cpu, &in), H_NOFAULT);
    uint64_t after = now_ns();
    assert_true(cpu->gpr[X86_RAX] <= 0xffffffffULL && cpu->gpr[X86_RDX] <= 0xffffffffULL);
    uint64_t tsc = cpu->gpr[X86_RDX] << 32 | cpu->gpr[X86_RAX];
    assert_true(tsc >= before && tsc <= after); /* 1 GHz, host monotonic */

    /* RDTSCP (0F 01 F9): also ECX = TSC_AUX. */
    struct x86_insn p = h_insn(T, F, 0x01, 7, 2);
    p.rm = 1;
    cpu->tsc_aux = 0x123456789ULL;
    cpu->gpr[X86_RCX] = ~0ULL;
    assert_int_equal(h_exec(cpu, &p), H_NOFAULT);
    assert_int_equal(cpu->gpr[X86_RCX], 0x23456789);
    assert_true((cpu->gpr[X86_RDX] << 32 | cpu->gpr[X86_RAX]) >= tsc);
    p.rm = 0; /* SWAPGS at CPL 3 */
    assert_int_equal(h_exec(cpu, &p), X86_EXC_GP);
    p.rm = 4; /* CLZERO: not advertised */
    assert_int_equal(h_exec(cpu, &p), X86_EXC_UD);

    /* CR4.TSD makes it privileged. */
    cpu->cr4 |= 1u << 2;
    assert_int_equal(h_exec(cpu, &in), X86_EXC_GP);
    cpu->cpl = 0;
    assert_int_equal(h_exec(cpu, &in), H_NOFAULT);
    h_free_cpu(cpu);
}

static void test_syscall_hlt(void **state)
{
    (void)state;
    struct x86_cpu *cpu = h_new_cpu();
    struct x86_insn in = h_insn(T, F, 0x05, -1, 2);
    in.len = 2;
    x86_set_rflags(cpu, 0x202 | X86_FLAG_DF | X86_FLAG_CF);
    assert_int_equal(h_exec(cpu, &in), H_EXIT + X86_EXIT_SYSCALL);
    assert_int_equal(cpu->rip, H_RIP + 2);
    assert_int_equal(cpu->gpr[X86_RCX], H_RIP + 2);
    assert_int_equal(cpu->gpr[X86_R11], 0x202 | X86_FLAG_DF | X86_FLAG_CF);
    assert_int_equal(x86_get_rflags(cpu), 0x202 | X86_FLAG_DF | X86_FLAG_CF);

    in = h_insn(T, P, 0xf4, -1, 2);
    in.len = 1;
    assert_int_equal(h_exec(cpu, &in), X86_EXC_GP);
    assert_int_equal(cpu->rip, H_RIP);
    cpu->cpl = 0;
    assert_int_equal(h_exec(cpu, &in), H_EXIT + X86_EXIT_HLT);
    assert_int_equal(cpu->rip, H_RIP + 1);
    h_free_cpu(cpu);
}

static void test_flag_ops(void **state)
{
    (void)state;
    struct x86_cpu *cpu = h_new_cpu();
    struct x86_insn std = h_insn(T, P, 0xfd, -1, 2), cld = h_insn(T, P, 0xfc, -1, 2);
    x86_set_rflags(cpu, 0x202 | X86_FLAG_ZF);
    h_exec(cpu, &std);
    assert_int_equal(x86_get_rflags(cpu), 0x202 | X86_FLAG_ZF | X86_FLAG_DF);
    h_exec(cpu, &cld);
    assert_int_equal(x86_get_rflags(cpu), 0x202 | X86_FLAG_ZF);

    struct x86_insn cli = h_insn(T, P, 0xfa, -1, 2), sti = h_insn(T, P, 0xfb, -1, 2);
    assert_int_equal(h_exec(cpu, &cli), X86_EXC_GP);
    assert_int_equal(h_exec(cpu, &sti), X86_EXC_GP);
    assert_true(x86_get_rflags(cpu) & X86_FLAG_IF);
    x86_set_rflags(cpu, 0x3202); /* IOPL 3 */
    assert_int_equal(h_exec(cpu, &cli), H_NOFAULT);
    assert_int_equal(x86_get_rflags(cpu), 0x3002);
    assert_int_equal(h_exec(cpu, &sti), H_NOFAULT);
    assert_int_equal(x86_get_rflags(cpu), 0x3202);
    h_free_cpu(cpu);
}

static void test_fences_clflush_prefetch(void **state)
{
    (void)state;
    struct x86_cpu *cpu = h_new_cpu();
    uint64_t regs[16];
    memcpy(regs, cpu->gpr, sizeof(regs));
    for (int r = 5; r <= 7; r++) {
        struct x86_insn in = h_insn(T, F, 0xae, r, 2);
        in.fn = h_find(T, F, 0xae, X86_PFX_NONE, r, 0);
        assert_non_null(in.fn);
        assert_int_equal(h_exec(cpu, &in), H_NOFAULT);
    }
    uint8_t line[64];
    struct x86_insn in = h_insn_mem(T, F, 0xae, 7, 2, X86_RBX, 0);
    cpu->gpr[X86_RBX] = (uintptr_t)line;
    assert_int_equal(h_exec(cpu, &in), H_NOFAULT);
    uint8_t *gone = h_pages(1, 0, 0);
    munmap(gone, H_PAGE);
    cpu->gpr[X86_RBX] = (uintptr_t)gone + 8;
    assert_int_equal(h_exec(cpu, &in), X86_EXC_PF);
    assert_int_equal(cpu->exc.addr, (uintptr_t)gone + 8);
    /* 66 0F AE /7 (CLFLUSHOPT) is not implemented: no row matches. */
    assert_null(h_find(T, F, 0xae, X86_PFX_66, 7, 1));

    /* Prefetches never fault, even on unmapped memory. */
    for (int r = 0; r < 4; r++) {
        in = h_insn_mem(T, F, 0x18, r, 2, X86_RBX, 0);
        assert_int_equal(h_exec(cpu, &in), H_NOFAULT);
    }
    in = h_insn_mem(T, F, 0x0d, 1, 2, X86_RBX, 0);
    assert_int_equal(h_exec(cpu, &in), H_NOFAULT);
    regs[X86_RBX] = cpu->gpr[X86_RBX];
    assert_memory_equal(regs, cpu->gpr, sizeof(regs));

    /* RDRAND/RDSEED are not advertised: #UD. */
    for (int r = 6; r <= 7; r++) {
        in = h_insn(T, F, 0xc7, r, 2);
        in.rm = X86_RAX;
        assert_int_equal(h_exec(cpu, &in), X86_EXC_UD);
    }
    h_free_cpu(cpu);
}

static void test_xlat_vs_host(void **state)
{
    (void)state;
    struct x86_cpu *cpu = h_new_cpu();
    uint8_t table[256];
    for (int i = 0; i < 256; i++)
        table[i] = (uint8_t)(i * 31 + 7);
    struct x86_insn in = h_insn(T, P, 0xd7, -1, 0);
    for (uint64_t al = 0; al < 256; al += 17) {
        uint64_t rax = 0x1122334455667700ULL | al, host = rax;
        __asm__("xlat" : "+a"(host) : "b"(table) : "memory");
        cpu->gpr[X86_RAX] = rax;
        cpu->gpr[X86_RBX] = (uintptr_t)table;
        h_exec(cpu, &in);
        assert_int_equal(cpu->gpr[X86_RAX], host);
    }
    /* with an FS override */
    in.seg = X86_FS;
    cpu->seg[X86_FS].base = (uintptr_t)table;
    cpu->gpr[X86_RBX] = 1;
    cpu->gpr[X86_RAX] = 2;
    h_exec(cpu, &in);
    assert_int_equal(cpu->gpr[X86_RAX], table[3]);
    h_free_cpu(cpu);
}

/* Decoder + dispatch + run loop over the move, stack, branch and misc ops. */
static void test_program(void **state)
{
    (void)state;
    /* Reference the family tables so they are linked for the dispatch. */
    assert_non_null(x86_ops_move);
    assert_non_null(x86_ops_stack);
    assert_non_null(x86_ops_branch);
    assert_non_null(x86_ops_string);
    assert_non_null(x86_ops_misc);
    static const uint8_t code[] = {
        0xb9, 0x05, 0x00, 0x00, 0x00, /* mov ecx, 5 */
        0xb8, 0x00, 0x00, 0x00, 0x00, /* mov eax, 0 */
        0x8d, 0x04, 0x08,             /* 1: lea eax, [rax+rcx] */
        0xe2, 0xfb,                   /* loop 1b */
        0x50,                         /* push rax */
        0x5b,                         /* pop rbx */
        0x48, 0x8d, 0x14, 0x5b,       /* lea rdx, [rbx+rbx*2] */
        0xe8, 0x00, 0x00, 0x00, 0x00, /* call 2f */
        0x58,                         /* 2: pop rax */
        0xf3, 0x0f, 0x1e, 0xfa,       /* endbr64 */
        0x0f, 0x1f, 0x44, 0x00, 0x00, /* nopl 0(rax,rax,1) */
        0x48, 0x8d, 0x7c, 0x24, 0xf0, /* lea rdi, [rsp-16] */
        0xb0, 0x61,                   /* mov al, 'a' */
        0xb1, 0x10,                   /* mov cl, 16 */
        0xf3, 0xaa,                   /* rep stosb */
        0x0f, 0x05,                   /* syscall */
    };
    struct x86_cpu *cpu = h_new_cpu();
    uint8_t *page = h_pages(1, 0, 0);
    memcpy(page, code, sizeof(code));
    uint64_t sp = cpu->gpr[X86_RSP];
    cpu->rip = (uintptr_t)page;
    assert_int_equal(x86_run(cpu, 1000), X86_EXIT_SYSCALL);
    assert_int_equal(cpu->gpr[X86_RBX], 15);
    assert_int_equal(cpu->gpr[X86_RDX], 45);
    assert_int_equal(cpu->gpr[X86_RAX], (uintptr_t)page + 0x61); /* page + 26, AL = 0x61 */
    assert_int_equal(cpu->gpr[X86_RCX], (uintptr_t)page + sizeof(code));
    assert_int_equal(cpu->rip, (uintptr_t)page + sizeof(code));
    assert_int_equal(cpu->gpr[X86_RSP], sp);
    assert_int_equal(cpu->gpr[X86_RDI], sp);
    for (int i = 1; i <= 16; i++)
        assert_int_equal(((uint8_t *)(uintptr_t)sp)[-i], 'a');
    munmap(page, H_PAGE);
    h_free_cpu(cpu);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cpuid),
        cmocka_unit_test(test_rdtsc),
        cmocka_unit_test(test_syscall_hlt),
        cmocka_unit_test(test_flag_ops),
        cmocka_unit_test(test_fences_clflush_prefetch),
        cmocka_unit_test(test_xlat_vs_host),
        cmocka_unit_test(test_program),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
