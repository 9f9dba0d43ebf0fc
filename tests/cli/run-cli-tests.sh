#!/usr/bin/env bash
# Bad input gets one clear message and a non-zero exit: each case runs xuni
# and checks the exit status and that stderr holds exactly one error line
# containing the expected text. Prints TAP.
set -u
XUNI=${1:?usage: run-cli-tests.sh XUNI}
cd "$(dirname "$0")/../.."
GUEST=build/guests/hello.elf
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
n=0 fails=0

# check NAME WANT_STATUS NEEDLE -- ARGS...
check() {
    local name=$1 want=$2 needle=$3
    shift 4
    n=$((n + 1))
    local err status
    if [ "$1" = env ]; then
        err=$(timeout 20 "$@" </dev/null 2>&1 >/dev/null)
    else
        err=$(timeout 20 "$XUNI" "$@" </dev/null 2>&1 >/dev/null)
    fi
    status=$?
    local errors
    errors=$(grep -c '^xuni: error:' <<<"$err")
    if [ "$status" -eq "$want" ] && [ "$errors" -eq 1 ] && grep -qF -- "$needle" <<<"$err"; then
        echo "ok $n - cli: $name"
    else
        fails=$((fails + 1))
        echo "not ok $n - cli: $name (status $status, wanted $want; $errors error lines)"
        sed 's/^/# /' <<<"$err" | head -5
    fi
}

printf 'this is not a kernel\n%.0s' {1..100} >"$tmp/notakernel"
head -c 300000 /dev/urandom >"$tmp/big.img"

check "no kernel" 2 "no kernel given" -- run
check "unknown option" 2 "unknown option '--bogus'" -- run --kernel x --bogus
check "bad memory size" 2 "invalid memory size '12Q'" -- run --kernel x --mem 12Q
check "bad smp" 2 "invalid --smp '0'" -- run --kernel x --smp 0
check "bad accel" 2 "unknown accelerator 'hyperv'" -- run --kernel x --accel hyperv
check "bad --kernel-decompress" 2 "invalid --kernel-decompress 'fast'" -- \
    run --kernel x --kernel-decompress fast
check "unknown command" 2 "unknown command 'fly'" -- fly
check "missing kernel file" 1 "cannot read $tmp/missing: No such file or directory" -- \
    run --kernel "$tmp/missing"
check "kernel is a directory" 1 "cannot read $tmp: Is a directory" -- run --kernel "$tmp"
check "file that is no kernel" 1 "is not a kernel xuni can boot" -- run --kernel "$tmp/notakernel"
if [ -f "$GUEST" ]; then
    check "missing initrd" 1 "cannot read $tmp/nope: No such file or directory" -- \
        run --kernel "$GUEST" --initrd "$tmp/nope"
    check "memory too small for the kernel" 1 "does not fit in guest memory (1 MiB)" -- \
        run --kernel "$GUEST" --mem 1M
    check "memory too small for the initrd" 1 "does not fit in guest memory (2 MiB)" -- \
        run --kernel "$GUEST" --mem 2M --initrd "$tmp/big.img,$tmp/big.img,$tmp/big.img,$tmp/big.img"
    check "no usable /dev/kvm" 1 "--accel kvm: cannot open $tmp/kvm: No such file or directory" -- \
        env XUNI_KVM_DEVICE="$tmp/kvm" "$XUNI" run --kernel "$GUEST" --accel kvm
    # --accel auto without a usable /dev/kvm runs the guest under emu and says
    # so, and why, in one line (hello without its argument exits with 1: 3).
    n=$((n + 1))
    err=$(env XUNI_KVM_DEVICE="$tmp/kvm" timeout 20 "$XUNI" run --kernel "$GUEST" --accel auto \
        --serial "file:$tmp/auto.out" </dev/null 2>&1 >/dev/null)
    status=$?
    if [ "$status" -eq 3 ] && [ "$(grep -c '^xuni: ' <<<"$err")" -eq 1 ] &&
        grep -qF -- "--accel auto: using emu, as cannot open $tmp/kvm" <<<"$err" &&
        grep -q '^hello done' "$tmp/auto.out"; then
        echo "ok $n - cli: --accel auto falls back to emu, saying why"
    else
        fails=$((fails + 1))
        echo "not ok $n - cli: --accel auto falls back to emu, saying why (status $status)"
        sed 's/^/# /' <<<"$err" | head -5
    fi
    check "serial file in a missing directory" 1 "cannot open serial output $tmp/no/dir" -- \
        env XUNI_KVM_DEVICE="$tmp/kvm" "$XUNI" run --kernel "$GUEST" --serial "file:$tmp/no/dir" --accel auto
else
    n=$((n + 1))
    echo "ok $n - cli: cases that need a test guest # SKIP $GUEST not built"
fi

# bzImages with bad payloads (tests/cli/bzimage-payload.sh): one error each,
# before any accelerator starts.
. tests/cli/bzimage-payload.sh
if [ -f "$LINUXBOOT_BZ" ] && [ -f "$LINUXBOOT_ELF" ]; then
    { printf '\002\041\114\030\020\000\000\000'; head -c 16 /dev/zero | tr '\0' '\377'
        printf '\000\001\000\000'; } >"$tmp/bad.lz4"
    bzimage_with_payload lz4 "$tmp/lz4.bzImage" "$tmp/bad.lz4"
    check "corrupt lz4 payload" 1 "lz4.bzImage: corrupt lz4 payload" -- run --kernel "$tmp/lz4.bzImage"
    printf 'JUNKJUNKJUNKJUNK' >"$tmp/junk"
    bzimage_with_payload none "$tmp/junk.bzImage" "$tmp/junk"
    check "unknown payload compression" 1 "compression is unknown (it starts 4a 55 4e 4b)" -- \
        run --kernel "$tmp/junk.bzImage"
    bzimage_with_payload gzip "$tmp/cut.bzImage"
    head -c -10 "$tmp/cut.bzImage" >"$tmp/cut2.bzImage"
    check "truncated payload" 1 "cut2.bzImage: corrupt gzip payload: its" -- \
        run --kernel "$tmp/cut2.bzImage"
else
    n=$((n + 1))
    echo "ok $n - cli: bad payloads # SKIP $LINUXBOOT_BZ not built"
fi

n=$((n + 1))
if "$XUNI" run --help | grep -q -- '--kernel FILE' && "$XUNI" --help | grep -q 'run'; then
    echo "ok $n - cli: --help"
else
    fails=$((fails + 1))
    echo "not ok $n - cli: --help"
fi
echo "1..$n"
[ "$fails" -eq 0 ]
