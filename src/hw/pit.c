#include "hw/pit.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "util/log.h"

#define NS NSEC_PER_SEC_U64

#define CONTROL_PORT 3
#define CW_BCD       0x01
#define CW_READBACK  3    /* SC = 11 */
#define RB_NO_COUNT  0x20 /* read-back: bit clear = latch the count */
#define RB_NO_STATUS 0x10 /* read-back: bit clear = latch the status */
#define ST_OUT       0x80
#define ST_NULL      0x40

#define P61_GATE2    0x01
#define P61_SPEAKER  0x02
#define P61_WRITABLE 0x0f
#define P61_REFRESH  0x10
#define P61_OUT2     0x20

enum { RW_LATCH, RW_LSB, RW_MSB, RW_BOTH };

struct pit_channel {
    uint32_t count; /* N: the loaded count, 1-65536 */
    uint8_t mode, rw;
    uint8_t control; /* control word bits 5:0, for the status byte */
    bool loaded;     /* a count was written since the control word */
    bool running;    /* counting now */
    bool triggered;  /* modes 1 and 5: a gate edge started the count */
    bool gate;
    bool null_count;
    uint64_t load_ns; /* start of the current counting run */
    uint64_t run_ns;  /* counted before load_ns (modes 0 and 4 pause) */
    bool write_msb, read_msb;
    uint8_t write_lsb;
    bool count_latched, status_latched;
    uint16_t latched_count;
    uint8_t latched_status;
};

struct pit {
    struct timer_service *timers;
    struct timer *timer; /* channel 0's next rising OUT edge */
    struct irq_line irq0;
    struct pit_channel ch[3];
    uint8_t port61;
};

static struct log_once_set pit_once;

static uint64_t now_ns(const struct pit *pit)
{
    return timer_now(pit->timers);
}

static uint64_t ticks(const struct pit_channel *c, uint64_t now)
{
    uint64_t ns = c->run_ns + (c->running && now > c->load_ns ? now - c->load_ns : 0);
    return muldiv64(ns, PIT_HZ, NS);
}

/* Mode 3 counts down by two: N even, N..2 in each half; N odd, the high
 * half N, N-1, N-3, ..., 2 ((N+1)/2 clocks), the low half N, N-3, ..., 2. */
static uint32_t square_count(uint32_t n, uint64_t t)
{
    uint32_t p = (uint32_t)(t % n), high = (n + 1) / 2;
    if (n % 2 == 0)
        return p < high ? n - 2 * p : n - 2 * (p - high);
    if (p < high)
        return p ? n + 1 - 2 * p : n;
    uint32_t q = p - high;
    return q ? n - 1 - 2 * q : n;
}

/* The counting element now; 65536 reads as 0. */
static uint16_t read_count(const struct pit_channel *c, uint64_t now)
{
    if (!c->loaded)
        return 0;
    uint64_t t = ticks(c, now);
    uint32_t n = c->count;
    switch (c->mode) {
    case 1:
    case 5:
        if (!c->triggered)
            return (uint16_t)n;
        return (uint16_t)(n - t);
    case 2:
        return (uint16_t)(n - t % n);
    case 3:
        return (uint16_t)square_count(n, t);
    default: /* 0, 4: count on through zero, wrapping */
        return (uint16_t)(n - t);
    }
}

static bool read_out(const struct pit_channel *c, uint64_t now)
{
    if (!c->loaded)
        return c->mode != 0; /* the control word sets OUT: low in mode 0 */
    uint64_t t = ticks(c, now);
    uint32_t n = c->count;
    switch (c->mode) {
    case 0:
        return t >= n;
    case 1:
        return !c->triggered || t >= n;
    case 2:
        return !c->gate || t % n != n - 1;
    case 3:
        return !c->gate || t % n < (n + 1) / 2;
    case 5:
        return !c->triggered || t != n;
    default: /* 4 */
        return t != n;
    }
}

/* The first clock after t at which OUT rises, or 0 if none will. */
static uint64_t next_rising_edge(const struct pit_channel *c, uint64_t t)
{
    if (!c->loaded || !c->running)
        return 0;
    uint64_t n = c->count;
    switch (c->mode) {
    case 0:
    case 1:
        return t < n ? n : 0;
    case 2:
    case 3:
        return (t / n + 1) * n;
    default: /* 4, 5: OUT low for the clock at zero */
        return t < n + 1 ? n + 1 : 0;
    }
}

/* Arm channel 0's timer for its next rising edge, not before not_before. */
static void schedule_irq(struct pit *pit, uint64_t now, uint64_t not_before)
{
    struct pit_channel *c = &pit->ch[0];
    uint64_t edge = next_rising_edge(c, ticks(c, now));
    if (!edge) {
        timer_del(pit->timer);
        return;
    }
    uint64_t edge_ns = muldiv64_up(edge, NS, PIT_HZ);
    uint64_t deadline = c->load_ns + (edge_ns > c->run_ns ? edge_ns - c->run_ns : 0);
    timer_mod(pit->timer, deadline > not_before ? deadline : not_before);
}

static void pit_timer_expired(void *opaque)
{
    struct pit *pit = opaque;
    uint64_t now = now_ns(pit);
    irq_line_pulse(&pit->irq0);
    bool periodic = pit->ch[0].mode == 2 || pit->ch[0].mode == 3;
    schedule_irq(pit, now, periodic ? now + PIT_MIN_PERIOD_NS : 0);
}

static void channel_changed(struct pit *pit, unsigned idx, uint64_t now)
{
    if (idx == 0)
        schedule_irq(pit, now, 0);
}

static void start_run(struct pit_channel *c, uint64_t now)
{
    c->run_ns = 0;
    c->load_ns = now;
    c->running = true;
}

static void load_count(struct pit *pit, unsigned idx, uint16_t raw)
{
    struct pit_channel *c = &pit->ch[idx];
    uint64_t now = now_ns(pit);
    c->count = raw ? raw : 65536;
    c->loaded = true;
    c->null_count = false;
    c->triggered = false;
    start_run(c, now);
    if (c->mode == 1 || c->mode == 5)
        c->running = false; /* waits for a gate edge */
    else
        c->running = c->gate;
    channel_changed(pit, idx, now);
}

static void set_gate(struct pit *pit, unsigned idx, bool gate)
{
    struct pit_channel *c = &pit->ch[idx];
    if (gate == c->gate)
        return;
    c->gate = gate;
    if (!c->loaded)
        return;
    uint64_t now = now_ns(pit);
    if (!gate) {
        if (c->mode != 1 && c->mode != 5 && c->running) {
            c->run_ns += now - c->load_ns; /* paused (0, 4) or stopped (2, 3) */
            c->running = false;
        }
    } else if (c->mode == 0 || c->mode == 4) {
        c->load_ns = now; /* resume */
        c->running = true;
    } else {
        c->triggered = true; /* 1, 5 trigger; 2, 3 reload */
        start_run(c, now);
    }
    channel_changed(pit, idx, now);
}

struct pit *pit_new(struct timer_service *timers, struct irq_line irq0)
{
    struct pit *pit = calloc(1, sizeof(*pit));
    if (!pit) {
        log_error("pit: out of memory");
        return NULL;
    }
    pit->timers = timers;
    pit->irq0 = irq0;
    pit->timer = timer_new(timers, pit_timer_expired, pit);
    if (!pit->timer) {
        free(pit);
        return NULL;
    }
    pit_reset(pit);
    return pit;
}

void pit_free(struct pit *pit)
{
    if (!pit)
        return;
    timer_free(pit->timer);
    free(pit);
}

void pit_reset(struct pit *pit)
{
    timer_del(pit->timer);
    memset(pit->ch, 0, sizeof(pit->ch));
    for (unsigned i = 0; i < 3; i++)
        pit->ch[i].gate = i != 2;
    pit->port61 = 0;
}

int pit_out(struct pit *pit, unsigned channel)
{
    return channel < 3 && read_out(&pit->ch[channel], now_ns(pit));
}

/* --- latches --- */

static void latch_count(struct pit_channel *c, uint64_t now)
{
    if (c->count_latched)
        return; /* a second latch before the read is ignored */
    c->latched_count = read_count(c, now);
    c->count_latched = true;
    c->read_msb = false;
}

static void latch_status(struct pit_channel *c, uint64_t now)
{
    if (c->status_latched)
        return;
    c->latched_status =
        (uint8_t)((read_out(c, now) ? ST_OUT : 0) | (c->null_count ? ST_NULL : 0) | c->control);
    c->status_latched = true;
}

static void read_back(struct pit *pit, uint8_t v)
{
    uint64_t now = now_ns(pit);
    for (unsigned i = 0; i < 3; i++) {
        if (!(v & (2u << i)))
            continue;
        if (!(v & RB_NO_STATUS))
            latch_status(&pit->ch[i], now);
        if (!(v & RB_NO_COUNT))
            latch_count(&pit->ch[i], now);
    }
}

static void write_control(struct pit *pit, uint8_t v)
{
    unsigned sc = v >> 6, rw = (v >> 4) & 3;
    if (sc == CW_READBACK) {
        read_back(pit, v);
        return;
    }
    struct pit_channel *c = &pit->ch[sc];
    if (rw == RW_LATCH) {
        latch_count(c, now_ns(pit));
        return;
    }
    if ((v & CW_BCD) && log_once_check(&pit_once, 1))
        log_warn("pit: BCD counting not supported; counting in binary");
    c->rw = (uint8_t)rw;
    c->mode = (v >> 1) & 7;
    if (c->mode > 5)
        c->mode -= 4; /* 110 and 111 are modes 2 and 3 */
    c->control = v & 0x3f;
    c->loaded = c->running = c->triggered = false;
    c->null_count = true;
    c->write_msb = c->read_msb = false;
    c->count_latched = c->status_latched = false;
    channel_changed(pit, sc, now_ns(pit));
}

/* --- ports --- */

static uint8_t read_counter(struct pit *pit, unsigned idx)
{
    struct pit_channel *c = &pit->ch[idx];
    if (c->status_latched) {
        c->status_latched = false;
        return c->latched_status;
    }
    uint16_t count = c->count_latched ? c->latched_count : read_count(c, now_ns(pit));
    bool msb = c->rw == RW_MSB || (c->rw == RW_BOTH && c->read_msb);
    bool done = c->rw != RW_BOTH || c->read_msb;
    if (c->rw == RW_BOTH)
        c->read_msb = !c->read_msb;
    if (done)
        c->count_latched = false;
    return (uint8_t)(msb ? count >> 8 : count);
}

static void write_counter(struct pit *pit, unsigned idx, uint8_t v)
{
    struct pit_channel *c = &pit->ch[idx];
    switch (c->rw) {
    case RW_LSB:
        load_count(pit, idx, v);
        break;
    case RW_MSB:
        load_count(pit, idx, (uint16_t)(v << 8));
        break;
    case RW_BOTH:
        if (!c->write_msb) {
            c->write_lsb = v;
            c->write_msb = true;
        } else {
            c->write_msb = false;
            load_count(pit, idx, (uint16_t)(c->write_lsb | v << 8));
        }
        break;
    default:
        break; /* no control word yet */
    }
}

static uint64_t pit_read(void *opaque, uint64_t offset, unsigned size)
{
    (void)size;
    if (offset >= CONTROL_PORT)
        return 0xff; /* the control word register cannot be read */
    return read_counter(opaque, (unsigned)offset);
}

static void pit_write(void *opaque, uint64_t offset, unsigned size, uint64_t value)
{
    (void)size;
    if (offset == CONTROL_PORT)
        write_control(opaque, (uint8_t)value);
    else if (offset < CONTROL_PORT)
        write_counter(opaque, (unsigned)offset, (uint8_t)value);
}

const struct bus_ops pit_ops = {.read = pit_read, .write = pit_write};

static uint64_t port61_read(void *opaque, uint64_t offset, unsigned size)
{
    struct pit *pit = opaque;
    (void)offset;
    (void)size;
    uint64_t now = now_ns(pit);
    uint8_t v = pit->port61 & P61_WRITABLE;
    if ((now / PIT_REFRESH_NS) & 1)
        v |= P61_REFRESH;
    if (read_out(&pit->ch[2], now))
        v |= P61_OUT2;
    return v;
}

static void port61_write(void *opaque, uint64_t offset, unsigned size, uint64_t value)
{
    struct pit *pit = opaque;
    (void)offset;
    (void)size;
    pit->port61 = (uint8_t)value & P61_WRITABLE;
    set_gate(pit, 2, value & P61_GATE2);
}

const struct bus_ops pit_port61_ops = {.read = port61_read, .write = port61_write};
