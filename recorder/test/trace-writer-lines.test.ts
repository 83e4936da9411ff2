// The trace writer encodes its lines straight into a reused buffer (trace-writer.ts, LineEncoder): the bytes on disk
// must be exactly `JSON.stringify` of each event with its seq first, whatever the characters and sizes — multi-byte
// UTF-8, lines larger than the buffer (it grows), lines larger than its cap (written on their own), seqs of any length.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { UnsequencedEvent } from '../src/bundle/trace-writer.ts';
import { plainTraceWriter, tempDir } from './recorder-support.ts';

const at = '2026-01-01T00:00:00.000Z';
const started = { at, runId: 'r', scope: 'run', type: 'run.started', payload: { flowName: 'f' } } as UnsequencedEvent;
const heartbeat = (i: number, note: string) =>
  ({ at, runId: 'r', nodeId: 'n', attemptId: 'n#1', scope: 'node', type: 'node.heartbeat', payload: { elapsedMs: i, note } }) as unknown as UnsequencedEvent;

test('trace lines on disk are the events as JSON with their seq first, byte for byte', async () => {
  const temp = await tempDir();
  const dir = temp.path;
  const trace = plainTraceWriter(dir, { keepState: false });
  const notes = [
    'plain',
    'é à ü — ✓ 漢字 and an emoji 🎉 in the middle',
    'quotes " backslashes \\ newlines \n tabs \t and a lone surrogate \ud800',
    '€'.repeat(150_000), // 450 KB of UTF-8: larger than the buffer's first size
    'ü'.repeat(3_000_000), // 6 MB of UTF-8: larger than the buffer ever grows
    'after the large ones',
  ];
  const events = [started];
  // 10,000 lines: seqs of 1 to 5 digits, and several buffers' worth.
  for (let i = 0; events.length < 10_000; i++) events.push(heartbeat(i, i % 1000 === 999 ? notes[((i - 999) / 1000) % notes.length]! : notes[i % 2]!));
  const expected = events.map((event, i) => `${JSON.stringify({ seq: i + 1, ...event })}\n`).join('');
  for (const event of events) trace.append(event);
  await trace.close();
  const written = readFileSync(join(dir, 'trace.ndjson'));
  assert.equal(written.byteLength, Buffer.byteLength(expected), 'byte count');
  assert.ok(written.equals(Buffer.from(expected)), 'bytes');
  await temp.remove();
});
