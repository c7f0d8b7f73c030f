// kafkajs_eos.js idem BROKER TOPIC BATCHES RESOLVED_FILE
// kafkajs_eos.js txn BROKER TOPIC INPUT_TOPIC NTXN
//
// kafkajs 2.2.4 with exactly-once features against splicelog (issue 13).
// idem: an idempotent producer (idempotent: true, one request in flight, acks -1) sends
//   BATCHES batches of 50 messages "js-idem-<b>-<i>", spread over ~8 s while the script
//   kills and restarts the broker; a send that fails is sent again, the same messages, until
//   it resolves (kafkajs rolls its sequence back on a failure and resends the same sequences,
//   which the broker must answer as duplicates). Writes each resolved message to
//   RESOLVED_FILE, one per line.
// txn: a transactional producer (transactionalId js-eos) runs NTXN transactions of 50
//   messages "js-txn-<t>-<i>", each with sendOffsets (group js-eos-group, INPUT_TOPIC
//   partition 0, offset t + 1); even t commit, odd t abort. A consumer with
//   readUncommitted: false then reads the topic: every committed message once, no aborted
//   one; the group's offset read with the admin client is the last commit's. Prints
//   "committed C duplicates D aborted_seen A group_offset O" and exits 0 when all holds.
'use strict';

const fs = require('fs');
const { Kafka, logLevel } = require('kafkajs');

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function kafka(broker) {
  return new Kafka({
    clientId: 'kafkajs-eos',
    brokers: [broker],
    logLevel: logLevel.NOTHING,
    retry: { initialRetryTime: 100, retries: 8 },
  });
}

async function idem(broker, topic, batches, resolvedFile) {
  const out = fs.openSync(resolvedFile, 'w');
  const producer = kafka(broker).producer({ idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  let retries = 0;
  for (let b = 0; b < batches; b++) {
    const messages = [];
    for (let i = 0; i < 50; i++) messages.push({ key: `k${i % 7}`, value: `js-idem-${b}-${i}` });
    const deadline = Date.now() + 120000;
    for (;;) {
      try {
        await producer.send({ topic, acks: -1, messages });
        break;
      } catch (e) {
        retries++;
        if (Date.now() > deadline) throw e;
        await sleep(200);
      }
    }
    fs.writeSync(out, messages.map((m) => m.value).join('\n') + '\n');
    await sleep(Math.floor(8000 / batches));
  }
  fs.closeSync(out);
  await producer.disconnect();
  console.log(`resolved ${batches * 50} retried_sends ${retries}`);
}

async function txn(broker, topic, input, ntxn) {
  const k = kafka(broker);
  const producer = k.producer({
    transactionalId: 'js-eos',
    idempotent: true,
    maxInFlightRequests: 1,
  });
  await producer.connect();
  let lastCommitted = -1;
  for (let t = 0; t < ntxn; t++) {
    const tx = await producer.transaction();
    const messages = [];
    for (let i = 0; i < 50; i++) messages.push({ key: `k${i % 5}`, value: `js-txn-${t}-${i}` });
    await tx.send({ topic, messages });
    await tx.sendOffsets({
      consumerGroupId: 'js-eos-group',
      topics: [{ topic: input, partitions: [{ partition: 0, offset: String(t + 1) }] }],
    });
    if (t % 2 === 0) {
      await tx.commit();
      lastCommitted = t;
    } else {
      await tx.abort();
    }
  }
  await producer.disconnect();

  const want = Math.ceil(ntxn / 2) * 50;
  const seen = new Map();
  let abortedSeen = 0;
  const consumer = k.consumer({ groupId: 'js-eos-reader', readUncommitted: false });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  let total = 0;
  let lastAt = Date.now();
  await consumer.run({
    eachMessage: async ({ message }) => {
      const v = message.value.toString();
      const m = /^js-txn-(\d+)-(\d+)$/.exec(v);
      if (!m) return;
      if (Number(m[1]) % 2 === 1) abortedSeen++;
      seen.set(v, (seen.get(v) || 0) + 1);
      total++;
      lastAt = Date.now();
    },
  });
  const deadline = Date.now() + 60000;
  while (Date.now() < deadline && !(total >= want && Date.now() - lastAt > 2000)) await sleep(100);
  await consumer.disconnect();
  let dups = 0;
  for (const c of seen.values()) if (c > 1) dups++;
  let committedOnce = 0;
  for (let t = 0; t < ntxn; t += 2)
    for (let i = 0; i < 50; i++) if (seen.get(`js-txn-${t}-${i}`) === 1) committedOnce++;

  const admin = k.admin();
  await admin.connect();
  const offs = await admin.fetchOffsets({ groupId: 'js-eos-group', topics: [input] });
  await admin.disconnect();
  const groupOffset = Number(offs[0].partitions.find((p) => p.partition === 0).offset);
  console.log(
    `committed ${committedOnce}/${want} duplicates ${dups} aborted_seen ${abortedSeen} ` +
      `group_offset ${groupOffset} (want ${lastCommitted + 1})`
  );
  const ok =
    committedOnce === want && dups === 0 && abortedSeen === 0 && groupOffset === lastCommitted + 1;
  process.exit(ok ? 0 : 1);
}

async function main() {
  const [mode, broker, ...rest] = process.argv.slice(2);
  if (mode === 'idem') await idem(broker, rest[0], Number(rest[1]), rest[2]);
  else if (mode === 'txn') await txn(broker, rest[0], rest[1], Number(rest[2]));
  else throw new Error('usage: kafkajs_eos.js idem|txn ...');
}

main().catch((e) => {
  console.error(`kafkajs_eos: ${e.stack || e}`);
  process.exit(1);
});
