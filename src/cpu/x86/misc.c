/* Miscellaneous instructions: CPUID (and the CPUID model itself), RDTSC,
 * RDTSCP, SYSCALL, HLT, CLD/STD, CLI/STI, the fences, CLFLUSH, PREFETCH,
 * XLAT, and the not-advertised RDRAND/RDSEED.
 *
 * CPUID reports what xuni implements and nothing more; software picks code
 * paths from it, so every bit set here is a promise. The model is an AMD
 * CPU (family 15, model 107: QEMU's long-standing "qemu64", which Linux
 * knows well; on an unknown Intel CPU Linux assumes Meltdown and more).
 */
#include <time.h>

#include "cpu/x86/insn.h"
#include "cpu/x86/msr.h"
#include "cpu/x86/operand.h"
#include "cpu/x86/seg.h"
#include "cpu/x86/stack.h"

/* --- CPUID --- */

#define STR4(a, b, c, d)                                                                           \
    ((uint32_t)(a) | (uint32_t)(b) << 8 | (uint32_t)(c) << 16 | (uint32_t)(d) << 24)
#define BIT(n) (1u << (n))

#define CPUID_MAX_BASIC 0x7u
#define CPUID_MAX_EXT   0x80000008u
#define CPUID_ANY_SUB   0xffffffffu

/* Family 0xF, model 0x6B (extended model 6), stepping 1. */
#define CPUID_SIGNATURE 0x00060fb1u

/* Leaf 1 EDX and 0x80000001 EDX. FPU, MMX, FXSR, SSE and SSE2 are the
 * x86-64 baseline that glibc requires; they are promises the x87, MMX and
 * SSE families (and FXSAVE/FXRSTOR) must keep. */
#define F1_EDX_FPU    BIT(0)
#define F1_EDX_TSC    BIT(4)
#define F1_EDX_CX8    BIT(8)
#define F1_EDX_CMOV   BIT(15)
#define F1_EDX_CLFSH  BIT(19)
#define F1_EDX_MMX    BIT(23)
#define F1_EDX_FXSR   BIT(24)
#define F1_EDX_SSE    BIT(25)
#define F1_EDX_SSE2   BIT(26)
#define F1_ECX_SSE3   BIT(0)  /* sse_fp (ADDSUB/HADD/HSUB), sse_move (MOVDDUP, LDDQU), FISTTP */
#define F1_ECX_PCLMUL BIT(1)  /* sse_int_aes.c */
#define F1_ECX_SSSE3  BIT(9)  /* sse_int */
#define F1_ECX_CX16   BIT(13) /* CMPXCHG16B: alu family */
#define F1_ECX_SSE41  BIT(19) /* sse_int (integer part), sse_fp (FP part) */
#define F1_ECX_SSE42  BIT(20) /* sse_str (PCMPxSTRx, CRC32), sse_int (PCMPGTQ) */
#define F1_ECX_MOVBE  BIT(22)
#define F1_ECX_POPCNT BIT(23)
#define F1_ECX_AES    BIT(25) /* sse_int_aes.c */
#define LEAF1_ECX                                                                                  \
    (F1_ECX_SSE3 | F1_ECX_PCLMUL | F1_ECX_SSSE3 | F1_ECX_CX16 | F1_ECX_SSE41 | F1_ECX_SSE42 |      \
     F1_ECX_MOVBE | F1_ECX_POPCNT | F1_ECX_AES)
#define F7_EBX_ERMS    BIT(9) /* REP MOVSB/STOSB are fast: string.c's bulk paths */
#define E1_ECX_LAHF    BIT(0) /* LAHF/SAHF in 64-bit mode */
#define E1_ECX_ABM     BIT(5) /* LZCNT */
#define E1_ECX_PREFW   BIT(8) /* PREFETCH/PREFETCHW (0F 0D) */
#define E1_EDX_SYSCALL BIT(11)
#define E1_EDX_NX      BIT(20)
#define E1_EDX_MMXEXT  BIT(22) /* AMD's SSE integer ops on mm registers: mmx.c */
#define E1_EDX_RDTSCP  BIT(27)
#define E1_EDX_LM      BIT(29)
#define E7_EDX_INVTSC  BIT(8) /* the TSC follows host monotonic time */

#define LEAF1_EDX                                                                                  \
    (F1_EDX_FPU | F1_EDX_TSC | F1_EDX_CX8 | F1_EDX_CMOV | F1_EDX_CLFSH | F1_EDX_MMX |              \
     F1_EDX_FXSR | F1_EDX_SSE | F1_EDX_SSE2)
/* AMD repeats these leaf-1 bits in 0x80000001 EDX. */
#define EXT1_EDX_MIRROR                                                                            \
    (F1_EDX_FPU | F1_EDX_TSC | F1_EDX_CX8 | F1_EDX_CMOV | F1_EDX_MMX | F1_EDX_FXSR)

/* Caches (informational; glibc sizes its memcpy strategies from them):
 * L1d/L1i 32 KiB 8-way, L2 512 KiB 8-way, L3 8 MiB 16-way, 64-byte lines. */
#define L1_DESC (32u << 24 | 8u << 16 | 1u << 8 | 64u)
#define L2_DESC (512u << 16 | 0x6u << 12 | 1u << 8 | 64u)
#define L3_DESC (16u << 18 | 0x8u << 12 | 1u << 8 | 64u)

struct cpuid_leaf {
    uint32_t leaf, subleaf; /* subleaf CPUID_ANY_SUB: ECX is ignored */
    uint32_t eax, ebx, ecx, edx;
};

static const struct cpuid_leaf cpuid_table[] = {
    {0x0, CPUID_ANY_SUB, CPUID_MAX_BASIC, STR4('A', 'u', 't', 'h'), STR4('c', 'A', 'M', 'D'),
     STR4('e', 'n', 't', 'i')},
    /* EBX: CLFLUSH line 8 * 8 bytes, one logical processor, APIC ID 0. */
    {0x1, CPUID_ANY_SUB, CPUID_SIGNATURE, 8u << 8 | 1u << 16, LEAF1_ECX, LEAF1_EDX},
    {0x7, 0, 0, F7_EBX_ERMS, 0, 0},
    {0x80000000, CPUID_ANY_SUB, CPUID_MAX_EXT, STR4('A', 'u', 't', 'h'), STR4('c', 'A', 'M', 'D'),
     STR4('e', 'n', 't', 'i')},
    {0x80000001, CPUID_ANY_SUB, CPUID_SIGNATURE, 0, E1_ECX_LAHF | E1_ECX_ABM | E1_ECX_PREFW,
     EXT1_EDX_MIRROR | E1_EDX_SYSCALL | E1_EDX_NX | E1_EDX_MMXEXT | E1_EDX_RDTSCP | E1_EDX_LM},
    /* Brand string, 48 bytes NUL-padded: "xuni x86-64 emulator". */
    {0x80000002, CPUID_ANY_SUB, STR4('x', 'u', 'n', 'i'), STR4(' ', 'x', '8', '6'),
     STR4('-', '6', '4', ' '), STR4('e', 'm', 'u', 'l')},
    {0x80000003, CPUID_ANY_SUB, STR4('a', 't', 'o', 'r'), 0, 0, 0},
    {0x80000004, CPUID_ANY_SUB, 0, 0, 0, 0},
    {0x80000005, CPUID_ANY_SUB, 0, 0, L1_DESC, L1_DESC},
    {0x80000006, CPUID_ANY_SUB, 0, 0, L2_DESC, L3_DESC},
    {0x80000007, CPUID_ANY_SUB, 0, 0, 0, E7_EDX_INVTSC},
    /* 48-bit linear, 40-bit physical addresses; one core. */
    {0x80000008, CPUID_ANY_SUB, 48u << 8 | 40u, 0, 0, 0},
};

/* Leaves the table does not list (and anything past the maximum leaves)
 * read as zero, as on AMD. */
static void cpuid_table_lookup(uint32_t leaf, uint32_t subleaf, uint32_t out[4])
{
    out[0] = out[1] = out[2] = out[3] = 0;
    for (size_t i = 0; i < sizeof(cpuid_table) / sizeof(cpuid_table[0]); i++) {
        const struct cpuid_leaf *e = &cpuid_table[i];
        if (e->leaf != leaf || (e->subleaf != CPUID_ANY_SUB && e->subleaf != subleaf))
            continue;
        out[0] = e->eax;
        out[1] = e->ebx;
        out[2] = e->ecx;
        out[3] = e->edx;
        return;
    }
}

/* System mode adds what the system architecture implements: paging
 * (PSE, PAE, PGE, PAT, 1 GiB pages), MSRs, the local APIC with x2APIC and
 * TSC deadline (the embedder's), SYSENTER, MTRRs, DE; the hypervisor bit
 * and leaves 0x40000000 (signature) and 0x40000010 (TSC and bus
 * frequencies in kHz), and ARAT (the APIC timer runs in every C-state). */
#define F1_EDX_SYSTEM                                                                              \
    (BIT(2) | BIT(3) | BIT(5) | BIT(6) | BIT(9) | BIT(11) | BIT(12) | BIT(13) | BIT(16))
#define F1_ECX_SYSTEM (BIT(21) | BIT(24) | BIT(31))
#define E1_EDX_SYSTEM                                                                              \
    (BIT(2) | BIT(3) | BIT(5) | BIT(6) | BIT(9) | BIT(12) | BIT(13) | BIT(16) | BIT(26))
#define CPUID_HV_BASE 0x40000000u
#define CPUID_HV_MAX  0x40000010u

static void cpuid_system(const struct x86_cpu *cpu, uint32_t leaf, uint32_t out[4])
{
    switch (leaf) {
    case 0x1:
        out[1] = (out[1] & 0xffff) | (cpu->ncpus ? cpu->ncpus : 1u) << 16 | cpu->apic_id << 24;
        out[2] |= F1_ECX_SYSTEM;
        out[3] |= F1_EDX_SYSTEM;
        break;
    case 0x6:
        out[0] |= BIT(2); /* ARAT */
        break;
    case 0x80000001:
        out[3] |= E1_EDX_SYSTEM;
        break;
    case CPUID_HV_BASE:
        out[0] = CPUID_HV_MAX;
        out[1] = STR4('X', 'u', 'n', 'i');
        out[2] = STR4('X', 'u', 'n', 'i');
        out[3] = STR4('X', 'u', 'n', 'i');
        break;
    case CPUID_HV_MAX:
        out[0] = cpu->tsc_khz;
        out[1] = cpu->bus_khz;
        break;
    }
}

void x86_cpuid(const struct x86_cpu *cpu, uint32_t leaf, uint32_t subleaf, uint32_t out[4])
{
    cpuid_table_lookup(leaf, subleaf, out);
    if (cpu && cpu->sys) {
        cpuid_system(cpu, leaf, out);
        if (cpu->sys->cpuid)
            cpu->sys->cpuid(cpu->sys_ctx, leaf, subleaf, out);
    }
}

/* 0F A2: the outputs are 32-bit writes, so the upper halves clear. */
static void op_cpuid(struct x86_cpu *cpu, const struct x86_insn *in)
{
    (void)in;
    uint32_t r[4];
    x86_cpuid(cpu, (uint32_t)cpu->gpr[X86_RAX], (uint32_t)cpu->gpr[X86_RCX], r);
    cpu->gpr[X86_RAX] = r[0];
    cpu->gpr[X86_RBX] = r[1];
    cpu->gpr[X86_RCX] = r[2];
    cpu->gpr[X86_RDX] = r[3];
}

/* --- time stamp counter --- */

#define CR4_TSD (1u << 2)

/* The TSC counts host CLOCK_MONOTONIC nanoseconds: a constant, invariant
 * 1 GHz (what a hypervisor leaf should advertise). */
static uint64_t tsc_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void read_tsc(struct x86_cpu *cpu)
{
    if ((cpu->cr4 & CR4_TSD) && cpu->cpl > 0)
        x86_raise(cpu, X86_EXC_GP, 0);
    uint64_t t = cpu->sys ? x86_tsc_read(cpu) : tsc_now();
    cpu->gpr[X86_RAX] = (uint32_t)t;
    cpu->gpr[X86_RDX] = t >> 32;
}

/* 0F 31 */
static void op_rdtsc(struct x86_cpu *cpu, const struct x86_insn *in)
{
    (void)in;
    read_tsc(cpu);
}

/* 0F 01 /7 with mod = 3 selects by ModRM.rm: F8 SWAPGS, F9 RDTSCP; the
 * others (MONITORX, MWAITX, CLZERO, RDPRU) are not advertised. */
static void op_0f01_7_reg(struct x86_cpu *cpu, const struct x86_insn *in)
{
    switch (in->rm & 7) {
    case 1:
        read_tsc(cpu);
        cpu->gpr[X86_RCX] = (uint32_t)cpu->tsc_aux;
        return;
    case 0: /* SWAPGS: 64-bit mode, CPL 0 */
        if (cpu->code_mode != X86_MODE64)
            x86_raise_ud(cpu);
        if (cpu->cpl > 0)
            x86_raise(cpu, X86_EXC_GP, 0);
        if (cpu->user_mode)
            x86_raise_ud(cpu);
        uint64_t gs = cpu->seg[X86_GS].dbase;
        cpu->seg[X86_GS].dbase = cpu->seg[X86_GS].base = cpu->kernel_gs_base;
        cpu->kernel_gs_base = gs;
        return;
    default:
        x86_raise_ud(cpu);
    }
}

/* --- system calls and privileged state --- */

#define EFER_SCE    (1u << 0)
#define RFLAGS_RF   (1u << 16)
#define RFLAGS_IOPL (3u << 12)

/* 0F 05. As the hardware does, RCX = the next RIP and R11 = RFLAGS (the
 * Linux ABI clobbers both). In user mode the embedder plays the kernel,
 * which returns with the flags from R11, so RFLAGS itself is left alone.
 * The kernel-mode path (STAR/LSTAR/SFMASK) is the system-level work. */
static void op_syscall(struct x86_cpu *cpu, const struct x86_insn *in)
{
    (void)in;
    if (cpu->user_mode) {
        cpu->gpr[X86_RCX] = cpu->rip;
        cpu->gpr[X86_R11] = x86_get_rflags(cpu) & ~(uint64_t)RFLAGS_RF;
        x86_exit(cpu, X86_EXIT_SYSCALL);
    }
    if (!(cpu->efer & EFER_SCE) || !(cpu->cr0 & X86_CR0_PE))
        x86_raise_ud(cpu);
    x86_syscall_enter(cpu);
}

/* F4 */
static void op_hlt(struct x86_cpu *cpu, const struct x86_insn *in)
{
    (void)in;
    if (cpu->cpl > 0)
        x86_raise(cpu, X86_EXC_GP, 0);
    cpu->halted = true;
    x86_exit(cpu, X86_EXIT_HLT);
}

/* FC CLD, FD STD */
static void op_cld_std(struct x86_cpu *cpu, const struct x86_insn *in)
{
    if (in->opcode == 0xfd)
        cpu->rflags |= X86_FLAG_DF;
    else
        cpu->rflags &= ~(uint64_t)X86_FLAG_DF;
}

/* FA CLI, FB STI: #GP(0) unless CPL <= IOPL (real mode: always allowed).
 * STI that sets IF holds interrupts off until the next instruction is
 * done (the interrupt shadow: `sti; hlt` never misses a wakeup). */
static void op_cli_sti(struct x86_cpu *cpu, const struct x86_insn *in)
{
    if (cpu->cpl > (cpu->rflags & RFLAGS_IOPL) >> 12 && (cpu->cr0 & X86_CR0_PE))
        x86_raise(cpu, X86_EXC_GP, 0);
    if (in->opcode == 0xfb) {
        if (!(cpu->rflags & X86_FLAG_IF))
            cpu->int_shadow = true;
        cpu->rflags |= X86_FLAG_IF;
    } else
        cpu->rflags &= ~(uint64_t)X86_FLAG_IF;
}

/* --- memory ordering and cache control --- */

/* 0F AE /5 /6 /7 (mod = 3): the host's own fences. */
static void op_lfence(struct x86_cpu *cpu, const struct x86_insn *in)
{
    (void)cpu;
    (void)in;
    __builtin_ia32_lfence();
}

static void op_mfence(struct x86_cpu *cpu, const struct x86_insn *in)
{
    (void)cpu;
    (void)in;
    __builtin_ia32_mfence();
}

static void op_sfence(struct x86_cpu *cpu, const struct x86_insn *in)
{
    (void)cpu;
    (void)in;
    __builtin_ia32_sfence();
}

/* 0F AE /7 (memory): no cache to flush, but an unmapped address still
 * faults, as CLFLUSH is checked like a byte load. */
static void op_clflush(struct x86_cpu *cpu, const struct x86_insn *in)
{
    const volatile uint8_t *p = x86_mem_ptr(cpu, x86_ea(cpu, in), 1, 0);
    (void)*p;
}

/* 0F 18 /0-/3, 0F 0D: prefetches never fault and do nothing here. */
static void op_prefetch(struct x86_cpu *cpu, const struct x86_insn *in)
{
    (void)cpu;
    (void)in;
}

/* D7: AL = [seg:(RBX + AL)], at the address size. */
static void op_xlat(struct x86_cpu *cpu, const struct x86_insn *in)
{
    uint64_t off = cpu->gpr[X86_RBX] + (cpu->gpr[X86_RAX] & 0xff);
    if (in->asz == 2)
        off = (uint32_t)off;
    uint8_t v = x86_load8(cpu, off + x86_seg_base(cpu, in->seg));
    x86_reg_write(cpu, X86_RAX, 0, v);
}

/* Encodings of features CPUID does not advertise: RDRAND, RDSEED (and
 * RDPID, F3 0F C7 /7). */
static void op_not_advertised(struct x86_cpu *cpu, const struct x86_insn *in)
{
    (void)in;
    x86_raise_ud(cpu);
}

#define P  X86_MAP_PRIMARY
#define F  X86_MAP_0F
#define A  X86_PFX_ANY
#define NP X86_PFX_NONE
#define MA X86_MOD_ANY
#define MM X86_MOD_MEM
#define MR X86_MOD_REG

const struct x86_op_entry x86_ops_misc[] = {
    {F, 0xa2, A, -1, MA, op_cpuid, "cpuid"},
    {F, 0x31, A, -1, MA, op_rdtsc, "rdtsc"},
    {F, 0x01, A, 7, MR, op_0f01_7_reg, "rdtscp"},
    {F, 0x05, A, -1, MA, op_syscall, "syscall"},
    {P, 0xf4, A, -1, MA, op_hlt, "hlt"},
    {P, 0xfc, A, -1, MA, op_cld_std, "cld"},
    {P, 0xfd, A, -1, MA, op_cld_std, "std"},
    {P, 0xfa, A, -1, MA, op_cli_sti, "cli"},
    {P, 0xfb, A, -1, MA, op_cli_sti, "sti"},
    {F, 0xae, NP, 5, MR, op_lfence, "lfence"},
    {F, 0xae, NP, 6, MR, op_mfence, "mfence"},
    {F, 0xae, NP, 7, MR, op_sfence, "sfence"},
    {F, 0xae, NP, 7, MM, op_clflush, "clflush"},
    {F, 0x18, A, 0, MA, op_prefetch, "prefetchnta"},
    {F, 0x18, A, 1, MA, op_prefetch, "prefetcht0"},
    {F, 0x18, A, 2, MA, op_prefetch, "prefetcht1"},
    {F, 0x18, A, 3, MA, op_prefetch, "prefetcht2"},
    {F, 0x0d, A, -1, MM, op_prefetch, "prefetchw"},
    {P, 0xd7, A, -1, MA, op_xlat, "xlat"},
    {F, 0xc7, A, 6, MR, op_not_advertised, "rdrand"},
    {F, 0xc7, A, 7, MR, op_not_advertised, "rdseed"},
    {0, 0, 0, 0, 0, NULL, NULL},
};
