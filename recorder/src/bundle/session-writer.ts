/**
 * One ACP session directory: `events.ndjson` (raw JSON-RPC traffic, appended in batches), `binding.json` and
 * `record.json` (the conversation, rebuilt incrementally by the schema's ConversationBuilder). It also tracks the
 * current turn so prompt and turn events can name their session event and message ranges.
 */
import { closeSync, existsSync, fsyncSync, readFileSync } from 'node:fs';
import {
  ConversationBuilder,
  SCHEMA_IDS,
  SessionEventLine,
  parseNdjsonText,
  sessionFiles,
  type ConversationEntry,
  type SeqRange,
  type SessionRecord,
} from '@flowtape/schema';
import { ensureFolder, writableFile } from './confine.ts';
import { openAppendSync, writeAllSync } from './fsio.ts';

export interface TurnMark {
  attemptId: string;
  /** Seq of the `session/prompt` request in events.ndjson. */
  sessionEventSeq: number;
  /** Index of the user message it produced in record.json. */
  messageIndex: number;
}

export class SessionWriter {
  readonly files: ReturnType<typeof sessionFiles>;
  readonly builder = new ConversationBuilder();
  seq = 0;
  lastAt: string | undefined;
  acpSessionId = '';
  handle = '';
  /** Whether record.json is behind the events. */
  dirty = false;
  private fd: number | undefined;
  /** Lines not written yet: written in one syscall before the trace batch that may reference them, or soon. */
  private pending: string[] = [];
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
  ) {
    this.files = sessionFiles(sessionId);
    ensureFolder(bundleDir, this.files.dir);
    // A session that already has events (a resumed run, another process): continue its numbering and conversation.
    // Checked before reading: it is appended to later, so it must be a plain file of the bundle.
    const existing = writableFile(bundleDir, this.files.events, 'in-place');
    if (existsSync(existing)) {
      for (const { value, line } of parseNdjsonText(readFileSync(existing, 'utf8'), {
        file: this.files.events,
        onIssue: (issue) => onWarning(issue.message),
      })) {
        const parsed = SessionEventLine.safeParse(value);
        if (!parsed.success) {
          onWarning(`${this.files.events}:${line}: skipped an invalid session event`);
          continue;
        }
        this.builder.add(parsed.data);
        this.seq = Math.max(this.seq, parsed.data.seq);
        this.lastAt = parsed.data.at;
      }
    }
  }

  /** Appends one line of raw traffic; returns its seq. */
  traffic(at: string, direction: SessionEventLine['direction'], message: unknown, text: string | undefined, attemptId: string | undefined): number {
    const seq = ++this.seq;
    const line: Record<string, unknown> = { seq, at, direction };
    if (message !== undefined) line.message = message;
    if (text !== undefined) line.text = text;
    if (attemptId !== undefined) line.attemptId = attemptId;
    const json = this.redact(JSON.stringify(line));
    this.pending.push(`${json}\n`);
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(() => {
        try {
          this.flush();
        } catch (error) {
          this.error ??= error instanceof Error ? error : new Error(String(error));
        }
      });
    }
    // The conversation is built from exactly what is on disk.
    const written = JSON.parse(json) as SessionEventLine;
    const before = this.builder.messages.length;
    this.builder.add(written);
    this.lastAt = at;
    this.dirty = true;
    const request = written.message as { method?: unknown; id?: unknown } | undefined;
    if (direction === 'outgoing' && request?.method === 'session/prompt' && request.id !== undefined) {
      const index = this.builder.messages.length > before ? this.builder.messages.length - 1 : before;
      if (this.predicted) {
        // The runtime announced the prompt first; the announcement named this line already.
        if (this.predicted.sessionEventSeq !== seq || this.predicted.messageIndex !== index) {
          this.onWarning(`${this.files.events}:${seq}: the prompt of ${this.predicted.attemptId} is here, not at seq ${this.predicted.sessionEventSeq}`);
        }
        this.predicted = undefined;
      } else {
        this.unclaimedPrompt = { sessionEventSeq: seq, messageIndex: index };
      }
    }
    return seq;
  }

  /** Called on `acp.prompt_sent`: the turn starts at the prompt request (already sent, or the next line). */
  startTurn(attemptId: string): TurnMark {
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

  /** Called on `acp.turn_finished`: the ranges the turn covers, up to the last line so far. */
  finishTurn(attemptId: string): { sessionEvents: SeqRange; messages?: SeqRange; mark: TurnMark | undefined } {
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

  /** Writes the pending lines (one syscall). */
  flush(): void {
    this.scheduled = false;
    if (this.pending.length === 0) return;
    this.fd ??= openAppendSync(this.bundleDir, this.files.events);
    const text = this.pending.join('');
    this.pending = [];
    writeAllSync(this.fd, Buffer.from(text, 'utf8'));
  }

  /** Creates events.ndjson if no line was written yet (a session that failed before any traffic). */
  touchEvents(): void {
    this.fd ??= openAppendSync(this.bundleDir, this.files.events);
  }

  sync(): void {
    this.flush();
    if (this.fd !== undefined) fsyncSync(this.fd);
  }

  close(): void {
    try {
      this.flush();
    } finally {
      if (this.fd !== undefined) closeSync(this.fd);
      this.fd = undefined;
    }
  }
}
