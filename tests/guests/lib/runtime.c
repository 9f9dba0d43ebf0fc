/* Checks and exit. No IDT or multiboot here: the linuxboot guest, entered
 * through the Linux boot protocol, links this file too. */
#include "guest.h"

#define DEBUG_EXIT_PORT 0xf4

unsigned guest_failures;

void guest_exit(int code)
{
    /* QEMU's isa-debug-exit and xuni end with status (code << 1) | 1. */
    outl(DEBUG_EXIT_PORT, (uint32_t)code);
    /* No exit device: stop here; the runner's timeout reports it. */
    for (;;)
        __asm__ volatile("cli; hlt");
}

bool check(bool cond, const char *fmt, ...)
{
    if (cond)
        return true;
    va_list ap;
    va_start(ap, fmt);
    printf("FAIL: ");
    vprintf(fmt, ap);
    printf("\n");
    va_end(ap);
    guest_failures++;
    return false;
}

void guest_finish(void)
{
    if (guest_failures) {
        printf("%u check(s) failed\n", guest_failures);
        guest_exit(GUEST_EXIT_FAIL);
    }
    guest_exit(GUEST_EXIT_PASS);
}
