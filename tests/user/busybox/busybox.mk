# The busybox tests' input generator (tests/user/busybox/bbgen.c): a native
# host tool, built the same for every MODE, beside the xuni that
# run-busybox.sh is given.
BBGEN := $(BUILD)/tests/user/busybox/bbgen

$(BBGEN): tests/user/busybox/bbgen.c tests/user/busybox/busybox.mk
	@mkdir -p $(dir $@)
	gcc -std=gnu11 -O2 -Wall -Wextra -Werror -o $@ $<

TEST_EXTRA += $(BBGEN)
