#!/usr/bin/env bash
# test_kafkajs.sh — kafkajs 2.2.4 (pinned in package-lock.json, installed here with npm ci)
# produces 10,000 messages with keys and headers to an auto-created topic on splicelogd;
# kcat reads them back (-J) and keys, headers and values are identical and in order. Then a
# 4-partition topic created with kafkajs' admin client takes 4,000 messages spread over the
# partitions (multi-partition Produce requests); each key's messages come back in order.
# Works with Debian 12's nodejs 18 as well as newer node. Bounded waits throughout.
source "$(dirname "$0")/lib.sh"

need kcat kcat
HERE="$(cd "$(dirname "$0")" && pwd)"

need_kafkajs

start_broker js
KAFKAJS_NO_PARTITIONER_WARNING=1 timeout --kill-after=5 180 node "$HERE/kafkajs_produce.js" "$BROKER" js-topic 10000 \
    "$WORK/expected.jsonl" || fail "kafkajs producer failed"
[ "$(wc -l <"$WORK/expected.jsonl")" -eq 10000 ] || fail "producer wrote a short expectation file"

timeout --kill-after=5 120 kcat -b "$BROKER" -C -t js-topic -o beginning -e -q -J \
    >"$WORK/kcat.jsonl" || fail "kcat -C -J failed"
timeout 60 node "$HERE/kcat_json_normalize.js" <"$WORK/kcat.jsonl" >"$WORK/got.jsonl" ||
    fail "kcat output did not parse"
if ! cmp -s "$WORK/expected.jsonl" "$WORK/got.jsonl"; then
    log "expected $(wc -l <"$WORK/expected.jsonl") messages, kcat read $(wc -l <"$WORK/got.jsonl")"
    diff "$WORK/expected.jsonl" "$WORK/got.jsonl" | head -n 10 >&2 || true
    fail "messages read by kcat differ from what kafkajs sent"
fi
log "10,000 messages with keys and headers identical"

# A 4-partition topic created by kafkajs' admin client; each send spans the partitions, so one
# Produce request carries several. Every message arrives once, each key's in order.
KAFKAJS_NO_PARTITIONER_WARNING=1 timeout --kill-after=5 180 node "$HERE/kafkajs_produce.js" \
    "$BROKER" js-four 4000 "$WORK/expected4.jsonl" 4 || fail "kafkajs producer (4 partitions) failed"
timeout --kill-after=5 120 kcat -b "$BROKER" -C -t js-four -o beginning -e -q -J \
    >"$WORK/kcat4.jsonl" || fail "kcat -C -J (4 partitions) failed"
for p in 0 1 2 3; do
    grep -q "\"partition\":$p," "$WORK/kcat4.jsonl" || fail "partition $p received nothing"
done
timeout 60 node "$HERE/kcat_json_normalize.js" <"$WORK/kcat4.jsonl" >"$WORK/got4.jsonl" ||
    fail "kcat output did not parse"
timeout 60 node "$HERE/per_key_order.js" "$WORK/expected4.jsonl" "$WORK/got4.jsonl" ||
    fail "4-partition topic: messages missing, duplicated or out of order per key"
assert_alive js
stop_broker js TERM
log "test_kafkajs: 10,000 messages with keys and headers identical; 4,000 over 4 partitions"
