// Interruptions: node timeout, run timeout, cancellation by AbortSignal, heartbeats. Whatever interrupts an
// attempt, it gets exactly one outcome, its open action is closed, the run ends with one final event and no
// process is left behind.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { action, compute, defineFlow, runFlow, shell, type LifecycleEvent } from '../src/runtime/index.ts';
import { assertNoChildren, assertOneOutcomePerAttempt, assertOneRunEnd, childPids, Collector, tempDir } from './runtime-support.ts';

let dir: { path: string; remove(): Promise<void> };
let baseline: number[] = [];
before(async () => {
  dir = await tempDir();
  baseline = childPids();
});
after(async () => {
  await dir.remove();
});

/** A shell node that would run for a long time; `trap` proves the SIGTERM reached the shell's children too. */
const longShell = (extra: object = {}) =>
  shell({ exec: { command: 'sleep 30 & wait', shell: true }, ...extra });

describe('node timeout', () => {
  it('stops a long shell command: outcome timed_out, the action closed with its signal, the run fails', async () => {
    const flow = defineFlow({ name: 'slow', startAt: 'wait', nodes: { wait: longShell({ timeoutMs: 300 }) }, edges: [] });
    const seen = new Collector();
    const result = await runFlow(flow, null, { cwd: dir.path, observer: seen });

    assert.equal(result.status, 'failed');
    assert.equal(result.error?.code, 'node_timeout');
    assert.equal(result.error?.message, 'node "wait" timed out after 300 ms');
    assert.deepEqual(seen.trail(), ['run.started', 'node.started:wait#1', 'action.started:wait#1', 'action.completed:wait#1', 'node.outcome:wait#1', 'run.failed']);
    const outcome = seen.of('node.outcome')[0]!;
    assert.equal(outcome.outcome, 'timed_out');
    assert.equal(outcome.error?.code, 'node_timeout');
    const done = seen.of('action.completed')[0]!;
    assert.equal(done.ok, false);
    assert.equal(done.signal, 'SIGTERM');
    assertNoChildren(baseline);
  });

  it('a timed-out node can be routed by $result.outcome', async () => {
    const flow = defineFlow({
      name: 'fallback',
      startAt: 'wait',
      nodes: {
        wait: compute({ timeoutMs: 50, run: () => new Promise(() => {}) }), // ignores its signal entirely
        fallback: compute({ run: ({ results }) => `after ${results.wait?.outcome}` }),
      },
      edges: [{ from: 'wait', switch: { on: '$result.outcome', cases: { ok: 'fallback', timed_out: 'fallback' } } }],
    });
    const seen = new Collector();
    const result = await runFlow(flow, null, { cwd: dir.path, observer: seen });
    assert.equal(result.status, 'completed');
    assert.equal(result.output, 'after timed_out');
    assert.deepEqual(seen.of('edge.taken')[0]?.branch, { on: '$result.outcome', value: 'timed_out', caseKey: 'timed_out' });
    assertOneOutcomePerAttempt(seen.events);
  });

  it('the attempt signal aborts on timeout, so cooperative code stops', async () => {
    let abortedWith: unknown;
    const flow = defineFlow({
      name: 'coop',
      startAt: 'wait',
      nodes: {
        wait: action({
          timeoutMs: 50,
          run: ({ signal }) =>
            new Promise((_, reject) => signal.addEventListener('abort', () => { abortedWith = signal.reason; reject(signal.reason); })),
        }),
      },
      edges: [],
    });
    const seen = new Collector();
    await runFlow(flow, null, { cwd: dir.path, observer: seen });
    assert.match(String((abortedWith as Error).message), /timed out after 50 ms/);
    // The function action's receipt is there, once, before the outcome.
    assert.deepEqual(seen.trail().slice(1, 5), ['node.started:wait#1', 'action.started:wait#1', 'action.completed:wait#1', 'node.outcome:wait#1']);
    assert.equal(seen.of('action.completed')[0]?.ok, false);
    assert.equal(seen.of('action.completed')[0]?.error?.code, 'node_timeout');
  });

  it('an action that ignores its signal is closed by the runtime before the outcome', async () => {
    const flow = defineFlow({
      name: 'deaf',
      startAt: 'wait',
      nodes: { wait: action({ timeoutMs: 30, run: () => sleep(300).then(() => 'late') }) },
      edges: [],
    });
    const seen = new Collector();
    await runFlow(flow, null, { cwd: dir.path, observer: seen });
    const count = seen.events.length;
    await sleep(400); // the function finishes after its attempt ended: nothing more is reported
    assert.equal(seen.events.length, count);
    assert.equal(seen.of('action.completed').length, 1);
    assertOneOutcomePerAttempt(seen.events);
  });
});

describe('run timeout', () => {
  it('interrupts the running attempt (timed_out), then ends the run timed_out', async () => {
    const flow = defineFlow({
      name: 'budget',
      startAt: 'first',
      runTimeoutMs: 300,
      nodes: { first: compute({ run: () => 1 }), wait: longShell(), never: compute({ run: () => 2 }) },
      edges: [{ from: 'first', to: 'wait' }, { from: 'wait', switch: { on: '$result.outcome', cases: { timed_out: 'never' } } }],
    });
    const seen = new Collector();
    const result = await runFlow(flow, null, { cwd: dir.path, observer: seen });
    assert.equal(result.status, 'timed_out');
    assert.equal(result.error?.code, 'run_timeout');
    const outcome = seen.of('node.outcome').find((e) => e.attemptId === 'wait#1')!;
    assert.equal(outcome.outcome, 'timed_out');
    assert.equal(outcome.error?.code, 'run_timeout');
    assert.equal(seen.of('node.started').length, 2, 'a run timeout is not routed');
    assert.deepEqual(seen.of('run.timed_out').map((e) => e.timeoutMs), [300]);
    assertOneRunEnd(seen.events, 'run.timed_out');
    assertOneOutcomePerAttempt(seen.events);
    assertNoChildren(baseline);
  });

  it('the runFlow option overrides the flow value', async () => {
    const flow = defineFlow({ name: 'budget2', startAt: 'wait', runTimeoutMs: 60_000, nodes: { wait: longShell() }, edges: [] });
    const result = await runFlow(flow, null, { cwd: dir.path, runTimeoutMs: 100 });
    assert.equal(result.status, 'timed_out');
    assertNoChildren(baseline);
  });
});

describe('cancellation', () => {
  it('SIGINT mid-shell: exactly one cancelled outcome, then run.cancelled; nothing after, nothing left', async () => {
    const flow = defineFlow({
      name: 'cancel',
      startAt: 'first',
      nodes: { first: compute({ run: () => 'ok' }), wait: longShell(), never: compute({ run: () => 'no' }) },
      edges: [{ from: 'first', to: 'wait' }, { from: 'wait', switch: { on: '$result.outcome', cases: { cancelled: 'never' } } }],
    });
    const controller = new AbortController();
    const seen = new Collector();
    const observer = {
      onEvent(event: LifecycleEvent, at: number) {
        seen.onEvent(event, at);
        if (event.type === 'action.started') setTimeout(() => controller.abort('SIGINT'), 150);
      },
    };
    const result = await runFlow(flow, null, { cwd: dir.path, observer, signal: controller.signal });

    assert.equal(result.status, 'cancelled');
    assert.equal(result.error?.code, 'cancelled');
    assert.deepEqual(seen.trail(), [
      'run.started',
      'node.started:first#1',
      'node.outcome:first#1',
      'edge.taken:first#1',
      'node.started:wait#1',
      'action.started:wait#1',
      'action.completed:wait#1',
      'node.outcome:wait#1',
      'run.cancelled',
    ]);
    const outcome = seen.of('node.outcome')[1]!;
    assert.equal(outcome.outcome, 'cancelled');
    assert.equal(outcome.error?.message, 'run cancelled (SIGINT)');
    assert.equal(seen.of('action.completed')[0]?.signal, 'SIGTERM');
    assert.equal(seen.of('run.cancelled')[0]?.reason, 'SIGINT');
    assertNoChildren(baseline);
    const count = seen.events.length;
    await sleep(200);
    assert.equal(seen.events.length, count, 'no event after run.cancelled');
  });

  it('a cooperative async compute ends cancelled at once; an abort reason that is no string reads "abort"', async () => {
    const controller = new AbortController();
    const flow = defineFlow({
      name: 'cancel2',
      startAt: 'wait',
      nodes: {
        wait: compute({
          run: ({ signal }) => {
            setTimeout(() => controller.abort(), 20);
            return new Promise((_, reject) => signal.addEventListener('abort', () => reject(new Error('stopped'))));
          },
        }),
      },
      edges: [],
    });
    const seen = new Collector();
    const result = await runFlow(flow, null, { cwd: dir.path, observer: seen, signal: controller.signal });
    assert.equal(result.status, 'cancelled');
    assert.deepEqual(seen.of('node.outcome').map((e) => e.outcome), ['cancelled']);
    assert.equal(seen.of('run.cancelled')[0]?.reason, 'abort');
  });

  it('a signal aborted before the run starts: run.started, then run.cancelled, no node', async () => {
    const flow = defineFlow({ name: 'pre', startAt: 'a', nodes: { a: compute({ run: () => 1 }) }, edges: [] });
    const seen = new Collector();
    const result = await runFlow(flow, null, { cwd: dir.path, observer: seen, signal: AbortSignal.abort('SIGTERM') });
    assert.equal(result.status, 'cancelled');
    assert.deepEqual(seen.trail(), ['run.started', 'run.cancelled']);
    assert.equal(seen.of('run.cancelled')[0]?.reason, 'SIGTERM');
  });

  it('a long run of synchronous nodes still notices a cancel (the loop yields to the event loop)', async () => {
    const controller = new AbortController();
    const flow = defineFlow({
      name: 'spin',
      startAt: 'step',
      nodes: { step: compute({ run: ({ attempt }) => ({ attempt }) }) },
      edges: [{ from: 'step', to: 'step' }],
    });
    setTimeout(() => controller.abort('SIGINT'), 100);
    const seen = new Collector();
    const result = await runFlow(flow, null, { cwd: dir.path, observer: seen, signal: controller.signal });
    assert.equal(result.status, 'cancelled');
    assert.ok(seen.of('node.outcome').length > 10);
    assertOneOutcomePerAttempt(seen.events);
  });
});

describe('function actions with runShell', () => {
  it('context.runShell runs a command and reports a non-zero exit without throwing', async () => {
    const flow = defineFlow({
      name: 'runshell',
      startAt: 'check',
      nodes: {
        check: action({
          run: async ({ runShell }) => {
            const r = await runShell({ command: 'sh', args: ['-c', 'echo out; exit 4'] });
            return { code: r.exitCode, out: r.stdout };
          },
        }),
      },
      edges: [],
    });
    assert.deepEqual((await runFlow(flow, null, { cwd: dir.path })).output, { code: 4, out: 'out\n' });
  });

  it('its command is stopped with the attempt (node timeout), nothing left behind', async () => {
    const flow = defineFlow({
      name: 'runshell-timeout',
      startAt: 'wait',
      nodes: { wait: action({ timeoutMs: 200, run: ({ runShell }) => runShell({ command: 'sleep 30 & wait', shell: true }) }) },
      edges: [],
    });
    const seen = new Collector();
    const result = await runFlow(flow, null, { cwd: dir.path, observer: seen });
    assert.equal(result.error?.code, 'node_timeout');
    assert.deepEqual(seen.of('action.completed').map((a) => [a.ok, a.error?.code]), [[false, 'node_timeout']]);
    assertNoChildren(baseline);
  });
});

describe('function actions with runShell (continued)', () => {
  it('a command the function did not wait for is stopped when the attempt ends', async () => {
    const flow = defineFlow({
      name: 'dangling',
      startAt: 'fire',
      nodes: {
        fire: action({
          run: ({ runShell }) => {
            void runShell({ command: 'sleep', args: ['30'] }).catch(() => {});
            return 'fired';
          },
        }),
      },
      edges: [],
    });
    const result = await runFlow(flow, null, { cwd: dir.path });
    assert.equal(result.output, 'fired');
    assertNoChildren(baseline);
  });
});

describe('cancel from the observer', () => {
  it('an abort while node.started is being observed: the node body never runs, one cancelled outcome', async () => {
    const controller = new AbortController();
    let ran = false;
    const flow = defineFlow({ name: 'early', startAt: 'a', nodes: { a: compute({ run: () => { ran = true; return 1; } }) }, edges: [] });
    const seen = new Collector();
    const observer = {
      onEvent(event: LifecycleEvent, at: number) {
        seen.onEvent(event, at);
        if (event.type === 'node.started') controller.abort('SIGINT');
      },
    };
    const result = await runFlow(flow, null, { cwd: dir.path, observer, signal: controller.signal });
    assert.equal(result.status, 'cancelled');
    assert.equal(ran, false);
    assert.deepEqual(seen.trail(), ['run.started', 'node.started:a#1', 'node.outcome:a#1', 'run.cancelled']);
    assert.equal(seen.of('node.outcome')[0]?.outcome, 'cancelled');
  });
});

describe('heartbeat', () => {
  it('emits node.heartbeat every heartbeatMs while the attempt runs, none after', async () => {
    const flow = defineFlow({
      name: 'beat',
      startAt: 'wait',
      nodes: { wait: shell({ heartbeatMs: 40, exec: { command: 'sleep', args: ['0.4'] } }), quick: compute({ heartbeatMs: 40, run: () => 1 }) },
      edges: [{ from: 'wait', to: 'quick' }],
    });
    const seen = new Collector();
    await runFlow(flow, null, { cwd: dir.path, observer: seen });
    const beats = seen.of('node.heartbeat');
    assert.ok(beats.length >= 3, `heartbeats: ${beats.length}`);
    assert.ok(beats.every((b) => b.attemptId === 'wait#1'));
    assert.ok(beats.every((b, i) => i === 0 || b.elapsedMs >= beats[i - 1]!.elapsedMs));
    assertOneOutcomePerAttempt(seen.events);
  });
});
