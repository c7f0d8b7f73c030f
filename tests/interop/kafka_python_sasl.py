"""kafka_python_sasl.py — kafka-python (Debian's python3-kafka 2.0.2) with SASL SCRAM against
splicelogd, for test_sasl_clients.sh:

    kafka_python_sasl.py BROKER MECH USER PASSWORD TOPIC COUNT

produces COUNT messages to TOPIC (acks=all) and reads them back with a consumer in a group
(kafka-python's SASL is the v0 handshake with raw tokens). Exits non-zero with a reason.
"""
import sys

from kafka import KafkaConsumer, KafkaProducer

broker, mech, user, pw, topic, count = sys.argv[1:7]
count = int(count)
common = dict(bootstrap_servers=broker, security_protocol="SASL_PLAINTEXT",
              sasl_mechanism=mech, sasl_plain_username=user, sasl_plain_password=pw,
              api_version=(2, 0, 0))
p = KafkaProducer(acks="all", **common)
for i in range(count):
    p.send(topic, key=b"k%d" % i, value=b"py-%d" % i)
p.flush(timeout=60)
p.close()
c = KafkaConsumer(topic, group_id="py-group", auto_offset_reset="earliest",
                  consumer_timeout_ms=20000, **common)
got = [m.value for m in c]
c.close()
want = [b"py-%d" % i for i in range(count)]
if got[:count] != want:
    sys.exit("kafka-python read %d messages, first differences: %r" %
             (len(got), [(i, g) for i, (g, w) in enumerate(zip(got, want)) if g != w][:3]))
print("kafka-python %s: %d messages round trip" % (mech, count))
