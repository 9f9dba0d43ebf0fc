/* The firmware tables: ACPI tables by signature (RSDP -> XSDT, or RSDT for
 * ACPI 1.0 firmware such as SeaBIOS), the CPUs of the ACPI MADT, and those
 * of the MP table (MP spec 1.4, chapter 4). The RSDP and the MP floating
 * pointer are searched where the specs say: the first KiB of the EBDA, then
 * the BIOS area (plus, for MP, the last KiB of base memory).
 */
#include "guest.h"

#define BDA_EBDA_SEGMENT 0x40e

static uint8_t sum_bytes(const void *p, size_t len)
{
    const uint8_t *b = p;
    uint8_t sum = 0;
    while (len--)
        sum += *b++;
    return sum;
}

/* First 16-byte aligned structure in [start, end) starting with sig (4 or
 * 8 bytes) whose first len bytes sum to zero. */
static const void *scan(uint64_t start, uint64_t end, const char *sig, size_t siglen, size_t len)
{
    uint32_t first4;
    __builtin_memcpy(&first4, sig, 4);
    for (uint64_t a = start; a + len <= end; a += 16) {
        const void *p = (const void *)a;
        /* A 4-byte compare first: the scan may cover 8k positions. */
        if (*(const uint32_t *)p == first4 && memcmp(p, sig, siglen) == 0 && sum_bytes(p, len) == 0)
            return p;
    }
    return NULL;
}

static uint64_t ebda_base(void)
{
    uint64_t base = (uint64_t) * (volatile uint16_t *)BDA_EBDA_SEGMENT << 4;
    /* Only trust a pointer into the top of conventional memory. */
    return base >= 0x80000 && base < 0xa0000 ? base : 0;
}

/* --- ACPI --- */

struct acpi_rsdp {
    char signature[8];
    uint8_t checksum;
    char oem_id[6];
    uint8_t revision;
    uint32_t rsdt;
    uint32_t length;
    uint64_t xsdt;
    uint8_t ext_checksum;
    uint8_t reserved[3];
} __attribute__((packed));

struct acpi_header {
    char signature[4];
    uint32_t length;
    uint8_t revision, checksum;
    char oem_id[6], oem_table_id[8];
    uint32_t oem_revision, creator_id, creator_revision;
} __attribute__((packed));

#define MADT_ENTRIES_OFFSET 44 /* header, local APIC address, flags */
#define MADT_LOCAL_APIC     0
#define MADT_ENABLED        1u

static const struct acpi_rsdp *find_rsdp(void)
{
    const struct acpi_rsdp *r = NULL;
    uint64_t ebda = ebda_base();
    if (ebda)
        r = scan(ebda, ebda + 1024, "RSD PTR ", 8, 20);
    if (!r)
        r = scan(0xe0000, 0x100000, "RSD PTR ", 8, 20);
    return r;
}

const void *acpi_table_at(uint64_t addr, const char *sig)
{
    const struct acpi_header *h = (const void *)addr;
    if (!addr || addr >= 0x100000000ULL || memcmp(h->signature, sig, 4) != 0)
        return NULL;
    if (h->length < sizeof(*h) || h->length > 0x100000 || sum_bytes(h, h->length) != 0)
        return NULL;
    return h;
}

const void *acpi_find_table(const char *sig)
{
    const struct acpi_rsdp *rsdp = find_rsdp();
    if (!rsdp) {
        printf("acpi: no RSDP\n");
        return NULL;
    }
    const struct acpi_header *root;
    unsigned width;
    if (rsdp->revision >= 2 && rsdp->xsdt) {
        if (sum_bytes(rsdp, rsdp->length) != 0) {
            printf("acpi: bad extended RSDP checksum\n");
            return NULL;
        }
        root = acpi_table_at(rsdp->xsdt, "XSDT");
        width = 8;
    } else {
        root = acpi_table_at(rsdp->rsdt, "RSDT");
        width = 4;
    }
    if (!root) {
        printf("acpi: no valid %s\n", width == 8 ? "XSDT" : "RSDT");
        return NULL;
    }
    const uint8_t *entries = (const uint8_t *)(root + 1);
    unsigned n = (root->length - sizeof(*root)) / width;
    for (unsigned i = 0; i < n; i++) {
        uint64_t addr = 0;
        memcpy(&addr, entries + i * width, width);
        const struct acpi_header *t = acpi_table_at(addr, sig);
        if (t)
            return t;
    }
    printf("acpi: no valid %.4s table\n", sig);
    return NULL;
}

bool acpi_madt_cpus(struct cpu_list *out)
{
    out->count = 0;
    const struct acpi_header *madt = acpi_find_table("APIC");
    if (!madt)
        return false;
    const uint8_t *p = (const uint8_t *)madt + MADT_ENTRIES_OFFSET;
    const uint8_t *end = (const uint8_t *)madt + madt->length;
    while (p + 2 <= end && p[1] >= 2 && p + p[1] <= end) {
        if (p[0] == MADT_LOCAL_APIC && p[1] >= 8) {
            uint32_t flags;
            memcpy(&flags, p + 4, 4);
            if ((flags & MADT_ENABLED) && out->count < ACPI_MAX_CPUS)
                out->apic_id[out->count++] = p[3];
        }
        p += p[1];
    }
    if (p != end) {
        printf("acpi: malformed MADT entry at offset %u\n", (unsigned)(p - (const uint8_t *)madt));
        return false;
    }
    return true;
}

/* --- MP table --- */

struct mp_floating {
    char signature[4]; /* "_MP_" */
    uint32_t config;
    uint8_t length; /* in 16-byte units */
    uint8_t revision, checksum;
    uint8_t features[5];
} __attribute__((packed));

struct mp_config {
    char signature[4]; /* "PCMP" */
    uint16_t length;
    uint8_t revision, checksum;
    char oem_id[8], product_id[12];
    uint32_t oem_table;
    uint16_t oem_table_size, entry_count;
    uint32_t lapic;
    uint16_t ext_length;
    uint8_t ext_checksum, reserved;
} __attribute__((packed));

#define MP_PROCESSOR      0
#define MP_PROCESSOR_SIZE 20
#define MP_OTHER_SIZE     8
#define MP_CPU_ENABLED    1u

bool mptable_cpus(struct cpu_list *out)
{
    out->count = 0;
    const struct mp_floating *fp = NULL;
    uint64_t ebda = ebda_base();
    if (ebda)
        fp = scan(ebda, ebda + 1024, "_MP_", 4, 16);
    if (!fp)
        fp = scan(0x9fc00, 0xa0000, "_MP_", 4, 16);
    if (!fp)
        fp = scan(0xf0000, 0x100000, "_MP_", 4, 16);
    if (!fp) {
        printf("mptable: no floating pointer\n");
        return false;
    }
    const struct mp_config *cfg = (const void *)(uint64_t)fp->config;
    if (!fp->config || fp->features[0] || memcmp(cfg->signature, "PCMP", 4) != 0 ||
        sum_bytes(cfg, cfg->length) != 0) {
        printf("mptable: no valid configuration table\n");
        return false;
    }
    const uint8_t *p = (const uint8_t *)(cfg + 1);
    const uint8_t *end = (const uint8_t *)cfg + cfg->length;
    for (unsigned i = 0; i < cfg->entry_count; i++) {
        unsigned size = p[0] == MP_PROCESSOR ? MP_PROCESSOR_SIZE : MP_OTHER_SIZE;
        if (p + size > end) {
            printf("mptable: entry %u runs past the table\n", i);
            return false;
        }
        if (p[0] == MP_PROCESSOR && (p[3] & MP_CPU_ENABLED) && out->count < ACPI_MAX_CPUS)
            out->apic_id[out->count++] = p[1];
        p += size;
    }
    return true;
}
