/* cpudiff generator internals: the encoder and the helpers templates use.
 *
 * A template's gen function fills g->e (the instruction's encoding) by
 * calling the helpers below, and states what the instruction needs to run
 * as intended as requirements: "register R holds V", "memory at A holds
 * these bytes". For the first instruction of a sample the requirements
 * become the initial state; for later instructions of a sequence the
 * generator emits flag-neutral MOVs in front of the instruction. This is
 * how memory operands always point into the data area and stack operations
 * always have a valid RSP, even in random sequences.
 */
#ifndef XUNI_TESTS_CPUDIFF_GEN_H
#define XUNI_TESTS_CPUDIFF_GEN_H

#include "cpudiff.h"

#define R_RAX 0
#define R_RCX 1
#define R_RDX 2
#define R_RBX 3
#define R_RSP 4
#define R_RBP 5
#define R_RSI 6
#define R_RDI 7
#define R_AH  16 /* AH, CH, DH, BH = 16..19 (byte operands without REX) */

/* A branch target: an absolute address (an int3 pad), or the start of a
 * later unit of the sample (unit == nunits: the final int3). */
struct cd_target {
    int8_t unit; /* -1: addr */
    uint64_t addr;
};

struct cd_enc {
    uint8_t pfx[8];
    uint8_t npfx;
    bool w, force_rex, no_rex;
    uint8_t rexr, rexx, rexb;
    uint8_t map, opc;
    bool has_modrm, has_sib, riprel;
    uint8_t mod, reg, rm, scale, index, base;
    uint8_t disp_size;
    int32_t disp;
    uint64_t rip_target;
    uint8_t imm_size, imm2_size, rel_size;
    uint64_t imm, imm2;
    struct cd_target rel;
};

/* XMM: 16 bytes at mbuf[at] for register reg; later units of a sequence
 * load it from the data area with MOVDQU (or, half of the time, keep what
 * earlier units computed). MM: value for mmN (the
 * significand of physical register N); an MMX load would change the x87
 * state, so later units drop it (the register keeps a random value). */
enum cd_req_kind { CD_REQ_REG, CD_REQ_MEM, CD_REQ_XMM, CD_REQ_MM };

struct cd_req {
    uint8_t kind;
    uint8_t reg;
    uint16_t len, at; /* MEM, XMM: len bytes at mbuf[at] */
    int8_t tgt_unit;  /* >= 0: value (REG) / first 8 bytes (MEM) = that unit's address */
    uint64_t value;   /* REG */
    uint64_t addr;    /* MEM */
};

#define CD_MAX_REQ 24

struct cd_gen {
    struct cd_rng *r;
    const struct cd_tmpl *t;
    unsigned unit, nunits;
    bool seq;
    struct cd_enc e;
    struct cd_req req[CD_MAX_REQ];
    unsigned nreq;
    uint32_t claimed; /* GPRs holding a required value */
    uint8_t mbuf[CD_PATCH_BYTES];
    unsigned mlen;
    uint32_t u_in;                  /* flags undefined before this instruction */
    uint32_t undef, defines, reads; /* from the template; gen may refine them */
    bool byteop;                    /* the operand size is 8 bits */
    bool legacy8;                   /* byte operands without REX: AH-BH usable, r8-r15 not */
    bool reject;                    /* this instance cannot be built: try another */
    /* It needs a CPUID feature the emulator does not advertise
     * (--all-features): it runs only if the emulator implements it. */
    bool unclaimed;
    uint64_t pad;
    uint64_t fz_lo, fz_hi; /* see cd_unit (addresses here) */
    bool fz_fpu;
    int8_t tgt_unit;  /* a later unit this instruction may branch to */
    int8_t fetch_cut; /* >= 0: place the sample with only this many bytes in the code page */
    uint8_t raw[16];  /* random family: the bytes as they are */
    unsigned raw_len;
    uint8_t img; /* enum cd_img: an FPU state image stored at img_addr */
    uint64_t img_addr;
};

/* Memory operand flags. */
#define CD_M_NOFAULT (1u << 0) /* stay inside the data area */
#define CD_M_ALIGN   (1u << 1) /* natural alignment (LOCK: no split locks) */
#define CD_M_NORIP   (1u << 2) /* no RIP-relative form */
#define CD_M_NOA32   (1u << 3) /* no 67 prefix */

/* Operand size: picks one of t->sizes, emits 66 / REX.W; for byte
 * operands decides between legacy (AH-BH) and REX register sets. */
unsigned cd_osz(struct cd_gen *g, unsigned sizes);
void cd_opsize(struct cd_gen *g, unsigned osz);
void cd_prefix(struct cd_gen *g, uint8_t p);
void cd_opcode(struct cd_gen *g, unsigned op); /* map << 8 | byte */

/* A random register usable at operand size osz, not in avoid (bit n =
 * register n; AH-BH count as their full registers). */
unsigned cd_pick_reg(struct cd_gen *g, unsigned osz, uint32_t avoid);
uint32_t cd_regbit(unsigned reg);
void cd_modrm_reg(struct cd_gen *g, unsigned reg); /* ModRM.reg = register */
void cd_modrm_ext(struct cd_gen *g, unsigned ext); /* ModRM.reg = /ext */
void cd_rm_reg(struct cd_gen *g, unsigned reg);    /* ModRM.rm = register */
void cd_opreg(struct cd_gen *g, unsigned reg);     /* opcode + register (50+r) */
/* ModRM.rm = memory: a size-byte access at a random address in (or, unless
 * NOFAULT, sometimes just past) the data area; returns the address. */
uint64_t cd_mem(struct cd_gen *g, unsigned size, unsigned mflags);
/* Just the address cd_mem would pick. */
uint64_t cd_pick_addr(struct cd_gen *g, unsigned size, unsigned mflags);
/* The same with a given address. */
void cd_mem_at(struct cd_gen *g, uint64_t addr, unsigned mflags);
/* r/m operand: register or memory (chance in 1/2 of memory). */
uint64_t cd_rm(struct cd_gen *g, unsigned osz, bool mem, unsigned mflags, uint32_t avoid);

void cd_imm(struct cd_gen *g, unsigned size, uint64_t v);
void cd_imm2(struct cd_gen *g, unsigned size, uint64_t v);
/* A relative branch of rel_size bytes to t. */
void cd_rel(struct cd_gen *g, unsigned rel_size, struct cd_target t);
/* Pick a branch target reachable with rel_size (0: absolute). */
struct cd_target cd_branch_target(struct cd_gen *g, unsigned rel_size);

void cd_req_reg(struct cd_gen *g, unsigned reg, uint64_t value);
void cd_req_reg_target(struct cd_gen *g, unsigned reg, struct cd_target t);
void cd_req_mem(struct cd_gen *g, uint64_t addr, const void *bytes, unsigned len);
void cd_req_mem_target(struct cd_gen *g, uint64_t addr, struct cd_target t);
/* The value register `reg` will hold when the instruction runs, if it
 * is required (else false). */
bool cd_req_value(const struct cd_gen *g, unsigned reg, uint64_t *v);

/* Values that depend on where later units land, patched once the whole
 * sample is placed: pos is a code offset (REL*, ABS*), a register
 * (GPR) or a patch_bytes offset (PATCH); base the end of the instruction
 * for relative ones. */
enum { CD_FIX_REL8, CD_FIX_REL32, CD_FIX_ABS64, CD_FIX_ABS32, CD_FIX_GPR, CD_FIX_PATCH };
struct cd_fix {
    uint8_t kind;
    int8_t unit;
    uint16_t pos;
    uint64_t base;
};
struct cd_fixups {
    struct cd_fix f[48];
    unsigned n;
    bool overflow;
};
void cd_fixup_add(struct cd_fixups *fx, int kind, int unit, unsigned pos, uint64_t base);

/* Encode e at address at into out (code offset out_off from CD_ENTRY);
 * returns the length, 0 if a relative target is out of reach. */
unsigned cd_encode(const struct cd_enc *e, uint64_t at, uint8_t *out, struct cd_fixups *fx,
                   unsigned out_off);

/* Stack bytes below sp that a faulting ENTER may leave written. */
void cd_fault_zone_below(struct cd_gen *g, uint64_t sp);

/* Condition code flags read (cc 0-15). */
uint32_t cd_cc_reads(unsigned cc);

/* ---- FP and SIMD (fp.c) -------------------------------------------------- */

/* Structured values: signed zeros, denormals, infinities, quiet and
 * signaling NaNs with payloads, values near the largest and smallest
 * normals, small integers, halves (rounding), the integer conversion
 * limits, and random bits. */
uint32_t cd_f32(struct cd_rng *r);
uint64_t cd_f64(struct cd_rng *r);
void cd_f80(struct cd_rng *r, uint8_t out[10]); /* also the unsupported x87 encodings */
/* An integer lane of `bits` bits: limits, 0, +-1, sign bits, small, random. */
uint64_t cd_lane(struct cd_rng *r, unsigned bits);

/* What a register or memory operand holds (cd_fill). */
enum cd_vk {
    CD_V_BITS, /* random bits */
    CD_V_F32,
    CD_V_F64,
    CD_V_I8,
    CD_V_I16,
    CD_V_I32,
    CD_V_I64,
    CD_V_MIX,   /* one of the above per operand */
    CD_V_COUNT, /* a shift count: 64-bit, mostly small */
    CD_V_MXCSR, /* an MXCSR image (LDMXCSR), rarely with reserved bits */
};
void cd_fill(struct cd_rng *r, unsigned vk, uint8_t *dst, unsigned len);

/* The structured x87/SSE state of FP family samples. */
void cd_fp_state(struct cd_rng *r, struct cd_fxsave *fx);
/* A valid MXCSR / FCW value (reserved bits clear). */
uint32_t cd_mxcsr(struct cd_rng *r);
uint16_t cd_fcw(struct cd_rng *r);
/* An FSW for fcw: random condition codes and TOP, sticky flags mostly
 * masked ones, ES and B consistent with them unless `loose`. */
uint16_t cd_fsw(struct cd_rng *r, uint16_t fcw, bool loose);

void cd_req_xmm(struct cd_gen *g, unsigned reg, const uint8_t bytes[16]);
void cd_req_mm(struct cd_gen *g, unsigned reg, uint64_t value);
/* An 8-bit immediate: small, an edge (7, 8, 15, 16, 31, 32, 63, 64, ...)
 * or random. */
uint8_t cd_imm8(struct cd_rng *r);

/* SSE/MMX templates with the generic generator cd_gen_sse pack their
 * encoding into the template's fields:
 *   op      map << 8 | opcode
 *   ext     the mandatory prefix (CD_P_*) | CD_EXT(n) for a /n opcode
 *   sizes   the memory operand's size in bytes (GPR operands: 0 = 4 or 8
 *           by REX.W)
 *   form    CD_FORM(reg kind, rm kind), kinds CD_K_*
 *   tflags  CD_T_* below, and the value kinds CD_T_VK(source, dest)
 *           (enum cd_vk; dest 0: as the source)
 * A memory operand is used half of the time unless CD_T_REG/CD_T_MEM say
 * otherwise; CD_T_A16 ones are 16-byte aligned except now and then (the
 * instruction must raise #GP(0) then). REX.W selects the GPR operand's
 * width with CD_T_W, and is otherwise set now and then (it must be
 * ignored). */
#define CD_P_NONE 0
#define CD_P_66   1
#define CD_P_F3   2
#define CD_P_F2   3
#define CD_EXT(n) (0x20 | (n) << 2)
enum { CD_K_NONE, CD_K_XMM, CD_K_MM, CD_K_GPR, CD_K_MEM };
#define CD_FORM(reg, rm) ((reg) | (rm) << 4)
#define CD_T_A16         (1u << 2)
#define CD_T_IB          (1u << 3)
#define CD_T_REG         (1u << 4)
#define CD_T_MEM         (1u << 5)
#define CD_T_W           (1u << 6)
#define CD_T_NOW         (1u << 7) /* no random REX.W: it changes the instruction */
#define CD_T_VK(src, d)  ((src) << 8 | (d) << 12)
void cd_gen_sse(struct cd_gen *g, const struct cd_tmpl *t);

/* Convenient flag sets. */
#define F_CF  X86_FLAG_CF
#define F_PF  X86_FLAG_PF
#define F_AF  X86_FLAG_AF
#define F_ZF  X86_FLAG_ZF
#define F_SF  X86_FLAG_SF
#define F_OF  X86_FLAG_OF
#define F_ALL CD_FLAGS_ARITH

#endif
