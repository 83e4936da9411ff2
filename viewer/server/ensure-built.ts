// Builds viewer/dist/app when it is missing or older than its sources (tests and benchmarks call this, so a
// clean clone works without a separate build step). Staleness is judged by a hash of the inputs, not by
// mtimes, which a fresh checkout makes meaningless. Concurrent callers (parallel test files) serialise
// on a lock file so only one build runs.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { closeSync, existsSync, openSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const viewerDir = fileURLToPath(new URL('..', import.meta.url));
const repoDir = join(viewerDir, '..');
const distDir = join(viewerDir, 'dist', 'app');
const stampFile = join(distDir, '.inputs-sha256');
const lockFile = join(viewerDir, '.build.lock');

function walk(dir: string, out: string[]): void {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return;
  }
  for (const name of names) {
    if (name === 'node_modules' || name === 'dist') continue;
    const p = join(dir, name);
    const st = statSync(p);
    if (st.isDirectory()) walk(p, out);
    else out.push(p);
  }
}

/** sha256 over the paths and contents of everything the build reads from this repo. */
export function viewerInputsHash(): string {
  const files: string[] = [];
  walk(join(viewerDir, 'src'), files);
  walk(join(repoDir, 'schema', 'src'), files);
  for (const f of ['index.html', 'vite.config.ts', 'package.json']) files.push(join(viewerDir, f));
  files.push(join(repoDir, 'schema', 'package.json'));
  const hash = createHash('sha256');
  for (const f of files.sort()) {
    if (!existsSync(f)) continue;
    hash.update(relative(repoDir, f)).update('\0').update(readFileSync(f)).update('\0');
  }
  return hash.digest('hex');
}

export function isViewerBuildCurrent(): boolean {
  if (!existsSync(join(distDir, 'index.html')) || !existsSync(stampFile)) return false;
  return readFileSync(stampFile, 'utf8').trim() === viewerInputsHash();
}

function sleep(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

function acquireLock(): () => void {
  const deadline = Date.now() + 180_000;
  for (;;) {
    try {
      const fd = openSync(lockFile, 'wx');
      closeSync(fd);
      return () => rmSync(lockFile, { force: true });
    } catch {
      try {
        // A lock older than the slowest plausible build was left by a killed process.
        if (Date.now() - statSync(lockFile).mtimeMs > 120_000) rmSync(lockFile, { force: true });
      } catch { /* gone meanwhile */ }
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${lockFile}`);
      sleep(200);
    }
  }
}

/** Returns the dist directory, building it first when needed. Throws with vite's output on failure. */
export function ensureViewerBuilt(): string {
  if (isViewerBuildCurrent()) return distDir;
  const release = acquireLock();
  try {
    if (isViewerBuildCurrent()) return distDir;
    const hash = viewerInputsHash();
    const vite = join(viewerDir, 'node_modules', 'vite', 'bin', 'vite.js');
    const result = spawnSync(process.execPath, [vite, 'build', '--logLevel', 'warn'], { cwd: viewerDir, encoding: 'utf8' });
    if (result.status !== 0) {
      // Whatever a failed build left behind is not current, whatever stamp it wrote.
      rmSync(stampFile, { force: true });
      throw new Error(`viewer build failed (exit ${result.status}):\n${result.stdout}${result.stderr}`);
    }
    writeFileSync(stampFile, hash + '\n');
    return distDir;
  } finally {
    release();
  }
}

// `tsx server/ensure-built.ts` (the package's build and prepack): build the app only when its inputs changed.
if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const dir = ensureViewerBuilt();
  console.log(`viewer app: ${relative(process.cwd(), dir) || '.'} is current`);
}
