#!/usr/bin/env bash
# test_kcat_compact_codecs.sh — log compaction of compressed batches, as real producers send
# them: kcat produces keyed updates and tombstones with -z gzip, snappy, lz4 and zstd (one
# compacted topic each; librdkafka puts many records in one compressed batch). Once cleaned, a
# consumer reading from the beginning sees each live key once, with its latest value, at the
# offset it was written at; after more writes and a second cleaning, no deleted key. The
# segments on disk still hold batches compressed with the producer's codec (the cleaner
# recompresses what it keeps; st_clean.c, COMPRESSED BATCHES).
source "$(dirname "$0")/lib.sh"

need kcat kcat
need python3 python3

start_broker c -o log.cleanup.policy=compact -o log.segment.bytes=16384 -o log.roll.ms=1000 \
    -o log.retention.check.interval.ms=200 -o log.cleaner.backoff.ms=200 \
    -o log.cleaner.delete.retention.ms=0 -o log.cleaner.min.cleanable.ratio=0.01
b="127.0.0.1:$PORT_c"
codecs="gzip snappy lz4 zstd"

# 30 keys x 30 updates (values padded so that batches compress and span segments), then
# tombstones for k0..k4 (-Z: an empty value is sent as null)
{
    for r in $(seq 1 30); do
        for k in $(seq 0 29); do echo "k$k:v$r-$k-padding-padding-padding-padding"; done
    done
    for k in $(seq 0 4); do echo "k$k:"; done
} >"$WORK/in1"
produced=$(wc -l <"$WORK/in1")
for z in $codecs; do
    timeout 60 kcat -P -b "$b" -t "comp-$z" -z "$z" -K: -Z -X linger.ms=20 -l "$WORK/in1" ||
        fail "produce $z failed"
done

# kcat's view of topic comp-$1: "offset key value" per record (NULL for a tombstone)
consume() {
    timeout --kill-after=5 60 kcat -C -b "$b" -t "comp-$1" -o beginning -e -q -Z \
        -f "%o %k %s\n" >"$WORK/out-$1" 2>"$WORK/err-$1" || fail "kcat -C $1 failed: $(tail -3 "$WORK/err-$1")"
}

# Every key k5..k29 exactly once with its last value; k0..k4 only as tombstones ($2 = 0) or not
# at all ($2 = 1).
check() {
    awk -v gone="$2" '
        $2 ~ /^k[0-9]+$/ { n[$2]++; v[$2] = $3 }
        END {
            for (k = 0; k < 30; k++) {
                key = "k" k
                if (k < 5) {
                    if (gone && n[key] > 0) { print key " still there"; exit 1 }
                    if (!gone && (n[key] != 1 || v[key] != "NULL")) { print key ": " n[key] " " v[key]; exit 1 }
                } else if (n[key] != 1 || v[key] != "v30-" k "-padding-padding-padding-padding") {
                    print key ": " n[key] " " v[key]; exit 1
                }
            }
        }' "$WORK/out-$1" >"$WORK/why-$1" 2>&1
}

# Offsets as produced: line n of in1 went to offset n - 1.
check_offsets() {
    awk 'NR == FNR { split($0, kv, ":"); want[NR - 1] = kv[1]; next }
         $2 ~ /^k/ && want[$1] != $2 { print "offset " $1 ": " $2 " want " want[$1]; exit 1 }' \
        "$WORK/in1" "$WORK/out-$1" || fail "$1: a record moved offset"
}

# wait_all GONE WHAT — every topic passes check GONE within 30 s
wait_all() {
    local z i ok
    for z in $codecs; do
        ok=0
        for i in $(seq 1 150); do
            consume "$z"
            if check "$z" "$1"; then
                ok=1
                break
            fi
            sleep 0.2
        done
        [ $ok -eq 1 ] || fail "$z: $2 after 30 s: $(cat "$WORK/why-$z"); $(wc -l <"$WORK/out-$z") records read"
        check_offsets "$z"
        log "$z: $(wc -l <"$WORK/out-$z") of $produced records left"
    done
}

# The codec of every non-empty batch in the .log files of topic comp-$1 (one per line).
disk_codecs() {
    python3 - "${BROKER_DIR[c]}/data/comp-$1-0" <<'EOF'
import glob, struct, sys
seen = set()
for path in sorted(glob.glob(sys.argv[1] + "/*.log")):
    data = open(path, "rb").read()
    pos = 0
    while pos + 61 <= len(data):
        (length,) = struct.unpack_from(">i", data, pos + 8)
        (attrs,) = struct.unpack_from(">h", data, pos + 21)
        (count,) = struct.unpack_from(">i", data, pos + 57)
        if count > 0 and not attrs & 0x20:  # records, not a control batch
            seen.add(attrs & 7)
        pos += 12 + length
for c in sorted(seen):
    print(c)
EOF
}

wait_all 0 "not compacted"
num=1
for z in $codecs; do
    # (librdkafka sends a batch plain when compression would not make it smaller)
    got=$(disk_codecs "$z" | tr '\n' ' ')
    [ "$got" = "$num " ] || [ "$got" = "0 $num " ] ||
        fail "$z: batches on disk have codecs '$got', want '$num'"
    num=$((num + 1))
done

# More writes to other keys: the next cleanings find the tombstones clean and past
# delete.retention.ms = 0, and drop them.
for r in $(seq 1 10); do for k in $(seq 0 99); do echo "f$k:x$r"; done; done >"$WORK/in2"
for z in $codecs; do
    timeout 60 kcat -P -b "$b" -t "comp-$z" -z "$z" -K: -X linger.ms=20 -l "$WORK/in2" ||
        fail "produce 2 $z failed"
done
wait_all 1 "tombstones not dropped"
assert_alive c
stop_broker c TERM
log "test_kcat_compact_codecs: all passed"
