/**
 * The recorder's per-event cost in CPU time: a chain of N trivial compute nodes (3 trace events a node) run by the
 * runtime alone and recorded, the two interleaved, each figure the median of several runs. CPU time (every thread of
 * the process: the garbage collector's helpers included) rather than wall time: on a machine shared with other
 * work, wall time mostly measures the others, CPU time what this process did. bench:recorder has the wall times.
 *
 *   pnpm exec tsx scripts/bench-events.ts [--sizes 2000,20000,100000] [--reps 5]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { compute, defineFlow, record, runFlow, type FlowDefinition, type FlowEdge, type FlowNodeDefinition } from '@flowtape/recorder';
import { benchFooter, benchHeader, recordFigure } from './bench-env.ts';

const { values } = parseArgs({ options: { sizes: { type: 'string', default: '2000,20000,100000' }, reps: { type: 'string', default: '5' } } });

function chain(n: number): FlowDefinition {
  const nodes: Record<string, FlowNodeDefinition> = {};
  const edges: FlowEdge[] = [];
  for (let i = 0; i < n; i++) {
    nodes[`n${i}`] = compute({ run: ({ input }) => ({ i, seed: (input as { seed: number }).seed }) });
    if (i > 0) edges.push({ from: `n${i - 1}`, to: `n${i}` });
  }
  return defineFlow({ name: `chain-${n}`, startAt: 'n0', nodes, edges });
}

/** CPU µs of `work` (user + system, all threads). */
async function cpu(work: () => Promise<unknown>): Promise<number> {
  const before = process.cpuUsage();
  await work();
  const used = process.cpuUsage(before);
  return used.user + used.system;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;

async function main(): Promise<void> {
  console.log(benchHeader('bench:events'));
  console.log('Chain of N trivial compute nodes (3 events a node); CPU µs per node, median of the runs, the two interleaved.\n');
  const scratch = mkdtempSync(join(tmpdir(), 'flowtape-bench-events-'));
  try {
    // Warm-up: JIT and module loading are not charged to the first size.
    const warm = chain(200);
    await runFlow(warm, { seed: 1 }, { cwd: scratch });
    await record(warm, { seed: 1 }, { cwd: scratch, bundleDir: join(scratch, 'warm'), recorder: { redact: false } });
    for (const n of values.sizes.split(',').filter(Boolean).map(Number)) {
      const flow = chain(n);
      const reps = n >= 100_000 ? Math.min(3, Number(values.reps)) : Number(values.reps);
      const bare: number[] = [];
      const recorded: number[] = [];
      for (let r = 0; r < reps; r++) {
        bare.push((await cpu(() => runFlow(flow, { seed: 1 }, { cwd: scratch }))) / n);
        const bundleDir = join(scratch, `b-${n}-${r}`);
        recorded.push((await cpu(() => record(flow, { seed: 1 }, { cwd: scratch, bundleDir, recorder: { redact: false } }))) / n);
        rmSync(bundleDir, { recursive: true, force: true });
      }
      const b = median(bare);
      const t = median(recorded);
      console.log(
        `N=${String(n).padEnd(7)} runtime alone ${b.toFixed(1).padStart(6)} µs/node   recorded ${t.toFixed(1).padStart(6)} µs/node   ` +
          `recorder adds ${(t - b).toFixed(1).padStart(6)} µs/node (${((t - b) / 3).toFixed(2)} µs/event)   ${(t / b).toFixed(2)}× (target ≤ 3×)   median of ${reps}`,
      );
      recordFigure('bench:events', { name: `recorded run per compute node, CPU, N=${n}`, value: t, unit: 'µs/node', floor: b, floorName: 'runtime alone (CPU)', target: '≤ 3× floor' });
    }
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
  console.log(benchFooter());
}

main().catch((error: unknown) => {
  console.error(`bench-events: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
