#!/usr/bin/env bash
# End-to-end virtio-console: Debian 12's cloud kernel (build/images, `make
# guest`) under --accel emu with --console virtio and console=hvc0: the
# shell is driven over hvc0 exactly as run-linux.sh drives it over ttyS0.
# Prints TAP.
#
#   tests/linux/run-virtio-console.sh XUNI
#
# The image's /init opens /dev/console before it loads the modules, and
# virtio_console is a module in Debian's kernels, so a second initrd (a
# newc archive written here) adds /hvc-init, which loads the image's
# modules first and then runs /init (rdinit=/hvc-init).
#
# Checked: the banner and the prompt arrive over hvc0; `uname -r` matches
# the image; the shell's tty is /dev/hvc0 and the kernel's console is hvc0;
# the device is a virtio 1.x console (PCI 1af4:1043) driven by virtio-pci;
# 2000 lines of output arrive whole; a typed line longer than the device's
# input FIFO (but inside busybox's 1024-byte line editor) arrives whole; bytes written to ttyS0 go nowhere; dmesg holds
# no virtio complaint; poweroff ends xuni with status 0.
set -u
XUNI=${1:?usage: run-virtio-console.sh XUNI}
cd "$(dirname "$0")/../.."
IMAGES=build/images
BOOT_TIMEOUT=${XUNI_LINUX_TIMEOUT:-240}
CMD_TIMEOUT=60
tmp=$(mktemp -d)
. tests/linux/console.sh
TAP_PREFIX=virtio-console
trap 'console_kill; rm -rf "$tmp"' EXIT

BAD_RE='virtio.*(error|fail)|hvc.*(error|fail)|probe of .* failed|BUG:|Oops|WARNING:|Call Trace'

# newc_file NAME MODE DATA: one cpio newc entry (header, name and data each
# padded to 4 bytes) on stdout; the trailer is newc_file TRAILER!!! 0 "".
newc_file() {
    local name=$1 mode=$2 data=$3
    local namesize=$((${#name} + 1)) size=${#data}
    printf '070701%08x%08x%08x%08x%08x%08x%08x%08x%08x%08x%08x%08x%08x' \
        1 "$mode" 0 0 1 0 "$size" 0 0 0 0 "$namesize" 0
    printf '%s\0' "$name"
    head -c $(((4 - (110 + namesize) % 4) % 4)) /dev/zero
    printf '%s' "$data"
    head -c $(((4 - size % 4) % 4)) /dev/zero
}

HVC_INIT='#!/bin/sh
mount -t proc proc /proc
m=/lib/modules/$(uname -r)
while read -r x; do [ -f "$m/$x" ] && insmod "$m/$x" 2>/dev/null; done <"$m/load-order"
umount /proc
exec /init
'

# The sanitizer build boots Linux only in run-virtio-blk.sh and
# run-virtio-net.sh (real device traffic under ASan), to keep make test
# inside its time budget.
case "$XUNI" in
*asan*)
    echo "1..1"
    echo "ok 1 - virtio-console # SKIP sanitizer build: the console device runs under ASan in test_virtio_console"
    exit 0
    ;;
esac
if [ ! -f "$IMAGES/vmlinuz-cloud" ] || [ ! -f "$IMAGES/initramfs-cloud.cpio.gz" ]; then
    echo "1..1"
    echo "ok 1 - virtio-console # SKIP no guest images in $IMAGES (make guest builds them)"
    exit 0
fi

{
    newc_file hvc-init $((0100755)) "$HVC_INIT"
    newc_file 'TRAILER!!!' 0 ""
} >"$tmp/hvc.cpio"

name="cloud, console=hvc0"
release=$(cat "$IMAGES/cloud.release")
console_start "$XUNI" run --accel emu --console virtio --kernel "$IMAGES/vmlinuz-cloud" \
    --initrd "$IMAGES/initramfs-cloud.cpio.gz,$tmp/hvc.cpio" --mem 512M \
    --append "console=hvc0 rdinit=/hvc-init"
t0=$SECONDS
if ! wait_for "Type 'poweroff' to leave." "$BOOT_TIMEOUT" || ! run_cmd "true"; then
    fail "$name: boots to the shell over hvc0 within ${BOOT_TIMEOUT}s"
    echo "1..$n"
    exit 1
fi
ok "$name: boots to the shell over hvc0 ($((SECONDS - t0)) s)"

run_cmd "uname -r"
check "$name: uname -r" "$release"
run_cmd 'echo $((6 * 7))'
check "$name: a command's output" "42"
run_cmd "tty; cat /sys/class/tty/console/active"
check "$name: the shell and the kernel console are on hvc0" "/dev/hvc0
hvc0"
run_cmd 'for d in /sys/bus/pci/devices/*; do [ $(cat $d/device) = 0x1043 ] && echo $(cat $d/vendor) $(basename $(readlink $d/driver)); done'
check "$name: a virtio 1.x console (1af4:1043) on virtio-pci" "0x1af4 virtio-pci"

run_cmd "seq 1 2000"
if [ "$(wc -l <<<"$reply")" -eq 2000 ] && [ "$(head -1 <<<"$reply")" = 1 ] &&
    [ "$(tail -1 <<<"$reply")" = 2000 ] && [ "$reply" = "$(seq 1 2000)" ]; then
    ok "$name: 2000 lines of output arrive whole"
else
    fail "$name: 2000 lines of output: got $(wc -l <<<"$reply") lines"
fi

long=$(printf "x%.0s" $(seq 1 700))
run_cmd "v=$long; echo \${#v} \${v%%x*}."
check "$name: a 700-byte typed line (more than the FIFO) arrives whole" "700 ."

run_cmd 'echo uart-$((40 + 2)) >/dev/ttyS0; echo sent'
if [ "$reply" = sent ] && ! grep -q 'uart-42' "$tmp/out"; then
    ok "$name: the UART's output goes nowhere"
else
    fail "$name: the UART's output: reply '$reply'"
fi

run_cmd "dmesg | grep -E '$BAD_RE' | head -5"
check "$name: dmesg has no virtio complaint" ""

console_poweroff
[ "$status" -eq 0 ] && ok "$name: poweroff ends xuni with status 0" ||
    fail "$name: poweroff: xuni exited with status $status"
echo "1..$n"
