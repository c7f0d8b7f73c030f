#!/usr/bin/env bash
# bench-acl.sh [BUILD_DIR] — the cost of authorization on produce and fetch, measured in one
# run: splicelog-bench produce and consume against its own broker, once without an authorizer
# and once with Kafka's ACL authorizer holding N_ACLS decoy bindings (other principals, other
# topics, literal and prefixed) plus the ones the benchmark's ANONYMOUS client needs, made
# offline with `splicelog acl add`. Both modes run in every round, in alternating order, so a
# busy machine weighs on both alike. Prints records/s and the broker's CPU per million records, median
# [min-max] over the rounds, per mode.
#   RECORDS (1000000), RECORD_SIZE (100), ROUNDS (3), N_ACLS (200)
set -euo pipefail
BUILD="${1:-build}"
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
BENCH="$ROOT/$BUILD/splicelog-bench"
TOOL="$ROOT/$BUILD/san/splicelog"
[ -x "$TOOL" ] || TOOL="$ROOT/$BUILD/splicelog"
RECORDS="${RECORDS:-1000000}" RECORD_SIZE="${RECORD_SIZE:-100}" ROUNDS="${ROUNDS:-3}"
N_ACLS="${N_ACLS:-200}"
WORK="$(mktemp -d "${TMPDIR:-/tmp}/bench-acl-XXXXXX")"
trap 'rm -rf "$WORK"' EXIT

# The ACL file, made once and copied into each run's data directory.
mkdir -p "$WORK/acl-template"
add() { "$TOOL" acl add --data-dir "$WORK/acl-template" "$@" >/dev/null; }
for i in $(seq 1 "$N_ACLS"); do
    if [ $((i % 2)) -eq 0 ]; then
        add --principal "User:u$i" --resource topic --name "t$i" --operation read
    else
        add --principal "User:u$i" --resource topic --name "p$i-" --pattern prefixed --operation write
    fi
done
add --principal User:ANONYMOUS --resource topic --name splicelog-bench --operation all
add --principal User:ANONYMOUS --resource cluster --operation create
add --principal User:ANONYMOUS --resource group --name '*' --operation all

declare -A RS CPU
run() { # MODE VERB
    local mode="$1" verb="$2" extra=()
    if [ "$mode" = on ]; then
        local d="$WORK/data-$verb-$RANDOM"
        mkdir -p "$d"
        cp -r "$WORK/acl-template/__security" "$d/"
        extra=(--broker-set "log.dirs=$d"
            --broker-set "authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer")
    fi
    local out
    out="$(nice -n 5 "$BENCH" "$verb" --count "$RECORDS" --record-size "$RECORD_SIZE" --runs 1 \
        --interval 0 "${extra[@]}" 2>&1)"
    RS[$mode-$verb]+="$(awk '$1 == "records/s" { print $2 }' <<<"$out") "
    CPU[$mode-$verb]+="$(awk '/broker CPU s per million records/ { print $NF }' <<<"$out") "
}
stats() { # values -> "median [min-max]"
    tr ' ' '\n' <<<"$1" | grep . | sort -g | awk '{ v[NR] = $1 } END {
        printf "%s [%s-%s]", v[int((NR + 1) / 2)], v[1], v[NR] }'
}
for r in $(seq 1 "$ROUNDS"); do
    for verb in produce consume; do
        if [ $((r % 2)) -eq 1 ]; then # which mode goes first alternates per round
            run off "$verb"
            run on "$verb"
        else
            run on "$verb"
            run off "$verb"
        fi
    done
done
echo "splicelog-bench produce|consume --count $RECORDS --record-size $RECORD_SIZE, $ROUNDS rounds;"
echo "ACLs on: StandardAuthorizer with $((N_ACLS + 3)) bindings (N_ACLS decoys + 3 for the client)"
printf '%-9s %-4s %-34s %s\n' verb acls "records/s" "broker CPU s / million records"
for verb in produce consume; do
    for mode in off on; do
        printf '%-9s %-4s %-34s %s\n' "$verb" "$mode" "$(stats "${RS[$mode-$verb]}")" \
            "$(stats "${CPU[$mode-$verb]}")"
    done
done
