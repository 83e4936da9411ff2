// The ACP client against the scripted agent (a real process over stdio): conversation, traffic, permissions,
// fs inside the run directory, matching rules.
import assert from 'node:assert/strict';
import { mkdir, readFile, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { RequestPermissionResponse } from '@agentclientprotocol/sdk';
import { AcpError, type PermissionPolicy } from '../src/acp/index.ts';
import { assertGone, messages, rejection, script, startScripted, tempDir } from './acp-support.ts';

const conversation = script('conversation.json');

describe('ACP client with the scripted agent', () => {
  let root: { path: string; remove(): Promise<void> };
  let run: string;

  before(async () => {
    root = await tempDir();
    run = join(root.path, 'run');
    await mkdir(join(run, 'nested'), { recursive: true });
    await writeFile(join(run, 'notes.txt'), 'one\ntwo\nthree\n');
    await writeFile(join(run, 'nested', 'inside.txt'), 'inside the run directory');
    await mkdir(join(root.path, 'outside'));
    await writeFile(join(root.path, 'outside.txt'), 'outside secret');
    await writeFile(join(root.path, 'outside', 'secret.txt'), 'secret behind a symlink');
    await symlink(join(root.path, 'outside'), join(run, 'link-out'));
  });
  after(() => root.remove());

  it('runs a two-turn conversation in one session and records every message in order', async () => {
    const { agent, recorded } = await startScripted(conversation, run, { permissionPolicy: 'approve-all' });
    try {
      assert.deepEqual(agent.agentInfo, { name: 'scripted-notes-agent', version: '1.0.0' });
      assert.equal(agent.protocolVersion, 1);
      const { sessionId } = await agent.newSession(run);
      assert.equal(sessionId, 'sess-1');

      assert.deepEqual(await agent.prompt(sessionId, 'Summarise notes.txt'), { stopReason: 'end_turn' });
      // Every update sent before the answer has been delivered when prompt() resolves.
      const firstTurn = recorded.updates.map((n) => n.update.sessionUpdate);
      assert.deepEqual(firstTurn, ['agent_thought_chunk', 'plan', 'tool_call', 'tool_call_update', 'agent_message_chunk']);
      const read = recorded.updates[3]!.update;
      assert.equal(read.sessionUpdate, 'tool_call_update');
      assert.equal(read.sessionUpdate === 'tool_call_update' && read.status, 'completed');
      assert.deepEqual(read.sessionUpdate === 'tool_call_update' && read.content, [
        { type: 'content', content: { type: 'text', text: 'one\ntwo\nthree\n' } },
      ]);
      const toolCall = recorded.updates[2]!.update;
      assert.equal(toolCall.sessionUpdate === 'tool_call' && toolCall.kind, 'read');
      assert.deepEqual(toolCall.sessionUpdate === 'tool_call' && toolCall.rawInput, { path: 'notes.txt' });

      assert.deepEqual(await agent.prompt(sessionId, 'Write the summary to summary.md'), { stopReason: 'end_turn' });
      assert.equal(await readFile(join(run, 'summary.md'), 'utf8'), 'three items\n');
      assert.deepEqual(messages(recorded.updates), ['The notes have three items.', 'Summary written.']);
      assert.equal(recorded.permissions.length, 1);
      assert.deepEqual(recorded.permissions[0]!.response, { outcome: { outcome: 'selected', optionId: 'allow' } });
      assert.equal(recorded.updates.every((n) => n.sessionId === 'sess-1'), true);

      // The traffic is the raw JSON-RPC in wire order: requests, their answers, notifications, agent requests.
      const wire = recorded.traffic.filter((r) => r.direction !== 'stderr').map((r) => describeMessage(r.direction, r.message));
      assert.deepEqual(wire.slice(0, 4), ['out initialize#0', 'in result#0', 'out session/new#1', 'in result#1']);
      assert.deepEqual(wire.slice(4, 12), [
        'out session/prompt#2',
        'in session/update', 'in session/update', 'in session/update',
        'in fs/read_text_file#0', 'out result#0',
        'in session/update', 'in session/update',
      ]);
      assert.equal(wire[12], 'in result#2');
      assert.deepEqual(wire.slice(13), [
        'out session/prompt#3',
        'in session/update',
        'in session/request_permission#1', 'out result#1',
        'in fs/write_text_file#2', 'out result#2',
        'in session/update', 'in session/update', 'in session/update',
        'in result#3',
      ]);
      const updatesOnWire = recorded.traffic.filter((r) => (r.message as { method?: string } | undefined)?.method === 'session/update');
      assert.deepEqual(updatesOnWire.map((r) => (r.message as { params: unknown }).params), recorded.updates);
    } finally {
      await agent.close();
    }
    assertGone(agent.pid);
  });

  for (const [policy, expected] of [
    ['approve-all', { search: 'yes', delete: 'yes' }],
    ['approve-reads', { search: 'yes', delete: 'no' }],
    ['deny', { search: 'no', delete: 'no' }],
  ] as const) {
    it(`answers permission requests under the ${policy} policy`, async () => {
      const { agent, recorded } = await startScripted(conversation, run, { permissionPolicy: policy as PermissionPolicy });
      try {
        const { sessionId } = await agent.newSession(run);
        await agent.prompt(sessionId, 'Look and change');
        const outcomes = recorded.permissions.map((p) => (p.response as RequestPermissionResponse).outcome);
        assert.deepEqual(outcomes, [
          { outcome: 'selected', optionId: expected.search === 'yes' ? 'allow' : 'reject' },
          { outcome: 'selected', optionId: expected.delete === 'yes' ? 'yes' : 'no' },
        ]);
        assert.deepEqual(messages(recorded.updates), [expected.search === 'yes' ? 'search allowed' : 'search rejected']);
        // A rejected tool call is visible afterwards: the agent marks it failed.
        const failed = recorded.updates.filter((n) => n.update.sessionUpdate === 'tool_call_update' && n.update.status === 'failed')
          .map((n) => (n.update as { toolCallId: string }).toolCallId);
        assert.deepEqual(failed, expected.delete === 'yes' ? [] : ['call-change']);
        // The answer the agent received is the one reported to onPermission.
        const answers = recorded.traffic.filter((r) => r.direction === 'outgoing' && (r.message as { result?: { outcome?: unknown } }).result?.outcome);
        assert.deepEqual(answers.map((r) => (r.message as { result: unknown }).result), recorded.permissions.map((p) => p.response));
      } finally {
        await agent.close();
      }
      assertGone(agent.pid);
    });
  }

  it('marks the tool call failed and does not write when the permission is denied', async () => {
    const { agent, recorded } = await startScripted(conversation, run, { permissionPolicy: 'deny' });
    try {
      const { sessionId } = await agent.newSession(run);
      await agent.prompt(sessionId, 'Write the summary to summary.md');
      assert.deepEqual(messages(recorded.updates), ['I was not allowed to write the summary.']);
      assert.equal(recorded.traffic.some((r) => (r.message as { method?: string } | undefined)?.method === 'fs/write_text_file'), false);
    } finally {
      await agent.close();
    }
    assertGone(agent.pid);
  });

  it('sends tool-call locations and diff paths absolute: relative ones joined to the session cwd', async () => {
    const { agent, recorded } = await startScripted(conversation, run);
    try {
      // A session in a subdirectory: paths are joined to the session's cwd, not the agent's.
      const cwd = join(run, 'nested');
      const { sessionId } = await agent.newSession(cwd);
      await agent.prompt(sessionId, 'Show paths');
      const [call, update] = recorded.updates.map((n) => n.update as { locations?: unknown; content?: unknown });
      assert.deepEqual(call!.locations, [{ path: `${cwd}/notes.txt`, line: 2 }, { path: '/etc/hostname' }, { path: `${cwd}/../up.txt` }]);
      assert.deepEqual(call!.content, [
        { type: 'content', content: { type: 'text', text: 'plain text' } },
        { type: 'diff', path: `${cwd}/nested/new.md`, newText: 'new' },
        { type: 'diff', path: '/tmp/absolute.md', oldText: 'a', newText: 'b' },
      ]);
      assert.deepEqual(update!.locations, [{ path: `${cwd}/nested/inside.txt` }]);
      assert.deepEqual(update!.content, [{ type: 'diff', path: `${cwd}/notes.txt`, oldText: 'one', newText: 'uno' }]);
    } finally {
      await agent.close();
    }
    assertGone(agent.pid);
  });

  it('serves fs requests inside the run directory only', async () => {
    const { agent, recorded } = await startScripted(conversation, run);
    try {
      const { sessionId } = await agent.newSession(run);
      assert.deepEqual(await agent.prompt(sessionId, 'Read outside'), { stopReason: 'end_turn' });
      assert.deepEqual(messages(recorded.updates), [
        `error: path may not contain "..": ${run}/../outside.txt`,
        'error: path is outside the run directory: /etc/hostname',
        `error: path leads outside the run directory (symlink): ${run}/link-out/secret.txt`,
        `error: path leads outside the run directory (symlink): ${run}/link-out/new.txt`,
        'inside the run directory',
      ]);
      await assert.rejects(readFile(join(root.path, 'outside', 'new.txt')), { code: 'ENOENT' });
      // Each refusal went back to the agent as a JSON-RPC error.
      const errors = recorded.traffic.filter((r) => r.direction === 'outgoing' && (r.message as { error?: unknown }).error)
        .map((r) => (r.message as { error: { code: number } }).error.code);
      assert.deepEqual(errors, [-32602, -32602, -32602, -32602]);
      assert.deepEqual(recorded.traffic.filter((r) => r.direction === 'stderr'), [{ direction: 'stderr', text: 'finished the escape attempts' }]);
    } finally {
      await agent.close();
    }
    assertGone(agent.pid);
  });

  it('matches prompts exactly, by regex, by use count, and falls back', async () => {
    const { agent, recorded } = await startScripted(conversation, run);
    try {
      const { sessionId } = await agent.newSession(run);
      assert.deepEqual(await agent.prompt(sessionId, 'Fix Bug #42'), { stopReason: 'max_tokens' });
      const first = await rejection(agent.prompt(sessionId, 'Try again'));
      assert.ok(first instanceof AcpError);
      assert.equal(first.code, 'rpc_error');
      assert.equal(first.rpcCode, -32603);
      assert.equal(first.message, 'agent refused session/prompt: Internal error: model overloaded');
      assert.deepEqual(await agent.prompt(sessionId, 'Try again'), { stopReason: 'end_turn' });
      assert.deepEqual(await agent.prompt(sessionId, 'Try again'), { stopReason: 'end_turn' });
      assert.deepEqual(await agent.prompt(sessionId, 'fix bug #42 please'), { stopReason: 'refusal' });
      assert.deepEqual(await agent.prompt(sessionId, 'summarise notes.txt'), { stopReason: 'refusal' });
      assert.deepEqual(messages(recorded.updates), [
        'Fixed it.', 'Worked this time.', 'Worked this time.', 'I do not know that one.', 'I do not know that one.',
      ]);
      // A second session gets the next id from the counter.
      assert.deepEqual(await agent.newSession(run), { sessionId: 'sess-2' });
    } finally {
      await agent.close();
    }
    assertGone(agent.pid);
  });

  it('answers an unmatched prompt with an error naming it when the script has no fallback', async () => {
    const { agent } = await startScripted(script('failures.json'), run);
    try {
      const { sessionId } = await agent.newSession(run);
      const error = await rejection(agent.prompt(sessionId, 'what is this?'));
      assert.equal(error.code, 'rpc_error');
      assert.equal(error.message, 'agent refused session/prompt: scripted agent has no turn matching prompt "what is this?"');
    } finally {
      await agent.close();
    }
    assertGone(agent.pid);
  });

  it('runs as its package bin, with the script given by environment variable', async () => {
    const { agent, recorded } = await startScripted(conversation, run, {
      command: script('../../../bin/flowtape-scripted-agent.js'),
      args: [],
      env: { FLOWTAPE_AGENT_SCRIPT: conversation },
    });
    try {
      const { sessionId } = await agent.newSession(run);
      assert.deepEqual(await agent.prompt(sessionId, 'fix issue #7'), { stopReason: 'max_tokens' });
      assert.deepEqual(messages(recorded.updates), ['Fixed it.']);
    } finally {
      await agent.close();
    }
    assertGone(agent.pid);
  });
});

function describeMessage(direction: string, message: unknown): string {
  const m = message as { id?: number; method?: string };
  const side = direction === 'outgoing' ? 'out' : 'in';
  if (m.method) return `${side} ${m.method}${m.id === undefined ? '' : `#${m.id}`}`;
  return `${side} result#${m.id}`;
}
