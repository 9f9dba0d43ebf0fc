/* Finding xuni's ACPI tables the way a guest does, for the ACPI tests:
 * the RSDP by its scan, then RSDT and XSDT, every table's checksum, length
 * and OEM fields checked on the way. */
#ifndef XUNI_TESTS_ACPI_RIG_H
#define XUNI_TESTS_ACPI_RIG_H

#include <string.h>

#include "boot/acpi.h"
#include "vm/layout.h"
#include "vm/memory.h"

#define MEM_SIZE (4ull << 20)

static inline uint8_t sum8(const uint8_t *p, size_t len)
{
    uint8_t s = 0;
    for (size_t i = 0; i < len; i++)
        s += p[i];
    return s;
}

static inline uint16_t rd16(const uint8_t *p)
{
    return (uint16_t)(p[0] | p[1] << 8);
}

static inline uint32_t rd32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static inline uint64_t rd64(const uint8_t *p)
{
    return rd32(p) | (uint64_t)rd32(p + 4) << 32;
}

static inline const uint8_t *gptr(const struct guest_memory *mem, uint64_t gpa, uint64_t len)
{
    const uint8_t *p = guest_memory_ptr(mem, gpa, len);
    assert_non_null(p);
    return p;
}

/* Linux/ACPICA: 16-byte steps over 0xe0000-0xfffff, signature and checksum. */
static inline uint64_t scan_rsdp(const struct guest_memory *mem)
{
    for (uint64_t a = 0xe0000; a < 0x100000; a += 16) {
        const uint8_t *p = gptr(mem, a, 36);
        if (memcmp(p, "RSD PTR ", 8) == 0 && sum8(p, 20) == 0)
            return a;
    }
    fail_msg("no RSDP in 0xe0000-0xfffff");
    return 0;
}

/* A table with the right signature, a sane length inside the ACPI area,
 * a zero checksum and the xuni OEM fields. */
static inline const uint8_t *table(const struct guest_memory *mem, uint64_t addr, const char *sig)
{
    assert_true(addr >= LAYOUT_ACPI_START && addr + 36 <= LAYOUT_ACPI_END);
    const uint8_t *h = gptr(mem, addr, 36);
    assert_memory_equal(h, sig, 4);
    uint32_t len = rd32(h + 4);
    assert_true(len >= 36 && addr + len <= LAYOUT_ACPI_END);
    h = gptr(mem, addr, len);
    assert_int_equal(sum8(h, len), 0);
    assert_memory_equal(h + 10, "XUNI  ", 6);
    assert_memory_equal(h + 16, "XUNIVM  ", 8);
    assert_memory_equal(h + 28, "XUNI", 4);
    return h;
}

struct root {
    uint64_t fadt, madt, mcfg;
    unsigned n;
};

/* Follow the RSDP to RSDT and XSDT; both list the same tables. */
static inline struct root find_tables(const struct guest_memory *mem, uint64_t rsdp_addr)
{
    uint64_t found = scan_rsdp(mem);
    assert_int_equal(found, rsdp_addr);
    assert_int_equal(found % 16, 0);
    const uint8_t *rsdp = gptr(mem, found, 36);
    assert_int_equal(rsdp[15], 2); /* revision */
    assert_int_equal(rd32(rsdp + 20), 36);
    assert_int_equal(sum8(rsdp, 36), 0);
    assert_memory_equal(rsdp + 9, "XUNI  ", 6);

    const uint8_t *rsdt = table(mem, rd32(rsdp + 16), "RSDT");
    const uint8_t *xsdt = table(mem, rd64(rsdp + 24), "XSDT");
    uint32_t rlen = rd32(rsdt + 4), xlen = rd32(xsdt + 4);
    assert_int_equal((rlen - 36) % 4, 0);
    assert_int_equal((xlen - 36) % 8, 0);
    struct root r = {0};
    r.n = (xlen - 36) / 8;
    assert_int_equal((rlen - 36) / 4, r.n);
    for (unsigned i = 0; i < r.n; i++) {
        uint64_t a = rd64(xsdt + 36 + 8 * i);
        assert_int_equal(rd32(rsdt + 36 + 4 * i), a);
        const uint8_t *t = gptr(mem, a, 4);
        if (memcmp(t, "FACP", 4) == 0)
            r.fadt = a;
        else if (memcmp(t, "APIC", 4) == 0)
            r.madt = a;
        else if (memcmp(t, "MCFG", 4) == 0)
            r.mcfg = a;
        table(mem, a, (const char *)t);
    }
    assert_int_not_equal(r.fadt, 0);
    assert_int_not_equal(r.madt, 0);
    return r;
}

static inline void build(struct guest_memory *mem, unsigned ncpus, struct root *r)
{
    uint64_t rsdp = 0;
    assert_int_equal(guest_memory_init(mem, MEM_SIZE), 0);
    assert_int_equal(acpi_build(mem, ncpus, &rsdp), 0);
    *r = find_tables(mem, rsdp);
}

#endif
