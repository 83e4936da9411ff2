/**
 * pnpm bench:long-line — `verify` (and `diff`, `repair --dry-run`) of a bundle holding one very long NDJSON line,
 * against the least any reader must do: read that file and `JSON.parse` its lines.
 *
 * The bundle is written by the test fixtures' BundleBuilder: a run whose agent session sends one
 * `agent_message_chunk` with a base64 image of `--mb` megabytes (default 50), the way a screenshot arrives in a
 * session update, so `sessions/main-1/events.ndjson` holds one line of that size. Every figure comes from its own
 * child process and is the time from after the modules are loaded to the answer (best of `--runs`); the same is
 * also given end to end (process start to exit, `flowtape verify` against `node` reading and parsing the file).
 * Done when verify takes at most 3× the baseline.
 *
 *   tsx scripts/bench-long-line.ts [--mb 50] [--runs 3] [--keep]
 */
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { benchFooter, benchHeader, ratio as times, repoRoot as repo } from './bench-env.ts';

const self = fileURLToPath(import.meta.url);
const cliBin = join(repo, 'recorder/bin/flowtape.js');
const EVENTS = 'sessions/main-1/events.ndjson';

interface Measure {
  ms: number;
  maxRssKB: number;
  result: string;
}

/** Reads a file and parses each of its lines: the floor for any NDJSON reader. */
async function readAndParse(file: string): Promise<number> {
  const text = await readFile(file, 'utf8');
  let lines = 0;
  for (const line of text.split('\n')) {
    if (line === '') continue;
    JSON.parse(line);
    lines++;
  }
  return lines;
}

async function child(args: string[]): Promise<void> {
  const [what, a, b] = args;
  let work: () => Promise<string>;
  if (what === 'baseline') {
    work = async () => `${await readAndParse(a!)} lines parsed`;
  } else if (what === 'verify') {
    const { verifyBundle } = await import('../recorder/src/tools/verify.ts');
    work = async () => {
      const report = await verifyBundle(a!);
      if (!report.ok) throw new Error(`verify: ${report.problems[0]?.message}`);
      return `valid, ${report.summary.events} events`;
    };
  } else if (what === 'diff') {
    const { diffBundles } = await import('../recorder/src/tools/diff.ts');
    work = async () => `${(await diffBundles(a!, b!)).total} difference(s)`;
  } else if (what === 'repair') {
    const { repairBundle } = await import('../recorder/src/tools/repair.ts');
    work = async () => {
      const report = await repairBundle(a!, { dryRun: true, force: true });
      return report.changed ? 'would change the bundle' : 'nothing to repair';
    };
  } else if (what === 'make') {
    work = () => makeBundle(a!, Number(b));
  } else {
    throw new Error(`unknown child task ${what}`);
  }
  const started = performance.now();
  const result = await work();
  const ms = performance.now() - started;
  process.stdout.write(JSON.stringify({ ms, maxRssKB: process.resourceUsage().maxRSS, result } satisfies Measure) + '\n');
}

/** A valid bundle whose session traffic holds one line of about `mb` megabytes. */
async function makeBundle(dir: string, mb: number): Promise<string> {
  const { BundleBuilder } = await import('../test/fixtures/bundle-builder.ts');
  const { REVIEW_FLOW } = await import('../test/fixtures/scenarios.ts');
  const image = randomBytes(Math.ceil((mb * 1024 * 1024 * 3) / 4)).toString('base64');
  const w = new BundleBuilder(dir, REVIEW_FLOW, { runId: 'bench-long-line' });
  w.runStarted({ task: 'describe the screenshot' });
  const a = w.start('plan');
  const main = w.session('main-1', 'main');
  main.bind('plan', a);
  main.turn('plan', a, 'Describe the screenshot', [
    { sessionUpdate: 'agent_message_chunk', content: { type: 'image', mimeType: 'image/png', data: image } },
    { sessionUpdate: 'agent_message_chunk', content: { type: 'text', text: 'A terminal window.' } },
  ]);
  w.outcome('plan', a, { output: { plan: 'one step' } });
  w.runCompleted({ summary: 'done' });
  w.finish();
  // The fixture writes record.json through zod, which reorders each message's keys; verify compares the record with
  // the rebuilt conversation as JSON text, so write it in the builder's own key order (as the recorder does).
  const recordFile = join(dir, 'sessions/main-1/record.json');
  const record = JSON.parse(await readFile(recordFile, 'utf8')) as { messages: Array<Record<string, unknown>> };
  record.messages = record.messages.map(({ index, attemptId, sessionEvents, ...rest }) => ({ ...rest, index, attemptId, sessionEvents }));
  await writeFile(recordFile, `${JSON.stringify(record, null, 2)}\n`);
  return `${image.length} base64 characters`;
}

function run(args: string[]): Measure {
  const r = spawnSync(process.execPath, ['--import', 'tsx', self, '--child', ...args], { encoding: 'utf8', maxBuffer: 1 << 24, cwd: repo });
  if (r.status !== 0) throw new Error(`${args[0]}: ${(r.stderr || r.stdout).trim().split('\n').slice(-3).join(' | ').slice(0, 300)}`);
  return JSON.parse(r.stdout.trim().split('\n').at(-1)!) as Measure;
}

/** Wall time of a whole process, start to exit. */
function wall(argv: string[]): number {
  const started = performance.now();
  const r = spawnSync(process.execPath, argv, { encoding: 'utf8', maxBuffer: 1 << 24, cwd: repo });
  const ms = performance.now() - started;
  if (r.status !== 0) throw new Error(`${argv.join(' ')}: exit ${r.status}: ${(r.stderr || r.stdout).trim().slice(0, 300)}`);
  return ms;
}

function best(times: number, measure: () => Measure): Measure {
  let out: Measure | undefined;
  for (let i = 0; i < times; i++) {
    const m = measure();
    if (!out || m.ms < out.ms) out = m;
  }
  return out!;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      mb: { type: 'string', default: '50' },
      runs: { type: 'string', default: '3' },
      keep: { type: 'boolean', default: false },
    },
  });
  const mb = Number(values.mb);
  const runs = Math.max(1, Number(values.runs));
  const scratch = mkdtempSync(join(tmpdir(), 'flowtape-bench-long-line-'));
  const bundle = join(scratch, 'bundle');
  const secs = (ms: number) => `${(ms / 1000).toFixed(2)} s`;
  const rss = (m: Measure) => `${Math.round(m.maxRssKB / 1024)} MB`;
  try {
    console.log(benchHeader('bench:long-line'));
    const made = run(['make', bundle, String(mb)]);
    const file = join(bundle, EVENTS);
    console.log(`bundle: one ${EVENTS} line of ${(statSync(file).size / 1024 / 1024).toFixed(1)} MB (${made.result}), written in ${secs(made.ms)}`);
    console.log(`each figure: best of ${runs}, measured inside its own child process after its modules loaded\n`);
    const baseline = best(runs, () => run(['baseline', file]));
    const rows: Array<[string, Measure]> = [['read + JSON.parse that file', baseline]];
    const verify = best(runs, () => run(['verify', bundle]));
    rows.push(['verify', verify]);
    rows.push(['diff (the bundle with itself)', best(runs, () => run(['diff', bundle, bundle]))]);
    rows.push(['repair --dry-run', best(runs, () => run(['repair', bundle]))]);
    const width = Math.max(...rows.map(([name]) => name.length));
    for (const [name, m] of rows) {
      const ratio = name === rows[0]![0] ? '' : `  ${times(m.ms, baseline.ms)} the baseline`;
      console.log(`${name.padEnd(width)}  ${secs(m.ms).padStart(8)}  peak RSS ${rss(m).padStart(7)}  ${m.result}${ratio}`);
    }
    const ratio = verify.ms / baseline.ms;
    let cliMs = Infinity;
    let nodeMs = Infinity;
    const parse = `const t=require('fs').readFileSync(process.argv[1],'utf8');for(const l of t.split('\\n'))if(l)JSON.parse(l)`;
    for (let i = 0; i < runs; i++) {
      nodeMs = Math.min(nodeMs, wall(['-e', parse, file]));
      cliMs = Math.min(cliMs, wall([cliBin, 'verify', bundle]));
    }
    console.log(`\nend to end (process start to exit): \`flowtape verify\` ${secs(cliMs)}, \`node -e\` read + JSON.parse ${secs(nodeMs)} (${times(cliMs, nodeMs)}, includes the CLI's start-up)`);
    console.log(`\nverify / (read + JSON.parse): ${times(verify.ms, baseline.ms)} — ${ratio <= 3 ? 'within' : 'NOT within'} 3× · ${benchFooter()}`);
  } finally {
    if (values.keep) console.log(`\nbundle kept in ${bundle}`);
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
    console.error(`bench:long-line: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(1);
  });
}
