#!/usr/bin/env bash
# Differential CPU tests: xuni's emulator against the host CPU.
#   tests/cpu/diff/run-diff.sh XUNI
# runs $(dirname XUNI)/tests/cpu/cpudiff: first its self-test (two native
# runs agree, corrupted results are caught), then the fixed seed set --
# every family at its default count: 200,000 integer samples and 145,000
# x87/MMX/SSE ones -- and prints TAP, one line per family. A family with
# any mismatch fails; so does an emulator that is not linked yet. A family
# whose emulator tables (x86_ops_x87, ...) are not built yet is a TAP skip
# that names them. --all-features: every instruction the emulator
# implements is tested, whether or not its CPUID advertises it yet. Mismatch reports appear as "#" lines (run the script
# directly, or cpudiff --family F --sample K, to see them).
set -u
XUNI=${1:?usage: run-diff.sh XUNI}
BIN=$(dirname "$XUNI")/tests/cpu/cpudiff
if [ ! -x "$BIN" ]; then
    echo "not ok 1 - cpudiff: $BIN is not built"
    exit 1
fi
status=0
timeout 120 "$BIN" --tap --self-test --count 400 || status=1
timeout 600 "$BIN" --tap --seed 1 --reports 2 --all-features || status=1
exit $status
