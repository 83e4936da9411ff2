/**
 * The live export worker: follows the bundle's trace.ndjson (complete lines only: the writer has committed them)
 * and streams spans to the collector. Woken by the writer's thread ('read'); on 'close' it reads to the end,
 * flushes and answers with its warnings.
 */
import { readFileSync } from 'node:fs';
import { setPriority } from 'node:os';
import { join } from 'node:path';
import { parentPort, workerData } from 'node:worker_threads';
import { BUNDLE_FILES } from '@flowtape/schema';
import type { LiveWorkerData, LiveWorkerMessage, LiveWorkerReply } from './otlp-live.ts';
import { createSpanStream } from './otlp-stream.ts';
import { NdjsonTail } from './otlp-tail.ts';

// Export is background work: on Linux a thread's nice value is its own, so this lowers the priority of this thread
// only, and when every core is busy the run's thread goes first (the worker catches up when the run waits or ends).
try {
  setPriority(10);
} catch {
  // not allowed here: run at the normal priority
}

/** This thread's own CPU time (Linux /proc/thread-self: user + system, in clock ticks of 10 ms), for the benchmark. */
function threadCpu(): { cpuMs?: number } {
  try {
    const stat = readFileSync('/proc/thread-self/stat', 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return { cpuMs: (Number(fields[11]) + Number(fields[12])) * 10 };
  } catch {
    return {};
  }
}

const data = workerData as LiveWorkerData;
const port = parentPort!;
const reply = (message: LiveWorkerReply) => port.postMessage(message);

if (data.faults?.startDelayMs) await new Promise((resolve) => setTimeout(resolve, data.faults!.startDelayMs));
if (data.faults?.crashAtStart) throw new Error(data.faults.crashAtStart);

try {
  const stream = await createSpanStream(data.bundleDir, { ...data.options, onNotice: (line) => reply({ kind: 'notice', line }) });
  const trace = new NdjsonTail(join(data.bundleDir, BUNDLE_FILES.trace));
  port.on('message', (message: LiveWorkerMessage) => {
    try {
      // The stream queues these in order; reading the file here keeps the lines in order too.
      void stream.add(trace.read());
      if (message.kind === 'close') {
        void stream.close().then(
          (warnings) => reply({ kind: 'closed', warnings, ...threadCpu() }),
          (error: unknown) => reply({ kind: 'failed', message: (error as Error).message ?? String(error) }),
        );
      }
    } catch (error) {
      reply({ kind: 'failed', message: (error as Error).message ?? String(error) });
    }
  });
  reply({ kind: 'ready' });
} catch (error) {
  reply({ kind: 'failed', message: (error as Error).message ?? String(error) });
}

