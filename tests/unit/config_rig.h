/* Command-line parsing for the vm/config.c tests: "--kernel k" plus the
 * test's arguments through vm_config_parse(), with the error text kept. */
#ifndef XUNI_TESTS_CONFIG_RIG_H
#define XUNI_TESTS_CONFIG_RIG_H

#include <stdio.h>
#include <stdlib.h>

#include "vm/config.h"

#define CONFIG_RIG_MAX_ARGS 38

/* The parse result; *err gets the error text (free() it). */
static inline int config_rig_parse(struct vm_config *cfg, char **err, int argc, char **args)
{
    char *argv[CONFIG_RIG_MAX_ARGS + 2] = {"--kernel", "k"};
    if (argc > CONFIG_RIG_MAX_ARGS)
        abort(); /* the test itself is wrong */
    for (int i = 0; i < argc; i++)
        argv[2 + i] = args[i];
    size_t len;
    FILE *e = open_memstream(err, &len);
    FILE *out = fopen("/dev/null", "w");
    if (!e || !out)
        abort();
    int r = vm_config_parse(cfg, argc + 2, argv, out, e);
    fclose(e);
    fclose(out);
    return r;
}

#endif
