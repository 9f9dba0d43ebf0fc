#include "vm/memory.h"

#include <errno.h>
#include <string.h>
#include <sys/mman.h>

#include "util/log.h"
#include "vm/layout.h"

static int map_region(struct guest_ram_region *r, uint64_t gpa, uint64_t size)
{
    void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
                   -1, 0);
    if (p == MAP_FAILED) {
        int err = errno;
        log_error("cannot map %llu MiB of guest RAM: %s", (unsigned long long)(size >> 20),
                  strerror(err));
        return -err;
    }
    /* Guest RAM is large and mostly untouched: let the host back it with huge
     * pages where it can (fewer TLB misses for both accelerators). */
    madvise(p, size, MADV_HUGEPAGE);
    r->gpa = gpa;
    r->size = size;
    r->host = p;
    return 0;
}

int guest_memory_init(struct guest_memory *mem, uint64_t ram_size)
{
    memset(mem, 0, sizeof(*mem));
    if (ram_size < (1ULL << 20) || (ram_size & 0xfff)) {
        log_error("guest RAM size %llu is not a multiple of 4 KiB of at least 1 MiB",
                  (unsigned long long)ram_size);
        return -EINVAL;
    }
    if (ram_size > (1ULL << 46)) {
        log_error("guest RAM size %llu GiB is larger than xuni supports (64 TiB)",
                  (unsigned long long)(ram_size >> 30));
        return -EINVAL;
    }
    mem->ram_size = ram_size;
    uint64_t low = ram_size < LAYOUT_MMIO_HOLE_START ? ram_size : LAYOUT_MMIO_HOLE_START;
    int r = map_region(&mem->regions[0], 0, low);
    if (r < 0)
        return r;
    mem->nregions = 1;
    if (ram_size > low) {
        r = map_region(&mem->regions[1], LAYOUT_RAM_ABOVE_4G, ram_size - low);
        if (r < 0) {
            guest_memory_destroy(mem);
            return r;
        }
        mem->nregions = 2;
    }
    return 0;
}

void guest_memory_destroy(struct guest_memory *mem)
{
    for (unsigned i = 0; i < mem->nregions; i++)
        munmap(mem->regions[i].host, mem->regions[i].size);
    mem->nregions = 0;
}

void *guest_memory_ptr(const struct guest_memory *mem, uint64_t gpa, uint64_t len)
{
    if (len == 0)
        len = 1;
    for (unsigned i = 0; i < mem->nregions; i++) {
        const struct guest_ram_region *r = &mem->regions[i];
        /* Written so that no sum can wrap: gpa - r->gpa only when gpa >= r->gpa. */
        if (gpa >= r->gpa && gpa - r->gpa < r->size && len <= r->size - (gpa - r->gpa))
            return r->host + (gpa - r->gpa);
    }
    return NULL;
}

int guest_memory_write(const struct guest_memory *mem, uint64_t gpa, const void *src, size_t len)
{
    void *p = guest_memory_ptr(mem, gpa, len);
    if (!p)
        return -EFAULT;
    memcpy(p, src, len);
    return 0;
}

int guest_memory_read(const struct guest_memory *mem, uint64_t gpa, void *dst, size_t len)
{
    const void *p = guest_memory_ptr(mem, gpa, len);
    if (!p)
        return -EFAULT;
    memcpy(dst, p, len);
    return 0;
}

uint64_t guest_memory_low_end(const struct guest_memory *mem)
{
    return mem->nregions ? mem->regions[0].size : 0;
}

uint64_t guest_memory_high_size(const struct guest_memory *mem)
{
    return mem->nregions > 1 ? mem->regions[1].size : 0;
}
