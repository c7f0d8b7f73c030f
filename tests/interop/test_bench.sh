#!/usr/bin/env bash
# test_bench.sh — splicelog-bench (issue 7) runs and checks itself; no throughput is asserted.
#   1. compare --size 16MiB --runs 1 completes (exit 0) against the ASan broker; its JSON
#      parses (node); every path is reported; splice, sendfile and copy are available; every
#      available path consumed exactly the records produced with the producer's digest; an
#      unavailable path (tls/ktls until the build and the kernel have them) gives a reason.
#      With gnuplot installed, --plot writes a PNG.
#   2. produce, consume and e2e small runs exit 0 (each checks its own counts; e2e compares
#      the consumed digest with the produced one).
#   3. bad arguments give a usage error: exit status 2 and a usage line.
source "$(dirname "$0")/lib.sh"

need node nodejs
build="${SPLICELOG_BUILD:-$ROOT/build}"
bench="$build/splicelog-bench"
# make test builds the suites, not the tools: build (or refresh) the bench here.
make -C "$ROOT" --no-print-directory BUILD="$build" "$bench" >"$WORK/make.log" 2>&1 || {
    tail -n 30 "$WORK/make.log" >&2
    fail "cannot build $bench"
}
[ -x "$SPLICELOGD" ] || fail "broker binary $SPLICELOGD not built (make test-build)"
export TMPDIR="$WORK"
T=600
sb() { timeout --kill-after=5 "$T" "$bench" "$@" --broker "$SPLICELOGD"; }

# ---- 1. compare ------------------------------------------------------------------------
plot=()
command -v gnuplot >/dev/null 2>&1 && plot=(--plot "$WORK/compare.png")
log "compare --size 16MiB --runs 1"
sb compare --size 16MiB --runs 1 --json "$WORK/compare.json" "${plot[@]}" \
    >"$WORK/compare.txt" 2>"$WORK/compare.err" || {
    cat "$WORK/compare.txt" "$WORK/compare.err" >&2
    fail "compare exited with status $?"
}
cat "$WORK/compare.txt" >&2
grep -q '^splice ' "$WORK/compare.txt" || fail "no splice row in the table"

node - "$WORK/compare.json" <<'JS' || fail "compare JSON check"
const fs = require('fs');
const r = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));
const fail = (m) => { console.error('compare.json: ' + m); process.exit(1); };
if (r.size !== 16 * 1024 * 1024 || r.runs !== 1 || r.record_size !== 1024) fail('header');
if (!(r.records_produced > 0) || !/^[0-9a-f]{16}$/.test(r.digest)) fail('records/digest');
if (r.records_produced !== Math.floor(r.size / r.record_size)) fail('records produced');
if (!r.machine || typeof r.machine.cpu_model !== 'string' || !(r.machine.cores >= 1) ||
    !/^Linux /.test(r.machine.kernel)) fail('machine');
if (!(r.limits.sendfile_mb_per_s > 0)) fail('sendfile limit');
const names = r.paths.map((p) => p.path).join(',');
if (names !== 'splice,sendfile,copy,tls,ktls') fail('paths ' + names);
for (const p of r.paths) {
    const plain = ['splice', 'sendfile', 'copy'].includes(p.path);
    if (plain && !p.available) fail(p.path + ' unavailable: ' + p.reason);
    if (!p.available) {
        if (typeof p.reason !== 'string' || !p.reason.length) fail(p.path + ': no reason');
        if (p.mb_per_s !== null) fail(p.path + ': figures for an unavailable path');
        continue;
    }
    if (!p.digest_ok) fail(p.path + ': ' + p.reason);
    if (p.records_consumed !== r.records_produced)
        fail(`${p.path}: consumed ${p.records_consumed} of ${r.records_produced}`);
    for (const k of ['mb_per_s', 'records_per_s', 'broker_cpu_s_per_gib',
                     'client_cpu_s_per_gib', 'ratio_to_limit'])
        if (typeof p[k] !== 'number' || !(p[k] >= 0)) fail(`${p.path}.${k} = ${p[k]}`);
    if (p.limit !== (plain ? 'sendfile' : 'tls')) fail(p.path + ': limit ' + p.limit);
}
console.error('compare.json ok: ' + r.paths.map((p) => p.path + (p.available ? '' : '(n/a)')).join(' '));
JS
if [ ${#plot[@]} -gt 0 ]; then
    [ "$(head -c 4 "$WORK/compare.png" | od -An -tx1 | tr -d ' \n')" = 89504e47 ] ||
        fail "--plot did not write a PNG"
fi

# ---- 2. produce, consume, e2e ------------------------------------------------------------
log "produce / consume / e2e"
sb produce --count 5000 --record-size 200 >"$WORK/produce.txt" 2>&1 ||
    { cat "$WORK/produce.txt" >&2; fail "produce"; }
grep -q 'produce: 5000 records' "$WORK/produce.txt" || fail "produce count"
grep -q 'p99.9' "$WORK/produce.txt" || fail "produce percentiles"
sb consume --count 5000 --partitions 2 >"$WORK/consume.txt" 2>&1 ||
    { cat "$WORK/consume.txt" >&2; fail "consume"; }
grep -q 'consume: 5000 records' "$WORK/consume.txt" || fail "consume count"
sb e2e --rate 2000 --duration 1s >"$WORK/e2e.txt" 2>&1 || { cat "$WORK/e2e.txt" >&2; fail "e2e"; }
grep -q 'consumed 2000 records' "$WORK/e2e.txt" || fail "e2e count"
grep -q 'p99.9' "$WORK/e2e.txt" || fail "e2e percentiles"

# ---- 3. usage errors -------------------------------------------------------------------
usage_error() {
    local rc=0
    "$bench" "$@" >"$WORK/usage.out" 2>&1 || rc=$?
    [ $rc -eq 2 ] || fail "'$*' exited $rc, not 2"
    grep -q '^usage: splicelog-bench' "$WORK/usage.out" || fail "'$*' printed no usage"
}
usage_error
usage_error frobnicate
usage_error compare --size lots
usage_error compare --size 16MiB --runs 0
usage_error compare --paths splice,teleport
usage_error compare --bootstrap 127.0.0.1:9092
usage_error compare stray-argument
usage_error produce --acks 2
usage_error produce --record-size 8
usage_error produce --json x.json
usage_error e2e --rate 0
usage_error consume --no-such-option
"$bench" --help | grep -q '^usage: splicelog-bench' || fail "--help"
log "ok"
