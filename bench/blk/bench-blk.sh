#!/usr/bin/env bash
# `make bench-blk`: virtio-blk throughput and IOPS seen by a Linux guest
# under xuni's emu accelerator and under QEMU's TCG, in the same run, on
# the same raw image (512 MiB, sparse, in a temporary folder, opened with
# the host page cache by both: cache=writeback).
#
# The guest is Debian 12's kernel (BENCH_KERNEL=generic, the default, or
# cloud) with build/images' initramfs (`make guest`) and a second archive
# carrying blkbench (bench/blk/blkbench.c, static: a clock and randread),
# "console=ttyS0", 512 MiB, one vCPU. Both VMMs are driven the same way:
# their serial console on stdio, typed into through a FIFO
# (tests/linux/console.sh).
# In one boot per VMM, BENCH_RUNS rounds (default 3) of
#   seq write   dd if=/dev/zero of=/dev/vda bs=1M count=BENCH_MB oflag=direct
#   seq read    dd if=/dev/vda of=/dev/null bs=1M count=BENCH_MB iflag=direct
#   rand read   blkbench randread /dev/vda BENCH_IOPS_N: 4 KiB O_DIRECT
#               reads at offsets from a fixed seed, one at a time
# timed inside the guest (blkbench now, CLOCK_MONOTONIC, around dd;
# randread times itself). Each boot also prints how fast the guest's clock
# ran against the host's over the rounds (a check that the in-guest
# timings mean host seconds; the console's polling blurs it by ~0.2 s).
# O_DIRECT keeps the guest's page cache out, so every byte crosses the
# virtqueue. Prints the medians and the ratios xuni/QEMU (above 1: xuni is
# faster). A benchmark, never a pass/fail test: it fails only when a guest
# does not boot or a measurement gives no number.
#
#   bench/blk/bench-blk.sh XUNI IMAGES_DIR BLKBENCH
set -u
[ $# -eq 3 ] || { echo "usage: $0 XUNI IMAGES_DIR BLKBENCH" >&2; exit 2; }
XUNI=$(realpath "$1")
IMAGES=$(realpath "$2")
BLKBENCH=$(realpath "$3")
RUNS=${BENCH_RUNS:-3}
MB=${BENCH_MB:-64}
IOPS_N=${BENCH_IOPS_N:-2000}
KERNEL_FLAVOR=${BENCH_KERNEL:-generic}
QEMU=${BENCH_QEMU:-qemu-system-x86_64}
KERNEL=$IMAGES/vmlinuz-$KERNEL_FLAVOR
APPEND="console=ttyS0"
BOOT_TIMEOUT=300
CMD_TIMEOUT=300
cd "$(dirname "$0")/../.."

die() {
    echo "bench-blk: $*" >&2
    exit 1
}
[ -x "$XUNI" ] || die "$XUNI is not an executable"
[ -x "$BLKBENCH" ] || die "$BLKBENCH is not an executable"
[ -f "$KERNEL" ] || die "$KERNEL missing (make guest builds it)"
[ -f "$IMAGES/initramfs-$KERNEL_FLAVOR.cpio.gz" ] || die "initramfs-$KERNEL_FLAVOR missing (make guest)"
for v in RUNS MB IOPS_N; do
    [[ ${!v} =~ ^[1-9][0-9]*$ ]] || die "BENCH_$v must be a positive number"
done
[ "$MB" -le 512 ] || die "BENCH_MB is at most 512 (the disk's size)"
command -v cpio >/dev/null || die "cpio missing"
. bench/lib.sh
bench_install "$QEMU" qemu-system-x86 bench-blk || die "could not install qemu-system-x86"

tmp=$(mktemp -d)
. tests/linux/console.sh
trap 'console_kill; rm -rf "$tmp"' EXIT

# The initramfs with blkbench added: Linux unpacks concatenated archives
# one over the other, and QEMU takes a single -initrd.
mkdir -p "$tmp/extra/bin"
cp "$BLKBENCH" "$tmp/extra/bin/blkbench"
(cd "$tmp/extra" && find . | cpio -o -H newc -R 0:0 --quiet) | gzip >"$tmp/extra.cpio.gz"
cat "$IMAGES/initramfs-$KERNEL_FLAVOR.cpio.gz" "$tmp/extra.cpio.gz" >"$tmp/initrd.gz"
truncate -s 512M "$tmp/disk.img"

# guest_s CMD: run CMD in the guest between two clock readings; prints
# the seconds it took (empty when it failed). The arithmetic is the
# host's: a failed expansion in the guest's shell would drop the end marker.
guest_s() {
    run_cmd "t0=\$(blkbench now); $1 && echo t=\$t0,\$(blkbench now)" || return
    sed -n 's/^t=\([0-9][0-9]*\),\([0-9][0-9]*\)$/\1 \2/p' <<<"$reply" | tail -1 |
        awk '{ printf "%.6f\n", ($2 - $1) / 1e9 }'
}

# measure NAME VMM-COMMAND...: boot, RUNS rounds; appends "MB/s MB/s IOPS"
# lines to $tmp/NAME.
measure() {
    local name=$1 t0=$SECONDS
    shift
    console_start "$@"
    if ! wait_for "Type 'poweroff' to leave." "$BOOT_TIMEOUT" || ! run_cmd "dmesg -n 1"; then
        tail -5 "$tmp/out" "$tmp/err" >&2
        die "$name did not boot to the shell within ${BOOT_TIMEOUT}s"
    fi
    run_cmd "cat /sys/block/vda/size"
    [ "$reply" = 1048576 ] || die "$name: the guest sees no 512 MiB /dev/vda: '$reply'"
    echo "bench-blk: $name booted in $((SECONDS - t0)) s"
    local i w r iops g0 h0
    run_cmd "blkbench now"
    g0=$reply h0=$(date +%s%N)
    for ((i = 1; i <= RUNS; i++)); do
        w=$(guest_s "dd if=/dev/zero of=/dev/vda bs=1M count=$MB oflag=direct 2>/dev/null")
        r=$(guest_s "dd if=/dev/vda of=/dev/null bs=1M count=$MB iflag=direct 2>/dev/null")
        run_cmd "blkbench randread /dev/vda $IOPS_N 12345"
        iops=$(sed -n 's/^randread: .* s, \([0-9][0-9]*\) IOPS$/\1/p' <<<"$reply")
        [ -n "$w" ] && [ -n "$r" ] && [ -n "$iops" ] ||
            die "$name, round $i: no measurement (write '$w' s, read '$r' s, randread '$reply')"
        awk -v mb="$MB" -v w="$w" -v r="$r" -v n="$iops" \
            'BEGIN { printf "%.2f %.2f %d\n", mb / (w > 0 ? w : 1e-6), mb / (r > 0 ? r : 1e-6), n }' >>"$tmp/$name"
        echo "bench-blk: $name round $i: $(tail -1 "$tmp/$name") (write MB/s, read MB/s, IOPS)"
    done
    run_cmd "blkbench now"
    awk -v g0="$g0" -v g1="$reply" -v h0="$h0" -v h1="$(date +%s%N)" -v n="$name" \
        'BEGIN { if (h1 > h0 && g1 > g0) printf "bench-blk: %s guest clock: %.3f s in %.3f s of the host'"'"'s\n", n, (g1 - g0) / 1e9, (h1 - h0) / 1e9 }'
    console_poweroff
}

printf "bench-blk: %s runs each, %s kernel, 512 MiB RAM, 1 vCPU, raw 512 MiB image (cache=writeback)\n" \
    "$RUNS" "$KERNEL_FLAVOR"
measure qemu "$QEMU" -accel tcg -m 512 -nographic -no-reboot -kernel "$KERNEL" \
    -initrd "$tmp/initrd.gz" -append "$APPEND" \
    -drive "file=$tmp/disk.img,if=virtio,format=raw,cache=writeback"
measure xuni "$XUNI" run --accel emu --kernel "$KERNEL" --initrd "$tmp/initrd.gz" --mem 512M \
    --append "$APPEND" --drive "file=$tmp/disk.img,cache=writeback"

echo
printf "%-44s %12s %12s %10s\n" "median of $RUNS (timed in the guest)" "QEMU TCG" "xuni emu" "xuni/QEMU"
row() { # label column
    awk -v l="$1" -v q="$(median "$tmp/qemu" "$2")" -v x="$(median "$tmp/xuni" "$2")" \
        'BEGIN { printf "%-44s %12.1f %12.1f %9.2fx\n", l, q, x, q ? x / q : 0 }'
}
row "seq write MB/s (dd bs=1M count=$MB, O_DIRECT)" 1
row "seq read MB/s (dd bs=1M count=$MB, O_DIRECT)" 2
row "4 KiB random read IOPS ($IOPS_N, O_DIRECT, QD1)" 3
