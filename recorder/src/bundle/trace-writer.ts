/**
 * The trace appender: assigns `seq` and appends lines in batches (one write per batch). The reducer fold is kept
 * off the append path: committed events wait in a list and are folded when someone asks for the state (a
 * snapshot), so appending costs serialization and a write, and the fold is paid once per event, later.
 *
 * In shared mode every batch is written under a proper-lockfile lock, after catching up with the lines other
 * processes appended since our last batch, so `seq` stays contiguous across processes and the state stays the
 * fold of the whole file. The file is always opened in append mode (O_APPEND): whatever another process did, a
 * batch lands after the last byte, never over it.
 *
 * Every event is checked against the succession rule (SPEC "The end of a run") before it is numbered: nothing
 * after a terminal event, only `run.resumed` after `run.waiting`, `run.resumed` after nothing else. An event that
 * breaks it is refused (AppendRefusedError); the events before it in the batch are written, nothing after it.
 */
import { closeSync, fsyncSync } from 'node:fs';
import { basename, dirname } from 'node:path';
import lockfile from 'proper-lockfile';
import {
  advancePosition,
  checkTraceEvent,
  initialState,
  project,
  successionProblem,
  type ProjectionState,
  type ReducibleEvent,
  type RunPosition,
  type RunStatus,
  type TraceEvent,
} from '@flowtape/schema';
import { SerialBatcher } from './batcher.ts';
import { openAppendSync, readAppendedSync } from './fsio.ts';
import { LineEncoder } from './line-encoder.ts';

/** A batch of trace lines is written once it holds this many characters of JSON (about as many bytes)… */
export const TRACE_BATCH_BYTES = 1 << 20;
/** …or once its first line has waited this long, whichever comes first (or when the event loop turns). */
export const TRACE_BATCH_MS = 100;

/** Committed events are folded once this many wait (see write). */
const FOLD_EVERY = 4096;

/** A trace event before the writer numbers it. */
export type UnsequencedEvent = TraceEvent extends infer E ? (E extends TraceEvent ? Omit<E, 'seq'> : never) : never;

/** Every field always present (one object shape on the hot path). */
type EventItem = {
  kind: 'event';
  /** The event's JSON text; or, when `head` is set, its payload's: the text is `head + ids + typePart + body + '}'`. */
  body: string;
  head: string | undefined;
  ids: string;
  typePart: string;
  event: UnsequencedEvent;
  redacted: boolean;
  /** Builds the event when its batch is written (after `beforeWrite`): payloads that name session lines. */
  build: (() => UnsequencedEvent) | undefined;
  /** Refuse the event unless it gets seq `afterSeq + 1` (the trace still ends where its writer read it). */
  afterSeq: number | undefined;
};
type TaskItem = { kind: 'task'; run: (state: ProjectionState) => void; done: (error?: unknown) => void };
type Item = EventItem | TaskItem;

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
  /** Runs before each batch is written: session lines the batch references land first. */
  beforeWrite?: () => void;
  /** After each batch is on disk, with the last seq written and the batch's events (numbered). */
  onCommit?: (lastSeq: number, committed: readonly { readonly event: UnsequencedEvent }[]) => void;
  onWarning?: (message: string) => void;
  /** The first write error (nothing more is written after it). */
  onError?: (error: Error) => void;
  /** Whether `redact` returns every text as it is, now: then an event given in parts is never joined into one text. */
  passesThrough?: () => boolean;
  /** Keep committed events for `state` (default true). A plain appender (no projections) turns it off. */
  keepState?: boolean;
  redact: (text: string) => string;
}

export class TraceExistsError extends Error {
  override name = 'TraceExistsError';
}

/** An event the writer would not append: it breaks the succession rule, or the trace moved on under it. */
export class AppendRefusedError extends Error {
  override name = 'AppendRefusedError';
  constructor(
    message: string,
    /** The run's status on disk when the event was refused. */
    readonly status: RunStatus,
    /** The last seq on disk. */
    readonly lastSeq: number,
    readonly waitingAt?: string,
  ) {
    super(message);
  }
}

/**
 * Writers not closed yet. If the process exits while one is open (the flow's own code called
 * process.exit, say), its queued lines are written first (writeQueuedSync). Weak: a writer its owner dropped without
 * closing it is not kept alive for this.
 */
const openWriters = new Set<WeakRef<TraceWriter>>();
let exitHooked = false;

function writeQueuedAtExit(): void {
  for (const ref of openWriters) {
    try {
      ref.deref()?.writeQueuedSync();
    } catch {
      // The process is ending: a write that fails now has nowhere to be reported; the bundle stays unfinished.
    }
  }
}

export class TraceWriter {
  /** The highest seq on disk that this writer knows of. */
  lastSeq = 0;
  private folded: ProjectionState = initialState();
  /** Where the run is after the last line on disk that this writer knows of (for the succession rule). */
  private position: RunPosition = { status: 'running' };
  /** Committed events not folded yet. */
  private unfolded: ReducibleEvent[] = [];
  private fd: number | undefined;
  private offset = 0;
  private readonly batcher: SerialBatcher<Item>;
  /** A shared writer's batch taken from the queue while it waits for the lock (the exit flush writes it first). */
  private unlockedBatch: Item[] | undefined;
  /** A shared writer holds the lock (a batch is written, or its release is under way). */
  private holdsLock = false;
  /** This writer in `openWriters` (until close). */
  private readonly exitRef: WeakRef<TraceWriter>;

  constructor(private readonly options: TraceWriterOptions) {
    this.batcher = new SerialBatcher(
      (items) => (options.shared ? this.processShared(items) : this.processItems(items)),
      (error, dropped) => {
        // A task queued while the failing batch was processed would otherwise wait forever.
        for (const item of dropped) if (item.kind === 'task') item.done(error);
        options.onError?.(error);
      },
      // An exclusive writer's batches are synchronous: bounded in bytes and time (SPEC.md, "Writing discipline").
      { sync: !options.shared, weigh, bytes: TRACE_BATCH_BYTES, ms: TRACE_BATCH_MS },
    );
    this.exitRef = new WeakRef(this);
    openWriters.add(this.exitRef);
    if (!exitHooked) {
      exitHooked = true;
      process.on('exit', writeQueuedAtExit);
    }
  }

  /**
   * Writes the events still queued, now and synchronously: for a process that is exiting with the trace open, so
   * the file keeps every line accepted before the exit (at most one batch, see TRACE_BATCH_BYTES, would be lost).
   * Queued tasks (snapshots) are dropped: the bundle is left unfinished, and `flowtape repair` ends it. A shared
   * writer (a resumed run) takes the lock synchronously, without waiting: if another process holds it, the lines
   * stay unwritten, as any lock holder's crash would leave them.
   */
  writeQueuedSync(): void {
    const waiting = this.batcher.takeWaiting();
    if (waiting === undefined) return;
    // A shared writer's batch waiting for the lock came before what waits in the queue.
    const items = this.unlockedBatch ? [...this.unlockedBatch, ...waiting] : waiting;
    this.unlockedBatch = undefined;
    const events = items.filter((item): item is EventItem => item.kind === 'event');
    if (events.length === 0) return;
    if (!this.options.shared) {
      this.write(events);
      return;
    }
    const fd = this.file();
    // Held already when a batch was written and its release is still under way.
    const release = this.holdsLock ? undefined : lockfile.lockSync(this.options.lockTarget, { lockfilePath: this.options.lockfilePath, realpath: false, stale: 10_000 });
    try {
      this.catchUp(fd);
      this.write(events);
    } finally {
      release?.();
    }
  }

  get error(): Error | undefined {
    return this.batcher.error;
  }

  /** The fold of every line on disk that this writer knows of. */
  get state(): ProjectionState {
    this.fold();
    return this.folded;
  }

  private fold(): void {
    if (this.unfolded.length === 0) return;
    this.folded = project(this.unfolded, this.folded);
    this.unfolded = [];
  }

  /**
   * Queues an event. Serialization and redaction happen now, so later mutation of values cannot reach the file.
   * The writer takes the object over (numbered in place and folded later, when the state is kept or `onCommit` is
   * given): do not reuse it. `json`: the
   * event's JSON text when the caller has it already (exactly `JSON.stringify(event)`).
   */
  append(event: UnsequencedEvent, options?: { afterSeq?: number }, json?: string): void {
    const text = json ?? JSON.stringify(event);
    const body = this.options.redact(text);
    this.batcher.push({ kind: 'event', body, head: undefined, ids: '', typePart: '', event, redacted: body !== text, build: undefined, afterSeq: options?.afterSeq });
  }

  /**
   * Queues an event whose JSON text is `head + ids + typePart + payloadJson + '}'` (exactly `JSON.stringify(event)`,
   * see event-json.ts). While the redaction changes nothing the pieces are kept apart and encoded one after the
   * other into the batch's buffer: no per-event text is built, kept until the batch is written, then flattened.
   */
  appendInParts(event: UnsequencedEvent, head: string, ids: string, typePart: string, payloadJson: string, afterSeq?: number): void {
    if (this.options.passesThrough?.() !== true) {
      this.append(event, afterSeq === undefined ? undefined : { afterSeq }, head + ids + typePart + payloadJson + '}');
      return;
    }
    this.batcher.push({ kind: 'event', body: payloadJson, head, ids, typePart, event, redacted: false, build: undefined, afterSeq });
  }

  /**
   * Queues an event built when its batch is written, after `beforeWrite` (and under the lock in shared mode): for
   * payloads that name lines of other files whose seqs are only allocated then.
   */
  appendLate(build: () => UnsequencedEvent): void {
    this.batcher.push({ kind: 'event', body: '', head: undefined, ids: '', typePart: '', event: undefined as unknown as UnsequencedEvent, redacted: false, build, afterSeq: undefined });
  }

  /**
   * Runs `fn` once every event queued so far is on disk, with the state they fold to — inside the same lock hold
   * in shared mode. Snapshots are written this way: trace first, never two at once.
   */
  task(fn: (state: ProjectionState) => void): Promise<void> {
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
    if (this.fd !== undefined) fsyncSync(this.fd);
  }

  async close(): Promise<void> {
    try {
      await this.batcher.flush();
    } finally {
      openWriters.delete(this.exitRef);
      if (this.fd !== undefined) closeSync(this.fd);
      this.fd = undefined;
    }
  }

  private file(): number {
    if (this.fd !== undefined) return this.fd;
    // Confined like every bundle write: the trace is not a symlink and, being appended to, has one link.
    const { path, exclusiveCreate } = this.options;
    try {
      this.fd = openAppendSync(dirname(path), basename(path), { read: !exclusiveCreate, exclusive: exclusiveCreate });
    } catch (error) {
      if (exclusiveCreate && (error as NodeJS.ErrnoException).code === 'EEXIST') {
        throw new TraceExistsError(`${path} already exists: a bundle is never overwritten (use resume)`);
      }
      throw error;
    }
    return this.fd;
  }

  private async processShared(items: Item[]): Promise<void> {
    const fd = this.file();
    let release: (() => Promise<void>) | undefined;
    this.unlockedBatch = items;
    try {
      release = await lockfile.lock(this.options.lockTarget, {
        lockfilePath: this.options.lockfilePath,
        realpath: false,
        stale: 10_000,
        retries: { retries: 2000, factor: 1.3, minTimeout: 1, maxTimeout: 40, randomize: true },
        onCompromised: (error) => this.options.onWarning?.(`lock compromised: ${error.message}`),
      });
    } catch (error) {
      this.unlockedBatch = undefined;
      for (const item of items) if (item.kind === 'task') item.done(error);
      throw error;
    }
    // (Only the exit flush takes a batch waiting for the lock, and the process ends right after it.)
    this.unlockedBatch = undefined;
    this.holdsLock = true;
    try {
      this.catchUp(fd);
      this.processItems(items);
    } finally {
      try {
        await release();
      } finally {
        this.holdsLock = false;
      }
    }
  }

  private processItems(items: Item[]): void {
    // The events between two tasks are written as one batch; a batch without a task is written as it is (no copy).
    let start = 0;
    try {
      for (let i = 0; i < items.length; i++) {
        const item = items[i]!;
        if (item.kind === 'event') continue;
        this.write(items.slice(start, i) as EventItem[]);
        start = i + 1;
        try {
          item.run(this.state);
          item.done();
        } catch (error) {
          item.done(error ?? new Error('task failed'));
        }
      }
      this.write((start === 0 ? items : items.slice(start)) as EventItem[]);
    } catch (error) {
      for (const item of items) if (item.kind === 'task') item.done(error);
      throw error;
    }
  }

  private write(batch: EventItem[]): void {
    if (batch.length === 0) return;
    const fd = this.file();
    this.options.beforeWrite?.();
    // The events that may be appended: all of them, or those before the first that breaks the rule.
    let position = this.position;
    let refused: AppendRefusedError | undefined;
    let events = batch;
    for (let i = 0; i < batch.length; i++) {
      const item = batch[i]!;
      if (item.build) {
        const event = item.build();
        const json = JSON.stringify(event);
        item.body = this.options.redact(json);
        item.redacted = item.body !== json;
        item.event = event;
        item.build = undefined;
      }
      const seqBefore = this.lastSeq + i;
      let problem = successionProblem(position, item.event);
      if (problem === undefined && item.afterSeq !== undefined && item.afterSeq !== seqBefore) {
        problem = `${item.event.type} was to follow seq ${item.afterSeq}, but the trace has grown to seq ${seqBefore} since its writer read it`;
      }
      if (problem !== undefined) {
        refused = new AppendRefusedError(
          `${this.options.path}: refused to append ${item.event.type}: ${problem}`,
          position.status,
          seqBefore,
          position.waitingAt,
        );
        events = batch.slice(0, i);
        break;
      }
      position = advancePosition(position, item.event);
    }
    let seq = this.lastSeq;
    const lines = new LineEncoder(fd);
    // Events are numbered in place only when something reads them numbered (the fold, onCommit). Storing `seq` into
    // an object built without it (the recorder builds its events with the slot, trace-events.ts) changes its shape
    // and allocates: for an appender that keeps nothing that cost as much as the write itself (bench:recorder).
    const numbered = this.options.keepState !== false || this.options.onCommit !== undefined;
    for (let i = 0; i < events.length; i++) {
      const item = events[i]!;
      seq++;
      // The line is the body with its seq first: the event was serialized once, at append.
      if (item.head === undefined) lines.put(seq, item.body);
      else lines.putInParts(seq, item.head, item.ids, item.typePart, item.body);
      if (!numbered) continue;
      if (item.redacted) item.event = JSON.parse('{"seq":' + seq + ',' + item.body.slice(1)) as UnsequencedEvent;
      else (item.event as { seq?: number }).seq = seq;
    }
    const written = lines.end();
    // Only now, with the lines on disk, do the events count as committed (numbered in place: the writer owns them).
    if (this.options.keepState !== false) {
      for (const item of events) this.unfolded.push(item.event as unknown as TraceEvent);
      // Folded a few thousand at a time rather than all at the next snapshot: events still young when folded die in
      // the young generation, instead of being promoted and marked by the old generation's collector.
      if (this.unfolded.length >= FOLD_EVERY) this.fold();
    }
    this.offset += written;
    this.lastSeq = seq;
    this.position = position;
    if (events.length > 0) this.options.onCommit?.(seq, events);
    if (refused) throw refused;
  }

  /** Reads what other processes appended since our last batch (under the lock). */
  private catchUp(fd: number): void {
    const { text, bytes: complete } = readAppendedSync(fd, this.offset, this.options.path, (m) => this.options.onWarning?.(m));
    if (complete === 0) return;
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
        if (typeof seq === 'number' && Number.isInteger(seq)) this.lastSeq = Math.max(this.lastSeq, seq);
        continue;
      }
      this.unfolded.push(checked.event);
      this.position = advancePosition(this.position, checked.event);
      this.lastSeq = Math.max(this.lastSeq, checked.event.seq);
    }
    this.offset += complete;
  }
}

/** An event's weight in a batch: the characters of its text (about its bytes). */
function weigh(item: Item): number {
  if (item.kind !== 'event') return 0;
  return item.head === undefined ? item.body.length : item.head.length + item.ids.length + item.typePart.length + item.body.length + 1;
}
