#!/usr/bin/env bash
# test_kafkajs_groups.sh — kafkajs 2.2.4 group consumers (consumer.run) against splicelogd:
#   1. two consumers started together in one group on a 4-partition topic share the first
#      generation and split the partitions (RoundRobinAssigner): disjoint, all four; every
#      message produced is consumed exactly once across them.
#   2. one consumer stops (disconnect: commit, LeaveGroup): the other takes all four
#      partitions, continuing from the committed offsets; messages produced afterwards are
#      consumed once, and the whole run exactly once.
# The broker runs with group.initial.rebalance.delay.ms=1500; every wait is bounded.
source "$(dirname "$0")/lib.sh"

need node nodejs
need kcat kcat
HERE="$(cd "$(dirname "$0")" && pwd)"
node -e 'const v = require(process.argv[1]).version; if (v !== "2.2.4") { console.error(v); process.exit(1) }' \
    "$HERE/node_modules/kafkajs/package.json" 2>/dev/null ||
    fail "kafkajs 2.2.4 is not installed in tests/interop/node_modules (run tests/interop/test_kafkajs.sh once: npm ci)"

start_broker g -o group.initial.rebalance.delay.ms=1500 -o num.partitions=4
TOPIC=jt
GROUP=jgrp

produce() { # produce PHASE COUNT
    awk -v p="$1" -v n="$2" 'BEGIN { for (i = 0; i < n; i++) printf "k%d-%d:%s-%d\n", i, i * 7, p, i }' |
        timeout --kill-after=5 60 kcat -b "$BROKER" -P -t "$TOPIC" -K: || fail "kcat -P ($1) failed"
}

declare -A CPID=()
start_consumer() {
    (cd "$HERE" && exec node "$HERE/kafkajs_group_consume.js" "$BROKER" "$GROUP" "$TOPIC") \
        >"$WORK/c-$1.out" 2>"$WORK/c-$1.err" &
    CPID[$1]=$!
}
stop_consumer() {
    local pid="${CPID[$1]}" i
    kill -TERM "$pid" 2>/dev/null || true
    for i in $(seq 1 200); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.05
    done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    unset "CPID[$1]"
}
trap 'rc_=$?; for n in "${!CPID[@]}"; do kill -KILL "${CPID[$n]}" 2>/dev/null || true; done; (exit $rc_); cleanup' EXIT

assigned() { grep -a '^assigned:' "$WORK/c-$1.err" | tail -n 1 | sed 's/^assigned: *//' || true; }
split_ok() {
    local all="" n a
    for n in "$@"; do
        a="$(assigned "$n")"
        [ -n "$a" ] || return 1
        all="$all $a"
    done
    [ "$(echo $all | tr ' ' '\n' | sort -n | tr '\n' ' ')" = "0 1 2 3 " ]
}
wait_for() {
    local secs="$1" what="$2" i n
    shift 2
    for i in $(seq 1 $((secs * 5))); do
        "$@" && return 0
        sleep 0.2
    done
    for n in "${!CPID[@]}"; do log "consumer $n: $(tail -n 5 "$WORK/c-$n.err" | tr '\n' '|')"; done
    fail "timed out after ${secs}s: $what"
}
count() { cat "$WORK"/c-*.out | awk -v p="$1-" 'index($3, p) == 1' | wc -l; }
have() { [ "$(count "$1")" -ge "$2" ]; }
exactly_once() { # PHASE COUNT
    wait_for 40 "phase $1: $2 messages consumed" have "$1" "$2"
    sleep 2
    local got uniq
    got="$(count "$1")"
    uniq="$(cat "$WORK"/c-*.out | awk -v p="$1-" 'index($3, p) == 1 { print $3 }' | sort -u | wc -l)"
    [ "$got" -eq "$2" ] && [ "$uniq" -eq "$2" ] ||
        fail "phase $1: $got records ($uniq distinct) for $2 messages"
}

produce p0 4
start_consumer a
start_consumer b
wait_for 60 "a and b split the partitions" split_ok a b
[ "$(grep -ac '^assigned:' "$WORK/c-a.err")" -eq 1 ] && [ "$(grep -ac '^assigned:' "$WORK/c-b.err")" -eq 1 ] ||
    fail "consumers started together should share the first generation"
log "a: [$(assigned a)] b: [$(assigned b)]"
produce p1 400
exactly_once p0 4
exactly_once p1 400
log "phase 1: 404 messages, each consumed once across a and b"

stop_consumer b
wait_for 40 "a takes all four partitions" split_ok a
produce p2 300
exactly_once p2 300
total="$(cat "$WORK"/c-*.out | wc -l)"
uniq="$(cat "$WORK"/c-*.out | awk '{ print $3 }' | sort -u | wc -l)"
[ "$total" -eq 704 ] && [ "$uniq" -eq 704 ] ||
    fail "704 messages should be consumed exactly once across a and b (records $total, distinct $uniq)"
log "phase 2: b left, a took over from the committed offsets; 704 messages consumed exactly once"

stop_consumer a
assert_alive g
stop_broker g TERM
log "kafkajs groups: OK"
