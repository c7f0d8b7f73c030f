#!/usr/bin/env bash
# bench.sh BUILD_DIR — the benchmarks (never part of make test). Each writes its table to
# stdout and, where it can, JSON under BUILD_DIR/bench/ (compare also a PNG chart). Sizes can
# be overridden:
#   BENCH_COMPARE_SIZE=1GiB BENCH_FETCH_SIZE=1G BENCH_RUNS=3 make bench
set -euo pipefail
build="${1:-build}"
out="$build/bench"
mkdir -p "$out"
runs="${BENCH_RUNS:-3}"

echo "== machine: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(nproc) cores, $(uname -r)"

# gnuplot (for the chart) and the other bench packages; not fatal: the chart is then skipped.
scripts/deps.sh bench || echo "bench.sh: some bench packages are missing (see above)" >&2

# The headline (issue 7): every fetch path against the loopback limits, table + JSON + chart.
#   BENCH_COMPARE_SIZE=256MiB BENCH_RUNS=1 make bench
make --no-print-directory "$build/splicelog-bench" >/dev/null
echo "== splicelog-bench compare (zero-copy vs copy vs TLS)"
plot=()
if command -v gnuplot >/dev/null 2>&1; then
    plot=(--plot "$out/compare.png")
else
    echo "bench.sh: gnuplot not installed (Debian: gnuplot-nox): no chart" >&2
fi
"$build/splicelog-bench" compare --broker "$build/splicelogd" --size "${BENCH_COMPARE_SIZE:-1GiB}" \
    --runs "$runs" --json "$out/compare.json" "${plot[@]}" | tee "$out/compare.txt"

if [ -f bench/bench_storage.c ]; then
    make --no-print-directory "$build/bench_storage" >/dev/null
    echo "== storage append and recovery"
    "$build/bench_storage" | tee "$out/storage.txt"
fi

make --no-print-directory "$build/bench_fetch" >/dev/null
echo "== fetch transfer paths (consumer throughput from page cache)"
"$build/bench_fetch" --broker "$build/splicelogd" --size "${BENCH_FETCH_SIZE:-1G}" \
    --runs "$runs" --json "$out/fetch.json" | tee "$out/fetch.txt"

# Producer throughput (issue 6): libsplicelog and librdkafka, same records, same broker, same run.
make --no-print-directory "$build/bench_producer" >/dev/null
have_rdkafka=0
make --no-print-directory "$build/bench_rdkafka" >/dev/null 2>&1 && have_rdkafka=1
tmp=$(mktemp -d)
"$build/splicelogd" --listen 127.0.0.1:0 --data-dir "$tmp/data" --port-file "$tmp/port" \
    2>"$tmp/broker.log" &
broker=$!
trap 'kill $broker 2>/dev/null; wait $broker 2>/dev/null; rm -rf "$tmp"' EXIT
for _ in $(seq 200); do [ -s "$tmp/port" ] && break; sleep 0.05; done
port=$(head -n 1 "$tmp/port")
n="${BENCH_PRODUCER_RECORDS:-2000000}"
echo "== producer: $n records of 100 bytes, acks=1, one thread (libsplicelog vs librdkafka)"
for round in $(seq "$runs"); do
    "$build/bench_producer" -b "127.0.0.1:$port" -t "lib$round" -n "$n" | tee -a "$out/producer.txt"
    if [ $have_rdkafka = 1 ]; then
        "$build/bench_rdkafka" -b "127.0.0.1:$port" -t "rdk$round" -n "$n" | tee -a "$out/producer.txt"
    fi
done
