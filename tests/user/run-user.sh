#!/usr/bin/env bash
# Runs the `xuni user` test programs (build/user-progs, from tests/user/)
# natively and under xuni, and passes a test when stdout and the exit
# status (as the shell sees it: 128+N for death by signal N) are the same.
# Then the error cases: one clear message, a non-zero status; then the unit
# tests of src/user built next to XUNI (BUILD/tests/user/test_*). Prints TAP.
#
#   tests/user/run-user.sh XUNI
#
# While the CPU emulator is being written, a program can stop at an
# instruction it does not implement yet (#UD, so SIGILL, status 132, and a
# result unlike the native one): that is reported as a SKIP naming the
# instruction bytes, not as a failure of the system-call layer.
set -u
CALLER_DIR=$PWD
cd "$(dirname "$0")/../.." || exit 1

[ $# -eq 1 ] || { echo "usage: $0 XUNI" >&2; exit 2; }
case "$1" in /*) XUNI=$1 ;; *) XUNI=$CALLER_DIR/$1 ;; esac
[ -x "$XUNI" ] || { echo "Bail out! $XUNI is not an executable"; exit 1; }
PROGS=build/user-progs
[ -x "$PROGS/hello" ] || { echo "Bail out! $PROGS not built (make user-progs)"; exit 1; }

# A sanitizer's default exit status (1) would read as a program's.
export ASAN_OPTIONS="exitcode=86${ASAN_OPTIONS:+:$ASAN_OPTIONS}"
export UBSAN_OPTIONS="exitcode=87${UBSAN_OPTIONS:+:$UBSAN_OPTIONS}"
export XUNI_TEST_ENV=from-the-script
unset XUNI_LOG
SANITIZER_RE='ERROR: (Address|Leak)Sanitizer|runtime error:|UndefinedBehaviorSanitizer|internal error'
TIMEOUT=30

TMP=$(mktemp -d)
TMP=$(realpath "$TMP")
trap 'rm -rf "$TMP"' EXIT
n=0

comment() {
    sed 's/^/# /' | head -"${1:-20}"
}

# compare NAME PROGRAM [ARGS...]
compare() {
    local name=$1
    shift
    n=$((n + 1))
    # In subshells, so that bash's "Segmentation fault" notes go nowhere.
    (timeout $TIMEOUT "$@" >"$TMP/native.out" 2>"$TMP/native.err" </dev/null; exit $?) 2>/dev/null
    local nst=$?
    (timeout $TIMEOUT "$XUNI" user "$@" >"$TMP/emu.out" 2>"$TMP/emu.err" </dev/null; exit $?) \
        2>/dev/null
    local est=$?
    if grep -Eq "$SANITIZER_RE" "$TMP/emu.err"; then
        echo "not ok $n - user: $name (xuni reported an error)"
        comment 30 <"$TMP/emu.err"
    elif [ $nst -eq $est ] && cmp -s "$TMP/native.out" "$TMP/emu.out"; then
        echo "ok $n - user: $name"
    elif [ $est -eq 132 ]; then
        local where
        where=$( (XUNI_LOG=info timeout $TIMEOUT "$XUNI" user "$@" 2>&1 </dev/null >/dev/null
            exit $?) 2>/dev/null | grep -m1 'user: exception' | sed 's/.*user: //')
        echo "ok $n - user: $name # SKIP the CPU stopped at an instruction it lacks: ${where:-?}"
    else
        echo "not ok $n - user: $name (status: native $nst, xuni $est)"
        diff "$TMP/native.out" "$TMP/emu.out" | comment 20
        comment 10 <"$TMP/emu.err"
    fi
}

# error NAME WANT_STATUS NEEDLE ARGS...: one "xuni: error:" line holding NEEDLE.
error() {
    local name=$1 want=$2 needle=$3
    shift 3
    n=$((n + 1))
    local err status errors
    err=$(timeout $TIMEOUT "$XUNI" "$@" 2>&1 >/dev/null </dev/null)
    status=$?
    errors=$(grep -c '^xuni: error:' <<<"$err")
    if [ $status -eq "$want" ] && [ "$errors" -eq 1 ] && grep -qF -- "$needle" <<<"$err"; then
        echo "ok $n - user: $name"
    else
        echo "not ok $n - user: $name (status $status, wanted $want; $errors error lines)"
        comment 5 <<<"$err"
    fi
}

compare "hello (write, exit_group status)" $PROGS/hello
compare "hello as static-pie" $PROGS/hello-pie
compare "argv, envp, auxv" $PROGS/args first "second arg" ""
compare "brk, mmap, munmap, mprotect, mremap" $PROGS/mem
compare "SIGSEGV/SIGFPE/SIGTRAP handlers" $PROGS/segv catch
compare "death by SIGSEGV" $PROGS/segv die
compare "death by SIGSEGV that was ignored" $PROGS/segv ignored
compare "death by SIGILL (ud2)" $PROGS/segv ud2
compare "death by SIGFPE (divide by zero)" $PROGS/segv div0
mkdir -p "$TMP/files"
compare "file I/O" $PROGS/fileio "$TMP/files"
compare "pipe, fork, wait4, vfork, SIGCHLD" $PROGS/fork
compare "execve" $PROGS/exec $PROGS/args
compare "signals to self, sigaltstack, alarm, unknown syscall" $PROGS/signals
compare "death by SIGTERM" $PROGS/signals term
compare "interrupted spin, read, nanosleep; sigtimedwait" $PROGS/interrupt
compare "identity, uname, arch_prctl, bad pointers" $PROGS/misc

printf 'not a program\n' >"$TMP/text"
dynamic=
for f in /bin/true /usr/bin/true /bin/sh; do
    if [ -f "$f" ] && od -An -c -N4 "$f" | grep -q 'E   L   F' &&
        readelf -l "$f" 2>/dev/null | grep -q INTERP; then
        dynamic=$f
        break
    fi
done
error "no program" 2 "no program given" user
error "unknown option" 2 "unknown option '--bogus'" user --bogus $PROGS/hello
error "missing file" 1 "cannot open $TMP/missing: No such file or directory" user "$TMP/missing"
error "not an ELF file" 1 "$TMP/text is not an ELF program" user "$TMP/text"
error "a directory" 1 "cannot run $TMP: Is a directory" user "$TMP"
if [ -n "$dynamic" ]; then
    error "dynamically linked program" 1 \
        "$dynamic is dynamically linked; xuni user runs static programs" user "$dynamic"
else
    n=$((n + 1))
    echo "ok $n - user: dynamically linked program # SKIP no dynamically linked /bin/true here"
fi
# The unit tests of src/user built beside this xuni (tests/user/test_*.c),
# their TAP lines renumbered into ours.
for t in "$(dirname "$XUNI")"/tests/user/test_*; do
    [ -x "$t" ] || continue
    out=$(CMOCKA_MESSAGE_OUTPUT=TAP "$t" 2>&1)
    rc=$?
    seen=0
    while IFS= read -r line; do
        case "$line" in
        "ok "* | "not ok "*)
            n=$((n + 1))
            seen=1
            status=${line%% [0-9]*}
            echo "$status $n ${line#* [0-9]* }" ;;
        esac
    done <<<"$out"
    if [ $seen -eq 0 ] || { [ $rc -ne 0 ] && ! grep -q '^not ok' <<<"$out"; }; then
        n=$((n + 1))
        echo "not ok $n - $(basename "$t") exited with status $rc"
        comment 10 <<<"$out"
    fi
done
echo "1..$n"
