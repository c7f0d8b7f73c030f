"""admin_confluent — confluent-kafka-python's AdminClient (Debian python3-confluent-kafka,
on librdkafka 2.0.2) against splicelogd. One line per scenario, "PASS name" or
"FAIL name: why", then "N passed, M failed"; exit 0 only when every scenario passed.

    python3 admin_confluent.py BROKER GROUP   (GROUP: a group kcat consumed in)
"""
import sys

from confluent_kafka.admin import AdminClient, ConfigResource, NewPartitions, NewTopic

broker, group = sys.argv[1], sys.argv[2]
admin = AdminClient({"bootstrap.servers": broker, "client.id": "ck-admin"})
results = []


def scenario(name, fn):
    try:
        fn()
        results.append(True)
        print("PASS " + name, flush=True)
    except Exception as e:
        results.append(False)
        print("FAIL %s: %r" % (name, e), flush=True)


def expect(cond, what):
    if not cond:
        raise AssertionError(what)


def one(fs):
    (f,) = fs.values()
    return f.result(15)


def create():
    one(admin.create_topics([NewTopic("cka", 2, 1, config={"retention.ms": "3600000"})]))


def create_validate_only():
    one(admin.create_topics([NewTopic("cka-v", 2, 1)], validate_only=True))
    expect("cka-v" not in admin.list_topics(timeout=10).topics, "created by validate_only")


def create_rf3():
    try:
        one(admin.create_topics([NewTopic("cka-rf3", 1, 3)]))
    except Exception as e:
        expect("REPLICATION_FACTOR" in repr(e).upper(), e)
        return
    raise AssertionError("replication factor 3 accepted")


def grow():
    one(admin.create_partitions([NewPartitions("cka", 3)]))
    md = admin.list_topics(topic="cka", timeout=10)
    expect(len(md.topics["cka"].partitions) == 3, md.topics["cka"].partitions)


def grow_shrink_refused():
    try:
        one(admin.create_partitions([NewPartitions("cka", 2)]))
    except Exception as e:
        expect("INVALID_PARTITIONS" in repr(e).upper(), e)
        return
    raise AssertionError("shrinking accepted")


def describe_topic():
    c = one(admin.describe_configs([ConfigResource("topic", "cka")]))
    r = c["retention.ms"]
    expect(r.value == "3600000" and r.source == 1, (r.value, r.source))  # DYNAMIC_TOPIC_CONFIG
    syn = [(s.name, s.source) for s in r.synonyms.values()]
    expect(("log.retention.ms", 5) in syn, syn)


def alter():
    one(admin.alter_configs([ConfigResource("topic", "cka", set_config={"retention.bytes": "2097152"})]))
    c = one(admin.describe_configs([ConfigResource("topic", "cka")]))
    expect(c["retention.bytes"].value == "2097152", c["retention.bytes"])


def describe_broker():
    c = one(admin.describe_configs([ConfigResource("broker", "0")]))
    expect("num.partitions" in c, list(c))


def list_groups():
    gs = admin.list_groups(timeout=10)
    expect(any(g.id == group for g in gs), [g.id for g in gs])


def describe_group():
    gs = admin.list_groups(group, timeout=10)
    expect(len(gs) == 1 and gs[0].protocol_type == "consumer", [(g.id, g.state) for g in gs])


def delete():
    one(admin.delete_topics(["cka"]))


for name, fn in [("create_topics with a config", create),
                 ("create_topics validate_only", create_validate_only),
                 ("create_topics replication factor 3 refused", create_rf3),
                 ("create_partitions 2 -> 3", grow),
                 ("create_partitions below the count refused", grow_shrink_refused),
                 ("describe_configs topic (source, synonyms)", describe_topic),
                 ("alter_configs topic", alter),
                 ("describe_configs broker", describe_broker),
                 ("list_groups", list_groups),
                 ("list_groups one group (DescribeGroups)", describe_group),
                 ("delete_topics", delete)]:
    scenario(name, fn)
print("%d passed, %d failed" % (results.count(True), results.count(False)))
sys.exit(0 if all(results) else 1)
