#!/usr/bin/env bash
# End-to-end PCI and virtio-rng: Debian 12's kernels (build/images, `make
# guest`) under --accel emu, driven through the console. Prints TAP.
#
#   tests/linux/run-virtio.sh XUNI
#
# Boot 1 (generic kernel, --smp 2; ACPI, MSI-X): the kernel finds the host
# bridge and virtio-rng in /sys/bus/pci with the ids and class the board
# gives them, virtio-pci drives the rng with MSI-X (one vector for the
# queue, one for configuration changes), hw_random uses virtio_rng.N,
# /dev/hwrng returns 64 bytes that are not all zero and differ between two
# reads, the queue's MSI count moves, and dmesg holds no PCI or ACPI
# complaint; poweroff ends xuni with status 0.
# Boot 2 (cloud kernel, pci=nomsi): INTx routed by the ACPI _PRT to IOAPIC
# pin 17, level triggered (fasteoi); the rng still answers.
# Boot 3 (generic kernel, acpi=off pci=nomsi): the same routing found
# through the MP table (the cloud kernel has no MP table support).
# The sanitizer build runs boot 1 with the cloud kernel only.
set -u
XUNI=${1:?usage: run-virtio.sh XUNI}
cd "$(dirname "$0")/../.."
IMAGES=build/images
BOOT_TIMEOUT=${XUNI_LINUX_TIMEOUT:-240}
CMD_TIMEOUT=60
tmp=$(mktemp -d)
. tests/linux/console.sh
TAP_PREFIX=virtio
trap 'console_kill; rm -rf "$tmp"' EXIT


# What a missing or wrong PCI/ACPI emulation makes Linux say.
BAD_RE='ACPI (BIOS )?(Error|Warning)|\[Firmware (Bug|Warn|Info)\]|not using MMCONFIG|pci .*(conflict|can.t claim|failed|no compatible bridge window|invalid)|can.t find IRQ|probe of .* failed|virtio.*(error|fail)|BUG:|Oops|WARNING:|Call Trace'

# boot NAME FLAVOR SMP APPEND: start xuni and wait for the shell.
boot() {
    local name=$1 flavor=$2 smp=$3 append=$4
    console_start "$XUNI" run --accel emu --kernel "$IMAGES/vmlinuz-$flavor" \
        --initrd "$IMAGES/initramfs-$flavor.cpio.gz" --mem 512M --smp "$smp" --append "$append"
    local t0=$SECONDS
    if ! wait_for "Type 'poweroff' to leave." "$BOOT_TIMEOUT" || ! run_cmd "true"; then
        fail "$name: boots to the shell within ${BOOT_TIMEOUT}s"
        console_kill
        return 1
    fi
    ok "$name: boots to the shell ($((SECONDS - t0)) s)"
}

# 64 bytes from /dev/hwrng as hex, in $reply; judged not all zero.
read_hwrng() {
    local name=$1
    run_cmd 'echo $(head -c 64 /dev/hwrng | od -An -v -tx1)'
    local words zeros
    words=$(wc -w <<<"$reply")
    zeros=$(grep -o '\b00\b' <<<"$reply" | wc -l)
    if [ "$words" -eq 64 ] && [ "$zeros" -lt 64 ]; then
        ok "$name: /dev/hwrng gives 64 bytes, not all zero"
    else
        fail "$name: /dev/hwrng gave '$reply'"
    fi
}

check_dmesg() {
    run_cmd "dmesg | grep -E '$BAD_RE' | head -5"
    check "$1: dmesg has no PCI/ACPI complaint" ""
}

dev=/sys/bus/pci/devices/0000:00:01.0

boot_msix() {
    local name="$1 (MSI-X)" flavor=$1 smp=$2
    boot "$name" "$flavor" "$smp" "console=ttyS0" || return
    run_cmd 'for d in /sys/bus/pci/devices/*; do echo ${d##*/} $(cat $d/vendor $d/device $d/class); done'
    check "$name: the devices on bus 0" "0000:00:00.0 0x8086 0x29c0 0x060000
0000:00:01.0 0x1af4 0x1044 0x00ff00"
    run_cmd "cat $dev/subsystem_vendor $dev/subsystem_device $dev/revision"
    check "$name: subsystem ids and revision" "0x1af4
0x1100
0x01"
    run_cmd "basename \$(readlink $dev/driver)"
    check "$name: virtio-pci drives it" "virtio-pci"
    run_cmd "ls $dev/msi_irqs | wc -l"
    check "$name: two MSI-X vectors (queue, config)" "2"
    run_cmd "cat /sys/devices/virtual/misc/hw_random/rng_current"
    check_re "$name: hw_random uses virtio-rng" '^virtio_rng\.[0-9]+$'
    run_cmd "grep -c 'PCI-MSI.*virtio0-' /proc/interrupts"
    check "$name: the vectors are PCI-MSI interrupts" "2"
    read_hwrng "$name"
    local first=$reply
    read_hwrng "$name, again"
    if [ -n "$first" ] && [ "$reply" != "$first" ]; then
        ok "$name: two reads differ"
    else
        fail "$name: two reads gave the same bytes"
    fi
    run_cmd "awk '/virtio0-(input|requests)/ { s = 0; for (i = 2; i <= NF; i++) if (\$i ~ /^[0-9]+\$/) s += \$i; print (s > 0) }' /proc/interrupts"
    check "$name: the queue's vector fired" "1"
    run_cmd "dmesg | grep -c 'MMCONFIG at .* reserved'"
    check "$name: ECAM (MMCONFIG) accepted" "1"
    check_dmesg "$name"
    console_poweroff
    [ "$status" -eq 0 ] && ok "$name: poweroff ends xuni with status 0" ||
        fail "$name: poweroff: xuni exited with status $status"
}

# boot_intx NAME FLAVOR APPEND: INTx instead of MSI-X; the caller ends it.
boot_intx() {
    local name=$1 flavor=$2 append=$3
    boot "$name" "$flavor" 1 "$append" || return
    run_cmd "cat /sys/devices/virtual/misc/hw_random/rng_current"
    check_re "$name: hw_random uses virtio-rng" '^virtio_rng\.[0-9]+$'
    read_hwrng "$name"
    run_cmd "ls $dev/msi_irqs 2>/dev/null | wc -l"
    check "$name: no MSI" "0"
    run_cmd "grep virtio0 /proc/interrupts | sed 's/^ *//' | awk '{ print \$1, \$(NF-1), (\$2 > 0) }'"
    check "$name: INTA on IOAPIC pin 17, level triggered, interrupts counted" "17: 17-fasteoi 1"
    check_dmesg "$name"
}

# The sanitizer build boots Linux only in run-virtio-blk.sh and
# run-virtio-net.sh (real device traffic under ASan), to keep make test
# inside its time budget.
case "$XUNI" in
*asan*)
    echo "1..1"
    echo "ok 1 - virtio # SKIP sanitizer build: PCI, MSI-X and virtio-rng run under ASan in the virtio-rng guest and the virtio-blk/net boots"
    exit 0
    ;;
esac
if [ ! -f "$IMAGES/vmlinuz-generic" ] || [ ! -f "$IMAGES/initramfs-cloud.cpio.gz" ]; then
    echo "1..1"
    echo "ok 1 - virtio # SKIP no guest images in $IMAGES (make guest builds them)"
    exit 0
fi
case "$XUNI" in
*asan*)
    boot_msix cloud 2
    ;;
*)
    boot_msix generic 2
    if boot_intx "cloud, pci=nomsi (ACPI _PRT)" cloud "console=ttyS0 pci=nomsi"; then
        console_poweroff
        [ "$status" -eq 0 ] && ok "cloud, pci=nomsi: poweroff ends xuni with status 0" ||
            fail "cloud, pci=nomsi: poweroff: xuni exited with status $status"
    fi
    if boot_intx "generic, acpi=off (MP table)" generic "console=ttyS0 acpi=off pci=nomsi"; then
        run_cmd "dmesg | grep -c 'PCI->APIC IRQ transform: INT A -> IRQ 17'"
        check "generic, acpi=off (MP table): the kernel took the routing from it" "1"
        console_kill # without ACPI, poweroff only halts
    fi
    ;;
esac
echo "1..$n"
