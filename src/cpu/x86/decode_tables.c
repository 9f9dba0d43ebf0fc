/* The opcode format tables: the SDM Vol. 2 Appendix A opcode maps (one-byte,
 * 0F, 0F 38, 0F 3A) as the decoder needs them, plus the AMD additions a
 * real CPU decodes (SVM, SSE4a, ...). Format bits are in decode_tables.h.
 *
 * The tables describe which encodings exist, not which ones xuni
 * implements: an encoding that decodes but that no family registers raises
 * #UD when executed (ops.c). Column masks say which mandatory prefixes are
 * valid: N = none, P = 66, S = F3, D = F2. For opcodes that take no
 * mandatory prefix, only the N column is ever looked up.
 */
#include "cpu/x86/decode_tables.h"

#define N   1u
#define P   2u
#define S   4u
#define D   8u
#define ALL 15u

#define M   F_MODRM
#define OK  (F_VMEM(ALL) | F_VREG(ALL))
#define MEM F_VMEM(ALL) /* memory operand only */
#define REG F_VREG(ALL) /* register operand only */
#define IB  F_IMM(X86_IMM_IB)
#define IBS F_IMM(X86_IMM_IBS)
#define IW  F_IMM(X86_IMM_IW)
#define IZ  F_IMM(X86_IMM_IZ)
#define IV  F_IMM(X86_IMM_IV)
#define JB  F_IMM(X86_IMM_JB)
#define JZ  F_IMM(X86_IMM_JZ)
#define B   F_BYTE
#define LK  F_LOCK
/* An SSE-style opcode: valid columns with a memory and a register operand. */
#define SSE(mem, reg) (F_PFX_SSE | M | F_VMEM(mem) | F_VREG(reg))
#define SSE2(cols)    SSE(cols, cols)

/* Group indices. */
enum {
    G_NONE,
    G_80, /* 80, 81, 83: ALU Ev, imm (CMP not lockable) */
    G_8C,
    G_8E,
    G_8F,
    G_C6,
    G_C7,
    G_F6,
    G_FE,
    G_FF,
    G_D8,
    G_D9,
    G_DA,
    G_DB,
    G_DC,
    G_DD,
    G_DE,
    G_DF,
    G_0F00,
    G_0F01,
    G_0F0D,
    G_0F18,
    G_0FCR,
    G_0F71,
    G_0F73,
    G_0FAE,
    G_0FBA,
    G_0FC7,
    G_0F38D8,
    G_0F3AF0,
};

enum {
    R_NONE,
    R_C6,
    R_0F01,
    R_D9,
    R_DA,
    R_DB,
    R_DD,
    R_DE,
    R_DF,
    R_HRESET,
    R_0F01_O64,
    R_0FAE_O64,
    R_0FC7_O64,
};

#define ALU(op)                                                                                    \
    [op] = OK | M | B | LK, [op + 1] = OK | M | LK, [op + 2] = OK | M | B, [op + 3] = OK | M,      \
    [op + 4] = OK | B | IB, [op + 5] = OK | IZ

#define ALU_NOLOCK(op)                                                                             \
    [op] = OK | M | B, [op + 1] = OK | M, [op + 2] = OK | M | B, [op + 3] = OK | M,                \
    [op + 4] = OK | B | IB, [op + 5] = OK | IZ

const uint32_t x86_fmt_primary[256] = {
    ALU(0x00),
    ALU(0x08),
    ALU(0x10),
    ALU(0x18),
    ALU(0x20),
    ALU(0x28),
    ALU(0x30),
    ALU_NOLOCK(0x38),
    [0x06] = F_I64,
    [0x07] = F_I64,
    [0x0e] = F_I64,
    [0x16] = F_I64,
    [0x17] = F_I64,
    [0x1e] = F_I64,
    [0x1f] = F_I64,
    [0x27] = F_I64,
    [0x2f] = F_I64,
    [0x37] = F_I64,
    [0x3f] = F_I64,
    [0x40 ... 0x4f] = F_I64, /* REX in 64-bit mode, INC/DEC r32 elsewhere */
    [0x50 ... 0x5f] = OK | F_OPREG | F_D64,
    [0x60] = F_I64,
    [0x61] = F_I64,
    [0x62] = F_I64,          /* EVEX: AVX-512 is not decoded (#UD) */
    [0x63] = OK | M | F_O64, /* MOVSXD Gv, Ed */
    [0x68] = OK | IZ | F_D64,
    [0x69] = OK | M | IZ,
    [0x6a] = OK | IBS | F_D64,
    [0x6b] = OK | M | IBS,
    [0x6c] = OK | B | F_STR,
    [0x6d] = OK | F_STR | F_NOREXW,
    [0x6e] = OK | B | F_STR,
    [0x6f] = OK | F_STR | F_NOREXW,
    [0x70 ... 0x7f] = OK | JB | F_F64,
    [0x80] = OK | M | B | IB | F_GRP(G_80),
    [0x81] = OK | M | IZ | F_GRP(G_80),
    [0x82] = F_I64,
    [0x83] = OK | M | IBS | F_GRP(G_80),
    [0x84] = OK | M | B,
    [0x85] = OK | M,
    [0x86] = OK | M | B | LK,
    [0x87] = OK | M | LK,
    [0x88] = OK | M | B,
    [0x89] = OK | M,
    [0x8a] = OK | M | B,
    [0x8b] = OK | M,
    [0x8c] = OK | M | F_GRP(G_8C),
    [0x8d] = MEM | M,
    [0x8e] = OK | M | F_GRP(G_8E),
    [0x8f] = OK | M | F_GRP(G_8F),     /* other reg values: XOP, not decoded (#UD) */
    [0x90] = OK | F_OPREG | F_PFX_SEL, /* NOP, XCHG r8, rAX; F3: PAUSE */
    [0x91 ... 0x97] = OK | F_OPREG,
    [0x98] = OK,
    [0x99] = OK,
    [0x9a] = F_I64,
    [0x9b] = OK,
    [0x9c] = OK | F_D64,
    [0x9d] = OK | F_D64,
    [0x9e] = OK,
    [0x9f] = OK,
    [0xa0] = OK | B | F_IMM(X86_IMM_MOFFS),
    [0xa1] = OK | F_IMM(X86_IMM_MOFFS),
    [0xa2] = OK | B | F_IMM(X86_IMM_MOFFS),
    [0xa3] = OK | F_IMM(X86_IMM_MOFFS),
    [0xa4] = OK | B | F_STR,
    [0xa5] = OK | F_STR,
    [0xa6] = OK | B | F_STR,
    [0xa7] = OK | F_STR,
    [0xa8] = OK | B | IB,
    [0xa9] = OK | IZ,
    [0xaa] = OK | B | F_STR,
    [0xab] = OK | F_STR,
    [0xac] = OK | B | F_STR,
    [0xad] = OK | F_STR,
    [0xae] = OK | B | F_STR,
    [0xaf] = OK | F_STR,
    [0xb0 ... 0xb7] = OK | B | IB | F_OPREG,
    [0xb8 ... 0xbf] = OK | IV | F_OPREG,
    [0xc0] = OK | M | B | IB,
    [0xc1] = OK | M | IB,
    [0xc2] = OK | IW | F_F64,
    [0xc3] = OK | F_F64,
    [0xc4] = F_I64,
    [0xc5] = F_I64, /* VEX: AVX is not decoded (#UD) */
    [0xc6] = OK | M | B | IB | F_GRP(G_C6),
    [0xc7] = OK | M | IZ | F_GRP(G_C7) | F_SPECIAL,
    [0xc8] = OK | F_IMM(X86_IMM_IWIB) | F_D64,
    [0xc9] = OK | F_D64,
    [0xca] = OK | IW,
    [0xcb] = OK,
    [0xcc] = OK,
    [0xcd] = OK | IB,
    [0xce] = F_I64,
    [0xcf] = OK,
    [0xd0] = OK | M | B,
    [0xd1] = OK | M,
    [0xd2] = OK | M | B,
    [0xd3] = OK | M,
    [0xd4] = F_I64,
    [0xd5] = F_I64,
    [0xd6] = F_I64,
    [0xd7] = OK,
    [0xd8] = OK | M | F_GRP(G_D8),
    [0xd9] = OK | M | F_GRP(G_D9),
    [0xda] = OK | M | F_GRP(G_DA),
    [0xdb] = OK | M | F_GRP(G_DB),
    [0xdc] = OK | M | F_GRP(G_DC),
    [0xdd] = OK | M | F_GRP(G_DD),
    [0xde] = OK | M | F_GRP(G_DE),
    [0xdf] = OK | M | F_GRP(G_DF),
    [0xe0 ... 0xe3] = OK | JB | F_F64,
    [0xe4] = OK | B | IB,
    [0xe5] = OK | IB | F_NOREXW,
    [0xe6] = OK | B | IB,
    [0xe7] = OK | IB | F_NOREXW,
    [0xe8] = OK | JZ | F_F64,
    [0xe9] = OK | JZ | F_F64,
    [0xea] = F_I64,
    [0xeb] = OK | JB | F_F64,
    [0xec] = OK | B,
    [0xed] = OK | F_NOREXW,
    [0xee] = OK | B,
    [0xef] = OK | F_NOREXW,
    [0xf1] = OK,
    [0xf4] = OK,
    [0xf5] = OK,
    [0xf6] = OK | M | B | IB | F_GRP(G_F6),
    [0xf7] = OK | M | IZ | F_GRP(G_F6),
    [0xf8 ... 0xfd] = OK,
    [0xfe] = OK | M | B | F_GRP(G_FE),
    [0xff] = OK | M | F_GRP(G_FF),
};

/* Outside 64-bit mode, for the opcodes marked F_I64/F_O64 above. */
const uint32_t x86_fmt_legacy32[256] = {
    [0x06] = OK,
    [0x07] = OK,
    [0x0e] = OK,
    [0x16] = OK,
    [0x17] = OK,
    [0x1e] = OK,
    [0x1f] = OK,
    [0x27] = OK,
    [0x2f] = OK,
    [0x37] = OK,
    [0x3f] = OK,
    [0x40 ... 0x4f] = OK | F_OPREG,
    [0x60] = OK,
    [0x61] = OK,
    [0x62] = MEM | M, /* BOUND; with mod == 3, EVEX (not decoded) */
    [0x63] = OK | M,  /* ARPL Ew, Gw */
    [0x82] = OK | M | B | IB | F_GRP(G_80),
    [0x9a] = OK | F_IMM(X86_IMM_AP),
    [0xc4] = MEM | M,
    [0xc5] = MEM | M, /* LES, LDS; with mod == 3, VEX (not decoded) */
    [0xce] = OK,
    [0xd4] = OK | IB,
    [0xd5] = OK | IB,
    [0xd6] = OK,
    [0xea] = OK | F_IMM(X86_IMM_AP),
};

const uint32_t x86_fmt_0f[256] = {
    [0x00] = OK | M | F_GRP(G_0F00),
    [0x01] = OK | M | F_GRP(G_0F01) | F_PFX_SSE,
    [0x02] = OK | M,
    [0x03] = OK | M,
    [0x05 ... 0x08] = OK,    /* SYSCALL, CLTS, SYSRET (AMD: also outside 64-bit mode), INVD */
    [0x09] = OK | F_PFX_SEL, /* F3: WBNOINVD */
    [0x0b] = OK,
    [0x0d] = OK | M | F_GRP(G_0F0D),
    /* 0F 0E FEMMS and 0F 0F 3DNow!: gone from AMD CPUs since family 15h,
     * never on Intel: #UD. */
    [0x10] = SSE2(ALL),
    [0x11] = SSE2(ALL),
    [0x12] = SSE(ALL, N | S | D),
    [0x13] = SSE(N | P, 0),
    [0x14] = SSE2(N | P),
    [0x15] = SSE2(N | P),
    [0x16] = SSE(N | P | S, N | S),
    [0x17] = SSE(N | P, 0),
    [0x18] = OK | M | F_GRP(G_0F18),
    [0x19 ... 0x1f] = OK | M, /* hint NOPs (and what MPX, CET, CLDEMOTE put there) */
    /* MOV from/to CR and DR; the register number is checked in
     * decode_special(). AMD's LOCK MOV CR0 alias for CR8 is #UD here, as on
     * Intel. */
    [0x20 ... 0x23] = OK | M | F_GRP(G_0FCR) | F_SPECIAL,
    [0x28] = SSE2(N | P),
    [0x29] = SSE2(N | P),
    [0x2a] = SSE2(ALL),
    [0x2b] = SSE(ALL, 0),
    [0x2c] = SSE2(ALL),
    [0x2d] = SSE2(ALL),
    [0x2e] = SSE2(N | P),
    [0x2f] = SSE2(N | P),
    [0x30 ... 0x35] = OK,
    [0x37] = F_PFX_SSE | F_VREG(N), /* GETSEC */
    [0x40 ... 0x4f] = OK | M,
    [0x50] = SSE(0, N | P),
    [0x51] = SSE2(ALL),
    [0x52] = SSE2(N | S),
    [0x53] = SSE2(N | S),
    [0x54 ... 0x57] = SSE2(N | P),
    [0x58 ... 0x5a] = SSE2(ALL),
    [0x5b] = SSE2(N | P | S),
    [0x5c ... 0x5f] = SSE2(ALL),
    [0x60 ... 0x6b] = SSE2(N | P),
    [0x6c] = SSE2(P),
    [0x6d] = SSE2(P),
    [0x6e] = SSE2(N | P),
    [0x6f] = SSE2(N | P | S),
    [0x70] = SSE2(ALL) | IB,
    [0x71] = SSE(ALL, ALL) | IB | F_GRP(G_0F71),
    [0x72] = SSE(ALL, ALL) | IB | F_GRP(G_0F71),
    [0x73] = SSE(ALL, ALL) | IB | F_GRP(G_0F73),
    [0x74 ... 0x76] = SSE2(N | P),
    [0x77] = F_PFX_SSE | F_VREG(N),         /* EMMS */
    [0x78] = SSE(N, N | P | D) | F_SPECIAL, /* VMREAD; 66: EXTRQ ib, ib; F2: INSERTQ ib, ib */
    [0x79] = SSE(N, N | P | D),             /* VMWRITE; 66: EXTRQ; F2: INSERTQ */
    [0x7c] = SSE2(P | D),
    [0x7d] = SSE2(P | D),
    [0x7e] = SSE2(N | P | S),
    [0x7f] = SSE2(N | P | S),
    [0x80 ... 0x8f] = OK | JZ | F_F64,
    [0x90 ... 0x9f] = OK | M | F_RMBYTE,
    [0xa0] = OK | F_D64,
    [0xa1] = OK | F_D64,
    [0xa2] = OK,
    [0xa3] = OK | M,
    [0xa4] = OK | M | IB,
    [0xa5] = OK | M,
    [0xa8] = OK | F_D64,
    [0xa9] = OK | F_D64,
    [0xaa] = OK,
    [0xab] = OK | M | LK,
    [0xac] = OK | M | IB,
    [0xad] = OK | M,
    [0xae] = OK | M | F_GRP(G_0FAE) | F_PFX_SSE,
    [0xaf] = OK | M,
    [0xb0] = OK | M | B | LK,
    [0xb1] = OK | M | LK,
    [0xb2] = MEM | M,
    [0xb3] = OK | M | LK,
    [0xb4] = MEM | M,
    [0xb5] = MEM | M,
    [0xb6] = OK | M | F_RMBYTE,
    [0xb7] = OK | M,
    [0xb8] = F_PFX_SEL | M | F_VMEM(S) | F_VREG(S), /* POPCNT; without F3: JMPE (IA-64) */
    [0xb9] = OK | M,                                /* UD1 */
    [0xba] = OK | M | IB | F_GRP(G_0FBA),
    [0xbb] = OK | M | LK,
    [0xbc] = OK | M | F_PFX_SEL,
    [0xbd] = OK | M | F_PFX_SEL, /* F3: TZCNT, LZCNT */
    [0xbe] = OK | M | F_RMBYTE,
    [0xbf] = OK | M,
    [0xc0] = OK | M | B | LK,
    [0xc1] = OK | M | LK,
    [0xc2] = SSE2(ALL) | IB,
    [0xc3] = SSE(N, 0),
    [0xc4] = SSE2(N | P) | IB,
    [0xc5] = SSE(0, N | P) | IB,
    [0xc6] = SSE2(N | P) | IB,
    [0xc7] = OK | M | F_GRP(G_0FC7) | F_PFX_SSE,
    [0xc8 ... 0xcf] = OK | F_OPREG,
    [0xd0] = SSE2(P | D),
    [0xd1 ... 0xd5] = SSE2(N | P),
    [0xd6] = SSE(P, P | S | D),
    [0xd7] = SSE(0, N | P),
    [0xd8 ... 0xe5] = SSE2(N | P),
    [0xe6] = SSE2(P | S | D),
    [0xe7] = SSE(N | P, 0),
    [0xe8 ... 0xef] = SSE2(N | P),
    [0xf0] = SSE(D, 0),
    [0xf1 ... 0xf6] = SSE2(N | P),
    [0xf7] = SSE(0, N | P),
    [0xf8 ... 0xfe] = SSE2(N | P),
    [0xff] = OK | M, /* UD0 */
};

const uint32_t x86_fmt_0f38[256] = {
    [0x00 ... 0x0b] = SSE2(N | P),
    [0x10] = SSE2(P),
    [0x14] = SSE2(P),
    [0x15] = SSE2(P),
    [0x17] = SSE2(P),
    [0x1c ... 0x1e] = SSE2(N | P),
    [0x20 ... 0x25] = SSE2(P),
    [0x28] = SSE2(P),
    [0x29] = SSE2(P),
    [0x2a] = SSE(P, 0),
    [0x2b] = SSE2(P),
    [0x30 ... 0x35] = SSE2(P),
    [0x37 ... 0x41] = SSE2(P),
    [0x80 ... 0x82] = SSE(P, 0), /* INVEPT, INVVPID, INVPCID */
    [0xc8 ... 0xcd] = SSE2(N),   /* SHA */
    [0xcf] = SSE2(P),            /* GF2P8MULB */
    /* AES; F3: Key Locker */
    [0xd8] = SSE(S, 0) | F_GRP(G_0F38D8),
    [0xdb] = SSE2(P),
    [0xdc] = SSE2(P | S),
    [0xdd ... 0xdf] = SSE(P | S, P),
    [0xfa] = SSE(0, S),
    [0xfb] = SSE(0, S), /* ENCODEKEY128/256 */
    /* MOVBE (66 is its operand size); F2: CRC32 */
    [0xf0] = F_PFX_SEL | M | F_RMBYTE | F_VMEM(N | D) | F_VREG(D),
    [0xf1] = F_PFX_SEL | M | F_VMEM(N | D) | F_VREG(D),
    [0xf5] = SSE(P, 0),             /* WRUSS */
    [0xf6] = SSE(N | P | S, P | S), /* WRSS; 66: ADCX; F3: ADOX */
    [0xf8] = SSE(P | S | D, 0),     /* MOVDIR64B, ENQCMDS, ENQCMD */
    [0xf9] = SSE(N, 0),             /* MOVDIRI */
};

const uint32_t x86_fmt_0f3a[256] = {
    [0x08 ... 0x0e] = SSE2(P) | IB, [0x0f] = SSE2(N | P) | IB,
    [0x14 ... 0x17] = SSE2(P) | IB, [0x20 ... 0x22] = SSE2(P) | IB,
    [0x40 ... 0x42] = SSE2(P) | IB, [0x44] = SSE2(P) | IB,
    [0x60 ... 0x63] = SSE2(P) | IB, [0xcc] = SSE2(N) | IB,
    [0xce] = SSE2(P) | IB,          [0xcf] = SSE2(P) | IB,
    [0xdf] = SSE2(P) | IB,          [0xf0] = SSE(0, S) | IB | F_GRP(G_0F3AF0), /* HRESET */
};

/* Valid-nibble shorthands for groups: memory / register / both, all columns. */
#define GM           0x0f
#define GR           0xf0
#define GMR          0xff
#define GV(mem, reg) ((uint8_t)((mem) | (reg) << 4))

const struct x86_group x86_groups[] = {
    [G_80] = {{GMR, GMR, GMR, GMR, GMR, GMR, GMR, GMR}, .lock = 0x7f, .imm = 0xff},
    [G_8C] = {{GMR, GMR, GMR, GMR, GMR, GMR}},
    [G_8E] = {{GMR, 0, GMR, GMR, GMR, GMR}},
    [G_8F] = {{GMR}, .d64 = 0x01},
    /* /0 MOV; /7 with rm = 0: XABORT ib / XBEGIN rel */
    [G_C6] = {{GMR, 0, 0, 0, 0, 0, 0, GR}, .imm = 0x81, .rm_table = R_C6},
    [G_C7] = {{GMR, 0, 0, 0, 0, 0, 0, GR}, .imm = 0x81, .rm_table = R_C6},
    /* /0 TEST and /1 (its alias) take the immediate; NOT, NEG lock */
    [G_F6] = {{GMR, GMR, GMR, GMR, GMR, GMR, GMR, GMR}, .lock = 0x0c, .imm = 0x03},
    [G_FE] = {{GMR, GMR}, .lock = 0x03},
    /* INC, DEC, CALL, CALLF, JMP, JMPF, PUSH */
    [G_FF] = {{GMR, GMR, GMR, GM, GMR, GM, GMR}, .lock = 0x03, .f64 = 0x14, .d64 = 0x40},
    [G_D8] = {{GMR, GMR, GMR, GMR, GMR, GMR, GMR, GMR}},
    [G_D9] = {{GM, 0, GM, GM, GM, GM, GM, GM}, .rm_table = R_D9},
    [G_DA] = {{GM, GM, GM, GM, GM, GM, GM, GM}, .rm_table = R_DA},
    [G_DB] = {{GM, GM, GM, GM, 0, GM, 0, GM}, .rm_table = R_DB},
    [G_DC] = {{GMR, GMR, GMR, GMR, GMR, GMR, GMR, GMR}},
    [G_DD] = {{GM, GM, GM, GM, GM, 0, GM, GM}, .rm_table = R_DD},
    [G_DE] = {{GM, GM, GM, GM, GM, GM, GM, GM}, .rm_table = R_DE},
    [G_DF] = {{GM, GM, GM, GM, GM, GM, GM, GM}, .rm_table = R_DF},
    [G_0F00] = {{GMR, GMR, GMR, GMR, GMR, GMR}},
    /* SGDT SIDT LGDT LIDT SMSW (RSTORSSP) LMSW INVLPG; mod == 3 by rm */
    [G_0F01] = {{GM, GM, GM, GM, GM, GV(S, 0), GM, GM},
                .rm_table = R_0F01,
                .flags = G_OSZ66,
                .rm_o64 = R_0F01_O64},
    /* PREFETCH/PREFETCHW (AMD: every reg); register forms are #UD on the host */
    [G_0F0D] = {{GM, GM, GM, GM, GM, GM, GM, GM}},
    /* PREFETCHh and reserved hint NOPs: every form */
    [G_0F18] = {{GMR, GMR, GMR, GMR, GMR, GMR, GMR, GMR}},
    /* MOV CR/DR: the register number is checked in decode_special() */
    [G_0FCR] = {{GMR, GMR, GMR, GMR, GMR, GMR, GMR, GMR}, .flags = G_FORCE_REG},
    [G_0F71] = {{0, 0, GV(0, N | P), 0, GV(0, N | P), 0, GV(0, N | P), 0}, .imm = 0xff},
    [G_0F73] = {{0, 0, GV(0, N | P), GV(0, P), 0, 0, GV(0, N | P), GV(0, P)}, .imm = 0xff},
    /* FXSAVE FXRSTOR LDMXCSR STMXCSR XSAVE XRSTOR XSAVEOPT/CLWB CLFLUSH/CLFLUSHOPT;
     * registers: F3 RDFSBASE.. WRGSBASE, INCSSP; LFENCE MFENCE SFENCE,
     * 66 TPAUSE, F3 UMONITOR, F2 UMWAIT */
    [G_0FAE] = {{GV(N, S), GV(N, S), GV(N, S), GV(N, S), GV(N | S, S), GV(N, N | S),
                 GV(N | P | S, N | P | S | D), GV(N | P, N)},
                .rm_o64 = R_0FAE_O64},
    [G_0FBA] = {{0, 0, 0, 0, GMR, GMR, GMR, GMR}, .lock = 0xe0, .imm = 0xff},
    /* CMPXCHG8B/16B, XRSTORS, XSAVEC, XSAVES, VMPTRLD/VMCLEAR/VMXON, VMPTRST;
     * registers: RDRAND, F3 SENDUIPI; RDSEED, F3 RDPID */
    [G_0FC7] = {{0, GV(ALL, 0), 0, GV(N, 0), GV(N, 0), GV(N, 0), GV(N | P | S, N | P | S),
                 GV(N, N | P | S)},
                .lock = 0x02,
                .flags = G_OSZ66,
                .rm_o64 = R_0FC7_O64},
    /* Key Locker AESENCWIDE128KL.. AESDECWIDE256KL */
    [G_0F38D8] = {{GV(S, 0), GV(S, 0), GV(S, 0), GV(S, 0)}},
    [G_0F3AF0] = {{0}, .imm = 0xff, .rm_table = R_HRESET},
};

#define BITS(lo, hi) ((~0ULL >> (63 - (hi) + (lo))) << (lo))
#define BIT(b)       (1ULL << (b))
/* Bit of ModRM byte m (mod == 3) in an rm table. */
#define MB(m)       BIT((m)-0xc0)
#define MBS(lo, hi) BITS((lo)-0xc0, (hi)-0xc0)

const struct x86_group_rm x86_group_rm[] = {
    [R_C6] = {{MBS(0xc0, 0xc7) | MB(0xf8)}},
    /* 0F 01 with mod == 3. SVM (D8-DF), SMSW (E0-E7), LMSW (F0-F7), SWAPGS,
     * RDTSCP, CLZERO, RDPRU take any prefix; VMX, SGX, MONITOR/MWAIT,
     * XGETBV.. only none. */
    [R_0F01] = {{
        /* none */
        MBS(0xc0, 0xc5) | MBS(0xc8, 0xcb) | MB(0xcf) | MBS(0xd0, 0xd1) | MBS(0xd4, 0xd7) |
            MBS(0xd8, 0xdf) | MBS(0xe0, 0xe7) | MB(0xe8) | MBS(0xee, 0xef) | MBS(0xf0, 0xf7) |
            MBS(0xf8, 0xff),
        /* 66: TDX */
        MBS(0xcc, 0xcf) | MBS(0xd8, 0xdf) | MBS(0xe0, 0xe7) | MBS(0xf0, 0xf7) | MBS(0xf8, 0xf9) |
            MBS(0xfc, 0xfd),
        /* F3: SETSSBSY, SAVEPREVSSP, UIRET.. STUI, MCOMMIT, RMPADJUST, PSMASH */
        MBS(0xd8, 0xdf) | MBS(0xe0, 0xe7) | MB(0xe8) | MB(0xea) | MBS(0xec, 0xef) |
            MBS(0xf0, 0xf7) | MBS(0xf8, 0xfa) | MBS(0xfc, 0xff),
        /* F2: XSUSLDTRK, XRESLDTRK, RMPUPDATE, PVALIDATE */
        MBS(0xd8, 0xdf) | MBS(0xe0, 0xe7) | MBS(0xe8, 0xe9) | MBS(0xf0, 0xf7) | MBS(0xf8, 0xf9) |
            MBS(0xfc, 0xff),
    }},
    [R_D9] = {{MBS(0xc0, 0xd0) | MBS(0xd8, 0xe1) | MBS(0xe4, 0xe5) | MBS(0xe8, 0xee) |
               MBS(0xf0, 0xff)}},
    [R_DA] = {{MBS(0xc0, 0xdf) | MB(0xe9)}},
    [R_DB] = {{MBS(0xc0, 0xe4) | MBS(0xe8, 0xf7)}},
    [R_DD] = {{MBS(0xc0, 0xef)}},
    [R_DE] = {{MBS(0xc0, 0xd7) | MB(0xd9) | MBS(0xe0, 0xff)}},
    [R_DF] = {{MBS(0xc0, 0xe0) | MBS(0xe8, 0xf7)}},
    [R_HRESET] = {{0, 0, MB(0xc0), 0}},
    /* Register forms valid only in 64-bit mode: SWAPGS, TDX, UINTR, SEV-SNP;
     * RDFSBASE..WRGSBASE; SENDUIPI. */
    [R_0F01_O64] = {{MB(0xf8), MBS(0xcd, 0xcf) | MB(0xf8),
                     MBS(0xec, 0xef) | MB(0xf8) | MBS(0xfe, 0xff), MB(0xf8) | MB(0xfe)}},
    [R_0FAE_O64] = {{0, 0, MBS(0xc0, 0xdf), 0}},
    [R_0FC7_O64] = {{0, 0, MBS(0xf0, 0xf7), 0}},
};

const uint8_t x86_prefix_kind[256] = {
    [0x26] = X86_PK_SEG, [0x2e] = X86_PK_SEG,  [0x36] = X86_PK_SEG,          [0x3e] = X86_PK_SEG,
    [0x64] = X86_PK_SEG, [0x65] = X86_PK_SEG,  [0x40 ... 0x4f] = X86_PK_REX, [0x66] = X86_PK_66,
    [0x67] = X86_PK_67,  [0xf0] = X86_PK_LOCK, [0xf2] = X86_PK_REPNE,        [0xf3] = X86_PK_REP,
};
