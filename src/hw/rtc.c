#include "hw/rtc.h"

#include <stdbool.h>
#include <stdlib.h>
#include <time.h>

#include "util/log.h"

#define NSEC_PER_SEC  1000000000LL
#define SEC_PER_DAY   86400
#define RTC_CMOS_SIZE 128

/* Clock registers. */
enum {
    RTC_SECONDS = 0x00,
    RTC_SECONDS_ALARM = 0x01,
    RTC_MINUTES = 0x02,
    RTC_MINUTES_ALARM = 0x03,
    RTC_HOURS = 0x04,
    RTC_HOURS_ALARM = 0x05,
    RTC_DAY_OF_WEEK = 0x06,
    RTC_DAY_OF_MONTH = 0x07,
    RTC_MONTH = 0x08,
    RTC_YEAR = 0x09,
};

#define REG_A_UIP      0x80
#define REG_A_DV       0x70
#define REG_A_DV_RESET 0x60 /* DV = 11x holds the divider chain in reset */
#define REG_A_RS       0x0f
#define REG_A_DEFAULT  0x26 /* 32.768 kHz time base, 1024 Hz periodic rate */

#define REG_B_SET     0x80
#define REG_B_PIE     0x40
#define REG_B_AIE     0x20
#define REG_B_UIE     0x10
#define REG_B_DM      0x04 /* binary (1) or BCD (0) */
#define REG_B_24H     0x02
#define REG_B_DEFAULT REG_B_24H

#define REG_C_IRQF 0x80
#define REG_C_PF   0x40
#define REG_C_AF   0x20
#define REG_C_UF   0x10

#define REG_D_VRT 0x80

#define HOUR_PM        0x80
#define ALARM_DONTCARE 0xc0

/* The update cycle starts 244 us after UIP rises; our update is at the
 * second boundary, so UIP covers the last 244 us of each second. */
#define RTC_UIP_NS 244000LL

struct rtc {
    struct irq_line irq;
    uint8_t index;
    uint8_t cmos[RTC_CMOS_SIZE];
    int64_t offset_s;  /* guest time minus host time */
    bool frozen;       /* register B's SET bit: the clock is stopped */
    struct tm set_tm;  /* the time being set while frozen */
    int64_t last_c_ns; /* guest time at the previous read of register C */
    uint64_t last_c_mono_ns;
    uint64_t (*realtime_ns)(void *ctx);
    uint64_t (*monotonic_ns)(void *ctx);
    void *clock_ctx;
};

static uint64_t rtc_clock_ns(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return (uint64_t)ts.tv_sec * NSEC_PER_SEC + (uint64_t)ts.tv_nsec;
}

static uint64_t rtc_host_realtime(void *ctx)
{
    (void)ctx;
    return rtc_clock_ns(CLOCK_REALTIME);
}

static uint64_t rtc_host_monotonic(void *ctx)
{
    (void)ctx;
    return rtc_clock_ns(CLOCK_MONOTONIC);
}

static int64_t floor_div(int64_t a, int64_t b)
{
    return a / b - (a % b != 0 && (a < 0) != (b < 0));
}

static int64_t rtc_host_seconds(const struct rtc *rtc)
{
    return (int64_t)(rtc->realtime_ns(rtc->clock_ctx) / NSEC_PER_SEC);
}

static int64_t rtc_guest_ns(const struct rtc *rtc)
{
    return (int64_t)rtc->realtime_ns(rtc->clock_ctx) + rtc->offset_s * NSEC_PER_SEC;
}

/* The guest's current broken-down time (UTC). */
static struct tm rtc_guest_tm(const struct rtc *rtc)
{
    if (rtc->frozen)
        return rtc->set_tm;
    time_t t = (time_t)floor_div(rtc_guest_ns(rtc), NSEC_PER_SEC);
    struct tm tm;
    gmtime_r(&t, &tm);
    return tm;
}

static bool rtc_binary(const struct rtc *rtc)
{
    return rtc->cmos[RTC_REG_B] & REG_B_DM;
}

static uint8_t rtc_encode(const struct rtc *rtc, int value)
{
    if (rtc_binary(rtc))
        return (uint8_t)value;
    return (uint8_t)(((value / 10) % 10) << 4 | value % 10);
}

static int rtc_decode(const struct rtc *rtc, uint8_t value)
{
    if (rtc_binary(rtc))
        return value;
    return (value >> 4) * 10 + (value & 0x0f);
}

static uint8_t rtc_encode_hour(const struct rtc *rtc, int hour)
{
    if (rtc->cmos[RTC_REG_B] & REG_B_24H)
        return rtc_encode(rtc, hour);
    int h12 = hour % 12 ? hour % 12 : 12;
    return rtc_encode(rtc, h12) | (hour >= 12 ? HOUR_PM : 0);
}

static int rtc_decode_hour(const struct rtc *rtc, uint8_t value)
{
    if (rtc->cmos[RTC_REG_B] & REG_B_24H)
        return rtc_decode(rtc, value);
    return rtc_decode(rtc, value & ~HOUR_PM) % 12 + (value & HOUR_PM ? 12 : 0);
}

static uint8_t rtc_read_time(const struct rtc *rtc, uint8_t reg)
{
    struct tm tm = rtc_guest_tm(rtc);
    int year = tm.tm_year + 1900;
    switch (reg) {
    case RTC_SECONDS:
        return rtc_encode(rtc, tm.tm_sec);
    case RTC_MINUTES:
        return rtc_encode(rtc, tm.tm_min);
    case RTC_HOURS:
        return rtc_encode_hour(rtc, tm.tm_hour);
    case RTC_DAY_OF_WEEK:
        return rtc_encode(rtc, tm.tm_wday + 1);
    case RTC_DAY_OF_MONTH:
        return rtc_encode(rtc, tm.tm_mday);
    case RTC_MONTH:
        return rtc_encode(rtc, tm.tm_mon + 1);
    case RTC_YEAR:
        return rtc_encode(rtc, year % 100);
    default: /* RTC_CMOS_CENTURY */
        return rtc_encode(rtc, year / 100);
    }
}

/* A guest write to a clock register: change that field of the guest time.
 * While frozen the fields are only collected (a half-set date may be
 * invalid); otherwise the clock moves at once. */
static void rtc_write_time(struct rtc *rtc, uint8_t reg, uint8_t value)
{
    struct tm tm = rtc_guest_tm(rtc);
    int v = rtc_decode(rtc, value);
    int year = tm.tm_year + 1900;
    switch (reg) {
    case RTC_SECONDS:
        tm.tm_sec = v;
        break;
    case RTC_MINUTES:
        tm.tm_min = v;
        break;
    case RTC_HOURS:
        tm.tm_hour = rtc_decode_hour(rtc, value);
        break;
    case RTC_DAY_OF_WEEK:
        return; /* derived from the date */
    case RTC_DAY_OF_MONTH:
        tm.tm_mday = v;
        break;
    case RTC_MONTH:
        tm.tm_mon = v - 1;
        break;
    case RTC_YEAR:
        tm.tm_year = year / 100 * 100 + v - 1900;
        break;
    default: /* RTC_CMOS_CENTURY */
        tm.tm_year = v * 100 + year % 100 - 1900;
        break;
    }
    if (rtc->frozen)
        rtc->set_tm = tm;
    else
        rtc->offset_s = (int64_t)timegm(&tm) - rtc_host_seconds(rtc);
}

static bool rtc_running(const struct rtc *rtc)
{
    return (rtc->cmos[RTC_REG_A] & REG_A_DV_RESET) != REG_A_DV_RESET;
}

static uint8_t rtc_read_a(const struct rtc *rtc)
{
    uint8_t a = rtc->cmos[RTC_REG_A] & ~REG_A_UIP;
    if (!rtc->frozen && rtc_running(rtc)) {
        int64_t ns = rtc_guest_ns(rtc);
        if (ns - floor_div(ns, NSEC_PER_SEC) * NSEC_PER_SEC >= NSEC_PER_SEC - RTC_UIP_NS)
            a |= REG_A_UIP;
    }
    return a;
}

static void rtc_write_b(struct rtc *rtc, uint8_t value)
{
    bool set = value & REG_B_SET;
    if (set && !rtc->frozen) {
        rtc->set_tm = rtc_guest_tm(rtc);
        rtc->frozen = true;
    } else if (!set && rtc->frozen) {
        rtc->frozen = false;
        rtc->offset_s = (int64_t)timegm(&rtc->set_tm) - rtc_host_seconds(rtc);
    }
    /* Setting SET clears UIE (datasheet): no update-ended while stopped. */
    rtc->cmos[RTC_REG_B] = set ? value & ~REG_B_UIE : value;
}

/* Whether an alarm field matches: "don't care" values match anything. */
static bool rtc_alarm_field(uint8_t alarm, int decoded, int actual)
{
    return (alarm & ALARM_DONTCARE) == ALARM_DONTCARE || decoded == actual;
}

/* Did the alarm time come up in the seconds (from, to]? It matches at
 * least once a day, so a day's worth of seconds is enough to look at. */
static bool rtc_alarm_between(const struct rtc *rtc, int64_t from, int64_t to)
{
    uint8_t as = rtc->cmos[RTC_SECONDS_ALARM], am = rtc->cmos[RTC_MINUTES_ALARM];
    uint8_t ah = rtc->cmos[RTC_HOURS_ALARM];
    int ds = rtc_decode(rtc, as), dm = rtc_decode(rtc, am), dh = rtc_decode_hour(rtc, ah);
    if (to - from > SEC_PER_DAY)
        from = to - SEC_PER_DAY;
    for (int64_t t = from + 1; t <= to; t++) {
        int64_t sod = t - floor_div(t, SEC_PER_DAY) * SEC_PER_DAY;
        if (rtc_alarm_field(as, ds, (int)(sod % 60)) &&
            rtc_alarm_field(am, dm, (int)(sod / 60 % 60)) &&
            rtc_alarm_field(ah, dh, (int)(sod / 3600)))
            return true;
    }
    return false;
}

/* Periodic interrupt period in 32.768 kHz ticks, or 0 when off. */
static uint64_t rtc_period_ticks(const struct rtc *rtc)
{
    unsigned rs = rtc->cmos[RTC_REG_A] & REG_A_RS;
    if (!rs)
        return 0;
    return rs <= 2 ? 1ULL << (rs + 6) : 1ULL << (rs - 1);
}

static uint64_t rtc_ticks(uint64_t ns)
{
    return (uint64_t)((unsigned __int128)ns * 32768 / NSEC_PER_SEC);
}

/* Register C: the flags of everything that happened since the last read,
 * cleared by this read. */
static uint8_t rtc_read_c(struct rtc *rtc)
{
    int64_t now = rtc_guest_ns(rtc);
    uint64_t mono = rtc->monotonic_ns(rtc->clock_ctx);
    int64_t s0 = floor_div(rtc->last_c_ns, NSEC_PER_SEC), s1 = floor_div(now, NSEC_PER_SEC);
    uint8_t flags = 0;
    if (!rtc->frozen && rtc_running(rtc) && s1 > s0) {
        flags |= REG_C_UF;
        if (rtc_alarm_between(rtc, s0, s1))
            flags |= REG_C_AF;
    }
    uint64_t period = rtc_period_ticks(rtc);
    if (period && rtc_running(rtc) &&
        rtc_ticks(mono) / period != rtc_ticks(rtc->last_c_mono_ns) / period)
        flags |= REG_C_PF;
    if (flags & rtc->cmos[RTC_REG_B] & (REG_B_PIE | REG_B_AIE | REG_B_UIE))
        flags |= REG_C_IRQF;
    rtc->last_c_ns = now;
    rtc->last_c_mono_ns = mono;
    return flags;
}

static bool rtc_is_time_reg(uint8_t reg)
{
    return (reg <= RTC_YEAR && reg != RTC_SECONDS_ALARM && reg != RTC_MINUTES_ALARM &&
            reg != RTC_HOURS_ALARM) ||
           reg == RTC_CMOS_CENTURY;
}

static uint8_t rtc_read_reg(struct rtc *rtc, uint8_t reg)
{
    if (rtc_is_time_reg(reg))
        return rtc_read_time(rtc, reg);
    switch (reg) {
    case RTC_REG_A:
        return rtc_read_a(rtc);
    case RTC_REG_C:
        return rtc_read_c(rtc);
    case RTC_REG_D:
        return REG_D_VRT;
    default:
        return rtc->cmos[reg];
    }
}

static void rtc_write_reg(struct rtc *rtc, uint8_t reg, uint8_t value)
{
    if (rtc_is_time_reg(reg)) {
        rtc_write_time(rtc, reg, value);
        return;
    }
    switch (reg) {
    case RTC_REG_A:
        rtc->cmos[RTC_REG_A] = value & ~REG_A_UIP;
        break;
    case RTC_REG_B:
        rtc_write_b(rtc, value);
        break;
    case RTC_REG_C:
    case RTC_REG_D:
        break; /* read-only */
    default:
        rtc->cmos[reg] = value;
        break;
    }
}

static uint64_t rtc_read(void *opaque, uint64_t offset, unsigned size)
{
    struct rtc *rtc = opaque;
    uint64_t value = 0;
    for (unsigned i = 0; i < size && i < 8; i++) {
        uint8_t byte = offset + i == 1 ? rtc_read_reg(rtc, rtc->index) : 0xff;
        value |= (uint64_t)byte << (8 * i);
    }
    return value;
}

static void rtc_write(void *opaque, uint64_t offset, unsigned size, uint64_t value)
{
    struct rtc *rtc = opaque;
    for (unsigned i = 0; i < size && i < 8; i++) {
        uint8_t byte = (uint8_t)(value >> (8 * i));
        if (offset + i == 0)
            rtc->index = byte & 0x7f; /* bit 7 gates NMI on the PC, not ours */
        else if (offset + i == 1)
            rtc_write_reg(rtc, rtc->index, byte);
    }
}

const struct bus_ops rtc_bus_ops = {
    .read = rtc_read,
    .write = rtc_write,
};

static void rtc_put16(struct rtc *rtc, uint8_t reg, uint64_t value)
{
    if (value > 0xffff)
        value = 0xffff;
    rtc->cmos[reg] = (uint8_t)value;
    rtc->cmos[reg + 1] = (uint8_t)(value >> 8);
}

static void rtc_init_memory_size(struct rtc *rtc, uint64_t below_4g, uint64_t above_4g)
{
    const uint64_t kib = 1024, mib = 1024 * kib;
    uint64_t base = below_4g / kib < 640 ? below_4g / kib : 640;
    uint64_t ext = below_4g > mib ? (below_4g - mib) / kib : 0;
    uint64_t above_16m = below_4g > 16 * mib ? (below_4g - 16 * mib) / (64 * kib) : 0;
    uint64_t high = above_4g / (64 * kib);
    if (high > 0xffffff)
        high = 0xffffff;
    rtc_put16(rtc, 0x15, base);
    rtc_put16(rtc, 0x17, ext);
    rtc_put16(rtc, 0x30, ext);
    rtc_put16(rtc, 0x34, above_16m);
    rtc->cmos[0x5b] = (uint8_t)high;
    rtc->cmos[0x5c] = (uint8_t)(high >> 8);
    rtc->cmos[0x5d] = (uint8_t)(high >> 16);
}

void rtc_set_clock(struct rtc *rtc, uint64_t (*realtime_ns)(void *ctx),
                   uint64_t (*monotonic_ns)(void *ctx), void *ctx)
{
    rtc->realtime_ns = realtime_ns;
    rtc->monotonic_ns = monotonic_ns;
    rtc->clock_ctx = ctx;
    rtc->last_c_ns = rtc_guest_ns(rtc);
    rtc->last_c_mono_ns = monotonic_ns(ctx);
}

struct rtc *rtc_new(struct irq_line irq, uint64_t ram_below_4g, uint64_t ram_above_4g)
{
    struct rtc *rtc = calloc(1, sizeof(*rtc));
    if (!rtc) {
        log_error("rtc: out of memory");
        return NULL;
    }
    rtc->irq = irq;
    rtc->cmos[RTC_REG_A] = REG_A_DEFAULT;
    rtc->cmos[RTC_REG_B] = REG_B_DEFAULT;
    rtc->cmos[0x10] = 0x00; /* no floppy drives */
    rtc->cmos[0x14] = 0x02; /* equipment: FPU present, no floppy, VGA */
    rtc_init_memory_size(rtc, ram_below_4g, ram_above_4g);
    rtc_set_clock(rtc, rtc_host_realtime, rtc_host_monotonic, NULL);
    return rtc;
}

void rtc_free(struct rtc *rtc)
{
    free(rtc);
}
