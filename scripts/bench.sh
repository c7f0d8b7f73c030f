#!/usr/bin/env bash
# bench.sh BUILD_DIR — the benchmarks (never part of make test). Each writes its table to
# stdout and, where it can, JSON under BUILD_DIR/bench/. Sizes can be overridden:
#   BENCH_FETCH_SIZE=1G BENCH_RUNS=3 make bench
set -euo pipefail
build="${1:-build}"
out="$build/bench"
mkdir -p "$out"
runs="${BENCH_RUNS:-3}"

echo "== machine: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(nproc) cores, $(uname -r)"

if [ -f bench/bench_storage.c ]; then
    make --no-print-directory "$build/bench_storage" >/dev/null
    echo "== storage append and recovery"
    "$build/bench_storage" | tee "$out/storage.txt"
fi

make --no-print-directory "$build/bench_fetch" >/dev/null
echo "== fetch transfer paths (consumer throughput from page cache)"
"$build/bench_fetch" --broker "$build/splicelogd" --size "${BENCH_FETCH_SIZE:-1G}" \
    --runs "$runs" --json "$out/fetch.json" | tee "$out/fetch.txt"

if [ -f bench/bench_producer.c ]; then
    make --no-print-directory "$build/bench_producer" >/dev/null 2>&1 && {
        echo "== producer (libsplicelog)"
        "$build/bench_producer" | tee "$out/producer.txt"
    }
fi
