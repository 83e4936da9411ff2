/**
 * One line for a JSON.parse failure: V8's reason and where it is, as a line and column of the text. V8's own message
 * quotes an excerpt that may hold newlines (cut there, it reads as garbage) and, on Node 20, often has no position.
 * Shared by every reader of a user's JSON file (scripts, `--input @file`, `--mcp-config`, a bundle being resumed).
 */

/**
 * The position V8 states at the end of its message, and only there: the excerpt it quotes is the user's text, which
 * may say "position 9" itself.
 */
const V8_POSITION = / (?:in|after) JSON at position (\d+)(?: \(line \d+ column \d+\))?$/;

/** `Unexpected token ',' at line 3 column 7` for the error `JSON.parse(text)` threw. */
export function describeJsonError(text: string, error: unknown): string {
  const message = oneLine((error as Error).message);
  const reason = message.split(/ in JSON at position| at position|, "|, \.\.\./)[0] ?? message;
  const stated = V8_POSITION.exec(message);
  const offset = stated ? Number(stated[1]) : errorOffset(text);
  const before = text.slice(0, offset);
  const line = before.split('\n').length;
  const column = offset - before.lastIndexOf('\n');
  return `${reason} at line ${line} column ${column}`;
}

// Node 20's JSON.parse messages do not always give a position. Every prefix that stops before the offending
// character either parses or fails at its very end, so a binary search over prefixes finds that character.
function errorOffset(text: string): number {
  const failsOnlyAtEnd = (length: number): boolean => {
    try {
      JSON.parse(text.slice(0, length));
      return true;
    } catch (error) {
      const message = (error as Error).message;
      const stated = V8_POSITION.exec(oneLine(message));
      return /end of JSON input/i.test(message) || (stated !== null && Number(stated[1]) >= length);
    }
  };
  let low = 0;
  let high = text.length;
  while (low < high) {
    const mid = Math.ceil((low + high) / 2);
    if (failsOnlyAtEnd(mid)) low = mid;
    else high = mid - 1;
  }
  return Math.min(low, Math.max(0, text.length - 1));
}

function oneLine(text: string): string {
  return text.replace(/\s*\n\s*/g, ' ').trim();
}
