/**
 * How long live OTLP export keeps a process up after its run: the time from the run's last trace event to the
 * process's exit, for a two-node run recorded by a child process (one per sample) with live export in the run's own
 * thread (`inThread`) and on the export worker, against a dead collector (a closed 127.0.0.1 port) and a live one
 * (OpenTelemetry's TestCollector on 127.0.0.1, OTLP/JSON). The floor: the same run without export, measured in the
 * same run of this script. Medians of --reps samples each.
 *
 *   tsx scripts/bench-otlp-exit.ts [--reps 5]
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { closedPort, startCollector } from '../recorder/test/otlp-support.ts';
import { benchFooter, benchHeader, ratio, repoRoot } from './bench-env.ts';

const { values } = parseArgs({ options: { reps: { type: 'string', default: '5' } } });
const reps = Number(values.reps);

const dir = mkdtempSync(join(tmpdir(), 'flowtape-otlp-exit-'));
const child = join(dir, 'run.mts');
writeFileSync(child, [
  `import { readFileSync } from 'node:fs';`,
  `import { join } from 'node:path';`,
  `import { record } from ${JSON.stringify(join(repoRoot, 'recorder/src/record.ts'))};`,
  `import { compute, defineFlow } from ${JSON.stringify(join(repoRoot, 'recorder/src/runtime/index.ts'))};`,
  `const [endpoint, mode, bundleDir] = process.argv.slice(2);`,
  `const flow = defineFlow({ name: 'exit', startAt: 'a', nodes: { a: compute({ run: () => 1 }), b: compute({ run: () => 2 }) }, edges: [{ from: 'a', to: 'b' }] });`,
  `const otlp = endpoint === 'none' ? {} : { otlp: { endpoint, protocol: 'http/json' as const, ...(mode === 'thread' ? { inThread: true } : {}) } };`,
  `await record(flow, {}, { cwd: ${JSON.stringify(dir)}, bundleDir, ...otlp });`,
  `const last = readFileSync(join(bundleDir, 'trace.ndjson'), 'utf8').trim().split('\\n').at(-1)!;`,
  `console.log(Date.parse(JSON.parse(last).at));`,
].join('\n'));

let sample = 0;
/** Milliseconds from the run's last event to the child's exit. */
async function endToExit(endpoint: string, mode: string): Promise<number> {
  const run = spawn(process.execPath, ['--import', 'tsx', child, endpoint, mode, join(dir, `b${sample++}`)], { cwd: join(repoRoot, 'recorder'), stdio: ['ignore', 'pipe', 'inherit'] });
  let stdout = '';
  run.stdout.on('data', (chunk) => (stdout += chunk));
  await new Promise((resolve) => run.once('exit', resolve));
  return Date.now() - Number(stdout.trim());
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

console.log(benchHeader('bench:otlp-exit'));
const collector = await startCollector();
const dead = `http://127.0.0.1:${await closedPort()}`;
const cases: [string, string, string][] = [
  ['no export (floor)', 'none', 'none'],
  ['dead collector, in the run\'s thread', dead, 'thread'],
  ['dead collector, export worker', dead, 'worker'],
  ['live collector, in the run\'s thread', collector.endpointUrl!, 'thread'],
  ['live collector, export worker', collector.endpointUrl!, 'worker'],
];
const samples = new Map<string, number[]>(cases.map(([name]) => [name, []]));
// Alternating, so a change in the machine's load touches every case alike.
for (let i = 0; i < reps; i++) {
  for (const [name, endpoint, mode] of cases) samples.get(name)!.push(await endToExit(endpoint, mode));
}
await collector.stop();
rmSync(dir, { recursive: true, force: true });
const floor = median(samples.get(cases[0]![0])!);
for (const [name] of cases) {
  const xs = samples.get(name)!;
  console.log(`${name.padEnd(36)} run end → exit median ${String(median(xs)).padStart(5)} ms (max ${Math.max(...xs)} ms) · floor ${floor} ms · ${ratio(median(xs), floor)}`);
}
console.log(`${reps} samples each · ${benchFooter()}`);
