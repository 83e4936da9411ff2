/**
 * A projection serialized in pieces: the same bytes as `JSON.stringify(value)` (compact) followed by a newline, but
 * the top-level arrays (steps.json's steps, run.json's nodes and edges) are serialized a slice of elements at a time
 * and handed out as UTF-8 in chunks of about CHUNK bytes. A million-attempt steps.json (hundreds of MB) is thus never
 * one string (V8 caps a string at 2^29 characters) nor one buffer, and each slice is encoded while it is in cache.
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
 * The UTF-8 of what is serialized, encoded straight into one reused buffer and handed out in chunks of about CHUNK
 * bytes. Each slice's text is encoded once, where it goes: its byte count comes from the encoding (no Buffer.byteLength
 * scan), and no chunk-sized string is concatenated, then flattened, then encoded. A small gain: the final snapshot of
 * 10,000 attempts took a median 22.6 ms against 24.5 (9 runs each, quiet machine); JSON.stringify is most of it.
 * The buffer is the module's: a file is written synchronously, so writers never share it at once.
 */
const ENCODE_BUFFER = CHUNK * 4;
let encodeBuffer = Buffer.allocUnsafeSlow(ENCODE_BUFFER);

class ChunkEncoder {
  /** Bytes handed to `write` so far. */
  written = 0;
  /** Bytes encoded in the buffer, not handed out yet. */
  pos = 0;

  constructor(private readonly write: (chunk: Uint8Array, copied: boolean) => void) {}

  /** The file offset of the next byte. */
  get offset(): number {
    return this.written + this.pos;
  }

  /** Encodes `text` (after handing out what is encoded, when the buffer could not hold it) and returns its byte count. */
  text(text: string): number {
    // A UTF-16 unit takes at most 3 bytes of UTF-8.
    const needed = text.length * 3;
    if (this.pos + needed > encodeBuffer.byteLength) {
      this.flush();
      if (needed > encodeBuffer.byteLength) encodeBuffer = Buffer.allocUnsafeSlow(needed);
    }
    const bytes = encodeBuffer.write(text, this.pos, 'utf8');
    this.pos += bytes;
    return bytes;
  }

  /** Encodes one ASCII character. */
  byte(code: number): void {
    if (this.pos === encodeBuffer.byteLength) this.flush();
    encodeBuffer[this.pos++] = code;
  }

  /** Hands out what is encoded once it reaches a chunk. */
  maybeFlush(): void {
    if (this.pos >= CHUNK) this.flush();
  }

  flush(): void {
    if (this.pos === 0) return;
    this.write(encodeBuffer.subarray(0, this.pos), false);
    this.written += this.pos;
    this.pos = 0;
  }

  /** Bytes [from, to) of the previous version, copied after what is encoded. */
  copy(fd: number, from: number, to: number): void {
    this.flush();
    copyBuffer ??= Buffer.allocUnsafeSlow(COPY_CHUNK);
    for (let at = from; at < to; ) {
      const read = readSync(fd, copyBuffer, 0, Math.min(COPY_CHUNK, to - at), at);
      if (read === 0) throw new Error('the previous version of a projection file ended early');
      this.write(copyBuffer.subarray(0, read), true);
      at += read;
    }
    this.written += to - from;
  }
}

const OPEN_BRACE = 0x7b;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;
const COMMA = 0x2c;

/**
 * Writes `value` through `write` (which must be done with a chunk when it returns: the buffers are reused; `copied`:
 * the chunk was copied from the previous version) and returns the layout of what it wrote.
 */
export function writeJsonChunks(value: object, write: (chunk: Uint8Array, copied: boolean) => void, previous?: PreviousVersion): ChunkLayout {
  const layout: ChunkLayout = new Map();
  const out = new ChunkEncoder(write);
  /** A run of unchanged slices to copy from the previous version: [copyFrom, copyTo) there. */
  let copyFrom = 0;
  let copyTo = 0;
  const flushCopy = () => {
    if (copyTo === copyFrom) return;
    out.copy(previous!.fd, copyFrom, copyTo);
    copyFrom = copyTo = 0;
  };
  out.byte(OPEN_BRACE);
  let first = true;
  for (const key of Object.keys(value)) {
    const field = (value as Record<string, unknown>)[key];
    if (Array.isArray(field) && field.length >= STREAMED_ARRAY) {
      out.text(`${first ? '' : ','}${JSON.stringify(key)}:`);
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
          // The array's `[`, written with the first slice otherwise.
          if (i === 0) out.byte(OPEN_BRACKET);
          continue;
        }
        flushCopy();
        // A slice's elements exactly as JSON.stringify writes them inside the whole array (one with no JSON form,
        // undefined or a function, is null). Encoded whole: its `[` is the array's own for the first slice and
        // becomes the comma before it for the others, and its `]` is dropped (the next slice's comma, or the
        // array's `]`, is written over it).
        const bytes = out.text(JSON.stringify(field.slice(i, end)));
        const start = out.pos - bytes;
        if (i > 0) encodeBuffer[start] = COMMA;
        out.pos--;
        // Where the slice's text starts in the file, as a later copy takes it: after the array's `[` (the first), at
        // its comma (the others).
        starts.push(out.offset + 1 - bytes + (i === 0 ? 1 : 0));
        out.maybeFlush();
      }
      flushCopy();
      starts.push(out.offset);
      fillCopiedStarts(starts, before);
      layout.set(key, { elements: field, starts });
      out.byte(CLOSE_BRACKET);
      first = false;
      continue;
    }
    // As in JSON.stringify: a field with no JSON form (undefined, a function) is left out.
    const text = JSON.stringify(field) as string | undefined;
    if (text === undefined) continue;
    out.text(`${first ? '' : ','}${JSON.stringify(key)}:${text}`);
    first = false;
  }
  out.text('}\n');
  out.flush();
  // A slice past the usual size grew the buffer: not kept for the rest of the process.
  if (encodeBuffer.byteLength > ENCODE_BUFFER) encodeBuffer = Buffer.allocUnsafeSlow(ENCODE_BUFFER);
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
