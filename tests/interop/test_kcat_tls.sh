#!/usr/bin/env bash
# test_kcat_tls.sh — kcat (librdkafka 2.0.2) over SSL listeners of splicelogd:
#   1. listeners=PLAINTEXT,SSL; kcat -X security.protocol=ssl -X ssl.ca.location=ca.pem:
#      100,000 lines produced and consumed back byte-identical; the same topic read over the
#      plaintext listener is identical too; kcat -L over SSL advertises the SSL port.
#   2. a 900 KiB message over SSL, byte-identical.
#   3. ssl.client.auth=required: kcat with a CA-signed client certificate works; kcat without
#      one, and with a self-signed one, is refused (the broker logs the refusal with the
#      peer's address) and the broker keeps serving.
#   4. wrong protocol: plaintext kcat on the SSL port and SSL kcat on the plaintext port both
#      fail; the broker logs both and keeps serving.
# Certificates are generated at run time by tests/support/tb_certs.sh. Bounded waits only.
source "$(dirname "$0")/lib.sh"

need kcat kcat
need openssl openssl
T=120 # bound for one kcat run (ASan broker, 2 shared cores)

certs="$WORK/certs"
bash "$ROOT/tests/support/tb_certs.sh" "$certs" || fail "tb_certs.sh failed"

# ssl_port NAME — the SSL listener's port from the broker's port file ("NAME PORT" lines).
ssl_port() { awk '$1 == "SSL" { print $2 }' "${BROKER_DIR[$1]}/port"; }

tls_args=(-o "listeners=PLAINTEXT://127.0.0.1:0,SSL://127.0.0.1:0"
    -o "ssl.certificate.location=$certs/server.pem"
    -o "ssl.key.location=$certs/server.key"
    -o "ssl.ca.location=$certs/ca.pem")

# kcs PORT [kcat args] — kcat over SSL trusting the test CA.
kcs() {
    local port="$1"
    shift
    timeout --kill-after=5 "$T" kcat -b "127.0.0.1:$port" -X security.protocol=ssl \
        -X "ssl.ca.location=$certs/ca.pem" "$@"
}
kcp() {
    local port="$1"
    shift
    timeout --kill-after=5 "$T" kcat -b "127.0.0.1:$port" "$@"
}

# ---- 1. 100,000 lines over SSL -----------------------------------------------------------
start_broker tls "${tls_args[@]}"
SP="$(ssl_port tls)"
[ -n "$SP" ] || fail "no SSL line in the port file"
PP="$PORT_tls"
grep -q "listener SSL.*tls-copy\|listener SSL.*ktls" "$(broker_log tls)" ||
    fail "start-up log does not name the SSL listener's path"

lines="$WORK/lines.txt"
awk 'BEGIN {
    for (i = 0; i < 100000; i++) {
        printf "line %06d ", i
        n = (i * 7919) % 180
        for (j = 0; j < n; j++) printf "%c", 97 + (i + j) % 26
        printf "\n"
    }
}' >"$lines"
kcs "$SP" -P -t lines -X linger.ms=20 <"$lines" || fail "kcat -P over SSL failed"
kcs "$SP" -C -t lines -o beginning -e -q >"$WORK/out-ssl.txt" || fail "kcat -C over SSL failed"
if ! cmp "$lines" "$WORK/out-ssl.txt"; then
    log "produced $(wc -l <"$lines") lines, consumed $(wc -l <"$WORK/out-ssl.txt")"
    fail "lines consumed over SSL differ from the produced ones"
fi
kcp "$PP" -C -t lines -o beginning -e -q >"$WORK/out-plain.txt" || fail "kcat -C plaintext failed"
cmp "$lines" "$WORK/out-plain.txt" || fail "lines consumed over PLAINTEXT differ"
kcs "$SP" -L >"$WORK/list.txt" || fail "kcat -L over SSL failed"
grep -q "broker [0-9]* at 127.0.0.1:$SP" "$WORK/list.txt" || {
    cat "$WORK/list.txt" >&2
    fail "kcat -L over SSL: the advertised broker is not the SSL listener"
}
log "100,000 lines over SSL round trip identical"

# ---- 2. a 900 KiB message ----------------------------------------------------------------
head -c $((900 * 1024)) /dev/urandom >"$WORK/big.bin"
kcs "$SP" -P -t big -X message.max.bytes=2000000 "$WORK/big.bin" || fail "big: kcat -P failed"
kcs "$SP" -C -t big -o beginning -e -q -c 1 -f '%s' -X fetch.message.max.bytes=2000000 \
    >"$WORK/big.out" || fail "big: kcat -C failed"
cmp "$WORK/big.bin" "$WORK/big.out" || fail "big: 900 KiB message differs over SSL"
log "900 KiB message over SSL identical"

# ---- 4. wrong protocol on either port ----------------------------------------------------
if timeout 30 kcat -b "127.0.0.1:$SP" -L -m 3 >"$WORK/wrong1.txt" 2>&1; then
    fail "plaintext kcat on the SSL port got metadata"
fi
if timeout 30 kcat -b "127.0.0.1:$PP" -X security.protocol=ssl -X "ssl.ca.location=$certs/ca.pem" \
    -L -m 3 >"$WORK/wrong2.txt" 2>&1; then
    fail "SSL kcat on the plaintext port got metadata"
fi
grep -q "not a TLS client" "$(broker_log tls)" || fail "no log line for plaintext on the SSL port"
grep -q "TLS handshake on a PLAINTEXT listener" "$(broker_log tls)" ||
    fail "no log line for TLS on the plaintext port"
assert_alive tls
kcs "$SP" -C -t big -o beginning -e -q -c 1 -f '%s' -X fetch.message.max.bytes=2000000 \
    >"$WORK/big2.out" || fail "kcat over SSL after wrong-protocol clients failed"
cmp "$WORK/big.bin" "$WORK/big2.out" || fail "big message differs after wrong-protocol clients"
stop_broker tls TERM
log "wrong-protocol clients dropped; broker kept serving"

# ---- 3. client certificates required -----------------------------------------------------
start_broker auth "${tls_args[@]}" -o ssl.client.auth=required
SP="$(ssl_port auth)"
seq 1 1000 | sed 's/^/auth-/' >"$WORK/auth.txt"
kcs "$SP" -X "ssl.certificate.location=$certs/client.pem" -X "ssl.key.location=$certs/client.key" \
    -P -t auth <"$WORK/auth.txt" || fail "auth: kcat with a client certificate could not produce"
kcs "$SP" -X "ssl.certificate.location=$certs/client.pem" -X "ssl.key.location=$certs/client.key" \
    -C -t auth -o beginning -e -q >"$WORK/auth.out" || fail "auth: kcat -C with a certificate failed"
cmp "$WORK/auth.txt" "$WORK/auth.out" || fail "auth: consumed records differ"
if timeout 30 kcat -b "127.0.0.1:$SP" -X security.protocol=ssl -X "ssl.ca.location=$certs/ca.pem" \
    -L -m 3 >"$WORK/nocert.txt" 2>&1; then
    fail "auth: kcat without a client certificate got metadata"
fi
if timeout 30 kcat -b "127.0.0.1:$SP" -X security.protocol=ssl -X "ssl.ca.location=$certs/ca.pem" \
    -X "ssl.certificate.location=$certs/rogue.pem" -X "ssl.key.location=$certs/rogue.key" \
    -L -m 3 >"$WORK/rogue.txt" 2>&1; then
    fail "auth: kcat with a self-signed client certificate got metadata"
fi
grep -q "peer=127.0.0.1:[0-9]*: TLS handshake refused" "$(broker_log auth)" ||
    fail "auth: refusals are not logged with the peer address"
assert_alive auth
kcs "$SP" -X "ssl.certificate.location=$certs/client.pem" -X "ssl.key.location=$certs/client.key" \
    -L >/dev/null || fail "auth: the broker stopped serving certified clients"
stop_broker auth TERM
log "client auth: certified kcat served, uncertified and self-signed refused"

log "test_kcat_tls: all passed"
