/* The legacy-mode-only instructions (legacy.c), decoded and run by
 * x86_run() on a user-mode CPU switched to 32-bit code (66 for the 16-bit
 * operand size) and, in one test, to 16-bit code: PUSH/POP ES CS SS DS,
 * the one-byte INC/DEC (against FF /0 /1), PUSHA/POPA (order, the skipped
 * SP slot, 16-bit stacks that wrap, precise faults), the BCD adjustments
 * (edge cases taken from an AMD Zen 3 host, and where the host is a Zen
 * CPU an exhaustive comparison with it, run natively in compatibility
 * mode), AAM 0, BOUND, ARPL (and MOVSXD, which shares its opcode, in
 * 64-bit mode), SALC.
 */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <sys/wait.h>
#include <unistd.h>

#include "x86_flow_harness.h"
#include "x86_host.h"

H_FAMILY(legacy)

/* Low memory (32-bit code sees linear = host address): code page, data
 * page, a 32-bit stack below STACK_TOP, and 64 KiB for a 16-bit stack
 * (SS.base = LOW_SS16). */
#define LOW_SIZE   0x14000
#define LOW_CODE   0x0000
#define LOW_DATA   0x1000
#define STACK_TOP  0x3800
#define LOW_SS16   0x4000
#define CODE_SLACK 16

static uint8_t *low;

static int setup(void **state)
{
    (void)state;
    low = h_pages(LOW_SIZE / H_PAGE, 0, MAP_32BIT);
    return (uintptr_t)low + LOW_SIZE <= 1ull << 32 && h_ops_legacy[0].fn ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    munmap(low, LOW_SIZE);
    return 0;
}

/* Each test starts with a fresh CPU switched to 32-bit code (in the test
 * itself: h_new_cpu installs the handler that turns host faults into guest
 * #PF, and cmocka puts its own back after every fixture). */
static void begin32(void)
{
    cpu = h_new_cpu();
    cpu->code_mode = X86_MODE32;
    cpu->sp_mask = 0xffffffff;
    cpu->gpr[X86_RSP] = (uintptr_t)low + STACK_TOP;
    /* The selectors of a 32-bit Linux process (flat: the bases stay 0). */
    assert_int_equal(cpu->seg[X86_SS].selector, 0x2b);
    cpu->seg[X86_DS] = cpu->seg[X86_ES] = cpu->seg[X86_SS];
    cpu->seg[X86_CS].selector = 0x23;
}

static int end_test(void **state)
{
    (void)state;
    h_free_cpu(cpu);
    cpu = NULL;
    return 0;
}

static uint64_t lin(unsigned off)
{
    return (uintptr_t)low + off;
}

/* Run the instruction in b[0..n) once. Returns H_NOFAULT (RIP then past
 * it) or the exception vector (RIP still at it). 16-bit code runs at
 * CS:0 with CS.base at the code page. */
static int run(const uint8_t *b, size_t n)
{
    uint8_t *code = low + LOW_CODE;
    if (memcmp(code, b, n) != 0 || code[n] != 0x90) {
        memcpy(code, b, n);
        memset(code + n, 0x90, CODE_SLACK);
        x86_invalidate_code(cpu, (uintptr_t)code, n + CODE_SLACK);
    }
    uint64_t ip = (uintptr_t)code;
    if (cpu->code_mode == X86_MODE16) {
        cpu->seg[X86_CS].base = ip;
        ip = 0;
    }
    cpu->rip = ip;
    enum x86_exit e = x86_run(cpu, 1);
    if (e == X86_EXIT_BUDGET) {
        assert_int_equal(cpu->rip, ip + n);
        return H_NOFAULT;
    }
    assert_int_equal(e, X86_EXIT_EXCEPTION);
    assert_int_equal(cpu->rip, ip);
    return cpu->exc.vector;
}

#define RUN(...) run((const uint8_t[]){__VA_ARGS__}, sizeof((const uint8_t[]){__VA_ARGS__}))

/* A 16-bit stack (SS.B = 0) over the 64 KiB at LOW_SS16. */
static void stack16(uint64_t esp)
{
    cpu->sp_mask = 0xffff;
    cpu->seg[X86_SS].base = lin(LOW_SS16);
    cpu->gpr[X86_RSP] = esp;
}

static uint64_t arith(void)
{
    return x86_get_rflags(cpu) & X86_FLAGS_ARITH;
}

static void set_arith(uint64_t f)
{
    x86_set_rflags(cpu, (x86_get_rflags(cpu) & ~(uint64_t)X86_FLAGS_ARITH) | f);
}

static uint32_t rd32(unsigned off)
{
    uint32_t v;
    memcpy(&v, low + off, 4);
    return v;
}

static void wr32(unsigned off, uint32_t v)
{
    memcpy(low + off, &v, 4);
}

/* --- segment registers --- */

static void test_push_pop_sreg(void **state)
{
    (void)state;
    begin32();
    uint64_t sp = cpu->gpr[X86_RSP];
    static const struct {
        uint8_t op;
        unsigned sreg;
    } push[] = {{0x06, X86_ES}, {0x0e, X86_CS}, {0x16, X86_SS}, {0x1e, X86_DS}};
    for (size_t i = 0; i < 4; i++) {
        /* 32-bit: four bytes, the selector zero-extended. */
        wr32(STACK_TOP - 4, 0xdeadbeef);
        assert_int_equal(RUN(push[i].op), H_NOFAULT);
        assert_int_equal(cpu->gpr[X86_RSP], sp - 4);
        assert_int_equal(rd32(STACK_TOP - 4), cpu->seg[push[i].sreg].selector);
        /* 16-bit: two bytes. */
        wr32(STACK_TOP - 8, 0xdeadbeef);
        assert_int_equal(RUN(0x66, push[i].op), H_NOFAULT);
        assert_int_equal(cpu->gpr[X86_RSP], sp - 6);
        assert_int_equal(rd32(STACK_TOP - 8),
                         0xbeef | (uint32_t)cpu->seg[push[i].sreg].selector << 16);
        cpu->gpr[X86_RSP] = sp;
    }

    /* POP DS/ES/SS through the descriptor checks. */
    wr32(STACK_TOP - 4, 0xffff002b);
    cpu->gpr[X86_RSP] = sp - 4;
    assert_int_equal(RUN(0x1f), H_NOFAULT); /* pop ds: 32-bit slot, selector in the low half */
    assert_int_equal(cpu->seg[X86_DS].selector, 0x2b);
    assert_int_equal(cpu->gpr[X86_RSP], sp);
    cpu->gpr[X86_RSP] = sp - 4;
    wr32(STACK_TOP - 4, 0);
    assert_int_equal(RUN(0x07), H_NOFAULT); /* null ES is allowed */
    assert_int_equal(cpu->seg[X86_ES].selector, 0);
    cpu->gpr[X86_RSP] = sp - 2;
    assert_int_equal(RUN(0x66, 0x17), X86_EXC_GP); /* pop ss, null: #GP(0) */
    assert_int_equal(cpu->exc.error, 0);
    assert_int_equal(cpu->gpr[X86_RSP], sp - 2);
    assert_int_equal(cpu->seg[X86_SS].selector, 0x2b);
    wr32(STACK_TOP - 4, 0x0000002b);
    cpu->gpr[X86_RSP] = sp - 4;
    assert_int_equal(RUN(0x17), H_NOFAULT);
    assert_int_equal(cpu->gpr[X86_RSP], sp);
    wr32(STACK_TOP - 4, 0x1234);
    cpu->gpr[X86_RSP] = sp - 4;
    assert_int_equal(RUN(0x1f), X86_EXC_GP); /* no such descriptor: #GP(selector) */
    assert_int_equal(cpu->exc.error, 0x1234 & 0xfffc);
    assert_int_equal(cpu->gpr[X86_RSP], sp - 4);
    assert_int_equal(cpu->seg[X86_DS].selector, 0x2b);
    wr32(STACK_TOP - 4, 0x23); /* 32-bit code: not a stack segment */
    assert_int_equal(RUN(0x17), X86_EXC_GP);
    assert_int_equal(cpu->exc.error, 0x20);
}

/* A 16-bit stack: SP wraps, the upper half of ESP stays. */
static void test_sreg_16bit_stack(void **state)
{
    (void)state;
    begin32();
    stack16(0xabcd0000);
    assert_int_equal(RUN(0x1e), H_NOFAULT); /* push ds: 4 bytes, SP 0 -> 0xfffc */
    assert_int_equal(cpu->gpr[X86_RSP], 0xabcdfffc);
    uint32_t v = rd32(LOW_SS16 + 0xfffc);
    assert_int_equal(v, 0x2b);
    assert_int_equal(RUN(0x66, 0x07), H_NOFAULT); /* pop es: 2 bytes */
    assert_int_equal(cpu->seg[X86_ES].selector, 0x2b);
    assert_int_equal(cpu->gpr[X86_RSP], 0xabcdfffe);
    assert_int_equal(RUN(0x66, 0x1f), H_NOFAULT); /* pop ds: the zero half, SP wraps */
    assert_int_equal(cpu->seg[X86_DS].selector, 0);
    assert_int_equal(cpu->gpr[X86_RSP], 0xabcd0000);
}

/* --- INC/DEC --- */

/* 40+r / 48+r give what FF /0 /1 (alu.c) gives on the same register. */
static void test_incdec_like_ff(void **state)
{
    (void)state;
    begin32();
    assert_non_null(x86_ops_alu);
    static const uint32_t vals[] = {0,          1,          0x0f,      0x7f,   0x80,
                                    0xff,       0x7fff,     0x8000,    0xffff, 0x7fffffff,
                                    0x80000000, 0xffffffff, 0x1234fff0};
    for (unsigned osz = 1; osz <= 2; osz++) {
        for (unsigned op = 0x40; op < 0x50; op++) {
            unsigned r = op & 7, modrm = 0xc0 | (op & 8) | r;
            if (r == X86_RSP)
                continue; /* keep the stack */
            for (size_t i = 0; i < sizeof(vals) / sizeof(vals[0]); i++) {
                for (uint64_t cf = 0; cf <= CF; cf++) {
                    uint64_t in = 0x5555555500000000ull | vals[i];
                    cpu->gpr[r] = in;
                    set_arith(cf | (vals[i] & 1 ? OF | ZF : SF | AF));
                    assert_int_equal(osz == 1 ? RUN(0x66, 0xff, modrm) : RUN(0xff, modrm),
                                     H_NOFAULT);
                    uint64_t want = cpu->gpr[r], want_fl = arith();
                    cpu->gpr[r] = in;
                    set_arith(cf | (vals[i] & 1 ? OF | ZF : SF | AF));
                    assert_int_equal(osz == 1 ? RUN(0x66, op) : RUN(op), H_NOFAULT);
                    assert_int_equal(cpu->gpr[r], want);
                    assert_int_equal(arith(), want_fl);
                }
            }
        }
    }
    /* Spot checks of what that is. */
    cpu->gpr[X86_RAX] = 0x7fffffff;
    set_arith(CF);
    assert_int_equal(RUN(0x40), H_NOFAULT); /* inc eax */
    assert_int_equal(cpu->gpr[X86_RAX], 0x80000000);
    assert_int_equal(arith(), CF | OF | SF | AF | PF);
    cpu->gpr[X86_RDI] = 0xabcd0000;
    set_arith(0);
    assert_int_equal(RUN(0x66, 0x4f), H_NOFAULT); /* dec di */
    assert_int_equal(cpu->gpr[X86_RDI], 0xabcdffff);
    assert_int_equal(arith(), SF | AF | PF);
}

/* --- PUSHA/POPA --- */

static void set_regs(uint64_t base)
{
    for (unsigned r = 0; r < 8; r++) {
        if (r != X86_RSP)
            cpu->gpr[r] = base + r * 0x01010101;
    }
}

static void test_pusha_popa(void **state)
{
    (void)state;
    begin32();
    uint64_t sp = cpu->gpr[X86_RSP];
    set_regs(0x10203040);
    assert_int_equal(RUN(0x60), H_NOFAULT);
    assert_int_equal(cpu->gpr[X86_RSP], sp - 32);
    /* EAX at the top, then ECX EDX EBX, the old ESP, EBP ESI EDI. */
    for (unsigned r = 0; r < 8; r++) {
        uint32_t want = r == X86_RSP ? (uint32_t)sp : (uint32_t)(0x10203040 + r * 0x01010101);
        assert_int_equal(rd32(STACK_TOP - 4 - 4 * r), want);
    }
    /* POPA loads all but the SP slot. */
    wr32(STACK_TOP - 20, 0x11111111);
    for (unsigned r = 0; r < 8; r++)
        cpu->gpr[r] = r == X86_RSP ? cpu->gpr[r] : 0xffffffff00000000ull;
    assert_int_equal(RUN(0x61), H_NOFAULT);
    assert_int_equal(cpu->gpr[X86_RSP], sp);
    for (unsigned r = 0; r < 8; r++) {
        if (r != X86_RSP)
            assert_int_equal(cpu->gpr[r], 0x10203040 + r * 0x01010101);
    }

    /* 16-bit: two-byte slots; POPA writes only the low halves. */
    set_regs(0xaaaa1000);
    assert_int_equal(RUN(0x66, 0x60), H_NOFAULT);
    assert_int_equal(cpu->gpr[X86_RSP], sp - 16);
    for (unsigned r = 0; r < 8; r++) {
        uint16_t v;
        memcpy(&v, low + STACK_TOP - 2 - 2 * r, 2);
        assert_int_equal(v, r == X86_RSP ? (uint16_t)sp : (uint16_t)(0x1000 + r * 0x0101));
    }
    set_regs(0x55550000);
    assert_int_equal(RUN(0x66, 0x61), H_NOFAULT);
    assert_int_equal(cpu->gpr[X86_RSP], sp);
    for (unsigned r = 0; r < 8; r++) {
        if (r != X86_RSP)
            assert_int_equal(cpu->gpr[r], 0x55550000 + r * 0x01010000 + 0x1000 + r * 0x0101);
    }
}

/* On a 16-bit stack each slot wraps on its own: PUSHA at SP = 4 writes two
 * slots at the bottom of the segment and six at its top. */
static void test_pusha_16bit_stack_wraps(void **state)
{
    (void)state;
    begin32();
    stack16(0x77770004);
    set_regs(0x100);
    assert_int_equal(RUN(0x66, 0x60), H_NOFAULT);
    assert_int_equal(cpu->gpr[X86_RSP], 0x7777fff4);
    static const unsigned slot[8] = {2, 0, 0xfffe, 0xfffc, 0xfffa, 0xfff8, 0xfff6, 0xfff4};
    for (unsigned r = 0; r < 8; r++) {
        uint16_t v;
        memcpy(&v, low + LOW_SS16 + slot[r], 2);
        assert_int_equal(v, r == X86_RSP ? 4 : 0x100 + r * 0x0101);
    }
    set_regs(0);
    assert_int_equal(RUN(0x66, 0x61), H_NOFAULT);
    assert_int_equal(cpu->gpr[X86_RSP], 0x77770004);
    for (unsigned r = 0; r < 8; r++) {
        if (r != X86_RSP) /* the upper halves stay */
            assert_int_equal(cpu->gpr[r], (r * 0x01010101 & 0xffff0000) | (0x100 + r * 0x0101));
    }
}

/* A fault on any slot leaves memory, ESP and the registers as they were. */
static void test_pusha_popa_precise(void **state)
{
    (void)state;
    begin32();
    uint8_t *p = h_pages(2, 1, MAP_32BIT); /* [no access][stack][no access] */
    mprotect(p, H_PAGE, PROT_NONE);
    uint8_t *top = p + 2 * H_PAGE;
    memset(p + H_PAGE, 0xcc, H_PAGE);

    /* The lowest slots (ESI, EDI) fall on the page below. */
    cpu->gpr[X86_RSP] = (uintptr_t)p + H_PAGE + 24;
    set_regs(0x1000);
    assert_int_equal(RUN(0x60), X86_EXC_PF);
    assert_int_equal(cpu->exc.addr, (uintptr_t)p + H_PAGE - 4);
    assert_int_equal(cpu->gpr[X86_RSP], (uintptr_t)p + H_PAGE + 24);
    for (unsigned i = 0; i < 24; i++)
        assert_int_equal(p[H_PAGE + i], 0xcc);

    /* POPA with the top slot (EAX) past the end of the stack. */
    cpu->gpr[X86_RSP] = (uintptr_t)top - 28;
    assert_int_equal(RUN(0x61), X86_EXC_PF);
    assert_int_equal(cpu->gpr[X86_RSP], (uintptr_t)top - 28);
    for (unsigned r = 0; r < 8; r++) {
        if (r != X86_RSP)
            assert_int_equal(cpu->gpr[r], 0x1000 + r * 0x01010101);
    }
    munmap(p, 3 * H_PAGE);
}

/* --- BCD --- */

/* Inputs and results of the Zen 3 host (AMD EPYC, family 19h), run in
 * compatibility mode. */
static const struct bcd_case {
    uint8_t op[2];
    uint16_t ax;
    uint16_t fl; /* arithmetic flags in */
    uint16_t ax_out, fl_out;
} bcd_cases[] = {
    /* DAA: both digits, CF/AF in, OF (undefined) from the addition */
    {{0x27}, 0x009a, 0, 0x0000, CF | AF | ZF | PF},
    {{0x27}, 0x000f, 0, 0x0015, AF},
    {{0x27}, 0x0000, CF, 0x0060, CF | PF},
    {{0x27}, 0x0000, AF, 0x0006, AF | PF},
    {{0x27}, 0x0099, 0, 0x0099, SF | PF},
    {{0x27}, 0x007a, 0, 0x0080, OF | SF | AF},
    {{0x27}, 0x00a0, 0, 0x0000, CF | ZF | PF},
    {{0x27}, 0x0019, CF | AF, 0x007f, CF | AF},
    /* DAS: CF from the borrow of -6 too */
    {{0x2f}, 0x0000, AF, 0x00fa, CF | AF | SF | PF},
    {{0x2f}, 0x009a, 0, 0x0034, OF | CF | AF},
    {{0x2f}, 0x0080, AF, 0x007a, OF | AF},
    {{0x2f}, 0x0066, CF, 0x0006, CF | PF},
    {{0x2f}, 0x0010, AF, 0x000a, AF | PF},
    {{0x2f}, 0x0005, AF, 0x00ff, CF | AF | SF | PF},
    /* AAA: AX + 0x106, the carry out of AL reaching AH; OF SF ZF PF
     * (undefined) from that 16-bit addition */
    {{0x37}, 0x0109, 0, 0x0109, PF},
    {{0x37}, 0x00fa, 0, 0x0200, CF | AF | PF},
    {{0x37}, 0x0005, AF, 0x010b, CF | AF},
    {{0x37}, 0xff0a, 0, 0x0000, CF | AF},
    {{0x37}, 0x7ffa, 0, 0x8100, OF | SF | CF | AF | PF},
    {{0x37}, 0x1234, 0, 0x1204, 0},
    /* AAS: AX - 0x106 */
    {{0x3f}, 0x000f, 0, 0xff09, CF | AF | SF | PF},
    {{0x3f}, 0x0100, AF, 0xff0a, CF | AF | SF | PF},
    {{0x3f}, 0x0005, 0, 0x0005, PF},
    {{0x3f}, 0x0000, AF, 0xfe0a, CF | AF | SF | PF},
    {{0x3f}, 0x8003, AF, 0x7e0d, OF | CF | AF},
    /* AAM: OF AF CF (undefined) clear */
    {{0xd4, 10}, 0x00ff, 0, 0x1905, PF},
    {{0xd4, 10}, 0x0000, OF | SF | ZF | AF | PF | CF, 0x0000, ZF | PF},
    {{0xd4, 16}, 0x1234, 0, 0x0304, 0},
    /* AAD: the flags of AL + AH * ib */
    {{0xd5, 10}, 0x0909, 0, 0x0063, AF | PF},
    {{0xd5, 10}, 0x1980, 0, 0x007a, OF | CF},
    {{0xd5, 10}, 0xff7f, 0, 0x0075, CF | AF},
    {{0xd5, 10}, 0x0000, OF | SF | ZF | AF | PF | CF, 0x0000, ZF | PF},
    {{0xd5, 0}, 0x1234, 0, 0x0034, 0},
};

static void test_bcd_cases(void **state)
{
    (void)state;
    begin32();
    for (size_t i = 0; i < sizeof(bcd_cases) / sizeof(bcd_cases[0]); i++) {
        const struct bcd_case *c = &bcd_cases[i];
        size_t n = (c->op[0] & 0xf0) == 0xd0 ? 2 : 1;
        for (unsigned pfx = 0; pfx < 2; pfx++) { /* 66 changes nothing */
            uint8_t b[3] = {0x66, c->op[0], c->op[1]};
            cpu->gpr[X86_RAX] = 0x12340000 | c->ax;
            set_arith(c->fl);
            assert_int_equal(run(b + 1 - pfx, n + pfx), H_NOFAULT);
            if (cpu->gpr[X86_RAX] != (0x12340000u | c->ax_out) || arith() != c->fl_out)
                fail_msg("case %zu: got ax %#llx fl %#llx", i,
                         (unsigned long long)cpu->gpr[X86_RAX], (unsigned long long)arith());
        }
    }
}

static void test_aam_zero(void **state)
{
    (void)state;
    begin32();
    cpu->gpr[X86_RAX] = 0x1234;
    set_arith(CF | ZF);
    assert_int_equal(RUN(0xd4, 0x00), X86_EXC_DE);
    assert_false(cpu->exc.has_error);
    assert_int_equal(cpu->gpr[X86_RAX], 0x1234);
    assert_int_equal(arith(), CF | ZF);
}

/* The same instructions natively, in compatibility mode (selector 0x23 of
 * Linux's GDT), from a page below 4 GiB: a 64-bit entry that far-returns
 * to 32-bit code, which loads EAX and EFLAGS from the io block, calls the
 * snippet (the instruction and a RET), stores them back and far-jumps to
 * the 64-bit exit. Position-independent: copied to the low page. */
struct compat_io {
    uint32_t eax, flags;
    uint32_t snippet;           /* its address */
    uint32_t back_off, back_cs; /* m16:32 of the 64-bit exit */
    uint32_t pad;
    uint64_t rsp;
};
__asm__(".pushsection .rodata\n"
        "legacy_compat_code:\n"
        "  push %rbx; push %rbp; push %r12; push %r13; push %r14; push %r15\n"
        "  mov %rsp, 24(%rdi)\n"
        "  mov %rdi, %rbx\n"
        "  lea 4096(%rdi), %rsp\n"
        "  pushq $0x23\n"
        "  lea 1f(%rip), %rax\n"
        "  push %rax\n"
        "  lretq\n"
        ".code32\n"
        "1: mov $0x2b, %eax; mov %eax, %ds; mov %eax, %es\n"
        "  pushl 4(%ebx); popfl\n"
        "  mov 0(%ebx), %eax\n"
        "  call *8(%ebx)\n"
        "  pushfl; popl 4(%ebx)\n"
        "  mov %eax, 0(%ebx)\n"
        "  ljmp *12(%ebx)\n"
        ".code64\n"
        "legacy_compat_back:\n"
        "  mov %ebx, %ebx\n"
        "  mov 24(%rbx), %rsp\n"
        "  pop %r15; pop %r14; pop %r13; pop %r12; pop %rbp; pop %rbx\n"
        "  ret\n"
        "legacy_compat_end:\n"
        ".popsection\n");
extern const uint8_t legacy_compat_code[], legacy_compat_back[], legacy_compat_end[];

/* Page layout: io block at 0, snippet at 64, code at 128, stack below the
 * page end. */
static uint8_t *compat_page;

static void compat_run(const uint8_t *insn, size_t n, uint32_t *eax, uint32_t *flags)
{
    struct compat_io *io = (struct compat_io *)compat_page;
    memcpy(compat_page + 64, insn, n);
    compat_page[64 + n] = 0xc3;
    io->eax = *eax;
    io->flags = *flags;
    io->snippet = (uint32_t)(uintptr_t)(compat_page + 64);
    io->back_off =
        (uint32_t)(uintptr_t)(compat_page + 128 + (legacy_compat_back - legacy_compat_code));
    io->back_cs = 0x33;
    ((void (*)(struct compat_io *))(compat_page + 128))(io);
    *eax = io->eax;
    *flags = io->flags;
}

/* An AMD CPU of family 17h or later (Zen): older ones and other vendors
 * set undefined flags differently. */
static bool host_zen(void)
{
    unsigned a, b, c, d;
    if (!host_is_amd())
        return false;
    __cpuid(1, a, b, c, d);
    (void)b, (void)c, (void)d;
    return ((a >> 8 & 0xf) + (a >> 20 & 0xff)) >= 0x17;
}

/* Compatibility mode is tried in a child first: a kernel without 32-bit
 * code segments kills it, and the comparison is skipped. */
static bool compat_available(void)
{
    if (!host_zen())
        return false;
    compat_page = mmap(NULL, H_PAGE, PROT_READ | PROT_WRITE | PROT_EXEC,
                       MAP_PRIVATE | MAP_ANONYMOUS | MAP_32BIT, -1, 0);
    if (compat_page == MAP_FAILED) {
        compat_page = NULL;
        return false;
    }
    memcpy(compat_page + 128, legacy_compat_code, legacy_compat_end - legacy_compat_code);
    pid_t pid = fork();
    if (pid == 0) {
        uint32_t eax = 0x9a, fl = 2;
        compat_run((const uint8_t[]){0x27}, 1, &eax, &fl);
        _exit((eax & 0xff) == 0 && (fl & CF) ? 0 : 1);
    }
    int status;
    return pid > 0 && waitpid(pid, &status, 0) == pid && WIFEXITED(status) &&
           WEXITSTATUS(status) == 0;
}

/* One instruction on one input, natively and emulated: AX and the
 * arithmetic flags must agree (the rest of EAX too). */
static void compare_one(const uint8_t *insn, size_t n, uint32_t eax, uint32_t fl_in)
{
    uint32_t h_eax = eax, h_fl = fl_in | 0x202;
    compat_run(insn, n, &h_eax, &h_fl);
    cpu->gpr[X86_RAX] = eax;
    set_arith(fl_in);
    int r = run(insn, n);
    if (r != H_NOFAULT || cpu->gpr[X86_RAX] != h_eax || arith() != (h_fl & X86_FLAGS_ARITH))
        fail_msg("%02x %02x eax %#x fl %#x: host %#x %#x, emulated %#llx %#llx (%d)", insn[0],
                 n > 1 ? insn[1] : 0, eax, fl_in, h_eax, h_fl & X86_FLAGS_ARITH,
                 (unsigned long long)cpu->gpr[X86_RAX], (unsigned long long)arith(), r);
}

/* The six arithmetic flags from the low six bits of i. */
static uint32_t flags_of(unsigned i)
{
    static const uint32_t bit[6] = {CF, PF, AF, ZF, SF, OF};
    uint32_t f = 0;
    for (unsigned k = 0; k < 6; k++)
        f |= i >> k & 1 ? bit[k] : 0;
    return f;
}

static void test_bcd_vs_host(void **state)
{
    (void)state;
    begin32();
    if (!compat_available())
        skip();
    /* DAA, DAS: every AL with every combination of input flags. */
    for (unsigned op = 0x27; op <= 0x2f; op += 8) {
        for (unsigned al = 0; al < 256; al++) {
            for (unsigned f = 0; f < 64; f++)
                compare_one((const uint8_t[]){(uint8_t)op}, 1, 0xa5a50000 | 0x3300 | al,
                            flags_of(f));
        }
    }
    /* AAA, AAS: every AX with CF and AF in (the others do not matter). */
    for (unsigned op = 0x37; op <= 0x3f; op += 8) {
        for (unsigned ax = 0; ax < 0x10000; ax++) {
            for (unsigned f = 0; f < 4; f++)
                compare_one((const uint8_t[]){(uint8_t)op}, 1, 0x5a5a0000 | ax,
                            (f & 1 ? CF : 0) | (f & 2 ? AF : 0));
        }
    }
    /* AAM: every AL and base; AAD: every AX for a few bases. */
    for (unsigned base = 1; base < 256; base++) {
        for (unsigned al = 0; al < 256; al++)
            compare_one((const uint8_t[]){0xd4, (uint8_t)base}, 2, 0x77770000 | al, CF | OF);
    }
    static const uint8_t aad_bases[] = {0, 1, 3, 10, 16, 255};
    for (size_t i = 0; i < sizeof(aad_bases); i++) {
        for (unsigned ax = 0; ax < 0x10000; ax++)
            compare_one((const uint8_t[]){0xd5, aad_bases[i]}, 2, 0x99990000 | ax, AF);
    }
}

/* --- BOUND, ARPL, SALC --- */

static void test_bound(void **state)
{
    (void)state;
    begin32();
    /* bound eax, [ebx]: the pair at the data page */
    wr32(LOW_DATA, (uint32_t)-5);
    wr32(LOW_DATA + 4, 10);
    cpu->gpr[X86_RBX] = lin(LOW_DATA);
    static const struct {
        int32_t index;
        int in;
    } c32[] = {{-5, 1}, {10, 1}, {0, 1}, {-6, 0}, {11, 0}, {INT32_MIN, 0}, {INT32_MAX, 0}};
    for (size_t i = 0; i < sizeof(c32) / sizeof(c32[0]); i++) {
        cpu->gpr[X86_RAX] = (uint32_t)c32[i].index;
        int r = RUN(0x62, 0x03);
        assert_int_equal(r, c32[i].in ? H_NOFAULT : X86_EXC_BR);
        if (!c32[i].in)
            assert_false(cpu->exc.has_error);
    }
    /* With a displacement, through ECX: bound ecx, [ebx + 8] */
    wr32(LOW_DATA + 8, 100);
    wr32(LOW_DATA + 12, 200);
    cpu->gpr[X86_RCX] = 150;
    assert_int_equal(RUN(0x62, 0x4b, 0x08), H_NOFAULT);
    cpu->gpr[X86_RCX] = 99;
    assert_int_equal(RUN(0x62, 0x4b, 0x08), X86_EXC_BR);

    /* 16-bit: words, signed; the upper half of the register is ignored. */
    wr32(LOW_DATA, 0x7fff8000); /* [-32768, 32767] */
    cpu->gpr[X86_RAX] = 0x1234ffff;
    assert_int_equal(RUN(0x66, 0x62, 0x03), H_NOFAULT);
    wr32(LOW_DATA, 0x000a0000); /* [0, 10] */
    cpu->gpr[X86_RAX] = 0xffff0005;
    assert_int_equal(RUN(0x66, 0x62, 0x03), H_NOFAULT);
    cpu->gpr[X86_RAX] = 0x0000ffff; /* -1 */
    assert_int_equal(RUN(0x66, 0x62, 0x03), X86_EXC_BR);
    cpu->gpr[X86_RAX] = 0x0000000b;
    assert_int_equal(RUN(0x66, 0x62, 0x03), X86_EXC_BR);

    /* 16-bit addressing: bound eax, [bx + si] with 67; the sum wraps to
     * 16 bits before DS.base is added. */
    wr32(LOW_DATA + 16, 0);
    wr32(LOW_DATA + 20, 3);
    cpu->seg[X86_DS].base = lin(LOW_DATA) - 0x100;
    cpu->gpr[X86_RBX] = 0xffff0080;
    cpu->gpr[X86_RSI] = 0x90;
    cpu->gpr[X86_RAX] = 3;
    assert_int_equal(RUN(0x67, 0x62, 0x00), H_NOFAULT);
    cpu->gpr[X86_RAX] = 4;
    assert_int_equal(RUN(0x67, 0x62, 0x00), X86_EXC_BR);
    cpu->seg[X86_DS].base = 0;

    /* A register operand is EVEX, not decoded: #UD. A bound on an
     * unmapped page: #PF, nothing else. */
    assert_int_equal(RUN(0x62, 0xc0), X86_EXC_UD);
    struct x86_insn reg_form = h_insn(h_ops_legacy, X86_MAP_PRIMARY, 0x62, -1, 2);
    reg_form.rm = X86_RCX; /* the op's own check, should a decoder hand it one */
    assert_int_equal(h_exec(cpu, &reg_form), X86_EXC_UD);
    uint8_t *p = h_pages(1, 1, MAP_32BIT);
    cpu->gpr[X86_RBX] = (uintptr_t)p + H_PAGE - 4; /* upper bound on the guard page */
    assert_int_equal(RUN(0x62, 0x03), X86_EXC_PF);
    assert_int_equal(cpu->exc.addr, (uintptr_t)p + H_PAGE);
    munmap(p, 2 * H_PAGE);
}

static void test_arpl(void **state)
{
    (void)state;
    begin32();
    /* arpl ax, cx: RPL 0 raised to 3; ZF set, the other flags kept. */
    cpu->gpr[X86_RAX] = 0xabcd0028;
    cpu->gpr[X86_RCX] = 0x0003;
    set_arith(CF | SF);
    assert_int_equal(RUN(0x63, 0xc8), H_NOFAULT);
    assert_int_equal(cpu->gpr[X86_RAX], 0xabcd002b);
    assert_int_equal(arith(), CF | SF | ZF);
    /* Already at least as high: unchanged, ZF clear. */
    cpu->gpr[X86_RCX] = 0xfff2;
    set_arith(ZF | PF);
    assert_int_equal(RUN(0x63, 0xc8), H_NOFAULT);
    assert_int_equal(cpu->gpr[X86_RAX], 0xabcd002b);
    assert_int_equal(arith(), PF);
    /* Lazy flags in: the result of an add stays intact but for ZF. */
    cpu->gpr[X86_RDX] = 0x10;
    cpu->gpr[X86_RBX] = 0x11;
    set_arith(0);
    x86_set_cc(cpu, X86_CC(X86_CC_KIND_ADD, 0), 0x00, 0xff, 0x01); /* CF ZF AF PF */
    assert_int_equal(RUN(0x63, 0xda), H_NOFAULT);                  /* arpl dx, bx */
    assert_int_equal(cpu->gpr[X86_RDX], 0x11);
    assert_int_equal(arith(), CF | ZF | AF | PF);
    cpu->gpr[X86_RDX] = 0x13;
    x86_set_cc(cpu, X86_CC(X86_CC_KIND_ADD, 0), 0x00, 0xff, 0x01);
    assert_int_equal(RUN(0x63, 0xda), H_NOFAULT);
    assert_int_equal(arith(), CF | AF | PF);

    /* Memory: written only when raised, so a read-only selector that
     * needs no change does not fault (as on the host). */
    uint8_t *p = h_pages(1, 0, MAP_32BIT);
    uint16_t sel = 0x0013;
    memcpy(p, &sel, 2);
    mprotect(p, H_PAGE, PROT_READ);
    cpu->gpr[X86_RBX] = (uintptr_t)p;
    cpu->gpr[X86_RCX] = 2;
    assert_int_equal(RUN(0x63, 0x0b), H_NOFAULT); /* arpl [ebx], cx */
    assert_int_equal(arith() & ZF, 0);
    cpu->gpr[X86_RCX] = 0; /* RPL 0 < 3: nothing to do either */
    assert_int_equal(RUN(0x63, 0x0b), H_NOFAULT);
    sel = 0x0010;
    mprotect(p, H_PAGE, PROT_READ | PROT_WRITE);
    memcpy(p, &sel, 2);
    mprotect(p, H_PAGE, PROT_READ);
    cpu->gpr[X86_RCX] = 1;
    set_arith(0);
    assert_int_equal(RUN(0x63, 0x0b), X86_EXC_PF);
    assert_int_equal(arith(), 0);
    mprotect(p, H_PAGE, PROT_READ | PROT_WRITE);
    assert_int_equal(RUN(0x63, 0x0b), H_NOFAULT);
    memcpy(&sel, p, 2);
    assert_int_equal(sel, 0x0011);
    assert_int_equal(arith(), ZF);
    munmap(p, H_PAGE);

    /* Not in real mode. */
    uint64_t cr0 = cpu->cr0;
    cpu->cr0 &= ~X86_CR0_PE;
    int r = RUN(0x63, 0xc8);
    cpu->cr0 = cr0;
    assert_int_equal(r, X86_EXC_UD);
}

/* 63 stays MOVSXD in 64-bit mode (the ARPL row passes it on). */
static void test_63_in_64bit_mode(void **state)
{
    (void)state;
    begin32();
    assert_non_null(x86_ops_move);
    cpu->code_mode = X86_MODE64;
    cpu->sp_mask = ~0ull;
    cpu->gpr[X86_RCX] = 0xffffffff80000001ull;
    cpu->gpr[X86_RAX] = 0x1111111111111111ull;
    set_arith(ZF);
    assert_int_equal(RUN(0x48, 0x63, 0xc1), H_NOFAULT); /* movsxd rax, ecx */
    assert_int_equal(cpu->gpr[X86_RAX], 0xffffffff80000001ull);
    assert_int_equal(RUN(0x63, 0xc1), H_NOFAULT); /* movsxd eax, ecx: a 32-bit move */
    assert_int_equal(cpu->gpr[X86_RAX], 0x80000001ull);
    assert_int_equal(arith(), ZF);
    /* The other legacy opcodes are #UD (or prefixes) there. */
    assert_int_equal(RUN(0x06), X86_EXC_UD);
    assert_int_equal(RUN(0x60), X86_EXC_UD);
    assert_int_equal(RUN(0x27), X86_EXC_UD);
    assert_int_equal(RUN(0xd6), X86_EXC_UD);
}

static void test_salc(void **state)
{
    (void)state;
    begin32();
    cpu->gpr[X86_RAX] = 0x12345600;
    set_arith(CF | OF | ZF);
    assert_int_equal(RUN(0xd6), H_NOFAULT);
    assert_int_equal(cpu->gpr[X86_RAX], 0x123456ff);
    assert_int_equal(arith(), CF | OF | ZF);
    /* Lazy CF: from a subtraction that borrowed, then one that did not. */
    x86_set_cc(cpu, X86_CC(X86_CC_KIND_SUB, 2), 0xffffffff, 0, 1);
    cpu->gpr[X86_RAX] = 0;
    assert_int_equal(RUN(0xd6), H_NOFAULT);
    assert_int_equal(cpu->gpr[X86_RAX], 0xff);
    x86_set_cc(cpu, X86_CC(X86_CC_KIND_SUB, 2), 0, 1, 1);
    assert_int_equal(RUN(0x66, 0xd6), H_NOFAULT);
    assert_int_equal(cpu->gpr[X86_RAX], 0);
    assert_int_equal(arith(), ZF | PF);
}

/* 16-bit code (CS.D = 0): 16-bit operands and addresses by default, 66
 * and 67 select 32 bits; a 16-bit stack. */
static void test_mode16(void **state)
{
    (void)state;
    begin32();
    cpu->code_mode = X86_MODE16;
    stack16(0x12340100);

    /* push es / 66 push es: 2 and 4 bytes */
    assert_int_equal(RUN(0x06), H_NOFAULT);
    assert_int_equal(cpu->gpr[X86_RSP], 0x123400fe);
    assert_int_equal(RUN(0x66, 0x06), H_NOFAULT);
    assert_int_equal(cpu->gpr[X86_RSP], 0x123400fa);
    assert_int_equal(rd32(LOW_SS16 + 0xfa), 0x2b);
    assert_int_equal(rd32(LOW_SS16 + 0xfc) & 0xffff, 0);
    assert_int_equal(rd32(LOW_SS16 + 0xfe) & 0xffff, 0x2b);
    assert_int_equal(RUN(0x66, 0x1f), H_NOFAULT); /* pop ds: 4 bytes */
    assert_int_equal(RUN(0x07), H_NOFAULT);       /* pop es: 2 */
    assert_int_equal(cpu->gpr[X86_RSP], 0x12340100);

    /* inc ax / inc eax */
    cpu->gpr[X86_RAX] = 0x0001ffff;
    assert_int_equal(RUN(0x40), H_NOFAULT);
    assert_int_equal(cpu->gpr[X86_RAX], 0x00010000);
    assert_int_equal(arith() & (ZF | CF), ZF);
    assert_int_equal(RUN(0x66, 0x48), H_NOFAULT); /* dec eax */
    assert_int_equal(cpu->gpr[X86_RAX], 0x0000ffff);

    /* pusha: 16-bit slots; 66 popa reads them back as 32-bit ones */
    set_regs(0x1000);
    assert_int_equal(RUN(0x60), H_NOFAULT);
    assert_int_equal(cpu->gpr[X86_RSP], 0x123400f0);
    uint16_t w;
    memcpy(&w, low + LOW_SS16 + 0xfe, 2);
    assert_int_equal(w, 0x1000); /* AX */
    memcpy(&w, low + LOW_SS16 + 0xf6, 2);
    assert_int_equal(w, 0x0100); /* the SP before */
    assert_int_equal(RUN(0x66, 0x61), H_NOFAULT);
    assert_int_equal(cpu->gpr[X86_RSP], 0x12340110);
    assert_int_equal(cpu->gpr[X86_RDI], 0x16061707); /* SI:DI */

    /* bound ax, [bx + si]: 16-bit addressing and operands by default */
    cpu->seg[X86_DS].base = lin(LOW_DATA);
    wr32(LOW_DATA + 0x20, 0x00100002); /* [2, 16] */
    cpu->gpr[X86_RBX] = 0xffff0010;
    cpu->gpr[X86_RSI] = 0x10;
    cpu->gpr[X86_RAX] = 0xffff0010;
    assert_int_equal(RUN(0x62, 0x00), H_NOFAULT);
    cpu->gpr[X86_RAX] = 1;
    assert_int_equal(RUN(0x62, 0x00), X86_EXC_BR);
    cpu->seg[X86_DS].base = 0;

    /* arpl and the BCD ops do not care about the mode */
    cpu->gpr[X86_RCX] = 0x0028;
    cpu->gpr[X86_RDX] = 0x0002;
    assert_int_equal(RUN(0x63, 0xd1), H_NOFAULT); /* arpl cx, dx */
    assert_int_equal(cpu->gpr[X86_RCX], 0x002a);
    assert_int_equal(arith() & ZF, ZF);
    cpu->gpr[X86_RAX] = 0x0063;
    assert_int_equal(RUN(0xd4, 0x0a), H_NOFAULT); /* aam */
    assert_int_equal(cpu->gpr[X86_RAX], 0x0909);
}

#define T32(f) cmocka_unit_test_teardown(f, end_test)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T32(test_push_pop_sreg),
        T32(test_sreg_16bit_stack),
        T32(test_incdec_like_ff),
        T32(test_pusha_popa),
        T32(test_pusha_16bit_stack_wraps),
        T32(test_pusha_popa_precise),
        T32(test_bcd_cases),
        T32(test_aam_zero),
        T32(test_bcd_vs_host),
        T32(test_bound),
        T32(test_arpl),
        T32(test_63_in_64bit_mode),
        T32(test_salc),
        T32(test_mode16),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
