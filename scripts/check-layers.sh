#!/usr/bin/env bash
# check-layers.sh — the broker's folder arrows hold (README, Layout).
#
# The Makefile gives each folder only the include paths its arrows allow (inc_of), so
# `#include "br_conn.h"` from api/ does not compile. A quoted include with a path in it
# ("net/br_conn.h", "../net/br_conn.h") would still resolve, through -Ibroker or the
# including file's own directory, and get past that rule: sources name headers by their
# basename only. Run by `make test`; exit 1 and the offending lines otherwise.
set -euo pipefail
cd "$(dirname "$0")/.."
bad=$(grep -rnE '^[[:space:]]*#[[:space:]]*include[[:space:]]*"[^"]*/' \
    broker proto storage client tools bench --include='*.c' --include='*.h' || true)
if [ -n "$bad" ]; then
    echo "check-layers: quoted includes must name a header by its basename (the folder's"
    echo "include paths decide what it may see):"
    echo "$bad"
    exit 1
fi
echo "check-layers: ok"
