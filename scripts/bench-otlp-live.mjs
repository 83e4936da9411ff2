/**
 * Part 2 of `pnpm bench:otlp`, in a process of its own so it can load either flowtape's sources (through tsx) or a
 * built, packed package (plain node, no loader: the export worker as users run it). Runs a chain of compute nodes
 * with live export off, with only the writer's hook, and on, alternating, and prints one JSON line of medians.
 *
 *   node --import tsx scripts/bench-otlp-live.mjs --endpoint URL [--nodes N] [--reps R]           # the sources
 *   node scripts/bench-otlp-live.mjs --from <project with the packed packages installed> --endpoint URL
 */
import { readFileSync, mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';

const { values } = parseArgs({
  options: {
    from: { type: 'string' },
    endpoint: { type: 'string' },
    nodes: { type: 'string', default: '100000' },
    reps: { type: 'string', default: '3' },
  },
});
const nodesPerRun = Number(values.nodes);
const reps = Number(values.reps);
const index = values.from
  ? pathToFileURL(createRequire(join(resolve(values.from), 'package.json')).resolve('@flowtape/recorder')).href
  : import.meta.resolve('@flowtape/recorder');
const { compute, defineFlow, record } = await import(index);
// The live export module of the same package (dist/…/otlp-live.js or src/…/otlp-live.ts): the worker's own CPU.
const { liveWorkerUsage } = await import(new URL(`./tools/export/otlp-live${index.endsWith('.ts') ? '.ts' : '.js'}`, index).href);
const scratch = mkdtempSync(join(tmpdir(), 'flowtape-bench-otlp-live-'));
const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];

function chain(n) {
  const nodes = {};
  const edges = [];
  for (let i = 0; i < n; i++) {
    nodes[`n${i}`] = compute({ run: () => ({ i }) });
    if (i > 0) edges.push({ from: `n${i - 1}`, to: `n${i}` });
  }
  return defineFlow({ name: `chain-${n}`, startAt: 'n0', nodes, edges });
}

/** This thread's CPU time in ms (Linux; 10 ms ticks), or NaN elsewhere. */
function threadCpuMs() {
  try {
    const stat = readFileSync('/proc/thread-self/stat', 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) * 10;
  } catch {
    return Number.NaN;
  }
}

async function run(mode, i) {
  const bundleDir = join(scratch, `${mode}-${i}`);
  delete liveWorkerUsage.cpuMs;
  const threadBefore = threadCpuMs();
  const cpuBefore = process.cpuUsage();
  const started = performance.now();
  const result = await record(chain(nodesPerRun), {}, {
    bundleDir,
    cwd: scratch,
    // The end of the run waits for the worker to send everything (the default 5 s may not do on a busy machine):
    // its whole cost is measured, and a warning means spans were lost, not that the worker was slow.
    ...(mode === 'on' ? { otlp: { endpoint: values.endpoint, protocol: 'http/protobuf', flushTimeoutMs: 120_000 } } : {}),
    // The writer's hook with an observer that does nothing: what the run's own thread pays for live export.
    ...(mode === 'hook' ? { recorder: { traceObservers: [{ onCommitted() {}, close: async () => [] }] } } : {}),
  });
  const wallMs = performance.now() - started;
  const cpu = process.cpuUsage(cpuBefore);
  const threadMs = threadCpuMs() - threadBefore;
  if (result.status !== 'completed' || result.warnings.length > 0) throw new Error(`run ${result.status}: ${result.warnings.join('; ')}`);
  const starts = [];
  for (const line of readFileSync(join(bundleDir, 'trace.ndjson'), 'utf8').split('\n')) {
    if (line.includes('"node.started"')) starts.push(Date.parse(JSON.parse(line).at));
  }
  rmSync(bundleDir, { recursive: true, force: true });
  const span = starts[starts.length - 1] - starts[0];
  return {
    // Per node from the trace's own node start times: the one-off start and end of a run are apart.
    perNodeMs: span / (starts.length - 1),
    runMs: span,
    wallMs,
    cpuAllMs: (cpu.user + cpu.system) / 1000,
    cpuRunThreadMs: threadMs,
    cpuWorkerMs: mode === 'on' ? (liveWorkerUsage.cpuMs ?? Number.NaN) : 0,
  };
}

try {
  await run('off', -1); // warm-up: module loading and JIT are not per node
  await run('on', -1);
  const runs = { off: [], hook: [], on: [] };
  for (let i = 0; i < reps; i++) for (const mode of ['off', 'hook', 'on']) runs[mode].push(await run(mode, i));
  const summary = {};
  for (const [mode, list] of Object.entries(runs)) {
    summary[mode] = Object.fromEntries(Object.keys(list[0]).map((key) => [key, median(list.map((r) => r[key]))]));
  }
  console.log(JSON.stringify({ index, nodes: nodesPerRun, reps, summary }));
} finally {
  rmSync(scratch, { recursive: true, force: true });
}
