// Permission policies against the scripted agent (a real process): what each policy answers for each tool kind, as
// the README's table documents it, and a deny that cannot be expressed (no reject option) cancelling the turn.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { RequestPermissionResponse } from '@agentclientprotocol/sdk';
import { join } from 'node:path';
import { AcpError, decidePermission, DEFAULT_PERMISSION_POLICY, type PermissionPolicy } from '../src/acp/index.ts';
import { record } from '../src/record.ts';
import { acp, compute, defineFlow, runFlow } from '../src/runtime/index.ts';
import { verifyBundle } from '../src/tools/verify.ts';
import { agentBin, assertGone, messages, rejection, script, startScripted, tempDir } from './acp-support.ts';
import { readJson, readLines, traceOf } from './recorder-support.ts';

const permissions = script('permissions.json');
const testedKinds = ['read', 'search', 'fetch', 'edit', 'execute'] as const;
type Answer = 'allow' | 'reject';

// Written out here, not derived from the code or the README: both are checked against it.
const expected: Record<PermissionPolicy, Record<(typeof testedKinds)[number], Answer>> = {
  'approve-all': { read: 'allow', search: 'allow', fetch: 'allow', edit: 'allow', execute: 'allow' },
  'approve-reads': { read: 'allow', search: 'allow', fetch: 'reject', edit: 'reject', execute: 'reject' },
  deny: { read: 'reject', search: 'reject', fetch: 'reject', edit: 'reject', execute: 'reject' },
};

/** The README's "Permission policies" table: policy → tool kind → answer, and which policy it calls the default. */
function readmeTable(): { answers: Record<string, Record<string, string>>; defaultPolicy: string | undefined } {
  const readme = readFileSync(fileURLToPath(new URL('../../README.md', import.meta.url)), 'utf8');
  const section = readme.split(/^### Permission policies$/m)[1]?.split(/^#{2,3} /m)[0];
  assert.ok(section, 'README has a "### Permission policies" section');
  const rows = section.split('\n').filter((line) => line.startsWith('|')).map((line) => line.split('|').slice(1, -1).map((c) => c.trim()));
  const [header, , ...body] = rows;
  assert.ok(header && body.length > 0, 'the section has a table');
  const policies = header.slice(1).map((cell) => /`([a-z-]+)`/.exec(cell)?.[1] ?? cell);
  const defaultPolicy = policies[header.slice(1).findIndex((cell) => /default/i.test(cell))];
  const answers: Record<string, Record<string, string>> = {};
  for (const row of body) {
    const kinds = [...row[0]!.matchAll(/`([a-z_]+)`/g)].map((m) => m[1]!);
    policies.forEach((policy, i) => {
      for (const kind of kinds) (answers[policy] ??= {})[kind] = row[i + 1]!.toLowerCase().split(/\s/)[0]!;
    });
  }
  return { answers, defaultPolicy };
}

describe('permission policies', () => {
  let root: { path: string; remove(): Promise<void> };
  before(async () => {
    root = await tempDir();
  });
  after(() => root.remove());

  it('the README table says what the tests expect, and names the default the client uses', () => {
    const { answers, defaultPolicy } = readmeTable();
    for (const [policy, byKind] of Object.entries(expected)) {
      for (const [kind, answer] of Object.entries(byKind)) assert.equal(answers[policy]?.[kind], answer, `README: ${policy} × ${kind}`);
    }
    assert.equal(defaultPolicy, 'approve-reads');
    assert.equal(DEFAULT_PERMISSION_POLICY, 'approve-reads');
  });

  it('falls back as documented when the wanted option kind is not offered, and uses the kind announced earlier', () => {
    const request = (options: Array<{ optionId: string; kind: string }>, kind?: string) => ({
      sessionId: 's',
      toolCall: { toolCallId: 'call-1', title: 'Do it', ...(kind ? { kind } : {}) },
      options: options.map((o) => ({ ...o, name: o.optionId })),
    }) as Parameters<typeof decidePermission>[1];
    const rejectOnly = [{ optionId: 'no', kind: 'reject_once' }];
    // No allow option: the reject option is the only answer short of a cancel.
    assert.deepEqual(decidePermission('approve-all', request(rejectOnly, 'edit')), { kind: 'answer', response: { outcome: { outcome: 'selected', optionId: 'no' } } });
    // No option at all: nothing to select, the turn is cancelled.
    assert.deepEqual(decidePermission('approve-all', request([], 'read')), { kind: 'cancel_turn', detail: 'tool call call-1 "Do it" (kind read): the agent offered no option to select' });
    // The request names no kind: the one announced in the tool call counts; with none at all, approve-reads rejects.
    const both = [{ optionId: 'yes', kind: 'allow_once' }, { optionId: 'no', kind: 'reject_once' }];
    assert.deepEqual(decidePermission('approve-reads', request(both), 'search'), { kind: 'answer', response: { outcome: { outcome: 'selected', optionId: 'yes' } } });
    assert.deepEqual(decidePermission('approve-reads', request(both)), { kind: 'answer', response: { outcome: { outcome: 'selected', optionId: 'no' } } });
    assert.deepEqual(decidePermission('approve-reads', request([{ optionId: 'yes', kind: 'allow_once' }], 'think')), {
      kind: 'cancel_turn', detail: 'tool call call-1 "Do it" (kind think): the approve-reads policy rejects it but the agent offered no reject option',
    });
  });

  for (const policy of Object.keys(expected) as PermissionPolicy[]) {
    it(`${policy}: answers read, search, fetch, edit and execute tool calls as documented, preferring the "once" options`, async () => {
      const { agent, recorded } = await startScripted(permissions, root.path, { permissionPolicy: policy });
      try {
        const { sessionId } = await agent.newSession(root.path);
        assert.deepEqual(await agent.prompt(sessionId, 'Ask for every kind'), { stopReason: 'end_turn' });
        // The agent's own view of each answer: the branch it took.
        assert.deepEqual(messages(recorded.updates), testedKinds.map((kind) => `${kind} ${expected[policy][kind] === 'allow' ? 'allowed' : 'rejected'}`));
        // The options chosen: allow_once ("yes") over allow_always, reject_once ("no") over reject_always.
        const chosen = recorded.permissions.map((p) => (p.response as RequestPermissionResponse).outcome);
        assert.deepEqual(chosen, testedKinds.map((kind) => ({ outcome: 'selected', optionId: expected[policy][kind] === 'allow' ? 'yes' : 'no' })));
        // What went over the wire is what was reported.
        const answers = recorded.traffic.filter((r) => r.direction === 'outgoing' && (r.message as { result?: { outcome?: unknown } }).result?.outcome);
        assert.deepEqual(answers.map((r) => (r.message as { result: unknown }).result), recorded.permissions.map((p) => p.response));

        // With only the "always" options offered, those are chosen.
        await agent.prompt(sessionId, 'Ask with always options only');
        assert.deepEqual(recorded.permissions.at(-1)!.response, {
          outcome: { outcome: 'selected', optionId: policy === 'approve-all' ? 'always-yes' : 'always-no' },
        });
      } finally {
        await agent.close();
      }
      assertGone(agent.pid);
    });
  }

  it('deny with no reject option offered: sends session/cancel, answers the request cancelled, the turn ends cancelled', async () => {
    const { agent, recorded } = await startScripted(permissions, root.path, { permissionPolicy: 'deny' });
    try {
      const { sessionId } = await agent.newSession(root.path);
      const error = await rejection(agent.prompt(sessionId, 'Delete without asking twice'));
      assert.ok(error instanceof AcpError);
      assert.equal(error.code, 'permission_cancelled');
      assert.equal(error.stopReason, 'cancelled');
      assert.equal(
        error.message,
        'tool call call-delete (kind delete): the deny policy rejects it but the agent offered no reject option, so flowtape cancelled the turn (session/cancel); the agent stopped with cancelled',
      );
      // ACP's order: session/cancel first, then the pending permission request answered `cancelled`.
      const wire = recorded.traffic.filter((r) => r.direction !== 'stderr').map((r) => {
        const m = r.message as { method?: string; id?: number; result?: unknown };
        return `${r.direction === 'outgoing' ? 'out' : 'in'} ${m.method ?? JSON.stringify(m.result)}`;
      });
      const asked = wire.indexOf('in session/request_permission');
      assert.deepEqual(wire.slice(asked, asked + 4), [
        'in session/request_permission',
        'out session/cancel',
        'out {"outcome":{"outcome":"cancelled"}}',
        'in {"stopReason":"cancelled"}',
      ]);
      // The turn did not go on as if the user had refused.
      assert.deepEqual(messages(recorded.updates), []);
      // The session is still usable: the agent acknowledged the cancel.
      assert.deepEqual(await agent.prompt(sessionId, 'Hello'), { stopReason: 'end_turn' });
      assert.deepEqual(messages(recorded.updates), ['Hello again.']);
    } finally {
      await agent.close();
    }
    assertGone(agent.pid);
  });

  it('each node\'s policy answers its own turns, also in a session shared with a node of another policy', async () => {
    const ask = (permissionPolicy?: PermissionPolicy) => acp({ prompt: 'Ask with always options only', ...(permissionPolicy ? { permissionPolicy } : {}) });
    const flow = defineFlow({
      name: 'policy-per-node',
      startAt: 'open',
      agentCommand: [process.execPath, agentBin, '--script', permissions],
      permissionPolicy: 'approve-all',
      nodes: {
        open: ask(),
        careful: ask('deny'),
        again: ask(),
        collect: compute({ run: ({ outputs }) => [outputs.open, outputs.careful, outputs.again] }),
      },
      edges: [{ from: 'open', to: 'careful' }, { from: 'careful', to: 'again' }, { from: 'again', to: 'collect' }],
    });
    const result = await runFlow(flow, {}, { cwd: root.path });
    assert.equal(result.status, 'completed', JSON.stringify(result.error));
    assert.deepEqual(result.output, ['always allowed', 'always rejected', 'always allowed']);
    // A node naming no policy gets the default, not the policy of the node that opened the session.
    const { permissionPolicy: _p, ...noPolicy } = flow;
    const mixed = defineFlow({ ...noPolicy, name: 'default-after-deny', startAt: 'careful', edges: [{ from: 'careful', to: 'edit' }, { from: 'edit', to: 'collect2' }],
      nodes: { careful: ask('approve-all'), edit: ask(), collect2: compute({ run: ({ outputs }) => [outputs.careful, outputs.edit] }) } });
    const second = await runFlow(mixed, {}, { cwd: root.path });
    assert.deepEqual(second.output, ['always allowed', 'always rejected'], 'approve-reads (the default) rejects an edit');
  });

  it('a turn cancelled by the policy is recorded: session/cancel in events.ndjson, stop reason cancelled, the session kept', async () => {
    const flow = defineFlow({
      name: 'deny-without-reject',
      startAt: 'remove',
      agentCommand: [process.execPath, agentBin, '--script', permissions],
      nodes: {
        remove: acp({ prompt: 'Delete without asking twice', permissionPolicy: 'deny' }),
        greet: acp({ prompt: 'Hello' }),
      },
      // A failed node follows only a switch on its result.
      edges: [{ from: 'remove', switch: { on: '$result.outcome', cases: {}, default: 'greet' } }],
    });
    const result = await record(flow, {}, { cwd: root.path, outDir: join(root.path, 'runs') });
    assert.equal(result.status, 'completed', JSON.stringify(result.error));
    const trace = traceOf(result.bundleDir);
    const outcomes = trace.filter((e) => e.type === 'node.outcome').map((e) => [e.attemptId, e.payload.outcome, e.payload.error?.code]);
    assert.deepEqual(outcomes, [['remove#1', 'failed', 'permission_cancelled'], ['greet#1', 'ok', undefined]]);
    const error = trace.find((e) => e.type === 'node.outcome')!.payload.error as { message: string };
    assert.match(error.message, /^node "remove": agent [^:]+: tool call call-delete \(kind delete\): the deny policy rejects it but the agent offered no reject option, so flowtape cancelled the turn \(session\/cancel\); the agent stopped with cancelled$/);
    const turns = trace.filter((e) => e.type === 'acp.turn_finished').map((e) => [e.attemptId, e.payload.stopReason]);
    assert.deepEqual(turns, [['remove#1', 'cancelled'], ['greet#1', 'end_turn']]);
    // The agent acknowledged the cancel: the next node on the handle continues the same session.
    const bound = trace.filter((e) => e.type === 'session.bound').map((e) => [e.sessionId, e.payload.reused]);
    assert.deepEqual(bound, [['s1', false], ['s1', true]]);
    const wire = readLines<{ direction: string; message?: { method?: string; result?: unknown } }>(join(result.bundleDir, 'sessions/s1/events.ndjson'))
      .filter((l) => l.message)
      .map((l) => `${l.direction} ${l.message!.method ?? JSON.stringify(l.message!.result)}`);
    const asked = wire.indexOf('incoming session/request_permission');
    assert.deepEqual(wire.slice(asked, asked + 4), [
      'incoming session/request_permission',
      'outgoing session/cancel',
      'outgoing {"outcome":{"outcome":"cancelled"}}',
      'incoming {"stopReason":"cancelled"}',
    ]);
    // The conversation shows the permission answered `cancelled`.
    const conversation = readJson<{ messages: Array<{ role: string; answer?: unknown }> }>(join(result.bundleDir, 'sessions/s1/record.json'));
    assert.deepEqual(conversation.messages.filter((m) => m.role === 'permission').map((m) => m.answer), [{ outcome: 'cancelled' }]);
    assert.deepEqual((await verifyBundle(result.bundleDir)).problems, []);
  });
});
