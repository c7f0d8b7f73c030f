#!/usr/bin/env bash
# test_admin_clients.sh — the admin and group APIs (issue 14) through the clients operators use:
#   1. kafka-python 2.0.2's KafkaAdminClient (Debian python3-kafka): create/describe/delete
#      topics, create_partitions, describe_configs, alter_configs, list/describe consumer groups
#      (tests/interop/admin_kafka_python.py).
#   2. confluent-kafka-python's AdminClient (Debian python3-confluent-kafka, librdkafka 2.0.2):
#      the same through librdkafka's admin API (tests/interop/admin_confluent.py).
#   3. sarama 1.22 (Debian, GOPATH mode) with Version V2_1_0_0: a producer, a consumer group and
#      ClusterAdmin (tests/interop/sarama_admin).
# The groups the admin clients look at are kcat's (-G), consumed to the end and committed.
# Each client prints one PASS/FAIL line per scenario; every scenario must pass.
source "$(dirname "$0")/lib.sh"

need kcat kcat
need go golang-go
need /usr/bin/python3 python3
/usr/bin/python3 -c 'import kafka' 2>/dev/null ||
    fail "kafka-python is not installed (run: make deps-test, or apt-get install python3-kafka)"
/usr/bin/python3 -c 'import confluent_kafka' 2>/dev/null ||
    fail "confluent-kafka is not installed (run: make deps-test, or apt-get install python3-confluent-kafka)"
[ -d /usr/share/gocode/src/github.com/Shopify/sarama ] ||
    fail "sarama is not installed (run: make deps-test, or apt-get install golang-github-shopify-sarama-dev)"

BUILD_DIR="${SPLICELOG_BUILD:-$ROOT/build}"
SARAMA="$BUILD_DIR/sarama_admin"
mkdir -p "$BUILD_DIR/go-cache"
log "building $SARAMA (sarama from /usr/share/gocode, GOPATH mode)"
(cd "$ROOT" && GOPATH=/usr/share/gocode GO111MODULE=off GOFLAGS= GOCACHE="$BUILD_DIR/go-cache" \
    timeout 600 go build -o "$SARAMA" ./tests/interop/sarama_admin) >"$WORK/go-build.log" 2>&1 ||
    {
        tail -n 20 "$WORK/go-build.log" >&2
        fail "go build of tests/interop/sarama_admin failed"
    }

start_broker admin -o group.initial.rebalance.delay.ms=0

# a kcat group that consumed "kc" and committed: what the group scenarios look at
seq 1 20 | timeout 60 kcat -b "$BROKER" -P -t kc -K: >/dev/null 2>&1 || fail "kcat -P failed"
timeout 60 kcat -b "$BROKER" -G kcat-group -o beginning -e -X enable.auto.commit=true \
    -X auto.commit.interval.ms=100 kc >"$WORK/kcat-group.out" 2>&1 || true
[ "$(grep -c . "$WORK/kcat-group.out")" -ge 20 ] || {
    cat "$WORK/kcat-group.out" >&2
    fail "kcat -G did not consume the 20 records"
}

total_fail=0
run_client() { # NAME CMD...
    local name="$1"
    shift
    local out="$WORK/$name.out"
    local rc=0
    timeout 180 "$@" >"$out" 2>"$WORK/$name.err" || rc=$?
    grep -E '^(PASS|FAIL) ' "$out" | sed "s/^/[$name] /" >&2
    local summary
    summary="$(tail -n 1 "$out")"
    log "[$name] $summary (exit $rc)"
    if [ $rc -ne 0 ]; then
        tail -n 5 "$WORK/$name.err" >&2
        total_fail=$((total_fail + 1))
    fi
}

run_client kafka-python /usr/bin/python3 "$ROOT/tests/interop/admin_kafka_python.py" "$BROKER" kcat-group
run_client confluent-kafka /usr/bin/python3 "$ROOT/tests/interop/admin_confluent.py" "$BROKER" kcat-group
run_client sarama-2.1 "$SARAMA" "$BROKER" sarama-topic sarama-group
assert_alive admin
[ $total_fail -eq 0 ] || fail "$total_fail client(s) had failing scenarios"
log "OK: every admin client scenario passed"
