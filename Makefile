# xuni — plain GNU make.
#   make                 build/xuni (optimized, with debug info)
#   make MODE=asan       build/asan/xuni (AddressSanitizer + UBSan)
#   make MODE=debug      build/debug/xuni (-O0)
#   make MODE=tsan       build/tsan/xuni (ThreadSanitizer; not part of make test)
#   make test            unit tests and test guests, normal and sanitizer builds
#   make run             boot the default guest (Debian's kernel, a busybox shell)
MODE ?= release
ifeq ($(MODE),asan)
BUILD := build/asan
MODE_CFLAGS := -O1 -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
MODE_LDFLAGS := -fsanitize=address,undefined
else ifeq ($(MODE),tsan)
BUILD := build/tsan
MODE_CFLAGS := -O1 -fsanitize=thread -fno-omit-frame-pointer -Wno-tsan # (fences on guest RAM)
MODE_LDFLAGS := -fsanitize=thread
else ifeq ($(MODE),debug)
BUILD := build/debug
MODE_CFLAGS := -O0
else ifeq ($(MODE),release)
BUILD := build
MODE_CFLAGS := -O2
else
$(error MODE must be release, debug, asan or tsan)
endif

CC ?= gcc
CFLAGS := -std=gnu11 -Wall -Wextra -Werror -g -pthread -Isrc -MMD -MP $(MODE_CFLAGS) $(EXTRA_CFLAGS)
LDFLAGS := -pthread $(MODE_LDFLAGS)
LDLIBS := -lz -llzma -llz4 -lzstd -lbz2 -llzo2 -luring -lslirp

SRCS := $(shell find src -name '*.c' ! -path src/main.c | sort)
OBJS := $(SRCS:%.c=$(BUILD)/obj/%.o)
LIB := $(BUILD)/libxuni.a
# The CPU's instruction families register themselves through weak tables
# (cpu/x86/insn.h) that nothing else references: link the whole archive so
# every family is in.
LIB_WHOLE := -Wl,--whole-archive $(LIB) -Wl,--no-whole-archive
XUNI := $(BUILD)/xuni

UNIT_SRCS := $(sort $(wildcard tests/unit/test_*.c))
UNIT_BINS := $(UNIT_SRCS:tests/unit/%.c=$(BUILD)/tests/%)

.PHONY: all test test-build run clean format guests
all: $(XUNI)

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c -o $@ $<

$(LIB): $(OBJS)
	@mkdir -p $(dir $@)
	rm -f $@ && ar rcs $@ $^

$(XUNI): $(BUILD)/obj/src/main.o $(LIB)
	$(CC) $(LDFLAGS) -o $@ $< $(LIB_WHOLE) $(LDLIBS)

$(BUILD)/tests/%: $(BUILD)/obj/tests/unit/%.o $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS) -lcmocka

# Test guests: freestanding kernels built with the host toolchain, the same
# for every MODE (they run inside the VM, not in xuni).
include tests/guests/guests.mk

# Further test suites (e.g. tests/cpu/*) bring their own make fragments; each
# adds its binaries to TEST_EXTRA so test-build builds them.
TEST_EXTRA :=
-include $(sort $(filter-out tests/guests/guests.mk,$(wildcard tests/*/*.mk tests/*/*/*.mk)))

# Benchmarks (never pass/fail tests): make bench-user
include bench/bench.mk
include tools/guest.mk

test-build: $(XUNI) $(UNIT_BINS) guests $(TEST_EXTRA)

# Both builds, then one summary line "N passed, N failed".
test:
	$(MAKE) guest
	$(MAKE) MODE=release test-build
	$(MAKE) MODE=asan test-build
	tests/run.sh build build/asan

# The default guest: Debian 12's generic kernel with the busybox initramfs,
# interactive on the terminal; `poweroff` (or Ctrl-A x) leaves.
run: $(XUNI) guest
	$(XUNI) run --accel auto --kernel $(GUEST_KERNEL_GENERIC) --initrd $(GUEST_INITRD_GENERIC) \
		--mem 1G --smp 2 --append "console=ttyS0"

format:
	clang-format -i $$(find src tests -name '*.[ch]')

clean:
	rm -rf build

-include $(OBJS:.o=.d) $(BUILD)/obj/src/main.d $(UNIT_SRCS:tests/unit/%.c=$(BUILD)/obj/tests/unit/%.d)
