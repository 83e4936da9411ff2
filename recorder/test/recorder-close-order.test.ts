// When close() starts the fsyncs of the files finished before the final projections (complete.ts, OVERLAP_FROM_LINES):
// after the projections are written when the trace's unsynced tail is short (a short run: its fsyncs then do not hold
// the projections' file creations and renames back), before them when it is long (the trace's fsync overlaps with
// building them). fs.fsync and fs.renameSync are wrapped (the real calls still run) to see the order in which they
// are called. Either order makes the bundle complete only once everything is durable (recorder-durability.test.ts).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { record } from '../src/record.ts';
import { compute, defineFlow, type FlowDefinition, type FlowEdge, type FlowNodeDefinition } from '../src/runtime/index.ts';
import { fsCallLog } from './fs-call-log.ts';
import { tempDir } from './recorder-support.ts';

function chain(n: number): FlowDefinition {
  const nodes: Record<string, FlowNodeDefinition> = {};
  const edges: FlowEdge[] = [];
  for (let i = 0; i < n; i++) {
    nodes[`n${i}`] = compute({ run: () => i });
    if (i > 0) edges.push({ from: `n${i - 1}`, to: `n${i}` });
  }
  return defineFlow({ name: `chain-${n}`, startAt: 'n0', nodes, edges });
}

/** Where, in the log of a recorded chain of `n` nodes, the trace's fsync starts and the final steps.json is renamed. */
async function closeOrder(n: number): Promise<{ traceSync: number; stepsRename: number; log: string[] }> {
  const dir = await tempDir();
  try {
    const log = await fsCallLog(dir.path, 'start', async () => {
      // No periodic snapshot: every line of the trace is still to be fsynced at close.
      const result = await record(chain(n), null, { cwd: dir.path, bundleDir: 'b', recorder: { snapshotIntervalMs: 3_600_000 } });
      assert.equal(result.status, 'completed');
    });
    return { traceSync: log.indexOf('sync b/trace.ndjson'), stepsRename: log.lastIndexOf('rename b/projections/steps.json'), log };
  } finally {
    await dir.remove();
  }
}

test('a short run starts the trace fsync at close once the final projections are in place', async () => {
  // 3 nodes: 1 + 3 × 3 lines (start, outcome, edge; no edge after the last) ending with run.completed.
  const { traceSync, stepsRename, log } = await closeOrder(3);
  assert.ok(stepsRename >= 0 && traceSync >= 0, `steps.json renamed and the trace fsynced (${log.join(', ')})`);
  assert.ok(traceSync > stepsRename, `the trace's fsync starts after steps.json is renamed (${log.join(', ')})`);
});

test("a run whose trace has 4,096 lines or more not yet fsynced starts the trace's fsync before the final projections are written", async () => {
  // 1,400 nodes: 4,200 lines.
  const { traceSync, stepsRename, log } = await closeOrder(1400);
  assert.ok(stepsRename >= 0 && traceSync >= 0, `steps.json renamed and the trace fsynced (${log.slice(0, 20).join(', ')})`);
  assert.ok(traceSync < stepsRename, `the trace's fsync starts before steps.json is renamed (${log.slice(0, 20).join(', ')})`);
});
