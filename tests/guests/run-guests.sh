#!/usr/bin/env bash
# Runs the test guests (tests/guests/guests.list) under every accelerator
# and prints TAP: "ok N - kvm/hello", "not ok N - emu/smp",
# "ok N - emu/hello # SKIP emu: not implemented yet".
#
#   tests/guests/run-guests.sh XUNI     xuni under kvm and emu
#   tests/guests/run-guests.sh --qemu   the same guests under QEMU (TCG), to
#                                       tell guest bugs from xuni bugs
#
# Each run: `timeout 30 XUNI run --accel A --kernel build/guests/NAME.elf
# --serial file:TMP OPTIONS`; it passes if the serial output equals
# NAME.expected byte for byte, the exit status is the manifest's, and every
# stderr pattern matches. An accelerator that cannot run here is skipped
# with the reason, found by probing rather than from a list of hosts:
#   kvm  /dev/kvm must open, and xuni must get hello running on it;
#   emu  skipped while xuni says it is not built yet.
# A probe guest (probe=F) runs first on each accelerator; if xuni reports
# an internal error for it, F is a host defect there (the nested KVM on our
# development machines cannot run `int n` at ring 0) and guests with
# needs=F are skipped with that reason. Under kvm a probe guest may also
# find the defect itself -- a wrong result, which under kvm only the host's
# CPU can give -- printing "host defect: WHAT" and exiting with code 3
# (status 7); anywhere else that is an ordinary failure.
# Exits non-zero if any test failed.
set -u
CALLER_DIR=$PWD
cd "$(dirname "$0")/../.." || exit 1

GUEST_DIR=build/guests
SRC_DIR=tests/guests
MANIFEST=${GUEST_MANIFEST:-$SRC_DIR/guests.list} # override: run a subset
TIMEOUT=30

# xuni's messages this script relies on (patterns, not exact strings):
#   "--accel emu: the emu accelerator (software CPU) is not built yet"
#   "vCPU 0: KVM internal error: suberror 1 (instruction emulation failed)"
NOT_BUILT_RE='not (built|implemented) yet'
INTERNAL_ERROR_RE='[Ii]nternal error'
KVM_UNUSABLE_RE='/dev/kvm|KVM_GET_API_VERSION|KVM_CREATE_VM|[Kk][Vv][Mm].*(unusable|not usable|unavailable|not available|unsupported|permission)'
SANITIZER_RE='ERROR: (Address|Leak)Sanitizer|runtime error:|UndefinedBehaviorSanitizer'
HOST_DEFECT_STATUS=7 # GUEST_EXIT_HOST_DEFECT (3) from a probe guest

usage() {
    echo "usage: $0 XUNI_BINARY | --qemu" >&2
    exit 2
}

[ $# -eq 1 ] || usage
if [ "$1" = --qemu ]; then
    ACCELS=(qemu)
    command -v qemu-system-x86_64 >/dev/null || { echo "Bail out! qemu-system-x86_64 not found"; exit 1; }
else
    ACCELS=(kvm emu)
    case "$1" in /*) XUNI=$1 ;; *) XUNI=$CALLER_DIR/$1 ;; esac
    [ -x "$XUNI" ] || { echo "Bail out! $XUNI is not an executable"; exit 1; }
fi

# A sanitizer's default exit status (1) would read as "guest passed".
export ASAN_OPTIONS="exitcode=86${ASAN_OPTIONS:+:$ASAN_OPTIONS}"
export UBSAN_OPTIONS="exitcode=87${UBSAN_OPTIONS:+:$UBSAN_OPTIONS}"

TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

# --- the manifest ---
G_NAME=() G_STATUS=() G_OPTS=() G_STDERR=() G_PROBE=() G_NEEDS=() G_QSTATUS=() G_IMAGE=()
# shellcheck disable=SC2120 # set -- below reuses the positional parameters
parse_manifest() {
    local line head opts key
    while IFS= read -r line || [ -n "$line" ]; do
        case "$line" in '' | '#'*) continue ;; esac
        line+=" " # so that a line ending in " --" splits like the others
        if [[ "$line" != *' -- '* ]]; then
            echo "Bail out! $MANIFEST: no ' -- ' in: $line"
            exit 1
        fi
        head=${line%% -- *}
        opts=${line#*' -- '}
        eval "set -- $head" || { echo "Bail out! $MANIFEST: bad line: $line"; exit 1; }
        G_NAME+=("$1")
        G_STATUS+=("$2")
        G_OPTS+=("$opts")
        local stderr='' probe='' needs='' qstatus=$2 image=$1.elf
        shift 2
        for key in "$@"; do
            case "$key" in
            stderr=*) stderr+="* ${key#stderr=}"$'\n' ;;
            stderr-kvm=* | stderr-emu=*) stderr+="${key:7:3} ${key#stderr-???=}"$'\n' ;;
            probe=*) probe=${key#probe=} ;;
            needs=*) needs=${key#needs=} ;;
            qemu-status=*) qstatus=${key#qemu-status=} ;;
            image=*) image=${key#image=} ;;
            *) echo "Bail out! $MANIFEST: unknown key '$key'"; exit 1 ;;
            esac
        done
        G_STDERR+=("$stderr")
        G_PROBE+=("$probe")
        G_NEEDS+=("$needs")
        G_QSTATUS+=("$qstatus")
        G_IMAGE+=("$image")
    done <"$MANIFEST"
}

# QEMU spellings of xuni's options, for --qemu.
qemu_args() {
    while [ $# -gt 0 ]; do
        case "$1" in
        --mem) echo -m; echo "$2" ;;
        --smp) echo -smp; echo "$2" ;;
        --append) echo -append; echo "$2" ;;
        --initrd) echo -initrd; echo "$2" ;;
        --drive) # a modern (virtio 1.x only) virtio-blk-pci, as xuni's
            local serial
            serial=$(sed -n 's/.*serial=\([^,]*\).*/\1/p' <<<"$2")
            echo -drive; echo "if=none,id=d0,format=raw,$(sed 's/,serial=[^,]*//' <<<"$2")"
            echo -device; echo "virtio-blk-pci,drive=d0,disable-legacy=on${serial:+,serial=$serial}" ;;
        *) echo "run-guests: no QEMU equivalent for $1" >&2; return 1 ;;
        esac
        shift 2
    done
}

# run_guest ACCEL INDEX: run one guest; sets R_STATUS and leaves the serial
# output in $TMP/serial, xuni's stderr in $TMP/stderr.
run_guest() {
    local accel=$1 i=$2
    local kernel=$GUEST_DIR/${G_IMAGE[$2]}
    rm -f "$TMP/serial" "$TMP/stderr"
    eval "set -- ${G_OPTS[$i]}"
    if [ "$accel" = qemu ]; then
        local args=() a
        while IFS= read -r a; do args+=("$a"); done < <(qemu_args "$@")
        timeout -k 5 "$TIMEOUT" qemu-system-x86_64 -machine pc -accel tcg -display none \
            -vga none -net none -no-reboot -monitor none \
            -device isa-debug-exit,iobase=0xf4,iosize=4 -serial "file:$TMP/serial" \
            -kernel "$kernel" "${args[@]}" </dev/null >/dev/null 2>"$TMP/stderr"
    else
        XUNI_STATS=1 timeout -k 5 "$TIMEOUT" "$XUNI" run --accel "$accel" --kernel "$kernel" \
            --serial "file:$TMP/serial" "$@" </dev/null >/dev/null 2>"$TMP/stderr"
    fi
    R_STATUS=$?
    [ -f "$TMP/serial" ] || : >"$TMP/serial"
}

# Why ACCEL cannot run guests here, or nothing if it can. Judged from
# xuni's messages, not its status: xuni's own error status (1) is also
# what a passing guest gives (debug exit code 0).
accel_skip_reason() {
    local accel=$1 i
    [ "$accel" = qemu ] && return
    # (<> alone would create a missing /dev/kvm as a plain file.)
    if [ "$accel" = kvm ] && ! { [ -c /dev/kvm ] && (exec 3<>/dev/kvm) 2>/dev/null; }; then
        echo "kvm: /dev/kvm not available"
        return
    fi
    for i in "${!G_NAME[@]}"; do
        [ "${G_NAME[$i]}" = hello ] || continue
        run_guest "$accel" "$i"
        if [ ! -s "$TMP/serial" ] && grep -Eq "the $accel accelerator.*$NOT_BUILT_RE" "$TMP/stderr"; then
            echo "$accel: not implemented yet"
        elif [ "$accel" = kvm ] && [ ! -s "$TMP/serial" ] &&
            ! grep -Eq "$INTERNAL_ERROR_RE" "$TMP/stderr" &&
            grep -Eq "$KVM_UNUSABLE_RE" "$TMP/stderr"; then
            # xuni could not set KVM up: the host's problem, not the guest's.
            echo "kvm: unusable: $(grep -Em1 "$KVM_UNUSABLE_RE" "$TMP/stderr" | cut -c1-120)"
        fi
        return
    done
}

N=0 FAILED=0
tap_ok() { N=$((N + 1)); echo "ok $N - $1${2:+ # SKIP $2}"; }
tap_not_ok() {
    N=$((N + 1))
    FAILED=$((FAILED + 1))
    echo "not ok $N - $1"
    # Indented, not "#": tests/run.sh shows these lines and hides comments.
    sed 's/^/    /' "$TMP/diag"
}

# check_result ACCEL INDEX: judge the last run; reasons go to $TMP/diag.
check_result() {
    local accel=$1 i=$2 name=${G_NAME[$2]} want=${G_STATUS[$2]} re
    local expected=$SRC_DIR/$name.expected
    : >"$TMP/diag"
    if [ "$accel" = qemu ]; then
        want=${G_QSTATUS[$i]}
        [ -f "$SRC_DIR/qemu/$name.expected" ] && expected=$SRC_DIR/qemu/$name.expected
    fi
    if [ "$R_STATUS" -eq 124 ] || [ "$R_STATUS" -eq 137 ]; then
        echo "timed out after ${TIMEOUT}s" >>"$TMP/diag"
    elif grep -Eq "$SANITIZER_RE" "$TMP/stderr"; then
        echo "sanitizer report (status $R_STATUS)" >>"$TMP/diag"
    elif [ "$want" = '!0' ]; then
        if [ "$R_STATUS" -eq 0 ] || [ "$R_STATUS" -ge 128 ] ||
            { [ "$accel" != qemu ] && [ "$R_STATUS" -ge 86 ] && [ "$R_STATUS" -le 87 ]; }; then
            echo "exit status $R_STATUS, expected a failure status of xuni's own" >>"$TMP/diag"
        fi
    elif [ "$R_STATUS" != "$want" ]; then
        echo "exit status $R_STATUS, expected $want" >>"$TMP/diag"
    fi
    if ! cmp -s "$expected" "$TMP/serial"; then
        echo "serial output differs from $expected:" >>"$TMP/diag"
        diff -u --label expected --label actual "$expected" "$TMP/serial" | head -40 >>"$TMP/diag"
    fi
    if [ "$accel" != qemu ]; then
        local only
        while IFS=' ' read -r only re; do
            [ -n "$re" ] || continue
            [ "$only" = '*' ] || [ "$only" = "$accel" ] || continue
            grep -Eq -- "$re" "$TMP/stderr" ||
                echo "stderr does not match /$re/" >>"$TMP/diag"
        done <<<"${G_STDERR[$i]}"
    fi
    if [ -s "$TMP/diag" ] && [ -s "$TMP/stderr" ]; then
        if grep -Eq "$SANITIZER_RE" "$TMP/stderr"; then
            echo "stderr (from the sanitizer report):" >>"$TMP/diag"
            sed -En "/$SANITIZER_RE/,\$p" "$TMP/stderr" | head -12 | sed 's/^/  /' >>"$TMP/diag"
        else
            echo "stderr (last lines):" >>"$TMP/diag"
            tail -10 "$TMP/stderr" | sed 's/^/  /' >>"$TMP/diag"
        fi
    fi
    [ ! -s "$TMP/diag" ]
}

# run_one ACCEL INDEX: one TAP line for a guest that is not skipped.
run_one() {
    local accel=$1 i=$2 label=$1/${G_NAME[$2]}
    if [ ! -f "$GUEST_DIR/${G_IMAGE[$i]}" ]; then
        echo "$GUEST_DIR/${G_IMAGE[$i]} missing: run make guests" >"$TMP/diag"
        tap_not_ok "$label"
        return 1
    fi
    run_guest "$accel" "$i"
    if check_result "$accel" "$i"; then
        tap_ok "$label"
        return 0
    fi
    # A probe that ends in an internal error, or (kvm) reports a defect
    # itself, has found a host defect.
    local probe=${G_PROBE[$i]} what=''
    if [ -n "$probe" ] && ! grep -Eq "$SANITIZER_RE" "$TMP/stderr"; then
        if grep -Eq "$INTERNAL_ERROR_RE" "$TMP/stderr"; then
            what=$(grep -Eom1 "([A-Za-z]+ )?${INTERNAL_ERROR_RE}[^,]*" "$TMP/stderr")
        elif [ "$accel" = kvm ] && [ "$R_STATUS" -eq "$HOST_DEFECT_STATUS" ]; then
            what=$(sed -n 's/^host defect: //p' "$TMP/serial" | head -1)
        fi
    fi
    if [ -n "$what" ]; then
        DEFECT[$accel/$probe]="$accel: host defect $probe: ${what:0:100}"
        tap_ok "$label" "${DEFECT[$accel/$probe]}"
        return 0
    fi
    tap_not_ok "$label"
    return 1
}

# shellcheck disable=SC2119
parse_manifest
echo "1..$((${#G_NAME[@]} * ${#ACCELS[@]}))"
declare -A DEFECT=()
for accel in "${ACCELS[@]}"; do
    reason=$(accel_skip_reason "$accel")
    if [ -n "$reason" ]; then
        for i in "${!G_NAME[@]}"; do tap_ok "$accel/${G_NAME[$i]}" "$reason"; done
        continue
    fi
    # Probes first, then the rest in manifest order.
    for i in "${!G_NAME[@]}"; do
        [ -n "${G_PROBE[$i]}" ] && run_one "$accel" "$i"
    done
    for i in "${!G_NAME[@]}"; do
        [ -n "${G_PROBE[$i]}" ] && continue
        needs=${G_NEEDS[$i]}
        if [ -n "$needs" ] && [ -n "${DEFECT[$accel/$needs]:-}" ]; then
            tap_ok "$accel/${G_NAME[$i]}" "${DEFECT[$accel/$needs]}"
            continue
        fi
        run_one "$accel" "$i"
    done
done
[ "$FAILED" -eq 0 ]
