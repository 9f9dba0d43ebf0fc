/* ring3: what ring-3 code sees of the system state the kernel set up for
 * it. RFLAGS.IF as iretq set it (pushf shows it, popf cannot change it
 * under IOPL 0); IOPL 3, under which cli, sti and port I/O are allowed
 * whatever the I/O bitmap says, and popf still cannot change IOPL; CR4.TSD,
 * which makes rdtsc #GP(0) at ring 3 only.
 *
 * probe=ring3: the nested KVM of our hosts runs ring-3 code natively under
 * its own IF, IOPL and CR4.TSD; this guest reports that as a host defect. */
#include "guest.h"

#define VEC_GP 13

#define RFLAGS_FIXED 0x2ULL
#define CR4_TSD      (1ULL << 2)
#define COM1_SCR     0x3ff /* the UART's scratch register */

static uint64_t user_pushf(uint64_t arg)
{
    (void)arg;
    uint64_t flags;
    __asm__ volatile("pushfq; popq %0" : "=r"(flags));
    return flags;
}

/* popf of arg; returns the RFLAGS that result. */
static uint64_t user_popf(uint64_t arg)
{
    uint64_t flags;
    __asm__ volatile("pushq %1; popfq; pushfq; popq %0" : "=r"(flags) : "r"(arg) : "memory", "cc");
    return flags;
}

/* Under IOPL 3: RFLAGS after sti, after cli, and the number of exceptions. */
static volatile uint64_t after_sti, after_cli;

static uint64_t user_sti_cli(uint64_t arg)
{
    (void)arg;
    TRAP_ASM("sti; pushfq; popq after_sti(%%rip); cli; pushfq; popq after_cli(%%rip)",
             :
             :
             : "memory");
    return trap.count;
}

/* Write and read back the scratch register (denied in the I/O bitmap). */
static uint64_t user_ports(uint64_t value)
{
    uint8_t v = (uint8_t)value;
    TRAP_ASM("outb %%al, %%dx\n\tmovb $0, %%al\n\tinb %%dx, %%al",
             : "+a"(v)
             : "d"(COM1_SCR)
             : "memory");
    return v;
}

static uint64_t user_rdtsc(uint64_t arg)
{
    (void)arg;
    TRAP_ASM("rdtsc", : : : "rax", "rdx", "memory");
    return 0;
}

static void test_if(void)
{
    uint64_t flags = user_run(user_pushf, 0, RFLAGS_FIXED);
    printf("ring 3 entered with IF 0: pushf 0x%lx\n", flags);
    check(flags == RFLAGS_FIXED, "pushf at ring 3 shows IF or IOPL the kernel did not set");
    flags = user_run(user_popf, RFLAGS_FIXED | EFLAGS_IF | EFLAGS_IOPL3, RFLAGS_FIXED);
    printf("popf of IF and IOPL 3 at ring 3, IOPL 0: rflags 0x%lx\n", flags);
    check(flags == RFLAGS_FIXED, "popf at ring 3 changed IF or IOPL");
}

static void test_iopl3(void)
{
    uint64_t flags = user_run(user_pushf, 0, RFLAGS_FIXED | EFLAGS_IOPL3);
    printf("ring 3 entered with IOPL 3: pushf 0x%lx\n", flags);
    check(flags == (RFLAGS_FIXED | EFLAGS_IOPL3), "pushf at ring 3 does not show IOPL 3");

    trap_reset();
    uint64_t faults = user_run(user_sti_cli, 0, RFLAGS_FIXED | EFLAGS_IOPL3);
    printf("sti, cli at ring 3, IOPL 3: %lu exception(s), IF %u then %u\n", faults,
           !!(after_sti & EFLAGS_IF), !!(after_cli & EFLAGS_IF));
    check(!faults && (after_sti & EFLAGS_IF) && !(after_cli & EFLAGS_IF), "sti/cli under IOPL 3");

    flags = user_run(user_popf, RFLAGS_FIXED, RFLAGS_FIXED | EFLAGS_IOPL3);
    printf("popf of IOPL 0 at ring 3, IOPL 3: rflags 0x%lx\n", flags);
    check(flags == (RFLAGS_FIXED | EFLAGS_IOPL3), "popf at ring 3 changed IOPL");

    trap_reset();
    uint64_t v = user_run(user_ports, 0x3c, RFLAGS_FIXED | EFLAGS_IOPL3);
    printf("port 0x3ff, denied by the I/O bitmap, at ring 3 with IOPL 3: %u exception(s), read "
           "back 0x%lx\n",
           trap.count, v);
    check(!trap.count && v == 0x3c, "port I/O under IOPL 3");
}

static void test_tsd(void)
{
    write_cr4(read_cr4() | CR4_TSD);
    trap_reset();
    user_run(user_rdtsc, 0, RFLAGS_FIXED);
    trap_report("rdtsc at ring 3 with CR4.TSD", VEC_GP, 0);
    trap_reset();
    user_rdtsc(0);
    trap_report_none("rdtsc at ring 0 with CR4.TSD");
    write_cr4(read_cr4() & ~CR4_TSD);
}

void guest_main(uint32_t magic, uint32_t info)
{
    (void)magic;
    (void)info;
    printf("ring3 guest\n");
    user_init();
    pic_disable(); /* sti at ring 3 sets IF */
    test_if();
    test_iopl3();
    test_tsd();
    if (guest_failures)
        guest_host_defect("ring 3 runs with IF, IOPL or CR4.TSD other than the guest's (%u "
                          "check(s) failed)",
                          guest_failures);
    printf("ring3 done\n");
}
