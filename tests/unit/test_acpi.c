/* ACPI tables: find the RSDP the way Linux's scan does, follow XSDT and
 * RSDT, and check every table's checksum, length and contents. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <string.h>

#include "boot/acpi.h"
#include "hw/acpi_pm.h"
#include "vm/layout.h"
#include "vm/memory.h"

#include "acpi_rig.h"

/* One AML integer (ZeroOp, OneOp, BytePrefix, WordPrefix, DWordPrefix). */
static unsigned aml_int(const uint8_t **p)
{
    uint8_t op = *(*p)++;
    unsigned v = 0;
    switch (op) {
    case 0x00:
        return 0;
    case 0x01:
        return 1;
    case 0x0a:
        v = (*p)[0];
        *p += 1;
        return v;
    case 0x0b:
        v = rd16(*p);
        *p += 2;
        return v;
    case 0x0c:
        v = rd32(*p);
        *p += 4;
        return v;
    }
    fail_msg("not an AML integer: opcode %#x", op);
    return 0;
}

static void check_dsdt_s5(const uint8_t *dsdt, uint32_t len)
{
    const uint8_t *aml = dsdt + 36, *end = dsdt + len;
    const uint8_t *s5 = NULL;
    for (const uint8_t *p = aml; p + 5 <= end; p++)
        if (p[0] == 0x08 && memcmp(p + 1, "_S5_", 4) == 0)
            s5 = p;
    assert_non_null(s5);
    const uint8_t *p = s5 + 5;
    assert_int_equal(*p++, 0x12); /* PackageOp */
    uint8_t pkglen = *p;
    assert_int_equal(pkglen >> 6, 0); /* one-byte PkgLength */
    const uint8_t *pkg_end = p + pkglen;
    assert_true(pkg_end <= end);
    p++;
    assert_true(*p++ >= 2); /* NumElements: SLP_TYPa, SLP_TYPb at least */
    assert_int_equal(aml_int(&p), ACPI_PM_SLP_TYP_S5);
    assert_int_equal(aml_int(&p), ACPI_PM_SLP_TYP_S5);
    while (p < pkg_end)
        aml_int(&p);
    assert_ptr_equal(p, pkg_end);
}

static void check_io_gas(const uint8_t *gas, uint64_t port, unsigned bytes)
{
    assert_int_equal(gas[0], 1); /* SystemIO */
    assert_int_equal(gas[1], 8 * bytes);
    assert_int_equal(gas[2], 0);
    assert_int_equal(rd64(gas + 4), port);
}

static void test_fadt(void **state)
{
    (void)state;
    struct guest_memory mem;
    struct root r;
    build(&mem, 2, &r);
    const uint8_t *f = table(&mem, r.fadt, "FACP");
    uint32_t len = rd32(f + 4);
    assert_true(f[8] >= 3);
    assert_true(len >= 244);
    if (f[8] >= 6)
        assert_int_equal(len, 276);

    /* FACS and DSDT, through both 32- and 64-bit fields */
    uint64_t facs = rd32(f + 36);
    assert_int_equal(facs % 64, 0);
    assert_memory_equal(gptr(&mem, facs, 4), "FACS", 4);
    assert_int_equal(rd32(gptr(&mem, facs + 4, 4)), 64);
    assert_int_equal(rd64(f + 132), 0); /* X_FIRMWARE_CTRL: must be 0 beside FIRMWARE_CTRL */
    uint64_t dsdt = rd32(f + 40);
    assert_int_equal(rd64(f + 140), dsdt);
    const uint8_t *d = table(&mem, dsdt, "DSDT");
    check_dsdt_s5(d, rd32(d + 4));

    assert_int_equal(rd16(f + 46), LAYOUT_IRQ_SCI);
    assert_int_equal(rd32(f + 48), 0); /* no SMI_CMD */
    assert_int_equal(rd32(f + 56), LAYOUT_PORT_ACPI_PM1A_EVT);
    assert_int_equal(rd32(f + 60), 0); /* no PM1b */
    assert_int_equal(rd32(f + 64), LAYOUT_PORT_ACPI_PM1A_CNT);
    assert_int_equal(rd32(f + 76), LAYOUT_PORT_ACPI_PM_TMR);
    assert_int_equal(f[88], 4);
    assert_int_equal(f[89], 2);
    assert_int_equal(f[91], 4);
    check_io_gas(f + 148, LAYOUT_PORT_ACPI_PM1A_EVT, 4);
    check_io_gas(f + 172, LAYOUT_PORT_ACPI_PM1A_CNT, 2);
    check_io_gas(f + 208, LAYOUT_PORT_ACPI_PM_TMR, 4);

    assert_true(rd16(f + 109) & 2); /* IAPC_BOOT_ARCH: 8042 */
    uint32_t flags = rd32(f + 112);
    assert_false(flags & (1u << 8));  /* TMR_VAL_EXT clear: 24-bit timer */
    assert_true(flags & (1u << 10));  /* RESET_REG_SUP */
    assert_false(flags & (1u << 20)); /* not HW_REDUCED_ACPI */
    check_io_gas(f + 116, 0x64, 1);
    assert_int_equal(f[128], 0xfe);
    guest_memory_destroy(&mem);
}

struct madt_seen {
    unsigned lapics, ioapics, nmis;
    int override_gsi[16];
    int override_flags[16];
};

static void madt_entry(const uint8_t *e, struct madt_seen *s)
{
    switch (e[0]) {
    case 0:
        assert_int_equal(e[1], 8);
        assert_int_equal(e[2], s->lapics); /* processor id = index */
        assert_int_equal(e[3], s->lapics); /* APIC id = index */
        assert_true(rd32(e + 4) & 1);
        s->lapics++;
        break;
    case 1:
        assert_int_equal(e[1], 12);
        assert_int_equal(e[2], LAYOUT_IOAPIC_ID);
        assert_int_equal(rd32(e + 4), LAYOUT_IOAPIC_BASE);
        assert_int_equal(rd32(e + 8), 0);
        s->ioapics++;
        break;
    case 2:
        assert_int_equal(e[1], 10);
        assert_int_equal(e[2], 0); /* ISA */
        assert_in_range(e[3], 0, 15);
        assert_int_equal(s->override_gsi[e[3]], -1);
        s->override_gsi[e[3]] = (int)rd32(e + 4);
        s->override_flags[e[3]] = rd16(e + 8);
        break;
    case 4:
        assert_int_equal(e[1], 6);
        assert_int_equal(e[2], 0xff);
        assert_int_equal(e[5], 1); /* LINT1 */
        s->nmis++;
        break;
    default:
        fail_msg("unexpected MADT entry type %u", e[0]);
    }
}

static void check_madt(unsigned ncpus, unsigned expect)
{
    struct guest_memory mem;
    struct root r;
    build(&mem, ncpus, &r);
    const uint8_t *m = table(&mem, r.madt, "APIC");
    uint32_t len = rd32(m + 4);
    assert_int_equal(rd32(m + 36), LAYOUT_LAPIC_BASE);
    assert_int_equal(rd32(m + 40) & 1, 1); /* PCAT_COMPAT */

    struct madt_seen s = {0};
    memset(s.override_gsi, -1, sizeof(s.override_gsi));
    uint32_t off = 44;
    while (off < len) {
        assert_true(off + 2 <= len);
        assert_true(m[off + 1] >= 2 && off + m[off + 1] <= len);
        madt_entry(m + off, &s);
        off += m[off + 1];
    }
    assert_int_equal(off, len);
    assert_int_equal(s.lapics, expect);
    assert_int_equal(s.ioapics, 1);
    assert_int_equal(s.nmis, 1);
    assert_int_equal(s.override_gsi[0], LAYOUT_GSI_PIT);
    assert_int_equal(s.override_flags[0], 0);
    assert_int_equal(s.override_gsi[9], 9);
    assert_int_equal(s.override_flags[9], 0x000d);
    for (int irq = 1; irq < 16; irq++)
        if (irq != 9)
            assert_int_equal(s.override_gsi[irq], -1);
    guest_memory_destroy(&mem);
}

static void test_madt_1(void **state)
{
    (void)state;
    check_madt(1, 1);
}

static void test_madt_2(void **state)
{
    (void)state;
    check_madt(2, 2);
}

static void test_madt_8(void **state)
{
    (void)state;
    check_madt(8, 8);
}

static void test_madt_clamped(void **state)
{
    (void)state;
    check_madt(LAYOUT_MAX_VCPUS, LAYOUT_MAX_VCPUS);
    check_madt(LAYOUT_MAX_VCPUS + 1, LAYOUT_MAX_VCPUS);
}

/* Stale bytes in the area (a reboot, a loader) must not survive. */
static void test_area_cleared(void **state)
{
    (void)state;
    struct guest_memory mem;
    assert_int_equal(guest_memory_init(&mem, MEM_SIZE), 0);
    uint8_t *area = guest_memory_ptr(&mem, LAYOUT_ACPI_START, LAYOUT_ACPI_END - LAYOUT_ACPI_START);
    assert_non_null(area);
    memset(area, 0xa5, LAYOUT_ACPI_END - LAYOUT_ACPI_START);
    uint64_t rsdp = 0;
    assert_int_equal(acpi_build(&mem, 4, &rsdp), 0);
    struct root r = find_tables(&mem, rsdp);
    assert_int_equal(r.n, 3);
    assert_int_equal(area[LAYOUT_ACPI_END - LAYOUT_ACPI_START - 1], 0);
    guest_memory_destroy(&mem);
}

static void test_errors(void **state)
{
    (void)state;
    uint64_t rsdp = 0;
    struct guest_memory none = {0};
    assert_int_equal(acpi_build(&none, 1, &rsdp), -EFAULT);
    struct guest_memory mem;
    assert_int_equal(guest_memory_init(&mem, MEM_SIZE), 0);
    assert_int_equal(acpi_build(&mem, 0, &rsdp), -EINVAL);
    guest_memory_destroy(&mem);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fadt),         cmocka_unit_test(test_madt_1),
        cmocka_unit_test(test_madt_2),       cmocka_unit_test(test_madt_8),
        cmocka_unit_test(test_madt_clamped), cmocka_unit_test(test_area_cleared),
        cmocka_unit_test(test_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
