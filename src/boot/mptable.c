/* MP Specification 1.4 tables (chapter 4): a 16-byte floating pointer
 * followed by the configuration table header and its entries, built in a
 * local EBDA-sized buffer and copied into guest RAM in one piece, so a
 * failure leaves guest memory untouched. */
#include "boot/mptable.h"

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "util/bytes.h"
#include "util/log.h"
#include "vm/layout.h"

_Static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "MP tables are little-endian");

#define MP_SPEC_REV    4
#define MP_LAPIC_VER   0x14
#define MP_IOAPIC_VER  0x11 /* what the KVM in-kernel IOAPIC reports */
#define MP_ISA_IRQS    16
#define MP_ISA_CASCADE 2 /* the slave PIC's input: no device behind it */

/* A family 6 CPU with FPU, TSC, MSR, CX8 and APIC: enough to look real. */
#define MP_CPU_SIGNATURE ((6u << 8) | (0xfu << 4) | 1u)
#define MP_CPU_FEATURES  ((1u << 0) | (1u << 4) | (1u << 5) | (1u << 8) | (1u << 9))

enum mp_entry_type { MP_PROCESSOR, MP_BUS, MP_IOAPIC, MP_IOINTSRC, MP_LINTSRC };
enum mp_irq_type { MP_INT, MP_NMI, MP_SMI, MP_EXTINT };

#define MP_CPU_ENABLED 0x01
#define MP_CPU_BSP     0x02
#define MP_IOAPIC_EN   0x01
#define MP_ALL_LAPICS  0xff

struct mp_floating {
    char signature[4]; /* "_MP_" */
    uint32_t config_addr;
    uint8_t length; /* in 16-byte units */
    uint8_t spec_rev;
    uint8_t checksum;
    uint8_t feature[5]; /* all 0: a config table exists; virtual wire mode (no IMCR) */
} __attribute__((packed));

struct mp_config {
    char signature[4]; /* "PCMP" */
    uint16_t length;   /* header + base entries */
    uint8_t spec_rev;
    uint8_t checksum;
    char oem_id[8];
    char product_id[12];
    uint32_t oem_table;
    uint16_t oem_table_size;
    uint16_t entry_count;
    uint32_t lapic_addr;
    uint16_t ext_length;
    uint8_t ext_checksum;
    uint8_t reserved;
} __attribute__((packed));

struct mp_processor {
    uint8_t type;
    uint8_t apic_id;
    uint8_t apic_version;
    uint8_t flags;
    uint32_t signature;
    uint32_t features;
    uint32_t reserved[2];
} __attribute__((packed));

struct mp_bus {
    uint8_t type;
    uint8_t bus_id;
    char bus_type[6];
} __attribute__((packed));

struct mp_ioapic {
    uint8_t type;
    uint8_t id;
    uint8_t version;
    uint8_t flags;
    uint32_t addr;
} __attribute__((packed));

/* I/O (type 3) and local (type 4) interrupt assignments share one shape. */
struct mp_intsrc {
    uint8_t type;
    uint8_t irq_type;
    uint16_t flags; /* polarity bits 0-1, trigger bits 2-3; 0 = conforming */
    uint8_t src_bus;
    uint8_t src_irq;
    uint8_t dst_apic;
    uint8_t dst_pin;
} __attribute__((packed));

_Static_assert(sizeof(struct mp_floating) == 16, "MP floating pointer");
_Static_assert(sizeof(struct mp_config) == 44, "MP config header");
_Static_assert(sizeof(struct mp_processor) == 20, "MP processor entry");
_Static_assert(sizeof(struct mp_bus) == 8 && sizeof(struct mp_ioapic) == 8 &&
                   sizeof(struct mp_intsrc) == 8,
               "MP 8-byte entries");

#define MP_IO_INTS    (MP_ISA_IRQS - 1)
#define MP_LOCAL_INTS 2
#define MP_FIXED_SIZE                                                                              \
    (sizeof(struct mp_floating) + sizeof(struct mp_config) + sizeof(struct mp_bus) +               \
     sizeof(struct mp_ioapic) + (MP_IO_INTS + MP_LOCAL_INTS) * sizeof(struct mp_intsrc))
#define MP_PCI_PINS 4 /* INTA-D */

/* With PCI, its bus is MP bus 0 (Linux takes an MP bus id for the PCI bus
 * number) and the ISA bus comes next, as SeaBIOS numbers them. */
#define MP_PCI_BUS 0
static unsigned mp_isa_bus(uint32_t pci_slots)
{
    return pci_slots ? 1 : 0;
}

/* What the PCI bus adds: its bus entry and one entry per slot and pin. */
static size_t mp_pci_size(uint32_t pci_slots)
{
    if (!pci_slots)
        return 0;
    return sizeof(struct mp_bus) +
           (size_t)__builtin_popcount(pci_slots) * MP_PCI_PINS * sizeof(struct mp_intsrc);
}

/* The table under construction: a bump allocator over an EBDA-sized buffer. */
struct mp_writer {
    uint8_t buf[LAYOUT_EBDA_SIZE];
    size_t used;
    bool overflow;
    struct mp_config *config;
};

static void *mp_alloc(struct mp_writer *w, size_t len)
{
    if (len > sizeof(w->buf) - w->used) {
        w->overflow = true;
        return NULL;
    }
    void *p = w->buf + w->used;
    w->used += len;
    return p;
}

/* Append one base-table entry and count it in the header. */
static void mp_add_entry(struct mp_writer *w, const void *entry, size_t len)
{
    void *p = mp_alloc(w, len);
    if (!p)
        return;
    memcpy(p, entry, len);
    w->config->entry_count++;
}

unsigned mptable_max_cpus(uint32_t pci_slots)
{
    size_t fixed = MP_FIXED_SIZE + mp_pci_size(pci_slots);
    if (fixed > LAYOUT_EBDA_SIZE)
        return 0;
    unsigned fit = (unsigned)((LAYOUT_EBDA_SIZE - fixed) / sizeof(struct mp_processor));
    return fit < LAYOUT_MAX_VCPUS ? fit : LAYOUT_MAX_VCPUS;
}

static void mp_add_processors(struct mp_writer *w, unsigned ncpus)
{
    for (unsigned i = 0; i < ncpus; i++) {
        struct mp_processor cpu = {
            .type = MP_PROCESSOR,
            .apic_id = (uint8_t)i,
            .apic_version = MP_LAPIC_VER,
            .flags = MP_CPU_ENABLED | (i == 0 ? MP_CPU_BSP : 0),
            .signature = MP_CPU_SIGNATURE,
            .features = MP_CPU_FEATURES,
        };
        mp_add_entry(w, &cpu, sizeof(cpu));
    }
}

static void mp_add_buses_and_ioapic(struct mp_writer *w, uint32_t pci_slots)
{
    if (pci_slots) {
        struct mp_bus pci = {.type = MP_BUS, .bus_id = MP_PCI_BUS};
        memcpy(pci.bus_type, "PCI   ", sizeof(pci.bus_type));
        mp_add_entry(w, &pci, sizeof(pci));
    }
    struct mp_bus isa = {.type = MP_BUS, .bus_id = (uint8_t)mp_isa_bus(pci_slots)};
    memcpy(isa.bus_type, "ISA   ", sizeof(isa.bus_type));
    mp_add_entry(w, &isa, sizeof(isa));

    struct mp_ioapic ioapic = {
        .type = MP_IOAPIC,
        .id = LAYOUT_IOAPIC_ID,
        .version = MP_IOAPIC_VER,
        .flags = MP_IOAPIC_EN,
        .addr = (uint32_t)LAYOUT_IOAPIC_BASE,
    };
    mp_add_entry(w, &ioapic, sizeof(ioapic));
}

/* ISA IRQ n reaches I/O APIC pin n, except the PIT's IRQ 0 (pin 2, as on
 * real boards and in the MADT override) and the cascade IRQ 2. */
static void mp_add_interrupts(struct mp_writer *w, uint32_t pci_slots)
{
    for (unsigned irq = 0; irq < MP_ISA_IRQS; irq++) {
        if (irq == MP_ISA_CASCADE)
            continue;
        struct mp_intsrc src = {
            .type = MP_IOINTSRC,
            .irq_type = MP_INT,
            .src_bus = (uint8_t)mp_isa_bus(pci_slots),
            .src_irq = (uint8_t)irq,
            .dst_apic = LAYOUT_IOAPIC_ID,
            .dst_pin = (uint8_t)(irq == LAYOUT_IRQ_PIT ? LAYOUT_GSI_PIT : irq),
        };
        mp_add_entry(w, &src, sizeof(src));
    }
    /* PCI INTx: the source is slot << 2 | pin; flags 0 are the PCI bus's
     * default, level triggered and active low, as the ACPI _PRT says too
     * (neither IOAPIC, ours or KVM's, applies the polarity). */
    for (unsigned slot = 0; slot < 32; slot++) {
        for (unsigned pin = 0; (pci_slots >> slot & 1) && pin < MP_PCI_PINS; pin++) {
            struct mp_intsrc src = {
                .type = MP_IOINTSRC,
                .irq_type = MP_INT,
                .src_bus = MP_PCI_BUS,
                .src_irq = (uint8_t)(slot << 2 | pin),
                .dst_apic = LAYOUT_IOAPIC_ID,
                .dst_pin = (uint8_t)layout_pci_intx_gsi(slot, pin),
            };
            mp_add_entry(w, &src, sizeof(src));
        }
    }
    /* The 8259 reaches every LAPIC through LINT0 (virtual wire), NMI through LINT1. */
    static const uint8_t lint_type[MP_LOCAL_INTS] = {MP_EXTINT, MP_NMI};
    for (unsigned pin = 0; pin < MP_LOCAL_INTS; pin++) {
        struct mp_intsrc lint = {
            .type = MP_LINTSRC,
            .irq_type = lint_type[pin],
            .dst_apic = MP_ALL_LAPICS,
            .dst_pin = (uint8_t)pin,
        };
        mp_add_entry(w, &lint, sizeof(lint));
    }
}

/* Linux finds the EBDA through the BDA (segment at 0x40e) and also scans
 * the last KiB of base memory (size in KiB at 0x413). */
static int mp_write_bda(struct guest_memory *mem)
{
    uint16_t ebda_seg = (uint16_t)(LAYOUT_EBDA_START >> 4);
    uint16_t base_kib = (uint16_t)(LAYOUT_LOW_RAM_END >> 10);
    if (guest_memory_write(mem, MPTABLE_BDA_EBDA_SEG, &ebda_seg, sizeof(ebda_seg)) < 0 ||
        guest_memory_write(mem, MPTABLE_BDA_BASE_KIB, &base_kib, sizeof(base_kib)) < 0) {
        log_error("MP table: the BIOS data area is not guest RAM");
        return -EFAULT;
    }
    return 0;
}

int mptable_build(struct guest_memory *mem, unsigned ncpus, uint32_t pci_slots)
{
    struct mp_writer w;
    memset(&w, 0, sizeof(w));

    if (ncpus == 0) {
        log_error("MP table: no CPUs to describe");
        return -EINVAL;
    }
    unsigned max = mptable_max_cpus(pci_slots);
    if (max == 0)
        goto nospace;
    if (ncpus > max) {
        log_warn("MP table: describing %u of %u CPUs (the EBDA holds no more)", max, ncpus);
        ncpus = max;
    }

    struct mp_floating *mpf = mp_alloc(&w, sizeof(*mpf));
    w.config = mp_alloc(&w, sizeof(*w.config));
    if (!mpf || !w.config)
        goto nospace;
    size_t config_off = (uint8_t *)w.config - w.buf;

    mp_add_processors(&w, ncpus);
    mp_add_buses_and_ioapic(&w, pci_slots);
    mp_add_interrupts(&w, pci_slots);
    if (w.overflow)
        goto nospace;

    struct mp_config *mpc = w.config;
    memcpy(mpc->signature, "PCMP", 4);
    mpc->length = (uint16_t)(w.used - config_off);
    mpc->spec_rev = MP_SPEC_REV;
    memcpy(mpc->oem_id, "XUNI    ", sizeof(mpc->oem_id));
    memcpy(mpc->product_id, "XUNIVM      ", sizeof(mpc->product_id));
    mpc->lapic_addr = (uint32_t)LAYOUT_LAPIC_BASE;
    mpc->checksum = bytes_checksum8(mpc, mpc->length);

    memcpy(mpf->signature, "_MP_", 4);
    mpf->config_addr = (uint32_t)(LAYOUT_MP_TABLE + config_off);
    mpf->length = sizeof(*mpf) / 16;
    mpf->spec_rev = MP_SPEC_REV;
    mpf->checksum = bytes_checksum8(mpf, sizeof(*mpf));

    if (guest_memory_write(mem, LAYOUT_MP_TABLE, w.buf, w.used) < 0) {
        log_error("MP table: EBDA at %#llx is not guest RAM", (unsigned long long)LAYOUT_MP_TABLE);
        return -EFAULT;
    }
    return mp_write_bda(mem);

nospace:
    log_error("MP table for %u CPUs does not fit in the %llu-byte EBDA", ncpus,
              (unsigned long long)LAYOUT_EBDA_SIZE);
    return -ENOSPC;
}
