#!/usr/bin/env bash
# test_sasl_clients.sh — real clients over SASL against splicelogd with Kafka's ACL
# authorizer (StandardAuthorizer, super.users=User:admin); users made offline with
# `splicelog user create --data-dir` before the first start:
#   1. kcat (librdkafka 2.0.2) with security.protocol=sasl_ssl and SCRAM-SHA-512 as admin:
#      1,000 lines produced and consumed back identical; kcat as alice (no ACL yet) is refused
#      with "Topic authorization failed"; a wrong password fails the login.
#   2. kafkajs 2.2.4: as admin (SCRAM-SHA-512 over SASL_SSL) CreateAcls/DescribeAcls for alice
#      (topics PREFIXED "js-", every group); then alice with PLAIN over SASL_PLAINTEXT and with
#      SCRAM-SHA-256 over SASL_SSL produces and consumes in a group; a topic outside her prefix
#      is refused; a wrong password fails.
#   3. kafka-python 2.0.2 with SCRAM-SHA-512 (its v0 handshake, raw tokens) as alice.
# Bounded waits throughout.
source "$(dirname "$0")/lib.sh"

need kcat kcat
need openssl openssl
need python3 python3-kafka
HERE="$(cd "$(dirname "$0")" && pwd)"
TOOL="${SPLICELOG_BUILD:-$ROOT/build}/san/splicelog"
[ -x "$TOOL" ] || fail "splicelog tool $TOOL not built (make test-build)"
PY=/usr/bin/python3
$PY -c 'import kafka' 2>/dev/null || fail "python3-kafka is not installed"
T=120

need_kafkajs

certs="$WORK/certs"
bash "$ROOT/tests/support/tb_certs.sh" "$certs" >/dev/null || fail "tb_certs.sh failed"

data="$WORK/broker-sec/data"
mkdir -p "$data"
for m in SCRAM-SHA-256 SCRAM-SHA-512; do
    "$TOOL" user create --data-dir "$data" --name admin --password admin-secret --mechanism $m \
        >/dev/null || fail "user create admin $m"
    "$TOOL" user create --data-dir "$data" --name alice --password alice-secret --mechanism $m \
        >/dev/null || fail "user create alice $m"
done
BROKER_DIR[sec]="$WORK/broker-sec"

start_broker sec \
    -o "listeners=PLAINTEXT://127.0.0.1:0,SASL_SSL://127.0.0.1:0,SASL_PLAINTEXT://127.0.0.1:0" \
    -o "ssl.certificate.location=$certs/server.pem" -o "ssl.key.location=$certs/server.key" \
    -o "authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer" \
    -o "super.users=User:admin" -o "sasl.enabled.mechanisms=PLAIN,SCRAM-SHA-256,SCRAM-SHA-512"
port_of() { awk -v n="$1" '$1 == n { print $2 }' "${BROKER_DIR[sec]}/port"; }
SSL_PORT="$(port_of SASL_SSL)"
PLAIN_PORT="$(port_of SASL_PLAINTEXT)"
[ -n "$SSL_PORT" ] && [ -n "$PLAIN_PORT" ] || fail "no SASL lines in the port file"

# ---- 1. kcat, sasl_ssl, SCRAM-SHA-512 ---------------------------------------------------------
kc() { # USER PASSWORD [kcat args]
    local u="$1" p="$2"
    shift 2
    timeout --kill-after=5 "$T" kcat -b "127.0.0.1:$SSL_PORT" -X security.protocol=sasl_ssl \
        -X "ssl.ca.location=$certs/ca.pem" -X sasl.mechanisms=SCRAM-SHA-512 \
        -X "sasl.username=$u" -X "sasl.password=$p" "$@"
}
seq -f 'line %06g' 1 1000 >"$WORK/lines.txt"
kc admin admin-secret -P -t kc-topic <"$WORK/lines.txt" || fail "kcat -P as admin failed"
kc admin admin-secret -C -t kc-topic -o beginning -e -q >"$WORK/out.txt" || fail "kcat -C failed"
cmp "$WORK/lines.txt" "$WORK/out.txt" || fail "kcat over SASL_SSL: lines differ"
grep -q "authenticated as User:admin (SCRAM-SHA-512)" "$(broker_log sec)" ||
    fail "the broker did not log admin's SCRAM-SHA-512 login"
log "kcat sasl_ssl SCRAM-SHA-512: 1,000 lines identical"
if echo x | kc alice alice-secret -P -t kc-topic 2>"$WORK/denied.err"; then
    fail "kcat as alice produced without an ACL"
fi
grep -qi "authorization" "$WORK/denied.err" || {
    cat "$WORK/denied.err" >&2
    fail "kcat as alice: no authorization error"
}
if kc alice wrong -L >/dev/null 2>"$WORK/badpw.err"; then fail "kcat logged in with a wrong password"; fi
grep -qi "authentication" "$WORK/badpw.err" || fail "kcat: no authentication error for a wrong password"
log "kcat: alice refused without an ACL; wrong password refused"

# ---- 2. kafkajs ---------------------------------------------------------------------------------
js() { KAFKAJS_NO_PARTITIONER_WARNING=1 timeout --kill-after=5 "$T" node "$HERE/kafkajs_sasl.js" "$@"; }
js acls "127.0.0.1:$SSL_PORT" "$certs/ca.pem" scram-sha-512 admin admin-secret User:alice js- ||
    fail "kafkajs CreateAcls/DescribeAcls as admin failed"
js roundtrip "127.0.0.1:$PLAIN_PORT" - plain alice alice-secret js-plain js-g1 200 ||
    fail "kafkajs PLAIN round trip as alice failed"
js roundtrip "127.0.0.1:$SSL_PORT" "$certs/ca.pem" scram-sha-256 alice alice-secret js-scram js-g2 200 ||
    fail "kafkajs SCRAM-SHA-256 over SASL_SSL round trip as alice failed"
js denied "127.0.0.1:$PLAIN_PORT" - plain alice alice-secret kc-topic ||
    fail "kafkajs: alice was not refused a topic outside her prefix"
js badlogin "127.0.0.1:$PLAIN_PORT" - scram-sha-512 alice wrong || fail "kafkajs: wrong password not refused"
log "kafkajs: ACLs made as admin; alice's PLAIN and SCRAM-SHA-256 round trips; refusals"

# ---- 3. kafka-python, SCRAM-SHA-512 ---------------------------------------------------------------
js acls "127.0.0.1:$SSL_PORT" "$certs/ca.pem" scram-sha-512 admin admin-secret User:alice py- ||
    fail "kafkajs CreateAcls for py- failed"
kc admin admin-secret -P -t py-topic </dev/null || true # creates it (auto-create as admin)
timeout --kill-after=5 "$T" $PY "$HERE/kafka_python_sasl.py" "127.0.0.1:$PLAIN_PORT" SCRAM-SHA-512 \
    alice alice-secret py-topic 100 || fail "kafka-python SCRAM-SHA-512 round trip failed"

assert_alive sec
stop_broker sec
log "PASS"
