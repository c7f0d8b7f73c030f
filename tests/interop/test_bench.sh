#!/usr/bin/env bash
# test_bench.sh — splicelog-bench (issues 7, 19) runs and checks itself; no throughput is
# asserted. Small sizes, against the ASan broker.
#   1. compare --size 16MiB --runs 1: every path reported; splice, sendfile, copy available
#      and consumed exactly the records produced with the producer's digest; an unavailable
#      path gives a reason; figures are {min, median, max} objects. With gnuplot, --plot writes
#      a PNG.
#   2. produce, consume, e2e, durable, scale: each --json parses (node) and has its keys: the
#      figures as {min, median, max, spread, runs}, latencies as p50_ms p95_ms p99_ms p99_9_ms
#      p99_99_ms max_ms, per_run as plain numbers, the machine and the command. A window rate
#      line appears on stderr although stderr is a file. --runs 1 is not labelled "median".
#   3. scale --plot with no gnuplot on PATH: exit 0 and a message, no chart.
#   4. consume --bootstrap (an external broker, both clients when librdkafka is built in)
#      stops at the high watermark with exactly the records there.
#   5. bad arguments give a usage error: exit status 2 and a usage line.
#   6. machine (no broker): its JSON has the floors (stalls, hand-offs, page cache,
#      fdatasync) as figures over the runs, every one measured.
source "$(dirname "$0")/lib.sh"

need node nodejs
build="${SPLICELOG_BUILD:-$ROOT/build}"
bench="$build/splicelog-bench"
# make test builds the suites, not the tools: build (or refresh) the bench here.
# bench_fetch and bench_storage too: make bench runs them, and nothing else builds them.
make -C "$ROOT" --no-print-directory BUILD="$build" "$bench" "$build/bench_fetch" \
    "$build/bench_storage" >"$WORK/make.log" 2>&1 || {
    tail -n 30 "$WORK/make.log" >&2
    fail "cannot build $bench"
}
[ -x "$SPLICELOGD" ] || fail "broker binary $SPLICELOGD not built (make test-build)"
export TMPDIR="$WORK"
T=600
sb() { timeout --kill-after=5 "$T" "$bench" "$@" --broker "$SPLICELOGD"; }
# run NAME ARGS...: stdout to NAME.txt, stderr to NAME.err, JSON to NAME.json
run() {
    local name="$1"
    shift
    log "$name: $*"
    sb "$@" --json "$WORK/$name.json" >"$WORK/$name.txt" 2>"$WORK/$name.err" || {
        cat "$WORK/$name.txt" "$WORK/$name.err" >&2
        fail "$name exited with status $?"
    }
}
# check NAME MODE RUNS SECTIONS... — the JSON of a figures report (produce/consume/e2e/durable)
check() {
    node - "$@" <<'JS' || fail "$1 JSON check"
const fs = require('fs');
const [name, mode, runs, ...sections] = process.argv.slice(2);
const file = process.env.WORK + '/' + name + '.json';
const r = JSON.parse(fs.readFileSync(file, 'utf8'));
const fail = (m) => { console.error(name + '.json: ' + m); process.exit(1); };
if (r.mode !== mode || !/^splicelog-bench /.test(r.command)) fail('mode/command');
if (r.runs !== +runs || r.per_run.length !== +runs) fail('runs ' + r.runs);
if (!r.machine || !(r.machine.cores >= 1) || !/^Linux /.test(r.machine.kernel)) fail('machine');
if (typeof r.cpu_source !== 'string' || !Array.isArray(r.spread_warnings)) fail('head');
const lat = ['p50_ms', 'p95_ms', 'p99_ms', 'p99_9_ms', 'p99_99_ms', 'max_ms'];
const want = {
    throughput: ['records', 'records_per_s'],
    e2e_latency: lat, ack_latency: lat,
    cpu: ['broker_cpu_s_per_gib', 'broker_cpu_s_per_m_records', 'client_cpu_s_per_gib'],
    durability: ['fdatasyncs', 'records_per_fdatasync', 'fdatasyncs_per_s'],
    disk: ['fdatasync_p50_ms', 'fdatasync_p99_ms', 'fdatasync_max_ms'],
};
for (const s of sections) {
    const sec = r.figures[s];
    if (!sec) fail('no section ' + s);
    for (const k of want[s]) {
        const f = sec[k];
        if (!f || !('min' in f) || !('median' in f) || !('max' in f) || f.runs === undefined)
            fail(`${s}.${k} = ${JSON.stringify(f)}`);
        // a figure is measured (a number) unless the machine cannot measure it (null)
        const nullable = s === 'durability';
        if (!nullable && !(typeof f.median === 'number' && f.min <= f.median && f.median <= f.max))
            fail(`${s}.${k} = ${JSON.stringify(f)}`);
        for (const pr of r.per_run)
            if (!(s in pr) || !(k in pr[s]) || (!nullable && typeof pr[s][k] !== 'number'))
                fail(`per_run ${s}.${k}`);
    }
    if (lat === want[s] && !(sec.p50_ms.median <= sec.max_ms.median)) fail(s + ' order');
}
console.error(name + '.json ok: ' + sections.join(' '));
JS
}

# ---- 1. compare ------------------------------------------------------------------------
plot=()
command -v gnuplot >/dev/null 2>&1 && plot=(--plot "$WORK/compare.png")
run compare compare --size 16MiB --runs 1 "${plot[@]}"
cat "$WORK/compare.txt" >&2
grep -q '^splice ' "$WORK/compare.txt" || fail "no splice row in the table"
grep -q '^auto ' "$WORK/compare.txt" || fail "no auto row (the default, fetch.transfer=auto)"
grep -q 'median' "$WORK/compare.txt" && fail "compare --runs 1 speaks of a median"
node - "$WORK/compare.json" <<'JS' || fail "compare JSON check"
const fs = require('fs');
const r = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));
const fail = (m) => { console.error('compare.json: ' + m); process.exit(1); };
if (r.mode !== 'compare' || r.size !== 16 * 1024 * 1024 || r.runs !== 1 || r.record_size !== 1024)
    fail('header');
if (!(r.records_produced > 0) || !/^[0-9a-f]{16}$/.test(r.digest)) fail('records/digest');
if (r.records_produced !== Math.floor(r.size / r.record_size)) fail('records produced');
if (!r.machine || typeof r.machine.cpu_model !== 'string' || !(r.machine.cores >= 1) ||
    !/^Linux /.test(r.machine.kernel)) fail('machine');
if (!(r.limits.sendfile_mb_per_s.median > 0)) fail('sendfile limit');
const names = r.paths.map((p) => p.path).join(',');
if (names !== 'auto,splice,sendfile,copy,tls,ktls') fail('paths ' + names);
for (const p of r.paths) {
    const plain = ['auto', 'splice', 'sendfile', 'copy'].includes(p.path);
    if (plain && !p.available) fail(p.path + ' unavailable: ' + p.reason);
    if (!p.available) {
        if (typeof p.reason !== 'string' || !p.reason.length) fail(p.path + ': no reason');
        if (p.mb_per_s !== null) fail(p.path + ': figures for an unavailable path');
        continue;
    }
    if (!p.digest_ok) fail(p.path + ': ' + p.reason);
    if (p.records_consumed !== r.records_produced)
        fail(`${p.path}: consumed ${p.records_consumed} of ${r.records_produced}`);
    for (const k of ['mb_per_s', 'records_per_s', 'broker_cpu_s_per_gib', 'client_cpu_s_per_gib']) {
        const f = p[k];
        if (!f || f.runs !== 1 || !(f.median >= 0) || f.min !== f.median || f.max !== f.median)
            fail(`${p.path}.${k} = ${JSON.stringify(f)}`);
    }
    if (!(p.ratio_to_limit >= 0)) fail(p.path + '.ratio_to_limit');
    if (p.limit !== (plain ? 'sendfile' : 'tls')) fail(p.path + ': limit ' + p.limit);
}
console.error('compare.json ok: ' + r.paths.map((p) => p.path + (p.available ? '' : '(n/a)')).join(' '));
JS
if [ ${#plot[@]} -gt 0 ]; then
    [ "$(head -c 4 "$WORK/compare.png" | od -An -tx1 | tr -d ' \n')" = 89504e47 ] ||
        fail "--plot did not write a PNG"
fi

# ---- 2. produce, consume, e2e, durable, scale -------------------------------------------
export WORK
run produce produce --count 5000 --record-size 200 --runs 2
grep -q 'records delivered  *5000  *5000  *5000' "$WORK/produce.txt" || fail "produce count"
check produce produce 2 throughput ack_latency cpu
run produce1 produce --count 2000 --runs 1
grep -q '^1 run' "$WORK/produce1.txt" || fail "--runs 1 not labelled as one run"
grep -qi 'median' "$WORK/produce1.txt" && fail "--runs 1 labelled median"
check produce1 produce 1 throughput ack_latency cpu
run consume consume --count 5000 --partitions 2 --runs 2
grep -q 'records consumed  *5000  *5000  *5000' "$WORK/consume.txt" || fail "consume count"
check consume consume 2 throughput cpu
run e2e e2e --rate 2000 --duration 1s --runs 2 --interval 300ms --broker-set num.network.threads=1
grep -q 'records produced and consumed  *2000 ' "$WORK/e2e.txt" || fail "e2e count"
grep -q '^\[e2e run 1/2 ' "$WORK/e2e.err" || fail "no window line on a non-terminal stderr"
check e2e e2e 2 throughput e2e_latency ack_latency cpu
run durable durable --rate 1000 --duration 1s --runs 1 --producers 2
grep -q 'records per fdatasync' "$WORK/durable.txt" || fail "durable: no group-commit line"
check durable durable 1 throughput e2e_latency ack_latency durability disk cpu
plot=()
command -v gnuplot >/dev/null 2>&1 && plot=(--plot "$WORK/scale.png")
run scale scale --partition-list 1,10 --connection-list 1,10 --count 2000 "${plot[@]}"
node - "$WORK/scale.json" <<'JS' || fail "scale JSON check"
const fs = require('fs');
const r = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));
const fail = (m) => { console.error('scale.json: ' + m); process.exit(1); };
if (r.mode !== 'scale' || r.runs !== 1) fail('header');
const keys = {
    partitions: ['broker_cpu_s_per_m_records', 'records_per_s', 'rss_kib_per_partition_written',
                 'broker_rss_mib', 'rss_kib_per_partition', 'startup_s', 'idle_rss_mib',
                 'idle_rss_kib_per_partition', 'metadata_ms'],
    connections: ['broker_cpu_s_per_m_records', 'records_per_s', 'rss_kib_per_connection_idle',
                  'broker_rss_mib', 'rss_kib_per_connection', 'connect_cpu_ms_per_1000'],
};
for (const [g, ks] of Object.entries(keys)) {
    if (r[g].map((p) => p[g]).join(',') !== '1,10') fail(g + ' points');
    for (const p of r[g]) {
        if (p.error) fail(`${g}=${p[g]}: ${p.error}`);
        if (!(p.records >= 2000)) fail(`${g}=${p[g]}: records ${p.records}`);
        for (const k of ks)
            if (!p[k] || !('median' in p[k])) fail(`${g}=${p[g]}: ${k}`);
        if (!(p.broker_cpu_s_per_m_records.median > 0)) fail(`${g}=${p[g]}: cpu`);
    }
}
console.error('scale.json ok');
JS
if [ ${#plot[@]} -gt 0 ]; then
    [ "$(head -c 4 "$WORK/scale.png" | od -An -tx1 | tr -d ' \n')" = 89504e47 ] ||
        fail "scale --plot did not write a PNG"
fi

# ---- 3. no gnuplot: the chart is skipped, the command succeeds ---------------------------
mkdir -p "$WORK/empty-path"
log "scale --plot without gnuplot on PATH"
timeout 120 env PATH="$WORK/empty-path" "$bench" scale --broker "$SPLICELOGD" --partition-list 1 \
    --connection-list 1 --count 500 --plot "$WORK/none.png" >"$WORK/noplot.txt" \
    2>"$WORK/noplot.err" || {
    cat "$WORK/noplot.txt" "$WORK/noplot.err" >&2
    fail "scale --plot failed without gnuplot"
}
grep -q 'no chart' "$WORK/noplot.err" || fail "no message about the missing chart"
[ ! -e "$WORK/none.png" ] || fail "a chart appeared without gnuplot"

# ---- 4. an external broker: consume --bootstrap stops at the high watermark --------------
start_broker ext -o num.partitions=2
clients=(splicelog)
"$bench" --help | grep -q '^clients in this build: splicelog, rdkafka' && clients+=(rdkafka)
run ext-produce produce --bootstrap "$BROKER" --topic ext --count 3000 --runs 1
for cl in "${clients[@]}"; do
    # A watermark stop returns at once; an idle-timeout stop would take 10 s and say so.
    start=$(date +%s)
    run "ext-consume-$cl" consume --client "$cl" --bootstrap "$BROKER" --topic ext --runs 1
    grep -q 'records consumed  *3000$' "$WORK/ext-consume-$cl.txt" ||
        fail "consume --bootstrap --client $cl: not the 3000 records"
    [ $(($(date +%s) - start)) -lt 9 ] || fail "consume --bootstrap --client $cl waited for idle"
    check "ext-consume-$cl" consume 1 throughput
done
# overload on the external broker: its four phases, and every phase's topics deleted after it
run ext-overload overload --bootstrap "$BROKER" --topic ovl --duration 1s --rate 500 --runs 1 \
    --interval 0
node - "$WORK/ext-overload.json" <<'JS' || fail "overload JSON check"
const fs = require('fs');
const r = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));
const fail = (m) => { console.error('ext-overload.json: ' + m); process.exit(1); };
if (r.mode !== 'overload' || r.runs !== 1) fail('header');
const g = r.figures.greedy;
for (const k of ['alone_records_per_s', 'after_records_per_s', 'alone_mean_records_per_s',
                 'loaded_records_per_s'])
    if (!g[k] || !(g[k].median > 0)) fail(`greedy.${k} = ${JSON.stringify(g[k])}`);
for (const s of ['quiet_e2e', 'loaded_e2e', 'quiet_ack', 'loaded_ack'])
    if (!r.figures[s] || !(r.figures[s].p50_ms.median > 0)) fail('no ' + s);
if (r.notes.some((n) => /could not be deleted/.test(n))) fail('topics kept: ' + r.notes);
console.error('ext-overload.json ok');
JS
left=$(kcat -b "$BROKER" -L -J 2>/dev/null | node -e '
let s = ""; process.stdin.on("data", (d) => (s += d)).on("end", () => {
  console.log(JSON.parse(s).topics.map((t) => t.topic).filter((t) => t.startsWith("ovl")).join(" "));
});') || fail "kcat -L"
[ -z "$left" ] || fail "overload left its topics behind: $left"
assert_alive ext

# ---- 5. usage errors -------------------------------------------------------------------
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
usage_error produce --plot x.png
usage_error produce --producers 2
usage_error produce --client kafka-streams
usage_error e2e --rate 0
usage_error e2e --partition-list 1,10
usage_error scale --bootstrap 127.0.0.1:9092
usage_error e2e --bootstrap 127.0.0.1:9092 --broker-set num.network.threads=1
usage_error produce --broker-set no-equals-sign
usage_error scale --partition-list 1,x
usage_error consume --no-such-option
usage_error machine --broker "$SPLICELOGD"
usage_error machine --broker-set num.network.threads=1
usage_error machine --size 0
"$bench" --help | grep -q '^usage: splicelog-bench' || fail "--help"

# ---- 6. machine: the floor under the figures, no broker -----------------------------------
log "machine: --runs 2 --duration 200ms --count 500 --size 4MiB"
timeout --kill-after=5 120 "$bench" machine --runs 2 --duration 200ms --count 500 --size 4MiB \
    --json "$WORK/machine.json" >"$WORK/machine.txt" 2>"$WORK/machine.err" || {
    cat "$WORK/machine.txt" "$WORK/machine.err" >&2
    fail "machine exited with status $?"
}
grep -q '^note: a busy thread here is kept off its CPU for up to' "$WORK/machine.txt" ||
    fail "machine: no stall note"
node - "$WORK/machine.json" <<'JS' || fail "machine JSON check"
const fs = require('fs');
const r = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));
const fail = (m) => { console.error('machine.json: ' + m); process.exit(1); };
if (r.mode !== 'machine' || r.runs !== 2 || r.per_run.length !== 2) fail('header');
if (r.settings.duration_ms !== 200 || r.settings.handoffs !== 500 ||
    r.settings.write_bytes !== 4 * 1024 * 1024) fail('settings ' + JSON.stringify(r.settings));
const lat = ['p50_ms', 'p95_ms', 'p99_ms', 'p99_9_ms', 'p99_99_ms', 'max_ms'];
const want = {
    stalls: ['cpus', 'longest_ms', 'over_1ms_per_cpu_s', 'over_3ms_per_cpu_s', 'lost_percent'],
    handoff_cpu: lat,
    pagecache: ['new_mb_per_s', 'new_cpu_s_per_gib', 'new_fast_mb_per_s',
                'new_fast_cpu_s_per_gib', 'new_slow_mb_per_s', 'new_slow_cpu_s_per_gib',
                'again_mb_per_s', 'again_cpu_s_per_gib', 'slow_over_again_cpu'],
    fdatasync: lat,
};
if (r.machine.cores >= 2) want.handoff_cpus = lat;
for (const [s, ks] of Object.entries(want)) {
    const sec = r.figures[s];
    if (!sec) fail('no section ' + s);
    for (const k of ks) {
        const f = sec[k];
        if (!f || !(typeof f.median === 'number' && f.min <= f.median && f.median <= f.max))
            fail(`${s}.${k} = ${JSON.stringify(f)}`);
    }
}
if (!(r.figures.stalls.cpus.median >= 1)) fail('cpus');
if (!(r.figures.pagecache.new_mb_per_s.median > 0)) fail('page cache MB/s');
const pc = r.figures.pagecache;
if (!(pc.new_fast_cpu_s_per_gib.median <= pc.new_slow_cpu_s_per_gib.median)) fail('windows');
if (!(r.figures.fdatasync.p50_ms.median <= r.figures.fdatasync.max_ms.median)) fail('order');
console.error('machine.json ok');
JS

# ---- 7. the README's tables rendered from the JSON above (scripts/bench-readme.py) -------
if command -v python3 >/dev/null 2>&1; then
    python3 "$ROOT/scripts/bench-readme.py" "$WORK" >"$WORK/readme.md" || fail "bench-readme.py"
    for want in '#### machine' '#### compare' '#### e2e' '#### durable' '#### scale' \
        '| fetch path | MB/s |' '| latency, ms | p50 |' '| longest stall, ms |'; do
        grep -qF "$want" "$WORK/readme.md" || fail "README tables: no '$want'"
    done
    grep '^|' "$WORK/readme.md" | grep -qE '\b(nan|NaN|None|undefined)\b' &&
        fail "README tables: a figure missing"
    log "README tables: $(grep -c '^|' "$WORK/readme.md") table lines"
fi
log "ok"
