/* Legacy 32-bit protected mode for test guests: the tables and the C side
 * of legacy_call() (legacy32.h); the mode switches, the 32-bit handler
 * and ring 3 are in legacy32.S. */
#include "legacy32.h"

#define TSS32_AVAILABLE 0x89 /* present, 32-bit TSS (available) */
#define GATE_PRESENT    0x80
#define IDT32_ENTRIES   256

/* The arguments legacy32.S reads (offsets there). */
struct legacy_args {
    uint32_t fn, a, b, c;
    struct legacy_env env;
};

struct tss32 legacy_tss = {
    .ss0 = GUEST_DS, .iomap_base = sizeof(struct tss32), /* no I/O bitmap: ring-3 port I/O faults */
};

/* Room for every vector (a stray one meets an empty gate: #GP with the
 * vector in the error code); handler stubs (legacy32.S) for the first
 * LEGACY_VECTORS. */
uint64_t legacy_idt[IDT32_ENTRIES] __attribute__((aligned(8)));
volatile uint32_t legacy_aborted;

#define VEC_GP 13

extern char legacy_stubs[], legacy_paging_on[];
uint32_t legacy_enter(const struct legacy_args *args);

void legacy_idt_set(unsigned vector, unsigned type, unsigned dpl, bool present)
{
    if (!check(vector < LEGACY_VECTORS, "legacy_idt_set: no handler stub for vector %u", vector))
        return;
    uint32_t off = addr32(legacy_stubs) + 16 * vector;
    unsigned attr = (type & 0xf) | (dpl & 3) << 5 | (present ? GATE_PRESENT : 0);
    legacy_idt[vector] = (off & 0xffff) | (uint64_t)GUEST_CS32 << 16 | (uint64_t)attr << 40 |
                         (uint64_t)(off >> 16) << 48;
}

void legacy_init(void)
{
    desc_init();
    gdt_set(LEGACY_TSS32,
            seg_desc(addr32(&legacy_tss), sizeof(legacy_tss) - 1, TSS32_AVAILABLE, 0));
    for (unsigned v = 0; v < LEGACY_VECTORS; v++)
        legacy_idt_set(v, LEGACY_GATE_INTR, 0, true);
}

void trap32_reset(void)
{
    memset((void *)&trap32, 0, sizeof(trap32));
    trap32.vector = ~0u;
}

uint32_t legacy_call(const void *fn, uint32_t a, uint32_t b, uint32_t c,
                     const struct legacy_env *env)
{
    struct legacy_args args = {addr32(fn), a, b, c, *env};
    legacy_aborted = 0;
    uint32_t r = legacy_enter(&args);
    if (legacy_aborted && trap32.vector == VEC_GP && trap32.eip == addr32(legacy_paging_on))
        guest_host_defect("mov to CR0 setting PG outside long mode raised #GP(0x%x)", trap32.error);
    if (legacy_aborted) {
        printf("unexpected %s (vector %u) error 0x%x in legacy mode at eip 0x%x cs 0x%x",
               exception_name(trap32.vector), trap32.vector, trap32.error, trap32.eip, trap32.cs);
        if (trap32.vector == 14)
            printf(", cr2 0x%x", trap32.cr2);
        printf("\n");
        guest_exit(GUEST_EXIT_EXCEPTION);
    }
    return r;
}
