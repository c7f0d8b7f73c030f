#!/usr/bin/env bash
# test_kcat_groups.sh — consumer groups with kcat -G (librdkafka 2.0.2) against splicelogd:
#   1. two consumers started together in one group on a 4-partition topic get one generation
#      and split the partitions (disjoint, all four); every message produced is consumed
#      exactly once across them.
#   2. a third consumer joins: a rebalance, the three assignments split the four partitions;
#      messages produced afterwards are consumed exactly once.
#   3. one consumer leaves (SIGTERM: kcat closes, librdkafka sends LeaveGroup): the other two
#      take over its partitions; messages produced afterwards are consumed exactly once.
#   4. the whole run: partitions handed over continue from the offsets the previous owner
#      committed (OffsetCommit/OffsetFetch), so every message is consumed exactly once.
# The broker runs with group.initial.rebalance.delay.ms=1500 (consumers started together
# share the first generation); every wait is bounded.
source "$(dirname "$0")/lib.sh"

need kcat kcat
T=60 # bound for one kcat producer run

start_broker g -o group.initial.rebalance.delay.ms=1500 -o num.partitions=4
TOPIC=gt
GROUP=grp1
KX=(-X heartbeat.interval.ms=500 -X session.timeout.ms=6000 -X auto.commit.interval.ms=500
    -X topic.metadata.refresh.interval.ms=1000)

produce() { # produce PHASE COUNT: values "PHASE-i", keys spread over the partitions
    local phase="$1" n="$2"
    awk -v p="$phase" -v n="$n" 'BEGIN { for (i = 0; i < n; i++) printf "k%d-%d:%s-%d\n", i, i * 7, p, i }' |
        timeout --kill-after=5 "$T" kcat -b "$BROKER" -P -t "$TOPIC" -K: ||
        fail "kcat -P ($phase) failed"
}

declare -A CPID=()
start_consumer() { # start_consumer NAME
    local name="$1"
    kcat -b "$BROKER" -G "$GROUP" -X auto.offset.reset=earliest -f '%p %o %s\n' -u "${KX[@]}" "$TOPIC" \
        >"$WORK/c-$name.out" 2>"$WORK/c-$name.err" &
    CPID[$name]=$!
}

stop_consumer() { # stop_consumer NAME: SIGTERM, bounded wait
    local name="$1" pid="${CPID[$1]}" i
    kill -TERM "$pid" 2>/dev/null || true
    for i in $(seq 1 200); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.05
    done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    unset "CPID[$name]"
}

cleanup_consumers() {
    local n
    for n in "${!CPID[@]}"; do kill -KILL "${CPID[$n]}" 2>/dev/null || true; done
}
trap 'rc_=$?; cleanup_consumers; (exit $rc_); cleanup' EXIT

# The partitions of the last "assigned:" line of consumer NAME, sorted, space-separated.
assigned() {
    grep -a 'rebalanced' "$WORK/c-$1.err" | grep -a 'assigned:' | tail -n 1 |
        sed 's/.*assigned://' | grep -o "\[[0-9]*\]" | tr -d '[]' | sort -n | tr '\n' ' ' || true
}
# Number of rebalances (assignments) consumer NAME saw.
n_assigned() { grep -ac 'assigned:' "$WORK/c-$1.err" || true; }

# wait_for SECONDS DESCRIPTION COMMAND...: polls COMMAND every 0.2 s.
wait_for() {
    local secs="$1" what="$2" i
    shift 2
    for i in $(seq 1 $((secs * 5))); do
        "$@" && return 0
        sleep 0.2
    done
    for n in "${!CPID[@]}"; do
        log "consumer $n: $(tail -n 3 "$WORK/c-$n.err" | tr '\n' '|')"
    done
    fail "timed out after ${secs}s: $what"
}

# The assignments of consumers NAMES... split 0..3: disjoint, complete, none empty.
split_ok() {
    local all="" n a
    for n in "$@"; do
        a="$(assigned "$n")"
        [ -n "$a" ] || return 1
        all="$all $a"
    done
    [ "$(echo $all | tr ' ' '\n' | sort -n | tr '\n' ' ')" = "0 1 2 3 " ]
}

# Every value of PHASE (COUNT of them) consumed exactly once across all consumers' output.
phase_count() { cat "$WORK"/c-*.out | awk -v p="$1-" 'index($3, p) == 1' | wc -l; }
phase_exact() {
    local phase="$1" n="$2"
    local got uniq
    got="$(phase_count "$phase")"
    uniq="$(cat "$WORK"/c-*.out | awk -v p="$phase-" 'index($3, p) == 1 { print $3 }' | sort -u | wc -l)"
    [ "$got" -eq "$n" ] && [ "$uniq" -eq "$n" ]
}
wait_phase() { # wait_phase PHASE COUNT: all consumed, then no duplicate arrives within 2 s
    wait_for 30 "phase $1: $2 messages consumed (have $(phase_count "$1"))" \
        bash -c "[ \"\$(cat '$WORK'/c-*.out | awk -v p='$1-' 'index(\$3, p) == 1' | wc -l)\" -ge $2 ]"
    sleep 2
    phase_exact "$1" "$2" || {
        log "phase $1: $(phase_count "$1") records for $2 messages"
        fail "phase $1: not every message consumed exactly once"
    }
}

timeout 20 kcat -b "$BROKER" -L -X debug=feature 2>&1 | grep -q 'Enabling feature BrokerBalancedConsumer' ||
    fail "librdkafka does not enable BrokerBalancedConsumer (FindCoordinator, JoinGroup, SyncGroup, Heartbeat, LeaveGroup, OffsetCommit, OffsetFetch)"

# ---- 1. two consumers split the partitions ---------------------------------------------------
produce p0 4 # creates the topic (auto-create, 4 partitions)
start_consumer a
start_consumer b
wait_for 30 "a and b assigned" split_ok a b
[ "$(n_assigned a)" -eq 1 ] && [ "$(n_assigned b)" -eq 1 ] ||
    fail "consumers started together should share the first generation (a: $(n_assigned a), b: $(n_assigned b) assignments)"
log "a: [$(assigned a)] b: [$(assigned b)]"
produce p1 400
wait_phase p0 4
wait_phase p1 400
for n in a b; do
    a="$(assigned "$n")"
    # every record a consumer printed is from a partition it was assigned
    awk -v parts=" $a" '{ if (index(parts, " " $1 " ") == 0) { print; exit 1 } }' "$WORK/c-$n.out" ||
        fail "consumer $n printed a record of a partition it was not assigned"
done
log "phase 1: 404 messages, each consumed once by the owner of its partition"

# ---- 2. a third consumer joins: rebalance ----------------------------------------------------
before_a="$(n_assigned a)"
start_consumer c
wait_for 40 "rebalance to three consumers" bash -c "
    [ \"\$(grep -ac 'assigned:' '$WORK/c-a.err')\" -gt $before_a ] &&
    [ \"\$(grep -ac 'assigned:' '$WORK/c-c.err')\" -ge 1 ]"
wait_for 30 "a, b and c split the partitions" split_ok a b c
log "a: [$(assigned a)] b: [$(assigned b)] c: [$(assigned c)]"
produce p2 300
wait_phase p2 300
log "phase 2: 300 messages, each consumed once after the rebalance"

# ---- 3. one leaves: its partitions are handed over -------------------------------------------
b_parts="$(assigned b)"
before_a="$(n_assigned a)"
stop_consumer b
grep -aq "member .* left group $GROUP" "$(broker_log g)" || {
    sleep 1
    grep -aq "member .* left group $GROUP" "$(broker_log g)" || fail "no LeaveGroup from the stopped consumer"
}
wait_for 40 "rebalance after b left" bash -c "[ \"\$(grep -ac 'assigned:' '$WORK/c-a.err')\" -gt $before_a ]"
wait_for 30 "a and c split the partitions" split_ok a c
log "b had [$b_parts]; now a: [$(assigned a)] c: [$(assigned c)]"
produce p3 300
wait_phase p3 300
log "phase 3: 300 messages, each consumed once after b left"

# ---- 4. handed-over partitions continued from the committed offsets ---------------------------
total="$(cat "$WORK"/c-*.out | wc -l)"
uniq="$(cat "$WORK"/c-*.out | awk '{ print $3 }' | sort -u | wc -l)"
[ "$total" -eq 1004 ] && [ "$uniq" -eq 1004 ] ||
    fail "1004 messages should be consumed exactly once across a, b and c (records $total, distinct $uniq)"
log "whole run: 1004 messages, each consumed exactly once across a, b and c"

stop_consumer a
stop_consumer c
assert_alive g
stop_broker g TERM
log "kcat -G groups: OK"
