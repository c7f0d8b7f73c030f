// kafkajs_group_consume.js BROKER GROUP TOPIC
//
// One kafkajs 2.2.4 group consumer (consumer.run, eachMessage, auto-commit) reading TOPIC from
// the beginning in GROUP: prints "<partition> <offset> <value>" per message on stdout, and
// "assigned: <p> <p> ..." on stderr after every join (GROUP_JOIN event). On SIGTERM it
// disconnects (which commits and sends LeaveGroup) and exits 0. Bounded by the caller.
'use strict';

const { Kafka, logLevel } = require('kafkajs');

async function main() {
  const [broker, group, topic] = process.argv.slice(2);
  const kafka = new Kafka({ brokers: [broker], clientId: 'kjs-group', logLevel: logLevel.WARN });
  const consumer = kafka.consumer({
    groupId: group,
    sessionTimeout: 10000,
    heartbeatInterval: 500,
    rebalanceTimeout: 20000,
    maxWaitTimeInMs: 200,
  });
  consumer.on(consumer.events.GROUP_JOIN, (e) => {
    const parts = (e.payload.memberAssignment[topic] || []).slice().sort((a, b) => a - b);
    process.stderr.write(`assigned: ${parts.join(' ')}\n`);
  });
  let stopping = false;
  process.on('SIGTERM', async () => {
    if (stopping) return;
    stopping = true;
    try {
      await consumer.disconnect();
    } finally {
      process.exit(0);
    }
  });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  await consumer.run({
    autoCommitInterval: 200,
    eachMessage: async ({ partition, message }) => {
      process.stdout.write(`${partition} ${message.offset} ${message.value.toString()}\n`);
    },
  });
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
