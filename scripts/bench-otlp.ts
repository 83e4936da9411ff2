/**
 * pnpm bench:otlp — what OpenTelemetry export costs.
 *
 *  1. After the fact: the time to export a bundle of ~100,000 trace events (a chain of compute nodes, three events
 *     each) as OTLP, against the floor of reading its trace.ndjson and JSON.parse of every line, measured in the
 *     same run: building the spans alone, writing OTLP JSON with -o, and sending OTLP/HTTP protobuf to a local
 *     receiver that reads and discards the requests (so the figure is flowtape's cost, not a collector's). Wall
 *     time and this process's CPU time (the steadier figure on a busy machine), medians.
 *  2. Live: the recorder's cost per node on a chain of compute nodes with live export on (the same local receiver)
 *     and off, median of several runs each, alternating (scripts/bench-otlp-live.mjs). The runs last many batch
 *     delays (1 s), so the export worker works while the run goes, as in a real long run. Per node from the trace's
 *     node start times; CPU per node of the run's thread, of the export worker's thread and of the whole process.
 *     From the sources (tsx), and with `--packed <dir>` also from the built, packed package installed in <dir>
 *     (as the README installs it: plain node, the worker's compiled .js). Target: on ≤ 1.20 × off per node.
 *
 *   tsx scripts/bench-otlp.ts [--events 100000] [--nodes 100000] [--reps 3] [--packed /tmp/proj] [--only live]
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { execFile, spawn } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { compute, defineFlow, record, type FlowDefinition, type FlowEdge, type FlowNodeDefinition } from '@flowtape/recorder';
import { bundleSpans, exportOtlp } from '../recorder/src/tools/export/otlp-export.ts';
import { benchFooter, benchHeader, ratio, repoRoot } from './bench-env.ts';

const liveScript = join(repoRoot, 'scripts', 'bench-otlp-live.mjs');

const { values } = parseArgs({
  options: {
    events: { type: 'string', default: '100000' },
    nodes: { type: 'string', default: '100000' },
    reps: { type: 'string', default: '3' },
    packed: { type: 'string' },
    /** `live`: part 2 only. */
    only: { type: 'string' },
  },
});
const targetEvents = Number(values.events);
const liveNodes = Number(values.nodes);
const reps = Number(values.reps);
const scratch = mkdtempSync(join(tmpdir(), 'flowtape-bench-otlp-'));
const fmt = (ms: number) => (ms >= 1 ? `${ms.toFixed(1)} ms` : `${(ms * 1000).toFixed(1)} µs`);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;

function chain(n: number): FlowDefinition {
  const nodes: Record<string, FlowNodeDefinition> = {};
  const edges: FlowEdge[] = [];
  for (let i = 0; i < n; i++) {
    nodes[`n${i}`] = compute({ run: () => ({ i }) });
    if (i > 0) edges.push({ from: `n${i - 1}`, to: `n${i}` });
  }
  return defineFlow({ name: `chain-${n}`, startAt: 'n0', nodes, edges });
}

/**
 * An OTLP/HTTP receiver in its own process (as a collector would be) that reads each request whole and answers 200:
 * the figures are the export's own cost, not a collector's, and the receiver's work is not on flowtape's thread.
 */
const RECEIVER = `
const http = require('node:http');
let requests = 0, bytes = 0;
const server = http.createServer((req, res) => {
  if (req.url === '/stats') { res.end(JSON.stringify({ requests, bytes })); return; }
  req.on('data', (chunk) => (bytes += chunk.length));
  req.on('end', () => { requests++; res.writeHead(200, { 'content-type': req.headers['content-type'] || 'application/x-protobuf' }); res.end(); });
});
server.listen(0, '127.0.0.1', () => console.log(server.address().port));
`;

async function discardingReceiver() {
  const child = spawn(process.execPath, ['-e', RECEIVER], { stdio: ['ignore', 'pipe', 'inherit'] });
  const port = await new Promise<string>((resolve, reject) => {
    child.stdout.setEncoding('utf8').once('data', (text: string) => resolve(text.trim()));
    child.once('exit', (code) => reject(new Error(`the receiver exited (${code})`)));
  });
  const url = `http://127.0.0.1:${port}`;
  return {
    url,
    stats: async () => (await (await fetch(`${url}/stats`)).json()) as { requests: number; bytes: number },
    close: async () => {
      child.kill();
    },
  };
}

async function timed<T>(fn: () => Promise<T>): Promise<{ ms: number; cpuMs: number; value: T }> {
  const cpu = process.cpuUsage();
  const start = performance.now();
  const value = await fn();
  const used = process.cpuUsage(cpu);
  return { ms: performance.now() - start, cpuMs: (used.user + used.system) / 1000, value };
}

console.log(benchHeader('bench:otlp'));
const receiver = await discardingReceiver();
try {
  // ——— 1. after the fact ———
  if (values.only !== 'live') await afterTheFact();
  // ——— 2. live ———
  await live('the sources (tsx)', [process.execPath, '--import', 'tsx', liveScript]);
  const packed = values.packed ? await live(`the packed package in ${values.packed} (plain node, built .js)`, [process.execPath, liveScript, '--from', values.packed]) : undefined;
  if (!packed) console.log('   (the packed package: give --packed <dir> with the packed packages installed, as the README installs them)');
} finally {
  await receiver.close();
  rmSync(scratch, { recursive: true, force: true });
}
console.log(`bench:otlp done · ${benchFooter()}`);

/** Part 1: the export of a ~100,000-event bundle after the fact. */
async function afterTheFact(): Promise<void> {
  const nodes = Math.ceil((targetEvents - 2) / 3) + 1;
  const made = await timed(() => record(chain(nodes), {}, { bundleDir: join(scratch, 'big'), cwd: scratch }));
  const bundle = made.value.bundleDir;
  const traceFile = join(bundle, 'trace.ndjson');
  const events = readFileSync(traceFile, 'utf8').trimEnd().split('\n').length;
  console.log(`1. export of a ${events.toLocaleString('en')}-event bundle (${nodes.toLocaleString('en')} compute nodes; recorded in ${fmt(made.ms)})`);
  const rows: Array<[string, Array<{ ms: number; cpuMs: number }>]> = [
    ['floor: read trace.ndjson + JSON.parse every line', []],
    ['build the spans (read, validate, span builder)', []],
    ['export -o file.json (OTLP JSON lines)', []],
    ['export OTLP/HTTP protobuf to a local receiver', []],
  ];
  let spanCount = 0;
  for (let r = 0; r < 3; r++) {
    rows[0]![1].push(
      await timed(async () => {
        let n = 0;
        for (const line of readFileSync(traceFile, 'utf8').split('\n')) if (line) n += (JSON.parse(line) as { seq: number }).seq > 0 ? 1 : 0;
        return n;
      }),
    );
    const built = await timed(() => bundleSpans(bundle));
    spanCount = built.value.spans.length;
    rows[1]![1].push(built);
    const file = join(scratch, `out-${r}.json`);
    rows[2]![1].push(await timed(() => exportOtlp(bundle, { file })));
    rmSync(file);
    rows[3]![1].push(await timed(() => exportOtlp(bundle, { endpoint: receiver.url, protocol: 'http/protobuf' })));
  }
  const floor = median(rows[0]![1].map((t) => t.ms));
  const floorCpu = median(rows[0]![1].map((t) => t.cpuMs));
  console.log(`   ${''.padEnd(52)} ${'wall'.padStart(10)}  ${'× floor'.padStart(7)}   ${'CPU'.padStart(10)}  ${'× floor'.padStart(7)}`);
  for (const [label, times] of rows) {
    const ms = median(times.map((t) => t.ms));
    const cpuMs = median(times.map((t) => t.cpuMs));
    console.log(`   ${label.padEnd(52)} ${fmt(ms).padStart(10)}  ${ratio(ms, floor).padStart(7)}   ${fmt(cpuMs).padStart(10)}  ${ratio(cpuMs, floorCpu).padStart(7)}  (median of ${times.length})`);
  }
  const { requests, bytes } = await receiver.stats();
  console.log(`   ${spanCount.toLocaleString('en')} spans per export; the receiver got ${requests} requests, ${(bytes / 1e6).toFixed(1)} MB in all`);
  rmSync(bundle, { recursive: true, force: true });

}

interface LiveFigures {
  perNodeMs: number;
  runMs: number;
  wallMs: number;
  cpuAllMs: number;
  cpuRunThreadMs: number;
  cpuWorkerMs: number;
}

/** Runs scripts/bench-otlp-live.mjs with `command` and prints its figures. */
async function live(label: string, command: string[]): Promise<Record<'off' | 'hook' | 'on', LiveFigures>> {
  const [file, ...args] = command;
  const { stdout } = await new Promise<{ stdout: string }>((resolve, reject) =>
    execFile(file!, [...args, '--endpoint', receiver.url, '--nodes', String(liveNodes), '--reps', String(reps)], { cwd: repoRoot, maxBuffer: 1 << 20 }, (error, out, err) =>
      error ? reject(new Error(`${label}: ${err || error.message}`)) : resolve({ stdout: out }),
    ),
  );
  const { summary } = JSON.parse(stdout.trim().split('\n').pop()!) as { summary: Record<'off' | 'hook' | 'on', LiveFigures> };
  const { off, hook, on } = summary;
  const perNode = (f: LiveFigures, key: keyof LiveFigures) => fmt(f[key] / liveNodes);
  console.log(`2. recorder per compute node, chain of ${liveNodes.toLocaleString('en')}, ${label} (median of ${reps}, alternating)`);
  console.log(`   a run lasts ${fmt(off.runMs)} off, ${fmt(on.runMs)} on: ${(on.runMs / 1000).toFixed(1)} batch delays of 1 s, so the worker exports while the run goes`);
  console.log(`   ${''.padEnd(20)} ${'per node'.padStart(10)}   CPU per node: ${'run thread'.padStart(10)} ${'worker'.padStart(10)} ${'all threads'.padStart(11)}`);
  for (const [name, f] of [['live export off', off], ['writer hook only', hook], ['live export on', on]] as const) {
    console.log(`   ${name.padEnd(20)} ${fmt(f.perNodeMs).padStart(10)}                 ${perNode(f, 'cpuRunThreadMs').padStart(10)} ${(name === 'live export on' ? perNode(f, 'cpuWorkerMs') : '-').padStart(10)} ${perNode(f, 'cpuAllMs').padStart(11)}`);
  }
  console.log(
    `   per node: on ${ratio(on.perNodeMs, off.perNodeMs)} off (target ≤ 1.20×: ${on.perNodeMs <= off.perNodeMs * 1.2 ? 'met' : 'NOT met'}), hook ${ratio(hook.perNodeMs, off.perNodeMs)}; the worker's CPU is ${ratio(on.cpuWorkerMs, on.cpuRunThreadMs)} the run thread's; all threads ${ratio(on.cpuAllMs, off.cpuAllMs)} off`,
  );
  return summary;
}
