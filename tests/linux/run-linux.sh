#!/usr/bin/env bash
# End-to-end: Debian 12's kernels (build/images, `make guest`) boot under
# --accel emu to the busybox shell, and the test drives the console like a
# user: it types commands and reads the answers from the serial output.
# Prints TAP.
#
#   tests/linux/run-linux.sh XUNI
#
# Each boot: `uname -r` matches the image's release, /proc/cpuinfo shows
# --smp N processors, `date +%s` is within a minute of the host, a short
# CPU-bound shell loop finishes, dmesg holds none of the messages a missing
# or wrong emulation causes, and `poweroff` ends xuni with status 0. The
# kernel command line is plain "console=ttyS0": no workaround flags.
#
# The sanitizer build (a path under build/asan) skips this: it boots Linux
# in run-virtio-blk.sh and run-virtio-net.sh.
set -u
XUNI=${1:?usage: run-linux.sh XUNI}
cd "$(dirname "$0")/../.."
IMAGES=build/images
BOOT_TIMEOUT=${XUNI_LINUX_TIMEOUT:-240} # seconds from start to the shell prompt
CMD_TIMEOUT=60
tmp=$(mktemp -d)
. tests/linux/console.sh
TAP_PREFIX=linux
trap 'console_kill; rm -rf "$tmp"' EXIT

# dmesg lines that mean the emulated PC is missing something or wrong.
BAD_RE='BUG:|Oops|Kernel panic|WARNING:|unchecked MSR access|invalid opcode|general protection|Call Trace|soft lockup|hard LOCKUP|rcu_sched self-detected|clocksource.*unstable|TSC.*unstable|timed out|Unable to calibrate|do_IRQ: .* No irq handler'

boot_test() {
    local flavor=$1 smp=$2 name="$1 --smp $2"
    local release
    release=$(cat "$IMAGES/$flavor.release" 2>/dev/null)
    console_start "$XUNI" run --accel emu --kernel "$IMAGES/vmlinuz-$flavor" \
        --initrd "$IMAGES/initramfs-$flavor.cpio.gz" --mem 512M --smp "$smp" --append "console=ttyS0"
    local t0=$SECONDS
    if ! wait_for "Type 'poweroff' to leave." "$BOOT_TIMEOUT" || ! run_cmd "true"; then
        fail "$name: boots to the shell within ${BOOT_TIMEOUT}s"
        console_kill
        return
    fi
    ok "$name: boots to the shell ($((SECONDS - t0)) s)"

    run_cmd "uname -r"
    check "$name: uname -r" "$release"
    run_cmd 'echo $(cat /sys/class/dmi/id/sys_vendor /sys/class/dmi/id/product_name)'
    check "$name: SMBIOS: the machine as /sys/class/dmi/id reports it" "xuni Virtual Machine"
    run_cmd "grep -c ^processor /proc/cpuinfo"
    check "$name: $smp CPU(s) in /proc/cpuinfo" "$smp"

    run_cmd "date +%s"
    local host guest=${reply//[^0-9]/}
    host=$(date +%s)
    if [ -n "$guest" ] && [ $((host - guest)) -le 60 ] && [ $((guest - host)) -le 60 ]; then
        ok "$name: date within a minute of the host"
    else
        fail "$name: guest date '$reply', host $host"
    fi

    run_cmd 'i=0; while [ $i -lt 20000 ]; do i=$((i + 1)); done; echo loop $i'
    check "$name: a CPU-bound loop" "loop 20000"
    run_cmd "dmesg | grep -E '$BAD_RE' | head -5"
    check "$name: dmesg has no emulation errors" ""

    console_poweroff
    if [ "$status" -eq 0 ]; then
        ok "$name: poweroff ends xuni with status 0"
    else
        fail "$name: poweroff: xuni exited with status $status (255: had to be killed)"
    fi
    # What a user of `make run` would see on the terminal besides the guest.
    local said
    said=$(grep -E 'warning|error' "$tmp/err" | head -3)
    if [ -z "$said" ]; then
        ok "$name: xuni printed no warnings"
    else
        fail "$name: xuni printed: $said"
    fi
}

# The sanitizer build boots Linux only in run-virtio-blk.sh and
# run-virtio-net.sh (real device traffic under ASan), to keep make test
# inside its time budget.
case "$XUNI" in
*asan*)
    echo "1..1"
    echo "ok 1 - linux # SKIP sanitizer build: the Linux boot runs under ASan in run-virtio-blk.sh and run-virtio-net.sh"
    exit 0
    ;;
esac
if [ ! -f "$IMAGES/vmlinuz-generic" ] || [ ! -f "$IMAGES/initramfs-cloud.cpio.gz" ]; then
    echo "1..1"
    echo "ok 1 - linux # SKIP no guest images in $IMAGES (make guest builds them)"
    exit 0
fi
runs=("generic 1" "generic 2" "cloud 1" "cloud 2")
[ -n "${XUNI_LINUX_ONLY:-}" ] && runs=("$XUNI_LINUX_ONLY") # e.g. "cloud 2"
for r in "${runs[@]}"; do
    # shellcheck disable=SC2086
    boot_test $r
done
echo "1..$n"
