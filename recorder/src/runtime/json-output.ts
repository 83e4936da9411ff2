// JSON helpers with acpx's `acpx/flows` semantics (parseJsonObject, parseStrictJsonObject, extractJsonObject), for
// flows that import them from `acpx/flows` and run on flowtape (see ../acpx-flows.ts). Unlike flowtape's own
// extractJsonObject (definition.ts: first JSON *object*, or undefined), these return whatever JSON value is found
// (object, array, string, number, …) and THROW when there is none; the two keep their separate contracts.
//
// What is accepted, in order (the text is trimmed first; non-string input is stringified when scalar, else empty):
//   1. the whole text as JSON (every mode);
//   2. else the body of the first ``` fence, after an optional `json` tag and a blank (modes fenced, compat);
//   3. else the first balanced {...} or [...] in the text that parses (mode compat, the default).
// Step 3 is bounded: it spends at most 8 units of work per character of the text (one per character scanned,
// one per character handed to JSON.parse), so hostile text ("{{{{…") costs linear time. The budget and the scan
// order are the same as acpx's, so the same texts are accepted and the same values returned.

export type JsonObjectParseMode = 'strict' | 'fenced' | 'compat';

export interface ParseJsonObjectOptions {
  /** strict: the whole text only; fenced: or the first ``` fence; compat (default): or JSON embedded in prose. */
  mode?: JsonObjectParseMode;
}

type Parsed = { found: true; value: unknown } | { found: false };

const NOT_FOUND: Parsed = { found: false };
/** Work units the embedded-JSON search may spend per character of the text. */
const WORK_PER_CHAR = 8;
/** How much of an unparseable text an error message quotes. */
const QUOTED_CHARS = 200;

const FENCE = '```';
const QUOTE = 0x22; // "
const BACKSLASH = 0x5c;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;

/**
 * The JSON value in an agent's answer (see the header for what is accepted). Throws when the text is empty or
 * holds no JSON the mode allows. An unknown mode behaves like `strict` (as in acpx).
 */
export function parseJsonObject(text: unknown, options?: ParseJsonObjectOptions): unknown {
  const trimmed = textOf(text);
  if (trimmed === '') throw new Error('Expected JSON output, got empty text');
  const mode: unknown = options?.mode ?? 'compat';

  const whole = parse(trimmed);
  if (whole.found) return whole.value;
  if (mode === 'fenced' || mode === 'compat') {
    const body = fenceBody(trimmed);
    if (body !== undefined) {
      const fenced = parse(body);
      if (fenced.found) return fenced.value;
    }
  }
  if (mode === 'compat') {
    const embedded = findEmbeddedJson(trimmed);
    if (embedded.found) return embedded.value;
  }
  throw new Error(`Could not parse JSON from assistant output (mode ${String(mode)}): ${quote(trimmed)}`);
}

/** The whole (trimmed) text as JSON, nothing else. */
export function parseStrictJsonObject(text: unknown): unknown {
  return parseJsonObject(text, { mode: 'strict' });
}

/** The whole text, a ``` fence, or JSON embedded in prose (parseJsonObject's `compat` mode). */
export function extractJsonObject(text: unknown): unknown {
  return parseJsonObject(text, { mode: 'compat' });
}

/** Strings trimmed; numbers, booleans, bigints and symbols as String() gives them; anything else is empty. */
function textOf(value: unknown): string {
  switch (typeof value) {
    case 'string':
      return value.trim();
    case 'number':
    case 'boolean':
    case 'bigint':
    case 'symbol':
      return String(value).trim();
    default:
      return '';
  }
}

function parse(candidate: string): Parsed {
  try {
    return { found: true, value: JSON.parse(candidate) as unknown };
  } catch {
    return NOT_FOUND;
  }
}

const isFenceBlank = (code: number): boolean => code === 0x20 || code === 0x0a || code === 0x0d || code === 0x09;

/** The trimmed body of the first ``` fence (after an optional `json` tag that a blank follows), if it is closed. */
function fenceBody(text: string): string | undefined {
  const open = text.indexOf(FENCE);
  if (open === -1) return undefined;
  let from = open + FENCE.length;
  if (text.slice(from, from + 4).toLowerCase() === 'json' && isFenceBlank(text.charCodeAt(from + 4))) from += 4;
  const close = text.indexOf(FENCE, from);
  return close === -1 ? undefined : text.slice(from, close).trim();
}

/**
 * The first span that starts at `{` or `[`, closes with brackets balanced (outside JSON strings) and parses.
 * A start whose brackets mismatch or never close yields no span; the search then tries the next start.
 */
function findEmbeddedJson(text: string): Parsed {
  let budget = text.length * WORK_PER_CHAR;
  // The closing bracket each open one needs, innermost at depth - 1 (a byte stack: cheap at any depth).
  let expected = new Uint8Array(64);
  for (let start = 0; start < text.length && budget > 0; start++) {
    const first = text.charCodeAt(start);
    if (first !== OPEN_BRACE && first !== OPEN_BRACKET) continue;
    let depth = 0;
    let end = -1;
    let inString = false;
    let escaped = false;
    for (let i = start; i < text.length; i++) {
      if (budget === 0) break;
      budget--;
      const code = text.charCodeAt(i);
      if (inString) {
        if (escaped) escaped = false;
        else if (code === BACKSLASH) escaped = true;
        else if (code === QUOTE) inString = false;
      } else if (code === QUOTE) {
        inString = true;
      } else if (code === OPEN_BRACE || code === OPEN_BRACKET) {
        if (depth === expected.length) {
          const grown = new Uint8Array(depth * 2);
          grown.set(expected);
          expected = grown;
        }
        expected[depth++] = code === OPEN_BRACE ? CLOSE_BRACE : CLOSE_BRACKET;
      } else if (code === CLOSE_BRACE || code === CLOSE_BRACKET) {
        if (expected[--depth] !== code) break;
        if (depth === 0) {
          end = i + 1;
          break;
        }
      }
    }
    if (end === -1) continue;
    const size = end - start;
    if (size > budget) return NOT_FOUND;
    budget -= size;
    const parsed = parse(text.slice(start, end));
    if (parsed.found) return parsed;
  }
  return NOT_FOUND;
}

/** The text as one JSON-quoted line, cut to QUOTED_CHARS characters. */
function quote(text: string): string {
  if (text.length <= QUOTED_CHARS) return JSON.stringify(text);
  return `${JSON.stringify(text.slice(0, QUOTED_CHARS))}… (${text.length} characters)`;
}
