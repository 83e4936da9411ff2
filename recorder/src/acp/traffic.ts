// Byte-level taps on the agent's stdio. The SDK's ndJsonStream reads from and writes to these streams, so
// every line is seen here exactly as it crossed the pipe, in order, before the SDK acts on it.
import type { Readable, Writable } from 'node:stream';

/**
 * How much of an agent's stderr, and of its stdout that is not JSON, a session records: the first 1 MiB of each
 * stream. The rest is counted (bytes and lines) and summarised in one line at the end of the session, so a
 * flooding agent cannot fill the disk or the recorder's memory.
 */
export const AGENT_OUTPUT_CAP_BYTES = 1024 * 1024;

/** The longest line read from an agent's stdout (and the SDK's message limit): a longer one is a protocol error. */
export const AGENT_LINE_MAX_BYTES = 32 * 1024 * 1024;

export class LineTooLongError extends Error {
  /** Bytes of the line that were buffered and dropped. */
  constructor(message: string, readonly dropped: number) {
    super(message);
  }
}

/** Splits a byte stream into lines (LF or CRLF), decoding each complete line as UTF-8. */
export class LineSplitter {
  private parts: Buffer[] = [];
  private size = 0;

  constructor(private readonly maxLineBytes = Number.POSITIVE_INFINITY) {}

  push(chunk: Buffer): string[] {
    const lines: string[] = [];
    this.each(chunk, (line) => {
      lines.push(line);
      return true;
    });
    return lines;
  }

  /**
   * Calls `onLine` for each complete line of `chunk`, in order, until it returns false; returns the offset in `chunk`
   * just past the last line it was given (chunk.length when it never returned false).
   */
  each(chunk: Buffer, onLine: (line: string) => boolean): number {
    let start = 0;
    for (let nl = chunk.indexOf(0x0a, start); nl !== -1; nl = chunk.indexOf(0x0a, start)) {
      const piece = chunk.subarray(start, nl);
      const line = decodeLine(this.size > 0 ? Buffer.concat([...this.parts, piece]) : piece);
      this.parts = [];
      this.size = 0;
      start = nl + 1;
      if (!onLine(line)) return start;
    }
    if (start < chunk.length) {
      const rest = chunk.subarray(start);
      this.parts.push(rest);
      this.size += rest.length;
      if (this.size > this.maxLineBytes) {
        const dropped = this.size;
        this.parts = [];
        this.size = 0;
        throw new LineTooLongError(`a line longer than ${this.maxLineBytes} bytes`, dropped);
      }
    }
    return chunk.length;
  }

  /** The unterminated last line, if any. */
  flush(): string | undefined {
    if (this.size === 0) return undefined;
    return decodeLine(this.take());
  }

  /** The bytes of the unterminated last line, undecoded (removed from the splitter). */
  take(): Buffer {
    const bytes = Buffer.concat(this.parts);
    this.parts = [];
    this.size = 0;
    return bytes;
  }
}

/** What a tap counted instead of recording: always the end of the stream, from the first byte not recorded on. */
export class Omitted {
  bytes = 0;
  /** Why the first byte was not recorded. */
  reason: 'cap' | 'closed' | undefined;
  private newlines = 0;
  private last = 0x0a;

  add(bytes: Buffer, reason: 'cap' | 'closed'): void {
    if (bytes.length === 0) return;
    this.reason ??= reason;
    this.bytes += bytes.length;
    for (let nl = bytes.indexOf(0x0a); nl !== -1; nl = bytes.indexOf(0x0a, nl + 1)) this.newlines++;
    this.last = bytes[bytes.length - 1]!;
  }

  /** `count` bytes of one line, without its end (dropped before they were looked at). */
  addUnterminated(count: number, reason: 'cap' | 'closed'): void {
    if (count === 0) return;
    this.reason ??= reason;
    this.bytes += count;
    this.last = 0;
  }

  /** Lines the omitted bytes hold: a line cut at the cap counts once, and so does an unterminated last one. */
  get lines(): number {
    return this.newlines + (this.last === 0x0a ? 0 : 1);
  }

  /** The summary line flowtape records in place of the omitted bytes. */
  summary(stream: 'stderr' | 'stdout'): string {
    const why = this.reason === 'cap' ? `over the ${AGENT_OUTPUT_CAP_BYTES}-byte cap of a session` : 'written after the session closed';
    return `flowtape: ${this.bytes} more bytes (${this.lines} lines) of ${stream} not recorded: ${why}`;
  }
}

/**
 * The lines of a stream up to `cap` bytes (newlines included); the line that crosses the cap is cut there (at a
 * character boundary). Past the cap, or once stop() is called, bytes are only counted: never more than the cap is
 * buffered, even for one endless line.
 */
export class CappedLines {
  readonly omitted = new Omitted();
  private readonly splitter = new LineSplitter();
  private left: number;
  private stopped = false;

  constructor(cap: number) {
    this.left = cap;
  }

  push(chunk: Buffer): string[] {
    if (this.stopped) {
      this.omitted.add(chunk, 'closed');
      return [];
    }
    const take = Math.min(chunk.length, this.left);
    this.left -= take;
    const lines = this.splitter.push(chunk.subarray(0, take));
    if (take === chunk.length) return lines;
    // The cap is reached: record what fits of the line crossing it, count the rest.
    const partial = this.splitter.take();
    const cut = charBoundary(Buffer.concat([partial, chunk.subarray(take, take + 4)]), partial.length);
    if (cut > 0) lines.push(decodeLine(partial.subarray(0, cut)));
    this.stopped = true;
    this.omitted.add(partial.subarray(cut), 'cap');
    this.omitted.add(chunk.subarray(take), 'cap');
    return lines;
  }

  /** The unterminated last line at the end of the stream (undefined once stopped). */
  flush(): string | undefined {
    return this.stopped ? undefined : this.splitter.flush();
  }

  /** Nothing more is recorded: a partial line and every later byte are counted. */
  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    this.omitted.add(this.splitter.take(), 'closed');
  }
}

/** The largest n <= cut where `bytes` can be cut without splitting a UTF-8 character (bytes[cut] is looked at). */
export function charBoundary(bytes: Buffer, cut: number): number {
  let n = cut;
  while (n > 0 && cut - n < 3 && n < bytes.length && (bytes[n]! & 0xc0) === 0x80) n--;
  return n;
}

/** The longest prefix of `text` that is at most `maxBytes` bytes of UTF-8 (whole characters only). */
export function utf8Prefix(text: string, maxBytes: number): string {
  const bytes = Buffer.from(text, 'utf8');
  if (bytes.length <= maxBytes) return text;
  return bytes.subarray(0, charBoundary(bytes, maxBytes)).toString('utf8');
}

function decodeLine(bytes: Buffer): string {
  const text = bytes.toString('utf8');
  return text.endsWith('\r') ? text.slice(0, -1) : text;
}

/** What to do with a line from the agent: pass it to the SDK, keep it from the SDK, or stop (see IncomingTap). */
export type LineVerdict = 'forward' | 'skip' | 'stop';

export interface IncomingTap {
  /**
   * Called for each line from the agent, in order, before the SDK sees it. After 'stop' no line reaches the SDK or
   * this tap again: the rest of stdout is only counted (`omitted`).
   */
  onLine(line: string): LineVerdict;
  onTooLong(error: LineTooLongError): void;
  /** Called once when the agent's stdout has ended (or errored). */
  onEnd(): void;
}

export interface IncomingStream {
  readable: ReadableStream<Uint8Array>;
  /** Bytes of stdout read after the tap stopped (or after a line too long), counted instead of recorded. */
  omitted: Omitted;
  /** Nothing more is passed to the tap (the session is closed): the rest of stdout is only counted. */
  stop(): void;
}

/** A web ReadableStream of the agent's stdout lines, each passed to `tap.onLine` first. */
export function tapIncoming(stdout: Readable, tap: IncomingTap, maxLineBytes: number): IncomingStream {
  const splitter = new LineSplitter(maxLineBytes);
  const omitted = new Omitted();
  let stopped = false;
  let closed = false;
  let controller!: ReadableStreamDefaultController<Uint8Array>;
  const stop = (): void => {
    if (stopped) return;
    stopped = true;
    omitted.add(splitter.take(), 'closed');
  };
  // Every line up to 'stop' is shown to the tap (and so recorded); only 'forward' ones reach the SDK.
  const forward = (line: string): boolean => {
    const verdict = tap.onLine(line);
    if (verdict === 'stop') stop();
    else if (verdict === 'forward' && !stopped && !closed && line.trim() !== '') controller.enqueue(Buffer.from(`${line}\n`, 'utf8'));
    return !stopped;
  };
  let ended = false;
  const end = (): void => {
    if (ended) return;
    ended = true;
    const last = stopped ? undefined : splitter.flush();
    if (last !== undefined) forward(last);
    if (!closed) {
      closed = true;
      controller.close();
    }
    tap.onEnd();
  };
  const readable = new ReadableStream<Uint8Array>({
    start(c) {
      controller = c;
      stdout.on('data', (chunk: Buffer) => {
        if (stopped) {
          omitted.add(chunk, 'closed');
          return;
        }
        let consumed: number;
        try {
          consumed = splitter.each(chunk, forward);
        } catch (error) {
          const tooLong = error as LineTooLongError;
          stopped = true;
          omitted.addUnterminated(tooLong.dropped, 'closed');
          tap.onTooLong(tooLong);
          return;
        }
        omitted.add(chunk.subarray(consumed), 'closed');
      });
      stdout.once('end', end);
      stdout.once('close', end);
      stdout.once('error', end);
    },
    cancel() {
      // The SDK stopped reading (connection closed); lines are still recorded until stdout ends or the tap stops.
      closed = true;
    },
  });
  return { readable, omitted, stop };
}

/** A web WritableStream into the agent's stdin; each line written is passed to `onLine` first. */
export function tapOutgoing(stdin: Writable, onLine: (line: string) => void): WritableStream<Uint8Array> {
  const splitter = new LineSplitter();
  return new WritableStream<Uint8Array>({
    write(chunk) {
      const bytes = Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
      for (const line of splitter.push(bytes)) onLine(line);
      return new Promise<void>((resolve, reject) => {
        if (stdin.destroyed || stdin.writableEnded) {
          reject(new Error('agent stdin is closed'));
          return;
        }
        stdin.write(bytes, (error) => (error ? reject(error) : resolve()));
      });
    },
  });
}

/** Calls `onLine` for each stderr line (the last, unterminated one included), up to the cap; see CappedLines. */
export function tapLines(stream: Readable, cap: number, onLine: (line: string) => void): CappedLines {
  const lines = new CappedLines(cap);
  stream.on('data', (chunk: Buffer) => {
    for (const line of lines.push(chunk)) onLine(line);
  });
  stream.once('end', () => {
    const last = lines.flush();
    if (last !== undefined) onLine(last);
  });
  return lines;
}
