/**
 * bench:recorder's acpx side and what both sides read of a finished run: acpx 0.19.1's `FlowRunner` (from
 * `acpx/flows`, writing its own bundle) on the same chain of N trivial compute nodes, and the per-node cost over the
 * first and last 10 % of a run, from the node start times in its trace.
 */
import { closeSync, mkdtempSync, openSync, readSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';

/** Mean ms per node over the first and last 10 % of the run, from node start timestamps in the trace. */
export function windows(starts: number[]): { early: number; late: number } {
  const n = starts.length;
  const w = Math.max(1, Math.min(Math.floor(n / 10), n - 1));
  return { early: (starts[w]! - starts[0]!) / w, late: (starts[n - 1]! - starts[n - 1 - w]!) / w };
}

/** The lines of a file, read in chunks: a 1,000,000-node trace is larger than the longest string V8 makes. */
function* fileLines(path: string): Generator<string> {
  const fd = openSync(path, 'r');
  const buffer = Buffer.alloc(1 << 22);
  let rest = '';
  try {
    for (let n = readSync(fd, buffer); n > 0; n = readSync(fd, buffer)) {
      const lines = (rest + buffer.toString('utf8', 0, n)).split('\n');
      rest = lines.pop()!;
      yield* lines;
    }
    if (rest !== '') yield rest;
  } finally {
    closeSync(fd);
  }
}

export function nodeStarts(traceFile: string, type: string): number[] {
  const out: number[] = [];
  for (const line of fileLines(traceFile)) {
    if (!line.includes(`"${type}"`)) continue;
    const event = JSON.parse(line) as { type: string; at?: string; timestamp?: string };
    if (event.type === type) out.push(Date.parse(event.at ?? event.timestamp ?? ''));
  }
  return out;
}

async function loadAcpx() {
  const require = createRequire(new URL('../recorder/package.json', import.meta.url));
  return (await import(pathToFileURL(require.resolve('acpx/flows')).href)) as {
    FlowRunner: new (options: object) => { run(flow: unknown, input: unknown): Promise<{ runDir: string; state: { status: string } }> };
    defineFlow(flow: object): unknown;
    compute(node: object): unknown;
  };
}

export async function acpxOnce(n: number, scratch: string): Promise<{ perNode: number; early: number; late: number; status: string }> {
  const flows = await loadAcpx();
  const nodes: Record<string, unknown> = {};
  const edges: Array<{ from: string; to: string }> = [];
  for (let i = 0; i < n; i++) {
    nodes[`n${i}`] = flows.compute({ run: ({ input }: { input: { seed: number } }) => ({ i, seed: input.seed }) });
    if (i > 0) edges.push({ from: `n${i - 1}`, to: `n${i}` });
  }
  const flow = flows.defineFlow({ name: `chain-${n}`, startAt: 'n0', nodes, edges });
  const root = mkdtempSync(join(scratch, 'acpx-'));
  const runner = new flows.FlowRunner({
    resolveAgent: () => ({ agentName: 'none', agentCommand: 'false', cwd: root }),
    permissionMode: 'approve-reads',
    outputRoot: root,
  });
  const t0 = performance.now();
  const { runDir, state } = await runner.run(flow, { seed: 1 });
  const total = performance.now() - t0;
  const { early, late } = windows(nodeStarts(join(runDir, 'trace.ndjson'), 'node_started'));
  rmSync(root, { recursive: true, force: true });
  return { perNode: total / n, early, late, status: state.status };
}
