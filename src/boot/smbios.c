/* SMBIOS 3.0 tables (see smbios.h). A structure is its formatted area
 * (type, length, handle, fields) followed by its strings, each NUL
 * terminated, and one more NUL; fields name strings by number, from 1. */
#include "boot/smbios.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "util/bytes.h"
#include "util/log.h"
#include "vm/layout.h"

#define SMBIOS_EP_LEN    0x18
#define SMBIOS_TABLE_MAX (LAYOUT_SMBIOS_END - LAYOUT_SMBIOS_START - 0x20)

struct smbios_writer {
    uint8_t buf[SMBIOS_TABLE_MAX];
    size_t len;      /* bytes written */
    unsigned nstr;   /* strings of the structure being built */
    uint16_t handle; /* the next structure's */
    bool overflow;   /* then structures go to scratch, and are dropped */
    uint8_t scratch[0x100];
};

static uint8_t *sm_begin(struct smbios_writer *w, uint8_t type, uint8_t len)
{
    uint8_t *s = w->scratch;
    if (!w->overflow && w->len + len + 2 <= sizeof(w->buf)) {
        s = w->buf + w->len;
        w->len += len;
    } else {
        w->overflow = true;
    }
    w->nstr = 0;
    memset(s, 0, len);
    s[0] = type;
    s[1] = len;
    put_le16(s + 2, w->handle++);
    return s;
}

/* Append a string to the current structure; its number for the field. */
static uint8_t sm_str(struct smbios_writer *w, const char *str)
{
    size_t n = strlen(str) + 1;
    if (w->overflow || w->len + n + 1 > sizeof(w->buf)) {
        w->overflow = true;
        return 0;
    }
    memcpy(w->buf + w->len, str, n);
    w->len += n;
    return (uint8_t)++w->nstr;
}

/* No strings: two NULs; else the last string's NUL and one more. */
static void sm_end(struct smbios_writer *w)
{
    size_t n = w->nstr ? 1 : 2;
    if (w->overflow || w->len + n > sizeof(w->buf)) {
        w->overflow = true;
        return;
    }
    memset(w->buf + w->len, 0, n);
    w->len += n;
}

static void sm_bios(struct smbios_writer *w)
{
    uint8_t *s = sm_begin(w, 0, 0x18);
    s[0x04] = sm_str(w, SMBIOS_VENDOR);
    s[0x05] = sm_str(w, "xuni");
    put_le16(s + 0x06, 0xe800);        /* starting segment: the BIOS area */
    s[0x08] = sm_str(w, "01/01/2026"); /* release date, mm/dd/yyyy */
    s[0x09] = 0;                       /* ROM size: 64 KiB */
    put_le64(s + 0x0a, 1ULL << 3);     /* characteristics not supported */
    s[0x13] = 1u << 4;                 /* extension 2: a virtual machine */
    s[0x14] = 1;                       /* system BIOS release 1.0 */
    s[0x16] = s[0x17] = 0xff;          /* no embedded controller */
    sm_end(w);
}

static void sm_system(struct smbios_writer *w)
{
    uint8_t *s = sm_begin(w, 1, 0x1b);
    s[0x04] = sm_str(w, SMBIOS_VENDOR);
    s[0x05] = sm_str(w, SMBIOS_PRODUCT);
    s[0x06] = sm_str(w, "1.0");
    /* UUID at 0x08 stays zero: "not present". */
    s[0x18] = 0x06;                     /* woken by the power switch */
    s[0x1a] = sm_str(w, SMBIOS_VENDOR); /* family */
    sm_end(w);
}

static void sm_chassis(struct smbios_writer *w)
{
    uint8_t *s = sm_begin(w, 3, 0x16);
    s[0x04] = sm_str(w, SMBIOS_VENDOR);
    s[0x05] = 0x01;                     /* other */
    s[0x09] = s[0x0a] = s[0x0b] = 0x03; /* boot-up, power, thermal: safe */
    s[0x0c] = 0x03;                     /* security: none */
    sm_end(w);
}

static void sm_processor(struct smbios_writer *w, unsigned cpu)
{
    char name[16];
    snprintf(name, sizeof(name), "CPU %u", cpu);
    uint8_t *s = sm_begin(w, 4, 0x30);
    s[0x04] = sm_str(w, name);
    s[0x05] = 0x03; /* central processor */
    s[0x06] = 0x01; /* family: other */
    s[0x07] = sm_str(w, SMBIOS_VENDOR);
    s[0x18] = 0x41;             /* socket populated, CPU enabled */
    s[0x19] = 0x01;             /* upgrade: other */
    put_le16(s + 0x1a, 0xffff); /* no cache information */
    put_le16(s + 0x1c, 0xffff);
    put_le16(s + 0x1e, 0xffff);
    s[0x23] = s[0x24] = s[0x25] = 1; /* cores, enabled, threads */
    put_le16(s + 0x26, 1u << 2);     /* 64-bit capable */
    put_le16(s + 0x28, 0x01);
    put_le16(s + 0x2a, 1);
    put_le16(s + 0x2c, 1);
    put_le16(s + 0x2e, 1);
    sm_end(w);
}

static uint16_t sm_memory_array(struct smbios_writer *w, uint64_t ram)
{
    uint16_t handle = w->handle;
    uint8_t *s = sm_begin(w, 16, 0x17);
    s[0x04] = 0x03; /* system board */
    s[0x05] = 0x03; /* system memory */
    s[0x06] = 0x03; /* no error correction */
    if (ram / 1024 < 0x80000000ULL) {
        put_le32(s + 0x07, (uint32_t)(ram / 1024));
    } else {
        put_le32(s + 0x07, 0x80000000u);
        put_le64(s + 0x0f, ram);
    }
    put_le16(s + 0x0b, 0xfffe); /* no error information */
    put_le16(s + 0x0d, 1);
    sm_end(w);
    return handle;
}

static void sm_memory_device(struct smbios_writer *w, uint16_t array, uint64_t ram)
{
    uint8_t *s = sm_begin(w, 17, 0x28);
    uint64_t mib = ram >> 20;
    put_le16(s + 0x04, array);
    put_le16(s + 0x06, 0xfffe);
    put_le16(s + 0x08, 0xffff); /* widths unknown */
    put_le16(s + 0x0a, 0xffff);
    if (mib < 0x7fff) {
        put_le16(s + 0x0c, (uint16_t)mib);
    } else {
        put_le16(s + 0x0c, 0x7fff);
        put_le32(s + 0x1c, (uint32_t)mib);
    }
    s[0x0e] = 0x09; /* DIMM */
    s[0x10] = sm_str(w, "DIMM 0");
    s[0x12] = 0x07;              /* RAM */
    put_le16(s + 0x13, 1u << 2); /* type detail: unknown */
    s[0x17] = sm_str(w, SMBIOS_VENDOR);
    sm_end(w);
}

static void sm_mapped_range(struct smbios_writer *w, uint16_t array, uint64_t gpa, uint64_t size)
{
    uint8_t *s = sm_begin(w, 19, 0x1f);
    uint64_t last = gpa + size - 1;
    if (last / 1024 < 0xffffffffULL) {
        put_le32(s + 0x04, (uint32_t)(gpa / 1024));
        put_le32(s + 0x08, (uint32_t)(last / 1024));
    } else {
        put_le32(s + 0x04, 0xffffffffu);
        put_le32(s + 0x08, 0xffffffffu);
        put_le64(s + 0x0f, gpa);
        put_le64(s + 0x17, last);
    }
    put_le16(s + 0x0c, array);
    s[0x0e] = 1; /* partition width */
    sm_end(w);
}

static void sm_build(struct smbios_writer *w, const struct guest_memory *mem, unsigned ncpus)
{
    sm_bios(w);
    sm_system(w);
    sm_chassis(w);
    for (unsigned i = 0; i < ncpus; i++)
        sm_processor(w, i);
    uint16_t array = sm_memory_array(w, mem->ram_size);
    sm_memory_device(w, array, mem->ram_size);
    for (unsigned i = 0; i < mem->nregions; i++)
        sm_mapped_range(w, array, mem->regions[i].gpa, mem->regions[i].size);
    sm_begin(w, 32, 0x0b); /* boot status: reserved bytes and "no errors", all zero */
    sm_end(w);
    sm_begin(w, 127, 4);
    sm_end(w);
}

int smbios_build(struct guest_memory *mem, unsigned ncpus)
{
    if (ncpus == 0) {
        log_error("smbios: no CPUs");
        return -EINVAL;
    }
    static struct smbios_writer w; /* 64 KiB: not on the stack */
    memset(&w, 0, sizeof(w));
    sm_build(&w, mem, ncpus);
    if (w.overflow) {
        log_error("smbios: the tables for %u CPUs do not fit in %u bytes", ncpus,
                  (unsigned)SMBIOS_TABLE_MAX);
        return -ENOSPC;
    }
    uint64_t table = LAYOUT_SMBIOS_START + 0x20;
    uint8_t ep[SMBIOS_EP_LEN] = {'_', 'S', 'M', '3', '_'};
    ep[6] = SMBIOS_EP_LEN;
    ep[7] = 3; /* SMBIOS 3.0.0 */
    ep[8] = 0;
    ep[10] = 1; /* entry point revision: 3.0 */
    put_le32(ep + 0x0c, (uint32_t)w.len);
    put_le64(ep + 0x10, table);
    ep[5] = bytes_checksum8(ep, sizeof(ep));
    if (guest_memory_write(mem, LAYOUT_SMBIOS_START, ep, sizeof(ep)) < 0 ||
        guest_memory_write(mem, table, w.buf, w.len) < 0) {
        log_error("smbios: %#llx is not guest RAM", (unsigned long long)LAYOUT_SMBIOS_START);
        return -EFAULT;
    }
    return 0;
}
