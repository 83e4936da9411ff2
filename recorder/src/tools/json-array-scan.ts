/**
 * A streaming scanner for a JSON document shaped `{ "k": v, …, "<array>": [ e0, e1, … ], … }`: it yields each
 * top-level field's value text and each element of the named array as text, one at a time, so that a document of
 * tens of MB (steps.json of a 100k-event run) is checked without holding it. Used by verify's steps check
 * (verify-steps.ts).
 */
export type StepsItem = { kind: 'field'; key: string; text: string } | { kind: 'element'; index: number; text: string };

export class StepsScanError extends Error {
  override name = 'StepsScanError';
}

const WS = new Set([' ', '\t', '\n', '\r']);
const [QUOTE, BACKSLASH, OPEN_BRACE, CLOSE_BRACE, OPEN_BRACKET, CLOSE_BRACKET, COMMA, SPACE, TAB, LF, CR] = [...'"\\{}[], \t\n\r'].map((c) => c.charCodeAt(0));
const VALUE_START = /[{["\-0-9tfn]/;

/**
 * Scans `{ "k": v, …, "<array>": [ e0, e1, … ], … }` from a stream: yields each top-level field's value text and
 * each element's text. Throws StepsScanError when the document is not shaped like that (the caller then reads it
 * whole, for the exact JSON error).
 */
export async function* scanArrayDocument(source: AsyncIterable<Uint8Array | string> | Iterable<Uint8Array | string>, array: string): AsyncGenerator<StepsItem> {
  for await (const batch of scanArrayDocumentBatches(source, array)) yield* batch;
}

/**
 * The same items, a batch per chunk of the source (possibly empty): a reader that takes them one at a time without an
 * `await` per item (verify-steps-items.ts) pays the async step once per chunk, not once per element.
 */
export async function* scanArrayDocumentBatches(
  source: AsyncIterable<Uint8Array | string> | Iterable<Uint8Array | string>,
  array: string,
): AsyncGenerator<StepsItem[]> {
  const decoder = new TextDecoder('utf-8');
  // Parser state: where we are in the top-level object.
  let phase: 'start' | 'key' | 'colon' | 'value' | 'after' | 'elements' | 'done' = 'start';
  let key = '';
  let capture = '';
  let capturing = false;
  let depth = 0; // nesting inside the current value or element
  let inString = false;
  let escaped = false;
  let keyText = '';
  let index = 0;
  let inArray = false;
  let needComma = false;
  let arraySeen = false;
  const items: StepsItem[] = [];

  const feed = (text: string) => {
    let start = capturing ? 0 : -1;
    /**
     * The next backslash and the next quote in `text` at or after the position each was last searched from, searched
     * again only once passed: a string dense with escapes is then scanned once, not once to its end per escape.
     */
    let backslashAt = -1;
    let quoteAt = -1;
    for (let i = 0; i < text.length; i++) {
      const ch = text[i]!;
      if (phase === 'key') {
        if (inString) {
          if (escaped) escaped = false;
          else if (ch === '\\') escaped = true;
          else if (ch === '"') {
            inString = false;
            key = JSON.parse(`"${keyText}"`) as string;
            // A second array key: JSON.parse keeps the last one, where scanning on would add its elements to the
            // first or take it as a field. The caller reads the document whole instead, as other readers do.
            if (key === array) {
              if (arraySeen) throw new StepsScanError(`"${array}" appears twice`);
              arraySeen = true;
            }
            phase = 'colon';
            continue;
          }
          keyText += ch;
          continue;
        }
        if (WS.has(ch)) continue;
        if (ch === '"') {
          inString = true;
          keyText = '';
          continue;
        }
        if (ch === '}' && index === 0 && items.length === 0) {
          phase = 'done';
          continue;
        }
        throw new StepsScanError('expected a field name');
      }
      if (phase === 'start') {
        if (WS.has(ch)) continue;
        if (ch !== '{') throw new StepsScanError('not a JSON object');
        phase = 'key';
        continue;
      }
      if (phase === 'colon') {
        if (WS.has(ch)) continue;
        if (ch !== ':') throw new StepsScanError('expected ":"');
        phase = 'value';
        continue;
      }
      if (phase === 'after') {
        if (WS.has(ch)) continue;
        if (ch === ',') phase = 'key';
        else if (ch === '}') phase = 'done';
        else throw new StepsScanError('expected "," or "}"');
        continue;
      }
      if (phase === 'done') {
        if (!WS.has(ch)) throw new StepsScanError('text after the end of the document');
        continue;
      }
      // phase 'value' (a top-level field value) or 'elements' (inside the array)
      if (!capturing) {
        if (WS.has(ch)) continue;
        if (phase === 'value' && key === array && ch === '[' && !inArray) {
          inArray = true;
          phase = 'elements';
          continue;
        }
        if (phase === 'elements' && ch === ']') {
          if (index > 0 && !needComma) throw new StepsScanError('a "," before "]"');
          inArray = false;
          phase = 'after';
          continue;
        }
        if (phase === 'elements' && ch === ',') {
          if (!needComma) throw new StepsScanError('unexpected ","');
          needComma = false;
          continue;
        }
        if (phase === 'elements' && needComma) throw new StepsScanError('expected "," between elements');
        if (!VALUE_START.test(ch)) throw new StepsScanError(`unexpected "${ch}"`);
        capturing = true;
        capture = '';
        start = i;
        depth = 0;
      }
      // Inside a value (most of the document): a tight loop over character codes until the value ends or the
      // text does; `i` is left on the last character it took.
      for (; i < text.length; i++) {
        if (inString) {
          if (escaped) {
            escaped = false;
            continue;
          }
          // To the string's end (or the next escape) in one search, not a character at a time: most of a step's
          // text is in its strings.
          if (quoteAt < i) quoteAt = indexOrEnd(text, '"', i);
          if (backslashAt < i) backslashAt = indexOrEnd(text, '\\', i);
          if (backslashAt < quoteAt) {
            i = backslashAt;
            escaped = true;
          } else if (quoteAt < text.length) {
            i = quoteAt;
            inString = false;
          } else i = text.length - 1; // the string goes on in the next chunk
          continue;
        }
        const code = text.charCodeAt(i);
        if (code === QUOTE) {
          inString = true;
          continue;
        }
        if (code === OPEN_BRACE || code === OPEN_BRACKET) {
          depth++;
          continue;
        }
        const closesContainer = code === CLOSE_BRACE || code === CLOSE_BRACKET;
        if (closesContainer && depth > 0) {
          depth--;
          if (depth > 0) continue;
          // The value ends with this bracket.
          capture += text.slice(start, i + 1);
          finish();
          start = -1;
          break;
        }
        if (depth === 0 && (code === COMMA || closesContainer || code === SPACE || code === TAB || code === LF || code === CR)) {
          // A scalar ends before this character.
          capture += text.slice(start, i);
          finish();
          start = -1;
          i--; // let the structural character be read again
          break;
        }
      }
    }
    if (capturing && start !== -1) capture += text.slice(start);
  };

  const finish = () => {
    capturing = false;
    if (phase === 'elements') {
      items.push({ kind: 'element', index: index++, text: capture });
      needComma = true;
    }
    else {
      items.push({ kind: 'field', key, text: capture });
      phase = 'after';
    }
    capture = '';
  };

  for await (const chunk of source) {
    feed(typeof chunk === 'string' ? chunk : decoder.decode(chunk, { stream: true }));
    yield items.splice(0);
  }
  feed(decoder.decode());
  if (capturing && depth === 0 && capture.trim() !== '') {
    // A top-level scalar at the very end without a closing brace is malformed anyway.
    throw new StepsScanError('unexpected end of the document');
  }
  yield items.splice(0);
  if ((phase as string) !== 'done') throw new StepsScanError('unexpected end of the document');
}

/** Where `needle` is at or after `from`, or the length of `text`. */
function indexOrEnd(text: string, needle: string, from: number): number {
  const at = text.indexOf(needle, from);
  return at === -1 ? text.length : at;
}
