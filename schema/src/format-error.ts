/**
 * Format errors and the checks that need no zod at run time (zod's error is only a type here): the viewer names the
 * file, line and pointer at fault with these before the schemas are loaded. validate.ts re-exports them.
 */
import type { z } from 'zod';
import { FORMAT_MAJOR, NewerFormatError, parseSchemaId } from './ids.ts';

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

/**
 * Validation recurses: a value nested thousands of levels deep (valid JSON) overflows the stack. Such a line is
 * reported as invalid, never a crash.
 */
export function tooDeep(file: string, line?: number): BundleFormatError {
  const where = line === undefined ? file : `${file}:${line}`;
  return new BundleFormatError(`${where}: /: nested too deeply to validate`, file, line, '');
}
