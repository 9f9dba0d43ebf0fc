/* Shifts and rotates: ROL ROR RCL RCR SHL/SAL SHR SAR (C0/C1 by Ib, D0/D1
 * by 1, D2/D3 by CL), SHLD/SHRD.
 *
 * The count is masked to 5 bits (6 with a 64-bit operand); a masked count
 * of 0 changes no flag, but the operand is still written (a 32-bit register
 * has its upper half zeroed, a memory operand is stored back and faults on
 * a read-only page, as the hardware does). Shifts set the flags lazily
 * (flags.h SHL/SHR/SAR); rotates change only CF and OF, so they
 * materialize the others. Where the SDM leaves a result or flag undefined
 * these follow the AMD host (checked by tests/unit/test_x86_shift.c): OF
 * for counts above 1 keeps the count-1 formula, AF = 1 after shifts, CF = 0
 * once a SHL/SHR count passes the operand size, and 16-bit SHLD/SHRD by
 * 17-31 shift through a second copy of the source (flags.h has the flag
 * formulas).
 */
#include "cpu/x86/flags.h"
#include "cpu/x86/operand.h"

#define SHIFT_INLINE static inline __attribute__((always_inline))

/* ModRM.reg of the C0-D3 group; /6 is SAL, the same as SHL. */
enum shift_op { SH_ROL, SH_ROR, SH_RCL, SH_RCR, SH_SHL, SH_SHR, SH_SAL, SH_SAR };

SHIFT_INLINE uint64_t shl_safe(uint64_t v, unsigned n)
{
    return n >= 64 ? 0 : v << n;
}

SHIFT_INLINE uint64_t shr_safe(uint64_t v, unsigned n)
{
    return n >= 64 ? 0 : v >> n;
}

/* The r/m operand of a read-modify-write: load it (ea gets its address)... */
static inline uint64_t rmw_load(struct x86_cpu *cpu, const struct x86_insn *in, unsigned osz,
                                bool mem, uint64_t *ea)
{
    if (!mem)
        return x86_reg_read(cpu, in->rm, osz);
    *ea = x86_ea(cpu, in);
    return x86_load(cpu, *ea, osz);
}

/* ...and store the result back. */
static inline void rmw_store(struct x86_cpu *cpu, const struct x86_insn *in, unsigned osz, bool mem,
                             uint64_t ea, uint64_t v)
{
    if (mem)
        x86_store(cpu, ea, osz, v);
    else
        x86_reg_write(cpu, in->rm, osz, v);
}

SHIFT_INLINE unsigned shift_count(unsigned count, unsigned osz)
{
    return count & (osz == 3 ? 63 : 31);
}

SHIFT_INLINE uint64_t bit_at(uint64_t v, unsigned n)
{
    return (v >> n) & 1;
}

/* CF and OF of a rotate; the other flags stay. */
static void rotate_flags(struct x86_cpu *cpu, uint64_t cf, uint64_t of)
{
    x86_flags_materialize(cpu);
    cpu->rflags =
        (cpu->rflags & ~(uint64_t)(X86_FLAG_CF | X86_FLAG_OF)) | cf | (of ? X86_FLAG_OF : 0);
}

/* Rotate a (w bits) by the masked count c > 0: the result; *cf and *of. */
SHIFT_INLINE uint64_t rotate(const struct x86_cpu *cpu, enum shift_op op, unsigned osz, uint64_t a,
                             unsigned c, uint64_t *cf, uint64_t *of)
{
    unsigned w = 8u << osz, s;
    uint64_t m = x86_mask(osz), r, cin;

    switch (op) {
    case SH_ROL:
        s = c & (w - 1);
        r = (shl_safe(a, s) | shr_safe(a, w - s)) & m;
        *cf = r & 1;
        *of = bit_at(r, w - 1) ^ *cf;
        return r;
    case SH_ROR:
        s = c & (w - 1);
        r = (shr_safe(a, s) | shl_safe(a, w - s)) & m;
        *cf = bit_at(r, w - 1);
        *of = *cf ^ bit_at(r, w - 2);
        return r;
    default:
        /* RCL/RCR rotate w + 1 bits, CF included. */
        s = osz == 0 ? c % 9 : osz == 1 ? c % 17 : c;
        cin = x86_flag_cf(cpu);
        if (s == 0) {
            r = a;
            *cf = cin;
        } else if (op == SH_RCL) {
            r = (shl_safe(a, s) | cin << (s - 1) | shr_safe(a, w + 1 - s)) & m;
            *cf = bit_at(a, w - s);
        } else {
            r = (shr_safe(a, s) | cin << (w - s) | shl_safe(a, w + 1 - s)) & m;
            *cf = bit_at(a, s - 1);
        }
        if (op == SH_RCL)
            *of = bit_at(r, w - 1) ^ *cf;
        else
            *of = bit_at(r, w - 1) ^ bit_at(r, w - 2);
        return r;
    }
}

SHIFT_INLINE void shift_apply(struct x86_cpu *cpu, const struct x86_insn *in, enum shift_op op,
                              unsigned count)
{
    unsigned osz = in->osz, c = shift_count(count, osz);
    uint64_t m = x86_mask(osz), ea = 0, a, r, cf = 0, of = 0;
    bool mem = in->flags & X86_I_MEM;
    uint32_t kind;

    a = rmw_load(cpu, in, osz, mem, &ea);
    if (c == 0) {
        /* Still a read-modify-write: the operand is written back (a
         * read-only page faults, as on the host). */
        rmw_store(cpu, in, osz, mem, ea, a);
        return;
    }
    switch (op) {
    case SH_SHL:
    case SH_SAL:
        r = (a << c) & m;
        kind = X86_CC_KIND_SHL;
        break;
    case SH_SHR:
        r = a >> c;
        kind = X86_CC_KIND_SHR;
        break;
    case SH_SAR:
        r = (uint64_t)(x86_sext(a, osz) >> c) & m;
        kind = X86_CC_KIND_SAR;
        break;
    default:
        r = rotate(cpu, op, osz, a, c, &cf, &of);
        kind = X86_CC_KIND_FLAGS;
        break;
    }
    rmw_store(cpu, in, osz, mem, ea, r);
    if (kind == X86_CC_KIND_FLAGS)
        rotate_flags(cpu, cf, of);
    else
        x86_set_cc(cpu, X86_CC(kind, osz), r, a, c);
}

#define SHIFT_FORMS(name, OP)                                                                      \
    static void shift_##name##_ib(struct x86_cpu *cpu, const struct x86_insn *in)                  \
    {                                                                                              \
        shift_apply(cpu, in, OP, (unsigned)in->imm);                                               \
    }                                                                                              \
    static void shift_##name##_1(struct x86_cpu *cpu, const struct x86_insn *in)                   \
    {                                                                                              \
        shift_apply(cpu, in, OP, 1);                                                               \
    }                                                                                              \
    static void shift_##name##_cl(struct x86_cpu *cpu, const struct x86_insn *in)                  \
    {                                                                                              \
        shift_apply(cpu, in, OP, (unsigned)cpu->gpr[X86_RCX]);                                     \
    }

SHIFT_FORMS(rol, SH_ROL)
SHIFT_FORMS(ror, SH_ROR)
SHIFT_FORMS(rcl, SH_RCL)
SHIFT_FORMS(rcr, SH_RCR)
SHIFT_FORMS(shl, SH_SHL)
SHIFT_FORMS(shr, SH_SHR)
SHIFT_FORMS(sar, SH_SAR)

/* SHLD/SHRD r/m, reg, count. */
SHIFT_INLINE void shift_double(struct x86_cpu *cpu, const struct x86_insn *in, bool left,
                               unsigned count)
{
    unsigned osz = in->osz, w = 8u << osz, c = shift_count(count, osz);
    uint64_t m = x86_mask(osz), ea = 0, a, r;
    uint64_t b = x86_reg_read(cpu, in->reg, osz);
    bool mem = in->flags & X86_I_MEM;

    a = rmw_load(cpu, in, osz, mem, &ea);
    if (c == 0) {
        /* Still a read-modify-write: the operand is written back (a
         * read-only page faults, as on the host). */
        rmw_store(cpu, in, osz, mem, ea, a);
        return;
    }
    if (c <= w) {
        if (left)
            r = (a << c | shr_safe(b, w - c)) & m;
        else
            r = (a >> c | shl_safe(b, w - c)) & m;
    } else if (left) {
        /* 16-bit by 17-31 (undefined): the AMD host shifts dest:src:src. */
        r = ((a << 32 | b << 16 | b) >> (32 - c)) & m;
    } else {
        r = ((b << 32 | b << 16 | a) >> c) & m; /* src:src:dest */
    }
    rmw_store(cpu, in, osz, mem, ea, r);
    if (!left) {
        x86_set_cc(cpu, X86_CC(X86_CC_KIND_SHR, osz), r, a, c);
    } else if (c < w) {
        x86_set_cc(cpu, X86_CC(X86_CC_KIND_SHL, osz), r, a, c);
    } else {
        /* 16-bit by 16-31, as the AMD host: CF as SHL of the destination
         * alone (bit 0 for 16, 0 beyond), OF = CF ^ MSB(dest << count) =
         * CF, AF = 1; SF ZF PF from the result. */
        uint64_t cf = c == w ? (a & 1) : 0;
        x86_set_cc(cpu, X86_CC(X86_CC_KIND_LOGIC, osz), r, 0, 0);
        x86_flags_materialize(cpu);
        cpu->rflags |= X86_FLAG_AF | cf | (cf ? X86_FLAG_OF : 0);
    }
}

static void shift_shld_ib(struct x86_cpu *cpu, const struct x86_insn *in)
{
    shift_double(cpu, in, true, (unsigned)in->imm);
}

static void shift_shld_cl(struct x86_cpu *cpu, const struct x86_insn *in)
{
    shift_double(cpu, in, true, (unsigned)cpu->gpr[X86_RCX]);
}

static void shift_shrd_ib(struct x86_cpu *cpu, const struct x86_insn *in)
{
    shift_double(cpu, in, false, (unsigned)in->imm);
}

static void shift_shrd_cl(struct x86_cpu *cpu, const struct x86_insn *in)
{
    shift_double(cpu, in, false, (unsigned)cpu->gpr[X86_RCX]);
}

#define ROW(map, op, reg, fn, name)                                                                \
    {                                                                                              \
        X86_MAP_##map, op, X86_PFX_ANY, reg, X86_MOD_ANY, fn, name                                 \
    }

/* The group rows of operation k: C0/C1 Ib, D0/D1 by 1, D2/D3 by CL. */
#define SHIFT_ROWS(k, name, mnemonic)                                                              \
    ROW(PRIMARY, 0xc0, k, shift_##name##_ib, mnemonic),                                            \
        ROW(PRIMARY, 0xc1, k, shift_##name##_ib, mnemonic),                                        \
        ROW(PRIMARY, 0xd0, k, shift_##name##_1, mnemonic),                                         \
        ROW(PRIMARY, 0xd1, k, shift_##name##_1, mnemonic),                                         \
        ROW(PRIMARY, 0xd2, k, shift_##name##_cl, mnemonic),                                        \
        ROW(PRIMARY, 0xd3, k, shift_##name##_cl, mnemonic)

const struct x86_op_entry x86_ops_shift[] = {
    SHIFT_ROWS(0, rol, "rol"),
    SHIFT_ROWS(1, ror, "ror"),
    SHIFT_ROWS(2, rcl, "rcl"),
    SHIFT_ROWS(3, rcr, "rcr"),
    SHIFT_ROWS(4, shl, "shl"),
    SHIFT_ROWS(5, shr, "shr"),
    SHIFT_ROWS(6, shl, "sal"),
    SHIFT_ROWS(7, sar, "sar"),
    ROW(0F, 0xa4, -1, shift_shld_ib, "shld"),
    ROW(0F, 0xa5, -1, shift_shld_cl, "shld"),
    ROW(0F, 0xac, -1, shift_shrd_ib, "shrd"),
    ROW(0F, 0xad, -1, shift_shrd_cl, "shrd"),
    {0},
};
