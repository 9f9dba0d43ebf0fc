/* Expected exceptions: TRAP_ASM() (guest.h) arms trap_resume with the
 * address just past its instructions; trap_handler(), installed on every
 * exception vector by trap_init(), records the exception in `trap` and
 * resumes there, at whatever privilege level the exception came from. An
 * exception while nothing is armed is reported and ends the test, as the
 * default handlers of idt.c do. The ud2 at user_exit (user.S) is how ring-3
 * code returns: it ends user_run(). */
#include "guest.h"

#define UD_VECTOR 6
#define PF_VECTOR 14

extern char user_exit[];

volatile struct trap_record trap;
volatile uint64_t trap_resume;

static void trap_handler(struct irq_frame *f)
{
    if (f->vector == UD_VECTOR && f->rip == (uintptr_t)user_exit && (f->cs & 3) == 3)
        user_return(f->rax);
    uint64_t resume = trap_resume;
    if (!resume) {
        printf("unexpected %s (vector %lu) error 0x%lx at rip 0x%lx cs 0x%lx rsp 0x%lx\n",
               exception_name(f->vector), f->vector, f->error, f->rip, f->cs, f->rsp);
        if (f->vector == PF_VECTOR)
            printf("  cr2 0x%lx\n", read_cr2());
        guest_exit(GUEST_EXIT_EXCEPTION);
    }
    trap.vector = f->vector;
    trap.error = f->error;
    trap.rip = f->rip;
    trap.cs = f->cs;
    trap.rsp = f->rsp;
    trap.cr2 = f->vector == PF_VECTOR ? read_cr2() : 0;
    trap.count++;
    trap_resume = 0;
    f->rip = resume;
}

void trap_init(void)
{
    for (unsigned v = 0; v < 32; v++)
        idt_set_handler(v, trap_handler);
}

void trap_reset(void)
{
    trap.vector = TRAP_NONE;
    trap.error = trap.rip = trap.cs = trap.rsp = trap.cr2 = 0;
    trap.count = 0;
}

bool trapped(unsigned vector, uint64_t error)
{
    return trap.count == 1 && trap.vector == vector && trap.error == error;
}

void trap_report(const char *what, unsigned vector, uint64_t error)
{
    if (trap.count == 0)
        printf("%s: no exception\n", what);
    else
        printf("%s: %s(0x%lx)\n", what, exception_name(trap.vector), trap.error);
    check(trapped(vector, error), "%s: expected vector %u error 0x%lx, got %u exception(s)", what,
          vector, error, trap.count);
}

void trap_report_none(const char *what)
{
    if (trap.count == 0)
        printf("%s: no exception\n", what);
    else
        check(false, "%s: vector %lu error 0x%lx at rip 0x%lx", what, trap.vector, trap.error,
              trap.rip);
}
