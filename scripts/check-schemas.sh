#!/usr/bin/env bash
# check-schemas.sh KAFKA_MESSAGE_DIR — compares proto's message tables with Kafka's message
# schemas, field by field (scripts/check-schemas.py says what is compared).
#
# KAFKA_MESSAGE_DIR is clients/src/main/resources/common/message of an apache/kafka checkout
# (the tables were written against trunk of October 2024, i.e. Kafka 4.0's schemas). Nothing
# of Kafka's is kept in this repository: the tables are our own transcription, and this is how
# to audit them. Not part of `make test` (it needs that checkout).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
dir="${1:?usage: check-schemas.sh KAFKA_MESSAGE_DIR}"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
cc -std=gnu11 -D_GNU_SOURCE -I"$root/proto" "$root/scripts/schema-dump.c" "$root"/proto/*.c \
    -o "$tmp/schema-dump"
"$tmp/schema-dump" >"$tmp/dump.json"
python3 "$root/scripts/check-schemas.py" "$tmp/dump.json" "$dir"
