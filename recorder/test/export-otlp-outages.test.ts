// Live export to a collector that comes and goes: a real OTLP receiver (OpenTelemetry's TestCollector on 127.0.0.1)
// stopped and started again on its port, and a closed port for a collector that is down. Export goes on after an
// outage, each outage is one warning line, and nothing is left to keep the process alive after a run.
// The time bounds here are far above what the fixed code takes and far below what the defect took: hang tests.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ExportResultCode, type ExportResult } from '@opentelemetry/core';
import type { ReadableSpan, SpanExporter } from '@opentelemetry/sdk-trace-base';
import { record } from '../src/record.ts';
import { compute, defineFlow } from '../src/runtime/index.ts';
import { bundleSpans } from '../src/tools/export/otlp-export.ts';
import { createSpanExporter } from '../src/tools/export/otlp-exporter.ts';
import { COOL_DOWN_FIRST_MS, OutageExporter, outageWarnings } from '../src/tools/export/otlp-outages.ts';
import { closedPort, startCollector } from './otlp-support.ts';
import { readLines, repoRoot, tempDir } from './recorder-support.ts';

let dir: { path: string; remove(): Promise<void> };
before(async () => {
  dir = await tempDir('flowtape-otlp-outages-');
});
after(async () => {
  await dir.remove();
});

function exportBatch(exporter: SpanExporter, spans: ReadableSpan[]): Promise<ExportResult> {
  return new Promise((resolve) => exporter.export(spans, resolve));
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('live export through a collector outage', () => {
  it('a collector that restarts: the batches after its cool-down are delivered again, the outage is one warning line', async () => {
    const nodes = Object.fromEntries(['a', 'b', 'c', 'd', 'e'].map((id, i) => [id, compute({ run: () => i })]));
    const flow = defineFlow({ name: 'restart', startAt: 'a', nodes, edges: [{ from: 'a', to: 'b' }, { from: 'b', to: 'c' }, { from: 'c', to: 'd' }, { from: 'd', to: 'e' }] });
    const recorded = await record(flow, {}, { cwd: dir.path, bundleDir: join(dir.path, 'restart') });
    const { spans } = await bundleSpans(recorded.bundleDir);
    assert.equal(spans.length, 6);
    let collector = await startCollector();
    const port = Number(new URL(collector.endpointUrl).port);
    const { exporter, target } = await createSpanExporter({ endpoint: collector.endpointUrl, protocol: 'http/json', timeoutMs: 500 });
    assert.ok(exporter instanceof OutageExporter);
    try {
      assert.equal((await exportBatch(exporter, [spans[0]!])).code, ExportResultCode.SUCCESS);
      await collector.stop();
      // Refused now, after the collector had answered: a restart, retried within the request's 500 ms, then an outage.
      const refused = await exportBatch(exporter, [spans[1]!]);
      assert.equal(refused.code, ExportResultCode.FAILED);
      assert.match(refused.error!.message, /ECONNREFUSED/);
      collector = await startCollector(port);
      // Within the cool-down a batch fails at once, without a connection: the collector, up again, never sees it.
      assert.equal((await exportBatch(exporter, [spans[2]!])).code, ExportResultCode.FAILED);
      await sleep(COOL_DOWN_FIRST_MS + 200);
      // After it, export goes on (before, the first failure ended export for the rest of the run).
      assert.equal((await exportBatch(exporter, spans.slice(3, 5))).code, ExportResultCode.SUCCESS);
      assert.equal((await exportBatch(exporter, [spans[5]!])).code, ExportResultCode.SUCCESS);
      assert.deepEqual(collector.spans.map((span) => span.spanId).sort(), spans.slice(3).map((span) => span.spanContext().spanId).sort());
      assert.equal(exporter.outages.length, 1);
      const warnings = outageWarnings(target, exporter.outages);
      assert.equal(warnings.length, 1, warnings.join('\n'));
      assert.match(warnings[0]!, new RegExp(`^OpenTelemetry export to http://127\\.0\\.0\\.1:${port}/v1/traces \\(http/json\\): collector unavailable for \\d+\\.\\d s from \\S+Z \\(connect ECONNREFUSED 127\\.0\\.0\\.1:${port}\\): 2 spans not delivered, export went on after$`));
    } finally {
      await exporter.shutdown();
      await collector.stop();
    }
  });

  it('a collector that never answered and refuses the connection: the batch fails at once, and so do the next ones', async () => {
    const flow = defineFlow({ name: 'dead', startAt: 'a', nodes: { a: compute({ run: () => 1 }) }, edges: [] });
    const recorded = await record(flow, {}, { cwd: dir.path, bundleDir: join(dir.path, 'dead') });
    const { spans } = await bundleSpans(recorded.bundleDir);
    const port = await closedPort();
    // A 30 s request time: with retries, the first batch would take seconds.
    const { exporter } = await createSpanExporter({ endpoint: `http://127.0.0.1:${port}`, protocol: 'http/json', timeoutMs: 30_000 });
    const started = Date.now();
    for (let i = 0; i < 3; i++) assert.equal((await exportBatch(exporter, spans)).code, ExportResultCode.FAILED);
    const took = Date.now() - started;
    await exporter.shutdown();
    assert.ok(took < 3000, `three batches took ${took} ms`);
    assert.deepEqual((exporter as OutageExporter).outages.map((o) => [o.spans, o.until]), [[3 * spans.length, undefined]]);
    // An outage that lasted to the end has no line of its own: the summary of spans not delivered says it.
    assert.deepEqual(outageWarnings('x', (exporter as OutageExporter).outages), []);
  });

  it('in the run\'s own thread, against a dead collector with a 30 s request time: the process exits right after the run', async () => {
    // The SDK's retry timers (1 s, 1.5 s, … within the request time) kept the process alive for seconds after the run.
    const port = await closedPort();
    const script = join(dir.path, 'in-thread.mts');
    await writeFile(script, [
      `import { record } from ${JSON.stringify(join(repoRoot, 'recorder/src/record.ts'))};`,
      `import { compute, defineFlow } from ${JSON.stringify(join(repoRoot, 'recorder/src/runtime/index.ts'))};`,
      `const flow = defineFlow({ name: 'thread', startAt: 'a', nodes: { a: compute({ run: () => 1 }) }, edges: [] });`,
      `const result = await record(flow, {}, { cwd: ${JSON.stringify(dir.path)}, bundleDir: ${JSON.stringify(join(dir.path, 'in-thread'))},`,
      `  otlp: { endpoint: 'http://127.0.0.1:${port}', protocol: 'http/json', inThread: true, timeoutMs: 30_000 } });`,
      'console.log(JSON.stringify(result.warnings));',
    ].join('\n'));
    const child = spawn(process.execPath, ['--import', 'tsx', script], { cwd: join(repoRoot, 'recorder'), stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => (stdout += chunk));
    child.stderr.on('data', (chunk) => (stderr += chunk));
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    const exited = Date.now();
    assert.equal(code, 0, stderr);
    const trace = readLines<{ type: string; at: string }>(join(dir.path, 'in-thread', 'trace.ndjson'));
    assert.equal(trace.at(-1)!.type, 'run.completed');
    const afterRun = exited - Date.parse(trace.at(-1)!.at);
    assert.ok(afterRun < 5000, `the process exited ${afterRun} ms after the run ended`);
    const warnings = JSON.parse(stdout) as string[];
    assert.equal(warnings.length, 1, warnings.join('\n'));
    assert.match(warnings[0]!, new RegExp(`: 2 of 2 spans not delivered \\(connect ECONNREFUSED 127\\.0\\.0\\.1:${port}\\)`));
  });
});
