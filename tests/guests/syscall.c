/* syscall: SYSCALL and SYSRET in long mode. STAR gives the selectors,
 * LSTAR the 64-bit entry, CSTAR the compatibility-mode entry (AMD), SFMASK
 * the RFLAGS bits cleared on entry; RCX and R11 carry the return RIP and
 * RFLAGS. A round trip: ring-3 64-bit code syscalls; sysretl returns to
 * ring-3 compatibility-mode code (STAR[63:48]), which syscalls through
 * CSTAR; sysretq returns to the 64-bit code.
 *
 * probe=sysret: on the nested KVM of our hosts, sysret at ring 0 raises
 * #GP(0); this guest reports that as a host defect there. */
#include "guest.h"

#define VEC_GP 13

#define MSR_STAR   0xc0000081
#define MSR_LSTAR  0xc0000082
#define MSR_CSTAR  0xc0000083
#define MSR_SFMASK 0xc0000084
#define EFER_SCE   0x1

#define RFLAGS_FIXED 0x2ULL
#define RFLAGS_DF    0x400ULL
#define RFLAGS_AC    0x40000ULL
#define USER_RFLAGS  (RFLAGS_FIXED | EFLAGS_IF | RFLAGS_DF | RFLAGS_AC)
#define SFMASK       (EFLAGS_IF | RFLAGS_DF | RFLAGS_AC)

/* What each kernel entry saw (syscall.S), and what the user code saw after
 * sysret. */
struct entry_state {
    uint64_t rcx, r11, rflags, cs, ss;
};
volatile struct entry_state entry64, entry32;
volatile uint64_t compat_cs, compat_ss, compat_rflags, compat_ret_rip;
volatile uint64_t user_rflags, user_cs, user_ss, user_ret_rip;

/* syscall.S */
void lstar_entry(void);
void cstar_entry(void);
extern char sysretl_insn[], sysretq_insn[];

static uint64_t user_syscall(uint64_t arg)
{
    uint64_t rax = arg;
    __asm__ volatile("pushq %[flags]\n\t"
                     "popfq\n\t"
                     "movq $1f, user_ret_rip(%%rip)\n\t"
                     "syscall\n"
                     "1:\tpushfq\n\t"
                     "popq user_rflags(%%rip)\n\t"
                     "pushq %[fixed]\n\t"
                     "popfq\n\t"
                     "movw %%cs, user_cs(%%rip)\n\t"
                     "movw %%ss, user_ss(%%rip)"
                     : "+a"(rax)
                     : [flags] "i"(USER_RFLAGS), [fixed] "i"(RFLAGS_FIXED)
                     : "rcx", "rdx", "r11", "memory", "cc");
    return rax;
}

static void sysret_gp(struct irq_frame *f)
{
    if (f->rip == (uintptr_t)sysretl_insn || f->rip == (uintptr_t)sysretq_insn)
        guest_host_defect("%s at ring 0 raised #GP(0x%lx)",
                          f->rip == (uintptr_t)sysretl_insn ? "sysretl" : "sysretq", f->error);
    printf("unexpected #GP(0x%lx) at rip 0x%lx cs 0x%lx\n", f->error, f->rip, f->cs);
    guest_exit(GUEST_EXIT_EXCEPTION);
}

static void print_entry(const char *what, const volatile struct entry_state *e, uint64_t ret_rip)
{
    printf("%s: cs 0x%lx ss 0x%lx rflags 0x%lx, r11 0x%lx, rcx %s\n", what, e->cs, e->ss, e->rflags,
           e->r11, e->rcx == ret_rip ? "= return rip" : "wrong");
}

void guest_main(uint32_t magic, uint32_t info)
{
    (void)magic;
    (void)info;
    printf("syscall guest\n");
    user_init();
    idt_set_handler(VEC_GP, sysret_gp);
    pic_disable(); /* IF is set at ring 3 */
    wrmsr(MSR_EFER, rdmsr(MSR_EFER) | EFER_SCE);
    wrmsr(MSR_STAR, (uint64_t)GUEST_UCS32 << 48 | (uint64_t)GUEST_CS64 << 32);
    wrmsr(MSR_LSTAR, (uintptr_t)lstar_entry);
    wrmsr(MSR_CSTAR, (uintptr_t)cstar_entry);
    wrmsr(MSR_SFMASK, SFMASK);

    uint64_t r = user_run(user_syscall, 0x100, RFLAGS_FIXED | EFLAGS_IF);
    print_entry("syscall from 64-bit code", &entry64, user_ret_rip);
    check(entry64.cs == GUEST_CS64 && entry64.ss == GUEST_DS && entry64.rflags == RFLAGS_FIXED &&
              entry64.r11 == USER_RFLAGS && entry64.rcx == user_ret_rip,
          "LSTAR entry state");
    printf("sysretl: cs 0x%lx ss 0x%lx eflags 0x%lx\n", compat_cs, compat_ss, compat_rflags);
    check(compat_cs == (GUEST_UCS32 | 3) && compat_ss == (GUEST_UDS | 3) &&
              compat_rflags == USER_RFLAGS,
          "sysretl state");
    print_entry("syscall from compatibility mode", &entry32, compat_ret_rip);
    check(entry32.cs == GUEST_CS64 && entry32.ss == GUEST_DS && entry32.rflags == RFLAGS_FIXED &&
              entry32.r11 == USER_RFLAGS && entry32.rcx == compat_ret_rip,
          "CSTAR entry state");
    printf("sysretq: cs 0x%lx ss 0x%lx rflags 0x%lx rax 0x%lx\n", user_cs, user_ss, user_rflags, r);
    check(user_cs == (GUEST_UCS64 | 3) && user_ss == (GUEST_UDS | 3) &&
              user_rflags == USER_RFLAGS && r == 0x100,
          "sysretq state");
    printf("syscall done\n");
}
