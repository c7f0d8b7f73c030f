# lib.sh — shared by the interop scripts (sourced, not run): start splicelogd on an
# ephemeral port with a temporary data dir, stop it, clean up on exit, bounded waits.
#
#   source "$(dirname "$0")/lib.sh"
#   start_broker NAME [splicelogd args...]   # sets PORT_<NAME>, BROKER=127.0.0.1:port
#   stop_broker NAME [SIGNAL]                # waits (bounded) and checks a clean exit on TERM
#   need CMD PACKAGE; need_kafkajs           # fail unless installed (kafkajs: npm ci once)
#   cluster_ports                            # sets BASE and ZKP for scripts/cluster.sh
#   build_rk_eos                             # $WORK/rk_eos against librdkafka-dev
#
# The broker binary is $SPLICELOGD, else $SPLICELOG_ROOT/build/san/splicelogd, else the
# build/san/splicelogd of this checkout. Every temp file lives under $WORK, removed on EXIT
# together with every broker still running. Loopback only.

set -euo pipefail

ROOT="${SPLICELOG_ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}"
SPLICELOGD="${SPLICELOGD:-$ROOT/build/san/splicelogd}"
export ASAN_OPTIONS="${ASAN_OPTIONS:-abort_on_error=0:detect_leaks=1:halt_on_error=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"

WORK="$(mktemp -d "${TMPDIR:-/tmp}/splicelog-interop-XXXXXX")"
declare -A BROKER_PID=()
declare -A BROKER_DIR=()

log() { printf '[%s] %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }
fail() {
    log "FAIL: $*"
    exit 1
}

cleanup() {
    local rc=$?
    local name
    for name in "${!BROKER_PID[@]}"; do
        local pid="${BROKER_PID[$name]}"
        if kill -0 "$pid" 2>/dev/null; then
            kill -KILL "$pid" 2>/dev/null || true
            wait "$pid" 2>/dev/null || true
        fi
    done
    if [ $rc -ne 0 ]; then
        for name in "${!BROKER_DIR[@]}"; do
            local l="${BROKER_DIR[$name]}/broker.log"
            [ -f "$l" ] && {
                log "---- last lines of broker $name log"
                tail -n 40 "$l" >&2
            }
        done
    fi
    if [ -n "${SPLICELOG_KEEP_TMP:-}" ]; then
        log "keeping $WORK"
    else
        rm -rf "$WORK"
    fi
    exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

need() {
    command -v "$1" >/dev/null 2>&1 || fail "$1 is not installed (run: make deps-test, or apt-get install $2)"
}

# need_kafkajs — node, npm and kafkajs 2.2.4 (pinned in package-lock.json) in this folder's
# node_modules: npm ci there only when it does not already hold exactly that version.
need_kafkajs() {
    need node nodejs
    need npm npm
    local here pkg installed
    here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
    pkg="$here/node_modules/kafkajs/package.json"
    installed="$(node -e 'try { console.log(require(process.argv[1]).version) } catch (e) { console.log("none") }' \
        "$pkg")"
    if [ "$installed" != "2.2.4" ]; then
        log "installing kafkajs 2.2.4 (npm ci)"
        (cd "$here" && timeout --kill-after=5 300 npm ci --no-audit --no-fund --loglevel=error) ||
            fail "npm ci failed (the npm registry must be reachable once)"
    fi
    node -e 'const v = require(process.argv[1]).version; if (v !== "2.2.4") { console.error(v); process.exit(1) }' \
        "$pkg" || fail "kafkajs in node_modules is not 2.2.4"
}

# start_broker NAME [args...] — a fresh dir for a new NAME; the same NAME restarts on its data.
start_broker() {
    local name="$1"
    shift
    [ -x "$SPLICELOGD" ] || fail "broker binary $SPLICELOGD not built (make test-build)"
    local dir="${BROKER_DIR[$name]:-}"
    if [ -z "$dir" ]; then
        dir="$WORK/broker-$name"
        mkdir -p "$dir/data"
        BROKER_DIR[$name]="$dir"
    fi
    rm -f "$dir/port"
    "$SPLICELOGD" --listen 127.0.0.1:0 --data-dir "$dir/data" --port-file "$dir/port" "$@" \
        </dev/null >>"$dir/broker.log" 2>&1 &
    BROKER_PID[$name]=$!
    local i
    for i in $(seq 1 400); do # 20 s
        if [ -s "$dir/port" ] && grep -q '^[0-9][0-9]*$' "$dir/port"; then
            local port
            port="$(head -n 1 "$dir/port")"
            printf -v "PORT_$name" '%s' "$port"
            BROKER="127.0.0.1:$port"
            log "broker $name up on $BROKER ($*)"
            return 0
        fi
        kill -0 "${BROKER_PID[$name]}" 2>/dev/null || fail "broker $name exited during start-up"
        sleep 0.05
    done
    fail "broker $name not ready within 20 s"
}

# stop_broker NAME [SIGNAL] — TERM by default, which must end in exit status 0.
stop_broker() {
    local name="$1" sig="${2:-TERM}"
    local pid="${BROKER_PID[$name]}"
    kill "-$sig" "$pid"
    local i
    for i in $(seq 1 400); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.05
    done
    if kill -0 "$pid" 2>/dev/null; then
        kill -KILL "$pid"
        wait "$pid" 2>/dev/null || true
        fail "broker $name did not exit within 20 s of SIG$sig"
    fi
    local rc=0
    { wait "$pid"; } 2>/dev/null || rc=$?
    if [ "$sig" = TERM ] && [ $rc -ne 0 ]; then
        fail "broker $name exited with status $rc after SIGTERM"
    fi
    return 0
}

broker_log() { echo "${BROKER_DIR[$1]}/broker.log"; }

# The broker must still be alive at the end of a scenario (no crash, no sanitizer abort).
assert_alive() {
    kill -0 "${BROKER_PID[$1]}" 2>/dev/null || fail "broker $1 died; see its log"
}

# cluster_ports — sets BASE (BASE..BASE+2 free: scripts/cluster.sh's brokers) and ZKP (free:
# its ZooKeeper), picked at random below the kernel's ephemeral range
# (net.ipv4.ip_local_port_range, 32768 by default): a port in that range, free when checked,
# can become the local port of any outgoing connection (a broker's to ZooKeeper, a client's)
# before the broker binds it, or while a killed broker is down; fails after 50 tries.
port_free() { # PORT: nothing listens there
    ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}
cluster_ports() {
    local i b z lo span
    lo=$(awk '{print $1}' /proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || echo 32768)
    [ "${lo:-0}" -gt 12000 ] 2>/dev/null || fail "ephemeral ports start at ${lo:-?}: no room below"
    span=$((lo - 10000 - 20))
    for i in $(seq 1 50); do
        b=$((10000 + RANDOM % span))
        z=$((b + 10))
        if port_free $b && port_free $((b + 1)) && port_free $((b + 2)) && port_free $z; then
            BASE=$b
            ZKP=$z
            return 0
        fi
    done
    fail "no free ports for a cluster"
}

# build_rk_eos — builds rk_eos.c (the exactly-once driver) into $WORK/rk_eos.
build_rk_eos() {
    need cc gcc
    pkg-config --exists rdkafka 2>/dev/null || fail "librdkafka-dev is not installed (run: make deps-test)"
    cc -std=gnu11 -O1 -Wall -Wextra -Werror -o "$WORK/rk_eos" "$ROOT/tests/interop/rk_eos.c" \
        $(pkg-config --cflags --libs rdkafka) || fail "cannot build rk_eos"
}
