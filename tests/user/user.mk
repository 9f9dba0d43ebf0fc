# Test programs for `xuni user`: small static x86-64 Linux programs without
# libc (tests/user/ulib.c is their runtime), built with the host toolchain,
# the same for every MODE. tests/user/run-user.sh runs each natively and
# under xuni and compares output and exit status.
USER_PROG_BUILD := build/user-progs
USER_PROG_SRC := tests/user

USER_C_PROGS := args mem segv fileio fork exec signals interrupt misc
USER_PROGS := $(USER_C_PROGS:%=$(USER_PROG_BUILD)/%) $(USER_PROG_BUILD)/hello \
	$(USER_PROG_BUILD)/hello-pie
USER_LIB_OBJS := $(USER_PROG_BUILD)/obj/ulib.o $(USER_PROG_BUILD)/obj/ulib_start.o

# Integer instructions only (-mgeneral-regs-only): x87/SSE come later in
# the emulator.
USER_PROG_CFLAGS := -std=gnu11 -O2 -g -Wall -Wextra -Werror -ffreestanding -fno-pie \
	-mgeneral-regs-only -fno-stack-protector -fno-asynchronous-unwind-tables \
	-fcf-protection=none --param=min-pagesize=0 -MMD -MP
USER_PROG_LDFLAGS := -nostdlib -static -no-pie -z noexecstack
USER_MK := $(USER_PROG_SRC)/user.mk

$(USER_PROG_BUILD)/obj/%.o: $(USER_PROG_SRC)/%.c $(USER_MK)
	@mkdir -p $(dir $@)
	gcc $(USER_PROG_CFLAGS) -c -o $@ $<

$(USER_PROG_BUILD)/obj/%.o: $(USER_PROG_SRC)/%.S $(USER_MK)
	@mkdir -p $(dir $@)
	gcc -g -c -o $@ $<

$(USER_C_PROGS:%=$(USER_PROG_BUILD)/%): $(USER_PROG_BUILD)/%: $(USER_PROG_BUILD)/obj/%.o \
		$(USER_LIB_OBJS)
	gcc $(USER_PROG_LDFLAGS) -o $@ $^

$(USER_PROG_BUILD)/hello: $(USER_PROG_BUILD)/obj/hello.o
	gcc $(USER_PROG_LDFLAGS) -o $@ $^

$(USER_PROG_BUILD)/hello-pie: $(USER_PROG_BUILD)/obj/hello.o
	gcc -nostdlib -static-pie -z noexecstack -o $@ $^

user-progs: $(USER_PROGS)
.PHONY: user-progs
TEST_EXTRA += $(USER_PROGS)

# Unit tests of src/user's internals (cmocka, against the library of this
# MODE), run by run-user.sh from the build folder of the xuni it is given.
USER_UNIT_BINS := $(BUILD)/tests/user/test_user_mm
$(BUILD)/tests/user/%: $(BUILD)/obj/tests/user/%.o $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $< $(LIB) $(LDLIBS) -lcmocka
TEST_EXTRA += $(USER_UNIT_BINS)

.SECONDARY: $(USER_LIB_OBJS) $(USER_C_PROGS:%=$(USER_PROG_BUILD)/obj/%.o)
-include $(USER_C_PROGS:%=$(USER_PROG_BUILD)/obj/%.d) $(USER_PROG_BUILD)/obj/ulib.d \
	$(USER_UNIT_BINS:$(BUILD)/tests/user/%=$(BUILD)/obj/tests/user/%.d)
