/* The x86-64 CPU emulator: architectural state and the run interface.
 *
 * A library with no VM or device knowledge (see DESIGN.md). The embedder
 * (accel/emu for whole machines, `xuni user` for Linux programs, the CPU
 * tests) owns a struct x86_cpu, fills its registers and memory model, and
 * calls x86_run(), which executes until something needs the embedder: an
 * exception the CPU does not deliver itself, a SYSCALL in user mode, HLT,
 * an instruction budget running out, or a stop request.
 *
 * How the pieces fit:
 *   decode.c    bytes -> struct x86_insn (insn.h): prefixes, REX, ModRM/SIB,
 *               displacement, immediate, the opcode's format from the SDM's
 *               opcode maps, #UD for invalid encodings;
 *   ops.c       the dispatch table: every instruction family file
 *               (alu.c, shift.c, ...) registers its op functions by (map,
 *               opcode, mandatory prefix, ModRM.reg, mod); the decoder
 *               stores the function in the decoded instruction;
 *   exec.c      blocks: decoded once, cached by address and mode, run as
 *               arrays of struct x86_insn; the run loop; the exception path;
 *   flags.c     lazy flags (flags.h);
 *   mem.h       guest memory accesses (flat user-mode model now, the
 *               software MMU/TLB later);
 *   operand.h   register and ModRM operand accessors for op functions.
 *
 * RIP: when an op function runs, cpu->rip already holds the address of the
 * next instruction (the run loop advances it by insn->len first), so
 * RIP-relative operands and relative branches add to it, CALL pushes it,
 * and a branch simply overwrites it. cpu->cur_insn is the instruction
 * running.
 *
 * Exceptions leave an op function through one path: x86_raise() records the
 * vector, moves rip back to the start of the instruction and longjmps to
 * x86_run(). Op functions therefore do every access that can fault before
 * changing any architectural state (rip included), so a faulting
 * instruction leaves registers and memory as they were (precise
 * exceptions).
 */
#ifndef XUNI_CPU_X86_CPU_H
#define XUNI_CPU_X86_CPU_H

#include <setjmp.h>
#include <stdbool.h>
#include <stdint.h>

enum x86_gpr {
    X86_RAX,
    X86_RCX,
    X86_RDX,
    X86_RBX,
    X86_RSP,
    X86_RBP,
    X86_RSI,
    X86_RDI,
    X86_R8,
    X86_R9,
    X86_R10,
    X86_R11,
    X86_R12,
    X86_R13,
    X86_R14,
    X86_R15,
};

enum x86_sreg { X86_ES, X86_CS, X86_SS, X86_DS, X86_FS, X86_GS, X86_SEG_NONE = 7 };

enum x86_vector {
    X86_EXC_DE = 0,
    X86_EXC_DB = 1,
    X86_EXC_NMI = 2,
    X86_EXC_BP = 3,
    X86_EXC_OF = 4,
    X86_EXC_BR = 5,
    X86_EXC_UD = 6,
    X86_EXC_NM = 7,
    X86_EXC_DF = 8,
    X86_EXC_TS = 10,
    X86_EXC_NP = 11,
    X86_EXC_SS = 12,
    X86_EXC_GP = 13,
    X86_EXC_PF = 14,
    X86_EXC_MF = 16,
    X86_EXC_AC = 17,
    X86_EXC_MC = 18,
    X86_EXC_XM = 19,
};

/* RFLAGS bits. */
#define X86_FLAG_CF (1u << 0)
#define X86_FLAG_PF (1u << 2)
#define X86_FLAG_AF (1u << 4)
#define X86_FLAG_ZF (1u << 6)
#define X86_FLAG_SF (1u << 7)
#define X86_FLAG_TF (1u << 8)
#define X86_FLAG_IF (1u << 9)
#define X86_FLAG_DF (1u << 10)
#define X86_FLAG_OF (1u << 11)
#define X86_FLAG_AC (1u << 18)
#define X86_FLAG_ID (1u << 21)
#define X86_FLAGS_ARITH                                                                            \
    (X86_FLAG_CF | X86_FLAG_PF | X86_FLAG_AF | X86_FLAG_ZF | X86_FLAG_SF | X86_FLAG_OF)

struct x86_segment {
    uint64_t base; /* effective base: 0 for CS DS ES SS in 64-bit mode */
    uint32_t limit;
    uint16_t selector;
    uint16_t attr;  /* descriptor bits 40-47 and 52-55 packed as
                       type|s<<4|dpl<<5|p<<7|avl<<8|l<<9|db<<10|g<<11 */
    uint64_t dbase; /* the base the descriptor (or real-mode selector) gave */
};

/* struct x86_segment.attr bits. */
#define X86_ATTR_TYPE(a) ((a)&15u)
#define X86_ATTR_S       (1u << 4)
#define X86_ATTR_DPL(a)  ((a) >> 5 & 3u)
#define X86_ATTR_P       (1u << 7)
#define X86_ATTR_L       (1u << 9)
#define X86_ATTR_DB      (1u << 10)
#define X86_ATTR_G       (1u << 11)

/* A descriptor-table register (GDTR, IDTR) or a system segment register
 * (LDTR, TR: selector and hidden descriptor in seg). */
struct x86_dtr {
    uint64_t base;
    uint16_t limit;
};

/* How instructions are decoded: the default operand and address size of
 * the code segment (values chosen so x86_decode's mode64 argument, 0 or 1,
 * keeps meaning 32- or 64-bit). */
enum x86_code_mode { X86_MODE32 = 0, X86_MODE64 = 1, X86_MODE16 = 2 };

/* Control register and EFER bits the CPU acts on. */
#define X86_CR0_PE         (1ull << 0)
#define X86_CR0_MP         (1ull << 1)
#define X86_CR0_EM         (1ull << 2)
#define X86_CR0_TS         (1ull << 3)
#define X86_CR0_ET         (1ull << 4)
#define X86_CR0_NE         (1ull << 5)
#define X86_CR0_WP         (1ull << 16)
#define X86_CR0_AM         (1ull << 18)
#define X86_CR0_NW         (1ull << 29)
#define X86_CR0_CD         (1ull << 30)
#define X86_CR0_PG         (1ull << 31)
#define X86_CR4_VME        (1ull << 0)
#define X86_CR4_PVI        (1ull << 1)
#define X86_CR4_TSD        (1ull << 2)
#define X86_CR4_DE         (1ull << 3)
#define X86_CR4_PSE        (1ull << 4)
#define X86_CR4_PAE        (1ull << 5)
#define X86_CR4_MCE        (1ull << 6)
#define X86_CR4_PGE        (1ull << 7)
#define X86_CR4_PCE        (1ull << 8)
#define X86_CR4_OSFXSR     (1ull << 9)
#define X86_CR4_OSXMMEXCPT (1ull << 10)
#define X86_CR4_UMIP       (1ull << 11)
#define X86_EFER_SCE       (1ull << 0)
#define X86_EFER_LME       (1ull << 8)
#define X86_EFER_LMA       (1ull << 10)
#define X86_EFER_NXE       (1ull << 11)
#define X86_EFER_FFXSR     (1ull << 14)

/* The embedder's side of a system-mode CPU (accel/emu): physical memory,
 * devices, MSRs the CPU does not own, and the interrupt controller. All
 * hooks run on the vCPU's thread, inside x86_run(). */
struct x86_sys_ops {
    /* Host address of guest-physical gpa if it is RAM (valid to the end of
     * its 4 KiB page), else NULL (MMIO, or nothing there). */
    void *(*ram_ptr)(void *ctx, uint64_t gpa);
    uint64_t (*mmio_read)(void *ctx, uint64_t gpa, unsigned size);
    void (*mmio_write)(void *ctx, uint64_t gpa, unsigned size, uint64_t value);
    uint32_t (*pio_in)(void *ctx, uint16_t port, unsigned size);
    void (*pio_out)(void *ctx, uint16_t port, unsigned size, uint32_t value);
    /* MSRs the CPU does not keep itself (APIC, x2APIC, TSC deadline,
     * paravirtual clocks): 0, or -1 for #GP. */
    int (*rdmsr)(void *ctx, uint32_t msr, uint64_t *value);
    int (*wrmsr)(void *ctx, uint32_t msr, uint64_t value);
    /* The interrupt acknowledge cycle: the vector of the highest-priority
     * pending external interrupt (now in service), or -1 if none. */
    int (*intr_ack)(void *ctx);
    /* CR8 is the local APIC's TPR[7:4]. */
    uint64_t (*get_cr8)(void *ctx);
    void (*set_cr8)(void *ctx, uint64_t value);
    /* The guest TSC (rdtsc), a count that follows host time. */
    uint64_t (*tsc)(void *ctx);
    /* The guest wrote the TSC (cpu->tsc_offset is new): paravirtual clocks
     * that scale it need a new snapshot. May be NULL. */
    void (*tsc_written)(void *ctx);
    /* May adjust what CPUID returns (out holds the CPU's answer): the
     * hypervisor leaves of paravirtual interfaces the embedder provides.
     * May be NULL. */
    void (*cpuid)(void *ctx, uint32_t leaf, uint32_t subleaf, uint32_t out[4]);
};

/* Software TLB (mmu.c): direct-mapped, one array per kind of access, one
 * set per privilege (supervisor / user), so an entry's permission check
 * holds for as long as it exists. */
#define X86_TLB_BITS 8
#define X86_TLB_SIZE (1u << X86_TLB_BITS)
enum x86_access { X86_ACC_READ, X86_ACC_WRITE, X86_ACC_FETCH };

struct x86_tlb_entry {
    uint64_t tag;     /* linear page address; X86_TLB_INVALID when empty */
    uintptr_t addend; /* host address = linear address + addend */
    uint64_t phys;    /* guest-physical page | X86_TLB_GLOBAL | X86_TLB_LARGE */
};
#define X86_TLB_INVALID 1ull /* never equal to a page address */
#define X86_TLB_GLOBAL  1ull
#define X86_TLB_LARGE   2ull

struct x86_tlb {
    struct x86_tlb_entry e[3][X86_TLB_SIZE];
};

/* An SSE register. */
typedef union {
    uint8_t u8[16];
    uint16_t u16[8];
    uint32_t u32[4];
    uint64_t u64[2];
    int8_t i8[16];
    int16_t i16[8];
    int32_t i32[4];
    int64_t i64[2];
    float f32[4];
    double f64[2];
} x86_xmm;

/* An x87 register as the hardware holds it: 64-bit significand, sign and
 * 15-bit exponent. On x86-64 hosts `long double` is this format, so x87
 * arithmetic runs on host long doubles; MMX registers alias the significand
 * (writing one sets the exponent field to all-ones, as the SDM says). */
typedef union {
    long double f;
    struct {
        uint64_t mant;
        uint16_t sign_exp;
    } raw;
} x86_fpreg;

struct x86_fpu {
    x86_fpreg st[8];   /* physical registers R0-R7; ST(i) is st[(top + i) & 7] */
    uint16_t fcw, fsw; /* fsw's TOP field is kept in top */
    uint8_t ftw;       /* abridged tag word: bit i set = R(i) valid */
    uint8_t top;
    uint16_t fop;
    uint64_t fip, fdp;
};

/* What made x86_run() return. */
enum x86_exit {
    X86_EXIT_EXCEPTION, /* cpu->exc holds it; rip points at the instruction */
    X86_EXIT_SYSCALL,   /* user mode: SYSCALL executed; rip is past it */
    X86_EXIT_HLT,
    X86_EXIT_BUDGET,   /* max_insns executed */
    X86_EXIT_STOP,     /* x86_request_stop() */
    X86_EXIT_SHUTDOWN, /* system mode: triple fault (exc holds the last exception) */
    X86_EXIT_INTERNAL, /* system mode: something the emulator cannot do (log says what) */
};

struct x86_exception {
    uint8_t vector;
    bool has_error;
    uint32_t error;
    uint64_t addr; /* #PF: the faulting linear address (CR2) */
    bool soft;     /* INT n / INT3 / INTO: the gate's DPL is checked */
};

struct x86_block_cache;
struct x86_insn;

struct x86_cpu {
    uint64_t gpr[16];
    uint64_t rip;

    /* Lazy flags (flags.h): the arithmetic flags are a function of the last
     * flag-setting operation, kept here and evaluated only when read. The
     * other RFLAGS bits (DF, IF, TF, AC, ID, ...) always live in rflags. */
    uint64_t cc_res, cc_src1, cc_src2;
    uint32_t cc_op;
    uint64_t rflags;

    struct x86_segment seg[6];
    x86_xmm xmm[16];
    uint32_t mxcsr;
    struct x86_fpu fpu;

    /* Memory model. Flat (user mode): guest linear address a is host address
     * mem_base + a for a < mem_limit; protection and faults come from the
     * host's page tables (the embedder turns SIGSEGV into an exception with
     * x86_fault_from_signal). */
    uintptr_t mem_base;
    uint64_t mem_limit;

    /* The software TLB set for the current privilege (mmu.c). */
    struct x86_tlb *tlb;

    /* Mode and system state. */
    uint8_t cpl;
    uint8_t code_mode; /* enum x86_code_mode, from CR0.PE, EFER.LMA, CS.L and CS.D */
    bool long_mode;    /* EFER.LMA */
    bool user_mode;    /* `xuni user`: the flat model, the embedder plays the kernel */
    uint64_t sp_mask;  /* 0xffff, 0xffffffff or ~0: the stack pointer's width (SS.B, 64-bit) */
    uint64_t cr0, cr2, cr3, cr4, efer;
    uint64_t tsc_aux;
    struct x86_dtr gdtr, idtr;
    struct x86_segment ldtr, tr;
    uint64_t dr[8];
    uint64_t star, lstar, cstar, sfmask, kernel_gs_base;
    uint64_t sysenter_cs, sysenter_esp, sysenter_eip;
    uint64_t pat, misc_enable, hwcr, mtrr_def_type, mtrr_fixed[11], mtrr_var[16];
    uint64_t tsc_offset;       /* guest TSC = embedder's tsc() + tsc_offset */
    uint32_t apic_id, ncpus;   /* CPUID leaf 1 EBX (the embedder sets them) */
    uint32_t tsc_khz, bus_khz; /* CPUID 0x40000010: TSC and APIC timer frequencies */

    /* System mode: the embedder's hooks (NULL in user mode). */
    const struct x86_sys_ops *sys;
    void *sys_ctx;
    struct x86_tlb tlbs[2];              /* [0] supervisor, [1] user (CPL 3) */
    uint64_t tlb_large_lo, tlb_large_hi; /* linear range holding large-page entries */
    uint64_t tlb_flushes;

    /* Interrupts: irq_pending is set (from any thread, then kick) while the
     * interrupt controller has something for this CPU; the run loop looks
     * at it, with stop_request, once per block. */
    volatile int irq_pending;
    volatile int nmi_pending;
    bool int_shadow;  /* STI / MOV SS: no interrupt before the next instruction ends */
    bool nmi_blocked; /* between NMI delivery and the next IRET */
    bool ss_loaded;   /* the instruction loaded SS: no single-step trap after it */
    bool halted;
    int delivering;    /* the vector being delivered (for #DF), or -1 */
    bool exc_external; /* delivering an external event (error codes get EXT) */

    /* MMIO and page-crossing stores through a bounce buffer, written out
     * when the instruction's block ends (the block is cut after it). */
    uint8_t bounce[1024];
    struct x86_pending {
        uint64_t gpa;
        uint16_t off, n; /* bytes bounce[off..off+n) go to gpa */
    } pending[8];
    unsigned pending_n;
    uint64_t budget; /* instructions left in this x86_run() */

    /* Exit state. */
    const struct x86_insn *cur_insn; /* NULL while a block is being built */
    const struct x86_insn *run_end;  /* the running block stops before this one */
    enum x86_exit exit_reason;
    struct x86_exception exc;
    sigjmp_buf exc_jmp; /* x86_raise() lands here, in x86_run() */
    volatile int stop_request;
    volatile bool in_run; /* inside x86_run(): exc_jmp is live */
    uint64_t icount;      /* instructions retired (for budgets and statistics) */

    struct x86_block_cache *blocks;
};

/* Set up a CPU in system mode with the embedder's hooks, in the state of
 * RESET (real mode, CS:IP = F000:FFF0); the embedder then loads the boot
 * state it wants (x86_set_segment, registers). blocks may be shared by CPUs
 * that run on one thread (NULL: a cache of its own). */
int x86_cpu_init_system(struct x86_cpu *cpu, const struct x86_sys_ops *sys, void *ctx,
                        uint64_t phys_limit, struct x86_cpu *share_blocks_with);

/* The RESET/INIT state (real mode at F000:FFF0, caches and TLB empty). */
void x86_cpu_reset(struct x86_cpu *cpu);

/* Load a segment register's visible and hidden parts directly (boot
 * state, INIT/SIPI), then recompute the mode. */
void x86_set_segment(struct x86_cpu *cpu, unsigned sreg, const struct x86_segment *s);
/* Recompute code_mode, sp_mask, the effective segment bases and the TLB set
 * after CR0, EFER, CS or SS changed. */
void x86_update_mode(struct x86_cpu *cpu);
/* Flush the TLB: everything (global) or all but global pages. */
void x86_flush_tlb(struct x86_cpu *cpu, bool global);

/* Set up a CPU in 64-bit user mode (CPL 3, flat segments, long mode), with
 * the flat memory model over [mem_base, mem_base + mem_limit). */
int x86_cpu_init_user(struct x86_cpu *cpu, uintptr_t mem_base, uint64_t mem_limit);
void x86_cpu_destroy(struct x86_cpu *cpu);

/* Run until an exit; at most max_insns instructions (0: no limit). */
enum x86_exit x86_run(struct x86_cpu *cpu, uint64_t max_insns);

/* Ask a running CPU to return X86_EXIT_STOP at the next block boundary. */
void x86_request_stop(struct x86_cpu *cpu);

/* Code in [addr, addr+len) changed (mprotect/munmap/mmap, or a write):
 * forget decoded blocks overlapping it. */
void x86_invalidate_code(struct x86_cpu *cpu, uint64_t addr, uint64_t len);

/* Leave the run loop after the current instruction completed (rip already
 * past it): SYSCALL in user mode, HLT. Never returns. */
_Noreturn void x86_exit(struct x86_cpu *cpu, enum x86_exit why);

/* Leave the current instruction with an exception (never returns). */
_Noreturn void x86_raise(struct x86_cpu *cpu, unsigned vector, uint32_t error);
_Noreturn void x86_raise_ud(struct x86_cpu *cpu);
/* A trap (INT3, INT n, INTO): rip stays past the instruction, as the
 * exception frame of a trap holds the next instruction's address. */
_Noreturn void x86_raise_trap(struct x86_cpu *cpu, unsigned vector, uint32_t error);
_Noreturn void x86_raise_pf(struct x86_cpu *cpu, uint64_t addr, uint32_t error);

/* Full RFLAGS (evaluating the lazy flags) and writing it back. */
uint64_t x86_get_rflags(struct x86_cpu *cpu);
void x86_set_rflags(struct x86_cpu *cpu, uint64_t rflags);

/* The CPUID the emulated CPU reports (what it implements, nothing more). */
void x86_cpuid(const struct x86_cpu *cpu, uint32_t leaf, uint32_t subleaf, uint32_t out[4]);

#endif
