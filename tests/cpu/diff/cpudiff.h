/* cpudiff: the differential CPU tester (xuni's emulator against the host CPU).
 *
 * How the pieces fit:
 *   gen.c       the generator: a sample is 1 (or, for the sequence
 *               families "seq" and "fpseq", up to CD_MAX_UNITS)
 *               instructions built from per-family templates, with the
 *               initial registers, flags, x87/MMX/SSE state and data-area
 *               contents they need; it tracks which flags and x87
 *               condition codes the SDM leaves undefined so the comparison
 *               can mask them;
 *   enc.c       a small x86-64 encoder and the operand helpers templates
 *               use (registers, memory operands pointing into the data
 *               area, requirements on register and memory values);
 *   fam_*.c     the template tables, one file per instruction family;
 *   fp.c        x87/MMX/SSE state and operand values (structured floats,
 *               lanes, MXCSR, FCW) and the generic SSE template generator;
 *   native.c    runs a batch of samples on the host CPU in a forked child;
 *   emu.c       runs a sample in the emulator (struct x86_cpu);
 *   report.c    compares two outcomes and prints reproducible reports;
 *   main.c      the command line, the batch loop and TAP output.
 *
 * Both runs share one fixed layout (below), mapped at the same host
 * address in the tester and in the child, so code and data addresses are
 * valid in both: the emulator runs with mem_base 0, so guest linear
 * addresses are host addresses. Its mem_limit is the end of the window
 * (not 1 << 47), and everything below the window is reserved PROT_NONE,
 * so whatever a sample computes, the emulator -- which runs inside the
 * tester -- can only touch the window. 0x10000000 is application memory
 * for ASan too.
 *
 * The tester checks itself (--self-test): two native runs of the same
 * samples must agree, and a result with one field changed must be caught.
 */
#ifndef XUNI_TESTS_CPUDIFF_H
#define XUNI_TESTS_CPUDIFF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "cpu/x86/cpu.h"

/* The layout. [CD_RESERVE_LO, CD_WINDOW_END) is PROT_NONE except for the
 * code page and the data pages, each surrounded by unmapped guard space. */
#define CD_RESERVE_LO 0x10000ULL
#define CD_WINDOW     0x10000000ULL
#define CD_CODE       (CD_WINDOW + 0x10000)
#define CD_CODE_SIZE  0x1000
#define CD_ENTRY      (CD_CODE + 0x800)  /* samples start here (fetch-fault ones: page end) */
#define CD_CODE_MAX   0x300              /* a sample's code fits [ENTRY, ENTRY + this) */
#define CD_PAD_HI     (CD_ENTRY + 0x400) /* int3 pads: [CODE, ENTRY) and [PAD_HI, end) */
#define CD_DATA       (CD_WINDOW + 0x40000)
#define CD_DATA_SIZE  0x2000
#define CD_DATA_END   (CD_DATA + CD_DATA_SIZE)
#define CD_STACK      (CD_DATA + 0x1000) /* usual initial RSP */
#define CD_WINDOW_END (CD_WINDOW + 0x80000)

#define CD_FLAGS_ARITH X86_FLAGS_ARITH
#define CD_FLAG_NT     (1u << 14)
/* RFLAGS bits compared (RF, TF, VM, VIF, VIP, IOPL excluded). */
#define CD_FLAGS_CMP                                                                               \
    (CD_FLAGS_ARITH | X86_FLAG_DF | X86_FLAG_IF | CD_FLAG_NT | X86_FLAG_AC | X86_FLAG_ID | 2u)

/* The x87, MMX and SSE state in the FXSAVE (64-bit) layout: the native
 * side loads it with FXRSTOR and reads it back from the signal frame (the
 * kernel saves FXSAVE/XSAVE format); emu.c converts it to and from
 * struct x86_fpu. st[i] is ST(i) (physical register (TOP + i) & 7) in its
 * first 10 bytes; ftw is the abridged tag word (bit i: physical R(i)
 * valid); TOP is fsw bits 11-13. */
struct cd_fxsave {
    uint16_t fcw, fsw;
    uint8_t ftw, rsv1;
    uint16_t fop;
    uint64_t fip, fdp;
    uint32_t mxcsr, mxcsr_mask;
    uint8_t st[8][16];
    uint8_t xmm[16][16];
    uint8_t rsv[96];
};

#define CD_FSW_TOP(fsw) (((fsw) >> 11) & 7u)
#define CD_FSW_C0       (1u << 8)
#define CD_FSW_C1       (1u << 9)
#define CD_FSW_C2       (1u << 10)
#define CD_FSW_C3       (1u << 14)
#define CD_FSW_ES       (1u << 7)
#define CD_FSW_B        (1u << 15)

/* Register state, as both runs load it and report it. The native
 * trampoline reads it by offset (native.c asserts the layout). */
struct cd_state {
    uint64_t gpr[16];
    uint64_t rip;
    uint64_t rflags;
    struct cd_fxsave fx __attribute__((aligned(16)));
};

/* A fast deterministic generator (xoshiro256**). */
struct cd_rng {
    uint64_t s[4];
};
void cd_rng_seed(struct cd_rng *r, uint64_t a, uint64_t b, uint64_t c);
uint64_t cd_rand(struct cd_rng *r);
static inline unsigned cd_below(struct cd_rng *r, unsigned n)
{
    return (unsigned)(((cd_rand(r) >> 32) * n) >> 32);
}
static inline bool cd_chance(struct cd_rng *r, unsigned num, unsigned den)
{
    return cd_below(r, den) < num;
}
/* A value biased towards edge cases (0, 1, -1, sign bits, ...). */
uint64_t cd_value(struct cd_rng *r);

/* Features of the emulated CPU (from x86_cpuid) a template may need; a
 * template runs only if both the emulated and the host CPU have them. */
enum cd_feature {
    CD_FEAT_NONE,
    CD_FEAT_POPCNT,
    CD_FEAT_MOVBE,
    CD_FEAT_LZCNT,
    CD_FEAT_BMI1,
    CD_FEAT_CX16,
    CD_FEAT_LAHF,
    CD_FEAT_CLFSH,
    CD_FEAT_PRFCHW,
    CD_FEAT_SSE3,
    CD_FEAT_SSSE3,
    CD_FEAT_SSE41,
    CD_FEAT_SSE42,
    CD_FEAT_AES,
    CD_FEAT_PCLMUL,
    CD_FEAT_SSE4A,
    CD_NFEATURES,
};
extern bool cd_feat_emu[CD_NFEATURES], cd_feat_host[CD_NFEATURES];
void cd_features_init(void); /* host side; emu.c fills cd_feat_emu */
bool cd_feature_ok(enum cd_feature f);
bool cd_feature_claimed(enum cd_feature f); /* by the emulator's CPUID */
/* --all-features: run templates whatever the emulator's CPUID says, if
 * the emulator implements the instruction (it may not claim a feature it
 * implements, or only in part). */
extern bool cd_ignore_emu_cpuid;

/* Undefined-state bits beyond RFLAGS in the u_in/u_out/undef/defines/reads
 * sets: the x87 condition codes (FSW C0-C3) an instruction leaves
 * undefined, defines or reads (FNSTSW and the state stores read them). */
#define CD_U_C0 (1u << 24)
#define CD_U_C1 (1u << 25)
#define CD_U_C2 (1u << 26)
#define CD_U_C3 (1u << 27)
#define CD_U_C  (CD_U_C0 | CD_U_C1 | CD_U_C2 | CD_U_C3)

/* ---- samples ---------------------------------------------------------- */

#define CD_MAX_UNITS   8
#define CD_MAX_PATCH   12
#define CD_PATCH_BYTES 512

struct cd_tmpl;

/* One instruction under test within a sample, with the flag bookkeeping:
 * u_in are the flags undefined before it (left so by earlier units),
 * u_out after it. */
struct cd_unit {
    const struct cd_tmpl *tmpl;
    uint16_t start; /* offset from CD_ENTRY of the unit's setup code */
    uint16_t insn;  /* offset of the instruction itself */
    uint8_t len;
    uint32_t u_in, u_out;
    uint64_t pad; /* an int3 pad it may branch to, or 0 */
    /* Data bytes [fz_lo, fz_hi) (offsets) whose contents are not compared
     * if the instruction faults: stack space below RSP that ENTER may have
     * written before its fault (AMD CPUs do). */
    uint16_t fz_lo, fz_hi;
    /* If it faults, the x87 TOP and tag word are not compared either
     * (MASKMOVQ: AMD switches to the MMX state before its store faults). */
    bool fz_fpu;
    /* An FPU state image the instruction stores at data offset img_off
     * (enum cd_img): its reserved fields, instruction/data pointers and
     * empty registers are not compared. */
    uint8_t img;
    uint16_t img_off;
};

enum cd_img {
    CD_IMG_NONE,
    CD_IMG_FXSAVE, /* 512 bytes */
    CD_IMG_ENV16,  /* FNSTENV with 66: 14 bytes */
    CD_IMG_ENV32,  /* 28 bytes */
    CD_IMG_SAVE16, /* FNSAVE with 66: 94 bytes */
    CD_IMG_SAVE32, /* 108 bytes */
};

struct cd_patch {
    uint16_t off; /* from CD_DATA */
    uint16_t len;
    uint16_t at; /* in patch_bytes */
};

struct cd_sample {
    uint64_t seed;  /* the run's seed */
    uint32_t index; /* sample number within its family */
    uint8_t family;
    uint8_t nunits;
    uint8_t npatch;
    uint16_t code_len;
    uint64_t data_seed;
    uint32_t u_end;       /* flags undefined at the final int3 */
    struct cd_state init; /* init.rip: where the code is placed and starts */
    struct cd_unit unit[CD_MAX_UNITS];
    struct cd_patch patch[CD_MAX_PATCH];
    uint8_t patch_bytes[CD_PATCH_BYTES];
    uint8_t code[CD_CODE_MAX];
};

/* The data area's initial contents: random bytes from data_seed, then the
 * patches (memory values templates asked for). */
void cd_fill_data(uint8_t *dst, const struct cd_sample *s);

/* ---- outcomes --------------------------------------------------------- */

enum cd_end {
    CD_END_EXC,     /* an exception (the native signal's trap number) */
    CD_END_SYSCALL, /* emulator only */
    CD_END_HLT,
    CD_END_BUDGET, /* the emulator did not stop */
    CD_END_CRASH,  /* the emulator crashed (host signal in its own code) */
    CD_END_NOTRUN, /* the native child died or hung before this sample */
};

struct cd_outcome {
    struct cd_state st;
    uint8_t end;    /* enum cd_end */
    uint8_t vector; /* CD_END_EXC: the exception; CD_END_CRASH: the host signal */
    uint8_t pf_write;
    uint32_t error;
    uint64_t pf_addr;
    uint8_t data[CD_DATA_SIZE];
};

/* ---- the native side (native.c) --------------------------------------- */

/* Map the window; 0 or negative errno. */
int cd_layout_init(void);
/* Run up to CD_BATCH_MAX samples natively: start forks a child that runs
 * them (the caller may run the emulator meanwhile), finish waits for it
 * and fills out[i]; a sample the child died or hung on ends CD_END_NOTRUN
 * and the samples after it run in a new child. */
#define CD_BATCH_MAX 512
int cd_native_start(const struct cd_sample *s, unsigned n);
int cd_native_finish(struct cd_outcome *out);
/* Place a sample's code at CD_ENTRY (the page is otherwise int3). */
void cd_place_code(const struct cd_sample *s);
void cd_clear_code(const struct cd_sample *s);

/* ---- the emulator side (emu.c) ---------------------------------------- */

struct cd_family;

int cd_emu_init(void); /* 0, or -ENOSYS when the emulator is not linked */
/* Whether x86_ops_<name> is linked (false when the core is not). */
bool cd_emu_table_built(const char *name);
/* What the emulator makes of these bytes: 1 an instruction it implements
 * (or no decoder linked), 0 a valid one no family registers, -1 an
 * encoding its decoder rejects. */
int cd_emu_implements(const uint8_t *code, unsigned len);
/* The family's tables: 2 all linked (or none named), 1 some, 0 none. */
int cd_family_built(const struct cd_family *f);
void cd_emu_run(const struct cd_sample *s, struct cd_outcome *out);
/* Decode a sample's instructions and record the op entries they reach
 * (coverage); prints entries never reached. */
void cd_emu_cover(const struct cd_sample *s);
void cd_emu_cover_report(void);

/* ---- templates and families (gen.c, enc.c, fam_*.c) ------------------- */

struct cd_gen;

/* Template flags. */
#define CD_T_NOSEQ (1u << 0) /* not in the sequence families */
#define CD_T_LOCK  (1u << 1) /* LOCK allowed on the memory form */

/* One encoding template. op is the opcode (map << 8 | byte: map 1 = 0F,
 * 2 = 0F 38, 3 = 0F 3A), ext the ModRM.reg or variant, sizes the allowed
 * operand sizes (bit n: 8 << n bits; SSE templates pack other things into
 * ext, sizes and form, see cd_gen_sse in gen.h). undef, defines and reads
 * are the arithmetic flags (and CD_U_C* condition codes) the instruction
 * leaves undefined, defines and reads; gen may refine undef/defines per
 * instance (e.g. by shift count). */
struct cd_tmpl {
    const char *name;
    void (*gen)(struct cd_gen *g, const struct cd_tmpl *t);
    uint16_t op;
    uint8_t ext;
    uint8_t sizes;
    uint8_t form;
    uint8_t feature; /* enum cd_feature */
    uint16_t tflags;
    uint32_t undef, defines, reads;
};

struct cd_family {
    const char *name;
    const struct cd_tmpl *tmpl; /* ends with a row whose gen is NULL */
    unsigned count;             /* samples in the default test set */
    bool seq;                   /* a sequence family: draws from families src_lo.. */
    uint8_t src_lo, src_n;
    bool fp; /* random structured x87/SSE state; reports show it */
    /* The emulator tables (x86_ops_<name>) the family tests, comma
     * separated; NULL: the integer core. A family none of whose tables is
     * linked is skipped; while only some are, instructions no linked table
     * registers are left out of its samples. */
    const char *emu;
};

extern const struct cd_tmpl cd_tmpl_alu[], cd_tmpl_shift[], cd_tmpl_muldiv[], cd_tmpl_bit[],
    cd_tmpl_move[], cd_tmpl_stack[], cd_tmpl_branch[], cd_tmpl_string[], cd_tmpl_misc[],
    cd_tmpl_invalid[], cd_tmpl_random[], cd_tmpl_sse_fp[], cd_tmpl_sse_int[], cd_tmpl_sse_move[],
    cd_tmpl_sse_str[], cd_tmpl_x87[], cd_tmpl_fprandom[];
extern const struct cd_family cd_families[];
extern const unsigned cd_nfamilies;

/* Build sample `index` of family f for seed; deterministic. */
void cd_build(unsigned family, uint64_t seed, uint32_t index, struct cd_sample *s);

/* ---- reporting (report.c) --------------------------------------------- */

/* Compare; returns true if they agree, else a one-line reason in why. */
bool cd_compare(const struct cd_sample *s, const struct cd_outcome *nat,
                const struct cd_outcome *emu, char *why, size_t whylen);
void cd_report(FILE *f, const struct cd_sample *s, const struct cd_outcome *nat,
               const struct cd_outcome *emu);
/* A short key for grouping mismatches: mnemonic, template, what differs. */
void cd_signature(const struct cd_sample *s, const struct cd_outcome *nat,
                  const struct cd_outcome *emu, char *buf, size_t len);
void cd_print_sample(FILE *f, const struct cd_sample *s);
void cd_print_outcome(FILE *f, const char *who, const struct cd_outcome *o);
/* The flags compared for this outcome (undefined ones masked). */
uint64_t cd_flag_mask(const struct cd_sample *s, const struct cd_outcome *nat);
/* The FSW bits compared (undefined condition codes masked). */
uint16_t cd_fsw_mask(const struct cd_sample *s, const struct cd_outcome *nat);

#endif
