#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "accel/kvm/kvm_exit.h"

/* A fake VM: two buses with one recording device each. */
struct fake {
    struct bus pio, mmio;
    uint64_t writes[16], write_addr[16];
    unsigned nwrites, reads;
    int stopped, status, dumped;
    char why[256];
};

static struct fake F;
static FILE *devnull;

static uint64_t dev_read(void *opaque, uint64_t off, unsigned size)
{
    (void)opaque;
    (void)size;
    F.reads++;
    return 0x1000 + off + F.reads;
}

static void dev_write(void *opaque, uint64_t off, unsigned size, uint64_t v)
{
    (void)opaque;
    (void)size;
    F.write_addr[F.nwrites] = off;
    F.writes[F.nwrites++ & 15] = v;
}

static const struct bus_ops dev_ops = {dev_read, dev_write};

static void stop(void *opaque, int status, const char *why)
{
    (void)opaque;
    F.stopped++;
    F.status = status;
    snprintf(F.why, sizeof(F.why), "%s", why);
}

static void dump(void *opaque)
{
    (void)opaque;
    F.dumped++;
}

static struct kvm_exit_env env = {
    .pio = &F.pio, .mmio = &F.mmio, .vcpu_index = 0, .stop = stop, .dump_regs = dump};

static int setup(void **state)
{
    (void)state;
    memset(&F, 0, sizeof(F));
    bus_init(&F.pio, "port", NULL);
    bus_init(&F.mmio, "mmio", NULL);
    bus_register(&F.pio, 0x3f8, 8, &dev_ops, NULL, "dev");
    bus_register(&F.mmio, 0xd0000000, 0x1000, &dev_ops, NULL, "dev");
    devnull = fopen("/dev/null", "w");
    log_set_stream(devnull);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    bus_destroy(&F.pio);
    bus_destroy(&F.mmio);
    log_set_stream(NULL);
    fclose(devnull);
    return 0;
}

/* struct kvm_run plus room for port I/O data after it, like the real page. */
static struct kvm_run *new_run(unsigned reason)
{
    struct kvm_run *run = calloc(1, 4096);
    run->exit_reason = reason;
    return run;
}

static void test_io_out_and_rep(void **state)
{
    (void)state;
    struct kvm_run *run = new_run(KVM_EXIT_IO);
    run->io.direction = KVM_EXIT_IO_OUT;
    run->io.size = 1;
    run->io.port = 0x3f8;
    run->io.count = 3; /* rep outsb */
    run->io.data_offset = 1024;
    memcpy((uint8_t *)run + 1024, "abc", 3);
    F.nwrites = 0;
    assert_int_equal(kvm_handle_exit(&env, run), KVM_EXIT_ACTION_CONTINUE);
    assert_int_equal(F.nwrites, 3);
    assert_int_equal(F.writes[0], 'a');
    assert_int_equal(F.writes[2], 'c');
    free(run);
}

static void test_io_in_sizes(void **state)
{
    (void)state;
    struct kvm_run *run = new_run(KVM_EXIT_IO);
    run->io.direction = KVM_EXIT_IO_IN;
    run->io.size = 2;
    run->io.port = 0x3fa;
    run->io.count = 2;
    run->io.data_offset = 1024;
    F.reads = 0;
    assert_int_equal(kvm_handle_exit(&env, run), KVM_EXIT_ACTION_CONTINUE);
    uint16_t got[2];
    memcpy(got, (uint8_t *)run + 1024, 4);
    assert_int_equal(got[0], 0x1000 + 2 + 1);
    assert_int_equal(got[1], 0x1000 + 2 + 2);
    /* An unclaimed port reads all-ones of the access size. */
    run->io.port = 0x1234;
    run->io.size = 4;
    run->io.count = 1;
    assert_int_equal(kvm_handle_exit(&env, run), KVM_EXIT_ACTION_CONTINUE);
    uint32_t v;
    memcpy(&v, (uint8_t *)run + 1024, 4);
    assert_int_equal(v, 0xffffffffu);
    free(run);
}

static void test_mmio(void **state)
{
    (void)state;
    struct kvm_run *run = new_run(KVM_EXIT_MMIO);
    run->mmio.phys_addr = 0xd0000010;
    run->mmio.len = 4;
    run->mmio.is_write = 1;
    uint32_t v = 0xcafef00d;
    memcpy(run->mmio.data, &v, 4);
    F.nwrites = 0;
    assert_int_equal(kvm_handle_exit(&env, run), KVM_EXIT_ACTION_CONTINUE);
    assert_int_equal(F.nwrites, 1);
    assert_int_equal(F.writes[0], 0xcafef00d);
    assert_int_equal(F.write_addr[0], 0x10);

    run->mmio.is_write = 0;
    run->mmio.phys_addr = 0xe0000000; /* unclaimed */
    run->mmio.len = 8;
    memset(run->mmio.data, 0, 8);
    assert_int_equal(kvm_handle_exit(&env, run), KVM_EXIT_ACTION_CONTINUE);
    uint64_t r;
    memcpy(&r, run->mmio.data, 8);
    assert_true(r == ~0ULL);
    free(run);
}

static void test_triple_fault_is_fatal_with_dump(void **state)
{
    (void)state;
    struct kvm_run *run = new_run(KVM_EXIT_SHUTDOWN);
    F.stopped = F.dumped = 0;
    assert_int_equal(kvm_handle_exit(&env, run), KVM_EXIT_ACTION_STOP);
    assert_int_equal(F.stopped, 1);
    assert_int_equal(F.dumped, 1);
    assert_int_equal(F.status, KVM_EXIT_STATUS_FATAL);
    assert_non_null(strstr(F.why, "triple fault"));
    free(run);
}

static void test_system_events(void **state)
{
    (void)state;
    struct kvm_run *run = new_run(KVM_EXIT_SYSTEM_EVENT);
    run->system_event.type = KVM_SYSTEM_EVENT_SHUTDOWN;
    F.stopped = F.dumped = 0;
    F.status = -1;
    assert_int_equal(kvm_handle_exit(&env, run), KVM_EXIT_ACTION_STOP);
    assert_int_equal(F.status, 0);
    run->system_event.type = KVM_SYSTEM_EVENT_RESET;
    F.status = -1;
    assert_int_equal(kvm_handle_exit(&env, run), KVM_EXIT_ACTION_STOP);
    assert_int_equal(F.status, 0);
    assert_int_equal(F.dumped, 0);
    run->system_event.type = KVM_SYSTEM_EVENT_CRASH;
    assert_int_equal(kvm_handle_exit(&env, run), KVM_EXIT_ACTION_STOP);
    assert_int_equal(F.status, KVM_EXIT_STATUS_FATAL);
    free(run);
}

static void test_internal_error_and_fail_entry(void **state)
{
    (void)state;
    struct kvm_run *run = new_run(KVM_EXIT_INTERNAL_ERROR);
    run->internal.suberror = KVM_INTERNAL_ERROR_EMULATION;
    run->internal.ndata = 2;
    run->internal.data[0] = 0xcd;
    run->internal.data[1] = 0x40;
    F.dumped = 0;
    assert_int_equal(kvm_handle_exit(&env, run), KVM_EXIT_ACTION_STOP);
    assert_int_equal(F.status, KVM_EXIT_STATUS_FATAL);
    assert_non_null(strstr(F.why, "KVM internal error"));
    assert_non_null(strstr(F.why, "emulation failed"));
    assert_non_null(strstr(F.why, "0xcd 0x40"));
    assert_int_equal(F.dumped, 1);
    free(run);

    run = new_run(KVM_EXIT_FAIL_ENTRY);
    run->fail_entry.hardware_entry_failure_reason = 0x21;
    assert_int_equal(kvm_handle_exit(&env, run), KVM_EXIT_ACTION_STOP);
    assert_non_null(strstr(F.why, "0x21"));
    free(run);
}

static void test_intr_continues_and_unknown_stops(void **state)
{
    (void)state;
    struct kvm_run *run = new_run(KVM_EXIT_INTR);
    F.stopped = 0;
    assert_int_equal(kvm_handle_exit(&env, run), KVM_EXIT_ACTION_CONTINUE);
    assert_int_equal(F.stopped, 0);
    run->exit_reason = 9999;
    assert_int_equal(kvm_handle_exit(&env, run), KVM_EXIT_ACTION_STOP);
    assert_non_null(strstr(F.why, "unhandled KVM exit 9999"));
    run->exit_reason = KVM_EXIT_HLT;
    assert_int_equal(kvm_handle_exit(&env, run), KVM_EXIT_ACTION_STOP);
    assert_string_equal(kvm_exit_reason_name(KVM_EXIT_MMIO), "MMIO");
    assert_string_equal(kvm_exit_reason_name(100000), "unknown");
    free(run);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_io_out_and_rep),
        cmocka_unit_test(test_io_in_sizes),
        cmocka_unit_test(test_mmio),
        cmocka_unit_test(test_triple_fault_is_fatal_with_dump),
        cmocka_unit_test(test_system_events),
        cmocka_unit_test(test_internal_error_and_fail_entry),
        cmocka_unit_test(test_intr_continues_and_unknown_stops),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
