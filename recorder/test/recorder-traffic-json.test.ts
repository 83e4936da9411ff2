// The ACP client hands the wire line on with a message when the line is exactly JSON.stringify(message); the
// session writer then writes that text instead of serialising the message again. It must do so only while the
// message is the one that crossed the wire: a message the recorder changed (MCP server secrets redacted) is
// serialised from the changed message, never from the wire text.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { createRecorder } from '../src/bundle/index.ts';
import type { LifecycleEvent } from '../src/runtime/index.ts';
import { flowSnapshot, tempDir } from './recorder-support.ts';

const flow = flowSnapshot('traffic', [{ id: 'ask', nodeType: 'acp', sessionMode: 'shared', sessionHandle: 'main' }], []);
const ask1 = { nodeId: 'ask', attemptId: 'ask#1' };

test('a message with its wire text is written as that text; a redacted one is serialised from the redacted message', async () => {
  const dir = await tempDir();
  try {
    const bundle = join(dir.path, 'b');
    const recorder = createRecorder(bundle, {});
    let t = Date.UTC(2026, 0, 1);
    const emit = (event: LifecycleEvent) => recorder.onEvent(event, t++);
    const initialize = { jsonrpc: '2.0', id: 0, method: 'initialize', params: { protocolVersion: 1 } };
    const initializeWire = JSON.stringify(initialize).replace('"jsonrpc":', '"jsonrpc": ');
    const answer = { jsonrpc: '2.0', id: 0, result: { protocolVersion: 1, authMethods: [] } };
    const secret = 'sk-wire-secret-0123456789';
    const sessionNew = { jsonrpc: '2.0', id: 1, method: 'session/new', params: { cwd: '/w', mcpServers: [{ name: 'db', command: 'db', args: [], env: [{ name: 'TOKEN', value: secret }] }] } };
    emit({ type: 'run.started', runId: 'run-1', flow, input: {}, cwd: '/w', deterministic: false });
    emit({ type: 'node.started', ...ask1, nodeType: 'acp', attempt: 1 });
    // The wire text has other spacing than JSON.stringify would give: writing it proves the text was used as is.
    emit({ type: 'acp.traffic', sessionId: 's1', attemptId: 'ask#1', direction: 'outgoing', message: initialize, json: initializeWire });
    emit({ type: 'acp.traffic', sessionId: 's1', attemptId: 'ask#1', direction: 'incoming', message: answer, json: JSON.stringify(answer) });
    emit({ type: 'acp.traffic', sessionId: 's1', attemptId: 'ask#1', direction: 'outgoing', message: sessionNew, json: JSON.stringify(sessionNew) });
    emit({ type: 'node.outcome', ...ask1, outcome: 'ok', durationMs: 1 });
    emit({ type: 'run.completed', output: null, durationMs: 5 });
    await recorder.close();
    const text = readFileSync(join(bundle, 'sessions', 's1', 'events.ndjson'), 'utf8');
    assert.ok(text.includes(initializeWire), 'the wire text is written as it came');
    assert.ok(!text.includes(secret), 'the MCP secret is not on disk: the redacted message was serialised, not the wire text');
    const lines = text.trimEnd().split('\n').map((l) => JSON.parse(l) as { message?: unknown });
    assert.deepEqual(lines[1]!.message, answer);
  } finally {
    await dir.remove();
  }
});
