import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildConversation, SessionRecord, type SessionEventLine } from '../src/index.ts';

const at = '2026-01-01T00:00:00.000Z';
let seq = 0;
const line = (direction: SessionEventLine['direction'], message: unknown, attemptId = 'ask#1'): SessionEventLine => ({ seq: ++seq, at, direction, message: message as never, attemptId });
const update = (u: object) => line('incoming', { jsonrpc: '2.0', method: 'session/update', params: { sessionId: 'x', update: u } });

test('builds the conversation from raw ACP traffic: prompt, chunks merged, thoughts, tool calls, plan, permission', () => {
  seq = 0;
  const lines = [
    line('outgoing', { jsonrpc: '2.0', id: 0, method: 'initialize', params: {} }),
    line('outgoing', { jsonrpc: '2.0', id: 2, method: 'session/prompt', params: { sessionId: 'x', prompt: [{ type: 'text', text: 'Review ' }, { type: 'text', text: 'PR 7' }] } }),
    update({ sessionUpdate: 'agent_thought_chunk', content: { type: 'text', text: 'Let me ' } }),
    update({ sessionUpdate: 'agent_thought_chunk', content: { type: 'text', text: 'look.' } }),
    update({ sessionUpdate: 'plan', entries: [{ content: 'read diff', status: 'pending', priority: 'high' }] }),
    update({ sessionUpdate: 'tool_call', toolCallId: 't1', title: 'Read file', kind: 'read', status: 'pending' }),
    line('incoming', { jsonrpc: '2.0', id: 7, method: 'session/request_permission', params: { sessionId: 'x', toolCall: { toolCallId: 't1', title: 'Read file' }, options: [{ optionId: 'allow', name: 'Allow', kind: 'allow_once' }] } }),
    line('outgoing', { jsonrpc: '2.0', id: 7, result: { outcome: { outcome: 'selected', optionId: 'allow' } } }),
    update({ sessionUpdate: 'tool_call_update', toolCallId: 't1', status: 'completed', content: [{ type: 'content', content: { type: 'text', text: 'ok' } }] }),
    update({ sessionUpdate: 'agent_message_chunk', content: { type: 'text', text: '<script>alert(1)</script> LG' } }),
    update({ sessionUpdate: 'agent_message_chunk', content: { type: 'text', text: 'TM' } }),
    line('incoming', { jsonrpc: '2.0', id: 2, result: { stopReason: 'end_turn' } }),
  ];
  const messages = buildConversation(lines);
  assert.deepEqual(messages.map((m) => m.role), ['user', 'thought', 'plan', 'tool_call', 'permission', 'agent']);
  assert.deepEqual(messages[0], { role: 'user', text: 'Review PR 7', index: 0, attemptId: 'ask#1', sessionEvents: { from: 2, to: 2 } });
  assert.equal(messages[1]?.role === 'thought' && messages[1].text, 'Let me look.');
  assert.deepEqual(messages[1]?.sessionEvents, { from: 3, to: 4 });
  const tool = messages[3];
  assert.ok(tool?.role === 'tool_call');
  assert.equal(tool.status, 'completed');
  assert.equal(tool.toolKind, 'read');
  assert.deepEqual(tool.sessionEvents, { from: 6, to: 9 });
  const permission = messages[4];
  assert.ok(permission?.role === 'permission');
  assert.deepEqual(permission.answer, { outcome: 'selected', optionId: 'allow' });
  assert.deepEqual(permission.options, [{ optionId: 'allow', name: 'Allow', optionKind: 'allow_once' }]);
  assert.equal(messages[5]?.role === 'agent' && messages[5].text, '<script>alert(1)</script> LGTM', 'agent text is kept verbatim (the viewer escapes it)');
  // The result is a valid record.json.
  SessionRecord.parse({ schema: 'flowtape.session-record.v1', sessionId: 's1', acpSessionId: 'x', handle: 'main', lastSeq: seq, updatedAt: at, messages });
});

test('chunks of different attempts are not merged; garbage and stderr lines are ignored', () => {
  seq = 0;
  const messages = buildConversation([
    line('incoming', { jsonrpc: '2.0', method: 'session/update', params: { update: { sessionUpdate: 'agent_message_chunk', content: { type: 'text', text: 'a' } } } }, 'n#1'),
    { seq: ++seq, at, direction: 'stderr', text: 'debug log' },
    { seq: ++seq, at, direction: 'incoming', text: 'garbage{' },
    line('incoming', { jsonrpc: '2.0', method: 'session/update', params: { update: { sessionUpdate: 'agent_message_chunk', content: { type: 'text', text: 'b' } } } }, 'n#2'),
  ]);
  assert.deepEqual(messages.map((m) => [m.role, m.attemptId, m.role === 'agent' ? m.text : '']), [['agent', 'n#1', 'a'], ['agent', 'n#2', 'b']]);
});

test('a replayed turn says how it was served: live (answer _meta), miss (replayMiss error), else nothing', () => {
  seq = 0;
  const prompt = (id: number, text: string, attemptId: string) => line('outgoing', { jsonrpc: '2.0', id, method: 'session/prompt', params: { sessionId: 'x', prompt: [{ type: 'text', text }] } }, attemptId);
  const chunk = (text: string, attemptId: string) => line('incoming', { jsonrpc: '2.0', method: 'session/update', params: { sessionId: 'x', update: { sessionUpdate: 'agent_message_chunk', content: { type: 'text', text } } } }, attemptId);
  const messages = buildConversation([
    prompt(1, 'recorded', 'a#1'),
    chunk('from the tape', 'a#1'),
    line('incoming', { jsonrpc: '2.0', id: 1, result: { stopReason: 'end_turn' } }, 'a#1'),
    prompt(2, 'changed', 'b#1'),
    chunk('LIVE answer', 'b#1'),
    line('incoming', { jsonrpc: '2.0', id: 2, result: { stopReason: 'end_turn', _meta: { 'flowtape/replay': 'live' } } }, 'b#1'),
    prompt(3, 'missing', 'c#1'),
    line('incoming', { jsonrpc: '2.0', id: 3, error: { code: -32042, message: 'replay miss', data: { replayMiss: { diff: '' } } } }, 'c#1'),
  ]);
  assert.deepEqual(messages.map((m) => [m.attemptId, m.role, m.replay]), [
    ['a#1', 'user', undefined],
    ['a#1', 'agent', undefined],
    ['b#1', 'user', 'live'],
    ['b#1', 'agent', 'live'],
    ['c#1', 'user', 'miss'],
  ]);
  assert.equal('replay' in messages[0]!, false, 'a recorded turn gets no field (record.json stays byte-equal to the source)');
});
