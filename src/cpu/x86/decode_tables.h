/* Private to the decoder (decode.c, decode_tables.c) and the dispatch
 * table (ops.c): the opcode format tables and a few internal hooks.
 *
 * Every opcode of every map has one 32-bit format word saying how to
 * decode it: whether a ModRM byte follows, which immediate, which
 * operand-size rule, which mandatory-prefix columns (none/66/F3/F2) are
 * valid with a register and with a memory operand, whether LOCK is
 * allowed, and an optional group index for opcodes whose validity, LOCK
 * rule, immediate or size rule depend on ModRM.reg (and for a few, on
 * ModRM.rm).
 */
#ifndef XUNI_CPU_X86_DECODE_TABLES_H
#define XUNI_CPU_X86_DECODE_TABLES_H

#include <stdbool.h>
#include <stdint.h>

#include "cpu/x86/insn.h"

/* Immediate kinds. */
enum x86_imm_kind {
    X86_IMM_NONE,
    X86_IMM_IB,    /* imm8, zero-extended */
    X86_IMM_IBS,   /* imm8, sign-extended to the operand size (83, 6A, 6B) */
    X86_IMM_IW,    /* imm16 */
    X86_IMM_IZ,    /* imm16 (osz 16) or imm32; sign-extended to 64 for osz 64 */
    X86_IMM_IV,    /* imm16/32/64 by operand size (B8+r) */
    X86_IMM_MOFFS, /* address-size offset (A0-A3) */
    X86_IMM_JB,    /* rel8 */
    X86_IMM_JZ,    /* rel16/rel32 */
    X86_IMM_IWIB,  /* ENTER: imm16 in imm, imm8 in imm2 */
    X86_IMM_AP,    /* far pointer (32-bit modes): offset | selector << 32 */
};

/* Mandatory-prefix columns (bit i = enum x86_pfx value i + 1). */
#define X86_COL_NONE 0
#define X86_COL_66   1
#define X86_COL_F3   2
#define X86_COL_F2   3

/* The format word. */
#define F_MODRM      (1u << 0)
#define F_IMM_SHIFT  1          /* 4 bits: enum x86_imm_kind */
#define F_BYTE       (1u << 5)  /* 8-bit operation: osz 0, reg and r/m are byte registers */
#define F_RMBYTE     (1u << 6)  /* only the r/m register is a byte register (MOVZX, SETcc) */
#define F_D64        (1u << 7)  /* 64-bit mode: default operand size 64, 66 gives 16 */
#define F_F64        (1u << 8)  /* 64-bit mode: operand size forced to 64 (near branches) */
#define F_I64        (1u << 9)  /* invalid in 64-bit mode */
#define F_O64        (1u << 10) /* valid only in 64-bit mode */
#define F_PFX_SHIFT  11         /* 2 bits: how 66/F2/F3 select among ops */
#define F_PFX_NONE   (0u << 11) /* not selectors: 66 is operand size, F2/F3 REP or ignored */
#define F_PFX_SEL    (1u << 11) /* the last F2/F3 selects; 66 stays the operand-size prefix */
#define F_PFX_SSE    (2u << 11) /* the last F2/F3, else 66, selects; 66 never sizes */
#define F_PFX_MASK   (3u << 11)
#define F_VMEM_SHIFT 13         /* 4 bits: columns valid with a memory operand */
#define F_VREG_SHIFT 17         /* 4 bits: columns valid with a register operand (or no ModRM) */
#define F_LOCK       (1u << 21) /* LOCK allowed with a memory destination */
#define F_STR        (1u << 22) /* string instruction: F3 is REP/REPE, F2 REPNE */
#define F_SPECIAL    (1u << 23) /* finished by decode_special() (rare encodings) */
#define F_OPREG      (1u << 24) /* register in the low 3 opcode bits (+REX.B) */
#define F_NOREXW     (1u << 25) /* REX.W does not widen: 16/32-bit only (IN, OUT, INS, OUTS) */
#define F_GRP_SHIFT  26         /* 6 bits: index into x86_groups (0: none) */

#define F_IMM(k)     ((uint32_t)(k) << F_IMM_SHIFT)
#define F_VMEM(cols) ((uint32_t)(cols) << F_VMEM_SHIFT)
#define F_VREG(cols) ((uint32_t)(cols) << F_VREG_SHIFT)
#define F_GRP(g)     ((uint32_t)(g) << F_GRP_SHIFT)
#define F_IMM_OF(f)  (((f) >> F_IMM_SHIFT) & 15)
#define F_GRP_OF(f)  ((f) >> F_GRP_SHIFT)

/* Group flags. */
#define G_FORCE_REG 1 /* ModRM.mod is ignored: always a register operand (MOV CR/DR) */
#define G_OSZ66                                                                                    \
    2 /* 66 selects a column and is the operand-size prefix too (SMSW r16,                         \
         RDRAND r16) */

/* An opcode whose decoding depends on ModRM.reg (and possibly ModRM.rm). */
struct x86_group {
    uint8_t valid[8]; /* by ModRM.reg: low nibble = columns valid with a memory operand,
                         high nibble = with a register operand (unless rm_valid) */
    uint8_t lock;     /* ModRM.reg values that accept LOCK (memory destination) */
    uint8_t imm;      /* ModRM.reg values that take the opcode's immediate */
    uint8_t d64;      /* ModRM.reg values with the default-64 operand size */
    uint8_t f64;      /* ModRM.reg values with the forced-64 operand size */
    uint8_t flags;    /* G_* */
    uint8_t rm_table; /* index into x86_group_rm (mod == 3 validity by reg and rm), 0: none */
    uint8_t rm_o64;   /* index into x86_group_rm: mod == 3 forms valid only in 64-bit mode */
};

/* mod == 3 validity by column: bit (reg * 8 + rm). */
struct x86_group_rm {
    uint64_t cols[4];
};

extern const uint32_t x86_fmt_primary[256], x86_fmt_0f[256], x86_fmt_0f38[256], x86_fmt_0f3a[256];
extern const uint32_t x86_fmt_legacy32[256]; /* primary-map formats outside 64-bit mode,
                                                 for the opcodes marked F_I64 or F_O64 */
extern const struct x86_group x86_groups[];
extern const struct x86_group_rm x86_group_rm[];
extern const uint8_t x86_prefix_kind[256];

/* x86_prefix_kind values. */
enum {
    X86_PK_NONE,
    X86_PK_REX,
    X86_PK_66,
    X86_PK_67,
    X86_PK_LOCK,
    X86_PK_REP,   /* F3 */
    X86_PK_REPNE, /* F2 */
    X86_PK_SEG,   /* segment override; the segment is (byte >> 3) & 3 or FS/GS */
};

/* Near branches with a 66 prefix in 64-bit mode: Intel ignores the prefix
 * (operand size forced to 64, rel32 stays 4 bytes); AMD gives a 16-bit
 * operand size and a rel16. Default: Intel (the SDM's f64 rule). */
void x86_decode_set_amd_branches(bool amd);

/* The dispatch fast path (ops.c), read by the decoder after
 * x86_ops_ensure(): for each (map, opcode) whose op depends on neither the
 * prefix nor ModRM, the index of its entry (0: none, #UD); X86_OPS_WALK
 * where x86_ops_lookup() must choose. */
#define X86_OPS_WALK 0xffff
extern uint16_t x86_ops_direct[X86_NMAPS][256];
extern const struct x86_op_entry *x86_ops_by_index[];
extern int x86_ops_ready;
void x86_ops_init(void);

static inline void x86_ops_ensure(void)
{
    if (__builtin_expect(!__atomic_load_n(&x86_ops_ready, __ATOMIC_ACQUIRE), 0))
        x86_ops_init();
}

/* Rebuild the dispatch table from these family tables instead of
 * X86_FAMILIES (for tests; not thread-safe against running decoders). */
void x86_ops_rebuild(const struct x86_op_entry *const *tables, unsigned ntables);

/* The op function for encodings no family registered: raises #UD. */
x86_op_fn x86_op_ud;

#endif
