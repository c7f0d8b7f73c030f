#!/usr/bin/env bash
# test_kafkajs_eos.sh — kafkajs 2.2.4 with exactly-once features (issue 13):
#   1. an idempotent producer (idempotent: true) while the broker is killed with -9 and
#      restarted on the same port twice: every resolved send's messages are in the topic
#      exactly once (kafkajs resends failed requests with the same sequences; the broker
#      answers those it already has as duplicates, with their first offsets).
#   2. a transactional producer (transactionalId, send, sendOffsets, commit, abort) and a
#      consumer with readUncommitted: false: committed messages once, aborted ones never, the
#      group's offset the last commit's.
source "$(dirname "$0")/lib.sh"

need kcat kcat
HERE="$(cd "$(dirname "$0")" && pwd)"

need_kafkajs

# ---- 1. idempotent producer across kill -9 ---------------------------------------------------
start_broker j -o num.partitions=3
port="$PORT_j"
KAFKAJS_NO_PARTITIONER_WARNING=1 timeout --kill-after=5 240 node "$HERE/kafkajs_eos.js" idem "$BROKER" \
    js-idem 80 "$WORK/resolved" >"$WORK/idem.out" 2>"$WORK/idem.err" &
NP=$!
trap 'rc_=$?; kill -KILL "$NP" 2>/dev/null || true; (exit $rc_); cleanup' EXIT
kills=0
for i in 1 2; do
    sleep 2.5
    kill -0 "$NP" 2>/dev/null || break
    stop_broker j KILL
    kills=$((kills + 1))
    sleep 0.3
    start_broker j -o num.partitions=3 --listen "127.0.0.1:$port"
done
wait "$NP" || {
    tail -n 20 "$WORK/idem.err" >&2
    fail "kafkajs idempotent producer failed"
}
timeout 120 kcat -C -b "$BROKER" -t js-idem -o beginning -e -q -f '%s\n' >"$WORK/idem.read" ||
    fail "kcat could not read js-idem back"
resolved=$(wc -l <"$WORK/resolved")
dups=$(sort "$WORK/idem.read" | uniq -d | wc -l)
lost=$(sort -u "$WORK/resolved" | comm -23 - <(sort -u "$WORK/idem.read") | wc -l)
log "kafkajs idempotent: resolved $resolved, duplicates $dups, lost $lost, kills $kills ($(cat "$WORK/idem.out"))"
[ "$kills" -ge 1 ] || fail "the producer finished before the first kill"
[ "$dups" -eq 0 ] || fail "$dups message(s) twice in the topic"
[ "$lost" -eq 0 ] || fail "$lost resolved message(s) missing"
stop_broker j TERM

# ---- 2. transactions with a readUncommitted: false consumer -----------------------------------
start_broker jt -o num.partitions=3
echo "in" | timeout 30 kcat -P -b "$BROKER" -t js-in || fail "kcat -P js-in failed"
out="$(KAFKAJS_NO_PARTITIONER_WARNING=1 timeout --kill-after=5 240 node "$HERE/kafkajs_eos.js" txn \
    "$BROKER" js-txn js-in 10 2>"$WORK/txn.err")" || {
    tail -n 20 "$WORK/txn.err" >&2
    fail "kafkajs transactions: ${out:-no output}"
}
log "kafkajs transactions: $out"
assert_alive jt
stop_broker jt TERM
log "ok"
