#!/usr/bin/env bash
# test_cluster_compact.sh — a compacted partition on three brokers (issue 18): a follower that
# was down while its leader's cleaner ran catches up and rejoins the ISR, and holds the
# leader's latest value of every key at the leader's offset.
#   1. A one-partition topic with three replicas on brokers whose default policy is compact,
#      small segments and an eager cleaner; 300 keyed records (kcat, acks=all).
#   2. One follower is killed (-9); 3,000 more updates of the same 10 keys; the leader's
#      cleaner removes the superseded ones (seen: a reader from the beginning gets fewer
#      records than were written).
#   3. The follower restarts: it must be back in the ISR (before, it refused its leader's
#      cleaned batches and stalled below them for good: replicas of __consumer_offsets and
#      __transaction_state too).
#   4. The leader and the other follower are killed: the returned follower leads, and a reader
#      gets from it every key's latest value at the offset the old leader had it at.
# Cluster from scripts/cluster.sh on free loopback ports in a temp dir; bounded waits.
source "$(dirname "$0")/lib.sh"

need kcat kcat
need java default-jre-headless
[ -f /usr/share/java/zookeeper.jar ] ||
    fail "ZooKeeper is not installed (run: make deps-test, or apt-get install zookeeper)"

cluster_ports
CDIR="$WORK/cluster"
export BASE_PORT=$BASE ZK_PORT=$ZKP SPLICELOGD
export BROKER_OPTS="-o num.partitions=1 -o default.replication.factor=3 -o min.insync.replicas=1
    -o log.cleanup.policy=compact -o log.segment.bytes=4096 -o log.cleaner.min.cleanable.ratio=0.01
    -o log.cleaner.backoff.ms=200 -o offsets.topic.num.partitions=2
    -o zookeeper.session.timeout.ms=4000 -o replica.fetch.backoff.ms=200
    -o replica.lag.time.max.ms=3000"
stop_cluster() {
    "$ROOT/scripts/cluster.sh" stop "$CDIR" >/dev/null 2>&1 || true
}
trap 'rc_=$?; stop_cluster; if [ $rc_ -ne 0 ]; then for f in "$CDIR"/broker*.log; do
    [ -f "$f" ] && { log "---- last lines of $f"; tail -n 30 "$f" >&2; }; done; fi; (exit $rc_); cleanup' EXIT

log "scripts/cluster.sh start (ZooKeeper :$ZKP, brokers :$BASE..$((BASE + 2)))"
timeout 150 "$ROOT/scripts/cluster.sh" start "$CDIR" >"$WORK/start.out" 2>&1 ||
    { cat "$WORK/start.out" >&2; fail "start failed"; }
bs="127.0.0.1:$BASE,127.0.0.1:$((BASE + 1)),127.0.0.1:$((BASE + 2))"

# "leader L isrs a,b,c" of cmp's partition 0 from kcat -L (empty when not known yet)
part_state() {
    kcat -b "$bs" -L -t cmp -m 5 2>/dev/null |
        awk '/partition 0,/ { for (i = 1; i <= NF; i++) { if ($i == "leader") l = $(i + 1);
             if ($i == "isrs:") s = $(i + 1) } gsub(",", "", l); print "leader " l " isrs " s }'
}
wait_for() { # SECONDS DESCRIPTION COMMAND...: until COMMAND succeeds
    local t=$1 what=$2
    shift 2
    for ((i = 0; i < t * 5; i++)); do
        "$@" && return 0
        sleep 0.2
    done
    fail "$what (after $t s): $(part_state)"
}
in_sync() { part_state | awk '{ print $4 }' | tr ',' '\n' | grep -c .; }
has3() { [ "$(in_sync)" -eq 3 ]; }
has2() { [ "$(in_sync)" -eq 2 ]; }

produce() { # FIRST COUNT: records k<i % 10>:v<i>
    seq "$1" $(($1 + $2 - 1)) | awk '{ print "k" ($1 % 10) ":v" $1 }' |
        timeout 120 kcat -P -b "$bs" -t cmp -p 0 -K: -X acks=all -X linger.ms=5 -X batch.num.messages=20 ||
        fail "kcat -P of records $1.. failed"
}
latest() { # PORT OUT: "offset key value" of each key's last record read through PORT
    timeout 120 kcat -C -b "127.0.0.1:$1" -t cmp -p 0 -o beginning -e -q -f '%o %k %s\n' \
        >"$2.all" || fail "kcat -C through :$1 failed"
    awk '{ last[$2] = $0 } END { for (k in last) print last[k] }' "$2.all" | sort >"$2"
}

# ---- 1. the topic, three replicas in sync -------------------------------------------------------
for _ in $(seq 1 50); do
    echo "k0:seed" | kcat -P -b "$bs" -t cmp -p 0 -K: -m 10 2>/dev/null && break
    sleep 0.2
done
wait_for 60 "cmp has no three in-sync replicas" has3
produce 1 300
read -r _ L _ ISR <<<"$(part_state)"
F=$(echo "$ISR" | tr ',' '\n' | grep -vx "$L" | head -n 1)
O=$(echo "$ISR" | tr ',' '\n' | grep -vx "$L" | grep -vx "$F" | head -n 1)
[ -n "$L" ] && [ -n "$F" ] && [ -n "$O" ] || fail "cannot tell leader and followers: $(part_state)"
log "cmp-0: leader $L, followers $F and $O"

# ---- 2. a follower down while the leader cleans -------------------------------------------------
kill -KILL "$(cat "$CDIR/broker$F.pid")"
rm -f "$CDIR/broker$F.pid"
produce 301 3000
wait_for 60 "broker $F did not leave the ISR" has2
total=3301 # the seed and 3,300 updates
# cleaned above the follower's end (offset 301): what it has not fetched yet
cleaned() {
    latest "$((BASE + L - 1))" "$WORK/lead"
    [ "$(awk '$1 >= 301' "$WORK/lead.all" | wc -l)" -lt 3000 ]
}
wait_for 90 "the leader's cleaner did not clean above offset 301" cleaned
log "leader $L cleaned: $(wc -l <"$WORK/lead.all") of $total records left, $(awk '$1 >= 301' "$WORK/lead.all" | wc -l) of 3000 above the follower's end"
[ "$(wc -l <"$WORK/lead")" -eq 10 ] || fail "the leader holds $(wc -l <"$WORK/lead") keys, not 10"
grep -q '^[0-9]* k0 v3300$' "$WORK/lead" || fail "the leader lost k0's last value: $(grep ' k0 ' "$WORK/lead")"

# ---- 3. the follower returns and catches up -----------------------------------------------------
# (its registration goes with its ZooKeeper session: a restart before that is refused)
wait_for 30 "broker $F's session did not end" \
    bash -c "! kcat -b '$bs' -L -m 2 2>/dev/null | grep -q 'broker $F at'"
timeout 150 "$ROOT/scripts/cluster.sh" start "$CDIR" >>"$WORK/start.out" 2>&1 ||
    fail "restart of broker $F failed"
wait_for 90 "broker $F did not rejoin the ISR (stalled below its leader's cleaned batches?)" has3
log "broker $F back in the ISR: $(part_state)"

# ---- 4. the returned follower leads: same latest values at the same offsets ---------------------
for b in "$L" "$O"; do
    kill -KILL "$(cat "$CDIR/broker$b.pid")"
    rm -f "$CDIR/broker$b.pid"
done
leads_f() { [ "$(part_state | awk '{ print $2 }')" = "$F" ]; }
wait_for 60 "broker $F did not take the leadership" leads_f
latest "$((BASE + F - 1))" "$WORK/fol"
diff "$WORK/lead" "$WORK/fol" >&2 || fail "broker $F's latest values differ from its old leader's"
log "broker $F leads with the same 10 latest values at the same offsets ($(wc -l <"$WORK/fol.all") records)"
log "PASS"
