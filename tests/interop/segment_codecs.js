// segment_codecs.js SEGMENT_FILE
//
// Walks the record batches of a splicelog segment (Kafka's on-disk format: baseOffset int64,
// batchLength int32, ..., attributes int16 at byte 21, recordCount int32 at byte 57) and
// prints "codec records" lines, e.g. "1 19995" and "0 5" when all but one small batch were
// gzip-compressed. Exits 1 on a malformed segment.
'use strict';

const fs = require('fs');

const buf = fs.readFileSync(process.argv[2]);
const counts = new Map();
let pos = 0;
while (pos + 61 <= buf.length) {
  const len = buf.readInt32BE(pos + 8);
  if (len < 49 || pos + 12 + len > buf.length) {
    console.error(`bad batch at byte ${pos}`);
    process.exit(1);
  }
  const codec = buf.readInt16BE(pos + 21) & 7;
  const records = buf.readInt32BE(pos + 57);
  counts.set(codec, (counts.get(codec) || 0) + records);
  pos += 12 + len;
}
for (const [codec, n] of [...counts].sort((a, b) => a[0] - b[0])) console.log(`${codec} ${n}`);
