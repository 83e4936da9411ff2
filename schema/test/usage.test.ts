import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  addTotals,
  TOKEN_FIELDS,
  emptyUsageReport,
  project,
  readPromptUsage,
  readUsageUpdate,
  toRunProjection,
  toStepsProjection,
  toTurnUsage,
  RunProjection,
  StepsProjection,
  TurnUsage,
  type ProjectionState,
  type ReducibleEvent,
} from '../src/index.ts';
import { traceBuilder } from './events.ts';

function files(state: ProjectionState) {
  const json = (value: unknown) => JSON.parse(JSON.stringify(value));
  return { run: RunProjection.parse(json(toRunProjection(state))), steps: StepsProjection.parse(json(toStepsProjection(state))) };
}

/** A run with three ACP turns: ask#1 and ask#2 in session s1 (USD), review#1 in session s2 (EUR). */
function usageRun() {
  const t = traceBuilder();
  t.push('run.started', { flowName: 'usage' });
  const turn = (nodeId: string, n: number, sessionId: string, usage: TurnUsage | undefined, bind: boolean) => {
    const scope = { ...t.attempt(nodeId, n), sessionId };
    t.push('node.started', { nodeType: 'acp', attempt: n }, t.attempt(nodeId, n));
    t.push('session.bound', { handle: sessionId === 's1' ? 'main' : 'other', acpSessionId: `acp-${sessionId}`, mode: 'shared', reused: !bind, agentCommand: ['agent'], path: `sessions/${sessionId}` }, scope);
    t.push('acp.prompt_sent', { prompt: { inline: 'go' }, messageIndex: 0, sessionEventSeq: 3 }, scope);
    t.push('acp.turn_finished', { stopReason: 'end_turn', sessionEvents: { from: 3, to: 5 }, ...(usage ? { usage } : {}) }, scope);
    t.push('node.outcome', { outcome: 'ok', durationMs: 10 }, t.attempt(nodeId, n));
  };
  turn('ask', 1, 's1', {
    tokens: { inputTokens: 100, outputTokens: 20, totalTokens: 120, cachedReadTokens: 50 },
    context: { used: 120, size: 1000 },
    cost: { amount: 0.1, currency: 'USD' },
    sessionCost: { amount: 0.1, currency: 'USD' },
    updates: 1,
  }, true);
  turn('ask', 2, 's1', {
    tokens: { inputTokens: 200, outputTokens: 30, totalTokens: 230, thoughtTokens: 7 },
    context: { used: 350, size: 1000 },
    cost: { amount: 0.2, currency: 'USD' },
    sessionCost: { amount: 0.3, currency: 'USD' },
    updates: 2,
  }, false);
  turn('review', 1, 's2', { tokens: { inputTokens: 5, outputTokens: 1 }, cost: { amount: 2, currency: 'EUR' } }, true);
  turn('quiet', 1, 's2', undefined, false);
  t.push('run.completed', { durationMs: 100 });
  return t;
}

test('usage totals: per attempt, per node (over attempts), per session and per run; currencies kept apart', () => {
  const { run, steps } = files(project(usageRun().events));
  const step = (id: string) => steps.steps.find((s) => s.attemptId === id)!;
  assert.deepEqual(step('ask#1').usage, {
    turns: 1, tokens: { inputTokens: 100, outputTokens: 20, totalTokens: 120, cachedReadTokens: 50 },
    cost: [{ currency: 'USD', amount: 0.1 }], context: { used: 120, size: 1000 },
  });
  assert.equal(step('ask#2').turns[0]!.usage?.sessionCost?.amount, 0.3);
  assert.equal(step('quiet#1').usage, undefined);

  const node = (id: string) => run.nodes.find((n) => n.nodeId === id)!;
  // 0.1 + 0.2 is 0.30000000000000004 in floating point: sums are rounded to 1e-9.
  assert.deepEqual(node('ask').usage, {
    turns: 2, tokens: { inputTokens: 300, outputTokens: 50, totalTokens: 350, cachedReadTokens: 50, thoughtTokens: 7 },
    cost: [{ currency: 'USD', amount: 0.3 }],
  });
  assert.equal(node('quiet').usage, undefined);

  assert.deepEqual(run.sessionUsage, [
    { sessionId: 's1', handle: 'main', usage: {
      turns: 2, tokens: { inputTokens: 300, outputTokens: 50, totalTokens: 350, cachedReadTokens: 50, thoughtTokens: 7 },
      cost: [{ currency: 'USD', amount: 0.3 }], context: { used: 350, size: 1000 },
    } },
    { sessionId: 's2', handle: 'other', usage: { turns: 1, tokens: { inputTokens: 5, outputTokens: 1 }, cost: [{ currency: 'EUR', amount: 2 }] } },
  ]);
  // Two currencies: two entries, sorted by currency, never one sum.
  assert.deepEqual(run.usage, {
    turns: 3, tokens: { inputTokens: 305, outputTokens: 51, totalTokens: 350, cachedReadTokens: 50, thoughtTokens: 7 },
    cost: [{ currency: 'EUR', amount: 2 }, { currency: 'USD', amount: 0.3 }],
  });
});

test('a run without usage has no usage fields in its projections', () => {
  const t = traceBuilder();
  t.push('run.started', { flowName: 'plain' });
  t.node('a', 1);
  t.push('run.completed', { durationMs: 1 });
  const { run, steps } = files(project(t.events));
  assert.equal('usage' in run, false);
  assert.equal('sessionUsage' in run, false);
  assert.equal('usage' in steps.steps[0]!, false);
});

test('hostile usage in a trace (strings, negatives, 1e400, huge counts) never breaks the fold or the projections', () => {
  const t = usageRun();
  const events: ReducibleEvent[] = t.events.slice(0, -1);
  let seq = events.length;
  const at = '2026-01-01T01:00:00.000Z';
  const hostile = (nodeId: string, usage: unknown) => {
    // Pushed without validation, as a reader may meet them in a bundle someone else wrote.
    events.push({ seq: ++seq, at, runId: 'run-1', scope: 'node', type: 'node.started', nodeId, attemptId: `${nodeId}#1`, payload: { nodeType: 'acp', attempt: 1 } } as ReducibleEvent);
    events.push({ seq: ++seq, at, runId: 'run-1', scope: 'acp', type: 'acp.turn_finished', nodeId, attemptId: `${nodeId}#1`, sessionId: 's1', payload: { stopReason: 'end_turn', sessionEvents: { from: 1, to: 1 }, usage } } as unknown as ReducibleEvent);
  };
  hostile('h1', { tokens: { inputTokens: '12', outputTokens: -5, totalTokens: JSON.parse('1e400') }, cost: { amount: 'lots', currency: 'USD' } });
  hostile('h2', { tokens: { inputTokens: Number.MAX_SAFE_INTEGER, outputTokens: 1.5 }, context: { used: -1, size: 'x' }, cost: { amount: 1e300, currency: 'USD' } });
  hostile('h3', 'not an object');
  hostile('h4', { tokens: { inputTokens: Number.MAX_SAFE_INTEGER }, cost: { amount: 1, currency: '<script>' } });
  hostile('h5', null);
  const state = project(events);
  // The totals validate (every one a finite, safe number). The turns keep what the line said, as every other field
  // of an event read without validation (the viewer's envelope-only first paint) does.
  const run = RunProjection.parse(JSON.parse(JSON.stringify(toRunProjection(state))));
  assert.ok(StepsProjection.safeParse(JSON.parse(JSON.stringify(toStepsProjection(state)))).error);
  // Counts saturate at the largest exact integer rather than growing past it.
  assert.equal(run.usage!.tokens!.inputTokens, Number.MAX_SAFE_INTEGER);
  assert.equal(run.usage!.tokens!.outputTokens, 51);
  assert.equal(run.usage!.tokens!.totalTokens, 350);
  assert.deepEqual(run.usage!.cost, [{ currency: 'EUR', amount: 2 }, { currency: 'USD', amount: 0.3 }]);
  // Turns whose usage was an object count as reporting usage; a string or null does not.
  assert.equal(run.usage!.turns, 6);
  assert.ok(!JSON.stringify(toRunProjection(state)).includes('null'));
});

test('reading the wire: valid values typed, invalid ones dropped and named, unknown ones kept as extra', () => {
  const report = emptyUsageReport();
  readUsageUpdate(report, { sessionUpdate: 'usage_update', used: 53000, size: 200000, cost: { amount: 0.045, currency: 'usd' }, _meta: { x: 1 }, model: 'm1' });
  readUsageUpdate(report, { sessionUpdate: 'usage_update', used: '9', size: -1, cost: { amount: -3, currency: 'USD' } });
  readPromptUsage(report, { inputTokens: 10, outputTokens: '2', totalTokens: 1e400, cachedReadTokens: null, thoughtTokens: 3, costUsd: 0.01 });
  assert.deepEqual(toTurnUsage(report, undefined), {
    tokens: { inputTokens: 10, thoughtTokens: 3 },
    context: { used: 53000, size: 200000 },
    // The currency is upper-cased; the negative cost of the second update is dropped, so the first one stands.
    cost: { amount: 0.045, currency: 'USD' },
    sessionCost: { amount: 0.045, currency: 'USD' },
    updates: 2,
    extra: { model: 'm1', costUsd: 0.01 },
    dropped: ['cost', 'outputTokens', 'size', 'totalTokens', 'used'],
  });
  assert.equal(TurnUsage.safeParse(toTurnUsage(report, undefined)).success, true);
  assert.equal(toTurnUsage(emptyUsageReport(), undefined), undefined);
});

test("a turn's cost is what the cumulative session cost grew by; a new currency or a reset counts in full", () => {
  const at = (amount: number, currency = 'USD') => {
    const report = emptyUsageReport();
    readUsageUpdate(report, { used: 1, size: 2, cost: { amount, currency } });
    return report;
  };
  assert.deepEqual(toTurnUsage(at(0.5), { amount: 0.2, currency: 'USD' })?.cost, { amount: 0.3, currency: 'USD' });
  assert.deepEqual(toTurnUsage(at(0.5, 'EUR'), { amount: 0.2, currency: 'USD' })?.cost, { amount: 0.5, currency: 'EUR' });
  assert.deepEqual(toTurnUsage(at(0.1), { amount: 0.2, currency: 'USD' })?.cost, { amount: 0.1, currency: 'USD' });
});

test('addTotals sums every token field TOKEN_FIELDS names, keys in that order (addTokens lists them by hand)', () => {
  const a = { turns: 1, tokens: Object.fromEntries(TOKEN_FIELDS.map((field, i) => [field, i + 1])) };
  const b = { turns: 2, tokens: Object.fromEntries([...TOKEN_FIELDS].reverse().map((field, i) => [field, 10 * (i + 1)])) };
  const sum = addTotals(a, b)!;
  assert.deepEqual(Object.keys(sum.tokens!), [...TOKEN_FIELDS]);
  for (const [i, field] of TOKEN_FIELDS.entries()) assert.equal(sum.tokens![field], i + 1 + 10 * (TOKEN_FIELDS.length - i), field);
  // A field only one side has is kept as it is.
  for (const field of TOKEN_FIELDS) assert.deepEqual(addTotals({ turns: 1, tokens: { [field]: 5 } }, { turns: 1, tokens: {} })!.tokens, { [field]: 5 });
});
