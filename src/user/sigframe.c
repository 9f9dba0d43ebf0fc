/* The Linux x86-64 signal frame, built on the guest stack as the kernel
 * builds it (arch/x86/kernel/signal_64.c), and rt_sigreturn.
 *
 *   frame+0    pretcode: sa_restorer (the handler's return address)
 *   frame+8    struct ucontext: flags, link, altstack, sigcontext, sigmask
 *   frame+312  siginfo (128 bytes)
 *   above      the FPU state in FXSAVE format, 64-byte aligned, that
 *              sigcontext.fpstate points to
 *
 * The frame starts 128 bytes below RSP (the red zone), or at the top of
 * the alternate stack for SA_ONSTACK handlers; at handler entry RSP + 8 is
 * 16-byte aligned, as after a call.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stddef.h>
#include <string.h>

#include "cpu/x86/flags.h"
#include "cpu/x86/x87.h"
#include "user/user_proc.h"

#define UC_SIGCONTEXT_SS     0x2
#define UC_STRICT_RESTORE_SS 0x4
#define USER_SA_RESTORER     0x04000000ULL
#define SS_AUTODISARM_FLAG   (1U << 31)
#define USER_MINSIGSTKSZ     2048 /* the kernel's; glibc's MINSIGSTKSZ may be a sysconf() */

/* RFLAGS bits a signal handler may change through the frame. */
#define SIGRETURN_FLAGS                                                                            \
    (X86_FLAG_AC | X86_FLAG_OF | X86_FLAG_DF | X86_FLAG_TF | X86_FLAGS_ARITH | (1u << 16))

struct user_sigcontext {
    uint64_t r8, r9, r10, r11, r12, r13, r14, r15;
    uint64_t rdi, rsi, rbp, rbx, rdx, rax, rcx, rsp, rip, eflags;
    uint16_t cs, gs, fs, ss;
    uint64_t err, trapno, oldmask, cr2;
    uint64_t fpstate;
    uint64_t reserved1[8];
};

struct user_ucontext {
    uint64_t uc_flags, uc_link;
    uint64_t ss_sp;
    int32_t ss_flags, pad;
    uint64_t ss_size;
    struct user_sigcontext mc;
    uint64_t sigmask;
};

struct user_rt_sigframe {
    uint64_t pretcode;
    struct user_ucontext uc;
    siginfo_t info;
};

struct user_fxsave {
    uint16_t cwd, swd, twd, fop;
    uint64_t rip, rdp;
    uint32_t mxcsr, mxcsr_mask;
    uint8_t st[8][16];
    uint8_t xmm[16][16];
    uint8_t reserved[96];
};

_Static_assert(sizeof(struct user_sigcontext) == 256, "sigcontext layout");
_Static_assert(offsetof(struct user_rt_sigframe, info) == 312, "rt_sigframe layout");
_Static_assert(sizeof(struct user_fxsave) == 512, "fxsave layout");

/* The GPRs in sigcontext order. */
static const uint8_t sc_regs[16] = {
    X86_R8,  X86_R9,  X86_R10, X86_R11, X86_R12, X86_R13, X86_R14, X86_R15,
    X86_RDI, X86_RSI, X86_RBP, X86_RBX, X86_RDX, X86_RAX, X86_RCX, X86_RSP,
};

/* The kernel's fpstate is an FXSAVE64 image: the x87 family builds it, so
 * selectors, FIP/FDP, FCW normalisation and MXCSR_MASK are the CPU's own. */
static void fpu_save(const struct x86_cpu *cpu, struct user_fxsave *fx)
{
    memset(fx, 0, sizeof(*fx));
    x87_fxsave_image(cpu, (uint8_t *)fx, true);
}

/* False if the image's MXCSR sets reserved bits (the kernel then fails the
 * sigreturn with SIGSEGV). */
static bool fpu_restore(struct x86_cpu *cpu, const struct user_fxsave *fx)
{
    return x87_fxrstor_image(cpu, (const uint8_t *)fx, true);
}

/* A handler starts with the FPU in its initial state (the kernel's
 * fpu__clear_user_states). */
static void fpu_init(struct x86_cpu *cpu)
{
    memset(&cpu->fpu, 0, sizeof(cpu->fpu));
    cpu->fpu.fcw = 0x37f;
    cpu->mxcsr = 0x1f80;
    memset(cpu->xmm, 0, sizeof(cpu->xmm));
}

int user_sigframe_setup(struct user_proc *p, int sig, const siginfo_t *info)
{
    struct x86_cpu *cpu = &p->cpu;
    struct user_sig *s = &p->sig;
    const struct user_ksigaction act = s->act[sig];
    if (!(act.flags & USER_SA_RESTORER))
        return -EFAULT; /* x86-64 Linux requires a restorer */

    uint64_t rsp = cpu->gpr[X86_RSP];
    bool onstack = user_sig_on_altstack(s, rsp);
    uint64_t sp = rsp - 128;
    if ((act.flags & SA_ONSTACK) && s->ss_size && !(s->ss_flags & SS_DISABLE) && !onstack)
        sp = s->ss_sp + s->ss_size;
    uint64_t fx_addr = (sp - sizeof(struct user_fxsave)) & ~63ULL;
    uint64_t frame_addr = ((fx_addr - sizeof(struct user_rt_sigframe)) & ~15ULL) - 8;

    struct user_rt_sigframe f;
    memset(&f, 0, sizeof(f));
    f.pretcode = act.restorer;
    f.uc.uc_flags = UC_SIGCONTEXT_SS | UC_STRICT_RESTORE_SS;
    f.uc.ss_sp = s->ss_sp;
    f.uc.ss_size = s->ss_size;
    f.uc.ss_flags = !s->ss_size ? SS_DISABLE : onstack ? SS_ONSTACK : s->ss_flags;
    uint64_t *regs = &f.uc.mc.r8;
    for (unsigned i = 0; i < 16; i++)
        regs[i] = cpu->gpr[sc_regs[i]];
    f.uc.mc.rip = cpu->rip;
    f.uc.mc.eflags = x86_get_rflags(cpu);
    f.uc.mc.cs = cpu->seg[X86_CS].selector;
    f.uc.mc.ss = cpu->seg[X86_SS].selector;
    f.uc.mc.err = s->err;
    f.uc.mc.trapno = s->trapno;
    f.uc.mc.cr2 = s->cr2;
    f.uc.mc.fpstate = fx_addr;
    uint64_t oldmask = s->restore_mask ? s->saved_mask : s->blocked;
    f.uc.mc.oldmask = oldmask;
    f.uc.sigmask = oldmask;
    if (act.flags & SA_SIGINFO)
        f.info = *info;
    struct user_fxsave fx;
    fpu_save(cpu, &fx);
    if (user_copy_out(p, fx_addr, &fx, sizeof(fx)) < 0 ||
        user_copy_out(p, frame_addr, &f, sizeof(f)) < 0)
        return -EFAULT;

    cpu->gpr[X86_RSP] = frame_addr;
    cpu->gpr[X86_RDI] = (uint64_t)sig;
    cpu->gpr[X86_RSI] = frame_addr + offsetof(struct user_rt_sigframe, info);
    cpu->gpr[X86_RDX] = frame_addr + offsetof(struct user_rt_sigframe, uc);
    cpu->gpr[X86_RAX] = 0;
    cpu->rip = act.handler;
    x86_set_rflags(cpu, x86_get_rflags(cpu) & ~(uint64_t)(X86_FLAG_DF | X86_FLAG_TF | 1u << 16));
    fpu_init(cpu);
    if (s->ss_flags & SS_AUTODISARM_FLAG) {
        s->ss_sp = s->ss_size = 0;
        s->ss_flags = SS_DISABLE;
    }

    s->restore_mask = false;
    uint64_t blocked = s->blocked | act.mask;
    if (!(act.flags & SA_NODEFER))
        blocked |= USER_SIGBIT(sig);
    if (act.flags & SA_RESETHAND) {
        struct user_ksigaction dfl = {.handler = (uint64_t)(uintptr_t)SIG_DFL};
        user_sig_set_action(p, sig, &dfl);
    }
    user_sig_set_blocked(p, blocked);
    return 0;
}

long user_sigreturn(struct user_proc *p)
{
    struct x86_cpu *cpu = &p->cpu;
    uint64_t frame_addr = cpu->gpr[X86_RSP] - 8;
    struct user_rt_sigframe f;
    p->sys_noret = true;
    if (user_copy_in(p, &f, frame_addr, sizeof(f)) < 0)
        user_sig_die(SIGSEGV);
    struct user_fxsave fx;
    if (f.uc.mc.fpstate) {
        if (user_copy_in(p, &fx, f.uc.mc.fpstate, sizeof(fx)) < 0 || !fpu_restore(cpu, &fx))
            user_sig_die(SIGSEGV);
    } else {
        fpu_init(cpu);
    }
    const uint64_t *regs = &f.uc.mc.r8;
    for (unsigned i = 0; i < 16; i++)
        cpu->gpr[sc_regs[i]] = regs[i];
    cpu->rip = f.uc.mc.rip;
    uint64_t fl = x86_get_rflags(cpu);
    x86_set_rflags(cpu, (fl & ~(uint64_t)SIGRETURN_FLAGS) | (f.uc.mc.eflags & SIGRETURN_FLAGS));
    /* The altstack as saved (the kernel's restore_altstack; errors are
     * ignored as there). Not while running on it. */
    if (!user_sig_on_altstack(&p->sig, cpu->gpr[X86_RSP]) || !p->sig.ss_size) {
        if (f.uc.ss_flags & SS_DISABLE) {
            p->sig.ss_sp = p->sig.ss_size = 0;
            p->sig.ss_flags = SS_DISABLE;
        } else if (f.uc.ss_size >= USER_MINSIGSTKSZ) {
            p->sig.ss_sp = f.uc.ss_sp;
            p->sig.ss_size = f.uc.ss_size;
            p->sig.ss_flags = f.uc.ss_flags & (int32_t)SS_AUTODISARM_FLAG;
        }
    }
    p->sig.restore_mask = false;
    user_sig_set_blocked(p, f.uc.sigmask);
    return 0;
}
