/**
 * The one rule for a path inside a bundle (`manifest.files.*`, `sessions[].path`, and every path a tool reads or
 * writes by name). Pure string checks, so browsers and Node share it; what the disk holds (symlinks, hard links)
 * is the recorder's business.
 *
 * A bundle path is relative, uses `/`, and every segment is a plain name: not empty, not `.` or `..`, with no
 * backslash, no control character (C0, DEL, C1) and no line or paragraph separator. Characters are refused
 * anywhere in the path, not per line: a check that stops at the first newline is how `"x\n/../../victim"` got
 * through before.
 */

/** Backslash, C0 controls, DEL, C1 controls (NEL among them), U+2028 and U+2029: a regex character-class body. */
const FORBIDDEN = String.raw`\\\u0000-\u001f\u007f-\u009f\u2028\u2029`;
const FORBIDDEN_CHAR = new RegExp(`[${FORBIDDEN}]`);
const DRIVE = /^[A-Za-z]:/;
export const BUNDLE_PATH_MAX = 1024;

/** Why `path` is not a bundle path (a few words), or undefined when it is one. */
export function bundlePathProblem(path: unknown): string | undefined {
  if (typeof path !== 'string' || path === '') return 'empty path';
  if (path.length > BUNDLE_PATH_MAX) return `longer than ${BUNDLE_PATH_MAX} characters`;
  const bad = FORBIDDEN_CHAR.exec(path);
  if (bad) return bad[0] === '\\' ? 'backslash in path' : `unsafe character ${codePoint(bad[0])} in path`;
  if (path.startsWith('/') || DRIVE.test(path)) return 'absolute path';
  for (const segment of path.split('/')) {
    if (segment === '..') return '".." segment';
    if (segment === '.') return '"." segment';
    if (segment === '') return 'empty segment';
  }
  return undefined;
}

/**
 * The same rule as one ECMAScript pattern, for the generated JSON Schema (consumers that validate without this
 * package). Built from the same character class; a test holds the two to the same answers.
 */
export const BUNDLE_PATH_PATTERN = (() => {
  const segment = String.raw`(?!\.\.?(?:/|$))[^/${FORBIDDEN}]+`;
  return String.raw`^(?![A-Za-z]:)(?:${segment}/)*${segment}$`;
})();

/**
 * A path as it can be printed in a one-line message: as is when it holds nothing unusual, else quoted with every
 * control character and separator escaped (JSON.stringify alone leaves U+2028, U+2029 and C1 controls raw).
 */
export function printablePath(path: string): string {
  if (!/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/.test(path)) return path;
  return JSON.stringify(path).replace(/[\u007f-\u009f\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

function codePoint(char: string): string {
  return `U+${char.charCodeAt(0).toString(16).toUpperCase().padStart(4, '0')}`;
}
