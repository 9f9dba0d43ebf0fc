/* Wires from devices to the board: an interrupt line and a power/exit line.
 *
 * A device never knows which interrupt controller or accelerator sits at the
 * other end, nor its own IRQ number: the board hands it a struct irq_line
 * (an interrupt line: set the level of GSI gsi) and, where it can end the
 * machine (debug exit, reset, ACPI power-off), a struct power_line. */
#ifndef XUNI_HW_IRQ_H
#define XUNI_HW_IRQ_H

struct irq_line {
    void (*set)(void *ctx, unsigned gsi, int level);
    void *ctx;
    unsigned gsi;
};

static inline void irq_line_set(const struct irq_line *line, int level)
{
    if (line->set)
        line->set(line->ctx, line->gsi, level);
}

/* An edge for edge-triggered sources: raise and lower. */
static inline void irq_line_pulse(const struct irq_line *line)
{
    irq_line_set(line, 1);
    irq_line_set(line, 0);
}

enum power_event {
    POWER_EXIT,  /* end xuni with the given status (debug exit) */
    POWER_OFF,   /* clean power-off: status 0 */
    POWER_RESET, /* the guest asked for a reset: xuni exits with status 0 */
};

struct power_line {
    void (*request)(void *ctx, enum power_event event, int status, const char *why);
    void *ctx;
};

static inline void power_line_request(const struct power_line *line, enum power_event event,
                                      int status, const char *why)
{
    if (line->request)
        line->request(line->ctx, event, status, why);
}

#endif
