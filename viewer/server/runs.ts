// Finding bundles below a runs-root and listing the files of one bundle, without ever following a symlink
// out of the served directory.
import { lstat, readdir, realpath } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';
import { checkRelativePath, isInside } from './safe-path.ts';
import { summarizeRunCached, type RunSummary } from './summary.ts';

export type { RunSummary } from './summary.ts';

/** How deep below a runs-root bundles are looked for (root/flow/run/manifest.json is depth 2). */
const MAX_RUN_DEPTH = 3;
const MAX_FILE_DEPTH = 6;
const CONCURRENCY = 16;

/** Resolves a run id (a bundle's path relative to the root, '' for the root itself) to its directory. */
export async function runDirFor(rootReal: string, mode: 'bundle' | 'runs', run: string):
  Promise<{ ok: true; dir: string } | { ok: false; status: 403 | 404; reason: string }> {
  if (mode === 'bundle') {
    return run === '' || run === '.' ? { ok: true, dir: rootReal } : { ok: false, status: 404, reason: `no run ${run}` };
  }
  const checked = checkRelativePath(run);
  if (!checked.ok) return { ok: false, status: 403, reason: checked.reason };
  let real: string;
  try {
    real = await realpath(join(rootReal, ...checked.segments));
  } catch {
    return { ok: false, status: 404, reason: `no run ${run}` };
  }
  if (!isInside(rootReal, real)) return { ok: false, status: 403, reason: 'symlink leads out of the served directory' };
  return { ok: true, dir: real };
}

/** Every bundle below `rootReal` (no cap), summarised from its manifest and run projection. */
export async function listRuns(rootReal: string, mode: 'bundle' | 'runs'): Promise<RunSummary[]> {
  if (mode === 'bundle') return [await summarizeRunCached(rootReal, '')];
  const dirs: string[] = [];
  await findBundles(rootReal, rootReal, 0, dirs);
  const out: RunSummary[] = new Array(dirs.length);
  let next = 0;
  async function worker(): Promise<void> {
    while (next < dirs.length) {
      const i = next++;
      const dir = dirs[i]!;
      out[i] = await summarizeRunCached(dir, relative(rootReal, dir).split(sep).join('/'));
    }
  }
  await Promise.all(Array.from({ length: Math.min(CONCURRENCY, dirs.length) }, worker));
  return out;
}

async function findBundles(rootReal: string, dir: string, depth: number, out: string[]): Promise<void> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch {
    return;
  }
  if (depth > 0 && (names.includes('manifest.json') || names.includes('trace.ndjson'))) {
    out.push(dir);
    return;
  }
  if (depth >= MAX_RUN_DEPTH) return;
  for (const name of names.sort()) {
    if (name.startsWith('.') && name !== '.runs') continue;
    const child = await insideDir(rootReal, join(dir, name));
    if (child) await findBundles(rootReal, child, depth + 1, out);
  }
}

/** The real path of `path` if it is a directory inside the root (symlinks followed but checked), else undefined. */
async function insideDir(rootReal: string, path: string): Promise<string | undefined> {
  try {
    const st = await lstat(path);
    if (!st.isDirectory() && !st.isSymbolicLink()) return undefined;
    const real = await realpath(path);
    if (!isInside(rootReal, real)) return undefined;
    return (await lstat(real)).isDirectory() ? real : undefined;
  } catch {
    return undefined;
  }
}

/** Relative (posix) paths of the regular files of one bundle; symlinks leading out are left out. */
export async function listBundleFiles(bundleReal: string): Promise<string[]> {
  const out: string[] = [];
  async function walk(dir: string, depth: number): Promise<void> {
    let names: string[];
    try {
      names = await readdir(dir);
    } catch {
      return;
    }
    for (const name of names.sort()) {
      const path = join(dir, name);
      let st;
      try {
        st = await lstat(path);
      } catch {
        continue;
      }
      if (st.isSymbolicLink()) {
        let real: string;
        try {
          real = await realpath(path);
          st = await lstat(real);
        } catch {
          continue;
        }
        if (!isInside(bundleReal, real)) continue;
      }
      if (st.isDirectory()) {
        if (depth < MAX_FILE_DEPTH) await walk(path, depth + 1);
      } else if (st.isFile()) {
        out.push(relative(bundleReal, path).split(sep).join('/'));
      }
    }
  }
  await walk(bundleReal, 0);
  return out;
}
