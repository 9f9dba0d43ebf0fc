/* ACPI tables (ACPI 6.x, chapter 5), written straight into the guest's BIOS
 * area through a bump allocator.
 *
 * Order: the RSDP's slot first (so it sits at the aligned start of the
 * area), then FACS and DSDT (the FADT points at them), then every table in
 * acpi_tables[] (each listed in both RSDT and XSDT), then RSDT and XSDT, and
 * last the RSDP's contents, which need their addresses. A table is built
 * between acpi_begin() and acpi_end(), which fills in length and checksum;
 * adding one to the root tables is one line in acpi_tables[].
 */
#include "boot/acpi.h"

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <string.h>

#include "boot/aml.h"
#include "hw/acpi_pm.h"
#include "util/bytes.h"
#include "util/log.h"
#include "vm/layout.h"

_Static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "ACPI tables are little-endian");

struct acpi_header {
    char signature[4];
    uint32_t length;
    uint8_t revision;
    uint8_t checksum;
    char oem_id[6];
    char oem_table_id[8];
    uint32_t oem_revision;
    char creator_id[4];
    uint32_t creator_revision;
} __attribute__((packed));

struct acpi_rsdp {
    char signature[8]; /* "RSD PTR " */
    uint8_t checksum;  /* of the first 20 bytes (the ACPI 1.0 part) */
    char oem_id[6];
    uint8_t revision;
    uint32_t rsdt_addr;
    uint32_t length;
    uint64_t xsdt_addr;
    uint8_t ext_checksum; /* of all 36 bytes */
    uint8_t reserved[3];
} __attribute__((packed));

struct acpi_facs {
    char signature[4]; /* "FACS", no checksum */
    uint32_t length;
    uint32_t hw_signature;
    uint32_t waking_vector;
    uint32_t global_lock;
    uint32_t flags;
    uint64_t x_waking_vector;
    uint8_t version;
    uint8_t reserved[3];
    uint32_t ospm_flags;
    uint8_t reserved2[24];
} __attribute__((packed));

/* Generic Address Structure */
struct acpi_gas {
    uint8_t space_id;
    uint8_t bit_width;
    uint8_t bit_offset;
    uint8_t access_size; /* 1 byte, 2 word, 3 dword, 4 qword */
    uint64_t address;
} __attribute__((packed));

#define ACPI_GAS_IO       1
#define ACPI_ACCESS_BYTE  1
#define ACPI_ACCESS_WORD  2
#define ACPI_ACCESS_DWORD 3

struct acpi_fadt {
    struct acpi_header h;
    uint32_t firmware_ctrl;
    uint32_t dsdt;
    uint8_t reserved0;
    uint8_t preferred_pm_profile;
    uint16_t sci_int;
    uint32_t smi_cmd;
    uint8_t acpi_enable, acpi_disable, s4bios_req, pstate_cnt;
    uint32_t pm1a_evt_blk, pm1b_evt_blk, pm1a_cnt_blk, pm1b_cnt_blk, pm2_cnt_blk, pm_tmr_blk;
    uint32_t gpe0_blk, gpe1_blk;
    uint8_t pm1_evt_len, pm1_cnt_len, pm2_cnt_len, pm_tmr_len, gpe0_blk_len, gpe1_blk_len;
    uint8_t gpe1_base, cst_cnt;
    uint16_t p_lvl2_lat, p_lvl3_lat, flush_size, flush_stride;
    uint8_t duty_offset, duty_width, day_alrm, mon_alrm, century;
    uint16_t iapc_boot_arch;
    uint8_t reserved1;
    uint32_t flags;
    struct acpi_gas reset_reg;
    uint8_t reset_value;
    uint16_t arm_boot_arch;
    uint8_t minor_version;
    uint64_t x_firmware_ctrl;
    uint64_t x_dsdt;
    struct acpi_gas x_pm1a_evt_blk, x_pm1b_evt_blk, x_pm1a_cnt_blk, x_pm1b_cnt_blk;
    struct acpi_gas x_pm2_cnt_blk, x_pm_tmr_blk, x_gpe0_blk, x_gpe1_blk;
    struct acpi_gas sleep_control_reg, sleep_status_reg;
    uint64_t hypervisor_vendor_id;
} __attribute__((packed));

#define FADT_REVISION      6
#define FADT_WBINVD        (1u << 0)
#define FADT_PROC_C1       (1u << 2)
#define FADT_SLP_BUTTON    (1u << 5) /* no fixed-feature sleep button */
#define FADT_RESET_REG_SUP (1u << 10)
#define FADT_BOOT_LEGACY   (1u << 0) /* ISA devices (RTC, UART, PIT) present */
#define FADT_BOOT_8042     (1u << 1)
#define FADT_NO_C2         0x0fff /* P_LVL2_LAT > 100: C2 not supported */
#define FADT_NO_C3         0x0fff /* P_LVL3_LAT > 1000: C3 not supported */

struct acpi_madt {
    struct acpi_header h;
    uint32_t lapic_addr;
    uint32_t flags;
} __attribute__((packed));

#define MADT_REVISION    4
#define MADT_PCAT_COMPAT 1

struct madt_lapic {
    uint8_t type, length, processor_id, apic_id;
    uint32_t flags;
} __attribute__((packed));

struct madt_ioapic {
    uint8_t type, length, id, reserved;
    uint32_t address;
    uint32_t gsi_base;
} __attribute__((packed));

struct madt_override {
    uint8_t type, length, bus, source;
    uint32_t gsi;
    uint16_t flags;
} __attribute__((packed));

struct madt_lapic_nmi {
    uint8_t type, length, processor_id;
    uint16_t flags;
    uint8_t lint;
} __attribute__((packed));

enum madt_type { MADT_LAPIC = 0, MADT_IOAPIC = 1, MADT_OVERRIDE = 2, MADT_LAPIC_NMI = 4 };

#define MADT_LAPIC_ENABLED  1
#define MADT_ALL_PROCESSORS 0xff
#define MADT_ACTIVE_HIGH    0x1
#define MADT_LEVEL          0xc

/* MCFG (PCI Firmware Specification 3.0, section 4.1.2): one entry per
 * ECAM window. */
struct acpi_mcfg {
    struct acpi_header h;
    uint64_t reserved;
} __attribute__((packed));

struct mcfg_entry {
    uint64_t base;
    uint16_t segment;
    uint8_t start_bus, end_bus;
    uint32_t reserved;
} __attribute__((packed));

_Static_assert(sizeof(struct acpi_header) == 36, "ACPI header");
_Static_assert(sizeof(struct acpi_mcfg) == 44 && sizeof(struct mcfg_entry) == 16, "MCFG");
_Static_assert(sizeof(struct acpi_rsdp) == 36, "RSDP");
_Static_assert(sizeof(struct acpi_facs) == 64, "FACS");
_Static_assert(sizeof(struct acpi_gas) == 12, "GAS");
_Static_assert(offsetof(struct acpi_fadt, reset_reg) == 116, "FADT RESET_REG");
_Static_assert(offsetof(struct acpi_fadt, x_pm1a_evt_blk) == 148, "FADT X_PM1a_EVT_BLK");
_Static_assert(sizeof(struct acpi_fadt) == 276, "FADT (ACPI 6)");
_Static_assert(sizeof(struct madt_lapic) == 8 && sizeof(struct madt_ioapic) == 12 &&
                   sizeof(struct madt_override) == 10 && sizeof(struct madt_lapic_nmi) == 6,
               "MADT entries");

/* ISA interrupts whose GSI or signalling differ from IRQ n -> GSI n, edge, high. */
static const struct {
    uint8_t irq;
    uint32_t gsi;
    uint16_t flags;
} madt_overrides[] = {
    {LAYOUT_IRQ_PIT, LAYOUT_GSI_PIT, 0},
    {LAYOUT_IRQ_SCI, LAYOUT_IRQ_SCI, MADT_ACTIVE_HIGH | MADT_LEVEL},
};

/* The DSDT's AML, encoded by hand (ACPI spec, "ACPI Machine Language"). */
/* clang-format off */
static const uint8_t dsdt_aml[] = {
    /* Name (_S5, Package (4) { 5, 5, 0, 0 }): SLP_TYPa, SLP_TYPb for soft-off */
    0x08, '_', 'S', '5', '_',   /* NameOp, NameSeg "_S5_" */
    0x12, 0x08, 0x04,           /* PackageOp, PkgLength 8, NumElements 4 */
    0x0a, ACPI_PM_SLP_TYP_S5,   /* BytePrefix 5 */
    0x0a, ACPI_PM_SLP_TYP_S5,   /* BytePrefix 5 */
    0x00, 0x00,                 /* ZeroOp, ZeroOp */
};
/* clang-format on */

struct acpi_writer {
    uint8_t *base; /* host mapping of [gpa, gpa + size) */
    uint64_t gpa;
    size_t size;
    size_t used;
    size_t table;         /* offset of the table being built */
    const char *building; /* its signature, for the message if it does not fit */
    bool overflow;
    unsigned ncpus;
    uint64_t facs, dsdt;
};

static void *acpi_alloc(struct acpi_writer *w, size_t len, size_t align)
{
    size_t start = (w->used + align - 1) & ~(align - 1);
    if (w->overflow || start > w->size || len > w->size - start) {
        w->overflow = true;
        return NULL;
    }
    w->used = start + len;
    return w->base + start;
}

static uint64_t acpi_gpa(const struct acpi_writer *w, const void *p)
{
    return w->gpa + (uint64_t)((const uint8_t *)p - w->base);
}

/* Start a table whose fixed part (header included) is fixed_len bytes. */
static void *acpi_begin(struct acpi_writer *w, const char *signature, uint8_t revision,
                        size_t fixed_len)
{
    w->building = signature;
    struct acpi_header *h = acpi_alloc(w, fixed_len, 16);
    if (!h)
        return NULL;
    memcpy(h->signature, signature, sizeof(h->signature));
    h->revision = revision;
    memcpy(h->oem_id, ACPI_OEM_ID, sizeof(h->oem_id));
    memcpy(h->oem_table_id, ACPI_OEM_TABLE_ID, sizeof(h->oem_table_id));
    h->oem_revision = 1;
    memcpy(h->creator_id, ACPI_CREATOR_ID, sizeof(h->creator_id));
    h->creator_revision = 1;
    w->table = (size_t)((uint8_t *)h - w->base);
    return h;
}

/* Append to the table being built; on overflow acpi_end() reports it. */
static void acpi_append(struct acpi_writer *w, const void *data, size_t len)
{
    void *p = acpi_alloc(w, len, 1);
    if (p)
        memcpy(p, data, len);
}

/* Finish the table begun at h: length and checksum; its address in *addr. */
static int acpi_end(struct acpi_writer *w, void *table, uint64_t *addr)
{
    struct acpi_header *h = table;
    if (w->overflow)
        return -ENOSPC;
    h->length = (uint32_t)(w->used - w->table);
    h->checksum = 0;
    h->checksum = bytes_checksum8(h, h->length);
    *addr = acpi_gpa(w, h);
    return 0;
}

static int acpi_build_facs(struct acpi_writer *w)
{
    w->building = "FACS";
    struct acpi_facs *facs = acpi_alloc(w, sizeof(*facs), 64); /* 64-byte aligned */
    if (!facs)
        return -ENOSPC;
    memcpy(facs->signature, "FACS", 4);
    facs->length = sizeof(*facs);
    facs->version = 2;
    w->facs = acpi_gpa(w, facs);
    return 0;
}

/* Name (_CRS, ResourceTemplate () { ... }) of the PCI host bridge: the
 * buses, the configuration ports it consumes, and the I/O and memory
 * windows it forwards (all I/O ports but the configuration ones). */
static void dsdt_pci_crs(struct aml *a)
{
    uint8_t buf[128];
    struct aml r;
    aml_init(&r, buf, sizeof(buf));
    aml_res_bus_range(&r, 0, LAYOUT_PCI_ECAM_BUSES - 1);
    aml_res_io(&r, LAYOUT_PORT_PCI_CONFIG, 8);
    aml_res_io_range(&r, 0, LAYOUT_PORT_PCI_CONFIG - 1);
    aml_res_io_range(&r, LAYOUT_PORT_PCI_CONFIG + 8, 0xffff);
    aml_res_mem_range(&r, (uint32_t)LAYOUT_PCI_MMIO_START, (uint32_t)(LAYOUT_PCI_MMIO_END - 1));
    aml_res_end(&r);
    aml_name(a, "_CRS");
    aml_buffer(a, buf, r.overflow ? 0 : r.len);
}

/* Name (_PRT, Package () { Package () { slot << 16 | 0xffff, pin, 0, GSI },
 * ... }): every pin of every slot straight to its IOAPIC input (no link
 * devices), as layout_pci_intx_gsi() wires them. */
static void dsdt_pci_prt(struct aml *a)
{
    aml_name(a, "_PRT");
    size_t prt = aml_package_begin(a, LAYOUT_PCI_SLOTS * 4);
    for (unsigned slot = 0; slot < LAYOUT_PCI_SLOTS; slot++) {
        for (unsigned pin = 0; pin < 4; pin++) {
            size_t e = aml_package_begin(a, 4);
            aml_int(a, (uint64_t)slot << 16 | 0xffff);
            aml_int(a, pin);
            aml_int(a, 0);
            aml_int(a, layout_pci_intx_gsi(slot, pin));
            aml_end(a, e);
        }
    }
    aml_end(a, prt);
}

/* \_SB.PCI0, the PCIe host bridge of segment 0 (its ECAM is in the MCFG),
 * and \_SB.MRES, the motherboard resource that reserves the ECAM window
 * (Linux wants it reserved before it uses MMCONFIG). */
static void dsdt_pci(struct aml *a)
{
    size_t sb = aml_scope_begin(a, "\\_SB");
    size_t dev = aml_device_begin(a, "PCI0");
    aml_name(a, "_HID");
    aml_eisaid(a, "PNP0A08");
    aml_name(a, "_CID");
    aml_eisaid(a, "PNP0A03");
    aml_name(a, "_UID");
    aml_int(a, 0);
    aml_name(a, "_SEG");
    aml_int(a, 0);
    aml_name(a, "_BBN");
    aml_int(a, 0);
    /* _OSC grants what the OS asks for: there are no PCIe ports, hot plug
     * or AER here that firmware would keep for itself. */
    size_t osc = aml_method_begin(a, "_OSC", 4);
    aml_return(a);
    aml_arg(a, 3);
    aml_end(a, osc);
    dsdt_pci_crs(a);
    dsdt_pci_prt(a);
    aml_end(a, dev);

    dev = aml_device_begin(a, "MRES");
    aml_name(a, "_HID");
    aml_eisaid(a, "PNP0C02");
    aml_name(a, "_UID");
    aml_int(a, 1);
    uint8_t buf[32];
    struct aml r;
    aml_init(&r, buf, sizeof(buf));
    aml_res_mem32_fixed(&r, (uint32_t)LAYOUT_PCI_ECAM_BASE, (uint32_t)LAYOUT_PCI_ECAM_SIZE);
    aml_res_end(&r);
    aml_name(a, "_CRS");
    aml_buffer(a, buf, r.len);
    aml_end(a, dev);
    aml_end(a, sb);
}

static int acpi_build_dsdt(struct acpi_writer *w)
{
    struct acpi_header *h = acpi_begin(w, "DSDT", 2, sizeof(*h));
    if (!h)
        return -ENOSPC;
    acpi_append(w, dsdt_aml, sizeof(dsdt_aml));
    uint8_t buf[4096];
    struct aml a;
    aml_init(&a, buf, sizeof(buf));
    dsdt_pci(&a);
    if (a.overflow)
        return -ENOSPC;
    acpi_append(w, buf, a.len);
    return acpi_end(w, h, &w->dsdt);
}

static struct acpi_gas acpi_io_gas(uint64_t port, unsigned len, uint8_t access_size)
{
    return (struct acpi_gas){ACPI_GAS_IO, (uint8_t)(8 * len), 0, access_size, port};
}

static int acpi_build_fadt(struct acpi_writer *w, uint64_t *addr)
{
    struct acpi_fadt *f = acpi_begin(w, "FACP", FADT_REVISION, sizeof(*f));
    if (!f)
        return -ENOSPC;
    /* X_FIRMWARE_CTRL stays 0: the spec requires it when FIRMWARE_CTRL is
     * set, and Linux would install the FACS twice otherwise. */
    f->firmware_ctrl = (uint32_t)w->facs;
    f->dsdt = (uint32_t)w->dsdt;
    f->x_dsdt = w->dsdt;
    f->sci_int = LAYOUT_IRQ_SCI;
    f->smi_cmd = 0; /* no SMM: always in ACPI mode, SCI_EN reads 1 */

    f->pm1a_evt_blk = LAYOUT_PORT_ACPI_PM1A_EVT;
    f->pm1a_cnt_blk = LAYOUT_PORT_ACPI_PM1A_CNT;
    f->pm_tmr_blk = LAYOUT_PORT_ACPI_PM_TMR;
    f->pm1_evt_len = ACPI_PM_EVT_LEN;
    f->pm1_cnt_len = ACPI_PM_CNT_LEN;
    f->pm_tmr_len = ACPI_PM_TMR_LEN;
    f->x_pm1a_evt_blk = acpi_io_gas(LAYOUT_PORT_ACPI_PM1A_EVT, ACPI_PM_EVT_LEN, ACPI_ACCESS_WORD);
    f->x_pm1a_cnt_blk = acpi_io_gas(LAYOUT_PORT_ACPI_PM1A_CNT, ACPI_PM_CNT_LEN, ACPI_ACCESS_WORD);
    f->x_pm_tmr_blk = acpi_io_gas(LAYOUT_PORT_ACPI_PM_TMR, ACPI_PM_TMR_LEN, ACPI_ACCESS_DWORD);

    f->p_lvl2_lat = FADT_NO_C2;
    f->p_lvl3_lat = FADT_NO_C3;
    f->iapc_boot_arch = FADT_BOOT_LEGACY | FADT_BOOT_8042;
    /* TMR_VAL_EXT clear: the PM timer is 24 bits. PWR_BUTTON clear: the
     * fixed-feature power button exists (acpi_pm_press_power_button). */
    f->flags = FADT_WBINVD | FADT_PROC_C1 | FADT_SLP_BUTTON | FADT_RESET_REG_SUP;
    f->reset_reg = acpi_io_gas(ACPI_RESET_PORT, 1, ACPI_ACCESS_BYTE);
    f->reset_value = ACPI_RESET_VALUE;
    return acpi_end(w, f, addr);
}

static int acpi_build_madt(struct acpi_writer *w, uint64_t *addr)
{
    struct acpi_madt *m = acpi_begin(w, "APIC", MADT_REVISION, sizeof(*m));
    if (!m)
        return -ENOSPC;
    m->lapic_addr = (uint32_t)LAYOUT_LAPIC_BASE;
    m->flags = MADT_PCAT_COMPAT;

    for (unsigned i = 0; i < w->ncpus; i++) {
        struct madt_lapic lapic = {MADT_LAPIC, sizeof(lapic), (uint8_t)i, (uint8_t)i,
                                   MADT_LAPIC_ENABLED};
        acpi_append(w, &lapic, sizeof(lapic));
    }
    struct madt_ioapic ioapic = {
        MADT_IOAPIC, sizeof(ioapic), LAYOUT_IOAPIC_ID, 0, (uint32_t)LAYOUT_IOAPIC_BASE, 0};
    acpi_append(w, &ioapic, sizeof(ioapic));
    for (size_t i = 0; i < sizeof(madt_overrides) / sizeof(madt_overrides[0]); i++) {
        struct madt_override o = {
            MADT_OVERRIDE,          sizeof(o), 0, madt_overrides[i].irq, madt_overrides[i].gsi,
            madt_overrides[i].flags};
        acpi_append(w, &o, sizeof(o));
    }
    struct madt_lapic_nmi nmi = {MADT_LAPIC_NMI, sizeof(nmi), MADT_ALL_PROCESSORS, 0, 1};
    acpi_append(w, &nmi, sizeof(nmi));
    return acpi_end(w, m, addr);
}

static int acpi_build_mcfg(struct acpi_writer *w, uint64_t *addr)
{
    struct acpi_mcfg *m = acpi_begin(w, "MCFG", 1, sizeof(*m));
    if (!m)
        return -ENOSPC;
    struct mcfg_entry e = {
        .base = LAYOUT_PCI_ECAM_BASE,
        .segment = 0,
        .start_bus = 0,
        .end_bus = LAYOUT_PCI_ECAM_BUSES - 1,
    };
    acpi_append(w, &e, sizeof(e));
    return acpi_end(w, m, addr);
}

/* The tables the RSDT and XSDT list, in order. */
static int (*const acpi_tables[])(struct acpi_writer *w, uint64_t *addr) = {
    acpi_build_fadt,
    acpi_build_madt,
    acpi_build_mcfg,
};

#define ACPI_NTABLES (sizeof(acpi_tables) / sizeof(acpi_tables[0]))

static int acpi_build_roots(struct acpi_writer *w, const uint64_t *addrs, uint64_t *rsdt,
                            uint64_t *xsdt)
{
    struct acpi_header *h = acpi_begin(w, "RSDT", 1, sizeof(*h));
    if (!h)
        return -ENOSPC;
    for (size_t i = 0; i < ACPI_NTABLES; i++) {
        uint32_t a = (uint32_t)addrs[i];
        acpi_append(w, &a, sizeof(a));
    }
    int r = acpi_end(w, h, rsdt);
    if (r < 0)
        return r;

    h = acpi_begin(w, "XSDT", 1, sizeof(*h));
    if (!h)
        return -ENOSPC;
    for (size_t i = 0; i < ACPI_NTABLES; i++)
        acpi_append(w, &addrs[i], sizeof(addrs[i]));
    return acpi_end(w, h, xsdt);
}

static void acpi_fill_rsdp(struct acpi_rsdp *rsdp, uint64_t rsdt, uint64_t xsdt)
{
    memcpy(rsdp->signature, "RSD PTR ", sizeof(rsdp->signature));
    memcpy(rsdp->oem_id, ACPI_OEM_ID, sizeof(rsdp->oem_id));
    rsdp->revision = 2;
    rsdp->rsdt_addr = (uint32_t)rsdt;
    rsdp->length = sizeof(*rsdp);
    rsdp->xsdt_addr = xsdt;
    rsdp->checksum = bytes_checksum8(rsdp, offsetof(struct acpi_rsdp, length));
    rsdp->ext_checksum = bytes_checksum8(rsdp, sizeof(*rsdp));
}

static int acpi_build_all(struct acpi_writer *w, uint64_t *rsdp_addr)
{
    uint64_t addrs[ACPI_NTABLES] = {0}, rsdt = 0, xsdt = 0;
    w->building = "RSD PTR";
    struct acpi_rsdp *rsdp = acpi_alloc(w, sizeof(*rsdp), 16);
    if (!rsdp)
        return -ENOSPC;
    int r = acpi_build_facs(w);
    if (r == 0)
        r = acpi_build_dsdt(w);
    for (size_t i = 0; r == 0 && i < ACPI_NTABLES; i++)
        r = acpi_tables[i](w, &addrs[i]);
    if (r == 0)
        r = acpi_build_roots(w, addrs, &rsdt, &xsdt);
    if (r < 0)
        return r;
    acpi_fill_rsdp(rsdp, rsdt, xsdt);
    *rsdp_addr = acpi_gpa(w, rsdp);
    return 0;
}

int acpi_build(struct guest_memory *mem, unsigned ncpus, uint64_t *rsdp_addr)
{
    if (ncpus == 0) {
        log_error("ACPI: no CPUs to describe");
        return -EINVAL;
    }
    if (ncpus > LAYOUT_MAX_VCPUS) {
        log_warn("ACPI: describing %u of %u CPUs", LAYOUT_MAX_VCPUS, ncpus);
        ncpus = LAYOUT_MAX_VCPUS;
    }
    struct acpi_writer w = {
        .gpa = LAYOUT_ACPI_START,
        .size = LAYOUT_ACPI_END - LAYOUT_ACPI_START,
        .ncpus = ncpus,
    };
    w.base = guest_memory_ptr(mem, w.gpa, w.size);
    if (!w.base) {
        log_error("ACPI: table area %#llx-%#llx is not guest RAM", (unsigned long long)w.gpa,
                  (unsigned long long)LAYOUT_ACPI_END);
        return -EFAULT;
    }
    /* Nothing stale may look like a table (or an RSDP) to the guest's scan. */
    memset(w.base, 0, w.size);
    int r = acpi_build_all(&w, rsdp_addr);
    if (r == -ENOSPC)
        log_error("ACPI tables for %u CPUs do not fit in %#llx-%#llx (out of room at the %.4s)",
                  ncpus, (unsigned long long)LAYOUT_ACPI_START, (unsigned long long)LAYOUT_ACPI_END,
                  w.building);
    return r;
}
