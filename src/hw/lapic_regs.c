/* The LAPIC register file, reached two ways: the xAPIC page (MMIO, register
 * n at offset n * 16) and the x2APIC MSRs (register n at MSR 0x800 + n),
 * plus IA32_APIC_BASE and IA32_TSC_DEADLINE.
 *
 * The two interfaces differ where the SDM says (11.12.1.2): in x2APIC mode
 * the ID and LDR are read-only and derived from the initial APIC ID, the
 * ICR is one 64-bit register with a 32-bit destination, DFR, APR, the
 * remote read register and ICR2 do not exist, SELF IPI does, and any bad
 * access (unknown register, write to a read-only one, read of a
 * write-only one, non-zero EOI/ESR write, bits 63:32 set) is a #GP. In xAPIC
 * mode a bad register address sets ESR bit 7 instead and writes to
 * read-only registers are ignored. */
#include "hw/lapic_internal.h"

#include "util/log.h"

enum {
    REG_ID = 0x02,
    REG_VERSION = 0x03,
    REG_TPR = 0x08,
    REG_APR = 0x09,
    REG_PPR = 0x0a,
    REG_EOI = 0x0b,
    REG_RRD = 0x0c,
    REG_LDR = 0x0d,
    REG_DFR = 0x0e,
    REG_SVR = 0x0f,
    REG_ISR = 0x10,
    REG_TMR = 0x18,
    REG_IRR = 0x20,
    REG_ESR = 0x28,
    REG_ICR = 0x30,
    REG_ICR2 = 0x31,
    REG_LVT = 0x32,
    REG_TMICT = 0x38,
    REG_TMCCT = 0x39,
    REG_TDCR = 0x3e,
    REG_SELF_IPI = 0x3f,
};

#define REG_BAD (-1)

#define ICR_DM_SHIFT    8
#define ICR_LOGICAL     (1u << 11)
#define ICR_PENDING     (1u << 12)
#define ICR_ASSERT      (1u << 14)
#define ICR_LEVEL       (1u << 15)
#define ICR_SH_SHIFT    18
#define ICR_WRITABLE    0x000ccfffu
#define ICR2_XAPIC_DEST 0xff000000u
#define DCR_WRITABLE    0xbu

static const uint32_t lvt_writable[LVT_COUNT] = {
    [LVT_TIMER] = LVT_VECTOR | LVT_MASKED | LVT_TIMER_MODE,
    [LVT_THERMAL] = LVT_VECTOR | LVT_DM_MASK | LVT_MASKED,
    [LVT_PERF] = LVT_VECTOR | LVT_DM_MASK | LVT_MASKED,
    [LVT_LINT0] = LVT_VECTOR | LVT_DM_MASK | LVT_POLARITY | LVT_LEVEL | LVT_MASKED,
    [LVT_LINT1] = LVT_VECTOR | LVT_DM_MASK | LVT_POLARITY | LVT_LEVEL | LVT_MASKED,
    [LVT_ERROR] = LVT_VECTOR | LVT_MASKED,
};

static struct log_once_set regs_once;

static bool in_range(unsigned reg, unsigned first, unsigned n)
{
    return reg >= first && reg < first + n;
}

/* 0, or REG_BAD for a register this mode does not have (or cannot read). */
static int reg_read(const struct lapic *l, unsigned reg, uint64_t *out)
{
    bool x2 = lapic_x2apic(l);
    if (in_range(reg, REG_ISR, 8)) {
        *out = l->isr[reg - REG_ISR];
        return 0;
    }
    if (in_range(reg, REG_TMR, 8)) {
        *out = l->tmr[reg - REG_TMR];
        return 0;
    }
    if (in_range(reg, REG_IRR, 8)) {
        *out = l->irr[reg - REG_IRR];
        return 0;
    }
    if (in_range(reg, REG_LVT, LVT_COUNT)) {
        *out = l->lvt[reg - REG_LVT];
        return 0;
    }
    switch (reg) {
    case REG_ID:
        *out = x2 ? l->initial_id : l->id;
        return 0;
    case REG_VERSION:
        *out = LAPIC_VERSION;
        return 0;
    case REG_TPR:
        *out = l->tpr;
        return 0;
    case REG_PPR:
        *out = lapic_ppr(l);
        return 0;
    case REG_LDR:
        *out = lapic_ldr(l);
        return 0;
    case REG_SVR:
        *out = l->svr;
        return 0;
    case REG_ESR:
        *out = l->esr;
        return 0;
    case REG_ICR:
        *out = l->icr_lo | (x2 ? (uint64_t)l->icr_hi << 32 : 0);
        return 0;
    case REG_TMICT:
        *out = l->initial_count;
        return 0;
    case REG_TMCCT:
        *out = lapic_timer_current(l);
        return 0;
    case REG_TDCR:
        *out = l->dcr;
        return 0;
    }
    if (x2)
        return REG_BAD;
    switch (reg) { /* xAPIC only */
    case REG_APR:
        *out = lapic_arb_priority(l);
        return 0;
    case REG_EOI:
    case REG_RRD:
        *out = 0;
        return 0;
    case REG_DFR:
        *out = l->dfr;
        return 0;
    case REG_ICR2:
        *out = l->icr_hi;
        return 0;
    }
    return REG_BAD;
}

static bool reg_read_only(unsigned reg)
{
    return reg == REG_VERSION || reg == REG_APR || reg == REG_PPR || reg == REG_RRD ||
           reg == REG_TMCCT || in_range(reg, REG_ISR, 24);
}

static void write_lvt(struct lapic *l, unsigned idx, uint32_t value)
{
    if (!lapic_sw_enabled(l))
        value |= LVT_MASKED; /* masks stay set while software-disabled */
    value = (value & lvt_writable[idx]) | (l->lvt[idx] & LVT_REMOTE_IRR);
    if (idx == LVT_TIMER) {
        lapic_timer_write_lvt(l, value);
        return;
    }
    if ((idx == LVT_LINT0 || idx == LVT_LINT1) && !(value & LVT_LEVEL))
        value &= ~LVT_REMOTE_IRR;
    l->lvt[idx] = value;
    if (idx == LVT_LINT0 || idx == LVT_LINT1)
        lapic_lint_sync(l, idx - LVT_LINT0, false); /* unmasked onto a high level line */
    lapic_update(l);
}

static void write_svr(struct lapic *l, uint32_t value)
{
    l->svr = value & SVR_WRITABLE;
    if (!(value & SVR_ENABLE))
        for (unsigned i = 0; i < LVT_COUNT; i++)
            l->lvt[i] |= LVT_MASKED;
    lapic_update(l);
}

/* The ICR was written: send what it says. */
static void send_ipi(struct lapic *l)
{
    bool x2 = lapic_x2apic(l);
    uint32_t lo = l->icr_lo;
    struct apic_msg m = {
        .vector = (uint8_t)lo,
        .delivery = (uint8_t)((lo >> ICR_DM_SHIFT) & 7),
        .shorthand = (uint8_t)((lo >> ICR_SH_SHIFT) & 3),
        .logical = lo & ICR_LOGICAL,
        .level = lo & ICR_LEVEL,
        .assert = lo & ICR_ASSERT,
        .x2apic_dest = x2,
        .dest = x2 ? l->icr_hi : l->icr_hi >> 24,
    };
    bool fixed = m.delivery == APIC_DM_FIXED || m.delivery == APIC_DM_LOWEST;
    if (fixed && m.vector < 16) {
        lapic_error(l, ESR_SEND_ILLEGAL);
        return;
    }
    if (m.shorthand == APIC_SH_SELF)
        lapic_deliver(l, &m); /* needs no bus */
    else if (l->bus)
        apic_bus_send(l->bus, &m, l);
}

static void self_ipi(struct lapic *l, uint8_t vector)
{
    l->icr_lo = vector | (APIC_SH_SELF << ICR_SH_SHIFT);
    send_ipi(l);
}

/* 0, or REG_BAD: no such register here, or (x2APIC) an illegal write. */
static int reg_write(struct lapic *l, unsigned reg, uint64_t value)
{
    bool x2 = lapic_x2apic(l);
    uint32_t v = (uint32_t)value;
    if (x2 && reg != REG_ICR && value >> 32)
        return REG_BAD;
    if (in_range(reg, REG_LVT, LVT_COUNT)) {
        write_lvt(l, reg - REG_LVT, v);
        return 0;
    }
    switch (reg) {
    case REG_TPR:
        l->tpr = v & 0xff;
        lapic_update(l);
        return 0;
    case REG_EOI:
        if (x2 && v)
            return REG_BAD;
        lapic_eoi(l);
        return 0;
    case REG_SVR:
        write_svr(l, v);
        return 0;
    case REG_ESR:
        if (x2 && v)
            return REG_BAD;
        l->esr = l->esr_pending;
        l->esr_pending = 0;
        return 0;
    case REG_ICR:
        l->icr_lo = v & ICR_WRITABLE & ~ICR_PENDING;
        if (x2)
            l->icr_hi = (uint32_t)(value >> 32);
        send_ipi(l);
        return 0;
    case REG_TMICT:
        lapic_timer_write_initial(l, v);
        return 0;
    case REG_TDCR:
        lapic_timer_write_dcr(l, v & DCR_WRITABLE);
        return 0;
    }
    if (x2) {
        if (reg != REG_SELF_IPI)
            return REG_BAD; /* read-only, or absent in x2APIC mode */
        self_ipi(l, (uint8_t)v);
        return 0;
    }
    switch (reg) { /* xAPIC only */
    case REG_ID:
        l->id = v & 0xff000000u;
        return 0;
    case REG_LDR:
        l->ldr = v & 0xff000000u;
        return 0;
    case REG_DFR:
        l->dfr = v | 0x0fffffffu;
        return 0;
    case REG_ICR2:
        l->icr_hi = v & ICR2_XAPIC_DEST;
        return 0;
    }
    return reg_read_only(reg) ? 0 : REG_BAD;
}

/* --- xAPIC MMIO --- */

uint64_t lapic_mmio_base(const struct lapic *l)
{
    if (lapic_mode(l) != LAPIC_MODE_XAPIC)
        return LAPIC_NO_MMIO;
    return l->apic_base & ~(LAPIC_PAGE_SIZE - 1) & ~l->base_reserved;
}

/* Registers are 32 bits at 16-byte strides; narrower reads see their bytes,
 * the 12 bytes after each register read 0. */
static uint64_t mmio_read(void *opaque, uint64_t offset, unsigned size)
{
    struct lapic *l = opaque;
    if (lapic_mode(l) != LAPIC_MODE_XAPIC || offset >= LAPIC_PAGE_SIZE)
        return bus_all_ones(size);
    unsigned byte = offset & 0xf;
    if (byte + size > 4)
        return 0;
    uint64_t v = 0;
    if (reg_read(l, (unsigned)(offset >> 4), &v) == REG_BAD) {
        lapic_error(l, ESR_ILLEGAL_REG);
        v = 0;
    }
    return (v >> (8 * byte)) & bus_all_ones(size);
}

static void mmio_write(void *opaque, uint64_t offset, unsigned size, uint64_t value)
{
    struct lapic *l = opaque;
    if (lapic_mode(l) != LAPIC_MODE_XAPIC || offset >= LAPIC_PAGE_SIZE)
        return;
    if (size != 4 || (offset & 0xf)) {
        if (log_once_check(&regs_once, offset))
            log_warn("lapic: %u-byte write at offset 0x%llx ignored (32-bit aligned only)", size,
                     (unsigned long long)offset);
        return;
    }
    if (reg_write(l, (unsigned)(offset >> 4), (uint32_t)value) == REG_BAD)
        lapic_error(l, ESR_ILLEGAL_REG);
}

const struct bus_ops lapic_mmio_ops = {.read = mmio_read, .write = mmio_write};

/* --- MSRs --- */

bool lapic_msr_is_apic(uint32_t msr)
{
    return msr == MSR_IA32_APIC_BASE || msr == MSR_IA32_TSC_DEADLINE ||
           (msr >= MSR_X2APIC_FIRST && msr <= MSR_X2APIC_LAST);
}

static enum lapic_mode mode_of(uint64_t base)
{
    if (!(base & APIC_BASE_ENABLE))
        return LAPIC_MODE_DISABLED;
    return base & APIC_BASE_EXTD ? LAPIC_MODE_X2APIC : LAPIC_MODE_XAPIC;
}

/* SDM 11.12.5: disabled <-> xAPIC <-> x2APIC, leaving x2APIC only through
 * disabled; EXTD without EN is invalid. BSP is read-only. */
static int write_apic_base(struct lapic *l, uint64_t value)
{
    enum lapic_mode old = lapic_mode(l), new = mode_of(value);
    if ((value & l->base_reserved) || ((value & APIC_BASE_EXTD) && new == LAPIC_MODE_DISABLED))
        return LAPIC_GP;
    if ((old == LAPIC_MODE_X2APIC && new == LAPIC_MODE_XAPIC) ||
        (old == LAPIC_MODE_DISABLED && new == LAPIC_MODE_X2APIC))
        return LAPIC_GP;
    l->apic_base = (value & ~APIC_BASE_BSP) | (l->apic_base & APIC_BASE_BSP);
    if (new == LAPIC_MODE_DISABLED && old != LAPIC_MODE_DISABLED) {
        lapic_init_state(l);
        l->id = l->initial_id << 24;
    }
    lapic_update(l);
    return 0;
}

int lapic_rdmsr(struct lapic *l, uint32_t msr, uint64_t *value)
{
    if (msr == MSR_IA32_APIC_BASE) {
        *value = l->apic_base;
        return 0;
    }
    if (msr == MSR_IA32_TSC_DEADLINE) {
        *value = lapic_timer_read_deadline(l);
        return 0;
    }
    if (!lapic_msr_is_apic(msr) || !lapic_x2apic(l))
        return LAPIC_GP;
    return reg_read(l, msr - MSR_X2APIC_FIRST, value) == REG_BAD ? LAPIC_GP : 0;
}

int lapic_wrmsr(struct lapic *l, uint32_t msr, uint64_t value)
{
    if (msr == MSR_IA32_APIC_BASE)
        return write_apic_base(l, value);
    if (msr == MSR_IA32_TSC_DEADLINE) {
        lapic_timer_write_deadline(l, value);
        return 0;
    }
    if (!lapic_msr_is_apic(msr) || !lapic_x2apic(l))
        return LAPIC_GP;
    return reg_write(l, msr - MSR_X2APIC_FIRST, value) == REG_BAD ? LAPIC_GP : 0;
}
