/** JSON pointers for the bundle tools' messages. */

export function escapePointer(part: string): string {
  return part.replaceAll('~', '~0').replaceAll('/', '~1');
}

/**
 * The JSON pointer of the first place two JSON values differ, relative to `pointer`: '' when they are equal or
 * differ at the top (callers compare the JSON texts first and only ask where two values differ).
 */
export function firstDifference(a: unknown, b: unknown, pointer = ''): string {
  if (a === b) return '';
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null || Array.isArray(a) !== Array.isArray(b)) {
    return pointer;
  }
  if (Array.isArray(a) && Array.isArray(b)) {
    for (let i = 0; i < Math.max(a.length, b.length); i++) {
      if (i >= a.length || i >= b.length) return `${pointer}/${i}`;
      const d = firstDifference(a[i], b[i], `${pointer}/${i}`);
      if (d) return d;
    }
    return '';
  }
  const left = a as Record<string, unknown>;
  const right = b as Record<string, unknown>;
  for (const key of new Set([...Object.keys(left), ...Object.keys(right)])) {
    const d = firstDifference(left[key], right[key], `${pointer}/${escapePointer(key)}`);
    if (d) return d;
  }
  return '';
}

/** What jsonTextOrTooDeep returns for a value JSON.stringify cannot reach the bottom of. */
export const TOO_DEEP = 'nested too deeply to compare';

/**
 * JSON.stringify of a document read back for comparison, or TOO_DEEP when it is nested deeper than the stack goes
 * (unknown keys pass validation whatever their depth): such a document differs from the fold all the same.
 */
export function jsonTextOrTooDeep(value: unknown): string | typeof TOO_DEEP | undefined {
  try {
    return JSON.stringify(value);
  } catch (error) {
    if (error instanceof RangeError) return TOO_DEEP;
    throw error;
  }
}
