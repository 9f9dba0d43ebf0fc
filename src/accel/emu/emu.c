/* The emu accelerator: xuni's own x86-64 CPU. Not built yet (the software
 * CPU issues add it); until then it reports itself unavailable, with the
 * reason, so "--accel emu" fails with one clear message. */
#include <stdio.h>

#include "accel/accel.h"

static bool emu_available(char *why, size_t len)
{
    snprintf(why, len, "the emu accelerator (software CPU) is not built yet");
    return false;
}

const struct accel_ops accel_emu_ops = {
    .name = "emu",
    .available = emu_available,
};
