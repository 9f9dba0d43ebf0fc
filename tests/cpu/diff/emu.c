/* cpudiff: the emulator runs.
 *
 * One struct x86_cpu in user mode over the flat model with mem_base 0, so
 * the sample's addresses are the tester's own mapping (see cpudiff.h); its
 * mem_limit is the end of the reserved window. A host SIGSEGV/SIGBUS while
 * the emulator runs becomes a guest #PF through x86_fault_from_signal; any
 * other host signal in the emulator (or a fault outside guest memory) is
 * an emulator crash: the sample ends CD_END_CRASH and the CPU is rebuilt.
 *
 * The x87/MMX/SSE state travels as an FXSAVE image (cpudiff.h): the
 * tester converts it to and from struct x86_fpu itself, so it does not
 * depend on the emulator's own FXSAVE/FXRSTOR.
 *
 * The emulator's entry points are weak references: the tester links and
 * runs (and says so) while the CPU core is still being written.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <ucontext.h>

#include "cpu/x86/insn.h"
#include "cpu/x86/mem.h"
#include "cpudiff.h"

#pragma weak x86_cpu_init_user
#pragma weak x86_run
#pragma weak x86_invalidate_code
#pragma weak x86_get_rflags
#pragma weak x86_set_rflags
#pragma weak x86_fault_from_signal
#pragma weak x86_cpuid
#pragma weak x86_decode
#pragma weak x86_ops_lookup

#define EMU_BUDGET 100000

static struct x86_cpu cpu;
static volatile sig_atomic_t emu_active;
static volatile sig_atomic_t crash_sig;
static sigjmp_buf crash_jmp;

static void emu_signal(int sig, siginfo_t *si, void *ctx)
{
    ucontext_t *uc = ctx;
    if (emu_active && (sig == SIGSEGV || sig == SIGBUS)) {
        uint64_t err = (uint64_t)uc->uc_mcontext.gregs[REG_ERR];
        x86_fault_from_signal(&cpu, (uintptr_t)si->si_addr, err); /* no return if guest */
    }
    if (emu_active) {
        emu_active = 0;
        crash_sig = sig;
        siglongjmp(crash_jmp, 1);
    }
    /* Not in the emulator: the tester's own bug. Die with the signal. */
    signal(sig, SIG_DFL);
}

static void read_features(void)
{
    uint32_t l1[4], l7[4], e1[4];
    if (!x86_cpuid)
        return;
    x86_cpuid(&cpu, 1, 0, l1);
    x86_cpuid(&cpu, 7, 0, l7);
    x86_cpuid(&cpu, 0x80000001, 0, e1);
    cd_feat_emu[CD_FEAT_POPCNT] = l1[2] >> 23 & 1;
    cd_feat_emu[CD_FEAT_MOVBE] = l1[2] >> 22 & 1;
    cd_feat_emu[CD_FEAT_CX16] = l1[2] >> 13 & 1;
    cd_feat_emu[CD_FEAT_CLFSH] = l1[3] >> 19 & 1;
    cd_feat_emu[CD_FEAT_BMI1] = l7[1] >> 3 & 1;
    cd_feat_emu[CD_FEAT_LAHF] = e1[2] & 1;
    cd_feat_emu[CD_FEAT_LZCNT] = e1[2] >> 5 & 1;
    cd_feat_emu[CD_FEAT_PRFCHW] = e1[2] >> 8 & 1;
    cd_feat_emu[CD_FEAT_SSE3] = l1[2] & 1;
    cd_feat_emu[CD_FEAT_SSSE3] = l1[2] >> 9 & 1;
    cd_feat_emu[CD_FEAT_SSE41] = l1[2] >> 19 & 1;
    cd_feat_emu[CD_FEAT_SSE42] = l1[2] >> 20 & 1;
    cd_feat_emu[CD_FEAT_AES] = l1[2] >> 25 & 1;
    cd_feat_emu[CD_FEAT_PCLMUL] = l1[2] >> 1 & 1;
    cd_feat_emu[CD_FEAT_SSE4A] = e1[2] >> 6 & 1;
}

int cd_emu_init(void)
{
    if (!x86_cpu_init_user || !x86_run || !x86_set_rflags || !x86_get_rflags ||
        !x86_fault_from_signal || !x86_invalidate_code)
        return -ENOSYS;
    int err = x86_cpu_init_user(&cpu, 0, CD_WINDOW_END);
    if (err)
        return err;
    static const int sigs[] = {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGTRAP};
    struct sigaction sa = {.sa_sigaction = emu_signal, .sa_flags = SA_SIGINFO | SA_NODEFER};
    sigemptyset(&sa.sa_mask);
    for (unsigned i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
        sigaction(sigs[i], &sa, NULL);
    read_features();
    return 0;
}

/* FXRSTOR's view of an image: ST(i) is physical R((TOP + i) & 7), and
 * (as this host's FXRSTOR and FLDENV do) ES and B follow the exception
 * flags and masks, whatever the image says. */
static void fx_to_cpu(const struct cd_fxsave *fx, struct x86_cpu *c)
{
    struct x86_fpu *f = &c->fpu;
    unsigned top = CD_FSW_TOP(fx->fsw);
    memset(f, 0, sizeof(*f));
    f->fcw = fx->fcw;
    f->fsw = fx->fsw & ~(0x3800 | CD_FSW_ES | CD_FSW_B);
    if (fx->fsw & ~fx->fcw & 0x3f)
        f->fsw |= CD_FSW_ES | CD_FSW_B;
    f->top = (uint8_t)top;
    f->ftw = fx->ftw;
    f->fop = fx->fop & 0x7ff;
    f->fip = fx->fip;
    f->fdp = fx->fdp;
    for (unsigned i = 0; i < 8; i++)
        memcpy(&f->st[(top + i) & 7], fx->st[i], 10);
    c->mxcsr = fx->mxcsr;
    memcpy(c->xmm, fx->xmm, sizeof(c->xmm));
}

static void cpu_to_fx(const struct x86_cpu *c, struct cd_fxsave *fx)
{
    const struct x86_fpu *f = &c->fpu;
    unsigned top = f->top & 7;
    memset(fx, 0, sizeof(*fx));
    fx->fcw = f->fcw;
    fx->fsw = (uint16_t)((f->fsw & ~0x3800) | top << 11);
    fx->ftw = f->ftw;
    fx->fop = f->fop;
    fx->fip = f->fip;
    fx->fdp = f->fdp;
    fx->mxcsr = c->mxcsr;
    for (unsigned i = 0; i < 8; i++)
        memcpy(fx->st[i], &f->st[(top + i) & 7], 10);
    memcpy(fx->xmm, c->xmm, sizeof(fx->xmm));
}

static void capture(struct cd_outcome *out)
{
    memcpy(out->st.gpr, cpu.gpr, sizeof(out->st.gpr));
    out->st.rip = cpu.rip;
    out->st.rflags = x86_get_rflags(&cpu);
    cpu_to_fx(&cpu, &out->st.fx);
}

void cd_emu_run(const struct cd_sample *s, struct cd_outcome *out)
{
    memset(out, 0, offsetof(struct cd_outcome, data));
    cd_place_code(s);
    x86_invalidate_code(&cpu, CD_CODE, CD_CODE_SIZE);
    cd_fill_data((uint8_t *)CD_DATA, s);
    memcpy(cpu.gpr, s->init.gpr, sizeof(cpu.gpr));
    cpu.rip = s->init.rip;
    x86_set_rflags(&cpu, s->init.rflags);
    fx_to_cpu(&s->init.fx, &cpu);
    if (sigsetjmp(crash_jmp, 1)) {
        /* The emulator crashed: report it, and start over with a new CPU. */
        out->end = CD_END_CRASH;
        out->vector = (uint8_t)crash_sig;
        memcpy(out->st.gpr, cpu.gpr, sizeof(out->st.gpr));
        out->st.rip = cpu.rip;
        memset(&cpu, 0, sizeof(cpu));
        if (x86_cpu_init_user(&cpu, 0, CD_WINDOW_END)) {
            fprintf(stderr, "cpudiff: cannot rebuild the CPU after a crash\n");
            exit(2);
        }
    } else {
        emu_active = 1;
        enum x86_exit why = x86_run(&cpu, EMU_BUDGET);
        emu_active = 0;
        capture(out);
        switch (why) {
        case X86_EXIT_EXCEPTION:
            out->end = CD_END_EXC;
            out->vector = cpu.exc.vector;
            out->error = cpu.exc.error;
            out->pf_addr = cpu.exc.vector == X86_EXC_PF ? cpu.exc.addr : 0;
            out->pf_write = (cpu.exc.error >> 1) & 1;
            break;
        case X86_EXIT_SYSCALL:
            out->end = CD_END_SYSCALL;
            break;
        case X86_EXIT_HLT:
            out->end = CD_END_HLT;
            break;
        default:
            out->end = CD_END_BUDGET;
        }
    }
    memcpy(out->data, (void *)CD_DATA, CD_DATA_SIZE);
    cd_clear_code(s);
}

/* ---- which instructions the emulator has ---------------------------------- */

#define X86_FAMILY_ROW(name) {#name, x86_ops_##name},
static const struct {
    const char *name;
    const struct x86_op_entry *ops;
} emu_families[] = {X86_FAMILIES(X86_FAMILY_ROW)};
#define EMU_NFAMILIES (sizeof(emu_families) / sizeof(emu_families[0]))

bool cd_emu_table_built(const char *name)
{
    if (!x86_run)
        return false;
    for (unsigned f = 0; f < EMU_NFAMILIES; f++)
        if (!strcmp(emu_families[f].name, name))
            return emu_families[f].ops != NULL;
    return false;
}

int cd_emu_implements(const uint8_t *code, unsigned len)
{
    struct x86_insn in;
    if (!x86_decode)
        return 1;
    if (x86_decode(code, len, 1, &in) <= 0)
        return -1;
    return in.op != 0; /* index 0 is the #UD entry: no family registers it */
}

/* ---- coverage: which dispatch entries the samples reach ------------------ */

static uint8_t hit[65536];
static bool cover_used;

void cd_emu_cover(const struct cd_sample *s)
{
    if (!x86_decode)
        return;
    static const uint8_t int3[15] = {0xcc};
    struct x86_insn t;
    if (!cover_used && x86_decode(int3, 15, 1, &t) > 0 && t.fn)
        hit[t.op] = 1; /* every sample ends in one */
    cover_used = true;
    for (unsigned k = 0; k < s->nunits; k++) {
        struct x86_insn in;
        const struct cd_unit *u = &s->unit[k];
        if (x86_decode(s->code + u->insn, 15, 1, &in) > 0 && in.fn)
            hit[in.op] = 1;
    }
}

void cd_emu_cover_report(void)
{
    if (!cover_used || !x86_ops_lookup) {
        printf("# coverage: not available (no decoder linked)\n");
        return;
    }
    unsigned total = 0, missed = 0;
    for (unsigned f = 0; f < EMU_NFAMILIES; f++) {
        const struct x86_op_entry *e = emu_families[f].ops;
        for (; e && e->fn; e++) {
            bool reached = false;
            for (int mem = 0; mem < 2 && !reached; mem++) {
                if ((e->mod == X86_MOD_MEM && !mem) || (e->mod == X86_MOD_REG && mem))
                    continue;
                uint16_t idx;
                unsigned pfx = e->prefix == X86_PFX_ANY ? X86_PFX_NONE : e->prefix;
                const struct x86_op_entry *got =
                    x86_ops_lookup(e->map, e->opcode, pfx, e->reg < 0 ? 0 : e->reg, mem, &idx);
                reached = got && hit[idx];
            }
            total++;
            if (!reached) {
                missed++;
                printf("# not reached: %s: %s (map %u opcode %02x /%d)\n", emu_families[f].name,
                       e->name ? e->name : "?", e->map, e->opcode, e->reg);
            }
        }
    }
    printf("# coverage: %u of %u dispatch entries reached\n", total - missed, total);
}
