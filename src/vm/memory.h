/* Guest memory: RAM as anonymous host mappings, laid out as a PC.
 *
 * RAM is split into at most two regions: [0, low_end) below the 32-bit MMIO
 * hole and [4 GiB, 4 GiB + high_size) above it. Every guest-physical address
 * a device or loader touches goes through guest_memory_ptr(), which checks
 * that the whole range [gpa, gpa + len) lies inside one RAM region and returns
 * NULL otherwise; nothing else turns guest addresses into host pointers.
 */
#ifndef XUNI_VM_MEMORY_H
#define XUNI_VM_MEMORY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define GUEST_MEMORY_MAX_REGIONS 2

struct guest_ram_region {
    uint64_t gpa;  /* guest-physical start */
    uint64_t size; /* bytes */
    uint8_t *host; /* host mapping of the region */
};

struct guest_memory {
    uint64_t ram_size; /* total RAM the user asked for */
    unsigned nregions;
    struct guest_ram_region regions[GUEST_MEMORY_MAX_REGIONS];
    /* Told about guest RAM that devices wrote (DMA), so an emulated CPU can
     * drop code it decoded there. May be NULL; called from any thread. */
    void (*write_notify)(void *ctx, uint64_t gpa, uint64_t len);
    void *write_notify_ctx;
};

/* Lay out and map ram_size bytes of RAM (a multiple of 4 KiB, at least
 * 1 MiB). Returns 0 or a negative errno (with a message logged). */
int guest_memory_init(struct guest_memory *mem, uint64_t ram_size);
void guest_memory_destroy(struct guest_memory *mem);

/* Host pointer for [gpa, gpa+len) if it lies wholly in one RAM region, else
 * NULL. len 0 is treated as 1. */
void *guest_memory_ptr(const struct guest_memory *mem, uint64_t gpa, uint64_t len);

/* A device wrote [gpa, gpa+len) of guest RAM (see write_notify). */
static inline void guest_memory_note_write(const struct guest_memory *mem, uint64_t gpa,
                                           uint64_t len)
{
    if (mem->write_notify && len)
        mem->write_notify(mem->write_notify_ctx, gpa, len);
}

/* Copy to/from guest RAM; return 0, or -EFAULT if any byte is outside RAM
 * (then nothing is copied). */
int guest_memory_write(const struct guest_memory *mem, uint64_t gpa, const void *src, size_t len);
int guest_memory_read(const struct guest_memory *mem, uint64_t gpa, void *dst, size_t len);

/* End of RAM below 4 GiB, and RAM above 4 GiB (0 if none). */
uint64_t guest_memory_low_end(const struct guest_memory *mem);
uint64_t guest_memory_high_size(const struct guest_memory *mem);

#endif
