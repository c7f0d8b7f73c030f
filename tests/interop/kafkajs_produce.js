// kafkajs_produce.js BROKER TOPIC COUNT EXPECTED_FILE [PARTITIONS]
//
// Sends COUNT messages with keys and two headers each through a kafkajs 2.2.4 producer
// (acks -1, in batches of 500, awaiting every send), then writes what a consumer must see to
// EXPECTED_FILE: one JSON object per line {key, headers: [k, v, ...], value}, in send order
// (offset order when the topic has one partition). With PARTITIONS > 1 the topic is first
// created through kafkajs' admin client (CreateTopics), and each send spreads over the
// partitions, so one Produce request carries several partitions. Exits non-zero on any
// error; bounded by the caller's `timeout`.
'use strict';

const fs = require('fs');
const { Kafka, logLevel } = require('kafkajs');

function message(i, partitions) {
  // Printable, varied lengths, no tabs or newlines (so the comparison is exact and simple).
  // Over several partitions 53 keys repeat, so each key's order can be checked.
  const pad = 'abcdefghijklmnopqrstuvwxyz'.repeat(8).slice(0, (i * 37) % 200);
  return {
    key: partitions > 1 ? `key-${i % 53}` : `key-${i % 997}-${i}`,
    value: `value-${i}-${pad}`,
    headers: { 'trace-id': `t-${i}`, idx: String(i) },
  };
}

async function main() {
  const [broker, topic, countArg, expectedFile, partitionsArg] = process.argv.slice(2);
  const count = Number(countArg);
  const partitions = Number(partitionsArg || 1);
  if (!broker || !topic || !(count > 0) || !expectedFile) {
    throw new Error('usage: kafkajs_produce.js BROKER TOPIC COUNT EXPECTED_FILE');
  }
  const kafka = new Kafka({
    clientId: 'splicelog-interop',
    brokers: [broker],
    logLevel: logLevel.WARN,
    retry: { retries: 3 },
    connectionTimeout: 10000,
    requestTimeout: 30000,
  });
  if (partitions > 1) {
    const admin = kafka.admin();
    await admin.connect();
    const created = await admin.createTopics({
      waitForLeaders: true,
      topics: [{ topic, numPartitions: partitions, replicationFactor: 1 }],
    });
    if (!created) throw new Error(`admin.createTopics(${topic}) reported it already exists`);
    const md = await admin.fetchTopicMetadata({ topics: [topic] });
    const n = md.topics[0].partitions.length;
    if (n !== partitions) throw new Error(`topic has ${n} partitions, asked for ${partitions}`);
    await admin.disconnect();
  }
  const producer = kafka.producer({ allowAutoTopicCreation: true });
  await producer.connect();
  const expected = [];
  for (let start = 0; start < count; start += 500) {
    const messages = [];
    for (let i = start; i < Math.min(count, start + 500); i++) {
      const m = message(i, partitions);
      messages.push(m);
      const headers = [];
      for (const [k, v] of Object.entries(m.headers)) headers.push(k, v);
      expected.push(JSON.stringify({ key: m.key, headers, value: m.value }));
    }
    const res = await producer.send({ topic, acks: -1, messages });
    for (const r of res) {
      if (r.errorCode !== 0) throw new Error(`produce error ${JSON.stringify(r)}`);
    }
  }
  await producer.disconnect();
  fs.writeFileSync(expectedFile, expected.join('\n') + '\n');
}

main().catch((e) => {
  console.error(`kafkajs_produce: ${e && e.stack ? e.stack : e}`);
  process.exit(1);
});
