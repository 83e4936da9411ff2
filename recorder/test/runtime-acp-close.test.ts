// The end of a run's ACP part (AcpNodeRunner.close(), in every run's finish): it leaves no timer behind, with or
// without agents. Before, every run armed a 15 s (unref'd) timer there that nothing cleared, also runs with no ACP
// node at all. Timers are followed through async_hooks: a Timeout that fired or was cleared is destroyed.
import assert from 'node:assert/strict';
import { createHook } from 'node:async_hooks';
import { after, before, describe, it } from 'node:test';
import { acp, compute, defineFlow, runFlow } from '../src/runtime/index.ts';
import { assertNoChildren, childPids, Collector, scriptedAgent, tempDir } from './runtime-support.ts';

let dir: { path: string; remove(): Promise<void> };
let baseline: number[] = [];
before(async () => {
  dir = await tempDir();
  baseline = childPids();
});
after(async () => {
  await dir.remove();
});

/** Runs `fn`, then returns the timers it created that are still pending (with where each was created). */
async function timersLeftBy(fn: () => Promise<unknown>): Promise<string[]> {
  const live = new Map<number, string>();
  const hook = createHook({
    init(id, type) {
      if (type === 'Timeout') live.set(id, new Error('timer created').stack ?? '');
    },
    destroy(id) {
      live.delete(id);
    },
  });
  hook.enable();
  try {
    await fn();
    // Destroy hooks of cleared timers are delivered asynchronously.
    await new Promise((resolve) => setImmediate(resolve));
    await new Promise((resolve) => setImmediate(resolve));
  } finally {
    hook.disable();
  }
  return [...live.values()].map((stack) => stack.split('\n').filter((line) => line.includes('/src/')).slice(0, 2).join(' ← ').trim());
}

describe('AcpNodeRunner.close', () => {
  it('a run with no ACP node leaves no timer behind', async () => {
    const flow = defineFlow({ name: 'plain', startAt: 'a', nodes: { a: compute({ run: () => 1 }), b: compute({ run: () => 2 }) }, edges: [{ from: 'a', to: 'b' }] });
    let status = '';
    const left = await timersLeftBy(async () => {
      status = (await runFlow(flow, null, { cwd: dir.path })).status;
    });
    assert.equal(status, 'completed');
    assert.deepEqual(left, []);
  });

  it('a run whose agent was started and closed leaves no timer behind, and no agent process', async () => {
    const agent = await scriptedAgent(dir.path, 'close', { turns: [{ match: 'hi', steps: [{ message: 'hello' }] }] });
    const flow = defineFlow({ name: 'one-turn', startAt: 'ask', nodes: { ask: acp({ prompt: 'hi' }) }, edges: [] });
    const seen = new Collector();
    let status = '';
    const left = await timersLeftBy(async () => {
      status = (await runFlow(flow, null, { cwd: dir.path, observer: seen, agentCommand: agent })).status;
    });
    assert.equal(status, 'completed', JSON.stringify(seen.of('node.outcome')));
    assert.deepEqual(left, []);
    await assertNoChildren(baseline);
  });
});
