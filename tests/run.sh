#!/usr/bin/env bash
# Runs every test against each build folder given (e.g. "build build/asan")
# and ends with one line "N passed, N failed". Every test program speaks TAP:
# "ok N - name", "not ok N - name", "ok N - name # SKIP reason".
set -u
cd "$(dirname "$0")/.."

passed=0 failed=0 skipped=0
failures=()

# Run one TAP producer; count its results, prefixed with a label.
run_tap() {
    local label=$1
    shift
    local out rc line
    out=$("$@" 2>&1)
    rc=$?
    local seen=0
    while IFS= read -r line; do
        case "$line" in
        "not ok"*"# SKIP"*) # TAP: a skip, whatever the ok (cmocka writes "not ok")
            skipped=$((skipped + 1)); seen=1
            echo "skip $label: ${line#not ok }" ;;
        "not ok"*)
            failed=$((failed + 1)); seen=1
            failures+=("$label: ${line#not ok }")
            echo "FAIL $label: ${line#not ok }" ;;
        "ok"*"# SKIP"*)
            skipped=$((skipped + 1)); seen=1
            echo "skip $label: ${line#ok }" ;;
        "ok"*)
            passed=$((passed + 1)); seen=1 ;;
        "#"*|"1.."*) ;;
        *) [ -n "$line" ] && echo "  | $line" ;;
        esac
    done <<<"$out"
    # A producer that crashed or printed no results is a failure by itself.
    if [ $seen -eq 0 ] || { [ $rc -ne 0 ] && ! grep -q '^not ok' <<<"$out"; }; then
        failed=$((failed + 1))
        failures+=("$label: exited with status $rc")
        echo "FAIL $label: exited with status $rc"
        echo "$out" | tail -20 | sed 's/^/  | /'
    fi
}

for build in "$@"; do
    echo "== $build"
    for t in "$build"/tests/test_*; do
        [ -x "$t" ] || continue
        CMOCKA_MESSAGE_OUTPUT=TAP run_tap "$build/$(basename "$t")" "$t"
    done
    # Every other suite: an executable tests/*/run-*.sh or tests/*/*/run-*.sh
    # that takes the xuni binary of the build and prints TAP.
    for script in tests/*/run-*.sh tests/*/*/run-*.sh; do
        [ -x "$script" ] && run_tap "$build/$(basename "$script" .sh)" "$script" "$build/xuni"
    done
done

echo
if [ ${#failures[@]} -gt 0 ]; then
    echo "failures:"
    printf '  %s\n' "${failures[@]}"
fi
echo "$skipped skipped"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
