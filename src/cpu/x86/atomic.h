/* Host atomics for LOCK-prefixed read-modify-write instructions, by
 * operand size (osz: log2 bytes).
 *
 * p is the host pointer of the guest operand (x86_mem_ptr with write set).
 * It may be misaligned: x86 locks split accesses too, and the lock-prefixed
 * host instructions these compile to do the same.
 */
#ifndef XUNI_CPU_X86_ATOMIC_H
#define XUNI_CPU_X86_ATOMIC_H

#include <stdbool.h>
#include <stdint.h>

#define X86_ATOMIC_BY_SIZE(osz, p, OP, ...)                                                        \
    ((osz) == 0   ? (uint64_t)OP((uint8_t *)(p), (uint8_t)(__VA_ARGS__), __ATOMIC_SEQ_CST)         \
     : (osz) == 1 ? (uint64_t)OP((uint16_t *)(p), (uint16_t)(__VA_ARGS__), __ATOMIC_SEQ_CST)       \
     : (osz) == 2 ? (uint64_t)OP((uint32_t *)(p), (uint32_t)(__VA_ARGS__), __ATOMIC_SEQ_CST)       \
                  : (uint64_t)OP((uint64_t *)(p), (uint64_t)(__VA_ARGS__), __ATOMIC_SEQ_CST))

/* Each returns the old value, zero-extended. */
static inline uint64_t x86_atomic_fetch_add(void *p, unsigned osz, uint64_t v)
{
    return X86_ATOMIC_BY_SIZE(osz, p, __atomic_fetch_add, v);
}

static inline uint64_t x86_atomic_fetch_sub(void *p, unsigned osz, uint64_t v)
{
    return X86_ATOMIC_BY_SIZE(osz, p, __atomic_fetch_sub, v);
}

static inline uint64_t x86_atomic_fetch_and(void *p, unsigned osz, uint64_t v)
{
    return X86_ATOMIC_BY_SIZE(osz, p, __atomic_fetch_and, v);
}

static inline uint64_t x86_atomic_fetch_or(void *p, unsigned osz, uint64_t v)
{
    return X86_ATOMIC_BY_SIZE(osz, p, __atomic_fetch_or, v);
}

static inline uint64_t x86_atomic_fetch_xor(void *p, unsigned osz, uint64_t v)
{
    return X86_ATOMIC_BY_SIZE(osz, p, __atomic_fetch_xor, v);
}

static inline uint64_t x86_atomic_xchg(void *p, unsigned osz, uint64_t v)
{
    return X86_ATOMIC_BY_SIZE(osz, p, __atomic_exchange_n, v);
}

static inline uint64_t x86_atomic_load(const void *p, unsigned osz)
{
    switch (osz) {
    case 0:
        return __atomic_load_n((const uint8_t *)p, __ATOMIC_RELAXED);
    case 1:
        return __atomic_load_n((const uint16_t *)p, __ATOMIC_RELAXED);
    case 2:
        return __atomic_load_n((const uint32_t *)p, __ATOMIC_RELAXED);
    default:
        return __atomic_load_n((const uint64_t *)p, __ATOMIC_RELAXED);
    }
}

/* Compare-exchange: if *p == *expected store desired and return true;
 * otherwise load the current value into *expected and return false. */
static inline bool x86_atomic_cas(void *p, unsigned osz, uint64_t *expected, uint64_t desired)
{
    bool ok;
    switch (osz) {
    case 0: {
        uint8_t e = (uint8_t)*expected;
        ok = __atomic_compare_exchange_n((uint8_t *)p, &e, (uint8_t)desired, false,
                                         __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
        *expected = e;
        break;
    }
    case 1: {
        uint16_t e = (uint16_t)*expected;
        ok = __atomic_compare_exchange_n((uint16_t *)p, &e, (uint16_t)desired, false,
                                         __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
        *expected = e;
        break;
    }
    case 2: {
        uint32_t e = (uint32_t)*expected;
        ok = __atomic_compare_exchange_n((uint32_t *)p, &e, (uint32_t)desired, false,
                                         __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
        *expected = e;
        break;
    }
    default:
        ok = __atomic_compare_exchange_n((uint64_t *)p, expected, desired, false, __ATOMIC_SEQ_CST,
                                         __ATOMIC_SEQ_CST);
        break;
    }
    return ok;
}

/* 16-byte compare-exchange (p 16-byte aligned): lock cmpxchg16b directly,
 * as __atomic on __int128 would go through libatomic. */
static inline bool x86_atomic_cas16(void *p, uint64_t expected[2], const uint64_t desired[2])
{
    bool ok;
    __asm__ volatile("lock cmpxchg16b %[m]"
                     : [m] "+m"(*(unsigned __int128 *)p), "=@ccz"(ok), "+a"(expected[0]),
                       "+d"(expected[1])
                     : "b"(desired[0]), "c"(desired[1])
                     : "memory");
    return ok;
}

#endif
