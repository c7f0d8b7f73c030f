#!/usr/bin/env bash
# test_kcat_compact.sh — log compaction seen by a real client: kcat produces keyed updates and
# tombstones to a compacted topic (the broker's log.cleanup.policy=compact, small segments that
# roll every second, a cleaner that wakes every 200 ms); once cleaned, a consumer reading from
# the beginning sees each live key once, with its latest value, no deleted key (after
# delete.retention.ms = 0 and a second cleaning), at the offsets they were written at, and
# reads to the end through the empty batches compaction leaves between them.
source "$(dirname "$0")/lib.sh"

need kcat kcat

start_broker c -o log.cleanup.policy=compact -o log.segment.bytes=16384 -o log.roll.ms=1000 \
    -o log.retention.check.interval.ms=200 -o log.cleaner.backoff.ms=200 \
    -o log.cleaner.delete.retention.ms=0 -o log.cleaner.min.cleanable.ratio=0.01
b="127.0.0.1:$PORT_c"

# 50 keys x 40 updates, then tombstones for k0..k9 (-Z: an empty value is sent as null)
{
    for r in $(seq 1 40); do
        for k in $(seq 0 49); do echo "k$k:v$r-$k"; done
    done
    for k in $(seq 0 9); do echo "k$k:"; done
} >"$WORK/in1"
timeout 60 kcat -P -b "$b" -t comp -K: -Z -X linger.ms=5 -l "$WORK/in1" || fail "produce 1 failed"
produced=$(wc -l <"$WORK/in1")

# kcat's view: "offset key value" per record (NULL for a tombstone)
consume() {
    timeout --kill-after=5 60 kcat -C -b "$b" -t comp -o beginning -e -q -Z -f '%o %k %s\n' \
        >"$WORK/out" || fail "kcat -C failed"
}

# Every key k10..k49 exactly once with v40-<k>; k0..k9 only as tombstones ($1 = 1) or not at
# all ($1 = 0).
check() {
    awk -v gone="$1" '
        $2 ~ /^k[0-9]+$/ { n[$2]++; v[$2] = $3 }
        END {
            for (k = 0; k < 50; k++) {
                key = "k" k
                if (k < 10) {
                    if (gone && n[key] > 0) { print key " still there"; exit 1 }
                    if (!gone && (n[key] != 1 || v[key] != "NULL")) { print key ": " n[key] " " v[key]; exit 1 }
                } else if (n[key] != 1 || v[key] != "v40-" k) { print key ": " n[key] " " v[key]; exit 1 }
            }
        }' "$WORK/out" >"$WORK/why" 2>&1
}

# Offsets as produced: line n of in1 went to offset n - 1.
check_offsets() {
    awk 'NR == FNR { split($0, kv, ":"); want[NR - 1] = kv[1]; next }
         $2 ~ /^k/ && want[$1] != $2 { print "offset " $1 ": " $2 " want " want[$1]; exit 1 }' \
        "$WORK/in1" "$WORK/out" || fail "a record moved offset"
}

ok=0
for i in $(seq 1 150); do # up to 30 s for the first cleaning
    consume
    if check 0; then
        ok=1
        break
    fi
    sleep 0.2
done
[ $ok -eq 1 ] || fail "not compacted after 30 s: $(cat "$WORK/why"); $(wc -l <"$WORK/out") records read"
check_offsets
log "compacted: $(wc -l <"$WORK/out") of $produced records left, tombstones kept"

# libsplicelog's consumer (`splicelog consume`) reads the cleaned log as kcat does: cleaned
# batches hold fewer records than offsets, empty ones none (it refused them as bad messages)
TOOL="${SPLICELOG_BUILD:-$ROOT/build}/san/splicelog"
n_kcat=$(wc -l <"$WORK/out")
timeout 60 "$TOOL" consume comp --bootstrap "$b" --from beginning --count "$n_kcat" --json \
    >"$WORK/sl.json" 2>"$WORK/sl.err" || fail "splicelog consume of the cleaned log: $(tail -n 3 "$WORK/sl.err")"
python3 -c '
import json, sys
for line in open(sys.argv[1]):
    r = json.loads(line)
    print(r["offset"], r["key"], "NULL" if r["value"] is None else r["value"])
' "$WORK/sl.json" >"$WORK/sl.out" || fail "splicelog consume printed no JSON lines"
diff "$WORK/out" "$WORK/sl.out" >&2 || fail "splicelog consume read the cleaned log differently from kcat"
log "libsplicelog's consumer: the same $n_kcat records at the same offsets"

# More writes to other keys: the next cleanings find the tombstones clean and past
# delete.retention.ms = 0, and drop them.
for r in $(seq 1 20); do for k in $(seq 0 99); do echo "f$k:x$r"; done; done >"$WORK/in2"
timeout 60 kcat -P -b "$b" -t comp -K: -X linger.ms=5 -l "$WORK/in2" || fail "produce 2 failed"
ok=0
for i in $(seq 1 150); do
    consume
    if check 1; then
        ok=1
        break
    fi
    sleep 0.2
done
[ $ok -eq 1 ] || fail "tombstones not dropped after 30 s: $(cat "$WORK/why")"
check_offsets
last=$(tail -n 1 "$WORK/out" | awk '{print $1}')
total=$((produced + $(wc -l <"$WORK/in2")))
[ "$last" -le $((total - 1)) ] || fail "last offset $last past the end $total"
# production continues at the end, offsets never renumbered
printf 'k1:after\n' | timeout 60 kcat -P -b "$b" -t comp -K: -v -v 2>"$WORK/dr" || fail "produce 3 failed"
grep -q "offset $total)" "$WORK/dr" || fail "the next record did not land at offset $total"
assert_alive c
stop_broker c TERM
log "test_kcat_compact: all passed ($(wc -l <"$WORK/out") records after cleaning)"
