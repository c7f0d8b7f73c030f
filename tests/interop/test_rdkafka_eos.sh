#!/usr/bin/env bash
# test_rdkafka_eos.sh — librdkafka (Debian's 2.0.2) with exactly-once features (issue 13):
#   1. an idempotent producer (enable.idempotence=true, acks=all, rk_eos idem) while the broker
#      is killed with -9 and restarted on the same port EOS_KILLS times: every record
#      librdkafka acknowledged is in the topic exactly once (read back with kcat), no record
#      twice, and librdkafka never stops with a fatal idempotence error. Prints the figures:
#      "crash loop: acked A, duplicates D, lost L, kills K".
#   2. a transactional producer (rk_eos txn) committing and aborting alternate transactions
#      with send_offsets_to_transaction: a read_committed consumer sees every committed record
#      once and no aborted one, a read_uncommitted one sees both, kcat with
#      isolation.level=read_committed agrees, the group's offset is the last commit's, and a
#      second instance fences the first. Prints the commit latency p50/p99.
# EOS_RECORDS (default 100000), EOS_KILLS (default 5) and EOS_TXNS (default 20) size it.
source "$(dirname "$0")/lib.sh"

need kcat kcat
build_rk_eos

RECORDS="${EOS_RECORDS:-100000}"
KILLS="${EOS_KILLS:-5}"
TXNS="${EOS_TXNS:-20}"

# ---- 1. idempotent producer across kill -9 ---------------------------------------------------
start_broker e -o num.partitions=4
port="$PORT_e"
RK_EOS_SECONDS=$((KILLS * 2 + 2)) "$WORK/rk_eos" idem "$BROKER" idem "$RECORDS" "$WORK/acked" \
    >"$WORK/idem.out" 2>"$WORK/idem.err" &
RK=$!
trap 'rc_=$?; kill -KILL "$RK" 2>/dev/null || true; (exit $rc_); cleanup' EXIT
kills=0
for i in $(seq 1 "$KILLS"); do
    sleep 1.5
    kill -0 "$RK" 2>/dev/null || break # done already
    stop_broker e KILL
    kills=$((kills + 1))
    sleep 0.3
    start_broker e -o num.partitions=4 --listen "127.0.0.1:$port"
done
wait "$RK" || {
    tail -n 30 "$WORK/idem.err" >&2
    fail "rk_eos idem failed: $(cat "$WORK/idem.out")"
}
grep -q "FATAL" "$WORK/idem.err" && fail "librdkafka reported a fatal error: $(grep FATAL "$WORK/idem.err" | head -3)"
timeout 120 kcat -C -b "$BROKER" -t idem -o beginning -e -q -f '%s\n' >"$WORK/idem.read" ||
    fail "kcat could not read the idempotent topic back"
acked=$(wc -l <"$WORK/acked")
dups=$(sort "$WORK/idem.read" | uniq -d | wc -l)
lost=$(sort -u "$WORK/acked" | comm -23 - <(sort -u "$WORK/idem.read") | wc -l)
read=$(wc -l <"$WORK/idem.read")
log "crash loop: acked $acked, duplicates $dups, lost $lost, kills $kills, records in the topic $read ($(cat "$WORK/idem.out"))"
[ "$kills" -ge 1 ] || fail "the producer finished before the first kill: nothing tested"
[ "$acked" -gt 0 ] || fail "nothing acknowledged"
[ "$dups" -eq 0 ] || fail "$dups record(s) twice in the topic"
[ "$lost" -eq 0 ] || fail "$lost acknowledged record(s) missing"
stop_broker e TERM

# ---- 2. transactions with a read_committed consumer --------------------------------------------
start_broker t -o num.partitions=4
echo "in" | timeout 30 kcat -P -b "$BROKER" -t txn-in || fail "kcat -P txn-in failed"
out="$(timeout 300 "$WORK/rk_eos" txn "$BROKER" txn-out txn-in "$TXNS" 2>"$WORK/txn.err")" || {
    tail -n 30 "$WORK/txn.err" >&2
    fail "rk_eos txn: ${out:-no output}"
}
log "rk_eos txn: $out"
committed=$(( (TXNS + 1) / 2 * 100 ))
n=$(timeout 60 kcat -C -b "$BROKER" -t txn-out -o beginning -e -q -X isolation.level=read_committed \
    -f '%s\n' | grep -c '^txn-' || true)
[ "$n" -eq "$committed" ] || fail "kcat read_committed: $n records, want $committed"
timeout 60 kcat -C -b "$BROKER" -t txn-out -o beginning -e -q -X isolation.level=read_committed \
    -f '%s\n' | awk -F- '$1 == "txn" && $2 % 2 == 1 { bad++ } END { exit bad > 0 }' ||
    fail "kcat read_committed delivered an aborted record"
assert_alive t
stop_broker t TERM
log "ok"
