#!/usr/bin/env bash
# `make bench-user`: three CPU-bound workloads run natively, under
# `xuni user` and under qemu-x86_64 (Debian's qemu-user) in the same run.
# Prints user+sys CPU seconds (the median of BENCH_RUNS runs; CPU time is
# steadier than wall time on a shared machine) and the ratios. A benchmark,
# never a pass/fail test: it fails only when a runner computes a different
# result from the native one (then its times would mean nothing).
#
#   bench/user/bench-user.sh XUNI TOOLS_DIR     (TOOLS_DIR holds kernel and bbgen)
#
# Environment:
#   BENCH_SCALE=F   input sizes and kernel work times F (default 1: sha256 of
#                   64 MiB, gzip -9 of 32 MiB, ~0.5 s of kernel natively)
#   BENCH_RUNS=N    runs per workload and runner (default 3)
#   BENCH_QEMU=CMD  the qemu-user binary (default qemu-x86_64)
set -u
[ $# -eq 2 ] || { echo "usage: $0 XUNI TOOLS_DIR" >&2; exit 2; }
XUNI=$(realpath "$1")
TOOLS=$(realpath "$2")
SCALE=${BENCH_SCALE:-1}
RUNS=${BENCH_RUNS:-3}
QEMU=${BENCH_QEMU:-qemu-x86_64}
BUSYBOX=/bin/busybox
KERNEL=$TOOLS/kernel
BBGEN=$TOOLS/bbgen

die() {
    echo "bench-user: $*" >&2
    exit 1
}
[ -x "$XUNI" ] || die "$XUNI is not an executable"
[ -x "$KERNEL" ] && [ -x "$BBGEN" ] ||
    die "$TOOLS/kernel or bbgen missing (make bench-user builds them)"
[ -x $BUSYBOX ] || die "no $BUSYBOX: install Debian's busybox-static (tools/install-deps.sh)"
awk -v s="$SCALE" 'BEGIN { exit !(s > 0) }' || die "BENCH_SCALE must be a number > 0"
[ "$RUNS" -ge 1 ] 2>/dev/null || die "BENCH_RUNS must be a positive integer"

# qemu-user is only needed here, so the bench installs it rather than
# every CI run. Without it the qemu column stays empty.
. "$(dirname "$0")/../lib.sh"
bench_install "$QEMU" qemu-user bench-user || {
    echo "bench-user: could not install qemu-user; the qemu column is left out"
    QEMU=
}

TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
mib() { awk -v s="$SCALE" -v m="$1" 'BEGIN { printf "%d", m * s * 1048576 }'; }
size() { awk -v b="$1" 'BEGIN { if (b >= 1048576) printf "%g MiB", b / 1048576;
                                 else printf "%d KiB", b / 1024 }'; }
SHA_BYTES=$(mib 64)
GZ_BYTES=$(mib 32)
echo "bench-user: generating inputs ($(size "$SHA_BYTES"), $(size "$GZ_BYTES")) in $TMP"
"$BBGEN" bin "$SHA_BYTES" 1 >"$TMP/sha.in" || die "bbgen failed"
"$BBGEN" text "$GZ_BYTES" 2 >"$TMP/gzip.in" || die "bbgen failed"

# The workloads: a name and a command line (a program and its arguments).
names=("sha256sum $(size "$SHA_BYTES")" "gzip -9 $(size "$GZ_BYTES")" "kernel x$SCALE")
cmds=("$BUSYBOX sha256sum $TMP/sha.in" "$BUSYBOX gzip -9 -c $TMP/gzip.in" "$KERNEL $SCALE")
runners=(native xuni)
[ -n "$QEMU" ] && runners+=(qemu)

prefix() {
    case $1 in
    native) echo "" ;;
    xuni) echo "$XUNI user" ;;
    qemu) echo "$QEMU" ;;
    esac
}

# cpu_time RUNNER CMD...: user+sys seconds of one run; output in $TMP/out.
cpu_time() {
    local runner=$1
    shift
    local TIMEFORMAT='%3U %3S' t
    # shellcheck disable=SC2046
    t=$({ time $(prefix "$runner") "$@" >"$TMP/out" 2>"$TMP/err"; } 2>&1) ||
        die "$runner failed: $* ($(head -c 300 "$TMP/err"))"
    awk '{ printf "%.3f", $1 + $2 }' <<<"$t"
}

median_of() { # the median of the arguments
    tr ' ' '\n' <<<"$*" | sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'
}

declare -A result
status=0
for w in "${!names[@]}"; do
    read -r -a cmd <<<"${cmds[w]}"
    for r in "${runners[@]}"; do
        times=()
        for ((i = 0; i < RUNS; i++)); do
            times+=("$(cpu_time "$r" "${cmd[@]}")") || exit 1
            if [ "$r" = native ]; then
                sha256sum <"$TMP/out" >"$TMP/want"
            elif ! sha256sum <"$TMP/out" | cmp -s - "$TMP/want"; then
                echo "bench-user: $r computed a different result from native for: ${names[w]}"
                status=1
            fi
        done
        result[$w,$r]=$(median_of "${times[@]}")
        printf 'bench-user: %-18s %-6s %s s (runs: %s)\n' "${names[w]}" "$r" "${result[$w,$r]}" \
            "${times[*]}"
    done
done

ratio() {
    awk -v a="$1" -v b="$2" \
        'BEGIN { if (a == "" || b == "" || b <= 0) print "-"; else printf "%.1fx", a / b }'
}

echo
echo "user+sys CPU seconds, median of $RUNS run(s); BENCH_SCALE=$SCALE"
printf '%-20s %9s %9s %9s %12s %10s\n' workload native xuni qemu-user xuni/native xuni/qemu
for w in "${!names[@]}"; do
    q=${result[$w,qemu]:-}
    nat=${result[$w,native]} xu=${result[$w,xuni]}
    printf '%-20s %9s %9s %9s %12s %10s\n' "${names[w]}" "$nat" "$xu" "${q:--}" \
        "$(ratio "$xu" "$nat")" "$(ratio "$xu" "$q")"
done
echo
echo "commands (native; xuni runs 'xuni user CMD', qemu-user runs '${QEMU:-qemu-x86_64} CMD'):"
for w in "${!names[@]}"; do
    echo "  ${cmds[w]//$TMP\//} >/dev/null    # ${names[w]}"
done
echo "  inputs: sha.in = bbgen bin $SHA_BYTES 1, gzip.in = bbgen text $GZ_BYTES 2"
echo "  xuni: $XUNI"
[ -n "$QEMU" ] && echo "  qemu-user: $("$QEMU" --version | head -1)"
grep -qw sha_ni /proc/cpuinfo 2>/dev/null &&
    echo "  note: this host has SHA-NI, which native busybox sha256sum uses" \
        "(xuni's CPUID does not offer it)"
exit $status
