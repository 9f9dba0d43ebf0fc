/* Data movement ops (move.c): MOV forms (segment registers too),
 * MOVZX/MOVSX/MOVSXD, LEA, XCHG, the NOP family, MOVNTI; results compared
 * with the host CPU where the instruction has any subtlety, precise faults,
 * and the exception a non-canonical or out-of-range address gives. */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "x86_flow_harness.h"

#define T x86_ops_move

static const uint64_t vals[] = {0,
                                1,
                                0x7f,
                                0x80,
                                0xff,
                                0x7fff,
                                0x8000,
                                0xffff8001,
                                0x80000000,
                                0x0123456789abcdefULL,
                                0xfedcba9876543210ULL,
                                ~0ULL};

static void test_mov_reg_forms(void **state)
{
    (void)state;
    struct x86_cpu *cpu = h_new_cpu();
    /* 89 /r, 32-bit: zero-extends; 16-bit: merges. */
    struct x86_insn in = h_insn(T, X86_MAP_PRIMARY, 0x89, -1, 2);
    in.reg = X86_RBX;
    in.rm = X86_RCX;
    cpu->gpr[X86_RBX] = 0x1111222233334444ULL;
    cpu->gpr[X86_RCX] = ~0ULL;
    assert_int_equal(h_exec(cpu, &in), H_NOFAULT);
    assert_int_equal(cpu->gpr[X86_RCX], 0x33334444ULL);
    in.osz = 1;
    cpu->gpr[X86_RCX] = ~0ULL;
    h_exec(cpu, &in);
    assert_int_equal(cpu->gpr[X86_RCX], 0xffffffffffff4444ULL);
    assert_int_equal(cpu->rip, H_RIP + in.len);

    /* 88: mov ah, dl and mov bl, ch (the AH.. convention). */
    in = h_insn(T, X86_MAP_PRIMARY, 0x88, -1, 0);
    in.reg = X86_RDX;
    in.rm = X86_AH + 0;
    cpu->gpr[X86_RAX] = 0x1122334455667788ULL;
    cpu->gpr[X86_RDX] = 0xab;
    h_exec(cpu, &in);
    assert_int_equal(cpu->gpr[X86_RAX], 0x112233445566ab88ULL);
    in.reg = X86_AH + 1; /* CH */
    in.rm = X86_RBX;
    cpu->gpr[X86_RCX] = 0xcd00;
    cpu->gpr[X86_RBX] = 0xffffffffffffffffULL;
    h_exec(cpu, &in);
    assert_int_equal(cpu->gpr[X86_RBX], 0xffffffffffffffcdULL);

    /* 8B with memory. */
    uint64_t mem = 0x8877665544332211ULL;
    in = h_insn_mem(T, X86_MAP_PRIMARY, 0x8b, -1, 3, X86_RSI, 0);
    in.reg = X86_R9;
    cpu->gpr[X86_RSI] = (uintptr_t)&mem;
    h_exec(cpu, &in);
    assert_int_equal(cpu->gpr[X86_R9], mem);
    /* 8A into BH from [rsi+1]. */
    in = h_insn_mem(T, X86_MAP_PRIMARY, 0x8a, -1, 0, X86_RSI, 1);
    in.reg = X86_AH + 3;
    cpu->gpr[X86_RBX] = 0;
    h_exec(cpu, &in);
    assert_int_equal(cpu->gpr[X86_RBX], 0x2200);
    h_free_cpu(cpu);
}

static void test_mov_imm(void **state)
{
    (void)state;
    struct x86_cpu *cpu = h_new_cpu();
    struct x86_insn in = h_insn(T, X86_MAP_PRIMARY, 0xb8 + 3, -1, 3);
    in.reg = X86_R11; /* 49 BB imm64 */
    in.imm = (int64_t)0x8badf00ddeadbeefULL;
    h_exec(cpu, &in);
    assert_int_equal(cpu->gpr[X86_R11], 0x8badf00ddeadbeefULL);
    in.osz = 2;
    in.imm = 0x80000000; /* imm32: zero-extended by the 32-bit write */
    h_exec(cpu, &in);
    assert_int_equal(cpu->gpr[X86_R11], 0x80000000ULL);
    in.osz = 1;
    in.imm = 0x1234;
    h_exec(cpu, &in);
    assert_int_equal(cpu->gpr[X86_R11], 0x80001234ULL);

    in = h_insn(T, X86_MAP_PRIMARY, 0xb4, -1, 0); /* mov ah, imm8 */
    in.reg = X86_AH;
    in.imm = 0x5a;
    cpu->gpr[X86_RAX] = ~0ULL;
    h_exec(cpu, &in);
    assert_int_equal(cpu->gpr[X86_RAX], 0xffffffffffff5affULL);

    /* C7 /0 with REX.W to memory: imm32 sign-extended (by the decoder). */
    uint64_t mem = 0;
    in = h_insn_mem(T, X86_MAP_PRIMARY, 0xc7, 0, 3, X86_RDI, 8);
    in.imm = -2;
    cpu->gpr[X86_RDI] = (uintptr_t)&mem - 8;
    h_exec(cpu, &in);
    assert_int_equal(mem, 0xfffffffffffffffeULL);
    in = h_insn_mem(T, X86_MAP_PRIMARY, 0xc6, 0, 0, X86_RDI, 9);
    in.imm = 0x77;
    h_exec(cpu, &in);
    assert_int_equal(mem, 0xffffffffffff77feULL);
    h_free_cpu(cpu);
}

/* A0-A3: absolute offsets, with an FS override and 32-bit addressing. */
static void test_mov_moffs(void **state)
{
    (void)state;
    struct x86_cpu *cpu = h_new_cpu();
    uint8_t *low = h_pages(1, 0, MAP_32BIT);
    uint64_t v = 0x0102030405060708ULL;
    memcpy(low + 16, &v, 8);

    struct x86_insn in = h_insn(T, X86_MAP_PRIMARY, 0xa1, -1, 3);
    in.imm = (int64_t)(uintptr_t)(low + 16);
    h_exec(cpu, &in);
    assert_int_equal(cpu->gpr[X86_RAX], v);

    in.asz = 2; /* a 32-bit moffs */
    in.osz = 2;
    cpu->gpr[X86_RAX] = ~0ULL;
    h_exec(cpu, &in);
    assert_int_equal(cpu->gpr[X86_RAX], 0x05060708ULL);

    in = h_insn(T, X86_MAP_PRIMARY, 0xa2, -1, 0); /* mov [fs:16], al */
    in.seg = X86_FS;
    in.imm = 16;
    cpu->seg[X86_FS].base = (uintptr_t)low;
    cpu->gpr[X86_RAX] = 0xee;
    h_exec(cpu, &in);
    assert_int_equal(low[16], 0xee);
    in = h_insn(T, X86_MAP_PRIMARY, 0xa3, -1, 1);
    in.seg = X86_FS;
    in.imm = 18;
    cpu->gpr[X86_RAX] = 0xbeef;
    h_exec(cpu, &in);
    assert_int_equal(low[18] | low[19] << 8, 0xbeef);
    assert_int_equal(low[20], 0x04);
    in = h_insn(T, X86_MAP_PRIMARY, 0xa0, -1, 0);
    in.seg = X86_FS;
    in.imm = 17;
    h_exec(cpu, &in);
    assert_int_equal(cpu->gpr[X86_RAX] & 0xff, 0x07);
    munmap(low, H_PAGE);
    h_free_cpu(cpu);
}

/* MOVZX/MOVSX/MOVSXD against the host for every size pair. */
static void test_movx_vs_host(void **state)
{
    (void)state;
    struct x86_cpu *cpu = h_new_cpu();
    for (size_t i = 0; i < sizeof(vals) / sizeof(vals[0]); i++) {
        uint64_t v = vals[i], init = 0x5555555555555555ULL;
        uint64_t h[10];
        for (int k = 0; k < 10; k++)
            h[k] = init;
        __asm__("movzbw %b1, %w0" : "+r"(h[0]) : "r"(v));
        __asm__("movzbl %b1, %k0" : "+r"(h[1]) : "r"(v));
        __asm__("movzbq %b1, %0" : "+r"(h[2]) : "r"(v));
        __asm__("movzwl %w1, %k0" : "+r"(h[3]) : "r"(v));
        __asm__("movsbw %b1, %w0" : "+r"(h[4]) : "r"(v));
        __asm__("movsbq %b1, %0" : "+r"(h[5]) : "r"(v));
        __asm__("movswl %w1, %k0" : "+r"(h[6]) : "r"(v));
        __asm__("movswq %w1, %0" : "+r"(h[7]) : "r"(v));
        __asm__("movslq %k1, %0" : "+r"(h[8]) : "r"(v));
        __asm__(".byte 0x63, 0xc1" : "+a"(h[9]) : "c"(v)); /* movsxd eax, ecx (no REX.W) */
        static const struct {
            uint8_t map, op, osz;
        } f[10] = {{1, 0xb6, 1}, {1, 0xb6, 2}, {1, 0xb6, 3}, {1, 0xb7, 2}, {1, 0xbe, 1},
                   {1, 0xbe, 3}, {1, 0xbf, 2}, {1, 0xbf, 3}, {0, 0x63, 3}, {0, 0x63, 2}};
        for (int k = 0; k < 10; k++) {
            struct x86_insn in = h_insn(T, f[k].map, f[k].op, -1, f[k].osz);
            in.reg = X86_RDX;
            in.rm = X86_RCX;
            cpu->gpr[X86_RCX] = v;
            cpu->gpr[X86_RDX] = init;
            assert_int_equal(h_exec(cpu, &in), H_NOFAULT);
            assert_int_equal(cpu->gpr[X86_RDX], h[k]);
            /* The same from memory. */
            in = h_insn_mem(T, f[k].map, f[k].op, -1, f[k].osz, X86_RBX, 0);
            in.reg = X86_RDX;
            cpu->gpr[X86_RBX] = (uintptr_t)&v;
            cpu->gpr[X86_RDX] = init;
            h_exec(cpu, &in);
            assert_int_equal(cpu->gpr[X86_RDX], h[k]);
        }
    }
    /* movzx eax, ah */
    struct x86_insn in = h_insn(T, X86_MAP_0F, 0xb6, -1, 2);
    in.reg = X86_RAX;
    in.rm = X86_AH;
    cpu->gpr[X86_RAX] = 0xffffffffffff9a00ULL;
    h_exec(cpu, &in);
    assert_int_equal(cpu->gpr[X86_RAX], 0x9a);
    h_free_cpu(cpu);
}

/* LEA: the offset without the segment base, truncated to address and
 * operand size; a register operand is #UD. */
static void test_lea(void **state)
{
    (void)state;
    struct x86_cpu *cpu = h_new_cpu();
    struct x86_insn in = h_insn_mem(T, X86_MAP_PRIMARY, 0x8d, -1, 3, X86_RBX, -8);
    in.index = X86_RCX;
    in.scale = 3;
    in.reg = X86_RAX;
    in.seg = X86_FS;
    cpu->seg[X86_FS].base = 0x7000000000ULL;
    cpu->gpr[X86_RBX] = 0x1000;
    cpu->gpr[X86_RCX] = 0x10;
    assert_int_equal(h_exec(cpu, &in), H_NOFAULT);
    assert_int_equal(cpu->gpr[X86_RAX], 0x1000 + 0x80 - 8);

    uint64_t host;
    cpu->gpr[X86_RBX] = 0xfffffffffffffff0ULL;
    cpu->gpr[X86_RCX] = 0x20;
    __asm__("lea -8(%1,%2,8), %0" : "=r"(host) : "r"(cpu->gpr[X86_RBX]), "r"(cpu->gpr[X86_RCX]));
    h_exec(cpu, &in);
    assert_int_equal(cpu->gpr[X86_RAX], host);

    in.asz = 2; /* 67: the address wraps at 4 GiB */
    __asm__("lea -8(%k1,%k2,8), %0" : "=r"(host) : "r"(cpu->gpr[X86_RBX]), "r"(cpu->gpr[X86_RCX]));
    h_exec(cpu, &in);
    assert_int_equal(cpu->gpr[X86_RAX], host);

    in.asz = 3;
    in.osz = 1;
    cpu->gpr[X86_RAX] = 0x1111222233334444ULL;
    h_exec(cpu, &in);
    assert_int_equal(cpu->gpr[X86_RAX], 0x1111222233330000ULL | (host & 0xffff));

    in.flags = X86_I_MODRM; /* lea rax, rbx */
    in.rm = X86_RBX;
    uint64_t before = cpu->gpr[X86_RAX];
    assert_int_equal(h_exec(cpu, &in), X86_EXC_UD);
    assert_int_equal(cpu->rip, H_RIP);
    assert_int_equal(cpu->gpr[X86_RAX], before);
    h_free_cpu(cpu);
}

static void test_xchg(void **state)
{
    (void)state;
    struct x86_cpu *cpu = h_new_cpu();
    /* 87 C0: xchg eax, eax zero-extends; 90: NOP does not. */
    struct x86_insn in = h_insn(T, X86_MAP_PRIMARY, 0x87, -1, 2);
    in.reg = X86_RAX;
    in.rm = X86_RAX;
    cpu->gpr[X86_RAX] = 0xffffffff00001234ULL;
    h_exec(cpu, &in);
    assert_int_equal(cpu->gpr[X86_RAX], 0x1234);
    in = h_insn(T, X86_MAP_PRIMARY, 0x90, -1, 2);
    in.reg = X86_RAX;
    cpu->gpr[X86_RAX] = 0xffffffff00001234ULL;
    h_exec(cpu, &in);
    assert_int_equal(cpu->gpr[X86_RAX], 0xffffffff00001234ULL);
    /* 41 90: xchg r8d, eax */
    in.reg = X86_R8;
    cpu->gpr[X86_R8] = 0xaaaaaaaa00000001ULL;
    h_exec(cpu, &in);
    assert_int_equal(cpu->gpr[X86_RAX], 1);
    assert_int_equal(cpu->gpr[X86_R8], 0x1234);
    /* F3 90 (PAUSE) changes nothing. */
    in = h_insn(T, X86_MAP_PRIMARY, 0x90, -1, 2);
    in.fn = h_find(T, X86_MAP_PRIMARY, 0x90, X86_PFX_F3, -1, 0);
    assert_non_null(in.fn);
    assert_ptr_not_equal(in.fn, h_find(T, X86_MAP_PRIMARY, 0x90, X86_PFX_NONE, -1, 0));
    in.reg = X86_RAX;
    cpu->gpr[X86_RAX] = 0xffffffff00001234ULL;
    h_exec(cpu, &in);
    assert_int_equal(cpu->gpr[X86_RAX], 0xffffffff00001234ULL);
    /* 86: xchg ah, al */
    in = h_insn(T, X86_MAP_PRIMARY, 0x86, -1, 0);
    in.reg = X86_AH;
    in.rm = X86_RAX;
    cpu->gpr[X86_RAX] = 0x1234;
    h_exec(cpu, &in);
    assert_int_equal(cpu->gpr[X86_RAX], 0x3412);
    /* 87 with memory, 16-bit. */
    uint64_t mem = 0x1111222233334444ULL;
    in = h_insn_mem(T, X86_MAP_PRIMARY, 0x87, -1, 1, X86_RSI, 2);
    in.reg = X86_RDX;
    cpu->gpr[X86_RSI] = (uintptr_t)&mem;
    cpu->gpr[X86_RDX] = 0xffffffffffffabcdULL;
    h_exec(cpu, &in);
    assert_int_equal(mem, 0x11112222abcd4444ULL);
    assert_int_equal(cpu->gpr[X86_RDX], 0xffffffffffff3333ULL);
    h_free_cpu(cpu);
}

/* A store to a read-only page is a precise #PF: nothing changes. */
static void test_xchg_fault_precise(void **state)
{
    (void)state;
    struct x86_cpu *cpu = h_new_cpu();
    uint8_t *page = h_pages(1, 0, 0);
    memset(page, 0x5a, H_PAGE);
    mprotect(page, H_PAGE, PROT_READ);
    struct x86_insn in = h_insn_mem(T, X86_MAP_PRIMARY, 0x87, -1, 3, X86_RSI, 64);
    in.reg = X86_RDX;
    cpu->gpr[X86_RSI] = (uintptr_t)page;
    cpu->gpr[X86_RDX] = 42;
    assert_int_equal(h_exec(cpu, &in), X86_EXC_PF);
    assert_int_equal(cpu->exc.addr, (uintptr_t)page + 64);
    assert_true(cpu->exc.error & 2); /* a write */
    assert_int_equal(cpu->rip, H_RIP);
    assert_int_equal(cpu->gpr[X86_RDX], 42);
    assert_int_equal(page[64], 0x5a);

    /* A load from an unmapped page leaves the destination alone. */
    munmap(page, H_PAGE);
    in = h_insn_mem(T, X86_MAP_PRIMARY, 0x8b, -1, 3, X86_RSI, 8);
    in.reg = X86_RDX;
    assert_int_equal(h_exec(cpu, &in), X86_EXC_PF);
    assert_int_equal(cpu->exc.addr, (uintptr_t)page + 8);
    assert_false(cpu->exc.error & 2);
    assert_int_equal(cpu->gpr[X86_RDX], 42);
    h_free_cpu(cpu);
}

/* NOP forms take a memory operand without touching it. */
static void test_nops_and_movnti(void **state)
{
    (void)state;
    struct x86_cpu *cpu = h_new_cpu();
    uint64_t regs[16];
    memcpy(regs, cpu->gpr, sizeof(regs));
    static const uint8_t ops[] = {0x19, 0x1a, 0x1b, 0x1c, 0x1d, 0x1e, 0x1f};
    for (size_t i = 0; i < sizeof(ops); i++) {
        struct x86_insn in = h_insn_mem(T, X86_MAP_0F, ops[i], 0, 2, X86_NO_REG, 16);
        assert_non_null(in.fn);
        assert_int_equal(h_exec(cpu, &in), H_NOFAULT);
    }
    for (int r = 4; r < 8; r++) { /* 0F 18 /4-/7 */
        struct x86_insn in = h_insn_mem(T, X86_MAP_0F, 0x18, r, 2, X86_NO_REG, 16);
        assert_non_null(in.fn);
        assert_int_equal(h_exec(cpu, &in), H_NOFAULT);
    }
    assert_memory_equal(regs, cpu->gpr, sizeof(regs));

    uint64_t mem = 0;
    struct x86_insn in = h_insn_mem(T, X86_MAP_0F, 0xc3, -1, 3, X86_RDI, 0);
    in.fn = h_find(T, X86_MAP_0F, 0xc3, X86_PFX_NONE, -1, 1);
    in.reg = X86_RCX;
    cpu->gpr[X86_RDI] = (uintptr_t)&mem;
    cpu->gpr[X86_RCX] = 0xfeedfacecafebeefULL;
    h_exec(cpu, &in);
    assert_int_equal(mem, 0xfeedfacecafebeefULL);
    assert_null(h_find(T, X86_MAP_0F, 0xc3, X86_PFX_NONE, -1, 0)); /* register form: #UD */
    assert_null(h_find(T, X86_MAP_PRIMARY, 0x8d, X86_PFX_NONE, -1, 0));
    h_free_cpu(cpu);
}

/* 66 63 (MOVSXD r16, r/m): the source is still a dword, as on the host: a
 * dword crossing into an unmapped page faults there; two bytes are kept. */
static void test_movsxd16_reads_dword(void **state)
{
    (void)state;
    struct x86_cpu *cpu = h_new_cpu();
    uint8_t *page = h_pages(1, 1, 0);
    struct x86_insn in = h_insn_mem(T, X86_MAP_PRIMARY, 0x63, -1, 1, X86_RSI, 0);
    in.reg = X86_RDX;
    memcpy(page + H_PAGE - 4, "\x34\x82\x00\x80", 4);
    cpu->gpr[X86_RDX] = 0x1111111111111111ULL;
    cpu->gpr[X86_RSI] = (uintptr_t)page + H_PAGE - 4;
    assert_int_equal(h_exec(cpu, &in), H_NOFAULT);
    assert_int_equal(cpu->gpr[X86_RDX], 0x1111111111118234ULL);
    cpu->gpr[X86_RSI] = (uintptr_t)page + H_PAGE - 2;
    assert_int_equal(h_exec(cpu, &in), X86_EXC_PF);
    assert_int_equal(cpu->exc.addr, (uintptr_t)page + H_PAGE);
    assert_int_equal(cpu->gpr[X86_RDX], 0x1111111111118234ULL);
    munmap(page, 2 * H_PAGE);
    h_free_cpu(cpu);
}

/* 8C: MOV r/m, Sreg against the host (Linux's user selectors: CS 0x33,
 * SS 0x2b, the others 0). A register takes the selector zero-extended at 32
 * and 64 bits and merged at 16; memory always gets 16 bits. */
static uint64_t native_mov_from_sreg(unsigned sreg, unsigned osz, uint64_t rax)
{
#define N_SREG(name)                                                                               \
    do {                                                                                           \
        if (osz == 3)                                                                              \
            __asm__ volatile("mov %%" name ", %%rax" : "+a"(rax));                                 \
        else if (osz == 2)                                                                         \
            __asm__ volatile("mov %%" name ", %%eax" : "+a"(rax));                                 \
        else                                                                                       \
            __asm__ volatile(".byte 0x66\n\tmov %%" name ", %%eax" : "+a"(rax));                   \
    } while (0)
    switch (sreg) {
    case X86_ES:
        N_SREG("es");
        break;
    case X86_CS:
        N_SREG("cs");
        break;
    case X86_SS:
        N_SREG("ss");
        break;
    case X86_DS:
        N_SREG("ds");
        break;
    case X86_FS:
        N_SREG("fs");
        break;
    default:
        N_SREG("gs");
    }
#undef N_SREG
    return rax;
}

static void test_mov_from_sreg(void **state)
{
    (void)state;
    struct x86_cpu *cpu = h_new_cpu();
    for (unsigned sreg = 0; sreg < 6; sreg++) {
        for (unsigned osz = 1; osz <= 3; osz++) {
            struct x86_insn in = h_insn(T, X86_MAP_PRIMARY, 0x8c, (int)sreg, osz);
            in.rm = X86_RAX;
            in.flags = X86_I_MODRM;
            cpu->gpr[X86_RAX] = 0x1234567812345678ULL;
            assert_int_equal(h_exec(cpu, &in), H_NOFAULT);
            assert_int_equal(cpu->gpr[X86_RAX],
                             native_mov_from_sreg(sreg, osz, 0x1234567812345678ULL));
        }
        /* REX.R does not change the register (ModRM.reg 8 + n is still n). */
        struct x86_insn in = h_insn(T, X86_MAP_PRIMARY, 0x8c, (int)sreg, 3);
        in.reg = (uint8_t)(sreg + 8);
        in.rm = X86_RCX;
        in.flags = X86_I_MODRM;
        assert_int_equal(h_exec(cpu, &in), H_NOFAULT);
        assert_int_equal(cpu->gpr[X86_RCX], cpu->seg[sreg].selector);
        /* Memory: two bytes, whatever the operand size. */
        uint64_t mem = ~0ULL;
        in = h_insn_mem(T, X86_MAP_PRIMARY, 0x8c, (int)sreg, 3, X86_RDI, 0);
        cpu->gpr[X86_RDI] = (uintptr_t)&mem;
        assert_int_equal(h_exec(cpu, &in), H_NOFAULT);
        assert_int_equal(mem, 0xffffffffffff0000ULL | cpu->seg[sreg].selector);
    }
    h_free_cpu(cpu);
}

/* 8E: MOV Sreg, r/m16, against the host for every selector up to 0x100 (ES
 * and SS; loading them natively is harmless in 64-bit mode): the same
 * outcome and #GP error code. */
static sigjmp_buf n_jmp;
static volatile int n_vec;
static volatile uint32_t n_err;

static void n_segv(int sig, siginfo_t *si, void *ctx)
{
    (void)sig;
    (void)si;
    ucontext_t *uc = ctx;
    n_vec = (int)uc->uc_mcontext.gregs[REG_TRAPNO];
    n_err = (uint32_t)uc->uc_mcontext.gregs[REG_ERR];
    siglongjmp(n_jmp, 1);
}

static int native_load_sreg(unsigned sreg, uint16_t sel, uint32_t *err)
{
    struct sigaction sa, old;
    memset(&sa, 0, sizeof(sa));
    sa.sa_sigaction = n_segv;
    sa.sa_flags = SA_SIGINFO | SA_NODEFER;
    sigaction(SIGSEGV, &sa, &old);
    uint16_t saved;
    int r = H_NOFAULT;
    __asm__ volatile("mov %%ss, %0" : "=r"(saved));
    if (sigsetjmp(n_jmp, 1) == 0) {
        if (sreg == X86_SS)
            __asm__ volatile("mov %0, %%ss\n\tmov %1, %%ss" : : "r"(sel), "r"(saved));
        else
            __asm__ volatile("mov %0, %%es\n\tmov %1, %%es" : : "r"(sel), "r"((uint16_t)0));
    } else {
        r = n_vec;
        *err = n_err;
    }
    sigaction(SIGSEGV, &old, NULL);
    return r;
}

static void test_mov_to_sreg_vs_host(void **state)
{
    (void)state;
    struct x86_cpu *cpu = h_new_cpu();
    static const unsigned sregs[] = {X86_ES, X86_SS};
    for (unsigned k = 0; k < 2; k++) {
        for (unsigned sel = 0; sel <= 0x100; sel++) {
            struct x86_insn in = h_insn(T, X86_MAP_PRIMARY, 0x8e, (int)sregs[k], 2);
            in.rm = X86_RDX;
            in.flags = X86_I_MODRM;
            cpu->gpr[X86_RDX] = 0xabcd0000u | sel; /* only the low 16 bits count */
            uint16_t before = cpu->seg[sregs[k]].selector;
            uint32_t nerr = 0;
            int nat = native_load_sreg(sregs[k], (uint16_t)sel, &nerr);
            int emu = h_exec(cpu, &in);
            if (nat != emu || (nat == X86_EXC_GP && nerr != cpu->exc.error))
                fail_msg("mov %s, %#x: native %d (error %#x), emulator %d (error %#x)",
                         k ? "ss" : "es", sel, nat, nerr, emu, cpu->exc.error);
            assert_int_equal(cpu->seg[sregs[k]].selector, emu == H_NOFAULT ? sel : before);
            cpu->seg[X86_ES].selector = 0;
            cpu->seg[X86_SS].selector = 0x2b;
        }
    }
    /* A memory source is a 16-bit load. */
    uint8_t *page = h_pages(1, 1, 0);
    memcpy(page + H_PAGE - 2, "\x2b\x00", 2);
    struct x86_insn in = h_insn_mem(T, X86_MAP_PRIMARY, 0x8e, X86_DS, 3, X86_RSI, 0);
    cpu->gpr[X86_RSI] = (uintptr_t)page + H_PAGE - 2;
    assert_int_equal(h_exec(cpu, &in), H_NOFAULT);
    assert_int_equal(cpu->seg[X86_DS].selector, 0x2b);
    /* FS/GS: a load sets the base from the descriptor (0), and a null load
     * clears it, as the host does. */
    in = h_insn(T, X86_MAP_PRIMARY, 0x8e, X86_FS, 2);
    in.rm = X86_RDX;
    in.flags = X86_I_MODRM;
    cpu->seg[X86_FS].base = 0x7000;
    cpu->gpr[X86_RDX] = 0;
    assert_int_equal(h_exec(cpu, &in), H_NOFAULT);
    assert_int_equal(cpu->seg[X86_FS].base, 0);
    cpu->seg[X86_FS].base = 0x7000;
    cpu->gpr[X86_RDX] = 0x10;
    assert_int_equal(h_exec(cpu, &in), X86_EXC_GP);
    assert_int_equal(cpu->exc.error, 0x10);
    assert_int_equal(cpu->seg[X86_FS].base, 0x7000);
    munmap(page, 2 * H_PAGE);
    h_free_cpu(cpu);
}

/* Addresses the flat model cannot map: non-canonical is #GP(0), or #SS(0)
 * through an RSP or RBP base (the host ignores a DS override there and
 * honours FS), also when only the last byte is non-canonical; canonical
 * but past mem_limit is #PF (not present) at the first byte out of range. */
static void test_bad_addresses(void **state)
{
    (void)state;
    struct x86_cpu *cpu = h_new_cpu();
    const uint64_t nc = 1ULL << 47;
    static const struct {
        unsigned base, seg;
        int64_t off;
        int vector;
    } cases[] = {
        {X86_RBX, X86_DS, 0, X86_EXC_GP},  {X86_RBP, X86_SS, 0, X86_EXC_SS},
        {X86_RSP, X86_SS, 0, X86_EXC_SS},  {X86_RSP, X86_DS, 0, X86_EXC_SS},
        {X86_RBP, X86_FS, 0, X86_EXC_GP},  {X86_RBX, X86_SS, 0, X86_EXC_GP},
        {X86_RBX, X86_DS, -4, X86_EXC_GP}, {X86_RBP, X86_SS, -4, X86_EXC_SS},
        {X86_RBX, X86_DS, -8, H_NOFAULT},
    };
    uint64_t saved_sp = cpu->gpr[X86_RSP];
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct x86_insn in = h_insn_mem(T, X86_MAP_PRIMARY, 0x8b, -1, 3, cases[i].base, 0);
        in.reg = X86_RAX;
        in.seg = (uint8_t)cases[i].seg;
        cpu->gpr[cases[i].base] = nc + (uint64_t)cases[i].off;
        cpu->seg[X86_FS].base = 0;
        int v = h_exec(cpu, &in);
        cpu->gpr[X86_RSP] = saved_sp;
        if (cases[i].vector == H_NOFAULT) { /* the last canonical bytes: not mapped */
            assert_int_equal(v, X86_EXC_PF);
            continue;
        }
        if (v != cases[i].vector)
            fail_msg("case %zu: vector %d, expected %d", i, v, cases[i].vector);
        assert_int_equal(cpu->exc.error, 0);
        assert_int_equal(cpu->rip, H_RIP);
    }
    /* Past mem_limit: #PF, not present, at the first byte out of range. */
    cpu->mem_limit = 0x100000;
    struct x86_insn in = h_insn_mem(T, X86_MAP_PRIMARY, 0x89, -1, 3, X86_RBX, 0);
    in.reg = X86_RAX;
    cpu->gpr[X86_RBX] = 0x100000 - 4;
    assert_int_equal(h_exec(cpu, &in), X86_EXC_PF);
    assert_int_equal(cpu->exc.addr, 0x100000);
    assert_int_equal(cpu->exc.error, X86_PF_USER | X86_PF_WRITE);
    cpu->gpr[X86_RBX] = 0xffff800000000000ULL;
    assert_int_equal(h_exec(cpu, &in), X86_EXC_PF);
    assert_int_equal(cpu->exc.addr, 0xffff800000000000ULL);
    h_free_cpu(cpu);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_mov_reg_forms),
        cmocka_unit_test(test_mov_imm),
        cmocka_unit_test(test_mov_moffs),
        cmocka_unit_test(test_movx_vs_host),
        cmocka_unit_test(test_lea),
        cmocka_unit_test(test_xchg),
        cmocka_unit_test(test_xchg_fault_precise),
        cmocka_unit_test(test_nops_and_movnti),
        cmocka_unit_test(test_movsxd16_reads_dword),
        cmocka_unit_test(test_mov_from_sreg),
        cmocka_unit_test(test_mov_to_sreg_vs_host),
        cmocka_unit_test(test_bad_addresses),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
