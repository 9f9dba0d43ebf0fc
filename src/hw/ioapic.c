#include "hw/ioapic.h"

#include <stdbool.h>
#include <stdlib.h>

#include "util/log.h"

#define IOREGSEL 0x00
#define IOWIN    0x10

enum { REG_ID = 0x00, REG_VERSION = 0x01, REG_ARB = 0x02, REG_REDIR = 0x10 };

#define ID_SHIFT 24
#define ID_MASK  0x0f000000u

/* Redirection entry bits. */
#define RTE_VECTOR     0xffULL
#define RTE_DM_SHIFT   8
#define RTE_LOGICAL    (1ULL << 11)
#define RTE_POLARITY   (1ULL << 13)
#define RTE_REMOTE_IRR (1ULL << 14)
#define RTE_LEVEL      (1ULL << 15)
#define RTE_MASKED     (1ULL << 16)
#define RTE_DEST_SHIFT 56
#define RTE_WRITABLE_LO                                                                            \
    (RTE_VECTOR | (7ULL << RTE_DM_SHIFT) | RTE_LOGICAL | RTE_POLARITY | RTE_LEVEL | RTE_MASKED)
#define RTE_WRITABLE_HI (0xffULL << RTE_DEST_SHIFT)

struct ioapic {
    struct apic_bus *bus;
    uint8_t id;
    uint8_t regsel;
    uint32_t lines; /* input levels, one bit a pin */
    uint64_t rte[IOAPIC_NUM_PINS];
};

static void eoi_listener(void *ctx, uint8_t vector)
{
    ioapic_eoi(ctx, vector);
}

struct ioapic *ioapic_new(struct apic_bus *bus, uint8_t id)
{
    struct ioapic *io = calloc(1, sizeof(*io));
    if (!io) {
        log_error("ioapic: out of memory");
        return NULL;
    }
    io->bus = bus;
    io->id = id & 0xf;
    if (apic_bus_add_eoi_listener(bus, eoi_listener, io) < 0) {
        log_error("ioapic: too many EOI listeners on the APIC bus");
        free(io);
        return NULL;
    }
    ioapic_reset(io);
    return io;
}

void ioapic_free(struct ioapic *io)
{
    if (!io)
        return;
    apic_bus_remove_eoi_listener(io->bus, eoi_listener, io);
    free(io);
}

void ioapic_reset(struct ioapic *io)
{
    io->regsel = 0;
    for (unsigned i = 0; i < IOAPIC_NUM_PINS; i++)
        io->rte[i] = RTE_MASKED;
}

static bool line_high(const struct ioapic *io, unsigned pin)
{
    return io->lines & (1u << pin);
}

/* Send pin's message; a level pin waits for the EOI once accepted. */
static void deliver(struct ioapic *io, unsigned pin)
{
    uint64_t rte = io->rte[pin];
    struct apic_msg m = {
        .dest = (uint32_t)(rte >> RTE_DEST_SHIFT),
        .vector = (uint8_t)(rte & RTE_VECTOR),
        .delivery = (uint8_t)((rte >> RTE_DM_SHIFT) & 7),
        .logical = rte & RTE_LOGICAL,
        .level = rte & RTE_LEVEL,
        .assert = true,
    };
    unsigned accepted = apic_bus_send(io->bus, &m, NULL);
    if ((rte & RTE_LEVEL) && accepted)
        io->rte[pin] |= RTE_REMOTE_IRR;
}

/* A level pin that should send now does. */
static void service_level(struct ioapic *io, unsigned pin)
{
    uint64_t rte = io->rte[pin];
    if ((rte & RTE_LEVEL) && !(rte & (RTE_MASKED | RTE_REMOTE_IRR)) && line_high(io, pin))
        deliver(io, pin);
}

void ioapic_set_irq(struct ioapic *io, unsigned pin, int level)
{
    if (pin >= IOAPIC_NUM_PINS)
        return;
    bool rising = level && !line_high(io, pin);
    if (level)
        io->lines |= 1u << pin;
    else
        io->lines &= ~(1u << pin);
    uint64_t rte = io->rte[pin];
    if (rte & RTE_LEVEL)
        service_level(io, pin);
    else if (rising && !(rte & RTE_MASKED))
        deliver(io, pin);
}

void ioapic_eoi(struct ioapic *io, uint8_t vector)
{
    for (unsigned pin = 0; pin < IOAPIC_NUM_PINS; pin++) {
        uint64_t rte = io->rte[pin];
        if ((rte & RTE_REMOTE_IRR) && (rte & RTE_VECTOR) == vector) {
            io->rte[pin] &= ~RTE_REMOTE_IRR;
            service_level(io, pin);
        }
    }
}

/* --- registers --- */

static uint32_t reg_read(const struct ioapic *io, uint8_t reg)
{
    switch (reg) {
    case REG_ID:
    case REG_ARB:
        return (uint32_t)io->id << ID_SHIFT;
    case REG_VERSION:
        return IOAPIC_VERSION;
    }
    unsigned idx = (unsigned)reg - REG_REDIR;
    if (reg < REG_REDIR || idx / 2 >= IOAPIC_NUM_PINS)
        return 0;
    uint64_t rte = io->rte[idx / 2];
    return idx % 2 ? (uint32_t)(rte >> 32) : (uint32_t)rte;
}

static void write_rte(struct ioapic *io, unsigned pin, bool high, uint32_t value)
{
    uint64_t rte = io->rte[pin];
    if (high)
        rte = (rte & ~RTE_WRITABLE_HI) | (((uint64_t)value << 32) & RTE_WRITABLE_HI);
    else
        rte = (rte & ~RTE_WRITABLE_LO) | (value & RTE_WRITABLE_LO);
    if (!(rte & RTE_LEVEL))
        rte &= ~RTE_REMOTE_IRR; /* remote IRR means nothing for edge pins */
    io->rte[pin] = rte;
    service_level(io, pin); /* e.g. unmasked onto an asserted line */
}

static void reg_write(struct ioapic *io, uint8_t reg, uint32_t value)
{
    if (reg == REG_ID) {
        io->id = (uint8_t)((value & ID_MASK) >> ID_SHIFT);
        return;
    }
    unsigned idx = (unsigned)reg - REG_REDIR;
    if (reg < REG_REDIR || idx / 2 >= IOAPIC_NUM_PINS)
        return; /* version, arbitration: read-only; the rest does not exist */
    write_rte(io, idx / 2, idx % 2, value);
}

static uint64_t mmio_read(void *opaque, uint64_t offset, unsigned size)
{
    struct ioapic *io = opaque;
    if (offset == IOREGSEL && (size == 1 || size == 4))
        return io->regsel;
    if (offset == IOWIN && size == 4)
        return reg_read(io, io->regsel);
    return 0;
}

static void mmio_write(void *opaque, uint64_t offset, unsigned size, uint64_t value)
{
    struct ioapic *io = opaque;
    if (offset == IOREGSEL && (size == 1 || size == 4))
        io->regsel = (uint8_t)value;
    else if (offset == IOWIN && size == 4)
        reg_write(io, io->regsel, (uint32_t)value);
}

const struct bus_ops ioapic_mmio_ops = {.read = mmio_read, .write = mmio_write};
