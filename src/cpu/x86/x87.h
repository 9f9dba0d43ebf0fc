/* Private to the x87 family (x87.c, x87_host.c, x87_env.c, x87_fast.c): the
 * state helpers its files share, and the image formats (FNSTENV, FNSAVE,
 * FXSAVE), which embedders may also use to build signal frames.
 *
 * How the family computes (see x87_host.c for the details): every x87
 * instruction that computes something runs as the same instruction on the
 * host CPU, with the guest's whole x87 state loaded into the host FPU
 * (FRSTOR) and stored back afterwards (FNSAVE). That is bit-exact with the
 * host by construction: precision and rounding control, stack faults,
 * unmasked exceptions (no result written, ES set), pseudo-denormals and
 * unsupported formats, C0-C3, the transcendentals. x87_fast.c handles the
 * frequent simple cases (loads, stores, FXCH, the basic arithmetic with
 * everything masked) without the full state round trip and falls back to
 * the exact path whenever something unusual happens. The control
 * instructions (environment, save/restore, control and status words,
 * FXSAVE/FXRSTOR) are done in software from the formats this host
 * produces (x87.c, x87_env.c).
 *
 * The pointer registers. The hardware keeps a 48-bit FIP and FDP (FXSAVE64
 * stores them sign-extended from bit 47) and the 16-bit selectors FCS and
 * FDS beside them. struct x86_fpu has no selector fields, so this family
 * keeps FCS in bits 48-63 of fpu.fip and FDS in bits 48-63 of fpu.fdp
 * (x87_ptr_*() below). fpu.fop holds the 11-bit opcode only.
 */
#ifndef XUNI_CPU_X86_X87_H
#define XUNI_CPU_X86_X87_H

#include <stdbool.h>
#include <stdint.h>

#include "cpu/x86/insn.h"
#include "cpu/x86/mem.h"

/* FSW bits. */
#define X87_FSW_IE  0x0001u
#define X87_FSW_DE  0x0002u
#define X87_FSW_ZE  0x0004u
#define X87_FSW_OE  0x0008u
#define X87_FSW_UE  0x0010u
#define X87_FSW_PE  0x0020u
#define X87_FSW_SF  0x0040u
#define X87_FSW_ES  0x0080u
#define X87_FSW_C0  0x0100u
#define X87_FSW_C1  0x0200u
#define X87_FSW_C2  0x0400u
#define X87_FSW_TOP 0x3800u
#define X87_FSW_C3  0x4000u
#define X87_FSW_B   0x8000u
#define X87_EXC     0x003fu /* the six exception flags (and FCW's mask bits) */
#define X87_CC      (X87_FSW_C0 | X87_FSW_C1 | X87_FSW_C2 | X87_FSW_C3)

/* FCW as the hardware keeps it: bit 6 reads as one, bits 7 and 13-15 as
 * zero, whatever FLDCW, FLDENV or FXRSTOR loaded. */
#define X87_FCW_KEEP 0x1f3fu
#define X87_FCW_ONE  0x0040u
#define X87_FCW_INIT 0x037fu

/* Full tag values (FNSTENV/FNSAVE). */
enum x87_tag { X87_TAG_VALID, X87_TAG_ZERO, X87_TAG_SPECIAL, X87_TAG_EMPTY };

/* Physical register of ST(i). */
static inline unsigned x87_phys(const struct x86_cpu *cpu, unsigned i)
{
    return (cpu->fpu.top + i) & 7;
}

static inline bool x87_st_empty(const struct x86_cpu *cpu, unsigned i)
{
    return !((cpu->fpu.ftw >> x87_phys(cpu, i)) & 1);
}

static inline x86_fpreg *x87_st(struct x86_cpu *cpu, unsigned i)
{
    return &cpu->fpu.st[x87_phys(cpu, i)];
}

/* The status word with TOP in it, and setting it from one. */
static inline uint16_t x87_fsw(const struct x86_cpu *cpu)
{
    return (uint16_t)((cpu->fpu.fsw & ~X87_FSW_TOP) | (cpu->fpu.top & 7u) << 11);
}

static inline void x87_set_fsw(struct x86_cpu *cpu, unsigned fsw)
{
    cpu->fpu.fsw = (uint16_t)(fsw & ~X87_FSW_TOP);
    cpu->fpu.top = (uint8_t)((fsw >> 11) & 7);
}

static inline void x87_set_fcw(struct x86_cpu *cpu, unsigned fcw)
{
    cpu->fpu.fcw = (uint16_t)((fcw & X87_FCW_KEEP) | X87_FCW_ONE);
}

/* ES and B follow the exception flags and masks: the hardware recomputes
 * them whenever FCW or FSW is loaded (FLDCW, FLDENV, FRSTOR, FXRSTOR). */
static inline void x87_update_es(struct x86_cpu *cpu)
{
    if (cpu->fpu.fsw & ~cpu->fpu.fcw & X87_EXC)
        cpu->fpu.fsw |= X87_FSW_ES | X87_FSW_B;
    else
        cpu->fpu.fsw &= (uint16_t) ~(X87_FSW_ES | X87_FSW_B);
}

/* A waiting x87 instruction (all but FNINIT FNCLEX FNSTCW FNSTSW FNSTENV
 * FNSAVE FXSAVE FXRSTOR and the 8087 leftovers) first delivers a pending
 * unmasked exception: #MF, a fault at this instruction. A state with an
 * unmasked flag but no ES (only an embedder can make one) counts as
 * pending, as the host would see it so after FRSTOR. */
void x87_raise_mf(struct x86_cpu *cpu);

static inline void x87_wait(struct x86_cpu *cpu)
{
    if (__builtin_expect((cpu->fpu.fsw & X87_FSW_ES) || (cpu->fpu.fsw & ~cpu->fpu.fcw & X87_EXC),
                         0))
        x87_raise_mf(cpu);
}

/* The pointer registers: selector in bits 48-63, 48-bit offset below. */
#define X87_PTR_OFF 0x0000ffffffffffffULL

static inline uint64_t x87_ptr_pack(unsigned sel, uint64_t off)
{
    return (uint64_t)(sel & 0xffff) << 48 | (off & X87_PTR_OFF);
}

/* The offset as FXSAVE64 stores it: sign-extended from bit 47. */
static inline uint64_t x87_ptr_off(uint64_t p)
{
    return (uint64_t)((int64_t)(p << 16) >> 16);
}

static inline uint16_t x87_ptr_sel(uint64_t p)
{
    return (uint16_t)(p >> 48);
}

/* The class of a register's contents (the tag of a non-empty register). */
static inline enum x87_tag x87_classify(const x86_fpreg *r)
{
    unsigned exp = r->raw.sign_exp & 0x7fff;
    if (exp == 0x7fff)
        return X87_TAG_SPECIAL;
    if (exp == 0)
        return r->raw.mant ? X87_TAG_SPECIAL : X87_TAG_ZERO;
    return (r->raw.mant >> 63) ? X87_TAG_VALID : X87_TAG_SPECIAL; /* unnormal */
}

/* The full tag word from the abridged one and the registers. */
uint16_t x87_full_tags(const struct x86_cpu *cpu);

/* Abridged tags from a full tag word: only "empty" counts, the hardware
 * derives the rest from the registers. */
static inline uint8_t x87_abridge(unsigned ftw)
{
    uint8_t t = 0;
    for (unsigned i = 0; i < 8; i++)
        if (((ftw >> (2 * i)) & 3) != X87_TAG_EMPTY)
            t |= (uint8_t)(1u << i);
    return t;
}

/* FOP of the running instruction: the low three bits of the opcode and the
 * ModRM byte. */
unsigned x87_fop_of(struct x86_cpu *cpu, const struct x86_insn *in);

/* Record the running instruction in FIP/FCS/FOP, as every non-control x87
 * instruction does (after it completed or left its exception pending). */
static inline void x87_note_insn(struct x86_cpu *cpu, const struct x86_insn *in, unsigned fop)
{
    cpu->fpu.fop = (uint16_t)(fop & 0x7ff);
    cpu->fpu.fip = x87_ptr_pack(cpu->seg[X86_CS].selector, cpu->rip - in->len);
}

/* And its memory operand in FDP/FDS: the offset (no segment base), as the
 * address size truncates it, and the selector of its segment. */
static inline void x87_note_data(struct x86_cpu *cpu, const struct x86_insn *in, uint64_t lin)
{
    cpu->fpu.fdp = x87_ptr_pack(cpu->seg[in->seg].selector, lin - cpu->seg[in->seg].base);
}

/* Check that an access of n bytes at lin can be made, before anything
 * changes, faulting where this host does. An ordinary operand faults at
 * its first byte, then (crossing a page) at the first byte of the next
 * page. The environment and FNSAVE images are checked as their first word
 * (16-bit layout) or dword (32-bit layout) that way, then at their last
 * byte; the FXSAVE area at its last byte, then its first. A write is
 * probed as a write (an atomic OR of zero), so the fault says so, and no
 * store is ever half done. Returns the host pointer. */
enum x87_probe_kind { X87_PROBE_OPERAND, X87_PROBE_IMAGE16, X87_PROBE_IMAGE32, X87_PROBE_FXAREA };

static inline void x87_touch(uint8_t *p, bool write)
{
    if (write)
        __atomic_fetch_or(p, 0, __ATOMIC_RELAXED);
    else
        (void)*(volatile uint8_t *)p;
}

static inline void x87_touch_split(uint8_t *p, uint64_t lin, unsigned n, bool write)
{
    uint64_t last = lin + n - 1;
    x87_touch(p, write);
    if ((lin ^ last) >> 12)
        x87_touch(p + ((last & ~0xfffULL) - lin), write);
}

static inline uint8_t *x87_probe(struct x86_cpu *cpu, uint64_t lin, unsigned n, bool write,
                                 enum x87_probe_kind kind)
{
    uint8_t *p = x86_mem_ptr(cpu, lin, n, write);
    switch (kind) {
    case X87_PROBE_OPERAND:
        x87_touch_split(p, lin, n, write);
        break;
    case X87_PROBE_IMAGE16:
    case X87_PROBE_IMAGE32:
        x87_touch_split(p, lin, kind == X87_PROBE_IMAGE16 ? 2 : 4, write);
        x87_touch(p + n - 1, write);
        break;
    case X87_PROBE_FXAREA:
        x87_touch(p + n - 1, write);
        x87_touch(p, write);
        break;
    }
    return p;
}

/* FNINIT. */
void x87_init_state(struct x86_cpu *cpu);

/* The exact path (x87_host.c): run x87 instruction (D8 + opcode low bits,
 * modrm) on the host with the guest's state. A memory form operates on mem
 * (16 bytes: the operand as loaded, or where a store lands). With eflags,
 * the guest's arithmetic flags go in and come out (FCOMI, FCMOVcc). Updates
 * the guest's FSW, tags and registers, not the pointer registers. */
void x87_host_exec(struct x86_cpu *cpu, unsigned opcode, unsigned modrm, void *mem, bool eflags);

/* The generic op functions of the exact path (x87_host.c). */
x86_op_fn x87_op_mem, x87_op_reg, x87_op_reg_eflags;

/* Memory forms: operand size and direction, by opcode low bits and reg. */
enum { X87_M_NONE, X87_M_LOAD, X87_M_STORE };
struct x87_mem_form {
    uint8_t size, kind;
};
extern const struct x87_mem_form x87_mem_forms[8][8];

/* The fast paths (x87_fast.c): op functions for the frequent forms, which
 * fall back to the exact path themselves. */
x86_op_fn x87_fast_fld_st, x87_fast_fxch, x87_fast_fst_st, x87_fast_fld_m, x87_fast_fst_m,
    x87_fast_arith_st, x87_fast_arith_m, x87_fast_fild, x87_fast_fist, x87_fast_const,
    x87_fast_fchs_fabs, x87_fast_fcomi;

/* Images (x87_env.c). An FNSTENV/FLDENV environment: 28 bytes (32-bit
 * layout, also in 64-bit mode) or 14 (a 16-bit operand size). FNSAVE and
 * FRSTOR add ST(0)..ST(7), 10 bytes each. */
#define X87_ENV32_SIZE  28u
#define X87_ENV16_SIZE  14u
#define X87_FXSAVE_SIZE 512u
#define X87_FXSAVE_USED 416u /* FXSAVE writes bytes 0..415 only */

void x87_env_store(const struct x86_cpu *cpu, uint8_t *p, bool w16);
void x87_env_load(struct x86_cpu *cpu, const uint8_t *p, bool w16);
void x87_save_store(const struct x86_cpu *cpu, uint8_t *p, bool w16); /* without the FNINIT */
void x87_save_load(struct x86_cpu *cpu, const uint8_t *p, bool w16);

/* FXSAVE/FXRSTOR images (bytes 0..415): w64 is the REX.W layout (64-bit
 * FIP/FDP, no selectors). x87_fxrstor_image returns false (loading
 * nothing) if the MXCSR in the image sets bits outside MXCSR_MASK. */
void x87_fxsave_image(const struct x86_cpu *cpu, uint8_t *img, bool w64);
bool x87_fxrstor_image(struct x86_cpu *cpu, const uint8_t *img, bool w64);

/* MXCSR_MASK: what this host's FXSAVE reports. */
uint32_t x87_mxcsr_mask(void);

#endif
