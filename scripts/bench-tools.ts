/**
 * pnpm bench:tools — time and peak memory of `flowtape diff` and `flowtape verify` as bundles grow.
 *
 * Bundles are recorded for real (`record()` from @flowtape/recorder, deterministic): a loop of compute attempts
 * (`step` → `step` … → `end`), three trace events per attempt, sized to N events. For each size two bundles are
 * recorded that differ in one attempt's output in the middle, so `diff` has one difference to find.
 * Every measurement runs in its own child process (`--child …`), which reports its wall time and its peak RSS
 * (`process.resourceUsage().maxRSS`); a child that only loads the modules gives the fixed cost. A second run of
 * each command with the old generation capped (`--max-old-space-size`) shows the live set does not grow with N:
 * memory that grew with the bundle would fail there at the larger sizes.
 *
 * The floor is measured the way the figure is, so the ratio compares like with like: after both bundles are recorded
 * their dirty pages are flushed (`sync`) and every file is read once untimed, so figure and floor both read from a warm
 * page cache (the floor used to run first, straight after 2 × 37 MB — 2 × 375 MB at 1M — were written, and took the
 * cold read and the writeback for the figure); then floor and figure alternate, each in a fresh child, `--repeat` times,
 * and the medians are compared (the runs are printed too). diff's floor reads both bundles in one process, as diff does.
 * Each child reports the time V8 spent in GC pauses.
 *
 *   tsx scripts/bench-tools.ts [--sizes 10000,100000] [--cap 48] [--repeat 3] [--keep]
 */
import { spawnSync } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readdirSync, readFileSync, readSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance, PerformanceObserver } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { benchFooter, benchHeader, ratio, recordFigure } from './bench-env.ts';

const self = fileURLToPath(import.meta.url);

async function child(args: string[]): Promise<void> {
  const [what, a, b] = args;
  let gcMs = 0;
  const gc = new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) gcMs += entry.duration;
  });
  gc.observe({ entryTypes: ['gc'] });
  let started = performance.now();
  let result: unknown;
  if (what === 'baseline') {
    await import('../recorder/src/tools/diff.ts');
    await import('../recorder/src/tools/verify.ts');
    result = 'loaded';
  } else if (what === 'verify') {
    const { verifyBundle } = await import('../recorder/src/tools/verify.ts');
    started = performance.now(); // the modules' load is the fixed cost, measured apart ('baseline')
    const report = await verifyBundle(a!);
    if (!report.ok) throw new Error(`verify: ${report.problems[0]?.message}`);
    result = `valid, ${report.summary.events} events`;
  } else if (what === 'diff') {
    const { diffBundles } = await import('../recorder/src/tools/diff.ts');
    started = performance.now();
    const diff = await diffBundles(a!, b!);
    result = `${diff.total} difference(s)${diff.differences[0] ? `: ${diff.differences[0].path}` : ''}`;
  } else if (what === 'floor') {
    result = args.slice(1).map(floor).join(' + ');
  } else if (what === 'record') {
    result = await recordLoop(a!, Number(b), Number(args[3] ?? 0));
  } else {
    throw new Error(`unknown child task ${what}`);
  }
  const ms = performance.now() - started;
  // GC entries are delivered after the synchronous work that caused them: let them arrive, then take the rest.
  await new Promise((resolve) => setTimeout(resolve, 20));
  for (const entry of gc.takeRecords()) gcMs += entry.duration;
  gc.disconnect();
  process.stdout.write(JSON.stringify({ ms, gcMs, maxRssKB: process.resourceUsage().maxRSS, result }) + '\n');
}

/**
 * The floor of reading a bundle: every file read and every line (or document) through JSON.parse. NDJSON files are read
 * in 1 MiB chunks, each line parsed and dropped, as verify and diff stream them (reading a 24 MB trace whole and
 * splitting it held every line at once: a floor made of allocation and GC, which a busy machine inflates most).
 */
function floor(dir: string): string {
  let lines = 0;
  const chunk = Buffer.alloc(1 << 20);
  const parseLines = (path: string) => {
    const fd = openSync(path, 'r');
    try {
      let carry = Buffer.alloc(0);
      for (let n = readSync(fd, chunk); n > 0; n = readSync(fd, chunk)) {
        const data = carry.length > 0 ? Buffer.concat([carry, chunk.subarray(0, n)]) : chunk.subarray(0, n);
        let start = 0;
        for (let end = data.indexOf(10, start); end !== -1; end = data.indexOf(10, start)) {
          if (end > start) {
            JSON.parse(data.toString('utf8', start, end));
            lines++;
          }
          start = end + 1;
        }
        carry = Buffer.from(data.subarray(start));
      }
      if (carry.length > 0) {
        JSON.parse(carry.toString('utf8'));
        lines++;
      }
    } finally {
      closeSync(fd);
    }
  };
  const walk = (at: string) => {
    for (const entry of readdirSync(at, { withFileTypes: true })) {
      const path = join(at, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (entry.name.endsWith('.ndjson')) parseLines(path);
      else if (entry.name.endsWith('.json')) {
        JSON.parse(readFileSync(path, 'utf8'));
        lines++;
      }
    }
  };
  walk(dir);
  return `${lines} lines and documents parsed`;
}

/** Records the loop flow with the real recorder into `dir`, about `events` trace events. */
async function recordLoop(dir: string, events: number, variant: number): Promise<string> {
  const { compute, defineFlow, record } = await import('@flowtape/recorder');
  const attempts = Math.max(1, Math.floor((events - 4) / 3));
  const changed = Math.floor(attempts / 2);
  const flow = defineFlow({
    name: 'bench-loop',
    startAt: 'step',
    nodes: {
      step: compute({
        run: ({ outputs }) => {
          const i = ((outputs.step as { i?: number } | undefined)?.i ?? 0) + 1;
          return { i, more: i < attempts ? 'yes' : 'no', text: variant !== 0 && i === changed ? `changed ${variant}` : `value ${i}` };
        },
      }),
      end: compute({ run: ({ outputs }) => ({ total: (outputs.step as { i: number }).i }) }),
    },
    edges: [{ from: 'step', switch: { on: '$.more', cases: { yes: 'step', no: 'end' } } }],
  });
  const result = await record(flow, { attempts }, { bundleDir: dir, cwd: tmpdir(), deterministic: true });
  return result.status;
}

interface Measure {
  ms: number;
  /** Time in V8's GC pauses (performance 'gc' entries); from the start of the child, modules' load included. */
  gcMs: number;
  maxRssKB: number;
  result: unknown;
}

/** Flushes what the recordings wrote and reads every file of `dirs` once, untimed: a warm page cache for all runs. */
function settle(dirs: string[]): void {
  spawnSync('sync');
  const readAll = (at: string): void => {
    for (const entry of readdirSync(at, { withFileTypes: true })) {
      if (entry.isDirectory()) readAll(join(at, entry.name));
      else readFileSync(join(at, entry.name));
    }
  };
  for (const dir of dirs) readAll(dir);
}

const median = (xs: number[]) => [...xs].sort((x, y) => x - y)[Math.floor((xs.length - 1) / 2)]!;

function run(args: string[], nodeFlags: string[] = []): Measure | { error: string } {
  const r = spawnSync(process.execPath, [...nodeFlags, '--import', 'tsx', self, '--child', ...args], {
    encoding: 'utf8',
    maxBuffer: 1 << 24,
  });
  if (r.status !== 0) {
    const why = (r.stderr || r.stdout).trim().split('\n').find((l) => /error|Error|heap/.test(l)) ?? `exit ${r.status}`;
    return { error: why.slice(0, 120) };
  }
  return JSON.parse(r.stdout.trim().split('\n').at(-1)!) as Measure;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      sizes: { type: 'string', default: '10000,100000' },
      cap: { type: 'string', default: '48' },
      repeat: { type: 'string', default: '3' },
      keep: { type: 'boolean', default: false },
    },
  });
  const sizes = values.sizes.split(',').filter(Boolean).map(Number);
  const cap = Number(values.cap);
  const repeat = Math.max(1, Number(values.repeat));
  const scratch = mkdtempSync(join(tmpdir(), 'flowtape-bench-tools-'));
  const mb = (kb: number) => `${(kb / 1024).toFixed(0)} MB`;
  const secs = (ms: number) => `${(ms / 1000).toFixed(2)} s`;
  try {
    console.log(benchHeader('bench:tools'));
    console.log(`each figure from its own child process; figure and floor alternate ${repeat} times on a warm page cache, medians compared`);
    const baseline = run(['baseline']);
    if ('error' in baseline) throw new Error(baseline.error);
    console.log(`fixed cost (modules loaded, nothing read): ${secs(baseline.ms)}, peak RSS ${mb(baseline.maxRssKB)}; the times below leave it out\n`);
    const rows: string[][] = [['events', 'command', 'time (median)', 'floor (median)', 'ratio', 'peak RSS', `with old space capped at ${cap} MB`, 'result']];
    for (const size of sizes) {
      const a = join(scratch, `a-${size}`);
      const b = join(scratch, `b-${size}`);
      for (const [dir, variant] of [[a, 0], [b, 1]] as const) {
        const made = run(['record', dir, String(size), String(variant)]);
        if ('error' in made) throw new Error(`recording ${size}: ${made.error}`);
        if (variant === 0) console.log(`recorded ${size} events (${String(made.result)}) twice, ${secs(made.ms)} each`);
      }
      // As the floor was measured before: straight after the recordings, before anything read them. Printed, not used.
      const straight = run(['floor', a]);
      if (!('error' in straight)) console.log(`${size}: floor of one bundle straight after recording: ${secs(straight.ms)} (GC ${secs(straight.gcMs)})`);
      settle([a, b]);
      // The floor: a plain read + JSON.parse of every line of the same files (one bundle for verify, both for diff),
      // alternating with the figure, each run in a fresh child.
      for (const [name, args, dirs] of [
        ['verify', ['verify', a], [a]],
        ['diff', ['diff', a, b], [a, b]],
      ] as const) {
        const floors: Measure[] = [];
        const figures: Measure[] = [];
        for (let i = 0; i < repeat; i++) {
          const floored = run(['floor', ...dirs]);
          if ('error' in floored) throw new Error(`floor ${size}: ${floored.error}`);
          floors.push(floored);
          const measured = run([...args]);
          if ('error' in measured) throw new Error(`${name} ${size}: ${measured.error}`);
          figures.push(measured);
        }
        const capped = run([...args], [`--max-old-space-size=${cap}`]);
        const figureMs = median(figures.map((m) => m.ms));
        const floorMs = median(floors.map((m) => m.ms));
        const free = figures.find((m) => m.ms === figureMs)!;
        const runs = (ms: Measure[]) => ms.map((m) => `${secs(m.ms)} (GC ${secs(m.gcMs)})`).join(', ');
        console.log(`${name} ${size}: runs ${runs(figures)}; floor runs ${runs(floors)}`);
        recordFigure('bench:tools', { name: `${name}, ${size} events`, value: figureMs / 1000, unit: 's', floor: floorMs / 1000, floorName: 'read + JSON.parse of every line of the same files', target: '≤ 5× floor' });
        rows.push([
          String(size),
          name,
          secs(figureMs),
          secs(floorMs),
          ratio(figureMs, floorMs),
          mb(free.maxRssKB),
          'error' in capped ? `FAILED (${capped.error})` : `ok, ${secs(capped.ms)}, ${mb(capped.maxRssKB)}`,
          String(free.result),
        ]);
      }
    }
    console.log('');
    const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
    for (const row of rows) console.log(row.map((cell, i) => cell.padEnd(widths[i]!)).join('  '));
    console.log(`\n${benchFooter()}`);
  } finally {
    if (values.keep) console.log(`\nbundles kept in ${scratch}`);
    else rmSync(scratch, { recursive: true, force: true });
  }
}

const childAt = process.argv.indexOf('--child');
if (childAt !== -1) {
  child(process.argv.slice(childAt + 1)).catch((error: unknown) => {
    process.stderr.write(`bench child: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  });
} else {
  main().catch((error: unknown) => {
    console.error(`bench:tools: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(1);
  });
}
