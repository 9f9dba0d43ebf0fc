/* Blocks and the run loop.
 *
 * A block is a run of decoded instructions (struct x86_insn, insn.h) that
 * starts at a guest address and ends after the first instruction that may
 * change RIP other than by falling through (a branch, call, return, trap,
 * SYSCALL, HLT), or that changes the mode or the interrupt flag, or after
 * X86_BLOCK_MAX instructions. Blocks are decoded once and kept in a cache
 * keyed by the guest-physical address of their first byte and the code
 * mode (so a block never runs in a mode it was not decoded for), with a
 * direct-mapped jump cache by linear address in front (checked against the
 * physical address the fetch TLB gives, so a changed mapping never runs
 * stale code), all in one arena emptied as a whole when full.
 *
 * Self-modifying code, system mode: every page holding blocks has a mask
 * of its 64-byte chunks that hold code (code_mask) and a list of its
 * blocks; the MMU keeps such pages out of the write TLB, so a store there
 * reaches x86_code_write(), which drops just the blocks it overlaps. If
 * that includes the running block, the block stops after the storing
 * instruction. User mode (flat model) drops everything when the embedder
 * says code changed (mprotect, munmap, mmap: x86_invalidate_code).
 *
 * Running a block is a loop over its instructions: advance cpu->rip past
 * the instruction, call its op function. Exceptions and exits longjmp back
 * to x86_run() (the only sigsetjmp); in system mode exceptions are
 * delivered through the IDT right there (intr.c) and the loop goes on.
 * Interrupts are looked at between blocks: stop_request, irq_pending and
 * nmi_pending are read once per block.
 */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "cpu/x86/flags.h"
#include "cpu/x86/insn.h"
#include "cpu/x86/mem.h"
#include "cpu/x86/mmu.h"
#include "cpu/x86/operand.h"
#include "cpu/x86/seg.h"
#include "cpu/x86/stack.h"

#define X86_BLOCK_MAX   64
#define X86_BLOCK_HASH  65536 /* buckets, power of two */
#define X86_JMP_CACHE   4096  /* entries, power of two */
#define X86_ARENA_BYTES (64u << 20)
#define X86_MAX_SHARED  64 /* CPUs sharing one cache */
#define NO_PAGE         UINT64_MAX

struct x86_block {
    uint64_t phys;  /* first byte: guest-physical (flat model: linear); NO_PAGE once dropped */
    uint64_t end;   /* one past the last byte in the first page */
    uint64_t phys2; /* the next page, when the first instruction crosses into it; else NO_PAGE */
    uint32_t len2;  /* bytes in that page */
    uint32_t ninsn;
    uint8_t mode;                 /* enum x86_code_mode */
    struct x86_block *next;       /* hash chain */
    struct x86_block *page_next;  /* blocks on the page of phys */
    struct x86_block *page_next2; /* blocks on the page of phys2 */
    struct x86_insn insns[];
};

struct x86_jmp_entry {
    uint64_t lin;
    struct x86_block *b;
};

struct x86_block_cache {
    struct x86_block *hash[X86_BLOCK_HASH];
    struct x86_jmp_entry jmp[X86_JMP_CACHE];
    uint8_t *arena;
    size_t used;
    uint64_t code_lo, code_hi; /* flat model: bytes covered by cached blocks */
    uint64_t flushes;
    /* System mode: per guest-physical page below npages, the chunks that
     * hold code and the blocks there (NORESERVE mappings: untouched pages
     * cost nothing). */
    uint64_t npages;
    uint64_t *code_mask;
    struct x86_block **page_blocks;
    struct x86_cpu *cpus[X86_MAX_SHARED];
    unsigned ncpus;
};

static inline unsigned block_hash(uint64_t phys, unsigned mode)
{
    return (unsigned)((phys ^ (phys >> 16) ^ mode) & (X86_BLOCK_HASH - 1));
}

static void cache_flush(struct x86_block_cache *c)
{
    memset(c->hash, 0, sizeof(c->hash));
    memset(c->jmp, 0, sizeof(c->jmp));
    c->used = 0;
    c->code_lo = UINT64_MAX;
    c->code_hi = 0;
    c->flushes++;
    if (c->npages) {
        /* Zero the tracking arrays by giving their pages back. */
        madvise(c->code_mask, c->npages * sizeof(*c->code_mask), MADV_DONTNEED);
        madvise(c->page_blocks, c->npages * sizeof(*c->page_blocks), MADV_DONTNEED);
    }
}

static struct x86_block_cache *cache_new(uint64_t phys_limit)
{
    struct x86_block_cache *c = calloc(1, sizeof(*c));
    if (!c)
        return NULL;
    c->arena = mmap(NULL, X86_ARENA_BYTES, PROT_READ | PROT_WRITE,
                    MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (c->arena == MAP_FAILED) {
        free(c);
        return NULL;
    }
    c->npages = (phys_limit + 0xfff) >> 12;
    if (c->npages) {
        c->code_mask = mmap(NULL, c->npages * sizeof(*c->code_mask), PROT_READ | PROT_WRITE,
                            MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
        c->page_blocks = mmap(NULL, c->npages * sizeof(*c->page_blocks), PROT_READ | PROT_WRITE,
                              MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
        if (c->code_mask == MAP_FAILED || c->page_blocks == MAP_FAILED) {
            if (c->code_mask != MAP_FAILED)
                munmap(c->code_mask, c->npages * sizeof(*c->code_mask));
            if (c->page_blocks != MAP_FAILED)
                munmap(c->page_blocks, c->npages * sizeof(*c->page_blocks));
            munmap(c->arena, X86_ARENA_BYTES);
            free(c);
            return NULL;
        }
    }
    cache_flush(c);
    c->flushes = 0;
    return c;
}

static void tlb_reset(struct x86_cpu *cpu)
{
    for (unsigned s = 0; s < 2; s++)
        for (unsigned a = 0; a < 3; a++)
            for (unsigned i = 0; i < X86_TLB_SIZE; i++)
                cpu->tlbs[s].e[a][i].tag = X86_TLB_INVALID;
    cpu->tlb_large_lo = UINT64_MAX;
    cpu->tlb_large_hi = 0;
    cpu->tlb = &cpu->tlbs[0];
}

int x86_cpu_init_system(struct x86_cpu *cpu, const struct x86_sys_ops *sys, void *ctx,
                        uint64_t phys_limit, struct x86_cpu *share_blocks_with)
{
    memset(cpu, 0, sizeof(*cpu));
    struct x86_block_cache *c =
        share_blocks_with ? share_blocks_with->blocks : cache_new(phys_limit);
    if (!c || c->ncpus >= X86_MAX_SHARED)
        return -ENOMEM;
    c->cpus[c->ncpus++] = cpu;
    cpu->blocks = c;
    cpu->sys = sys;
    cpu->sys_ctx = ctx;
    tlb_reset(cpu);
    x86_cpu_reset(cpu);
    return 0;
}

void x86_cpu_reset(struct x86_cpu *cpu)
{
    /* The RESET/INIT state (SDM Vol. 3 Table 9-1). */
    memset(cpu->gpr, 0, sizeof(cpu->gpr));
    cpu->gpr[X86_RDX] = 0x600; /* family/model/stepping, roughly */
    cpu->rip = 0xfff0;
    cpu->cc_op = X86_CC_FLAGS;
    cpu->rflags = 2;
    cpu->cr0 = X86_CR0_ET | X86_CR0_CD | X86_CR0_NW;
    cpu->cr2 = cpu->cr3 = cpu->cr4 = cpu->efer = 0;
    cpu->mxcsr = 0x1f80;
    cpu->fpu.fcw = 0x37f;
    cpu->cpl = 0;
    cpu->pat = 0x0007040600070406ull;
    cpu->gdtr = cpu->idtr = (struct x86_dtr){.base = 0, .limit = 0xffff};
    for (int s = 0; s < 6; s++)
        cpu->seg[s] = (struct x86_segment){.limit = 0xffff, .attr = 0x93};
    cpu->seg[X86_CS] = (struct x86_segment){
        .selector = 0xf000, .dbase = 0xffff0000, .limit = 0xffff, .attr = 0x9b};
    cpu->ldtr = (struct x86_segment){.limit = 0xffff, .attr = 0x82};
    cpu->tr = (struct x86_segment){.limit = 0xffff, .attr = 0x8b};
    memset(cpu->dr, 0, sizeof(cpu->dr));
    cpu->dr[6] = 0xffff0ff0;
    cpu->dr[7] = 0x400;
    cpu->halted = false;
    cpu->int_shadow = false;
    cpu->nmi_blocked = false;
    cpu->delivering = -1;
    x86_flush_tlb(cpu, true);
    x86_update_mode(cpu);
}

int x86_cpu_init_user(struct x86_cpu *cpu, uintptr_t mem_base, uint64_t mem_limit)
{
    memset(cpu, 0, sizeof(*cpu));
    struct x86_block_cache *c = cache_new(0);
    if (!c)
        return -ENOMEM;
    cpu->blocks = c;
    tlb_reset(cpu);
    cpu->code_mode = X86_MODE64;
    cpu->sp_mask = ~0ull;
    cpu->delivering = -1;
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
    cpu->blocks = NULL;
    for (unsigned i = 0; i < c->ncpus; i++)
        if (c->cpus[i] == cpu)
            c->cpus[i] = c->cpus[--c->ncpus];
    if (c->ncpus)
        return; /* still shared */
    munmap(c->arena, X86_ARENA_BYTES);
    if (c->npages) {
        munmap(c->code_mask, c->npages * sizeof(*c->code_mask));
        munmap(c->page_blocks, c->npages * sizeof(*c->page_blocks));
    }
    free(c);
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
    cpu->exc.soft = false;
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

_Noreturn void x86_raise_soft(struct x86_cpu *cpu, unsigned vector)
{
    record(cpu, vector, 0, false);
    cpu->exc.soft = true;
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
bool x86_insn_rmw(const struct x86_insn *in)
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
    if (write || x86_insn_rmw(cpu->cur_insn))
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
    if ((host_err & X86_PF_WRITE) || x86_insn_rmw(cpu->cur_insn))
        err |= X86_PF_WRITE;
    /* The host may have touched the operand's bytes in any order (a
     * compiler copies 16 bytes high half first, say): the guest's CR2 is
     * the operand's first byte on the faulting page. */
    const struct x86_insn *in = cpu->cur_insn;
    if ((in->flags & X86_I_MEM) && in->map != X86_MAP_PRIMARY) {
        uint64_t ea = x86_ea(cpu, in), page = lin & ~(uint64_t)(X86_PAGE_SIZE - 1);
        if (ea <= lin && lin - ea < 64)
            lin = ea > page ? ea : page;
    }
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
        case 0xf1:
        case 0x17: /* POP SS, MOV SS: the interrupt shadow */
        case 0x9d: /* POPF: IF, TF */
        case 0xfb: /* STI */
            return true;
        case 0x8e:
            return (in->reg & 7) == X86_SS;
        case 0xff: /* call/jmp near and far */
            return in->reg >= 2 && in->reg <= 5;
        }
        return false;
    }
    if (in->map == X86_MAP_0F)
        return (op >= 0x80 && op <= 0x8f) || op == 0x05 || op == 0x07 || op == 0x34 || op == 0x35 ||
               op == 0x0b || op == 0x22 || op == 0x30 || op == 0x01 || op == 0x00 || op == 0xa1 ||
               op == 0xa9 || op == 0xb2;
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
 * fault while building a block (cur_insn is NULL then) is a fetch fault of
 * the instruction at the block's start. In the flat model a host fault is
 * turned into the guest's by x86_fault_from_signal, which reports the first
 * byte that could not be fetched, the start of the page the host fault hit
 * or the instruction itself, which is what the hardware reports whatever
 * order the copy below reads bytes in. */
#define FETCH_END (-2000) /* decode_at: end the block before this instruction */

struct fetch {
    const uint8_t *page; /* host address of the block's page */
    uint64_t lin_page;   /* its linear address */
    uint64_t phys2;      /* a second page, once fetched */
    uint32_t len2;
};

static int decode_at(struct x86_cpu *cpu, struct fetch *f, uint64_t lin, bool first,
                     struct x86_insn *in)
{
    uint8_t buf[15];
    uint64_t off = lin - f->lin_page;
    uint64_t page_left = X86_PAGE_SIZE - off;
    unsigned have = (unsigned)(page_left < 15 ? page_left : 15);
    if (!cpu->sys && lin + have > cpu->mem_limit)
        have = (unsigned)(cpu->mem_limit - lin);
    memcpy(buf, f->page + off, have); /* flat model: may fault, only for the first instruction */
    int len = x86_decode(buf, have, cpu->code_mode, in);
    if (len != X86_DECODE_MORE || have == 15)
        return len;
    if (!first)
        return FETCH_END;
    /* The block's first instruction crosses into the next page. */
    uint64_t next = lin + have, gpa2;
    const uint8_t *p2 = x86_fetch_ptr(cpu, next, &gpa2);
    unsigned n = 15;
    if (!cpu->sys && next + (15 - have) > cpu->mem_limit)
        n = (unsigned)(cpu->mem_limit - lin);
    memcpy(buf + have, p2, n - have);
    len = x86_decode(buf, n, cpu->code_mode, in);
    if (len == X86_DECODE_MORE) /* it runs on past mem_limit */
        x86_raise_pf(cpu, lin + n, X86_PF_USER | X86_PF_FETCH);
    if (len > (int)have) {
        f->phys2 = gpa2 & ~0xfffull;
        f->len2 = (uint32_t)len - have;
    }
    return len;
}

static uint64_t chunk_bits(uint64_t off, uint64_t end)
{
    unsigned a = (unsigned)(off >> 6), b = (unsigned)((end - 1) >> 6);
    uint64_t hi = b >= 63 ? ~0ull : (2ull << b) - 1;
    return hi & ~((1ull << a) - 1);
}

/* System mode: mark the block's bytes as code and put it on its pages'
 * lists; a page becoming code loses its write TLB entries everywhere. */
static void track_code(struct x86_block_cache *c, struct x86_block *b)
{
    uint64_t ppn = b->phys >> 12;
    if (ppn < c->npages) {
        uint64_t was = c->code_mask[ppn];
        c->code_mask[ppn] |= chunk_bits(b->phys & 0xfff, b->end - (b->phys & ~0xfffull));
        b->page_next = c->page_blocks[ppn];
        c->page_blocks[ppn] = b;
        if (!was)
            for (unsigned i = 0; i < c->ncpus; i++)
                x86_tlb_drop_writes(c->cpus[i], b->phys);
    }
    if (b->phys2 == NO_PAGE)
        return;
    ppn = b->phys2 >> 12;
    if (ppn < c->npages) {
        uint64_t was = c->code_mask[ppn];
        c->code_mask[ppn] |= chunk_bits(0, b->len2);
        b->page_next2 = c->page_blocks[ppn];
        c->page_blocks[ppn] = b;
        if (!was)
            for (unsigned i = 0; i < c->ncpus; i++)
                x86_tlb_drop_writes(c->cpus[i], b->phys2);
    }
}

static struct x86_block *build_block(struct x86_cpu *cpu, uint64_t lin, uint64_t phys,
                                     const uint8_t *host)
{
    struct x86_block_cache *c = cpu->blocks;
    size_t max = sizeof(struct x86_block) + X86_BLOCK_MAX * sizeof(struct x86_insn);
    if (c->used + max > X86_ARENA_BYTES)
        cache_flush(c);
    struct x86_block *b = (struct x86_block *)(c->arena + c->used);
    struct fetch f = {.page = host - (lin & 0xfff), .lin_page = lin & ~0xfffull, .phys2 = NO_PAGE};
    b->phys = phys;
    b->mode = cpu->code_mode;
    b->ninsn = 0;
    b->page_next = b->page_next2 = NULL;
    cpu->cur_insn = NULL;
    uint64_t at = lin;
    while (b->ninsn < X86_BLOCK_MAX) {
        if (b->ninsn > 0 && (at & ~(uint64_t)(X86_PAGE_SIZE - 1)) != f.lin_page)
            break; /* the next page starts a new block */
        struct x86_insn *in = &b->insns[b->ninsn];
        int len = decode_at(cpu, &f, at, b->ninsn == 0, in);
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
    b->phys2 = f.phys2;
    b->len2 = f.len2;
    uint64_t first_end = at - f.lin_page > X86_PAGE_SIZE ? X86_PAGE_SIZE : at - f.lin_page;
    b->end = (phys & ~0xfffull) + first_end;
    arena_alloc(c, sizeof(*b) + b->ninsn * sizeof(struct x86_insn));
    unsigned h = block_hash(phys, b->mode);
    b->next = c->hash[h];
    c->hash[h] = b;
    if (cpu->sys) {
        track_code(c, b);
    } else {
        if (lin < c->code_lo)
            c->code_lo = lin;
        if (at > c->code_hi)
            c->code_hi = at;
    }
    return b;
}

/* Is block b still what runs at lin (its second page, if any, still mapped
 * where it was)? */
static inline bool block_valid(struct x86_cpu *cpu, const struct x86_block *b, uint64_t phys,
                               uint64_t lin)
{
    if (b->phys != phys || b->mode != cpu->code_mode)
        return false;
    if (__builtin_expect(b->phys2 == NO_PAGE, 1))
        return true;
    uint64_t gpa2;
    x86_fetch_ptr(cpu, (lin & ~0xfffull) + X86_PAGE_SIZE, &gpa2);
    return (gpa2 & ~0xfffull) == b->phys2;
}

static inline struct x86_block *find_block(struct x86_cpu *cpu, uint64_t lin)
{
    struct x86_block_cache *c = cpu->blocks;
    uint64_t phys;
    const uint8_t *host = x86_fetch_ptr(cpu, lin, &phys);
    struct x86_jmp_entry *j = &c->jmp[(lin ^ (lin >> 12)) & (X86_JMP_CACHE - 1)];
    struct x86_block *b = j->b;
    if (__builtin_expect(j->lin == lin && b && block_valid(cpu, b, phys, lin), 1))
        return b;
    for (b = c->hash[block_hash(phys, cpu->code_mode)]; b; b = b->next)
        if (block_valid(cpu, b, phys, lin))
            break;
    if (!b)
        b = build_block(cpu, lin, phys, host);
    j->lin = lin;
    j->b = b;
    return b;
}

/* Take b out of the hash chain and the page lists; it can never be found
 * again (phys = NO_PAGE), and a CPU running it stops after the current
 * instruction. */
static void unlink_page(struct x86_block_cache *c, uint64_t page, struct x86_block *b)
{
    uint64_t ppn = page >> 12;
    if (page == NO_PAGE || ppn >= c->npages)
        return;
    for (struct x86_block **pp = &c->page_blocks[ppn]; *pp;) {
        struct x86_block *x = *pp;
        struct x86_block **nx = (x->phys & ~0xfffull) == page ? &x->page_next : &x->page_next2;
        if (x == b) {
            *pp = *nx;
            return;
        }
        pp = nx;
    }
}

static void drop_block(struct x86_cpu *cpu, struct x86_block *b)
{
    struct x86_block_cache *c = cpu->blocks;
    for (struct x86_block **pp = &c->hash[block_hash(b->phys, b->mode)]; *pp; pp = &(*pp)->next)
        if (*pp == b) {
            *pp = b->next;
            break;
        }
    unlink_page(c, b->phys & ~0xfffull, b);
    unlink_page(c, b->phys2, b);
    b->phys = NO_PAGE;
    const struct x86_insn *cur = cpu->cur_insn;
    if (cur && cur >= b->insns && cur < b->insns + b->ninsn)
        cpu->run_end = cur + 1;
}

bool x86_code_on_page(const struct x86_cpu *cpu, uint64_t gpa)
{
    const struct x86_block_cache *c = cpu->blocks;
    uint64_t ppn = gpa >> 12;
    return ppn < c->npages && c->code_mask[ppn];
}

/* The bytes of block b on page `page`, as [lo, hi) offsets. */
static void block_span(const struct x86_block *b, uint64_t page, uint64_t *lo, uint64_t *hi)
{
    if ((b->phys & ~0xfffull) == page) {
        *lo = b->phys & 0xfff;
        *hi = b->end - page;
    } else {
        *lo = 0;
        *hi = b->len2;
    }
}

void x86_code_write(struct x86_cpu *cpu, uint64_t gpa, uint64_t len)
{
    struct x86_block_cache *c = cpu->blocks;
    if (gpa >= c->npages << 12)
        return;
    if (len > (c->npages << 12) - gpa)
        len = (c->npages << 12) - gpa; /* nothing is tracked beyond */
    while (len) {
        uint64_t page = gpa & ~0xfffull, off = gpa & 0xfff;
        uint64_t n = X86_PAGE_SIZE - off < len ? X86_PAGE_SIZE - off : len;
        uint64_t ppn = page >> 12;
        if (ppn < c->npages && (c->code_mask[ppn] & chunk_bits(off, off + n))) {
            uint64_t mask = 0;
            struct x86_block *b = c->page_blocks[ppn];
            while (b) {
                struct x86_block *next =
                    (b->phys & ~0xfffull) == page ? b->page_next : b->page_next2;
                uint64_t lo, hi;
                block_span(b, page, &lo, &hi);
                if (lo < off + n && off < hi)
                    drop_block(cpu, b);
                else
                    mask |= chunk_bits(lo, hi);
                b = next;
            }
            c->code_mask[ppn] = mask;
        }
        gpa += n;
        len -= n;
    }
}

void x86_invalidate_code(struct x86_cpu *cpu, uint64_t addr, uint64_t len)
{
    struct x86_block_cache *c = cpu->blocks;
    if (!c || len == 0)
        return;
    if (cpu->sys) {
        x86_code_write(cpu, addr, len); /* addr is guest-physical here */
        return;
    }
    if (addr >= c->code_hi || addr + len <= c->code_lo)
        return;
    /* Rare (mprotect/munmap over code): drop all. */
    cache_flush(c);
}

/* --- the run loop --- */

/* Between blocks, system mode: stop requests, the interrupt shadow, NMI
 * and external interrupts. Returns an exit reason, or -1 to go on; *one
 * is set when only one instruction may run before looking again. */
static int events(struct x86_cpu *cpu, bool *one)
{
    if (__atomic_load_n(&cpu->stop_request, __ATOMIC_ACQUIRE)) {
        __atomic_store_n(&cpu->stop_request, 0, __ATOMIC_RELAXED);
        return X86_EXIT_STOP;
    }
    if (!cpu->sys)
        return -1;
    if (cpu->int_shadow) {
        cpu->int_shadow = false;
        *one = true;
        return -1;
    }
    if (__atomic_load_n(&cpu->nmi_pending, __ATOMIC_ACQUIRE) && !cpu->nmi_blocked) {
        __atomic_store_n(&cpu->nmi_pending, 0, __ATOMIC_RELAXED);
        cpu->nmi_blocked = true;
        cpu->halted = false;
        x86_deliver_event(cpu, X86_EXC_NMI);
    } else if (__atomic_load_n(&cpu->irq_pending, __ATOMIC_ACQUIRE) &&
               (cpu->rflags & X86_FLAG_IF)) {
        int vec = cpu->sys->intr_ack(cpu->sys_ctx);
        if (vec >= 0) {
            cpu->halted = false;
            x86_deliver_event(cpu, (unsigned)vec);
        }
    }
    return -1;
}

static enum x86_exit run_loop(struct x86_cpu *cpu)
{
    for (;;) {
        bool one = false;
        /* Relaxed loads (plain moves on x86): events() orders what it acts on. */
        if (__builtin_expect(__atomic_load_n(&cpu->stop_request, __ATOMIC_RELAXED) |
                                 __atomic_load_n(&cpu->irq_pending, __ATOMIC_RELAXED) |
                                 __atomic_load_n(&cpu->nmi_pending, __ATOMIC_RELAXED) |
                                 cpu->int_shadow | cpu->halted,
                             0)) {
            int r = events(cpu, &one);
            if (r >= 0)
                return (enum x86_exit)r;
            if (cpu->halted)
                return X86_EXIT_HLT; /* nothing woke it */
        }
        if (cpu->budget == 0)
            return X86_EXIT_BUDGET;
        uint64_t lin = cpu->rip + cpu->seg[X86_CS].base;
        if (cpu->code_mode != X86_MODE64)
            lin = (uint32_t)lin;
        cpu->cur_insn = NULL; /* a fetch fault belongs to no instruction yet */
        struct x86_block *b = find_block(cpu, lin);
        uint32_t n = b->ninsn < cpu->budget ? b->ninsn : (uint32_t)cpu->budget;
        /* Single-step (system mode): TF at the start of an instruction
         * makes a #DB trap after it, except after a load of SS. */
        bool tf = cpu->sys && (cpu->rflags & X86_FLAG_TF);
        if (one || tf)
            n = 1;
        cpu->ss_loaded = false;
        /* Counted before running: an exception leaves the count one block
         * ahead at most, which only budgets and statistics see. */
        cpu->budget -= n;
        cpu->icount += n;
        const struct x86_insn *in = b->insns;
        cpu->run_end = b->insns + n;
        for (; in < cpu->run_end; in++) {
            cpu->cur_insn = in;
            cpu->rip += in->len;
            in->fn(cpu, in);
        }
        if (__builtin_expect(cpu->pending_n != 0, 0)) {
            cpu->cur_insn = NULL;
            x86_pending_flush(cpu);
        }
        if (__builtin_expect(tf, 0) && !cpu->ss_loaded) {
            cpu->dr[6] |= X86_DR6_BS;
            cpu->cur_insn = NULL;
            x86_deliver_trap(cpu, X86_EXC_DB);
        }
    }
}

enum x86_exit x86_run(struct x86_cpu *cpu, uint64_t max_insns)
{
    cpu->budget = max_insns ? max_insns : UINT64_MAX;
    cpu->delivering = -1;
    if (sigsetjmp(cpu->exc_jmp, 0)) {
        cpu->cur_insn = NULL;
        x86_pending_drop(cpu);
        if (cpu->exit_reason != X86_EXIT_EXCEPTION || !cpu->sys) {
            cpu->in_run = false;
            return cpu->exit_reason;
        }
        /* System mode: deliver it (a fault on the way comes back here). */
        x86_tlb_select(cpu);
        if (!x86_deliver_exception(cpu)) {
            cpu->in_run = false;
            return X86_EXIT_SHUTDOWN;
        }
    }
    cpu->in_run = true;
    enum x86_exit r = run_loop(cpu);
    cpu->in_run = false;
    return r;
}
