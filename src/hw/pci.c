/* PCI devices' configuration space and BARs, and the host bridge with its
 * two configuration mechanisms (see pci.h). */
#include "hw/pci.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "hw/pci_msix.h"
#include "util/bytes.h"
#include "util/log.h"

#define PCI_IO_LIMIT 0x10000 /* x86 port space */
#define PCI_PAGE     4096

struct pci_host {
    struct pci_host_config cfg;
    struct pci_device bridge;
    struct pci_device *slots[PCI_MAX_SLOTS];
    uint32_t conf1_addr; /* mechanism #1 address register */
    uint64_t mmio_next;  /* BAR placement cursors */
    uint32_t io_next;
    bool gsi_level[64]; /* what each INTx line carries (the OR of its devices) */
    bool conf1_mapped, ecam_mapped;
};

/* --- configuration space --- */

void pci_device_init(struct pci_device *d, const char *name, const struct pci_id *id)
{
    memset(d, 0, sizeof(*d));
    d->name = name;
    put_le16(d->config + PCI_VENDOR_ID, id->vendor);
    put_le16(d->config + PCI_DEVICE_ID, id->device);
    d->config[PCI_REVISION_ID] = id->revision;
    d->config[PCI_CLASS_PROG] = (uint8_t)id->class_code;
    put_le16(d->config + PCI_CLASS_PROG + 1, (uint16_t)(id->class_code >> 8));
    d->config[PCI_HEADER_TYPE] = 0; /* type 0, single function */
    put_le16(d->config + PCI_SUBSYSTEM_VENDOR_ID, id->subsystem_vendor);
    put_le16(d->config + PCI_SUBSYSTEM_ID, id->subsystem);
    put_le16(d->wmask + PCI_COMMAND, PCI_COMMAND_IO | PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER |
                                         PCI_COMMAND_SERR | PCI_COMMAND_INTX_DISABLE);
    put_le16(d->w1cmask + PCI_STATUS, PCI_STATUS_ERRORS);
    d->wmask[PCI_INTERRUPT_LINE] = 0xff;
    d->config[PCI_INTERRUPT_PIN] = id->intx ? 1 : 0;
    d->cap_end = PCI_CAP_START;
}

static bool is_pow2(uint64_t v)
{
    return v && !(v & (v - 1));
}

int pci_device_add_bar(struct pci_device *d, unsigned n, enum pci_bar_type type, uint64_t size,
                       const struct bus_ops *ops, void *opaque)
{
    unsigned slots = type == PCI_BAR_MEM64 ? 2 : 1;
    if (n + slots > PCI_NUM_BARS || type == PCI_BAR_NONE || !is_pow2(size) ||
        d->bar[n].type != PCI_BAR_NONE || (slots == 2 && d->bar[n + 1].type != PCI_BAR_NONE) ||
        (n > 0 && d->bar[n - 1].type == PCI_BAR_MEM64))
        return -EINVAL;
    if (type == PCI_BAR_IO && (size < 4 || size > 256))
        return -EINVAL;
    if (type == PCI_BAR_MEM32 && size > (1ULL << 31))
        return -EINVAL;
    if (type != PCI_BAR_IO && size < PCI_PAGE)
        size = PCI_PAGE;
    d->bar[n] = (struct pci_bar){.type = type, .size = size, .ops = ops, .opaque = opaque};
    unsigned reg = PCI_BAR0 + 4 * n;
    uint64_t mask = ~(size - 1);
    if (type == PCI_BAR_IO) {
        put_le32(d->config + reg, PCI_BAR_SPACE_IO);
        put_le32(d->wmask + reg, (uint32_t)mask & ~3u);
    } else {
        put_le32(d->config + reg, type == PCI_BAR_MEM64 ? PCI_BAR_MEM_64 : 0);
        put_le32(d->wmask + reg, (uint32_t)mask & ~0xfu);
    }
    if (type == PCI_BAR_MEM64) /* the upper half: no struct pci_bar of its own */
        put_le32(d->wmask + reg + 4, (uint32_t)(mask >> 32));
    return 0;
}

int pci_device_add_cap(struct pci_device *d, uint8_t id, unsigned len)
{
    unsigned at = (d->cap_end + 3u) & ~3u;
    if (len < 2 || at + len > PCI_CONFIG_SIZE)
        return -ENOSPC;
    d->config[at] = id;
    d->config[at + 1] = 0;
    if (d->cap_last)
        d->config[d->cap_last + 1] = (uint8_t)at;
    else
        d->config[PCI_CAPABILITY_LIST] = (uint8_t)at;
    d->cap_last = (uint8_t)at;
    d->cap_end = (uint16_t)(at + len);
    d->config[PCI_STATUS] |= PCI_STATUS_CAP_LIST;
    return (int)at;
}

/* An access within one dword of the 256-byte space. */
static bool config_access_ok(unsigned off, unsigned size)
{
    return (size == 1 || size == 2 || size == 4) && off < PCI_CONFIG_SIZE && (off & 3) + size <= 4;
}

uint32_t pci_config_read(struct pci_device *d, unsigned off, unsigned size)
{
    if (!config_access_ok(off, size))
        return (uint32_t)bus_all_ones(size);
    uint32_t v = 0;
    for (unsigned i = 0; i < size; i++)
        v |= (uint32_t)d->config[off + i] << (8 * i);
    if (d->config_read)
        v = d->config_read(d, off, size, v);
    return v;
}

static bool overlaps(unsigned off, unsigned size, unsigned start, unsigned len)
{
    return off < start + len && start < off + size;
}

static void pci_update_intx(struct pci_device *d);
static void pci_update_mappings(struct pci_device *d);

void pci_config_write(struct pci_device *d, unsigned off, unsigned size, uint32_t value)
{
    if (!config_access_ok(off, size))
        return;
    for (unsigned i = 0; i < size; i++) {
        uint8_t b = (uint8_t)(value >> (8 * i)), wm = d->wmask[off + i];
        uint8_t *c = &d->config[off + i];
        *c = (uint8_t)((*c & ~wm) | (b & wm));
        *c &= (uint8_t) ~(b & d->w1cmask[off + i]);
    }
    if (overlaps(off, size, PCI_COMMAND, 2) || overlaps(off, size, PCI_BAR0, 4 * PCI_NUM_BARS))
        pci_update_mappings(d);
    if (overlaps(off, size, PCI_COMMAND, 2))
        pci_update_intx(d);
    if (d->msix)
        pci_msix_config_written(d->msix, off, size);
    if (d->config_write)
        d->config_write(d, off, size, value);
}

/* --- BAR mapping --- */

static uint64_t bar_programmed(const struct pci_device *d, unsigned n)
{
    uint64_t lo = get_le32(d->config + PCI_BAR0 + 4 * n);
    switch (d->bar[n].type) {
    case PCI_BAR_IO:
        return lo & ~3ULL;
    case PCI_BAR_MEM32:
        return lo & ~0xfULL;
    case PCI_BAR_MEM64:
        return (lo & ~0xfULL) | (uint64_t)get_le32(d->config + PCI_BAR0 + 4 * n + 4) << 32;
    default:
        return 0;
    }
}

static struct bus *bar_bus(const struct pci_device *d, unsigned n)
{
    return d->bar[n].type == PCI_BAR_IO ? d->host->cfg.pio : d->host->cfg.mmio;
}

/* Where BAR n should be decoded now, or 0: decoding on, assigned (not 0),
 * and inside the host's window for its space. */
static uint64_t bar_target(const struct pci_device *d, unsigned n)
{
    const struct pci_bar *b = &d->bar[n];
    uint16_t cmd = pci_config_get16(d, PCI_COMMAND);
    uint64_t addr = bar_programmed(d, n);
    if (b->type == PCI_BAR_IO) {
        if (!(cmd & PCI_COMMAND_IO) || addr == 0 || addr + b->size > PCI_IO_LIMIT)
            return 0;
        return addr;
    }
    const struct pci_host_config *c = &d->host->cfg;
    if (!(cmd & PCI_COMMAND_MEMORY) || addr < c->mmio_start || addr + b->size < addr ||
        addr + b->size > c->mmio_end)
        return 0;
    return addr;
}

static void bar_unmap(struct pci_device *d, unsigned n)
{
    struct pci_bar *b = &d->bar[n];
    if (!b->mapped)
        return;
    bus_unregister(bar_bus(d, n), b->mapped_at, b->opaque);
    b->mapped = false;
    b->mapped_at = 0;
}

static void bar_map(struct pci_device *d, unsigned n, uint64_t addr)
{
    struct pci_bar *b = &d->bar[n];
    struct bus *bus = bar_bus(d, n);
    if (bus_is_free(bus, addr, b->size) &&
        bus_register(bus, addr, b->size, b->ops, b->opaque, d->name) == 0) {
        b->mapped = true;
        b->mapped_at = addr;
        return;
    }
    if (!(d->map_warned & (1u << n))) {
        d->map_warned |= (uint8_t)(1u << n);
        log_warn("pci %s: BAR %u at %#llx+%#llx overlaps another device: left unmapped", d->name, n,
                 (unsigned long long)addr, (unsigned long long)b->size);
    }
}

static void pci_update_mappings(struct pci_device *d)
{
    if (!d->host)
        return;
    for (unsigned n = 0; n < PCI_NUM_BARS; n++) {
        struct pci_bar *b = &d->bar[n];
        if (b->type == PCI_BAR_NONE)
            continue;
        uint64_t to = bar_target(d, n);
        if (b->mapped && b->mapped_at == to)
            continue;
        bar_unmap(d, n);
        if (to)
            bar_map(d, n, to);
    }
}

uint64_t pci_bar_address(const struct pci_device *d, unsigned n)
{
    return n < PCI_NUM_BARS && d->bar[n].mapped ? d->bar[n].mapped_at : 0;
}

/* --- interrupts --- */

static void host_update_line(struct pci_host *h, unsigned gsi)
{
    bool level = false;
    for (unsigned s = 0; s < PCI_MAX_SLOTS; s++)
        if (h->slots[s] && h->slots[s]->gsi == gsi && h->slots[s]->intx_out)
            level = true;
    if (gsi >= sizeof(h->gsi_level) || h->gsi_level[gsi] == level)
        return;
    h->gsi_level[gsi] = level;
    struct irq_line line = h->cfg.irq;
    line.gsi = gsi;
    irq_line_set(&line, level);
}

static void pci_update_intx(struct pci_device *d)
{
    if (d->intx_level)
        d->config[PCI_STATUS] |= PCI_STATUS_INTERRUPT;
    else
        d->config[PCI_STATUS] &= (uint8_t)~PCI_STATUS_INTERRUPT;
    bool out = d->intx_level && !(pci_config_get16(d, PCI_COMMAND) & PCI_COMMAND_INTX_DISABLE) &&
               d->config[PCI_INTERRUPT_PIN];
    if (out == d->intx_out)
        return;
    d->intx_out = out;
    if (d->host)
        host_update_line(d->host, d->gsi);
}

void pci_device_set_intx(struct pci_device *d, bool level)
{
    d->intx_level = level;
    pci_update_intx(d);
}

int pci_device_msi(struct pci_device *d, uint64_t addr, uint32_t data)
{
    if (!(pci_config_get16(d, PCI_COMMAND) & PCI_COMMAND_MASTER))
        return -EPERM;
    if (!d->host || !d->host->cfg.msi)
        return -ENODEV;
    return d->host->cfg.msi(d->host->cfg.msi_ctx, addr, data);
}

/* --- configuration mechanisms --- */

static struct pci_device *host_lookup(struct pci_host *h, unsigned bus, unsigned dev, unsigned fn)
{
    return bus == 0 && fn == 0 && dev < PCI_MAX_SLOTS ? h->slots[dev] : NULL;
}

static uint64_t conf1_read(void *opaque, uint64_t offset, unsigned size)
{
    struct pci_host *h = opaque;
    if (offset < 4)
        return offset == 0 && size == 4 ? h->conf1_addr : bus_all_ones(size);
    uint32_t a = h->conf1_addr;
    struct pci_device *d = host_lookup(h, (a >> 16) & 0xff, (a >> 11) & 0x1f, (a >> 8) & 7);
    if (!(a & 0x80000000u) || !d)
        return bus_all_ones(size);
    return pci_config_read(d, (a & 0xfc) + (unsigned)(offset - 4), size);
}

static void conf1_write(void *opaque, uint64_t offset, unsigned size, uint64_t value)
{
    struct pci_host *h = opaque;
    if (offset < 4) {
        /* Only a dword write reaches the address register: a byte at
         * 0xcfb is the old mechanism-select probe, ignored as on Q35. */
        if (offset == 0 && size == 4)
            h->conf1_addr = (uint32_t)value & 0x80fffffcu;
        return;
    }
    uint32_t a = h->conf1_addr;
    struct pci_device *d = host_lookup(h, (a >> 16) & 0xff, (a >> 11) & 0x1f, (a >> 8) & 7);
    if ((a & 0x80000000u) && d)
        pci_config_write(d, (a & 0xfc) + (unsigned)(offset - 4), size, (uint32_t)value);
}

static const struct bus_ops conf1_ops = {conf1_read, conf1_write};

/* ECAM: naturally aligned 1, 2, 4 and 8-byte accesses; the extended space
 * (0x100-0xfff) of our conventional devices reads 0. */
static struct pci_device *ecam_device(struct pci_host *h, uint64_t offset, unsigned size)
{
    if (offset & (size - 1))
        return NULL;
    return host_lookup(h, (unsigned)(offset >> 20), (offset >> 15) & 0x1f, (offset >> 12) & 7);
}

static uint64_t ecam_read(void *opaque, uint64_t offset, unsigned size)
{
    struct pci_device *d = ecam_device(opaque, offset, size);
    unsigned reg = offset & 0xfff;
    if (!d)
        return bus_all_ones(size);
    if (reg >= PCI_CONFIG_SIZE)
        return 0;
    if (size == 8)
        return pci_config_read(d, reg, 4) | (uint64_t)pci_config_read(d, reg + 4, 4) << 32;
    return pci_config_read(d, reg, size);
}

static void ecam_write(void *opaque, uint64_t offset, unsigned size, uint64_t value)
{
    struct pci_device *d = ecam_device(opaque, offset, size);
    unsigned reg = offset & 0xfff;
    if (!d || reg >= PCI_CONFIG_SIZE)
        return;
    if (size == 8) {
        pci_config_write(d, reg, 4, (uint32_t)value);
        pci_config_write(d, reg + 4, 4, (uint32_t)(value >> 32));
        return;
    }
    pci_config_write(d, reg, size, (uint32_t)value);
}

static const struct bus_ops ecam_ops = {ecam_read, ecam_write};

/* --- the host --- */

static const struct pci_id host_bridge_id = {
    .vendor = PCI_HOST_VENDOR,
    .device = PCI_HOST_DEVICE,
    .class_code = 0x060000, /* bridge, host */
    .subsystem_vendor = 0x1af4,
    .subsystem = 0x1100,
};

struct pci_host *pci_host_new(const struct pci_host_config *cfg)
{
    struct pci_host *h = calloc(1, sizeof(*h));
    if (!h) {
        log_error("pci: out of memory");
        return NULL;
    }
    h->cfg = *cfg;
    h->mmio_next = cfg->mmio_start;
    h->io_next = cfg->io_start;
    h->conf1_mapped = bus_register(cfg->pio, cfg->config_port, 8, &conf1_ops, h, "pci-conf1") == 0;
    h->ecam_mapped =
        bus_register(cfg->mmio, cfg->ecam_base, cfg->ecam_size, &ecam_ops, h, "pci-ecam") == 0;
    if (!h->conf1_mapped || !h->ecam_mapped) {
        pci_host_free(h);
        return NULL;
    }
    pci_device_init(&h->bridge, "host-bridge", &host_bridge_id);
    if (pci_host_add_device(h, &h->bridge) != 0) {
        pci_host_free(h);
        return NULL;
    }
    return h;
}

void pci_host_free(struct pci_host *h)
{
    if (!h)
        return;
    for (unsigned s = 0; s < PCI_MAX_SLOTS; s++) {
        struct pci_device *d = h->slots[s];
        if (!d)
            continue;
        for (unsigned n = 0; n < PCI_NUM_BARS; n++)
            bar_unmap(d, n);
        d->host = NULL;
    }
    if (h->conf1_mapped)
        bus_unregister(h->cfg.pio, h->cfg.config_port, h);
    if (h->ecam_mapped)
        bus_unregister(h->cfg.mmio, h->cfg.ecam_base, h);
    free(h);
}

static uint64_t align_up(uint64_t v, uint64_t a)
{
    return (v + a - 1) & ~(a - 1);
}

/* As firmware does: the largest BARs first, each naturally aligned. */
static int host_place_bars(struct pci_host *h, struct pci_device *d)
{
    uint64_t mmio = h->mmio_next, io = h->io_next;
    uint16_t cmd = 0;
    bool done[PCI_NUM_BARS] = {false};
    for (;;) {
        int best = -1;
        for (unsigned n = 0; n < PCI_NUM_BARS; n++)
            if (d->bar[n].type != PCI_BAR_NONE && !done[n] &&
                (best < 0 || d->bar[n].size > d->bar[best].size))
                best = (int)n;
        if (best < 0)
            break;
        done[best] = true;
        struct pci_bar *b = &d->bar[best];
        uint64_t *next = b->type == PCI_BAR_IO ? &io : &mmio;
        uint64_t end = b->type == PCI_BAR_IO ? h->cfg.io_end : h->cfg.mmio_end;
        uint64_t at = align_up(*next, b->size);
        if (at + b->size > end || at + b->size < at) {
            log_error("pci %s: no room for BAR %d (%#llx bytes)", d->name, best,
                      (unsigned long long)b->size);
            return -ENOSPC;
        }
        *next = at + b->size;
        unsigned reg = PCI_BAR0 + 4 * (unsigned)best;
        put_le32(d->config + reg, (uint32_t)at | (get_le32(d->config + reg) & 0xf));
        if (b->type == PCI_BAR_MEM64)
            put_le32(d->config + reg + 4, (uint32_t)(at >> 32));
        cmd |= b->type == PCI_BAR_IO ? PCI_COMMAND_IO : PCI_COMMAND_MEMORY;
    }
    h->mmio_next = mmio;
    h->io_next = (uint32_t)io;
    put_le16(d->config + PCI_COMMAND, pci_config_get16(d, PCI_COMMAND) | cmd);
    return 0;
}

int pci_host_add_device(struct pci_host *h, struct pci_device *d)
{
    unsigned s = 0;
    while (s < PCI_MAX_SLOTS && h->slots[s])
        s++;
    if (s == PCI_MAX_SLOTS) {
        log_error("pci: no free slot for %s", d->name);
        return -ENOSPC;
    }
    int r = host_place_bars(h, d);
    if (r < 0)
        return r;
    d->host = h;
    d->slot = s;
    d->gsi = h->cfg.intx_gsi ? h->cfg.intx_gsi(s, 0) : 0;
    if (d->config[PCI_INTERRUPT_PIN])
        d->config[PCI_INTERRUPT_LINE] = (uint8_t)d->gsi;
    h->slots[s] = d;
    pci_update_mappings(d);
    pci_update_intx(d);
    return (int)s;
}

static uint32_t host_slot_mask(const struct pci_host *h, bool intx_only)
{
    uint32_t mask = 0;
    for (unsigned s = 0; s < PCI_MAX_SLOTS; s++)
        if (h->slots[s] && (!intx_only || h->slots[s]->config[PCI_INTERRUPT_PIN]))
            mask |= 1u << s;
    return mask;
}

uint32_t pci_host_slots(const struct pci_host *h)
{
    return host_slot_mask(h, false);
}

uint32_t pci_host_intx_slots(const struct pci_host *h)
{
    return host_slot_mask(h, true);
}

struct pci_device *pci_host_device(const struct pci_host *h, unsigned slot)
{
    return slot < PCI_MAX_SLOTS ? h->slots[slot] : NULL;
}
