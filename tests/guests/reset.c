/* reset: the i8042 keyboard controller answers its self test (0xaa ->
 * 0x55, then the system flag is set) and reports its output port (reset
 * line high: not in reset), and a pulse of the reset line (0xfe to port
 * 0x64) resets the machine: xuni exits with status 0. If the guest is
 * still running a few seconds later, the test fails. */
#include "guest.h"

#define I8042_DATA   0x60
#define I8042_STATUS 0x64 /* read */
#define I8042_CMD    0x64 /* write */

#define STS_OBF 0x01 /* output buffer full: a byte waits at port 0x60 */
#define STS_IBF 0x02 /* input buffer full: the controller has not taken the last write */
#define STS_SYS 0x04 /* system flag: set by a passed self test */

#define CMD_SELF_TEST   0xaa
#define CMD_READ_OUTPUT 0xd0
#define CMD_PULSE_RESET 0xfe /* pulse output line 0, the CPU reset */

#define SELF_TEST_OK 0x55
#define OUT_RESET    0x01 /* output port: reset line, active low */
#define OUT_A20      0x02

#define STALE_BYTES_MAX 16

static bool wait_status(uint8_t mask, uint8_t want)
{
    uint64_t start = rdtsc();
    while ((inb(I8042_STATUS) & mask) != want)
        if (rdtsc() - start > TSC_TIMEOUT)
            return false;
    return true;
}

static bool send_command(uint8_t cmd)
{
    if (!check(wait_status(STS_IBF, 0), "input buffer stays full before command 0x%x", cmd))
        return false;
    outb(I8042_CMD, cmd);
    return true;
}

/* The controller's reply, or -1 (reported) if none arrives. */
static int read_reply(uint8_t cmd)
{
    if (!check(wait_status(STS_OBF, STS_OBF), "no reply to command 0x%x", cmd))
        return -1;
    return inb(I8042_DATA);
}

void guest_main(uint32_t magic, uint32_t info)
{
    (void)magic;
    (void)info;
    printf("reset guest\n");
    /* Whatever firmware left in the output buffer is not ours. */
    for (unsigned i = 0; i < STALE_BYTES_MAX && (inb(I8042_STATUS) & STS_OBF); i++)
        inb(I8042_DATA);

    if (!send_command(CMD_SELF_TEST))
        return;
    int r = read_reply(CMD_SELF_TEST);
    if (r < 0)
        return;
    printf("i8042 self test: 0x%x\n", r);
    check(r == SELF_TEST_OK, "self test answered 0x%x, not 0x55", r);
    bool sys = inb(I8042_STATUS) & STS_SYS;
    printf("status: system flag %s\n", sys ? "set" : "clear");
    check(sys, "system flag clear after the self test");

    if (!send_command(CMD_READ_OUTPUT) || (r = read_reply(CMD_READ_OUTPUT)) < 0)
        return;
    printf("output port: reset line %s, A20 %s\n", r & OUT_RESET ? "high" : "LOW",
           r & OUT_A20 ? "on" : "off");
    check(r & OUT_RESET, "output port 0x%x: the CPU is held in reset", r);

    if (guest_failures)
        return;
    printf("pulsing the reset line: 0x%x to port 0x%x\n", CMD_PULSE_RESET, I8042_CMD);
    if (!send_command(CMD_PULSE_RESET))
        return;
    uint64_t start = rdtsc();
    while (rdtsc() - start < TSC_TIMEOUT)
        cpu_relax();
    check(false, "still running after the reset pulse");
}
