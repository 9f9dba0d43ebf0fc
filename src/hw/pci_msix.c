/* MSI-X: the capability, the vector table and the pending bits (see
 * pci_msix.h). */
#include "hw/pci_msix.h"

#include <errno.h>
#include <string.h>

#include "util/bytes.h"
#include "util/log.h"

#define MSIX_CONTROL 2 /* capability offsets */
#define MSIX_TABLE   4
#define MSIX_PBA     8

int pci_msix_init(struct pci_msix *m, struct pci_device *d, unsigned nvectors, unsigned bar,
                  uint32_t table_off, uint32_t pba_off)
{
    if (nvectors == 0 || nvectors > PCI_MSIX_MAX_VECTORS || bar >= PCI_NUM_BARS ||
        (table_off | pba_off) & 7)
        return -EINVAL;
    int cap = pci_device_add_cap(d, PCI_CAP_ID_MSIX, PCI_MSIX_CAP_LEN);
    if (cap < 0)
        return cap;
    memset(m, 0, sizeof(*m));
    m->dev = d;
    m->nvectors = nvectors;
    m->cap = (unsigned)cap;
    m->table_off = table_off;
    m->pba_off = pba_off;
    for (unsigned v = 0; v < nvectors; v++)
        m->table[v].ctrl = PCI_MSIX_ENTRY_MASKED;
    put_le16(d->config + cap + MSIX_CONTROL, (uint16_t)(nvectors - 1));
    d->wmask[cap + MSIX_CONTROL + 1] = (PCI_MSIX_FLAGS_ENABLE | PCI_MSIX_FLAGS_MASKALL) >> 8;
    put_le32(d->config + cap + MSIX_TABLE, table_off | bar);
    put_le32(d->config + cap + MSIX_PBA, pba_off | bar);
    d->msix = m;
    return 0;
}

static uint16_t msix_control(const struct pci_msix *m)
{
    return pci_config_get16(m->dev, m->cap + MSIX_CONTROL);
}

bool pci_msix_enabled(const struct pci_msix *m)
{
    return msix_control(m) & PCI_MSIX_FLAGS_ENABLE;
}

static bool msix_masked(const struct pci_msix *m, unsigned v)
{
    return (msix_control(m) & PCI_MSIX_FLAGS_MASKALL) || (m->table[v].ctrl & PCI_MSIX_ENTRY_MASKED);
}

static void msix_send(struct pci_msix *m, unsigned v)
{
    const struct pci_msix_entry *e = &m->table[v];
    uint64_t addr = (uint64_t)e->addr_hi << 32 | e->addr_lo;
    int r = pci_device_msi(m->dev, addr, e->data);
    if (r < 0 && r != -EPERM)
        log_debug("pci %s: MSI-X vector %u to %#llx: %s", m->dev->name, v, (unsigned long long)addr,
                  strerror(-r));
}

bool pci_msix_notify(struct pci_msix *m, unsigned v)
{
    if (!pci_msix_enabled(m))
        return false;
    if (v >= m->nvectors)
        return true;
    if (msix_masked(m, v))
        m->pba |= 1ULL << v;
    else
        msix_send(m, v);
    return true;
}

/* Send what became unmasked. */
static void msix_flush_pending(struct pci_msix *m)
{
    if (!pci_msix_enabled(m))
        return;
    for (unsigned v = 0; v < m->nvectors; v++) {
        if ((m->pba >> v & 1) && !msix_masked(m, v)) {
            m->pba &= ~(1ULL << v);
            msix_send(m, v);
        }
    }
}

void pci_msix_config_written(struct pci_msix *m, unsigned off, unsigned size)
{
    unsigned ctl = m->cap + MSIX_CONTROL;
    if (off < ctl + 2 && ctl < off + size)
        msix_flush_pending(m);
}

static uint32_t table_read32(const struct pci_msix *m, uint64_t off)
{
    const struct pci_msix_entry *e = &m->table[off / PCI_MSIX_ENTRY_SIZE];
    const uint32_t words[4] = {e->addr_lo, e->addr_hi, e->data, e->ctrl};
    return words[(off % PCI_MSIX_ENTRY_SIZE) / 4];
}

static void table_write32(struct pci_msix *m, uint64_t off, uint32_t value)
{
    unsigned v = (unsigned)(off / PCI_MSIX_ENTRY_SIZE);
    struct pci_msix_entry *e = &m->table[v];
    switch ((off % PCI_MSIX_ENTRY_SIZE) / 4) {
    case 0:
        e->addr_lo = value & ~3u; /* dword aligned */
        break;
    case 1:
        e->addr_hi = value;
        break;
    case 2:
        e->data = value;
        break;
    default:
        e->ctrl = value & PCI_MSIX_ENTRY_MASKED;
        msix_flush_pending(m);
        break;
    }
}

/* Which dword of the table or the PBA off names, if any. */
enum msix_area { MSIX_NONE, MSIX_IN_TABLE, MSIX_IN_PBA };

static enum msix_area msix_area(const struct pci_msix *m, uint64_t off, uint64_t *rel)
{
    uint64_t table_len = (uint64_t)m->nvectors * PCI_MSIX_ENTRY_SIZE;
    uint64_t pba_len = ((m->nvectors + 63) / 64) * 8;
    if (off >= m->table_off && off - m->table_off < table_len) {
        *rel = off - m->table_off;
        return MSIX_IN_TABLE;
    }
    if (off >= m->pba_off && off - m->pba_off < pba_len) {
        *rel = off - m->pba_off;
        return MSIX_IN_PBA;
    }
    return MSIX_NONE;
}

static uint32_t msix_read32(struct pci_msix *m, uint64_t off)
{
    uint64_t rel;
    switch (msix_area(m, off, &rel)) {
    case MSIX_IN_TABLE:
        return table_read32(m, rel);
    case MSIX_IN_PBA:
        return (uint32_t)(m->pba >> (8 * rel));
    default:
        return 0;
    }
}

static void msix_write32(struct pci_msix *m, uint64_t off, uint32_t value)
{
    uint64_t rel;
    if (msix_area(m, off, &rel) == MSIX_IN_TABLE)
        table_write32(m, rel, value);
}

uint64_t pci_msix_bar_read(void *opaque, uint64_t off, unsigned size)
{
    struct pci_msix *m = opaque;
    if ((size != 4 && size != 8) || (off & (size - 1)))
        return 0;
    uint64_t v = msix_read32(m, off);
    if (size == 8)
        v |= (uint64_t)msix_read32(m, off + 4) << 32;
    return v;
}

void pci_msix_bar_write(void *opaque, uint64_t off, unsigned size, uint64_t value)
{
    struct pci_msix *m = opaque;
    if ((size != 4 && size != 8) || (off & (size - 1)))
        return;
    msix_write32(m, off, (uint32_t)value);
    if (size == 8)
        msix_write32(m, off + 4, (uint32_t)(value >> 32));
}

const struct bus_ops pci_msix_bar_ops = {pci_msix_bar_read, pci_msix_bar_write};
