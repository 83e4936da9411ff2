/**
 * What every benchmark prints about where its figures come from, in one form: the commit, the node version, the
 * core count and the load average (times on a shared machine mean little without it), and ratios.
 *
 *   console.log(benchHeader('bench:tools'));       // bench:tools · commit 1a2b3c4 · node v20.19.0 · 2 cores · load average 0.52 0.61 0.70 (start)
 *   console.log(`… · ${benchFooter()}`);            // load average 0.80 0.66 0.71 (end) · commit 1a2b3c4
 */
import { execFileSync } from 'node:child_process';
import { cpus, loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';

export const repoRoot = fileURLToPath(new URL('..', import.meta.url));

/** The short commit, with `+changes` when tracked files differ from it (untracked scratch files do not count). */
export function commit(): string {
  try {
    const sha = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: repoRoot, encoding: 'utf8' }).trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--untracked-files=no'], { cwd: repoRoot, encoding: 'utf8' }).trim() !== '';
    return dirty ? `${sha}+changes` : sha;
  } catch {
    return 'unknown';
  }
}

/** The 1, 5 and 15 minute load averages. */
export function loadAverage(): string {
  return loadavg().map((x) => x.toFixed(2)).join(' ');
}

/** The first line of a benchmark's output. */
export function benchHeader(name: string): string {
  return `${name} · commit ${commit()} · node ${process.version} · ${cpus().length} cores · load average ${loadAverage()} (start)`;
}

/** The end of a benchmark's last line: the load average again (it may have changed while it ran) and the commit. */
export function benchFooter(): string {
  return `load average ${loadAverage()} (end) · commit ${commit()}`;
}

/** `a` as a multiple of `b`: "2.31×". */
export function ratio(a: number, b: number): string {
  return `${(a / b).toFixed(2)}×`;
}
