/**
 * One ACP session directory: `events.ndjson` (raw JSON-RPC traffic, appended in batches), `binding.json` and
 * `record.json` (the conversation, rebuilt incrementally by the schema's ConversationBuilder). It also tracks the
 * current turn so prompt and turn events can name their session event and message ranges.
 *
 * Lines are numbered when they are written, not when they are queued: `flush()` first catches up with lines other
 * processes appended since the last flush (they join the conversation and the numbering), then numbers and writes
 * the queued lines in one syscall through an append-mode descriptor. Turn marks are queued with the lines and
 * resolved in the same pass, so a prompt or turn event names the seqs the lines really got. In shared mode the
 * recorder calls `flush()` only under the bundle lock (inside a trace batch), so every seq is allocated under it.
 */
import { closeSync, fsyncSync } from 'node:fs';
import {
  ConversationBuilder,
  SCHEMA_IDS,
  SessionEventLine,
  sessionFiles,
  type BlobStore,
  type ConversationEntry,
  type SeqRange,
  type SessionRecord,
} from '@flowtape/schema';
import { ensureFolder, writableFile } from './confine.ts';
import { openAppendSync, readAppendedSync, writeAllSync } from './fsio.ts';

export interface TurnMark {
  attemptId: string;
  /** Seq of the `session/prompt` request in events.ndjson. */
  sessionEventSeq: number;
  /** Index of the user message it produced in record.json. */
  messageIndex: number;
}

/** The ranges of a finished turn. */
export interface FinishedTurn {
  sessionEvents: SeqRange;
  messages?: SeqRange;
  mark: TurnMark | undefined;
}

/** A value known once the queued lines before it are numbered (at the next flush). */
export class Later<T> {
  private resolved: { value: T } | undefined;

  set(value: T): void {
    this.resolved = { value };
  }

  get value(): T {
    if (!this.resolved) throw new Error('a session mark was read before its lines were written');
    return this.resolved.value;
  }
}

type Op =
  /** A line of traffic, redacted, without its seq. */
  | { kind: 'line'; body: string }
  | { kind: 'start'; attemptId: string; result: Later<TurnMark> }
  | { kind: 'finish'; attemptId: string; result: Later<FinishedTurn> };

export interface SessionWriterOptions {
  /** Another process may append to the same file: `flush()` is only called under the bundle lock. */
  shared?: boolean;
  /** Asks for a flush soon (default: on the next macrotask). The recorder routes it through the lock in shared mode. */
  requestFlush?: () => void;
  /** Where images, audio and embedded blobs of messages go (the recorder's artifact store). */
  storeBlob?: BlobStore;
}

export class SessionWriter {
  readonly files: ReturnType<typeof sessionFiles>;
  readonly builder: ConversationBuilder;
  /** The last seq in events.ndjson that this writer knows of (numbered lines only). */
  seq = 0;
  lastAt: string | undefined;
  acpSessionId = '';
  handle = '';
  /** Whether record.json is behind the events. */
  dirty = false;
  private fd: number | undefined;
  /** Bytes of events.ndjson read or written by this writer: past it are other processes' lines. */
  private offset = 0;
  /** Lines and turn marks not processed yet, in order: numbered and written at the next flush. */
  private ops: Op[] = [];
  private scheduled = false;
  /** The first write error (reported by the recorder at the next batch or at close). */
  error: Error | undefined;
  /** A `session/prompt` request sent before its `acp.prompt_sent` (a runtime that announces after sending). */
  private unclaimedPrompt: Omit<TurnMark, 'attemptId'> | undefined;
  private readonly turns = new Map<string, TurnMark>();
  /** A turn announced before its `session/prompt` line: that line is the next prompt request of the session. */
  private predicted: TurnMark | undefined;

  constructor(
    private readonly bundleDir: string,
    readonly sessionId: string,
    private readonly redact: (text: string) => string,
    private readonly onWarning: (message: string) => void,
    private readonly options: SessionWriterOptions = {},
  ) {
    this.files = sessionFiles(sessionId);
    this.builder = new ConversationBuilder(options.storeBlob);
    ensureFolder(bundleDir, this.files.dir);
    // Checked now, before any work: it is appended to later, so it must be a plain file of the bundle. A session that
    // already has events (a resumed run, another process) is caught up with at the first flush.
    writableFile(bundleDir, this.files.events, 'in-place');
  }

  /** Queues one line of raw traffic (numbered when written). */
  traffic(
    at: string,
    direction: SessionEventLine['direction'],
    message: unknown,
    text: string | undefined,
    attemptId: string | undefined,
    omitted?: SessionEventLine['omitted'],
    raw?: string,
    /** `JSON.stringify(message)` when the caller has it (the wire line): the message is not serialised again. */
    json?: string,
  ): void {
    // The same text as JSON.stringify({ at, direction, message, raw, text, attemptId, omitted }), keys in that order.
    let body = `{"at":${JSON.stringify(at)},"direction":${JSON.stringify(direction)}`;
    if (message !== undefined) body += `,"message":${json ?? JSON.stringify(message)}`;
    if (raw !== undefined) body += `,"raw":${JSON.stringify(raw)}`;
    if (text !== undefined) body += `,"text":${JSON.stringify(text)}`;
    if (attemptId !== undefined) body += `,"attemptId":${JSON.stringify(attemptId)}`;
    if (omitted !== undefined) body += `,"omitted":${JSON.stringify({ bytes: omitted.bytes, lines: omitted.lines })}`;
    this.ops.push({ kind: 'line', body: this.redact(`${body}}`) });
    this.dirty = true;
    this.flushSoon();
  }

  /** Called on `acp.prompt_sent`: the turn starts at the prompt request (already sent, or the next line). */
  startTurn(attemptId: string): Later<TurnMark> {
    const result = new Later<TurnMark>();
    this.ops.push({ kind: 'start', attemptId, result });
    return result;
  }

  /** Called on `acp.turn_finished`: the ranges the turn covers, up to the last line so far. */
  finishTurn(attemptId: string): Later<FinishedTurn> {
    const result = new Later<FinishedTurn>();
    this.ops.push({ kind: 'finish', attemptId, result });
    return result;
  }

  /** The conversation as it is now; entries are replaced, never mutated, so a shallow copy is a snapshot. */
  snapshot(fallbackAt: string): SessionRecord {
    return {
      schema: SCHEMA_IDS.sessionRecord,
      sessionId: this.sessionId,
      acpSessionId: this.acpSessionId,
      handle: this.handle,
      lastSeq: this.seq,
      updatedAt: this.lastAt ?? fallbackAt,
      messages: this.builder.messages.slice() as ConversationEntry[],
    };
  }

  /**
   * Catches up with lines other processes appended, then numbers and writes the queued lines (one syscall) and
   * resolves the queued turn marks. In shared mode: only under the bundle lock.
   */
  flush(): void {
    this.scheduled = false;
    // Nothing queued: still catch up when the file is open, so a snapshot's record covers every line on disk.
    if (this.ops.length === 0 && this.fd === undefined) return;
    const fd = this.file();
    this.catchUp(fd);
    const ops = this.ops;
    this.ops = [];
    let text = '';
    for (const op of ops) {
      if (op.kind === 'line') {
        const seq = ++this.seq;
        const line = `{"seq":${seq},${op.body.slice(1)}`;
        text += `${line}\n`;
        this.add(JSON.parse(line) as SessionEventLine, true);
      } else if (op.kind === 'start') {
        op.result.set(this.start(op.attemptId));
      } else {
        op.result.set(this.finish(op.attemptId));
      }
    }
    if (text === '') return;
    const bytes = Buffer.from(text, 'utf8');
    writeAllSync(fd, bytes);
    this.offset += bytes.byteLength;
  }

  /** Creates events.ndjson if no line was written yet (a session that failed before any traffic). */
  touchEvents(): void {
    this.file();
  }

  sync(): void {
    if (!this.options.shared) this.flush();
    if (this.fd !== undefined) fsyncSync(this.fd);
  }

  close(): void {
    try {
      // In shared mode the recorder flushed under the lock already; a line queued after that is not written.
      if (!this.options.shared) this.flush();
      else if (this.ops.some((op) => op.kind === 'line')) this.onWarning(`${this.files.events}: lines queued after the last flush were not written`);
    } finally {
      if (this.fd !== undefined) closeSync(this.fd);
      this.fd = undefined;
    }
  }

  private flushSoon(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    if (this.options.requestFlush) {
      this.options.requestFlush();
      return;
    }
    setImmediate(() => {
      try {
        this.flush();
      } catch (error) {
        this.error ??= error instanceof Error ? error : new Error(String(error));
      }
    });
  }

  private file(): number {
    // Append mode: every write lands after the last byte, whoever wrote it; readable for catching up.
    this.fd ??= openAppendSync(this.bundleDir, this.files.events, { read: true });
    return this.fd;
  }

  /** A line on disk joins the conversation; our own outgoing prompt requests are remembered for their turn. */
  private add(line: SessionEventLine, ours: boolean): void {
    const before = this.builder.messages.length;
    this.builder.add(line);
    this.seq = Math.max(this.seq, line.seq);
    this.lastAt = line.at;
    if (!ours) return;
    const request = line.message as { method?: unknown; id?: unknown } | undefined;
    if (line.direction === 'outgoing' && request?.method === 'session/prompt' && request.id !== undefined) {
      const index = this.builder.messages.length > before ? this.builder.messages.length - 1 : before;
      if (this.predicted) {
        // The runtime announced the prompt first; the announcement named this line already.
        if (this.predicted.sessionEventSeq !== line.seq || this.predicted.messageIndex !== index) {
          this.onWarning(`${this.files.events}:${line.seq}: the prompt of ${this.predicted.attemptId} is here, not at seq ${this.predicted.sessionEventSeq}`);
        }
        this.predicted = undefined;
      } else {
        this.unclaimedPrompt = { sessionEventSeq: line.seq, messageIndex: index };
      }
    }
  }

  private start(attemptId: string): TurnMark {
    let mark: TurnMark;
    if (this.unclaimedPrompt) {
      mark = { attemptId, ...this.unclaimedPrompt };
    } else {
      mark = { attemptId, sessionEventSeq: this.seq + 1, messageIndex: this.builder.messages.length };
      this.predicted = mark;
    }
    this.unclaimedPrompt = undefined;
    this.turns.set(attemptId, mark);
    return mark;
  }

  private finish(attemptId: string): FinishedTurn {
    const mark = this.turns.get(attemptId);
    this.turns.delete(attemptId);
    const last = this.seq;
    const from = Math.min(mark?.sessionEventSeq ?? last, last);
    const lastMessage = this.builder.messages.length - 1;
    const messageFrom = mark?.messageIndex ?? lastMessage;
    return {
      sessionEvents: { from, to: last },
      ...(lastMessage >= messageFrom && messageFrom >= 0 ? { messages: { from: messageFrom, to: lastMessage } } : {}),
      mark,
    };
  }

  /** Reads the lines appended since our last read or write (other processes, or an earlier run of the session). */
  private catchUp(fd: number): void {
    const { text, bytes } = readAppendedSync(fd, this.offset, this.files.events, this.onWarning);
    if (bytes === 0) return;
    for (const raw of text.split('\n')) {
      if (raw.trim() === '') continue;
      let value: unknown;
      try {
        value = JSON.parse(raw);
      } catch {
        this.onWarning(`${this.files.events}: skipped a line that is not JSON while catching up`);
        continue;
      }
      const parsed = SessionEventLine.safeParse(value);
      if (!parsed.success) {
        this.onWarning(`${this.files.events}: skipped an invalid session event while catching up`);
        const seq = (value as { seq?: unknown } | null)?.seq;
        if (typeof seq === 'number' && Number.isInteger(seq)) this.seq = Math.max(this.seq, seq);
        continue;
      }
      this.add(parsed.data, false);
    }
    this.offset += bytes;
  }
}
