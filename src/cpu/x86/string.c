/* String instructions: MOVS, CMPS, STOS, LODS, SCAS in all sizes, with
 * REP / REPE / REPNE, the direction flag and 32-bit addressing (67: ESI,
 * EDI and ECX, written back zero-extended like any 32-bit register write);
 * INS/OUTS, which user mode may not execute.
 *
 * The source is seg:RSI (DS unless overridden), the destination ES:RDI
 * (never overridden).
 *
 * Precise, restartable REP: an iteration stores its element, then commits
 * RSI/RDI/RCX (and the flags, for CMPS/SCAS). A fault in iteration k thus
 * leaves the registers exactly as after k-1 iterations, with RIP at the
 * instruction, so running it again continues where it stopped.
 *
 * Bulk paths (DF = 0): REP MOVS, REP STOS and REPE/REPNE CMPS and SCAS
 * run a page at a time on host pointers (memmove, memset, memchr, plain
 * loops). Each chunk lies within one page of source and one of
 * destination, whose protections are uniform; its first element goes
 * through the element path, so a fault is raised there, at that
 * element's address, with the registers as the element-by-element loop
 * would leave them; if that element succeeds, the rest of the chunk cannot
 * fault. Registers are committed per chunk.
 * REP MOVS falls back to elements when the destination overlaps the
 * source ahead of it (a forward element copy then replicates a pattern,
 * which memmove would not).
 */
#include <string.h>

#include "cpu/x86/flags.h"
#include "cpu/x86/insn.h"
#include "cpu/x86/operand.h"
#include "cpu/x86/seg.h"
#include "cpu/x86/stack.h"

/* Keeps the compiler from delaying register commits past the next guest
 * memory access, which may fault through a host signal. */
#define COMMIT() __asm__ volatile("" ::: "memory")

static inline uint64_t amask(const struct x86_insn *in)
{
    return in->asz == 3 ? ~0ULL : in->asz == 2 ? 0xffffffffULL : 0xffffULL;
}

static inline uint64_t src_lin(const struct x86_cpu *cpu, const struct x86_insn *in)
{
    return (cpu->gpr[X86_RSI] & amask(in)) + x86_seg_base(cpu, in->seg);
}

static inline uint64_t dst_lin(const struct x86_cpu *cpu, const struct x86_insn *in)
{
    return (cpu->gpr[X86_RDI] & amask(in)) + cpu->seg[X86_ES].base;
}

static inline uint64_t step(const struct x86_cpu *cpu, const struct x86_insn *in)
{
    uint64_t n = 1u << in->osz;
    return (cpu->rflags & X86_FLAG_DF) ? -n : n;
}

/* Add delta to an address or count register at the address size. */
static inline void advance(struct x86_cpu *cpu, const struct x86_insn *in, unsigned reg,
                           uint64_t delta)
{
    x86_reg_write(cpu, reg, in->asz, cpu->gpr[reg] + delta);
}

static inline uint64_t count(const struct x86_cpu *cpu, const struct x86_insn *in)
{
    return cpu->gpr[X86_RCX] & amask(in);
}

static inline void count_sub(struct x86_cpu *cpu, const struct x86_insn *in, uint64_t k)
{
    advance(cpu, in, X86_RCX, -k);
}

static inline bool has_rep(const struct x86_insn *in)
{
    return in->flags & (X86_I_REP | X86_I_REPNE); /* F2 acts as REP here */
}

static void set_sub_flags(struct x86_cpu *cpu, unsigned osz, uint64_t a, uint64_t b)
{
    x86_set_cc(cpu, X86_CC(X86_CC_KIND_SUB, osz), (a - b) & x86_mask(osz), a, b);
}

/* --- one element each; they commit RSI/RDI --- */

static void movs_one(struct x86_cpu *cpu, const struct x86_insn *in)
{
    uint64_t v = x86_load(cpu, src_lin(cpu, in), in->osz);
    x86_store(cpu, dst_lin(cpu, in), in->osz, v);
    uint64_t d = step(cpu, in);
    advance(cpu, in, X86_RSI, d);
    advance(cpu, in, X86_RDI, d);
}

static void stos_one(struct x86_cpu *cpu, const struct x86_insn *in)
{
    x86_store(cpu, dst_lin(cpu, in), in->osz, cpu->gpr[X86_RAX]);
    advance(cpu, in, X86_RDI, step(cpu, in));
}

static void lods_one(struct x86_cpu *cpu, const struct x86_insn *in)
{
    uint64_t v = x86_load(cpu, src_lin(cpu, in), in->osz);
    x86_reg_write(cpu, X86_RAX, in->osz, v);
    advance(cpu, in, X86_RSI, step(cpu, in));
}

/* Returns whether the operands were equal (ZF). ES:RDI is read before
 * seg:RSI, as the AMD host does: with both unreadable, the fault is at
 * RDI's address. */
static bool cmps_one(struct x86_cpu *cpu, const struct x86_insn *in)
{
    uint64_t b = x86_load(cpu, dst_lin(cpu, in), in->osz);
    COMMIT(); /* keep the two loads, and so their faults, in this order */
    uint64_t a = x86_load(cpu, src_lin(cpu, in), in->osz);
    set_sub_flags(cpu, in->osz, a, b);
    uint64_t d = step(cpu, in);
    advance(cpu, in, X86_RSI, d);
    advance(cpu, in, X86_RDI, d);
    return a == b;
}

static bool scas_one(struct x86_cpu *cpu, const struct x86_insn *in)
{
    uint64_t a = x86_reg_read(cpu, X86_RAX, in->osz);
    uint64_t b = x86_load(cpu, dst_lin(cpu, in), in->osz);
    set_sub_flags(cpu, in->osz, a, b);
    advance(cpu, in, X86_RDI, step(cpu, in));
    return a == b;
}

/* --- bulk helpers --- */

/* Whole elements from register offset off (address lin) that stay in
 * lin's page and do not wrap the address size. */
static uint64_t chunk_room(const struct x86_insn *in, uint64_t off, uint64_t lin)
{
    uint64_t room = (X86_PAGE_SIZE - (lin & (X86_PAGE_SIZE - 1))) >> in->osz;
    if (in->asz != 3) {
        uint64_t wrap = ((amask(in) - (off & amask(in))) >> in->osz) + 1;
        if (wrap < room)
            room = wrap;
    }
    return room;
}

/* Host pointer for [lin, lin + n) if it is inside guest memory, else NULL
 * (the element path then raises the precise #PF). */
static uint8_t *host_range(struct x86_cpu *cpu, uint64_t lin, uint64_t n, int write)
{
    return x86_mem_direct(cpu, lin, n, write, X86_SEG_NONE);
}

/* REP MOVS, DF = 0. Returns when done or when the rest must go element by
 * element. */
static void movs_bulk(struct x86_cpu *cpu, const struct x86_insn *in)
{
    unsigned n = 1u << in->osz;
    for (;;) {
        uint64_t c = count(cpu, in);
        if (c == 0)
            return;
        uint64_t s = src_lin(cpu, in), d = dst_lin(cpu, in);
        uint64_t k = chunk_room(in, cpu->gpr[X86_RSI], s);
        uint64_t kd = chunk_room(in, cpu->gpr[X86_RDI], d);
        k = kd < k ? kd : k;
        k = c < k ? c : k;
        uint64_t bytes = k << in->osz;
        uint8_t *ps = host_range(cpu, s, bytes, 0), *pd = host_range(cpu, d, bytes, 1);
        if (k < 2) { /* the last one in the page, or one straddling pages */
            movs_one(cpu, in);
            count_sub(cpu, in, 1);
            COMMIT();
            continue;
        }
        if (!ps || !pd || (d > s && d < s + bytes))
            return;
        movs_one(cpu, in);
        count_sub(cpu, in, 1);
        COMMIT();
        memmove(pd + n, ps + n, bytes - n);
        advance(cpu, in, X86_RSI, bytes - n);
        advance(cpu, in, X86_RDI, bytes - n);
        count_sub(cpu, in, k - 1);
        COMMIT();
    }
}

static void fill(uint8_t *p, uint64_t k, unsigned osz, uint64_t v)
{
    unsigned n = 1u << osz;
    uint64_t pat = 0x0101010101010101ULL * (v & 0xff);
    if (osz == 0 || (v & x86_mask(osz)) == (pat & x86_mask(osz))) {
        memset(p, (int)(v & 0xff), k << osz);
        return;
    }
    for (uint64_t i = 0; i < k; i++)
        memcpy(p + i * n, &v, n);
}

/* REP STOS, DF = 0. */
static void stos_bulk(struct x86_cpu *cpu, const struct x86_insn *in)
{
    unsigned n = 1u << in->osz;
    for (;;) {
        uint64_t c = count(cpu, in);
        if (c == 0)
            return;
        uint64_t d = dst_lin(cpu, in);
        uint64_t k = chunk_room(in, cpu->gpr[X86_RDI], d);
        k = c < k ? c : k;
        uint8_t *pd = host_range(cpu, d, k << in->osz, 1);
        if (k < 2) {
            stos_one(cpu, in);
            count_sub(cpu, in, 1);
            COMMIT();
            continue;
        }
        if (!pd)
            return;
        stos_one(cpu, in);
        count_sub(cpu, in, 1);
        COMMIT();
        fill(pd + n, k - 1, in->osz, cpu->gpr[X86_RAX]);
        advance(cpu, in, X86_RDI, (k - 1) << in->osz);
        count_sub(cpu, in, k - 1);
        COMMIT();
    }
}

static inline uint64_t host_elem(const uint8_t *p, unsigned osz)
{
    switch (osz) { /* constant sizes: single loads */
    case 0:
        return *p;
    case 1: {
        uint16_t v;
        memcpy(&v, p, 2);
        return v;
    }
    case 2: {
        uint32_t v;
        memcpy(&v, p, 4);
        return v;
    }
    default: {
        uint64_t v;
        memcpy(&v, p, 8);
        return v;
    }
    }
}

/* Elements 1..k-1 of a chunk after the first ran through the element
 * path: the index of the first that ends the repetition, or k. */
static uint64_t compare_scan(const uint8_t *ps, const uint8_t *pd, uint64_t a, uint64_t k,
                             unsigned osz, bool while_equal)
{
    unsigned n = 1u << osz;
    if (!ps && osz == 0 && !while_equal) { /* REPNE SCASB: strlen, memchr */
        const uint8_t *hit = memchr(pd + 1, (int)a, k - 1);
        return hit ? (uint64_t)(hit - pd) : k;
    }
    uint64_t i = 1;
    for (; i < k; i++) {
        uint64_t x = ps ? host_elem(ps + i * n, osz) : a;
        if ((x == host_elem(pd + i * n, osz)) != while_equal)
            break;
    }
    return i;
}

/* REPE/REPNE CMPS and SCAS, DF = 0: a page-sized chunk at a time, each
 * started by one element through the element path (precise faults), the
 * rest compared on host pointers. Returns true when the instruction
 * finished, false when the rest must go element by element. */
static bool compare_bulk(struct x86_cpu *cpu, const struct x86_insn *in, bool cmps)
{
    bool while_equal = !(in->flags & X86_I_REPNE);
    unsigned osz = in->osz;
    for (;;) {
        uint64_t c = count(cpu, in);
        if (c == 0)
            return true;
        uint64_t d = dst_lin(cpu, in), s = cmps ? src_lin(cpu, in) : 0;
        uint64_t k = chunk_room(in, cpu->gpr[X86_RDI], d);
        if (cmps) {
            uint64_t ks = chunk_room(in, cpu->gpr[X86_RSI], s);
            k = ks < k ? ks : k;
        }
        k = c < k ? c : k;
        const uint8_t *pd = host_range(cpu, d, k << osz, 0);
        const uint8_t *ps = cmps ? host_range(cpu, s, k << osz, 0) : NULL;
        if (k >= 2 && (!pd || (cmps && !ps)))
            return false;
        bool eq = cmps ? cmps_one(cpu, in) : scas_one(cpu, in);
        count_sub(cpu, in, 1);
        COMMIT();
        if (eq != while_equal)
            return true;
        if (k < 2)
            continue;
        uint64_t a = x86_reg_read(cpu, X86_RAX, osz);
        uint64_t stop = compare_scan(ps, pd, a, k, osz, while_equal);
        uint64_t last = stop < k ? stop : k - 1; /* the last element compared */
        uint64_t x = cmps ? host_elem(ps + (last << osz), osz) : a;
        set_sub_flags(cpu, osz, x, host_elem(pd + (last << osz), osz));
        uint64_t done = last; /* elements 1..last */
        if (cmps)
            advance(cpu, in, X86_RSI, done << osz);
        advance(cpu, in, X86_RDI, done << osz);
        count_sub(cpu, in, done);
        COMMIT();
        if (stop < k)
            return true;
    }
}

/* --- the instructions --- */

/* A4/A5 */
static void op_movs(struct x86_cpu *cpu, const struct x86_insn *in)
{
    if (!has_rep(in)) {
        movs_one(cpu, in);
        return;
    }
    if (!(cpu->rflags & X86_FLAG_DF))
        movs_bulk(cpu, in);
    while (count(cpu, in)) {
        movs_one(cpu, in);
        count_sub(cpu, in, 1);
        COMMIT();
    }
}

/* AA/AB */
static void op_stos(struct x86_cpu *cpu, const struct x86_insn *in)
{
    if (!has_rep(in)) {
        stos_one(cpu, in);
        return;
    }
    if (!(cpu->rflags & X86_FLAG_DF))
        stos_bulk(cpu, in);
    while (count(cpu, in)) {
        stos_one(cpu, in);
        count_sub(cpu, in, 1);
        COMMIT();
    }
}

/* AC/AD: REP LODS is legal if pointless; it runs element by element. */
static void op_lods(struct x86_cpu *cpu, const struct x86_insn *in)
{
    if (!has_rep(in)) {
        lods_one(cpu, in);
        return;
    }
    while (count(cpu, in)) {
        lods_one(cpu, in);
        count_sub(cpu, in, 1);
        COMMIT();
    }
}

/* A6/A7 and AE/AF: REPE (F3) repeats while equal, REPNE (F2) while not. */
static void rep_compare(struct x86_cpu *cpu, const struct x86_insn *in,
                        bool (*one)(struct x86_cpu *, const struct x86_insn *))
{
    bool while_equal = !(in->flags & X86_I_REPNE);
    while (count(cpu, in)) {
        bool eq = one(cpu, in);
        count_sub(cpu, in, 1);
        COMMIT();
        if (eq != while_equal)
            return;
    }
}

static void op_cmps(struct x86_cpu *cpu, const struct x86_insn *in)
{
    if (!has_rep(in)) {
        cmps_one(cpu, in);
        return;
    }
    if (!(cpu->rflags & X86_FLAG_DF) && compare_bulk(cpu, in, true))
        return;
    rep_compare(cpu, in, cmps_one);
}

static void op_scas(struct x86_cpu *cpu, const struct x86_insn *in)
{
    if (!has_rep(in)) {
        scas_one(cpu, in);
        return;
    }
    if (!(cpu->rflags & X86_FLAG_DF) && compare_bulk(cpu, in, false))
        return;
    rep_compare(cpu, in, scas_one);
}

/* 6C-6F: INS and OUTS, one element at a time through the embedder's port
 * hooks (REP runs the count out; each element commits before the next, so
 * a fault leaves the registers at the faulting element). User mode: CPL 3
 * with IOPL 0 and no TSS I/O bitmap is #GP(0). */
static void op_ins_outs(struct x86_cpu *cpu, const struct x86_insn *in)
{
    unsigned osz = in->osz > 2 ? 2 : in->osz; /* REX.W: still 4 bytes */
    unsigned size = 1u << osz;
    uint16_t port = (uint16_t)cpu->gpr[X86_RDX];
    x86_io_check(cpu, port, size);
    if (cpu->user_mode)
        x86_raise(cpu, X86_EXC_GP, 0);
    bool rep = has_rep(in);
    while (!rep || count(cpu, in)) {
        if (in->opcode <= 0x6d) {
            uint64_t d = dst_lin(cpu, in);
            x86_probe_write(cpu, d, size);
            uint32_t v = cpu->sys->pio_in(cpu->sys_ctx, port, size);
            x86_store(cpu, d, osz, v);
            advance(cpu, in, X86_RDI, (cpu->rflags & X86_FLAG_DF) ? -(uint64_t)size : size);
        } else {
            uint32_t v = (uint32_t)x86_load(cpu, src_lin(cpu, in), osz);
            cpu->sys->pio_out(cpu->sys_ctx, port, size, v);
            advance(cpu, in, X86_RSI, (cpu->rflags & X86_FLAG_DF) ? -(uint64_t)size : size);
        }
        if (!rep)
            return;
        count_sub(cpu, in, 1);
        COMMIT();
    }
}

#define ROW(op, fn, name)                                                                          \
    {                                                                                              \
        X86_MAP_PRIMARY, (op), X86_PFX_ANY, -1, X86_MOD_ANY, (fn), (name)                          \
    }

const struct x86_op_entry x86_ops_string[] = {
    ROW(0xa4, op_movs, "movs"),     ROW(0xa5, op_movs, "movs"),     ROW(0xa6, op_cmps, "cmps"),
    ROW(0xa7, op_cmps, "cmps"),     ROW(0xaa, op_stos, "stos"),     ROW(0xab, op_stos, "stos"),
    ROW(0xac, op_lods, "lods"),     ROW(0xad, op_lods, "lods"),     ROW(0xae, op_scas, "scas"),
    ROW(0xaf, op_scas, "scas"),     ROW(0x6c, op_ins_outs, "ins"),  ROW(0x6d, op_ins_outs, "ins"),
    ROW(0x6e, op_ins_outs, "outs"), ROW(0x6f, op_ins_outs, "outs"), {0, 0, 0, 0, 0, NULL, NULL},
};
