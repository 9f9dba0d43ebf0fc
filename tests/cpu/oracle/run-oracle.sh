#!/usr/bin/env bash
# The decoder oracle in TAP (see oracle.c): xuni's decoder against libzydis
# on every opcode x prefixes x REX x ModRM (sweep) and on 2,000,000 random
# byte strings of a fixed seed set, in 64-bit mode, plus shorter runs for
# AMD near branches and 32-bit mode; then against the host CPU itself on a
# few thousand strings. $1 is the build's xuni binary; the oracle sits in
# the same build folder.
set -u
build=$(dirname "$1")
oracle=$build/tests/cpu/oracle/oracle

n=0
check() {
    local name=$1 out rc
    shift
    n=$((n + 1))
    if [ ! -x "$oracle" ]; then
        echo "ok $n - $name # SKIP oracle not built (libzydis-dev missing)"
        return
    fi
    out=$("$oracle" "$@" 2>&1)
    rc=$?
    if [ $rc -eq 0 ]; then
        echo "ok $n - $name"
    elif [ $rc -eq 77 ]; then
        echo "ok $n - $name # SKIP $(echo "$out" | tail -1)"
        return
    else
        echo "not ok $n - $name"
    fi
    echo "$out" | head -40 | sed 's/^/# /'
}

check "decoder sweep, 64-bit mode" --sweep
check "decoder sweep, 32-bit mode" --mode 32 --sweep
for seed in 1 2 3 4; do
    check "random strings, 64-bit mode, seed $seed" --seed $seed --count 500000
done
check "random strings, AMD near branches" --amd-branches --seed 5 --count 250000
check "random strings, 32-bit mode" --mode 32 --seed 6 --count 250000
check "random strings against the host CPU" --against-host --seed 7 --count 1000
echo "1..$n"
