/**
 * A tolerant, streaming NDJSON reader for Node and browsers (web streams and async iterables only, no `node:`
 * imports). A torn final line — a writer killed mid-append — is reported as an issue, never thrown; a bad line in
 * the middle is reported with its line number and reading goes on; so is a line longer than `MAX_LINE_BYTES`, which
 * is counted, not read. Time is linear in the input, however long a line is.
 */

export type ByteSource =
  | ReadableStream<Uint8Array>
  | AsyncIterable<Uint8Array | string>
  | Iterable<Uint8Array | string>;

/**
 * The longest line a reader takes, in UTF-8 bytes without the newline: 64 MiB. An ACP message carrying a base64
 * image or a large tool output is several MB; a line past this limit is not read into memory (its bytes are
 * counted and dropped as they stream by) and is reported once as `line_too_long` with its length. See SPEC.md,
 * "Reading a bundle".
 */
export const MAX_LINE_BYTES = 64 * 1024 * 1024;

export interface NdjsonLine {
  /** 1-based line number in the file. */
  line: number;
  value: unknown;
  /** Length of the line in bytes of UTF-16 text, without the newline (for progress and offsets). */
  length: number;
}

export interface NdjsonIssue {
  line: number;
  /**
   * `torn_tail`: the last line has no newline and is not valid JSON; `invalid_json`: a complete line is not JSON;
   * `line_too_long`: the line is longer than the limit (`MAX_LINE_BYTES`) and was not read; `invalid_utf8`: the
   * line's bytes are not UTF-8 (it is still read, each bad sequence as U+FFFD, so what follows is checked too).
   */
  problem: 'torn_tail' | 'invalid_json' | 'line_too_long' | 'invalid_utf8';
  message: string;
  /** `line_too_long`: the line's length in UTF-8 bytes, without its newline. */
  bytes?: number;
}

export interface ReadNdjsonOptions {
  /** Named in issue messages, e.g. `trace.ndjson`. */
  file?: string;
  onIssue?: (issue: NdjsonIssue) => void;
  /** Lines longer than this (UTF-8 bytes) are reported and skipped unread; default `MAX_LINE_BYTES`. */
  maxLineBytes?: number;
}

export interface ReadLinesOptions {
  /** Lines longer than this (UTF-8 bytes) come back with `tooLong` and no text; default `MAX_LINE_BYTES`. */
  maxLineBytes?: number;
}

export interface RawLine {
  /** The line without its newline (and a CR before it); empty when `tooLong`. */
  text: string;
  /** 1-based line number. */
  line: number;
  /** False for a last line without a newline. */
  terminated: boolean;
  /** Length in UTF-8 bytes, without the newline. */
  bytes: number;
  /** The line is longer than the limit: its bytes were counted, not kept. */
  tooLong?: true;
  /** The line's bytes are not valid UTF-8: `text` has U+FFFD for each bad sequence. */
  invalidUtf8?: true;
}

async function* chunksOf(source: ByteSource): AsyncGenerator<Uint8Array | string> {
  if (typeof (source as ReadableStream<Uint8Array>).getReader === 'function') {
    const reader = (source as ReadableStream<Uint8Array>).getReader();
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) return;
        yield value;
      }
    } finally {
      reader.releaseLock();
    }
  } else {
    yield* source as AsyncIterable<Uint8Array | string>;
  }
}

const NEWLINE = 0x0a;
const EMPTY = new Uint8Array(0);

/**
 * Splits a byte or text stream into lines; the final line is yielded with `terminated: false` when it has no
 * newline. Linear in the input: every byte is searched once, whatever the length of a line, and a line that spans
 * chunks is decoded piece by piece and joined once. Complete lines inside a chunk are decoded together.
 */
export async function* readLines(source: ByteSource, options: ReadLinesOptions = {}): AsyncGenerator<RawLine> {
  const max = options.maxLineBytes ?? MAX_LINE_BYTES;
  // ignoreBOM: a byte-order mark is dropped only at the start of the file (below), not at the start of every decode.
  const decoder = new TextDecoder('utf-8', { ignoreBOM: true });
  const pieceDecoder = new TextDecoder('utf-8', { ignoreBOM: true });
  const encoder = new TextEncoder();
  // Invalid UTF-8 decodes to U+FFFD, as does a real U+FFFD: only a line whose text holds one is checked, with a
  // decoder that throws on bad bytes (one native scan of each chunk's text finds none on the usual trace).
  const strict = new TextDecoder('utf-8', { ignoreBOM: true, fatal: true });
  const isInvalid = (bytes: Uint8Array): boolean => {
    try {
      strict.decode(bytes);
      return false;
    } catch {
      return true;
    }
  };
  let line = 0;
  // The line being assembled across chunks: its decoded pieces (dropped once it is too long) and its byte count.
  let pieces: string[] = [];
  // Its bytes also go through a decoder that throws on bad ones, as they come: a long line's bytes are not kept.
  let pieceChecker = new TextDecoder('utf-8', { ignoreBOM: true, fatal: true });
  let pendingInvalid = false;
  let pendingBytes = 0;
  let pendingTooLong = false;

  const make = (text: string, bytes: number, terminated: boolean, tooLong: boolean, invalidUtf8 = false): RawLine => {
    line++;
    if (tooLong) return { text: '', line, terminated, bytes, tooLong: true };
    if (terminated && text.charCodeAt(text.length - 1) === 13) text = text.slice(0, -1);
    if (line === 1 && text.charCodeAt(0) === 0xfeff) text = text.slice(1);
    return invalidUtf8 ? { text, line, terminated, bytes, invalidUtf8: true } : { text, line, terminated, bytes };
  };
  /** Feeds the checker; false once the line's bytes so far are not UTF-8 (the checker is then made anew). */
  const check = (part: Uint8Array, stream: boolean): boolean => {
    if (pendingInvalid) return false;
    try {
      pieceChecker.decode(part, { stream });
      return true;
    } catch {
      pendingInvalid = true;
      pieceChecker = new TextDecoder('utf-8', { ignoreBOM: true, fatal: true });
      return false;
    }
  };
  /** Ends the pending line with `tail` (the bytes before its newline, or nothing at the end of the input). */
  const finish = (tail: Uint8Array, terminated: boolean): RawLine => {
    const bytes = pendingBytes + tail.length;
    const tooLong = pendingTooLong || bytes > max;
    const held = pieces.length > 0;
    let text = '';
    let invalid = false;
    if (!tooLong) {
      pieces.push(pieceDecoder.decode(tail));
      text = pieces.length === 1 ? pieces[0]! : pieces.join('');
      // A line read from one chunk is checked on its bytes, and only if its text holds U+FFFD; one spanning chunks
      // has been fed to the checker as it came.
      invalid = held ? !check(tail, false) : text.includes('\uFFFD') && isInvalid(tail);
    } else {
      if (!pendingTooLong) pieceDecoder.decode(); // reset its state
      // Fed part of the line before it grew too long: made anew for the next one.
      pieceChecker = new TextDecoder('utf-8', { ignoreBOM: true, fatal: true });
    }
    pieces = [];
    pendingBytes = 0;
    pendingTooLong = false;
    pendingInvalid = false;
    return make(text, bytes, terminated, tooLong, invalid);
  };
  /** Adds bytes without a newline to the pending line. */
  const hold = (part: Uint8Array): void => {
    pendingBytes += part.length;
    if (pendingTooLong) return;
    if (pendingBytes > max) {
      pendingTooLong = true;
      pieces = [];
      pieceDecoder.decode();
      return;
    }
    pieces.push(pieceDecoder.decode(part, { stream: true }));
    check(part, true);
  };

  for await (const raw of chunksOf(source)) {
    const chunk = typeof raw === 'string' ? encoder.encode(raw) : raw;
    const first = chunk.indexOf(NEWLINE);
    if (first === -1) {
      hold(chunk);
      continue;
    }
    yield finish(chunk.subarray(0, first), true);
    const last = chunk.lastIndexOf(NEWLINE);
    if (last > first) {
      // Whole lines between the first and the last newline: one decode, then split the text (a newline byte is
      // never part of a multi-byte character, so byte and text newlines match one to one).
      const text = decoder.decode(chunk.subarray(first + 1, last));
      const suspect = text.includes('\uFFFD');
      let at = 0;
      let byteAt = first + 1;
      for (;;) {
        const end = text.indexOf('\n', at);
        const byteEnd = end === -1 ? last : chunk.indexOf(NEWLINE, byteAt);
        const bytes = byteEnd - byteAt;
        const lineText = bytes > max ? '' : text.slice(at, end === -1 ? text.length : end);
        const invalid = suspect && lineText.includes('\uFFFD') && isInvalid(chunk.subarray(byteAt, byteEnd));
        yield make(lineText, bytes, true, bytes > max, invalid);
        if (end === -1) break;
        at = end + 1;
        byteAt = byteEnd + 1;
      }
    }
    if (last + 1 < chunk.length) hold(chunk.subarray(last + 1));
  }
  if (pendingBytes > 0 || pendingTooLong) yield finish(EMPTY, false);
}

/** Parses NDJSON lines. Blank lines are skipped; lines over the limit are reported (`line_too_long`) and skipped. */
export async function* readNdjson(source: ByteSource, options: ReadNdjsonOptions = {}): AsyncGenerator<NdjsonLine> {
  for await (const raw of readLines(source, options)) {
    const parsed = parseRawLine(raw, options);
    if (parsed) yield parsed;
  }
}

/**
 * One line from readLines, as readNdjson reads it: parsed, or undefined (blank, or reported: too long, not JSON).
 * For readers that take lines straight from readLines (one async step per line, not one per layer).
 */
export function parseRawLine({ text, line, terminated, bytes, tooLong, invalidUtf8 }: RawLine, options: ReadNdjsonOptions = {}): NdjsonLine | undefined {
  if (tooLong) {
    reportTooLong(line, bytes, terminated, options);
    return undefined;
  }
  if (invalidUtf8) {
    options.onIssue?.({ line, problem: 'invalid_utf8', message: `${options.file ?? 'ndjson'}:${line}: not valid UTF-8 (read with U+FFFD for each bad byte sequence)` });
  }
  return parseLine(text, line, terminated, options);
}

/** The same, over text already in memory. */
export function parseNdjsonText(text: string, options: ReadNdjsonOptions = {}): NdjsonLine[] {
  const max = options.maxLineBytes ?? MAX_LINE_BYTES;
  const out: NdjsonLine[] = [];
  let start = 0;
  let line = 0;
  if (text.charCodeAt(0) === 0xfeff) start = 1;
  while (start < text.length) {
    const end = text.indexOf('\n', start);
    line++;
    const terminated = end !== -1;
    const stop = terminated ? end : text.length;
    // UTF-8 takes at least one byte per UTF-16 unit and at most three: count exactly only in between.
    const units = stop - start;
    const bytes = units > max ? units : units * 3 > max ? utf8Length(text, start, stop) : 0;
    if (bytes > max) {
      reportTooLong(line, bytes, terminated, options);
    } else {
      const parsed = parseLine(text.slice(start, stop > start && text.charCodeAt(stop - 1) === 13 ? stop - 1 : stop), line, terminated, options);
      if (parsed) out.push(parsed);
    }
    start = stop + 1;
  }
  return out;
}

/** The number of UTF-8 bytes of `text` from `start` to `end` (a lone surrogate counts as U+FFFD, 3 bytes). */
function utf8Length(text: string, start: number, end: number): number {
  let bytes = 0;
  for (let i = start; i < end; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x80) bytes += 1;
    else if (c < 0x800) bytes += 2;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < end && (text.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      bytes += 4;
      i++;
    } else bytes += 3;
  }
  return bytes;
}

function reportTooLong(line: number, bytes: number, terminated: boolean, options: ReadNdjsonOptions): void {
  const file = options.file ?? 'ndjson';
  const max = options.maxLineBytes ?? MAX_LINE_BYTES;
  const last = terminated ? '' : ', the last line, without a newline';
  options.onIssue?.({
    line,
    problem: 'line_too_long',
    bytes,
    message: `${file}:${line}: line too long (${bytes} bytes${last}; the limit is ${describeBytes(max)}): not read`,
  });
}

function describeBytes(bytes: number): string {
  const mib = bytes / (1024 * 1024);
  return Number.isInteger(mib) ? `${mib} MiB` : `${bytes} bytes`;
}

function parseLine(text: string, line: number, terminated: boolean, options: ReadNdjsonOptions): NdjsonLine | undefined {
  if (text.trim() === '') return undefined;
  try {
    return { line, value: JSON.parse(text), length: text.length };
  } catch (error) {
    const file = options.file ?? 'ndjson';
    const issue: NdjsonIssue = terminated
      ? { line, problem: 'invalid_json', message: `${file}:${line}: not valid JSON (${shortReason(error)})` }
      : {
          line,
          problem: 'torn_tail',
          message: `${file}:${line}: torn last line (${text.length} characters without a newline): the writer stopped mid-append`,
        };
    options.onIssue?.(issue);
    return undefined;
  }
}

function shortReason(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return message.split('\n')[0]!.slice(0, 120);
}
