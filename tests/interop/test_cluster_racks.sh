#!/usr/bin/env bash
# test_cluster_racks.sh — broker.rack in a three-broker cluster (issue 18: "replicas spread
# over brokers and racks if given"), seen by kafka-python's admin client (Debian's 2.0.2):
#   1. brokers 1 and 2 on rack r1, broker 3 on rack r2: Metadata (describe_cluster) answers
#      each broker's rack;
#   2. a topic of 6 partitions with replication factor 2 made through CreateTopics: every
#      partition has a replica on each rack (without racks, consecutive ids put partitions on
#      1,2 — one rack — as often as on 2,3 or 3,1), and the leaders go round all three brokers;
#   3. partitions added (CreatePartitions, 6 -> 9) follow the same rule.
# Cluster from scripts/cluster.sh on free loopback ports in a temp dir; bounded waits.
source "$(dirname "$0")/lib.sh"

need java default-jre-headless
[ -f /usr/share/java/zookeeper.jar ] ||
    fail "ZooKeeper is not installed (run: make deps-test, or apt-get install zookeeper)"
PY=/usr/bin/python3
"$PY" -c 'import kafka' 2>/dev/null || fail "python3-kafka is not installed (run: make deps-test)"

cluster_ports
CDIR="$WORK/cluster"
export BASE_PORT=$BASE ZK_PORT=$ZKP SPLICELOGD
export BROKER_OPTS="-o offsets.topic.num.partitions=2 -o zookeeper.session.timeout.ms=4000"
export BROKER1_OPTS="-o broker.rack=r1" BROKER2_OPTS="-o broker.rack=r1" BROKER3_OPTS="-o broker.rack=r2"
trap 'rc_=$?; "$ROOT/scripts/cluster.sh" stop "$CDIR" >/dev/null 2>&1 || true; if [ $rc_ -ne 0 ]; then
    for f in "$CDIR"/broker*.log; do [ -f "$f" ] && { log "---- last lines of $f"; tail -n 20 "$f" >&2; }; done; fi
    (exit $rc_); cleanup' EXIT

log "scripts/cluster.sh start (ZooKeeper :$ZKP, brokers :$BASE..$((BASE + 2)), racks r1 r1 r2)"
timeout 150 "$ROOT/scripts/cluster.sh" start "$CDIR" >"$WORK/start.out" 2>&1 ||
    { cat "$WORK/start.out" >&2; fail "start failed"; }

timeout 120 "$PY" - "127.0.0.1:$BASE,127.0.0.1:$((BASE + 1)),127.0.0.1:$((BASE + 2))" \
    >"$WORK/py.out" 2>&1 <<'PYEOF' || { cat "$WORK/py.out" >&2; fail "kafka-python checks failed"; }
import sys, time
from kafka import KafkaAdminClient
from kafka.admin import NewTopic, NewPartitions

admin = KafkaAdminClient(bootstrap_servers=sys.argv[1].split(","), request_timeout_ms=30000)
racks = {}
for _ in range(100):  # all three registered (bounded: 20 s)
    racks = {b["node_id"]: b["rack"] for b in admin.describe_cluster()["brokers"]}
    if len(racks) == 3:
        break
    time.sleep(0.2)
assert racks == {1: "r1", 2: "r1", 3: "r2"}, "racks in Metadata: %r" % racks
print("racks", sorted(racks.items()))

def layout(want):
    for _ in range(100):
        t = admin.describe_topics(["racked"])[0]
        parts = {p["partition"]: (p["leader"], p["replicas"]) for p in t["partitions"]}
        if len(parts) == want and all(l >= 0 for l, _ in parts.values()):
            return parts
        time.sleep(0.2)
    raise AssertionError("racked: %d partitions with leaders, want %d" % (len(parts), want))

def check(parts):
    for p, (leader, reps) in sorted(parts.items()):
        assert len(reps) == 2 and len(set(reps)) == 2, "partition %d: replicas %r" % (p, reps)
        assert {racks[r] for r in reps} == {"r1", "r2"}, "partition %d on one rack: %r" % (p, reps)
        assert leader == reps[0], "partition %d: leader %d, preferred %d" % (p, leader, reps[0])
    leaders = {l for l, _ in parts.values()}
    assert leaders == {1, 2, 3}, "leaders %r: not every broker leads" % leaders
    print("layout", sorted(parts.items()))

admin.create_topics([NewTopic("racked", num_partitions=6, replication_factor=2)],
                    timeout_ms=30000)
check(layout(6))
admin.create_partitions({"racked": NewPartitions(total_count=9)}, timeout_ms=30000)
check(layout(9))
print("ok")
PYEOF
log "$(tr '\n' ' ' <"$WORK/py.out")"
grep -q '^ok$' "$WORK/py.out" || fail "the checks did not finish"
log "PASS"
