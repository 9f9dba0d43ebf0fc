/* A small printf to the serial port: %s %c %d %i %u %x %X %p %%, with the
 * l / ll / z length modifiers, a field width, the '0' and '-' flags, and a
 * precision (".N" or ".*") for %s only. */
#include "guest.h"

struct spec {
    bool zero, left;
    unsigned width;
};

static int pad(unsigned n, char c)
{
    for (unsigned i = 0; i < n; i++)
        serial_putc(c);
    return (int)n;
}

static int emit(const char *s, unsigned len, const struct spec *sp, bool numeric)
{
    unsigned fill = sp->width > len ? sp->width - len : 0;
    int n = 0;
    if (!sp->left) {
        /* Zero padding goes after a sign. */
        if (numeric && sp->zero && len && *s == '-') {
            serial_putc(*s++);
            len--;
            n++;
        }
        n += pad(fill, numeric && sp->zero ? '0' : ' ');
    }
    for (unsigned i = 0; i < len; i++)
        serial_putc(s[i]);
    n += (int)len;
    if (sp->left)
        n += pad(fill, ' ');
    return n;
}

static int emit_number(uint64_t v, bool negative, unsigned base, bool upper, const struct spec *sp)
{
    const char *digits = upper ? "0123456789ABCDEF" : "0123456789abcdef";
    char buf[24];
    unsigned i = sizeof(buf);
    do {
        buf[--i] = digits[v % base];
        v /= base;
    } while (v);
    if (negative)
        buf[--i] = '-';
    return emit(buf + i, sizeof(buf) - i, sp, true);
}

int vprintf(const char *fmt, va_list ap)
{
    int n = 0;
    for (; *fmt; fmt++) {
        if (*fmt != '%') {
            serial_putc(*fmt);
            n++;
            continue;
        }
        struct spec sp = {0};
        for (fmt++;; fmt++) {
            if (*fmt == '0')
                sp.zero = true;
            else if (*fmt == '-')
                sp.left = true;
            else
                break;
        }
        while (*fmt >= '0' && *fmt <= '9')
            sp.width = sp.width * 10 + (unsigned)(*fmt++ - '0');
        int precision = -1;
        if (*fmt == '.') {
            fmt++;
            precision = 0;
            if (*fmt == '*') {
                precision = va_arg(ap, int);
                fmt++;
            }
            while (*fmt >= '0' && *fmt <= '9')
                precision = precision * 10 + (*fmt++ - '0');
        }
        unsigned longs = 0;
        while (*fmt == 'l' || *fmt == 'z') {
            longs += *fmt == 'z' ? 2 : 1;
            fmt++;
        }
        switch (*fmt) {
        case 'd':
        case 'i': {
            int64_t v = longs ? va_arg(ap, int64_t) : va_arg(ap, int);
            uint64_t mag = v < 0 ? -(uint64_t)v : (uint64_t)v;
            n += emit_number(mag, v < 0, 10, false, &sp);
            break;
        }
        case 'u':
        case 'x':
        case 'X': {
            uint64_t v = longs ? va_arg(ap, uint64_t) : va_arg(ap, unsigned);
            n += emit_number(v, false, *fmt == 'u' ? 10 : 16, *fmt == 'X', &sp);
            break;
        }
        case 'p':
            serial_puts("0x");
            n += 2 + emit_number((uintptr_t)va_arg(ap, void *), false, 16, false, &sp);
            break;
        case 'c': {
            char c = (char)va_arg(ap, int);
            n += emit(&c, 1, &sp, false);
            break;
        }
        case 's': {
            const char *s = va_arg(ap, const char *);
            if (!s)
                s = "(null)";
            size_t len = strlen(s);
            if (precision >= 0 && (size_t)precision < len)
                len = (size_t)precision;
            n += emit(s, (unsigned)len, &sp, false);
            break;
        }
        case '%':
            serial_putc('%');
            n++;
            break;
        case '\0':
            return n;
        default: /* unknown conversion: show it as written */
            serial_putc('%');
            serial_putc(*fmt);
            n += 2;
        }
    }
    return n;
}

int printf(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vprintf(fmt, ap);
    va_end(ap);
    return n;
}
