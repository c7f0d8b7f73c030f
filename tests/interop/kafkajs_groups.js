// kafkajs_groups.js — consumer-group steps for test_kafkajs_groups.sh (kafkajs 2.2.4).
//
//   kafkajs_groups.js produce BROKER TOPIC PARTITIONS FIRST COUNT
//       creates TOPIC with PARTITIONS partitions when FIRST is 0 (admin CreateTopics), then
//       sends values "m-FIRST" .. "m-(FIRST+COUNT-1)" spread over the partitions (acks -1).
//   kafkajs_groups.js consume BROKER TOPIC GROUP FIRST COUNT
//       a consumer in GROUP (JoinGroup/SyncGroup/Heartbeat, autoCommit after every batch)
//       reads until it has COUNT messages, waits 2 s more for anything extra, disconnects
//       (commit, LeaveGroup), and checks it got exactly m-FIRST .. m-(FIRST+COUNT-1), each
//       once. fromBeginning applies only without a committed offset.
//   kafkajs_groups.js committed BROKER TOPIC GROUP TOTAL
//       admin.fetchOffsets (OffsetFetch) must show, for every partition, the partition's end
//       offset, summing to TOTAL.
// Exits non-zero with a reason on any mismatch or error; bounded by the caller's `timeout`.
'use strict';

const { Kafka, logLevel } = require('kafkajs');

function client(broker) {
  return new Kafka({
    clientId: 'splicelog-groups',
    brokers: [broker],
    logLevel: logLevel.WARN,
    retry: { retries: 5 },
    connectionTimeout: 10000,
    requestTimeout: 30000,
  });
}

async function produce(broker, topic, partitions, first, count) {
  const kafka = client(broker);
  if (first === 0) {
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({
      waitForLeaders: true,
      topics: [{ topic, numPartitions: partitions, replicationFactor: 1 }],
    });
    await admin.disconnect();
  }
  const producer = kafka.producer();
  await producer.connect();
  for (let start = first; start < first + count; start += 500) {
    const messages = [];
    for (let i = start; i < Math.min(first + count, start + 500); i++) {
      messages.push({ partition: i % partitions, value: `m-${i}` });
    }
    await producer.send({ topic, acks: -1, messages });
  }
  await producer.disconnect();
}

async function consume(broker, topic, group, first, count) {
  const kafka = client(broker);
  const consumer = kafka.consumer({
    groupId: group,
    sessionTimeout: 30000,
    heartbeatInterval: 1000,
    maxWaitTimeInMs: 500,
  });
  const seen = new Map();
  let total = 0;
  let resolveDone, rejectDone;
  const done = new Promise((resolve, reject) => {
    resolveDone = resolve;
    rejectDone = reject;
  });
  consumer.on(consumer.events.CRASH, (e) => rejectDone(new Error(`consumer crashed: ${e.payload.error}`)));
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  await consumer.run({
    eachMessage: async ({ message }) => {
      const v = message.value.toString();
      seen.set(v, (seen.get(v) || 0) + 1);
      total++;
      if (total === count) resolveDone();
    },
  });
  await done;
  await new Promise((r) => setTimeout(r, 2000)); // anything extra would show up here
  await consumer.disconnect();
  const problems = [];
  for (let i = first; i < first + count; i++) {
    const n = seen.get(`m-${i}`) || 0;
    if (n !== 1) problems.push(`m-${i} seen ${n} times`);
  }
  for (const v of seen.keys()) {
    const i = Number(v.slice(2));
    if (!(i >= first && i < first + count)) problems.push(`unexpected ${v} (${seen.get(v)}x)`);
  }
  if (problems.length || total !== count) {
    throw new Error(
      `consumer in ${group}: ${total} messages, want ${count}: ${problems.slice(0, 10).join('; ')}`
    );
  }
  console.log(`${group}: m-${first} .. m-${first + count - 1}, each exactly once`);
}

async function committed(broker, topic, group, total) {
  const admin = client(broker).admin();
  await admin.connect();
  const ends = await admin.fetchTopicOffsets(topic);
  const got = await admin.fetchOffsets({ groupId: group, topics: [topic] });
  await admin.disconnect();
  const parts = got[0].partitions;
  let sum = 0;
  for (const e of ends) {
    const c = parts.find((p) => p.partition === e.partition);
    if (!c || c.offset !== e.high) {
      throw new Error(`partition ${e.partition}: committed ${c && c.offset}, end ${e.high}`);
    }
    sum += Number(c.offset);
  }
  if (sum !== total) throw new Error(`committed offsets sum to ${sum}, want ${total}`);
  console.log(`${group}: committed offsets at the end of every partition (${sum})`);
}

async function main() {
  const [mode, broker, topic, ...rest] = process.argv.slice(2);
  if (mode === 'produce') {
    await produce(broker, topic, Number(rest[0]), Number(rest[1]), Number(rest[2]));
  } else if (mode === 'consume') {
    await consume(broker, topic, rest[0], Number(rest[1]), Number(rest[2]));
  } else if (mode === 'committed') {
    await committed(broker, topic, rest[0], Number(rest[1]));
  } else {
    throw new Error('usage: kafkajs_groups.js produce|consume|committed ...');
  }
}

// A consumer that stops fetching leaves nothing pending: without this, node would drain its
// event loop and exit 0 with the work unfinished.
let finished = false;
process.on('beforeExit', () => {
  if (!finished) {
    console.error('event loop drained before the step finished');
    process.exit(1);
  }
});

main().then(
  () => {
    finished = true;
    process.exit(0);
  },
  (e) => {
    console.error(e && e.stack ? e.stack : e);
    process.exit(1);
  }
);
