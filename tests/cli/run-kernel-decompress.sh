#!/usr/bin/env bash
# --kernel-decompress end to end: the linuxboot test guest, given a real
# compressed payload in every format the kernel offers (bzimage-payload.sh),
# boots under every accelerator that works here with the payload unpacked
# on the host and with its own code run as it is; both must print
# tests/guests/linuxboot.expected and exit with its status. The plain guest,
# which names no payload, must boot with both settings too. Prints TAP.
#
#   tests/cli/run-kernel-decompress.sh XUNI
#
# An accelerator is skipped, with the reason, when xuni says it is not built
# or /dev/kvm is unusable; a format is skipped when its tool is missing.
set -u
XUNI=${1:?usage: run-kernel-decompress.sh XUNI}
case "$XUNI" in /*) ;; *) XUNI=$PWD/$XUNI ;; esac
cd "$(dirname "$0")/../.." || exit 1
# shellcheck source=tests/cli/bzimage-payload.sh
. tests/cli/bzimage-payload.sh

EXPECTED=tests/guests/linuxboot.expected
STATUS=1 # the guest's pass: debug-exit 0, (0 << 1) | 1
FORMATS="gzip bzip2 lzma xz lzo lz4 zstd none"
NOT_USABLE_RE='not (built|implemented) yet|/dev/kvm|KVM_[A-Z_]+|[Kk][Vv][Mm].*(unusable|not usable|unavailable)'
export ASAN_OPTIONS="exitcode=86${ASAN_OPTIONS:+:$ASAN_OPTIONS}"
export UBSAN_OPTIONS="exitcode=87${UBSAN_OPTIONS:+:$UBSAN_OPTIONS}"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
n=0 fails=0

if [ ! -f "$LINUXBOOT_BZ" ] || [ ! -f "$LINUXBOOT_ELF" ]; then
    echo "ok 1 - kernel-decompress # SKIP $LINUXBOOT_BZ not built (make guests)"
    echo "1..1"
    exit 0
fi

# boot ACCEL IMAGE MODE: run the guest; sets status, serial and err.
boot() {
    XUNI_LOG=info timeout 30 "$XUNI" run --accel "$1" --kernel "$2" --kernel-decompress "$3" \
        --serial "file:$tmp/serial" --mem 64M --append 'console=ttyS0 linuxboot-arg' \
        --initrd build/guests/linuxboot-initrd.bin </dev/null >/dev/null 2>"$tmp/err"
    status=$?
    err=$(cat "$tmp/err")
}

# check NAME NEEDLE: the last boot passed, and its log holds NEEDLE.
check() {
    n=$((n + 1))
    if [ "$status" -eq "$STATUS" ] && cmp -s "$tmp/serial" "$EXPECTED" &&
        grep -qF -- "$2" <<<"$err"; then
        echo "ok $n - $1"
    else
        fails=$((fails + 1))
        echo "not ok $n - $1 (status $status, wanted $STATUS)"
        diff "$EXPECTED" "$tmp/serial" 2>&1 | head -5 | sed 's/^/# /'
        sed 's/^/# /' <<<"$err" | head -5
    fi
}

skip() {
    n=$((n + 1))
    echo "ok $n - $1 # SKIP $2"
}

for accel in kvm emu; do
    boot "$accel" "$LINUXBOOT_BZ" host
    # (xuni's own error status, 1, is also this guest's pass: tell them apart by
    # the serial output.)
    if ! cmp -s "$tmp/serial" "$EXPECTED" && grep -qE "$NOT_USABLE_RE" <<<"$err"; then
        skip "$accel/kernel-decompress" "$(grep -m1 -E "$NOT_USABLE_RE" <<<"$err")"
        continue
    fi
    check "$accel/no payload, host" "names no compressed payload"
    boot "$accel" "$LINUXBOOT_BZ" guest
    check "$accel/no payload, guest" "Linux kernel at 0x1000000"
    for fmt in $FORMATS; do
        tool=$(payload_tool "$fmt")
        if ! command -v "$tool" >/dev/null; then
            skip "$accel/$fmt" "$tool not installed"
            continue
        fi
        img=$tmp/linuxboot-$fmt.bzImage
        [ -f "$img" ] || bzimage_with_payload "$fmt" "$img"
        boot "$accel" "$img" host
        name=$fmt
        [ "$fmt" = none ] && name=uncompressed
        check "$accel/$fmt, unpacked on the host" "unpacked the $name payload"
        boot "$accel" "$img" guest
        check "$accel/$fmt, the guest's own code" "Linux kernel at 0x1000000"
    done
done
echo "1..$n"
[ "$fails" -eq 0 ]
