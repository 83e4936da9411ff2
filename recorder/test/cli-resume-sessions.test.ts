// Shared ACP sessions that survive: `flowtape resume` (a new process, a new agent process) continues the session a
// handle had before the checkpoint with session/load or session/resume when the agent advertises one, and otherwise
// starts a new session that says which one it replaces and why. A JSON-RPC error on one prompt leaves the shared
// session to the next node. Real processes: the bin and the scripted agent.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { verifyBundle } from '../src/tools/verify.ts';
import { recordRun, scriptedAgentArg, writeFlow } from './recorded-run-support.ts';
import { readJson, readLines, runCli, tempDir, traceOf, type TraceLine } from './recorder-support.ts';

type Wire = { direction: string; attemptId?: string; message?: { id?: unknown; method?: string; params?: Record<string, any>; result?: unknown; error?: unknown } };

/** first (handle main) → gate (checkpoint) → second (handle main). */
const surviveFlow = (dir: string): string =>
  writeFlow(dir, 'survive.flow.ts', ['acp', 'checkpoint', 'defineFlow'], `{
  name: 'survive',
  startAt: 'first',
  nodes: {
    first: acp({ prompt: 'remember the number 7' }),
    gate: checkpoint({ summary: 'go on?' }),
    second: acp({ prompt: 'which number?' }),
  },
  edges: [{ from: 'first', to: 'gate' }, { from: 'gate', to: 'second' }],
}`);

const turns = [
  { match: 'remember the number 7', steps: [{ message: 'I will remember 7.' }] },
  { match: 'which number?', steps: [{ message: 'It was 7.' }] },
];

/** Runs the flow to its checkpoint, then resumes it in a new process; returns the bundle. */
async function runThenResume(dir: string, script: Record<string, unknown>): Promise<string> {
  surviveFlow(dir);
  const agent = await scriptedAgentArg(dir, 'agent', { agent: { name: 'survivor', version: '1.0.0' }, turns, ...script });
  const bundle = await recordRun(dir, 'survive.flow.ts', ['--agent', agent, '--run-id', 'r1']);
  const second = await runCli(['resume', bundle, '--agent', agent, '-q'], { cwd: dir });
  assert.equal(second.code, 0, second.stderr);
  const report = await verifyBundle(bundle);
  assert.equal(report.ok, true, JSON.stringify(report.problems));
  return bundle;
}

const wire = (bundle: string, sessionId: string): Wire[] => readLines<Wire>(join(bundle, 'sessions', sessionId, 'events.ndjson'));
const bindings = (trace: TraceLine[], nodeId: string): TraceLine[] => trace.filter((e) => e.type === 'session.bound' && e.nodeId === nodeId);
const methods = (lines: Wire[]): string[] => lines.flatMap((l) => (l.direction === 'outgoing' && l.message?.method ? [l.message.method] : []));

describe('shared sessions across flowtape resume', () => {
  it('session/load: the resumed node continues the recorded session; the replayed history is in events.ndjson, not added again to record.json', async () => {
    const dir = await tempDir('flowtape-survive-');
    try {
      const bundle = await runThenResume(dir.path, {
        sessionLoad: { replay: [{ message: 'REPLAYED: I will remember 7.' }] },
      });
      const trace = traceOf(bundle);
      const waiting = trace.find((e) => e.type === 'run.waiting')!;
      assert.deepEqual(waiting.payload.sessions, ['s1'], 'run.waiting lists the shared session still usable');
      const [before] = bindings(trace, 'first');
      const [after] = bindings(trace, 'second');
      assert.equal(after!.sessionId, before!.sessionId, 'same flowtape session');
      assert.equal(after!.payload.acpSessionId, before!.payload.acpSessionId, "same agent session id");
      assert.equal(after!.payload.continued, 'session/load');
      assert.equal(after!.payload.reused, true);
      assert.equal(after!.payload.replaces, undefined);

      const lines = wire(bundle, 's1');
      assert.deepEqual(methods(lines), ['initialize', 'session/new', 'session/prompt', 'initialize', 'session/load', 'session/prompt']);
      const load = lines.find((l) => l.message?.method === 'session/load')!;
      assert.equal(load.message!.params!.sessionId, before!.payload.acpSessionId);
      assert.equal(load.attemptId, 'second#1', "the new agent's handshake belongs to the attempt that continued the session");
      assert.ok(lines.some((l) => JSON.stringify(l.message ?? '').includes('REPLAYED')), 'the replay is recorded raw');

      const record = readJson<{ messages: Array<{ role: string; text?: string }> }>(join(bundle, 'sessions', 's1', 'record.json'));
      assert.deepEqual(
        record.messages.map((m) => `${m.role}: ${m.text}`),
        ['user: remember the number 7', 'agent: I will remember 7.', 'user: which number?', 'agent: It was 7.'],
      );
      const secondOutcome = trace.find((e) => e.type === 'node.outcome' && e.nodeId === 'second')!;
      assert.equal(secondOutcome.payload.outcome, 'ok');
      assert.equal(secondOutcome.payload.output.inline, 'It was 7.', 'the replay is not part of the turn text');
    } finally {
      await dir.remove();
    }
  });

  it('session/resume is preferred when advertised (nothing replayed)', async () => {
    const dir = await tempDir('flowtape-survive-');
    try {
      const bundle = await runThenResume(dir.path, { capabilities: { loadSession: true, resume: true } });
      const trace = traceOf(bundle);
      const [after] = bindings(trace, 'second');
      assert.equal(after!.sessionId, 's1');
      assert.equal(after!.payload.continued, 'session/resume');
      assert.deepEqual(methods(wire(bundle, 's1')), ['initialize', 'session/new', 'session/prompt', 'initialize', 'session/resume', 'session/prompt']);
    } finally {
      await dir.remove();
    }
  });

  it('an agent that cannot continue sessions: a new session that names the one it replaces and why', async () => {
    const dir = await tempDir('flowtape-survive-');
    try {
      const bundle = await runThenResume(dir.path, { capabilities: { loadSession: false, resume: false } });
      const trace = traceOf(bundle);
      const [after] = bindings(trace, 'second');
      assert.equal(after!.sessionId, 's2');
      assert.equal(after!.payload.continued, undefined);
      assert.equal(after!.payload.reused, false);
      assert.deepEqual(after!.payload.replaces, { sessionId: 's1', reason: 'the agent advertises neither session/resume nor session/load' });
      assert.deepEqual(methods(wire(bundle, 's1')), ['initialize', 'session/new', 'session/prompt'], 'the recorded session is left as it was');
      assert.deepEqual(methods(wire(bundle, 's2')), ['initialize', 'session/new', 'session/prompt'], 'the new session has its whole handshake');
    } finally {
      await dir.remove();
    }
  });

  it('an agent that refuses session/load: the refusal stays with the recorded session, a new session names the reason', async () => {
    const dir = await tempDir('flowtape-survive-');
    try {
      const bundle = await runThenResume(dir.path, { sessionLoad: { error: { code: -32002, message: 'Resource not found: sess-1' } } });
      const trace = traceOf(bundle);
      const [after] = bindings(trace, 'second');
      assert.equal(after!.sessionId, 's2');
      assert.equal(after!.payload.replaces.sessionId, 's1');
      assert.match(after!.payload.replaces.reason, /agent refused session\/load: Resource not found: sess-1/);
      assert.deepEqual(methods(wire(bundle, 's1')), ['initialize', 'session/new', 'session/prompt', 'initialize', 'session/load']);
      assert.deepEqual(methods(wire(bundle, 's2')), ['session/new', 'session/prompt'], 'the same agent process goes on in the new session');
      assert.equal(readJson<{ boundBy: string }>(join(bundle, 'sessions', 's2', 'binding.json')).boundBy, 'second#1');
    } finally {
      await dir.remove();
    }
  });
});

describe('flowtape resume without --agent', () => {
  it('goes on with the agent the run used (one agent for every session), continuing its session', async () => {
    const dir = await tempDir('flowtape-survive-');
    try {
      surviveFlow(dir.path);
      const agent = await scriptedAgentArg(dir.path, 'agent', { turns });
      const bundle = await recordRun(dir.path, 'survive.flow.ts', ['--agent', agent, '--run-id', 'r1']);
      const second = await runCli(['resume', bundle, '-q'], { cwd: dir.path });
      assert.equal(second.code, 0, second.stderr);
      const trace = traceOf(bundle);
      assert.equal(trace.at(-1)!.type, 'run.completed');
      assert.equal(bindings(trace, 'second')[0]!.payload.continued, 'session/load');
      assert.deepEqual(bindings(trace, 'second')[0]!.payload.agentCommand, bindings(trace, 'first')[0]!.payload.agentCommand);
    } finally {
      await dir.remove();
    }
  });
});

describe('flowtape resume with no agent anywhere', () => {
  it('is refused before anything is written when an ACP node after the checkpoint needs one; the run still waits', async () => {
    const dir = await tempDir('flowtape-survive-');
    try {
      writeFlow(dir.path, 'late.flow.ts', ['acp', 'checkpoint', 'compute', 'defineFlow'], `{
  name: 'late',
  startAt: 'prep',
  nodes: { prep: compute({ run: () => 1 }), gate: checkpoint({ summary: 'go?' }), ask: acp({ prompt: 'which number?' }) },
  edges: [{ from: 'prep', to: 'gate' }, { from: 'gate', to: 'ask' }],
}`);
      const bundle = await recordRun(dir.path, 'late.flow.ts', ['--run-id', 'l1']);
      const before = readFileSync(join(bundle, 'trace.ndjson'), 'utf8');
      const refused = await runCli(['resume', bundle, '-q'], { cwd: dir.path });
      assert.equal(refused.code, 2, refused.stderr);
      assert.match(refused.stderr, /node "ask" after checkpoint "gate" needs an agent and none is given: pass --agent/);
      assert.equal(refused.stderr.trim().split('\n').length, 1, 'one line');
      assert.equal(readFileSync(join(bundle, 'trace.ndjson'), 'utf8'), before, 'nothing written');
      const agent = await scriptedAgentArg(dir.path, 'agent', { turns });
      const resumed = await runCli(['resume', bundle, '--agent', agent, '-q'], { cwd: dir.path });
      assert.equal(resumed.code, 0, resumed.stderr);
      assert.equal(traceOf(bundle).at(-1)!.type, 'run.completed');
    } finally {
      await dir.remove();
    }
  });
});

describe('a JSON-RPC error on a prompt', () => {
  it('leaves the shared session to the next node of the handle (same agent process, same ACP session)', async () => {
    const dir = await tempDir('flowtape-survive-');
    try {
      writeFlow(dir.path, 'err.flow.ts', ['acp', 'defineFlow'], `{
  name: 'err',
  startAt: 'first',
  nodes: { first: acp({ prompt: 'fail please' }), second: acp({ prompt: 'still there?' }) },
  edges: [{ from: 'first', switch: { on: '$result.outcome', cases: { failed: 'second' } } }],
}`);
      const agent = await scriptedAgentArg(dir.path, 'agent', {
        turns: [
          { match: 'fail please', steps: [{ error: { code: -32603, message: 'model overloaded' } }] },
          { match: 'still there?', steps: [{ message: 'yes' }] },
        ],
      });
      const bundle = await recordRun(dir.path, 'err.flow.ts', ['--agent', agent, '--run-id', 'e1']);
      const trace = traceOf(bundle);
      const firstOutcome = trace.find((e) => e.type === 'node.outcome' && e.nodeId === 'first')!;
      assert.equal(firstOutcome.payload.outcome, 'failed');
      assert.equal(firstOutcome.payload.error.code, 'rpc_error');
      const [b1] = bindings(trace, 'first');
      const [b2] = bindings(trace, 'second');
      assert.equal(b2!.sessionId, b1!.sessionId);
      assert.equal(b2!.payload.reused, true);
      assert.deepEqual(methods(wire(bundle, b1!.sessionId!)), ['initialize', 'session/new', 'session/prompt', 'session/prompt'], 'one agent, one session');
      assert.equal(readFileSync(join(bundle, 'trace.ndjson'), 'utf8').includes('"s2"'), false);
    } finally {
      await dir.remove();
    }
  });
});

describe('flowtape resume --auth', () => {
  // An agent that needs a login for session/new and session/load alike (scripted-auth.ts): two methods, so flowtape
  // never guesses; `sso` needs nothing from the environment.
  const authMethods = [
    { id: 'acme-key', name: 'Acme key', type: 'env_var', vars: [{ name: 'ACME_KEY' }] },
    { id: 'sso', name: 'Single sign-on' },
  ];

  it('authenticates the new agent process with the method given, then continues the recorded session', async () => {
    const dir = await tempDir('flowtape-survive-');
    try {
      surviveFlow(dir.path);
      const agent = await scriptedAgentArg(dir.path, 'agent', { agent: { name: 'acme-agent', version: '2.0.0' }, authMethods, turns });
      const bundle = await recordRun(dir.path, 'survive.flow.ts', ['--agent', agent, '--auth', 'sso', '--run-id', 'r1']);
      const second = await runCli(['resume', bundle, '--agent', agent, '--auth', 'sso', '-q'], { cwd: dir.path });
      assert.equal(second.code, 0, second.stderr);
      const trace = traceOf(bundle);
      assert.equal(trace.at(-1)!.type, 'run.completed');
      const [after] = bindings(trace, 'second');
      assert.equal(after!.sessionId, 's1');
      assert.equal(after!.payload.continued, 'session/load');
      const lines = wire(bundle, 's1');
      assert.deepEqual(methods(lines), [
        'initialize', 'authenticate', 'session/new', 'session/prompt',
        'initialize', 'authenticate', 'session/load', 'session/prompt',
      ]);
      const authenticate = lines.filter((l) => l.message?.method === 'authenticate');
      assert.deepEqual(authenticate.map((l) => [l.attemptId, l.message!.params!.methodId]), [['first#1', 'sso'], ['second#1', 'sso']]);
      assert.equal(readJson<{ authMethodId?: string }>(join(bundle, 'sessions/s1/binding.json')).authMethodId, 'sso');
      const outcome = trace.find((e) => e.type === 'node.outcome' && e.nodeId === 'second')!;
      assert.equal(outcome.payload.output.inline, 'It was 7.');
      const report = await verifyBundle(bundle);
      assert.equal(report.ok, true, JSON.stringify(report.problems));
    } finally {
      await dir.remove();
    }
  });

  it("without it, the method the session's binding recorded is used again (a method id is no secret)", async () => {
    const dir = await tempDir('flowtape-survive-');
    try {
      surviveFlow(dir.path);
      const agent = await scriptedAgentArg(dir.path, 'agent', { agent: { name: 'acme-agent', version: '2.0.0' }, authMethods, turns });
      const bundle = await recordRun(dir.path, 'survive.flow.ts', ['--agent', agent, '--auth', 'sso', '--run-id', 'r1']);
      const second = await runCli(['resume', bundle, '-q'], { cwd: dir.path });
      assert.equal(second.code, 0, second.stderr);
      const trace = traceOf(bundle);
      assert.equal(trace.at(-1)!.type, 'run.completed');
      assert.equal(bindings(trace, 'second')[0]!.payload.continued, 'session/load');
      assert.deepEqual(methods(wire(bundle, 's1')).slice(4), ['initialize', 'authenticate', 'session/load', 'session/prompt']);
    } finally {
      await dir.remove();
    }
  });
});
