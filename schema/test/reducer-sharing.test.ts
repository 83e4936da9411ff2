/**
 * What the Projector changes in place and what a render reuses: only what nobody else holds. Every state handed out
 * stays as it was, and a projection rendered again shows the same JSON.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Projector, project, toRunProjection, toStepsProjection, type ProjectionState } from '../src/index.ts';
import { traceBuilder } from './events.ts';

const json = (value: unknown) => JSON.stringify(value);

test("run.json's edges: an edge not taken since an earlier render is the object rendered then, a taken one is new, and every state renders its own counts", () => {
  const t = traceBuilder();
  t.push('run.started', { flowName: 'loop' });
  for (let i = 1; i <= 3; i++) {
    t.node('a', i);
    t.push('edge.taken', { from: 'a', to: 'b' }, t.attempt('a', i));
    t.node('b', i);
    if (i < 3) t.push('edge.taken', { from: 'b', to: 'a' }, t.attempt('b', i));
  }
  const projector = new Projector();
  const states: ProjectionState[] = t.events.map((event) => projector.add(event).state());
  const last = states.at(-1)!;
  const rendered = toRunProjection(last);
  assert.deepEqual(rendered.edges, [{ from: 'a', to: 'b', count: 3 }, { from: 'b', to: 'a', count: 2 }]);
  // Rendered again: the same objects, not copies.
  const again = toRunProjection(last);
  assert.equal(again.edges[0], rendered.edges[0]);
  assert.equal(again.edges[1], rendered.edges[1]);
  // An earlier state renders its own counts (and a later render of the last state still reuses nothing wrong).
  const fresh = (state: ProjectionState) => json(toRunProjection(project(t.events.slice(0, state.eventCount))));
  for (const state of states) assert.equal(json(toRunProjection(state)), fresh(state), `state at seq ${state.seq}`);
  // Taking a→b once more: that edge is new, b→a is the object rendered before.
  const taken = t.events.findLast((e) => e.type === 'edge.taken' && (e.payload as { from?: string }).from === 'a')!;
  const more = new Projector(last).add({ ...taken, seq: last.seq + 1 } as never).state();
  const next = toRunProjection(more);
  assert.deepEqual(next.edges[0], { from: 'a', to: 'b', count: 4 });
  assert.equal(next.edges[1], toRunProjection(last).edges[1]);
  assert.equal(json(toRunProjection(last).edges), json(rendered.edges), 'the last state still renders count 3');
});

test("a shared session's turns: a state handed out between a prompt and its turn's end keeps its unfinished turn and its session's usage", () => {
  const t = traceBuilder();
  t.push('run.started', { flowName: 'acp' });
  const scope = { ...t.attempt('agent', 1), sessionId: 's1' };
  t.push('node.started', { nodeType: 'acp', attempt: 1 }, scope);
  t.push('session.bound', { handle: 'main', acpSessionId: 'acp-1', mode: 'shared', reused: false, agentCommand: ['a'], path: 'sessions/s1' }, scope);
  const usage = { tokens: { inputTokens: 10, outputTokens: 2, totalTokens: 12 }, cost: { amount: 0.5, currency: 'USD' } };
  for (let turn = 0; turn < 3; turn++) {
    t.push('acp.prompt_sent', { prompt: { inline: 'go' }, sessionEventSeq: 1 + turn * 10, messageIndex: turn * 2 }, scope);
    t.push('acp.turn_finished', { stopReason: 'end_turn', sessionEvents: { from: 1 + turn * 10, to: 9 + turn * 10 }, messages: { from: turn * 2, to: turn * 2 + 1 }, usage }, scope);
  }
  // Handed out after every event: each state must read as the fold of the events up to it, then and at the end.
  const projector = new Projector();
  const states = t.events.map((event) => projector.add(event).state());
  const texts = states.map((state) => json([toStepsProjection(state), toRunProjection(state), state.sessions.get('s1')]));
  states.forEach((state, i) => {
    const alone = project(t.events.slice(0, i + 1));
    assert.equal(texts[i], json([toStepsProjection(alone), toRunProjection(alone), alone.sessions.get('s1')]), `state ${i}`);
  });
  // Folded in one go (everything changed in place), the same as handed out at every event.
  const whole = project(t.events);
  assert.equal(json([toStepsProjection(whole), toRunProjection(whole), whole.sessions.get('s1')]), texts.at(-1));
  const turns = toStepsProjection(whole).steps[0]!.turns;
  assert.deepEqual(turns.map((turn) => [turn.promptSeq, turn.stopReason]), [[4, 'end_turn'], [6, 'end_turn'], [8, 'end_turn']]);
  assert.equal(whole.sessions.get('s1')!.usage?.turns, 3);
  assert.deepEqual(whole.sessions.get('s1')!.usage?.cost, [{ currency: 'USD', amount: 1.5 }]);
  // A state handed out between a prompt and its end still shows that turn unfinished, and two turns' usage.
  const between = states[t.events.findLastIndex((e) => e.type === 'acp.prompt_sent')]!;
  assert.equal(toStepsProjection(between).steps[0]!.turns.at(-1)!.stopReason, undefined);
  assert.equal(between.sessions.get('s1')!.usage?.turns, 2);
});
