/* Character backends: the host side of a serial port or console.
 *
 * A backend carries bytes both ways. Output from the guest goes through
 * chardev_write(). Input arrives on the I/O thread; the backend hands it to
 * the frontend (the device) through the receive callback the frontend set
 * with chardev_set_frontend(). The frontend returns how many bytes it took;
 * the backend keeps the rest and offers them again after the frontend calls
 * chardev_accept_input() (its receive FIFO drained), so input is never
 * dropped because the guest is slow.
 *
 * Locking: the backend calls receive on the I/O thread with *lock held (the
 * board's device lock, set at creation by the board). accept_input is called
 * by the frontend with that lock held, so it must not call receive itself:
 * it wakes the I/O thread, which offers the pending bytes.
 */
#ifndef XUNI_BACKEND_CHARDEV_H
#define XUNI_BACKEND_CHARDEV_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "hw/irq.h"

struct event_loop;
struct chardev;

typedef size_t (*chardev_receive_fn)(void *opaque, const uint8_t *buf, size_t len);

struct chardev_ops {
    void (*write)(struct chardev *chr, const uint8_t *buf, size_t len);
    /* Start reading input on this loop (may be NULL: no input). */
    int (*attach)(struct chardev *chr, struct event_loop *loop);
    /* The frontend has room again; offer pending input. */
    void (*accept_input)(struct chardev *chr);
    void (*close)(struct chardev *chr);
};

struct chardev {
    const struct chardev_ops *ops;
    pthread_mutex_t *lock; /* taken around receive; NULL for none */
    chardev_receive_fn receive;
    void *receive_opaque;
};

static inline void chardev_write(struct chardev *chr, const uint8_t *buf, size_t len)
{
    chr->ops->write(chr, buf, len);
}

static inline void chardev_set_frontend(struct chardev *chr, chardev_receive_fn fn, void *opaque)
{
    chr->receive = fn;
    chr->receive_opaque = opaque;
}

static inline void chardev_accept_input(struct chardev *chr)
{
    if (chr->ops->accept_input)
        chr->ops->accept_input(chr);
}

/* Backends. stdio: input from stdin (raw mode while it is a terminal,
 * restored on every exit path; Ctrl-A x quits through power, Ctrl-A Ctrl-A
 * sends Ctrl-A), output to stdout. file: output appended to PATH
 * (created/truncated), no input. Both return NULL with a message logged on
 * failure. */
struct chardev *chardev_stdio_new(struct power_line power);
struct chardev *chardev_file_new(const char *path);
void chardev_close(struct chardev *chr);

/* Restore the terminal if a stdio backend put it in raw mode; safe to call
 * from a signal handler and more than once. */
void chardev_stdio_restore_terminal(void);

#endif
