/**
 * Keeps every write to a bundle inside it. A bundle may come from someone else, so its manifest and its layout on
 * disk are input: a path is first checked as text (`bundlePathProblem`, the schema's one rule), then on disk,
 * component by component with lstat, so that no folder on the way and not the file itself is a symlink. A file
 * changed in place (appended to, truncated) must also have no other hard link: its bytes would change elsewhere.
 * The bundle folder itself may be a symlink: that is where the user pointed us.
 */
import { constants, lstatSync, mkdirSync, readdirSync, type Stats } from 'node:fs';
import { join } from 'node:path';
import { bundlePathProblem, printablePath } from '@flowtape/schema';

/** A bundle a writer must not touch: the message is one line naming the file. */
export class UnsafeBundleError extends Error {
  override name = 'UnsafeBundleError';
}

/**
 * `replace`: written to a temp file and renamed over (a hard link elsewhere keeps its old bytes);
 * `in-place`: appended to or truncated, so it must have one link.
 */
export type WriteMode = 'replace' | 'in-place';

/** Open flag that refuses a symlink as the last component (0 where the platform lacks it). */
export const O_NOFOLLOW = constants.O_NOFOLLOW ?? 0;

/** lstat, or undefined when nothing is there (no exception thrown and caught: that cost more than the syscall). */
function lstatOrUndefined(path: string): Stats | undefined {
  return lstatSync(path, { throwIfNoEntry: false });
}

/**
 * The bundle paths one writer has already checked, or made itself (a folder it created, a file it renamed into
 * place): they are not checked on disk again for its next replace-writes. What the checks guard against is what the
 * bundle held when the writer came to it (someone else's bundle, with a symlink planted in it); such a path cannot
 * turn into a symlink afterwards except by another process that can write the bundle, and so anything, anyway. A
 * periodic snapshot thus costs its writes and renames, not two lstats per file. Entries are bundle paths; a folder
 * the writer made itself (empty, so nothing in it needs a check) also has an entry with a trailing `/`; the bundle
 * folder itself, made for the writer just now, the entry `''`.
 */
export type CheckedPaths = Set<string>;

/** The segments of a bundle path, or an UnsafeBundleError naming it. */
export function bundleSegments(path: string): string[] {
  const problem = bundlePathProblem(path);
  if (problem) throw new UnsafeBundleError(`${printablePath(path)}: not a path inside the bundle (${problem})`);
  return path.split('/');
}

/**
 * The absolute file a writer may write `path` at: every existing folder on the way is a real folder, and the file
 * is missing or a regular file (with one link for an in-place write). Missing folders are left to the caller
 * (`ensureFolder`), which creates them as real folders.
 */
export function writableFile(bundleDir: string, path: string, mode: WriteMode, checked?: CheckedPaths): string {
  if (mode === 'replace' && checked !== undefined && (checked.has(path) || checked.has(madeFolderOf(path)))) return join(bundleDir, path);
  const segments = bundleSegments(path);
  let current = bundleDir;
  for (let i = 0; i < segments.length; i++) {
    current = join(current, segments[i]!);
    const here = segments.slice(0, i + 1).join('/');
    // A folder this writer checked or made: the part below it is all that is left to check.
    if (i < segments.length - 1 && checked?.has(here)) continue;
    const st = lstatOrUndefined(current);
    if (!st) return join(bundleDir, ...segments);
    if (st.isSymbolicLink()) throw new UnsafeBundleError(`${here}: a symbolic link inside the bundle; not writing through it`);
    if (i < segments.length - 1) {
      if (!st.isDirectory()) throw new UnsafeBundleError(`${here}: not a folder`);
      checked?.add(here);
      continue;
    }
    checkWritable(st, path, mode);
  }
  return current;
}

/** The checks on the file itself, also run on the open descriptor (fstat) where a writer holds one. */
export function checkWritable(st: Stats, path: string, mode: WriteMode): void {
  if (st.isSymbolicLink()) throw new UnsafeBundleError(`${path}: a symbolic link inside the bundle; not writing through it`);
  if (!st.isFile()) throw new UnsafeBundleError(`${path}: not a regular file`);
  if (mode === 'in-place' && st.nlink > 1) {
    throw new UnsafeBundleError(`${path}: has ${st.nlink} hard links, so changing it would change a file outside the bundle; not writing`);
  }
}

/**
 * Creates the folder `path` (and the missing ones above it) inside the bundle, refusing symlinks on the way. A folder
 * mkdir just created is a real folder: it is not lstat-ed again; one inside a folder this writer made (empty) is made
 * without looking first.
 */
export function ensureFolder(bundleDir: string, path: string, checked?: CheckedPaths): string {
  let current = bundleDir;
  const segments = bundleSegments(path);
  for (let i = 0; i < segments.length; i++) {
    current = join(current, segments[i]!);
    const here = segments.slice(0, i + 1).join('/');
    if (checked?.has(here)) continue;
    const inMade = checked?.has(madeFolderOf(here)) === true;
    const st = inMade && makeFolder(current) ? undefined : (lstatOrUndefined(current) ?? (makeFolder(current) ? undefined : lstatSync(current)));
    // Made here: empty, so what this writer puts in it needs no check either.
    if (!st) checked?.add(`${here}/`);
    if (st?.isSymbolicLink()) throw new UnsafeBundleError(`${here}: a symbolic link inside the bundle; not writing through it`);
    if (st && !st.isDirectory()) throw new UnsafeBundleError(`${here}: not a folder`);
    checked?.add(here);
  }
  return current;
}

/** The CheckedPaths entry of a folder this writer made itself (`projections/`), for a path in it. */
function madeFolderOf(path: string): string {
  return path.slice(0, path.lastIndexOf('/') + 1);
}

/** mkdir: true when it made the folder, false when something got there first (another writer). */
function makeFolder(path: string): boolean {
  try {
    mkdirSync(path);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw error;
  }
}

export interface LinkedEntry {
  /** Bundle-relative path. */
  path: string;
  kind: 'symlink' | 'hardlink';
  /** Hard links: how many names the file has. */
  links?: number;
}

/**
 * Every symbolic link and every file with more than one hard link under the bundle folder (symlinked folders are
 * not entered). For `verify` to report and for writers to refuse before they change anything.
 */
export function findLinks(bundleDir: string): LinkedEntry[] {
  const found: LinkedEntry[] = [];
  const walk = (dir: string, prefix: string) => {
    let names: string[];
    try {
      names = readdirSync(dir);
    } catch {
      return;
    }
    for (const name of names.sort()) {
      const path = prefix ? `${prefix}/${name}` : name;
      const st = lstatOrUndefined(join(dir, name));
      if (!st) continue; // removed meanwhile (a temp file renamed by a live writer)
      if (st.isSymbolicLink()) found.push({ path, kind: 'symlink' });
      else if (st.isDirectory()) walk(join(dir, name), path);
      else if (st.isFile() && st.nlink > 1) found.push({ path, kind: 'hardlink', links: st.nlink });
    }
  };
  walk(bundleDir, '');
  return found;
}

/** What is wrong with a linked entry, for a message that names the path first. */
export function linkProblem(entry: LinkedEntry): string {
  return entry.kind === 'symlink'
    ? 'a symbolic link inside the bundle (a bundle holds regular files and folders only)'
    : `has ${entry.links} hard links (its bytes are shared with a file elsewhere)`;
}

/**
 * Writers of an existing bundle call this before changing anything: a symlink anywhere is refused, and so is a
 * hard-linked file among those they change in place (`inPlace`; replaced files cannot reach another link).
 */
export function refuseLinks(bundleDir: string, label: string, inPlace: (path: string) => boolean): void {
  const refused = findLinks(bundleDir).filter((entry) => entry.kind === 'symlink' || inPlace(entry.path));
  const [first, ...rest] = refused;
  if (!first) return;
  const more = rest.length > 0 ? ` (+${rest.length} more)` : '';
  throw new UnsafeBundleError(`${label}: ${printablePath(first.path)}: ${linkProblem(first)}; not writing to it${more}`);
}

/** The files writers append to: the trace and every session's events. */
export function appendedFile(tracePath: string): (path: string) => boolean {
  return (path) => path === tracePath || /^sessions\/[^/]+\/events\.ndjson$/.test(path);
}
