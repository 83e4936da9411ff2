/**
 * What every benchmark prints about where its figures come from, in one form: the commit, the node version, the
 * core count and the load average (times on a shared machine mean little without it), and ratios.
 *
 *   console.log(benchHeader('bench:tools'));       // bench:tools · commit 1a2b3c4 · node v20.19.0 · 2 cores · load average 0.52 0.61 0.70 (start)
 *   console.log(`… · ${benchFooter()}`);            // load average 0.80 0.66 0.71 (end) · commit 1a2b3c4
 */
import { execFileSync } from 'node:child_process';
import { appendFileSync } from 'node:fs';
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

/** The median of repeated timings (the upper one of the two middle values for an even count). */
export function median(values: number[]): number {
  return [...values].sort((a, b) => a - b)[values.length >> 1]!;
}

/** `a` as a multiple of `b`: "2.31×". */
export function ratio(a: number, b: number): string {
  return `${(a / b).toFixed(2)}×`;
}

/** One figure of a benchmark, as `pnpm bench` collects it into bench/results.md. */
export interface Figure {
  /** What was measured, e.g. "reducer fold, compute chain, 300k events". */
  name: string;
  value: number;
  unit: string;
  /** The floor measured in the same run, in the same unit (absent when the figure has none). */
  floor?: number;
  floorName?: string;
  /** The target the issue sets, as text ("≤ 2 µs", "≤ 3× floor"). */
  target?: string;
}

/**
 * Records a figure: printed by the benchmark itself, and appended (one JSON line) to the file named by
 * FLOWTAPE_BENCH_OUT when `pnpm bench` runs it, with the load average at that moment.
 */
export function recordFigure(bench: string, figure: Figure): void {
  const out = process.env['FLOWTAPE_BENCH_OUT'];
  if (!out) return;
  appendFileSync(out, JSON.stringify({ bench, ...figure, load: loadAverage(), commit: commit() }) + '\n');
}
