/**
 * A projection serialized in pieces: the same bytes as `JSON.stringify(value)` (compact) followed by a newline, but
 * the top-level arrays (steps.json's steps, run.json's nodes and edges) are serialized a slice of elements at a time
 * and handed out in chunks of about CHUNK characters. A million-attempt steps.json (hundreds of MB) is thus never one
 * string (V8 caps a string at 2^29 characters) nor one buffer, and each chunk is encoded while it is still in cache.
 *
 * Given the file's previous version (its layout, and a descriptor open on it), a slice whose elements are the very
 * objects of the same slice then is copied from that file instead of serialized again: a state's objects never change
 * once handed out (the schema's Projector), so the same objects have the same text. A long run's snapshots thus
 * serialize each step about once, not once per snapshot (a million-node run wrote steps.json a dozen times).
 */
import { readSync } from 'node:fs';
import { WRITE_CHUNK as CHUNK } from './fsio.ts';

/** Smaller arrays are serialized whole: splitting them saves nothing. */
const STREAMED_ARRAY = 256;
/**
 * Elements serialized per JSON.stringify call. One call per element cost 10–20 % more CPU at 100,000 nodes (16: no
 * better; 64: about as good as 32). Much larger slices make texts past V8's large-object threshold, which is slower.
 */
const SLICE = 32;
/** Bytes copied from the previous version per read. */
const COPY_CHUNK = 1 << 20;
let copyBuffer: Buffer | undefined;

/** Where a file's streamed arrays are: per top-level key, the elements written and the byte offset of each slice. */
export type ChunkLayout = Map<string, { elements: readonly unknown[]; starts: number[] }>;

/** A file's previous version, to copy unchanged slices from. */
export interface PreviousVersion {
  layout: ChunkLayout;
  /** Open for reading on the very file `layout` describes (not a path: the path now names the new version). */
  fd: number;
}

/**
 * Writes `value` through `write` (which must be done with a chunk when it returns: a copied chunk's buffer is reused)
 * and returns the layout of what it wrote.
 */
export function writeJsonChunks(value: object, write: (chunk: string | Uint8Array) => void, previous?: PreviousVersion): ChunkLayout {
  const layout: ChunkLayout = new Map();
  let out = '';
  /** Bytes handed to `write` so far, and the UTF-8 bytes of `out`, which follows them. */
  let written = 0;
  let outBytes = 0;
  const add = (text: string, bytes = Buffer.byteLength(text)) => {
    out += text;
    outBytes += bytes;
  };
  /** A run of unchanged slices to copy from the previous version: [copyFrom, copyTo) there. */
  let copyFrom = 0;
  let copyTo = 0;
  const flushText = () => {
    if (out.length === 0) return;
    write(out);
    written += outBytes;
    out = '';
    outBytes = 0;
  };
  const flushCopy = () => {
    if (copyTo === copyFrom) return;
    flushText();
    copyBuffer ??= Buffer.allocUnsafeSlow(COPY_CHUNK);
    for (let at = copyFrom; at < copyTo; ) {
      const read = readSync(previous!.fd, copyBuffer, 0, Math.min(COPY_CHUNK, copyTo - at), at);
      if (read === 0) throw new Error('the previous version of a projection file ended early');
      write(copyBuffer.subarray(0, read));
      at += read;
    }
    written += copyTo - copyFrom;
    copyFrom = copyTo = 0;
  };
  add('{', 1);
  let first = true;
  for (const key of Object.keys(value)) {
    const field = (value as Record<string, unknown>)[key];
    if (Array.isArray(field) && field.length >= STREAMED_ARRAY) {
      add(`${first ? '' : ','}${JSON.stringify(key)}:[`);
      const before = previous?.layout.get(key);
      const starts: number[] = [];
      for (let i = 0; i < field.length; i += SLICE) {
        const end = Math.min(i + SLICE, field.length);
        if (before !== undefined && sameSlice(before.elements, field, i, end)) {
          // Its text with its comma, as written then (both versions cut their arrays on the same grid of SLICE).
          const from = before.starts[i / SLICE]!;
          const to = before.starts[i / SLICE + 1]!;
          if (copyTo !== from) {
            flushCopy();
            copyFrom = from;
          }
          copyTo = to;
          starts.push(-1);
          continue;
        }
        flushCopy();
        starts.push(written + outBytes);
        // A slice's elements exactly as JSON.stringify writes them inside the whole array (one with no JSON form,
        // undefined or a function, is null); only its brackets (a byte each) are cut.
        const json = JSON.stringify(field.slice(i, end));
        if (i > 0) add(',', 1);
        add(json.slice(1, -1), Buffer.byteLength(json) - 2);
        if (out.length >= CHUNK) flushText();
      }
      flushCopy();
      starts.push(written + outBytes);
      fillCopiedStarts(starts, before);
      layout.set(key, { elements: field, starts });
      add(']', 1);
      first = false;
      continue;
    }
    // As in JSON.stringify: a field with no JSON form (undefined, a function) is left out.
    const text = JSON.stringify(field) as string | undefined;
    if (text === undefined) continue;
    add(`${first ? '' : ','}${JSON.stringify(key)}:${text}`);
    first = false;
  }
  add('}\n', 2);
  flushText();
  return layout;
}

/** Elements [i, end) of `now` are those of the same slice of `then`, and that slice ended at `end` too. */
function sameSlice(then: readonly unknown[], now: readonly unknown[], i: number, end: number): boolean {
  if (Math.min(i + SLICE, then.length) !== end) return false;
  for (let k = i; k < end; k++) if (then[k] !== now[k]) return false;
  return true;
}

/**
 * A copied slice's start (-1 while copying) is the next slice's start minus its length in the previous version (the
 * bytes copied are exactly the slice's).
 */
function fillCopiedStarts(starts: number[], before: { starts: number[] } | undefined): void {
  for (let k = starts.length - 2; k >= 0; k--) {
    if (starts[k] !== -1) continue;
    starts[k] = starts[k + 1]! - (before!.starts[k + 1]! - before!.starts[k]!);
  }
}
