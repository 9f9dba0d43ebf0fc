/* A CPU-bound kernel for `make bench-user`: an integer hash loop over a
 * table that fits in L2, then a double-precision matrix multiply. About
 * half a second natively at scale 1; the checksum line lets the bench
 * check that every runner computed the same thing.
 *
 *   kernel [SCALE]
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#define TABLE_WORDS (64 * 1024) /* 512 KiB */
#define MAT_N       160

static uint64_t table[TABLE_WORDS];
static double ma[MAT_N][MAT_N], mb[MAT_N][MAT_N], mc[MAT_N][MAT_N];

/* Hash chains through the table: multiplies, shifts, data-dependent loads. */
static uint64_t int_kernel(long rounds)
{
    uint64_t x = 0x9e3779b97f4a7c15ULL;
    for (long i = 0; i < TABLE_WORDS; i++) {
        x ^= x >> 31;
        x *= 0xbf58476d1ce4e5b9ULL;
        table[i] = x;
    }
    uint64_t h = 0;
    for (long r = 0; r < rounds; r++) {
        uint64_t idx = (uint64_t)r;
        for (int i = 0; i < 4096; i++) {
            uint64_t v = table[idx % TABLE_WORDS];
            h = (h ^ v) * 0x100000001b3ULL;
            h ^= h >> 29;
            table[idx % TABLE_WORDS] = v + h;
            idx = (v >> 7) + (h & 0xffff);
        }
    }
    return h;
}

static double float_kernel(int reps)
{
    for (int i = 0; i < MAT_N; i++)
        for (int j = 0; j < MAT_N; j++) {
            ma[i][j] = (double)((i * 31 + j * 17) % 97) / 97.0 - 0.5;
            mb[i][j] = (double)((i * 13 + j * 7) % 89) / 89.0 + 0.25;
        }
    double sum = 0;
    for (int r = 0; r < reps; r++) {
        for (int i = 0; i < MAT_N; i++)
            for (int j = 0; j < MAT_N; j++)
                mc[i][j] = 0;
        for (int i = 0; i < MAT_N; i++)
            for (int k = 0; k < MAT_N; k++) {
                double a = ma[i][k];
                for (int j = 0; j < MAT_N; j++)
                    mc[i][j] += a * mb[k][j];
            }
        for (int i = 0; i < MAT_N; i++)
            sum += mc[i][(i + r) % MAT_N];
        ma[r % MAT_N][r % MAT_N] += 1e-3; /* keep the repetitions distinct */
    }
    return sum;
}

int main(int argc, char **argv)
{
    double scale = argc > 1 ? atof(argv[1]) : 1.0;
    if (scale <= 0) {
        fprintf(stderr, "usage: kernel [SCALE > 0]\n");
        return 2;
    }
    uint64_t h = int_kernel((long)(6000 * scale) + 1);
    double s = float_kernel((int)(40 * scale) + 1);
    printf("int %016llx float %.10e\n", (unsigned long long)h, s);
    return 0;
}
