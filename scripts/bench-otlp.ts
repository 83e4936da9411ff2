/**
 * pnpm bench:otlp — what OpenTelemetry export costs.
 *
 *  1. After the fact: the time to export a bundle of ~100,000 trace events (a chain of compute nodes, three events
 *     each) as OTLP, against the floor of reading its trace.ndjson and JSON.parse of every line, measured in the
 *     same run: building the spans alone, writing OTLP JSON with -o, and sending OTLP/HTTP protobuf to a local
 *     receiver that reads and discards the requests (so the figure is flowtape's cost, not a collector's).
 *  2. Live: the recorder's cost per node on a chain of compute nodes with live export on (the same local receiver)
 *     and off, median of several runs each, alternating; per node from the trace's node start times, and the rest
 *     of the run's time (one-off: the export worker's start, the final flush) apart; the CPU of all threads per
 *     node; and the writer's hook alone (an observer that does nothing). Target: on ≤ 1.20 × off.
 *
 *   tsx scripts/bench-otlp.ts [--events 100000] [--nodes 20000] [--reps 3]
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { spawn } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { compute, defineFlow, record, type FlowDefinition, type FlowEdge, type FlowNodeDefinition } from '@flowtape/recorder';
import { bundleSpans, exportOtlp } from '../recorder/src/tools/export/otlp-export.ts';
import { benchFooter, benchHeader, ratio } from './bench-env.ts';

const { values } = parseArgs({
  options: {
    events: { type: 'string', default: '100000' },
    nodes: { type: 'string', default: '20000' },
    reps: { type: 'string', default: '3' },
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

async function timed<T>(fn: () => Promise<T>): Promise<{ ms: number; value: T }> {
  const start = performance.now();
  const value = await fn();
  return { ms: performance.now() - start, value };
}

console.log(benchHeader('bench:otlp'));
const receiver = await discardingReceiver();
try {
  // ——— 1. after the fact ———
  const nodes = Math.ceil((targetEvents - 2) / 3) + 1;
  const made = await timed(() => record(chain(nodes), {}, { bundleDir: join(scratch, 'big'), cwd: scratch }));
  const bundle = made.value.bundleDir;
  const traceFile = join(bundle, 'trace.ndjson');
  const events = readFileSync(traceFile, 'utf8').trimEnd().split('\n').length;
  console.log(`1. export of a ${events.toLocaleString('en')}-event bundle (${nodes.toLocaleString('en')} compute nodes; recorded in ${fmt(made.ms)})`);
  const rows: Array<[string, number[]]> = [
    ['floor: read trace.ndjson + JSON.parse every line', []],
    ['build the spans (read, validate, span builder)', []],
    ['export -o file.json (OTLP JSON lines)', []],
    ['export OTLP/HTTP protobuf to a local receiver', []],
  ];
  let spanCount = 0;
  for (let r = 0; r < 3; r++) {
    rows[0]![1].push(
      (await timed(async () => {
        let n = 0;
        for (const line of readFileSync(traceFile, 'utf8').split('\n')) if (line) n += (JSON.parse(line) as { seq: number }).seq > 0 ? 1 : 0;
        return n;
      })).ms,
    );
    const built = await timed(() => bundleSpans(bundle));
    spanCount = built.value.spans.length;
    rows[1]![1].push(built.ms);
    const file = join(scratch, `out-${r}.json`);
    rows[2]![1].push((await timed(() => exportOtlp(bundle, { file }))).ms);
    rmSync(file);
    rows[3]![1].push((await timed(() => exportOtlp(bundle, { endpoint: receiver.url, protocol: 'http/protobuf' }))).ms);
  }
  const floor = median(rows[0]![1]);
  for (const [label, times] of rows) {
    const ms = median(times);
    console.log(`   ${label.padEnd(52)} ${fmt(ms).padStart(10)}  ${ratio(ms, floor).padStart(7)} floor  (median of ${times.length})`);
  }
  const { requests, bytes } = await receiver.stats();
  console.log(`   ${spanCount.toLocaleString('en')} spans per export; the receiver got ${requests} requests, ${(bytes / 1e6).toFixed(1)} MB in all`);

  // ——— 2. live ———
  // Per node: from the trace's own node start times (first to last node), so the one-off cost of a run (loading
  // modules, starting the export worker, the final flush) is apart; it is shown on its own as the rest of the time.
  // CPU per node counts every thread of the process (the export worker too): the work export adds, whether or not
  // a free core hides it from the run.
  const off: Array<{ perNode: number; late: number; fixed: number; cpu: number }> = [];
  const on: Array<{ perNode: number; late: number; fixed: number; cpu: number }> = [];
  const hookOnly: Array<{ perNode: number; late: number; fixed: number; cpu: number }> = [];
  const run = async (live: boolean | 'hook', i: number) => {
    const cpuBefore = process.cpuUsage();
    const t = await timed(() =>
      record(chain(liveNodes), {}, {
        bundleDir: join(scratch, `live-${String(live)}-${i}`),
        cwd: scratch,
        ...(live === true ? { otlp: { endpoint: receiver.url, protocol: 'http/protobuf' as const } } : {}),
        // The writer's hook with an observer that does nothing: what the run's own thread pays for live export.
        ...(live === 'hook' ? { recorder: { traceObservers: [{ onCommitted() {}, close: async () => [] }] } } : {}),
      }),
    );
    if (t.value.status !== 'completed' || t.value.warnings.length > 0) throw new Error(`run ${t.value.status}: ${t.value.warnings.join('; ')}`);
    const starts: number[] = [];
    for (const line of readFileSync(join(t.value.bundleDir, 'trace.ndjson'), 'utf8').split('\n')) {
      if (line.includes('"node.started"')) starts.push(Date.parse((JSON.parse(line) as { at: string }).at));
    }
    const cpu = process.cpuUsage(cpuBefore);
    const perNode = (starts[starts.length - 1]! - starts[0]!) / (starts.length - 1);
    // The second half of the run: once the export worker has started (its start competes for the CPU at first).
    const half = starts.length >> 1;
    const late = (starts[starts.length - 1]! - starts[half]!) / (starts.length - 1 - half);
    return { perNode, late, fixed: t.ms - perNode * liveNodes, cpu: (cpu.user + cpu.system) / 1000 / liveNodes };
  };
  await run(false, -1); // warm-up: module loading and JIT are not per node
  await run(true, -1);
  for (let i = 0; i < reps; i++) {
    off.push(await run(false, i));
    hookOnly.push(await run('hook', i));
    on.push(await run(true, i));
  }
  const perOff = median(off.map((r) => r.perNode));
  const perOn = median(on.map((r) => r.perNode));
  console.log(`2. recorder per compute node, chain of ${liveNodes.toLocaleString('en')} (median of ${reps}, alternating; per node from the trace's node start times)`);
  const lateOff = median(off.map((r) => r.late));
  const lateOn = median(on.map((r) => r.late));
  const cpuOff = median(off.map((r) => r.cpu));
  const cpuOn = median(on.map((r) => r.cpu));
  console.log(`   live export off   ${fmt(perOff).padStart(10)}  per node · rest of the run ${fmt(median(off.map((r) => r.fixed)))} · CPU ${fmt(cpuOff)} per node (all threads, whole run)`);
  console.log(
    `   live export on    ${fmt(perOn).padStart(10)}  per node · rest of the run ${fmt(median(on.map((r) => r.fixed)))} (export worker start, final flush) · CPU ${fmt(cpuOn)} per node`,
  );
  console.log(`   the writer's hook alone (an observer that does nothing): ${fmt(median(hookOnly.map((r) => r.perNode)))} per node, ${ratio(median(hookOnly.map((r) => r.perNode)), perOff)} off`);
  console.log(`   second half of the run (export worker up): off ${fmt(lateOff)}, on ${fmt(lateOn)} per node, ${ratio(lateOn, lateOff)}`);
  console.log(
    `   per node ${ratio(perOn, perOff)} off (target ≤ 1.20×: ${perOn <= perOff * 1.2 ? 'met' : 'NOT met'}); CPU ${ratio(cpuOn, cpuOff)} off. The worker runs beside the run: on a machine with a free core the run does not feel it; when every core is busy (see the load average) its CPU shows in the run's time.`,
  );
} finally {
  await receiver.close();
  rmSync(scratch, { recursive: true, force: true });
}
console.log(`bench:otlp done · ${benchFooter()}`);
