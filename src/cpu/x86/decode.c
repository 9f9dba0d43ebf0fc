/* The x86 instruction decoder: bytes -> struct x86_insn (insn.h).
 *
 * One pass over the bytes, driven by the format tables of
 * decode_tables.c:
 *
 *   1. legacy prefixes (66, 67, segment, F0, F2, F3) in any order and
 *      number, then in 64-bit mode an optional REX, which counts only when
 *      the opcode follows it directly;
 *   2. the opcode: one byte, 0F xx, 0F 38 xx or 0F 3A xx, and its format
 *      word; the mandatory-prefix column (none/66/F3/F2) for SSE-style
 *      opcodes, where 66 is then no operand-size prefix;
 *   3. ModRM, with the validity check by column, mod, and for groups reg
 *      (and for a few rm); then SIB and displacement;
 *   4. operand size (byte ops, 66, REX.W, the 64-bit default/forced rules)
 *      and the immediate, whose width may depend on it;
 *   5. LOCK validity, and the op function from the dispatch table (ops.c).
 *
 * Lengths are checked as bytes are consumed: past 15 bytes the instruction
 * raises #GP (what the host CPU does: an AMD EPYC gives #GP, i.e. SIGSEGV,
 * for 15 prefixes + NOP); past the bytes available, X86_DECODE_MORE.
 * VEX (C4/C5), EVEX (62) and XOP (8F with ModRM.reg != 0) are not decoded:
 * the emulated CPU has no AVX, so they are #UD, as on a CPU without it.
 * Vendor differences follow Intel unless noted in the tables; 66 on near
 * branches follows AMD, the vendor the emulated CPU reports (switchable with
 * x86_decode_set_amd_branches() for tests).
 *
 * tests/cpu/oracle checks all of this against libzydis and the host CPU.
 *
 * Outside 64-bit mode the decoder handles 32-bit code (CS.D = 1) and
 * 16-bit code (real mode, CS.D = 0), where 66 and 67 select 32 bits.
 */
#include <string.h>

#include "cpu/x86/decode_tables.h"
#include "util/bytes.h"

#define X86_MAX_LEN 15

/* The emulated CPU reports AuthenticAMD (misc.c), so it behaves as one. */
static bool amd_branches = true;

void x86_decode_set_amd_branches(bool amd)
{
    amd_branches = amd;
}

static const uint32_t *const fmt_maps[X86_NMAPS] = {
    [X86_MAP_PRIMARY] = x86_fmt_primary,
    [X86_MAP_0F] = x86_fmt_0f,
    [X86_MAP_0F38] = x86_fmt_0f38,
    [X86_MAP_0F3A] = x86_fmt_0f3a,
};

/* Not enough bytes: past the 15-byte limit it is #GP, else ask for more. */
#define NEED(k)                                                                                    \
    do {                                                                                           \
        if (__builtin_expect(i + (k) > n, 0))                                                      \
            return i + (k) > X86_MAX_LEN ? -X86_EXC_GP : X86_DECODE_MORE;                          \
    } while (0)

/* 16-bit addressing (67 outside 64-bit mode): rm picks base and index. */
static const uint8_t modrm16_base[8] = {X86_RBX, X86_RBX, X86_RBP, X86_RBP,
                                        X86_RSI, X86_RDI, X86_RBP, X86_RBX};
static const uint8_t modrm16_index[8] = {X86_RSI,    X86_RDI,    X86_RSI,    X86_RDI,
                                         X86_NO_REG, X86_NO_REG, X86_NO_REG, X86_NO_REG};

/* The memory operand of a ModRM byte (mod != 3). Returns the new length,
 * or a negative x86_decode() result. */
static inline int decode_mem(const uint8_t *b, unsigned i, unsigned n, unsigned m, unsigned rex,
                             int mode64, struct x86_insn *in)
{
    unsigned mod = m >> 6, rm = m & 7, base, dispsz = mod == 1 ? 1 : mod == 2 ? 4 : 0;

    if (in->asz == 1) {
        base = modrm16_base[rm];
        in->index = modrm16_index[rm];
        if (mod == 0 && rm == 6) {
            base = X86_NO_REG;
            dispsz = 2;
        } else if (mod == 2) {
            dispsz = 2;
        }
        in->seg = base == X86_RBP ? X86_SS : X86_DS;
    } else {
        base = rm;
        if (rm == 4) {
            NEED(1);
            unsigned sib = b[i++];
            unsigned index = ((sib >> 3) & 7) | (rex & 2) << 2;
            base = sib & 7;
            if (index != 4) {
                in->index = (uint8_t)index;
                in->scale = (uint8_t)(sib >> 6);
            }
        }
        if (base == 5 && mod == 0) {
            /* rm = 5: RIP-relative in 64-bit mode (REX.B does not matter);
             * SIB base = 5: no base. Both with a disp32. */
            if (rm == 5 && mode64)
                in->flags |= X86_I_RIPREL;
            base = X86_NO_REG;
            dispsz = 4;
        } else {
            base |= (rex & 1) << 3;
        }
        in->seg = base == X86_RSP || base == X86_RBP ? X86_SS : X86_DS;
    }
    in->rm = (uint8_t)base;

    NEED(dispsz);
    if (dispsz == 1)
        in->disp = (int8_t)b[i];
    else if (dispsz == 2)
        in->disp = (int16_t)get_le16(b + i);
    else if (dispsz == 4)
        in->disp = (int32_t)get_le32(b + i);
    return (int)(i + dispsz);
}

/* Validity of a ModRM form: by column and mod, or by the group. */
static inline bool modrm_valid(uint32_t fmt, const struct x86_group *g, unsigned col, unsigned mod,
                               unsigned reg, unsigned rm, int mode64)
{
    if (!g)
        return (fmt >> (mod == 3 ? F_VREG_SHIFT : F_VMEM_SHIFT) >> col) & 1;
    if (mod == 3 && !mode64 && g->rm_o64 &&
        ((x86_group_rm[g->rm_o64].cols[col] >> (reg * 8 + rm)) & 1))
        return false;
    if (mod == 3 && g->rm_table)
        return (x86_group_rm[g->rm_table].cols[col] >> (reg * 8 + rm)) & 1;
    return (g->valid[reg] >> (mod == 3 ? 4 : 0) >> col) & 1;
}

/* The rare encodings the format word cannot express (F_SPECIAL). */
static int decode_special(const uint8_t *b, unsigned i, unsigned n, unsigned map, unsigned op,
                          unsigned col, unsigned modrm_reg, struct x86_insn *in)
{
    if (map == X86_MAP_0F && op >= 0x20 && op <= 0x23) {
        /* CR0, CR2-CR4, CR8; DR0-DR7. Others are #UD (before the privilege
         * check: the host CPU gives #UD for MOV from CR1 at CPL 3). */
        static const uint16_t cr_valid = 1u << 0 | 1u << 2 | 1u << 3 | 1u << 4 | 1u << 8;
        if (op & 1 ? in->reg > 7 : !((cr_valid >> in->reg) & 1))
            return -X86_EXC_UD;
    } else if (map == X86_MAP_PRIMARY && op == 0xc7 && modrm_reg == 7) {
        /* XBEGIN: the immediate is a branch displacement. */
        in->imm = in->osz == 1 ? (int16_t)in->imm : (int32_t)in->imm;
    } else if (map == X86_MAP_0F && op == 0x78 && col != X86_COL_NONE) {
        /* 66: EXTRQ xmm, ib, ib (/0 only); F2: INSERTQ xmm, xmm, ib, ib */
        if (col == X86_COL_66 && modrm_reg != 0)
            return -X86_EXC_UD;
        NEED(2);
        in->imm = b[i];
        in->imm2 = b[i + 1];
        i += 2;
    }
    return (int)i;
}

static inline unsigned seg_prefix(unsigned c)
{
    switch (c) {
    case 0x26:
        return X86_ES;
    case 0x2e:
        return X86_CS;
    case 0x36:
        return X86_SS;
    case 0x3e:
        return X86_DS;
    case 0x64:
        return X86_FS;
    default:
        return X86_GS;
    }
}

int x86_decode(const uint8_t *b, unsigned avail, int mode, struct x86_insn *in)
{
    int mode64 = mode == X86_MODE64;
    unsigned def16 = mode == X86_MODE16; /* a 16-bit code segment: 66 and 67 select 32 bits */
    unsigned n = avail < X86_MAX_LEN ? avail : X86_MAX_LEN;
    unsigned i = 0, rex = 0, rep = 0, p66 = 0, p67 = 0, lock = 0, seg = X86_SEG_NONE;

    /* 1. Prefixes. A REX followed by anything but the opcode is ignored. */
    for (;;) {
        NEED(1);
        unsigned c = b[i], kind = x86_prefix_kind[c];
        if (kind == X86_PK_NONE || (kind == X86_PK_REX && !mode64))
            break;
        i++;
        if (kind == X86_PK_REX) {
            rex = c;
            continue;
        }
        rex = 0;
        switch (kind) {
        case X86_PK_66:
            p66 = 1;
            break;
        case X86_PK_67:
            p67 = 1;
            break;
        case X86_PK_LOCK:
            lock = 1;
            break;
        case X86_PK_REP:
            rep = X86_COL_F3;
            break;
        case X86_PK_REPNE:
            rep = X86_COL_F2;
            break;
        default: {
            /* In 64-bit mode only FS and GS count; CS/DS/ES/SS overrides
             * are ignored entirely (an earlier FS/GS stays in effect, as
             * the host CPU shows). */
            unsigned s = seg_prefix(c);
            if (!mode64 || s >= X86_FS)
                seg = s;
        }
        }
    }

    /* 2. Opcode and format. */
    unsigned map = X86_MAP_PRIMARY, op = b[i++];
    if (op == 0x0f) {
        NEED(1);
        op = b[i++];
        map = X86_MAP_0F;
        if (op == 0x38 || op == 0x3a) {
            map = op == 0x38 ? X86_MAP_0F38 : X86_MAP_0F3A;
            NEED(1);
            op = b[i++];
        }
    }
    uint32_t fmt = fmt_maps[map][op];
    if (!mode64 && map == X86_MAP_PRIMARY && (fmt & (F_I64 | F_O64)))
        fmt = x86_fmt_legacy32[op];

    unsigned col = X86_COL_NONE, osz66 = p66;
    if ((fmt & F_PFX_MASK) == F_PFX_SEL) {
        col = rep;
    } else if ((fmt & F_PFX_MASK) == F_PFX_SSE) {
        col = rep ? rep : p66 ? X86_COL_66 : X86_COL_NONE;
        osz66 = 0;
    }

    in->flags = 0;
    in->imm = 0;
    in->imm2 = 0;
    in->disp = 0;
    in->index = X86_NO_REG;
    in->scale = 0;
    in->map = (uint8_t)map;
    in->opcode = (uint8_t)op;
    in->asz = mode64 ? (p67 ? 2 : 3) : ((p67 ^ def16) ? 1 : 2);
    in->seg = X86_DS;

    /* 3. ModRM, SIB, displacement. */
    const struct x86_group *g = NULL;
    unsigned reg = 0, rm = X86_NO_REG, modrm_reg = 8, is_mem = 0;
    if (fmt & F_MODRM) {
        NEED(1);
        unsigned m = b[i++], mod = m >> 6;
        modrm_reg = (m >> 3) & 7;
        if (F_GRP_OF(fmt)) {
            g = &x86_groups[F_GRP_OF(fmt)];
            if (g->flags & G_FORCE_REG)
                mod = 3;
            if (g->flags & G_OSZ66)
                osz66 = p66;
        }
        if (!modrm_valid(fmt, g, col, mod, modrm_reg, m & 7, mode64))
            return -X86_EXC_UD;
        reg = modrm_reg | (rex & 4) << 1;
        if (mod == 3) {
            rm = (m & 7) | (rex & 1) << 3;
        } else {
            int r = decode_mem(b, i, n, m, rex, mode64, in);
            if (r < 0)
                return r;
            i = (unsigned)r;
            rm = in->rm;
            is_mem = 1;
            in->flags |= X86_I_MEM;
        }
        in->flags |= X86_I_MODRM;
    } else {
        if (!((fmt >> F_VREG_SHIFT >> col) & 1))
            return -X86_EXC_UD;
        if (fmt & F_OPREG)
            reg = (op & 7) | (rex & 1) << 3;
    }
    if (seg != X86_SEG_NONE)
        in->seg = (uint8_t)seg;

    /* 4. Operand size, byte registers, immediate. */
    unsigned osz;
    if (fmt & F_BYTE)
        osz = 0;
    else if (rex & 8)
        osz = fmt & F_NOREXW ? 2 : 3; /* REX.W still beats 66 */
    else if (mode64 && ((fmt & F_D64) || (g && ((g->d64 >> modrm_reg) & 1))))
        osz = osz66 ? 1 : 3;
    else if (mode64 && ((fmt & F_F64) || (g && ((g->f64 >> modrm_reg) & 1))))
        osz = osz66 && amd_branches ? 1 : 3;
    else
        osz = (osz66 ^ def16) ? 1 : 2;
    in->osz = (uint8_t)osz;

    if (!rex) {
        /* Without REX, byte registers 4-7 are AH, CH, DH, BH. */
        if ((fmt & F_BYTE) && reg >= 4 && reg < 8)
            reg += X86_AH - 4;
        if ((fmt & (F_BYTE | F_RMBYTE)) && !is_mem && rm >= 4 && rm < 8)
            rm += X86_AH - 4;
    }
    in->reg = (uint8_t)reg;
    in->rm = (uint8_t)rm;

    unsigned ik = F_IMM_OF(fmt);
    if (g && !((g->imm >> modrm_reg) & 1))
        ik = X86_IMM_NONE;
    switch (ik) {
    case X86_IMM_NONE:
        break;
    case X86_IMM_IB:
        NEED(1);
        in->imm = b[i++];
        break;
    case X86_IMM_IBS:
        NEED(1);
        in->imm = (int64_t)((uint64_t)(int64_t)(int8_t)b[i++] & (~0ULL >> (64 - (8u << osz))));
        break;
    case X86_IMM_IW:
        NEED(2);
        in->imm = get_le16(b + i);
        i += 2;
        break;
    case X86_IMM_IZ:
        if (osz == 1) {
            NEED(2);
            in->imm = get_le16(b + i);
            i += 2;
        } else {
            NEED(4);
            in->imm = osz == 3 ? (int64_t)(int32_t)get_le32(b + i) : (int64_t)get_le32(b + i);
            i += 4;
        }
        break;
    case X86_IMM_IV:
        if (osz == 3) {
            NEED(8);
            in->imm = (int64_t)get_le64(b + i);
            i += 8;
        } else if (osz == 1) {
            NEED(2);
            in->imm = get_le16(b + i);
            i += 2;
        } else {
            NEED(4);
            in->imm = get_le32(b + i);
            i += 4;
        }
        break;
    case X86_IMM_MOFFS:
        if (in->asz == 3) {
            NEED(8);
            in->imm = (int64_t)get_le64(b + i);
            i += 8;
        } else if (in->asz == 2) {
            NEED(4);
            in->imm = get_le32(b + i);
            i += 4;
        } else {
            NEED(2);
            in->imm = get_le16(b + i);
            i += 2;
        }
        break;
    case X86_IMM_JB:
        NEED(1);
        in->imm = (int8_t)b[i++];
        break;
    case X86_IMM_JZ:
        if (osz == 1) {
            NEED(2);
            in->imm = (int16_t)get_le16(b + i);
            i += 2;
        } else {
            NEED(4);
            in->imm = (int32_t)get_le32(b + i);
            i += 4;
        }
        break;
    case X86_IMM_IWIB:
        NEED(3);
        in->imm = get_le16(b + i);
        in->imm2 = b[i + 2];
        i += 3;
        break;
    case X86_IMM_AP: {
        unsigned off = osz == 1 ? 2 : 4;
        NEED(off + 2);
        uint64_t o = off == 2 ? get_le16(b + i) : get_le32(b + i);
        in->imm = (int64_t)(o | (uint64_t)get_le16(b + i + off) << 32);
        i += off + 2;
        break;
    }
    }
    if (fmt & F_SPECIAL) {
        int r = decode_special(b, i, n, map, op, col, modrm_reg, in);
        if (r < 0)
            return r;
        i = (unsigned)r;
    }

    /* 5. Prefix semantics, LOCK, the op. */
    if (lock) {
        unsigned ok = g ? (g->lock >> modrm_reg) & 1 : !!(fmt & F_LOCK);
        if (!ok || !is_mem)
            return -X86_EXC_UD;
        in->flags |= X86_I_LOCK;
    }
    if (rep && (fmt & F_STR))
        in->flags |= rep == X86_COL_F3 ? X86_I_REP : X86_I_REPNE;
    if (rex & 8)
        in->flags |= X86_I_REXW;
    if (osz66)
        in->flags |= X86_I_OPSIZE;

    x86_ops_ensure();
    uint16_t index = x86_ops_direct[map][op];
    if (!mode64 && map == X86_MAP_PRIMARY && op == 0x63) /* ARPL, not MOVSXD */
        in->fn = x86_ops_lookup(map, op, X86_PFX_LEGACY, modrm_reg, (int)is_mem, &index)->fn;
    else if (index == X86_OPS_WALK)
        in->fn = x86_ops_lookup(map, op, col + 1, modrm_reg, (int)is_mem, &index)->fn;
    else
        in->fn = x86_ops_by_index[index]->fn;
    in->op = index;
    in->len = (uint8_t)i;
    return (int)i;
}
