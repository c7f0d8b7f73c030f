#!/usr/bin/env bash
# test_kcat.sh — kcat (librdkafka 2.0.2) against splicelogd, unmodified:
#   1. per fetch transfer path (splice, sendfile, copy): 100,000 lines produced to a new,
#      auto-created topic and consumed with -o beginning -e: byte-identical, in order;
#      kcat -L lists the topic; the broker exits 0 on SIGTERM.
#   2. a 4-partition topic produced with keys (-K): consumed per partition (-p N), every
#      record is on the partition librdkafka's partitioner chose for its key, in order.
#   3. a 900 KiB message round trip, byte-identical.
#   Also: batches compressed with gzip, snappy, lz4 and zstd, and acks=0 production.
# Each broker runs on an ephemeral port in a temp dir; every wait is bounded by `timeout`.
source "$(dirname "$0")/lib.sh"

need kcat kcat
need node nodejs
HERE="$(cd "$(dirname "$0")" && pwd)"
T=120 # bound for one kcat run (ASan broker, 2 shared cores)

kc() { timeout --kill-after=5 "$T" kcat -b "$BROKER" "$@"; }

# ---- 1. 100,000 lines per transfer path ------------------------------------------------
lines="$WORK/lines.txt"
awk 'BEGIN {
    for (i = 0; i < 100000; i++) {
        printf "line %06d ", i
        n = (i * 7919) % 180
        for (j = 0; j < n; j++) printf "%c", 97 + (i + j) % 26
        printf "\n"
    }
}' >"$lines"
[ "$(wc -l <"$lines")" -eq 100000 ] || fail "generator"

for path in splice sendfile copy; do
    start_broker "$path" -o "fetch.transfer=$path"
    topic="lines-$path"
    kc -P -t "$topic" -X linger.ms=20 <"$lines" || fail "[$path] kcat -P failed"
    kc -C -t "$topic" -o beginning -e -q >"$WORK/out-$path.txt" ||
        fail "[$path] kcat -C failed"
    if ! cmp "$lines" "$WORK/out-$path.txt"; then
        log "[$path] produced $(wc -l <"$lines") lines, consumed $(wc -l <"$WORK/out-$path.txt")"
        diff <(head -c 2000000 "$lines") <(head -c 2000000 "$WORK/out-$path.txt") | head -n 10 >&2 || true
        fail "[$path] consumed lines differ from the produced ones"
    fi
    kc -L >"$WORK/list-$path.txt" || fail "[$path] kcat -L failed"
    grep -q "topic \"$topic\" with 1 partitions" "$WORK/list-$path.txt" || {
        cat "$WORK/list-$path.txt" >&2
        fail "[$path] kcat -L does not list $topic"
    }
    grep -q "broker [0-9]* at 127.0.0.1:${BROKER##*:}" "$WORK/list-$path.txt" || {
        cat "$WORK/list-$path.txt" >&2
        fail "[$path] kcat -L: the advertised broker is not the listener's address"
    }
    assert_alive "$path"
    stop_broker "$path" TERM
    log "[$path] 100,000 lines round trip identical"
done

# ---- 1b. compressed batches (stored as sent) and acks=0 production --------------------------
start_broker codecs
head -n 20000 "$lines" >"$WORK/lines20k.txt"
for codec in gzip snappy lz4 zstd; do
    kc -P -t "z-$codec" -z "$codec" <"$WORK/lines20k.txt" || fail "[$codec] kcat -P -z failed"
    kc -C -t "z-$codec" -o beginning -e -q >"$WORK/z-$codec.txt" || fail "[$codec] kcat -C failed"
    cmp -s "$WORK/lines20k.txt" "$WORK/z-$codec.txt" ||
        fail "[$codec] compressed round trip differs ($(wc -l <"$WORK/z-$codec.txt") lines read)"
done
# acks=0: no answers; the consumer reads until it has all 20,000 (nothing to wait on but data).
kc -P -t acks0 -X acks=0 <"$WORK/lines20k.txt" || fail "[acks=0] kcat -P failed"
kc -C -t acks0 -o beginning -c 20000 -q >"$WORK/acks0.txt" || fail "[acks=0] kcat -C failed"
cmp -s "$WORK/lines20k.txt" "$WORK/acks0.txt" || fail "[acks=0] round trip differs"
# Offsets by time (-o s@ts, ListOffsets by timestamp) and relative to the end (-o -N).
seq -f 'early-%g' 1 50 | kc -P -t times || fail "[times] kcat -P failed"
sleep 0.02 # the early records' timestamps are all strictly before ts
ts="$(date +%s%3N)"
sleep 0.05
seq -f 'late-%g' 1 50 | kc -P -t times || fail "[times] kcat -P failed"
kc -C -t times -o "s@$ts" -e -q >"$WORK/times.txt" || fail "[times] kcat -C -o s@ts failed"
cmp -s <(seq -f 'late-%g' 1 50) "$WORK/times.txt" ||
    fail "[times] -o s@$ts did not start at the first record produced after $ts"
kc -C -t times -o -5 -e -q >"$WORK/tail5.txt" || fail "[times] kcat -C -o -5 failed"
cmp -s <(seq -f 'late-%g' 46 50) "$WORK/tail5.txt" || fail "[times] -o -5 is not the last 5"
# A consumer at the end of the log (an absolute -o, so no race with its start) waits in long
# polls and gets what is produced afterwards.
end=$(kc -C -t times -o beginning -e -q | wc -l)
timeout --kill-after=5 60 kcat -b "$BROKER" -C -t times -o "$end" -c 5 -q >"$WORK/tailer.txt" &
tailer=$!
sleep 0.5
seq -f 'tail-%g' 1 5 | kc -P -t times || fail "[tail] kcat -P failed"
wait "$tailer" || fail "[tail] kcat -C -o $end (the end) did not get the 5 new records"
cmp -s <(seq -f 'tail-%g' 1 5) "$WORK/tailer.txt" || fail "[tail] -o $end read something else"
assert_alive codecs
stop_broker codecs TERM
log "gzip, snappy, lz4, zstd and acks=0: 20,000 lines each round trip identical"
# Which codec librdkafka actually put on the wire (checked at the end of the script): the
# codec most of each topic's records are stored under. (librdkafka sends a batch plain when
# compressing does not make it smaller, as with a first batch of one short line.)
declare -A SENT_CODEC=()
for codec in gzip snappy lz4 zstd; do
    seg="${BROKER_DIR[codecs]}/data/z-$codec-0/00000000000000000000.log"
    [ -f "$seg" ] || fail "[$codec] no segment at $seg"
    SENT_CODEC[$codec]="$(timeout 30 node "$HERE/segment_codecs.js" "$seg" | sort -k2 -n | tail -n 1 | cut -d' ' -f1)"
    [ -n "${SENT_CODEC[$codec]}" ] || fail "[$codec] cannot read $seg"
done

# ---- 2. 4 partitions, keyed ------------------------------------------------------------
start_broker keys -o num.partitions=4
keyed="$WORK/keyed.txt"
awk 'BEGIN { for (i = 0; i < 4000; i++) printf "key-%d:value-%05d\n", (i * 31) % 101, i }' >"$keyed"
kc -P -t keyed -K : <"$keyed" || fail "keyed: kcat -P failed"
kc -L -t keyed >"$WORK/list-keyed.txt" || fail "keyed: kcat -L failed"
grep -q 'topic "keyed" with 4 partitions' "$WORK/list-keyed.txt" || {
    cat "$WORK/list-keyed.txt" >&2
    fail "keyed: topic does not have 4 partitions"
}
cut -d: -f1 "$keyed" | sort -u >"$WORK/keys.txt"
timeout 30 node "$HERE/crc32_partition.js" 4 <"$WORK/keys.txt" >"$WORK/key-partition.txt"
: >"$WORK/all-consumed.txt"
for p in 0 1 2 3; do
    kc -C -t keyed -p "$p" -o beginning -e -q -f '%k:%s\n' >"$WORK/part-$p.txt" ||
        fail "keyed: kcat -C -p $p failed"
    # Expected for partition p: the input lines whose key maps to p, in input order.
    awk -v p="$p" 'NR == FNR { part[$1] = $2; next }
                   { split($0, kv, ":"); if (part[kv[1]] == p) print }' \
        "$WORK/key-partition.txt" "$keyed" >"$WORK/expect-$p.txt"
    if ! cmp -s "$WORK/expect-$p.txt" "$WORK/part-$p.txt"; then
        log "partition $p: expected $(wc -l <"$WORK/expect-$p.txt") records, got $(wc -l <"$WORK/part-$p.txt")"
        diff "$WORK/expect-$p.txt" "$WORK/part-$p.txt" | head -n 10 >&2 || true
        fail "keyed: partition $p does not hold exactly its keys' records in order"
    fi
    [ -s "$WORK/part-$p.txt" ] || fail "keyed: partition $p is empty (keys not spread)"
    cat "$WORK/part-$p.txt" >>"$WORK/all-consumed.txt"
done
cmp -s <(sort "$keyed") <(sort "$WORK/all-consumed.txt") || fail "keyed: union of partitions != input"
# All four partitions in one consumer: librdkafka fetches them in one request each time.
kc -C -t keyed -o beginning -e -q -f '%p %k:%s\n' >"$WORK/all-at-once.txt" ||
    fail "keyed: kcat -C (all partitions) failed"
for p in 0 1 2 3; do
    sed -n "s/^$p //p" "$WORK/all-at-once.txt" >"$WORK/at-once-$p.txt"
    cmp -s "$WORK/expect-$p.txt" "$WORK/at-once-$p.txt" ||
        fail "keyed: consuming all partitions at once, partition $p differs"
done
assert_alive keys
stop_broker keys TERM
log "keyed: 4,000 records on 4 partitions as the partitioner placed them"

# ---- 3. a 900 KiB message ------------------------------------------------------------------
start_broker big
head -c $((900 * 1024)) /dev/urandom >"$WORK/big.bin"
kc -P -t big -X message.max.bytes=2000000 "$WORK/big.bin" || fail "big: kcat -P failed"
kc -C -t big -o beginning -e -q -c 1 -f '%s' -X fetch.message.max.bytes=2000000 \
    >"$WORK/big.out" || fail "big: kcat -C failed"
cmp "$WORK/big.bin" "$WORK/big.out" || fail "big: 900 KiB message differs after the round trip"
assert_alive big
stop_broker big TERM
log "big: 900 KiB message round trip identical"

# ---- 4. compression really used --------------------------------------------------------
# librdkafka <= 2.11.0 (Debian's is 2.0.2) compresses gzip, snappy and lz4 only when the
# broker's advertised Produce range reaches down to v0: rd_kafka_msgset_writer.c asks
# rd_kafka_broker_ApiVersion_supported(Produce, 0, 0) and drops the codec on -1 ("Broker
# does not support compression type"). lz4 also needs FindCoordinator v0 (feature LZ4), which
# comes with the group APIs, so lz4 is only reported here; zstd needs Produce 7 + Fetch 10.
declare -A WANT_CODEC=([gzip]=1 [snappy]=2 [zstd]=4)
bad=""
for codec in gzip snappy zstd; do
    [ "${SENT_CODEC[$codec]}" -eq "${WANT_CODEC[$codec]}" ] || bad="$bad $codec"
done
[ "${SENT_CODEC[lz4]}" -eq 3 ] ||
    log "NOTE: kcat -z lz4 sent uncompressed batches (librdkafka's LZ4 feature needs FindCoordinator v0)"
[ -z "$bad" ] || fail "kcat -z:$bad sent UNCOMPRESSED batches (codec ids: gzip=${SENT_CODEC[gzip]} snappy=${SENT_CODEC[snappy]} zstd=${SENT_CODEC[zstd]}): librdkafka 2.0.2 compresses gzip/snappy only if the advertised Produce range includes v0"

log "test_kcat: all passed"
