// Maps a request path onto a file inside one directory, refusing everything that could lead out of it:
// `..` segments (also percent-encoded), absolute paths, backslashes, NUL bytes, and symlinks whose target
// lies outside the directory. The check is done twice: lexically first (cheap, no fs access for obvious
// attacks), then on the real path, so a symlink anywhere along the way cannot escape.
import { realpath, stat } from 'node:fs/promises';
import { isAbsolute, relative, resolve, sep } from 'node:path';

export type SafePathResult =
  | { ok: true; file: string; size: number; mtimeMs: number }
  | { ok: false; status: 400 | 403 | 404; reason: string };

/** Splits an already-URL-decoded relative path into segments, or returns why it is refused. */
export function checkRelativePath(rel: string): { ok: true; segments: string[] } | { ok: false; reason: string } {
  if (rel.includes('\0')) return { ok: false, reason: 'NUL byte in path' };
  if (rel.includes('\\')) return { ok: false, reason: 'backslash in path' };
  if (rel.startsWith('/') || isAbsolute(rel)) return { ok: false, reason: 'absolute path' };
  const segments = rel.split('/').filter((s) => s !== '' && s !== '.');
  if (segments.some((s) => s === '..')) return { ok: false, reason: '".." in path' };
  return { ok: true, segments };
}

/** True when `child` is `parent` or lies below it (both absolute, normalised). */
export function isInside(parent: string, child: string): boolean {
  const rel = relative(parent, child);
  return rel === '' || (!rel.startsWith('..') && !isAbsolute(rel) && rel.split(sep)[0] !== '..');
}

/**
 * Resolves `rel` (URL-decoded, relative) under `rootReal` (a realpath'd directory) to a regular file.
 * Directories are refused (no listings); so is anything whose real path leaves the root.
 */
export async function resolveInside(rootReal: string, rel: string): Promise<SafePathResult> {
  const checked = checkRelativePath(rel);
  if (!checked.ok) return { ok: false, status: 403, reason: checked.reason };
  const lexical = resolve(rootReal, ...checked.segments);
  if (!isInside(rootReal, lexical)) return { ok: false, status: 403, reason: 'path leaves the served directory' };
  let real: string;
  try {
    real = await realpath(lexical);
  } catch {
    return { ok: false, status: 404, reason: 'not found' };
  }
  if (!isInside(rootReal, real)) return { ok: false, status: 403, reason: 'symlink leads out of the served directory' };
  try {
    const st = await stat(real);
    if (!st.isFile()) return { ok: false, status: 404, reason: 'not a file' };
    return { ok: true, file: real, size: st.size, mtimeMs: st.mtimeMs };
  } catch {
    return { ok: false, status: 404, reason: 'not found' };
  }
}
