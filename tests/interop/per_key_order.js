// per_key_order.js EXPECTED GOT
//
// Both files hold one JSON object {key, headers, value} per line. GOT (a consumer's view of a
// multi-partition topic) may interleave partitions, but every message must be there exactly
// once, and the messages of one key (one partition) must come in the order they were sent.
'use strict';

const fs = require('fs');

function byKey(file) {
  const m = new Map();
  for (const line of fs.readFileSync(file, 'utf8').split('\n')) {
    if (!line) continue;
    const o = JSON.parse(line);
    if (!m.has(o.key)) m.set(o.key, []);
    m.get(o.key).push(line);
  }
  return m;
}

const want = byKey(process.argv[2]);
const got = byKey(process.argv[3]);
let bad = 0;
for (const [key, lines] of want) {
  const g = got.get(key) || [];
  if (g.length !== lines.length || g.some((l, i) => l !== lines[i])) {
    if (bad++ < 5) console.error(`key ${key}: sent ${lines.length}, read ${g.length} (or out of order)`);
  }
}
for (const key of got.keys()) {
  if (!want.has(key) && bad++ < 5) console.error(`key ${key}: read but never sent`);
}
process.exit(bad ? 1 : 0);
