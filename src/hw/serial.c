#include "hw/serial.h"

#include <stdbool.h>
#include <stdlib.h>

#include "util/log.h"

/* Register offsets (DLAB selects the divisor latch at 0 and 1). */
enum {
    REG_RBR_THR = 0,
    REG_IER = 1,
    REG_IIR_FCR = 2,
    REG_LCR = 3,
    REG_MCR = 4,
    REG_LSR = 5,
    REG_MSR = 6,
    REG_SCR = 7,
};

#define IER_ERBFI 0x01 /* received data available */
#define IER_ETBEI 0x02 /* THR empty */
#define IER_ELSI  0x04 /* receiver line status */
#define IER_EDSSI 0x08 /* modem status */
#define IER_MASK  0x0f /* bits 4-7 read as 0 on a 16550A */

#define IIR_NONE      0x01
#define IIR_MSI       0x00
#define IIR_THRI      0x02
#define IIR_RDI       0x04
#define IIR_RLSI      0x06
#define IIR_TIMEOUT   0x0c
#define IIR_FIFO_BITS 0xc0

#define FCR_ENABLE   0x01
#define FCR_CLEAR_RX 0x02
#define FCR_TRIGGER  0xc0

#define LCR_DLAB 0x80

#define MCR_DTR  0x01
#define MCR_RTS  0x02
#define MCR_OUT1 0x04
#define MCR_OUT2 0x08
#define MCR_LOOP 0x10
#define MCR_MASK 0x1f

#define LSR_DR     0x01
#define LSR_OE     0x02
#define LSR_THRE   0x20
#define LSR_TEMT   0x40
#define LSR_ERRORS 0x1e /* OE, PE, FE, BI: cleared by reading LSR */

#define MSR_DCTS 0x01
#define MSR_DDSR 0x02
#define MSR_TERI 0x04
#define MSR_DDCD 0x08
#define MSR_CTS  0x10
#define MSR_DSR  0x20
#define MSR_RI   0x40
#define MSR_DCD  0x80

struct serial {
    struct chardev *chr;
    struct irq_line irq;
    int irq_level;

    uint8_t ier, lcr, mcr, scr;
    uint8_t fcr;        /* FCR_ENABLE and the trigger bits, as last written */
    uint8_t lsr_errors; /* sticky LSR error bits */
    uint8_t msr_delta;  /* MSR bits 0-3, cleared by reading MSR */
    uint8_t last_rbr;
    uint16_t divisor;
    bool thr_ipending; /* THR-empty interrupt not yet acknowledged */
    bool rx_starved;   /* refused input: wake the chardev once there is room */

    uint8_t rx[SERIAL_FIFO_SIZE];
    unsigned rx_head, rx_count;
};

static bool serial_fifo_enabled(const struct serial *s)
{
    return s->fcr & FCR_ENABLE;
}

static unsigned serial_rx_capacity(const struct serial *s)
{
    return serial_fifo_enabled(s) ? SERIAL_FIFO_SIZE : 1;
}

static unsigned serial_rx_trigger(const struct serial *s)
{
    static const unsigned levels[4] = {1, 4, 8, 14};
    return levels[s->fcr >> 6];
}

/* The modem status inputs: looped from MCR in loopback mode; otherwise a
 * host that is always ready (CTS, DSR, DCD asserted, no ring). */
static uint8_t serial_modem_lines(const struct serial *s)
{
    if (!(s->mcr & MCR_LOOP))
        return MSR_CTS | MSR_DSR | MSR_DCD;
    uint8_t lines = 0;
    if (s->mcr & MCR_RTS)
        lines |= MSR_CTS;
    if (s->mcr & MCR_DTR)
        lines |= MSR_DSR;
    if (s->mcr & MCR_OUT1)
        lines |= MSR_RI;
    if (s->mcr & MCR_OUT2)
        lines |= MSR_DCD;
    return lines;
}

/* The highest-priority pending interrupt, as IIR bits 0-3. */
static uint8_t serial_pending(const struct serial *s)
{
    if ((s->ier & IER_ELSI) && s->lsr_errors)
        return IIR_RLSI;
    if ((s->ier & IER_ERBFI) && s->rx_count) {
        if (serial_fifo_enabled(s) && s->rx_count < serial_rx_trigger(s))
            return IIR_TIMEOUT;
        return IIR_RDI;
    }
    if ((s->ier & IER_ETBEI) && s->thr_ipending)
        return IIR_THRI;
    if ((s->ier & IER_EDSSI) && s->msr_delta)
        return IIR_MSI;
    return IIR_NONE;
}

static void serial_update_irq(struct serial *s)
{
    int level = serial_pending(s) != IIR_NONE && (s->mcr & (MCR_OUT2 | MCR_LOOP)) == MCR_OUT2;
    if (level != s->irq_level) {
        s->irq_level = level;
        irq_line_set(&s->irq, level);
    }
}

static void serial_rx_clear(struct serial *s)
{
    s->rx_head = s->rx_count = 0;
}

/* Called whenever the receive FIFO may have gained room. */
static void serial_rx_room(struct serial *s)
{
    if (s->rx_starved && s->chr && !(s->mcr & MCR_LOOP)) {
        s->rx_starved = false;
        chardev_accept_input(s->chr);
    }
}

static bool serial_rx_push(struct serial *s, uint8_t byte)
{
    if (s->rx_count >= serial_rx_capacity(s))
        return false;
    s->rx[(s->rx_head + s->rx_count) % SERIAL_FIFO_SIZE] = byte;
    s->rx_count++;
    return true;
}

static size_t serial_receive(void *opaque, const uint8_t *buf, size_t len)
{
    struct serial *s = opaque;
    size_t taken = 0;
    /* In loopback mode the receiver is disconnected from the outside. */
    if (!(s->mcr & MCR_LOOP))
        while (taken < len && serial_rx_push(s, buf[taken]))
            taken++;
    if (taken < len)
        s->rx_starved = true;
    serial_update_irq(s);
    return taken;
}

static uint8_t serial_read_rbr(struct serial *s)
{
    if (s->rx_count) {
        s->last_rbr = s->rx[s->rx_head];
        s->rx_head = (s->rx_head + 1) % SERIAL_FIFO_SIZE;
        s->rx_count--;
        serial_rx_room(s);
    }
    return s->last_rbr;
}

static void serial_write_thr(struct serial *s, uint8_t byte)
{
    if (s->mcr & MCR_LOOP) {
        if (!serial_rx_push(s, byte)) {
            /* Overrun: a full FIFO keeps its bytes and loses the new one;
             * without FIFOs the new byte destroys the one in RBR. */
            s->lsr_errors |= LSR_OE;
            if (!serial_fifo_enabled(s))
                s->rx[s->rx_head] = byte;
        }
    } else if (s->chr) {
        chardev_write(s->chr, &byte, 1);
    }
    /* Writing THR acknowledges THR-empty; the byte leaves at once, so THR
     * is empty again and the interrupt is due again. */
    s->thr_ipending = true;
}

static uint8_t serial_read_iir(struct serial *s)
{
    uint8_t id = serial_pending(s);
    if (id == IIR_THRI)
        s->thr_ipending = false;
    return id | (serial_fifo_enabled(s) ? IIR_FIFO_BITS : 0);
}

static void serial_write_ier(struct serial *s, uint8_t value)
{
    uint8_t old = s->ier;
    s->ier = value & IER_MASK;
    /* Enabling ETBEI while THR is empty (it always is) raises THRE. */
    if ((s->ier & IER_ETBEI) && !(old & IER_ETBEI))
        s->thr_ipending = true;
}

static void serial_write_fcr(struct serial *s, uint8_t value)
{
    bool enable = value & FCR_ENABLE;
    if (enable != serial_fifo_enabled(s) || (value & FCR_CLEAR_RX))
        serial_rx_clear(s);
    /* Reserved bits (e.g. the 16750's 64-byte FIFO bit 5) are not kept, so
     * Linux identifies a plain 16550A. */
    s->fcr = enable ? (value & (FCR_ENABLE | FCR_TRIGGER)) : 0;
    serial_rx_room(s);
}

static void serial_write_mcr(struct serial *s, uint8_t value)
{
    uint8_t before = serial_modem_lines(s);
    bool was_loop = s->mcr & MCR_LOOP;
    s->mcr = value & MCR_MASK;
    uint8_t after = serial_modem_lines(s);
    uint8_t changed = before ^ after;
    if (changed & MSR_CTS)
        s->msr_delta |= MSR_DCTS;
    if (changed & MSR_DSR)
        s->msr_delta |= MSR_DDSR;
    if ((before & MSR_RI) && !(after & MSR_RI))
        s->msr_delta |= MSR_TERI;
    if (changed & MSR_DCD)
        s->msr_delta |= MSR_DDCD;
    if (was_loop && !(s->mcr & MCR_LOOP))
        serial_rx_room(s);
}

static uint8_t serial_read_reg(struct serial *s, unsigned reg)
{
    uint8_t v;
    switch (reg) {
    case REG_RBR_THR:
        return (s->lcr & LCR_DLAB) ? (uint8_t)s->divisor : serial_read_rbr(s);
    case REG_IER:
        return (s->lcr & LCR_DLAB) ? (uint8_t)(s->divisor >> 8) : s->ier;
    case REG_IIR_FCR:
        return serial_read_iir(s);
    case REG_LCR:
        return s->lcr;
    case REG_MCR:
        return s->mcr;
    case REG_LSR:
        v = (s->rx_count ? LSR_DR : 0) | s->lsr_errors | LSR_THRE | LSR_TEMT;
        s->lsr_errors = 0;
        return v;
    case REG_MSR:
        v = serial_modem_lines(s) | s->msr_delta;
        s->msr_delta = 0;
        return v;
    default:
        return s->scr;
    }
}

static void serial_write_reg(struct serial *s, unsigned reg, uint8_t value)
{
    switch (reg) {
    case REG_RBR_THR:
        if (s->lcr & LCR_DLAB)
            s->divisor = (s->divisor & 0xff00) | value;
        else
            serial_write_thr(s, value);
        break;
    case REG_IER:
        if (s->lcr & LCR_DLAB)
            s->divisor = (uint16_t)((s->divisor & 0x00ff) | value << 8);
        else
            serial_write_ier(s, value);
        break;
    case REG_IIR_FCR:
        serial_write_fcr(s, value);
        break;
    case REG_LCR:
        s->lcr = value;
        break;
    case REG_MCR:
        serial_write_mcr(s, value);
        break;
    case REG_LSR:
    case REG_MSR:
        break; /* read-only (factory test registers): writes are ignored */
    default:
        s->scr = value;
        break;
    }
}

static uint64_t serial_read(void *opaque, uint64_t offset, unsigned size)
{
    struct serial *s = opaque;
    uint64_t value = 0;
    for (unsigned i = 0; i < size && i < 8; i++) {
        uint64_t reg = offset + i;
        uint8_t byte = reg < SERIAL_NR_PORTS ? serial_read_reg(s, (unsigned)reg) : 0xff;
        value |= (uint64_t)byte << (8 * i);
    }
    serial_update_irq(s);
    return value;
}

static void serial_write(void *opaque, uint64_t offset, unsigned size, uint64_t value)
{
    struct serial *s = opaque;
    for (unsigned i = 0; i < size && i < 8; i++)
        if (offset + i < SERIAL_NR_PORTS)
            serial_write_reg(s, (unsigned)(offset + i), (uint8_t)(value >> (8 * i)));
    serial_update_irq(s);
}

const struct bus_ops serial_bus_ops = {
    .read = serial_read,
    .write = serial_write,
};

struct serial *serial_new(struct chardev *chr, struct irq_line irq)
{
    struct serial *s = calloc(1, sizeof(*s));
    if (!s) {
        log_error("serial: out of memory");
        return NULL;
    }
    s->chr = chr;
    s->irq = irq;
    s->divisor = 12; /* 9600 baud, a typical firmware setting */
    s->lcr = 0x03;   /* 8N1 */
    if (chr)
        chardev_set_frontend(chr, serial_receive, s);
    return s;
}

void serial_free(struct serial *s)
{
    if (!s)
        return;
    if (s->chr && s->chr->receive_opaque == s)
        chardev_set_frontend(s->chr, NULL, NULL);
    free(s);
}
