/* MP table: parse back what mptable_build() wrote, finding it the way Linux
 * does (the EBDA segment in the BIOS data area, 16-byte steps, "_MP_"). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "boot/mptable.h"
#include "util/log.h"
#include "vm/layout.h"
#include "vm/memory.h"

#define MEM_SIZE (4ull << 20)

static uint8_t sum8(const uint8_t *p, size_t len)
{
    uint8_t s = 0;
    for (size_t i = 0; i < len; i++)
        s += p[i];
    return s;
}

static uint16_t rd16(const uint8_t *p)
{
    return (uint16_t)(p[0] | p[1] << 8);
}

static uint32_t rd32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static const uint8_t *gptr(const struct guest_memory *mem, uint64_t gpa, uint64_t len)
{
    const uint8_t *p = guest_memory_ptr(mem, gpa, len);
    assert_non_null(p);
    return p;
}

/* Linux's smp_scan_config(): 16-byte steps over the EBDA's first KiB. */
static uint64_t find_mpf(const struct guest_memory *mem)
{
    uint64_t ebda = (uint64_t)rd16(gptr(mem, 0x40e, 2)) << 4;
    assert_int_equal(ebda, LAYOUT_EBDA_START);
    for (uint64_t a = ebda; a < ebda + 1024; a += 16) {
        const uint8_t *p = gptr(mem, a, 16);
        if (memcmp(p, "_MP_", 4) == 0 && p[8] == 1 && sum8(p, 16) == 0 && (p[9] == 1 || p[9] == 4))
            return a;
    }
    fail_msg("no MP floating pointer in the EBDA");
    return 0;
}

struct parsed {
    unsigned cpus, bsps, buses, ioapics, ioints, lints, pci_ints;
    int isa_bus, pci_bus; /* -1: none */
    int irq_pin[16];      /* -1: no entry */
    int pci_pin[32][4];   /* slot, INTA-D -> IOAPIC pin; -1: no entry */
    int lint_type[2];
};

static void check_processor(const uint8_t *e, struct parsed *out)
{
    assert_int_equal(e[1], out->cpus); /* APIC id = index, in order */
    assert_int_equal(e[2], 0x14);
    assert_true(e[3] & 1); /* enabled */
    if (e[3] & 2) {
        assert_int_equal(e[1], 0);
        out->bsps++;
    }
    assert_int_not_equal(rd32(e + 4), 0); /* a CPU signature */
    out->cpus++;
}

static void check_entry(const uint8_t *e, struct parsed *out)
{
    switch (e[0]) {
    case 0:
        check_processor(e, out);
        break;
    case 1:
        if (memcmp(e + 2, "ISA   ", 6) == 0)
            out->isa_bus = e[1];
        else if (memcmp(e + 2, "PCI   ", 6) == 0)
            out->pci_bus = e[1];
        else
            fail_msg("unknown bus type %.6s", (const char *)e + 2);
        out->buses++;
        break;
    case 2:
        assert_int_equal(e[1], LAYOUT_IOAPIC_ID);
        assert_true(e[3] & 1);
        assert_int_equal(rd32(e + 4), LAYOUT_IOAPIC_BASE);
        out->ioapics++;
        break;
    case 3:
        assert_int_equal(e[1], 0);        /* INT */
        assert_int_equal(rd16(e + 2), 0); /* conforming: the bus's default */
        assert_int_equal(e[6], LAYOUT_IOAPIC_ID);
        if (out->pci_bus >= 0 && e[4] == out->pci_bus) {
            assert_int_equal(out->pci_pin[e[5] >> 2][e[5] & 3], -1);
            out->pci_pin[e[5] >> 2][e[5] & 3] = e[7];
            out->pci_ints++;
            break;
        }
        assert_int_equal(e[4], out->isa_bus); /* buses come first */
        assert_in_range(e[5], 0, 15);
        assert_int_equal(out->irq_pin[e[5]], -1); /* one entry per IRQ */
        assert_int_equal(e[6], LAYOUT_IOAPIC_ID);
        out->irq_pin[e[5]] = e[7];
        out->ioints++;
        break;
    case 4:
        assert_int_equal(e[6], 0xff); /* every LAPIC */
        assert_in_range(e[7], 0, 1);
        out->lint_type[e[7]] = e[1];
        out->lints++;
        break;
    default:
        fail_msg("unknown MP entry type %u", e[0]);
    }
}

/* Check the floating pointer and the header, walk every entry. */
static struct parsed parse(const struct guest_memory *mem)
{
    struct parsed out = {0};
    memset(out.irq_pin, -1, sizeof(out.irq_pin));
    memset(out.lint_type, -1, sizeof(out.lint_type));
    memset(out.pci_pin, -1, sizeof(out.pci_pin));
    out.isa_bus = out.pci_bus = -1;

    uint64_t mpf_addr = find_mpf(mem);
    const uint8_t *mpf = gptr(mem, mpf_addr, 16);
    assert_int_equal(mpf[9], 4);
    assert_int_equal(mpf[11], 0); /* a config table, not a default configuration */
    uint64_t cfg = rd32(mpf + 4);
    assert_true(cfg >= LAYOUT_EBDA_START && cfg + 44 <= LAYOUT_EBDA_START + LAYOUT_EBDA_SIZE);

    const uint8_t *h = gptr(mem, cfg, 44);
    assert_memory_equal(h, "PCMP", 4);
    uint16_t len = rd16(h + 4);
    assert_true(cfg + len <= LAYOUT_EBDA_START + LAYOUT_EBDA_SIZE); /* inside the reserved KiB */
    h = gptr(mem, cfg, len);
    assert_int_equal(sum8(h, len), 0);
    assert_int_equal(h[6], 4);
    assert_memory_equal(h + 8, "XUNI", 4);
    assert_int_equal(rd32(h + 36), LAYOUT_LAPIC_BASE);
    assert_int_equal(rd16(h + 40), 0); /* no extended entries */

    unsigned count = rd16(h + 34), seen = 0;
    size_t off = 44;
    while (off < len) {
        size_t elen = h[off] == 0 ? 20 : 8;
        assert_true(off + elen <= len);
        check_entry(h + off, &out);
        off += elen;
        seen++;
    }
    assert_int_equal(off, len);
    assert_int_equal(seen, count);
    return out;
}

static struct parsed check_tables_pci(unsigned ncpus, unsigned expect_cpus, uint32_t pci_slots)
{
    struct guest_memory mem;
    assert_int_equal(guest_memory_init(&mem, MEM_SIZE), 0);
    assert_int_equal(mptable_build(&mem, ncpus, pci_slots), 0);

    assert_int_equal(rd16(gptr(&mem, 0x413, 2)), 639);
    struct parsed p = parse(&mem);
    assert_int_equal(p.cpus, expect_cpus);
    assert_int_equal(p.bsps, 1);
    assert_int_equal(p.buses, pci_slots ? 2 : 1);
    assert_int_equal(p.isa_bus, pci_slots ? 1 : 0);
    assert_int_equal(p.pci_bus, pci_slots ? 0 : -1);
    assert_int_equal(p.ioapics, 1);
    assert_int_equal(p.ioints, 15);
    assert_int_equal(p.irq_pin[0], LAYOUT_GSI_PIT);
    assert_int_equal(p.irq_pin[2], -1);
    for (int irq = 1; irq < 16; irq++)
        if (irq != 2)
            assert_int_equal(p.irq_pin[irq], irq);
    assert_int_equal(p.lints, 2);
    assert_int_equal(p.lint_type[0], 3); /* ExtINT on LINT0 */
    assert_int_equal(p.lint_type[1], 1); /* NMI on LINT1 */
    guest_memory_destroy(&mem);
    return p;
}

static void check_tables(unsigned ncpus, unsigned expect_cpus)
{
    check_tables_pci(ncpus, expect_cpus, 0);
}

static void test_one_cpu(void **state)
{
    (void)state;
    check_tables(1, 1);
}

static void test_two_cpus(void **state)
{
    (void)state;
    check_tables(2, 2);
}

static void test_eight_cpus(void **state)
{
    (void)state;
    check_tables(8, 8);
}

/* 64 processor entries cannot fit in a KiB: the table is clamped, still
 * fits, and still parses. */
static void test_clamped_to_ebda(void **state)
{
    (void)state;
    unsigned max = mptable_max_cpus(0);
    assert_true(max >= 8 && max < LAYOUT_MAX_VCPUS);
    check_tables(LAYOUT_MAX_VCPUS, max);
    check_tables(max, max);
    check_tables(1000, max);
}

static void test_zero_cpus_rejected(void **state)
{
    (void)state;
    struct guest_memory mem;
    assert_int_equal(guest_memory_init(&mem, MEM_SIZE), 0);
    assert_int_equal(mptable_build(&mem, 0, 0), -EINVAL);
    guest_memory_destroy(&mem);
}

static void test_no_ram(void **state)
{
    (void)state;
    struct guest_memory mem = {0};
    assert_int_equal(mptable_build(&mem, 1, 0), -EFAULT);
}

/* PCI bus 0 with the host bridge and two devices: every pin of every
 * slot routed as layout.h swizzles it, nothing for empty slots. */
static void test_pci_slots(void **state)
{
    (void)state;
    uint32_t slots = 1u << 0 | 1u << 1 | 1u << 2;
    struct parsed p = check_tables_pci(2, 2, slots);
    assert_int_equal(p.pci_ints, 3 * 4);
    for (unsigned slot = 0; slot < 32; slot++)
        for (unsigned pin = 0; pin < 4; pin++)
            assert_int_equal(p.pci_pin[slot][pin],
                             slots >> slot & 1 ? (int)layout_pci_intx_gsi(slot, pin) : -1);
    assert_int_equal(p.pci_pin[1][0], 17);
    assert_int_equal(p.pci_pin[2][3], 21);
}

/* PCI entries take room from processors: the clamp accounts for them. */
static void test_pci_clamp(void **state)
{
    (void)state;
    uint32_t slots = 0xff;
    unsigned max = mptable_max_cpus(slots);
    assert_true(max > 0 && max < mptable_max_cpus(0));
    struct parsed p = check_tables_pci(LAYOUT_MAX_VCPUS, max, slots);
    assert_int_equal(p.pci_ints, 8 * 4);
    /* Every slot: no room left for a CPU. */
    assert_int_equal(mptable_max_cpus(0xffffffff), 0);
    struct guest_memory mem;
    assert_int_equal(guest_memory_init(&mem, MEM_SIZE), 0);
    FILE *devnull = fopen("/dev/null", "w");
    log_set_stream(devnull);
    assert_int_equal(mptable_build(&mem, 1, 0xffffffff), -ENOSPC);
    log_set_stream(NULL);
    fclose(devnull);
    guest_memory_destroy(&mem);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_one_cpu),
        cmocka_unit_test(test_two_cpus),
        cmocka_unit_test(test_eight_cpus),
        cmocka_unit_test(test_clamped_to_ebda),
        cmocka_unit_test(test_zero_cpus_rejected),
        cmocka_unit_test(test_pci_slots),
        cmocka_unit_test(test_pci_clamp),
        cmocka_unit_test(test_no_ram),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
