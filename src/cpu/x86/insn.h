/* The decoded instruction: the format blocks are made of, op functions
 * read, and the later JIT takes as input.
 *
 * The decoder (decode.c) turns the bytes of one instruction into a struct
 * x86_insn once; a block is an array of them (exec.c). Everything an op
 * function needs is resolved here, so execution never looks at bytes again:
 *
 *   fn       the op function, from the dispatch table (ops.c) by map, opcode,
 *            mandatory prefix, ModRM.reg and ModRM.mod;
 *   len      instruction length (1-15); the next instruction is at rip + len;
 *   osz      operand size as log2 bytes (0: 8-bit, 1: 16, 2: 32, 3: 64),
 *            from the opcode (byte forms), 66, REX.W and the opcode's
 *            default-64 rule;
 *   asz      address size as log2 bytes (1, 2 or 3), from 67;
 *   reg      ModRM.reg extended by REX.R, or the register encoded in the
 *            low opcode bits (extended by REX.B) for 50+r, B8+r, ...;
 *   rm       when X86_I_MEM is clear: the ModRM.rm register (REX.B);
 *            when set: the base register of the memory operand, or
 *            X86_NO_REG (no base: disp32 alone, or RIP-relative with
 *            X86_I_RIPREL);
 *   index, scale   SIB index register (REX.X; X86_NO_REG if none) and log2
 *            scale;
 *   disp     displacement, sign-extended; for RIP-relative operands it is
 *            relative to the end of the instruction;
 *   imm      the immediate, sign- or zero-extended to 64 bits as the opcode
 *            defines (Ib for ALU ops is sign-extended to the operand size,
 *            relative branch targets are displacements from the end of the
 *            instruction, moffs is the absolute offset); imm2 holds a second
 *            immediate (ENTER's Ib, EXTRQ/INSERTQ);
 *   seg      the segment of the memory operand: the override, or DS/SS by
 *            the base register's default;
 *   flags    X86_I_* below.
 *
 * Byte registers: without a REX prefix, 8-bit register numbers 4-7 mean
 * AH, CH, DH, BH; the decoder encodes those as X86_AH.. (16-19) in reg and
 * rm, so op functions never need the REX bit.
 */
#ifndef XUNI_CPU_X86_INSN_H
#define XUNI_CPU_X86_INSN_H

#include <stdint.h>

#include "cpu/x86/cpu.h"

#define X86_NO_REG 0xff
#define X86_AH     16 /* AH, CH, DH, BH = 16..19 (8-bit operands without REX) */

enum x86_insn_flag {
    X86_I_MEM = 1 << 0,    /* ModRM names a memory operand */
    X86_I_RIPREL = 1 << 1, /* memory operand is RIP-relative */
    X86_I_LOCK = 1 << 2,   /* F0 prefix (only where the decoder allowed it) */
    X86_I_REP = 1 << 3,    /* F3 on a string instruction: REP/REPE */
    X86_I_REPNE = 1 << 4,  /* F2 on a string instruction: REPNE */
    X86_I_REXW = 1 << 5,   /* REX.W was set */
    X86_I_OPSIZE = 1 << 6, /* a 66 prefix was present (not as a mandatory prefix) */
    X86_I_MODRM = 1 << 7,  /* the instruction has a ModRM byte */
};

struct x86_insn;
typedef void x86_op_fn(struct x86_cpu *cpu, const struct x86_insn *insn);

struct x86_insn {
    x86_op_fn *fn;
    int64_t imm;
    int32_t disp;
    uint16_t op; /* index of the dispatch entry (name, for traces) */
    uint8_t len;
    uint8_t osz;
    uint8_t asz;
    uint8_t reg;
    uint8_t rm;
    uint8_t index;
    uint8_t scale;
    uint8_t seg;
    uint8_t flags;
    uint8_t imm2;
    uint8_t opcode; /* the opcode byte within its map (for families sharing a function) */
    uint8_t map;    /* enum x86_map */
};

enum x86_map { X86_MAP_PRIMARY, X86_MAP_0F, X86_MAP_0F38, X86_MAP_0F3A, X86_NMAPS };

/* Mandatory-prefix selector of an op entry (SSE and a few others). */
enum x86_pfx {
    X86_PFX_ANY, /* the op ignores 66/F2/F3 as selectors */
    X86_PFX_NONE,
    X86_PFX_66,
    X86_PFX_F3,
    X86_PFX_F2,
    X86_PFX_LEGACY, /* only outside 64-bit mode, where the opcode means something else
                       (63: ARPL, MOVSXD in 64-bit mode); the decoder asks for it there */
};

enum x86_mod_sel { X86_MOD_ANY, X86_MOD_MEM, X86_MOD_REG };

/* One row of an instruction family's registration table. The dispatch
 * table (ops.c) is built from all families at start-up; the decoder picks
 * the most specific row that matches (prefix, then reg, then mod).
 * An encoding the decoder finds valid but no family registers raises #UD
 * when executed. */
struct x86_op_entry {
    uint8_t map;
    uint8_t opcode;
    uint8_t prefix; /* enum x86_pfx */
    int8_t reg;     /* ModRM.reg 0-7 for group opcodes; -1: any */
    uint8_t mod;    /* enum x86_mod_sel */
    x86_op_fn *fn;
    const char *name; /* mnemonic, for traces */
};

/* Each family file defines one table ending with an entry whose fn is NULL.
 * Declared weak so that families still being written need not exist. */
#define X86_FAMILIES(X)                                                                            \
    X(alu)                                                                                         \
    X(shift)                                                                                       \
    X(muldiv) X(bit) X(move) X(stack) X(branch) X(string) X(misc) X(x87) X(mmx) X(sse_move)        \
        X(sse_int) X(sse_fp) X(sse_str) X(system) X(far) X(legacy)
#define X86_DECLARE_FAMILY(name)                                                                   \
    extern const struct x86_op_entry x86_ops_##name[] __attribute__((weak));
X86_FAMILIES(X86_DECLARE_FAMILY)

/* Look up the op for a decoded encoding (used by the decoder). */
const struct x86_op_entry *x86_ops_lookup(unsigned map, unsigned opcode, unsigned prefix,
                                          unsigned reg, int is_mem, uint16_t *index);
const struct x86_op_entry *x86_ops_entry(uint16_t index);

/* Decode one instruction from bytes[0..avail) (avail <= 15 is fine: the
 * decoder needs at most 15 bytes) for a code mode (enum x86_code_mode:
 * X86_MODE64 = 1, X86_MODE32 = 0, X86_MODE16). Returns the length (> 0),
 * or a negative value: -X86_EXC_UD for an invalid encoding, -X86_EXC_GP for
 * one longer than 15 bytes (as the hardware does), or X86_DECODE_MORE when
 * avail was too short to finish. */
#define X86_DECODE_MORE (-1000)
int x86_decode(const uint8_t *bytes, unsigned avail, int mode, struct x86_insn *insn);

#endif
