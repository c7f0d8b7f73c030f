// crc32_partition.js N < keys > "key partition" lines
//
// librdkafka's default partitioner (consistent_random) puts a keyed message on
// crc32(key) % partition_count, with zlib's CRC-32. This prints that mapping so the test can
// check that what the broker returns for each partition is what the client sent there.
'use strict';

const readline = require('readline');

const n = Number(process.argv[2]);
if (!(n > 0)) {
  console.error('usage: crc32_partition.js PARTITIONS < keys');
  process.exit(2);
}
const table = new Uint32Array(256);
for (let i = 0; i < 256; i++) {
  let c = i;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  table[i] = c >>> 0;
}
function crc32(buf) {
  let c = 0xffffffff;
  for (const b of buf) c = table[(c ^ b) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}
const rl = readline.createInterface({ input: process.stdin, crlfDelay: Infinity });
const out = [];
rl.on('line', (key) => {
  if (key.length) out.push(`${key} ${crc32(Buffer.from(key, 'utf8')) % n}`);
});
rl.on('close', () => process.stdout.write(out.join('\n') + '\n'));
