// The trace writer encodes its lines straight into a reused buffer (trace-writer.ts, LineEncoder): the bytes on disk
// must be exactly `JSON.stringify` of each event with its seq first, whatever the characters and sizes — multi-byte
// UTF-8, lines larger than the buffer (it grows), lines larger than its cap (written on their own), seqs of any length.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync } from 'node:fs';
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

/** An event's text in the pieces the recorder gives (event-json.ts): head, ids, type part, payload (then `}`). */
function parts(event: UnsequencedEvent): [string, string, string, string] {
  const e = event as UnsequencedEvent & { nodeId?: string; attemptId?: string };
  const ids = e.nodeId === undefined ? '' : `,"nodeId":${JSON.stringify(e.nodeId)},"attemptId":${JSON.stringify(e.attemptId)}`;
  return [`{"at":${JSON.stringify(e.at)},"runId":${JSON.stringify(e.runId)}`, ids, `,"scope":${JSON.stringify(e.scope)},"type":${JSON.stringify(e.type)},"payload":`, JSON.stringify(e.payload)];
}

test('events given in parts are written as the same bytes as whole texts, whatever the characters and sizes', async () => {
  const temp = await tempDir();
  const trace = plainTraceWriter(temp.path, { keepState: false, passesThrough: () => true });
  const notes = ['plain', 'é ✓ 漢字 🎉 " \\ \n \ud800', '€'.repeat(150_000), 'ü'.repeat(3_000_000), 'after'];
  const events = [started];
  for (let i = 0; events.length < 3_000; i++) events.push(heartbeat(i, i % 500 === 499 ? notes[((i - 499) / 500) % notes.length]! : notes[i % 2]!));
  const expected = events.map((event, i) => `${JSON.stringify({ seq: i + 1, ...event })}\n`).join('');
  for (const event of events) trace.appendInParts(event, ...parts(event));
  await trace.close();
  const written = readFileSync(join(temp.path, 'trace.ndjson'));
  assert.ok(written.equals(Buffer.from(expected)), 'bytes');
  await temp.remove();
});

test('an event given in parts is redacted whole when the redaction may change it, from the moment it may', async () => {
  const temp = await tempDir();
  let redacting = false;
  const trace = plainTraceWriter(temp.path, {
    passesThrough: () => !redacting,
    // A secret across the pieces' boundaries (the run id and the node id) is found only in the whole text.
    redact: (text) => text.replaceAll('SECRET-1234","nodeId":"n', '[redacted]').replaceAll('hunter22', '[redacted:PW]'),
  });
  const event = (note: string) => ({ ...(heartbeat(1, note) as object), runId: 'SECRET-1234' }) as unknown as UnsequencedEvent;
  trace.appendInParts(started, ...parts(started));
  const first = event('hunter22');
  trace.appendInParts(first, ...parts(first));
  redacting = true; // e.g. an agent named its credential variable (credentials.ts)
  const second = event('hunter22');
  trace.appendInParts(second, ...parts(second));
  await trace.close();
  const state = trace.state;
  const lines = readFileSync(join(temp.path, 'trace.ndjson'), 'utf8').trimEnd().split('\n');
  assert.equal(lines[1], JSON.stringify({ seq: 2, ...first }), 'a hook that changes nothing: the text as it is');
  assert.equal(lines[2], '{"seq":3,"at":"2026-01-01T00:00:00.000Z","runId":"[redacted]","attemptId":"n#1","scope":"node","type":"node.heartbeat","payload":{"elapsedMs":1,"note":"[redacted:PW]"}}');
  assert.equal(state.seq, 3);
  assert.ok(!JSON.stringify(state).includes('hunter22'), 'the folded state holds the redacted event');
  await temp.remove();
});

test('events are numbered in place only when something reads them numbered (the fold, onCommit)', async () => {
  // A plain appender (no state kept, no onCommit) leaves the caller's objects as given: storing `seq` into an object
  // built without it would change its shape and allocate, for nobody.
  const temp = await tempDir();
  // Fresh objects: the tests above had `started` numbered.
  const runStarted = () => ({ at, runId: 'r', scope: 'run', type: 'run.started', payload: { flowName: 'f' } }) as UnsequencedEvent;
  const plainEvents = [runStarted(), heartbeat(1, 'a')];
  const plain = plainTraceWriter(temp.path, { keepState: false });
  for (const event of plainEvents) plain.append(event);
  await plain.close();
  assert.deepEqual(plainEvents.map((event) => 'seq' in event), [false, false], 'a plain appender numbers nothing');
  assert.equal(readFileSync(join(temp.path, 'trace.ndjson'), 'utf8').split('\n')[1]!.slice(0, 9), '{"seq":2,', 'the lines are numbered');

  for (const [name, options] of [
    ['the state is kept', { keepState: true }],
    ['onCommit is given', { keepState: false, onCommit: () => {} }],
  ] as const) {
    const dir = join(temp.path, name.replace(/ /g, '-'));
    mkdirSync(dir);
    const events = [runStarted(), heartbeat(1, 'a')];
    const trace = plainTraceWriter(dir, options);
    for (const event of events) trace.append(event);
    await trace.close();
    assert.deepEqual(events.map((event) => (event as { seq?: number }).seq), [1, 2], `numbered in place when ${name}`);
  }
  await temp.remove();
});
