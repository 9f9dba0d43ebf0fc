#!/usr/bin/env bash
# --drive: each bad option or unusable image gets one clear error line and
# a non-zero exit (2 for bad usage, 1 for an image xuni cannot use), and a
# good drive lets the guest run. Prints TAP.
set -u
XUNI=${1:?usage: run-drive-cli.sh XUNI}
cd "$(dirname "$0")/../.."
GUEST=build/guests/hello.elf
tmp=$(mktemp -d)
holder=
trap '[ -n "$holder" ] && kill "$holder" 2>/dev/null; rm -rf "$tmp"' EXIT
n=0 fails=0

# check NAME WANT_STATUS NEEDLE -- ARGS...: exactly one error line, holding
# NEEDLE, and that exit status.
check() {
    local name=$1 want=$2 needle=$3
    shift 4
    n=$((n + 1))
    local err status errors
    err=$(timeout 20 "$XUNI" "$@" </dev/null 2>&1 >/dev/null)
    status=$?
    errors=$(grep -c '^xuni: error:' <<<"$err")
    if [ "$status" -eq "$want" ] && [ "$errors" -eq 1 ] && grep -qF -- "$needle" <<<"$err"; then
        echo "ok $n - drive cli: $name"
    else
        fails=$((fails + 1))
        echo "not ok $n - drive cli: $name (status $status, wanted $want; $errors error lines)"
        sed 's/^/# /' <<<"$err" | head -5
    fi
}

truncate -s 1M "$tmp/disk.img"
check "no file=" 2 "invalid --drive 'readonly=on': no file=IMG given" -- \
    run --kernel x --drive readonly=on
check "unknown option" 2 "invalid --drive 'file=$tmp/disk.img,bogus=1': unknown option 'bogus'" -- \
    run --kernel x --drive "file=$tmp/disk.img,bogus=1"
check "bad cache mode" 2 "cache= takes none or writeback" -- \
    run --kernel x --drive "file=$tmp/disk.img,cache=unsafe"
check "bad readonly value" 2 "readonly= takes on or off" -- \
    run --kernel x --drive "file=$tmp/disk.img,readonly=maybe"
check "not raw" 2 "only format=raw images are supported" -- \
    run --kernel x -drive "file=$tmp/disk.img,format=qcow2"
check "not virtio" 2 "only if=virtio disks are supported" -- \
    run --kernel x -drive "file=$tmp/disk.img,if=ide"
check "serial too long" 2 "serial= takes at most 20 printable ASCII characters" -- \
    run --kernel x --drive "file=$tmp/disk.img,serial=123456789012345678901"
check "too many drives" 2 "too many --drive options (at most 8)" -- \
    run --kernel x $(for i in 1 2 3 4 5 6 7 8 9; do echo --drive "file=$tmp/disk.img"; done)

if [ -f "$GUEST" ]; then
    # The hello guest exits with status 3 (1 << 1 | 1) without its argument.
    run=(run --kernel "$GUEST" --accel emu)
    check "missing image" 1 "cannot open drive $tmp/missing.img: No such file or directory" -- \
        "${run[@]}" --drive "file=$tmp/missing.img"
    check "image is a directory" 1 "drive $tmp: not a regular file" -- \
        "${run[@]}" --drive "file=$tmp,readonly=on"
    head -c 1000 /dev/zero >"$tmp/odd.img"
    check "size not a multiple of 512" 1 "its size (1000 bytes) is not a multiple of 512" -- \
        "${run[@]}" --drive "file=$tmp/odd.img"
    chmod 0444 "$tmp/disk.img"
    if [ ! -w "$tmp/disk.img" ]; then
        check "read-write open of a read-only file" 1 "cannot open drive $tmp/disk.img: Permission denied" -- \
            "${run[@]}" --drive "file=$tmp/disk.img"
    fi
    chmod 0644 "$tmp/disk.img"

    # Another process holds a POSIX write lock (perl-base is in every
    # Debian system): OFD locks conflict with it, read or write.
    perl -e 'use Fcntl; open(my $f, "+<", $ARGV[0]) or die "open: $!";
             fcntl($f, F_SETLK, pack("s s x4 q q l x4", F_WRLCK, SEEK_SET, 0, 0, 0)) or die "lock: $!";
             $| = 1; print "locked\n"; sleep 60' "$tmp/disk.img" >"$tmp/holder.out" 2>&1 &
    holder=$!
    for _ in $(seq 50); do grep -q locked "$tmp/holder.out" && break; sleep 0.1; done
    check "image locked by another process" 1 "xuni: error: $tmp/disk.img: locked by another process" -- \
        "${run[@]}" --drive "file=$tmp/disk.img"
    check "image locked, read-only open" 1 "$tmp/disk.img: locked by another process" -- \
        "${run[@]}" --drive "file=$tmp/disk.img,readonly=on"
    kill "$holder" 2>/dev/null
    wait "$holder" 2>/dev/null
    holder=

    n=$((n + 1))
    err=$(timeout 20 "$XUNI" "${run[@]}" --serial "file:$tmp/hello.out" \
        -drive "file=$tmp/odd.img,,x,readonly" </dev/null 2>&1)
    status=$?
    if [ "$status" -eq 1 ] && grep -qF "cannot open drive $tmp/odd.img,x: No such file" <<<"$err"; then
        echo "ok $n - drive cli: ',,' is a comma in a file name"
    else
        fails=$((fails + 1))
        echo "not ok $n - drive cli: ',,' is a comma in a file name (status $status)"
        sed 's/^/# /' <<<"$err" | head -5
    fi
    # Good drives: the guest runs (hello ignores them).
    n=$((n + 1))
    truncate -s 1M "$tmp/two.img"
    err=$(timeout 20 "$XUNI" "${run[@]}" --serial "file:$tmp/hello.out" \
        --drive "file=$tmp/disk.img,cache=writeback,serial=disk0" \
        --drive "file=$tmp/two.img,readonly=on,aio=threads" </dev/null 2>&1)
    status=$?
    if [ "$status" -eq 3 ] && ! grep -q '^xuni: error' <<<"$err" && grep -q '^hello done' "$tmp/hello.out"; then
        echo "ok $n - drive cli: two good drives, the guest runs"
    else
        fails=$((fails + 1))
        echo "not ok $n - drive cli: two good drives, the guest runs (status $status)"
        sed 's/^/# /' <<<"$err" | head -5
    fi
else
    n=$((n + 1))
    echo "ok $n - drive cli: cases that need a test guest # SKIP $GUEST not built"
fi

n=$((n + 1))
if "$XUNI" run --help | grep -q -- '--drive file=IMG'; then
    echo "ok $n - drive cli: --help shows --drive"
else
    fails=$((fails + 1))
    echo "not ok $n - drive cli: --help shows --drive"
fi
echo "1..$n"
[ "$fails" -eq 0 ]
