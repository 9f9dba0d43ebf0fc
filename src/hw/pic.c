#include "hw/pic.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "util/log.h"

enum { MASTER, SLAVE };

#define CASCADE_BIT (1u << PIC_CASCADE_IRQ)

/* Command port writes. */
#define ICW1      0x10
#define ICW1_IC4  0x01
#define ICW1_SNGL 0x02
#define ICW1_LTIM 0x08
#define OCW3      0x08
#define OCW3_RIS  0x01
#define OCW3_RR   0x02
#define OCW3_P    0x04
#define OCW3_SMM  0x20
#define OCW3_ESMM 0x40
#define ICW4_8086 0x01
#define ICW4_AEOI 0x02
#define ICW4_SFNM 0x10

/* OCW2 commands, bits 7:5 (R, SL, EOI). */
enum {
    OCW2_CLEAR_ROTATE_AEOI = 0,
    OCW2_EOI = 1,
    OCW2_NOP = 2,
    OCW2_SPECIFIC_EOI = 3,
    OCW2_SET_ROTATE_AEOI = 4,
    OCW2_ROTATE_EOI = 5,
    OCW2_SET_PRIORITY = 6,
    OCW2_ROTATE_SPECIFIC_EOI = 7,
};

/* Which ICW the data port expects next; 0 once initialized. */
enum { INIT_DONE, INIT_ICW2 = 2, INIT_ICW3, INIT_ICW4 };

static const uint8_t elcr_writable[2] = {0xf8, 0xde}; /* not IRQ 0-2, 8, 13 */

struct pic_chip {
    uint8_t irr, isr, imr, elcr;
    uint8_t lines;  /* input levels */
    uint8_t lowest; /* the IR with the lowest priority (rotation) */
    uint8_t base;   /* ICW2 */
    uint8_t init_step;
    bool icw4_needed, single;
    bool auto_eoi, rotate_aeoi, sfnm, special_mask;
    bool poll, read_isr;
};

struct pic {
    struct pic_chip chip[2];
    pic_intr_fn intr;
    void *ctx;
    int intr_level;
    bool slave_out; /* the slave's INT as the master last saw it */
};

static struct log_once_set pic_once;

/* 0 for the highest priority, 7 for the lowest. */
static unsigned rank(const struct pic_chip *c, unsigned ir)
{
    return (ir - c->lowest - 1) & 7;
}

/* The highest-priority IR set in bits, or -1. */
static int highest(const struct pic_chip *c, uint8_t bits)
{
    for (unsigned i = 0; i < 8; i++) {
        unsigned ir = (c->lowest + 1 + i) & 7;
        if (bits & (1u << ir))
            return (int)ir;
    }
    return -1;
}

/* The IR the chip would signal now: the highest unmasked request above
 * everything in service (fully nested mode). */
static int chip_output(const struct pic_chip *c, bool master)
{
    int ir = highest(c, c->irr & ~c->imr);
    if (ir < 0)
        return -1;
    uint8_t isr = c->isr;
    if (c->special_mask)
        isr &= ~c->imr;
    if (master && c->sfnm)
        isr &= ~CASCADE_BIT; /* the slave may interrupt its own service */
    int top = highest(c, isr);
    if (top >= 0 && rank(c, (unsigned)ir) >= rank(c, (unsigned)top))
        return -1;
    return ir;
}

/* The slave's INT is master IR2, an edge-triggered input: a rising edge
 * latches the request (so a slave request that vanishes before INTA yields
 * the spurious IRQ 15). Then the master's INT. */
static void update(struct pic *pic)
{
    struct pic_chip *m = &pic->chip[MASTER];
    bool slave_out = chip_output(&pic->chip[SLAVE], false) >= 0;
    if (slave_out && !pic->slave_out)
        m->irr |= CASCADE_BIT;
    pic->slave_out = slave_out;
    int level = chip_output(m, true) >= 0;
    if (level != pic->intr_level) {
        pic->intr_level = level;
        if (pic->intr)
            pic->intr(pic->ctx, level);
    }
}

static void chip_reset(struct pic_chip *c)
{
    uint8_t elcr = c->elcr, lines = c->lines;
    memset(c, 0, sizeof(*c));
    c->elcr = elcr;
    c->lines = lines;
    c->irr = lines & elcr;
    c->lowest = 7;
}

struct pic *pic_new(pic_intr_fn intr, void *ctx)
{
    struct pic *pic = calloc(1, sizeof(*pic));
    if (!pic) {
        log_error("pic: out of memory");
        return NULL;
    }
    pic->intr = intr;
    pic->ctx = ctx;
    pic_reset(pic);
    return pic;
}

void pic_free(struct pic *pic)
{
    free(pic);
}

void pic_reset(struct pic *pic)
{
    for (unsigned i = 0; i < 2; i++) {
        pic->chip[i].elcr = 0;
        chip_reset(&pic->chip[i]);
    }
    pic->slave_out = false;
    update(pic);
}

int pic_intr_level(const struct pic *pic)
{
    return pic->intr_level;
}

void pic_set_irq(struct pic *pic, unsigned irq, int level)
{
    if (irq >= 16 || irq == PIC_CASCADE_IRQ)
        return;
    struct pic_chip *c = &pic->chip[irq / 8];
    uint8_t bit = (uint8_t)(1u << (irq % 8));
    bool rising = level && !(c->lines & bit);
    if (level)
        c->lines |= bit;
    else
        c->lines &= ~bit;
    if (c->elcr & bit)
        c->irr = (c->irr & ~bit) | (c->lines & bit);
    else if (rising)
        c->irr |= bit;
    update(pic);
}

/* One chip's part of INTA: the request goes into service. */
static void chip_ack(struct pic_chip *c, unsigned ir)
{
    uint8_t bit = (uint8_t)(1u << ir);
    if (!(c->elcr & bit))
        c->irr &= ~bit;
    if (!c->auto_eoi)
        c->isr |= bit;
    else if (c->rotate_aeoi)
        c->lowest = (uint8_t)ir;
}

uint8_t pic_ack(struct pic *pic)
{
    struct pic_chip *m = &pic->chip[MASTER], *s = &pic->chip[SLAVE];
    int ir = chip_output(m, true);
    uint8_t vector;
    if (ir < 0) {
        vector = m->base | 7; /* spurious: no ISR bit */
    } else if (ir == PIC_CASCADE_IRQ && !m->single) {
        chip_ack(m, PIC_CASCADE_IRQ);
        int sir = chip_output(s, false);
        if (sir < 0) {
            vector = s->base | 7;
        } else {
            chip_ack(s, (unsigned)sir);
            vector = s->base | (uint8_t)sir;
        }
        /* A slave still asserting INT after the cycle (another request, or
         * auto-EOI) must latch IR2 again. */
        pic->slave_out = false;
    } else {
        chip_ack(m, (unsigned)ir);
        vector = m->base | (uint8_t)ir;
    }
    update(pic);
    return vector;
}

/* --- command and data ports --- */

static void icw1(struct pic_chip *c, uint8_t v)
{
    if ((v & ICW1_LTIM) && log_once_check(&pic_once, 1))
        log_warn("pic: ICW1 level-triggered mode ignored; the ELCR decides");
    chip_reset(c);
    c->icw4_needed = v & ICW1_IC4;
    c->single = v & ICW1_SNGL;
    c->init_step = INIT_ICW2;
}

static void ocw2(struct pic_chip *c, uint8_t v)
{
    unsigned level = v & 7;
    int ir;
    switch (v >> 5) {
    case OCW2_EOI:
    case OCW2_ROTATE_EOI:
        ir = highest(c, c->isr);
        if (ir < 0)
            break;
        c->isr &= ~(1u << ir);
        if ((v >> 5) == OCW2_ROTATE_EOI)
            c->lowest = (uint8_t)ir;
        break;
    case OCW2_SPECIFIC_EOI:
        c->isr &= ~(1u << level);
        break;
    case OCW2_ROTATE_SPECIFIC_EOI:
        c->isr &= ~(1u << level);
        c->lowest = (uint8_t)level;
        break;
    case OCW2_SET_PRIORITY:
        c->lowest = (uint8_t)level;
        break;
    case OCW2_SET_ROTATE_AEOI:
        c->rotate_aeoi = true;
        break;
    case OCW2_CLEAR_ROTATE_AEOI:
        c->rotate_aeoi = false;
        break;
    }
}

static void ocw3(struct pic_chip *c, uint8_t v)
{
    if (v & OCW3_ESMM)
        c->special_mask = v & OCW3_SMM;
    if (v & OCW3_P)
        c->poll = true;
    if (v & OCW3_RR)
        c->read_isr = v & OCW3_RIS;
}

static void write_data(struct pic_chip *c, uint8_t v)
{
    switch (c->init_step) {
    case INIT_ICW2:
        c->base = v & 0xf8;
        c->init_step = c->single ? (c->icw4_needed ? INIT_ICW4 : INIT_DONE) : INIT_ICW3;
        break;
    case INIT_ICW3:
        c->init_step = c->icw4_needed ? INIT_ICW4 : INIT_DONE;
        break;
    case INIT_ICW4:
        if (!(v & ICW4_8086) && log_once_check(&pic_once, 2))
            log_warn("pic: 8080/8085 mode not supported; running in 8086 mode");
        c->auto_eoi = v & ICW4_AEOI;
        c->sfnm = v & ICW4_SFNM;
        c->init_step = INIT_DONE;
        break;
    default:
        c->imr = v;
    }
}

static void chip_write(struct pic *pic, unsigned which, uint64_t offset, uint8_t v)
{
    struct pic_chip *c = &pic->chip[which];
    if (offset == 1)
        write_data(c, v);
    else if (v & ICW1)
        icw1(c, v);
    else if (v & OCW3)
        ocw3(c, v);
    else
        ocw2(c, v);
    update(pic);
}

/* A poll command turns the next read of the command port into an INTA of
 * this chip: 0x80 | IR if a request is there. */
static uint8_t poll_read(struct pic *pic, unsigned which)
{
    struct pic_chip *c = &pic->chip[which];
    c->poll = false;
    int ir = chip_output(c, which == MASTER);
    if (ir < 0)
        return 0;
    chip_ack(c, (unsigned)ir);
    update(pic);
    return (uint8_t)(0x80 | ir);
}

static uint8_t chip_read(struct pic *pic, unsigned which, uint64_t offset)
{
    struct pic_chip *c = &pic->chip[which];
    if (offset == 1)
        return c->imr;
    if (c->poll)
        return poll_read(pic, which);
    return c->read_isr ? c->isr : c->irr;
}

static uint64_t master_read(void *opaque, uint64_t offset, unsigned size)
{
    (void)size;
    return chip_read(opaque, MASTER, offset);
}

static void master_write(void *opaque, uint64_t offset, unsigned size, uint64_t value)
{
    (void)size;
    chip_write(opaque, MASTER, offset, (uint8_t)value);
}

static uint64_t slave_read(void *opaque, uint64_t offset, unsigned size)
{
    (void)size;
    return chip_read(opaque, SLAVE, offset);
}

static void slave_write(void *opaque, uint64_t offset, unsigned size, uint64_t value)
{
    (void)size;
    chip_write(opaque, SLAVE, offset, (uint8_t)value);
}

const struct bus_ops pic_master_ops = {.read = master_read, .write = master_write};
const struct bus_ops pic_slave_ops = {.read = slave_read, .write = slave_write};

/* --- ELCR --- */

static uint64_t elcr_read(void *opaque, uint64_t offset, unsigned size)
{
    struct pic *pic = opaque;
    (void)size;
    return offset < 2 ? pic->chip[offset].elcr : 0xff;
}

static void elcr_write(void *opaque, uint64_t offset, unsigned size, uint64_t value)
{
    struct pic *pic = opaque;
    (void)size;
    if (offset >= 2)
        return;
    struct pic_chip *c = &pic->chip[offset];
    c->elcr = (uint8_t)value & elcr_writable[offset];
    /* Level IRQs request exactly while their line is high. */
    c->irr = (uint8_t)((c->irr & ~c->elcr) | (c->lines & c->elcr));
    update(pic);
}

const struct bus_ops pic_elcr_ops = {.read = elcr_read, .write = elcr_write};
