// The first pass of verify's steps check reads each trace line's top-level seq and attemptId from the writer's
// prefix without parsing the line (verify-steps.ts, touchOf). It must read what JSON.parse reads on every line where
// that matters: lines of the samples, and lines made to trip a prefix reader (duplicate keys, nested attemptIds,
// escapes, other key orders, whitespace, numbers it does not take).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { touchOf } from '../src/tools/verify-steps.ts';

const samplesDir = fileURLToPath(new URL('../../samples', import.meta.url));

function parsed(text: string): { seq: number; attemptId: string } | undefined {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  const e = value as { seq?: unknown; attemptId?: unknown } | null;
  return e && typeof e.seq === 'number' && typeof e.attemptId === 'string' ? { seq: e.seq, attemptId: e.attemptId } : undefined;
}

const head = '{"seq":7,"at":"2026-01-01T00:00:00.000Z","runId":"r1"';
const tricky = [
  `${head},"nodeId":"a","attemptId":"a#1","scope":"node","type":"node.heartbeat","payload":{"elapsedMs":1}}`,
  `${head},"nodeId":"a","scope":"node","type":"x","payload":{"attemptId":"b#1"}}`,
  `${head},"nodeId":"a","attemptId":"a#1","scope":"node","type":"x","payload":{},"attemptId":"c#2"}`,
  `${head},"nodeId":"a","attemptId":"a#1","scope":"node","type":"x","payload":{},"seq":99}`,
  `${head},"nodeId":"a","attemptId":"a#1","scope":"node","type":"x","payload":{"note":"\\"seq\\""}}`,
  `${head},"scope":"run","type":"run.started","payload":{},"attemptId":"late#1"}`,
  `${head},"nodeId":"a","attemptId":"a\\u0023#1","scope":"node","type":"x","payload":{}}`,
  `{"at":"2026-01-01T00:00:00.000Z","seq":8,"runId":"r1","attemptId":"a#1","scope":"node","type":"x","payload":{}}`,
  `{ "seq": 9, "at": "t", "runId": "r1", "attemptId": "a#1" }`,
  `{"seq":1e1,"at":"t","runId":"r1","attemptId":"a#1"}`,
  `{"seq":10.5,"at":"t","runId":"r1","attemptId":"a#1"}`,
  `{"seq":123456789012345678,"at":"t","runId":"r1","attemptId":"a#1"}`,
  `${head},"scope":"run","type":"run.started","payload":{}}`,
  '   ',
  'not json',
  '[1,2]',
  'null',
];

test('touchOf reads what JSON.parse reads, on the samples and on lines made to trip it', () => {
  let lines = 0;
  for (const name of readdirSync(samplesDir, { withFileTypes: true })) {
    if (!name.isDirectory()) continue;
    for (const line of readFileSync(join(samplesDir, name.name, 'bundle', 'trace.ndjson'), 'utf8').split('\n')) {
      assert.deepEqual(touchOf(line), parsed(line), line);
      lines++;
    }
  }
  assert.ok(lines > 50);
  for (const line of tricky) assert.deepEqual(touchOf(line), parsed(line), line);
});
