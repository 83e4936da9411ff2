import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readNdjson, parseNdjsonText, readTrace, type NdjsonIssue, type ReadIssue } from '../src/index.ts';

async function collect<T>(iter: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of iter) out.push(item);
  return out;
}

function streamOf(chunks: Uint8Array[]): ReadableStream<Uint8Array> {
  return new ReadableStream({
    start(controller) {
      for (const chunk of chunks) controller.enqueue(chunk);
      controller.close();
    },
  });
}

test('streams lines split across chunks, including a multi-byte character cut in half', async () => {
  const bytes = new TextEncoder().encode('{"a":"h\u00e9llo \u{1F600}"}\n{"b":2}\r\n\n{"c":3}\n');
  const chunks = [];
  for (let i = 0; i < bytes.length; i += 3) chunks.push(bytes.slice(i, i + 3));
  const issues: NdjsonIssue[] = [];
  const lines = await collect(readNdjson(streamOf(chunks), { onIssue: (i) => issues.push(i) }));
  assert.deepEqual(lines.map((l) => [l.line, l.value]), [[1, { a: 'h\u00e9llo \u{1F600}' }], [2, { b: 2 }], [4, { c: 3 }]]);
  assert.deepEqual(issues, []);
});

test('a torn final line is reported with its line number, not thrown; complete lines are all kept', async () => {
  const issues: NdjsonIssue[] = [];
  const lines = await collect(readNdjson(['{"a":1}\n{"b":2}\n{"c":', '3'], { file: 'trace.ndjson', onIssue: (i) => issues.push(i) }));
  assert.deepEqual(lines.map((l) => l.value), [{ a: 1 }, { b: 2 }]);
  assert.deepEqual(issues, [{ line: 3, problem: 'torn_tail', message: 'trace.ndjson:3: torn last line (6 characters without a newline): the writer stopped mid-append' }]);
});

test('a final line without newline that is valid JSON is kept', async () => {
  const lines = await collect(readNdjson(['{"a":1}\n{"b":2}']));
  assert.deepEqual(lines.map((l) => l.value), [{ a: 1 }, { b: 2 }]);
});

test('a broken line in the middle is reported and reading goes on', () => {
  const issues: NdjsonIssue[] = [];
  const lines = parseNdjsonText('{"a":1}\nnot json\n{"b":2}\n', { file: 'x.ndjson', onIssue: (i) => issues.push(i) });
  assert.deepEqual(lines.map((l) => l.value), [{ a: 1 }, { b: 2 }]);
  assert.equal(issues.length, 1);
  assert.equal(issues[0]?.problem, 'invalid_json');
  assert.match(issues[0]!.message, /^x\.ndjson:2: not valid JSON \(/);
});

test('readTrace validates events, passes unknown types through and reports gaps and bad payloads', async () => {
  const at = '2026-01-01T00:00:00.000Z';
  const line = (o: object) => JSON.stringify({ at, runId: 'r', ...o }) + '\n';
  const text =
    line({ seq: 1, scope: 'run', type: 'run.started', payload: { flowName: 'f' } }) +
    line({ seq: 2, scope: 'x', type: 'x.future', payload: { anything: [1] } }) +
    line({ seq: 3, scope: 'node', type: 'node.started', nodeId: 'a', attemptId: 'a#1', payload: { nodeType: 'compute', attempt: 'one' } }) +
    line({ seq: 5, scope: 'run', type: 'run.completed', payload: { durationMs: 1 } }) +
    '{"seq":6,';
  const issues: ReadIssue[] = [];
  const events = await collect(readTrace([text], { onIssue: (i) => issues.push(i) }));
  assert.deepEqual(events.map((e) => [e.line, e.event.type, e.known]), [[1, 'run.started', true], [2, 'x.future', false], [4, 'run.completed', true]]);
  assert.deepEqual(issues.map((i) => [i.problem, i.message]), [
    ['invalid_event', 'trace.ndjson:3: /payload/attempt: Invalid input: expected number, received string'],
    ['seq_gap', 'trace.ndjson:4: seq 5 where 3 was expected'],
    ['torn_tail', 'trace.ndjson:5: torn last line (9 characters without a newline): the writer stopped mid-append'],
  ]);
});

test('a long line arriving in many small chunks is read in time linear in its length', async () => {
  // 4 MiB in 2 KiB chunks: searching the whole pending line again for every chunk (2048 times) took over 30 s.
  const size = 4 * 1024 * 1024;
  const text = `{"data":"${'x'.repeat(size - 12)}"}\n{"b":2}\n`;
  const bytes = new TextEncoder().encode(text);
  function* chunks() {
    for (let i = 0; i < bytes.length; i += 2048) yield bytes.subarray(i, i + 2048);
  }
  const started = performance.now();
  const lines = await collect(readNdjson(chunks()));
  const ms = performance.now() - started;
  assert.deepEqual(lines.map((l) => l.line), [1, 2]);
  assert.equal((lines[0]!.value as { data: string }).data.length, size - 12);
  assert.ok(ms < 3000, `reading one 4 MiB line took ${Math.round(ms)} ms`);
});

test('a line over the limit is reported once with file, line and length, and the lines around it are read', async () => {
  const long = `{"x":"${'y'.repeat(3000)}"}`; // 3008 bytes
  const text = `{"a":1}\r\n${long}\n{"b":2}\r\n${long}\n{"c":3}\n${long}`;
  const bytes = new TextEncoder().encode(text);
  const expected = [
    { line: 2, problem: 'line_too_long', bytes: 3008, message: 'events.ndjson:2: line too long (3008 bytes; the limit is 1000 bytes): not read' },
    { line: 4, problem: 'line_too_long', bytes: 3008, message: 'events.ndjson:4: line too long (3008 bytes; the limit is 1000 bytes): not read' },
    { line: 6, problem: 'line_too_long', bytes: 3008, message: 'events.ndjson:6: line too long (3008 bytes, the last line, without a newline; the limit is 1000 bytes): not read' },
  ];
  // In small chunks (the long lines span many), in one chunk (they lie inside it), and as text in memory.
  for (const chunkSize of [7, 256, bytes.length]) {
    const chunks: Uint8Array[] = [];
    for (let i = 0; i < bytes.length; i += chunkSize) chunks.push(bytes.subarray(i, i + chunkSize));
    const issues: NdjsonIssue[] = [];
    const lines = await collect(readNdjson(chunks, { file: 'events.ndjson', maxLineBytes: 1000, onIssue: (i) => issues.push(i) }));
    assert.deepEqual(lines.map((l) => [l.line, l.value]), [[1, { a: 1 }], [3, { b: 2 }], [5, { c: 3 }]], `chunks of ${chunkSize}`);
    assert.deepEqual(issues, expected, `chunks of ${chunkSize}`);
  }
  const issues: NdjsonIssue[] = [];
  const lines = parseNdjsonText(text, { file: 'events.ndjson', maxLineBytes: 1000, onIssue: (i) => issues.push(i) });
  assert.deepEqual(lines.map((l) => l.line), [1, 3, 5]);
  assert.deepEqual(issues, expected);
  // Multi-byte characters count as their UTF-8 bytes: 400 × "é" is 800 bytes, 600 × "é" is 1200.
  const accents = (n: number) => `{"t":"${'é'.repeat(n)}"}`;
  const seen: NdjsonIssue[] = [];
  parseNdjsonText(`${accents(400)}\n${accents(600)}\n`, { maxLineBytes: 1000, onIssue: (i) => seen.push(i) });
  assert.deepEqual(seen.map((i) => [i.line, i.bytes]), [[2, 1208]]);
});

test('a line over the limit is not held in memory while it streams by', async () => {
  // 64 MiB in 1 MiB chunks (one buffer, yielded again and again) with a 4 MiB limit: the reader keeps at most the
  // limit, then only counts; holding the line would grow the heap by 64 MB or more.
  const chunk = new TextEncoder().encode('z'.repeat(1024 * 1024));
  let peak = 0;
  global.gc?.();
  const base = process.memoryUsage().heapUsed;
  function* chunks() {
    yield new TextEncoder().encode('{"a":1}\n"');
    for (let i = 0; i < 64; i++) {
      peak = Math.max(peak, process.memoryUsage().heapUsed - base);
      yield chunk;
    }
    yield new TextEncoder().encode('"\n{"b":2}\n');
  }
  const issues: NdjsonIssue[] = [];
  const lines = await collect(readNdjson(chunks(), { file: 'trace.ndjson', maxLineBytes: 4 * 1024 * 1024, onIssue: (i) => issues.push(i) }));
  assert.deepEqual(lines.map((l) => [l.line, l.value]), [[1, { a: 1 }], [3, { b: 2 }]]);
  assert.deepEqual(issues.map((i) => [i.line, i.problem, i.bytes]), [[2, 'line_too_long', 64 * 1024 * 1024 + 2]]);
  assert.ok(peak < 32 * 1024 * 1024, `the heap grew by ${Math.round(peak / 1024 / 1024)} MB while the line streamed by`);
});

test('invalid UTF-8 is reported with its line, however the bytes are cut; a real U+FFFD and valid text are not', async () => {
  const enc = new TextEncoder();
  const bad = (text: string, bytes: number[]) => {
    const [before, after] = text.split('|') as [string, string];
    return new Uint8Array([...enc.encode(before), ...bytes, ...enc.encode(after)]);
  };
  const file = new Uint8Array([
    ...enc.encode('{"a":"ok \u{1F600}"}\n'),
    ...bad('{"b":"|llo"}\n', [0xff, 0xfe]),
    ...enc.encode('{"c":"a real \uFFFD"}\n'),
    // A 4-byte sequence cut after 3 bytes: one U+FFFD, of the same 3 bytes (a length check could not tell).
    ...bad('{"d":"|x"}\n', [0xf0, 0x9f, 0x98]),
    ...enc.encode('{"e":5}\n'),
  ]);
  for (const size of [1, 2, 3, 5, 7, 1000]) {
    const chunks = [];
    for (let i = 0; i < file.length; i += size) chunks.push(file.slice(i, i + size));
    const issues: NdjsonIssue[] = [];
    const lines = await collect(readNdjson(streamOf(chunks), { file: 'trace.ndjson', onIssue: (i) => issues.push(i) }));
    assert.deepEqual(lines.map((l) => l.line), [1, 2, 3, 4, 5], `chunks of ${size}: every line still read`);
    assert.deepEqual(
      issues.map((i) => [i.line, i.problem, i.message]),
      [
        [2, 'invalid_utf8', 'trace.ndjson:2: not valid UTF-8 (read with U+FFFD for each bad byte sequence)'],
        [4, 'invalid_utf8', 'trace.ndjson:4: not valid UTF-8 (read with U+FFFD for each bad byte sequence)'],
      ],
      `chunks of ${size}`,
    );
  }
});
