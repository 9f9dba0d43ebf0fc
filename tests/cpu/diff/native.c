/* cpudiff: the fixed layout and the native runs.
 *
 * A batch of samples runs in a forked child, so nothing a sample does can
 * hurt the tester. For each sample the child writes the code and the data
 * area, then calls cd_nat_enter (below), which loads every register, the
 * flags and (FXRSTOR) the x87, MMX and SSE state from cd_nat_in and jumps
 * to the sample. The
 * sample ends in a signal: SIGTRAP at the final int3 (or a pad), or the
 * fault's SIGSEGV/SIGBUS/SIGFPE/SIGILL. The handler (on an alternate stack)
 * stores the interrupted context (the FP state from the frame's
 * FXSAVE/XSAVE image), the trap number, error code and CR2 that Linux
 * reports in the ucontext, and the data area into a shared
 * result slot, then points the context at cd_nat_resume so that returning
 * from the handler unwinds cd_nat_enter into the child's loop: one signal
 * and one sigreturn per sample, no fork.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <ucontext.h>
#include <unistd.h>

#include "cpudiff.h"

_Static_assert(offsetof(struct cd_state, rip) == 128, "trampoline layout");
_Static_assert(offsetof(struct cd_state, rflags) == 136, "trampoline layout");
_Static_assert(offsetof(struct cd_state, fx) == 144, "trampoline layout");
_Static_assert(sizeof(struct cd_fxsave) == 512, "FXSAVE layout");
_Static_assert(offsetof(struct cd_fxsave, st) == 32 && offsetof(struct cd_fxsave, xmm) == 160,
               "FXSAVE layout");

__attribute__((visibility("hidden"))) struct cd_state cd_nat_in;
__attribute__((visibility("hidden"))) uint64_t cd_nat_saved_rsp;
void cd_nat_enter(void);
void cd_nat_resume(void);

#define GPR_LOAD(n, r) "mov cd_nat_in+8*" #n "(%rip), %" #r "\n"

/* clang-format off */
__asm__(".text\n"
        ".globl cd_nat_enter\n"
        ".type cd_nat_enter, @function\n"
        "cd_nat_enter:\n"
        "push %rbx\n push %rbp\n push %r12\n push %r13\n push %r14\n push %r15\n"
        "mov %rsp, cd_nat_saved_rsp(%rip)\n"
        "fxrstor64 cd_nat_in+144(%rip)\n"
        "lea cd_nat_in+136(%rip), %rsp\n"
        "popfq\n" /* flags first: the MOVs below leave them alone */
        GPR_LOAD(0, rax) GPR_LOAD(1, rcx) GPR_LOAD(2, rdx) GPR_LOAD(3, rbx) GPR_LOAD(5, rbp)
        GPR_LOAD(6, rsi) GPR_LOAD(7, rdi) GPR_LOAD(8, r8) GPR_LOAD(9, r9) GPR_LOAD(10, r10)
        GPR_LOAD(11, r11) GPR_LOAD(12, r12) GPR_LOAD(13, r13) GPR_LOAD(14, r14)
        GPR_LOAD(15, r15) GPR_LOAD(4, rsp)
        "jmp *cd_nat_in+128(%rip)\n"
        ".size cd_nat_enter, .-cd_nat_enter\n"
        ".globl cd_nat_resume\n"
        ".type cd_nat_resume, @function\n"
        "cd_nat_resume:\n"
        "mov cd_nat_saved_rsp(%rip), %rsp\n"
        "pop %r15\n pop %r14\n pop %r13\n pop %r12\n pop %rbp\n pop %rbx\n"
        "ret\n"
        ".size cd_nat_resume, .-cd_nat_resume\n");
/* clang-format on */

/* What the handler stores for one sample (in the shared block). */
struct nat_slot {
    volatile int done;
    int sig, code;
    uint64_t trapno, err, cr2;
    struct cd_state st;
    uint8_t data[CD_DATA_SIZE];
};

static struct nat_slot *slots; /* MAP_SHARED, CD_BATCH_MAX of them */
static struct nat_slot *volatile cur_slot;

static struct {
    const struct cd_sample *s;
    unsigned n;
    pid_t pid;
    unsigned from; /* first sample of the running child */
} batch;

/* ---- the layout ---------------------------------------------------------- */

int cd_layout_init(void)
{
    void *p = mmap((void *)CD_RESERVE_LO, CD_WINDOW_END - CD_RESERVE_LO, PROT_NONE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_FIXED_NOREPLACE, -1, 0);
    if (p != (void *)CD_RESERVE_LO) {
        fprintf(stderr, "cpudiff: cannot reserve %#llx-%#llx (%s)\n", CD_RESERVE_LO, CD_WINDOW_END,
                p == MAP_FAILED ? strerror(errno) : "placed elsewhere");
        return -EEXIST;
    }
    if (mmap((void *)CD_CODE, CD_CODE_SIZE, PROT_READ | PROT_WRITE | PROT_EXEC,
             MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0) == MAP_FAILED ||
        mmap((void *)CD_DATA, CD_DATA_SIZE, PROT_READ | PROT_WRITE,
             MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0) == MAP_FAILED) {
        fprintf(stderr, "cpudiff: cannot map the code and data pages (%s)\n", strerror(errno));
        return -errno;
    }
    memset((void *)CD_CODE, 0xcc, CD_CODE_SIZE);
    slots = mmap(NULL, sizeof(struct nat_slot) * CD_BATCH_MAX, PROT_READ | PROT_WRITE,
                 MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (slots == MAP_FAILED) {
        fprintf(stderr, "cpudiff: cannot map the result block (%s)\n", strerror(errno));
        return -ENOMEM;
    }
    return 0;
}

/* The part of a sample's code inside the code page (a sample may start
 * just before its end, to fault fetching the rest). */
static size_t code_in_page(const struct cd_sample *s)
{
    uint64_t room = CD_CODE + CD_CODE_SIZE - s->init.rip;
    return s->code_len < room ? s->code_len : room;
}

void cd_place_code(const struct cd_sample *s)
{
    memcpy((void *)s->init.rip, s->code, code_in_page(s));
}

void cd_clear_code(const struct cd_sample *s)
{
    memset((void *)s->init.rip, 0xcc, code_in_page(s));
}

/* ---- the child ----------------------------------------------------------- */

static const int nat_signals[] = {SIGTRAP, SIGSEGV, SIGBUS, SIGFPE, SIGILL};

/* The FP state from the signal frame: an FXSAVE image, followed by an
 * XSAVE header when the software bytes at 464 say so. XSAVE does not write
 * a component in its initial configuration (its XSTATE_BV bit is clear):
 * then the image holds stale bytes and the state is the initial one. The
 * frame is then reset for the C code the handler returns to (default
 * control words, empty x87 stack, nothing pending). */
#define CD_XSTATE_MAGIC1 0x46505853u /* FP_XSTATE_MAGIC1 */

static void capture_fp(struct _libc_fpstate *fp, struct cd_fxsave *fx)
{
    const uint8_t *img = (const uint8_t *)fp;
    uint32_t magic;
    uint64_t bv = 3;
    memcpy(fx, img, sizeof(*fx));
    memcpy(&magic, img + 464, 4);
    if (magic == CD_XSTATE_MAGIC1)
        memcpy(&bv, img + 512, 8);
    if (!(bv & 1)) {
        fx->fcw = 0x37f;
        fx->fsw = fx->fop = 0;
        fx->ftw = 0;
        fx->fip = fx->fdp = 0;
        memset(fx->st, 0, sizeof(fx->st));
    }
    if (!(bv & 2))
        memset(fx->xmm, 0, sizeof(fx->xmm));
    memset(fx->rsv, 0, sizeof(fx->rsv));
    fx->rsv1 = 0;
    fp->mxcsr = 0x1f80;
    fp->cwd = 0x37f;
    fp->swd = 0;
    fp->ftw = 0;
}

static void nat_handler(int sig, siginfo_t *si, void *ctx)
{
    ucontext_t *uc = ctx;
    greg_t *gr = uc->uc_mcontext.gregs;
    struct nat_slot *o = cur_slot;
    static const int map[16] = {REG_RAX, REG_RCX, REG_RDX, REG_RBX, REG_RSP, REG_RBP,
                                REG_RSI, REG_RDI, REG_R8,  REG_R9,  REG_R10, REG_R11,
                                REG_R12, REG_R13, REG_R14, REG_R15};
    if (!o) { /* a signal outside a sample: the tester itself is broken */
        static const char msg[] = "cpudiff: native child: signal outside a sample\n";
        (void)!write(2, msg, sizeof(msg) - 1);
        _exit(70);
    }
    for (unsigned i = 0; i < 16; i++)
        o->st.gpr[i] = (uint64_t)gr[map[i]];
    o->st.rip = (uint64_t)gr[REG_RIP];
    o->st.rflags = (uint64_t)gr[REG_EFL];
    struct _libc_fpstate *fp = uc->uc_mcontext.fpregs;
    if (fp)
        capture_fp(fp, &o->st.fx);
    o->sig = sig;
    o->code = si->si_code;
    o->trapno = (uint64_t)gr[REG_TRAPNO];
    o->err = (uint64_t)gr[REG_ERR];
    o->cr2 = (uint64_t)gr[REG_CR2];
    memcpy(o->data, (void *)CD_DATA, CD_DATA_SIZE);
    o->done = 1;
    cur_slot = NULL;
    /* Return into cd_nat_resume, which returns from cd_nat_enter. */
    gr[REG_RIP] = (greg_t)(uintptr_t)cd_nat_resume;
    gr[REG_RSP] = (greg_t)cd_nat_saved_rsp;
    gr[REG_EFL] = 0x202;
}

static void child_run(const struct cd_sample *s, unsigned n)
{
    static uint8_t altstack[64 * 1024];
    stack_t ss = {.ss_sp = altstack, .ss_size = sizeof(altstack)};
    sigaltstack(&ss, NULL);
    struct sigaction sa = {.sa_sigaction = nat_handler, .sa_flags = SA_SIGINFO | SA_ONSTACK};
    sigemptyset(&sa.sa_mask);
    for (unsigned i = 0; i < sizeof(nat_signals) / sizeof(nat_signals[0]); i++)
        sigaction(nat_signals[i], &sa, NULL);
    alarm(20); /* a hang (it should not happen) kills the child */
    for (unsigned i = 0; i < n; i++) {
        cd_fill_data((uint8_t *)CD_DATA, &s[i]);
        cd_place_code(&s[i]);
        cd_nat_in = s[i].init;
        cur_slot = &slots[i];
        cd_nat_enter();
        cd_clear_code(&s[i]);
    }
    _exit(0);
}

/* ---- the parent ---------------------------------------------------------- */

static int spawn(unsigned from)
{
    unsigned n = batch.n - from;
    for (unsigned i = 0; i < n; i++)
        slots[i].done = 0;
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) {
        fprintf(stderr, "cpudiff: fork: %s\n", strerror(errno));
        return -errno;
    }
    if (pid == 0)
        child_run(batch.s + from, n);
    batch.pid = pid;
    batch.from = from;
    return 0;
}

int cd_native_start(const struct cd_sample *s, unsigned n)
{
    batch.s = s;
    batch.n = n > CD_BATCH_MAX ? CD_BATCH_MAX : n;
    return spawn(0);
}

static void to_outcome(const struct nat_slot *o, struct cd_outcome *out)
{
    out->st = o->st;
    out->end = CD_END_EXC;
    out->vector = (uint8_t)o->trapno;
    out->error = (uint32_t)o->err;
    out->pf_addr = o->trapno == X86_EXC_PF ? o->cr2 : 0;
    out->pf_write = (o->err >> 1) & 1;
    memcpy(out->data, o->data, CD_DATA_SIZE);
}

int cd_native_finish(struct cd_outcome *out)
{
    for (;;) {
        int status;
        if (waitpid(batch.pid, &status, 0) < 0) {
            fprintf(stderr, "cpudiff: waitpid: %s\n", strerror(errno));
            return -errno;
        }
        unsigned n = batch.n - batch.from, i;
        for (i = 0; i < n && slots[i].done; i++)
            to_outcome(&slots[i], &out[batch.from + i]);
        if (i == n)
            return 0;
        /* The child died or hung on sample from + i: record it, go on after it. */
        fprintf(stderr, "cpudiff: native child %s on sample %u\n",
                WIFSIGNALED(status) ? strsignal(WTERMSIG(status)) : "exited early",
                batch.s[batch.from + i].index);
        memset(&out[batch.from + i], 0, sizeof(*out));
        out[batch.from + i].end = CD_END_NOTRUN;
        if (batch.from + i + 1 >= batch.n)
            return 0;
        int err = spawn(batch.from + i + 1);
        if (err)
            return err;
    }
}
