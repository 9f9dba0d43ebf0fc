/* Internals of the stdio backend, exposed for its unit tests.
 *
 * The console escape, as QEMU's -nographic has it: Ctrl-A x quits, Ctrl-A h
 * prints help, Ctrl-A Ctrl-A sends one Ctrl-A, Ctrl-A followed by anything
 * else sends both bytes. stdio_escape_feed() is the whole state machine,
 * pure, one input byte at a time.
 */
#ifndef XUNI_BACKEND_STDIO_ESCAPE_H
#define XUNI_BACKEND_STDIO_ESCAPE_H

#include <stdbool.h>
#include <stdint.h>

#include "backend/chardev.h"

#define STDIO_ESCAPE_CHAR 0x01 /* Ctrl-A */

enum stdio_escape_action {
    STDIO_ESCAPE_NONE,
    STDIO_ESCAPE_QUIT, /* Ctrl-A x */
    STDIO_ESCAPE_HELP, /* Ctrl-A h */
};

struct stdio_escape {
    bool armed; /* the last byte was an unconsumed Ctrl-A */
};

/* Feed one input byte. Stores the bytes to pass to the guest in out[] and
 * returns how many (0 to 2); *action says what else to do. */
unsigned stdio_escape_feed(struct stdio_escape *esc, uint8_t byte, uint8_t out[2],
                           enum stdio_escape_action *action);

/* The stdio backend on other descriptors (tests use pipes). The fds are
 * not closed by chardev_close(). */
struct chardev *chardev_stdio_new_fds(struct power_line power, int in_fd, int out_fd);

/* Input the backend keeps for a frontend that has no room (bytes). */
#define STDIO_PENDING_MAX 4096

#endif
