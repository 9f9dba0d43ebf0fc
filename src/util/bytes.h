/* Little-endian loads and stores at any alignment (file headers, firmware
 * tables, instruction bytes, FPU save images). memcpy compiles to one move. */
#ifndef XUNI_UTIL_BYTES_H
#define XUNI_UTIL_BYTES_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* The byte that makes len bytes sum to zero: the checksum of the ACPI, MP
 * and SMBIOS structures (with its own field zero while summing). */
static inline uint8_t bytes_checksum8(const void *data, size_t len)
{
    const uint8_t *p = data;
    uint8_t sum = 0;
    for (size_t i = 0; i < len; i++)
        sum = (uint8_t)(sum + p[i]);
    return (uint8_t)-sum;
}

static inline uint16_t get_le16(const uint8_t *p)
{
    uint16_t v;
    memcpy(&v, p, 2);
    return v;
}

static inline uint32_t get_le32(const uint8_t *p)
{
    uint32_t v;
    memcpy(&v, p, 4);
    return v;
}

static inline uint64_t get_le64(const uint8_t *p)
{
    uint64_t v;
    memcpy(&v, p, 8);
    return v;
}

static inline void put_le16(uint8_t *p, uint16_t v)
{
    memcpy(p, &v, 2);
}

static inline void put_le32(uint8_t *p, uint32_t v)
{
    memcpy(p, &v, 4);
}

static inline void put_le64(uint8_t *p, uint64_t v)
{
    memcpy(p, &v, 8);
}

#endif
