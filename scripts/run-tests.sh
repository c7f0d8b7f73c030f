#!/usr/bin/env bash
# run-tests.sh BUILD_DIR — run every test suite and print one closing line
# "N passed, N failed" (Check's own summary lines are printed per suite above it).
#
# Suites: unit (build/san/tests/*), integration (build/san/itests/*), cluster
# (build/san/ctests/*: the cluster's fault tests), interop (tests/interop/test_*.sh).
# SPLICELOG_SUITES="unit integration" limits which run.
# Each suite runs under a time bound; a suite that crashes, times out or exits non-zero
# counts as a failure even when its checks passed.
set -uo pipefail

build="${1:-build}"
build="$(cd "$build" && pwd)"
root="$(cd "$(dirname "$0")/.." && pwd)"
suites="${SPLICELOG_SUITES:-unit integration cluster interop}"
per_suite_timeout="${SPLICELOG_SUITE_TIMEOUT:-900}"

export SPLICELOG_ROOT="$root"
export SPLICELOGD="$build/san/splicelogd"
export SPLICELOGD_REL="$build/splicelogd"
export SPLICELOG_BUILD="$build"
export ASAN_OPTIONS="${ASAN_OPTIONS:-abort_on_error=0:detect_leaks=1:halt_on_error=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"

passed=0
failed=0
failed_names=()
log_dir="$build/test-logs"
mkdir -p "$log_dir"

# run_one NAME CMD... — runs a suite, echoes its output, tallies Check's summary line.
run_one() {
    local name="$1"
    shift
    local log="$log_dir/${name//\//_}.log"
    echo "== $name"
    timeout --kill-after=10 "$per_suite_timeout" "$@" >"$log" 2>&1
    local rc=$?
    # Check prints: "NN%: Checks: C, Failures: F, Errors: E"
    local summary
    summary=$(grep -aE '^[0-9]+%: Checks: [0-9]+' "$log" | tail -n 1)
    if [ -n "$summary" ]; then
        local c f e
        c=$(sed -E 's/.*Checks: ([0-9]+).*/\1/' <<<"$summary")
        f=$(sed -E 's/.*Failures: ([0-9]+).*/\1/' <<<"$summary")
        e=$(sed -E 's/.*Errors: ([0-9]+).*/\1/' <<<"$summary")
        passed=$((passed + c - f - e))
        failed=$((failed + f + e))
        grep -aE '^[^:]+:[0-9]+:[EF]:' "$log" | head -n 40
        echo "$summary"
        if [ $rc -ne 0 ] && [ $((f + e)) -eq 0 ]; then
            failed=$((failed + 1))
            failed_names+=("$name(exit $rc)")
            tail -n 40 "$log"
        elif [ $((f + e)) -ne 0 ]; then
            failed_names+=("$name")
        fi
    else
        # Not a Check suite (a script): the exit code is the verdict, one check.
        if [ $rc -eq 0 ]; then
            passed=$((passed + 1))
            echo "ok"
        else
            failed=$((failed + 1))
            failed_names+=("$name(exit $rc)")
            tail -n 60 "$log"
        fi
    fi
}

for s in $suites; do
    case "$s" in
    unit)
        for t in "$build"/san/tests/*; do
            [ -x "$t" ] && run_one "unit/$(basename "$t")" "$t"
        done
        ;;
    integration)
        for t in "$build"/san/itests/*; do
            [ -x "$t" ] && run_one "integration/$(basename "$t")" "$t"
        done
        ;;
    cluster)
        for t in "$build"/san/ctests/*; do
            [ -x "$t" ] && run_one "cluster/$(basename "$t")" "$t"
        done
        ;;
    interop)
        for t in "$root"/tests/interop/test_*.sh; do
            [ -f "$t" ] && run_one "interop/$(basename "$t" .sh)" bash "$t"
        done
        ;;
    esac
done

echo
if [ ${#failed_names[@]} -gt 0 ]; then
    echo "failing suites: ${failed_names[*]}"
fi
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
