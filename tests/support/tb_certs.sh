#!/usr/bin/env bash
# tb_certs.sh DIR — generate the TLS test certificates into DIR with the openssl command line.
# Used by the test suites at run time (certificates are never committed).
#
#   ca.pem, ca.key           a self-signed CA ("splicelog test CA")
#   server.pem, server.key   signed by the CA; subjectAltName IP:127.0.0.1, DNS:localhost
#   server-enc.key           server.key encrypted with the passphrase in server-enc.pass
#   client.pem, client.key   a client certificate signed by the CA (CN=splicelog-client)
#   rogue.pem, rogue.key     a self-signed client certificate no CA vouches for (CN=rogue)
#   broker.pem, broker.key   signed by the CA for server and client use (serverAuth and
#                            clientAuth; IP:127.0.0.1, DNS:localhost): SSL inter-broker listeners
#   other-ca.pem             a second CA that signed nothing here
#
# Keys are EC P-256 (fast to generate). Exit status 0 when every file exists.
set -euo pipefail
dir="${1:?usage: tb_certs.sh DIR}"
mkdir -p "$dir"
cd "$dir"
days=30
ossl() { openssl "$@" 2>>openssl.log; }
key() { ossl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1"; }

key ca.key
ossl req -x509 -new -key ca.key -sha256 -days "$days" -subj "/CN=splicelog test CA" \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
    -out ca.pem

key other-ca.key
ossl req -x509 -new -key other-ca.key -sha256 -days "$days" -subj "/CN=splicelog other CA" \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
    -out other-ca.pem

cat >server.ext <<'EXT'
basicConstraints=CA:FALSE
keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=serverAuth
subjectAltName=IP:127.0.0.1,DNS:localhost
EXT
key server.key
ossl req -new -key server.key -subj "/CN=localhost" -out server.csr
ossl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -sha256 -days "$days" \
    -extfile server.ext -out server.pem

echo "splicelog-test-pass" >server-enc.pass
ossl pkey -in server.key -aes256 -passout file:server-enc.pass -out server-enc.key

cat >client.ext <<'EXT'
basicConstraints=CA:FALSE
keyUsage=critical,digitalSignature
extendedKeyUsage=clientAuth
EXT
key client.key
ossl req -new -key client.key -subj "/CN=splicelog-client" -out client.csr
ossl x509 -req -in client.csr -CA ca.pem -CAkey ca.key -CAcreateserial -sha256 -days "$days" \
    -extfile client.ext -out client.pem

# a broker's certificate for SSL inter-broker listeners: a server and a client at once
cat >broker.ext <<'EXT'
basicConstraints=CA:FALSE
keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=serverAuth,clientAuth
subjectAltName=IP:127.0.0.1,DNS:localhost
EXT
key broker.key
ossl req -new -key broker.key -subj "/CN=splicelog-broker" -out broker.csr
ossl x509 -req -in broker.csr -CA ca.pem -CAkey ca.key -CAcreateserial -sha256 -days "$days" \
    -extfile broker.ext -out broker.pem

key rogue.key
ossl req -x509 -new -key rogue.key -sha256 -days "$days" -subj "/CN=rogue" -out rogue.pem

for f in ca.pem server.pem server.key broker.pem broker.key server-enc.key client.pem client.key rogue.pem rogue.key; do
    [ -s "$f" ] || { echo "tb_certs.sh: $f missing" >&2; exit 1; }
done
