/* Unit tests of the `xuni user` address space (src/user/mm.c) and the
 * fault-safe guest copies (src/user/fault.c): range bookkeeping, top-down
 * placement, re-reservation, and -EFAULT instead of a crash. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "user/user_proc.h"

#define PG USER_PAGE

static int setup(void **state)
{
    struct user_proc *p = calloc(1, sizeof(*p));
    assert_non_null(p);
    assert_int_equal(user_mm_init(&p->mm), 0);
    user_self = p;
    *state = p;
    return 0;
}

/* cmocka puts its own SIGSEGV handler in place around each test: put
 * xuni's back, as `xuni user` has it while a guest runs. */
static struct user_proc *arm(void **state)
{
    user_fault_destroy();
    assert_int_equal(user_fault_init(), 0);
    return *state;
}

static int teardown(void **state)
{
    struct user_proc *p = *state;
    user_self = NULL;
    user_fault_destroy();
    user_mm_destroy(&p->mm);
    free(p);
    return 0;
}

static void map_rw(struct user_proc *p, uint64_t a, uint64_t len)
{
    assert_int_equal(
        user_mm_map(p, a, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0), 0);
}

static void test_ranges_merge_and_split(void **state)
{
    struct user_proc *p = arm(state);
    struct user_mm *mm = &p->mm;
    map_rw(p, 0x10000, 0x10000);
    map_rw(p, 0x30000, 0x10000);
    assert_int_equal(mm->nvmas, 2);
    assert_true(user_mm_is_free(mm, 0x20000, 0x10000));
    assert_false(user_mm_is_free(mm, 0x1f000, 0x2000));
    map_rw(p, 0x20000, 0x10000); /* fills the gap: one range */
    assert_int_equal(mm->nvmas, 1);
    assert_true(user_mm_is_mapped(mm, 0x10000, 0x30000));
    assert_false(user_mm_is_mapped(mm, 0x10000, 0x31000));

    assert_int_equal(user_mm_unmap(p, 0x18000, 0x20000), 0); /* a hole in the middle */
    assert_int_equal(mm->nvmas, 2);
    assert_int_equal(mm->vmas[0].start, 0x10000);
    assert_int_equal(mm->vmas[0].end, 0x18000);
    assert_int_equal(mm->vmas[1].start, 0x38000);
    assert_int_equal(mm->vmas[1].end, 0x40000);
    assert_int_equal(user_mm_unmap(p, 0, 0x100000), 0); /* everything */
    assert_int_equal(mm->nvmas, 0);
}

static void test_unmapped_memory_is_reserved(void **state)
{
    struct user_proc *p = arm(state);
    map_rw(p, 0x50000, 2 * PG);
    memset(user_host(p, 0x50000), 0xab, 2 * PG);
    assert_int_equal(user_mm_unmap(p, 0x51000, PG), 0);
    /* The hole is still ours: a host mapping cannot land there, and a
     * copy from it fails instead of crashing. */
    void *h = mmap(user_host(p, 0x51000), PG, PROT_READ,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
    assert_true(h == MAP_FAILED);
    assert_int_equal(errno, EEXIST);
    char buf[16];
    assert_int_equal(user_copy_in(p, buf, 0x51000, sizeof(buf)), -EFAULT);
    assert_int_equal(user_copy_in(p, buf, 0x50ff8, sizeof(buf)), -EFAULT); /* straddles */
    assert_int_equal(user_copy_in(p, buf, 0x50000, sizeof(buf)), 0);
    assert_int_equal((unsigned char)buf[3], 0xab);
    user_mm_unmap(p, 0x50000, 2 * PG);
}

static void test_protect(void **state)
{
    struct user_proc *p = arm(state);
    map_rw(p, 0x60000, PG);
    assert_int_equal(user_mm_protect(p, 0x60000, PG, PROT_READ), 0);
    assert_int_equal(user_copy_out(p, 0x60000, "x", 1), -EFAULT);
    char c;
    assert_int_equal(user_copy_in(p, &c, 0x60000, 1), 0);
    assert_int_equal(user_mm_protect(p, 0x60000, 2 * PG, PROT_READ), -ENOMEM);
    assert_int_equal(user_mm_protect(p, 0x60000, PG, PROT_EXEC), 0); /* exec reads */
    assert_int_equal(user_copy_in(p, &c, 0x60000, 1), 0);
    user_mm_unmap(p, 0x60000, PG);
}

static void test_find_free_top_down(void **state)
{
    struct user_proc *p = arm(state);
    struct user_mm *mm = &p->mm;
    uint64_t lo = 0x100000, hi = 0x200000;
    assert_int_equal(user_mm_find_free(mm, 0x10000, lo, hi), hi - 0x10000);
    map_rw(p, hi - 0x8000, 0x8000);
    assert_int_equal(user_mm_find_free(mm, 0x10000, lo, hi), hi - 0x18000);
    map_rw(p, lo, 0xf0000); /* leaves [lo + 0xf0000, hi - 0x8000): 0x8000 */
    assert_int_equal(user_mm_find_free(mm, 0x8000, lo, hi), lo + 0xf0000);
    assert_int_equal(user_mm_find_free(mm, 0x9000, lo, hi), 0);
    assert_int_equal(user_mm_find_free(mm, 0x1000, hi, hi + 0x1000), hi);
    user_mm_unmap(p, lo, hi - lo);
}

static void test_remap(void **state)
{
    struct user_proc *p = arm(state);
    map_rw(p, 0x300000, PG);
    strcpy(user_host(p, 0x300000), "kept");
    /* in place, into free space after it */
    assert_int_equal(user_mm_remap(p, 0x300000, PG, 4 * PG, 0x300000, false), 0x300000);
    assert_true(user_mm_is_mapped(&p->mm, 0x300000, 4 * PG));
    assert_string_equal(user_host(p, 0x300000), "kept");
    /* moved: the old range is reserved again */
    assert_int_equal(user_mm_remap(p, 0x300000, 4 * PG, 8 * PG, 0x400000, false), 0x400000);
    assert_string_equal(user_host(p, 0x400000), "kept");
    assert_true(user_mm_is_free(&p->mm, 0x300000, 4 * PG));
    char c;
    assert_int_equal(user_copy_in(p, &c, 0x300000, 1), -EFAULT);
    user_mm_unmap(p, 0x400000, 8 * PG);
}

static void test_strings_and_pointers(void **state)
{
    struct user_proc *p = arm(state);
    map_rw(p, 0x70000, PG);
    char *h = user_host(p, 0x70000);
    char out[32];
    strcpy(h, "path");
    assert_int_equal(user_copy_str(p, out, 0x70000, sizeof(out)), 4);
    assert_string_equal(out, "path");
    memset(h + PG - 3, 'a', 3); /* runs into the unmapped page after */
    assert_int_equal(user_copy_str(p, out, 0x70000 + PG - 3, sizeof(out)), -EFAULT);
    memset(h, 'b', 64);
    assert_int_equal(user_copy_str(p, out, 0x70000, sizeof(out)), -ENAMETOOLONG);
    assert_int_equal(user_copy_str(p, out, p->mm.size + 5, sizeof(out)), -EFAULT);

    void *x = (void *)1;
    assert_int_equal(user_xlate(p, 0, 100, &x), 0);
    assert_null(x);
    assert_int_equal(user_xlate(p, 0x70000, 16, &x), 0);
    assert_ptr_equal(x, h);
    assert_int_equal(user_xlate(p, p->mm.size - 8, 16, &x), -EFAULT);
    assert_int_equal(user_xlate(p, UINT64_MAX - 4, 16, &x), -EFAULT);
    user_mm_unmap(p, 0x70000, PG);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_ranges_merge_and_split, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unmapped_memory_is_reserved, setup, teardown),
        cmocka_unit_test_setup_teardown(test_protect, setup, teardown),
        cmocka_unit_test_setup_teardown(test_find_free_top_down, setup, teardown),
        cmocka_unit_test_setup_teardown(test_remap, setup, teardown),
        cmocka_unit_test_setup_teardown(test_strings_and_pointers, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
