#!/usr/bin/env bash
# test_old_clients.sh — clients that speak versions below this broker's baseline get an
# error, never silence, and sarama's commits (OffsetCommit v1) are kept:
#   1. sarama 1.22 (Debian, GOPATH mode; tests/interop/sarama) with its default configuration
#      commits an offset through its OffsetManager (OffsetCommit v1) and reads it back.
#      Before OffsetCommit v0-1 were implemented the commit was lost without an error.
#   2. a sarama ConsumerGroup (Version 0.11) consumes and commits (OffsetCommit v1); a fresh
#      client reads the group's offset back.
#   3. sarama's default consumer asks ListOffsets v0 (removed in Kafka 4.0, answered here for
#      Burrow 1.2's sake), then Fetch v0 (removed in Kafka 4.0): the broker closes the
#      connection as Kafka 4.0 does, sarama returns the error to the application, and the
#      broker log names the client, the API and the versions it speaks.
#   4. librdkafka (kcat) told to act as a 0.9 client (api.version.request=false): kcat reports
#      the failure and exits non-zero instead of waiting.
#   5. kafka-python 2.0.2 (Debian) with api_version=(0, 10) (ListOffsets v0, answered, then
#      Fetch v2): its log
#      reports every broken connection (it retries for ever, as it would against Kafka 4.0);
#      the broker log names it.
source "$(dirname "$0")/lib.sh"

need kcat kcat
need go golang-go
need /usr/bin/python3 python3
[ -d /usr/share/gocode/src/github.com/Shopify/sarama ] ||
    fail "sarama is not installed (run: make deps-test, or apt-get install golang-github-shopify-sarama-dev)"
/usr/bin/python3 -c 'import kafka' 2>/dev/null ||
    fail "kafka-python is not installed (run: make deps-test, or apt-get install python3-kafka)"

BUILD_DIR="${SPLICELOG_BUILD:-$ROOT/build}"
SARAMA="$BUILD_DIR/sarama_check"
mkdir -p "$BUILD_DIR/go-cache"
log "building $SARAMA (sarama from /usr/share/gocode, GOPATH mode)"
(cd "$ROOT" && GOPATH=/usr/share/gocode GO111MODULE=off GOFLAGS= GOCACHE="$BUILD_DIR/go-cache" \
    timeout 600 go build -o "$SARAMA" ./tests/interop/sarama) >"$WORK/go-build.log" 2>&1 ||
    {
        tail -n 20 "$WORK/go-build.log" >&2
        fail "go build of tests/interop/sarama failed"
    }

# fresh NAME: a broker of its own for one client (the broker rate-limits a repeated line per
# call site, so one client's reconnect loop must not hide the next client's line), topic
# "old" with 5 records; sets BROKER and BLOG.
fresh() {
    start_broker "$1" -o group.initial.rebalance.delay.ms=0
    BLOG="$(broker_log "$1")"
    seq 1 5 | timeout 60 kcat -b "$BROKER" -P -t old || fail "kcat -P failed"
}

fresh sarama

# 1. sarama's default OffsetManager: OffsetCommit v1, read back with OffsetFetch v1
out=$(timeout 60 "$SARAMA" "$BROKER" simple-commit old sarama-simple 3 2>"$WORK/s1.err" | tail -n 1) ||
    fail "[sarama simple-commit] $out"
log "[sarama simple-commit] $out"

# 2. a sarama ConsumerGroup commits what it consumed
out=$(timeout 60 "$SARAMA" "$BROKER" group old sarama-group 5 2>"$WORK/s2.err" | tail -n 1) ||
    fail "[sarama group] $out"
log "[sarama group] $out"

# 3. sarama's default consumer: Fetch v0 -> closed like Kafka 4.0, error to the app
out=$(timeout 60 "$SARAMA" "$BROKER" old-consumer old 2>"$WORK/s3.err" | tail -n 1) ||
    fail "[sarama old-consumer] $out"
log "[sarama old-consumer] $out"
grep -q 'client.id=sarama: Fetch v0 is not supported (this broker speaks v4-13' "$BLOG" ||
    fail "[sarama old-consumer] no broker log line names the client and Fetch v0"

# 4. kcat as a 0.9 client: an error and a non-zero exit, not a wait
fresh kcat
rc=0
timeout 30 kcat -b "$BROKER" -C -t old -o beginning -e -X api.version.request=false \
    -X broker.version.fallback=0.9.0.1 -X client.id=kcat-as-0.9 >"$WORK/k.out" 2>"$WORK/k.err" ||
    rc=$?
[ $rc -ne 124 ] || fail "[kcat 0.9] still waiting after 30 s"
[ $rc -ne 0 ] || fail "[kcat 0.9] exited 0 (read: $(wc -l <"$WORK/k.out") lines)"
grep -q 'ERROR' "$WORK/k.err" || fail "[kcat 0.9] no error reported: $(tail -n 3 "$WORK/k.err")"
log "[kcat 0.9] exit $rc: $(grep -m 1 ERROR "$WORK/k.err")"
grep -q 'client.id=kcat-as-0.9: .* is not supported' "$BLOG" ||
    fail "[kcat 0.9] no broker log line names the client"

# 5. kafka-python as a 0.10 client: a consumer for 4 s, whose log must show the failures
fresh kafkapy
cat >"$WORK/kp.py" <<'EOF'
import logging, sys
logging.basicConfig(level=logging.WARNING, format='%(levelname)s %(name)s %(message)s')
from kafka import KafkaConsumer
c = KafkaConsumer('old', bootstrap_servers=sys.argv[1], api_version=(0, 10),
                  auto_offset_reset='earliest', consumer_timeout_ms=4000)
print("records", sum(1 for _ in c))
c.close()
EOF
# kafka-python retries a failed offset lookup for ever (as against Kafka 4.0): the consumer's
# own timeout never fires, so it is stopped after 6 s; what counts is that its log says why.
rc=0
timeout 6 /usr/bin/python3 "$WORK/kp.py" "$BROKER" >"$WORK/kp.out" 2>"$WORK/kp.err" || rc=$?
[ $rc -eq 0 ] || [ $rc -eq 124 ] || fail "[kafka-python] exit $rc: $(tail -n 3 "$WORK/kp.err")"
grep -q '^ERROR ' "$WORK/kp.err" ||
    fail "[kafka-python] no error in its log: $(cat "$WORK/kp.out") $(tail -n 3 "$WORK/kp.err")"
log "[kafka-python 0.10] exit $rc, $(grep -c '^ERROR ' "$WORK/kp.err") ERROR lines in its log, e.g. $(grep -m 1 '^ERROR ' "$WORK/kp.err")"
grep -q 'client.id=kafka-python-[0-9.]*: Fetch v2 is not supported' "$BLOG" ||
    fail "[kafka-python] no broker log line names the client"

for b in sarama kcat kafkapy; do
    assert_alive "$b"
    stop_broker "$b"
done
log "ok"
