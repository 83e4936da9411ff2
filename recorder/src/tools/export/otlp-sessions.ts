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
import type { ZipBundleBackend } from '../fs-backend.ts';
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

/** How the session source reads a bundle's files: synchronously, from a folder or from a zip in memory. */
export interface BundleFiles {
  text(path: string): string | undefined;
  /** The lines appended to an NDJSON file since the last call (a folder is followed as it grows). */
  follow(path: string): { read(): unknown[] };
}

/** A bundle folder on disk; paths are checked to stay inside it. */
export function folderFiles(bundleDir: string): BundleFiles {
  return {
    text(path) {
      try {
        return readFileSync(join(bundleDir, ...bundleSegments(path)), 'utf8');
      } catch {
        return undefined;
      }
    },
    follow: (path) => new NdjsonTail(join(bundleDir, ...bundleSegments(path))),
  };
}

/** A packed bundle: its files are in memory already. */
export function zipFiles(zip: ZipBundleBackend): BundleFiles {
  const text = (path: string) => {
    const bytes = zip.readBytesSync(path);
    return bytes === undefined ? undefined : new TextDecoder().decode(bytes);
  };
  return {
    text,
    follow(path) {
      let done = false;
      return {
        read() {
          if (done) return [];
          done = true;
          const values: unknown[] = [];
          for (const line of (text(path) ?? '').split('\n')) {
            if (line.trim() === '') continue;
            try {
              values.push(JSON.parse(line));
            } catch {
              // a damaged line
            }
          }
          return values;
        },
      };
    },
  };
}

class SessionTail {
  readonly builder = new ConversationBuilder();
  /** `at` of every line read, by seq. */
  readonly times: string[] = [];

  constructor(private readonly lines: { read(): unknown[] }) {}

  /** Folds what was appended since the last call. */
  catchUp(): void {
    for (const value of this.lines.read()) {
      const parsed = SessionEventLine.safeParse(value);
      if (!parsed.success) continue;
      this.times[parsed.data.seq] = parsed.data.at;
      this.builder.add(parsed.data);
    }
  }
}

/** Sessions and artifacts of a bundle, read through BundleFiles. */
export class BundleSessionSource implements SessionSource {
  private readonly tails = new Map<string, SessionTail>();
  private readonly agents = new Map<string, { name: string; version?: string }>();
  private readonly files: BundleFiles;

  /** A bundle folder, or the files of one (a zip). */
  constructor(bundle: string | BundleFiles) {
    this.files = typeof bundle === 'string' ? folderFiles(bundle) : bundle;
  }

  agent(sessionId: string): { name: string; version?: string } | undefined {
    let agent = this.agents.get(sessionId);
    if (agent === undefined) {
      try {
        const binding = SessionBinding.safeParse(JSON.parse(this.files.text(sessionFiles(sessionId).binding) ?? 'null'));
        if (binding.success && binding.data.agent) agent = binding.data.agent;
      } catch {
        // no binding (yet): the span goes without the agent's identity
      }
      // Only a found identity is kept: a live run may write binding.json after the first look.
      if (agent) this.agents.set(sessionId, agent);
    }
    return agent;
  }

  toolCalls(sessionId: string, range: SeqRange): ToolCallView[] {
    let tail = this.tails.get(sessionId);
    if (!tail) {
      tail = new SessionTail(this.files.follow(sessionFiles(sessionId).events));
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
      return this.files.text(ref.artifact.path) ?? ref.preview;
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
