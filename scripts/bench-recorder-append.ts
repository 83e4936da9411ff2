/**
 * bench:recorder's trace append throughput: the same events through the trace writer (JSON, seq, batched appends)
 * against raw sequential writes of the very bytes it produced, alternating, median of 5.
 */
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import type { TraceEvent } from '@flowtape/schema';
import type { TraceWriter } from '@flowtape/recorder';
import { median, recordFigure } from './bench-env.ts';

/** Appends `count` node events through the TraceWriter, then writes the same bytes raw, line by line. */
export async function benchAppend(count: number, Writer: typeof TraceWriter, scratch: string): Promise<void> {
  const dir = mkdtempSync(join(scratch, 'append-'));
  const events: Array<Omit<TraceEvent, 'seq'>> = [];
  events.push({ at: new Date().toISOString(), runId: 'bench', scope: 'run', type: 'run.started', payload: { flowName: 'bench' } } as Omit<TraceEvent, 'seq'>);
  for (let i = 0; events.length < count; i++) {
    const at = new Date(Date.UTC(2026, 0, 1) + i).toISOString();
    const scope = { runId: 'bench', nodeId: `n${i}`, attemptId: `n${i}#1` };
    events.push({ at, ...scope, scope: 'node', type: 'node.started', payload: { nodeType: 'compute', attempt: 1 } } as Omit<TraceEvent, 'seq'>);
    events.push({ at, ...scope, scope: 'node', type: 'node.outcome', payload: { outcome: 'ok', durationMs: 0, output: { inline: { i, seed: 1 } } } } as Omit<TraceEvent, 'seq'>);
  }
  events.length = count;

  // Each timed part starts on a collected heap, so it pays for its own garbage only: the copies made just before it
  // (1M objects) or the other part's lines would otherwise land a major collection (150–250 ms) in one part or the
  // other, at random (measured: writer ÷ raw 1.3–1.9× on the same code).
  const collect = fullCollection();
  // Writer and raw runs alternate, so both see the same machine load; each figure is the median of 5.
  const writerRuns: number[] = [];
  const rawRuns: number[] = [];
  const oneRuns: number[] = [];
  let bytes = Buffer.alloc(0);
  for (let rep = 0; rep < 5; rep++) {
    const traceFile = join(dir, `trace-${rep}.ndjson`);
    const writer = new Writer({
      path: traceFile,
      shared: false,
      lockTarget: dir,
      lockfilePath: join(dir, '.lock'),
      exclusiveCreate: true,
      redact: (text) => text,
      // The append path alone: the reducer fold that feeds projections is in the per-node figures above.
      keepState: false,
    });
    const copies = events.map((e) => ({ ...e, payload: { ...e.payload } }));
    collect();
    const t0 = performance.now();
    for (const event of copies) writer.append(event as never);
    await writer.flush();
    writerRuns.push(performance.now() - t0);
    await writer.close();

    bytes = readFileSync(traceFile);
    const lines = bytes.toString('utf8').split('\n').filter(Boolean).map((l) => `${l}\n`);
    const fd = openSync(join(dir, `raw-${rep}.ndjson`), 'w');
    collect();
    const r0 = performance.now();
    for (const line of lines) writeSync(fd, line);
    rawRuns.push(performance.now() - r0);
    closeSync(fd);
    const fd2 = openSync(join(dir, `one-${rep}.ndjson`), 'w');
    collect();
    const o0 = performance.now();
    writeSync(fd2, bytes);
    oneRuns.push(performance.now() - o0);
    closeSync(fd2);
    rmSync(traceFile);
  }
  rmSync(dir, { recursive: true, force: true });
  const writerMs = median(writerRuns);
  const rawMs = median(rawRuns);
  const oneMs = median(oneRuns);
  const mb = bytes.byteLength / 1048576;
  const rate = (ms: number) => `${((count / ms) * 1000).toFixed(0).padStart(9)} events/s  ${((mb / ms) * 1000).toFixed(1).padStart(6)} MiB/s`;
  console.log(`\nTrace append throughput: ${count} events, ${mb.toFixed(1)} MiB`);
  console.log(`  flowtape TraceWriter (JSON, redaction hook, seq, batched appends)   ${rate(writerMs)}  (${writerMs.toFixed(0)} ms)`);
  console.log('  (the reducer fold that feeds the projections is not part of appending: it is in the per-node figures)');
  console.log(`  raw sequential writes, one write per line (same bytes)           ${rate(rawMs)}  (${rawMs.toFixed(0)} ms)`);
  console.log(`  raw single write of the whole file (lower bound, same bytes)     ${rate(oneMs)}  (${oneMs.toFixed(0)} ms)`);
  console.log(`  writer / raw per-line: ${(writerMs / rawMs).toFixed(2)}×   (target ≤ 1.5×)`);
  recordFigure('bench:recorder', { name: `trace writer, ${count} events`, value: (writerMs * 1000) / count, unit: 'µs/event', floor: (rawMs * 1000) / count, floorName: 'raw per-line writes of the same bytes', target: '≤ 1.5× floor' });
}

/** V8's full collection, callable without starting node with --expose-gc (the flag takes effect for new contexts). */
function fullCollection(): () => void {
  setFlagsFromString('--expose-gc');
  return runInNewContext('gc') as () => void;
}
