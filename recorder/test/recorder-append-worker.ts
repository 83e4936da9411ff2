// A second (third, …) process appending to the same bundle through the lock: used by recorder-concurrency.test.ts.
//   node --import tsx recorder-append-worker.ts <bundle> <workerId> <attempts> <go-file>
// Prints "ready", waits until <go-file> exists (so all workers append at the same time), then appends.
import { existsSync } from 'node:fs';
import { createRecorder } from '../src/bundle/index.ts';

const [bundle, worker, count, go] = process.argv.slice(2);
if (!bundle || !worker || !count || !go) throw new Error('usage: recorder-append-worker.ts <bundle> <workerId> <attempts> <go-file>');
process.stdout.write('ready\n');
while (!existsSync(go)) await new Promise((resolve) => setTimeout(resolve, 2));
const recorder = createRecorder(bundle, { shared: true, redact: false });
let t = Date.UTC(2026, 0, 2);
for (let i = 0; i < Number(count); i++) {
  const scope = { nodeId: `w${worker}`, attemptId: `w${worker}#${i + 1}` };
  recorder.onEvent({ type: 'node.started', ...scope, nodeType: 'compute', attempt: i + 1 }, t++);
  // Irregular pauses so the processes' batches interleave.
  if (Math.random() < 0.3) await new Promise((resolve) => setTimeout(resolve, Math.random() * 3));
  recorder.onEvent({ type: 'node.outcome', ...scope, outcome: 'ok', durationMs: 0, output: { worker, i, pad: 'p'.repeat(i % 50) } }, t++);
}
await recorder.close();
