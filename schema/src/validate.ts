/** Validation with one-line messages that name the file, the line and the JSON pointer at fault. */
import type { z } from 'zod';
import { BundleFormatError, checkSchemaId, describeZodError, tooDeep } from './format-error.ts';
import { TraceEnvelope, TraceEvent, isKnownEventType } from './events.ts';
import { fastTraceEvent } from './fast-check.ts';
import type { ReducibleEvent } from './reducer.ts';

// The errors and checks that need no zod at run time live in format-error.ts (the viewer reports with them before
// the schemas are loaded).
export { BundleFormatError, checkSchemaId, describeZodError, toPointer, tooDeep } from './format-error.ts';

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
