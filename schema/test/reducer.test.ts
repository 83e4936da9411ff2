import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  initialState,
  Projector,
  project,
  reduce,
  getStep,
  toLiveProjection,
  toRunProjection,
  toStepsProjection,
  RunProjection,
  LiveProjection,
  StepsProjection,
  TRACE_EVENT_TYPES,
  type ProjectionState,
} from '../src/index.ts';
import { traceBuilder } from './events.ts';

/** `value` as its JSON text reads back (a session's attempt ids serialize as an array). */
const plain = (value: unknown) => JSON.parse(JSON.stringify(value));

/** Every projection the reducer produces must validate against its file schema. */
function files(state: ProjectionState) {
  const json = (value: unknown) => JSON.parse(JSON.stringify(value));
  return {
    run: RunProjection.parse(json(toRunProjection(state))),
    live: LiveProjection.parse(json(toLiveProjection(state))),
    steps: StepsProjection.parse(json(toStepsProjection(state))),
  };
}

test('happy path: compute → acp turn in a session → shell action → completed', () => {
  const t = traceBuilder();
  t.push('run.started', { flowName: 'review', input: { inline: { pr: 7 } } });
  t.node('plan', 1, 'ok', { files: 2 });
  t.push('edge.taken', { from: 'plan', to: 'ask' }, t.attempt('plan', 1));
  t.push('node.started', { nodeType: 'acp', attempt: 1 }, t.attempt('ask', 1));
  t.push('session.bound', { handle: 'main', acpSessionId: 'sess-1', mode: 'shared', reused: false, agentCommand: ['agent'], path: 'sessions/s1' }, { ...t.attempt('ask', 1), sessionId: 's1' });
  const prompt = t.push('acp.prompt_sent', { prompt: { inline: 'Review it' }, messageIndex: 0, sessionEventSeq: 3 }, { ...t.attempt('ask', 1), sessionId: 's1' });
  t.push('acp.turn_finished', { stopReason: 'end_turn', sessionEvents: { from: 3, to: 9 }, messages: { from: 0, to: 3 }, response: { inline: 'LGTM' } }, { ...t.attempt('ask', 1), sessionId: 's1' });
  t.push('node.outcome', { outcome: 'ok', durationMs: 2000, output: { inline: 'LGTM' } }, t.attempt('ask', 1));
  t.push('edge.taken', { from: 'ask', to: 'publish' }, t.attempt('ask', 1));
  t.push('node.started', { nodeType: 'action', attempt: 1 }, t.attempt('publish', 1));
  t.push('action.started', { actionType: 'shell', command: ['echo', 'hi'] }, t.attempt('publish', 1));
  const artifact = { path: `artifacts/sha256-${'a'.repeat(64)}.txt`, sha256: 'a'.repeat(64), size: 3, mediaType: 'text/plain' };
  t.push('artifact.written', { artifact, role: 'stdout' }, t.attempt('publish', 1));
  t.push('action.completed', { actionType: 'shell', ok: true, durationMs: 5, exitCode: 0, stdout: { artifact } }, t.attempt('publish', 1));
  t.push('node.outcome', { outcome: 'ok', durationMs: 3000 }, t.attempt('publish', 1));
  t.push('run.completed', { output: { inline: 'done' }, durationMs: 9000 });

  const state = project(t.events);
  const { run, steps, live } = files(state);
  assert.equal(run.status, 'completed');
  assert.equal(run.seq, t.events.length);
  assert.equal(run.attemptCount, 3);
  assert.deepEqual(run.output, { inline: 'done' });
  assert.deepEqual(run.edges, [
    { from: 'plan', to: 'ask', count: 1 },
    { from: 'ask', to: 'publish', count: 1 },
  ]);
  assert.deepEqual(steps.steps.map((s) => [s.attemptId, s.status]), [['plan#1', 'ok'], ['ask#1', 'ok'], ['publish#1', 'ok']]);
  const ask = steps.steps[1]!;
  assert.equal(ask.sessionId, 's1');
  assert.deepEqual(ask.turns, [{
    promptSeq: prompt.seq, sessionEventSeq: 3, messageIndex: 0, stopReason: 'end_turn',
    sessionEvents: { from: 3, to: 9 }, messages: { from: 0, to: 3 }, response: { inline: 'LGTM' },
  }]);
  assert.deepEqual(ask.next, { to: 'publish' });
  const publish = steps.steps[2]!;
  assert.equal(publish.action?.exitCode, 0);
  assert.deepEqual(publish.action?.command, ['echo', 'hi']);
  assert.deepEqual(publish.artifacts, [{ role: 'stdout', artifact }]);
  assert.equal(live.activeAttemptId, undefined);
  assert.deepEqual(plain([...state.sessions.values()]), [{ sessionId: 's1', handle: 'main', acpSessionId: 'sess-1', mode: 'shared', attemptIds: ['ask#1'] }]);
});

test('failure: the failing attempt carries its error and the run fails', () => {
  const t = traceBuilder();
  t.push('run.started', { flowName: 'f' });
  t.push('node.started', { nodeType: 'action', attempt: 1 }, t.attempt('build', 1));
  t.push('node.outcome', { outcome: 'failed', durationMs: 10, error: { message: 'exit code 2', code: 'exit_code' } }, t.attempt('build', 1));
  t.push('run.failed', { error: { message: 'node build failed: exit code 2' }, durationMs: 20 });
  const { run, steps } = files(project(t.events));
  assert.equal(run.status, 'failed');
  assert.equal(run.error?.message, 'node build failed: exit code 2');
  assert.equal(run.lastNodeId, 'build');
  assert.equal(steps.steps[0]?.status, 'failed');
  assert.equal(steps.steps[0]?.error?.code, 'exit_code');
  assert.deepEqual(run.nodes, [{ nodeId: 'build', attempts: 1, lastAttemptId: 'build#1', status: 'failed', totalDurationMs: 10 }]);
});

test('timeout: heartbeats, a timed-out attempt, then a run timeout', () => {
  const t = traceBuilder();
  t.push('run.started', { flowName: 'f', runTimeoutMs: 5000 });
  t.push('node.started', { nodeType: 'acp', attempt: 1 }, t.attempt('slow', 1));
  const mid = project(t.events);
  assert.equal(files(mid).live.activeAttemptId, 'slow#1');
  const hb = t.push('node.heartbeat', { elapsedMs: 1000 }, t.attempt('slow', 1));
  t.push('node.heartbeat', { elapsedMs: 2000 }, t.attempt('slow', 1));
  const beating = files(project(t.events));
  assert.equal(beating.steps.steps[0]?.heartbeats, 2);
  assert.equal(beating.live.lastHeartbeatAt, new Date(Date.parse(hb.at) + 1000).toISOString());
  t.push('node.outcome', { outcome: 'timed_out', durationMs: 3000, error: { message: 'node slow timed out after 3000 ms', code: 'node_timeout' } }, t.attempt('slow', 1));
  t.push('run.timed_out', { timeoutMs: 5000, durationMs: 5000 });
  const { run, steps, live } = files(project(t.events));
  assert.equal(run.status, 'timed_out');
  assert.equal(run.error?.code, 'run_timeout');
  assert.equal(steps.steps[0]?.status, 'timed_out');
  assert.equal(live.status, 'timed_out');
  assert.equal(live.activeAttemptId, undefined);
});

test('cancellation: the interrupted attempt gets its outcome and the run is cancelled', () => {
  const t = traceBuilder();
  t.push('run.started', { flowName: 'f' });
  t.node('a', 1);
  t.push('edge.taken', { from: 'a', to: 'b' }, t.attempt('a', 1));
  t.push('node.started', { nodeType: 'compute', attempt: 1 }, t.attempt('b', 1));
  assert.equal(files(project(t.events)).live.activeNodeId, 'b');
  t.push('node.outcome', { outcome: 'cancelled', durationMs: 4, error: { message: 'cancelled by SIGINT', code: 'cancelled' } }, t.attempt('b', 1));
  t.push('run.cancelled', { reason: 'SIGINT', durationMs: 10 });
  const { run, steps, live } = files(project(t.events));
  assert.equal(run.status, 'cancelled');
  assert.match(run.error?.message ?? '', /SIGINT/);
  assert.deepEqual(steps.steps.map((s) => s.status), ['ok', 'cancelled']);
  assert.equal(live.activeAttemptId, undefined);
  assert.deepEqual(run.anomalies, []);
});

test('loop: a node that runs again gets attempt n#2 and the back edge is counted', () => {
  const t = traceBuilder();
  t.push('run.started', { flowName: 'retry' });
  t.node('try', 1, 'failed');
  t.push('edge.taken', { from: 'try', to: 'check', branch: { on: '$result.outcome', value: 'failed', caseKey: 'failed' } }, t.attempt('try', 1));
  t.node('check', 1, 'ok', { again: true });
  t.push('edge.taken', { from: 'check', to: 'try', branch: { on: '$.again', value: true, caseKey: 'true' } }, t.attempt('check', 1));
  t.node('try', 2, 'ok');
  t.push('run.completed', { durationMs: 10 });
  const state = project(t.events);
  const { run, steps } = files(state);
  assert.deepEqual(steps.steps.map((s) => s.attemptId), ['try#1', 'check#1', 'try#2']);
  assert.equal(getStep(state, 'try#2')?.attempt, 2);
  assert.deepEqual(run.nodes.find((n) => n.nodeId === 'try'), { nodeId: 'try', attempts: 2, lastAttemptId: 'try#2', status: 'ok', totalDurationMs: 2000 });
  assert.deepEqual(steps.steps[0]?.next, { to: 'check', branch: { on: '$result.outcome', value: 'failed', caseKey: 'failed' } });
  assert.deepEqual(run.edges.map((e) => `${e.from}->${e.to}:${e.count}`), ['try->check:1', 'check->try:1']);
});

test('checkpoint: waiting, then resumed (in another process) and completed', () => {
  const t = traceBuilder();
  t.push('run.started', { flowName: 'approve' });
  t.push('node.started', { nodeType: 'checkpoint', attempt: 1 }, t.attempt('approval', 1));
  t.push('node.outcome', { outcome: 'ok', durationMs: 0 }, t.attempt('approval', 1));
  t.push('run.waiting', { checkpoint: 'approval', message: 'approve the deploy' }, t.attempt('approval', 1));
  const waiting = files(project(t.events));
  assert.equal(waiting.run.status, 'waiting');
  assert.equal(waiting.run.waitingAt, 'approval');
  assert.equal(waiting.live.waitingAt, 'approval');
  t.push('run.resumed', { checkpoint: 'approval', input: { inline: { approved: true } } });
  t.push('edge.taken', { from: 'approval', to: 'deploy' }, t.attempt('approval', 1));
  t.node('deploy', 1);
  t.push('run.completed', { durationMs: 100 });
  const { run } = files(project(t.events));
  assert.equal(run.status, 'completed');
  assert.equal(run.waitingAt, undefined);
  assert.equal(run.attemptCount, 2);
});

test('unknown event types are ignored and counted', () => {
  const t = traceBuilder();
  t.push('run.started', { flowName: 'f' });
  t.unknown('node.profiled', { cpuMs: 3 });
  t.unknown('node.profiled', { cpuMs: 4 });
  t.unknown('budget.spent');
  t.node('a', 1);
  const { run } = files(project(t.events));
  assert.equal(run.unknownEventCount, 3);
  assert.deepEqual(run.unknownEventTypes, ['node.profiled', 'budget.spent']);
  assert.equal(run.eventCount, 6);
  assert.equal(run.seq, 6);
  assert.equal(run.attemptCount, 1);
});

test('inconsistent traces become anomalies, not exceptions', () => {
  const t = traceBuilder();
  t.push('run.started', { flowName: 'f' });
  t.push('node.outcome', { outcome: 'ok', durationMs: 1 }, t.attempt('ghost', 1));
  t.node('a', 1);
  t.push('node.outcome', { outcome: 'ok', durationMs: 1 }, t.attempt('a', 1));
  const { run } = files(project(t.events));
  assert.deepEqual(run.anomalies, ['seq 2: node.outcome for unknown attempt ghost#1', 'seq 5: second outcome for attempt a#1']);
});

test('nothing may follow a terminal event: every later line is an anomaly, the fold goes on', () => {
  const t = traceBuilder();
  t.push('run.started', { flowName: 'f' });
  t.push('run.failed', { error: { message: 'boom' }, durationMs: 1 });
  t.push('run.completed', { durationMs: 2 });
  t.node('late', 1);
  t.unknown('node.profiled');
  const { run } = files(project(t.events));
  assert.deepEqual(run.anomalies, [
    'seq 3: run.completed after the run ended (failed): nothing may follow a terminal event',
    'seq 4: node.started after the run ended (completed): nothing may follow a terminal event',
    'seq 5: node.outcome after the run ended (completed): nothing may follow a terminal event',
    'seq 6: node.profiled after the run ended (completed): nothing may follow a terminal event',
  ]);
  assert.equal(run.status, 'completed', 'the fold still shows what the lines say');
});

test('only run.resumed (at the same checkpoint) follows run.waiting, and run.resumed follows nothing else', () => {
  const t = traceBuilder();
  t.push('run.started', { flowName: 'f' });
  t.push('run.resumed', { checkpoint: 'gate' });
  t.push('run.waiting', { checkpoint: 'gate' });
  t.node('sneaky', 1);
  t.push('run.resumed', { checkpoint: 'elsewhere' });
  t.push('run.resumed', { checkpoint: 'gate' });
  const { run } = files(project(t.events));
  assert.deepEqual(run.anomalies, [
    'seq 2: run.resumed while the run is running: only a run waiting at a checkpoint resumes',
    'seq 4: node.started while the run waits at checkpoint "gate": only run.resumed may follow run.waiting',
    'seq 5: node.outcome while the run waits at checkpoint "gate": only run.resumed may follow run.waiting',
    'seq 6: run.resumed at "elsewhere" while the run waits at checkpoint "gate"',
    'seq 7: run.resumed while the run is running: only a run waiting at a checkpoint resumes',
  ]);
});

test('reduce is pure: it never mutates its input and earlier states stay valid', () => {
  const t = traceBuilder();
  t.push('run.started', { flowName: 'f' });
  t.push('node.started', { nodeType: 'compute', attempt: 1 }, t.attempt('a', 1));
  const before = project(t.events);
  const snapshot = JSON.stringify([toRunProjection(before), toStepsProjection(before)]);
  const event = Object.freeze(t.push('node.outcome', { outcome: 'ok', durationMs: 1 }, t.attempt('a', 1)));
  const after = reduce(Object.freeze(before), event);
  assert.equal(JSON.stringify([toRunProjection(before), toStepsProjection(before)]), snapshot);
  assert.equal(getStep(before, 'a#1')?.status, 'running');
  assert.equal(getStep(after, 'a#1')?.status, 'ok');
  assert.equal(reduce(before, event).seq, after.seq, 'same input, same output');
  assert.equal(JSON.stringify(toStepsProjection(reduce(before, event))), JSON.stringify(toStepsProjection(after)));
});

test('a Projector changes a node summary in place only until it hands the state out, and run.json shares it', () => {
  const t = traceBuilder();
  t.push('run.started', { flowName: 'f' });
  t.push('node.started', { nodeType: 'acp', attempt: 1 }, t.attempt('a', 1));
  const usage = { tokens: { inputTokens: 10, outputTokens: 2 } };
  const turn = { stopReason: 'end_turn', sessionEvents: { from: 1, to: 2 }, usage } as const;
  const projector = new Projector();
  for (const event of t.events) projector.add(event);
  const started = projector.state();
  const startedRun = toRunProjection(started);
  const startedText = JSON.stringify(startedRun);
  // Folded after the hand-out: the usage and the outcome must land in a new summary, not in the one handed out.
  projector.add(t.push('acp.turn_finished', turn, { ...t.attempt('a', 1), sessionId: 's' }));
  projector.add(t.push('node.outcome', { outcome: 'ok', durationMs: 7 }, t.attempt('a', 1)));
  const ended = projector.state();
  assert.equal(JSON.stringify(startedRun), startedText, 'the run projection of the state handed out is unchanged');
  assert.equal(JSON.stringify(toRunProjection(started)), startedText);
  assert.deepEqual(started.nodes.get('a'), { nodeId: 'a', attempts: 1, lastAttemptId: 'a#1', status: 'running', totalDurationMs: 0 });
  const node = ended.nodes.get('a')!;
  assert.deepEqual([node.status, node.totalDurationMs, Object.keys(node)], ['ok', 7, ['nodeId', 'attempts', 'lastAttemptId', 'status', 'totalDurationMs', 'usage']]);
  assert.deepEqual(node.usage, ended.usage, "the node's usage is its one turn's, as the run's");
  assert.ok(node.usage);
  // The same events folded without a hand-out between (in place all along) give the same summary, keys in order.
  assert.equal(JSON.stringify(toRunProjection(project(t.events))), JSON.stringify(toRunProjection(ended)));
  assert.equal(toRunProjection(ended).nodes[0], ended.nodes.get('a'), 'run.json lists the summaries themselves');
});

test('session.failed: the session is known with its error and no ACP id, the attempt points at it', () => {
  const t = traceBuilder();
  t.push('run.started', { flowName: 'f' });
  t.push('node.started', { nodeType: 'acp', attempt: 1 }, t.attempt('ask', 1));
  const error = { message: 'agent refused session/new: Authentication required', code: 'rpc_error' };
  t.push('session.failed', { handle: 'main', mode: 'shared', agentCommand: ['codex-acp'], path: 'sessions/s1', error }, { ...t.attempt('ask', 1), sessionId: 's1' });
  t.push('node.outcome', { outcome: 'failed', durationMs: 5, error }, t.attempt('ask', 1));
  const state = project(t.events);
  assert.deepEqual(state.anomalies, []);
  assert.deepEqual(plain([...state.sessions.values()]), [{ sessionId: 's1', handle: 'main', mode: 'shared', attemptIds: ['ask#1'], error }]);
  const step = files(state).steps.steps[0]!;
  assert.equal(step.sessionId, 's1');
  assert.equal(step.status, 'failed');
});

test("a shared session's attempt ids are not copied into each state handed out: every cursor's list shares one storage", () => {
  const t = traceBuilder();
  t.push('run.started', { flowName: 'f' });
  const bound = (i: number) => {
    const scope = t.attempt('agent', i);
    t.push('node.started', { nodeType: 'acp', attempt: i }, scope);
    t.push('session.bound', { handle: 'main', acpSessionId: 'acp-1', mode: 'shared', reused: i > 1, agentCommand: ['a'], path: 'sessions/s1' }, { ...scope, sessionId: 's1' });
    t.push('node.outcome', { outcome: 'ok', durationMs: 1 }, scope);
  };
  for (let i = 1; i <= 2_000; i++) bound(i);
  // The viewer keeps a state at many cursors: here one after every event.
  const projector = new Projector();
  const states = t.events.map((event) => projector.add(event).state());
  const lists = states.map((state) => state.sessions.get('s1')?.attemptIds).filter((ids) => ids !== undefined);
  assert.equal(lists.length, 3 * 2_000 - 1);
  // What holds each list's items: an array copied at each hand-out held 2,000²/2 ids in all.
  const storage = new Set(lists.map((ids) => (ids as unknown as { items?: unknown }).items ?? ids));
  assert.equal(storage.size, 1, 'one storage for every cursor');
  const ids = (n: number) => Array.from({ length: n }, (_, i) => `agent#${i + 1}`);
  assert.deepEqual([...lists[0]!], ids(1));
  assert.deepEqual([lists[2]!.length, lists[3]!.toArray(), lists.at(-1)!.length], [1, ids(2), 2_000]);
  assert.deepEqual(plain(lists[5]!), ids(2));
  // An older state folded on with other events: its list and the later states' stay as they were.
  const older = states[3 * 10]!;
  const other = new Projector(older).add({ ...t.events[3 * 10 + 2]!, attemptId: 'other#1' } as never).state();
  assert.equal(other.sessions.get('s1')!.attemptIds.join(','), [...ids(10), 'other#1'].join(','));
  assert.deepEqual([older.sessions.get('s1')!.attemptIds.toArray(), lists.at(-1)!.get(10)], [ids(10), 'agent#11']);
});

test('every event type of the catalogue has a reducer case that changes the projection', () => {
  // Each type, applied to a state where it makes sense, must change a projection file (not just seq/eventCount).
  const t = traceBuilder();
  const at = t.attempt('n', 1);
  const s = { ...at, sessionId: 's1' };
  const artifact = { path: `artifacts/sha256-${'b'.repeat(64)}.json`, sha256: 'b'.repeat(64), size: 2, mediaType: 'application/json' };
  const cases: Array<[string, () => void]> = [
    ['run.started', () => t.push('run.started', { flowName: 'f' })],
    ['node.started', () => t.push('node.started', { nodeType: 'acp', attempt: 1 }, at)],
    ['node.heartbeat', () => t.push('node.heartbeat', { elapsedMs: 5 }, at)],
    ['session.failed', () => t.push('session.failed', { handle: 'h', mode: 'isolated', agentCommand: ['a'], path: 'sessions/s0', error: { message: 'no' } }, { ...at, sessionId: 's0' })],
    ['session.bound', () => t.push('session.bound', { handle: 'h', acpSessionId: 'x', mode: 'isolated', reused: false, agentCommand: ['a'], path: 'sessions/s1' }, s)],
    ['acp.prompt_sent', () => t.push('acp.prompt_sent', { prompt: { inline: 'hi' }, messageIndex: 0, sessionEventSeq: 3 }, s)],
    ['acp.turn_finished', () => t.push('acp.turn_finished', { stopReason: 'end_turn', sessionEvents: { from: 3, to: 4 } }, s)],
    ['session.usage', () => t.push('session.usage', { usage: { cost: { amount: 0.5, currency: 'USD' } } }, { sessionId: 's1' })],
    ['action.started', () => t.push('action.started', { actionType: 'function' }, at)],
    ['action.completed', () => t.push('action.completed', { actionType: 'function', ok: true, durationMs: 1 }, at)],
    ['artifact.written', () => t.push('artifact.written', { artifact, role: 'output' }, at)],
    ['node.outcome', () => t.push('node.outcome', { outcome: 'ok', durationMs: 1 }, at)],
    ['edge.taken', () => t.push('edge.taken', { from: 'n', to: 'm' }, at)],
    ['run.waiting', () => t.push('run.waiting', { checkpoint: 'n' })],
    ['run.resumed', () => t.push('run.resumed', { checkpoint: 'n' })],
  ];
  // Nothing may follow a terminal event: each of them is applied to the same running state.
  const terminal: Array<[string, () => void]> = [
    ['run.failed', () => t.push('run.failed', { error: { message: 'x' } })],
    ['run.timed_out', () => t.push('run.timed_out', { timeoutMs: 1, durationMs: 1 })],
    ['run.cancelled', () => t.push('run.cancelled', { reason: 'abort', durationMs: 1 })],
    ['run.completed', () => t.push('run.completed', { durationMs: 1 })],
  ];
  const strip = (state: ProjectionState) => {
    const { run, live, steps } = files(state);
    return JSON.stringify([{ ...run, seq: 0, eventCount: 0, updatedAt: '' }, { ...live, seq: 0, updatedAt: '' }, { ...steps, seq: 0 }]);
  };
  let state = initialState();
  const covered = new Set<string>();
  for (const [type, add] of cases) {
    add();
    const next = reduce(state, t.events.at(-1)!);
    assert.notEqual(strip(next), strip(state), `${type} changed nothing`);
    assert.deepEqual(next.anomalies, [], `${type}: ${next.anomalies.join(', ')}`);
    covered.add(type);
    state = next;
  }
  for (const [type, add] of terminal) {
    add();
    const next = reduce(state, t.events.at(-1)!);
    assert.notEqual(strip(next), strip(state), `${type} changed nothing`);
    assert.deepEqual(next.anomalies, [], `${type}: ${next.anomalies.join(', ')}`);
    covered.add(type);
  }
  assert.deepEqual([...covered].sort(), [...TRACE_EVENT_TYPES].sort());
});

test('a long run: thousands of attempts stay indexed by id and ordered by start', () => {
  const t = traceBuilder();
  t.push('run.started', { flowName: 'long' });
  for (let i = 1; i <= 3000; i++) t.node(`n${i}`, 1);
  const state = project(t.events);
  assert.equal(state.steps.size, 3000);
  assert.equal(state.nodes.size, 3000);
  assert.equal(getStep(state, 'n1234#1')?.nodeId, 'n1234');
  assert.deepEqual([...state.nodes.keys()].slice(0, 3), ['n1', 'n2', 'n3']);
});
