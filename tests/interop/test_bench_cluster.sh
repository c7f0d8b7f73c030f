#!/usr/bin/env bash
# test_bench_cluster.sh — `splicelog-bench cluster` (issue 18, M5; make bench-cluster) at a
# tiny size, against the ASan broker: it runs, reports every figure, and cleans up. No timing
# is asserted beyond what the mechanism implies.
#   1. cluster --runs 2 (2000 records, 4 MiB caught up, 500 records/s for 1 s, 3 partitions,
#      ZooKeeper sessions of 2 s): exit 0; the table has the command, the machine, "2 runs"
#      and every section; the JSON has mode "cluster", the machine, the settings, and in
#      figures and every per_run entry: the throughput of both sides and their ratio, the
#      leader's CPU per GiB served to followers (raw > 0; the bytes served = what the two
#      followers missed, at least 2 x 4 MiB), e2e and send->ack latencies p50_ms .. max_ms in
#      order with 500 samples each, and failover times: the first ack after the kill no sooner
#      than half a session (the dead leader is noticed only when its session expires) and
#      every partition's no sooner than the first; no record failed; the killed broker was
#      restarted.
#   2. nothing is left behind: no process started by the bench (ZooKeeper, brokers) is running
#      and its temporary directory is gone.
#   3. options that do not belong to cluster (--bootstrap, --acks, --tls) are usage errors.
source "$(dirname "$0")/lib.sh"

need node nodejs
need java default-jre-headless
[ -f /usr/share/java/zookeeper.jar ] ||
    fail "ZooKeeper is not installed (run: make deps-test, or apt-get install zookeeper)"
build="${SPLICELOG_BUILD:-$ROOT/build}"
bench="$build/splicelog-bench"
make -C "$ROOT" --no-print-directory BUILD="$build" "$bench" >"$WORK/make.log" 2>&1 || {
    tail -n 30 "$WORK/make.log" >&2
    fail "cannot build $bench"
}
[ -x "$SPLICELOGD" ] || fail "broker binary $SPLICELOGD not built (make test-build)"
export TMPDIR="$WORK/tmp" WORK
mkdir -p "$TMPDIR"

# ---- 1. a tiny run ------------------------------------------------------------------------
log "splicelog-bench cluster --runs 2 (tiny)"
rc=0
timeout --kill-after=10 600 "$bench" cluster --broker "$SPLICELOGD" --runs 2 --count 2000 \
    --size 4MiB --rate 500 --duration 1s --partitions 3 --interval 0 \
    --broker-set zookeeper.session.timeout.ms=2000 --json "$WORK/cluster.json" \
    >"$WORK/cluster.txt" 2>"$WORK/cluster.err" || rc=$?
if [ $rc -ne 0 ]; then
    cat "$WORK/cluster.txt" "$WORK/cluster.err" >&2
    fail "cluster exited with status $rc"
fi
cat "$WORK/cluster.txt" >&2
grep -q '^command: splicelog-bench cluster ' "$WORK/cluster.txt" || fail "no command line"
grep -q '^machine: .*cores' "$WORK/cluster.txt" || fail "no machine line"
grep -q '^2 runs: median, min, max' "$WORK/cluster.txt" || fail "not 2 runs"
for t in '^throughput' '^the leader serving its 2 followers' '^end-to-end latency' \
    '^send->ack latency' '^failover'; do
    grep -q "$t" "$WORK/cluster.txt" || fail "no section $t in the table"
done
node - <<'JS' || fail "cluster JSON check"
const fs = require('fs');
const r = JSON.parse(fs.readFileSync(process.env.WORK + '/cluster.json', 'utf8'));
const fail = (m) => { console.error('cluster.json: ' + m); process.exit(1); };
if (r.mode !== 'cluster' || !/^splicelog-bench cluster /.test(r.command)) fail('mode/command');
if (r.runs !== 2 || r.per_run.length !== 2) fail('runs ' + r.runs);
if (!r.machine || !(r.machine.cores >= 1) || !/^Linux /.test(r.machine.kernel)) fail('machine');
const s = r.settings;
if (s.brokers !== 3 || s.replication_factor !== 3 || s.partitions !== 3 || s.count !== 2000 ||
    s.catchup_bytes !== 4 << 20 || s.rate !== 500 || s.zookeeper_session_timeout_ms !== 2000)
    fail('settings ' + JSON.stringify(s));
const lat = ['p50_ms', 'p95_ms', 'p99_ms', 'p99_9_ms', 'p99_99_ms', 'max_ms'];
const want = {
    throughput: ['single_records_per_s', 'single_mb_per_s', 'single_broker_cpu_s_per_gib',
                 'rf3_records_per_s', 'rf3_mb_per_s', 'rf3_broker_cpu_s_per_gib',
                 'rf3_over_single'],
    follower_fetch: ['leader_cpu_s_per_gib', 'leader_cpu_raw_s_per_gib',
                     'leader_idle_cpu_ms_per_s', 'served_mib', 'catchup_s', 'catchup_mb_per_s'],
    e2e_latency: lat.concat(['samples']),
    ack_latency: lat.concat(['samples']),
    failover: ['first_ack_ms', 'all_partitions_ms', 'records_failed', 'restart_s'],
};
for (const [sec, keys] of Object.entries(want)) {
    const f = r.figures[sec];
    if (!f) fail('no section ' + sec);
    for (const k of keys) {
        const x = f[k];
        if (!x || x.runs !== 2 || typeof x.median !== 'number' || !(x.min <= x.median) ||
            !(x.median <= x.max))
            fail(`${sec}.${k} = ${JSON.stringify(x)}`);
        for (const pr of r.per_run)
            if (!pr[sec] || typeof pr[sec][k] !== 'number') fail(`per_run ${sec}.${k}`);
    }
}
for (const pr of r.per_run) {
    const t = pr.throughput, c = pr.follower_fetch, fo = pr.failover;
    if (!(t.single_records_per_s > 0 && t.rf3_records_per_s > 0)) fail('throughput');
    const ratio = t.rf3_records_per_s / t.single_records_per_s;
    if (Math.abs(t.rf3_over_single - ratio) > 0.01 + ratio * 0.01) fail('ratio ' + t.rf3_over_single);
    if (!(c.leader_cpu_raw_s_per_gib > 0) || !(c.catchup_s > 0) || !(c.served_mib >= 8))
        fail('follower_fetch ' + JSON.stringify(c));
    for (const sec of ['e2e_latency', 'ack_latency']) {
        const l = pr[sec];
        if (l.samples !== 500) fail(`${sec}.samples ${l.samples}`);
        for (let i = 1; i < lat.length; i++)
            if (!(l[lat[i - 1]] <= l[lat[i]])) fail(`${sec} order ${JSON.stringify(l)}`);
    }
    if (!(fo.first_ack_ms >= 1000) || !(fo.all_partitions_ms >= fo.first_ack_ms) ||
        !(fo.all_partitions_ms < 120000) || fo.records_failed !== 0 || !(fo.restart_s > 0))
        fail('failover ' + JSON.stringify(fo));
}
if (!r.notes.some((n) => /session timeout/.test(n))) fail('no note on the session timeout');
if (r.notes.some((n) => /could not be deleted/.test(n))) fail('measured topics kept');
console.error('cluster.json ok');
JS

# ---- 2. nothing left behind ---------------------------------------------------------------
left=$(find "$TMPDIR" -mindepth 1 -maxdepth 1 | head -n 5)
[ -z "$left" ] || fail "left in TMPDIR: $left"
for p in /proc/[0-9]*; do # a process may exit while we look: its cmdline is then unreadable
    cmd=$({ tr '\0' ' ' <"$p/cmdline"; } 2>/dev/null || true)
    case "$cmd" in
    *"$TMPDIR/"*) fail "process ${p#/proc/} still runs: $cmd" ;;
    esac
done
log "no process or directory left behind"

# ---- 3. usage errors ----------------------------------------------------------------------
for args in "--bootstrap 127.0.0.1:9092" "--acks 1" "--tls" "--runs 0"; do
    rc=0
    # shellcheck disable=SC2086 # args is a list of words
    "$bench" cluster $args >"$WORK/usage.out" 2>&1 || rc=$?
    [ $rc -eq 2 ] || fail "'cluster $args' exited $rc, not 2"
    grep -q '^usage: splicelog-bench' "$WORK/usage.out" || fail "'cluster $args': no usage"
done
log "ok"
