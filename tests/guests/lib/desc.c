/* The extended descriptor tables for guests that leave flat ring 0: a GDT
 * that repeats start.S's selectors and adds ring-3 segments, a 64-bit TSS
 * and free slots (defs.h); IDT gate attributes (DPL, IST, present); and
 * user_init(), which makes the first 4 MiB (the image, its stacks and data)
 * reachable from ring 3 for user_run() (user.S).
 *
 * Everything is initialised statically where it can be: each ring-0
 * instruction costs about 1 us on the nested KVM of our hosts. */
#include "guest.h"

#define PTE_U     0x4ULL
#define ADDR_MASK 0x000ffffffffff000ULL

#define IDT_IST_MASK  0x7
#define IDT_DPL_SHIFT 5
#define IDT_DPL_MASK  (3u << IDT_DPL_SHIFT)
#define IDT_PRESENT   0x80

#define TSS_AVAILABLE 0x89 /* present, 64-bit TSS (available) */

struct tss64 guest_tss = {
    .iomap_base = offsetof(struct tss64, iomap),
    .iomap = {[0 ... TSS_IOMAP_BYTES] = 0xff}, /* every port denied, and the end marker */
};

static uint64_t guest_gdt_ext[GUEST_GDT_SLOTS] __attribute__((aligned(16))) = {
    [GUEST_CS64 / 8] = 0x00af9a000000ffff,  /* 64-bit code */
    [GUEST_DS / 8] = 0x00cf92000000ffff,    /* flat data */
    [GUEST_CS32 / 8] = 0x00cf9a000000ffff,  /* flat 32-bit code */
    [GUEST_UCS32 / 8] = 0x00cffa000000ffff, /* DPL 3: 32-bit code */
    [GUEST_UDS / 8] = 0x00cff2000000ffff,   /* DPL 3: flat data */
    [GUEST_UCS64 / 8] = 0x00affa000000ffff, /* DPL 3: 64-bit code */
};

static bool desc_loaded;

uint64_t seg_desc(uint32_t base, uint32_t limit, unsigned access, unsigned flags)
{
    return (limit & 0xffffULL) | ((uint64_t)(base & 0xffffff) << 16) |
           ((uint64_t)(access & 0xff) << 40) | ((uint64_t)((limit >> 16) & 0xf) << 48) |
           ((uint64_t)(flags & 0xf) << 52) | ((uint64_t)(base >> 24) << 56);
}

void gdt_set(unsigned selector, uint64_t desc)
{
    guest_gdt_ext[(selector / 8) % GUEST_GDT_SLOTS] = desc;
}

void desc_init(void)
{
    if (desc_loaded)
        return; /* ltr would fault on the now busy TSS */
    uint64_t base = (uintptr_t)&guest_tss;
    gdt_set(GUEST_TSS, seg_desc((uint32_t)base, sizeof(guest_tss) - 1, TSS_AVAILABLE, 0));
    gdt_set(GUEST_TSS + 8, base >> 32);
    struct {
        uint16_t limit;
        uint64_t base;
    } __attribute__((packed)) gdtr = {sizeof(guest_gdt_ext) - 1, (uintptr_t)guest_gdt_ext};
    /* The first four descriptors equal start.S's: the loaded segments stay. */
    __asm__ volatile("lgdt %0; ltr %w1" ::"m"(gdtr), "r"(GUEST_TSS) : "memory");
    desc_loaded = true;
}

static uint8_t *idt_gate(unsigned vector)
{
    struct {
        uint16_t limit;
        uint64_t base;
    } __attribute__((packed)) idtr;
    __asm__ volatile("sidt %0" : "=m"(idtr));
    return (uint8_t *)idtr.base + 16 * (vector & 0xff);
}

void idt_set_attr(unsigned vector, unsigned dpl, unsigned ist, bool present)
{
    uint8_t *gate = idt_gate(vector);
    gate[4] = (uint8_t)(ist & IDT_IST_MASK);
    gate[5] = (uint8_t)((gate[5] & ~(IDT_DPL_MASK | IDT_PRESENT)) | ((dpl & 3) << IDT_DPL_SHIFT) |
                        (present ? IDT_PRESENT : 0));
}

void user_init(void)
{
    desc_init();
    /* U on every level that maps 0-4 MiB; the 2 MiB pages stay writable. */
    uint64_t *pml4 = (uint64_t *)guest_pml4;
    pml4[0] |= PTE_U;
    uint64_t *pdpt = (uint64_t *)(pml4[0] & ADDR_MASK);
    pdpt[0] |= PTE_U;
    uint64_t *pd = (uint64_t *)(pdpt[0] & ADDR_MASK);
    pd[0] |= PTE_U;
    pd[1] |= PTE_U;
    write_cr3(read_cr3());
    trap_init(); /* it ends ring-3 code (user.S) */
}
