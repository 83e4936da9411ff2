// Byte-level taps on the agent's stdio. The SDK's ndJsonStream reads from and writes to these streams, so
// every line is seen here exactly as it crossed the pipe, in order, before the SDK acts on it.
import type { Readable, Writable } from 'node:stream';

export class LineTooLongError extends Error {}

/** Splits a byte stream into lines (LF or CRLF), decoding each complete line as UTF-8. */
export class LineSplitter {
  private parts: Buffer[] = [];
  private size = 0;

  constructor(private readonly maxLineBytes = Number.POSITIVE_INFINITY) {}

  push(chunk: Buffer): string[] {
    const lines: string[] = [];
    let start = 0;
    for (let nl = chunk.indexOf(0x0a, start); nl !== -1; nl = chunk.indexOf(0x0a, start)) {
      const piece = chunk.subarray(start, nl);
      lines.push(decodeLine(this.size > 0 ? Buffer.concat([...this.parts, piece]) : piece));
      this.parts = [];
      this.size = 0;
      start = nl + 1;
    }
    if (start < chunk.length) {
      const rest = chunk.subarray(start);
      this.parts.push(rest);
      this.size += rest.length;
      if (this.size > this.maxLineBytes) {
        this.parts = [];
        this.size = 0;
        throw new LineTooLongError(`a line longer than ${this.maxLineBytes} bytes`);
      }
    }
    return lines;
  }

  /** The unterminated last line, if any. */
  flush(): string | undefined {
    if (this.size === 0) return undefined;
    const line = decodeLine(Buffer.concat(this.parts));
    this.parts = [];
    this.size = 0;
    return line;
  }
}

function decodeLine(bytes: Buffer): string {
  const text = bytes.toString('utf8');
  return text.endsWith('\r') ? text.slice(0, -1) : text;
}

/** What to do with a line from the agent: pass it to the SDK, keep it from the SDK, or stop passing anything. */
export type LineVerdict = 'forward' | 'skip' | 'stop';

export interface IncomingTap {
  /** Called for each line from the agent, in order, before the SDK sees it. */
  onLine(line: string): LineVerdict;
  onTooLong(error: LineTooLongError): void;
  /** Called once when the agent's stdout has ended (or errored). */
  onEnd(): void;
}

/** A web ReadableStream of the agent's stdout lines, each passed to `tap.onLine` first. */
export function tapIncoming(stdout: Readable, tap: IncomingTap, maxLineBytes: number): ReadableStream<Uint8Array> {
  const splitter = new LineSplitter(maxLineBytes);
  let forwarding = true;
  let closed = false;
  return new ReadableStream<Uint8Array>({
    start(controller) {
      // Every line is shown to the tap (and so recorded); once the tap refuses one, no more reach the SDK.
      const forward = (line: string): void => {
        const verdict = tap.onLine(line);
        if (verdict === 'stop') forwarding = false;
        if (verdict === 'forward' && forwarding && !closed && line.trim() !== '') controller.enqueue(Buffer.from(`${line}\n`, 'utf8'));
      };
      let ended = false;
      const end = (): void => {
        if (ended) return;
        ended = true;
        const last = broken ? undefined : splitter.flush();
        if (last !== undefined) forward(last);
        if (!closed) {
          closed = true;
          controller.close();
        }
        tap.onEnd();
      };
      let broken = false;
      stdout.on('data', (chunk: Buffer) => {
        if (broken) return;
        let lines: string[];
        try {
          lines = splitter.push(chunk);
        } catch (error) {
          broken = true;
          forwarding = false;
          tap.onTooLong(error as LineTooLongError);
          return;
        }
        for (const line of lines) forward(line);
      });
      stdout.once('end', end);
      stdout.once('close', end);
      stdout.once('error', end);
    },
    cancel() {
      // The SDK stopped reading (connection closed); lines are still recorded until stdout ends.
      closed = true;
    },
  });
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

/** Calls `onLine` for each stderr line (the last, unterminated one included). */
export function tapLines(stream: Readable, onLine: (line: string) => void): void {
  const splitter = new LineSplitter(1024 * 1024);
  stream.on('data', (chunk: Buffer) => {
    let lines: string[];
    try {
      lines = splitter.push(chunk);
    } catch {
      lines = ['[stderr line longer than 1 MiB dropped]'];
    }
    for (const line of lines) onLine(line);
  });
  const end = (): void => {
    const last = splitter.flush();
    if (last !== undefined) onLine(last);
  };
  stream.once('end', end);
}
