/* smc: self-modifying code. A written instruction must execute as written
 * once a jump (or, for a write through another mapping, a serializing
 * instruction) separates the write from the fetch:
 *   - an immediate patched in the same page, many times;
 *   - the next instruction of the same block, patched and jumped to;
 *   - a loop patching an instruction it executes every iteration;
 *   - data written right next to code, many times, the code still intact;
 *   - code copied to a fresh page, run, overwritten, run again;
 *   - an instruction that straddles two pages, patched in either page;
 *   - code written through an alias mapping of its page.
 * The code to patch is in smc.S. */
#include "guest.h"

#define PTE_P            0x1ULL
#define PTE_W            0x2ULL
#define ADDR_MASK        0x000ffffffffff000ULL
#define ALIAS_VA         0x40000000ULL /* 1 GiB: PDPT[1], unused by start.S */
#define PATCHES          200
#define NEIGHBOUR_WRITES 1000
#define LOOP_COUNT       100

extern char smc_imm_fn[], smc_imm[], smc_next_fn[], smc_loop_fn[], smc_loop_imm[];
extern char smc_neighbour_fn[], smc_neighbour_data[];

/* Two fresh pages for copied code. */
static uint8_t code_pages[2][4096] __attribute__((aligned(4096)));
static volatile uint64_t alias_pd[512] __attribute__((aligned(4096)));
static volatile uint64_t alias_pt[512] __attribute__((aligned(4096)));

typedef uint32_t (*fn_t)(void);

static uint32_t call(const void *code)
{
    return ((fn_t)code)();
}

static uint32_t call_edi(const void *code, uint32_t edi)
{
    uint32_t eax;
    __asm__ volatile("call *%1"
                     : "=a"(eax)
                     : "r"(code), "D"(edi)
                     : "rcx", "rdx", "rsi", "r8", "r9", "r10", "r11", "memory", "cc");
    return eax;
}

static uint32_t call_ecx(const void *code, uint32_t ecx)
{
    uint32_t eax;
    __asm__ volatile("call *%2"
                     : "=a"(eax), "+c"(ecx)
                     : "r"(code)
                     : "rdx", "rsi", "rdi", "r8", "r9", "r10", "r11", "memory", "cc");
    return eax;
}

static void put32(void *p, uint32_t v)
{
    memcpy(p, &v, 4);
}

static void test_patch_imm(void)
{
    unsigned bad = 0;
    for (uint32_t i = 1; i <= PATCHES; i++) {
        put32(smc_imm, i * 0x01010101u);
        if (call(smc_imm_fn) != i * 0x01010101u)
            bad++;
    }
    printf("immediate patched and run %u times: %u wrong\n", PATCHES, bad);
    check(!bad, "stale immediates");
}

static void test_patch_next(void)
{
    unsigned bad = 0;
    for (uint32_t i = 1; i <= PATCHES; i++)
        if (call_edi(smc_next_fn, i * 7) != i * 7)
            bad++;
    printf("next instruction patched, jumped to, %u times: %u wrong\n", PATCHES, bad);
    check(!bad, "stale next instruction");
}

static void test_patch_loop(void)
{
    uint32_t sum = call_ecx(smc_loop_fn, LOOP_COUNT);
    uint32_t imm;
    memcpy(&imm, smc_loop_imm, 4);
    printf("loop patching its own add, %u iterations: sum %u, immediate %u\n", LOOP_COUNT, sum,
           imm);
    check(sum == LOOP_COUNT * (LOOP_COUNT - 1) / 2 && imm == LOOP_COUNT, "self-patching loop");
}

static void test_neighbour(void)
{
    unsigned bad = 0;
    volatile uint64_t *data = (volatile uint64_t *)smc_neighbour_data;
    for (unsigned i = 0; i < NEIGHBOUR_WRITES; i++) {
        *data = i;
        if (call(smc_neighbour_fn) != 0x42)
            bad++;
    }
    printf("data next to code written %u times: code ran %u times wrong, data 0x%lx\n",
           NEIGHBOUR_WRITES, bad, *data);
    check(!bad && *data == NEIGHBOUR_WRITES - 1, "code next to data");
}

/* mov $imm32, %eax; ret -- at p. */
static void emit_mov_ret(uint8_t *p, uint32_t imm)
{
    p[0] = 0xb8;
    put32(p + 1, imm);
    p[5] = 0xc3;
}

static void test_fresh_page(void)
{
    uint8_t *p = code_pages[0];
    emit_mov_ret(p, 1);
    uint32_t a = call(p);
    emit_mov_ret(p, 2);
    uint32_t b = call(p);
    /* A different instruction sequence at the same address. */
    static const uint8_t three[] = {0x31, 0xc0, 0xff, 0xc0, 0xff, 0xc0, 0xff, 0xc0, 0xc3};
    memcpy(p, three, sizeof(three));
    uint32_t c = call(p);
    printf("fresh page: copied code returns %u, overwritten %u, rewritten %u\n", a, b, c);
    check(a == 1 && b == 2 && c == 3, "code in a fresh page");
}

static void test_cross_page(void)
{
    /* The opcode and one immediate byte in the first page, three in the second. */
    uint8_t *p = code_pages[1] - 2;
    emit_mov_ret(p, 0x11223344);
    uint32_t a = call(p);
    code_pages[1][0] = 0xcc; /* second page only: immediate bits 8-15 */
    uint32_t b = call(p);
    p[1] = 0x55; /* first page only: immediate bits 0-7 */
    uint32_t c = call(p);
    printf("instruction across a page boundary: 0x%x, second page patched 0x%x, first 0x%x\n", a, b,
           c);
    check(a == 0x11223344 && b == 0x1122cc44 && c == 0x1122cc55, "cross-page patch");
}

static void test_alias(void)
{
    /* ALIAS_VA maps code_pages[0] a second time, writable. */
    uint64_t *pdpt = (uint64_t *)(guest_pml4[0] & ADDR_MASK);
    alias_pt[0] = (uintptr_t)code_pages[0] | PTE_P | PTE_W;
    alias_pd[0] = (uintptr_t)alias_pt | PTE_P | PTE_W;
    pdpt[1] = (uintptr_t)alias_pd | PTE_P | PTE_W;
    write_cr3(read_cr3());
    uint8_t *p = code_pages[0];
    uint8_t *alias = (uint8_t *)ALIAS_VA;
    emit_mov_ret(p, 5);
    uint32_t a = call(p);
    emit_mov_ret(alias, 6);
    uint32_t r[4];
    cpuid(0, 0, r); /* serializing: cross-modifying code needs one */
    uint32_t b = call(p);
    printf("code rewritten through an alias mapping: %u, then %u\n", a, b);
    check(a == 5 && b == 6, "write through an alias");
}

void guest_main(uint32_t magic, uint32_t info)
{
    (void)magic;
    (void)info;
    printf("smc guest\n");
    test_patch_imm();
    test_patch_next();
    test_patch_loop();
    test_neighbour();
    test_fresh_page();
    test_cross_page();
    test_alias();
    printf("smc done\n");
}
