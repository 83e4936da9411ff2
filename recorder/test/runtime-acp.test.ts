// ACP nodes against the scripted agent — a real ACP process over stdio, no mocks: shared and isolated sessions,
// traffic forwarding, turn events, and every way an agent can fail (missing, refusing session/new, crashing,
// garbage, hanging past a timeout, a cancel mid-turn). After each run no agent process is left.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { acp, compute, decision, defineFlow, flowSnapshot, runFlow, type FlowDefinition, type LifecycleEvent } from '../src/runtime/index.ts';
import {
  assertNoChildren,
  assertOneOutcomePerAttempt,
  assertOneRunEnd,
  childPids,
  Collector,
  scriptedAgent,
  tempDir,
} from './runtime-support.ts';

let dir: { path: string; remove(): Promise<void> };
let baseline: number[] = [];
let agent: string[];

const conversation = {
  agent: { name: 'test-agent', version: '1.2.3' },
  turns: [
    { match: 'What is 2+2?', steps: [{ thought: 'easy' }, { message: 'It is ' }, { message: '4.' }] },
    { match: { regex: '^Grade: ' }, steps: [{ message: '{"verdict": "pass", "score": 9}' }] },
    { match: 'crash', steps: [{ stderr: 'fatal: model on fire' }, { exit: 3 }] },
    { match: 'garbage', steps: [{ garbage: 'this is not json-rpc' }] },
    { match: 'hang', steps: [{ message: 'thinking…' }, { hang: true }] },
    { match: { regex: 'Classify' }, steps: [{ message: 'Sure: {"route": "bug", "reason": "it crashes"}' }] },
    { match: 'pad', steps: [{ message: '\n  padded answer ' }, { message: '\n' }] },
  ],
};

before(async () => {
  dir = await tempDir();
  baseline = childPids();
  agent = await scriptedAgent(dir.path, 'conversation', conversation);
});
after(async () => {
  await dir.remove();
});

function initializeCount(events: LifecycleEvent[]): number {
  return events.filter((e) => e.type === 'acp.traffic' && e.direction === 'outgoing' && (e.message as { method?: string })?.method === 'initialize').length;
}

describe('ACP nodes', () => {
  it('two turns in one shared session: one agent, session.bound new then reused, traffic, parsed output', async () => {
    const flow = defineFlow({
      name: 'two-turns',
      startAt: 'ask',
      nodes: {
        ask: acp({ prompt: 'What is 2+2?', session: { handle: 'main' } }),
        grade: acp({
          session: { handle: 'main' },
          prompt: ({ outputs }) => `Grade: ${outputs.ask}`,
          parse: (text) => JSON.parse(text) as unknown,
        }),
      },
      edges: [{ from: 'ask', to: 'grade' }],
    });
    const seen = new Collector();
    const result = await runFlow(flow, null, { cwd: dir.path, observer: seen, agentCommand: agent });

    assert.equal(result.status, 'completed', JSON.stringify(result.error));
    assert.deepEqual(result.output, { verdict: 'pass', score: 9 });
    assert.deepEqual(seen.trail(), [
      'run.started',
      'node.started:ask#1',
      'session.bound:ask#1',
      'acp.prompt_sent:ask#1',
      'acp.turn_finished:ask#1',
      'node.outcome:ask#1',
      'edge.taken:ask#1',
      'node.started:grade#1',
      'session.bound:grade#1',
      'acp.prompt_sent:grade#1',
      'acp.turn_finished:grade#1',
      'node.outcome:grade#1',
      'run.completed',
    ]);
    const [first, second] = seen.of('session.bound');
    assert.equal(first?.sessionId, 's1');
    assert.equal(second?.sessionId, 's1');
    assert.equal(first?.reused, false);
    assert.equal(second?.reused, true);
    assert.equal(first?.mode, 'shared');
    assert.equal(first?.handle, 'main');
    assert.equal(first?.acpSessionId, 'sess-1');
    assert.equal(second?.acpSessionId, 'sess-1');
    assert.deepEqual(first?.agentCommand, agent);
    assert.equal(first?.cwd, dir.path);
    assert.deepEqual(first?.agent, { name: 'test-agent', version: '1.2.3' });
    assert.equal(typeof first?.protocolVersion, 'number');
    assert.equal(initializeCount(seen.events), 1, 'one agent process for the shared session');

    const turns = seen.of('acp.turn_finished');
    assert.deepEqual(turns.map((t) => [t.sessionId, t.stopReason, t.response]), [
      ['s1', 'end_turn', 'It is 4.'],
      ['s1', 'end_turn', '{"verdict": "pass", "score": 9}'],
    ]);
    assert.deepEqual(seen.of('acp.prompt_sent').map((p) => p.prompt), ['What is 2+2?', 'Grade: It is 4.']);
    assert.deepEqual(seen.of('node.outcome').map((e) => e.output), ['It is 4.', { verdict: 'pass', score: 9 }]);

    // Raw traffic: every message, in order, tagged with the session and (during a turn) the attempt.
    const traffic = seen.of('acp.traffic');
    assert.ok(traffic.every((t) => t.sessionId === 's1'));
    const prompts = traffic.filter((t) => t.direction === 'outgoing' && (t.message as { method?: string }).method === 'session/prompt');
    assert.deepEqual(prompts.map((t) => t.attemptId), ['ask#1', 'grade#1']);
    const updates = traffic.filter((t) => t.direction === 'incoming' && (t.message as { method?: string }).method === 'session/update');
    assert.ok(updates.length >= 4);
    assert.ok(updates.every((t) => t.attemptId === 'ask#1' || t.attemptId === 'grade#1'));
    // The turn's traffic lies between its prompt_sent and turn_finished.
    const index = (e: LifecycleEvent) => seen.events.indexOf(e);
    const askUpdates = updates.filter((t) => t.attemptId === 'ask#1').map(index);
    assert.ok(Math.min(...askUpdates) > index(seen.of('acp.prompt_sent')[0]!));
    assert.ok(Math.max(...askUpdates) < index(turns[0]!));
    assertOneOutcomePerAttempt(seen.events);
    assertNoChildren(baseline);
  });

  it('isolated sessions: a new agent and session per attempt, each closed after its attempt', async () => {
    const flow = defineFlow({
      name: 'isolated',
      startAt: 'ask',
      nodes: {
        ask: acp({ prompt: 'What is 2+2?', session: { isolated: true } }),
        again: compute({ run: ({ attempt }) => ({ more: attempt < 2 }) }),
        end: compute({ run: ({ outputs }) => outputs.ask }),
      },
      edges: [
        { from: 'ask', to: 'again' },
        { from: 'again', switch: { on: '$.more', cases: { true: 'ask', false: 'end' } } },
      ],
    });
    const seen = new Collector();
    const result = await runFlow(flow, null, { cwd: dir.path, observer: seen, agentCommand: agent });
    assert.equal(result.status, 'completed', JSON.stringify(result.error));
    const bound = seen.of('session.bound');
    assert.deepEqual(bound.map((b) => [b.attemptId, b.sessionId, b.mode, b.reused, b.acpSessionId]), [
      ['ask#1', 's1', 'isolated', false, 'sess-1'],
      ['ask#2', 's2', 'isolated', false, 'sess-1'],
    ]);
    assert.equal(initializeCount(seen.events), 2, 'one agent process per isolated attempt');
    assert.deepEqual([...new Set(seen.of('acp.traffic').map((t) => t.sessionId))], ['s1', 's2']);
    assertNoChildren(baseline);
  });

  it('profiles resolve through the agents option; a node agentCommand wins over the run default', async () => {
    const flow = defineFlow({
      name: 'profiles',
      startAt: 'a',
      nodes: {
        a: acp({ profile: 'scripted', prompt: 'What is 2+2?' }),
        b: acp({ agentCommand: agent, prompt: 'What is 2+2?' }),
      },
      edges: [{ from: 'a', to: 'b' }],
    });
    const seen = new Collector();
    const result = await runFlow(flow, null, { cwd: dir.path, observer: seen, agents: { scripted: agent }, agentCommand: ['/nonexistent/agent'] });
    assert.equal(result.status, 'completed', JSON.stringify(result.error));
    // Both resolve to the scripted agent (not the broken run default), so they share one session.
    assert.deepEqual(seen.of('session.bound').map((b) => [b.sessionId, b.reused]), [['s1', false], ['s1', true]]);
  });

  it('the node output is the agent text trimmed (like acpx); the turn keeps it as sent', async () => {
    const flow = defineFlow({ name: 'pad', startAt: 'ask', nodes: { ask: acp({ prompt: 'pad' }) }, edges: [] });
    const seen = new Collector();
    const result = await runFlow(flow, null, { cwd: dir.path, observer: seen, agentCommand: agent });
    assert.equal(result.output, 'padded answer');
    assert.equal(seen.of('acp.turn_finished')[0]?.response, '\n  padded answer \n');
  });

  it('acpx decision({ question, choices }) asks the agent and routes on its JSON answer', async () => {
    const choices = ['bug', 'feat'] as const;
    const flow = defineFlow({
      name: 'acpx-decision',
      startAt: 'classify',
      nodes: {
        classify: decision({ choices, question: 'Classify this report' }),
        bug: compute({ run: ({ outputs }) => outputs.classify.reason }),
        feat: compute({ run: () => 'feat' }),
      },
      edges: [{ from: 'classify', switch: { on: '$.route', cases: { bug: 'bug', feat: 'feat' } } }],
    });
    const seen = new Collector();
    const result = await runFlow(flow, null, { cwd: dir.path, observer: seen, agentCommand: agent });
    assert.equal(result.output, 'it crashes');
    assert.match(seen.of('acp.prompt_sent')[0]!.prompt, /^Classify this report\n\nReturn exactly one JSON object/);
    // flow.json shows the question, not the prompt generator.
    const spec = flowSnapshot(flow).nodes[0]!;
    assert.equal(spec.nodeType, 'acp');
    assert.equal((spec as { promptSource?: string }).promptSource, 'Classify this report\n[choices: bug, feat]');
  });
});

describe('ACP failures', () => {
  const one = (prompt: string, extra: object = {}) =>
    defineFlow({ name: 'fail', startAt: 'ask', nodes: { ask: acp({ prompt, ...extra }) }, edges: [] });

  async function failing(flow: FlowDefinition, command: string[], options: object = {}) {
    const seen = new Collector();
    const result = await runFlow(flow, null, { cwd: dir.path, observer: seen, agentCommand: command, ...options });
    assertOneOutcomePerAttempt(seen.events);
    assertNoChildren(baseline);
    return { result, seen, outcome: seen.of('node.outcome')[0]! };
  }

  it('a missing agent command fails the node with agent_missing', async () => {
    const { result, outcome, seen } = await failing(one('hi'), ['/nonexistent/flowtape-agent', '--x']);
    assert.equal(result.status, 'failed');
    assert.equal(outcome.outcome, 'failed');
    assert.equal(outcome.error?.code, 'agent_missing');
    assert.equal(outcome.error?.message, 'node "ask": agent flowtape-agent: agent command not found: /nonexistent/flowtape-agent');
    assert.equal(result.error?.message, outcome.error?.message);
    assert.equal(seen.of('session.bound').length, 0);
    assertOneRunEnd(seen.events, 'run.failed');
  });

  it('no agent configured anywhere: agent_not_configured, naming the node', async () => {
    const seen = new Collector();
    const result = await runFlow(one('hi'), null, { cwd: dir.path, observer: seen });
    assert.equal(result.error?.code, 'agent_not_configured');
    assert.match(result.error!.message, /^node "ask": no agent command/);
  });

  it('"Authentication required" on session/new fails the node with auth_required and the agent\'s message', async () => {
    const auth = await scriptedAgent(dir.path, 'auth', { sessionNew: { error: { code: -32000, message: 'Authentication required' } } });
    const { result, outcome, seen } = await failing(one('hi'), auth);
    assert.equal(result.status, 'failed');
    assert.equal(outcome.error?.code, 'auth_required');
    assert.match(outcome.error!.message, /^node "ask": agent .*session\/new: Authentication required: the agent needs a login/);
    // The failed start is still in the raw traffic (the recorder keeps it for diagnosis).
    const traffic = seen.of('acp.traffic');
    assert.ok(traffic.some((t) => t.direction === 'outgoing' && (t.message as { method?: string }).method === 'session/new'));
    assert.ok(traffic.every((t) => t.sessionId === 's1' && t.attemptId === 'ask#1'));
  });

  it('"Authentication required" on session/prompt (agents that ask for a login only when prompted) fails with auth_required too', async () => {
    const auth = await scriptedAgent(dir.path, 'prompt-auth', {
      turns: [
        { match: 'hi', steps: [{ error: { code: -32000, message: 'Authentication required' } }] },
        { match: 'busy', steps: [{ error: { code: -32000, message: 'Server busy' } }] },
      ],
    });
    const refused = await failing(one('hi'), auth);
    assert.equal(refused.outcome.error?.code, 'auth_required');
    assert.match(refused.outcome.error!.message, /session\/prompt: Authentication required: the agent needs a login; it offers no auth method flowtape can use/);
    // -32000 is also JSON-RPC's generic server error: one that is not about a login stays an rpc_error.
    const busy = await failing(one('busy'), auth);
    assert.equal(busy.outcome.error?.code, 'rpc_error');
  });

  it('an agent that exits mid-turn: agent_exited with its last stderr line; the turn is closed', async () => {
    const { outcome, seen } = await failing(one('crash'), agent);
    assert.equal(outcome.error?.code, 'agent_exited');
    assert.match(outcome.error!.message, /exited with code 3 .*fatal: model on fire/);
    const turn = seen.of('acp.turn_finished')[0]!;
    assert.equal(turn.stopReason, null);
    assert.equal(turn.error?.code, 'agent_exited');
    assert.ok(seen.of('acp.traffic').some((t) => t.direction === 'stderr' && t.text === 'fatal: model on fire'));
  });

  it('after a crash the same handle opens a new session (new agent, new session id)', async () => {
    const flow = defineFlow({
      name: 'respawn',
      startAt: 'first',
      nodes: { first: acp({ prompt: 'crash' }), second: acp({ prompt: 'What is 2+2?' }) },
      edges: [{ from: 'first', switch: { on: '$result.outcome', cases: { failed: 'second' } } }],
    });
    const seen = new Collector();
    const result = await runFlow(flow, null, { cwd: dir.path, observer: seen, agentCommand: agent });
    assert.equal(result.output, 'It is 4.');
    assert.deepEqual(seen.of('session.bound').map((b) => [b.attemptId, b.sessionId, b.reused]), [['first#1', 's1', false], ['second#1', 's2', false]]);
    assertNoChildren(baseline);
  });

  it('a cancel while the agent is still starting: cancelled, and the agent is closed once it is up', async () => {
    const controller = new AbortController();
    const seen = new Collector();
    const observer = {
      onEvent(event: LifecycleEvent, at: number) {
        seen.onEvent(event, at);
        if (event.type === 'acp.traffic' && (event.message as { method?: string } | undefined)?.method === 'initialize') controller.abort('SIGINT');
      },
    };
    const result = await runFlow(one('What is 2+2?'), null, { cwd: dir.path, observer, agentCommand: agent, signal: controller.signal });
    assert.equal(result.status, 'cancelled');
    assert.deepEqual(seen.of('node.outcome').map((e) => e.outcome), ['cancelled']);
    assert.equal(seen.of('session.bound').length, 0);
    assertOneRunEnd(seen.events, 'run.cancelled');
    assertNoChildren(baseline);
  });

  it('garbage on stdout: protocol_error', async () => {
    const { outcome } = await failing(one('garbage'), agent);
    assert.equal(outcome.error?.code, 'protocol_error');
    assert.match(outcome.error!.message, /non-JSON line on stdout/);
  });

  it('a hanging agent past the node timeout: session/cancel sent, outcome timed_out, turn closed', async () => {
    // The first node starts the shared agent, so the timeout of the second covers the hanging turn only.
    const flow = defineFlow({
      name: 'hang',
      startAt: 'warm',
      nodes: { warm: acp({ prompt: 'What is 2+2?' }), ask: acp({ prompt: 'hang', timeoutMs: 300 }) },
      edges: [{ from: 'warm', to: 'ask' }],
    });
    const { result, seen } = await failing(flow, agent);
    const outcome = seen.of('node.outcome')[1]!;
    assert.equal(result.status, 'failed');
    assert.equal(outcome.outcome, 'timed_out');
    assert.equal(outcome.error?.code, 'node_timeout');
    assert.ok(seen.of('acp.traffic').some((t) => t.direction === 'outgoing' && (t.message as { method?: string }).method === 'session/cancel'));
    const turn = seen.of('acp.turn_finished')[1]!;
    assert.equal(turn.response, 'thinking…');
    assert.equal(turn.stopReason, 'cancelled', 'the scripted agent acknowledges the cancel');
  });

  it('cancelling the run mid-turn: one cancelled outcome, run.cancelled, agent closed', async () => {
    const controller = new AbortController();
    const seen = new Collector();
    const observer = {
      onEvent(event: LifecycleEvent, at: number) {
        seen.onEvent(event, at);
        if (event.type === 'acp.prompt_sent') setTimeout(() => controller.abort('SIGINT'), 200);
      },
    };
    const result = await runFlow(one('hang'), null, { cwd: dir.path, observer, agentCommand: agent, signal: controller.signal });
    assert.equal(result.status, 'cancelled');
    assert.deepEqual(seen.trail(), [
      'run.started',
      'node.started:ask#1',
      'session.bound:ask#1',
      'acp.prompt_sent:ask#1',
      'acp.turn_finished:ask#1',
      'node.outcome:ask#1',
      'run.cancelled',
    ]);
    assert.equal(seen.of('node.outcome')[0]?.outcome, 'cancelled');
    assertOneRunEnd(seen.events, 'run.cancelled');
    assertNoChildren(baseline);
  });

  it('a parse function that throws fails the node with parse_failed', async () => {
    const { outcome } = await failing(one('What is 2+2?', { parse: (t: string) => JSON.parse(t) as unknown }), agent);
    assert.equal(outcome.error?.code, 'parse_failed');
    assert.match(outcome.error!.message, /^node "ask": parse failed: /);
  });
});
