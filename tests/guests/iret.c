/* iret: IRET's forms in long mode. At ring 0: iretq from 64-bit code into
 * compatibility mode, then 32-bit irets from compatibility mode to
 * compatibility mode and back to 64-bit code (at the same privilege level
 * these pop no SS:ESP); at ring 3 the same round trip; iretq with
 * RFLAGS.NT set is #GP(0) (no task return in IA-32e mode).
 *
 * probe=iret: the nested KVM of our hosts raises #GP for a 32-bit iret in
 * compatibility mode, at ring 0 and at ring 3; this guest reports that as
 * a host defect there. (The modes guest has the iretq into compatibility mode,
 * which that host gets right.) */
#include "guest.h"

#define VEC_GP 13

#define RFLAGS_FIXED 0x2ULL
#define RFLAGS_NT    0x4000ULL

/* What iret.S records: the CS of each step, ESP before minus after the
 * 32-bit irets. */
volatile uint64_t k_cs[3], k_esp_delta, u_cs[2], u_esp_delta, saved_rsp;

void iret_ring0(void);
uint64_t iret_ring3(uint64_t arg);
extern char iret_code_end[];

static void iret_gp(struct irq_frame *f)
{
    if (f->rip >= (uintptr_t)iret_ring0 && f->rip < (uintptr_t)iret_code_end)
        guest_host_defect("iret in compatibility mode raised #GP(0x%lx) at ring %lu", f->error,
                          f->cs & 3);
    printf("unexpected #GP(0x%lx) at rip 0x%lx cs 0x%lx\n", f->error, f->rip, f->cs);
    guest_exit(GUEST_EXIT_EXCEPTION);
}

static void test_nt(void)
{
    trap_reset();
    /* The frame returns to the resume point too, so that an iretq which
     * wrongly succeeds ends in the same place. */
    __asm__ volatile("movq %%rsp, saved_rsp(%%rip)\n\t"
                     "movq $1f, trap_resume(%%rip)\n\t"
                     "movq %%rsp, %%rax\n\t"
                     "pushq %0\n\t"
                     "pushq %%rax\n\t"
                     "pushq %1\n\t"
                     "pushq %2\n\t"
                     "pushq $1f\n\t"
                     "pushq %3\n\t"
                     "popfq\n\t"
                     "iretq\n"
                     "1:\tmovq saved_rsp(%%rip), %%rsp\n\t"
                     "movq $0, trap_resume(%%rip)\n\t"
                     "pushq %1\n\t"
                     "popfq"
                     :
                     : "i"(GUEST_DS), "i"(RFLAGS_FIXED), "i"(GUEST_CS64),
                       "i"(RFLAGS_FIXED | RFLAGS_NT)
                     : "rax", "memory", "cc");
    trap_report("iretq with RFLAGS.NT set", VEC_GP, 0);
}

void guest_main(uint32_t magic, uint32_t info)
{
    (void)magic;
    (void)info;
    printf("iret guest\n");
    user_init();
    idt_set_handler(VEC_GP, iret_gp);
    iret_ring0();
    printf("ring 0: iretq to cs 0x%lx, iret to cs 0x%lx, iret to cs 0x%lx, esp delta %ld\n",
           k_cs[0], k_cs[1], k_cs[2], (int64_t)(int32_t)k_esp_delta);
    check(k_cs[0] == GUEST_CS32 && k_cs[1] == GUEST_CS32 && k_cs[2] == GUEST_CS64 &&
              (uint32_t)k_esp_delta == 0,
          "irets at ring 0");
    user_run(iret_ring3, 0, RFLAGS_FIXED);
    printf("ring 3: iretq to cs 0x%lx, iret to cs 0x%lx, esp delta %ld\n", u_cs[0], u_cs[1],
           (int64_t)(int32_t)u_esp_delta);
    check(u_cs[0] == (GUEST_UCS32 | 3) && u_cs[1] == (GUEST_UCS64 | 3) &&
              (uint32_t)u_esp_delta == 0,
          "irets at ring 3");
    trap_init(); /* #GP back to trap.c */
    test_nt();
    if (guest_failures)
        guest_host_defect("iret forms wrong (%u check(s) failed)", guest_failures);
    printf("iret done\n");
}
