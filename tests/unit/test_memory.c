#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>

#include "util/log.h"
#include "vm/e820.h"
#include "vm/layout.h"
#include "vm/memory.h"

static void quiet(void)
{
    static FILE *devnull;
    if (!devnull)
        devnull = fopen("/dev/null", "w");
    log_set_stream(devnull);
}

static void test_small_ram_one_region(void **state)
{
    (void)state;
    struct guest_memory mem;
    assert_int_equal(guest_memory_init(&mem, 64ULL << 20), 0);
    assert_int_equal(mem.nregions, 1);
    assert_true(guest_memory_low_end(&mem) == 64ULL << 20);
    assert_true(guest_memory_high_size(&mem) == 0);
    assert_non_null(guest_memory_ptr(&mem, 0, 1));
    assert_non_null(guest_memory_ptr(&mem, (64ULL << 20) - 4096, 4096));
    assert_null(guest_memory_ptr(&mem, (64ULL << 20) - 4096, 4097));
    assert_null(guest_memory_ptr(&mem, 64ULL << 20, 1));
    assert_null(guest_memory_ptr(&mem, LAYOUT_LAPIC_BASE, 4));
    guest_memory_destroy(&mem);
}

static void test_large_ram_splits_around_hole(void **state)
{
    (void)state;
    struct guest_memory mem;
    uint64_t size = 5ULL << 30; /* 5 GiB: 3 below the hole, 2 above 4 GiB */
    assert_int_equal(guest_memory_init(&mem, size), 0);
    assert_int_equal(mem.nregions, 2);
    assert_true(guest_memory_low_end(&mem) == LAYOUT_MMIO_HOLE_START);
    assert_true(guest_memory_high_size(&mem) == size - LAYOUT_MMIO_HOLE_START);
    /* The hole holds no RAM; above 4 GiB does. */
    assert_null(guest_memory_ptr(&mem, LAYOUT_MMIO_HOLE_START, 1));
    assert_null(guest_memory_ptr(&mem, LAYOUT_IOAPIC_BASE, 4));
    assert_null(guest_memory_ptr(&mem, LAYOUT_MMIO_HOLE_START - 2, 4)); /* straddles */
    uint8_t *hi = guest_memory_ptr(&mem, LAYOUT_RAM_ABOVE_4G, 8);
    assert_non_null(hi);
    assert_ptr_equal(hi, mem.regions[1].host);
    uint64_t last = LAYOUT_RAM_ABOVE_4G + guest_memory_high_size(&mem) - 1;
    assert_non_null(guest_memory_ptr(&mem, last, 1));
    assert_null(guest_memory_ptr(&mem, last, 2));
    /* A length that would wrap the address space is refused, not wrapped. */
    assert_null(guest_memory_ptr(&mem, 0x1000, ~0ULL));
    assert_null(guest_memory_ptr(&mem, ~0ULL, 2));
    guest_memory_destroy(&mem);
}

static void test_read_write_bounds(void **state)
{
    (void)state;
    struct guest_memory mem;
    assert_int_equal(guest_memory_init(&mem, 2ULL << 20), 0);
    uint32_t v = 0xabcdef01, back = 0;
    assert_int_equal(guest_memory_write(&mem, 0x1000, &v, 4), 0);
    assert_int_equal(guest_memory_read(&mem, 0x1000, &back, 4), 0);
    assert_int_equal(back, v);
    assert_int_equal(guest_memory_write(&mem, (2ULL << 20) - 2, &v, 4), -EFAULT);
    assert_int_equal(guest_memory_read(&mem, (2ULL << 20) - 2, &back, 4), -EFAULT);
    guest_memory_destroy(&mem);
}

static void test_bad_sizes(void **state)
{
    (void)state;
    struct guest_memory mem;
    quiet();
    assert_int_equal(guest_memory_init(&mem, 4096), -EINVAL);
    assert_int_equal(guest_memory_init(&mem, (64ULL << 20) + 1), -EINVAL);
    log_set_stream(NULL);
}

static void test_e820_small(void **state)
{
    (void)state;
    struct guest_memory mem;
    struct e820_entry t[E820_MAX_ENTRIES];
    assert_int_equal(guest_memory_init(&mem, 64ULL << 20), 0);
    unsigned n = e820_build(&mem, t);
    assert_true(n >= 4);
    assert_true(t[0].addr == 0 && t[0].size == LAYOUT_LOW_RAM_END && t[0].type == E820_RAM);
    uint64_t ram = 0;
    for (unsigned i = 0; i < n; i++) {
        if (i)
            assert_true(t[i].addr >= t[i - 1].addr + t[i - 1].size); /* sorted, disjoint */
        if (t[i].type == E820_RAM)
            ram += t[i].size;
        /* RAM entries lie in RAM; the BIOS area is reserved. */
        if (t[i].type == E820_RAM)
            assert_non_null(guest_memory_ptr(&mem, t[i].addr, t[i].size));
    }
    assert_true(ram == LAYOUT_LOW_RAM_END + (64ULL << 20) - LAYOUT_HIGH_MEM_START);
    guest_memory_destroy(&mem);
}

static void test_e820_above_4g(void **state)
{
    (void)state;
    struct guest_memory mem;
    struct e820_entry t[E820_MAX_ENTRIES];
    assert_int_equal(guest_memory_init(&mem, 4ULL << 30), 0);
    unsigned n = e820_build(&mem, t);
    const struct e820_entry *last = &t[n - 1];
    assert_true(last->addr == LAYOUT_RAM_ABOVE_4G);
    assert_true(last->size == (4ULL << 30) - LAYOUT_MMIO_HOLE_START);
    assert_int_equal(last->type, E820_RAM);
    guest_memory_destroy(&mem);
}

/* The PCI ECAM window is reserved (Linux uses MMCONFIG only then), and
 * sorted among the rest with the most RAM there can be below 4 GiB. */
static void test_e820_reserves_ecam(void **state)
{
    (void)state;
    struct guest_memory mem;
    struct e820_entry t[E820_MAX_ENTRIES];
    assert_int_equal(guest_memory_init(&mem, 4ULL << 30), 0);
    unsigned n = e820_build(&mem, t);
    unsigned found = 0;
    for (unsigned i = 0; i < n; i++) {
        if (i)
            assert_true(t[i].addr >= t[i - 1].addr + t[i - 1].size);
        if (t[i].addr == LAYOUT_PCI_ECAM_BASE) {
            assert_true(t[i].size == LAYOUT_PCI_ECAM_SIZE);
            assert_int_equal(t[i].type, E820_RESERVED);
            found++;
        }
    }
    assert_int_equal(found, 1);
    guest_memory_destroy(&mem);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_small_ram_one_region),
        cmocka_unit_test(test_large_ram_splits_around_hole),
        cmocka_unit_test(test_read_write_bounds),
        cmocka_unit_test(test_bad_sizes),
        cmocka_unit_test(test_e820_small),
        cmocka_unit_test(test_e820_above_4g),
        cmocka_unit_test(test_e820_reserves_ecam),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
