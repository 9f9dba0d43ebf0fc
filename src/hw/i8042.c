#include "hw/i8042.h"

#include <stdbool.h>
#include <stdlib.h>

#include "util/log.h"

/* Status register */
#define STR_OBF     0x01
#define STR_SYS     0x04
#define STR_CMD     0x08 /* last write went to the command port */
#define STR_UNLOCK  0x10 /* keyboard not inhibited by the keylock */
#define STR_AUXDATA 0x20
#define STR_TIMEOUT 0x40

/* Controller command byte (CTR, internal RAM byte 0) */
#define CTR_KBDINT 0x01
#define CTR_AUXINT 0x02
#define CTR_SYS    0x04
#define CTR_KBDDIS 0x10
#define CTR_AUXDIS 0x20
#define CTR_XLATE  0x40
/* As a BIOS leaves it: translation on, keyboard interrupt on, AUX off. */
#define CTR_DEFAULT (CTR_XLATE | CTR_AUXDIS | CTR_SYS | CTR_KBDINT)

/* Output port (0xd0/0xd1) */
#define OUTP_RESET  0x01 /* active low: clearing it resets the CPU */
#define OUTP_A20    0x02
#define OUTP_OBF    0x10
#define OUTP_AUXOBF 0x20

#define INPUT_PORT 0x80 /* keyboard not inhibited */

#define KBD_ACK       0xfa
#define KBD_RESEND    0xfe
#define KBD_BAT_OK    0xaa
#define AUX_NO_DEVICE 0xfe

/* Flags of a byte waiting for the output buffer. */
#define OUT_AUX     0x01
#define OUT_TIMEOUT 0x02

#define I8042_QUEUE_LEN 16
#define I8042_RAM_SIZE  32

struct i8042_byte {
    uint8_t data;
    uint8_t flags;
};

struct i8042_queue {
    struct i8042_byte q[I8042_QUEUE_LEN];
    unsigned head, count;
};

struct i8042 {
    struct irq_line kbd_irq, aux_irq;
    struct power_line power;
    int kbd_level, aux_level;

    uint8_t ram[I8042_RAM_SIZE]; /* ram[0] is the CTR */
    uint8_t out_port;
    uint8_t cmd_flag;    /* STR_CMD or 0 */
    uint8_t pending_cmd; /* controller command waiting for its data byte, or 0 */
    bool obf;
    struct i8042_byte out; /* the output buffer, valid while obf */
    uint8_t last_data;

    /* Controller replies (including the AUX port's) come before keyboard
     * bytes, which wait while the keyboard interface is disabled. */
    struct i8042_queue ctrl_q, kbd_q;

    uint8_t kbd_arg_cmd; /* keyboard command waiting for its argument, or 0 */
    uint8_t scancode_set;

    struct log_once_set logged;
};

static void i8042_push(struct i8042 *k, struct i8042_queue *q, uint8_t data, uint8_t flags)
{
    if (q->count == I8042_QUEUE_LEN) {
        if (log_once_check(&k->logged, 0x10000))
            log_warn("i8042: output queue full; dropping bytes the guest does not read");
        return;
    }
    q->q[(q->head + q->count) % I8042_QUEUE_LEN] = (struct i8042_byte){data, flags};
    q->count++;
}

static bool i8042_pop(struct i8042_queue *q, struct i8042_byte *b)
{
    if (!q->count)
        return false;
    *b = q->q[q->head];
    q->head = (q->head + 1) % I8042_QUEUE_LEN;
    q->count--;
    return true;
}

static void i8042_reply(struct i8042 *k, uint8_t data)
{
    i8042_push(k, &k->ctrl_q, data, 0);
}

static void i8042_kbd_reply(struct i8042 *k, uint8_t data)
{
    i8042_push(k, &k->kbd_q, data, 0);
}

static uint8_t i8042_ctr(const struct i8042 *k)
{
    return k->ram[0];
}

static void i8042_refill(struct i8042 *k)
{
    if (k->obf)
        return;
    if (i8042_pop(&k->ctrl_q, &k->out) ||
        (!(i8042_ctr(k) & CTR_KBDDIS) && i8042_pop(&k->kbd_q, &k->out)))
        k->obf = true;
}

static void i8042_set_line(const struct irq_line *line, int *cur, int level)
{
    if (level != *cur) {
        *cur = level;
        irq_line_set(line, level);
    }
}

static void i8042_update(struct i8042 *k)
{
    i8042_refill(k);
    bool aux = k->out.flags & OUT_AUX;
    i8042_set_line(&k->kbd_irq, &k->kbd_level, k->obf && !aux && (i8042_ctr(k) & CTR_KBDINT));
    i8042_set_line(&k->aux_irq, &k->aux_level, k->obf && aux && (i8042_ctr(k) & CTR_AUXINT));
}

static uint8_t i8042_status(const struct i8042 *k)
{
    uint8_t st = k->cmd_flag | STR_UNLOCK;
    if (i8042_ctr(k) & CTR_SYS)
        st |= STR_SYS;
    if (k->obf) {
        st |= STR_OBF;
        if (k->out.flags & OUT_AUX)
            st |= STR_AUXDATA;
        if (k->out.flags & OUT_TIMEOUT)
            st |= STR_TIMEOUT;
    }
    return st;
}

static void i8042_reset_request(struct i8042 *k)
{
    power_line_request(&k->power, POWER_RESET, 0, "i8042 reset");
}

static void i8042_write_output_port(struct i8042 *k, uint8_t value)
{
    if (!(value & OUTP_A20) && log_once_check(&k->logged, 0x20000))
        log_info("i8042: guest disabled A20; the address line stays enabled");
    k->out_port = value | OUTP_A20;
    if (!(value & OUTP_RESET))
        i8042_reset_request(k);
}

static uint8_t i8042_read_output_port(const struct i8042 *k)
{
    uint8_t v = k->out_port & ~(OUTP_OBF | OUTP_AUXOBF);
    if (k->obf)
        v |= (k->out.flags & OUT_AUX) ? OUTP_AUXOBF : OUTP_OBF;
    return v;
}

/* --- the keyboard --- */

static uint8_t i8042_kbd_set_id(const struct i8042 *k)
{
    /* What the controller's set-2-to-set-1 translation makes of 1, 2, 3. */
    static const uint8_t translated[4] = {0, 0x43, 0x41, 0x3f};
    return (i8042_ctr(k) & CTR_XLATE) ? translated[k->scancode_set] : k->scancode_set;
}

static void i8042_kbd_argument(struct i8042 *k, uint8_t cmd, uint8_t arg)
{
    if (cmd == 0xf0 && arg == 0) {
        i8042_kbd_reply(k, KBD_ACK);
        i8042_kbd_reply(k, i8042_kbd_set_id(k));
    } else if (cmd == 0xf0 && arg > 3) {
        i8042_kbd_reply(k, KBD_RESEND);
    } else {
        if (cmd == 0xf0)
            k->scancode_set = arg;
        i8042_kbd_reply(k, KBD_ACK); /* 0xed LEDs, 0xf3 typematic: nothing to show */
    }
}

static void i8042_kbd_write(struct i8042 *k, uint8_t byte)
{
    if (k->kbd_arg_cmd) {
        uint8_t cmd = k->kbd_arg_cmd;
        k->kbd_arg_cmd = 0;
        i8042_kbd_argument(k, cmd, byte);
        return;
    }
    switch (byte) {
    case 0xed: /* set LEDs */
    case 0xf0: /* scancode set */
    case 0xf3: /* typematic rate */
        k->kbd_arg_cmd = byte;
        i8042_kbd_reply(k, KBD_ACK);
        break;
    case 0xee: /* echo */
        i8042_kbd_reply(k, 0xee);
        break;
    case 0xf2: /* identify: an MF2 keyboard */
        i8042_kbd_reply(k, KBD_ACK);
        i8042_kbd_reply(k, 0xab);
        i8042_kbd_reply(k, (i8042_ctr(k) & CTR_XLATE) ? 0x41 : 0x83);
        break;
    case 0xf4: /* enable scanning */
    case 0xf5: /* disable scanning, defaults */
    case 0xf6: /* defaults */
    case 0xfe: /* resend: nothing was lost */
        i8042_kbd_reply(k, KBD_ACK);
        break;
    case 0xff: /* reset and self test */
        k->scancode_set = 2;
        i8042_kbd_reply(k, KBD_ACK);
        i8042_kbd_reply(k, KBD_BAT_OK);
        break;
    default:
        i8042_kbd_reply(k, KBD_RESEND);
        break;
    }
}

/* --- the controller --- */

/* A data byte that completes a controller command. */
static void i8042_command_data(struct i8042 *k, uint8_t cmd, uint8_t data)
{
    if (cmd >= 0x60 && cmd <= 0x7f) {
        k->ram[cmd & 0x1f] = data;
        return;
    }
    switch (cmd) {
    case 0xd1:
        i8042_write_output_port(k, data);
        break;
    case 0xd2: /* as if the keyboard sent it */
        i8042_push(k, &k->ctrl_q, data, 0);
        break;
    case 0xd3: /* as if the mouse sent it: Linux's AUX loopback test */
        i8042_push(k, &k->ctrl_q, data, OUT_AUX);
        break;
    case 0xd4: /* to the mouse, which is absent: the controller times out */
        k->ram[0] &= ~CTR_AUXDIS;
        i8042_push(k, &k->ctrl_q, AUX_NO_DEVICE, OUT_AUX | OUT_TIMEOUT);
        break;
    }
}

static void i8042_command(struct i8042 *k, uint8_t cmd)
{
    if (cmd >= 0x20 && cmd <= 0x3f) {
        i8042_reply(k, k->ram[cmd & 0x1f]);
        return;
    }
    if ((cmd >= 0x60 && cmd <= 0x7f) || (cmd >= 0xd1 && cmd <= 0xd4)) {
        k->pending_cmd = cmd;
        return;
    }
    if (cmd >= 0xf0) {
        /* Pulse the output lines whose bit is clear; line 0 is reset. */
        if (!(cmd & OUTP_RESET))
            i8042_reset_request(k);
        return;
    }
    switch (cmd) {
    case 0xa7:
        k->ram[0] |= CTR_AUXDIS;
        break;
    case 0xa8:
        k->ram[0] &= ~CTR_AUXDIS;
        break;
    case 0xa9: /* AUX interface test: no error */
    case 0xab: /* keyboard interface test: no error */
    case 0xe0: /* test inputs */
        i8042_reply(k, 0x00);
        break;
    case 0xaa: /* controller self test */
        k->ram[0] |= CTR_SYS;
        i8042_reply(k, 0x55);
        break;
    case 0xad:
        k->ram[0] |= CTR_KBDDIS;
        break;
    case 0xae:
        k->ram[0] &= ~CTR_KBDDIS;
        break;
    case 0xc0:
        i8042_reply(k, INPUT_PORT);
        break;
    case 0xd0:
        i8042_reply(k, i8042_read_output_port(k));
        break;
    case 0xdd: /* A20 off/on, on controllers that have these */
    case 0xdf:
        i8042_write_output_port(k, cmd == 0xdf ? k->out_port | OUTP_A20 : k->out_port & ~OUTP_A20);
        break;
    default:
        if (log_once_check(&k->logged, cmd))
            log_warn("i8042: unknown controller command %#x ignored", cmd);
        break;
    }
}

static uint64_t i8042_data_read(void *opaque, uint64_t offset, unsigned size)
{
    struct i8042 *k = opaque;
    (void)offset;
    if (k->obf) {
        k->last_data = k->out.data;
        k->obf = false;
        /* Drop the lines before the next byte fills the buffer, so each
         * byte is its own interrupt edge. */
        i8042_set_line(&k->kbd_irq, &k->kbd_level, 0);
        i8042_set_line(&k->aux_irq, &k->aux_level, 0);
        i8042_update(k);
    }
    return k->last_data | (bus_all_ones(size) & ~0xffULL);
}

static void i8042_data_write(void *opaque, uint64_t offset, unsigned size, uint64_t value)
{
    struct i8042 *k = opaque;
    (void)offset;
    (void)size;
    uint8_t byte = (uint8_t)value;
    k->cmd_flag = 0;
    if (k->pending_cmd) {
        uint8_t cmd = k->pending_cmd;
        k->pending_cmd = 0;
        i8042_command_data(k, cmd, byte);
    } else {
        /* Sending to the keyboard re-enables its interface. */
        k->ram[0] &= ~CTR_KBDDIS;
        i8042_kbd_write(k, byte);
    }
    i8042_update(k);
}

static uint64_t i8042_cmd_read(void *opaque, uint64_t offset, unsigned size)
{
    struct i8042 *k = opaque;
    (void)offset;
    return i8042_status(k) | (bus_all_ones(size) & ~0xffULL);
}

static void i8042_cmd_write(void *opaque, uint64_t offset, unsigned size, uint64_t value)
{
    struct i8042 *k = opaque;
    (void)offset;
    (void)size;
    k->cmd_flag = STR_CMD;
    k->pending_cmd = 0;
    i8042_command(k, (uint8_t)value);
    i8042_update(k);
}

const struct bus_ops i8042_data_ops = {
    .read = i8042_data_read,
    .write = i8042_data_write,
};

const struct bus_ops i8042_cmd_ops = {
    .read = i8042_cmd_read,
    .write = i8042_cmd_write,
};

struct i8042 *i8042_new(struct irq_line kbd_irq, struct irq_line aux_irq, struct power_line power)
{
    struct i8042 *k = calloc(1, sizeof(*k));
    if (!k) {
        log_error("i8042: out of memory");
        return NULL;
    }
    k->kbd_irq = kbd_irq;
    k->aux_irq = aux_irq;
    k->power = power;
    k->ram[0] = CTR_DEFAULT;
    k->out_port = OUTP_RESET | OUTP_A20;
    k->scancode_set = 2;
    return k;
}

void i8042_free(struct i8042 *k)
{
    free(k);
}
