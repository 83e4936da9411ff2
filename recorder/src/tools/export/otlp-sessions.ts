/**
 * What the span builder needs from a bundle beyond its trace: an agent's name and version (binding.json), the tool
 * calls of a turn with their times (folded from events.ndjson by the schema's ConversationBuilder, the code that
 * writes record.json), and, when content is asked for, the text of a prompt or a response.
 *
 * Sessions are read incrementally from the last offset: during a live run the recorder has flushed a turn's
 * session lines before the trace line that references them, so the lines a finished turn needs are on disk.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  ConversationBuilder,
  SessionBinding,
  SessionEventLine,
  sessionFiles,
  type ConversationEntry,
  type JsonValue,
  type SeqRange,
  type ValueRef,
} from '@flowtape/schema';
import { bundleSegments } from '../../bundle/confine.ts';
import { NdjsonTail } from './otlp-tail.ts';

export interface ToolCallView {
  toolCallId: string;
  title?: string;
  toolKind?: string;
  status?: string;
  rawInput?: JsonValue;
  rawOutput?: JsonValue;
  sessionEvents: SeqRange;
  startAt?: string;
  endAt?: string;
}

/** The one small interface the span builder reads sessions and values through. */
export interface SessionSource {
  agent(sessionId: string): { name: string; version?: string } | undefined;
  /** Tool calls that began within `range` (a turn's session events), in order. */
  toolCalls(sessionId: string, range: SeqRange): ToolCallView[];
  /** A value's text (inline JSON as JSON, an artifact's content); undefined when it cannot be read. */
  valueText(ref: ValueRef): string | undefined;
}

type ToolCallEntry = Extract<ConversationEntry, { role: 'tool_call' }>;

class SessionTail {
  readonly builder = new ConversationBuilder();
  /** `at` of every line read, by seq. */
  readonly times: string[] = [];
  private readonly tail: NdjsonTail;

  constructor(path: string) {
    this.tail = new NdjsonTail(path);
  }

  /** Folds what was appended since the last call. */
  catchUp(): void {
    for (const value of this.tail.read()) {
      const parsed = SessionEventLine.safeParse(value);
      if (!parsed.success) continue;
      this.times[parsed.data.seq] = parsed.data.at;
      this.builder.add(parsed.data);
    }
  }
}

/** Sessions and artifacts of a bundle directory on disk. */
export class BundleSessionSource implements SessionSource {
  private readonly tails = new Map<string, SessionTail>();
  private readonly agents = new Map<string, { name: string; version?: string } | null>();

  constructor(private readonly bundleDir: string) {}

  agent(sessionId: string): { name: string; version?: string } | undefined {
    let agent = this.agents.get(sessionId);
    if (agent === undefined) {
      agent = null;
      try {
        const path = join(this.bundleDir, sessionFiles(sessionId).binding);
        const binding = SessionBinding.safeParse(JSON.parse(readFileSync(path, 'utf8')));
        if (binding.success && binding.data.agent) agent = binding.data.agent;
      } catch {
        // no binding (yet): the span goes without the agent's identity
      }
      // Only a found identity is cached: a live run may write binding.json after the first look.
      if (agent) this.agents.set(sessionId, agent);
    }
    return agent ?? undefined;
  }

  toolCalls(sessionId: string, range: SeqRange): ToolCallView[] {
    let tail = this.tails.get(sessionId);
    if (!tail) {
      tail = new SessionTail(join(this.bundleDir, sessionFiles(sessionId).events));
      this.tails.set(sessionId, tail);
    }
    if (tail.builder.lastSeq < range.to) tail.catchUp();
    const calls: ToolCallView[] = [];
    for (const entry of tail.builder.messages) {
      if (entry.role !== 'tool_call' || !entry.sessionEvents) continue;
      const first = entry.sessionEvents.from;
      if (first < range.from || first > range.to) continue;
      calls.push(view(entry as ToolCallEntry, tail.times));
    }
    return calls;
  }

  valueText(ref: ValueRef): string | undefined {
    if ('inline' in ref) return typeof ref.inline === 'string' ? ref.inline : JSON.stringify(ref.inline);
    try {
      return readFileSync(join(this.bundleDir, ...bundleSegments(ref.artifact.path)), 'utf8');
    } catch {
      return ref.preview;
    }
  }
}

function view(entry: ToolCallEntry, times: readonly string[]): ToolCallView {
  const range = entry.sessionEvents!;
  return {
    toolCallId: entry.toolCallId,
    ...(entry.title !== undefined ? { title: entry.title } : {}),
    ...(entry.toolKind !== undefined ? { toolKind: entry.toolKind } : {}),
    ...(entry.status !== undefined ? { status: entry.status } : {}),
    ...(entry.rawInput !== undefined ? { rawInput: entry.rawInput } : {}),
    ...(entry.rawOutput !== undefined ? { rawOutput: entry.rawOutput } : {}),
    sessionEvents: range,
    ...(times[range.from] ? { startAt: times[range.from] } : {}),
    ...(times[range.to] ? { endAt: times[range.to] } : {}),
  };
}
