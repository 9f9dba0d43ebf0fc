/* The file character backend: guest output written to a file as it comes
 * (unbuffered, so the file is complete whenever xuni stops), no input.
 *
 * chardev_close(), common to every backend, lives here too.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "backend/chardev.h"
#include "util/log.h"

struct file_chardev {
    struct chardev chr; /* first: the ops get this pointer */
    int fd;
    struct log_once_set logged;
};

static void file_write(struct chardev *chr, const uint8_t *buf, size_t len)
{
    struct file_chardev *f = (struct file_chardev *)chr;
    while (len) {
        ssize_t n = write(f->fd, buf, len);
        if (n > 0) {
            buf += n;
            len -= (size_t)n;
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        /* A full disk: say so once and keep the guest running. */
        int err = n < 0 ? errno : EIO;
        if (log_once_check(&f->logged, (uint64_t)err))
            log_warn("serial output file: %s; output dropped", strerror(err));
        return;
    }
}

static void file_close(struct chardev *chr)
{
    struct file_chardev *f = (struct file_chardev *)chr;
    close(f->fd);
    free(f);
}

static const struct chardev_ops file_ops = {
    .write = file_write,
    .close = file_close,
};

struct chardev *chardev_file_new(const char *path)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) {
        log_error("cannot open serial output %s: %s", path, strerror(errno));
        return NULL;
    }
    struct file_chardev *f = calloc(1, sizeof(*f));
    if (!f) {
        log_error("cannot open serial output %s: out of memory", path);
        close(fd);
        return NULL;
    }
    f->chr.ops = &file_ops;
    f->fd = fd;
    return &f->chr;
}

void chardev_close(struct chardev *chr)
{
    if (chr && chr->ops->close)
        chr->ops->close(chr);
}
