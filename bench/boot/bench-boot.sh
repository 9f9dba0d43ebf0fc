#!/usr/bin/env bash
# `make bench-boot`: how long Debian 12's kernels take from the start of the
# VMM to the guest's power-off, under xuni's emu accelerator and under QEMU's
# TCG, in the same run. The guest is the kernel with an initramfs whose
# /init powers off at once (build/images, `make guest`), the command line
# "console=ttyS0" for both, 512 MiB, one vCPU.
#
# xuni runs twice per kernel: with the payload unpacked on the host (the
# default) and with the kernel's own decompressor (--kernel-decompress
# guest), so the CPU's own speed is visible apart from that shortcut. QEMU
# boots through SeaBIOS and the kernel's decompressor, as it always does.
#
# Prints the medians of BENCH_RUNS runs (default 5) of wall and CPU
# (user+sys) time and the ratios xuni/QEMU, plus xuni's guest instruction
# rate (instructions retired / CPU second, from XUNI_STATS). A benchmark,
# never a pass/fail test: it fails only when a boot does not end in a
# power-off (its time would mean nothing).
#
#   bench/boot/bench-boot.sh XUNI IMAGES_DIR
set -u
[ $# -eq 2 ] || { echo "usage: $0 XUNI IMAGES_DIR" >&2; exit 2; }
XUNI=$(realpath "$1")
IMAGES=$(realpath "$2")
RUNS=${BENCH_RUNS:-5}
QEMU=${BENCH_QEMU:-qemu-system-x86_64}
INITRD=$IMAGES/initramfs-poweroff.cpio.gz
APPEND="console=ttyS0"
TIMEOUT=600

die() {
    echo "bench-boot: $*" >&2
    exit 1
}
[ -x "$XUNI" ] || die "$XUNI is not an executable"
[ -f "$INITRD" ] || die "$INITRD missing (make guest builds it)"
. "$(dirname "$0")/../lib.sh"
bench_install "$QEMU" qemu-system-x86 bench-boot || die "could not install qemu-system-x86"

TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

# run_once NAME CMD...: one boot; appends "wall cpu" to $TMP/NAME; the
# serial output must show the power-off.
run_once() {
    local name=$1
    shift
    local t0 t1 usage
    t0=$(date +%s.%N)
    /usr/bin/time -f "%U %S" -o "$TMP/time" timeout "$TIMEOUT" "$@" </dev/null >"$TMP/out" 2>"$TMP/err"
    local rc=$?
    t1=$(date +%s.%N)
    if [ $rc -ne 0 ] || ! grep -q "reboot: Power down" "$TMP/out"; then
        echo "bench-boot: $name did not power off (status $rc):" >&2
        tail -5 "$TMP/out" "$TMP/err" >&2
        exit 1
    fi
    usage=$(tail -1 "$TMP/time")
    awk -v a="$t0" -v b="$t1" -v u="$usage" 'BEGIN { split(u, c, " "); printf "%.3f %.3f\n", b - a, c[1] + c[2] }' >>"$TMP/$name"
    grep -h "instructions" "$TMP/err" | tail -1 >>"$TMP/$name.insns"
}

printf "bench-boot: %s runs each, 512 MiB, 1 vCPU, \"%s\", initramfs that powers off at once\n" "$RUNS" "$APPEND"
printf "%-10s %-24s %10s %10s %12s %12s\n" kernel runner "wall s" "cpu s" "wall/QEMU" "cpu/QEMU"
for flavor in generic cloud; do
    kernel=$IMAGES/vmlinuz-$flavor
    [ -f "$kernel" ] || die "$kernel missing (make guest builds it)"
    for ((i = 0; i < RUNS; i++)); do
        run_once "$flavor-qemu" "$QEMU" -accel tcg -m 512 -nographic -no-reboot \
            -kernel "$kernel" -initrd "$INITRD" -append "$APPEND"
        XUNI_STATS=1 run_once "$flavor-host" "$XUNI" run --accel emu --kernel "$kernel" \
            --initrd "$INITRD" --mem 512M --append "$APPEND"
        XUNI_STATS=1 run_once "$flavor-guest" "$XUNI" run --accel emu --kernel "$kernel" \
            --initrd "$INITRD" --mem 512M --append "$APPEND" --kernel-decompress guest
    done
    qw=$(median "$TMP/$flavor-qemu" 1)
    qc=$(median "$TMP/$flavor-qemu" 2)
    for r in qemu host guest; do
        w=$(median "$TMP/$flavor-$r" 1)
        c=$(median "$TMP/$flavor-$r" 2)
        case $r in
        qemu) label="QEMU TCG" ;;
        host) label="xuni emu (host unpack)" ;;
        guest) label="xuni emu (guest unpack)" ;;
        esac
        awk -v k="$flavor" -v l="$label" -v w="$w" -v c="$c" -v qw="$qw" -v qc="$qc" \
            'BEGIN { printf "%-10s %-24s %10.2f %10.2f %11.2fx %11.2fx\n", k, l, w, c, w / qw, c / qc }'
        if [ "$r" != qemu ] && [ -s "$TMP/$flavor-$r.insns" ]; then
            insns=$(awk '{ for (i = 1; i <= NF; i++) if ($i == "instructions") print $(i - 1) }' \
                "$TMP/$flavor-$r.insns" | sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }')
            [ -n "$insns" ] && awk -v n="$insns" -v c="$c" \
                'BEGIN { printf "%-10s %-24s %10s %.2f G instructions, %.0f M/s of CPU time\n", "", "", "", n / 1e9, n / c / 1e6 }'
        fi
    done
done
