#!/usr/bin/env bash
# Checks the images `make guest` built against QEMU (TCG, Debian's
# qemu-system-x86), the reference PC: each kernel with its initramfs must
# boot to the shell, answer `uname -r` with its release and power off when
# told (QEMU then exits 0); with the poweroff initramfs it must power off by
# itself. Takes a few minutes: TCG boots a Debian kernel in about a minute.
#
#   tools/guest-check-qemu.sh [IMAGES]      (default build/images)
set -u
IMAGES=${1:-build/images}
TIMEOUT=${XUNI_QEMU_TIMEOUT:-300}
command -v qemu-system-x86_64 >/dev/null || {
    echo "qemu-system-x86_64 not found (apt-get install qemu-system-x86)" >&2
    exit 2
}
tmp=$(mktemp -d)
qemu_pid=
cleanup() {
    [ -n "$qemu_pid" ] && kill "$qemu_pid" 2>/dev/null
    rm -rf "$tmp"
}
trap cleanup EXIT
fails=0

# qemu KERNEL INITRD: start QEMU in the background, console on $tmp/out,
# keyboard from the FIFO $tmp/in (held open on fd 3).
qemu() {
    rm -f "$tmp/in" "$tmp/out"
    mkfifo "$tmp/in"
    qemu-system-x86_64 -accel tcg -m 512 -nographic -no-reboot -kernel "$1" -initrd "$2" \
        -append console=ttyS0 <"$tmp/in" >"$tmp/out" 2>&1 &
    qemu_pid=$!
    exec 3>"$tmp/in"
}

# wait_for TEXT SECONDS: until the console shows TEXT; false on timeout.
wait_for() {
    local end=$((SECONDS + $2))
    while [ $SECONDS -lt $end ]; do
        grep -qF -- "$1" "$tmp/out" 2>/dev/null && return 0
        kill -0 "$qemu_pid" 2>/dev/null || return 1
        sleep 1
    done
    return 1
}

# wait_exit SECONDS: QEMU's exit status, or 124 if it is still running.
wait_exit() {
    local end=$((SECONDS + $1))
    while kill -0 "$qemu_pid" 2>/dev/null; do
        [ $SECONDS -lt $end ] || return 124
        sleep 1
    done
    wait "$qemu_pid"
    local status=$?
    qemu_pid=
    return $status
}

result() {
    if [ "$2" = ok ]; then
        echo "ok: $1"
    else
        fails=$((fails + 1))
        echo "FAILED: $1 ($2); console:"
        tail -15 "$tmp/out" | sed 's/^/  | /'
    fi
}

# result_status NAME STATUS: QEMU ended with STATUS, 0 being the pass.
result_status() {
    if [ "$2" -eq 0 ]; then
        result "$1" ok
    else
        result "$1" "QEMU status $2"
    fi
}

for flavour in generic cloud; do
    kernel=$IMAGES/vmlinuz-$flavour release=$(cat "$IMAGES/$flavour.release" 2>/dev/null)
    if [ ! -f "$kernel" ] || [ -z "$release" ]; then
        result "$flavour" "not built: make guest"
        continue
    fi
    start=$SECONDS
    qemu "$kernel" "$IMAGES/initramfs-$flavour.cpio.gz"
    if ! wait_for "Type 'poweroff' to leave." "$TIMEOUT"; then
        result "$flavour: boot to the shell" "no banner"
    else
        sleep 2
        echo "uname -r; echo done-\$((6 * 7))" >&3
        if wait_for "done-42" 60 && tr -d '\r' <"$tmp/out" | grep -qx "$release"; then
            result "$flavour: shell answers uname -r = $release ($((SECONDS - start)) s)" ok
        else
            result "$flavour: uname -r" "no answer"
        fi
        grep -E "^modules: " "$tmp/out" | tr -d '\r' | sed "s/^/  $flavour /"
        echo poweroff >&3
        wait_exit 60
        result_status "$flavour: poweroff ends QEMU" "$?"
    fi
    exec 3>&-
    [ -z "$qemu_pid" ] || { kill "$qemu_pid" 2>/dev/null; qemu_pid=; }

    start=$SECONDS
    qemu "$kernel" "$IMAGES/initramfs-poweroff.cpio.gz"
    wait_exit "$TIMEOUT"
    status=$?
    result_status "$flavour: poweroff initramfs ($((SECONDS - start)) s)" "$status"
    exec 3>&-
done
[ $fails -eq 0 ]
