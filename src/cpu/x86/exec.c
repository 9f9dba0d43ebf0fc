/* Blocks and the run loop.
 *
 * A block is a run of decoded instructions (struct x86_insn, insn.h) that
 * starts at a guest address and ends after the first instruction that may
 * change RIP other than by falling through (a branch, call, return, trap,
 * SYSCALL, HLT), or after X86_BLOCK_MAX instructions. Blocks are decoded
 * once and kept in a per-CPU cache: a hash table by start address, with a
 * small direct-mapped jump cache in front, in one arena that is emptied as
 * a whole when full or when code changes (x86_invalidate_code).
 *
 * Running a block is a loop over its instructions: advance cpu->rip past
 * the instruction, call its op function. Exceptions and exits longjmp back
 * to x86_run() (the only sigsetjmp), which returns the reason.
 */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "cpu/x86/flags.h"
#include "cpu/x86/insn.h"
#include "cpu/x86/mem.h"
#include "cpu/x86/stack.h"

#define X86_BLOCK_MAX   64
#define X86_BLOCK_HASH  4096 /* buckets, power of two */
#define X86_JMP_CACHE   1024 /* entries, power of two */
#define X86_ARENA_BYTES (32u << 20)

struct x86_block {
    uint64_t pc;  /* first instruction */
    uint64_t end; /* one past the last byte of the last instruction */
    struct x86_block *next;
    uint32_t ninsn;
    struct x86_insn insns[];
};

struct x86_block_cache {
    struct x86_block *hash[X86_BLOCK_HASH];
    struct x86_block *jmp[X86_JMP_CACHE];
    uint8_t *arena;
    size_t used;
    uint64_t code_lo, code_hi; /* bytes covered by cached blocks */
    uint64_t flushes;
};

static inline unsigned block_hash(uint64_t pc)
{
    return (unsigned)((pc ^ (pc >> 12)) & (X86_BLOCK_HASH - 1));
}

static void cache_flush(struct x86_block_cache *c)
{
    memset(c->hash, 0, sizeof(c->hash));
    memset(c->jmp, 0, sizeof(c->jmp));
    c->used = 0;
    c->code_lo = UINT64_MAX;
    c->code_hi = 0;
    c->flushes++;
}

int x86_cpu_init_user(struct x86_cpu *cpu, uintptr_t mem_base, uint64_t mem_limit)
{
    memset(cpu, 0, sizeof(*cpu));
    struct x86_block_cache *c = calloc(1, sizeof(*c));
    if (!c)
        return -ENOMEM;
    c->arena = mmap(NULL, X86_ARENA_BYTES, PROT_READ | PROT_WRITE,
                    MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (c->arena == MAP_FAILED) {
        free(c);
        return -ENOMEM;
    }
    cache_flush(c);
    c->flushes = 0;
    cpu->blocks = c;
    cpu->mem_base = mem_base;
    cpu->mem_limit = mem_limit;
    cpu->rflags = 0x202; /* IF and the always-one bit */
    cpu->cc_op = X86_CC_FLAGS;
    cpu->mxcsr = 0x1f80;
    cpu->fpu.fcw = 0x37f;
    cpu->cpl = 3;
    /* CR0 as Linux runs user code: PG, AM, WP, NE, ET, MP, PE (SMSW shows
     * it). */
    cpu->cr0 = 0x80050033;
    cpu->long_mode = true;
    cpu->user_mode = true;
    cpu->efer = 0x500; /* LME | LMA */
    /* Flat 64-bit user segments as Linux sets them: CS = __USER_CS, SS =
     * __USER_DS, and null selectors in DS, ES, FS and GS (their bases are
     * what counts in 64-bit mode). */
    for (int s = 0; s < 6; s++)
        cpu->seg[s] = (struct x86_segment){.base = 0,
                                           .limit = 0xffffffff,
                                           .selector = 0,
                                           .attr = 0x3 | 1 << 4 | 3 << 5 | 1 << 7 | 1 << 11};
    cpu->seg[X86_SS].selector = 0x2b;
    cpu->seg[X86_CS].selector = 0x33;
    cpu->seg[X86_CS].attr = 0xb | 1 << 4 | 3 << 5 | 1 << 7 | 1 << 9 | 1 << 11;
    return 0;
}

void x86_cpu_destroy(struct x86_cpu *cpu)
{
    struct x86_block_cache *c = cpu->blocks;
    if (!c)
        return;
    munmap(c->arena, X86_ARENA_BYTES);
    free(c);
    cpu->blocks = NULL;
}

/* --- leaving an instruction --- */

_Noreturn static void leave(struct x86_cpu *cpu, enum x86_exit why)
{
    cpu->exit_reason = why;
    siglongjmp(cpu->exc_jmp, 1);
}

_Noreturn void x86_exit(struct x86_cpu *cpu, enum x86_exit why)
{
    leave(cpu, why);
}

static void record(struct x86_cpu *cpu, unsigned vector, uint32_t error, bool has_error)
{
    cpu->exc.vector = (uint8_t)vector;
    cpu->exc.error = error;
    cpu->exc.has_error = has_error;
}

static bool vector_has_error(unsigned vector)
{
    return vector == X86_EXC_DF || (vector >= X86_EXC_TS && vector <= X86_EXC_PF) ||
           vector == X86_EXC_AC;
}

_Noreturn void x86_raise(struct x86_cpu *cpu, unsigned vector, uint32_t error)
{
    /* A fault: report the instruction's own address. */
    if (cpu->cur_insn)
        cpu->rip -= cpu->cur_insn->len;
    record(cpu, vector, error, vector_has_error(vector));
    leave(cpu, X86_EXIT_EXCEPTION);
}

_Noreturn void x86_raise_trap(struct x86_cpu *cpu, unsigned vector, uint32_t error)
{
    record(cpu, vector, error, vector_has_error(vector));
    leave(cpu, X86_EXIT_EXCEPTION);
}

_Noreturn void x86_raise_ud(struct x86_cpu *cpu)
{
    x86_raise(cpu, X86_EXC_UD, 0);
}

_Noreturn void x86_raise_pf(struct x86_cpu *cpu, uint64_t addr, uint32_t error)
{
    cpu->exc.addr = addr;
    cpu->cr2 = addr;
    x86_raise(cpu, X86_EXC_PF, error);
}

/* ModRM.reg of a decoded instruction (the decoder turned byte-register
 * numbers 4-7 into X86_AH..). */
static unsigned modrm_reg(const struct x86_insn *in)
{
    return in->reg >= X86_AH ? in->reg - X86_AH + 4u : in->reg & 7u;
}

/* Does the instruction read its memory operand and then write it back? AMD
 * reports a fault on such an operand as a write even when the read is what
 * faulted; the emulator loads first, so the host says "read". */
static bool insn_rmw(const struct x86_insn *in)
{
    if (!in || !(in->flags & X86_I_MEM))
        return false;
    unsigned op = in->opcode, r = modrm_reg(in);
    if (in->map == X86_MAP_PRIMARY) {
        if (op < 0x40)
            return (op & 7) <= 1 && (op & 0x38) != 0x38; /* ALU Eb/Ev,G (not CMP) */
        switch (op) {
        case 0x80:
        case 0x81:
        case 0x83:
            return r != 7; /* not CMP */
        case 0x86:
        case 0x87: /* XCHG */
        case 0xc0:
        case 0xc1:
        case 0xd0:
        case 0xd1:
        case 0xd2:
        case 0xd3: /* shifts and rotates, even by a count of 0 */
            return true;
        case 0xf6:
        case 0xf7:
            return r == 2 || r == 3; /* NOT, NEG */
        case 0xfe:
        case 0xff:
            return r <= 1; /* INC, DEC */
        }
        return false;
    }
    if (in->map != X86_MAP_0F)
        return false;
    switch (op) {
    case 0xa4:
    case 0xa5:
    case 0xac:
    case 0xad: /* SHLD, SHRD */
    case 0xab:
    case 0xb3:
    case 0xbb: /* BTS, BTR, BTC */
    case 0xb0:
    case 0xb1: /* CMPXCHG: written even when the comparison fails */
    case 0xc0:
    case 0xc1: /* XADD */
        return true;
    case 0xba:
        return r >= 5;
    case 0xc7:
        return r == 1; /* CMPXCHG8B/16B */
    }
    return false;
}

/* The segment of an access made through the instruction's memory operand,
 * as far as the non-canonical check cares: in 64-bit mode the hardware
 * takes SS for an RSP or RBP base whatever the CS/DS/ES/SS override says
 * (the host CPU does), FS and GS as given, DS otherwise. */
static unsigned operand_seg(const struct x86_insn *in)
{
    if (!in || !(in->flags & X86_I_MEM) || (in->flags & X86_I_RIPREL))
        return X86_DS;
    if (in->seg == X86_FS || in->seg == X86_GS)
        return in->seg;
    return in->rm == X86_RSP || in->rm == X86_RBP ? X86_SS : X86_DS;
}

_Noreturn void x86_mem_fault(struct x86_cpu *cpu, uint64_t lin, uint64_t size, int write,
                             unsigned seg)
{
    uint64_t last = lin + (size ? size - 1 : 0);
    if (!x86_canonical(lin) || !x86_canonical(last)) {
        if (seg == X86_SEG_NONE)
            seg = operand_seg(cpu->cur_insn);
        x86_raise(cpu, seg == X86_SS ? X86_EXC_SS : X86_EXC_GP, 0);
    }
    /* Beyond the guest's memory: not present. The first byte out of range
     * is the faulting address, as CR2 is for an access crossing into an
     * unmapped page. */
    uint32_t err = X86_PF_USER;
    if (write || insn_rmw(cpu->cur_insn))
        err |= X86_PF_WRITE;
    x86_raise_pf(cpu, lin >= cpu->mem_limit ? lin : cpu->mem_limit, err);
}

void x86_fault_from_signal(struct x86_cpu *cpu, uintptr_t host_addr, uint64_t host_err)
{
    if (!cpu->in_run || host_addr < cpu->mem_base || host_addr - cpu->mem_base >= cpu->mem_limit)
        return;
    /* We leave the signal handler by longjmp, which does not restore the
     * signal mask: unblock the fault signals so the next fault is caught. */
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGSEGV);
    sigaddset(&set, SIGBUS);
    pthread_sigmask(SIG_UNBLOCK, &set, NULL);
    uint64_t lin = host_addr - cpu->mem_base;
    uint32_t err = X86_PF_USER | (uint32_t)(host_err & X86_PF_PRESENT);
    if (!cpu->cur_insn) {
        /* Fetching the first instruction of a block (see build_block): the
         * host fault is somewhere in the first page that cannot be read,
         * and the first byte not fetchable is where that page starts, or
         * the instruction itself if it starts there. */
        uint64_t page = lin & ~(uint64_t)(X86_PAGE_SIZE - 1);
        x86_raise_pf(cpu, page > cpu->rip ? page : cpu->rip, err | X86_PF_FETCH);
    }
    if ((host_err & X86_PF_WRITE) || insn_rmw(cpu->cur_insn))
        err |= X86_PF_WRITE;
    x86_raise_pf(cpu, lin, err);
}

void x86_request_stop(struct x86_cpu *cpu)
{
    __atomic_store_n(&cpu->stop_request, 1, __ATOMIC_RELEASE);
}

/* --- flags --- */

uint64_t x86_get_rflags(struct x86_cpu *cpu)
{
    uint64_t arith = cpu->cc_op == X86_CC_FLAGS ? cpu->rflags : x86_flags_eval(cpu);
    return (cpu->rflags & ~(uint64_t)X86_FLAGS_ARITH) | (arith & X86_FLAGS_ARITH) | 2;
}

void x86_set_rflags(struct x86_cpu *cpu, uint64_t rflags)
{
    x86_flags_set(cpu, rflags & X86_FLAGS_ARITH);
    cpu->rflags = (cpu->rflags & X86_FLAGS_ARITH) | (rflags & ~(uint64_t)X86_FLAGS_ARITH) | 2;
}

/* --- blocks --- */

/* Does this instruction end a block (it may set RIP to anything but the
 * next instruction, or must return to the run loop)? */
static bool ends_block(const struct x86_insn *in)
{
    unsigned op = in->opcode;
    if (in->map == X86_MAP_PRIMARY) {
        if ((op >= 0x70 && op <= 0x7f) || (op >= 0xe0 && op <= 0xe3) || (op >= 0xe8 && op <= 0xeb))
            return true;
        switch (op) {
        case 0xc2:
        case 0xc3:
        case 0xca:
        case 0xcb:
        case 0xcc:
        case 0xcd:
        case 0xce:
        case 0xcf:
        case 0xf4:
        case 0x9a:
            return true;
        case 0xff: /* call/jmp near and far */
            return in->reg >= 2 && in->reg <= 5;
        }
        return false;
    }
    if (in->map == X86_MAP_0F)
        return (op >= 0x80 && op <= 0x8f) || op == 0x05 || op == 0x07 || op == 0x34 || op == 0x35 ||
               op == 0x0b;
    return false;
}

static void *arena_alloc(struct x86_block_cache *c, size_t n)
{
    n = (n + 15) & ~(size_t)15;
    if (c->used + n > X86_ARENA_BYTES)
        return NULL;
    void *p = c->arena + c->used;
    c->used += n;
    return p;
}

/* Code fetch. A block lies within one page: it ends before an
 * instruction that starts on the next page, or before one that crosses
 * into it, unless that instruction is the block's first. So only a block's
 * first instruction ever reads a page the block has not read yet, and a
 * host fault while building a block (cur_insn is NULL then) is a fetch
 * fault of the instruction at the block's start: x86_fault_from_signal
 * reports the first byte that could not be fetched, the start of the page
 * the host fault hit or the instruction itself, which is what the
 * hardware reports whatever order the copy below reads bytes in. */
#define FETCH_END (-2000) /* decode_at: end the block before this instruction */

static int decode_at(struct x86_cpu *cpu, uint64_t pc, bool first, struct x86_insn *in)
{
    uint8_t buf[15];
    const uint8_t *p = (const uint8_t *)(cpu->mem_base + (uintptr_t)pc);
    uint64_t limit = cpu->mem_limit;
    if (pc >= limit)
        x86_raise_pf(cpu, pc, X86_PF_USER | X86_PF_FETCH);
    uint64_t page_left = X86_PAGE_SIZE - (pc & (X86_PAGE_SIZE - 1));
    uint64_t avail = limit - pc;
    unsigned have = (unsigned)(page_left < 15 ? page_left : 15);
    if (have > avail)
        have = (unsigned)avail;
    memcpy(buf, p, have); /* may fault: only for the first instruction */
    int len = x86_decode(buf, have, cpu->long_mode, in);
    if (len != X86_DECODE_MORE || have == 15)
        return len;
    if (!first)
        return FETCH_END;
    /* The block's first instruction crosses into the next page (or into
     * what lies past mem_limit). */
    if (pc + have >= limit)
        x86_raise_pf(cpu, pc + have, X86_PF_USER | X86_PF_FETCH);
    unsigned n = (unsigned)(avail < 15 ? avail : 15);
    memcpy(buf + have, p + have, n - have);
    len = x86_decode(buf, n, cpu->long_mode, in);
    if (len == X86_DECODE_MORE) /* it runs on past mem_limit */
        x86_raise_pf(cpu, pc + n, X86_PF_USER | X86_PF_FETCH);
    return len;
}

static struct x86_block *build_block(struct x86_cpu *cpu, uint64_t pc)
{
    struct x86_block_cache *c = cpu->blocks;
    size_t max = sizeof(struct x86_block) + X86_BLOCK_MAX * sizeof(struct x86_insn);
    if (c->used + max > X86_ARENA_BYTES)
        cache_flush(c);
    struct x86_block *b = (struct x86_block *)(c->arena + c->used);
    b->pc = pc;
    b->ninsn = 0;
    cpu->cur_insn = NULL;
    uint64_t at = pc, page = pc & ~(uint64_t)(X86_PAGE_SIZE - 1);
    while (b->ninsn < X86_BLOCK_MAX) {
        if (b->ninsn > 0 && (at & ~(uint64_t)(X86_PAGE_SIZE - 1)) != page)
            break; /* the next page starts a new block */
        struct x86_insn *in = &b->insns[b->ninsn];
        int len = decode_at(cpu, at, b->ninsn == 0, in);
        if (len <= 0) {
            if (b->ninsn > 0)
                break; /* run what decoded; the bad one faults when reached */
            x86_raise(cpu, (unsigned)-len, 0); /* #UD, or #GP past 15 bytes */
        }
        b->ninsn++;
        at += (unsigned)len;
        if (ends_block(in))
            break;
    }
    b->end = at;
    arena_alloc(c, sizeof(*b) + b->ninsn * sizeof(struct x86_insn));
    unsigned h = block_hash(pc);
    b->next = c->hash[h];
    c->hash[h] = b;
    if (pc < c->code_lo)
        c->code_lo = pc;
    if (at > c->code_hi)
        c->code_hi = at;
    return b;
}

static inline struct x86_block *find_block(struct x86_cpu *cpu, uint64_t pc)
{
    struct x86_block_cache *c = cpu->blocks;
    unsigned j = (unsigned)(pc >> 0) & (X86_JMP_CACHE - 1);
    struct x86_block *b = c->jmp[j];
    if (__builtin_expect(b && b->pc == pc, 1))
        return b;
    for (b = c->hash[block_hash(pc)]; b; b = b->next)
        if (b->pc == pc)
            break;
    if (!b)
        b = build_block(cpu, pc);
    c->jmp[j] = b;
    return b;
}

void x86_invalidate_code(struct x86_cpu *cpu, uint64_t addr, uint64_t len)
{
    struct x86_block_cache *c = cpu->blocks;
    if (!c || len == 0 || addr >= c->code_hi || addr + len <= c->code_lo)
        return;
    /* Rare (mprotect/munmap over code, self-modifying code): drop all. */
    cache_flush(c);
}

/* --- the run loop --- */

enum x86_exit x86_run(struct x86_cpu *cpu, uint64_t max_insns)
{
    if (sigsetjmp(cpu->exc_jmp, 0)) {
        cpu->cur_insn = NULL;
        cpu->in_run = false;
        return cpu->exit_reason;
    }
    cpu->in_run = true;
    uint64_t budget = max_insns ? max_insns : UINT64_MAX;
    for (;;) {
        if (__builtin_expect(__atomic_load_n(&cpu->stop_request, __ATOMIC_ACQUIRE), 0)) {
            cpu->stop_request = 0;
            cpu->in_run = false;
            return X86_EXIT_STOP;
        }
        if (budget == 0) {
            cpu->in_run = false;
            return X86_EXIT_BUDGET;
        }
        struct x86_block *b = find_block(cpu, cpu->rip);
        uint32_t n = b->ninsn < budget ? b->ninsn : (uint32_t)budget;
        /* Counted before running: an exception leaves the count one block
         * ahead at most, which only budgets and statistics see. */
        budget -= n;
        cpu->icount += n;
        const struct x86_insn *in = b->insns, *end = b->insns + n;
        for (; in < end; in++) {
            cpu->cur_insn = in;
            cpu->rip += in->len;
            in->fn(cpu, in);
        }
    }
}
