#!/usr/bin/env bash
# test_cluster_eos.sh — librdkafka (Debian's 2.0.2) transactions against a three-broker cluster
# (issue 18, M4's transactions half): the transaction coordinator is the leader of the
# transactional id's __transaction_state partition, markers reach partition leaders on other
# brokers (WriteTxnMarkers), transactional offsets reach the group's coordinator.
#   1. rk_eos txn (as test_rdkafka_eos.sh on one broker): alternate commits and aborts with
#      send_offsets_to_transaction over a topic with replication factor 3; read_committed sees
#      every committed record once and no aborted one, read_uncommitted sees all, the group's
#      offset is the last commit's, a second instance fences the first.
#   2. rk_eos txnloop for CEOS_SECONDS while brokers are killed with -9 and restarted one after
#      the other (CEOS_KILLS): every transaction librdkafka confirmed committed is read back
#      by a read_committed consumer exactly once (all of its 50 records), no record of any
#      other transaction is, and librdkafka never reports a fatal error. Prints
#      "failover: committed C aborted A kills K, read R".
# Cluster from scripts/cluster.sh on free loopback ports in a temp dir; bounded waits.
source "$(dirname "$0")/lib.sh"

need kcat kcat
need java default-jre-headless
[ -f /usr/share/java/zookeeper.jar ] ||
    fail "ZooKeeper is not installed (run: make deps-test, or apt-get install zookeeper)"
build_rk_eos

TXNS="${CEOS_TXNS:-10}"
SECONDS_RUN="${CEOS_SECONDS:-40}"
KILLS="${CEOS_KILLS:-2}"

cluster_ports
CDIR="$WORK/cluster"
export BASE_PORT=$BASE ZK_PORT=$ZKP SPLICELOGD
export BROKER_OPTS="-o num.partitions=4 -o default.replication.factor=3 -o min.insync.replicas=2
    -o offsets.topic.num.partitions=8 -o transaction.state.log.num.partitions=8
    -o group.initial.rebalance.delay.ms=0 -o zookeeper.session.timeout.ms=4000"
RK=
stop_cluster() {
    [ -n "$RK" ] && kill -KILL "$RK" 2>/dev/null || true
    "$ROOT/scripts/cluster.sh" stop "$CDIR" >/dev/null 2>&1 || true
}
trap 'rc_=$?; stop_cluster; if [ $rc_ -ne 0 ]; then for f in "$CDIR"/broker*.log; do
    [ -f "$f" ] && { log "---- last lines of $f"; tail -n 30 "$f" >&2; }; done; fi; (exit $rc_); cleanup' EXIT

log "scripts/cluster.sh start (ZooKeeper :$ZKP, brokers :$BASE..$((BASE + 2)))"
timeout 150 "$ROOT/scripts/cluster.sh" start "$CDIR" >"$WORK/start.out" 2>&1 ||
    { cat "$WORK/start.out" >&2; fail "start failed"; }
bs="127.0.0.1:$BASE,127.0.0.1:$((BASE + 1)),127.0.0.1:$((BASE + 2))"
ok=
for _ in $(seq 1 150); do
    kcat -b "$bs" -L -m 5 >"$WORK/meta" 2>&1 || true
    grep -q " 3 brokers:" "$WORK/meta" && { ok=1; break; }
    sleep 0.2
done
[ -n "$ok" ] || { cat "$WORK/meta" >&2; fail "kcat does not see 3 brokers"; }

# topics with three replicas each, made before the producers start (auto-creation would too)
for t in ceos-in ceos-out ceos-loop; do
    for _ in $(seq 1 50); do
        echo "seed" | kcat -P -b "$bs" -t "$t" -p 0 -m 10 2>/dev/null && break
        sleep 0.2
    done
done

# ---- 1. commits, aborts, offsets, fencing ------------------------------------------------------
out="$(timeout 300 "$WORK/rk_eos" txn "$bs" ceos-out ceos-in "$TXNS" 2>"$WORK/txn.err")" || {
    tail -n 30 "$WORK/txn.err" >&2
    fail "rk_eos txn: ${out:-no output}"
}
log "rk_eos txn on the cluster: $(echo "$out" | tr '\n' ' ')"

# ---- 2. transactions while brokers die ---------------------------------------------------------
"$WORK/rk_eos" txnloop "$bs" ceos-loop "$SECONDS_RUN" "$WORK/committed" \
    >"$WORK/loop.out" 2>"$WORK/loop.err" &
RK=$!
kills=0
for i in $(seq 1 "$KILLS"); do
    sleep $((SECONDS_RUN / (KILLS + 2)))
    kill -0 "$RK" 2>/dev/null || break
    b=$(( (i % 3) + 1 ))
    log "kill -9 broker $b"
    kill -KILL "$(cat "$CDIR/broker$b.pid")"
    # (its pid file goes: `cluster.sh start` restarts what has none; a killed process nobody
    # reaps would still pass its kill -0)
    rm -f "$CDIR/broker$b.pid"
    kills=$((kills + 1))
    # its registration goes with its ZooKeeper session (a restart before that is refused)
    for _ in $(seq 1 150); do
        kcat -b "$bs" -L -m 2 2>/dev/null | grep -q " 2 brokers:" && break
        sleep 0.2
    done
    timeout 150 "$ROOT/scripts/cluster.sh" start "$CDIR" >>"$WORK/start.out" 2>&1 ||
        fail "restart of broker $b failed"
done
rc=0
timeout 400 tail --pid="$RK" -f /dev/null || fail "rk_eos txnloop did not end"
wait "$RK" || rc=$?
RK=
[ "$rc" -eq 0 ] || { tail -n 30 "$WORK/loop.err" >&2; fail "rk_eos txnloop: rc $rc $(cat "$WORK/loop.out")"; }
grep -q "FATAL\|(fatal)" "$WORK/loop.err" && fail "librdkafka reported a fatal error: $(grep -i fatal "$WORK/loop.err" | head -3)"

timeout 120 kcat -C -b "$bs" -t ceos-loop -o beginning -e -q -X isolation.level=read_committed \
    -f '%s\n' >"$WORK/loop.read" || fail "kcat could not read ceos-loop back"
grep '^txl-' "$WORK/loop.read" | sort >"$WORK/got" || true
# what a read_committed reader must see: txl-<t>-0..49 for every confirmed t, each once
awk '{ for (j = 0; j < 50; j++) print "txl-" $1 "-" j }' "$WORK/committed" | sort >"$WORK/want"
dups=$(uniq -d "$WORK/got" | wc -l)
lost=$(comm -23 "$WORK/want" <(sort -u "$WORK/got") | wc -l)
extra=$(comm -13 "$WORK/want" <(sort -u "$WORK/got") | wc -l)
log "failover: $(cat "$WORK/loop.out"), kills $kills, read $(wc -l <"$WORK/got") (duplicates $dups, lost $lost, uncommitted seen $extra)"
[ "$kills" -ge 1 ] || fail "the loop ended before the first kill: nothing tested"
[ -s "$WORK/committed" ] || fail "no transaction committed"
[ "$dups" -eq 0 ] || fail "$dups record(s) twice"
[ "$lost" -eq 0 ] || fail "$lost record(s) of confirmed commits missing"
[ "$extra" -eq 0 ] || fail "$extra record(s) of aborted or unconfirmed transactions visible to read_committed"
log "PASS"
