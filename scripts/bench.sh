#!/usr/bin/env bash
# bench.sh BUILD_DIR [cluster] — the benchmarks (never part of make test). Each writes its
# table to stdout and JSON under BUILD_DIR/bench/ (compare and scale also a PNG chart, when
# gnuplot is installed). Every splicelog-bench figure is measured BENCH_RUNS times and printed
# as median [min-max]. Sizes can be overridden:
#   BENCH_COMPARE_SIZE=1GiB BENCH_FETCH_SIZE=1G BENCH_RUNS=3 BENCH_E2E_DURATION=10s make bench
# With `cluster` (make bench-cluster) only the cluster's benchmark (issue 18) runs: ZooKeeper
# and three brokers of its own against a single node; it needs Debian's zookeeper and java
# (scripts/deps.sh cluster installs them as root). make bench runs it last when they are
# already installed.
# The machine is shared: the load average is printed at the start and in every report.
set -euo pipefail
build="${1:-build}"
out="$build/bench"
mkdir -p "$out"
runs="${BENCH_RUNS:-3}"
sb="$build/splicelog-bench"
only="${2:-}"

echo "== machine: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(nproc) cores, $(uname -r); load average $(cut -d' ' -f1-3 /proc/loadavg)"

# gnuplot (for the charts) and librdkafka (--client rdkafka); not fatal: without gnuplot the
# charts are skipped, without librdkafka-dev the rdkafka rows. The cluster alone needs neither.
if [ "$only" = cluster ]; then
    scripts/deps.sh cluster || exit 1
else
    scripts/deps.sh bench || echo "bench.sh: some bench packages are missing (see above)" >&2
fi

make --no-print-directory "$sb" >/dev/null
broker=(--broker "$build/splicelogd")

# The cluster (issue 18): RF 3 acks=all vs a single node acks=1, the leader's CPU per GiB
# served to its followers, failover time after kill -9 of a leader, e2e latency with acks=all.
bench_cluster() {
    echo "== splicelog-bench cluster (ZooKeeper + 3 brokers vs a single node)"
    "$sb" cluster "${broker[@]}" --runs "$runs" --interval 0 --json "$out/cluster.json" |
        tee "$out/cluster.txt"
}
if [ "$only" = cluster ]; then
    bench_cluster
    exit 0
fi

# The headline (issue 7): every fetch path against the loopback limits; the paths take turns
# (--alternate), so that a shared machine's load drifts across rounds, not across paths.
echo "== splicelog-bench machine (the floor under every figure: stalls, wake-ups, page cache, fdatasync)"
"$sb" machine --runs "$runs" --json "$out/machine.json" | tee "$out/machine.txt"

echo "== splicelog-bench compare (zero-copy vs copy vs TLS)"
"$sb" compare "${broker[@]}" --size "${BENCH_COMPARE_SIZE:-1GiB}" --runs "$runs" --alternate \
    --json "$out/compare.json" --plot "$out/compare.png" | tee "$out/compare.txt"

# Small fetches (issue 20): 8 KiB batches and fetches, the regime of a consumer that keeps up.
for path in auto splice sendfile copy; do
    echo "== splicelog-bench consume, 8 KiB fetches, fetch.transfer=$path"
    "$sb" consume "${broker[@]}" --transfer "$path" --count 200000 --runs "$runs" --interval 0 \
        -X batch.size=8192 -X max.partition.fetch.bytes=8192 \
        --json "$out/small-$path.json" | tee "$out/small-$path.txt"
done

# Latency (issue 19): 50,000 records/s of 1 KiB, from each record's intended send time.
echo "== splicelog-bench e2e (50,000 records/s of 1 KiB)"
"$sb" e2e "${broker[@]}" --rate 50000 --record-size 1024 --duration "${BENCH_E2E_DURATION:-10s}" \
    --runs "$runs" --interval 5s --json "$out/e2e.json" | tee "$out/e2e.txt"

# Durability: acks=all, fdatasync per message, 4 producers sharing fdatasyncs.
echo "== splicelog-bench durable (acks=all, log.flush.interval.messages=1, 4 producers)"
"$sb" durable "${broker[@]}" --duration "${BENCH_E2E_DURATION:-10s}" --runs "$runs" \
    --interval 5s --json "$out/durable.json" | tee "$out/durable.txt"

# Cost as the work spreads: partitions and connections.
echo "== splicelog-bench overload (paced clients beside an unthrottled producer)"
"$sb" overload "${broker[@]}" --runs "$runs" --interval 0 --json "$out/overload.json" |
    tee "$out/overload.txt"

echo "== splicelog-bench scale (1 .. 10,000 partitions and connections)"
"$sb" scale "${broker[@]}" --runs "${BENCH_SCALE_RUNS:-1}" --json "$out/scale.json" \
    --plot "$out/scale.png" | tee "$out/scale.txt"

# Producer throughput (issue 6): libsplicelog and librdkafka, same records, same broker.
n="${BENCH_PRODUCER_RECORDS:-2000000}"
clients=(splicelog)
"$sb" --help | grep -q '^clients in this build: splicelog, rdkafka' && clients+=(rdkafka)
for cl in "${clients[@]}"; do
    echo "== splicelog-bench produce --client $cl: $n records of 100 bytes, acks=1"
    "$sb" produce "${broker[@]}" --client "$cl" --record-size 100 --count "$n" --runs "$runs" \
        --json "$out/produce-$cl.json" | tee "$out/produce-$cl.txt"
done

if [ -f bench/bench_storage.c ]; then
    make --no-print-directory "$build/bench_storage" >/dev/null
    echo "== storage append and recovery"
    "$build/bench_storage" | tee "$out/storage.txt"
fi

make --no-print-directory "$build/bench_fetch" >/dev/null
echo "== fetch transfer paths (consumer throughput from page cache)"
"$build/bench_fetch" --broker "$build/splicelogd" --size "${BENCH_FETCH_SIZE:-1G}" \
    --runs "$runs" --json "$out/fetch.json" | tee "$out/fetch.txt"

if [ -r /usr/share/java/zookeeper.jar ] && command -v java >/dev/null 2>&1; then
    bench_cluster
else
    echo "== cluster: skipped (needs zookeeper and java: scripts/deps.sh cluster, or make bench-cluster)"
fi

# The README's performance tables, from the JSON above (no figure the bench did not print).
if command -v python3 >/dev/null 2>&1; then
    python3 scripts/bench-readme.py "$out" >"$out/README-performance.md" &&
        echo "== README tables: $out/README-performance.md"
fi
