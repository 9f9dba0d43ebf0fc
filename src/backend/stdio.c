/* The stdio character backend: the guest's console on xuni's own terminal.
 *
 * Output goes to stdout with blocking writes (a full pipe slows the guest
 * down rather than losing its output). Input is read from stdin on the I/O
 * thread, passed through the Ctrl-A escape, and kept in a bounded buffer
 * until the frontend takes it; while that buffer is full stdin is not
 * read, and the frontend's accept_input wakes the I/O thread through an
 * eventfd to offer the rest. A stdin that epoll cannot watch (a regular
 * file, /dev/null) is read in chunks on those wakeups instead. End of input
 * only stops reading: the guest keeps running.
 *
 * A terminal on stdin is put in raw mode the way QEMU's -nographic does it:
 * no line editing, echo, signals (Ctrl-C goes to the guest), flow control
 * or CR/NL mapping on input, while output processing (OPOST) stays on, so
 * the guest's "\n" still reaches the screen as "\r\n", and so do xuni's
 * own messages (log_set_crlf() is only needed on a terminal without ONLCR).
 * The original settings come back in close() and in
 * chardev_stdio_restore_terminal(), which main calls at exit and from fatal
 * signal handlers.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <termios.h>
#include <unistd.h>

#include "backend/chardev.h"
#include "backend/stdio_escape.h"
#include "util/event_loop.h"
#include "util/log.h"

#define STDIO_READ_CHUNK 512

struct stdio_chardev {
    struct chardev chr; /* first: the ops get this pointer */
    struct power_line power;
    int in_fd, out_fd;
    int wake_fd;
    struct event_loop *loop;
    bool owns_stdio; /* made by chardev_stdio_new() */
    bool in_watched; /* in_fd is on the loop */
    bool in_pumped;  /* in_fd cannot be polled: read it on wakeups */
    bool in_done;    /* end of input, an error, or quit: read no more */
    bool raw;        /* this backend put the terminal in raw mode */
    bool crlf;       /* raw, and the terminal does not turn \n into \r\n itself */
    struct stdio_escape esc;
    struct log_once_set logged;
    size_t pending_len;
    uint8_t pending[STDIO_PENDING_MAX];
};

/* The terminal settings to restore; read by a signal handler. */
static struct termios stdio_saved_termios;
static volatile sig_atomic_t stdio_tty_fd = -1;
static volatile sig_atomic_t stdio_termios_saved;
static bool stdio_in_use;

unsigned stdio_escape_feed(struct stdio_escape *esc, uint8_t byte, uint8_t out[2],
                           enum stdio_escape_action *action)
{
    *action = STDIO_ESCAPE_NONE;
    if (!esc->armed) {
        if (byte == STDIO_ESCAPE_CHAR) {
            esc->armed = true;
            return 0;
        }
        out[0] = byte;
        return 1;
    }
    esc->armed = false;
    switch (byte) {
    case 'x':
        *action = STDIO_ESCAPE_QUIT;
        return 0;
    case 'h':
    case '?':
        *action = STDIO_ESCAPE_HELP;
        return 0;
    case STDIO_ESCAPE_CHAR:
        out[0] = byte;
        return 1;
    default:
        out[0] = STDIO_ESCAPE_CHAR;
        out[1] = byte;
        return 2;
    }
}

void chardev_stdio_restore_terminal(void)
{
    if (stdio_termios_saved)
        tcsetattr(stdio_tty_fd, TCSANOW, &stdio_saved_termios);
}

static void stdio_enter_raw(struct stdio_chardev *s)
{
    struct termios t;
    if (tcgetattr(s->in_fd, &t) < 0)
        return;
    stdio_saved_termios = t;
    stdio_tty_fd = s->in_fd;
    stdio_termios_saved = 1; /* before the change, so a signal restores it */
    t.c_iflag &= ~(IGNBRK | BRKINT | PARMRK | ISTRIP | INLCR | IGNCR | ICRNL | IXON);
    t.c_oflag |= OPOST;
    t.c_lflag &= ~(ECHO | ECHONL | ICANON | ISIG | IEXTEN);
    t.c_cflag &= ~(CSIZE | PARENB);
    t.c_cflag |= CS8;
    t.c_cc[VMIN] = 1;
    t.c_cc[VTIME] = 0;
    if (tcsetattr(s->in_fd, TCSANOW, &t) < 0) {
        stdio_termios_saved = 0;
        log_warn("console: cannot put the terminal in raw mode: %s", strerror(errno));
        return;
    }
    s->raw = true;
    /* OPOST stays on, so with the usual ONLCR the terminal itself ends
     * lines with \r\n; only without it must xuni's messages add the \r. */
    s->crlf = !(t.c_oflag & ONLCR);
    log_set_crlf(s->crlf);
}

static void stdio_leave_raw(struct stdio_chardev *s)
{
    if (!s->raw)
        return;
    chardev_stdio_restore_terminal();
    stdio_termios_saved = 0;
    s->raw = false;
    s->crlf = false;
    log_set_crlf(false);
}

/* Write all of buf to fd, waiting while it is full. */
static int stdio_write_all(int fd, const uint8_t *buf, size_t len)
{
    while (len) {
        ssize_t n = write(fd, buf, len);
        if (n > 0) {
            buf += n;
            len -= (size_t)n;
        } else if (n == 0 || errno == EAGAIN || errno == EWOULDBLOCK) {
            struct pollfd p = {.fd = fd, .events = POLLOUT};
            poll(&p, 1, -1);
        } else if (errno != EINTR) {
            return -errno;
        }
    }
    return 0;
}

static void stdio_write(struct chardev *chr, const uint8_t *buf, size_t len)
{
    struct stdio_chardev *s = (struct stdio_chardev *)chr;
    int r = stdio_write_all(s->out_fd, buf, len);
    if (r < 0 && log_once_check(&s->logged, (uint64_t)-r))
        log_warn("console output: %s; output dropped", strerror(-r));
}

/* A message for the user on stderr, with the line ending the terminal needs. */
static void stdio_tell(const struct stdio_chardev *s, const char *text)
{
    const char *p = text;
    while (*p) {
        const char *nl = strchr(p, '\n');
        size_t n = nl ? (size_t)(nl - p) : strlen(p);
        stdio_write_all(STDERR_FILENO, (const uint8_t *)p, n);
        if (!nl)
            break;
        stdio_write_all(STDERR_FILENO, (const uint8_t *)(s->crlf ? "\r\n" : "\n"), s->crlf ? 2 : 1);
        p = nl + 1;
    }
}

static void stdio_wake(struct stdio_chardev *s)
{
    uint64_t one = 1;
    if (write(s->wake_fd, &one, sizeof(one)) < 0) {
        /* Only fails when the counter is saturated: a wakeup is pending. */
    }
}

/* Give the frontend what it takes of the pending input. */
static void stdio_offer(struct stdio_chardev *s)
{
    if (!s->pending_len)
        return;
    size_t taken = 0;
    if (s->chr.lock)
        pthread_mutex_lock(s->chr.lock);
    if (s->chr.receive)
        taken = s->chr.receive(s->chr.receive_opaque, s->pending, s->pending_len);
    if (s->chr.lock)
        pthread_mutex_unlock(s->chr.lock);
    if (taken > s->pending_len)
        taken = s->pending_len;
    memmove(s->pending, s->pending + taken, s->pending_len - taken);
    s->pending_len -= taken;
}

static void stdio_on_input(void *opaque, int fd, uint32_t events);

/* Watch stdin while there is room for what it may bring. */
static void stdio_update_watch(struct stdio_chardev *s)
{
    if (!s->loop)
        return;
    /* One byte more than is read: a Ctrl-A held from the last read may
     * come out with the next byte. */
    bool want = !s->in_done && STDIO_PENDING_MAX - s->pending_len >= 2;
    if (s->in_pumped) {
        if (want)
            stdio_wake(s);
    } else if (want && !s->in_watched) {
        int r = event_loop_add(s->loop, s->in_fd, EPOLLIN, stdio_on_input, s);
        if (r == -EPERM) {
            s->in_pumped = true;
            stdio_wake(s);
        } else if (r < 0) {
            log_warn("console: cannot watch input: %s; input disabled", strerror(-r));
            s->in_done = true;
        } else {
            s->in_watched = true;
        }
    } else if (!want && s->in_watched) {
        event_loop_del(s->loop, s->in_fd);
        s->in_watched = false;
    }
}

static void stdio_quit(struct stdio_chardev *s)
{
    s->in_done = true;
    stdio_tell(s, "xuni: terminated\n");
    power_line_request(&s->power, POWER_OFF, 0, "terminated by Ctrl-A x");
}

static void stdio_help(struct stdio_chardev *s)
{
    stdio_tell(s, "\n"
                  "C-a h    print this help\n"
                  "C-a x    exit xuni\n"
                  "C-a C-a  send C-a to the guest\n");
}

static void stdio_take(struct stdio_chardev *s, const uint8_t *buf, size_t n)
{
    for (size_t i = 0; i < n && !s->in_done; i++) {
        enum stdio_escape_action action;
        unsigned k = stdio_escape_feed(&s->esc, buf[i], s->pending + s->pending_len, &action);
        s->pending_len += k;
        if (action == STDIO_ESCAPE_QUIT)
            stdio_quit(s);
        else if (action == STDIO_ESCAPE_HELP)
            stdio_help(s);
    }
}

static void stdio_read_input(struct stdio_chardev *s)
{
    uint8_t buf[STDIO_READ_CHUNK];
    size_t room = STDIO_PENDING_MAX - s->pending_len;
    if (s->in_done || room < 2)
        return;
    size_t want = room - 1 < sizeof(buf) ? room - 1 : sizeof(buf);
    ssize_t n = read(s->in_fd, buf, want);
    if (n > 0) {
        stdio_take(s, buf, (size_t)n);
        return;
    }
    if (n < 0 && (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK))
        return;
    if (n < 0)
        log_warn("console: reading input: %s; input stopped", strerror(errno));
    else
        log_debug("console: end of input");
    if (s->esc.armed) {
        s->esc.armed = false;
        s->pending[s->pending_len++] = STDIO_ESCAPE_CHAR;
    }
    s->in_done = true;
}

static void stdio_on_input(void *opaque, int fd, uint32_t events)
{
    struct stdio_chardev *s = opaque;
    (void)fd;
    (void)events; /* hang-up and errors show up as read() results */
    stdio_read_input(s);
    stdio_offer(s);
    stdio_update_watch(s);
}

static void stdio_on_wake(void *opaque, int fd, uint32_t events)
{
    struct stdio_chardev *s = opaque;
    uint64_t count;
    (void)events;
    if (read(fd, &count, sizeof(count)) < 0) {
        /* Non-blocking: nothing to clear. */
    }
    if (s->in_pumped)
        stdio_read_input(s);
    stdio_offer(s);
    stdio_update_watch(s);
}

static int stdio_attach(struct chardev *chr, struct event_loop *loop)
{
    struct stdio_chardev *s = (struct stdio_chardev *)chr;
    int r = event_loop_add(loop, s->wake_fd, EPOLLIN, stdio_on_wake, s);
    if (r < 0) {
        log_error("console: cannot watch the wakeup eventfd: %s", strerror(-r));
        return r;
    }
    s->loop = loop;
    if (isatty(s->in_fd)) {
        /* A background job reading the terminal would be stopped (SIGTTIN). */
        if (tcgetpgrp(s->in_fd) != getpgrp()) {
            log_info("console: not the terminal's foreground job; input disabled");
            s->in_done = true;
        } else {
            stdio_enter_raw(s);
        }
    }
    stdio_update_watch(s);
    if (s->pending_len)
        stdio_wake(s);
    return 0;
}

static void stdio_accept_input(struct chardev *chr)
{
    stdio_wake((struct stdio_chardev *)chr);
}

static void stdio_close(struct chardev *chr)
{
    struct stdio_chardev *s = (struct stdio_chardev *)chr;
    if (s->loop) {
        if (s->in_watched)
            event_loop_del(s->loop, s->in_fd);
        event_loop_del(s->loop, s->wake_fd);
    }
    stdio_leave_raw(s);
    close(s->wake_fd);
    if (s->owns_stdio)
        stdio_in_use = false;
    free(s);
}

static const struct chardev_ops stdio_ops = {
    .write = stdio_write,
    .attach = stdio_attach,
    .accept_input = stdio_accept_input,
    .close = stdio_close,
};

struct chardev *chardev_stdio_new_fds(struct power_line power, int in_fd, int out_fd)
{
    struct stdio_chardev *s = calloc(1, sizeof(*s));
    if (!s) {
        log_error("console: out of memory");
        return NULL;
    }
    s->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (s->wake_fd < 0) {
        log_error("console: eventfd: %s", strerror(errno));
        free(s);
        return NULL;
    }
    s->chr.ops = &stdio_ops;
    s->power = power;
    s->in_fd = in_fd;
    s->out_fd = out_fd;
    return &s->chr;
}

struct chardev *chardev_stdio_new(struct power_line power)
{
    if (stdio_in_use) {
        log_error("stdio is already used by another character device");
        return NULL;
    }
    struct chardev *chr = chardev_stdio_new_fds(power, STDIN_FILENO, STDOUT_FILENO);
    if (chr) {
        ((struct stdio_chardev *)chr)->owns_stdio = true;
        stdio_in_use = true;
    }
    return chr;
}
