/* PCI: configuration mechanism #1 and ECAM reach the same headers; BARs
 * are placed, sized, moved and unmapped on the buses; capability lists,
 * write masks, INTx wiring and MSI gating. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hw/pci.h"
#include "pci_rig.h"
#include "vm/layout.h"

#define ECAM     RIG_ECAM
#define WIN      RIG_WIN
#define WIN_END  (RIG_WIN + 0x100000) /* 1 MiB, to run out of */
#define IO_START RIG_IO_START
#define IO_END   RIG_IO_END

struct rig {
    struct bus pio, mmio;
    struct pci_host *host;
    int level[64];
    unsigned irq_calls;
    uint64_t msi_addr;
    uint32_t msi_data;
    unsigned msis;
};

static void rig_irq(void *ctx, unsigned gsi, int level)
{
    struct rig *r = ctx;
    assert_true(gsi < 64);
    r->level[gsi] = level;
    r->irq_calls++;
}

static int rig_msi(void *ctx, uint64_t addr, uint32_t data)
{
    struct rig *r = ctx;
    r->msi_addr = addr;
    r->msi_data = data;
    r->msis++;
    return 0;
}

static unsigned shared_gsi(unsigned slot, unsigned pin)
{
    (void)slot;
    (void)pin;
    return 20;
}

static struct rig *rig_new_with(unsigned (*gsi)(unsigned, unsigned))
{
    struct rig *r = calloc(1, sizeof(*r));
    struct pci_host_config cfg = pci_rig_config(&r->pio, &r->mmio);
    cfg.mmio_end = WIN_END;
    cfg.intx_gsi = gsi;
    cfg.irq = (struct irq_line){.set = rig_irq, .ctx = r};
    cfg.msi = rig_msi;
    cfg.msi_ctx = r;
    r->host = pci_host_new(&cfg);
    assert_non_null(r->host);
    return r;
}

static struct rig *rig_new(void)
{
    return rig_new_with(layout_pci_intx_gsi);
}

static void rig_free(struct rig *r)
{
    pci_host_free(r->host);
    assert_int_equal(r->pio.nranges, 0);
    assert_int_equal(r->mmio.nranges, 0);
    bus_destroy(&r->pio);
    bus_destroy(&r->mmio);
    free(r);
}

static uint32_t conf1_addr(unsigned bus, unsigned dev, unsigned fn, unsigned reg)
{
    return 0x80000000u | bus << 16 | dev << 11 | fn << 8 | (reg & 0xfc);
}

static uint32_t conf1_read(struct rig *r, unsigned dev, unsigned reg, unsigned size)
{
    bus_write(&r->pio, 0xcf8, 4, conf1_addr(0, dev, 0, reg));
    return (uint32_t)bus_read(&r->pio, 0xcfc + (reg & 3), size);
}

static void conf1_write(struct rig *r, unsigned dev, unsigned reg, unsigned size, uint32_t v)
{
    bus_write(&r->pio, 0xcf8, 4, conf1_addr(0, dev, 0, reg));
    bus_write(&r->pio, 0xcfc + (reg & 3), size, v);
}

static uint64_t ecam(unsigned bus, unsigned dev, unsigned fn, unsigned reg)
{
    return ECAM + ((uint64_t)bus << 20 | dev << 15 | fn << 12 | reg);
}

/* A device whose BARs count accesses. */
struct fake {
    struct pci_device pci;
    uint64_t last_off;
    unsigned reads, writes;
};

static uint64_t fake_read(void *opaque, uint64_t off, unsigned size)
{
    struct fake *f = opaque;
    (void)size;
    f->last_off = off;
    f->reads++;
    return 0x5a;
}

static void fake_write(void *opaque, uint64_t off, unsigned size, uint64_t value)
{
    struct fake *f = opaque;
    (void)size;
    (void)value;
    f->last_off = off;
    f->writes++;
}

static const struct bus_ops fake_ops = {fake_read, fake_write};

static const struct pci_id fake_id = {
    .vendor = 0x1af4,
    .device = 0x1044,
    .revision = 1,
    .class_code = 0x00ff00,
    .subsystem_vendor = 0x1af4,
    .subsystem = 0x0004,
    .intx = true,
};

static void fake_init(struct fake *f)
{
    memset(f, 0, sizeof(*f));
    pci_device_init(&f->pci, "fake", &fake_id);
    assert_int_equal(pci_device_add_bar(&f->pci, 0, PCI_BAR_IO, 32, &fake_ops, f), 0);
    assert_int_equal(pci_device_add_bar(&f->pci, 1, PCI_BAR_MEM32, 0x1000, &fake_ops, f), 0);
    assert_int_equal(pci_device_add_bar(&f->pci, 4, PCI_BAR_MEM64, 0x4000, &fake_ops, f), 0);
}

static void test_host_bridge_both_mechanisms(void **state)
{
    (void)state;
    struct rig *r = rig_new();
    assert_int_equal(pci_host_slots(r->host), 1);
    /* The address register reads back what was written, reserved bits 0. */
    bus_write(&r->pio, 0xcf8, 4, 0x80000000);
    assert_int_equal(bus_read(&r->pio, 0xcf8, 4), 0x80000000);
    bus_write(&r->pio, 0xcf8, 4, 0xff000003);
    assert_int_equal(bus_read(&r->pio, 0xcf8, 4), 0x80000000);
    bus_write(&r->pio, 0xcfb, 1, 0x01); /* Linux's mechanism probe: ignored */
    assert_int_equal(bus_read(&r->pio, 0xcf8, 4), 0x80000000);

    assert_int_equal(conf1_read(r, 0, 0, 4), PCI_HOST_DEVICE << 16 | PCI_HOST_VENDOR);
    assert_int_equal(conf1_read(r, 0, 2, 2), PCI_HOST_DEVICE);
    assert_int_equal(conf1_read(r, 0, 3, 1), PCI_HOST_DEVICE >> 8);
    assert_int_equal(conf1_read(r, 0, 0x0b, 1), 0x06); /* class: bridge */
    assert_int_equal(conf1_read(r, 0, 0x0a, 1), 0x00); /* subclass: host */
    assert_int_equal(bus_read(&r->mmio, ecam(0, 0, 0, 0), 4),
                     PCI_HOST_DEVICE << 16 | PCI_HOST_VENDOR);
    assert_int_equal(bus_read(&r->mmio, ecam(0, 0, 0, 0x0a), 2), 0x0600);
    assert_int_equal(bus_read(&r->mmio, ecam(0, 0, 0, 0x0e), 1), 0); /* type 0 */

    /* Absent slots, functions, buses; the enable bit clear. */
    assert_int_equal(conf1_read(r, 5, 0, 4), 0xffffffff);
    bus_write(&r->pio, 0xcf8, 4, conf1_addr(0, 0, 1, 0));
    assert_int_equal(bus_read(&r->pio, 0xcfc, 4), 0xffffffff);
    bus_write(&r->pio, 0xcf8, 4, conf1_addr(1, 0, 0, 0));
    assert_int_equal(bus_read(&r->pio, 0xcfc, 2), 0xffff);
    bus_write(&r->pio, 0xcf8, 4, conf1_addr(0, 0, 0, 0) & 0x7fffffff);
    assert_int_equal(bus_read(&r->pio, 0xcfc, 4), 0xffffffff);
    assert_int_equal(bus_read(&r->mmio, ecam(0, 7, 0, 0), 4), 0xffffffff);
    assert_int_equal(bus_read(&r->mmio, ecam(0, 0, 3, 0), 4), 0xffffffff);
    /* Extended space of a conventional device reads 0; misaligned: ones. */
    assert_int_equal(bus_read(&r->mmio, ecam(0, 0, 0, 0x100), 4), 0);
    assert_int_equal(bus_read(&r->mmio, ecam(0, 0, 0, 1), 2), 0xffff);
    assert_true(bus_read(&r->mmio, ecam(0, 0, 0, 0), 8) ==
                ((uint64_t)conf1_read(r, 0, 4, 4) << 32 | conf1_read(r, 0, 0, 4)));
    rig_free(r);
}

static void test_bars_placed_and_mapped(void **state)
{
    (void)state;
    struct rig *r = rig_new();
    struct fake f;
    fake_init(&f);
    assert_int_equal(pci_host_add_device(r->host, &f.pci), 1);
    assert_int_equal(pci_host_slots(r->host), 3);
    assert_int_equal(pci_host_intx_slots(r->host), 2); /* the bridge has no pin */
    assert_ptr_equal(pci_host_device(r->host, 1), &f.pci);
    uint16_t cmd = (uint16_t)conf1_read(r, 1, PCI_COMMAND, 2);
    assert_int_equal(cmd & (PCI_COMMAND_IO | PCI_COMMAND_MEMORY),
                     PCI_COMMAND_IO | PCI_COMMAND_MEMORY);

    uint32_t io = conf1_read(r, 1, 0x10, 4);
    assert_int_equal(io & 3, PCI_BAR_SPACE_IO);
    io &= ~3u;
    assert_true(io >= IO_START && io + 32 <= IO_END && io % 32 == 0);
    uint32_t m32 = conf1_read(r, 1, 0x14, 4);
    assert_int_equal(m32 & 0xf, 0);
    assert_true(m32 >= WIN && m32 + 0x1000 <= WIN_END && m32 % 0x1000 == 0);
    uint32_t m64lo = conf1_read(r, 1, 0x20, 4), m64hi = conf1_read(r, 1, 0x24, 4);
    assert_int_equal(m64lo & 0xf, PCI_BAR_MEM_64);
    uint64_t m64 = (uint64_t)m64hi << 32 | (m64lo & ~0xfu);
    assert_true(m64 >= WIN && m64 + 0x4000 <= WIN_END && m64 % 0x4000 == 0);
    assert_true(m64 + 0x4000 <= m32 || m32 + 0x1000 <= m64); /* no overlap */
    assert_int_equal(conf1_read(r, 1, 0x18, 4), 0);          /* unused BARs */
    assert_int_equal(conf1_read(r, 1, 0x1c, 4), 0);

    /* The BARs answer on the buses, with BAR-relative offsets. */
    assert_int_equal(bus_read(&r->pio, io + 5, 1), 0x5a);
    assert_int_equal(f.last_off, 5);
    bus_write(&r->mmio, m64 + 0x3000, 4, 1);
    assert_int_equal(f.last_off, 0x3000);
    assert_int_equal(f.writes, 1);
    assert_int_equal(bus_read(&r->mmio, m32 + 0xffc, 4), 0x5a);
    assert_int_equal(pci_bar_address(&f.pci, 4), m64);
    assert_int_equal(pci_bar_address(&f.pci, 2), 0);

    /* Interrupt pin INTA, line = the swizzled GSI of slot 1. */
    assert_int_equal(conf1_read(r, 1, PCI_INTERRUPT_PIN, 1), 1);
    assert_int_equal(conf1_read(r, 1, PCI_INTERRUPT_LINE, 1), layout_pci_intx_gsi(1, 0));
    rig_free(r);
}

static void test_bar_sizing(void **state)
{
    (void)state;
    struct rig *r = rig_new();
    struct fake f;
    fake_init(&f);
    assert_int_equal(pci_host_add_device(r->host, &f.pci), 1);
    uint32_t saved[6];
    for (unsigned n = 0; n < 6; n++)
        saved[n] = conf1_read(r, 1, 0x10 + 4 * n, 4);
    conf1_write(r, 1, PCI_COMMAND, 2, 0); /* as Linux does around sizing */
    for (unsigned n = 0; n < 6; n++)
        conf1_write(r, 1, 0x10 + 4 * n, 4, 0xffffffff);
    assert_int_equal(conf1_read(r, 1, 0x10, 4), 0xffffffe1); /* 32 ports, I/O */
    assert_int_equal(conf1_read(r, 1, 0x14, 4), 0xfffff000); /* 4 KiB */
    assert_int_equal(conf1_read(r, 1, 0x18, 4), 0);          /* unimplemented */
    assert_int_equal(conf1_read(r, 1, 0x20, 4), 0xffffc004); /* 16 KiB, 64-bit */
    assert_int_equal(conf1_read(r, 1, 0x24, 4), 0xffffffff);
    assert_int_equal(conf1_read(r, 1, 0x30, 4), 0); /* no expansion ROM */
    /* Nothing is decoded meanwhile. */
    assert_null(bus_find(&r->mmio, saved[1]));
    assert_null(bus_find(&r->pio, saved[0] & ~3u));
    for (unsigned n = 0; n < 6; n++)
        conf1_write(r, 1, 0x10 + 4 * n, 4, saved[n]);
    conf1_write(r, 1, PCI_COMMAND, 2, PCI_COMMAND_IO | PCI_COMMAND_MEMORY);
    assert_ptr_equal(bus_find(&r->mmio, saved[1])->opaque, &f);
    assert_ptr_equal(bus_find(&r->pio, saved[0] & ~3u)->opaque, &f);
    /* Sub-4-KiB memory BARs are rounded up to a page. */
    struct pci_device d;
    pci_device_init(&d, "small", &fake_id);
    assert_int_equal(pci_device_add_bar(&d, 0, PCI_BAR_MEM32, 16, &fake_ops, NULL), 0);
    assert_int_equal(d.bar[0].size, 0x1000);
    rig_free(r);
}

static void test_bar_moves_and_unmaps(void **state)
{
    (void)state;
    struct rig *r = rig_new();
    struct fake f, g;
    fake_init(&f);
    fake_init(&g);
    assert_int_equal(pci_host_add_device(r->host, &f.pci), 1);
    assert_int_equal(pci_host_add_device(r->host, &g.pci), 2);
    uint32_t old = conf1_read(r, 1, 0x14, 4);

    /* Decoding off: gone from the bus; on again: back. */
    conf1_write(r, 1, PCI_COMMAND, 2, PCI_COMMAND_IO);
    assert_null(bus_find(&r->mmio, old));
    assert_int_equal(pci_bar_address(&f.pci, 1), 0);
    assert_ptr_not_equal(bus_find(&r->pio, conf1_read(r, 1, 0x10, 4) & ~3u), NULL);
    conf1_write(r, 1, PCI_COMMAND, 2, PCI_COMMAND_IO | PCI_COMMAND_MEMORY);
    assert_ptr_equal(bus_find(&r->mmio, old)->opaque, &f);

    /* A move with decoding on (through ECAM this time). */
    uint64_t to = WIN_END - 0x1000;
    bus_write(&r->mmio, ecam(0, 1, 0, 0x14), 4, to);
    assert_null(bus_find(&r->mmio, old));
    assert_ptr_equal(bus_find(&r->mmio, to)->opaque, &f);
    assert_int_equal(pci_bar_address(&f.pci, 1), to);

    /* Outside the window, or 0: unmapped, not an error. */
    conf1_write(r, 1, 0x14, 4, 0xfe000000);
    assert_null(bus_find(&r->mmio, to));
    assert_null(bus_find(&r->mmio, 0xfe000000));
    conf1_write(r, 1, 0x14, 4, 0);
    assert_int_equal(pci_bar_address(&f.pci, 1), 0);

    /* Onto another device's BAR: stays unmapped, logged once. */
    char *buf = NULL;
    size_t len = 0;
    FILE *log = open_memstream(&buf, &len);
    log_set_stream(log);
    uint32_t other = conf1_read(r, 2, 0x14, 4);
    conf1_write(r, 1, 0x14, 4, other);
    conf1_write(r, 1, 0x14, 4, other);
    fflush(log);
    const char *first = strstr(buf, "overlaps");
    assert_non_null(first);
    assert_null(strstr(first + 1, "overlaps"));
    assert_ptr_equal(bus_find(&r->mmio, other)->opaque, &g);
    assert_int_equal(pci_bar_address(&f.pci, 1), 0);
    log_set_stream(NULL);
    fclose(log);
    free(buf);
    /* And back where it was. */
    conf1_write(r, 1, 0x14, 4, old);
    assert_ptr_equal(bus_find(&r->mmio, old)->opaque, &f);

    /* A 64-bit BAR above 4 GiB is outside the window: unmapped. */
    uint32_t lo = conf1_read(r, 1, 0x20, 4);
    conf1_write(r, 1, 0x24, 4, 1);
    assert_int_equal(pci_bar_address(&f.pci, 4), 0);
    conf1_write(r, 1, 0x24, 4, 0);
    assert_int_equal(pci_bar_address(&f.pci, 4), lo & ~0xfu);
    rig_free(r);
}

static void test_capability_chain(void **state)
{
    (void)state;
    struct pci_device d;
    pci_device_init(&d, "caps", &fake_id);
    assert_int_equal(pci_config_read(&d, PCI_STATUS, 2) & PCI_STATUS_CAP_LIST, 0);
    assert_int_equal(pci_config_read(&d, PCI_CAPABILITY_LIST, 1), 0);
    int a = pci_device_add_cap(&d, PCI_CAP_ID_VENDOR, 16);
    int b = pci_device_add_cap(&d, PCI_CAP_ID_MSIX, 12);
    int c = pci_device_add_cap(&d, PCI_CAP_ID_VENDOR, 5);
    int e = pci_device_add_cap(&d, PCI_CAP_ID_VENDOR, 20);
    assert_int_equal(a, 0x40);
    assert_true(b >= a + 16 && c >= b + 12 && e >= c + 5);
    assert_int_not_equal(pci_config_read(&d, PCI_STATUS, 2) & PCI_STATUS_CAP_LIST, 0);
    /* Walk it as an OS does: dword aligned, ids, terminated. */
    const int want[] = {a, b, c, e};
    const uint8_t ids[] = {PCI_CAP_ID_VENDOR, PCI_CAP_ID_MSIX, PCI_CAP_ID_VENDOR,
                           PCI_CAP_ID_VENDOR};
    unsigned at = pci_config_read(&d, PCI_CAPABILITY_LIST, 1), n = 0;
    while (at) {
        assert_true(n < 4);
        assert_int_equal(at % 4, 0);
        assert_int_equal(at, want[n]);
        assert_int_equal(pci_config_read(&d, at, 1), ids[n]);
        at = pci_config_read(&d, at + 1, 1);
        n++;
    }
    assert_int_equal(n, 4);
    /* The list is read-only. */
    pci_config_write(&d, (unsigned)a + 1, 1, 0x80);
    assert_int_equal(pci_config_read(&d, (unsigned)a + 1, 1), b);
    /* Space runs out cleanly. */
    assert_int_equal(pci_device_add_cap(&d, PCI_CAP_ID_VENDOR, 200), -ENOSPC);
    assert_int_equal(pci_device_add_cap(&d, PCI_CAP_ID_VENDOR, 1), -ENOSPC);
}

static void test_write_masks(void **state)
{
    (void)state;
    struct pci_device d;
    pci_device_init(&d, "masks", &fake_id);
    pci_config_write(&d, PCI_VENDOR_ID, 4, 0x12345678);
    assert_int_equal(pci_config_read(&d, PCI_VENDOR_ID, 4), 0x10441af4);
    pci_config_write(&d, PCI_COMMAND, 2, 0xffff);
    assert_int_equal(pci_config_read(&d, PCI_COMMAND, 2),
                     PCI_COMMAND_IO | PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER | PCI_COMMAND_SERR |
                         PCI_COMMAND_INTX_DISABLE);
    /* Status error bits: write 1 to clear, 0 leaves them. */
    d.config[PCI_STATUS + 1] = 0x80; /* detected parity error */
    pci_config_write(&d, PCI_STATUS, 2, 0);
    assert_int_equal(pci_config_read(&d, PCI_STATUS, 2), 0x8000);
    pci_config_write(&d, PCI_STATUS, 2, 0x8000);
    assert_int_equal(pci_config_read(&d, PCI_STATUS, 2), 0);
    pci_config_write(&d, PCI_INTERRUPT_LINE, 2, 0x0707);
    assert_int_equal(pci_config_read(&d, PCI_INTERRUPT_LINE, 1), 7);
    assert_int_equal(pci_config_read(&d, PCI_INTERRUPT_PIN, 1), 1);
    /* Accesses crossing a dword or outside the space. */
    assert_int_equal(pci_config_read(&d, 3, 2), 0xffff);
    assert_int_equal(pci_config_read(&d, 0x100, 1), 0xff);
    assert_int_equal(pci_config_read(&d, 0, 3), 0xffffff);
    pci_config_write(&d, 0xff, 2, 0xffff);
}

static void test_bad_bars_rejected(void **state)
{
    (void)state;
    struct pci_device d;
    pci_device_init(&d, "bad", &fake_id);
    assert_int_equal(pci_device_add_bar(&d, 6, PCI_BAR_MEM32, 0x1000, &fake_ops, NULL), -EINVAL);
    assert_int_equal(pci_device_add_bar(&d, 5, PCI_BAR_MEM64, 0x1000, &fake_ops, NULL), -EINVAL);
    assert_int_equal(pci_device_add_bar(&d, 0, PCI_BAR_MEM32, 0x3000, &fake_ops, NULL), -EINVAL);
    assert_int_equal(pci_device_add_bar(&d, 0, PCI_BAR_IO, 512, &fake_ops, NULL), -EINVAL);
    assert_int_equal(pci_device_add_bar(&d, 0, PCI_BAR_IO, 2, &fake_ops, NULL), -EINVAL);
    assert_int_equal(pci_device_add_bar(&d, 0, PCI_BAR_NONE, 0x1000, &fake_ops, NULL), -EINVAL);
    assert_int_equal(pci_device_add_bar(&d, 2, PCI_BAR_MEM64, 0x1000, &fake_ops, NULL), 0);
    assert_int_equal(pci_device_add_bar(&d, 3, PCI_BAR_MEM32, 0x1000, &fake_ops, NULL), -EINVAL);
    assert_int_equal(pci_device_add_bar(&d, 1, PCI_BAR_MEM64, 0x1000, &fake_ops, NULL), -EINVAL);
    assert_int_equal(pci_device_add_bar(&d, 2, PCI_BAR_MEM32, 0x1000, &fake_ops, NULL), -EINVAL);
}

static void test_intx(void **state)
{
    (void)state;
    struct rig *r = rig_new();
    struct fake f;
    fake_init(&f);
    assert_int_equal(pci_host_add_device(r->host, &f.pci), 1);
    unsigned gsi = layout_pci_intx_gsi(1, 0);
    assert_int_equal(gsi, 17);
    pci_device_set_intx(&f.pci, true);
    assert_int_equal(r->level[gsi], 1);
    assert_true(conf1_read(r, 1, PCI_STATUS, 2) & PCI_STATUS_INTERRUPT);
    pci_device_set_intx(&f.pci, true); /* no new edge for the same level */
    assert_int_equal(r->irq_calls, 1);
    /* INTx-disable drops the line but not the status bit. */
    conf1_write(r, 1, PCI_COMMAND, 2, PCI_COMMAND_MEMORY | PCI_COMMAND_INTX_DISABLE);
    assert_int_equal(r->level[gsi], 0);
    assert_true(conf1_read(r, 1, PCI_STATUS, 2) & PCI_STATUS_INTERRUPT);
    conf1_write(r, 1, PCI_COMMAND, 2, PCI_COMMAND_MEMORY);
    assert_int_equal(r->level[gsi], 1);
    pci_device_set_intx(&f.pci, false);
    assert_int_equal(r->level[gsi], 0);
    assert_false(conf1_read(r, 1, PCI_STATUS, 2) & PCI_STATUS_INTERRUPT);
    rig_free(r);
}

static void test_intx_shared_line_is_wired_or(void **state)
{
    (void)state;
    struct rig *r = rig_new_with(shared_gsi);
    struct fake a, b;
    fake_init(&a);
    fake_init(&b);
    pci_host_add_device(r->host, &a.pci);
    pci_host_add_device(r->host, &b.pci);
    pci_device_set_intx(&a.pci, true);
    pci_device_set_intx(&b.pci, true);
    assert_int_equal(r->level[20], 1);
    pci_device_set_intx(&a.pci, false);
    assert_int_equal(r->level[20], 1); /* b still holds it */
    pci_device_set_intx(&b.pci, false);
    assert_int_equal(r->level[20], 0);
    assert_int_equal(r->irq_calls, 2);
    rig_free(r);
}

static void test_msi_needs_bus_master(void **state)
{
    (void)state;
    struct rig *r = rig_new();
    struct fake f;
    fake_init(&f);
    pci_host_add_device(r->host, &f.pci);
    assert_int_equal(pci_device_msi(&f.pci, 0xfee00000, 0x41), -EPERM);
    assert_int_equal(r->msis, 0);
    conf1_write(r, 1, PCI_COMMAND, 2, PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER);
    assert_int_equal(pci_device_msi(&f.pci, 0xfee01000, 0x41), 0);
    assert_int_equal(r->msis, 1);
    assert_int_equal(r->msi_addr, 0xfee01000);
    assert_int_equal(r->msi_data, 0x41);
    rig_free(r);
}

static void test_slots_run_out(void **state)
{
    (void)state;
    struct rig *r = rig_new();
    static struct pci_device devs[PCI_MAX_SLOTS];
    FILE *devnull = fopen("/dev/null", "w");
    log_set_stream(devnull);
    for (unsigned i = 1; i < PCI_MAX_SLOTS; i++) {
        pci_device_init(&devs[i], "d", &fake_id);
        assert_int_equal(pci_host_add_device(r->host, &devs[i]), (int)i);
    }
    pci_device_init(&devs[0], "one too many", &fake_id);
    assert_int_equal(pci_host_add_device(r->host, &devs[0]), -ENOSPC);
    assert_int_equal(pci_host_slots(r->host), 0xffffffff);
    /* A BAR too big for the window is refused too. */
    struct rig *r2 = rig_new();
    struct pci_device big;
    pci_device_init(&big, "big", &fake_id);
    assert_int_equal(pci_device_add_bar(&big, 0, PCI_BAR_MEM32, 2 << 20, &fake_ops, NULL), 0);
    assert_int_equal(pci_host_add_device(r2->host, &big), -ENOSPC);
    log_set_stream(NULL);
    fclose(devnull);
    rig_free(r2);
    rig_free(r);
}

static void test_host_needs_free_ranges(void **state)
{
    (void)state;
    struct bus pio, mmio;
    const struct pci_host_config cfg = pci_rig_config(&pio, &mmio);
    static const struct bus_ops none;
    assert_int_equal(bus_register(&pio, 0xcfc, 1, &none, NULL, "squatter"), 0);
    FILE *devnull = fopen("/dev/null", "w");
    log_set_stream(devnull);
    assert_null(pci_host_new(&cfg));
    log_set_stream(NULL);
    fclose(devnull);
    assert_int_equal(pio.nranges, 1);
    assert_int_equal(mmio.nranges, 0);
    bus_destroy(&pio);
    bus_destroy(&mmio);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_host_bridge_both_mechanisms),
        cmocka_unit_test(test_bars_placed_and_mapped),
        cmocka_unit_test(test_bar_sizing),
        cmocka_unit_test(test_bar_moves_and_unmaps),
        cmocka_unit_test(test_capability_chain),
        cmocka_unit_test(test_write_masks),
        cmocka_unit_test(test_bad_bars_rejected),
        cmocka_unit_test(test_intx),
        cmocka_unit_test(test_intx_shared_line_is_wired_or),
        cmocka_unit_test(test_msi_needs_bus_master),
        cmocka_unit_test(test_slots_run_out),
        cmocka_unit_test(test_host_needs_free_ranges),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
