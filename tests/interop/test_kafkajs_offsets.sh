#!/usr/bin/env bash
# test_kafkajs_offsets.sh — kafkajs 2.2.4 consumer groups against splicelogd: a consumer in a
# group reads 10,000 produced messages (3 partitions) exactly once, commits and leaves; its
# committed offsets (OffsetFetch through kafkajs' admin) sit at the end of every partition; then
# 1,000 more are produced and a new consumer in the same group gets exactly those, resuming
# from the committed offsets. The same again across a SIGTERM restart of the broker and across
# a kill -9 (the offsets come back from <data>/__consumer_offsets). Bounded waits throughout.
source "$(dirname "$0")/lib.sh"

HERE="$(cd "$(dirname "$0")" && pwd)"

need_kafkajs

export KAFKAJS_NO_PARTITIONER_WARNING=1
js() { timeout --kill-after=5 "$1" node "$HERE/kafkajs_groups.js" "${@:2}"; }

# no initial rebalance delay: each consumer here is alone in its generation
start_broker g -o group.initial.rebalance.delay.ms=0
js 120 produce "$BROKER" grp-topic 3 0 10000 || fail "producing 10,000 messages failed"
js 120 consume "$BROKER" grp-topic grp 0 10000 || fail "first consumer"
js 60 committed "$BROKER" grp-topic grp 10000 || fail "committed offsets after the first consumer"
js 60 produce "$BROKER" grp-topic 3 10000 1000 || fail "producing 1,000 more failed"
js 120 consume "$BROKER" grp-topic grp 10000 1000 || fail "second consumer did not resume exactly"
js 60 committed "$BROKER" grp-topic grp 11000 || fail "committed offsets after the second consumer"

# the committed offsets survive a restart
stop_broker g TERM
start_broker g -o group.initial.rebalance.delay.ms=0
js 60 committed "$BROKER" grp-topic grp 11000 || fail "committed offsets after a restart"
js 60 produce "$BROKER" grp-topic 3 11000 1000 || fail "producing after the restart failed"
js 120 consume "$BROKER" grp-topic grp 11000 1000 || fail "consumer after the restart"

# and a kill -9: what was acknowledged was written, so it is there after the restart
assert_alive g
stop_broker g KILL
start_broker g -o group.initial.rebalance.delay.ms=0
js 60 committed "$BROKER" grp-topic grp 12000 || fail "committed offsets after a kill -9"
js 60 produce "$BROKER" grp-topic 3 12000 1000 || fail "producing after the kill -9 failed"
js 120 consume "$BROKER" grp-topic grp 12000 1000 || fail "consumer after the kill -9"
assert_alive g
stop_broker g TERM
log "test_kafkajs_offsets: 10,000 exactly once, then exactly the 1,000 after each commit, also across a SIGTERM restart and a kill -9"
