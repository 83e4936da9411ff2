// A second (third, …) process appending to the same bundle through the lock: used by recorder-concurrency.test.ts,
// recorder-shared-writers.test.ts and scripts/bench-concurrency.ts.
//   node --import tsx recorder-append-worker.ts <bundle> <workerId> <attempts> <go-file> [session]
// Prints "ready", waits until <go-file> exists (so all workers append at the same time), then appends. With
// `session`, every attempt is also an ACP turn in session s1 (bound by the bundle's owner): a prompt, its request,
// an update and the response in s1's events.ndjson, named by acp.prompt_sent and acp.turn_finished.
// A writer that refuses to start (or fails) prints one line on stderr and exits 2.
import { existsSync } from 'node:fs';
import { createRecorder } from '../src/bundle/index.ts';

const [bundle, worker, count, go, mode] = process.argv.slice(2);
if (!bundle || !worker || !count || !go) throw new Error('usage: recorder-append-worker.ts <bundle> <workerId> <attempts> <go-file> [session]');
process.stdout.write('ready\n');
while (!existsSync(go)) await new Promise((resolve) => setTimeout(resolve, 2));
try {
  const recorder = createRecorder(bundle, { shared: true, redact: false });
  let t = Date.UTC(2026, 0, 2);
  const rpc = (message: Record<string, unknown>) => ({ jsonrpc: '2.0', ...message });
  for (let i = 0; i < Number(count); i++) {
    const scope = { nodeId: `w${worker}`, attemptId: `w${worker}#${i + 1}` };
    recorder.onEvent({ type: 'node.started', ...scope, nodeType: mode === 'session' ? 'acp' : 'compute', attempt: i + 1 }, t++);
    if (mode === 'session') {
      const id = Number(worker) * 100_000 + i;
      const traffic = (direction: 'incoming' | 'outgoing', message: unknown) =>
        recorder.onEvent({ type: 'acp.traffic', sessionId: 's1', attemptId: scope.attemptId, direction, message }, t++);
      recorder.onEvent({ type: 'acp.prompt_sent', ...scope, sessionId: 's1', prompt: `w${worker} turn ${i}` }, t++);
      traffic('outgoing', rpc({ id, method: 'session/prompt', params: { sessionId: 'acp-1', prompt: [{ type: 'text', text: `w${worker} turn ${i}` }] } }));
      if (Math.random() < 0.3) await new Promise((resolve) => setTimeout(resolve, Math.random() * 3));
      traffic('incoming', rpc({ method: 'session/update', params: { sessionId: 'acp-1', update: { sessionUpdate: 'agent_message_chunk', content: { type: 'text', text: `ok ${worker}.${i}` } } } }));
      traffic('incoming', rpc({ id, result: { stopReason: 'end_turn' } }));
      recorder.onEvent({ type: 'acp.turn_finished', ...scope, sessionId: 's1', stopReason: 'end_turn', response: `ok ${worker}.${i}` }, t++);
    }
    // Irregular pauses so the processes' batches interleave.
    if (Math.random() < 0.3) await new Promise((resolve) => setTimeout(resolve, Math.random() * 3));
    recorder.onEvent({ type: 'node.outcome', ...scope, outcome: 'ok', durationMs: 0, output: { worker, i, pad: 'p'.repeat(i % 50) } }, t++);
  }
  await recorder.close();
} catch (error) {
  process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(2);
}
