// Usage and cost from a real ACP agent (the scripted one, over stdio) to the bundle: `usage_update` notifications
// and the prompt answer's `usage` end up typed on `acp.turn_finished` and folded into the projections; what an
// agent sends that is not valid stays raw in events.ndjson and is named, never breaking the run.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { record } from '../src/record.ts';
import { acp, compute, defineFlow } from '../src/runtime/index.ts';
import { UsageMeter } from '../src/runtime/usage-meter.ts';
import { verifyBundle } from '../src/tools/verify.ts';
import { readJson, scriptedAgent, tempDir, traceOf } from './recorder-support.ts';

let dir: { path: string; remove(): Promise<void> };
before(async () => {
  dir = await tempDir('flowtape-usage-');
});
after(async () => {
  await dir.remove();
});

const usd = (amount: number) => ({ amount, currency: 'USD' });

describe('usage and cost in the bundle', () => {
  it('usage_update and the answer usage reach the trace per turn and the projections per attempt, node, session and run', async () => {
    const main = await scriptedAgent(dir.path, 'main', {
      turns: [
        {
          match: 'one',
          steps: [
            { usage: { used: 100, size: 1000, cost: usd(0.01) } },
            { message: 'first' },
            { usage: { used: 150, size: 1000, cost: usd(0.02) } },
          ],
          usage: { inputTokens: 120, outputTokens: 30, totalTokens: 150, cachedReadTokens: 64 },
        },
        { match: 'two', steps: [{ message: 'second' }, { usage: { used: 400, size: 1000, cost: usd(0.05) } }], usage: { inputTokens: 300, outputTokens: 100, totalTokens: 400 } },
      ],
    });
    const euro = await scriptedAgent(dir.path, 'euro', {
      turns: [{ match: 'three', steps: [{ message: 'third' }, { usage: { used: 10, size: 100, cost: { amount: 1.5, currency: 'EUR' } } }] }],
    });
    const flow = defineFlow({
      name: 'usage',
      startAt: 'one',
      nodes: {
        one: acp({ prompt: 'one' }),
        two: acp({ prompt: 'two' }),
        three: acp({ prompt: 'three', agentCommand: euro, session: { isolated: true } }),
      },
      edges: [{ from: 'one', to: 'two' }, { from: 'two', to: 'three' }],
    });
    const result = await record(flow, {}, { cwd: dir.path, bundleDir: join(dir.path, 'b1'), agentCommand: main, deterministic: true });
    assert.equal(result.status, 'completed', JSON.stringify(result.error));

    const turns = traceOf(result.bundleDir).filter((e) => e.type === 'acp.turn_finished');
    assert.deepEqual(turns.map((e) => e.payload['usage']), [
      {
        tokens: { inputTokens: 120, outputTokens: 30, totalTokens: 150, cachedReadTokens: 64 },
        context: { used: 150, size: 1000 }, cost: usd(0.02), sessionCost: usd(0.02), updates: 2,
      },
      // The session's cost is cumulative: this turn's share is 0.05 - 0.02.
      { tokens: { inputTokens: 300, outputTokens: 100, totalTokens: 400 }, context: { used: 400, size: 1000 }, cost: usd(0.03), sessionCost: usd(0.05), updates: 1 },
      { context: { used: 10, size: 100 }, cost: { amount: 1.5, currency: 'EUR' }, sessionCost: { amount: 1.5, currency: 'EUR' }, updates: 1 },
    ]);

    const run = readJson<any>(join(result.bundleDir, 'projections/run.json'));
    assert.deepEqual(run.usage, {
      turns: 3,
      tokens: { inputTokens: 420, outputTokens: 130, totalTokens: 550, cachedReadTokens: 64 },
      cost: [{ currency: 'EUR', amount: 1.5 }, { currency: 'USD', amount: 0.05 }],
    });
    assert.deepEqual(run.nodes.map((n: any) => [n.nodeId, n.usage?.cost]), [
      ['one', [{ currency: 'USD', amount: 0.02 }]],
      ['two', [{ currency: 'USD', amount: 0.03 }]],
      ['three', [{ currency: 'EUR', amount: 1.5 }]],
    ]);
    assert.deepEqual(run.sessionUsage.map((s: any) => [s.handle, s.usage.turns, s.usage.context]), [
      ['main', 2, { used: 400, size: 1000 }],
      ['isolated', 1, { used: 10, size: 100 }],
    ]);
    const steps = readJson<any>(join(result.bundleDir, 'projections/steps.json')).steps;
    assert.deepEqual(steps[1].usage.context, { used: 400, size: 1000 });
    const report = await verifyBundle(result.bundleDir);
    assert.equal(report.ok, true, JSON.stringify(report.problems));
  });

  it('a malformed usage from the agent stays raw in events.ndjson, is left out of the typed usage and named', async () => {
    const careless = await scriptedAgent(dir.path, 'careless', {
      turns: [{
        match: 'go',
        steps: [
          { usage: { used: '12', size: -1, cost: { amount: 'a lot', currency: 'USD' }, model: 'm-1' } },
          { usage: { used: 5, size: 9007199254740993, cost: { amount: 1e300, currency: 'USD' } } },
          { message: 'done' },
        ],
        usage: { inputTokens: -3, outputTokens: 'many', totalTokens: 1e300, thoughtTokens: 2.5, cachedReadTokens: 7 },
      }],
    });
    const flow = defineFlow({ name: 'careless', startAt: 'go', nodes: { go: acp({ prompt: 'go' }) }, edges: [] });
    const result = await record(flow, {}, { cwd: dir.path, bundleDir: join(dir.path, 'b2'), agentCommand: careless, deterministic: true });
    assert.equal(result.status, 'completed', JSON.stringify(result.error));

    const turn = traceOf(result.bundleDir).find((e) => e.type === 'acp.turn_finished')!;
    assert.deepEqual(turn.payload['usage'], {
      tokens: { cachedReadTokens: 7 },
      updates: 2,
      extra: { model: 'm-1' },
      dropped: ['cost', 'inputTokens', 'outputTokens', 'size', 'thoughtTokens', 'totalTokens', 'used'],
    });
    const events = readFileSync(join(result.bundleDir, 'sessions', turn.sessionId!, 'events.ndjson'), 'utf8');
    assert.match(events, /"used":"12","size":-1,"cost":\{"amount":"a lot","currency":"USD"\}/);
    assert.match(events, /"inputTokens":-3,"outputTokens":"many","totalTokens":1e\+300/);
    const run = readJson<any>(join(result.bundleDir, 'projections/run.json'));
    assert.deepEqual(run.usage, { turns: 1, tokens: { cachedReadTokens: 7 } });
    const report = await verifyBundle(result.bundleDir);
    assert.equal(report.ok, true, JSON.stringify(report.problems));
  });

  it('cost before the first turn is a baseline; a cost reported between turns counts in the next turn', () => {
    const meter = new UsageMeter();
    meter.onUpdate({ sessionUpdate: 'usage_update', used: 1, size: 10, cost: usd(1) }); // a loaded session's history
    meter.startTurn();
    meter.onUpdate({ sessionUpdate: 'usage_update', used: 2, size: 10, cost: usd(1.25) });
    assert.deepEqual(meter.finishTurn()?.cost, usd(0.25));
    meter.onUpdate({ sessionUpdate: 'usage_update', used: 3, size: 10, cost: usd(1.5) }); // after the answer
    meter.startTurn();
    assert.deepEqual(meter.finishTurn({ inputTokens: 4 }), { tokens: { inputTokens: 4 }, cost: usd(0.25), sessionCost: usd(1.5) });
    meter.startTurn();
    assert.deepEqual(meter.finishTurn(), undefined);
    assert.equal(meter.late(), undefined, 'nothing came after the last turn');
    meter.onUpdate({ sessionUpdate: 'usage_update', used: 5, size: 10, cost: usd(1.5) }); // no new cost
    assert.deepEqual(meter.late(), { context: { used: 5, size: 10 }, updates: 1 });
    meter.onUpdate({ sessionUpdate: 'usage_update', used: 6, size: 10, cost: usd(2) });
    assert.deepEqual(meter.late(), { context: { used: 6, size: 10 }, cost: usd(0.5), sessionCost: usd(2), updates: 1 });
    assert.equal(meter.late(), undefined, 'given once');
  });

  it("a usage_update after the session's last answer is recorded as session.usage and counts in the session's and the run's totals", async () => {
    const late = await scriptedAgent(dir.path, 'late', {
      turns: [{
        match: 'go',
        steps: [{ usage: { used: 100, size: 1000, cost: usd(0.05) } }, { message: 'done' }],
        usage: { inputTokens: 80, outputTokens: 20, totalTokens: 100 },
        // What some agents do: the final cost of the turn arrives after its answer (here well after it, while the run
        // goes on with a node that needs no agent; one sent at once may be read before the answer is, and then it is
        // the turn's).
        afterAnswer: [{ delayMs: 150 }, { usage: { used: 180, size: 1000, cost: usd(0.08) } }],
      }],
    });
    const flow = defineFlow({
      name: 'late',
      startAt: 'go',
      nodes: { go: acp({ prompt: 'go' }), wait: compute({ run: () => new Promise((done) => setTimeout(() => done('waited'), 1_000)) }) },
      edges: [{ from: 'go', to: 'wait' }],
    });
    const result = await record(flow, {}, { cwd: dir.path, bundleDir: join(dir.path, 'b3'), agentCommand: late, deterministic: true });
    assert.equal(result.status, 'completed', JSON.stringify(result.error));

    const trace = traceOf(result.bundleDir);
    const turn = trace.find((e) => e.type === 'acp.turn_finished')!;
    assert.deepEqual(turn.payload['usage'].cost, usd(0.05));
    const lateEvent = trace.find((e) => e.type === 'session.usage');
    assert.ok(lateEvent, trace.map((e) => e.type).join(' '));
    assert.equal(lateEvent.sessionId, turn.sessionId);
    assert.deepEqual(lateEvent.payload['usage'], { context: { used: 180, size: 1000 }, cost: usd(0.03), sessionCost: usd(0.08), updates: 1 });
    assert.equal(trace.at(-1)!.type, 'run.completed', 'recorded before the final event');

    const run = readJson<any>(join(result.bundleDir, 'projections/run.json'));
    assert.deepEqual(run.usage.cost, [usd(0.08)], "the run's total has the whole cost");
    assert.deepEqual(run.sessionUsage[0].usage.cost, [usd(0.08)], "and the session's");
    assert.deepEqual(run.sessionUsage[0].usage.context, { used: 180, size: 1000 });
    assert.deepEqual(run.nodes.find((n: { nodeId: string }) => n.nodeId === 'go').usage.cost, [usd(0.05)], "the node's is its turn's");
    const report = await verifyBundle(result.bundleDir);
    assert.equal(report.ok, true, JSON.stringify(report.problems));
  });
});
