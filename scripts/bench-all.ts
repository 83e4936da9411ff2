/**
 * pnpm bench — runs the benchmarks one after the other and writes bench/results.md: every figure next to the floor
 * measured in the same run, the ratio, the target, the load average when it was measured and the commit.
 * Each benchmark prints its own report too (shown as it runs); figures reach the table through
 * FLOWTAPE_BENCH_OUT (bench-env.ts, recordFigure).
 *
 *   tsx scripts/bench-all.ts [--quick] [--all] [--only reducer,tools] [--out bench/results.md]
 *
 * --quick: smaller sizes (minutes, not the 1,000,000-event runs); --all: also the benchmarks without figures in
 * the table (cli, long-line, concurrency, faults), listed with their exit code.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { parseArgs } from 'node:util';
import { benchFooter, benchHeader, commit, loadAverage, repoRoot, type Figure } from './bench-env.ts';

const { values } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    all: { type: 'boolean', default: false },
    only: { type: 'string' },
    out: { type: 'string', default: join(repoRoot, 'bench', 'results.md') },
  },
});
const quick = values.quick;

/** The benchmarks with figures, and their arguments (full run, and --quick). */
const BENCHES: Array<{ name: string; script: string; args: string[] }> = [
  { name: 'reducer', script: 'bench-reducer.ts', args: quick ? ['--quick'] : [] },
  {
    name: 'recorder',
    script: 'bench-recorder.ts',
    args: quick ? ['--acpx', '200', '--flowtape', '100,200,10000', '--events', '100000'] : ['--acpx', '200,2000', '--flowtape', '100,200,2000,10000,100000,1000000', '--events', '1000000'],
  },
  { name: 'tools', script: 'bench-tools.ts', args: quick ? ['--sizes', '10000,100000'] : ['--sizes', '100000,1000000'] },
  { name: 'viewer', script: 'bench-viewer.ts', args: quick ? ['--events', '100000', '--runs', '3', '--big', '0'] : ['--events', '100000', '--big', '1000000'] },
];
const OTHERS = ['cli', 'long-line', 'concurrency', 'faults'].map((name) => ({ name, script: `bench-${name}.ts`, args: [] as string[] }));

interface Recorded extends Figure {
  bench: string;
  load: string;
  commit: string;
}

function main(): void {
  const only = values.only?.split(',').filter(Boolean);
  const selected = [...BENCHES, ...(values.all ? OTHERS : [])].filter((b) => !only || only.includes(b.name));
  const scratch = mkdtempSync(join(tmpdir(), 'flowtape-bench-all-'));
  const out = join(scratch, 'figures.ndjson');
  writeFileSync(out, '');
  console.log(benchHeader('pnpm bench'));
  const runs: Array<{ name: string; code: number | null; seconds: number }> = [];
  try {
    for (const bench of selected) {
      console.log(`\n━━ bench:${bench.name} ${bench.args.join(' ')}`);
      const started = performance.now();
      const result = spawnSync(process.execPath, ['--import', 'tsx', join(repoRoot, 'scripts', bench.script), ...bench.args], {
        cwd: repoRoot,
        stdio: 'inherit',
        env: { ...process.env, FLOWTAPE_BENCH_OUT: out },
      });
      runs.push({ name: bench.name, code: result.status, seconds: (performance.now() - started) / 1000 });
    }
    const figures = readFileSync(out, 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line) as Recorded);
    const markdown = table(figures, runs);
    mkdirSync(dirname(values.out), { recursive: true });
    writeFileSync(values.out, markdown);
    console.log(`\n${markdown}`);
    console.log(`written to ${relative(process.cwd(), values.out) || values.out} · ${benchFooter()}`);
    if (runs.some((r) => r.code !== 0)) process.exitCode = 1;
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

function number(value: number): string {
  if (value >= 100) return value.toFixed(0);
  if (value >= 10) return value.toFixed(1);
  return value.toFixed(2);
}

/** Whether a figure meets its target, when the target is one this table can check ("≤ 2 µs/event", "≤ 3× floor", "≥ 300×"). */
function verdict(f: Recorded): string {
  const target = f.target ?? '';
  const ratioTarget = /^≤ ([\d.]+)× floor/.exec(target);
  if (ratioTarget && f.floor) return f.value / f.floor <= Number(ratioTarget[1]) ? 'met' : '**missed**';
  const upper = /^≤ ([\d.]+) /.exec(target);
  if (upper) return f.value <= Number(upper[1]) ? 'met' : '**missed**';
  const lower = /^≥ ([\d.,]+)×/.exec(target);
  if (lower) return f.value >= Number(lower[1]!.replace(/,/g, '')) ? 'met' : '**missed**';
  return '';
}

function table(figures: Recorded[], runs: Array<{ name: string; code: number | null; seconds: number }>): string {
  const lines = [
    '# Benchmark results',
    '',
    `Written by \`pnpm bench${quick ? ' --quick' : ''}\` at commit ${commit()} (${new Date().toISOString()}), load average at the end ${loadAverage()}.`,
    'Each floor was measured in the same run as its figure; the load average is the one when the figure was taken',
    '(the machine may be shared: a ratio taken under a load average above the core count says little).',
    '',
    '| figure | value | floor | ratio | target | | load average | commit |',
    '|---|---|---|---|---|---|---|---|',
  ];
  for (const f of figures) {
    const floor = f.floor !== undefined ? `${number(f.floor)} ${f.unit} (${f.floorName ?? 'floor'})` : '—';
    const ratio = f.floor ? `${(f.value / f.floor).toFixed(2)}×` : '—';
    lines.push(`| ${f.bench}: ${f.name} | ${number(f.value)} ${f.unit} | ${floor} | ${ratio} | ${f.target ?? '—'} | ${verdict(f)} | ${f.load} | ${f.commit} |`);
  }
  lines.push('', '| benchmark | exit code | time |', '|---|---|---|');
  for (const r of runs) lines.push(`| bench:${r.name} | ${r.code ?? 'killed'} | ${r.seconds.toFixed(0)} s |`);
  return `${lines.join('\n')}\n`;
}

main();
