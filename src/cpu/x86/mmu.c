/* The software MMU: page walks, the TLB, MMIO and page-crossing accesses
 * through the bounce buffer, code-page write tracking (mmu.h).
 *
 * Paging modes (SDM Vol. 3 ch. 4): none (CR0.PG = 0: linear = physical),
 * 32-bit (4 KiB pages and, with CR4.PSE, 4 MiB pages), PAE (4 KiB and
 * 2 MiB) and 4-level (4 KiB, 2 MiB, 1 GiB). A TLB entry always covers one
 * 4 KiB piece; large pages remember the linear range they came from so an
 * INVLPG inside it can flush everything (rare: Linux invalidates 4 KiB
 * mappings).
 */
#include <string.h>

#include "cpu/x86/mem.h"
#include "cpu/x86/mmu.h"
#include "cpu/x86/stack.h"

#define PTE_P     (1ull << 0)
#define PTE_RW    (1ull << 1)
#define PTE_US    (1ull << 2)
#define PTE_A     (1ull << 5)
#define PTE_D     (1ull << 6)
#define PTE_PS    (1ull << 7)
#define PTE_G     (1ull << 8)
#define PTE_XD    (1ull << 63)
#define PHYS_BITS 40 /* CPUID 0x80000008 */
#define ADDR_MASK (((1ull << PHYS_BITS) - 1) & ~0xfffull)
#define RSVD_HIGH (((1ull << 52) - 1) & ~((1ull << PHYS_BITS) - 1)) /* bits 51:40 */

/* --- TLB --- */

static void tlb_fill(struct x86_cpu *cpu, unsigned acc, uint64_t lin, uint8_t *host_page,
                     uint64_t gpa, uint64_t flags)
{
    uint64_t page = lin & ~0xfffull;
    struct x86_tlb_entry *e = &cpu->tlb->e[acc][(lin >> 12) & (X86_TLB_SIZE - 1)];
    e->tag = page;
    e->addend = (uintptr_t)host_page - (uintptr_t)page;
    e->phys = (gpa & ~0xfffull) | flags;
}

void x86_flush_tlb(struct x86_cpu *cpu, bool global)
{
    for (unsigned s = 0; s < 2; s++)
        for (unsigned a = 0; a < 3; a++)
            for (unsigned i = 0; i < X86_TLB_SIZE; i++) {
                struct x86_tlb_entry *e = &cpu->tlbs[s].e[a][i];
                if (global || !(e->phys & X86_TLB_GLOBAL))
                    e->tag = X86_TLB_INVALID;
            }
    if (global) {
        cpu->tlb_large_lo = UINT64_MAX;
        cpu->tlb_large_hi = 0;
    }
    cpu->tlb_flushes++;
}

void x86_flush_page(struct x86_cpu *cpu, uint64_t lin)
{
    if (lin >= cpu->tlb_large_lo && lin < cpu->tlb_large_hi) {
        x86_flush_tlb(cpu, true);
        return;
    }
    uint64_t page = lin & ~0xfffull;
    unsigned i = (lin >> 12) & (X86_TLB_SIZE - 1);
    for (unsigned s = 0; s < 2; s++)
        for (unsigned a = 0; a < 3; a++)
            if (cpu->tlbs[s].e[a][i].tag == page)
                cpu->tlbs[s].e[a][i].tag = X86_TLB_INVALID;
}

void x86_tlb_drop_writes(struct x86_cpu *cpu, uint64_t gpa)
{
    uint64_t page = gpa & ~0xfffull;
    for (unsigned s = 0; s < 2; s++)
        for (unsigned i = 0; i < X86_TLB_SIZE; i++) {
            struct x86_tlb_entry *e = &cpu->tlbs[s].e[X86_ACC_WRITE][i];
            if ((e->phys & ~0xfffull) == page)
                e->tag = X86_TLB_INVALID;
        }
}

/* --- physical memory --- */

void *x86_phys_ptr(struct x86_cpu *cpu, uint64_t gpa)
{
    return cpu->sys->ram_ptr(cpu->sys_ctx, gpa);
}

static uint64_t mmio_read(struct x86_cpu *cpu, uint64_t gpa, unsigned size)
{
    return cpu->sys->mmio_read(cpu->sys_ctx, gpa, size);
}

/* Read n bytes of guest-physical memory (RAM or MMIO) into dst; MMIO in
 * naturally sized pieces of at most 8 bytes. */
static void phys_read(struct x86_cpu *cpu, uint64_t gpa, uint8_t *dst, unsigned n)
{
    uint8_t *p = x86_phys_ptr(cpu, gpa);
    if (p) {
        memcpy(dst, p, n);
        return;
    }
    while (n) {
        unsigned k = n >= 8 && !(gpa & 7)   ? 8
                     : n >= 4 && !(gpa & 3) ? 4
                     : n >= 2 && !(gpa & 1) ? 2
                                            : 1;
        uint64_t v = mmio_read(cpu, gpa, k);
        memcpy(dst, &v, k);
        dst += k;
        gpa += k;
        n -= k;
    }
}

static void phys_write(struct x86_cpu *cpu, uint64_t gpa, const uint8_t *src, unsigned n)
{
    uint8_t *p = x86_phys_ptr(cpu, gpa);
    if (p) {
        if (x86_code_on_page(cpu, gpa))
            x86_code_write(cpu, gpa, n);
        memcpy(p, src, n);
        return;
    }
    while (n) {
        unsigned k = n >= 8 && !(gpa & 7)   ? 8
                     : n >= 4 && !(gpa & 3) ? 4
                     : n >= 2 && !(gpa & 1) ? 2
                                            : 1;
        uint64_t v = 0;
        memcpy(&v, src, k);
        cpu->sys->mmio_write(cpu->sys_ctx, gpa, k, v);
        src += k;
        gpa += k;
        n -= k;
    }
}

/* --- page walk --- */

struct xlate {
    uint64_t gpa;
    uint64_t flags;  /* X86_TLB_GLOBAL, X86_TLB_LARGE */
    uint64_t lo, hi; /* the linear range of a large page */
    bool writable;   /* a write entry may be made (write allowed, D set) */
};

_Noreturn static void page_fault(struct x86_cpu *cpu, uint64_t lin, uint32_t err)
{
    x86_raise_pf(cpu, lin, err);
}

/* A page-table entry: its host pointer (NULL if the table is not in RAM). */
static uint8_t *pte_ptr(struct x86_cpu *cpu, uint64_t gpa)
{
    return x86_phys_ptr(cpu, gpa);
}

static uint64_t pte_load(uint8_t *p, bool wide)
{
    if (!p)
        return 0; /* a table outside RAM reads as not present */
    if (wide)
        return __atomic_load_n((uint64_t *)p, __ATOMIC_RELAXED);
    return __atomic_load_n((uint32_t *)p, __ATOMIC_RELAXED);
}

static void pte_set(uint8_t *p, bool wide, uint64_t bits)
{
    if (wide)
        __atomic_fetch_or((uint64_t *)p, bits, __ATOMIC_RELAXED);
    else
        __atomic_fetch_or((uint32_t *)p, (uint32_t)bits, __ATOMIC_RELAXED);
}

/* Walk the page tables for lin. acc: the access; user: a CPL-3 access
 * (not an implicit supervisor one); write_check: check write permission
 * (a write, or the read of a read-modify-write). Sets A bits on the way and
 * D on a write; raises #PF. */
static struct xlate walk(struct x86_cpu *cpu, uint64_t lin, unsigned acc, bool user,
                         bool write_check)
{
    struct xlate r = {.writable = true};
    bool nxe = cpu->efer & X86_EFER_NXE, pae = cpu->cr4 & X86_CR4_PAE;
    uint32_t err = (write_check ? X86_PF_WRITE : 0) | (user ? X86_PF_USER : 0);
    if (acc == X86_ACC_FETCH && nxe && pae)
        err |= X86_PF_FETCH_BIT;
    if (!(cpu->cr0 & X86_CR0_PG)) {
        r.gpa = cpu->long_mode ? lin : lin & 0xffffffffull;
        return r;
    }
    uint8_t *ptes[5];
    unsigned nptes = 0;
    bool wide = pae, rw = true, us = true, xd = false;
    uint64_t table, e = 0, rsvd = nxe ? RSVD_HIGH : RSVD_HIGH | PTE_XD;
    int level;
    unsigned shift;
    if (cpu->long_mode) {
        table = cpu->cr3 & ADDR_MASK;
        level = 4;
        shift = 39;
    } else if (pae) {
        uint8_t *p = pte_ptr(cpu, (cpu->cr3 & 0xffffffe0ull) + ((lin >> 30) & 3) * 8);
        e = pte_load(p, true);
        if (!(e & PTE_P))
            page_fault(cpu, lin, err);
        if (e & (RSVD_HIGH | 0x1e6))
            page_fault(cpu, lin, err | X86_PF_PRESENT | X86_PF_RSVD);
        table = e & ADDR_MASK;
        level = 2;
        shift = 21;
        rsvd = nxe ? RSVD_HIGH : RSVD_HIGH | PTE_XD;
    } else {
        table = cpu->cr3 & 0xfffff000ull;
        level = 2;
        shift = 22;
        rsvd = 0;
    }
    for (;; level--) {
        unsigned idx_bits = wide ? 9 : 10;
        uint64_t idx = (lin >> shift) & ((1u << idx_bits) - 1);
        uint8_t *p = pte_ptr(cpu, table + idx * (wide ? 8 : 4));
        e = pte_load(p, wide);
        if (!(e & PTE_P))
            page_fault(cpu, lin, err);
        if ((e & rsvd) || (level == 4 && (e & PTE_PS)))
            page_fault(cpu, lin, err | X86_PF_PRESENT | X86_PF_RSVD);
        ptes[nptes++] = p;
        rw &= !!(e & PTE_RW);
        us &= !!(e & PTE_US);
        xd |= wide && (e & PTE_XD);
        bool large =
            (e & PTE_PS) && (level == 3 || (level == 2 && (wide || (cpu->cr4 & X86_CR4_PSE))));
        if (level == 1 || large) {
            uint64_t size = 1ull << shift;
            if (large) {
                /* Bits 13 .. shift-1 of a large page's address are
                 * reserved (bit 12 is PAT); in a 32-bit 4 MiB PDE bits
                 * 20:13 would be PSE-36 address bits, which the CPU does
                 * not advertise, so they are reserved too. */
                uint64_t low = (size - 1) & ~0x1fffull;
                if (e & low)
                    page_fault(cpu, lin, err | X86_PF_PRESENT | X86_PF_RSVD);
                r.flags |= X86_TLB_LARGE;
                r.lo = lin & ~(size - 1);
                r.hi = r.lo + size;
            }
            uint64_t base = wide ? e & ADDR_MASK & ~(size - 1) : e & 0xfffff000ull & ~(size - 1);
            r.gpa = base | (lin & (size - 1));
            if ((e & PTE_G) && (cpu->cr4 & X86_CR4_PGE))
                r.flags |= X86_TLB_GLOBAL;
            break;
        }
        table = wide ? e & ADDR_MASK : e & 0xfffff000ull;
        shift -= wide ? 9 : 10;
    }
    /* Permissions (no SMEP/SMAP: not advertised). */
    bool wp = cpu->cr0 & X86_CR0_WP;
    if ((user && !us) || (write_check && !rw && (user || wp)) ||
        (acc == X86_ACC_FETCH && xd && nxe))
        page_fault(cpu, lin, err | X86_PF_PRESENT);
    r.writable = rw || (!user && !wp);
    for (unsigned i = 0; i < nptes; i++)
        if (!(pte_load(ptes[i], wide) & PTE_A))
            pte_set(ptes[i], wide, PTE_A);
    if (acc == X86_ACC_WRITE) {
        if (!(e & PTE_D))
            pte_set(ptes[nptes - 1], wide, PTE_D);
    } else {
        r.writable = false; /* a write entry needs D set by a write walk */
    }
    return r;
}

static bool user_access(const struct x86_cpu *cpu)
{
    return cpu->tlb == &cpu->tlbs[1];
}

/* Translate one page-local access and fill the TLB if it is RAM. Returns
 * the host pointer (NULL for MMIO) and the guest-physical address. */
static uint8_t *translate(struct x86_cpu *cpu, uint64_t lin, unsigned acc, bool write_check,
                          uint64_t *gpa_out)
{
    struct xlate r = walk(cpu, lin, acc, user_access(cpu), write_check);
    *gpa_out = r.gpa;
    uint8_t *host = x86_phys_ptr(cpu, r.gpa);
    if (!host)
        return NULL;
    if (r.flags & X86_TLB_LARGE) {
        if (r.lo < cpu->tlb_large_lo)
            cpu->tlb_large_lo = r.lo;
        if (r.hi > cpu->tlb_large_hi)
            cpu->tlb_large_hi = r.hi;
    }
    uint8_t *page = host - (r.gpa & 0xfff);
    if (acc != X86_ACC_WRITE)
        tlb_fill(cpu, acc, lin, page, r.gpa, r.flags);
    else if (r.writable && !x86_code_on_page(cpu, r.gpa))
        tlb_fill(cpu, acc, lin, page, r.gpa, r.flags);
    return host;
}

/* --- the slow path --- */

static void canonical_check(struct x86_cpu *cpu, uint64_t lin, uint64_t size, unsigned seg)
{
    uint64_t last = lin + (size ? size - 1 : 0);
    if (cpu->long_mode && (!x86_canonical(lin) || !x86_canonical(last)))
        x86_mem_fault(cpu, lin, size, 0, seg); /* #GP or #SS */
}

/* Flat model: the access is inside memory but missed the TLB, or crosses a
 * page (contiguous in the host, so no bounce is needed). */
static void *flat_slow(struct x86_cpu *cpu, uint64_t lin, uint64_t size, int write, unsigned seg)
{
    if (lin >= cpu->mem_limit || size > cpu->mem_limit - lin)
        x86_mem_fault(cpu, lin, size, write, seg);
    uint8_t *host = (uint8_t *)(cpu->mem_base + (uintptr_t)lin);
    if ((lin & 0xfff) + size <= 0x1000 && (lin | 0xfff) < cpu->mem_limit)
        tlb_fill(cpu, write ? X86_ACC_WRITE : X86_ACC_READ, lin, host - (lin & 0xfff), lin, 0);
    return host;
}

/* A piece of an access that went to the bounce buffer. */
static void pending_add(struct x86_cpu *cpu, uint64_t gpa, unsigned off, unsigned n)
{
    if (cpu->pending_n >= sizeof(cpu->pending) / sizeof(cpu->pending[0]))
        x86_pending_flush(cpu); /* cannot happen for one instruction's accesses */
    cpu->pending[cpu->pending_n++] =
        (struct x86_pending){.gpa = gpa, .off = (uint16_t)off, .n = (uint16_t)n};
    /* Cut the block after this instruction so the store lands before the
     * next one runs. */
    if (cpu->cur_insn)
        cpu->run_end = cpu->cur_insn + 1;
}

/* The next free part of the bounce buffer for an access of size bytes. */
static unsigned bounce_alloc(struct x86_cpu *cpu, uint64_t size)
{
    unsigned off = 0;
    for (unsigned i = 0; i < cpu->pending_n; i++)
        if (cpu->pending[i].off + cpu->pending[i].n > off)
            off = cpu->pending[i].off + cpu->pending[i].n;
    off = (off + 15) & ~15u;
    if (off + size > sizeof(cpu->bounce))
        off = 0; /* only an instruction with several huge accesses gets here */
    return off;
}

void *x86_mem_slow(struct x86_cpu *cpu, uint64_t lin, uint64_t size, int write, unsigned seg)
{
    if (!cpu->sys)
        return flat_slow(cpu, lin, size, write, seg);
    canonical_check(cpu, lin, size, seg);
    bool wcheck = write || x86_insn_rmw(cpu->cur_insn);
    unsigned acc = write ? X86_ACC_WRITE : X86_ACC_READ;
    uint64_t first = 0x1000 - (lin & 0xfff);
    if (size <= first) {
        uint64_t gpa;
        uint8_t *host = translate(cpu, lin, acc, wcheck, &gpa);
        if (host) {
            if (write && x86_code_on_page(cpu, gpa))
                x86_code_write(cpu, gpa, size);
            return host;
        }
        unsigned off = bounce_alloc(cpu, size);
        if (!write || wcheck)
            phys_read(cpu, gpa, cpu->bounce + off, (unsigned)size);
        if (write)
            pending_add(cpu, gpa, off, (unsigned)size);
        return cpu->bounce + off;
    }
    /* Crossing into the next page: both halves are checked before anything
     * is read or written. */
    uint64_t gpa1, gpa2;
    translate(cpu, lin, acc, wcheck, &gpa1);
    translate(cpu, lin + first, acc, wcheck, &gpa2);
    unsigned off = bounce_alloc(cpu, size);
    if (!write || wcheck) {
        phys_read(cpu, gpa1, cpu->bounce + off, (unsigned)first);
        phys_read(cpu, gpa2, cpu->bounce + off + first, (unsigned)(size - first));
    }
    if (write) {
        pending_add(cpu, gpa1, off, (unsigned)first);
        pending_add(cpu, gpa2, off + (unsigned)first, (unsigned)(size - first));
    }
    return cpu->bounce + off;
}

void x86_pending_flush(struct x86_cpu *cpu)
{
    unsigned n = cpu->pending_n;
    cpu->pending_n = 0;
    for (unsigned i = 0; i < n; i++)
        phys_write(cpu, cpu->pending[i].gpa, cpu->bounce + cpu->pending[i].off, cpu->pending[i].n);
}

void *x86_mem_direct(struct x86_cpu *cpu, uint64_t lin, uint64_t n, int write, unsigned seg)
{
    if (!cpu->sys) {
        if (lin >= cpu->mem_limit || n > cpu->mem_limit - lin)
            return NULL;
        return (uint8_t *)(cpu->mem_base + (uintptr_t)lin);
    }
    if (n == 0 || (lin & 0xfff) + n > 0x1000)
        return NULL;
    canonical_check(cpu, lin, n, seg);
    uint64_t gpa;
    uint8_t *host = translate(cpu, lin, write ? X86_ACC_WRITE : X86_ACC_READ, write, &gpa);
    if (host && write && x86_code_on_page(cpu, gpa))
        x86_code_write(cpu, gpa, n);
    return host;
}

void x86_mem_check(struct x86_cpu *cpu, uint64_t lin, uint64_t n, int write, unsigned seg)
{
    if (!cpu->sys) {
        (void)x86_mem_ptr_seg(cpu, lin, n, write, seg);
        return;
    }
    canonical_check(cpu, lin, n, seg);
    uint64_t end = lin + n, gpa;
    for (uint64_t a = lin; a < end; a = (a & ~0xfffull) + 0x1000)
        translate(cpu, a, write ? X86_ACC_WRITE : X86_ACC_READ, write, &gpa);
}

const uint8_t *x86_fetch_slow(struct x86_cpu *cpu, uint64_t lin, uint64_t *gpa)
{
    if (!cpu->sys) {
        if (lin >= cpu->mem_limit)
            x86_raise_pf(cpu, lin, X86_PF_USER | X86_PF_FETCH);
        uint8_t *host = (uint8_t *)(cpu->mem_base + (uintptr_t)lin);
        if ((lin | 0xfff) < cpu->mem_limit)
            tlb_fill(cpu, X86_ACC_FETCH, lin, host - (lin & 0xfff), lin, 0);
        *gpa = lin;
        return host;
    }
    if (cpu->long_mode && !x86_canonical(lin))
        x86_raise(cpu, X86_EXC_GP, 0);
    const uint8_t *host = translate(cpu, lin, X86_ACC_FETCH, false, gpa);
    if (!host) {
        cpu->exc.addr = *gpa;
        cpu->exit_reason = X86_EXIT_INTERNAL;
        x86_exit(cpu, X86_EXIT_INTERNAL); /* code in MMIO: not supported */
    }
    return host;
}

/* --- implicit supervisor accesses --- */

static void sys_access(struct x86_cpu *cpu, uint64_t lin, void *buf, unsigned n, bool write)
{
    struct x86_tlb *saved = cpu->tlb;
    cpu->tlb = &cpu->tlbs[0];
    /* A fault longjmps out: the exception path reselects the TLB set. */
    while (n) {
        unsigned k = 0x1000 - (lin & 0xfff);
        if (k > n)
            k = n;
        uint64_t gpa;
        uint8_t *host = translate(cpu, cpu->long_mode ? lin : lin & 0xffffffffull,
                                  write ? X86_ACC_WRITE : X86_ACC_READ, write, &gpa);
        if (write) {
            if (host && !x86_code_on_page(cpu, gpa))
                memcpy(host, buf, k);
            else
                phys_write(cpu, gpa, buf, k);
        } else if (host) {
            memcpy(buf, host, k);
        } else {
            phys_read(cpu, gpa, buf, k);
        }
        buf = (uint8_t *)buf + k;
        lin += k;
        n -= k;
    }
    cpu->tlb = saved;
}

void x86_sys_read(struct x86_cpu *cpu, uint64_t lin, void *dst, unsigned n)
{
    sys_access(cpu, lin, dst, n, false);
}

void x86_sys_write(struct x86_cpu *cpu, uint64_t lin, const void *src, unsigned n)
{
    sys_access(cpu, lin, (void *)src, n, true);
}
