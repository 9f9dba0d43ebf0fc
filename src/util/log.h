/* Logging and error reporting.
 *
 * xuni prints one line per event to stderr, prefixed "xuni: ". Setup code
 * reports an error with log_error() and returns a negative errno; only main()
 * exits. Things a guest can trigger repeatedly go through log_once() or
 * log_ratelimited() so a hostile guest cannot flood the host's terminal.
 */
#ifndef XUNI_UTIL_LOG_H
#define XUNI_UTIL_LOG_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

enum log_level { LOG_ERROR, LOG_WARN, LOG_INFO, LOG_DEBUG };

/* Messages above this level are dropped (default LOG_WARN). */
void log_set_level(enum log_level level);
enum log_level log_get_level(void);

void log_msg(enum log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define log_error(...) log_msg(LOG_ERROR, __VA_ARGS__)
#define log_warn(...)  log_msg(LOG_WARN, __VA_ARGS__)
#define log_info(...)  log_msg(LOG_INFO, __VA_ARGS__)
#define log_debug(...) log_msg(LOG_DEBUG, __VA_ARGS__)

/* A small set of keys already reported: log_once_check() returns true the
 * first time it sees a key and false afterwards. The set is bounded; once it
 * is full, further distinct keys are suppressed after a final notice, so a
 * guest walking every port cannot produce unbounded output. */
struct log_once_set {
    uint64_t keys[256];
    unsigned count;
    bool overflow_reported;
};

bool log_once_check(struct log_once_set *set, uint64_t key);

/* Redirect log output (tests capture it); NULL restores stderr. */
void log_set_stream(FILE *stream);

/* While the terminal is in raw mode, lines must end in \r\n. */
void log_set_crlf(bool crlf);

#endif
