/* AML and resource descriptor emitters (see aml.h). Opcode values from the
 * ACPI 6.x specification, section 20.3 (AML byte stream encoding). */
#include "boot/aml.h"

#include <string.h>

#include "util/bytes.h"

enum {
    AML_ZERO = 0x00,
    AML_ONE = 0x01,
    AML_NAME = 0x08,
    AML_BYTE_PREFIX = 0x0a,
    AML_WORD_PREFIX = 0x0b,
    AML_DWORD_PREFIX = 0x0c,
    AML_STRING_PREFIX = 0x0d,
    AML_QWORD_PREFIX = 0x0e,
    AML_SCOPE = 0x10,
    AML_BUFFER = 0x11,
    AML_PACKAGE = 0x12,
    AML_METHOD = 0x14,
    AML_DUAL_NAME = 0x2e,
    AML_MULTI_NAME = 0x2f,
    AML_EXT_PREFIX = 0x5b,
    AML_EXT_DEVICE = 0x82,
    AML_ROOT = 0x5c,
    AML_ARG0 = 0x68,
    AML_RETURN = 0xa4,
};

/* Resource descriptors (section 6.4). */
enum {
    RES_IO = 0x47,
    RES_END = 0x79,
    RES_MEM32_FIXED = 0x86,
    RES_DWORD_ADDR = 0x87,
    RES_WORD_ADDR = 0x88,
};
enum { RES_TYPE_MEM = 0, RES_TYPE_IO = 1, RES_TYPE_BUS = 2 };
#define RES_MIN_MAX_FIXED 0x0c /* producer, positive decode, min and max fixed */
#define RES_IO_ENTIRE     0x03 /* ISA and non-ISA ranges */
#define RES_MEM_RW        0x01 /* read-write, non-cacheable */

void aml_init(struct aml *a, uint8_t *buf, size_t cap)
{
    a->buf = buf;
    a->cap = cap;
    a->len = 0;
    a->overflow = false;
}

void aml_bytes(struct aml *a, const void *data, size_t n)
{
    if (a->overflow || n > a->cap - a->len) {
        a->overflow = true;
        return;
    }
    memcpy(a->buf + a->len, data, n);
    a->len += n;
}

void aml_byte(struct aml *a, uint8_t b)
{
    aml_bytes(a, &b, 1);
}

static void aml_le(struct aml *a, uint64_t v, unsigned n)
{
    uint8_t b[8];
    put_le64(b, v);
    aml_bytes(a, b, n);
}

void aml_int(struct aml *a, uint64_t v)
{
    if (v <= 1) {
        aml_byte(a, v ? AML_ONE : AML_ZERO);
    } else if (v <= 0xff) {
        aml_byte(a, AML_BYTE_PREFIX);
        aml_le(a, v, 1);
    } else if (v <= 0xffff) {
        aml_byte(a, AML_WORD_PREFIX);
        aml_le(a, v, 2);
    } else if (v <= 0xffffffff) {
        aml_byte(a, AML_DWORD_PREFIX);
        aml_le(a, v, 4);
    } else {
        aml_byte(a, AML_QWORD_PREFIX);
        aml_le(a, v, 8);
    }
}

void aml_string(struct aml *a, const char *s)
{
    aml_byte(a, AML_STRING_PREFIX);
    aml_bytes(a, s, strlen(s) + 1);
}

/* EISA ids: three letters in 5 bits each, then four hex digits, stored
 * big-endian in a DWord. */
void aml_eisaid(struct aml *a, const char *id)
{
    uint32_t v = 0;
    for (int i = 0; i < 3; i++)
        v = v << 5 | ((uint32_t)(id[i] - '@') & 0x1f);
    for (int i = 3; i < 7; i++) {
        char c = id[i];
        v = v << 4 | (uint32_t)(c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10);
    }
    aml_byte(a, AML_DWORD_PREFIX);
    aml_le(a, __builtin_bswap32(v), 4);
}

static void aml_name_seg(struct aml *a, const char *seg, size_t n)
{
    char s[4] = {'_', '_', '_', '_'};
    memcpy(s, seg, n < 4 ? n : 4);
    aml_bytes(a, s, 4);
}

void aml_name_string(struct aml *a, const char *name)
{
    if (*name == '\\') {
        aml_byte(a, AML_ROOT);
        name++;
    }
    unsigned nsegs = 1;
    for (const char *p = name; *p; p++)
        nsegs += *p == '.';
    if (nsegs == 2) {
        aml_byte(a, AML_DUAL_NAME);
    } else if (nsegs > 2) {
        aml_byte(a, AML_MULTI_NAME);
        aml_byte(a, (uint8_t)nsegs);
    }
    while (*name) {
        size_t n = strcspn(name, ".");
        aml_name_seg(a, name, n);
        name += n + (name[n] == '.');
    }
}

void aml_name(struct aml *a, const char *name)
{
    aml_byte(a, AML_NAME);
    aml_name_string(a, name);
}

/* The PkgLength is inserted at the mark when the object ends. */
static size_t aml_open(struct aml *a)
{
    return a->len;
}

void aml_end(struct aml *a, size_t mark)
{
    if (a->overflow || mark > a->len)
        return;
    size_t content = a->len - mark;
    unsigned n = content + 1 < 0x40 ? 1 : content + 2 < 0x1000 ? 2 : content + 3 < 0x100000 ? 3 : 4;
    size_t total = content + n;
    uint8_t enc[4];
    if (n == 1) {
        enc[0] = (uint8_t)total;
    } else {
        enc[0] = (uint8_t)((n - 1) << 6 | (total & 0xf));
        for (unsigned i = 1; i < n; i++)
            enc[i] = (uint8_t)(total >> (4 + 8 * (i - 1)));
    }
    if (n > a->cap - a->len) {
        a->overflow = true;
        return;
    }
    memmove(a->buf + mark + n, a->buf + mark, content);
    memcpy(a->buf + mark, enc, n);
    a->len += n;
}

void aml_buffer(struct aml *a, const uint8_t *data, size_t n)
{
    aml_byte(a, AML_BUFFER);
    size_t mark = aml_open(a);
    aml_int(a, n);
    aml_bytes(a, data, n);
    aml_end(a, mark);
}

size_t aml_scope_begin(struct aml *a, const char *name)
{
    aml_byte(a, AML_SCOPE);
    size_t mark = aml_open(a);
    aml_name_string(a, name);
    return mark;
}

size_t aml_device_begin(struct aml *a, const char *name)
{
    aml_byte(a, AML_EXT_PREFIX);
    aml_byte(a, AML_EXT_DEVICE);
    size_t mark = aml_open(a);
    aml_name_string(a, name);
    return mark;
}

size_t aml_method_begin(struct aml *a, const char *name, unsigned nargs)
{
    aml_byte(a, AML_METHOD);
    size_t mark = aml_open(a);
    aml_name_string(a, name);
    aml_byte(a, (uint8_t)(nargs & 7)); /* not serialized, sync level 0 */
    return mark;
}

size_t aml_package_begin(struct aml *a, uint8_t nelements)
{
    aml_byte(a, AML_PACKAGE);
    size_t mark = aml_open(a);
    aml_byte(a, nelements);
    return mark;
}

void aml_return(struct aml *a)
{
    aml_byte(a, AML_RETURN);
}

void aml_arg(struct aml *a, unsigned n)
{
    aml_byte(a, (uint8_t)(AML_ARG0 + (n & 7)));
}

/* --- resource descriptors --- */

/* Word (16-bit) and DWord (32-bit) address space descriptors share one
 * shape: granularity, minimum, maximum, translation, length. */
static void res_addr(struct aml *a, uint8_t tag, unsigned width, uint8_t type, uint8_t tflags,
                     uint64_t min, uint64_t max)
{
    aml_byte(a, tag);
    aml_le(a, 3 + 5 * width, 2); /* length after the 3-byte header */
    aml_byte(a, type);
    aml_byte(a, RES_MIN_MAX_FIXED);
    aml_byte(a, tflags);
    aml_le(a, 0, width); /* granularity */
    aml_le(a, min, width);
    aml_le(a, max, width);
    aml_le(a, 0, width); /* translation offset */
    aml_le(a, max - min + 1, width);
}

void aml_res_bus_range(struct aml *a, uint16_t min, uint16_t max)
{
    res_addr(a, RES_WORD_ADDR, 2, RES_TYPE_BUS, 0, min, max);
}

void aml_res_io_range(struct aml *a, uint16_t min, uint16_t max)
{
    res_addr(a, RES_WORD_ADDR, 2, RES_TYPE_IO, RES_IO_ENTIRE, min, max);
}

void aml_res_mem_range(struct aml *a, uint32_t min, uint32_t max)
{
    res_addr(a, RES_DWORD_ADDR, 4, RES_TYPE_MEM, RES_MEM_RW, min, max);
}

void aml_res_io(struct aml *a, uint16_t base, uint8_t len)
{
    aml_byte(a, RES_IO);
    aml_byte(a, 1); /* 16-bit decode */
    aml_le(a, base, 2);
    aml_le(a, base, 2);
    aml_byte(a, 1); /* alignment */
    aml_byte(a, len);
}

void aml_res_mem32_fixed(struct aml *a, uint32_t base, uint32_t len)
{
    aml_byte(a, RES_MEM32_FIXED);
    aml_le(a, 9, 2);
    aml_byte(a, RES_MEM_RW);
    aml_le(a, base, 4);
    aml_le(a, len, 4);
}

void aml_res_end(struct aml *a)
{
    aml_byte(a, RES_END);
    aml_byte(a, 0); /* checksum 0: treated as valid */
}
