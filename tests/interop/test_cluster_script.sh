#!/usr/bin/env bash
# test_cluster_script.sh — scripts/cluster.sh (README "Cluster"): `start` brings up ZooKeeper
# and three brokers (on free loopback ports here, in a temp dir), kcat sees the three and one
# controller, a record produced through one broker is read back through another, `status`
# lists four running processes, `stop` leaves none (status fails, every pid gone).
# Bounded waits; everything on 127.0.0.1.
source "$(dirname "$0")/lib.sh"

need kcat kcat
need java default-jre-headless
[ -f /usr/share/java/zookeeper.jar ] ||
    fail "ZooKeeper is not installed (run: make deps-test, or apt-get install zookeeper)"

cluster_ports
CDIR="$WORK/cluster"
export BASE_PORT=$BASE ZK_PORT=$ZKP SPLICELOGD
stop_cluster() { "$ROOT/scripts/cluster.sh" stop "$CDIR" >/dev/null 2>&1 || true; }
trap 'stop_cluster; cleanup' EXIT

log "scripts/cluster.sh start (ZooKeeper :$ZKP, brokers :$BASE..$((BASE + 2)))"
timeout 150 "$ROOT/scripts/cluster.sh" start "$CDIR" >"$WORK/start.out" 2>&1 ||
    { cat "$WORK/start.out" >&2; fail "start failed"; }
grep -q "cluster up" "$WORK/start.out" || fail "no 'cluster up' line"

bs="127.0.0.1:$BASE"
ok=
for _ in $(seq 1 100); do
    kcat -b "$bs" -L -m 5 >"$WORK/meta" 2>&1 || true
    if grep -q " 3 brokers:" "$WORK/meta" && [ "$(grep -c '(controller)' "$WORK/meta")" = 1 ]; then
        ok=1
        break
    fi
    sleep 0.2
done
[ -n "$ok" ] || { cat "$WORK/meta" >&2; fail "kcat does not see 3 brokers and one controller"; }
log "kcat: 3 brokers, one controller"

echo "through-the-cluster" | kcat -P -b "$bs" -t cs -p 0 -m 10 ||
    fail "produce through broker 1"
got=$(kcat -C -b "127.0.0.1:$((BASE + 2))" -t cs -p 0 -o beginning -c 1 -e -q -m 10 || true)
[ "$got" = "through-the-cluster" ] || fail "read back through broker 3: '$got'"
log "produced through broker 1, read back through broker 3"

"$ROOT/scripts/cluster.sh" status "$CDIR" >"$WORK/status" || fail "status: $(cat "$WORK/status")"
[ "$(grep -c ': running' "$WORK/status")" = 4 ] || fail "status: $(cat "$WORK/status")"
pids=$(cat "$CDIR"/*.pid)
"$ROOT/scripts/cluster.sh" stop "$CDIR" >/dev/null
! "$ROOT/scripts/cluster.sh" status "$CDIR" >/dev/null 2>&1 || true
for p in $pids; do
    kill -0 "$p" 2>/dev/null && fail "pid $p still running after stop"
done
log "stop: every process gone"
log "PASS"
