// Live export to a collector that comes and goes: a real OTLP receiver (OpenTelemetry's TestCollector on 127.0.0.1)
// stopped and started again on its port, and a closed port for a collector that is down. Export goes on after an
// outage, each outage is one warning line, and nothing is left to keep the process alive after a run.
// The time bounds here are far above what the fixed code takes and far below what the defect took: hang tests.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ExportResultCode, type ExportResult } from '@opentelemetry/core';
import type { ReadableSpan, SpanExporter } from '@opentelemetry/sdk-trace-base';
import { record } from '../src/record.ts';
import { compute, defineFlow } from '../src/runtime/index.ts';
import { bundleSpans } from '../src/tools/export/otlp-export.ts';
import { createSpanExporter } from '../src/tools/export/otlp-exporter.ts';
import { createSpanStream } from '../src/tools/export/otlp-stream.ts';
import { COOL_DOWN_FIRST_MS, OutageExporter, outageWarnings } from '../src/tools/export/otlp-outages.ts';
import { closedPort, startCollector } from './otlp-support.ts';
import { readLines, repoRoot, tempDir, waitFor } from './recorder-support.ts';

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

/**
 * A real HTTP front of a collector that answers 503 (Service Unavailable) to its first `unavailable` requests, then
 * passes the rest on to the collector as they are: a collector's gateway during a restart.
 */
async function unavailableFront(collectorUrl: string, unavailable: number, headers: Record<string, string> = {}): Promise<{ url: string; requests: number; close(): Promise<void> }> {
  const front = { url: '', requests: 0, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
  const server: Server = createServer((req, res) => {
    front.requests++;
    if (front.requests <= unavailable) {
      req.resume();
      req.on('end', () => res.writeHead(503, headers).end());
      return;
    }
    const onward = request(new URL(req.url!, collectorUrl), { method: req.method, headers: req.headers }, (answer) => {
      res.writeHead(answer.statusCode!, answer.headers);
      answer.pipe(res);
    });
    req.pipe(onward);
  });
  server.keepAliveTimeout = 100;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  front.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return front;
}

function chainFlow(name: string, nodes: number) {
  const ids = Array.from({ length: nodes }, (_, i) => `n${i}`);
  return defineFlow({
    name,
    startAt: ids[0]!,
    nodes: Object.fromEntries(ids.map((id, i) => [id, compute({ run: () => i })])),
    edges: ids.slice(1).map((id, i) => ({ from: ids[i]!, to: id })),
  });
}

async function spansOf(name: string, nodes: number): Promise<ReadableSpan[]> {
  const recorded = await record(chainFlow(name, nodes), {}, { cwd: dir.path, bundleDir: join(dir.path, name) });
  return (await bundleSpans(recorded.bundleDir)).spans;
}

describe('live export through a collector outage', () => {
  it('a collector that restarts: the batches after its cool-down are delivered again, the outage is one warning line', async () => {
    const spans = await spansOf('restart', 5);
    assert.equal(spans.length, 6);
    let collector = await startCollector();
    const port = Number(new URL(collector.endpointUrl!).port);
    const { exporter, target } = await createSpanExporter({ endpoint: collector.endpointUrl!, protocol: 'http/json', timeoutMs: 500 });
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

  it('a collector answering 503 for a moment: the batch is tried again and delivered, no outage', async () => {
    const spans = await spansOf('busy', 2);
    const collector = await startCollector();
    const front = await unavailableFront(collector.endpointUrl!, 2);
    const { exporter } = await createSpanExporter({ endpoint: front.url, protocol: 'http/json', timeoutMs: 5000 });
    try {
      assert.equal((await exportBatch(exporter, spans)).code, ExportResultCode.SUCCESS);
      assert.equal(front.requests, 3);
      assert.equal(collector.spans.length, spans.length);
      assert.deepEqual((exporter as OutageExporter).outages, []);
    } finally {
      await exporter.shutdown();
      await front.close();
      await collector.stop();
    }
  });

  it('a collector answering 503 past the request time: the batch fails with one reason, an outage starts', async () => {
    const spans = await spansOf('unavailable', 1);
    const collector = await startCollector();
    const front = await unavailableFront(collector.endpointUrl!, Number.POSITIVE_INFINITY);
    // Tries at 0, 250 ms and (on a machine not too busy) 750 ms; the next, 1 s later, would end past the request's 1 s.
    const { exporter } = await createSpanExporter({ endpoint: front.url, protocol: 'http/json', timeoutMs: 1000 });
    try {
      const result = await exportBatch(exporter, spans);
      assert.equal(result.code, ExportResultCode.FAILED);
      const tries = front.requests;
      assert.ok(tries >= 2 && tries <= 3, `${tries} tries`);
      assert.match(result.error!.message, /busy or unavailable \(HTTP 429, 502, 503 or 504\)/);
      // Within the cool-down the next batch is not sent at all.
      assert.equal((await exportBatch(exporter, spans)).code, ExportResultCode.FAILED);
      assert.equal(front.requests, tries);
      assert.deepEqual((exporter as OutageExporter).outages.map((o) => o.spans), [2 * spans.length]);
    } finally {
      await exporter.shutdown();
      await front.close();
      await collector.stop();
    }
  });

  it('the span stream through an outage: later batches delivered, the warnings one line for the outage and the summary', async () => {
    const recorded = await record(chainFlow('stream', 4), {}, { cwd: dir.path, bundleDir: join(dir.path, 'stream') });
    const events = readLines<{ type: string; nodeId?: string }>(join(recorded.bundleDir, 'trace.ndjson'));
    const firstOutcome = events.findIndex((e) => e.type === 'node.outcome');
    const collector = await startCollector();
    // Retry-After past the request's time: the 503 starts the outage with no retry.
    const front = await unavailableFront(collector.endpointUrl!, 1, { 'retry-after': '60' });
    const notices: string[] = [];
    const stream = await createSpanStream(recorded.bundleDir, { endpoint: front.url, protocol: 'http/json', timeoutMs: 5000, batchDelayMs: 20, flushTimeoutMs: 5000, onNotice: (line) => notices.push(line) });
    try {
      await stream.add(events.slice(0, firstOutcome + 1));
      await waitFor(() => front.requests === 1, 10_000, 'the first batch');
      // Said as it happens, with the target and the reason.
      await waitFor(() => notices.length === 1, 10_000, 'the notice of the outage');
      assert.match(notices[0]!, new RegExp(`^OpenTelemetry export to ${front.url.replace(/\./g, '\\.')}/v1/traces \\(http/json\\): collector unavailable \\(the collector was busy or unavailable \\(HTTP 429, 502, 503 or 504\\)\\); the run goes on`));
      await sleep(COOL_DOWN_FIRST_MS + 300);
      await stream.add(events.slice(firstOutcome + 1));
      await waitFor(() => collector.spans.length === 4, 10_000, 'the later attempts and the run');
      // The collector holds the spans before its answer reaches the exporter, and the end of the outage is said on that
      // answer: wait for the line, as a run goes on (the close would otherwise start first and say it in its summary).
      await waitFor(() => notices.length === 2, 10_000, 'the notice of the collector back');
      const warnings = await stream.close();
      assert.equal(notices.length, 2, notices.join('\n'));
      assert.match(notices[1]!, /: collector back after \d+\.\d s, export goes on; 1 spans were not delivered meanwhile$/);
      assert.equal(warnings.length, 2, warnings.join('\n'));
      assert.match(warnings[0]!, /: collector unavailable for \d+\.\d s from \S+Z \(the collector was busy or unavailable \(HTTP 429, 502, 503 or 504\)\): 1 spans not delivered, export went on after$/);
      assert.match(warnings[1]!, /: 1 of 5 spans not delivered \(the collector was busy or unavailable \(HTTP 429, 502, 503 or 504\)\); export the bundle later with `flowtape export otlp`$/);
    } finally {
      await front.close();
      await collector.stop();
    }
  });

  it('a collector that never answered and refuses the connection: the batch fails at once, and so do the next ones', async () => {
    const spans = await spansOf('dead', 1);
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
