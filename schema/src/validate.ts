/** Validation with one-line messages that name the file, the line and the JSON pointer at fault. */
import type { z } from 'zod';
import { FORMAT_MAJOR, NewerFormatError, parseSchemaId } from './ids.ts';
import { TraceEnvelope, TraceEvent, isKnownEventType } from './events.ts';
import { fastTraceEvent } from './fast-check.ts';
import type { ReducibleEvent } from './reducer.ts';

export class BundleFormatError extends Error {
  override name = 'BundleFormatError';
  constructor(
    message: string,
    readonly file: string,
    readonly line?: number,
    readonly pointer?: string,
  ) {
    super(message);
  }
}

/** `/payload/durationMs` from zod's issue path. */
export function toPointer(path: readonly PropertyKey[]): string {
  return path.map((part) => '/' + String(part).replaceAll('~', '~0').replaceAll('/', '~1')).join('');
}

/** The first issue of a zod error as `file:line: /pointer: message`. */
export function describeZodError(error: z.ZodError, file: string, line?: number): BundleFormatError {
  const issue = error.issues[0];
  const pointer = issue ? toPointer(issue.path) : '';
  const where = line === undefined ? file : `${file}:${line}`;
  const more = error.issues.length > 1 ? ` (+${error.issues.length - 1} more)` : '';
  return new BundleFormatError(`${where}: ${pointer || '/'}: ${issue?.message ?? 'invalid'}${more}`, file, line, pointer);
}

/**
 * Checks the `schema` id of a JSON document before validating it: a newer major gets NewerFormatError, a foreign
 * id a clear BundleFormatError.
 */
export function checkSchemaId(value: unknown, expected: string, file: string): void {
  const id = typeof value === 'object' && value !== null ? (value as { schema?: unknown }).schema : undefined;
  if (typeof id !== 'string') throw new BundleFormatError(`${file}: /schema: missing (expected "${expected}")`, file, undefined, '/schema');
  if (id === expected) return;
  const found = parseSchemaId(id);
  const wanted = parseSchemaId(expected);
  if (found && wanted && found.doc === wanted.doc && found.major > FORMAT_MAJOR) throw new NewerFormatError(file, id, found.major);
  throw new BundleFormatError(`${file}: /schema: "${id}" is not "${expected}"`, file, undefined, '/schema');
}

/** Validates a JSON document (manifest, flow, projection, binding, record) against its schema. */
export function parseDocument<S extends z.ZodType & { shape: { schema: z.ZodLiteral<string> } }>(
  schema: S,
  value: unknown,
  file: string,
): z.infer<S> {
  checkSchemaId(value, schema.shape.schema.value, file);
  const result = schema.safeParse(value);
  if (!result.success) throw describeZodError(result.error, file);
  return result.data;
}

export type EventCheck =
  | { ok: true; event: ReducibleEvent; known: boolean }
  | { ok: false; error: BundleFormatError };

/**
 * Validates one trace line. Known types are checked in full (`full`) or by envelope only (`envelope`, for a fast
 * first paint of very large traces); unknown types must have a valid envelope and are passed through.
 */
export function checkTraceEvent(value: unknown, line: number, file = 'trace.ndjson', depth: 'full' | 'envelope' = 'full'): EventCheck {
  try {
    return checkTraceEventUnguarded(value, line, file, depth);
  } catch (error) {
    if (error instanceof RangeError) return { ok: false, error: tooDeep(file, line) };
    throw error;
  }
}

/**
 * Validation recurses: a value nested thousands of levels deep (valid JSON) overflows the stack. Such a line is
 * reported as invalid, never a crash.
 */
export function tooDeep(file: string, line?: number): BundleFormatError {
  const where = line === undefined ? file : `${file}:${line}`;
  return new BundleFormatError(`${where}: /: nested too deeply to validate`, file, line, '');
}

function checkTraceEventUnguarded(value: unknown, line: number, file: string, depth: 'full' | 'envelope'): EventCheck {
  // Plainly valid lines skip zod (fast-check.ts); anything else gets zod's verdict and its message.
  const fast = fastTraceEvent(value, depth);
  if (fast !== undefined) return { ok: true, event: fast.event as ReducibleEvent, known: fast.known };
  // A valid event of a known type that the fast path does not vouch for is valid in full, envelope included: one
  // zod parse, not two. Anything else takes the path below, for the same error as always.
  const type = (value as { type?: unknown } | null)?.type;
  if (depth === 'full' && typeof type === 'string' && isKnownEventType(type)) {
    const full = TraceEvent.safeParse(value);
    if (full.success) return { ok: true, event: full.data, known: true };
  }
  const envelope = TraceEnvelope.safeParse(value);
  if (!envelope.success) return { ok: false, error: describeZodError(envelope.error, file, line) };
  const known = isKnownEventType(envelope.data.type);
  if (!known || depth === 'envelope') return { ok: true, event: envelope.data as ReducibleEvent, known };
  const full = TraceEvent.safeParse(value);
  if (!full.success) return { ok: false, error: describeZodError(full.error, file, line) };
  return { ok: true, event: full.data, known };
}
