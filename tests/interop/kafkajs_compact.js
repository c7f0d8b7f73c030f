// kafkajs_compact.js create|produce|consume BROKER TOPIC
//
//   create:  kafkajs' admin creates TOPIC (1 partition) with cleanup.policy=compact and small,
//            quickly rolling segments (segment.bytes, segment.ms, min.cleanable.dirty.ratio,
//            delete.retention.ms as topic configs); a topic with cleanup.policy=squash must be
//            refused. Exits 0 when both went as expected.
//   produce: 30 rounds of updates to keys k0..k39 ("v<round>-<k>"), then a tombstone (null
//            value) for k0..k9.
//   consume: a kafkajs 2.2.4 consumer reads TOPIC from the beginning up to its high watermark
//            and prints "<offset> <key> <value|NULL>" per message (at most 30 s).
'use strict';

const { Kafka, logLevel } = require('kafkajs');

async function main() {
  const [mode, broker, topic] = process.argv.slice(2);
  const kafka = new Kafka({ brokers: [broker], clientId: 'kjs-compact', logLevel: logLevel.WARN });
  if (mode === 'create') {
    const admin = kafka.admin();
    await admin.connect();
    const configEntries = [
      { name: 'cleanup.policy', value: 'compact' },
      { name: 'segment.bytes', value: '8192' },
      { name: 'segment.ms', value: '1000' },
      { name: 'min.cleanable.dirty.ratio', value: '0.01' },
      { name: 'delete.retention.ms', value: '0' },
    ];
    await admin.createTopics({ topics: [{ topic, numPartitions: 1, configEntries }], waitForLeaders: true });
    let refused = false;
    try {
      await admin.createTopics({
        topics: [{ topic: `${topic}-bad`, numPartitions: 1, configEntries: [{ name: 'cleanup.policy', value: 'squash' }] }],
      });
    } catch (e) {
      refused = true;
    }
    await admin.disconnect();
    if (!refused) throw new Error('cleanup.policy=squash was accepted');
    return;
  }
  if (mode === 'produce') {
    const producer = kafka.producer();
    await producer.connect();
    for (let r = 1; r <= 30; r++) {
      const messages = [];
      for (let k = 0; k < 40; k++) messages.push({ key: `k${k}`, value: `v${r}-${k}` });
      await producer.send({ topic, messages });
    }
    const tombs = [];
    for (let k = 0; k < 10; k++) tombs.push({ key: `k${k}`, value: null });
    await producer.send({ topic, messages: tombs });
    await producer.disconnect();
    return;
  }
  if (mode === 'consume') {
    const admin = kafka.admin();
    await admin.connect();
    const offs = await admin.fetchTopicOffsets(topic);
    await admin.disconnect();
    const high = BigInt(offs[0].high);
    const consumer = kafka.consumer({ groupId: `kjs-compact-${process.pid}`, maxWaitTimeInMs: 100 });
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    let done;
    const finished = new Promise((resolve) => (done = resolve));
    const timer = setTimeout(() => done('timeout'), 30000);
    await consumer.run({
      eachBatch: async ({ batch }) => {
        for (const m of batch.messages) {
          const v = m.value === null ? 'NULL' : m.value.toString();
          process.stdout.write(`${m.offset} ${m.key.toString()} ${v}\n`);
        }
        // the batch's last offset (empty batches included) reaching the high watermark
        if (BigInt(batch.lastOffset()) + 1n >= high) done('end');
      },
    });
    const why = await finished;
    clearTimeout(timer);
    await consumer.disconnect();
    if (why !== 'end') throw new Error(`did not reach the high watermark ${high}`);
    return;
  }
  throw new Error(`unknown mode ${mode}`);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
