"""admin_kafka_python — kafka-python 2.0.2's KafkaAdminClient (Debian python3-kafka) against
splicelogd: topics, partitions, configs and consumer groups. One line per scenario, "PASS name"
or "FAIL name: why", then "N passed, M failed"; exit 0 only when every scenario passed.

    python3 admin_kafka_python.py BROKER GROUP   (GROUP: a group kcat consumed in, Stable)
"""
import sys

from kafka.admin import (ConfigResource, ConfigResourceType, KafkaAdminClient, NewPartitions,
                         NewTopic)

broker, group = sys.argv[1], sys.argv[2]
results = []


def scenario(name, fn):
    try:
        fn()
        results.append(True)
        print("PASS " + name, flush=True)
    except Exception as e:  # every failure is a result, the next scenario still runs
        results.append(False)
        print("FAIL %s: %r" % (name, e), flush=True)


def expect(cond, what):
    if not cond:
        raise AssertionError(what)


admin = KafkaAdminClient(bootstrap_servers=broker, client_id="kp-admin", request_timeout_ms=15000)


def create():
    r = admin.create_topics([NewTopic("kpa", 2, 1, topic_configs={"retention.ms": "3600000"})])
    expect(all(e[1] == 0 for e in r.topic_errors), r)


def create_rf3():
    try:
        admin.create_topics([NewTopic("kpa-rf3", 1, 3)])
    except Exception as e:
        expect("InvalidReplicationFactor" in repr(e), e)
        return
    raise AssertionError("replication factor 3 accepted")


def listed():
    expect("kpa" in admin.list_topics(), admin.list_topics())


def described():
    md = admin.describe_topics(["kpa"])
    expect(len(md) == 1 and md[0]["error_code"] == 0 and len(md[0]["partitions"]) == 2, md)


def grow():
    r = admin.create_partitions({"kpa": NewPartitions(4)})
    expect(all(e[1] == 0 for e in r.topic_errors), r)
    md = admin.describe_topics(["kpa"])
    expect(len(md[0]["partitions"]) == 4, md)


def entries(resource):
    r = admin.describe_configs([resource])
    res = r[0].resources[0]
    expect(res[0] == 0, res)
    return {e[0]: e[1] for e in res[4]}


def describe_topic_configs():
    e = entries(ConfigResource(ConfigResourceType.TOPIC, "kpa"))
    expect(e.get("retention.ms") == "3600000", e)


def alter():
    r = admin.alter_configs([ConfigResource(ConfigResourceType.TOPIC, "kpa",
                                            configs={"retention.bytes": "1048576"})])
    expect(r.resources[0][0] == 0, r)
    e = entries(ConfigResource(ConfigResourceType.TOPIC, "kpa"))
    expect(e.get("retention.bytes") == "1048576", e)


def describe_broker_configs():
    e = entries(ConfigResource(ConfigResourceType.BROKER, "0"))
    expect("log.retention.ms" in e and "num.partitions" in e, e)


def list_groups():
    gs = admin.list_consumer_groups()
    expect((group, "consumer") in gs, gs)


def describe_groups():
    d = admin.describe_consumer_groups([group])
    expect(len(d) == 1 and d[0].state in ("Stable", "Empty") and d[0].protocol_type == "consumer", d)


def group_offsets():
    offs = admin.list_consumer_group_offsets(group)
    expect(sum(o.offset for o in offs.values()) > 0, offs)


def delete():
    r = admin.delete_topics(["kpa"])
    expect(all(e[1] == 0 for e in r.topic_error_codes), r)
    expect("kpa" not in admin.list_topics(), admin.list_topics())


for name, fn in [("create_topics with a config", create),
                 ("create_topics replication factor 3 refused", create_rf3),
                 ("list_topics", listed), ("describe_topics", described),
                 ("create_partitions 2 -> 4", grow),
                 ("describe_configs topic", describe_topic_configs),
                 ("alter_configs topic", alter),
                 ("describe_configs broker", describe_broker_configs),
                 ("list_consumer_groups", list_groups),
                 ("describe_consumer_groups", describe_groups),
                 ("list_consumer_group_offsets", group_offsets),
                 ("delete_topics", delete)]:
    scenario(name, fn)
admin.close()
print("%d passed, %d failed" % (results.count(True), results.count(False)))
sys.exit(0 if all(results) else 1)
