/* The host CPU as a decoder oracle (see hostprobe.c). */
#ifndef XUNI_TESTS_CPU_ORACLE_HOSTPROBE_H
#define XUNI_TESTS_CPU_ORACLE_HOSTPROBE_H

#include <stdint.h>

struct host_verdict {
    int valid;    /* not #UD */
    unsigned len; /* bytes the CPU fetched before acting; 0: more than avail */
    int signo;    /* signal at that length (0: ran into the next page or was killed) */
    int trapno;   /* the exception vector behind the signal, -1 if none */
};

/* Execute bytes[0..avail) natively in a forked child. Returns 0, or -1 if
 * the probe could not run. */
int host_probe(const uint8_t *bytes, unsigned avail, struct host_verdict *v);

#endif
