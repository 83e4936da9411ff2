// The line cutter both trace paths share (backend/text-chunks.ts): the worker's and the page's own decoding give the
// streamed parser whole lines and count the bytes they came from, so a live bundle is tailed from the right offset.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ByteLineCutter, LineCutter, textOf, textSourceOf, type TextChunk } from '../src/backend/text-chunks.ts';
import { streamLines } from '../src/model/trace-reader.ts';

const enc = new TextEncoder();

function cutAll(pieces: Uint8Array[]): TextChunk[] {
  const cutter = new LineCutter();
  const out: TextChunk[] = [];
  for (const p of pieces) {
    const c = cutter.push(p);
    if (c) out.push(c);
  }
  const end = cutter.end();
  if (end) out.push(end);
  return out;
}

/** `bytes` split at every given offset. */
function split(bytes: Uint8Array, at: number[]): Uint8Array[] {
  const out: Uint8Array[] = [];
  let from = 0;
  for (const to of [...at, bytes.length]) {
    out.push(bytes.subarray(from, to));
    from = to;
  }
  return out;
}

test('chunks end at a newline, whatever the byte pieces: a character cut between two pieces is decoded whole', () => {
  const text = '{"a":"é€𝄞"}\n{"b":1}\r\n{"c":"ü"}\n{"torn":';
  const bytes = enc.encode(text);
  for (let i = 1; i < bytes.length; i++) {
    for (const j of [i + 1, i + 3]) {
      const chunks = cutAll(split(bytes, j < bytes.length ? [i, j] : [i]));
      assert.equal(chunks.map((c) => c.text).join(''), text, `cut at ${i}, ${j}`);
      assert.equal(chunks.reduce((n, c) => n + c.bytes, 0), bytes.length);
      for (const c of chunks.slice(0, -1)) assert.ok(c.text.endsWith('\n') && !c.last, JSON.stringify(c));
      const last = chunks.at(-1)!;
      assert.deepEqual([last.text, last.bytes, last.last], ['{"torn":', enc.encode('{"torn":').length, true]);
    }
  }
});

test('a piece without a newline is held until one arrives; a trace that ends in a newline has no last chunk', () => {
  const chunks = cutAll([enc.encode('{"a":'), enc.encode('"ß"'), enc.encode('}\n')]);
  assert.deepEqual(chunks, [{ text: '{"a":"ß"}\n', bytes: 11 }]);
  assert.deepEqual(cutAll([]), []);
});

test('streamLines over a byte stream: the offset is the bytes of the complete lines (multi-byte ones too), the unterminated rest is the tail', async () => {
  const bytes = enc.encode('{"x":"€"}\n\n{"y":2}\r\n{"z":');
  const stream = new ReadableStream<Uint8Array>({
    start(c) {
      for (const piece of split(bytes, [3, 7, 8, 15])) c.enqueue(piece);
      c.close();
    },
  });
  const seen: Array<[string, number, boolean]> = [];
  const result = await streamLines(textSourceOf(stream), (text, line, terminated) => { seen.push([text, line, terminated]); });
  assert.deepEqual(seen, [['{"x":"€"}', 1, true], ['', 2, true], ['{"y":2}', 3, true], ['{"z":', 4, false]]);
  assert.deepEqual(result, { offset: bytes.length - 5, lines: 3, tail: { line: 4, text: '{"z":' } });
});

test('the worker\'s runs of bytes: whole lines, each in a buffer of its own (transferring it leaves the pieces read intact)', () => {
  const text = '{"a":"é€𝄞"}\n{"b":1}\r\n{"c":"ü"}\n{"torn":"€';
  const bytes = enc.encode(text);
  // The torn line is cut inside its last character: the rest decodes to U+FFFD there, as the page's own reading does.
  const torn = bytes.subarray(0, bytes.length - 1);
  for (let i = 1; i < torn.length; i++) {
    const pieces = split(torn.slice(), [i]);
    const cutter = new ByteLineCutter();
    const runs: Uint8Array[] = [];
    for (const p of pieces) {
      const run = cutter.push(p);
      if (run) runs.push(run);
    }
    const rest = cutter.end()!;
    for (const run of runs) assert.equal(run.at(-1), 10);
    const chunks = [...runs.map((r) => textOf(r)), textOf(rest, true)];
    assert.deepEqual(chunks, cutAll(split(torn, [i])), `cut at ${i}`);
    for (const run of [...runs, rest]) {
      assert.equal(run.byteOffset, 0);
      assert.equal(run.buffer.byteLength, run.length, `cut at ${i}: a run shares a bigger buffer`);
      structuredClone(run, { transfer: [run.buffer] });
    }
    assert.deepEqual(pieces.map((p) => p.length), [i, torn.length - i], `cut at ${i}: a piece read was transferred with a run`);
  }
  assert.deepEqual(textOf(enc.encode('{"x":"€').subarray(0, 8), true), { text: '{"x":"\uFFFD', bytes: 8, last: true });
});
