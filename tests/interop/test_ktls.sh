#!/usr/bin/env bash
# test_ktls.sh — kernel TLS (issue 5) where the kernel has the tls module. `make test-ktls`
# runs it inside a QEMU VM on Debian's kernel (scripts/ktls-vm.sh, which sets
# SPLICELOG_KTLS_REQUIRED=1); under `make test` on a kernel without the module it reports
# the probe and skips, since there is nothing to run.
#   1. build/san/tests/test_br_tls: its kTLS probe must say "available", its
#      test_ktls_sendfile_where_available must run (not skip) and pass, and the kernel's
#      TlsTxSw counter (/proc/net/tls_stat) must have grown: a kTLS send was set up.
#   2. the broker with an SSL listener and ssl.ktls.enable=true: 10,000 lines and a 900 KiB
#      message produced and consumed with kcat over SSL, byte-identical. The listener must
#      say ktls-sendfile, sessions must say "kernel TLS send", the kernel's TlsTxSw must grow
#      and no send may fail.
#   3. build/san/itests/test_tls and test_client_tls (libsplicelog), the SSL integration
#      suites, against a broker whose sessions really take kernel TLS here.
# Certificates are generated at run time by tests/support/tb_certs.sh. Bounded waits only.
# shellcheck source=tests/interop/lib.sh
source "$(dirname "$0")/lib.sh"

need kcat kcat
need openssl openssl
T=300 # bound for one kcat run (ASan broker; under TCG emulation in the VM)
required="${SPLICELOG_KTLS_REQUIRED:-0}"

# tls_tx_sw — kernel TLS software TX sessions opened so far in this network namespace.
tls_tx_sw() {
    awk '$1 == "TlsTxSw" { print $2; found = 1 } END { if (!found) print 0 }' \
        /proc/net/tls_stat 2>/dev/null || echo 0
}

# ---- 1. the unit suite's kTLS tests ------------------------------------------------------
unit="$ROOT/build/san/tests/test_br_tls"
[ -x "$unit" ] || fail "$unit not built (make test-build)"
tx0="$(tls_tx_sw)"
rc=0
timeout --kill-after=10 600 "$unit" >"$WORK/unit.log" 2>&1 || rc=$?
cat "$WORK/unit.log" >&2
probe="$(grep -a '^kTLS probe: ' "$WORK/unit.log" | tail -n 1 || true)"
[ -n "$probe" ] || fail "test_br_tls printed no kTLS probe line (exit $rc)"
log "$probe"
if ! grep -q '^kTLS probe: kernel TLS available' <<<"$probe"; then
    [ "$required" = 1 ] && fail "kernel TLS is required here but the probe says it is unavailable"
    [ $rc -eq 0 ] || fail "test_br_tls failed (exit $rc)"
    log "skipped: this kernel has no kernel TLS; run make test-ktls for a kernel that has it"
    exit 0
fi
[ $rc -eq 0 ] || fail "test_br_tls failed (exit $rc)"
if grep -aq -e '^skipped: ' -e 'skipped sendfile' "$WORK/unit.log"; then
    fail "the kTLS sendfile test skipped although the probe says kernel TLS is available"
fi
tx1="$(tls_tx_sw)"
[ "$tx1" -gt "$tx0" ] ||
    fail "TlsTxSw did not grow ($tx0 -> $tx1): no kernel TLS send session was set up"
log "test_br_tls: kTLS sendfile ran; kernel TLS TX sessions $tx0 -> $tx1"

# ---- 2. the broker's SSL listener with ssl.ktls.enable=true ------------------------------
certs="$WORK/certs"
bash "$ROOT/tests/support/tb_certs.sh" "$certs" || fail "tb_certs.sh failed"
ssl_port() { awk '$1 == "SSL" { print $2 }' "${BROKER_DIR[$1]}/port"; }
kcs() {
    timeout --kill-after=5 "$T" kcat -b "127.0.0.1:$SP" -X security.protocol=ssl \
        -X "ssl.ca.location=$certs/ca.pem" "$@"
}

tx0="$(tls_tx_sw)"
start_broker ssl -o "listeners=PLAINTEXT://127.0.0.1:0,SSL://127.0.0.1:0" \
    -o "ssl.certificate.location=$certs/server.pem" -o "ssl.key.location=$certs/server.key" \
    -o "ssl.ca.location=$certs/ca.pem" -o ssl.ktls.enable=true
SP="$(ssl_port ssl)"
[ -n "$SP" ] || fail "no SSL line in the port file"
blog="$(broker_log ssl)"
lline="$(grep -a 'listener SSL' "$blog" | head -n 1 || true)"
[ -n "$lline" ] || fail "start-up log has no line for the SSL listener"
path="$(sed -n 's/.*fetch path \([A-Za-z0-9_-]*\).*/\1/p' <<<"$lline")"
log "broker probe: $(grep -a -o 'kernel TLS [a-z]*' "$blog" | head -n 1 || true)"
log "SSL listener fetch path: ${path:-unknown} ($lline)"

awk 'BEGIN {
    for (i = 0; i < 10000; i++) {
        printf "ktls %05d ", i
        n = (i * 7919) % 180
        for (j = 0; j < n; j++) printf "%c", 97 + (i + j) % 26
        printf "\n"
    }
}' >"$WORK/lines.txt"
kcs -P -t lines -X linger.ms=20 <"$WORK/lines.txt" || fail "kcat -P over SSL failed"
kcs -C -t lines -o beginning -e -q >"$WORK/lines.out" || fail "kcat -C over SSL failed"
if ! cmp "$WORK/lines.txt" "$WORK/lines.out"; then
    log "produced $(wc -l <"$WORK/lines.txt") lines, consumed $(wc -l <"$WORK/lines.out")"
    fail "lines consumed over SSL differ from the produced ones"
fi
log "10,000 lines over SSL round trip identical"

head -c $((900 * 1024)) /dev/urandom >"$WORK/big.bin"
kcs -P -t big -X message.max.bytes=2000000 "$WORK/big.bin" || fail "big: kcat -P failed"
kcs -C -t big -o beginning -e -q -c 1 -f '%s' -X fetch.message.max.bytes=2000000 \
    >"$WORK/big.out" || fail "big: kcat -C failed"
cmp "$WORK/big.bin" "$WORK/big.out" || fail "big: 900 KiB message differs over SSL"
log "900 KiB message over SSL identical"

assert_alive ssl
stop_broker ssl TERM
tx1="$(tls_tx_sw)"
# ---- the broker really sent through kernel TLS ------------------------------------------
log "kernel TLS TX sessions opened by the broker section: $((tx1 - tx0)); fetch path ${path:-unknown}"
grep -a 'fetch path ktls' "$blog" | head -n 3 >&2 || true
[ "$path" = ktls-sendfile ] || fail "SSL listener fetch path is ${path:-unknown}, not ktls-sendfile"
[ $((tx1 - tx0)) -gt 0 ] || fail "the broker opened no kernel TLS send session"
grep -q 'fetch path ktls-sendfile, kernel TLS send' "$blog" || fail "no session took kernel TLS"
if grep -a 'send failed\|transfer failed' "$blog" >&2; then
    fail "a send failed on a kernel TLS session"
fi

# ---- 3. the TLS integration suites with the kernel taking the keys ------------------------
for suite in test_tls test_client_tls; do
    itest="$ROOT/build/san/itests/$suite"
    [ -x "$itest" ] || fail "$itest not built (make test-build)"
    rc=0
    SPLICELOGD="$SPLICELOGD" timeout --kill-after=10 900 "$itest" >"$WORK/$suite.log" 2>&1 || rc=$?
    cat "$WORK/$suite.log" >&2
    [ $rc -eq 0 ] || fail "$suite failed with kernel TLS available (exit $rc)"
    log "$suite: passed with kernel TLS available"
done

log "test_ktls: all passed"
