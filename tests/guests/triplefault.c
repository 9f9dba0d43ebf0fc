/* triplefault: an exception with an empty IDT (limit 0) cannot be
 * delivered: #UD -> #GP -> #DF -> triple fault, which shuts the machine
 * down. xuni must end with a non-zero status and report it. No `int n`:
 * the nested KVM on our hosts cannot run it at ring 0. */
#include "guest.h"

void guest_main(uint32_t magic, uint32_t info)
{
    (void)magic;
    (void)info;
    printf("triplefault guest: empty IDT, then ud2\n");
    struct {
        uint16_t limit;
        uint64_t base;
    } __attribute__((packed)) empty = {0, 0};
    __asm__ volatile("lidt %0; ud2" ::"m"(empty));
    printf("FAIL: still running after the triple fault\n");
    guest_exit(GUEST_EXIT_FAIL);
}
