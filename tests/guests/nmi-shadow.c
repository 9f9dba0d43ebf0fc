/* nmi-shadow: NMI, the MOV SS/POP SS shadow, debug and task-priority
 * registers.
 *
 * NMI: an IPI with delivery mode NMI, sent through the ICR to this CPU's
 * own APIC ID while IF is 0, arrives at vector 2. A second one, sent from
 * inside the handler, is held while the first handler runs (NMIs are
 * blocked from an NMI's delivery to the next IRET) and arrives after the
 * handler's iretq, not nested in it.
 *
 * Debug registers (no breakpoint is enabled, none needs to fire): DR0-DR3
 * and DR7 read back what was written; DR6 and DR7 bits that are fixed to 1
 * read as 1 (DR6 bits 4-10 and 17-31, DR7 bit 10) and DR6 bit 12 as 0,
 * whatever was written; DR6's status bits B0-B3 keep what was written;
 * DR4/DR5 are DR6/DR7 while CR4.DE is 0 and #UD when it is 1; a 1 in bits
 * 63:32 of DR6 or DR7 is #GP(0); MOV DR at ring 3 is #GP(0).
 *
 * CR8 is the LAPIC TPR's priority class: TPR written through MMIO reads
 * back in CR8 (TPR[7:4]), CR8 written reads back as TPR = CR8 << 4 (TPR[3:0]
 * cleared); a reserved CR8 bit is #GP(0), MOV CR8 at ring 3 #GP(0); a
 * pending interrupt of a class at or below CR8 waits with IF 1 until CR8 is
 * lowered.
 *
 * The shadow of MOV SS and POP SS (nmi-shadow.S): what the SDM guarantees
 * is that the single-step trap (EFLAGS.TF) that would follow the load is
 * suppressed, so with TF set the #DB traps skip the instruction after the
 * load; checked for MOV SS in 64-bit mode and for POP SS and MOV SS in
 * compatibility mode. (Not with a maskable interrupt: one can be made to
 * fall due exactly after the load only by a shadowing instruction just
 * before it, such as STI, and of consecutive shadowing instructions only
 * the first is guaranteed to delay interrupts.)
 *
 * probe=ss-shadow: the nested KVM of our hosts does not suppress the
 * single-step trap after MOV SS / POP SS; this guest reports that as a host
 * defect there if everything else passed (it runs that test last).
 */
#include "guest.h"

#define VEC_DB  1
#define VEC_NMI 2
#define VEC_UD  6
#define VEC_GP  13

#define IPI_VECTOR      0x40 /* priority class 4 */
#define SPURIOUS_VECTOR 0xff

#define ICR_NMI    (4u << 8)
#define ICR_ASSERT (1u << 14)
#define LAPIC_TPR  0x080

#define RFLAGS_FIXED 0x2ULL
#define RFLAGS_TF    0x100ULL
#define CR4_DE       (1ULL << 3)
#define DR6_BS       (1ULL << 14)
/* Bits that may be software-clearable on some CPUs (BLD 11, RTM 16): not
 * compared. */
#define DR6_VARIES (1UL << 11 | 1UL << 16)
#define DR6_FIXED  0xffff0ff0UL /* what reads back of a 0 (without those) */
#define DR7_FIXED  0x400UL
#define DR7_FIELDS 0x55550000UL /* R/W and LEN of all four; nothing enabled */

#define MAX_TRAPS  8
#define NMI_HOLD   20000 /* iterations the first NMI handler waits */
#define TPR_HOLD   2000  /* iterations a TPR-blocked interrupt must wait */
#define CR8_BLOCKS 5     /* class 5 blocks vector 0x40 */

/* --- NMI --- */

static volatile uint64_t nmi_count, nmi_depth, nmi_nested, nmi_count_in_handler;
static volatile uint64_t nmi_rflags, nmi_cs;
static volatile bool nmi_second_sent;

static bool send_nmi(void)
{
    return lapic_send_ipi(lapic_id(), ICR_NMI | ICR_ASSERT);
}

static void nmi_handler(struct irq_frame *f)
{
    if (nmi_depth)
        nmi_nested++;
    nmi_depth++;
    if (nmi_count++ == 0) {
        nmi_rflags = f->rflags;
        nmi_cs = f->cs;
        nmi_second_sent = send_nmi();
        for (unsigned i = 0; i < NMI_HOLD; i++)
            cpu_relax();
        nmi_count_in_handler = nmi_count;
    }
    nmi_depth--;
}

static void test_nmi(void)
{
    idt_set_handler(VEC_NMI, nmi_handler);
    irq_disable();
    check(send_nmi(), "the NMI IPI was never delivered");
    uint64_t start = rdtsc();
    while (nmi_count < 2 && rdtsc() - start < TSC_TIMEOUT)
        cpu_relax();
    printf("NMI through the ICR to this CPU, IF 0: %s, frame cs 0x%lx, IF %u\n",
           nmi_count ? "taken at vector 2" : "not taken", nmi_cs, !!(nmi_rflags & EFLAGS_IF));
    check(nmi_count >= 1 && nmi_cs == GUEST_CS64 && !(nmi_rflags & EFLAGS_IF), "the first NMI");
    printf("second NMI, sent from the handler: %lu NMI(s) while it ran, %lu after its iretq, "
           "%lu nested\n",
           nmi_count_in_handler, nmi_count, nmi_nested);
    check(nmi_second_sent && nmi_count_in_handler == 1 && nmi_count == 2 && nmi_nested == 0,
          "NMI blocking until IRET");
}

/* --- debug registers --- */

#define READ_DR(n)                                                                                 \
    ({                                                                                             \
        uint64_t v_;                                                                               \
        __asm__ volatile("mov %%dr" #n ", %0" : "=r"(v_));                                         \
        v_;                                                                                        \
    })
#define WRITE_DR(n, v) __asm__ volatile("mov %0, %%dr" #n ::"r"((uint64_t)(v)))

static void test_dr_values(void)
{
    static const uint64_t values[4] = {0x1000, 0x7fff0008, 0x12345678abcULL, 0xffff800000001234ULL};
    WRITE_DR(0, values[0]);
    WRITE_DR(1, values[1]);
    WRITE_DR(2, values[2]);
    WRITE_DR(3, values[3]);
    uint64_t got[4] = {READ_DR(0), READ_DR(1), READ_DR(2), READ_DR(3)};
    bool same = memcmp(got, values, sizeof(got)) == 0;
    printf("DR0-DR3 read back what was written: %s\n", same ? "yes" : "no");
    check(same, "DR0-DR3: 0x%lx 0x%lx 0x%lx 0x%lx", got[0], got[1], got[2], got[3]);

    WRITE_DR(7, 0);
    uint64_t dr7_zero = READ_DR(7);
    WRITE_DR(7, DR7_FIELDS);
    uint64_t dr7_fields = READ_DR(7);
    WRITE_DR(7, 0);
    printf("DR7: 0 reads 0x%lx, 0x%lx reads 0x%lx\n", dr7_zero, DR7_FIELDS, dr7_fields);
    check(dr7_zero == DR7_FIXED && dr7_fields == (DR7_FIELDS | DR7_FIXED), "DR7 read back");

    WRITE_DR(6, 0);
    uint64_t dr6_zero = READ_DR(6);
    WRITE_DR(6, 0xf);
    uint64_t dr6_b = READ_DR(6);
    WRITE_DR(6, 0);
    printf("DR6: 0 reads 0x%lx, 0xf reads 0x%lx (bits 11 and 16 not compared)\n",
           dr6_zero & ~DR6_VARIES, dr6_b & ~DR6_VARIES);
    check((dr6_zero & ~DR6_VARIES) == (DR6_FIXED & ~DR6_VARIES) &&
              (dr6_b & ~DR6_VARIES) == ((DR6_FIXED | 0xf) & ~DR6_VARIES),
          "DR6 read back");
}

static void test_dr_aliases(void)
{
    WRITE_DR(7, DR7_FIELDS);
    uint64_t dr5 = READ_DR(5), dr4 = READ_DR(4), dr6 = READ_DR(6);
    WRITE_DR(7, 0);
    printf("CR4.DE 0: DR5 reads DR7 (%s), DR4 reads DR6 (%s)\n",
           dr5 == (DR7_FIELDS | DR7_FIXED) ? "yes" : "no", dr4 == dr6 ? "yes" : "no");
    check(dr5 == (DR7_FIELDS | DR7_FIXED) && dr4 == dr6, "DR4/DR5 aliases");

    write_cr4(read_cr4() | CR4_DE);
    trap_reset();
    TRAP_ASM("mov %%dr4, %%rax", : : : "rax", "memory");
    trap_report("CR4.DE 1: mov from DR4", VEC_UD, 0);
    trap_reset();
    TRAP_ASM("mov %%rax, %%dr5", : : "a"(0ULL) : "memory");
    trap_report("CR4.DE 1: mov to DR5", VEC_UD, 0);
    write_cr4(read_cr4() & ~CR4_DE);
}

static uint64_t user_read_dr7(uint64_t arg)
{
    (void)arg;
    TRAP_ASM("mov %%dr7, %%rax", : : : "rax", "memory");
    return 0;
}

static void test_dr_faults(void)
{
    trap_reset();
    TRAP_ASM("mov %%rax, %%dr7", : : "a"(1ULL << 32) : "memory");
    trap_report("mov to DR7 with bit 32 set", VEC_GP, 0);
    trap_reset();
    TRAP_ASM("mov %%rax, %%dr6", : : "a"(1ULL << 40) : "memory");
    trap_report("mov to DR6 with bit 40 set", VEC_GP, 0);
    check(READ_DR(7) == DR7_FIXED, "the faulting mov changed DR7");
    trap_reset();
    user_run(user_read_dr7, 0, RFLAGS_FIXED);
    trap_report("mov from DR7 at ring 3", VEC_GP, 0);
}

/* --- CR8 and the TPR --- */

static uint64_t read_cr8(void)
{
    uint64_t v;
    __asm__ volatile("mov %%cr8, %0" : "=r"(v));
    return v;
}

static void write_cr8(uint64_t v)
{
    __asm__ volatile("mov %0, %%cr8" ::"r"(v) : "memory");
}

static uint64_t user_read_cr8(uint64_t arg)
{
    (void)arg;
    TRAP_ASM("mov %%cr8, %%rax", : : : "rax", "memory");
    return 0;
}

static void test_cr8(void)
{
    lapic_write(LAPIC_TPR, 0x50);
    uint64_t a = read_cr8();
    lapic_write(LAPIC_TPR, 0x57);
    uint64_t b = read_cr8();
    write_cr8(0xa);
    uint32_t c = lapic_read(LAPIC_TPR) & 0xff;
    printf("TPR 0x50: CR8 %lu; TPR 0x57: CR8 %lu; CR8 10: TPR 0x%x\n", a, b, c);
    check(a == 5 && b == 5 && c == 0xa0, "CR8 and TPR");

    trap_reset();
    TRAP_ASM("mov %%rax, %%cr8", : : "a"(0x10ULL) : "memory");
    trap_report("mov to CR8 with bit 4 set", VEC_GP, 0);
    check(read_cr8() == 0xa, "the faulting mov changed CR8");
    trap_reset();
    user_run(user_read_cr8, 0, RFLAGS_FIXED);
    trap_report("mov from CR8 at ring 3", VEC_GP, 0);

    write_cr8(CR8_BLOCKS);
    check(self_ipi_send(), "the self-IPI never became pending");
    irq_enable();
    for (unsigned i = 0; i < TPR_HOLD; i++)
        cpu_relax();
    irq_disable();
    uint64_t held = self_ipi_count;
    write_cr8(0);
    irq_enable();
    uint64_t start = rdtsc();
    while (!self_ipi_count && rdtsc() - start < TSC_TIMEOUT)
        cpu_relax();
    irq_disable();
    printf("self-IPI at vector 0x%x, IF 1: %lu taken while CR8 was %u, %lu once CR8 was 0\n",
           IPI_VECTOR, held, CR8_BLOCKS, self_ipi_count);
    check(held == 0 && self_ipi_count == 1, "CR8 blocking an interrupt");
}

/* --- the MOV SS / POP SS shadow --- */

static volatile uint64_t db_rip[MAX_TRAPS], db_dr6;
static volatile unsigned db_count;
static const uint64_t *stops;
static unsigned nstops;

/* Record where the trap arrived; TF off at a stop (or when full). */
static void db_handler(struct irq_frame *f)
{
    unsigned n = db_count++;
    if (n < MAX_TRAPS)
        db_rip[n] = f->rip;
    if (n == 0)
        db_dr6 = READ_DR(6);
    WRITE_DR(6, 0); /* the CPU never clears DR6 itself */
    bool stop = n + 1 >= MAX_TRAPS;
    for (unsigned i = 0; i < nstops; i++)
        stop |= f->rip == stops[i];
    if (stop)
        f->rflags &= ~RFLAGS_TF;
}

extern char ss_mov64_load[], ss_mov64_after[], ss_mov64_stop[];
extern char ss_pop32_load[], ss_pop32_after[], ss_pop32_stop[];
extern char ss_mov32_load[], ss_mov32_after[], ss_mov32_stop[];
void ss_mov64(void);
void ss_pop32(void);

/* Run a sequence; print the labels the traps arrived at. names/addrs:
 * every label of the sequence; expected: the traps that must arrive;
 * unsuppressed: what arrives if the load's trap is not suppressed.
 * Returns false if that is what happened (the check is left to the
 * caller: a host defect under kvm). */
static bool single_step(const char *what, void (*seq)(void), const char *const *names,
                        const uint64_t *addrs, unsigned nlabels, const char *expected,
                        const char *unsuppressed)
{
    char got[128] = "";
    size_t len = 0;
    db_count = 0;
    db_dr6 = 0;
    WRITE_DR(6, 0);
    seq();
    for (unsigned i = 0; i < db_count && i < MAX_TRAPS; i++) {
        const char *name = "elsewhere";
        for (unsigned j = 0; j < nlabels; j++)
            if (db_rip[i] == addrs[j])
                name = names[j];
        size_t n = strlen(name);
        if (len + n + 2 < sizeof(got)) {
            if (len)
                got[len++] = ' ';
            memcpy(got + len, name, n + 1);
            len += n;
        }
    }
    bool bs = db_count && (db_dr6 & DR6_BS);
    printf("%s, TF set: #DB at [%s]%s\n", what, got, bs ? ", DR6.BS set" : "");
    if (bs && strcmp(got, unsuppressed) == 0)
        return false;
    check(bs && strcmp(got, expected) == 0, "%s: expected #DB at [%s], DR6.BS set", what, expected);
    return true;
}

static void test_ss_shadow(void)
{
    idt_set_handler(VEC_DB, db_handler);
    static const char *const names64[] = {"load", "after-load", "stop"};
    const uint64_t addrs64[] = {(uintptr_t)ss_mov64_load, (uintptr_t)ss_mov64_after,
                                (uintptr_t)ss_mov64_stop};
    stops = &addrs64[2];
    nstops = 1;
    bool suppressed = single_step("mov ss in 64-bit mode", ss_mov64, names64, addrs64, 3,
                                  "load stop", "load after-load stop");

    static const char *const names32[] = {"pop-load", "after-pop", "pop-stop",
                                          "mov-load", "after-mov", "mov-stop"};
    const uint64_t addrs32[] = {(uintptr_t)ss_pop32_load,  (uintptr_t)ss_pop32_after,
                                (uintptr_t)ss_pop32_stop,  (uintptr_t)ss_mov32_load,
                                (uintptr_t)ss_mov32_after, (uintptr_t)ss_mov32_stop};
    const uint64_t stops32[] = {addrs32[2], addrs32[5]};
    stops = stops32;
    nstops = 2;
    suppressed &= single_step("pop ss, then mov ss, in compatibility mode", ss_pop32, names32,
                              addrs32, 6, "pop-load pop-stop mov-load mov-stop",
                              "pop-load after-pop pop-stop mov-load after-mov mov-stop");
    nstops = 0;
    if (!suppressed && !guest_failures)
        guest_host_defect("the single-step trap right after mov ss / pop ss is not suppressed");
    check(suppressed, "the single-step trap right after mov ss / pop ss is not suppressed");
}

void guest_main(uint32_t magic, uint32_t info)
{
    (void)magic;
    (void)info;
    printf("nmi-shadow guest\n");
    user_init();
    self_ipi_init(IPI_VECTOR, SPURIOUS_VECTOR);
    test_nmi();
    test_dr_values();
    test_dr_aliases();
    test_dr_faults();
    test_cr8();
    test_ss_shadow(); /* last: a host defect under kvm ends the test */
    printf("nmi-shadow done\n");
}
