/**
 * A projection serialized in pieces: the same bytes as `JSON.stringify(value)` (compact) followed by a newline, but
 * the top-level arrays (steps.json's steps, run.json's nodes and edges) are serialized a slice of elements at a time
 * and handed out in chunks of about CHUNK characters. A million-attempt steps.json (hundreds of MB) is thus never one
 * string (V8 caps a string at 2^29 characters) nor one buffer, and each chunk is encoded while it is still in cache.
 */
import { WRITE_CHUNK as CHUNK } from './fsio.ts';

/** Smaller arrays are serialized whole: splitting them saves nothing. */
const STREAMED_ARRAY = 256;
/**
 * Elements serialized per JSON.stringify call. One call per element cost 10–20 % more CPU at 100,000 nodes (16: no
 * better; 64: about as good as 32). Much larger slices make texts past V8's large-object threshold, which is slower.
 */
const SLICE = 32;

export function writeJsonChunks(value: object, write: (chunk: string) => void): void {
  let out = '{';
  let first = true;
  for (const key of Object.keys(value)) {
    const field = (value as Record<string, unknown>)[key];
    if (Array.isArray(field) && field.length >= STREAMED_ARRAY) {
      out += `${first ? '' : ','}${JSON.stringify(key)}:[`;
      for (let i = 0; i < field.length; i += SLICE) {
        // A slice's elements exactly as JSON.stringify writes them inside the whole array (one with no JSON form,
        // undefined or a function, is null); only its brackets are cut.
        const text = JSON.stringify(field.slice(i, i + SLICE));
        out += (i === 0 ? '' : ',') + text.slice(1, -1);
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
