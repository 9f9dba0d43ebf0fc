# Benchmarks (never pass/fail tests): ratios against native runs and peers.
#   make bench-user    busybox sha256sum and gzip -9, and a compiled kernel,
#                      natively, under `xuni user` and under qemu-x86_64
#                      (BENCH_SCALE=F scales the work, BENCH_RUNS=N the runs)
#   make bench-boot    Debian's kernels from start to power-off under emu
#                      (host and guest decompression) and QEMU TCG, medians
#                      of BENCH_RUNS=N (default 5) runs, with ratios
#   make bench-blk     virtio-blk sequential write/read MB/s and 4 KiB random
#                      read IOPS in the guest, under emu and QEMU TCG on the
#                      same image, medians of BENCH_RUNS=N (default 3) rounds
#                      (BENCH_MB, BENCH_IOPS_N, BENCH_KERNEL=generic|cloud)
# Run it on the release build (the default MODE).
BENCH_USER_DIR := $(BUILD)/bench/user

$(BENCH_USER_DIR)/kernel: bench/user/kernel.c bench/bench.mk
	@mkdir -p $(dir $@)
	gcc -std=gnu11 -O2 -static -Wall -Wextra -Werror -o $@ $<

# The deterministic input generator of the busybox tests.
$(BENCH_USER_DIR)/bbgen: tests/user/busybox/bbgen.c bench/bench.mk
	@mkdir -p $(dir $@)
	gcc -std=gnu11 -O2 -Wall -Wextra -Werror -o $@ $<

bench-user: $(XUNI) $(BENCH_USER_DIR)/kernel $(BENCH_USER_DIR)/bbgen
	bench/user/bench-user.sh $(XUNI) $(BENCH_USER_DIR)

bench-boot: $(XUNI) guest
	bench/boot/bench-boot.sh $(XUNI) $(IMAGES)

BENCH_BLK_DIR := $(BUILD)/bench/blk

# Static: it runs in the guest's busybox initramfs.
$(BENCH_BLK_DIR)/blkbench: bench/blk/blkbench.c bench/bench.mk
	@mkdir -p $(dir $@)
	gcc -std=gnu11 -O2 -static -Wall -Wextra -Werror -o $@ $<

bench-blk: $(XUNI) guest $(BENCH_BLK_DIR)/blkbench
	bench/blk/bench-blk.sh $(XUNI) $(IMAGES) $(BENCH_BLK_DIR)/blkbench

.PHONY: bench-user bench-boot bench-blk
