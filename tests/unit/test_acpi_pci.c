/* The ACPI description of PCI: the MCFG, and the DSDT's host bridge
 * (\_SB.PCI0: ids, _CRS windows, _PRT routing, _OSC) and ECAM reservation
 * (\_SB.MRES), walked with a small AML reader; and, where iasl is
 * installed (acpica-tools), the ACPICA disassembler must accept both. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "acpi_rig.h"

/* --- a reader for the AML subset xuni writes --- */

/* Decode a PkgLength at *p (advancing past it); the object ends at the
 * PkgLength's own start plus the value. */
static const uint8_t *pkg_end(const uint8_t **p)
{
    const uint8_t *start = *p;
    unsigned extra = **p >> 6;
    uint32_t len = extra ? **p & 0xf : **p & 0x3f;
    for (unsigned i = 1; i <= extra; i++)
        len |= (uint32_t)start[i] << (4 + 8 * (i - 1));
    *p += 1 + extra;
    return start + len;
}

/* A NameString as text: "\\_SB_", "PCI0", "\\_SB_.PCI0". */
static const uint8_t *name_string(const uint8_t *p, char *out, size_t cap)
{
    size_t n = 0;
    if (*p == '\\')
        out[n++] = *p++;
    unsigned segs = 1;
    if (*p == 0x2e) {
        segs = 2;
        p++;
    } else if (*p == 0x2f) {
        segs = p[1];
        p += 2;
    }
    for (unsigned i = 0; i < segs; i++) {
        assert_true(n + 6 < cap);
        if (i)
            out[n++] = '.';
        memcpy(out + n, p, 4);
        n += 4;
        p += 4;
    }
    out[n] = 0;
    return p;
}

static const uint8_t *skip_term(const uint8_t *p, const uint8_t *end);

static const uint8_t *skip_pkg(const uint8_t *p, const uint8_t *end)
{
    const uint8_t *e = pkg_end(&p);
    assert_true(e <= end);
    return e;
}

static const uint8_t *skip_term(const uint8_t *p, const uint8_t *end)
{
    char name[64];
    assert_true(p < end);
    switch (*p) {
    case 0x00: /* Zero, One, Ones, ArgN */
    case 0x01:
    case 0xff:
    case 0x68 ... 0x6e:
        return p + 1;
    case 0x0a:
        return p + 2;
    case 0x0b:
        return p + 3;
    case 0x0c:
        return p + 5;
    case 0x0e:
        return p + 9;
    case 0x0d:
        return p + strlen((const char *)p + 1) + 2;
    case 0x08: /* Name */
        return skip_term(name_string(p + 1, name, sizeof(name)), end);
    case 0xa4: /* Return */
        return skip_term(p + 1, end);
    case 0x10: /* Scope, Buffer, Package, Method */
    case 0x11:
    case 0x12:
    case 0x14:
        return skip_pkg(p + 1, end);
    case 0x5b:
        assert_int_equal(p[1], 0x82); /* Device */
        return skip_pkg(p + 2, end);
    }
    fail_msg("unexpected AML opcode %#x", *p);
    return end;
}

/* A term list: every term parses and the last ends exactly at end. */
static void check_terms(const uint8_t *p, const uint8_t *end)
{
    while (p < end)
        p = skip_term(p, end);
    assert_ptr_equal(p, end);
}

struct obj {
    const uint8_t *body, *end; /* after the object's name; its end */
};

/* The Scope or Device named name in a term list. */
static struct obj find_container(const uint8_t *p, const uint8_t *end, const char *name)
{
    char got[64];
    while (p < end) {
        const uint8_t *op = p;
        if (*p == 0x10 || (*p == 0x5b && p[1] == 0x82)) {
            p += *p == 0x10 ? 1 : 2;
            const uint8_t *e = pkg_end(&p);
            const uint8_t *body = name_string(p, got, sizeof(got));
            if (strcmp(got, name) == 0)
                return (struct obj){body, e};
            p = e;
        } else {
            p = skip_term(op, end);
        }
    }
    fail_msg("no %s", name);
    return (struct obj){0};
}

/* The value of Name (name, value) in a term list (or a Method's start). */
static const uint8_t *find_named(struct obj o, const char *name, uint8_t op)
{
    char got[64];
    for (const uint8_t *p = o.body; p < o.end; p = skip_term(p, o.end)) {
        if (*p != op)
            continue;
        const uint8_t *q = p + 1;
        if (op == 0x14)
            pkg_end(&q);
        q = name_string(q, got, sizeof(got));
        if (strcmp(got, name) == 0)
            return op == 0x14 ? p : q;
    }
    fail_msg("no %s in the object", name);
    return NULL;
}

static uint64_t aml_integer(const uint8_t *p)
{
    switch (*p) {
    case 0x00:
        return 0;
    case 0x01:
        return 1;
    case 0x0a:
        return p[1];
    case 0x0b:
        return rd16(p + 1);
    case 0x0c:
        return rd32(p + 1);
    case 0x0e:
        return rd64(p + 1);
    }
    fail_msg("not an integer: %#x", *p);
    return 0;
}

/* EisaId ("PNP0A03") as the DWord ACPICA compares with. */
static uint32_t eisaid(const char *id)
{
    uint32_t v = 0;
    for (int i = 0; i < 3; i++)
        v = v << 5 | ((uint32_t)(id[i] - '@') & 0x1f);
    for (int i = 3; i < 7; i++)
        v = v << 4 | (uint32_t)strtoul((char[]){id[i], 0}, NULL, 16);
    return __builtin_bswap32(v);
}

/* A Buffer's contents. */
static struct obj buffer(const uint8_t *p)
{
    assert_int_equal(*p, 0x11);
    p++;
    const uint8_t *e = pkg_end(&p);
    uint64_t size = aml_integer(p);
    const uint8_t *data = skip_term(p, e);
    assert_int_equal(e - data, size);
    return (struct obj){data, e};
}

/* --- the tables --- */

struct dsdt {
    struct guest_memory mem;
    const uint8_t *table;
    uint32_t len;
    struct obj sb, pci0, mres;
};

static void load_dsdt(struct dsdt *d)
{
    struct root r;
    build(&d->mem, 2, &r);
    const uint8_t *fadt = table(&d->mem, r.fadt, "FACP");
    d->table = table(&d->mem, rd64(fadt + 140), "DSDT");
    d->len = rd32(d->table + 4);
    const uint8_t *aml = d->table + 36, *end = d->table + d->len;
    check_terms(aml, end);
    d->sb = find_container(aml, end, "\\_SB_");
    check_terms(d->sb.body, d->sb.end);
    d->pci0 = find_container(d->sb.body, d->sb.end, "PCI0");
    d->mres = find_container(d->sb.body, d->sb.end, "MRES");
    check_terms(d->pci0.body, d->pci0.end);
    check_terms(d->mres.body, d->mres.end);
}

static void test_mcfg(void **state)
{
    (void)state;
    struct guest_memory mem;
    struct root r;
    build(&mem, 1, &r);
    assert_int_equal(r.n, 3);
    assert_int_not_equal(r.mcfg, 0);
    const uint8_t *m = table(&mem, r.mcfg, "MCFG");
    assert_int_equal(rd32(m + 4), 44 + 16); /* header, reserved, one entry */
    assert_int_equal(m[8], 1);              /* revision */
    const uint8_t *e = m + 44;
    assert_true(rd64(e) == LAYOUT_PCI_ECAM_BASE);
    assert_int_equal(rd16(e + 8), 0); /* segment */
    assert_int_equal(e[10], 0);       /* buses 0.. */
    assert_int_equal(e[11], LAYOUT_PCI_ECAM_BUSES - 1);
    /* The window sits in the MMIO hole, clear of the BAR window. */
    assert_true(LAYOUT_PCI_ECAM_BASE >= LAYOUT_MMIO_HOLE_START);
    assert_true(LAYOUT_PCI_ECAM_BASE + LAYOUT_PCI_ECAM_SIZE <= LAYOUT_IOAPIC_BASE);
    assert_true(LAYOUT_PCI_ECAM_BASE >= LAYOUT_PCI_MMIO_END ||
                LAYOUT_PCI_ECAM_BASE + LAYOUT_PCI_ECAM_SIZE <= LAYOUT_PCI_MMIO_START);
    guest_memory_destroy(&mem);
}

static void test_host_bridge_ids(void **state)
{
    (void)state;
    struct dsdt d;
    load_dsdt(&d);
    const uint8_t *hid = find_named(d.pci0, "_HID", 0x08);
    assert_int_equal(*hid, 0x0c);
    assert_int_equal(aml_integer(hid), eisaid("PNP0A08"));
    assert_int_equal(aml_integer(find_named(d.pci0, "_CID", 0x08)), eisaid("PNP0A03"));
    assert_int_equal(aml_integer(find_named(d.pci0, "_UID", 0x08)), 0);
    assert_int_equal(aml_integer(find_named(d.pci0, "_SEG", 0x08)), 0);
    assert_int_equal(aml_integer(find_named(d.pci0, "_BBN", 0x08)), 0);
    /* Method (_OSC, 4) { Return (Arg3) } */
    const uint8_t *osc = find_named(d.pci0, "_OSC", 0x14), *p = osc + 1;
    const uint8_t *end = pkg_end(&p);
    char name[16];
    p = name_string(p, name, sizeof(name));
    assert_int_equal(*p++ & 7, 4);
    assert_int_equal(end - p, 2);
    assert_int_equal(p[0], 0xa4);
    assert_int_equal(p[1], 0x6b);
    guest_memory_destroy(&d.mem);
}

/* Walk a resource template: every descriptor well-formed, the end tag
 * last; count what the host bridge must have. */
static void test_host_bridge_crs(void **state)
{
    (void)state;
    struct dsdt d;
    load_dsdt(&d);
    struct obj crs = buffer(find_named(d.pci0, "_CRS", 0x08));
    unsigned bus = 0, cfgio = 0, io_lo = 0, io_hi = 0, mem = 0;
    const uint8_t *p = crs.body;
    while (p < crs.end && *p != 0x79) {
        if (!(*p & 0x80)) { /* small: type 6:3, length 2:0 */
            assert_int_equal(*p, 0x47);
            assert_int_equal(p[1], 1);
            assert_int_equal(rd16(p + 2), LAYOUT_PORT_PCI_CONFIG);
            assert_int_equal(rd16(p + 4), LAYOUT_PORT_PCI_CONFIG);
            assert_int_equal(p[7], 8);
            cfgio++;
            p += 1 + (*p & 7);
            continue;
        }
        uint16_t len = rd16(p + 1);
        assert_true(p + 3 + len <= crs.end);
        if (*p == 0x88) { /* Word address space */
            assert_int_equal(len, 13);
            assert_int_equal(p[4], 0x0c); /* producer, min/max fixed */
            uint16_t min = rd16(p + 8), max = rd16(p + 10), n = rd16(p + 14);
            assert_int_equal(n, (uint16_t)(max - min + 1));
            if (p[3] == 2) {
                assert_int_equal(min, 0);
                assert_int_equal(max, LAYOUT_PCI_ECAM_BUSES - 1);
                bus++;
            } else {
                assert_int_equal(p[3], 1);
                if (min == 0 && max == LAYOUT_PORT_PCI_CONFIG - 1)
                    io_lo++;
                else if (min == LAYOUT_PORT_PCI_CONFIG + 8 && max == 0xffff)
                    io_hi++;
                else
                    fail_msg("unexpected I/O window %#x-%#x", min, max);
            }
        } else {
            assert_int_equal(*p, 0x87); /* DWord memory */
            assert_int_equal(len, 23);
            assert_int_equal(p[3], 0);
            assert_int_equal(rd32(p + 10), LAYOUT_PCI_MMIO_START);
            assert_int_equal(rd32(p + 14), LAYOUT_PCI_MMIO_END - 1);
            assert_int_equal(rd32(p + 22), LAYOUT_PCI_MMIO_END - LAYOUT_PCI_MMIO_START);
            mem++;
        }
        p += 3 + len;
    }
    assert_int_equal(p[0], 0x79);
    assert_ptr_equal(p + 2, crs.end);
    assert_int_equal(bus + cfgio + io_lo + io_hi + mem, 5);
    assert_true(bus && cfgio && io_lo && io_hi && mem);
    guest_memory_destroy(&d.mem);
}

static void test_host_bridge_prt(void **state)
{
    (void)state;
    struct dsdt d;
    load_dsdt(&d);
    const uint8_t *p = find_named(d.pci0, "_PRT", 0x08);
    assert_int_equal(*p++, 0x12);
    const uint8_t *end = pkg_end(&p);
    assert_int_equal(*p++, LAYOUT_PCI_SLOTS * 4);
    bool seen[LAYOUT_PCI_SLOTS][4] = {{false}};
    for (unsigned i = 0; i < LAYOUT_PCI_SLOTS * 4; i++) {
        assert_int_equal(*p++, 0x12);
        const uint8_t *e = pkg_end(&p);
        assert_int_equal(*p++, 4);
        uint64_t addr = aml_integer(p);
        p = skip_term(p, e);
        uint64_t pin = aml_integer(p);
        p = skip_term(p, e);
        uint64_t source = aml_integer(p);
        p = skip_term(p, e);
        uint64_t gsi = aml_integer(p);
        p = skip_term(p, e);
        assert_ptr_equal(p, e);
        assert_int_equal(addr & 0xffff, 0xffff); /* any function */
        unsigned slot = (unsigned)(addr >> 16);
        assert_true(slot < LAYOUT_PCI_SLOTS && pin < 4);
        assert_false(seen[slot][pin]);
        seen[slot][pin] = true;
        assert_int_equal(source, 0); /* a GSI, no link device */
        assert_int_equal(gsi, layout_pci_intx_gsi(slot, (unsigned)pin));
        assert_in_range(gsi, LAYOUT_PCI_GSI_BASE, LAYOUT_IOAPIC_PINS - 1);
    }
    assert_ptr_equal(p, end);
    guest_memory_destroy(&d.mem);
}

static void test_ecam_reserved(void **state)
{
    (void)state;
    struct dsdt d;
    load_dsdt(&d);
    assert_int_equal(aml_integer(find_named(d.mres, "_HID", 0x08)), eisaid("PNP0C02"));
    struct obj crs = buffer(find_named(d.mres, "_CRS", 0x08));
    assert_int_equal(crs.end - crs.body, 12 + 2);
    assert_int_equal(crs.body[0], 0x86); /* Memory32Fixed */
    assert_int_equal(rd16(crs.body + 1), 9);
    assert_int_equal(crs.body[3], 1); /* read-write */
    assert_int_equal(rd32(crs.body + 4), LAYOUT_PCI_ECAM_BASE);
    assert_int_equal(rd32(crs.body + 8), LAYOUT_PCI_ECAM_SIZE);
    assert_int_equal(crs.body[12], 0x79);
    guest_memory_destroy(&d.mem);
}

/* --- the reference: ACPICA's disassembler --- */

static bool have_iasl(void)
{
    return system("command -v iasl >/dev/null 2>&1") == 0;
}

/* Disassemble a table with iasl -d; the .dsl text (malloc'd) or a failure. */
static char *iasl_disassemble(const char *dir, const char *name, const uint8_t *t, uint32_t len)
{
    char path[512], cmd[1200];
    snprintf(path, sizeof(path), "%s/%s.dat", dir, name);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(t, 1, len, f), len);
    fclose(f);
    snprintf(cmd, sizeof(cmd), "cd %s && iasl -d %s.dat >%s.log 2>&1", dir, name, name);
    if (system(cmd) != 0) {
        snprintf(cmd, sizeof(cmd), "cat %s/%s.log", dir, name);
        (void)system(cmd);
        fail_msg("iasl -d %s failed", name);
    }
    snprintf(path, sizeof(path), "%s/%s.dsl", dir, name);
    f = fopen(path, "r");
    assert_non_null(f);
    char *text = calloc(1, 1 << 20);
    size_t n = fread(text, 1, (1 << 20) - 1, f);
    fclose(f);
    text[n] = 0;
    return text;
}

static void test_iasl_accepts_tables(void **state)
{
    (void)state;
    if (!have_iasl()) {
        print_message("iasl not installed (acpica-tools): skipped\n");
        skip();
    }
    struct dsdt d;
    load_dsdt(&d);
    char dir[] = "/tmp/xuni-acpi-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char *dsl = iasl_disassemble(dir, "dsdt", d.table, d.len);
    const char *want[] = {"Device (PCI0)",
                          "EisaId (\"PNP0A08\")",
                          "EisaId (\"PNP0A03\")",
                          "Method (_OSC, 4",
                          "Name (_PRT, Package (0x80)",
                          "WordBusNumber (ResourceProducer",
                          "0x0CF7",
                          "0xDFFFFFFF",
                          "Device (MRES)",
                          "Memory32Fixed (ReadWrite",
                          "0xE0000000",
                          "_S5_"};
    for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++)
        if (!strstr(dsl, want[i]))
            fail_msg("iasl's DSDT lacks \"%s\"", want[i]);
    free(dsl);

    struct root r;
    struct guest_memory mem;
    build(&mem, 1, &r);
    const uint8_t *m = table(&mem, r.mcfg, "MCFG");
    char *mcfg = iasl_disassemble(dir, "mcfg", m, rd32(m + 4));
    assert_non_null(strstr(mcfg, "00000000E0000000"));
    assert_non_null(strstr(mcfg, "End Bus Number : FF"));
    free(mcfg);
    char cmd[600];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    assert_int_equal(system(cmd), 0);
    guest_memory_destroy(&mem);
    guest_memory_destroy(&d.mem);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_mcfg),
        cmocka_unit_test(test_host_bridge_ids),
        cmocka_unit_test(test_host_bridge_crs),
        cmocka_unit_test(test_host_bridge_prt),
        cmocka_unit_test(test_ecam_reserved),
        cmocka_unit_test(test_iasl_accepts_tables),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
