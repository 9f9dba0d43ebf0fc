/* Test harness for the move/stack/branch/string/misc instruction families:
 * a user-mode CPU whose guest memory is the test's own address space
 * (mem_base 0), hand-built instructions whose op function is looked up in a
 * family table, and a SIGSEGV handler that turns host faults on guest
 * memory into guest #PF, as the embedder does.
 */
#ifndef XUNI_TESTS_X86_FLOW_HARNESS_H
#define XUNI_TESTS_X86_FLOW_HARNESS_H

#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <ucontext.h>

#include "cpu/x86/cpu.h"
#include "cpu/x86/flags.h"
#include "cpu/x86/insn.h"
#include "cpu/x86/mem.h"

/* insn.h declares the family tables weak, and a weak reference does not
 * pull an object out of libxuni.a: refer to them strongly, through an
 * alias of the same symbol. */
#define H_FAMILY(name) extern const struct x86_op_entry h_ops_##name[] __asm__("x86_ops_" #name);
H_FAMILY(move)
H_FAMILY(stack)
H_FAMILY(branch)
H_FAMILY(string)
H_FAMILY(misc)
H_FAMILY(far)
#define x86_ops_move   h_ops_move
#define x86_ops_stack  h_ops_stack
#define x86_ops_branch h_ops_branch
#define x86_ops_string h_ops_string
#define x86_ops_misc   h_ops_misc
#define x86_ops_far    h_ops_far

#define H_RIP     0x401000ULL /* where the instruction under test "is" */
#define H_NOFAULT (-1)
#define H_EXIT    1000 /* h_exec result for x86_exit(): H_EXIT + reason */
#define H_PAGE    4096u

static struct x86_cpu *h_cpu;

static void h_fault(int sig, siginfo_t *si, void *ctx)
{
    ucontext_t *uc = ctx;
    uint64_t err = (uint64_t)uc->uc_mcontext.gregs[REG_ERR];
    if (h_cpu)
        x86_fault_from_signal(h_cpu, (uintptr_t)si->si_addr, err);
    signal(sig, SIG_DFL); /* not guest memory: a real crash */
}

/* A CPU in 64-bit user mode; RSP points into a fresh 64 KiB stack. */
static struct x86_cpu *h_new_cpu(void)
{
    struct x86_cpu *cpu = calloc(1, sizeof(*cpu));
    if (!cpu || x86_cpu_init_user(cpu, 0, 1ULL << 47) != 0)
        abort();
    uint8_t *stack =
        mmap(NULL, 1 << 16, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (stack == MAP_FAILED)
        abort();
    cpu->gpr[X86_RSP] = (uintptr_t)stack + (1 << 15);
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_sigaction = h_fault;
    sa.sa_flags = SA_SIGINFO | SA_NODEFER;
    sigaction(SIGSEGV, &sa, NULL);
    sigaction(SIGBUS, &sa, NULL);
    h_cpu = cpu;
    return cpu;
}

static __attribute__((unused)) void h_free_cpu(struct x86_cpu *cpu)
{
    h_cpu = NULL;
    x86_cpu_destroy(cpu);
    free(cpu);
}

static unsigned h_spec(const struct x86_op_entry *e)
{
    return (e->prefix != X86_PFX_ANY) * 4 + (e->reg >= 0) * 2 + (e->mod != X86_MOD_ANY);
}

/* The op of a family table for an encoding, most specific row first (the
 * rule of ops.c); NULL if the table has none. reg: ModRM.reg or -1. */
static x86_op_fn *h_find(const struct x86_op_entry *t, unsigned map, unsigned op, unsigned pfx,
                         int reg, int mem)
{
    const struct x86_op_entry *best = NULL;
    for (; t->fn; t++) {
        if (t->map != map || t->opcode != op)
            continue;
        if (t->prefix != X86_PFX_ANY && t->prefix != pfx)
            continue;
        if (t->reg >= 0 && t->reg != reg)
            continue;
        if (t->mod != X86_MOD_ANY && t->mod != (mem ? X86_MOD_MEM : X86_MOD_REG))
            continue;
        if (!best || h_spec(t) > h_spec(best))
            best = t;
    }
    return best ? best->fn : NULL;
}

/* An instruction with no memory operand: reg/rm as given (rm X86_NO_REG
 * if unused). modrm_reg is ModRM.reg for group opcodes (-1: none). */
static struct x86_insn h_insn(const struct x86_op_entry *t, unsigned map, unsigned op,
                              int modrm_reg, unsigned osz)
{
    struct x86_insn in;
    memset(&in, 0, sizeof(in));
    in.fn = h_find(t, map, op, X86_PFX_NONE, modrm_reg, 0);
    in.map = (uint8_t)map;
    in.opcode = (uint8_t)op;
    in.osz = (uint8_t)osz;
    in.asz = 3;
    in.len = 3;
    in.seg = X86_DS;
    in.reg = modrm_reg >= 0 ? (uint8_t)modrm_reg : 0;
    in.rm = X86_NO_REG;
    in.index = X86_NO_REG;
    return in;
}

/* The same with a memory operand [base + disp]. */
static __attribute__((unused)) struct x86_insn h_insn_mem(const struct x86_op_entry *t,
                                                          unsigned map, unsigned op, int modrm_reg,
                                                          unsigned osz, unsigned base, int32_t disp)
{
    struct x86_insn in = h_insn(t, map, op, modrm_reg, osz);
    in.fn = h_find(t, map, op, X86_PFX_NONE, modrm_reg, 1);
    in.flags = X86_I_MEM | X86_I_MODRM;
    in.rm = (uint8_t)base;
    in.disp = disp;
    in.seg = base == X86_RSP || base == X86_RBP ? X86_SS : X86_DS;
    return in;
}

/* Run one op as the run loop does (rip past the instruction first).
 * Returns H_NOFAULT, the exception vector, or H_EXIT + exit reason. */
static __attribute__((noinline)) int h_exec(struct x86_cpu *cpu, const struct x86_insn *in)
{
    cpu->rip = H_RIP + in->len;
    cpu->cur_insn = in;
    if (sigsetjmp(cpu->exc_jmp, 0)) {
        cpu->in_run = false;
        cpu->cur_insn = NULL;
        if (cpu->exit_reason == X86_EXIT_EXCEPTION)
            return cpu->exc.vector;
        return H_EXIT + (int)cpu->exit_reason;
    }
    cpu->in_run = true;
    in->fn(cpu, in);
    cpu->in_run = false;
    cpu->cur_insn = NULL;
    return H_NOFAULT;
}

/* n pages of fresh memory; `guard` more pages after them with no access. */
static __attribute__((unused)) uint8_t *h_pages(size_t n, size_t guard, int flags)
{
    uint8_t *p = mmap(NULL, (n + guard) * H_PAGE, PROT_READ | PROT_WRITE,
                      MAP_PRIVATE | MAP_ANONYMOUS | flags, -1, 0);
    if (p == MAP_FAILED)
        abort();
    if (guard)
        mprotect(p + n * H_PAGE, guard * H_PAGE, PROT_NONE);
    return p;
}

#endif
