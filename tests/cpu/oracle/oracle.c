/* Decoder oracle: xuni's x86_decode() against libzydis on random bytes.
 *
 *   oracle --seed S --count N [--mode 64|32] [--amd-branches] [--host] [-v]
 *   oracle --probe HEX...       what xuni, Zydis and the host CPU say
 *   oracle --bench FILE         decode FILE's .text linearly, report the rate
 *
 * Each string is 15 bytes: half uniformly random, half shaped like an
 * instruction (random legacy prefixes, an optional REX, an opcode of a
 * random map, then random ModRM/SIB/displacement/immediate bytes). Both
 * decoders see the same 15 bytes; they must agree on validity and, when
 * valid, on the length. Zydis's VEX/EVEX/XOP/3DNow! decodings are not
 * compared (xuni has no AVX and raises #UD for them, see decode.c). A valid
 * decode is also cut short (avail = length - 1 must ask for more bytes) and
 * its fields are checked for range.
 *
 * Where Zydis and the CPUs disagree, known_difference() holds the allow-list,
 * each entry with the reason. --host runs each unexplained mismatch on the
 * host CPU too (hostprobe.c) to help decide who is right.
 * Exit status: 0 if every mismatch is on the allow-list.
 */
#define _GNU_SOURCE
#include <cpuid.h>
#include <elf.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <Zydis/Zydis.h>

#include "cpu/x86/decode_tables.h"
#include "cpu/x86/insn.h"
#include "hostprobe.h"

#define LEN 15

struct verdict {
    int valid;
    unsigned len;
};

static struct {
    int mode64;
    int amd_branches;
    int host;
    int verbose;
    ZydisDecoder zydis;
} cfg = {.mode64 = 1};

static const char *mode_name(void)
{
    return !cfg.mode64        ? "32-bit mode"
           : cfg.amd_branches ? "64-bit mode, AMD branches"
                              : "64-bit mode";
}

/* xorshift64*: fast, seedable, good enough for bytes. */
static uint64_t rng_state;

static uint64_t rng(void)
{
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * 0x2545f4914f6cdd1dULL;
}

static void rng_seed(uint64_t seed)
{
    rng_state = seed * 0x9e3779b97f4a7c15ULL + 0x1234567;
    if (!rng_state)
        rng_state = 1;
    for (int i = 0; i < 4; i++)
        rng();
}

static void gen_uniform(uint8_t *b)
{
    uint64_t r0 = rng(), r1 = rng();
    memcpy(b, &r0, 8);
    memcpy(b + 8, &r1, 7);
}

static void gen_shaped(uint8_t *b)
{
    static const uint8_t prefixes[] = {0x66, 0x67, 0xf0, 0xf2, 0xf3, 0x2e,
                                       0x36, 0x3e, 0x26, 0x64, 0x65, 0x66};
    unsigned i = 0;
    gen_uniform(b);
    uint64_t r = rng();
    /* 0-4 prefixes, fewer more often. */
    unsigned npfx = (unsigned)((r & 3) * ((r >> 2) & 1) + ((r >> 3) & 1));
    r >>= 4;
    for (unsigned k = 0; k < npfx; k++, r >>= 4)
        b[i++] = prefixes[(r & 15) % sizeof(prefixes)];
    r = rng();
    if (cfg.mode64 && (r & 1))
        b[i++] = (uint8_t)(0x40 | ((r >> 1) & 15));
    switch ((r >> 5) % 8) {
    case 0:
    case 1:
    case 2:
        break; /* one-byte map: the next random byte is the opcode */
    case 3:
    case 4:
    case 5:
        b[i++] = 0x0f;
        break;
    case 6:
        b[i++] = 0x0f;
        b[i++] = 0x38;
        break;
    default:
        b[i++] = 0x0f;
        b[i++] = 0x3a;
    }
    /* Bias ModRM towards mod = 3 and towards small displacements. */
    if ((r >> 9) & 1)
        b[i + 1] |= 0xc0;
}

static struct verdict xuni_verdict(const uint8_t *b, unsigned avail, struct x86_insn *in)
{
    int r = x86_decode(b, avail, cfg.mode64, in);
    return (struct verdict){r > 0, r > 0 ? (unsigned)r : 0};
}

static ZydisDecoderContext zydis_ctx; /* of the last zydis_verdict(), for its operands */

/* Zydis; *skip is set for encodings xuni does not decode by design. */
static struct verdict zydis_verdict(const uint8_t *b, unsigned avail, ZydisDecodedInstruction *zi,
                                    int *skip)
{
    ZyanStatus st = ZydisDecoderDecodeInstruction(&cfg.zydis, &zydis_ctx, b, avail, zi);
    *skip = 0;
    if (!ZYAN_SUCCESS(st))
        return (struct verdict){0, 0};
    if (zi->encoding != ZYDIS_INSTRUCTION_ENCODING_LEGACY &&
        zi->encoding != ZYDIS_INSTRUCTION_ENCODING_3DNOW)
        *skip = 1;
    return (struct verdict){1, zi->length};
}

/* Prefix bytes before the opcode, and the opcode position. */
static unsigned skip_prefixes(const uint8_t *b, unsigned *rex)
{
    unsigned i = 0;
    *rex = 0;
    while (i < LEN) {
        unsigned k = x86_prefix_kind[b[i]];
        if (k == X86_PK_NONE || (k == X86_PK_REX && !cfg.mode64))
            break;
        *rex = k == X86_PK_REX ? b[i] : 0;
        i++;
    }
    return i;
}

/* The allow-list: where Zydis and the CPUs disagree, the verdict the
 * hardware gives (checked on the host with --probe/--table --host, an AMD
 * EPYC here; Intel from the SDM). Returns a label, or NULL. */
static const char *known_difference(const uint8_t *b, struct verdict x, struct verdict z,
                                    const ZydisDecodedInstruction *zi)
{
    unsigned rex, i = skip_prefixes(b, &rex);
    const uint8_t *op = b + i;
    (void)rex;
    if (i + 3 > LEN || x.valid || !z.valid || op[0] != 0x0f)
        return NULL;
    /* 3DNow! (0F 0F /r ib) and FEMMS (0F 0E): gone since AMD family 15h,
     * never on Intel: #UD (host: SIGILL). Zydis still decodes them. */
    if (zi->encoding == ZYDIS_INSTRUCTION_ENCODING_3DNOW || op[1] == 0x0e)
        return "3DNow!/FEMMS: #UD on current CPUs (Zydis decodes)";
    /* 0F 0D with a register operand: Zydis decodes a NOP; the AMD host
     * raises #UD (only the memory forms are PREFETCH/PREFETCHW). */
    if (op[1] == 0x0d && op[2] >= 0xc0)
        return "0F 0D /r with mod = 3: #UD on the host (Zydis: NOP)";
    /* VIA PadLock (0F A6/A7 C0..): not an Intel or AMD instruction; #UD on
     * both (host: SIGILL). */
    if ((op[1] == 0xa6 || op[1] == 0xa7) && op[2] >= 0xc0)
        return "VIA PadLock 0F A6/A7: #UD on Intel/AMD (Zydis decodes)";
    return NULL;
}

static void hexdump(FILE *f, const uint8_t *b, unsigned n)
{
    for (unsigned i = 0; i < n; i++)
        fprintf(f, "%02x", b[i]);
}

static void print_verdict(FILE *f, const char *who, struct verdict v)
{
    if (v.valid)
        fprintf(f, " %s=len%u", who, v.len);
    else
        fprintf(f, " %s=invalid", who);
}

static void report_mismatch(const uint8_t *b, struct verdict x, struct verdict z,
                            const ZydisDecodedInstruction *zi)
{
    printf("mismatch: ");
    hexdump(stdout, b, LEN);
    print_verdict(stdout, "xuni", x);
    print_verdict(stdout, "zydis", z);
    if (z.valid)
        printf(" (%s)", ZydisMnemonicGetString(zi->mnemonic));
    if (cfg.host) {
        struct host_verdict h;
        if (host_probe(b, LEN, &h) == 0)
            printf(" host=%s len%u (signal %d, vector %d)", h.valid ? "valid" : "invalid", h.len,
                   h.signo, h.trapno);
    }
    printf("\n");
}

static bool same_insn(const struct x86_insn *a, const struct x86_insn *b)
{
    return a->fn == b->fn && a->imm == b->imm && a->disp == b->disp && a->op == b->op &&
           a->len == b->len && a->osz == b->osz && a->asz == b->asz && a->reg == b->reg &&
           a->rm == b->rm && a->index == b->index && a->scale == b->scale && a->seg == b->seg &&
           a->flags == b->flags && a->imm2 == b->imm2 && a->opcode == b->opcode && a->map == b->map;
}

/* Field ranges of a valid decode; the same decode with exactly its length;
 * and one byte short, which must ask for more. */
static int check_insn(const uint8_t *b, unsigned len, const struct x86_insn *in)
{
    const char *bad = NULL;
    if (in->len != len)
        bad = "len field";
    else if (!in->fn || !x86_ops_entry(in->op) || x86_ops_entry(in->op)->fn != in->fn)
        bad = "fn/op";
    else if (in->osz > 3 || in->asz < 1 || in->asz > 3)
        bad = "osz/asz";
    else if (!(in->reg < 16 || (in->reg >= X86_AH && in->reg < X86_AH + 4)))
        bad = "reg";
    else if (!(in->rm < 16 || (in->rm >= X86_AH && in->rm < X86_AH + 4) || in->rm == X86_NO_REG))
        bad = "rm";
    else if (!(in->index < 16 || in->index == X86_NO_REG) || in->scale > 3)
        bad = "index";
    else if (in->seg > X86_GS)
        bad = "seg";
    else if (!(in->flags & X86_I_MEM) && (in->flags & X86_I_RIPREL))
        bad = "flags";
    else if (in->map >= X86_NMAPS)
        bad = "map";
    if (!bad) {
        struct x86_insn t;
        if (x86_decode(b, len, cfg.mode64, &t) != (int)len || !same_insn(&t, in))
            bad = "decode with exactly its length differs";
        else if (len > 1 && x86_decode(b, len - 1, cfg.mode64, &t) != X86_DECODE_MORE)
            bad = "truncated decode did not ask for more bytes";
    }
    if (bad) {
        printf("bad decode (%s): ", bad);
        hexdump(stdout, b, len);
        printf("\n");
        return 1;
    }
    return 0;
}

/* Where both decoders agree on the length, do they agree on the fields
 * Zydis reports raw: displacement, immediates, ModRM presence, REX.W, and
 * the operand size of general-purpose instructions? NULL if so. */
static const char *fields_differ(const struct x86_insn *in, const ZydisDecodedInstruction *zi)
{
    const struct ZydisDecodedInstructionRawImm_ *imm = zi->raw.imm;
    uint64_t v = (uint64_t)in->imm;
    bool moffs = in->map == X86_MAP_PRIMARY && in->opcode >= 0xa0 && in->opcode <= 0xa3;
    bool farptr = in->map == X86_MAP_PRIMARY && (in->opcode == 0x9a || in->opcode == 0xea);

    if (moffs) {
        uint64_t mask = in->asz == 3 ? ~0ULL : in->asz == 2 ? 0xffffffffULL : 0xffff;
        return v == ((uint64_t)zi->raw.disp.value & mask) ? NULL : "moffs";
    }
    if (in->disp != (zi->raw.disp.size ? zi->raw.disp.value : 0))
        return "displacement";
    if (!!(in->flags & X86_I_MODRM) != (zi->raw.modrm.offset != 0))
        return "ModRM presence";
    if (!!(in->flags & X86_I_REXW) != (zi->attributes & ZYDIS_ATTRIB_HAS_REX && zi->raw.rex.W))
        return "REX.W";
    if (imm[0].size) {
        uint64_t mask = imm[0].size >= 64 ? ~0ULL : (1ULL << imm[0].size) - 1;
        if ((v & mask) != (imm[0].value.u & mask))
            return "immediate";
        if (imm[1].size && !farptr && in->imm2 != (uint8_t)imm[1].value.u)
            return "second immediate";
        if (imm[1].size && farptr && ((v >> 32) & 0xffff) != (imm[1].value.u & 0xffff))
            return "far pointer selector";
    } else if (v != 0) {
        return "immediate present";
    }
    /* Operand size, for the one-byte map's general-purpose instructions.
     * Not compared: x87, segment moves, LEA, far transfers, XABORT; INS/OUTS
     * (Zydis gives 64 with REX.W; port I/O has no 64-bit form); near
     * branches in AMD mode (Zydis applies 66 to rel16 forms only; the host
     * truncates RIP to 16 bits for 66 EB, 66 C3 and 66 FF E0 too). */
    unsigned op = in->opcode, reg = zi->raw.modrm.reg;
    bool branch = (x86_fmt_primary[op] & F_F64) || (op == 0xff && (reg == 2 || reg == 4));
    if (in->map == X86_MAP_PRIMARY && !(op >= 0xd8 && op <= 0xdf) && op != 0x8c && op != 0x8e &&
        op != 0x8d && !farptr && !(op >= 0x6c && op <= 0x6f) &&
        !(op == 0xc6 && (in->flags & X86_I_MODRM) && reg == 7) && !(cfg.amd_branches && branch) &&
        zi->operand_width && zi->operand_width != (8u << in->osz))
        return "operand size";
    return NULL;
}

/* xuni's register number for a Zydis general-purpose register (any width),
 * X86_NO_REG for none, 0xfe for RIP/EIP, 0xfd for anything else. */
static unsigned zydis_gpr(ZydisRegister r)
{
    if (r == ZYDIS_REGISTER_NONE)
        return X86_NO_REG;
    switch (ZydisRegisterGetClass(r)) {
    case ZYDIS_REGCLASS_GPR16:
    case ZYDIS_REGCLASS_GPR32:
    case ZYDIS_REGCLASS_GPR64:
        return (unsigned)ZydisRegisterGetId(r);
    case ZYDIS_REGCLASS_IP:
        return 0xfe;
    default:
        return 0xfd;
    }
}

/* The ModRM memory operand against Zydis's first visible memory operand:
 * base, index, scale, displacement and segment. NULL if they agree. */
static const char *memop_differs(const struct x86_insn *in, const ZydisDecodedInstruction *zi)
{
    ZydisDecodedOperand ops[ZYDIS_MAX_OPERAND_COUNT];
    if (!ZYAN_SUCCESS(
            ZydisDecoderDecodeOperands(&cfg.zydis, &zydis_ctx, zi, ops, zi->operand_count_visible)))
        return "Zydis operands";
    for (unsigned k = 0; k < zi->operand_count_visible; k++) {
        const ZydisDecodedOperandMem *m = &ops[k].mem;
        if (ops[k].type != ZYDIS_OPERAND_TYPE_MEMORY || m->type == ZYDIS_MEMOP_TYPE_MIB)
            continue;
        unsigned base = zydis_gpr(m->base), index = zydis_gpr(m->index);
        /* Zydis 4.0 reports [r13d + 0] for 67 + REX.B + SIB base 5 with
         * mod 0, while decoding the disp32 it implies; the host CPU
         * addresses disp32 with no base (67 41 8B 04 25 00 10 00 00 faults
         * at 0x1000 with R13 = 0x5000). */
        if (in->asz == 2 && in->rm == X86_NO_REG && !(in->flags & X86_I_RIPREL) &&
            m->base == ZYDIS_REGISTER_R13D)
            return NULL;
        if (base == 0xfe ? !(in->flags & X86_I_RIPREL) : base != in->rm)
            return "base";
        if (index != in->index)
            return "index";
        if (index != X86_NO_REG && m->scale != 1u << in->scale)
            return "scale";
        if ((m->disp.has_displacement ? m->disp.value : 0) != in->disp)
            return "memory displacement";
        /* Zydis names an ignored CS/DS/ES/SS override in 64-bit mode. */
        unsigned seg = (unsigned)(m->segment - ZYDIS_REGISTER_ES);
        /* Zydis takes 3E on an indirect CALL/JMP for NOTRACK only; xuni
         * keeps its legacy meaning, a DS override (seen in 32-bit mode). */
        if (seg != in->seg && !(cfg.mode64 && seg < X86_FS && in->seg < X86_FS) &&
            m->type != ZYDIS_MEMOP_TYPE_AGEN && !(zi->attributes & ZYDIS_ATTRIB_HAS_NOTRACK))
            return "segment";
        return NULL;
    }
    return "no memory operand";
}

static const char *insn_differs(const struct x86_insn *in, const ZydisDecodedInstruction *zi)
{
    const char *why = fields_differ(in, zi);
    if (!why && (in->flags & X86_I_MEM))
        why = memop_differs(in, zi);
    return why;
}

struct stats {
    uint64_t total, both_valid, both_invalid, skipped, allowed, mismatches, bad;
    struct {
        const char *label;
        uint64_t n;
    } allow[32];
    unsigned nallow;
};

static void count_allowed(struct stats *s, const char *label)
{
    s->allowed++;
    for (unsigned k = 0; k < s->nallow; k++) {
        if (s->allow[k].label == label) {
            s->allow[k].n++;
            return;
        }
    }
    if (s->nallow < 32)
        s->allow[s->nallow++] = (typeof(s->allow[0])){label, 1};
}

static void check_one(const uint8_t *b, struct stats *s)
{
    struct x86_insn in;
    ZydisDecodedInstruction zi;
    int skip;
    struct verdict x = xuni_verdict(b, LEN, &in);
    struct verdict z = zydis_verdict(b, LEN, &zi, &skip);

    s->total++;
    if (skip) {
        s->skipped++;
        return;
    }
    if (x.valid && check_insn(b, x.len, &in))
        s->bad++;
    if (x.valid == z.valid && x.len == z.len) {
        const char *why = x.valid ? insn_differs(&in, &zi) : NULL;
        if (why) {
            s->bad++;
            if (s->bad <= 50 || cfg.verbose) {
                printf("fields differ (%s): ", why);
                hexdump(stdout, b, LEN);
                printf(" (%s)\n", ZydisMnemonicGetString(zi.mnemonic));
            }
        }
        if (x.valid)
            s->both_valid++;
        else
            s->both_invalid++;
        return;
    }
    const char *label = known_difference(b, x, z, &zi);
    if (label) {
        count_allowed(s, label);
        if (cfg.verbose > 1) {
            printf("allowed (%s): ", label);
            hexdump(stdout, b, LEN);
            printf("\n");
        }
        return;
    }
    s->mismatches++;
    if (s->mismatches <= 200 || cfg.verbose)
        report_mismatch(b, x, z, &zi);
}

/* Known differences between xuni and the host CPU where xuni says #UD and
 * the host runs the bytes (the other direction is the host lacking a
 * feature and is not counted). */
static const char *known_host_difference(const uint8_t *b)
{
    unsigned rex, i = skip_prefixes(b, &rex);
    (void)rex;
    /* AMD's LOCK MOV CR0 = MOV CR8 (CR8_LEGACY); #UD on Intel and in xuni. */
    for (unsigned k = 0; k < i; k++) {
        if (b[k] == 0xf0 && i + 2 < LEN && b[i] == 0x0f && (b[i + 1] == 0x20 || b[i + 1] == 0x22))
            return "LOCK MOV CR (AMD's CR8 alias)";
    }
    return NULL;
}

/* xuni against the host CPU itself (a few forks per string). The host
 * raises #UD for features it lacks (VMX, AVX-512, ...), so only two kinds
 * of difference count: xuni invalid where the host runs the bytes, and
 * different lengths where both are valid. Near branches follow the host's
 * vendor. Calibrated on AMD hosts (exit status 77 elsewhere: skipped). */
static int run_host(uint64_t seed, uint64_t count)
{
    unsigned eax = 0, ebx = 0, ecx = 0, edx = 0;
    char vendor[13] = {0};
    __get_cpuid(0, &eax, &ebx, &ecx, &edx);
    memcpy(vendor, &ebx, 4);
    memcpy(vendor + 4, &edx, 4);
    memcpy(vendor + 8, &ecx, 4);
    if (strcmp(vendor, "AuthenticAMD") != 0) {
        printf("host is %s: the host comparison is calibrated on AMD CPUs\n", vendor);
        return 77;
    }
    x86_decode_set_amd_branches(true);

    uint8_t b[16];
    uint64_t agree = 0, host_lacks = 0, diff = 0, allowed = 0, vex = 0;
    rng_seed(seed);
    for (uint64_t k = 0; k < count; k++) {
        if (k & 1)
            gen_shaped(b);
        else
            gen_uniform(b);
        struct x86_insn in;
        ZydisDecodedInstruction zi;
        int skip;
        struct verdict x = xuni_verdict(b, LEN, &in);
        zydis_verdict(b, LEN, &zi, &skip);
        if (skip) {
            vex++;
            continue;
        }
        struct host_verdict h;
        if (host_probe(b, LEN, &h) != 0) {
            printf("host probe failed\n");
            return 2;
        }
        if (x.valid == h.valid && (!x.valid || x.len == h.len)) {
            agree++;
        } else if (x.valid && !h.valid) {
            host_lacks++;
            if (cfg.verbose) {
                printf("host #UD: ");
                hexdump(stdout, b, LEN);
                printf(" xuni=len%u\n", x.len);
            }
        } else if (!x.valid && known_host_difference(b)) {
            allowed++;
        } else {
            diff++;
            printf("host differs: ");
            hexdump(stdout, b, LEN);
            print_verdict(stdout, "xuni", x);
            printf(" host=%s len%u (signal %d, vector %d)\n", h.valid ? "valid" : "invalid", h.len,
                   h.signo, h.trapno);
        }
    }
    printf("host seed %llu: %llu agree, %llu valid in xuni but #UD on the host, %llu allowed, "
           "%llu differ, %llu VEX/EVEX/XOP skipped\n",
           (unsigned long long)seed, (unsigned long long)agree, (unsigned long long)host_lacks,
           (unsigned long long)allowed, (unsigned long long)diff, (unsigned long long)vex);
    return diff ? 1 : 0;
}

static int run(uint64_t seed, uint64_t count)
{
    struct stats s = {0};
    uint8_t b[16];
    rng_seed(seed);
    for (uint64_t k = 0; k < count; k++) {
        if (k & 1)
            gen_shaped(b);
        else
            gen_uniform(b);
        check_one(b, &s);
    }
    printf("%s, seed %llu: %llu strings, %llu valid in both, %llu invalid in both, %llu "
           "VEX/EVEX/XOP skipped, %llu allowed, %llu mismatches, %llu bad decodes\n",
           mode_name(), (unsigned long long)seed, (unsigned long long)s.total,
           (unsigned long long)s.both_valid, (unsigned long long)s.both_invalid,
           (unsigned long long)s.skipped, (unsigned long long)s.allowed,
           (unsigned long long)s.mismatches, (unsigned long long)s.bad);
    for (unsigned k = 0; k < s.nallow; k++)
        printf("  allowed %llu: %s\n", (unsigned long long)s.allow[k].n, s.allow[k].label);
    return s.mismatches || s.bad ? 1 : 0;
}

/* Every opcode of every map under every mandatory-prefix combination, REX
 * form and ModRM byte, followed by fixed pseudo-random bytes. Mismatches
 * are printed grouped by (prefixes, opcode) with the ModRM bytes involved. */
static int sweep(uint64_t seed)
{
    static const struct {
        uint8_t n, b[3];
    } pfx[] = {{0, {0}},          {1, {0x66}},       {1, {0xf3}}, {1, {0xf2}}, {2, {0x66, 0xf3}},
               {2, {0x66, 0xf2}}, {2, {0xf3, 0xf2}}, {1, {0xf0}}, {1, {0x67}}, {2, {0xf0, 0x66}}};
    static const uint8_t rexes[] = {0, 0x48, 0x44, 0x41, 0x42, 0x40};
    static const uint8_t esc[X86_NMAPS][2] = {{0}, {0x0f}, {0x0f, 0x38}, {0x0f, 0x3a}};
    struct stats s = {0};
    uint8_t tail[LEN];
    rng_seed(seed);
    gen_uniform(tail);

    for (unsigned map = 0; map < X86_NMAPS; map++) {
        for (unsigned op = 0; op < 256; op++) {
            if (map == 0 && (op == 0x0f || x86_prefix_kind[op] != X86_PK_NONE))
                continue;
            for (unsigned p = 0; p < sizeof(pfx) / sizeof(pfx[0]); p++) {
                for (unsigned r = 0; r < (cfg.mode64 ? sizeof(rexes) : 1); r++) {
                    uint64_t before = s.mismatches;
                    char line[4096];
                    int len = 0;
                    for (unsigned m = 0; m < 256; m++) {
                        uint8_t b[LEN + 16];
                        unsigned i = 0;
                        memcpy(b, pfx[p].b, pfx[p].n);
                        i += pfx[p].n;
                        if (rexes[r])
                            b[i++] = rexes[r];
                        for (unsigned k = 0; k < (map == 0 ? 0u : map == 1 ? 1u : 2u); k++)
                            b[i++] = esc[map][k];
                        b[i++] = (uint8_t)op;
                        b[i++] = (uint8_t)m;
                        memcpy(b + i, tail, LEN);

                        struct x86_insn in;
                        ZydisDecodedInstruction zi;
                        int skip;
                        struct verdict x = xuni_verdict(b, LEN, &in);
                        struct verdict z = zydis_verdict(b, LEN, &zi, &skip);
                        s.total++;
                        if (skip) {
                            s.skipped++;
                            continue;
                        }
                        if (x.valid && check_insn(b, x.len, &in))
                            s.bad++;
                        if (x.valid == z.valid && x.len == z.len) {
                            const char *why = x.valid ? insn_differs(&in, &zi) : NULL;
                            if (why && ++s.bad <= 50) {
                                printf("fields differ (%s): ", why);
                                hexdump(stdout, b, LEN);
                                printf(" (%s)\n", ZydisMnemonicGetString(zi.mnemonic));
                            }
                            continue;
                        }
                        const char *label = known_difference(b, x, z, &zi);
                        if (label) {
                            count_allowed(&s, label);
                            continue;
                        }
                        s.mismatches++;
                        if (len < (int)sizeof(line) - 64)
                            len += snprintf(line + len, sizeof(line) - (size_t)len,
                                            " %02x:%d/%d%s%s", m, x.valid ? (int)x.len : 0,
                                            z.valid ? (int)z.len : 0, z.valid ? "" : "",
                                            z.valid ? ZydisMnemonicGetString(zi.mnemonic) : "");
                    }
                    if (s.mismatches != before) {
                        printf("sweep map %u op %02x pfx", map, op);
                        for (unsigned k = 0; k < pfx[p].n; k++)
                            printf(" %02x", pfx[p].b[k]);
                        printf(" rex %02x: %llu mismatches (modrm:xuni/zydis)%s\n", rexes[r],
                               (unsigned long long)(s.mismatches - before), line);
                    }
                }
            }
        }
    }
    printf("%s, sweep: %llu encodings, %llu skipped, %llu allowed, %llu mismatches, %llu bad\n",
           mode_name(), (unsigned long long)s.total, (unsigned long long)s.skipped,
           (unsigned long long)s.allowed, (unsigned long long)s.mismatches,
           (unsigned long long)s.bad);
    for (unsigned k = 0; k < s.nallow; k++)
        printf("  allowed %llu: %s\n", (unsigned long long)s.allow[k].n, s.allow[k].label);
    return s.mismatches || s.bad ? 1 : 0;
}

/* One opcode's ModRM table as Zydis, xuni (and with --host the host CPU)
 * see it, by mandatory prefix: for debugging the format tables. */
static int table(const char *hex)
{
    static const uint8_t cols[4] = {0, 0x66, 0xf3, 0xf2};
    uint8_t opb[4];
    int nop = 0;
    unsigned v;
    for (const char *s = hex; *s && nop < 3 && sscanf(s, "%2x", &v) == 1; s += 2)
        opb[nop++] = (uint8_t)v;
    for (unsigned c = 0; c < 4; c++) {
        for (unsigned reg = 0; reg < 8; reg++) {
            printf("%-4s /%u:", c ? (c == 1 ? "66" : c == 2 ? "F3" : "F2") : "none", reg);
            for (unsigned mod3 = 0; mod3 < 2; mod3++) {
                for (unsigned rm = 0; rm < (mod3 ? 8u : 1u); rm++) {
                    uint8_t b[32];
                    unsigned i = 0;
                    if (cols[c])
                        b[i++] = cols[c];
                    memcpy(b + i, opb, (size_t)nop);
                    i += (unsigned)nop;
                    b[i++] = (uint8_t)((mod3 ? 0xc0 : 0x00) | reg << 3 | (mod3 ? rm : 0));
                    memset(b + i, 0, sizeof(b) - i);
                    struct x86_insn in;
                    ZydisDecodedInstruction zi;
                    int skip;
                    struct verdict x = xuni_verdict(b, LEN, &in);
                    struct verdict z = zydis_verdict(b, LEN, &zi, &skip);
                    char hv = ' ';
                    if (cfg.host) {
                        struct host_verdict h;
                        if (host_probe(b, LEN, &h) == 0)
                            hv = h.valid ? 'h' : '-';
                    }
                    printf(" %s%c%c%s%s", mod3 ? "" : "m:", x.valid ? 'x' : '.', hv,
                           z.valid ? ZydisMnemonicGetString(zi.mnemonic) : ".",
                           x.valid == z.valid ? "" : "!");
                }
                if (!mod3)
                    printf(" r:");
            }
            printf("\n");
        }
    }
    return 0;
}

static int parse_hex(const char *s, uint8_t *b)
{
    unsigned n = 0;
    while (*s && n < LEN) {
        if (*s == ' ' || *s == ':') {
            s++;
            continue;
        }
        unsigned v;
        if (sscanf(s, "%2x", &v) != 1)
            return -1;
        b[n++] = (uint8_t)v;
        s += s[1] ? 2 : 1;
    }
    return (int)n;
}

static int probe(int argc, char **argv)
{
    for (int a = 0; a < argc; a++) {
        uint8_t b[16] = {0};
        int n = parse_hex(argv[a], b);
        if (n <= 0) {
            fprintf(stderr, "bad hex: %s\n", argv[a]);
            return 2;
        }
        struct x86_insn in;
        ZydisDecodedInstruction zi;
        int skip;
        int r = x86_decode(b, (unsigned)n, cfg.mode64, &in);
        struct verdict z = zydis_verdict(b, (unsigned)n, &zi, &skip);
        struct host_verdict h = {0};
        int hr = cfg.mode64 ? host_probe(b, (unsigned)n, &h) : -1;
        printf("%-32s xuni=", argv[a]);
        if (r > 0)
            printf("len%d(%s osz%u)", r, x86_ops_entry(in.op)->name, in.osz);
        else if (r == X86_DECODE_MORE)
            printf("more");
        else
            printf("exc%d", -r);
        print_verdict(stdout, "zydis", z);
        if (z.valid)
            printf("(%s%s)", ZydisMnemonicGetString(zi.mnemonic), skip ? ",non-legacy" : "");
        if (hr == 0)
            printf(" host=%s len%u sig%d vec%d", h.valid ? "valid" : "invalid", h.len, h.signo,
                   h.trapno);
        printf("\n");
    }
    return 0;
}

/* Decode the .text section of an ELF64 file linearly (an invalid byte is
 * skipped), best of 20 passes: the machine may be noisy. */
static int bench(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        perror(path);
        return 2;
    }
    fseek(f, 0, SEEK_END);
    long size = ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *img = malloc((size_t)size + 16);
    if (!img || fread(img, 1, (size_t)size, f) != (size_t)size) {
        fclose(f);
        free(img);
        return 2;
    }
    fclose(f);
    Elf64_Ehdr *eh = (Elf64_Ehdr *)img;
    Elf64_Shdr *sh = (Elf64_Shdr *)(img + eh->e_shoff);
    const char *names = (const char *)img + sh[eh->e_shstrndx].sh_offset;
    const uint8_t *text = NULL;
    size_t tsize = 0;
    for (unsigned k = 0; k < eh->e_shnum; k++) {
        if (!strcmp(names + sh[k].sh_name, ".text")) {
            text = img + sh[k].sh_offset;
            tsize = sh[k].sh_size;
        }
    }
    if (!text) {
        fprintf(stderr, "%s: no .text\n", path);
        free(img);
        return 2;
    }
    double best_x = 0, best_z = 0;
    uint64_t insns = 0, invalid = 0, zinsns = 0;
    for (int pass = 0; pass < 20; pass++) {
        struct timespec t0, t1;
        struct x86_insn in;
        insns = invalid = 0;
        clock_gettime(CLOCK_MONOTONIC, &t0);
        for (size_t off = 0; off < tsize;) {
            unsigned avail = tsize - off < LEN ? (unsigned)(tsize - off) : LEN;
            int r = x86_decode(text + off, avail, 1, &in);
            if (r > 0) {
                off += (unsigned)r;
                insns++;
            } else {
                off++;
                invalid++;
            }
        }
        clock_gettime(CLOCK_MONOTONIC, &t1);
        double s = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) * 1e-9;
        if (insns / s > best_x)
            best_x = (double)insns / s;

        ZydisDecodedInstruction zi;
        zinsns = 0;
        clock_gettime(CLOCK_MONOTONIC, &t0);
        for (size_t off = 0; off < tsize;) {
            if (ZYAN_SUCCESS(ZydisDecoderDecodeInstruction(&cfg.zydis, NULL, text + off,
                                                           tsize - off, &zi))) {
                off += zi.length;
                zinsns++;
            } else {
                off++;
            }
        }
        clock_gettime(CLOCK_MONOTONIC, &t1);
        s = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) * 1e-9;
        if (zinsns / s > best_z)
            best_z = (double)zinsns / s;
    }
    printf("%s .text: %zu bytes, %llu instructions (%llu invalid bytes skipped)\n", path, tsize,
           (unsigned long long)insns, (unsigned long long)invalid);
    printf("xuni  x86_decode:                    %.1f M insns/s (%.1f ns/insn)\n", best_x / 1e6,
           1e9 / best_x);
    printf("zydis DecodeInstruction (no operands): %.1f M insns/s (%llu instructions)\n",
           best_z / 1e6, (unsigned long long)zinsns);
    free(img);
    return 0;
}

static void usage(void)
{
    fprintf(stderr, "usage: oracle --seed S --count N [--mode 64|32] [--amd-branches] [--host] "
                    "[-v]\n       oracle [--mode 64|32] --probe HEX...\n"
                    "       oracle --bench ELF-FILE\n");
}

int main(int argc, char **argv)
{
    uint64_t seed = 1, count = 100000;
    int a, do_sweep = 0;
    for (a = 1; a < argc; a++) {
        if (!strcmp(argv[a], "--seed") && a + 1 < argc)
            seed = strtoull(argv[++a], NULL, 0);
        else if (!strcmp(argv[a], "--count") && a + 1 < argc)
            count = strtoull(argv[++a], NULL, 0);
        else if (!strcmp(argv[a], "--mode") && a + 1 < argc)
            cfg.mode64 = atoi(argv[++a]) == 64;
        else if (!strcmp(argv[a], "--amd-branches"))
            cfg.amd_branches = 1;
        else if (!strcmp(argv[a], "--host"))
            cfg.host = 1;
        else if (!strcmp(argv[a], "-v"))
            cfg.verbose++;
        else if (!strcmp(argv[a], "--sweep"))
            do_sweep = 1;
        else if (!strcmp(argv[a], "--against-host"))
            do_sweep = 2;
        else if (!strcmp(argv[a], "--probe") || !strcmp(argv[a], "--bench") ||
                 !strcmp(argv[a], "--table"))
            break;
        else {
            usage();
            return 2;
        }
    }
    if (cfg.mode64)
        ZydisDecoderInit(&cfg.zydis, ZYDIS_MACHINE_MODE_LONG_64, ZYDIS_STACK_WIDTH_64);
    else
        ZydisDecoderInit(&cfg.zydis, ZYDIS_MACHINE_MODE_LEGACY_32, ZYDIS_STACK_WIDTH_32);
    ZydisDecoderEnableMode(&cfg.zydis, ZYDIS_DECODER_MODE_AMD_BRANCHES, cfg.amd_branches);
    /* MPX is gone from current CPUs: 0F 1A/1B are the hint NOPs again. */
    ZydisDecoderEnableMode(&cfg.zydis, ZYDIS_DECODER_MODE_MPX, 0);
    x86_decode_set_amd_branches(cfg.amd_branches);

    if (a < argc && !strcmp(argv[a], "--probe"))
        return probe(argc - a - 1, argv + a + 1);
    if (a + 1 < argc && !strcmp(argv[a], "--table"))
        return table(argv[a + 1]);
    if (a < argc && !strcmp(argv[a], "--bench")) {
        if (a + 1 >= argc) {
            usage();
            return 2;
        }
        return bench(argv[a + 1]);
    }
    if (do_sweep == 2)
        return run_host(seed, count);
    return do_sweep ? sweep(seed) : run(seed, count);
}
