#!/usr/bin/env bash
# Real programs under `xuni user`: C programs built with gcc -O2 -static
# (tests/user/progs/*.c, into BUILD/tests/user/progs beside XUNI) run
# natively and under xuni, one section of a program per case; a case
# passes when stdout, stderr and the exit status are the same. Prints TAP.
#
#   tests/user/progs/run-progs.sh XUNI
#
# A section that dies by SIGILL under xuni (status 132: an instruction the
# CPU does not implement, e.g. x87 before that family lands) FAILS, naming
# the instruction bytes.
set -u
CALLER_DIR=$PWD
cd "$(dirname "$0")/../../.." || exit 1

[ $# -eq 1 ] || { echo "usage: $0 XUNI" >&2; exit 2; }
case "$1" in /*) XUNI=$1 ;; *) XUNI=$CALLER_DIR/$1 ;; esac
[ -x "$XUNI" ] || { echo "Bail out! $XUNI is not an executable"; exit 1; }
PROGS=$(dirname "$XUNI")/tests/user/progs
for p in fp strings recurse sys; do
    [ -x "$PROGS/$p" ] || { echo "Bail out! $PROGS/$p not built (make test-build)"; exit 1; }
done

export ASAN_OPTIONS="exitcode=86${ASAN_OPTIONS:+:$ASAN_OPTIONS}"
export UBSAN_OPTIONS="exitcode=87${UBSAN_OPTIONS:+:$UBSAN_OPTIONS}"
export LC_ALL=C
unset XUNI_LOG
SANITIZER_RE='ERROR: (Address|Leak)Sanitizer|runtime error:|UndefinedBehaviorSanitizer'
SANITIZER_RE+='|internal error'
TIMEOUT=120

TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
n=0

comment() {
    sed 's/^/# /' | head -"${1:-20}"
}

# check PROGRAM SECTION: the program's own path (absolute, the same on both
# sides: it prints argv[0]-relative things and re-executes itself).
check() {
    local prog=$PROGS/$1 name="$1 $2"
    n=$((n + 1))
    (timeout $TIMEOUT "$prog" "$2" >"$TMP/native.out" 2>"$TMP/native.err" </dev/null
        exit $?) 2>/dev/null
    local nst=$?
    (timeout $TIMEOUT "$XUNI" user "$prog" "$2" >"$TMP/xuni.out" 2>"$TMP/xuni.err" </dev/null
        exit $?) 2>/dev/null
    local est=$?
    if grep -Eq "$SANITIZER_RE" "$TMP/xuni.err"; then
        echo "not ok $n - progs: $name (xuni reported an error)"
        comment 30 <"$TMP/xuni.err"
        return
    fi
    if [ $nst -eq $est ] && cmp -s "$TMP/native.out" "$TMP/xuni.out" &&
        cmp -s "$TMP/native.err" "$TMP/xuni.err"; then
        echo "ok $n - progs: $name"
        return
    fi
    if [ $est -eq 132 ] && [ $nst -ne 132 ]; then
        echo "not ok $n - progs: $name (SIGILL: x87 not implemented?)"
    elif [ $est -eq 124 ]; then
        echo "not ok $n - progs: $name (xuni side timed out after ${TIMEOUT}s)"
    else
        local what=()
        [ $nst -eq $est ] || what+=("status: native $nst, xuni $est")
        cmp -s "$TMP/native.out" "$TMP/xuni.out" || what+=("stdout differs")
        cmp -s "$TMP/native.err" "$TMP/xuni.err" || what+=("stderr differs")
        local IFS=';'
        echo "not ok $n - progs: $name (${what[*]})"
    fi
    diff "$TMP/native.out" "$TMP/xuni.out" | comment 16
    diff "$TMP/native.err" "$TMP/xuni.err" | comment 8
    if [ $est -gt 128 ] && [ $est -ne 124 ]; then
        # Again with the emulator's log, which says where the CPU stopped.
        (XUNI_LOG=info timeout $TIMEOUT "$XUNI" user "$prog" "$2" 2>&1 >/dev/null </dev/null
            exit $?) 2>/dev/null | grep 'user: exception' | sort -u | comment 5
    fi
}

for s in arith libm float printf strtod integrate longdouble fenv; do check fp $s; done
for s in search compare copy span sort format convert wide; do check strings $s; done
for s in ackermann fib queens sort parse deep bigstack; do check recurse $s; done
for s in jmp faults alarm itimer masks proc exec execself spawn; do check sys $s; done
echo "1..$n"
