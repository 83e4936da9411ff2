/**
 * A projection serialized in pieces: the same bytes as `JSON.stringify(value)` (compact) followed by a newline, but
 * the top-level arrays (steps.json's steps, run.json's nodes) are serialized one element at a time and handed out in
 * chunks of about CHUNK characters. A million-attempt steps.json (hundreds of MB) is thus never one string (V8 caps a
 * string at 2^29 characters) nor one buffer, and each chunk is encoded while it is still in cache.
 */
import { WRITE_CHUNK as CHUNK } from './fsio.ts';

/** Smaller arrays are serialized whole: splitting them saves nothing. */
const STREAMED_ARRAY = 256;

export function writeJsonChunks(value: object, write: (chunk: string) => void): void {
  let out = '{';
  let first = true;
  for (const key of Object.keys(value)) {
    const field = (value as Record<string, unknown>)[key];
    if (Array.isArray(field) && field.length >= STREAMED_ARRAY) {
      out += `${first ? '' : ','}${JSON.stringify(key)}:[`;
      for (let i = 0; i < field.length; i++) {
        // As in JSON.stringify: an element with no JSON form (undefined, a function) is null.
        const element = JSON.stringify(field[i]) as string | undefined;
        out += (i === 0 ? '' : ',') + (element ?? 'null');
        if (out.length >= CHUNK) {
          write(out);
          out = '';
        }
      }
      out += ']';
      first = false;
      continue;
    }
    // As in JSON.stringify: a field with no JSON form (undefined, a function) is left out.
    const text = JSON.stringify(field) as string | undefined;
    if (text === undefined) continue;
    out += `${first ? '' : ','}${JSON.stringify(key)}:${text}`;
    first = false;
  }
  write(`${out}}\n`);
}
