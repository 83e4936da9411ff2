// Streamed, tolerant reading of trace.ndjson for the viewer: lines are split a chunk at a time, each is parsed
// and given a cheap structural envelope check so a 100k-event trace is folded in one pass; the schema's zod
// validation runs in full in a worker afterwards (validate-client.ts). Byte offsets are tracked so a live
// bundle can be tailed from where the last complete line ended.
import { tooDeep, type ReducibleEvent } from '@flowtape/schema';
import { loadedSchemas } from './lazy-schemas.ts';
import type { TextSource } from '../backend/text-chunks.ts';

export interface TraceIssue {
  file: string;
  line?: number;
  message: string;
}

/**
 * A line that parsed to an event. Whether its type is one this viewer knows is not decided here: per line that cost
 * ~10 ms of a 100k-event load for a flag nobody read (the fold counts unknown types itself).
 */
export interface ParsedLine {
  line: number;
  event: ReducibleEvent;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function optString(v: unknown): boolean {
  return v === undefined || typeof v === 'string';
}

/** A structural check of the envelope: the fields the viewer indexes on have the right JSON types. */
export function looksLikeEnvelope(v: unknown): v is ReducibleEvent {
  if (!isPlainObject(v)) return false;
  const seq = v.seq;
  return typeof seq === 'number' && Number.isInteger(seq) && seq > 0
    && typeof v.at === 'string' && typeof v.runId === 'string'
    && typeof v.scope === 'string' && typeof v.type === 'string' && v.type !== ''
    && isPlainObject(v.payload)
    && optString(v.nodeId) && optString(v.attemptId) && optString(v.sessionId);
}

/**
 * A line the structural check does not vouch for, met before the schemas were loaded: parse it again once
 * loadSchemas() (lazy-schemas.ts) has resolved. zod stays off the first screen; a bad line costs the wait.
 */
export const NEEDS_SCHEMAS: unique symbol = Symbol('needs schemas');

/** Parses one trace line; returns the event or an issue (named by file and line). */
export function parseTraceLine(text: string, line: number, file: string): ParsedLine | TraceIssue | typeof NEEDS_SCHEMAS | undefined {
  if (text.trim() === '') return undefined;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    // V8 parses any depth, but an engine with a recursive parser throws RangeError on a value nested thousands
    // of levels deep: that line is valid JSON, so it is reported as what it is, like validation does.
    if (err instanceof RangeError) return { file, line, message: tooDeep(file, line).message };
    return { file, line, message: `${file}:${line}: not valid JSON (${String((err as Error).message).split('\n')[0]})` };
  }
  if (looksLikeEnvelope(value)) return { line, event: value };
  // Slow path only for lines that fail: the schema names the field at fault.
  const schemas = loadedSchemas();
  if (!schemas) return NEEDS_SCHEMAS;
  const checked = schemas.checkTraceEvent(value, line, file, 'envelope');
  if (checked.ok) return { line, event: checked.event };
  return { file, line, message: checked.error.message };
}

export function isIssue(x: ParsedLine | TraceIssue | typeof NEEDS_SCHEMAS): x is TraceIssue {
  return typeof x === 'object' && 'message' in x;
}

export interface StreamResult {
  /** Bytes up to and including the last newline: where a live tail continues. */
  offset: number;
  /** Lines read (complete ones). */
  lines: number;
  /** The unterminated last line, when there is one. */
  tail?: { line: number; text: string };
}

/**
 * Reads a trace's text line by line, calling `onLine` for each complete or final line. The final line without a
 * newline is passed with `terminated: false`; the caller decides whether it is torn (a finished bundle) or
 * still being written (live). Lines are split a whole chunk at a time, synchronously: an await per chunk, not
 * per line (an async generator per line costs more than parsing the line).
 */
export async function streamLines(
  source: TextSource,
  onLine: (text: string, line: number, terminated: boolean) => void | Promise<void>,
): Promise<StreamResult> {
  let offset = 0;
  let line = 0;
  const emit = (text: string, terminated: boolean): void | Promise<void> => {
    line++;
    return onLine(text.charCodeAt(text.length - 1) === 13 ? text.slice(0, -1) : text, line, terminated);
  };
  let ended = false;
  try {
    for (;;) {
      const chunk = await source.read();
      if (!chunk) break;
      if (chunk.last) {
        const lines = line;
        const r = emit(chunk.text, false);
        if (r) await r;
        ended = true;
        return { offset, lines, tail: { line: lines + 1, text: chunk.text } };
      }
      offset += chunk.bytes;
      const parts = chunk.text.split('\n');
      parts.pop(); // after the chunk's final newline
      for (const part of parts) {
        const r = emit(part, true);
        if (r) await r; // the caller yields to the browser now and then
      }
    }
    ended = true;
  } finally {
    if (!ended) source.cancel();
  }
  return { offset, lines: line };
}

/** Splits appended bytes at the last newline: complete lines to parse now, the rest to retry later. */
export function splitComplete(bytes: Uint8Array): { complete: string; used: number } {
  const last = bytes.lastIndexOf(10);
  if (last === -1) return { complete: '', used: 0 };
  return { complete: new TextDecoder().decode(bytes.subarray(0, last + 1)), used: last + 1 };
}
