/* MSI-X: the capability's shape, the table and PBA through the BAR,
 * function and per-vector masking with pending bits, delivery gating. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "hw/pci.h"
#include "hw/pci_msix.h"
#include "pci_rig.h"

struct rig {
    struct bus pio, mmio;
    struct pci_host *host;
    struct pci_device dev;
    struct pci_msix msix;
    uint64_t addr[16];
    uint32_t data[16];
    unsigned msis;
    int result;
};

static int rig_msi(void *ctx, uint64_t addr, uint32_t data)
{
    struct rig *r = ctx;
    if (r->msis < 16) {
        r->addr[r->msis] = addr;
        r->data[r->msis] = data;
    }
    r->msis++;
    return r->result;
}

static const struct pci_id id = {.vendor = 0x1af4, .device = 0x1041, .class_code = 0x020000};

static struct rig *rig_new(unsigned nvectors)
{
    struct rig *r = calloc(1, sizeof(*r));
    struct pci_host_config cfg = pci_rig_config(&r->pio, &r->mmio);
    cfg.msi = rig_msi;
    cfg.msi_ctx = r;
    r->host = pci_host_new(&cfg);
    assert_non_null(r->host);
    pci_device_init(&r->dev, "msix", &id);
    assert_int_equal(
        pci_device_add_bar(&r->dev, 1, PCI_BAR_MEM32, 0x1000, &pci_msix_bar_ops, &r->msix), 0);
    assert_int_equal(pci_msix_init(&r->msix, &r->dev, nvectors, 1, 0, 0x800), 0);
    assert_int_equal(pci_host_add_device(r->host, &r->dev), 1);
    pci_config_write(&r->dev, PCI_COMMAND, 2, PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER);
    return r;
}

static void rig_free(struct rig *r)
{
    pci_host_free(r->host);
    bus_destroy(&r->pio);
    bus_destroy(&r->mmio);
    free(r);
}

static uint64_t bar(struct rig *r)
{
    uint64_t a = pci_bar_address(&r->dev, 1);
    assert_int_not_equal(a, 0);
    return a;
}

static void set_entry(struct rig *r, unsigned v, uint64_t addr, uint32_t data, bool masked)
{
    uint64_t e = bar(r) + 16 * v;
    bus_write(&r->mmio, e, 8, addr); /* a qword write of both address halves */
    bus_write(&r->mmio, e + 8, 4, data);
    bus_write(&r->mmio, e + 12, 4, masked);
}

static uint16_t control(struct rig *r)
{
    return (uint16_t)pci_config_read(&r->dev, r->msix.cap + 2, 2);
}

static void set_control(struct rig *r, uint16_t v)
{
    pci_config_write(&r->dev, r->msix.cap + 2, 2, v);
}

static uint64_t pba(struct rig *r)
{
    return bus_read(&r->mmio, bar(r) + 0x800, 8);
}

static void test_capability(void **state)
{
    (void)state;
    struct rig *r = rig_new(9);
    unsigned cap = pci_config_read(&r->dev, PCI_CAPABILITY_LIST, 1);
    assert_int_equal(cap, r->msix.cap);
    assert_int_equal(pci_config_read(&r->dev, cap, 1), PCI_CAP_ID_MSIX);
    assert_int_equal(control(r), 8); /* table size N-1, disabled, unmasked */
    assert_int_equal(pci_config_read(&r->dev, cap + 4, 4), 0x000 | 1);
    assert_int_equal(pci_config_read(&r->dev, cap + 8, 4), 0x800 | 1);
    /* Only enable and function mask are writable. */
    set_control(r, 0xffff);
    assert_int_equal(control(r), PCI_MSIX_FLAGS_ENABLE | PCI_MSIX_FLAGS_MASKALL | 8);
    set_control(r, 0);
    assert_int_equal(control(r), 8);
    /* Entries start masked, with zero address and data. */
    for (unsigned v = 0; v < 9; v++) {
        assert_int_equal(bus_read(&r->mmio, bar(r) + 16 * v + 12, 4), 1);
        assert_int_equal(bus_read(&r->mmio, bar(r) + 16 * v, 4), 0);
    }
    assert_int_equal(pci_msix_init(&r->msix, &r->dev, 0, 1, 0, 0x800), -EINVAL);
    assert_int_equal(pci_msix_init(&r->msix, &r->dev, 65, 1, 0, 0x800), -EINVAL);
    assert_int_equal(pci_msix_init(&r->msix, &r->dev, 4, 1, 4, 0x800), -EINVAL);
    rig_free(r);
}

static void test_table_access(void **state)
{
    (void)state;
    struct rig *r = rig_new(4);
    uint64_t b = bar(r);
    set_entry(r, 2, 0x00000001fee01003ULL, 0x4031, false);
    assert_int_equal(bus_read(&r->mmio, b + 32, 4), 0xfee01000); /* low bits 1:0 are 0 */
    assert_int_equal(bus_read(&r->mmio, b + 36, 4), 1);
    assert_int_equal(bus_read(&r->mmio, b + 40, 4), 0x4031);
    assert_int_equal(bus_read(&r->mmio, b + 44, 4), 0);
    assert_true(bus_read(&r->mmio, b + 40, 8) == 0x4031);
    /* Byte and word accesses, and misaligned ones, do nothing. */
    bus_write(&r->mmio, b + 40, 1, 0xff);
    bus_write(&r->mmio, b + 42, 2, 0xffff);
    bus_write(&r->mmio, b + 38, 4, 0xffffffff);
    assert_int_equal(bus_read(&r->mmio, b + 40, 4), 0x4031);
    assert_int_equal(bus_read(&r->mmio, b + 40, 2), 0);
    /* Vector control keeps only the mask bit; beyond the table reads 0. */
    bus_write(&r->mmio, b + 44, 4, 0xfffffffe);
    assert_int_equal(bus_read(&r->mmio, b + 44, 4), 0);
    assert_int_equal(bus_read(&r->mmio, b + 16 * 4, 4), 0);
    /* The PBA is read-only. */
    bus_write(&r->mmio, b + 0x800, 8, ~0ULL);
    assert_int_equal(pba(r), 0);
    rig_free(r);
}

static void test_delivery_and_vector_mask(void **state)
{
    (void)state;
    struct rig *r = rig_new(4);
    set_entry(r, 1, 0xfee00000, 0x41, false);
    set_entry(r, 3, 0xfee01000, 0x43, true);
    /* Disabled: the device must use INTx. */
    assert_false(pci_msix_notify(&r->msix, 1));
    assert_int_equal(r->msis, 0);
    set_control(r, PCI_MSIX_FLAGS_ENABLE);
    assert_true(pci_msix_enabled(&r->msix));
    assert_true(pci_msix_notify(&r->msix, 1));
    assert_int_equal(r->msis, 1);
    assert_int_equal(r->addr[0], 0xfee00000);
    assert_int_equal(r->data[0], 0x41);
    /* A masked vector goes pending; unmasking sends it once. */
    assert_true(pci_msix_notify(&r->msix, 3));
    assert_true(pci_msix_notify(&r->msix, 3));
    assert_int_equal(r->msis, 1);
    assert_int_equal(pba(r), 1u << 3);
    bus_write(&r->mmio, bar(r) + 16 * 3 + 12, 4, 0);
    assert_int_equal(r->msis, 2);
    assert_int_equal(r->addr[1], 0xfee01000);
    assert_int_equal(r->data[1], 0x43);
    assert_int_equal(pba(r), 0);
    /* A vector number beyond the table: taken, nothing sent. */
    assert_true(pci_msix_notify(&r->msix, 7));
    assert_int_equal(r->msis, 2);
    rig_free(r);
}

static void test_function_mask(void **state)
{
    (void)state;
    struct rig *r = rig_new(2);
    set_entry(r, 0, 0xfee00000, 0x50, false);
    set_entry(r, 1, 0xfee00000, 0x51, false);
    set_control(r, PCI_MSIX_FLAGS_ENABLE | PCI_MSIX_FLAGS_MASKALL);
    pci_msix_notify(&r->msix, 0);
    pci_msix_notify(&r->msix, 1);
    assert_int_equal(r->msis, 0);
    assert_int_equal(pba(r), 3);
    /* Masking a vector meanwhile keeps it pending past the function unmask. */
    bus_write(&r->mmio, bar(r) + 16 + 12, 4, 1);
    set_control(r, PCI_MSIX_FLAGS_ENABLE);
    assert_int_equal(r->msis, 1);
    assert_int_equal(r->data[0], 0x50);
    assert_int_equal(pba(r), 2);
    bus_write(&r->mmio, bar(r) + 16 + 12, 4, 0);
    assert_int_equal(r->msis, 2);
    assert_int_equal(r->data[1], 0x51);
    /* Pending while disabled-then-enabled: enabling flushes too. */
    set_control(r, PCI_MSIX_FLAGS_ENABLE | PCI_MSIX_FLAGS_MASKALL);
    pci_msix_notify(&r->msix, 0);
    set_control(r, 0);
    assert_int_equal(r->msis, 2);
    set_control(r, PCI_MSIX_FLAGS_ENABLE);
    assert_int_equal(r->msis, 3);
    rig_free(r);
}

static void test_no_bus_master_no_message(void **state)
{
    (void)state;
    struct rig *r = rig_new(1);
    set_entry(r, 0, 0xfee00000, 0x60, false);
    set_control(r, PCI_MSIX_FLAGS_ENABLE);
    pci_config_write(&r->dev, PCI_COMMAND, 2, PCI_COMMAND_MEMORY);
    assert_true(pci_msix_notify(&r->msix, 0));
    assert_int_equal(r->msis, 0);
    pci_config_write(&r->dev, PCI_COMMAND, 2, PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER);
    assert_true(pci_msix_notify(&r->msix, 0));
    assert_int_equal(r->msis, 1);
    /* A host-side failure (bad address) is not fatal. */
    r->result = -EINVAL;
    assert_true(pci_msix_notify(&r->msix, 0));
    assert_int_equal(r->msis, 2);
    rig_free(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_capability),
        cmocka_unit_test(test_table_access),
        cmocka_unit_test(test_delivery_and_vector_mask),
        cmocka_unit_test(test_function_mask),
        cmocka_unit_test(test_no_bus_master_no_message),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
