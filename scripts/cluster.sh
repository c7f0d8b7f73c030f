#!/usr/bin/env bash
# cluster.sh start|stop|status [DIR] — a three-broker splicelog cluster on this machine, for
# trying the cluster (README "Cluster"): Apache ZooKeeper from Debian's jars (no service is
# installed or started) and three splicelogd processes, everything on 127.0.0.1.
#
#   ZooKeeper  127.0.0.1:$ZK_PORT (2181), data in DIR/zookeeper, log DIR/zookeeper.log
#   broker i   broker.id=i, 127.0.0.1:$((BASE_PORT + i - 1)) (9092, 9093, 9094),
#              data in DIR/broker<i>, log DIR/broker<i>.log, chroot /splicelog
#
# DIR defaults to ./cluster-data; the processes' ids are kept in DIR/*.pid, so `stop` and
# `status` find them again. `start` waits until every broker answers, then prints the
# bootstrap list. Extra broker settings: BROKER_OPTS="-o default.replication.factor=3 ..." for
# every broker, BROKER1_OPTS, BROKER2_OPTS, BROKER3_OPTS for one (e.g. "-o broker.rack=r1").
# SPLICELOGD picks the broker binary (default build/splicelogd).
set -euo pipefail

cmd="${1:-}"
dir="${2:-./cluster-data}"
ZK_PORT="${ZK_PORT:-2181}"
BASE_PORT="${BASE_PORT:-9092}"
SPLICELOGD="${SPLICELOGD:-build/splicelogd}"
ZK_JAR=/usr/share/java/zookeeper.jar
N=3

usage() {
    echo "usage: $0 start|stop|status [DIR]" >&2
    exit 2
}

alive() { # pidfile
    [ -f "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null
}

port_open() { # port
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

wait_port() { # port seconds what
    local i
    for ((i = 0; i < $2 * 10; i++)); do
        port_open "$1" && return 0
        sleep 0.1
    done
    echo "$3 is not listening on 127.0.0.1:$1 after $2 s (see $dir)" >&2
    return 1
}

start() {
    [ -x "$SPLICELOGD" ] || {
        echo "$SPLICELOGD is not built (make)" >&2
        exit 1
    }
    [ -r "$ZK_JAR" ] && command -v java >/dev/null || {
        echo "needs Debian's zookeeper and a java runtime (scripts/deps.sh cluster, as root)" >&2
        exit 1
    }
    mkdir -p "$dir/zookeeper"
    if ! alive "$dir/zookeeper.pid"; then
        port_open "$ZK_PORT" && {
            echo "something already listens on 127.0.0.1:$ZK_PORT (ZK_PORT=...)" >&2
            exit 1
        }
        nohup java -Xmx256m -Dzookeeper.admin.enableServer=false \
            -cp "/etc/zookeeper/conf:$ZK_JAR" org.apache.zookeeper.server.ZooKeeperServerMain \
            "$ZK_PORT" "$dir/zookeeper" >"$dir/zookeeper.log" 2>&1 &
        echo $! >"$dir/zookeeper.pid"
    fi
    wait_port "$ZK_PORT" 60 ZooKeeper
    local i bootstrap=""
    for ((i = 1; i <= N; i++)); do
        local port=$((BASE_PORT + i - 1))
        bootstrap="${bootstrap:+$bootstrap,}127.0.0.1:$port"
        alive "$dir/broker$i.pid" && continue
        local own="BROKER${i}_OPTS"
        # shellcheck disable=SC2086 # BROKER_OPTS is a list of words
        nohup "$SPLICELOGD" -o broker.id=$i -o "zookeeper.connect=127.0.0.1:$ZK_PORT/splicelog" \
            --listen "127.0.0.1:$port" --data-dir "$dir/broker$i" ${BROKER_OPTS:-} ${!own:-} \
            >"$dir/broker$i.log" 2>&1 &
        echo $! >"$dir/broker$i.pid"
    done
    for ((i = 1; i <= N; i++)); do
        wait_port $((BASE_PORT + i - 1)) 60 "broker $i"
    done
    echo "cluster up: ZooKeeper 127.0.0.1:$ZK_PORT/splicelog, brokers $bootstrap"
    echo "  kcat -b $bootstrap -L        # stop: $0 stop $dir"
}

stop() {
    local f
    for f in "$dir"/broker*.pid "$dir"/zookeeper.pid; do
        [ -f "$f" ] || continue
        if alive "$f"; then
            kill -TERM "$(cat "$f")"
            local i
            for ((i = 0; i < 100; i++)); do
                alive "$f" || break
                sleep 0.1
            done
            alive "$f" && kill -KILL "$(cat "$f")"
        fi
        rm -f "$f"
    done
    echo "cluster in $dir stopped (data kept; rm -rf $dir to forget it)"
}

status() {
    local f rc=0
    for f in "$dir"/zookeeper.pid "$dir"/broker*.pid; do
        [ -f "$f" ] || continue
        if alive "$f"; then
            echo "$(basename "$f" .pid): running (pid $(cat "$f"))"
        else
            echo "$(basename "$f" .pid): not running"
            rc=1
        fi
    done
    return $rc
}

case "$cmd" in
start) start ;;
stop) stop ;;
status) status ;;
*) usage ;;
esac
