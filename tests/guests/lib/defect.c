/* guest_host_defect(): how a probe guest reports a host defect (guest.h,
 * run-guests.sh). */
#include "guest.h"

void guest_host_defect(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    printf("host defect: ");
    vprintf(fmt, ap);
    printf("\n");
    va_end(ap);
    guest_exit(GUEST_EXIT_HOST_DEFECT);
}
