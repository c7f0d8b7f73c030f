#!/usr/bin/env bash
# test_burrow.sh — Burrow (Debian's package, 1.2) reports the lag of a kcat consumer group from
# the broker's __consumer_offsets topic (broker/coord/br_cotopic.h):
#   1. kcat produces 100 records to a topic; a kcat group (-G) consumes 60 of them and commits.
#   2. __consumer_offsets is listed as an internal topic and its record for the group (key
#      version 1, value version 3) says offset 60; producing to it is refused.
#   3. Burrow, with the ZooKeeper it needs for itself (Debian's zookeeper, loopback, a temp dir)
#      and its HTTP API on loopback, reads the committed offsets from __consumer_offsets and the
#      log end offsets (ListOffsets v0) from the broker: /v3/kafka/<cluster>/consumer/<group>/lag
#      reports a total lag of 40, the records not yet consumed.
#   4. The group consumes 25 more: Burrow follows to a lag of 15.
# Every wait is bounded. Skips (exit 0 with a message) only when Burrow is not installed and
# cannot be (scripts/deps.sh test installs it when it can).
source "$(dirname "$0")/lib.sh"

need kcat kcat
need java default-jre-headless
need /usr/bin/python3 python3
if ! command -v Burrow >/dev/null 2>&1; then
    log "SKIP: Burrow is not installed (apt-get install burrow; scripts/deps.sh test tries to)"
    exit 0
fi
ZK_JAR=/usr/share/java/zookeeper.jar
[ -f "$ZK_JAR" ] || fail "ZooKeeper is not installed (run: make deps-test, or apt-get install zookeeper)"

ZK_PID=
BURROW_PID=
stop_extras() {
    local p
    for p in $BURROW_PID $ZK_PID; do
        if kill -0 "$p" 2>/dev/null; then
            kill "$p" 2>/dev/null || true
            for _ in $(seq 1 100); do
                kill -0 "$p" 2>/dev/null || break
                sleep 0.05
            done
            kill -KILL "$p" 2>/dev/null || true
        fi
    done
    return 0
}
# Burrow and ZooKeeper go first, then lib.sh's cleanup with the script's exit status.
trap 'rc=$?; stop_extras; if [ $rc -ne 0 ] && [ -f "$WORK/burrow/burrow.out" ]; then
    log "---- last lines of Burrow log"; tail -n 30 "$WORK/burrow/burrow.out" >&2; fi
    set +e; (exit $rc); cleanup' EXIT

free_port() {
    /usr/bin/python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
http_get() { # URL -> body on stdout, or nothing
    /usr/bin/python3 - "$1" <<'EOF' 2>/dev/null || true
import sys, urllib.request
try:
    print(urllib.request.urlopen(sys.argv[1], timeout=5).read().decode())
except Exception:
    pass
EOF
}

start_broker b1
TOPIC=burrowed
GROUP=burrow-kcat

# 1. 100 records; the group consumes 60 and commits them when it closes
seq 1 100 | timeout 30 kcat -b "$BROKER" -P -t "$TOPIC" -p 0 || fail "kcat produce failed"
consume() { # COUNT
    timeout 60 kcat -b "$BROKER" -G "$GROUP" -X auto.offset.reset=earliest -c "$1" -q "$TOPIC" \
        >"$WORK/consumed-$1.txt" 2>"$WORK/consume-$1.err" ||
        fail "kcat -G $GROUP -c $1 failed: $(tail -n 3 "$WORK/consume-$1.err")"
    [ "$(wc -l <"$WORK/consumed-$1.txt")" -eq "$1" ] || fail "kcat -G consumed $(wc -l <"$WORK/consumed-$1.txt") records, not $1"
}
consume 60

# 2. the topic as Kafka clients see it
timeout 20 kcat -b "$BROKER" -L -J >"$WORK/md.json" || fail "kcat -L failed"
/usr/bin/python3 - "$WORK/md.json" <<'EOF' || fail "__consumer_offsets is not listed as Kafka lists it"
import json, sys
md = json.load(open(sys.argv[1]))
t = [t for t in md["topics"] if t["topic"] == "__consumer_offsets"]
assert t and len(t[0]["partitions"]) == 50, t
EOF
# the group's partition: abs(Java hashCode("burrow-kcat")) % 50
PART=$(/usr/bin/python3 -c '
h = 0
for ch in "'"$GROUP"'":
    h = (h * 31 + ord(ch)) & 0xffffffff
h = h - (1 << 32) if h >= 1 << 31 else h
print((0 if h == -(1 << 31) else abs(h)) % 50)')
timeout 20 kcat -b "$BROKER" -C -t __consumer_offsets -p "$PART" -e -q -f '%K %S\n%k\n%s\n' \
    >"$WORK/co.txt" 2>"$WORK/co.err" || fail "cannot consume __consumer_offsets-$PART"
/usr/bin/python3 - "$WORK/co.txt" "$GROUP" "$TOPIC" <<'EOF' || fail "__consumer_offsets-$PART does not hold the group's commit"
import struct, sys
data = open(sys.argv[1], "rb").read()
group, topic = sys.argv[2].encode(), sys.argv[3].encode()
last = None
while data:
    head, data = data.split(b"\n", 1)
    klen, vlen = (int(x) for x in head.split())
    key, data = data[:klen], data[klen + 1:]
    value, data = (data[:vlen], data[vlen + 1:]) if vlen >= 0 else (None, data[1:])
    kv, = struct.unpack(">h", key[:2])
    assert kv == 1, kv
    n, = struct.unpack(">h", key[2:4]); g = key[4:4 + n]; r = key[4 + n:]
    n, = struct.unpack(">h", r[:2]); t = r[2:2 + n]; p, = struct.unpack(">i", r[2 + n:])
    assert (g, t, p) == (group, topic, 0), (g, t, p)
    vv, off, epoch = struct.unpack(">hqi", value[:14])
    assert vv == 3, vv
    last = off
assert last == 60, last
EOF
echo "x" | timeout 20 kcat -b "$BROKER" -P -t __consumer_offsets -p 0 2>"$WORK/produce-internal.err" || true
grep -q "Invalid topic" "$WORK/produce-internal.err" ||
    fail "producing to __consumer_offsets was not refused with INVALID_TOPIC_EXCEPTION: $(cat "$WORK/produce-internal.err")"

# 3. ZooKeeper for Burrow itself, then Burrow
mkdir -p "$WORK/zk/data" "$WORK/burrow"
start_zk() {
    ZK_PORT=$(free_port)
    cat >"$WORK/zk/zoo.cfg" <<EOF
tickTime=2000
dataDir=$WORK/zk/data
clientPort=$ZK_PORT
clientPortAddress=127.0.0.1
admin.enableServer=false
4lw.commands.whitelist=srvr
EOF
    java -Xmx128m -Dzookeeper.admin.enableServer=false -Dzookeeper.jmx.log4j.disable=true \
        -cp "/etc/zookeeper/conf_example:$ZK_JAR" org.apache.zookeeper.server.ZooKeeperServerMain \
        "$WORK/zk/zoo.cfg" </dev/null >"$WORK/zk/zk.log" 2>&1 &
    ZK_PID=$!
    local i
    for i in $(seq 1 300); do # 30 s
        kill -0 "$ZK_PID" 2>/dev/null || return 1
        # serving (srvr names its mode), not only running (what ruok says)
        if /usr/bin/python3 -c '
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), 1)
s.sendall(b"srvr")
sys.exit(0 if b"Mode: standalone" in s.recv(4096) else 1)' "$ZK_PORT" 2>/dev/null; then
            log "ZooKeeper up on 127.0.0.1:$ZK_PORT"
            return 0
        fi
        sleep 0.1
    done
    return 1
}
started=
for attempt in 1 2 3; do # the port picked may be taken meanwhile
    if start_zk; then
        started=1
        break
    fi
    stop_extras
    ZK_PID=
done
[ -n "$started" ] || fail "ZooKeeper did not start: $(tail -n 5 "$WORK/zk/zk.log")"

HTTP_PORT=$(free_port)
cat >"$WORK/burrow/burrow.toml" <<EOF
[general]
pidfile="$WORK/burrow/burrow.pid"
stdout-logfile="$WORK/burrow/burrow.stdout"

[logging]
filename="$WORK/burrow/burrow.out"
level="info"

[zookeeper]
servers=[ "127.0.0.1:$ZK_PORT" ]
timeout=6
root-path="/burrow"

[client-profile.splicelog]
client-id="burrow"
kafka-version="2.1.0"

[cluster.splicelog]
class-name="kafka"
servers=[ "$BROKER" ]
client-profile="splicelog"
topic-refresh=5
offset-refresh=2

[consumer.splicelog]
class-name="kafka"
cluster="splicelog"
servers=[ "$BROKER" ]
client-profile="splicelog"

[httpserver.default]
address="127.0.0.1:$HTTP_PORT"

[storage.default]
class-name="inmemory"
workers=4
intervals=10
expire-group=604800
min-distance=1

[evaluator.default]
class-name="caching"
expire-cache=1
EOF
(cd "$WORK/burrow" && exec timeout 300 Burrow --config-dir "$WORK/burrow") </dev/null \
    >"$WORK/burrow/run.log" 2>&1 &
BURROW_PID=$!
log "Burrow started (HTTP 127.0.0.1:$HTTP_PORT)"

# lag_is N — polls Burrow (60 s at most) until the group's total lag is N, with one partition
# of our topic whose current lag is N.
LAG_CHECK='
import json, sys
s = json.load(sys.stdin)["status"]
want, topic = int(sys.argv[1]), sys.argv[2]
p = [p for p in s["partitions"] if p["topic"] == topic]
sys.exit(0 if s["totallag"] == want and len(p) == 1 and p[0]["current_lag"] == want else 1)'
lag_is() {
    local want="$1" body="" i
    for i in $(seq 1 120); do
        kill -0 "$BURROW_PID" 2>/dev/null || fail "Burrow exited: $(tail -n 5 "$WORK/burrow/run.log")"
        body=$(http_get "http://127.0.0.1:$HTTP_PORT/v3/kafka/splicelog/consumer/$GROUP/lag")
        if [ -n "$body" ] && /usr/bin/python3 -c "$LAG_CHECK" "$want" "$TOPIC" <<<"$body" 2>/dev/null; then
            log "Burrow reports a total lag of $want for $GROUP: $body"
            return 0
        fi
        sleep 0.5
    done
    fail "Burrow did not report a lag of $want for $GROUP within 60 s; last answer: $body"
}
lag_is 40

# 4. 25 more consumed and committed: Burrow follows
consume 25
lag_is 15

# Burrow decoded every record it read (its log names any it could not)
if grep -q "failed to decode" "$WORK/burrow/burrow.out"; then
    fail "Burrow could not decode records of __consumer_offsets: $(grep -m 3 "failed to decode" "$WORK/burrow/burrow.out")"
fi
assert_alive b1
stop_broker b1
log "PASS"
