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
# The sanitizer build (a path under build/asan) boots only the cloud kernel
# with --smp 2, to keep `make test` inside its time budget.
set -u
XUNI=${1:?usage: run-linux.sh XUNI}
cd "$(dirname "$0")/../.."
IMAGES=build/images
BOOT_TIMEOUT=${XUNI_LINUX_TIMEOUT:-240} # seconds from start to the shell prompt
CMD_TIMEOUT=60
tmp=$(mktemp -d)
pid=
cleanup() {
    [ -n "$pid" ] && kill "$pid" 2>/dev/null
    exec 3>&- 2>/dev/null
    rm -rf "$tmp"
}
trap cleanup EXIT
n=0

# dmesg lines that mean the emulated PC is missing something or wrong.
BAD_RE='BUG:|Oops|Kernel panic|WARNING:|unchecked MSR access|invalid opcode|general protection|Call Trace|soft lockup|hard LOCKUP|rcu_sched self-detected|clocksource.*unstable|TSC.*unstable|timed out|Unable to calibrate|do_IRQ: .* No irq handler'

ok() { n=$((n + 1)); echo "ok $n - $1"; }
fail() {
    n=$((n + 1))
    echo "not ok $n - $1"
    [ -f "$tmp/out" ] && tail -15 "$tmp/out" | sed 's/^/#   | /'
    [ -s "$tmp/err" ] && sed 's/^/#   stderr: /' "$tmp/err" | tail -5
}

# wait_for TEXT SECONDS: until the serial output (from offset $mark on)
# contains TEXT. Returns 1 on timeout or when xuni is gone.
mark=0
wait_for() {
    local text=$1 deadline=$((SECONDS + $2))
    while [ $SECONDS -lt $deadline ]; do
        tail -c +"$((mark + 1))" "$tmp/out" | grep -qF -- "$text" && return 0
        kill -0 "$pid" 2>/dev/null || return 1
        sleep 0.2
    done
    return 1
}

# run_cmd CMD: type CMD between two marker lines; the answer (the lines
# between them) is in $reply. The typed line shows each marker with a
# quote inside, so only the output lines match; the shell may echo long
# lines wrapped.
reply=
run_cmd() {
    local tag="@@$RANDOM$RANDOM@@"
    mark=$(stat -c %s "$tmp/out")
    printf 'echo "%s""%s"; %s; echo "%s""%s"\n' "${tag:0:2}" "${tag:2}S" "$1" "${tag:0:2}" "${tag:2}E" >&3
    if ! wait_for "${tag}E" "$CMD_TIMEOUT"; then
        reply=
        return 1
    fi
    reply=$(tail -c +"$((mark + 1))" "$tmp/out" | tr -d '\r' |
        awk -v s="${tag}S" -v e="${tag}E" '$0 == e { on = 0 } on { print } $0 == s { on = 1 }')
    return 0
}

boot_test() {
    local flavor=$1 smp=$2 name="linux/$1 --smp $2"
    local kernel=$IMAGES/vmlinuz-$flavor initrd=$IMAGES/initramfs-$flavor.cpio.gz
    local release
    release=$(cat "$IMAGES/$flavor.release" 2>/dev/null)
    rm -f "$tmp/in" "$tmp/out" "$tmp/err"
    mkfifo "$tmp/in"
    : >"$tmp/out"
    "$XUNI" run --accel emu --kernel "$kernel" --initrd "$initrd" --mem 512M --smp "$smp" \
        --append "console=ttyS0" <"$tmp/in" >"$tmp/out" 2>"$tmp/err" &
    pid=$!
    exec 3>"$tmp/in"
    mark=0
    local t0=$SECONDS
    if ! wait_for "Type 'poweroff' to leave." "$BOOT_TIMEOUT" || ! run_cmd "true"; then
        fail "$name: boots to the shell within ${BOOT_TIMEOUT}s"
        kill "$pid" 2>/dev/null
        wait "$pid" 2>/dev/null
        pid=
        exec 3>&-
        return
    fi
    ok "$name: boots to the shell ($((SECONDS - t0)) s)"

    run_cmd "uname -r"
    [ "$reply" = "$release" ] && ok "$name: uname -r" || fail "$name: uname -r said '$reply', not '$release'"

    run_cmd "grep -c ^processor /proc/cpuinfo"
    [ "$reply" = "$smp" ] && ok "$name: $smp CPU(s) in /proc/cpuinfo" ||
        fail "$name: /proc/cpuinfo shows '$reply' CPUs, not $smp"

    run_cmd "date +%s"
    local host guest=${reply//[^0-9]/}
    host=$(date +%s)
    if [ -n "$guest" ] && [ $((host - guest)) -le 60 ] && [ $((guest - host)) -le 60 ]; then
        ok "$name: date within a minute of the host"
    else
        fail "$name: guest date '$reply', host $host"
    fi

    run_cmd 'i=0; while [ $i -lt 20000 ]; do i=$((i + 1)); done; echo loop $i'
    [ "$reply" = "loop 20000" ] && ok "$name: a CPU-bound loop" || fail "$name: loop said '$reply'"

    run_cmd "dmesg | grep -E '$BAD_RE' | head -5"
    if [ -z "$reply" ]; then
        ok "$name: dmesg has no emulation errors"
    else
        fail "$name: dmesg: $(head -3 <<<"$reply" | tr '\n' ' ')"
    fi

    printf 'poweroff\n' >&3
    local status t1=$SECONDS
    while kill -0 "$pid" 2>/dev/null && [ $((SECONDS - t1)) -lt "$CMD_TIMEOUT" ]; do sleep 0.2; done
    if kill -0 "$pid" 2>/dev/null; then
        kill "$pid"
        wait "$pid" 2>/dev/null
        fail "$name: poweroff ends xuni"
    else
        wait "$pid"
        status=$?
        [ "$status" -eq 0 ] && ok "$name: poweroff ends xuni with status 0" ||
            fail "$name: poweroff: xuni exited with status $status"
    fi
    pid=
    exec 3>&-
}

if [ ! -f "$IMAGES/vmlinuz-generic" ] || [ ! -f "$IMAGES/initramfs-cloud.cpio.gz" ]; then
    echo "1..1"
    echo "ok 1 - linux # SKIP no guest images in $IMAGES (make guest builds them)"
    exit 0
fi
case "$XUNI" in
*asan*) runs=("cloud 2") ;;
*) runs=("generic 1" "generic 2" "cloud 1" "cloud 2") ;;
esac
[ -n "${XUNI_LINUX_ONLY:-}" ] && runs=("$XUNI_LINUX_ONLY") # e.g. "cloud 2"
for r in "${runs[@]}"; do
    # shellcheck disable=SC2086
    boot_test $r
done
echo "1..$n"
