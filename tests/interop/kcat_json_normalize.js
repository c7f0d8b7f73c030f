// kcat_json_normalize.js < kcat -J output > one {key, headers, value} JSON per line
//
// Reads kcat's JSON envelopes (one per line) and keeps exactly the fields a producer set, in
// a fixed order, so the result can be compared byte for byte with kafkajs_produce.js's file.
// A line that is not a message envelope is an error.
'use strict';

const readline = require('readline');

const rl = readline.createInterface({ input: process.stdin, crlfDelay: Infinity });
const out = [];
let bad = 0;
rl.on('line', (line) => {
  if (line.length === 0) return;
  let m;
  try {
    m = JSON.parse(line);
  } catch (e) {
    bad++;
    console.error(`not JSON: ${line.slice(0, 200)}`);
    return;
  }
  out.push(JSON.stringify({ key: m.key, headers: m.headers || [], value: m.payload }));
});
rl.on('close', () => {
  process.stdout.write(out.length ? out.join('\n') + '\n' : '');
  process.exit(bad ? 1 : 0);
});
