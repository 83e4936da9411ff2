// Flow runtime: the happy path, routing (direct, switch on the output, switch on the result), loops, decisions,
// function and shell actions, the flow snapshot and definition errors.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { FlowSnapshot } from '@flowtape/schema';
import {
  action,
  checkpoint,
  compute,
  decision,
  decisionEdge,
  defineFlow,
  flowSnapshot,
  FlowDefinitionError,
  runFlow,
  shell,
} from '../src/runtime/index.ts';
import { assertNoChildren, childPids, assertOneOutcomePerAttempt, assertOneRunEnd, Collector, stepClock, tempDir } from './runtime-support.ts';

let dir: { path: string; remove(): Promise<void> };
let baseline: number[] = [];
before(async () => {
  dir = await tempDir();
  baseline = childPids();
});
after(async () => {
  await dir.remove();
});

describe('runFlow', () => {
  it('runs a linear flow, passing input and earlier outputs, and reports each step in order', async () => {
    const flow = defineFlow({
      name: 'linear',
      startAt: 'double',
      nodes: {
        double: compute({ run: ({ input }) => ({ value: input.n * 2 }) }),
        label: compute({ run: async ({ outputs, attempt, attemptId, nodeId }) => ({ text: `v=${outputs.double.value}`, attempt, attemptId, nodeId }) }),
      },
      edges: [{ from: 'double', to: 'label' }],
    });
    const seen = new Collector();
    const clock = stepClock(1000);
    const result = await runFlow(flow, { n: 21 }, { cwd: dir.path, observer: seen, clock, runId: 'r1', deterministic: true });

    assert.equal(result.status, 'completed');
    assert.deepEqual(result.output, { text: 'v=42', attempt: 1, attemptId: 'label#1', nodeId: 'label' });
    assert.equal(result.runId, 'r1');
    assert.deepEqual(seen.trail(), [
      'run.started',
      'node.started:double#1',
      'node.outcome:double#1',
      'edge.taken:double#1',
      'node.started:label#1',
      'node.outcome:label#1',
      'run.completed',
    ]);
    const started = seen.of('run.started')[0]!;
    assert.equal(started.runId, 'r1');
    assert.deepEqual(started.input, { n: 21 });
    assert.equal(started.deterministic, true);
    assert.equal(started.cwd, dir.path);
    assert.equal(FlowSnapshot.safeParse(started.flow).success, true, 'run.started carries a valid flow.json snapshot');
    assert.deepEqual(seen.of('node.outcome').map((e) => [e.outcome, e.output]), [
      ['ok', { value: 42 }],
      ['ok', { text: 'v=42', attempt: 1, attemptId: 'label#1', nodeId: 'label' }],
    ]);
    assert.deepEqual(seen.of('edge.taken')[0], { type: 'edge.taken', nodeId: 'double', attemptId: 'double#1', from: 'double', to: 'label' });
    assert.deepEqual(seen.of('run.completed')[0]?.output, result.output);
    // Every `at` comes from the injected clock, in order.
    assert.ok(seen.times.every((t, i) => t >= 1000 && (i === 0 || t > seen.times[i - 1]!)));
  });

  it('routes a switch on $.field of the output, recording the value and the case', async () => {
    const flow = defineFlow({
      name: 'switch',
      startAt: 'judge',
      nodes: {
        judge: compute({ run: ({ input }) => ({ verdict: { kind: input } }) }),
        yes: compute({ run: () => 'took yes' }),
        no: compute({ run: () => 'took no' }),
        other: compute({ run: () => 'took default' }),
      },
      edges: [{ from: 'judge', switch: { on: '$.verdict.kind', cases: { yes: 'yes', no: 'no' }, default: 'other' } }],
    });
    const a = new Collector();
    assert.equal((await runFlow(flow, 'no', { cwd: dir.path, observer: a })).output, 'took no');
    assert.deepEqual(a.of('edge.taken')[0]?.branch, { on: '$.verdict.kind', value: 'no', caseKey: 'no' });

    const b = new Collector();
    assert.equal((await runFlow(flow, 'maybe', { cwd: dir.path, observer: b })).output, 'took default');
    assert.deepEqual(b.of('edge.taken')[0]?.branch, { on: '$.verdict.kind', value: 'maybe', isDefault: true });
  });

  it('fails the run when a switch has no case for the value and no default', async () => {
    const flow = defineFlow({
      name: 'no-case',
      startAt: 'a',
      nodes: { a: compute({ run: () => ({ route: 'nowhere' }) }), b: compute({ run: () => 1 }) },
      edges: [{ from: 'a', switch: { on: '$.route', cases: { somewhere: 'b' } } }],
    });
    const seen = new Collector();
    const result = await runFlow(flow, null, { cwd: dir.path, observer: seen });
    assert.equal(result.status, 'failed');
    assert.equal(result.error?.code, 'no_switch_case');
    assert.match(result.error!.message, /node "a": switch on \$\.route read "nowhere"/);
    assertOneRunEnd(seen.events, 'run.failed');
  });

  it('routes a failing shell command by $result.outcome instead of failing the run', async () => {
    const flow = defineFlow({
      name: 'recover',
      startAt: 'test',
      nodes: {
        test: shell({ exec: { command: 'sh', args: ['-c', 'echo partial; echo "boom: disk full" >&2; exit 3'] } }),
        fix: compute({ run: ({ results }) => ({ recoveredFrom: results.test?.error?.code, exitCode: (results.test?.output as { exitCode: number }).exitCode }) }),
        done: compute({ run: () => 'clean' }),
      },
      edges: [{ from: 'test', switch: { on: '$result.outcome', cases: { ok: 'done', failed: 'fix' } } }],
    });
    const seen = new Collector();
    const result = await runFlow(flow, null, { cwd: dir.path, observer: seen });

    assert.equal(result.status, 'completed');
    assert.deepEqual(result.output, { recoveredFrom: 'exit_code', exitCode: 3 });
    assert.deepEqual(seen.trail(), [
      'run.started',
      'node.started:test#1',
      'action.started:test#1',
      'action.completed:test#1',
      'node.outcome:test#1',
      'edge.taken:test#1',
      'node.started:fix#1',
      'node.outcome:fix#1',
      'run.completed',
    ]);
    const started = seen.of('action.started')[0]!;
    assert.equal(started.actionType, 'shell');
    assert.deepEqual(started.command, ['sh', '-c', 'echo partial; echo "boom: disk full" >&2; exit 3']);
    assert.equal(started.cwd, dir.path);
    const done = seen.of('action.completed')[0]!;
    assert.equal(done.ok, false);
    assert.equal(done.exitCode, 3);
    assert.equal(done.signal, null);
    assert.equal(done.stdout, 'partial\n');
    assert.equal(done.stderr, 'boom: disk full\n');
    const outcome = seen.of('node.outcome')[0]!;
    assert.equal(outcome.outcome, 'failed');
    assert.equal(outcome.error?.code, 'exit_code');
    assert.match(outcome.error!.message, /exited with code 3: boom: disk full/);
    assert.deepEqual(seen.of('edge.taken')[0]?.branch, { on: '$result.outcome', value: 'failed', caseKey: 'failed' });
  });

  it('fails the run when a failing node has no route for its failure', async () => {
    const flow = defineFlow({
      name: 'unrouted',
      startAt: 'bad',
      nodes: {
        bad: compute({ run: () => { throw new Error('the input is\nnot valid'); } }),
        next: compute({ run: () => 'unreached' }),
      },
      edges: [{ from: 'bad', to: 'next' }],
    });
    const seen = new Collector();
    const result = await runFlow(flow, null, { cwd: dir.path, observer: seen });
    assert.equal(result.status, 'failed');
    assert.equal(result.error?.code, 'node_failed');
    assert.equal(result.error?.message, 'node "bad" failed: the input is not valid');
    assert.deepEqual(seen.trail(), ['run.started', 'node.started:bad#1', 'node.outcome:bad#1', 'run.failed']);
    const outcome = seen.of('node.outcome')[0]!;
    assert.equal(outcome.outcome, 'failed');
    assert.equal(outcome.error?.name, 'Error');
    assert.ok(outcome.error?.stack?.includes('runtime-flow.test.ts'), 'a non-deterministic run keeps the stack of flow code errors');
  });

  it('a shell command with allowNonZeroExit and parse gives the parsed output', async () => {
    const flow = defineFlow({
      name: 'parse',
      startAt: 'count',
      nodes: {
        count: shell({
          exec: ({ input }) => ({ command: 'printf "%s\\n" a b c; exit 1', shell: true, env: { UNUSED: input } }),
          parse: (r) => ({ lines: r.stdout.trim().split('\n').length, exit: r.exitCode }),
        }),
      },
      edges: [],
    });
    const result = await runFlow(flow, 'x', { cwd: dir.path });
    assert.equal(result.status, 'failed', 'a non-zero exit fails by default');
    const allowed = defineFlow({
      ...flow,
      nodes: { count: shell({ exec: { command: 'printf "%s\\n" a b c; exit 1', shell: true, allowNonZeroExit: true }, parse: (r) => ({ lines: r.stdout.trim().split('\n').length, exit: r.exitCode }) }) },
    });
    assert.deepEqual((await runFlow(allowed, null, { cwd: dir.path })).output, { lines: 3, exit: 1 });
  });

  it('a command that does not exist fails its node with spawn_failed', async () => {
    const flow = defineFlow({
      name: 'missing',
      startAt: 'run',
      nodes: { run: shell({ exec: { command: 'flowtape-no-such-command-xyz' } }) },
      edges: [],
    });
    const seen = new Collector();
    const result = await runFlow(flow, null, { cwd: dir.path, observer: seen });
    assert.equal(result.status, 'failed');
    assert.equal(result.error?.code, 'spawn_failed');
    assert.match(result.error!.message, /cannot run "flowtape-no-such-command-xyz" .*command not found/);
    assert.equal(seen.of('action.completed')[0]?.ok, false);
    assertOneOutcomePerAttempt(seen.events);
  });

  it('loops: a node that runs again gets attempt ids n#1, n#2, … and sees its attempt number', async () => {
    const flow = defineFlow({
      name: 'retry',
      startAt: 'try',
      nodes: {
        try: action({
          run: ({ attempt }) => {
            if (attempt < 3) throw new Error(`flaky ${attempt}`);
            return { attempt };
          },
        }),
        gate: compute({ run: ({ results }) => ({ again: results.try?.outcome !== 'ok' }) }),
      },
      edges: [
        { from: 'try', switch: { on: '$result.outcome', cases: { ok: 'gate', failed: 'gate' } } },
        { from: 'gate', switch: { on: '$.again', cases: { true: 'try' } } },
      ],
    });
    const seen = new Collector();
    // The last gate has no case for `false`: give it a default end by routing to a terminal node instead.
    const terminal = defineFlow({
      ...flow,
      nodes: { ...flow.nodes, end: compute({ run: ({ outputs }) => outputs.try }) },
      edges: [flow.edges[0]!, { from: 'gate', switch: { on: '$.again', cases: { true: 'try', false: 'end' } } }],
    });
    const result = await runFlow(terminal, null, { cwd: dir.path, observer: seen });
    assert.equal(result.status, 'completed');
    assert.deepEqual(result.output, { attempt: 3 });
    assert.deepEqual(
      seen.of('node.outcome').map((e) => `${e.attemptId}:${e.outcome}`),
      ['try#1:failed', 'gate#1:ok', 'try#2:failed', 'gate#2:ok', 'try#3:ok', 'gate#3:ok', 'end#1:ok'],
    );
    assert.deepEqual(seen.of('node.started').map((e) => e.attempt), [1, 1, 2, 2, 3, 3, 1]);
    // Function actions report action.started/completed with actionType function.
    const actions = seen.of('action.completed');
    assert.deepEqual(actions.map((a) => [a.attemptId, a.actionType, a.ok]), [
      ['try#1', 'function', false],
      ['try#2', 'function', false],
      ['try#3', 'function', true],
    ]);
    assert.equal(actions[0]?.error?.message, 'flaky 1');
    assert.deepEqual(actions[2]?.output, { attempt: 3 });
    assertOneOutcomePerAttempt(seen.events);
  });

  it('decision + decisionEdge route on the choice; an invalid choice fails the node', async () => {
    const choices = ['bug', 'feat'] as const;
    const flow = defineFlow({
      name: 'triage',
      startAt: 'classify',
      nodes: {
        classify: decision({ choices, run: ({ input }) => (input.includes('crash') ? 'bug' : input === '?' ? ('nope' as 'bug') : 'feat') }),
        bug: compute({ run: ({ outputs }) => `bug lane (${outputs.classify.route})` }),
        feat: compute({ run: () => 'feat lane' }),
      },
      edges: [decisionEdge({ from: 'classify', choices, cases: { bug: 'bug', feat: 'feat' } })],
    });
    const seen = new Collector();
    assert.equal((await runFlow(flow, 'it crashes', { cwd: dir.path, observer: seen })).output, 'bug lane (bug)');
    assert.equal(seen.of('node.started')[0]?.nodeType, 'decision');
    assert.deepEqual(seen.of('edge.taken')[0]?.branch, { on: '$.route', value: 'bug', caseKey: 'bug' });
    const bad = await runFlow(flow, '?', { cwd: dir.path });
    assert.equal(bad.status, 'failed');
    assert.equal(bad.error?.code, 'invalid_choice');
  });

  it('runs 20,000 loop iterations in one run, one event triple per iteration', async () => {
    const flow = defineFlow({
      name: 'counter',
      startAt: 'step',
      nodes: {
        step: compute({ run: ({ outputs, input }) => ({ i: (outputs.step?.i ?? 0) + 1, more: (outputs.step?.i ?? 0) + 1 < input }) }),
        end: compute({ run: ({ outputs }) => outputs.step.i }),
      },
      edges: [{ from: 'step', switch: { on: '$.more', cases: { true: 'step', false: 'end' } } }],
    });
    let events = 0;
    const result = await runFlow(flow, 20_000, { cwd: dir.path, observer: { onEvent: () => void events++ } });
    assert.equal(result.output, 20_000);
    assert.equal(events, 2 + 20_001 * 2 + 20_000);
  });
});

describe('flowSnapshot', () => {
  const flow = defineFlow({
    name: 'snap',
    description: 'all node kinds',
    startAt: 'a',
    runTimeoutMs: 60_000,
    metadata: { team: 'qa' },
    nodes: {
      a: compute({ run: ({ input }) => input, title: 'Start', timeoutMs: 500, heartbeatMs: 100 }),
      s: shell({ exec: { command: 'echo', args: ['hello world'] } }),
      f: action({ run: async () => 1 }),
      d: decision({ choices: ['x', 'y'], run: () => 'x' }),
      c: checkpoint({ summary: 'approve?' }),
      p: { nodeType: 'acp', prompt: 'Say hi', session: { handle: 'main' }, agentCommand: 'agent --flag "two words"', permissionPolicy: 'deny' },
      i: { nodeType: 'acp', prompt: ({ input }) => `hi ${input}`, session: { isolated: true } },
    },
    edges: [
      { from: 'a', to: 's' },
      { from: 's', to: 'f' },
      { from: 'f', to: 'd' },
      decisionEdge({ from: 'd', choices: ['x', 'y'], cases: { x: 'c', y: 'p' }, default: 'i' }),
    ],
  });

  it('describes every node and edge, functions as source text, and validates against flow.json', () => {
    const snap = flowSnapshot(flow);
    assert.equal(FlowSnapshot.safeParse(snap).success, true);
    assert.deepEqual(snap.nodes.map((n) => [n.id, n.nodeType]), [
      ['a', 'compute'], ['s', 'action'], ['f', 'action'], ['d', 'decision'], ['c', 'checkpoint'], ['p', 'acp'], ['i', 'acp'],
    ]);
    const src = (fn: unknown): string => Function.prototype.toString.call(fn);
    const nodes = flow.nodes as Record<string, { run?: unknown; prompt?: unknown }>;
    assert.deepEqual(snap.nodes[0], { id: 'a', title: 'Start', timeoutMs: 500, heartbeatMs: 100, nodeType: 'compute', source: src(nodes.a!.run) });
    assert.deepEqual(snap.nodes[1], { id: 's', nodeType: 'action', actionType: 'shell', command: "echo 'hello world'" });
    assert.deepEqual(snap.nodes[2], { id: 'f', nodeType: 'action', actionType: 'function', source: src(nodes.f!.run) });
    assert.match(src(nodes.f!.run), /async/);
    assert.deepEqual(snap.nodes[4], { id: 'c', nodeType: 'checkpoint', message: 'approve?' });
    assert.deepEqual(snap.nodes[5], {
      id: 'p', nodeType: 'acp', sessionHandle: 'main', sessionMode: 'shared', agentCommand: ['agent', '--flag', 'two words'], permissionPolicy: 'deny', promptSource: 'Say hi',
    });
    assert.deepEqual(snap.nodes[6], { id: 'i', nodeType: 'acp', sessionHandle: 'isolated', sessionMode: 'isolated', promptSource: src(nodes.i!.prompt) });
    // flow.json's bytes follow the keys' order (goldens and samples compare bytes): id, the common fields, nodeType, the type's own.
    assert.deepEqual(snap.nodes.map((n) => Object.keys(n).join(',')), [
      'id,title,timeoutMs,heartbeatMs,nodeType,source',
      'id,nodeType,actionType,command',
      'id,nodeType,actionType,source',
      'id,nodeType,choices,source',
      'id,nodeType,message',
      'id,nodeType,sessionHandle,sessionMode,agentCommand,permissionPolicy,promptSource',
      'id,nodeType,sessionHandle,sessionMode,promptSource',
    ]);
    assert.deepEqual(snap.edges[3], { from: 'd', switch: { on: '$.route', cases: { x: 'c', y: 'p' }, default: 'i' } });
    assert.equal(snap.runTimeoutMs, 60_000);
    assert.deepEqual(snap.metadata, { team: 'qa' });
    assert.deepEqual(flowSnapshot(flow), snap, 'deterministic');
  });

  it('truncates very long function sources', () => {
    const body = `return ${JSON.stringify('x'.repeat(10_000))};`;
    // eslint-disable-next-line @typescript-eslint/no-implied-eval
    const run = new Function(body) as () => unknown;
    const snap = flowSnapshot(defineFlow({ name: 'long', startAt: 'a', nodes: { a: compute({ run }) }, edges: [] }));
    const source = (snap.nodes[0] as { source: string }).source;
    assert.ok(source.length < 4_200);
    assert.match(source, /more characters \*\/$/);
  });
});

describe('defineFlow', () => {
  const bad = (flow: unknown): string => {
    try {
      defineFlow(flow as never);
    } catch (error) {
      assert.ok(error instanceof FlowDefinitionError);
      assert.ok(!error.message.includes('\n'), 'one line');
      return error.message;
    }
    assert.fail('expected a FlowDefinitionError');
  };
  const node = compute({ run: () => 1 });

  it('names the flow and the node or edge at fault', () => {
    assert.equal(bad({ name: 'f', startAt: 'x', nodes: { a: node }, edges: [] }), 'flow "f": startAt "x" is not a node id');
    assert.equal(bad({ name: 'f', startAt: 'a', nodes: { a: node }, edges: [{ from: 'a', to: 'b' }] }), 'flow "f": edge 0 from "a": to "b" is not a node id');
    assert.equal(
      bad({ name: 'f', startAt: 'a', nodes: { a: node, b: node }, edges: [{ from: 'a', to: 'b' }, { from: 'a', to: 'a' }] }),
      'flow "f": edge 1: node "a" already has an outgoing edge (use one switch edge to branch)',
    );
    assert.equal(
      bad({ name: 'f', startAt: 'a', nodes: { a: node }, edges: [{ from: 'a', switch: { on: 'route', cases: {} } }] }),
      'flow "f": edge 0 from "a": switch.on "route" must be $.path, $output.path, $result.path or $resume.path',
    );
    assert.equal(bad({ name: 'f', startAt: 'a', nodes: { a: { nodeType: 'compute' } }, edges: [] }), 'flow "f": node "a": `run` must be a function');
    assert.equal(bad({ name: 'f', startAt: 'a', nodes: { a: { ...node, timeoutMs: -1 } }, edges: [] }), 'flow "f": node "a": timeoutMs must be a positive integer or 0 for none (got -1)');
    assert.doesNotThrow(() => defineFlow({ name: 'f', startAt: 'a', nodes: { a: { ...node, timeoutMs: 0, heartbeatMs: 0 } }, edges: [] }), 'acpx: 0 is none');
    assert.match(bad({ name: 'f', startAt: 'a', nodes: { a: { nodeType: 'llm' } }, edges: [] }), /node "a": unknown nodeType "llm"/);
    assert.equal(bad({ startAt: 'a', nodes: {}, edges: [] }), 'flow: `name` must be a non-empty string');
  });

  it('builders reject wrong shapes at once', () => {
    assert.throws(() => compute({ run: 1 as never }), /compute node: `run` must be a function/);
    assert.throws(() => shell({ exec: { command: '' } }), /shell node: `exec.command` must be a non-empty string/);
    assert.throws(() => decisionEdge({ from: 'd', choices: ['a', 'b'], cases: { a: 'x' } as never }), /no case for choice "b"/);
    assert.throws(() => decision({ choices: [], run: () => 'a' }), /choices must be a non-empty array/);
  });

  it('runFlow refuses bad options with one line, before any event', async () => {
    const flow = defineFlow({ name: 'opts', startAt: 'a', nodes: { a: compute({ run: () => 1 }) }, edges: [] });
    const seen = new Collector();
    await assert.rejects(runFlow(flow, null, { cwd: dir.path, runTimeoutMs: 0, observer: seen }), /run options: `runTimeoutMs` must be a positive integer \(got 0\)/);
    await assert.rejects(runFlow(flow, null, { cwd: dir.path, runId: '../escape', observer: seen }), /run id "..\/escape" is invalid/);
    await assert.rejects(runFlow(flow, null, { cwd: '' }), /`cwd` .* is required/);
    assert.equal(seen.events.length, 0);
  });

  it('an observer that throws does not break the run', async () => {
    const flow = defineFlow({ name: 'throwing', startAt: 'a', nodes: { a: compute({ run: () => 1 }), b: compute({ run: () => 2 }) }, edges: [{ from: 'a', to: 'b' }] });
    let calls = 0;
    const warnings: string[] = [];
    const onWarning = (w: Error) => warnings.push(w.message);
    process.on('warning', onWarning);
    const result = await runFlow(flow, null, { cwd: dir.path, observer: { onEvent: () => { calls++; throw new Error('disk on fire'); } } });
    await new Promise((r) => setImmediate(r));
    process.off('warning', onWarning);
    assert.equal(result.status, 'completed');
    assert.equal(result.output, 2);
    assert.equal(calls, 7);
    assert.deepEqual(warnings, ['flowtape: lifecycle observer threw on run.started: disk on fire']);
  });

  it('runFlow validates flows that did not go through defineFlow', async () => {
    await assert.rejects(runFlow({ name: 'raw', startAt: 'nope', nodes: {}, edges: [] }, null, { cwd: '.' }), FlowDefinitionError);
    assertNoChildren(baseline);
  });
});
