// The first pass of verify's steps check reads the trace's bytes as latin1 text and matches the writer's prefix where
// each line starts (verify-touches.ts). It must record what readLines + touchOf record, line for line, however the
// bytes are cut: on the samples' traces and on lines made to trip it (CRLF, a byte-order mark, blank lines,
// non-ASCII attempt ids and values, invalid UTF-8, duplicate keys, a last line without a newline).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readLines } from '@flowtape/schema';
import { LastTouch, touchOf } from '../src/tools/verify-steps.ts';
import { TouchReader } from '../src/tools/verify-touches.ts';

const samplesDir = fileURLToPath(new URL('../../samples', import.meta.url));
const head = (seq: number) => `{"seq":${seq},"at":"2026-01-01T00:00:00.000Z","runId":"r1"`;

/** The pass as it was: every line decoded by readLines and read by touchOf. */
async function byLines(bytes: Buffer): Promise<LastTouch> {
  const touches = new LastTouch();
  for await (const { text, tooLong } of readLines([bytes])) {
    if (tooLong) continue;
    const touch = touchOf(text);
    if (touch) touches.set(touch.attemptId, touch.seq);
  }
  return touches;
}

function byReader(bytes: Buffer, cut: number): LastTouch {
  const touches = new LastTouch();
  const reader = new TouchReader(touches);
  for (let at = 0; at < bytes.length; at += cut) reader.add(bytes.subarray(at, at + cut).toString('latin1'));
  reader.end();
  return touches;
}

function trickyTrace(): Buffer {
  const lines = [
    `\ufeff${head(1)},"scope":"run","type":"run.started","payload":{}}`,
    `${head(2)},"nodeId":"a","attemptId":"a#1","scope":"node","type":"node.started","payload":{}}\r`,
    '',
    '   ',
    `${head(3)},"nodeId":"é","attemptId":"é#1","scope":"node","type":"x","payload":{"text":"ünïcödé ✓ 𝄞"}}`,
    `${head(4)},"nodeId":"a","attemptId":"a#2","scope":"node","type":"x","payload":{},"attemptId":"a#3"}`,
    `${head(5)},"nodeId":"a","attemptId":"a#1","scope":"node","type":"x","payload":{},"seq":40}`,
    `${head(6)},"nodeId":"a","scope":"node","type":"x","payload":{"attemptId":"a#4"}}`,
    `${head(7)},"scope":"run","type":"x","payload":{},"attemptId":"late#1"}`,
    `{ "seq": 8, "at": "t", "runId": "r1", "attemptId": "a#5" }\r`,
    `${head(9)},"nodeId":"a\\u0041","attemptId":"a#6","scope":"node","type":"x","payload":{}}`,
    `${head(10)},"nodeId":"a","attemptId":"b\\"#1","scope":"node","type":"x","payload":{}}`,
    `{"seq":011,"at":"t","runId":"r1","attemptId":"a#7"}`,
    `{"seq":1234567890123456,"at":"t","runId":"r1","attemptId":"a#8"}`,
    'not json',
    `${head(12)},"nodeId":"a","attemptId":"a#9","scope":"node"`,
    ...Array.from({ length: 50 }, (_, i) => `${head(13 + i)},"scope":"run","type":"x","payload":{}}`),
    `${head(70)},"nodeId":"z","attemptId":"z#1","scope":"node","type":"x","payload":{}}`,
  ];
  const text = Buffer.from(lines.join('\n') + '\n');
  // Invalid UTF-8 in a value and in an attempt id, and a last line without a newline.
  const invalid = Buffer.concat([
    Buffer.from(`${head(71)},"nodeId":"a","attemptId":"q`),
    Buffer.from([0xe2, 0x82]),
    Buffer.from('#1","scope":"node","type":"x","payload":{"v":"'),
    Buffer.from([0xff, 0xfe]),
    Buffer.from(`"}}\n${head(72)},"nodeId":"a","attemptId":"a#1","scope":"node","type":"x","payload":{}}`),
  ]);
  return Buffer.concat([text, invalid]);
}

function attemptIdsIn(bytes: Buffer): string[] {
  const text = bytes.toString('utf8');
  const ids = new Set(['é#1', 'q\ufffd#1', 'b"#1']);
  for (const match of text.matchAll(/"attemptId"\s*:\s*"([^"\\]*)"/g)) ids.add(match[1]!);
  return [...ids];
}

test('the latin1 pass records what readLines + touchOf record, however the bytes are cut', async () => {
  const traces = [trickyTrace()];
  for (const name of readdirSync(samplesDir, { withFileTypes: true })) {
    if (name.isDirectory()) traces.push(readFileSync(join(samplesDir, name.name, 'bundle', 'trace.ndjson')));
  }
  let checked = 0;
  for (const bytes of traces) {
    const expected = await byLines(bytes);
    const ids = attemptIdsIn(bytes);
    for (const cut of [1, 2, 3, 5, 64, 1000, bytes.length]) {
      const got = byReader(bytes, cut);
      for (const id of ids) {
        assert.equal(got.get(id), expected.get(id), `${id}, cut every ${cut} bytes`);
        if (expected.get(id) > 0) checked++;
      }
    }
  }
  assert.ok(checked > 100, `only ${checked} attempts touched`);
  // The tricky lines are read as JSON.parse reads them: the duplicate keys' last values, the non-ASCII id.
  const tricky = await byLines(trickyTrace());
  assert.equal(tricky.get('a#3'), 4);
  assert.equal(tricky.get('a#1'), 72);
  assert.equal(tricky.get('é#1'), 3);
  assert.equal(tricky.get('late#1'), 7);
});
