/**
 * The trace appender: assigns `seq`, folds every committed event into the reducer state and appends lines in
 * batches (one write per batch). In shared mode every batch is written under a proper-lockfile lock, after
 * catching up with the lines other processes appended since our last batch, so `seq` stays contiguous across
 * processes and the state stays the fold of the whole file.
 */
import { open, type FileHandle } from 'node:fs/promises';
import lockfile from 'proper-lockfile';
import {
  checkTraceEvent,
  initialState,
  reduce,
  type ProjectionState,
  type ReducibleEvent,
  type TraceEvent,
} from '@flowtape/schema';
import { SerialBatcher } from './batcher.ts';
import { writeAll } from './fsio.ts';

/** A trace event before the writer numbers it. */
export type UnsequencedEvent = TraceEvent extends infer E ? (E extends TraceEvent ? Omit<E, 'seq'> : never) : never;

type Item =
  | { kind: 'event'; body: string; event: UnsequencedEvent; redacted: boolean }
  | { kind: 'task'; run: (state: ProjectionState) => Promise<void>; done: (error?: unknown) => void };

export interface TraceWriterOptions {
  /** Absolute path of `trace.ndjson`. */
  path: string;
  /** Take the lock for every batch and catch up with other writers first. */
  shared: boolean;
  /** Where the lock lives (a directory proper-lockfile creates), e.g. `<bundle>/.flowtape.lock`. */
  lockfilePath: string;
  /** The directory the lock protects (must exist). */
  lockTarget: string;
  /** Refuse to start when the trace already exists (a fresh bundle). */
  exclusiveCreate: boolean;
  /** Runs before each batch is written: artifacts and session lines referenced by the batch land first. */
  beforeWrite?: () => Promise<void>;
  /** After each batch is on disk. */
  onCommit?: (state: ProjectionState) => void;
  onWarning?: (message: string) => void;
  redact: (text: string) => string;
}

export class TraceExistsError extends Error {
  override name = 'TraceExistsError';
}

export class TraceWriter {
  /** The fold of every line on disk that this writer knows of. */
  state: ProjectionState = initialState();
  /** The highest seq on disk that this writer knows of. */
  lastSeq = 0;
  private handle: FileHandle | undefined;
  private offset = 0;
  private readonly batcher: SerialBatcher<Item>;

  constructor(private readonly options: TraceWriterOptions) {
    this.batcher = new SerialBatcher((items) => this.process(items));
  }

  get error(): Error | undefined {
    return this.batcher.error;
  }

  /** Queues an event. Serialization and redaction happen now, so later mutation of values cannot reach the file. */
  append(event: UnsequencedEvent): void {
    const text = JSON.stringify(event);
    const body = this.options.redact(text);
    this.batcher.push({ kind: 'event', body, event, redacted: body !== text });
  }

  /**
   * Runs `fn` after every event queued so far is on disk, with the state they fold to, inside the same lock
   * hold in shared mode (snapshots are written this way: trace first, and never two at once).
   */
  task(fn: (state: ProjectionState) => Promise<void>): Promise<void> {
    return new Promise((resolve, reject) => {
      if (this.batcher.error) return reject(this.batcher.error);
      this.batcher.push({ kind: 'task', run: fn, done: (error) => (error === undefined ? resolve() : reject(error)) });
    });
  }

  flush(): Promise<void> {
    return this.batcher.flush();
  }

  async sync(): Promise<void> {
    await this.batcher.flush();
    await this.handle?.sync();
  }

  async close(): Promise<void> {
    try {
      await this.batcher.flush();
    } finally {
      await this.handle?.close();
      this.handle = undefined;
    }
  }

  private async fileHandle(): Promise<FileHandle> {
    if (this.handle) return this.handle;
    if (this.options.exclusiveCreate) {
      try {
        this.handle = await open(this.options.path, 'wx+');
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'EEXIST') {
          throw new TraceExistsError(`${this.options.path} already exists: a bundle is never overwritten (use resume)`);
        }
        throw error;
      }
    } else {
      this.handle = await open(this.options.path, 'a+');
    }
    return this.handle;
  }

  private async process(items: Item[]): Promise<void> {
    const handle = await this.fileHandle();
    let release: (() => Promise<void>) | undefined;
    if (this.options.shared) {
      release = await lockfile.lock(this.options.lockTarget, {
        lockfilePath: this.options.lockfilePath,
        realpath: false,
        stale: 10_000,
        retries: { retries: 2000, factor: 1.3, minTimeout: 1, maxTimeout: 40, randomize: true },
        onCompromised: (error) => this.options.onWarning?.(`lock compromised: ${error.message}`),
      });
    }
    try {
      if (this.options.shared) await this.catchUp(handle);
      let events: Array<Extract<Item, { kind: 'event' }>> = [];
      for (const item of items) {
        if (item.kind === 'event') {
          events.push(item);
          continue;
        }
        await this.write(handle, events);
        events = [];
        try {
          await item.run(this.state);
          item.done();
        } catch (error) {
          item.done(error ?? new Error('snapshot failed'));
        }
      }
      await this.write(handle, events);
    } catch (error) {
      for (const item of items) if (item.kind === 'task') item.done(error);
      throw error;
    } finally {
      await release?.();
    }
  }

  private async write(handle: FileHandle, events: Array<Extract<Item, { kind: 'event' }>>): Promise<void> {
    if (events.length === 0) return;
    await this.options.beforeWrite?.();
    let seq = this.lastSeq;
    let state = this.state;
    let text = '';
    for (const item of events) {
      seq++;
      const line = `{"seq":${seq},${item.body.slice(1)}\n`;
      text += line;
      const event = item.redacted ? (JSON.parse(line) as TraceEvent) : ({ seq, ...item.event } as TraceEvent);
      state = reduce(state, event);
    }
    const bytes = Buffer.from(text, 'utf8');
    await writeAll(handle, bytes);
    this.offset += bytes.byteLength;
    this.lastSeq = seq;
    this.state = state;
    this.options.onCommit?.(state);
  }

  /** Reads what other processes appended since our last batch (under the lock) and folds it. */
  private async catchUp(handle: FileHandle): Promise<void> {
    const { size } = await handle.stat();
    if (size === this.offset) return;
    if (size < this.offset) throw new Error(`${this.options.path}: the file shrank under the writer (from ${this.offset} to ${size} bytes)`);
    const buffer = Buffer.alloc(size - this.offset);
    let read = 0;
    while (read < buffer.byteLength) {
      const { bytesRead } = await handle.read(buffer, read, buffer.byteLength - read, this.offset + read);
      if (bytesRead === 0) break;
      read += bytesRead;
    }
    const lastNewline = buffer.lastIndexOf(0x0a, read - 1);
    const complete = lastNewline + 1;
    if (complete < read) {
      // A writer died mid-append. Nobody else writes while we hold the lock, so the partial line is dead bytes;
      // cut it so our first line does not join it.
      this.options.onWarning?.(
        `${this.options.path}: removed a torn last line (${read - complete} bytes) left by a writer that stopped mid-append`,
      );
      await handle.truncate(this.offset + complete);
    }
    const text = buffer.subarray(0, complete).toString('utf8');
    let state = this.state;
    let lastSeq = this.lastSeq;
    let lineNo = 0;
    for (const raw of text.split('\n')) {
      lineNo++;
      if (raw.trim() === '') continue;
      let value: unknown;
      try {
        value = JSON.parse(raw);
      } catch {
        this.options.onWarning?.(`${this.options.path}: skipped a line that is not JSON while catching up`);
        continue;
      }
      const checked = checkTraceEvent(value, lineNo, 'trace.ndjson');
      if (!checked.ok) {
        this.options.onWarning?.(`skipped while catching up: ${checked.error.message}`);
        const seq = (value as { seq?: unknown }).seq;
        if (typeof seq === 'number' && Number.isInteger(seq)) lastSeq = Math.max(lastSeq, seq);
        continue;
      }
      state = reduce(state, checked.event as ReducibleEvent);
      lastSeq = Math.max(lastSeq, checked.event.seq);
    }
    this.state = state;
    this.lastSeq = lastSeq;
    this.offset += complete;
  }
}
