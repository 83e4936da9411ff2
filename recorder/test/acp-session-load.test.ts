import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const bin = fileURLToPath(new URL('../bin/flowtape-scripted-agent.js', import.meta.url));
const script = fileURLToPath(new URL('./fixtures/agent-scripts/conversation.json', import.meta.url));

test('the scripted agent re-adopts a session with session/load (a respawned agent, as acpx does it)', async () => {
  const child = spawn(process.execPath, [bin, '--script', script], { stdio: ['pipe', 'pipe', 'pipe'] });
  const lines = createInterface({ input: child.stdout! });
  const responses = new Map<number, { result?: any; error?: any }>();
  const waiters = new Map<number, () => void>();
  lines.on('line', (line) => {
    const message = JSON.parse(line);
    if (message.id !== undefined && message.method === undefined) {
      responses.set(message.id, message);
      waiters.get(message.id)?.();
    }
  });
  const call = (id: number, method: string, params: object) =>
    new Promise<{ result?: any; error?: any }>((resolve) => {
      waiters.set(id, () => resolve(responses.get(id)!));
      child.stdin!.write(JSON.stringify({ jsonrpc: '2.0', id, method, params }) + '\n');
    });
  try {
    const init = await call(0, 'initialize', { protocolVersion: 1, clientCapabilities: {} });
    assert.equal(init.result.agentCapabilities.loadSession, true);
    const load = await call(1, 'session/load', { sessionId: 'sess-41', cwd: process.cwd(), mcpServers: [] });
    assert.deepEqual(load.error, undefined);
    // Served from the script (its fallback answers with stopReason "refusal"), not refused as an unknown session.
    const prompt = await call(2, 'session/prompt', { sessionId: 'sess-41', prompt: [{ type: 'text', text: 'anything' }] });
    assert.deepEqual(prompt, { jsonrpc: '2.0', id: 2, result: { stopReason: 'refusal' } });
    const unknown = await call(3, 'session/prompt', { sessionId: 'sess-99', prompt: [{ type: 'text', text: 'x' }] });
    assert.ok(unknown.error, 'a session that was neither created nor loaded is refused');
  } finally {
    child.kill('SIGKILL');
  }
});
