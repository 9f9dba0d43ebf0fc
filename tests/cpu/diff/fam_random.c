/* cpudiff templates: the "random" family. Random instruction bytes
 * (random prefixes, REX, an opcode from the one-, two- or three-byte maps,
 * random ModRM/SIB/displacement/immediate bytes) with registers pointing
 * into the data area. libzydis decodes them; an encoding it finds valid is
 * kept only if it is a user-level general-purpose instruction the emulated
 * CPU claims (CPUID), changes no segment or control state, does not leave
 * the block, and touches memory only near the data area (its effective
 * addresses computed from the initial registers). An encoding Zydis finds
 * invalid is kept too -- both CPUs must agree, normally on #UD: if the
 * emulator's decoder accepts it, its length and memory operand are checked
 * the same way; if not, the bytes are cut after the ModRM byte or soon
 * after, so whatever the host makes of them runs into the int3s.
 *
 * The "fprandom" family does the same in the x87, MMX and SSE opcode
 * space (D8-DF, the SSE columns of 0F, 0F 38, 0F 3A) over the structured
 * FP state, keeping the extensions the emulated CPU claims; the condition
 * codes Zydis calls undefined are masked, and FPU state images stored to
 * memory are compared without their pointers and reserved bytes. */
#include <Zydis/Zydis.h>
#include <string.h>

#include "cpu/x86/insn.h"
#include "gen.h"

#pragma weak x86_decode

static ZydisDecoder decoder;
static bool decoder_ready;

/* Within reach of the data area (its guards included), overflow-safe. */
static bool near_data(uint64_t a)
{
    return a >= CD_DATA - 0x10000 && a <= CD_WINDOW_END - 0x1000 - 64;
}

static bool category_ok(ZydisInstructionCategory c)
{
    switch (c) {
    case ZYDIS_CATEGORY_COND_BR:
    case ZYDIS_CATEGORY_UNCOND_BR:
    case ZYDIS_CATEGORY_CALL:
    case ZYDIS_CATEGORY_RET:
    case ZYDIS_CATEGORY_SYSCALL:
    case ZYDIS_CATEGORY_SYSRET:
    case ZYDIS_CATEGORY_INTERRUPT:
    case ZYDIS_CATEGORY_IO:
    case ZYDIS_CATEGORY_IOSTRINGOP:
    case ZYDIS_CATEGORY_SYSTEM:
    case ZYDIS_CATEGORY_SEGOP:
    case ZYDIS_CATEGORY_RDRAND:
    case ZYDIS_CATEGORY_RDSEED:
    case ZYDIS_CATEGORY_RDPID:
    case ZYDIS_CATEGORY_RDWRFSGS:
    case ZYDIS_CATEGORY_RDPRU:
        return false;
    default:
        return true;
    }
}

/* The feature an x87/MMX/SSE instruction needs (fprandom): CD_FEAT_NONE
 * for the baseline, -1 for an extension the emulated CPU lacks. */
static int fp_feature(const ZydisDecodedInstruction *in)
{
    switch (in->meta.isa_ext) {
    case ZYDIS_ISA_EXT_X87:
    case ZYDIS_ISA_EXT_MMX:
    case ZYDIS_ISA_EXT_SSE:
    case ZYDIS_ISA_EXT_SSE2:
        return CD_FEAT_NONE;
    case ZYDIS_ISA_EXT_SSE3:
        return CD_FEAT_SSE3;
    case ZYDIS_ISA_EXT_SSSE3:
        return CD_FEAT_SSSE3;
    case ZYDIS_ISA_EXT_SSE4:
        return in->meta.isa_set == ZYDIS_ISA_SET_SSE42 ? CD_FEAT_SSE42 : CD_FEAT_SSE41;
    case ZYDIS_ISA_EXT_SSE4A:
        return CD_FEAT_SSE4A;
    case ZYDIS_ISA_EXT_AES:
        return CD_FEAT_AES;
    case ZYDIS_ISA_EXT_PCLMULQDQ:
        return CD_FEAT_PCLMUL;
    default:
        return -1;
    }
}

/* Is the instruction's ISA one the emulated CPU implements? */
static bool isa_ok(const ZydisDecodedInstruction *in, bool fp)
{
    if (fp && fp_feature(in) >= 0)
        return cd_feature_ok((enum cd_feature)fp_feature(in));
    switch (in->meta.isa_set) {
    case ZYDIS_ISA_SET_POPCNT:
        return cd_feature_ok(CD_FEAT_POPCNT);
    case ZYDIS_ISA_SET_CMPXCHG16B:
        return cd_feature_ok(CD_FEAT_CX16);
    case ZYDIS_ISA_SET_LAHF:
        return cd_feature_ok(CD_FEAT_LAHF);
    default:
        break;
    }
    switch (in->meta.isa_ext) {
    case ZYDIS_ISA_EXT_BASE:
    case ZYDIS_ISA_EXT_LONGMODE:
    case ZYDIS_ISA_EXT_PAUSE:
        return true;
    case ZYDIS_ISA_EXT_LZCNT:
        return cd_feature_ok(CD_FEAT_LZCNT);
    case ZYDIS_ISA_EXT_BMI1:
        return cd_feature_ok(CD_FEAT_BMI1);
    case ZYDIS_ISA_EXT_MOVBE:
        return cd_feature_ok(CD_FEAT_MOVBE);
    case ZYDIS_ISA_EXT_CLFSH:
        return cd_feature_ok(CD_FEAT_CLFSH);
    case ZYDIS_ISA_EXT_AMD3DNOW_PREFETCH:
        return cd_feature_ok(CD_FEAT_PRFCHW);
    default:
        return false;
    }
}

static bool mnemonic_ok(ZydisMnemonic m)
{
    switch (m) {
    case ZYDIS_MNEMONIC_CPUID: /* differs by design */
    case ZYDIS_MNEMONIC_RDTSC:
    case ZYDIS_MNEMONIC_RDTSCP:
    case ZYDIS_MNEMONIC_RDPMC:
    case ZYDIS_MNEMONIC_XGETBV:
    case ZYDIS_MNEMONIC_POPF: /* could set TF or AC: the stack family covers it */
    case ZYDIS_MNEMONIC_POPFD:
    case ZYDIS_MNEMONIC_POPFQ:
    case ZYDIS_MNEMONIC_IRET:
    case ZYDIS_MNEMONIC_IRETD:
    case ZYDIS_MNEMONIC_IRETQ:
    case ZYDIS_MNEMONIC_LAR:
    case ZYDIS_MNEMONIC_LSL:
    case ZYDIS_MNEMONIC_VERR:
    case ZYDIS_MNEMONIC_VERW:
    case ZYDIS_MNEMONIC_SLDT:
    case ZYDIS_MNEMONIC_STR:
    case ZYDIS_MNEMONIC_SGDT:
    case ZYDIS_MNEMONIC_SIDT:
    case ZYDIS_MNEMONIC_SMSW:
    case ZYDIS_MNEMONIC_LMSW:
    case ZYDIS_MNEMONIC_CLI:
    case ZYDIS_MNEMONIC_STI:
    case ZYDIS_MNEMONIC_HLT:
    case ZYDIS_MNEMONIC_INT:
    case ZYDIS_MNEMONIC_INT1:
    case ZYDIS_MNEMONIC_INTO:
    case ZYDIS_MNEMONIC_SWAPGS:
    case ZYDIS_MNEMONIC_SYSCALL:
        return false;
    default:
        return true;
    }
}

static bool reg_ok(ZydisRegister reg, bool fp)
{
    if (fp && (reg == ZYDIS_REGISTER_X87CONTROL || reg == ZYDIS_REGISTER_X87STATUS ||
               reg == ZYDIS_REGISTER_X87TAG || reg == ZYDIS_REGISTER_MXCSR))
        return true;
    switch (ZydisRegisterGetClass(reg)) {
    case ZYDIS_REGCLASS_X87:
    case ZYDIS_REGCLASS_MMX:
    case ZYDIS_REGCLASS_XMM:
        return fp;
    case ZYDIS_REGCLASS_GPR8:
    case ZYDIS_REGCLASS_GPR16:
    case ZYDIS_REGCLASS_GPR32:
    case ZYDIS_REGCLASS_GPR64:
    case ZYDIS_REGCLASS_FLAGS:
    case ZYDIS_REGCLASS_IP:
        return true;
    default:
        return false;
    }
}

/* The address of a memory operand (false if Zydis cannot tell). */
static bool mem_addr(const ZydisDecodedInstruction *in, const ZydisDecodedOperand *op,
                     const uint64_t *gpr, uint64_t *addr)
{
    static ZydisRegisterContext ctx;
    memset(&ctx, 0, sizeof(ctx));
    for (unsigned r = 0; r <= ZYDIS_REGISTER_MAX_VALUE; r++) {
        ZydisRegisterClass c = ZydisRegisterGetClass((ZydisRegister)r);
        if (c != ZYDIS_REGCLASS_GPR16 && c != ZYDIS_REGCLASS_GPR32 && c != ZYDIS_REGCLASS_GPR64)
            continue;
        ZydisRegister big =
            ZydisRegisterGetLargestEnclosing(ZYDIS_MACHINE_MODE_LONG_64, (ZydisRegister)r);
        ZyanI8 id = ZydisRegisterGetId(big);
        uint64_t v = id >= 0 && id < 16 ? gpr[id] : 0;
        ctx.values[r] = c == ZYDIS_REGCLASS_GPR16   ? (uint16_t)v
                        : c == ZYDIS_REGCLASS_GPR32 ? (uint32_t)v
                                                    : v;
    }
    ctx.values[ZYDIS_REGISTER_RIP] = CD_ENTRY + in->length;
    ctx.values[ZYDIS_REGISTER_EIP] = (uint32_t)(CD_ENTRY + in->length);
    ZyanU64 a;
    if (ZYAN_FAILED(ZydisCalcAbsoluteAddressEx(in, op, CD_ENTRY, &ctx, &a)))
        return false;
    *addr = a;
    return true;
}

/* Every memory access within reach of the data area (guards included)
 * and through DS/SS/ES/CS only (FS/GS bases differ by design). */
static bool memory_ok(const ZydisDecodedInstruction *in, const ZydisDecodedOperand *op,
                      const uint64_t *gpr)
{
    if (op->mem.segment == ZYDIS_REGISTER_FS || op->mem.segment == ZYDIS_REGISTER_GS)
        return false;
    if (op->mem.type != ZYDIS_MEMOP_TYPE_MEM || in->meta.category == ZYDIS_CATEGORY_NOP ||
        in->meta.category == ZYDIS_CATEGORY_WIDENOP)
        return true; /* LEA-like operands and NOPs access nothing */
    uint64_t a;
    return mem_addr(in, op, gpr, &a) && near_data(a);
}

static bool acceptable(const ZydisDecodedInstruction *in, const ZydisDecodedOperand *ops,
                       const uint64_t *gpr, bool fp)
{
    if ((in->attributes & ZYDIS_ATTRIB_IS_PRIVILEGED) || !category_ok(in->meta.category) ||
        !isa_ok(in, fp) || !mnemonic_ok(in->mnemonic))
        return false;
    /* BT* m, r: the register's bit offset moves the access anywhere (the
     * bit family covers these). */
    if ((in->mnemonic == ZYDIS_MNEMONIC_BT || in->mnemonic == ZYDIS_MNEMONIC_BTS ||
         in->mnemonic == ZYDIS_MNEMONIC_BTR || in->mnemonic == ZYDIS_MNEMONIC_BTC) &&
        ops[0].type == ZYDIS_OPERAND_TYPE_MEMORY && ops[1].type == ZYDIS_OPERAND_TYPE_REGISTER)
        return false;
    for (unsigned i = 0; i < in->operand_count; i++) {
        const ZydisDecodedOperand *op = &ops[i];
        if (op->type == ZYDIS_OPERAND_TYPE_REGISTER && !reg_ok(op->reg.value, fp))
            return false;
        if (op->type == ZYDIS_OPERAND_TYPE_POINTER)
            return false;
        if (op->type == ZYDIS_OPERAND_TYPE_MEMORY && !memory_ok(in, op, gpr))
            return false;
    }
    return true;
}

/* The emulator's view of an encoding Zydis rejects: -1 invalid for it
 * too, 1 valid (length in *len) with its memory operand (if any) near
 * the data area, 0 valid but touching memory elsewhere. */
static int emu_decode(const uint8_t *b, unsigned *len, const uint64_t *gpr)
{
    struct x86_insn in;
    int n = x86_decode ? x86_decode(b, *len, 1, &in) : -1;
    if (n <= 0)
        return -1;
    *len = (unsigned)n;
    if (!(in.flags & X86_I_MEM))
        return 1;
    if (in.seg == X86_FS || in.seg == X86_GS)
        return 0;
    uint64_t a = (uint64_t)(int64_t)in.disp;
    if (in.flags & X86_I_RIPREL)
        a += CD_ENTRY + (unsigned)n;
    else if (in.rm < 16)
        a += gpr[in.rm];
    if (in.index < 16)
        a += gpr[in.index] << in.scale;
    if (in.asz == 2)
        a = (uint32_t)a;
    return near_data(a);
}

/* x87, MMX/SSE and VEX/EVEX/XOP opcode space: not implemented yet, so not
 * tested here even where Zydis calls the encoding invalid. */
static bool fp_simd(unsigned map, unsigned op, unsigned modrm)
{
    if (map == 0)
        return (op >= 0xd8 && op <= 0xdf) || op == 0xc4 || op == 0xc5 || op == 0x62 ||
               (op == 0x8f && (modrm >> 3 & 7));
    if (map == 1)
        return op == 0x0f || (op >= 0x10 && op <= 0x17) || (op >= 0x28 && op <= 0x2f) ||
               (op >= 0x50 && op <= 0x7f) || op == 0xae || (op >= 0xc2 && op <= 0xc6) ||
               op >= 0xd0 || op == 0x38 || op == 0x3a;
    return !(map == 2 && (op == 0xf0 || op == 0xf1));
}

/* 0F xx opcodes of the system level (descriptor tables, MOV CRn/DRn,
 * MSRs, SYSCALL/SYSENTER, cache control, RSM, VMX): not user-level
 * instructions, and some reach host state even when Zydis rejects the
 * encoding (AMD executes LOCK VERW, for one). */
static bool system_op(unsigned op)
{
    return op <= 0x09 || (op >= 0x20 && op <= 0x27) || (op >= 0x30 && op <= 0x37) || op == 0x78 ||
           op == 0x79 || op == 0xa2 || op == 0xaa;
}

static void random_bytes(struct cd_rng *r, uint8_t *b, unsigned *len, unsigned *head, bool *simd)
{
    static const uint8_t pfx[] = {0x66, 0x67, 0xf2, 0xf3, 0xf0, 0x2e, 0x3e, 0x26, 0x36, 0x64, 0x65};
    unsigned n = 0;
    unsigned np = cd_chance(r, 1, 2) ? 0 : 1 + cd_below(r, 3);
    for (unsigned i = 0; i < np; i++)
        b[n++] = pfx[cd_below(r, sizeof(pfx))];
    if (cd_chance(r, 2, 5))
        b[n++] = (uint8_t)(0x40 | cd_below(r, 16));
    unsigned pick = cd_below(r, 20), map = 0;
    if (pick >= 11) {
        b[n++] = 0x0f;
        map = 1;
        if (pick >= 18) {
            b[n++] = pick == 18 ? 0x38 : 0x3a;
            map = pick == 18 ? 2 : 3;
        }
    }
    uint8_t op;
    do /* the opcode itself, not one more prefix */
        op = (uint8_t)cd_rand(r);
    while ((map == 0 &&
            ((op & 0xf0) == 0x40 || op == 0x26 || op == 0x2e || op == 0x36 || op == 0x3e ||
             (op >= 0x64 && op <= 0x67) || op == 0xf0 || op == 0xf2 || op == 0xf3 || op == 0x0f)) ||
           (map == 1 && system_op(op)));
    b[n++] = op;
    uint8_t modrm = (uint8_t)cd_rand(r);
    if (cd_chance(r, 1, 2))
        modrm |= 0xc0;
    b[n++] = modrm;
    *simd = fp_simd(map, op, modrm);
    *head = n;
    while (n < 15)
        b[n++] = (uint8_t)cd_rand(r);
    *len = n;
}

/* fprandom: prefixes, REX, then an opcode from the x87 or SSE space. */
static void random_fp_bytes(struct cd_rng *r, uint8_t *b, unsigned *len, unsigned *head)
{
    static const uint8_t pfx[] = {0x66, 0x66, 0x66, 0xf2, 0xf2, 0xf3, 0xf3,
                                  0x67, 0xf0, 0x2e, 0x3e, 0x26, 0x36};
    static const uint8_t sse[] = {0x10, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x28,
                                  0x29, 0x2a, 0x2b, 0x2c, 0x2d, 0x2e, 0x2f, 0xae, 0xc2,
                                  0xc3, 0xc4, 0xc5, 0xc6, 0x77, 0x78, 0x79, 0x7c, 0x7d};
    unsigned n = 0;
    unsigned np = cd_chance(r, 1, 3) ? 0 : cd_chance(r, 2, 3) ? 1 : 2 + cd_below(r, 2);
    for (unsigned i = 0; i < np; i++)
        b[n++] = pfx[cd_below(r, sizeof(pfx))];
    if (cd_chance(r, 2, 5))
        b[n++] = (uint8_t)(0x40 | cd_below(r, 16));
    unsigned pick = cd_below(r, 8);
    if (pick < 3) {
        b[n++] = (uint8_t)(0xd8 + cd_below(r, 8));
    } else {
        b[n++] = 0x0f;
        if (pick < 6) {
            unsigned k = cd_below(r, sizeof(sse) + 0x50 + 0x30);
            b[n++] = k < sizeof(sse)          ? sse[k]
                     : k < sizeof(sse) + 0x50 ? (uint8_t)(0x50 + k - sizeof(sse))
                                              : (uint8_t)(0xd0 + k - sizeof(sse) - 0x50);
        } else { /* 0F 38 / 0F 3A: mostly opcodes that exist */
            static const uint8_t m2[] = {
                0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a, 0x0b, 0x10, 0x14,
                0x15, 0x17, 0x1c, 0x1d, 0x1e, 0x20, 0x21, 0x22, 0x23, 0x24, 0x25, 0x28, 0x29, 0x2a,
                0x2b, 0x30, 0x31, 0x32, 0x33, 0x34, 0x35, 0x37, 0x38, 0x39, 0x3a, 0x3b, 0x3c, 0x3d,
                0x3e, 0x3f, 0x40, 0x41, 0xdb, 0xdc, 0xdd, 0xde, 0xdf, 0xf0, 0xf1};
            static const uint8_t m3[] = {0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f,
                                         0x14, 0x15, 0x16, 0x17, 0x20, 0x21, 0x22, 0x40,
                                         0x41, 0x42, 0x44, 0x60, 0x61, 0x62, 0x63, 0xdf};
            b[n++] = pick == 6 ? 0x38 : 0x3a;
            if (cd_chance(r, 1, 4))
                b[n++] = (uint8_t)cd_rand(r);
            else
                b[n++] = pick == 6 ? m2[cd_below(r, sizeof(m2))] : m3[cd_below(r, sizeof(m3))];
        }
    }
    uint8_t modrm = (uint8_t)cd_rand(r);
    if (cd_chance(r, 1, 2))
        modrm |= 0xc0;
    b[n++] = modrm;
    *head = n;
    while (n < 15)
        b[n++] = (uint8_t)cd_rand(r);
    *len = n;
}

/* fprandom: an FPU state image the instruction stores (see report.c). */
static void fp_image(struct cd_gen *g, const ZydisDecodedInstruction *in,
                     const ZydisDecodedOperand *ops, const uint64_t *gpr)
{
    bool w16 = in->operand_width == 16;
    unsigned img, size;
    switch (in->mnemonic) {
    case ZYDIS_MNEMONIC_FXSAVE:
    case ZYDIS_MNEMONIC_FXSAVE64:
        img = CD_IMG_FXSAVE, size = 512;
        break;
    case ZYDIS_MNEMONIC_FNSTENV:
        img = w16 ? CD_IMG_ENV16 : CD_IMG_ENV32, size = w16 ? 14 : 28;
        break;
    case ZYDIS_MNEMONIC_FNSAVE:
        img = w16 ? CD_IMG_SAVE16 : CD_IMG_SAVE32, size = w16 ? 94 : 108;
        break;
    default:
        return;
    }
    for (unsigned i = 0; i < in->operand_count; i++) {
        uint64_t a;
        if (ops[i].type == ZYDIS_OPERAND_TYPE_MEMORY && mem_addr(in, &ops[i], gpr, &a)) {
            g->img = (uint8_t)img;
            g->img_addr = a;
            g->fz_lo = a; /* a faulting store may have written part of it */
            g->fz_hi = a + size;
        }
    }
}

static uint32_t fpu_undef(const ZydisDecodedInstruction *in)
{
    uint32_t u = 0;
    if (in->fpu_flags)
        for (unsigned i = 0; i < 4; i++)
            if (in->fpu_flags->undefined & (1u << i))
                u |= CD_U_C0 << i;
    return u;
}

static void gen_random_any(struct cd_gen *g, bool fp)
{
    struct cd_rng *r = g->r;
    if (!decoder_ready) {
        ZydisDecoderInit(&decoder, ZYDIS_MACHINE_MODE_LONG_64, ZYDIS_STACK_WIDTH_64);
        decoder_ready = true;
    }
    uint64_t gpr[16];
    for (unsigned i = 0; i < 16; i++)
        gpr[i] = cd_chance(r, 2, 3) ? CD_DATA + cd_below(r, CD_DATA_SIZE) : cd_value(r);
    gpr[R_RCX] = cd_below(r, 20);
    gpr[R_RSP] = CD_STACK + cd_below(r, 0x400) - 0x200;
    gpr[R_RBP] = CD_DATA + 0x200 + cd_below(r, CD_DATA_SIZE - 0x400);
    unsigned len, head;
    bool simd = false;
    if (fp)
        random_fp_bytes(r, g->raw, &len, &head);
    else
        random_bytes(r, g->raw, &len, &head, &simd);
    ZydisDecodedInstruction in;
    ZydisDecodedOperand ops[ZYDIS_MAX_OPERAND_COUNT];
    int ok;
    if (ZYAN_SUCCESS(ZydisDecoderDecodeFull(&decoder, g->raw, len, &in, ops))) {
        if (!acceptable(&in, ops, gpr, fp)) {
            g->reject = true;
            return;
        }
        len = in.length;
        /* Zydis knows which flags the SDM leaves undefined. */
        g->undef = in.cpu_flags ? (uint32_t)in.cpu_flags->undefined & F_ALL : F_ALL;
        if (in.mnemonic == ZYDIS_MNEMONIC_ENTER)
            cd_fault_zone_below(g, gpr[R_RSP]);
        if (fp) {
            int f = fp_feature(&in); /* -1: a base instruction */
            g->unclaimed = f > 0 && !cd_feature_claimed((enum cd_feature)f);
            g->undef |= fpu_undef(&in);
            fp_image(g, &in, ops, gpr);
            g->fz_fpu = in.mnemonic == ZYDIS_MNEMONIC_MASKMOVQ; /* see fam_sse_move.c */
        }
    } else if (simd || (fp && cd_chance(r, 2, 3))) {
        /* fprandom: invalid encodings would crowd out the valid ones, which
         * are rejected more often (memory beyond the data area) */
        g->reject = true;
        return;
    } else if ((ok = emu_decode(g->raw, &len, gpr)) == 1) {
        g->undef = F_ALL | CD_U_C; /* valid for the emulator, unknown to Zydis */
    } else if (ok == 0) {
        g->reject = true; /* valid for the emulator, touching memory elsewhere */
        return;
    } else {
        len = head + cd_below(r, 3);
        g->undef = 0; /* invalid: the flags must stay as they were */
    }
    g->raw_len = len;
    for (unsigned i = 0; i < 16; i++)
        cd_req_reg(g, i, gpr[i]);
}

static void gen_random(struct cd_gen *g, const struct cd_tmpl *t)
{
    (void)t;
    gen_random_any(g, false);
}

static void gen_fprandom(struct cd_gen *g, const struct cd_tmpl *t)
{
    (void)t;
    gen_random_any(g, true);
}

const struct cd_tmpl cd_tmpl_random[] = {
    {"random bytes", gen_random, 0, 0, 0, 0, 0, CD_T_NOSEQ, 0, 0, 0},
    {0},
};

const struct cd_tmpl cd_tmpl_fprandom[] = {
    {"random x87/SSE bytes", gen_fprandom, 0, 0, 0, 0, 0, CD_T_NOSEQ, 0, 0, 0},
    {0},
};
