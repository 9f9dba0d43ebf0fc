/* paging: 4-level paging as the SDM defines it. #PF error codes and CR2
 * for not-present pages (at every level), writes to read-only pages with
 * CR0.WP at ring 0 and ring 3, user access to supervisor pages (U and R/W
 * are ANDed over the levels), fetches from NX pages (EFER.NXE), reserved
 * bits; the accessed and dirty bits (on upper levels too); invlpg, CR3
 * writes and CR4.PGE toggles making a changed PTE visible; global pages;
 * 2 MiB and 1 GiB pages; CR2 of an access that straddles two pages.
 *
 * The guest maps a scratch region at 1 GiB (PDPT[1], unused by start.S's
 * identity map) through its own page directory and page tables, so only
 * these few entries change. Only what the architecture guarantees is
 * checked: a TLB may drop entries at any time, so a stale entry is never
 * required to be seen. */
#include "guest.h"

#define VEC_PF 14

#define PTE_P   0x1ULL
#define PTE_W   0x2ULL
#define PTE_U   0x4ULL
#define PTE_A   0x20ULL
#define PTE_D   0x40ULL
#define PTE_PS  0x80ULL
#define PTE_G   0x100ULL
#define PTE_NX  (1ULL << 63)
#define PTE_RSV (1ULL << 51) /* reserved while MAXPHYADDR < 52 */
#define PDE_RSV (1ULL << 13) /* reserved in a 2 MiB PDE whatever MAXPHYADDR is */

#define PF_P    0x1
#define PF_W    0x2
#define PF_U    0x4
#define PF_RSVD 0x8
#define PF_I    0x10

#define CR0_WP   (1ULL << 16)
#define CR4_PGE  (1ULL << 7)
#define EFER_NXE (1ULL << 11)

#define SCRATCH    0x40000000ULL /* 1 GiB: PDPT[1] */
#define SCRATCH_2M (SCRATCH + 0x200000)
#define PHYS_2M    0x2000000ULL    /* 32 MiB: free RAM in a 64 MiB guest */
#define VA_1G      0x140000000ULL  /* 5 GiB: PDPT[5], not present in start.S */
#define PML4_1     0x8000000000ULL /* 512 GiB: PML4[1], not present */
#define ADDR_MASK  0x000ffffffffff000ULL
#define CPUID_1G   (1u << 26) /* 0x80000001 EDX: 1 GiB pages */
#define RET_INSN   0xc3
#define JMP_RCX_LO 0xff /* jmp *%rcx: ff e1 */
#define JMP_RCX_HI 0xe1

enum { P_DATA, P_RO, P_SUPER, P_CODE, P_RSV, P_AD, P_SWAP, P_GLOBAL, P_SPLIT, P_SPLIT2, P_UPPER };

/* volatile: the CPU writes the accessed and dirty bits behind gcc's back. */
static volatile uint64_t pd[512] __attribute__((aligned(4096)));
static volatile uint64_t pt[512] __attribute__((aligned(4096)));
static volatile uint64_t pt_super[512] __attribute__((aligned(4096))); /* PDE without U */
static volatile uint64_t pt_ro[512] __attribute__((aligned(4096)));    /* PDE without W */
static uint8_t pages[2][4096] __attribute__((aligned(4096)));
static volatile uint64_t *pdpt;

static volatile uint64_t *va(unsigned index)
{
    return (volatile uint64_t *)(SCRATCH + (uint64_t)index * 4096);
}

static void set_pte(unsigned index, uint64_t value)
{
    pt[index] = value;
    invlpg(va(index));
}

static uint64_t phys(const volatile void *p)
{
    return (uintptr_t)p; /* identity mapped */
}

/* --- accesses that may fault, at ring 0 and at ring 3 --- */

static uint64_t read_at(uint64_t addr)
{
    uint64_t v = 0;
    TRAP_ASM("movq (%1), %0", : "+r"(v) : "r"(addr) : "memory");
    return v;
}

static uint64_t write_at(uint64_t addr)
{
    TRAP_ASM("movq %1, (%0)", : : "r"(addr), "r"(addr) : "memory");
    return 0;
}

/* Jump to addr, where a `jmp *%rcx` comes back: no stack, nothing to undo. */
static uint64_t fetch_at(uint64_t addr)
{
    TRAP_ASM("leaq 1f(%%rip), %%rcx\n\tjmp *%0\n1:", : : "r"(addr) : "rcx", "memory");
    return 0;
}

static void pf_at(const char *what, uint64_t (*access)(uint64_t), uint64_t addr, bool user,
                  uint64_t error, uint64_t cr2)
{
    trap_reset();
    if (user)
        user_run(access, addr, 0x2);
    else
        access(addr);
    if (trap.count == 1 && trap.vector == VEC_PF)
        printf("%s: #PF error 0x%lx cr2 0x%lx\n", what, trap.error, trap.cr2);
    else
        printf("%s: %u exception(s), vector %lu\n", what, trap.count, trap.vector);
    check(trapped(VEC_PF, error) && trap.cr2 == cr2, "%s: expected #PF error 0x%lx cr2 0x%lx", what,
          error, cr2);
}

/* The access faults with this error code, and CR2 = addr. */
static void pf(const char *what, uint64_t (*access)(uint64_t), uint64_t addr, bool user,
               uint64_t error)
{
    pf_at(what, access, addr, user, error, addr);
}

static void no_pf(const char *what, uint64_t (*access)(uint64_t), uint64_t addr, bool user)
{
    trap_reset();
    if (user)
        user_run(access, addr, 0x2);
    else
        access(addr);
    trap_report_none(what);
}

/* --- the tests --- */

static void test_not_present(void)
{
    set_pte(P_DATA, 0);
    pf("read, PTE not present", read_at, (uint64_t)va(P_DATA), false, 0);
    pf("write, PTE not present", write_at, (uint64_t)va(P_DATA), false, PF_W);
    pf("user read, PTE not present", read_at, (uint64_t)va(P_DATA), true, PF_U);
    pf("read, PML4E not present", read_at, PML4_1 + 8, false, 0);
    pf("read, PDE not present", read_at, SCRATCH + 0x400000, false, 0);
    /* 8 bytes at 0xffc of a present page: CR2 is where the bad page starts. */
    set_pte(P_SPLIT, phys(pages[0]) | PTE_P | PTE_W);
    set_pte(P_SPLIT2, 0);
    pf_at("read across into a not-present page", read_at, (uint64_t)va(P_SPLIT2) - 4, false, 0,
          (uint64_t)va(P_SPLIT2));
}

static void test_protection(void)
{
    set_pte(P_RO, phys(pages[0]) | PTE_P | PTE_U);
    pf("write, read-only PTE, CR0.WP=1", write_at, (uint64_t)va(P_RO), false, PF_P | PF_W);
    pf("user write, read-only PTE", write_at, (uint64_t)va(P_RO), true, PF_P | PF_W | PF_U);
    no_pf("user read, read-only PTE", read_at, (uint64_t)va(P_RO), true);
    write_cr0(read_cr0() & ~CR0_WP);
    no_pf("write, read-only PTE, CR0.WP=0", write_at, (uint64_t)va(P_RO), false);
    write_cr0(read_cr0() | CR0_WP);
    check(*(volatile uint64_t *)pages[0] == (uint64_t)va(P_RO), "the CR0.WP=0 write was lost");

    set_pte(P_SUPER, phys(pages[0]) | PTE_P | PTE_W);
    pf("user read, supervisor PTE", read_at, (uint64_t)va(P_SUPER), true, PF_P | PF_U);
    pf("user write, supervisor PTE", write_at, (uint64_t)va(P_SUPER), true, PF_P | PF_W | PF_U);

    /* U and R/W of the PDE count as much as the PTE's. */
    pd[P_UPPER] = phys(pt_super) | PTE_P | PTE_W;
    pt_super[0] = phys(pages[0]) | PTE_P | PTE_W | PTE_U;
    uint64_t upper = SCRATCH + P_UPPER * 0x200000ULL;
    invlpg((void *)upper);
    pf("user read, user PTE under a supervisor PDE", read_at, upper, true, PF_P | PF_U);
    pd[P_UPPER] = phys(pt_ro) | PTE_P | PTE_U;
    pt_ro[0] = phys(pages[0]) | PTE_P | PTE_W | PTE_U;
    invlpg((void *)upper);
    pf("write, writable PTE under a read-only PDE", write_at, upper, false, PF_P | PF_W);
    pd[P_UPPER] = 0;
    invlpg((void *)upper);
}

static void test_nx(void)
{
    pages[1][0] = JMP_RCX_LO;
    pages[1][1] = JMP_RCX_HI;
    wrmsr(MSR_EFER, rdmsr(MSR_EFER) | EFER_NXE);
    set_pte(P_CODE, phys(pages[1]) | PTE_P | PTE_U);
    no_pf("fetch, executable page", fetch_at, (uint64_t)va(P_CODE), false);
    set_pte(P_CODE, phys(pages[1]) | PTE_P | PTE_U | PTE_NX);
    pf("fetch, NX page", fetch_at, (uint64_t)va(P_CODE), false, PF_P | PF_I);
    check(trap.rip == (uint64_t)va(P_CODE), "the NX fault's rip 0x%lx", trap.rip);
    pf("user fetch, NX page", fetch_at, (uint64_t)va(P_CODE), true, PF_P | PF_U | PF_I);
    no_pf("read, NX page", read_at, (uint64_t)va(P_CODE), false);
    set_pte(P_CODE, phys(pages[1]) | PTE_P);
    pf("user fetch, supervisor page", fetch_at, (uint64_t)va(P_CODE), true, PF_P | PF_U | PF_I);
}

static void test_reserved(void)
{
    set_pte(P_RSV, phys(pages[0]) | PTE_P | PTE_W | PTE_RSV);
    pf("read, PTE bit 51 set", read_at, (uint64_t)va(P_RSV), false, PF_P | PF_RSVD);
    pf("user write, PTE bit 51 set", write_at, (uint64_t)va(P_RSV), true,
       PF_P | PF_W | PF_U | PF_RSVD);
    set_pte(P_RSV, 0);
    pd[1] = PHYS_2M | PTE_P | PTE_W | PTE_PS | PDE_RSV;
    invlpg((void *)SCRATCH_2M);
    pf("read, 2 MiB PDE bit 13 set", read_at, SCRATCH_2M, false, PF_P | PF_RSVD);
    pd[1] = 0;
    invlpg((void *)SCRATCH_2M);
}

static void test_accessed_dirty(void)
{
    set_pte(P_AD, phys(pages[0]) | PTE_P | PTE_W);
    pd[0] &= ~PTE_A;
    pdpt[1] &= ~PTE_A;
    write_cr3(read_cr3()); /* drop cached upper-level entries too */
    uint64_t before = pt[P_AD];
    (void)*va(P_AD);
    uint64_t after_read = pt[P_AD];
    *va(P_AD) = 1;
    uint64_t after_write = pt[P_AD];
    printf("PTE A/D: before %u/%u, after a read %u/%u, after a write %u/%u\n", !!(before & PTE_A),
           !!(before & PTE_D), !!(after_read & PTE_A), !!(after_read & PTE_D),
           !!(after_write & PTE_A), !!(after_write & PTE_D));
    check(!(before & (PTE_A | PTE_D)) && (after_read & (PTE_A | PTE_D)) == PTE_A &&
              (after_write & (PTE_A | PTE_D)) == (PTE_A | PTE_D),
          "accessed/dirty bits of the PTE");
    printf("upper levels after the walk: PDE A %u, PDPTE A %u\n", !!(pd[0] & PTE_A),
           !!(pdpt[1] & PTE_A));
    check((pd[0] & PTE_A) && (pdpt[1] & PTE_A), "accessed bits of the upper levels");
    check(!(pd[0] & PTE_D), "a dirty bit set in a PDE that maps a page table");
}

static void mark_pages(void)
{
    *(volatile uint64_t *)pages[0] = 0xaaaa;
    *(volatile uint64_t *)pages[1] = 0xbbbb;
}

static void test_tlb(void)
{
    mark_pages();
    set_pte(P_SWAP, phys(pages[0]) | PTE_P | PTE_W);
    uint64_t a = *va(P_SWAP);
    pt[P_SWAP] = phys(pages[1]) | PTE_P | PTE_W;
    invlpg(va(P_SWAP));
    uint64_t b = *va(P_SWAP);
    printf("PTE changed, invlpg: 0x%lx then 0x%lx\n", a, b);
    check(a == 0xaaaa && b == 0xbbbb, "invlpg did not make the new PTE visible");

    pt[P_SWAP] = phys(pages[0]) | PTE_P | PTE_W;
    write_cr3(read_cr3());
    a = *va(P_SWAP);
    printf("PTE changed, CR3 written: 0x%lx\n", a);
    check(a == 0xaaaa, "a CR3 write did not make the new non-global PTE visible");

    write_cr4(read_cr4() | CR4_PGE);
    set_pte(P_GLOBAL, phys(pages[0]) | PTE_P | PTE_W | PTE_G);
    a = *va(P_GLOBAL);
    pt[P_GLOBAL] = phys(pages[1]) | PTE_P | PTE_W | PTE_G;
    write_cr3(read_cr3());
    b = *va(P_GLOBAL); /* old or new: a global entry may survive the CR3 write */
    printf("global PTE changed, CR3 written: %s\n",
           b == 0xaaaa || b == 0xbbbb ? "old or new page" : "neither page");
    check(a == 0xaaaa && (b == 0xaaaa || b == 0xbbbb), "global page read 0x%lx, 0x%lx", a, b);
    invlpg(va(P_GLOBAL));
    b = *va(P_GLOBAL);
    printf("global PTE, invlpg: 0x%lx\n", b);
    check(b == 0xbbbb, "invlpg did not flush a global entry");
    pt[P_GLOBAL] = phys(pages[0]) | PTE_P | PTE_W | PTE_G;
    write_cr4(read_cr4() & ~CR4_PGE);
    write_cr4(read_cr4() | CR4_PGE);
    a = *va(P_GLOBAL);
    printf("global PTE changed, CR4.PGE toggled: 0x%lx\n", a);
    check(a == 0xaaaa, "toggling CR4.PGE did not flush a global entry");
    write_cr4(read_cr4() & ~CR4_PGE);
}

static void test_large_pages(void)
{
    volatile uint64_t *phys_word = (volatile uint64_t *)(PHYS_2M + 0x123458);
    *phys_word = 0;
    pd[1] = PHYS_2M | PTE_P | PTE_W | PTE_PS;
    invlpg((void *)SCRATCH_2M);
    *(volatile uint64_t *)(SCRATCH_2M + 0x123458) = 0x2222;
    printf("2 MiB page: write at +0x123458 lands at 0x%lx: %s, PDE A/D %u/%u\n",
           (uint64_t)phys_word, *phys_word == 0x2222 ? "yes" : "no", !!(pd[1] & PTE_A),
           !!(pd[1] & PTE_D));
    check(*phys_word == 0x2222 && (pd[1] & (PTE_A | PTE_D)) == (PTE_A | PTE_D), "2 MiB page");
    pd[1] = 0;
    invlpg((void *)SCRATCH_2M);

    uint32_t r[4];
    cpuid(0x80000000, 0, r);
    bool has_1g = false;
    if (r[0] >= 0x80000001) {
        cpuid(0x80000001, 0, r);
        has_1g = r[3] & CPUID_1G;
    }
    /* The same line either way: whether the CPU has them is not the test. */
    bool ok = true;
    if (has_1g) {
        static volatile uint64_t marker = 0x1111;
        pdpt[5] = 0 | PTE_P | PTE_W | PTE_PS;
        invlpg((void *)(VA_1G + phys((void *)&marker)));
        ok = *(volatile uint64_t *)(VA_1G + phys((void *)&marker)) == 0x1111;
        pdpt[5] = 0;
        invlpg((void *)(VA_1G + phys((void *)&marker)));
    }
    printf("1 GiB page (if the CPU has them): %s\n", ok ? "reads match" : "reads differ");
    check(ok, "1 GiB page");
}

void guest_main(uint32_t magic, uint32_t info)
{
    (void)magic;
    (void)info;
    printf("paging guest\n");
    user_init();
    write_cr0(read_cr0() | CR0_WP);
    pdpt = (uint64_t *)(guest_pml4[0] & ADDR_MASK);
    pd[0] = phys(pt) | PTE_P | PTE_W | PTE_U;
    pdpt[1] = phys(pd) | PTE_P | PTE_W | PTE_U;
    write_cr3(read_cr3());

    test_not_present();
    test_protection();
    test_nx();
    test_reserved();
    test_accessed_dirty();
    test_tlb();
    test_large_pages();
    printf("paging done\n");
}
