// kafkajs_sasl.js — SASL steps for test_sasl_clients.sh (kafkajs 2.2.4).
//
//   kafkajs_sasl.js acls BROKER CA|- MECH USER PASSWORD PRINCIPAL PREFIX
//       as USER (a super user): CreateAcls ALLOW PRINCIPAL ALL on topics PREFIXED PREFIX and on
//       every group ("*" LITERAL), then DescribeAcls must list them.
//   kafkajs_sasl.js roundtrip BROKER CA|- MECH USER PASSWORD TOPIC GROUP COUNT
//       as USER: creates TOPIC, sends COUNT messages, a consumer in GROUP reads them all back
//       (JoinGroup, SyncGroup, Heartbeat, OffsetCommit) and checks them, each once, in order.
//   kafkajs_sasl.js denied BROKER CA|- MECH USER PASSWORD TOPIC
//       as USER: sending to TOPIC must fail with TOPIC_AUTHORIZATION_FAILED.
//   kafkajs_sasl.js badlogin BROKER CA|- MECH USER PASSWORD
//       connecting must fail with a SASL authentication error.
// MECH is plain, scram-sha-256 or scram-sha-512; CA a PEM file for SASL_SSL, "-" for
// SASL_PLAINTEXT. Exits non-zero with a reason; bounded by the caller's `timeout`.
'use strict';

const fs = require('fs');
const { Kafka, logLevel, AclResourceTypes, AclOperationTypes, AclPermissionTypes,
        ResourcePatternTypes } = require('kafkajs');

function client(broker, ca, mechanism, username, password) {
  return new Kafka({
    clientId: 'splicelog-sasl',
    brokers: [broker],
    logLevel: logLevel.NOTHING,
    retry: { retries: 2 },
    connectionTimeout: 10000,
    requestTimeout: 30000,
    ssl: ca === '-' ? false : { ca: [fs.readFileSync(ca)] },
    sasl: { mechanism, username, password },
  });
}

async function acls(kafka, principal, prefix) {
  const admin = kafka.admin();
  await admin.connect();
  await admin.createAcls({
    acl: [
      {
        resourceType: AclResourceTypes.TOPIC, resourceName: prefix,
        resourcePatternType: ResourcePatternTypes.PREFIXED, principal, host: '*',
        operation: AclOperationTypes.ALL, permissionType: AclPermissionTypes.ALLOW,
      },
      {
        resourceType: AclResourceTypes.GROUP, resourceName: '*',
        resourcePatternType: ResourcePatternTypes.LITERAL, principal, host: '*',
        operation: AclOperationTypes.ALL, permissionType: AclPermissionTypes.ALLOW,
      },
    ],
  });
  const d = await admin.describeAcls({
    resourceType: AclResourceTypes.ANY, resourcePatternType: ResourcePatternTypes.ANY,
    operation: AclOperationTypes.ANY, permissionType: AclPermissionTypes.ANY,
  });
  await admin.disconnect();
  const mine = d.resources.filter((r) => r.acls.some((a) => a.principal === principal));
  if (mine.length < 2) throw new Error(`DescribeAcls lists ${JSON.stringify(d.resources)}`);
}

async function roundtrip(kafka, topic, group, count) {
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({ waitForLeaders: true, topics: [{ topic, numPartitions: 1 }] });
  await admin.disconnect();
  const producer = kafka.producer();
  await producer.connect();
  const messages = [];
  for (let i = 0; i < count; i++) messages.push({ key: `k${i}`, value: `sasl-${i}` });
  await producer.send({ topic, acks: -1, messages });
  await producer.disconnect();

  const consumer = kafka.consumer({ groupId: group, sessionTimeout: 10000 });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  const got = [];
  await new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`only ${got.length} of ${count} messages`)), 60000);
    consumer.run({
      eachMessage: async ({ message }) => {
        got.push(message.value.toString());
        if (got.length >= count) {
          clearTimeout(t);
          resolve();
        }
      },
    }).catch(reject);
  });
  await consumer.disconnect();
  for (let i = 0; i < count; i++) {
    if (got[i] !== `sasl-${i}`) throw new Error(`message ${i} is ${got[i]}`);
  }
}

async function denied(kafka, topic) {
  const producer = kafka.producer({ retry: { retries: 0 } });
  await producer.connect();
  try {
    await producer.send({ topic, acks: -1, messages: [{ value: 'x' }] });
  } catch (e) {
    const s = `${e.type || ''} ${e.message} ${JSON.stringify(e.errors || '')}`;
    if (/TOPIC_AUTHORIZATION_FAILED|not authorized to access topics/i.test(s)) {
      await producer.disconnect();
      return;
    }
    throw new Error(`unexpected error: ${s}`);
  }
  throw new Error('send succeeded without an ACL');
}

async function badlogin(kafka) {
  const producer = kafka.producer();
  try {
    await producer.connect();
  } catch (e) {
    if (/SASL|auth/i.test(`${e.type} ${e.message}`)) return;
    throw new Error(`unexpected error: ${e.message}`);
  }
  throw new Error('connected with a wrong password');
}

async function main() {
  const [step, broker, ca, mech, user, pw, ...rest] = process.argv.slice(2);
  const kafka = client(broker, ca, mech, user, pw);
  if (step === 'acls') await acls(kafka, rest[0], rest[1]);
  else if (step === 'roundtrip') await roundtrip(kafka, rest[0], rest[1], Number(rest[2]));
  else if (step === 'denied') await denied(kafka, rest[0]);
  else if (step === 'badlogin') await badlogin(kafka);
  else throw new Error(`unknown step ${step}`);
}

main().then(() => process.exit(0), (e) => {
  console.error(`kafkajs_sasl: ${e.stack || e}`);
  process.exit(1);
});
