#!/usr/bin/env bash
# test_kafkajs_compact.sh — a compacted topic made by kafkajs 2.2.4's admin client (CreateTopics
# with cleanup.policy=compact and segment.bytes / segment.ms / min.cleanable.dirty.ratio /
# delete.retention.ms as topic configs; cleanup.policy=squash refused), kafkajs producing keyed
# updates and tombstones; once the broker's cleaner has compacted it (kcat's view: each key once,
# tombstones for the deleted ones), a kafkajs consumer from the beginning reads exactly the
# same records at the same offsets through to the high watermark (the empty batches that
# compaction leaves between records included).
source "$(dirname "$0")/lib.sh"

need kcat kcat
HERE="$(cd "$(dirname "$0")" && pwd)"

need_kafkajs

start_broker jc -o log.retention.check.interval.ms=200 -o log.cleaner.backoff.ms=200
b="$BROKER"
timeout --kill-after=5 60 node "$HERE/kafkajs_compact.js" create "$b" jcomp ||
    fail "kafkajs could not create the compacted topic (or squash was accepted)"
KAFKAJS_NO_PARTITIONER_WARNING=1 timeout --kill-after=5 60 node "$HERE/kafkajs_compact.js" produce "$b" jcomp || fail "kafkajs produce failed"

ok=0
for i in $(seq 1 150); do # up to 30 s for the cleaner
    timeout --kill-after=5 60 kcat -C -b "$b" -t jcomp -o beginning -e -q -Z -f '%o %k %s\n' \
        >"$WORK/kcat" || fail "kcat -C failed"
    if awk '{ n[$2]++; v[$2] = $3 }
        END { for (k = 0; k < 40; k++) { key = "k" k
                if (n[key] != 1) exit 1
                if (k < 10 && v[key] != "NULL") exit 1
                if (k >= 10 && v[key] != "v30-" k) exit 1 } }' "$WORK/kcat"; then
        ok=1
        break
    fi
    sleep 0.2
done
[ $ok -eq 1 ] || fail "not compacted after 30 s ($(wc -l <"$WORK/kcat") records)"
log "compacted: $(wc -l <"$WORK/kcat") records left of 1210"

timeout --kill-after=5 60 node "$HERE/kafkajs_compact.js" consume "$b" jcomp >"$WORK/kjs" ||
    fail "the kafkajs consumer did not read the compacted topic to its end"
cmp -s "$WORK/kcat" "$WORK/kjs" || {
    diff "$WORK/kcat" "$WORK/kjs" | head -n 10 >&2 || true
    fail "kafkajs read something else than kcat"
}
assert_alive jc
stop_broker jc TERM
log "test_kafkajs_compact: kafkajs and kcat read the same $(wc -l <"$WORK/kjs") records"
