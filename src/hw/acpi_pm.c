#include "hw/acpi_pm.h"

#include <stdbool.h>
#include <stdlib.h>
#include <time.h>

#include "util/log.h"

#define NSEC_PER_SEC 1000000000ull

/* Status bits that raise the SCI when their enable bit is set. */
#define PM1_SCI_EVENTS                                                                             \
    (ACPI_PM1_TMR | ACPI_PM1_GBL | ACPI_PM1_PWRBTN | ACPI_PM1_SLPBTN | ACPI_PM1_RTC)
/* PM1_EN bits the guest can change: the events above and PCIEXP_WAKE_DIS. */
#define PM1_EN_WRITABLE (PM1_SCI_EVENTS | (1u << 14))
/* PM1_CNT bits kept as written; SLP_EN and GBL_RLS are write-only. */
#define PM1_CNT_KEPT (ACPI_PM1_CNT_BM_RLD | ACPI_PM1_CNT_SLP_TYP)

struct acpi_pm {
    struct irq_line sci;
    struct power_line power;
    uint16_t sts;
    uint16_t en;
    uint16_t cnt;
    int sci_level;
    uint64_t seen_ticks; /* unwrapped timer ticks when TMR_STS was last brought up to date */
    uint64_t (*now_ns)(void *ctx);
    void *clock_ctx;
    struct log_once_set logged; /* keys: sleep types, and LOG_KEY_* below */
};

#define LOG_KEY_TMR_WRITE 0x100

static uint64_t pm_host_now_ns(void *ctx)
{
    (void)ctx;
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * NSEC_PER_SEC + (uint64_t)ts.tv_nsec;
}

/* Ticks since monotonic time 0, without wrapping (no overflow for ~160 years). */
static uint64_t pm_ticks(uint64_t ns)
{
    return ns / NSEC_PER_SEC * ACPI_PM_TIMER_HZ +
           ns % NSEC_PER_SEC * ACPI_PM_TIMER_HZ / NSEC_PER_SEC;
}

uint32_t acpi_pm_timer_at(uint64_t ns)
{
    return (uint32_t)(pm_ticks(ns) & ((1u << ACPI_PM_TIMER_BITS) - 1));
}

static uint64_t pm_now_ticks(const struct acpi_pm *pm)
{
    return pm_ticks(pm->now_ns(pm->clock_ctx));
}

static void pm_update_sci(struct acpi_pm *pm)
{
    int level = (pm->sts & pm->en & PM1_SCI_EVENTS) != 0;
    if (level != pm->sci_level) {
        pm->sci_level = level;
        irq_line_set(&pm->sci, level);
    }
}

/* TMR_STS is set whenever the counter's top bit changes (every 2^23 ticks). */
static void pm_update_timer(struct acpi_pm *pm)
{
    uint64_t now = pm_now_ticks(pm);
    if (now >> (ACPI_PM_TIMER_BITS - 1) != pm->seen_ticks >> (ACPI_PM_TIMER_BITS - 1))
        pm->sts |= ACPI_PM1_TMR;
    pm->seen_ticks = now;
    pm_update_sci(pm);
}

/* Bytes [offset, offset + size) of a len-byte register image; bytes past the
 * block read as all-ones, like an unclaimed port. */
static uint64_t pm_extract(uint32_t image, unsigned len, uint64_t offset, unsigned size)
{
    uint64_t v = 0;
    for (unsigned i = 0; i < size; i++) {
        uint64_t o = offset + i;
        uint64_t byte = o < len ? (image >> (8 * o)) & 0xff : 0xff;
        v |= byte << (8 * i);
    }
    return v;
}

/* The bytes of a len-byte image a write touches (mask) and their new
 * contents (*bits); bytes past the block are dropped. */
static uint32_t pm_write_mask(unsigned len, uint64_t offset, unsigned size, uint64_t value,
                              uint32_t *bits)
{
    uint32_t mask = 0;
    *bits = 0;
    for (unsigned i = 0; i < size; i++) {
        uint64_t o = offset + i;
        if (o >= len)
            break;
        mask |= 0xffu << (8 * o);
        *bits |= (uint32_t)((value >> (8 * i)) & 0xff) << (8 * o);
    }
    return mask;
}

static uint64_t pm_evt_read(void *opaque, uint64_t offset, unsigned size)
{
    struct acpi_pm *pm = opaque;
    pm_update_timer(pm);
    return pm_extract(pm->sts | (uint32_t)pm->en << 16, ACPI_PM_EVT_LEN, offset, size);
}

static void pm_evt_write(void *opaque, uint64_t offset, unsigned size, uint64_t value)
{
    struct acpi_pm *pm = opaque;
    uint32_t bits;
    uint32_t mask = pm_write_mask(ACPI_PM_EVT_LEN, offset, size, value, &bits);
    pm_update_timer(pm);
    pm->sts &= (uint16_t)~bits; /* write 1 to clear; bits is 0 outside the bytes written */
    uint16_t en_mask = (uint16_t)(mask >> 16) & PM1_EN_WRITABLE;
    pm->en = (uint16_t)((pm->en & ~en_mask) | ((bits >> 16) & en_mask));
    pm_update_sci(pm);
}

static uint64_t pm_cnt_read(void *opaque, uint64_t offset, unsigned size)
{
    struct acpi_pm *pm = opaque;
    pm_update_timer(pm);
    return pm_extract(pm->cnt | ACPI_PM1_CNT_SCI_EN, ACPI_PM_CNT_LEN, offset, size);
}

static void pm_sleep(struct acpi_pm *pm, unsigned slp_typ)
{
    if (slp_typ == ACPI_PM_SLP_TYP_S5) {
        power_line_request(&pm->power, POWER_OFF, 0, "ACPI S5 power-off");
        return;
    }
    /* The guest would wait for WAK_STS forever: wake it at once instead. */
    if (log_once_check(&pm->logged, slp_typ))
        log_warn("ACPI: guest asked for sleep type %u, which xuni does not implement; "
                 "waking it at once",
                 slp_typ);
    pm->sts |= ACPI_PM1_WAK_STS;
}

static void pm_cnt_write(void *opaque, uint64_t offset, unsigned size, uint64_t value)
{
    struct acpi_pm *pm = opaque;
    uint32_t bits;
    uint32_t mask = pm_write_mask(ACPI_PM_CNT_LEN, offset, size, value, &bits);
    uint32_t cnt = (pm->cnt & ~mask) | (bits & mask);
    pm_update_timer(pm);
    pm->cnt = (uint16_t)(cnt & PM1_CNT_KEPT);
    if (cnt & ACPI_PM1_CNT_SLP_EN)
        pm_sleep(pm, (cnt & ACPI_PM1_CNT_SLP_TYP) >> ACPI_PM1_CNT_SLP_TYP_SHIFT);
    pm_update_sci(pm);
}

static uint64_t pm_tmr_read(void *opaque, uint64_t offset, unsigned size)
{
    struct acpi_pm *pm = opaque;
    pm_update_timer(pm);
    return pm_extract(acpi_pm_timer_at(pm->now_ns(pm->clock_ctx)), ACPI_PM_TMR_LEN, offset, size);
}

static void pm_tmr_write(void *opaque, uint64_t offset, unsigned size, uint64_t value)
{
    struct acpi_pm *pm = opaque;
    if (log_once_check(&pm->logged, LOG_KEY_TMR_WRITE))
        log_warn("ACPI: guest wrote %#llx to the read-only PM timer (offset %llu, size %u); "
                 "ignored",
                 (unsigned long long)value, (unsigned long long)offset, size);
}

const struct bus_ops acpi_pm_evt_ops = {.read = pm_evt_read, .write = pm_evt_write};
const struct bus_ops acpi_pm_cnt_ops = {.read = pm_cnt_read, .write = pm_cnt_write};
const struct bus_ops acpi_pm_tmr_ops = {.read = pm_tmr_read, .write = pm_tmr_write};

struct acpi_pm *acpi_pm_new(struct irq_line sci, struct power_line power)
{
    struct acpi_pm *pm = calloc(1, sizeof(*pm));
    if (!pm) {
        log_error("cannot allocate the ACPI PM device");
        return NULL;
    }
    pm->sci = sci;
    pm->power = power;
    acpi_pm_set_clock(pm, pm_host_now_ns, NULL);
    return pm;
}

void acpi_pm_free(struct acpi_pm *pm)
{
    free(pm);
}

void acpi_pm_set_clock(struct acpi_pm *pm, uint64_t (*now_ns)(void *ctx), void *ctx)
{
    pm->now_ns = now_ns ? now_ns : pm_host_now_ns;
    pm->clock_ctx = ctx;
    pm->seen_ticks = pm_now_ticks(pm);
}

void acpi_pm_press_power_button(struct acpi_pm *pm)
{
    pm->sts |= ACPI_PM1_PWRBTN;
    pm_update_sci(pm);
}
