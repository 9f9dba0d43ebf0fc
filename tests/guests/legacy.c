/* legacy: 32-bit protected mode without long mode (lib/legacy32.h leaves
 * long mode the way the modes guest does, and comes back, around each test).
 *
 * 32-bit paging (2 levels, 4-byte entries, CR4.PSE): #PF error codes and
 * CR2 for not-present pages, writes to read-only pages with CR0.WP 1 and 0,
 * user accesses to supervisor and read-only pages (and the #PF frame from
 * ring 3); the accessed and dirty bits; a 4 MiB page; bit 21 of a 4 MiB
 * PDE, reserved.
 * PAE paging (3 levels, PDPTEs, 8-byte entries): a 2 MiB page, a
 * not-present PDPTE, NX with EFER.NXE (fetch and read), the XD bit
 * reserved while EFER.NXE is 0, a reserved address bit.
 * Ring 3 through 32-bit gates (paging off): #UD through an interrupt gate,
 * #GP with an error code through a trap gate, an external interrupt (a
 * self-IPI) from ring 3, each switching to SS0:ESP0 of a 32-bit TSS; the
 * frame the CPU pushed (SS, ESP, EFLAGS, CS, EIP, error code), where it
 * is, and the handler's IF are checked, and IRET goes back to ring 3 on the
 * stack it came from.
 *
 * probe=legacy32: the nested KVM of our hosts raises #GP(0) for the mov to
 * CR0 that turns paging on outside long mode (32-bit and PAE paging alike;
 * legacy_call() reports it as a host defect), and fails to emulate a
 * 32-bit iret to ring 3 in legacy mode (an internal error).
 */
#include "legacy32.h"

#define VEC_UD 6
#define VEC_GP 13
#define VEC_PF 14

#define PTE_P       0x1u
#define PTE_W       0x2u
#define PTE_U       0x4u
#define PTE_PWT     0x8u
#define PTE_PCD     0x10u
#define PTE_A       0x20u
#define PTE_D       0x40u
#define PTE_PS      0x80u
#define PTE_NX      (1ULL << 63)
#define PDE32_RSV21 (1u << 21)   /* reserved in a 4 MiB PDE */
#define PTE_RSV51   (1ULL << 51) /* reserved while MAXPHYADDR < 52 */

#define PF_P    0x1
#define PF_W    0x2
#define PF_U    0x4
#define PF_RSVD 0x8
#define PF_I    0x10

#define CR0_WP    (1u << 16)
#define CR4_PSE   0x10u
#define EFER_NXE  0x800u
#define EFLAGS_RF (1u << 16)

#define SCRATCH     0x40000000u /* 32-bit: PDE 256, a page table; PAE: PDPTE 1 */
#define BIG_VA      0x80000000u /* 32-bit: a 4 MiB page; PAE: PDPTE 2, not present */
#define PHYS_BIG    0x2000000u  /* 32 MiB: free RAM in a 64 MiB guest, 4 MiB aligned */
#define IDENTITY_MB 16
#define LAPIC_4M    0xfec00000u /* IOAPIC and LAPIC */
#define OFFSET      0x123458u
#define JMP_RCX_LO  0xff /* jmp *%ecx: ff e1 */
#define JMP_RCX_HI  0xe1

#define USER_FLAGS 0x202u /* IF and the fixed bit */
#define IPI_VECTOR 0x40
#define SPURIOUS   0xff
#define ICR_SELF   (1u << 18)

/* 32-bit page table slots at SCRATCH. */
enum { P_NP, P_RO, P_SUPER, P_AD };
/* PAE: SCRATCH + 2 MiB * index. */
enum { Q_BIG, Q_TABLE, Q_RSV };

static volatile uint32_t pd32[1024] __attribute__((aligned(4096)));
static volatile uint32_t pt32[1024] __attribute__((aligned(4096)));
static volatile uint64_t pdpt[4] __attribute__((aligned(32)));
static volatile uint64_t pae_pd0[512] __attribute__((aligned(4096)));
static volatile uint64_t pae_pd1[512] __attribute__((aligned(4096)));
static volatile uint64_t pae_pt[512] __attribute__((aligned(4096)));
static uint8_t page[4096] __attribute__((aligned(4096)));
static uint8_t code_page[4096] __attribute__((aligned(4096)));

static const struct legacy_env env_flat; /* paging off */
static struct legacy_env env32, env32_nowp, env_pae, env_pae_nonx;

/* legacy.S */
extern char r3_ud2[], r3_ud2_insn[], r3_gp[], r3_gp_insn[], r3_pf[], r3_pf_insn[];
extern char r3_ipi[], r3_ipi_sent[], r3_ipi_end[];
extern volatile uint32_t r3_esp, r3_esp_after;

static uint32_t va(unsigned slot)
{
    return SCRATCH + slot * 4096u;
}

static void setup_tables(void)
{
    for (unsigned i = 0; i < IDENTITY_MB / 4; i++)
        pd32[i] = i << 22 | PTE_P | PTE_W | PTE_U | PTE_PS;
    pd32[LAPIC_4M >> 22] = LAPIC_4M | PTE_P | PTE_W | PTE_U | PTE_PS | PTE_PCD | PTE_PWT;
    pd32[SCRATCH >> 22] = addr32(pt32) | PTE_P | PTE_W | PTE_U;
    pt32[P_RO] = addr32(page) | PTE_P | PTE_U;
    pt32[P_SUPER] = addr32(page) | PTE_P | PTE_W;

    for (unsigned i = 0; i < IDENTITY_MB / 2; i++)
        pae_pd0[i] = (uint64_t)i << 21 | PTE_P | PTE_W | PTE_U | PTE_PS;
    pdpt[0] = addr32(pae_pd0) | PTE_P;
    pdpt[1] = addr32(pae_pd1) | PTE_P;
    pae_pd1[Q_TABLE] = addr32(pae_pt) | PTE_P | PTE_W;
    code_page[0] = JMP_RCX_LO;
    code_page[1] = JMP_RCX_HI;

    env32 = (struct legacy_env){CR0_PG | CR0_WP, addr32(pd32), CR4_PSE, 0};
    env32_nowp = (struct legacy_env){CR0_PG, addr32(pd32), CR4_PSE, 0};
    env_pae = (struct legacy_env){CR0_PG | CR0_WP, addr32(pdpt), CR4_PAE, EFER_NXE};
    env_pae_nonx = (struct legacy_env){CR0_PG | CR0_WP, addr32(pdpt), CR4_PAE, 0};
}

/* --- one access in legacy mode, at ring 0 or ring 3 --- */

static uint32_t access(const struct legacy_env *env, const char *fn, uint32_t addr, bool user)
{
    trap32_reset();
    if (user)
        return legacy_call(user32_run, addr32(fn), addr, 0x2, env);
    return legacy_call(fn, addr, addr, 0, env); /* a write writes the address */
}

static void report_pf(const char *what, uint32_t error, uint32_t cr2)
{
    if (trap32.count == 1 && trap32.vector == VEC_PF)
        printf("%s: #PF error 0x%x cr2 0x%x\n", what, trap32.error, trap32.cr2);
    else
        printf("%s: %u exception(s), vector %d\n", what, trap32.count, (int)trap32.vector);
    check(trap32.count == 1 && trap32.vector == VEC_PF && trap32.error == error &&
              trap32.cr2 == cr2,
          "%s: expected #PF error 0x%x cr2 0x%x", what, error, cr2);
}

static void pf(const char *what, const struct legacy_env *env, const char *fn, uint32_t addr,
               bool user, uint32_t error)
{
    access(env, fn, addr, user);
    report_pf(what, error, addr);
}

static void no_pf(const char *what, const struct legacy_env *env, const char *fn, uint32_t addr,
                  bool user)
{
    access(env, fn, addr, user);
    if (trap32.count == 0)
        printf("%s: no exception\n", what);
    else
        check(false, "%s: vector %u error 0x%x at eip 0x%x", what, trap32.vector, trap32.error,
              trap32.eip);
}

/* --- ring 3 through 32-bit gates --- */

static void report_frame(const char *what, const char *insn, bool error_code)
{
    uint32_t esp0 = user32_kernel_esp, pushed = error_code ? 24 : 20;
    printf("%s: %s, frame: ss 0x%x esp %s eflags 0x%x cs 0x%x eip %s", what,
           trap32.count ? exception_name(trap32.vector) : "nothing", trap32.ss,
           trap32.esp == r3_esp ? "ok" : "wrong", trap32.eflags & ~EFLAGS_RF, trap32.cs,
           trap32.eip == addr32(insn) ? "ok" : "wrong");
    if (error_code)
        printf(" error 0x%x", trap32.error);
    printf(", on esp0 - %u, handler IF %u\n", esp0 - trap32.handler_esp,
           !!(trap32.handler_eflags & EFLAGS_IF));
    check(trap32.count == 1 && trap32.ss == (GUEST_UDS | 3) && trap32.esp == r3_esp &&
              (trap32.eflags & ~EFLAGS_RF) == USER_FLAGS && trap32.cs == (GUEST_UCS32 | 3) &&
              trap32.eip == addr32(insn) && trap32.handler_esp == esp0 - pushed,
          "%s: the frame", what);
}

static void report_back(uint32_t segs)
{
    printf("  iret to ring 3: cs 0x%x ss 0x%x, esp %s\n", segs & 0xffff, segs >> 16,
           r3_esp_after == r3_esp ? "as before" : "wrong");
    check(segs == ((GUEST_UDS | 3) << 16 | (GUEST_UCS32 | 3)) && r3_esp_after == r3_esp,
          "back in ring 3");
}

static uint32_t run_user(const struct legacy_env *env, const char *fn, uint32_t arg)
{
    trap32_reset();
    return legacy_call(user32_run, addr32(fn), arg, USER_FLAGS, env);
}

static void test_ring3(void)
{
    printf("ring 3 through 32-bit gates (paging off):\n");
    uint32_t segs = run_user(&env_flat, r3_ud2, 0);
    report_frame("#UD, interrupt gate", r3_ud2_insn, false);
    check(trap32.vector == VEC_UD && !(trap32.handler_eflags & EFLAGS_IF), "#UD");
    report_back(segs);

    legacy_idt_set(VEC_GP, LEGACY_GATE_TRAP, 0, true);
    segs = run_user(&env_flat, r3_gp, 0);
    legacy_idt_set(VEC_GP, LEGACY_GATE_INTR, 0, true);
    report_frame("#GP, trap gate", r3_gp_insn, true);
    check(trap32.vector == VEC_GP && trap32.error == GUEST_DS &&
              (trap32.handler_eflags & EFLAGS_IF),
          "#GP");
    report_back(segs);

    segs = run_user(&env_flat, r3_ipi, IPI_VECTOR | ICR_SELF);
    bool in_loop = trap32.eip >= addr32(r3_ipi_sent) && trap32.eip <= addr32(r3_ipi_end);
    uint32_t esp0 = user32_kernel_esp;
    printf("self-IPI at ring 3, interrupt gate: vector 0x%x, frame: ss 0x%x esp %s eflags.IF %u "
           "cs 0x%x eip %s, on esp0 - %u, handler IF %u\n",
           trap32.vector, trap32.ss, trap32.esp == r3_esp ? "ok" : "wrong",
           !!(trap32.eflags & EFLAGS_IF), trap32.cs, in_loop ? "in the wait" : "wrong",
           esp0 - trap32.handler_esp, !!(trap32.handler_eflags & EFLAGS_IF));
    check(trap32.count == 1 && trap32.vector == IPI_VECTOR && trap32.ss == (GUEST_UDS | 3) &&
              trap32.esp == r3_esp && (trap32.eflags & EFLAGS_IF) &&
              trap32.cs == (GUEST_UCS32 | 3) && in_loop && trap32.handler_esp == esp0 - 20 &&
              !(trap32.handler_eflags & EFLAGS_IF),
          "self-IPI at ring 3");
    report_back(segs);
}

/* --- 32-bit paging --- */

static void test_paging32(void)
{
    printf("32-bit paging (CR4.PSE):\n");
    pf("read, PTE not present", &env32, legacy_read32, va(P_NP), false, 0);
    pf("write, PTE not present", &env32, legacy_write32, va(P_NP), false, PF_W);
    pf("write, read-only PTE, CR0.WP=1", &env32, legacy_write32, va(P_RO), false, PF_P | PF_W);
    no_pf("write, read-only PTE, CR0.WP=0", &env32_nowp, legacy_write32, va(P_RO), false);
    check(*(volatile uint32_t *)page == va(P_RO), "the CR0.WP=0 write was lost");
    pf("user read, supervisor PTE", &env32, legacy_read32, va(P_SUPER), true, PF_P | PF_U);
    pf("user write, read-only PTE", &env32, legacy_write32, va(P_RO), true, PF_P | PF_W | PF_U);
    no_pf("user read, read-only PTE", &env32, legacy_read32, va(P_RO), true);

    uint32_t segs = run_user(&env32, r3_pf, va(P_SUPER));
    report_frame("#PF at ring 3, interrupt gate", r3_pf_insn, true);
    check(trap32.vector == VEC_PF && trap32.error == (PF_P | PF_U) && trap32.cr2 == va(P_SUPER),
          "#PF at ring 3: error 0x%x cr2 0x%x", trap32.error, trap32.cr2);
    report_back(segs);
}

static void test_ad32(void)
{
    pt32[P_AD] = addr32(page) | PTE_P | PTE_W | PTE_U;
    pd32[SCRATCH >> 22] &= ~PTE_A;
    uint32_t before = pt32[P_AD];
    access(&env32, legacy_read32, va(P_AD), false);
    uint32_t after_read = pt32[P_AD];
    access(&env32, legacy_write32, va(P_AD), false);
    uint32_t after_write = pt32[P_AD];
    printf("PTE A/D: before %u/%u, after a read %u/%u, after a write %u/%u; PDE A %u\n",
           !!(before & PTE_A), !!(before & PTE_D), !!(after_read & PTE_A), !!(after_read & PTE_D),
           !!(after_write & PTE_A), !!(after_write & PTE_D), !!(pd32[SCRATCH >> 22] & PTE_A));
    check(!(before & (PTE_A | PTE_D)) && (after_read & (PTE_A | PTE_D)) == PTE_A &&
              (after_write & (PTE_A | PTE_D)) == (PTE_A | PTE_D) && (pd32[SCRATCH >> 22] & PTE_A),
          "accessed/dirty bits, 32-bit paging");
}

static void test_4m(void)
{
    volatile uint32_t *phys_word = (volatile uint32_t *)(uintptr_t)(PHYS_BIG + OFFSET);
    *phys_word = 0;
    pd32[BIG_VA >> 22] = PHYS_BIG | PTE_P | PTE_W | PTE_PS;
    trap32_reset();
    legacy_call(legacy_write32, BIG_VA + OFFSET, 0x4444, 0, &env32);
    uint32_t pde = pd32[BIG_VA >> 22];
    printf("4 MiB page: write at 0x%x lands at 0x%x: %s, PDE A/D %u/%u\n", BIG_VA + OFFSET,
           PHYS_BIG + OFFSET, *phys_word == 0x4444 ? "yes" : "no", !!(pde & PTE_A),
           !!(pde & PTE_D));
    check(trap32.count == 0 && *phys_word == 0x4444 && (pde & (PTE_A | PTE_D)) == (PTE_A | PTE_D),
          "4 MiB page");
    uint32_t next = BIG_VA + (1u << 22);
    pd32[next >> 22] = (PHYS_BIG + (1u << 22)) | PTE_P | PTE_W | PTE_PS | PDE32_RSV21;
    pf("read, 4 MiB PDE bit 21 set", &env32, legacy_read32, next + 0x10, false, PF_P | PF_RSVD);
}

/* --- PAE paging --- */

static void test_pae(void)
{
    printf("PAE paging:\n");
    volatile uint32_t *phys_word = (volatile uint32_t *)(uintptr_t)(PHYS_BIG + OFFSET);
    *phys_word = 0;
    pae_pd1[Q_BIG] = PHYS_BIG | PTE_P | PTE_W | PTE_PS;
    trap32_reset();
    legacy_call(legacy_write32, SCRATCH + OFFSET, 0x2222, 0, &env_pae);
    uint64_t pde = pae_pd1[Q_BIG];
    printf("2 MiB page: write at 0x%x lands at 0x%x: %s, PDE A/D %u/%u\n", SCRATCH + OFFSET,
           PHYS_BIG + OFFSET, *phys_word == 0x2222 ? "yes" : "no", !!(pde & PTE_A),
           !!(pde & PTE_D));
    check(trap32.count == 0 && *phys_word == 0x2222 && (pde & (PTE_A | PTE_D)) == (PTE_A | PTE_D),
          "2 MiB page");

    pf("read, PDPTE not present", &env_pae, legacy_read32, BIG_VA + 0x10, false, 0);

    uint32_t code_va = SCRATCH + Q_TABLE * 0x200000u;
    pae_pt[0] = addr32(code_page) | PTE_P;
    no_pf("fetch, executable page", &env_pae, legacy_fetch32, code_va, false);
    pae_pt[0] = addr32(code_page) | PTE_P | PTE_NX;
    pf("fetch, NX page", &env_pae, legacy_fetch32, code_va, false, PF_P | PF_I);
    check(trap32.eip == code_va, "the NX fault's eip 0x%x", trap32.eip);
    no_pf("read, NX page", &env_pae, legacy_read32, code_va, false);
    pf("read, XD set while EFER.NXE=0", &env_pae_nonx, legacy_read32, code_va, false,
       PF_P | PF_RSVD);

    pae_pd1[Q_RSV] = PHYS_BIG | PTE_P | PTE_W | PTE_PS | PTE_RSV51;
    pf("read, 2 MiB PDE bit 51 set", &env_pae, legacy_read32, SCRATCH + Q_RSV * 0x200000u, false,
       PF_P | PF_RSVD);
}

void guest_main(uint32_t magic, uint32_t info)
{
    (void)magic;
    (void)info;
    printf("legacy guest\n");
    legacy_init();
    self_ipi_init(IPI_VECTOR, SPURIOUS);
    setup_tables();
    test_paging32();
    test_ad32();
    test_4m();
    test_pae();
    test_ring3();
    printf("legacy done\n");
}
