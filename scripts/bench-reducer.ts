/**
 * pnpm bench:reducer — what folding a trace with the schema's one reducer costs per event, at growing run
 * lengths. The recorder folds every event it writes and the viewer folds to its cursor, so this cost must be
 * small and flat. Prints µs per event (median of 5 folds) for traces of chained compute nodes.
 */
import { project, type ReducibleEvent, TraceEvent } from '@flowtape/schema';

function chain(nodes: number): ReducibleEvent[] {
  const events: ReducibleEvent[] = [];
  const at = '2026-01-01T00:00:00.000Z';
  let seq = 0;
  const push = (e: Omit<ReducibleEvent, 'seq' | 'at' | 'runId'>) => events.push({ seq: ++seq, at, runId: 'bench', ...e } as ReducibleEvent);
  push({ scope: 'run', type: 'run.started', payload: { flowName: 'chain' } });
  for (let i = 0; i < nodes; i++) {
    const scope = { nodeId: `n${i}`, attemptId: `n${i}#1` };
    push({ scope: 'node', type: 'node.started', ...scope, payload: { nodeType: 'compute', attempt: 1 } });
    push({ scope: 'node', type: 'node.outcome', ...scope, payload: { outcome: 'ok', durationMs: 1, output: { inline: i } } });
    push({ scope: 'edge', type: 'edge.taken', ...scope, payload: { from: `n${i}`, to: `n${i + 1}` } });
  }
  push({ scope: 'run', type: 'run.completed', payload: { durationMs: 1 } });
  TraceEvent.parse(events[1]); // the generator makes valid events
  return events;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

console.log('reducer fold, chained compute nodes (3 events per node)');
console.log('events      per event   total');
for (const nodes of [1_000, 10_000, 33_333, 100_000]) {
  const events = chain(nodes);
  project(events); // warm-up
  const times: number[] = [];
  for (let rep = 0; rep < 5; rep++) {
    const start = performance.now();
    project(events);
    times.push(performance.now() - start);
  }
  const ms = median(times);
  console.log(`${String(events.length).padStart(7)}   ${((ms * 1000) / events.length).toFixed(2).padStart(7)} µs   ${ms.toFixed(1)} ms`);
}
