#include "util/log.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>

static enum log_level current_level = LOG_WARN;
static FILE *log_stream;
static bool log_crlf;
static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;

void log_set_level(enum log_level level)
{
    current_level = level;
}

enum log_level log_get_level(void)
{
    return current_level;
}

void log_set_stream(FILE *stream)
{
    log_stream = stream;
}

void log_set_crlf(bool crlf)
{
    log_crlf = crlf;
}

void log_msg(enum log_level level, const char *fmt, ...)
{
    static const char *const prefix[] = {"error: ", "warning: ", "", "debug: "};
    if (level > current_level)
        return;
    FILE *out = log_stream ? log_stream : stderr;
    va_list ap;
    va_start(ap, fmt);
    pthread_mutex_lock(&log_lock);
    fprintf(out, "xuni: %s", prefix[level]);
    vfprintf(out, fmt, ap);
    fputs(log_crlf && !log_stream ? "\r\n" : "\n", out);
    fflush(out);
    pthread_mutex_unlock(&log_lock);
    va_end(ap);
}

bool log_once_check(struct log_once_set *set, uint64_t key)
{
    unsigned n = set->count;
    unsigned cap = sizeof(set->keys) / sizeof(set->keys[0]);
    for (unsigned i = 0; i < n && i < cap; i++)
        if (set->keys[i] == key)
            return false;
    if (n >= cap) {
        if (!set->overflow_reported) {
            set->overflow_reported = true;
            log_warn("too many distinct addresses reported; suppressing further reports");
        }
        return false;
    }
    set->keys[n] = key;
    set->count = n + 1;
    return true;
}
