/* cpudiff: comparing a native and an emulated outcome, and printing a
 * reproducible report (seed, sample, bytes with a libzydis disassembly,
 * the initial state, every differing field). */
#include <Zydis/Zydis.h>
#include <inttypes.h>
#include <string.h>

#include "cpu/x86/mem.h"
#include "cpudiff.h"

static const char *const gpr_names[16] = {"rax", "rcx", "rdx", "rbx", "rsp", "rbp", "rsi", "rdi",
                                          "r8",  "r9",  "r10", "r11", "r12", "r13", "r14", "r15"};

static const char *vector_name(unsigned v)
{
    static const char *const names[32] = {
        [0] = "#DE",  [1] = "#DB",  [3] = "#BP",  [4] = "#OF",  [5] = "#BR",  [6] = "#UD",
        [7] = "#NM",  [8] = "#DF",  [10] = "#TS", [11] = "#NP", [12] = "#SS", [13] = "#GP",
        [14] = "#PF", [16] = "#MF", [17] = "#AC", [18] = "#MC", [19] = "#XM",
    };
    return v < 32 && names[v] ? names[v] : "#?";
}

static void end_text(const struct cd_outcome *o, char *buf, size_t len)
{
    switch (o->end) {
    case CD_END_EXC:
        if (o->vector == X86_EXC_PF)
            snprintf(buf, len, "#PF(%s, error %#x) at %#" PRIx64 " addr %#" PRIx64,
                     o->error & X86_PF_FETCH ? "fetch"
                     : o->pf_write           ? "write"
                                             : "read",
                     o->error, o->st.rip, o->pf_addr);
        else if (o->vector == X86_EXC_GP)
            snprintf(buf, len, "#GP(%#x) at %#" PRIx64, o->error, o->st.rip);
        else
            snprintf(buf, len, "%s at %#" PRIx64, vector_name(o->vector), o->st.rip);
        break;
    case CD_END_SYSCALL:
        snprintf(buf, len, "SYSCALL exit at %#" PRIx64, o->st.rip);
        break;
    case CD_END_HLT:
        snprintf(buf, len, "HLT exit at %#" PRIx64, o->st.rip);
        break;
    case CD_END_BUDGET:
        snprintf(buf, len, "did not stop (budget) at %#" PRIx64, o->st.rip);
        break;
    case CD_END_CRASH:
        snprintf(buf, len, "emulator crashed: host signal %u at guest rip %#" PRIx64, o->vector,
                 o->st.rip);
        break;
    default:
        snprintf(buf, len, "native run failed (child died or hung)");
    }
}

/* The flags and condition codes undefined where the native run stopped. */
static uint32_t undef_at(const struct cd_sample *s, const struct cd_outcome *nat)
{
    uint32_t all = s->u_end, undef = 0;
    bool found = false;
    for (unsigned k = 0; k < s->nunits; k++)
        all |= s->unit[k].u_out;
    if (nat->end == CD_END_EXC && nat->vector == X86_EXC_BP) {
        uint64_t at = nat->st.rip - 1; /* the int3 it stopped at */
        if (at == s->init.rip + s->code_len) {
            undef = s->u_end;
            found = true;
        }
        for (unsigned k = 0; k < s->nunits && !found; k++)
            if (s->unit[k].pad == at) {
                undef = s->unit[k].u_out;
                found = true;
            }
    } else if (nat->end == CD_END_EXC) { /* a fault: at an instruction, before it ran */
        for (unsigned k = 0; k < s->nunits && !found; k++)
            if (s->init.rip + s->unit[k].insn == nat->st.rip) {
                undef = s->unit[k].u_in;
                found = true;
            }
    }
    return found ? undef : all;
}

uint64_t cd_flag_mask(const struct cd_sample *s, const struct cd_outcome *nat)
{
    return CD_FLAGS_CMP & ~(uint64_t)undef_at(s, nat);
}

uint16_t cd_fsw_mask(const struct cd_sample *s, const struct cd_outcome *nat)
{
    static const uint16_t cbit[4] = {CD_FSW_C0, CD_FSW_C1, CD_FSW_C2, CD_FSW_C3};
    uint32_t u = undef_at(s, nat);
    uint16_t m = 0xffff;
    for (unsigned i = 0; i < 4; i++)
        if (u & (CD_U_C0 << i))
            m &= (uint16_t)~cbit[i];
    return m;
}

/* ---- FPU state images in memory ------------------------------------------ */

static void ign_range(uint8_t *ign, long from, long to, uint8_t bits)
{
    for (long i = from < 0 ? 0 : from; i < to && i < CD_DATA_SIZE; i++)
        ign[i] |= bits;
}

static unsigned get16(const uint8_t *data, long at)
{
    if (at < 0 || at + 2 > CD_DATA_SIZE)
        return 0;
    return data[at] | (unsigned)data[at + 1] << 8;
}

/* The bits of each data byte not compared: in an FPU state image, the
 * instruction and data pointers and opcode (AMD writes them only with an
 * exception pending; the tester does not model them), reserved and
 * software-available bytes, and registers tagged empty (read from the
 * native image). */
static void image_mask(const struct cd_sample *s, const uint8_t *data, uint8_t *ign)
{
    for (unsigned k = 0; k < s->nunits; k++) {
        const struct cd_unit *u = &s->unit[k];
        long o = u->img_off;
        switch (u->img) {
        case CD_IMG_FXSAVE: {
            unsigned top = CD_FSW_TOP(get16(data, o + 2));
            unsigned ftw = o + 4 < CD_DATA_SIZE ? data[o + 4] : 0;
            ign_range(ign, o + 6, o + 24, 0xff);
            ign_range(ign, o + 26, o + 27, 0x02); /* MXCSR_MASK bit 17 (see fp.c) */
            ign_range(ign, o + 416, o + 512, 0xff);
            for (unsigned i = 0; i < 8; i++) {
                long at = o + 32 + 16 * i;
                ign_range(ign, (ftw >> ((top + i) & 7) & 1) ? at + 10 : at, at + 16, 0xff);
            }
            break;
        }
        case CD_IMG_ENV16:
        case CD_IMG_SAVE16:
        case CD_IMG_ENV32:
        case CD_IMG_SAVE32: {
            bool w32 = u->img == CD_IMG_ENV32 || u->img == CD_IMG_SAVE32;
            long env = w32 ? 28 : 14;
            ign_range(ign, o + (w32 ? 12 : 6), o + env, 0xff);
            if (u->img == CD_IMG_ENV16 || u->img == CD_IMG_ENV32)
                break;
            unsigned top = CD_FSW_TOP(get16(data, o + (w32 ? 4 : 2)));
            unsigned tags = get16(data, o + (w32 ? 8 : 4));
            for (unsigned i = 0; i < 8; i++)
                if ((tags >> 2 * ((top + i) & 7) & 3) == 3)
                    ign_range(ign, o + env + 10 * i, o + env + 10 * i + 10, 0xff);
            break;
        }
        default:
            break;
        }
    }
}

/* The unit the native run faulted at (before it ran), if any. */
static const struct cd_unit *faulting_unit(const struct cd_sample *s, const struct cd_outcome *nat)
{
    if (nat->end != CD_END_EXC || nat->vector == X86_EXC_BP)
        return NULL;
    for (unsigned k = 0; k < s->nunits; k++)
        if (s->init.rip + s->unit[k].insn == nat->st.rip)
            return &s->unit[k];
    return NULL;
}

static bool same_end(const struct cd_outcome *a, const struct cd_outcome *b)
{
    if (a->end != b->end)
        return false;
    if (a->end != CD_END_EXC)
        return true;
    if (a->vector != b->vector)
        return false;
    if (a->vector == X86_EXC_PF && a->pf_addr != b->pf_addr)
        return false;
    if (a->vector == X86_EXC_GP && a->error != b->error)
        return false;
    return true;
}

/* An x87 register: its 80 bits and its value. */
static void fpreg_text(const uint8_t *r, char *buf, size_t len)
{
    long double v;
    uint64_t m;
    memcpy(&v, r, 10);
    memset((char *)&v + 10, 0, sizeof(v) - 10);
    memcpy(&m, r, 8);
    snprintf(buf, len, "%04x:%016" PRIx64 " (%.21Lg)", r[8] | r[9] << 8, m, v);
}

/* Walk the differences; print them if f, and return how many fields
 * differ (the first one's name in first). */
static unsigned diff(FILE *f, const struct cd_sample *s, const struct cd_outcome *nat,
                     const struct cd_outcome *emu, const char **first)
{
    unsigned n = 0;
    char a[160], b[160];
#define DIFF(name, ...)                                                                            \
    do {                                                                                           \
        if (!n++)                                                                                  \
            *first = name;                                                                         \
        if (f)                                                                                     \
            fprintf(f, __VA_ARGS__);                                                               \
    } while (0)
    if (nat->end == CD_END_NOTRUN) {
        DIFF("native", "  native run failed: the child died or hung on this sample\n");
        return n;
    }
    if (!same_end(nat, emu)) {
        end_text(nat, a, sizeof(a));
        end_text(emu, b, sizeof(b));
        DIFF("outcome", "  outcome: native %s\n           emu    %s\n", a, b);
    }
    if (nat->st.rip != emu->st.rip)
        DIFF("rip", "  rip:    native %#018" PRIx64 "  emu %#018" PRIx64 "\n", nat->st.rip,
             emu->st.rip);
    for (unsigned i = 0; i < 16; i++)
        if (nat->st.gpr[i] != emu->st.gpr[i])
            DIFF(gpr_names[i], "  %-6s  native %#018" PRIx64 "  emu %#018" PRIx64 "\n",
                 gpr_names[i], nat->st.gpr[i], emu->st.gpr[i]);
    uint64_t mask = cd_flag_mask(s, nat);
    uint64_t fd = (nat->st.rflags ^ emu->st.rflags) & mask;
    if (fd) {
        static const char *const fn[22] = {
            [0] = "CF",  [2] = "PF",  [4] = "AF",  [6] = "ZF",  [7] = "SF",  [9] = "IF",
            [10] = "DF", [11] = "OF", [14] = "NT", [18] = "AC", [21] = "ID", [1] = "bit1"};
        char names[64] = "";
        for (unsigned i = 0; i < 22; i++)
            if ((fd >> i & 1) && fn[i])
                strcat(names, fn[i]), strcat(names, " ");
        DIFF("rflags",
             "  rflags: native %#010" PRIx64 "  emu %#010" PRIx64
             "  (differ: %s; compared %#" PRIx64 ")\n",
             nat->st.rflags, emu->st.rflags, names, mask);
    }
    const struct cd_fxsave *nf = &nat->st.fx, *ef = &emu->st.fx;
    const struct cd_unit *fu = faulting_unit(s, nat);
    bool fpu_zone = fu && fu->fz_fpu;
    if (nf->mxcsr != ef->mxcsr)
        DIFF("mxcsr", "  mxcsr:  native %#x  emu %#x\n", nf->mxcsr, ef->mxcsr);
    if (nf->fcw != ef->fcw)
        DIFF("fcw", "  fcw:    native %#06x  emu %#06x\n", nf->fcw, ef->fcw);
    uint16_t fm = cd_fsw_mask(s, nat) & (fpu_zone ? ~0x3800 : 0xffff);
    if ((nf->fsw ^ ef->fsw) & fm)
        DIFF("fsw", "  fsw:    native %#06x  emu %#06x  (compared %#06x)\n", nf->fsw, ef->fsw, fm);
    if (nf->ftw != ef->ftw && !fpu_zone)
        DIFF("ftw", "  ftw:    native %#04x  emu %#04x  (abridged: bit i = R(i) valid)\n", nf->ftw,
             ef->ftw);
    for (unsigned p = 0; p < 8; p++) {
        if (!(nf->ftw >> p & 1))
            continue;
        const uint8_t *a8 = nf->st[(p - CD_FSW_TOP(nf->fsw)) & 7];
        const uint8_t *b8 = ef->st[(p - CD_FSW_TOP(ef->fsw)) & 7];
        if (memcmp(a8, b8, 10)) {
            fpreg_text(a8, a, sizeof(a));
            fpreg_text(b8, b, sizeof(b));
            DIFF("st", "  R%u      native %s\n          emu    %s\n", p, a, b);
        }
    }
    for (unsigned i = 0; i < 16; i++)
        if (memcmp(nf->xmm[i], ef->xmm[i], 16)) {
            uint64_t x[2], y[2];
            memcpy(x, nf->xmm[i], 16);
            memcpy(y, ef->xmm[i], 16);
            DIFF("xmm",
                 "  xmm%-2u  native %016" PRIx64 "%016" PRIx64 "  emu %016" PRIx64 "%016" PRIx64
                 "\n",
                 i, x[1], x[0], y[1], y[0]);
        }
    if (memcmp(nat->data, emu->data, CD_DATA_SIZE)) {
        static uint8_t init[CD_DATA_SIZE], ign[CD_DATA_SIZE];
        memset(ign, 0, sizeof(ign));
        image_mask(s, nat->data, ign);
        unsigned shown = 0, count = 0, fz_lo = 0, fz_hi = 0;
        if (fu) {
            fz_lo = fu->fz_lo;
            fz_hi = fu->fz_hi;
        }
        if (f)
            cd_fill_data(init, s);
        for (unsigned i = 0; i < CD_DATA_SIZE; i++) {
            if (!((nat->data[i] ^ emu->data[i]) & ~ign[i]) || (i >= fz_lo && i < fz_hi))
                continue;
            count++;
            if (f && shown++ < 16)
                fprintf(f, "  data +%#06x (%#" PRIx64 "): initial %02x native %02x emu %02x\n", i,
                        (uint64_t)CD_DATA + i, init[i], nat->data[i], emu->data[i]);
        }
        if (count)
            DIFF("memory", "  memory: %u bytes differ\n", count);
    }
#undef DIFF
    return n;
}

/* The unit a mismatch is most likely about: where either run stopped
 * with an exception, else the last one. */
static const struct cd_unit *culprit_unit(const struct cd_sample *s, const struct cd_outcome *nat,
                                          const struct cd_outcome *emu)
{
    const struct cd_outcome *o[2] = {emu, nat};
    for (unsigned i = 0; i < 2; i++)
        for (unsigned k = 0; k < s->nunits; k++)
            if (o[i]->end == CD_END_EXC && o[i]->vector != X86_EXC_BP &&
                s->init.rip + s->unit[k].insn == o[i]->st.rip)
                return &s->unit[k];
    return &s->unit[s->nunits - 1];
}

void cd_signature(const struct cd_sample *s, const struct cd_outcome *nat,
                  const struct cd_outcome *emu, char *buf, size_t len)
{
    const struct cd_unit *u = culprit_unit(s, nat, emu);
    ZydisDisassembledInstruction in;
    char mnem[32] = "(invalid)";
    if (ZYAN_SUCCESS(ZydisDisassembleIntel(ZYDIS_MACHINE_MODE_LONG_64, s->init.rip + u->insn,
                                           s->code + u->insn, u->len, &in))) {
        size_t m = strcspn(in.text, " ");
        if (m >= sizeof(mnem))
            m = sizeof(mnem) - 1;
        memcpy(mnem, in.text, m);
        mnem[m] = 0;
    }
    char fields[160] = "", a[64], b[64];
    size_t used = 0;
    if (!same_end(nat, emu)) {
        end_text(nat, a, sizeof(a));
        end_text(emu, b, sizeof(b));
        a[strcspn(a, " (")] = 0;
        b[strcspn(b, " (")] = 0;
        used += (size_t)snprintf(fields + used, sizeof(fields) - used, " native %s, emu %s;", a, b);
    }
    const char *first;
    unsigned n = diff(NULL, s, nat, emu, &first);
    snprintf(fields + used, sizeof(fields) - used, " %s%s", first, n > 1 ? " +" : "");
    snprintf(buf, len, "%s (%s):%s", mnem, u->tmpl ? u->tmpl->name : "?", fields);
}

bool cd_compare(const struct cd_sample *s, const struct cd_outcome *nat,
                const struct cd_outcome *emu, char *why, size_t whylen)
{
    const char *first = "";
    unsigned n = diff(NULL, s, nat, emu, &first);
    if (n && why)
        snprintf(why, whylen, "%s%s", first, n > 1 ? " ..." : "");
    return n == 0;
}

static void disasm(FILE *f, const uint8_t *code, unsigned len, uint64_t at, const char *note)
{
    ZydisDisassembledInstruction in;
    char hex[64] = "";
    bool ok = ZYAN_SUCCESS(ZydisDisassembleIntel(ZYDIS_MACHINE_MODE_LONG_64, at, code, len, &in));
    unsigned n = ok ? in.info.length : len;
    for (unsigned i = 0; i < n && i < 16; i++)
        snprintf(hex + 3 * i, sizeof(hex) - 3 * i, "%02x ", code[i]);
    fprintf(f, "    %#" PRIx64 "  %-36s %-40s %s\n", at, hex, ok ? in.text : "(invalid)", note);
}

static void print_fp(FILE *f, const struct cd_fxsave *fx)
{
    fprintf(f, "    fcw=%#06x fsw=%#06x (top %u) ftw=%#04x\n", fx->fcw, fx->fsw,
            CD_FSW_TOP(fx->fsw), fx->ftw);
    for (unsigned i = 0; i < 8; i++) {
        char b[96];
        unsigned p = (CD_FSW_TOP(fx->fsw) + i) & 7;
        fpreg_text(fx->st[i], b, sizeof(b));
        fprintf(f, "    st%u=R%u %s %s\n", i, p, fx->ftw >> p & 1 ? "valid" : "empty", b);
    }
    for (unsigned i = 0; i < 16; i += 2) {
        uint64_t x[2], y[2];
        memcpy(x, fx->xmm[i], 16);
        memcpy(y, fx->xmm[i + 1], 16);
        fprintf(f,
                "    xmm%-2u=%016" PRIx64 "%016" PRIx64 "  xmm%-2u=%016" PRIx64 "%016" PRIx64 "\n",
                i, x[1], x[0], i + 1, y[1], y[0]);
    }
}

void cd_print_sample(FILE *f, const struct cd_sample *s)
{
    fprintf(f, "  code:\n");
    for (unsigned k = 0; k < s->nunits; k++) {
        const struct cd_unit *u = &s->unit[k];
        for (unsigned p = u->start; p < u->insn;) { /* the setup MOVs */
            ZydisDisassembledInstruction in;
            if (ZYAN_FAILED(ZydisDisassembleIntel(ZYDIS_MACHINE_MODE_LONG_64, s->init.rip + p,
                                                  s->code + p, u->insn - p, &in)))
                break;
            disasm(f, s->code + p, in.info.length, s->init.rip + p, "(setup)");
            p += in.info.length;
        }
        char note[96];
        snprintf(note, sizeof(note), "<- %s%s", u->tmpl ? u->tmpl->name : "?",
                 u->u_in ? " (some flags undefined before)" : "");
        disasm(f, s->code + u->insn, u->len, s->init.rip + u->insn, note);
    }
    const struct cd_state *st = &s->init;
    fprintf(f, "  initial state:\n");
    for (unsigned i = 0; i < 16; i++)
        fprintf(f, "%s%-3s=%016" PRIx64 "%s", i % 4 ? "  " : "    ", gpr_names[i], st->gpr[i],
                i % 4 == 3 ? "\n" : "");
    fprintf(f, "    rflags=%#" PRIx64 " mxcsr=%#x\n", st->rflags, st->fx.mxcsr);
    if (cd_families[s->family].fp)
        print_fp(f, &st->fx);
    for (unsigned i = 0; i < s->npatch; i++) {
        fprintf(f, "    data +%#06x:", s->patch[i].off);
        for (unsigned j = 0; j < s->patch[i].len && j < 32; j++)
            fprintf(f, " %02x", s->patch_bytes[s->patch[i].at + j]);
        fprintf(f, "%s\n", s->patch[i].len > 32 ? " ..." : "");
    }
}

void cd_print_outcome(FILE *f, const char *who, const struct cd_outcome *o)
{
    char e[160];
    end_text(o, e, sizeof(e));
    fprintf(f, "  %s: %s\n", who, e);
    for (unsigned i = 0; i < 16; i++)
        fprintf(f, "%s%-3s=%016" PRIx64 "%s", i % 4 ? "  " : "    ", gpr_names[i], o->st.gpr[i],
                i % 4 == 3 ? "\n" : "");
    fprintf(f, "    rflags=%#" PRIx64 " mxcsr=%#x fcw=%#06x fsw=%#06x ftw=%#04x\n", o->st.rflags,
            o->st.fx.mxcsr, o->st.fx.fcw, o->st.fx.fsw, o->st.fx.ftw);
}

void cd_report(FILE *f, const struct cd_sample *s, const struct cd_outcome *nat,
               const struct cd_outcome *emu)
{
    const char *fam = cd_families[s->family].name;
    fprintf(f,
            "MISMATCH %s sample %u (seed %" PRIu64 ")  rerun: cpudiff --seed %" PRIu64
            " --family %s --sample %u --verbose\n",
            fam, s->index, s->seed, s->seed, fam, s->index);
    if (cd_families[s->family].seq)
        fprintf(f, "  (the sequence's first %u instructions: the shortest prefix that differs)\n",
                s->nunits);
    cd_print_sample(f, s);
    char e[160];
    end_text(nat, e, sizeof(e));
    fprintf(f, "  native: %s\n", e);
    const char *first;
    diff(f, s, nat, emu, &first);
}
