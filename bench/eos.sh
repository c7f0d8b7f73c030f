#!/usr/bin/env bash
# eos.sh — the figures of issue 13's closing note, from one command (release binaries):
#   1. produce throughput of librdkafka with and without enable.idempotence=true, 100-byte
#      records, acks=all, ROUNDS interleaved rounds (plain, idempotent, plain, ...) so that a
#      shared machine's load falls on both alike; each round a fresh broker (splicelog-bench
#      produce --client rdkafka); the median of each and the idempotent path's cost.
#   2. the crash loop: tests/interop/test_rdkafka_eos.sh with EOS_RECORDS records and
#      EOS_KILLS kill -9 cycles (acked, duplicates, lost) and EOS_TXNS transactions (commit
#      latency p50/p99), against the release broker.
# Usage: bench/eos.sh [BUILD_DIR]   (ROUNDS=5 COUNT=2000000 EOS_RECORDS=300000 EOS_KILLS=10
#        EOS_TXNS=400 by default)
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
BUILD="${1:-$ROOT/build}"
ROUNDS="${ROUNDS:-5}"
COUNT="${COUNT:-2000000}"
bench="$BUILD/splicelog-bench"
[ -x "$bench" ] && [ -x "$BUILD/splicelogd" ] || {
    echo "eos.sh: build $bench and $BUILD/splicelogd first (make build-all)" >&2
    exit 2
}
echo "machine: $(nproc) cores, $(uname -r); load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
rate() { # rate [client properties...]: "records/s broker-CPU-s-per-million-records"
    "$bench" produce --client rdkafka --record-size 100 --count "$COUNT" --acks all --runs 1 \
        --interval 0 "$@" 2>&1 |
        awk '/^  records\/s/ { r = $2 } /^  broker CPU s per million records/ { c = $NF }
             END { print r, c }'
}
plain=() idem=() pcpu=() icpu=()
for r in $(seq 1 "$ROUNDS"); do
    read -r x c < <(rate)
    plain+=("$x") pcpu+=("$c")
    read -r x c < <(rate -X enable.idempotence=true)
    idem+=("$x") icpu+=("$c")
    echo "round $r: plain ${plain[-1]} records/s (broker ${pcpu[-1]} CPU s/M records)," \
        "idempotent ${idem[-1]} records/s (broker ${icpu[-1]} CPU s/M records)"
done
median() { printf '%s\n' "$@" | sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
mp=$(median "${plain[@]}")
mi=$(median "${idem[@]}")
echo "produce, librdkafka 2.0.2, 100 B records, acks=all, $COUNT records, $ROUNDS rounds:" \
    "plain median $mp records/s [$(printf '%s\n' "${plain[@]}" | sort -n | head -1)-$(printf '%s\n' "${plain[@]}" | sort -n | tail -1)]," \
    "idempotent median $mi records/s [$(printf '%s\n' "${idem[@]}" | sort -n | head -1)-$(printf '%s\n' "${idem[@]}" | sort -n | tail -1)]," \
    "idempotent/plain $(awk -v a="$mi" -v b="$mp" 'BEGIN { printf "%.3f", a / b }')"
echo "broker CPU s per million records: plain median $(median "${pcpu[@]}"), idempotent median $(median "${icpu[@]}")"
echo "load average at end of the throughput rounds: $(cut -d' ' -f1-3 /proc/loadavg)"
EOS_RECORDS="${EOS_RECORDS:-300000}" EOS_KILLS="${EOS_KILLS:-10}" EOS_TXNS="${EOS_TXNS:-400}" \
    SPLICELOGD="$BUILD/splicelogd" SPLICELOG_ROOT="$ROOT" \
    bash "$ROOT/tests/interop/test_rdkafka_eos.sh" 2>&1 | grep -E "crash loop|rk_eos txn|commit_ms|FAIL|ok$"
