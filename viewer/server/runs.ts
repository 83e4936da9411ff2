// Finding bundles below a runs-root and listing the files of one bundle, without ever following a symlink
// out of the served directory.
import { lstat, readdir, realpath, stat } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';
import { checkRelativePath, isInside } from './safe-path.ts';
import { forgetSummaries, summarizeRunCached, type RunSummary } from './summary.ts';

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
  const found: string[] = [];
  await findBundles(rootReal, rootReal, 0, found);
  // Real paths: a run and a symlink to it (both inside the root) are one run, listed once.
  const dirs = [...new Set(found)];
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

/**
 * One directory as the walk sees it, kept between requests while its mtime stands (adding, removing or renaming an
 * entry, a manifest appearing, a symlink replaced: each changes it): whether it is a bundle, and its
 * subdirectories that stay inside the root. A refresh of 10,000 unchanged runs is then one stat per directory
 * instead of a listing and three calls per entry.
 */
interface Listing {
  mtimeMs: number;
  bundle: boolean;
  children: string[];
}
const listings = new Map<string, Listing>();
const MAX_LISTINGS = 200_000;

/** Forgets every kept listing and summary: the next request reads the runs-root from scratch. */
export function forgetRunIndex(): void {
  listings.clear();
  forgetSummaries();
}

async function listing(rootReal: string, dir: string): Promise<Listing | undefined> {
  let mtimeMs: number;
  try {
    mtimeMs = (await stat(dir)).mtimeMs;
  } catch {
    return undefined;
  }
  const kept = listings.get(dir);
  if (kept && kept.mtimeMs === mtimeMs) return kept;
  let names: string[];
  try {
    names = await readdir(dir);
  } catch {
    return undefined;
  }
  const bundle = names.includes('manifest.json') || names.includes('trace.ndjson');
  const candidates = names.sort().filter((name) => !name.startsWith('.') || name === '.runs');
  const children = bundle ? [] : (await inOrder(candidates, (name) => insideDir(rootReal, join(dir, name)))).filter((c): c is string => c !== undefined);
  const fresh = { mtimeMs, bundle, children };
  if (listings.size >= MAX_LISTINGS) listings.clear();
  listings.set(dir, fresh);
  return fresh;
}

/** `fn` over `items`, CONCURRENCY at a time, results in the items' order. */
async function inOrder<T, R>(items: readonly T[], fn: (item: T) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(CONCURRENCY, items.length) }, worker));
  return out;
}

async function findBundles(rootReal: string, dir: string, depth: number, out: string[]): Promise<void> {
  const here = await listing(rootReal, dir);
  if (!here) return;
  if (depth > 0 && here.bundle) {
    out.push(dir);
    return;
  }
  if (depth >= MAX_RUN_DEPTH) return;
  // Each child's bundles, found in parallel, kept in the children's (sorted) order.
  const found = await inOrder(here.children, async (child) => {
    const below: string[] = [];
    await findBundles(rootReal, child, depth + 1, below);
    return below;
  });
  for (const list of found) out.push(...list);
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
