/* poweroff: ACPI soft-off (S5) the way an OS does it. The FADT (found
 * through the RSDP and the XSDT, or RSDT) names the PM1 control blocks and
 * the DSDT; the DSDT's \_S5 package gives the sleep types. Writing
 * SLP_TYPa << 10 | SLP_EN to PM1a_CNT (and SLP_TYPb to PM1b_CNT, if there
 * is one) turns the machine off: xuni exits with status 0. If the guest is
 * still running a few seconds later, the test fails. */
#include "guest.h"

/* FADT fields (ACPI 6.x, table 5.9), as byte offsets. */
#define FADT_DSDT         40
#define FADT_PM1A_CNT_BLK 64
#define FADT_PM1B_CNT_BLK 68
#define FADT_PM1_CNT_LEN  89
#define FADT_X_DSDT       140
#define FADT_X_DSDT_END   148

#define ACPI_HEADER_SIZE 36

#define PM1_SLP_TYP_SHIFT 10
#define PM1_SLP_EN        (1u << 13)

/* AML opcodes (ACPI 6.x, 20.2) */
#define AML_NAME_OP    0x08
#define AML_ROOT_CHAR  0x5c
#define AML_PACKAGE_OP 0x12
#define AML_ZERO_OP    0x00
#define AML_ONE_OP     0x01
#define AML_BYTE_PFX   0x0a
#define AML_WORD_PFX   0x0b
#define AML_DWORD_PFX  0x0c

struct sleep_type {
    unsigned a, b;
};

static uint32_t rd32(const uint8_t *p)
{
    uint32_t v;
    memcpy(&v, p, 4);
    return v;
}

/* One integer element of a package at *p (a constant: the forms _S5 uses);
 * advances *p. False for anything else. */
static bool aml_integer(const uint8_t **p, const uint8_t *end, unsigned *value)
{
    const uint8_t *q = *p;
    if (q >= end)
        return false;
    unsigned size = *q == AML_BYTE_PFX ? 1 : *q == AML_WORD_PFX ? 2 : *q == AML_DWORD_PFX ? 4 : 0;
    if (*q == AML_ZERO_OP || *q == AML_ONE_OP) {
        *value = *q;
        *p = q + 1;
        return true;
    }
    if (!size || q + 1 + size > end)
        return false;
    *value = 0;
    for (unsigned i = 0; i < size; i++)
        *value |= (unsigned)q[1 + i] << (8 * i);
    *p = q + 1 + size;
    return true;
}

/* Name (_S5, Package (n) { SLP_TYPa, SLP_TYPb, ... }), found by a byte
 * search as simple OS loaders do. */
static bool dsdt_s5(const uint8_t *dsdt, struct sleep_type *out)
{
    const uint8_t *end = dsdt + rd32(dsdt + 4);
    for (const uint8_t *p = dsdt + ACPI_HEADER_SIZE + 1; p + 4 < end; p++) {
        if (memcmp(p, "_S5_", 4) != 0)
            continue;
        if (p[-1] != AML_NAME_OP && !(p[-1] == AML_ROOT_CHAR && p[-2] == AML_NAME_OP))
            continue;
        const uint8_t *q = p + 4;
        if (*q++ != AML_PACKAGE_OP || q >= end)
            continue;
        q += 1 + (*q >> 6); /* PkgLength: the lead byte says how many follow */
        q++;                /* NumElements */
        if (aml_integer(&q, end, &out->a) && aml_integer(&q, end, &out->b))
            return true;
    }
    return false;
}

static void power_off(uint16_t pm1a, uint16_t pm1b, const struct sleep_type *s5)
{
    uint16_t a = (uint16_t)(s5->a << PM1_SLP_TYP_SHIFT | PM1_SLP_EN);
    uint16_t b = (uint16_t)(s5->b << PM1_SLP_TYP_SHIFT | PM1_SLP_EN);
    printf("writing 0x%x to PM1a_CNT (port 0x%x)\n", a, pm1a);
    /* The spec writes PM1b first: PM1a's write may take effect at once. */
    if (pm1b)
        outw(pm1b, b);
    outw(pm1a, a);
    uint64_t start = rdtsc();
    while (rdtsc() - start < TSC_TIMEOUT)
        cpu_relax();
    check(false, "still running after the S5 write");
}

void guest_main(uint32_t magic, uint32_t info)
{
    (void)magic;
    (void)info;
    printf("poweroff guest\n");
    const uint8_t *fadt = acpi_find_table("FACP");
    if (!check(fadt != NULL, "no FADT"))
        return;
    uint32_t length = rd32(fadt + 4);
    uint32_t pm1a = rd32(fadt + FADT_PM1A_CNT_BLK), pm1b = rd32(fadt + FADT_PM1B_CNT_BLK);
    printf("FADT revision %u: PM1a_CNT_BLK 0x%x, PM1b_CNT_BLK 0x%x, PM1_CNT_LEN %u\n", fadt[8],
           pm1a, pm1b, fadt[FADT_PM1_CNT_LEN]);
    if (!check(pm1a != 0 && pm1a <= 0xffff, "no PM1a control block") ||
        !check(pm1b <= 0xffff, "PM1b control block is not a port") ||
        !check(fadt[FADT_PM1_CNT_LEN] >= 2, "PM1_CNT_LEN < 2"))
        return;

    uint64_t dsdt_addr = rd32(fadt + FADT_DSDT);
    if (length >= FADT_X_DSDT_END) {
        uint64_t x;
        memcpy(&x, fadt + FADT_X_DSDT, 8);
        if (x)
            dsdt_addr = x;
    }
    const uint8_t *dsdt = acpi_table_at(dsdt_addr, "DSDT");
    if (!check(dsdt != NULL, "no valid DSDT at 0x%lx", dsdt_addr))
        return;
    struct sleep_type s5;
    if (!check(dsdt_s5(dsdt, &s5), "no \\_S5 package in the DSDT"))
        return;
    printf("\\_S5: SLP_TYPa %u SLP_TYPb %u\n", s5.a, s5.b);
    if (!check(s5.a < 8 && s5.b < 8, "SLP_TYP values do not fit 3 bits"))
        return;
    power_off((uint16_t)pm1a, (uint16_t)pm1b, &s5);
}
