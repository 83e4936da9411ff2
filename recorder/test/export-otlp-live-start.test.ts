// Live OpenTelemetry export at the edges of a run, against a real OTLP/HTTP receiver (TestCollector on 127.0.0.1):
// the run waits for its export worker before the first node, a worker that cannot start or a wrong target from
// the environment leaves the run completed with a warning, and `flowtape resume --otlp` exports the resumed part.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, afterEach, before, describe, it } from 'node:test';
import { record } from '../src/record.ts';
import { compute, defineFlow } from '../src/runtime/index.ts';
import { hrTimeOf } from '../src/tools/export/otlp-ids.ts';
import { liveWorkerFaults } from '../src/tools/export/otlp-live.ts';
import { readJson, repoRoot, runCli, tempDir } from './recorder-support.ts';
import { attr, comparable, startCollector, tree, type LocalCollector, type TestSpan } from './otlp-support.ts';

let dir: { path: string; remove(): Promise<void> };
let collector: LocalCollector;
before(async () => {
  dir = await tempDir('flowtape-otlp-start-');
  collector = await startCollector();
});
after(async () => {
  await collector.stop();
  await dir.remove();
});
afterEach(() => {
  delete liveWorkerFaults.startDelayMs;
  delete liveWorkerFaults.crashAtStart;
});

const twoNodes = (name: string) =>
  defineFlow({
    name,
    startAt: 'first',
    nodes: { first: compute({ run: () => 1 }), second: compute({ run: () => 2 }) },
    edges: [{ from: 'first', to: 'second' }],
  });

const firstNodeStart = (bundleDir: string) => {
  const line = readFileSync(join(bundleDir, 'trace.ndjson'), 'utf8')
    .split('\n')
    .find((l) => l.includes('"node.started"'))!;
  return Date.parse((JSON.parse(line) as { at: string }).at);
};

const NO_STACK = /\n\s+at /;
/**
 * How long the end of a run may wait for the export worker here: loading it from the TypeScript sources (tsx, then
 * OpenTelemetry) takes seconds, and tens of seconds on a machine running many tests at once.
 */
const PATIENT = 60_000;

describe('live export: the export worker starting', () => {
  it("a worker slow to start: the run's first node waits for it, and its span reaches the collector", async () => {
    const delay = 1500;
    liveWorkerFaults.startDelayMs = delay;
    collector.clear();
    const before = Date.now();
    const result = await record(twoNodes('slow-worker'), {}, {
      cwd: dir.path,
      bundleDir: join(dir.path, 'slow-worker'),
      otlp: { endpoint: collector.endpointUrl!, protocol: 'http/json', batchDelayMs: 50, flushTimeoutMs: PATIENT },
    });
    assert.equal(result.status, 'completed');
    assert.deepEqual(result.warnings, []);
    // Without the wait the first node starts within milliseconds of the call, while the worker is still loading.
    assert.ok(firstNodeStart(result.bundleDir) - before >= delay, `the first node started ${firstNodeStart(result.bundleDir) - before} ms after the call, before the worker was up`);
    assert.deepEqual(tree(collector.spans), ['invoke_workflow slow-worker <- -', 'compute first <- invoke_workflow slow-worker', 'compute second <- invoke_workflow slow-worker']);
  });

  it('a worker that crashes as it starts: the run completes and the manifest names the cause, with no stack trace', async () => {
    liveWorkerFaults.crashAtStart = 'the export worker could not load its exporter';
    collector.clear();
    const result = await record(twoNodes('crashed-worker'), {}, {
      cwd: dir.path,
      bundleDir: join(dir.path, 'crashed-worker'),
      otlp: { endpoint: collector.endpointUrl!, protocol: 'http/json', flushTimeoutMs: PATIENT },
    });
    assert.equal(result.status, 'completed');
    assert.equal(result.warnings.length, 1, result.warnings.join('\n'));
    assert.match(result.warnings[0]!, /^OpenTelemetry live export failed: the export worker could not load its exporter; export the bundle later/);
    assert.doesNotMatch(result.warnings[0]!, NO_STACK);
    const manifest = readJson<{ status: string; complete: boolean; warnings?: string[] }>(join(result.bundleDir, 'manifest.json'));
    assert.equal(manifest.status, 'completed');
    assert.equal(manifest.complete, true);
    assert.deepEqual(manifest.warnings, result.warnings);
    assert.deepEqual(collector.spans, []);
  });

  it('flowtape run with a wrong target from the environment (grpc, another scheme): completed, exit 0, the warning names the cause', async () => {
    const flowPath = join(dir.path, 'env.flow.ts');
    const { writeFile } = await import('node:fs/promises');
    await writeFile(flowPath, `import { compute, defineFlow } from ${JSON.stringify(join(repoRoot, 'recorder/src/index.ts'))};\nexport default defineFlow({ name: 'env', startAt: 'a', nodes: { a: compute({ run: () => 1 }) }, edges: [] });\n`);
    const cases: Array<[Record<string, string>, RegExp]> = [
      [{ OTEL_EXPORTER_OTLP_ENDPOINT: 'ftp://collector.example:4318' }, /OpenTelemetry live export off: OTLP endpoint ftp:\/\/collector\.example:4318: only http and https are supported/],
      [{ OTEL_EXPORTER_OTLP_ENDPOINT: collector.endpointUrl!, OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc' }, /OpenTelemetry live export off: OTLP protocol "grpc" is not supported/],
    ];
    for (const [env, cause] of cases) {
      const result = await runCli(['run', flowPath, '--out', join(dir.path, 'env-runs'), '-q', '--json'], { cwd: dir.path, env });
      assert.equal(result.code, 0, result.stderr);
      assert.doesNotMatch(result.stderr, NO_STACK);
      const report = JSON.parse(result.stdout) as { bundle: string; status: string; warnings?: string[] };
      assert.equal(report.status, 'completed');
      assert.equal(report.warnings?.length, 1);
      assert.match(report.warnings![0]!, cause);
      assert.deepEqual(readJson<{ warnings?: string[] }>(join(report.bundle, 'manifest.json')).warnings, report.warnings);
    }
    // The same mistake typed on the command line is refused before the run: one line, exit 2.
    const typed = await runCli(['run', flowPath, '--out', join(dir.path, 'env-runs'), '-q', '--otlp', 'ftp://collector.example:4318'], { cwd: dir.path });
    assert.equal(typed.code, 2, typed.stderr);
    assert.equal(typed.stderr.trim().split('\n').length, 1, typed.stderr);
  });
});

describe('resume with live export', () => {
  const flowFile = join(repoRoot, 'samples/checkpoint/checkpoint.flow.ts');
  const loadFlow = async () => ((await import(flowFile)) as { default: Parameters<typeof record>[0] }).default;

  it('exports the resumed attempts live; with the run before the checkpoint, the spans of an after-the-fact export', async () => {
    const flow = await loadFlow();
    const otlp = { endpoint: collector.endpointUrl!, protocol: 'http/json' as const, flushTimeoutMs: PATIENT };
    collector.clear();
    const waiting = await record(flow, { version: '3.0.0' }, { cwd: dir.path, bundleDir: join(dir.path, 'resumed'), otlp });
    assert.equal(waiting.status, 'waiting');
    assert.deepEqual(waiting.warnings, []);
    const beforeCheckpoint = [...collector.spans];
    assert.deepEqual(beforeCheckpoint.map((s) => s.name).sort(), ['checkpoint approval', 'compute prepare', 'invoke_workflow checkpoint']);
    assert.equal(attr(beforeCheckpoint.find((s) => !s.parentSpanId)!, 'flowtape.run.status'), 'waiting');

    collector.clear();
    const { resumeRecorded } = await import('../src/record.ts');
    const resumed = await resumeRecorded(waiting.bundleDir, flow, { approved: true, by: 'alice' }, { otlp });
    assert.equal(resumed.status, 'completed');
    assert.deepEqual(resumed.warnings, []);
    const afterCheckpoint = [...collector.spans];
    // The resumed attempt, and the run's root again (same id, now completed); the attempts before the checkpoint
    // were sent by the run and are not sent twice.
    assert.deepEqual(afterCheckpoint.map((s) => s.name).sort(), ['action release', 'function release', 'invoke_workflow checkpoint']);
    const root = afterCheckpoint.find((s) => !s.parentSpanId)!;
    assert.equal(root.spanId, beforeCheckpoint.find((s) => !s.parentSpanId)!.spanId);
    assert.equal(attr(root, 'flowtape.run.status'), 'completed');

    // Both live exports together (the later root replacing the earlier, as a backend keeps one span per id) are
    // exactly what an after-the-fact export of the finished bundle sends.
    const latest = new Map<string, TestSpan>();
    for (const span of [...beforeCheckpoint, ...afterCheckpoint]) latest.set(String(span.spanId), span);
    collector.clear();
    const exported = await runCli(['export', 'otlp', waiting.bundleDir, '--endpoint', collector.endpointUrl!, '--protocol', 'http/json', '-q'], { cwd: dir.path });
    assert.equal(exported.code, 0, exported.stderr);
    assert.deepEqual(comparable([...latest.values()]), comparable(collector.spans));
  });

  it('flowtape resume takes --otlp: a wrong endpoint is refused before the run goes on (exit 2, one line), the run still waits', async () => {
    const runs = join(dir.path, 'resume-cli');
    const ran = await runCli(['run', flowFile, '--out', runs, '--run-id', 'cli', '-q', '--json', '--no-otlp'], { cwd: dir.path });
    assert.equal(ran.code, 0, ran.stderr);
    const bundle = (JSON.parse(ran.stdout) as { bundle: string }).bundle;
    const refused = await runCli(['resume', bundle, '--input', '{"approved":true}', '-q', '--otlp', 'ftp://collector.example:4318'], { cwd: dir.path });
    assert.equal(refused.code, 2, refused.stderr);
    assert.match(refused.stderr, /OTLP endpoint ftp:\/\/collector\.example:4318: only http and https are supported/);
    assert.equal(refused.stderr.trim().split('\n').length, 1, refused.stderr);
    assert.equal(readJson<{ status: string }>(join(bundle, 'manifest.json')).status, 'waiting');
  });

  it('in the library, with an exporter of its own (in the run\'s thread): the resumed part is built on the run before it', async () => {
    const { InMemorySpanExporter } = await import('@opentelemetry/sdk-trace-base');
    const { resumeRecorded } = await import('../src/record.ts');
    const { default: flow } = (await import(flowFile)) as { default: Parameters<typeof record>[0] };
    const waiting = await record(flow, { version: '3.1.0' }, { cwd: dir.path, bundleDir: join(dir.path, 'resume-lib') });
    assert.equal(waiting.status, 'waiting');
    const exporter = new (class extends InMemorySpanExporter {
      override shutdown(): Promise<void> {
        return Promise.resolve();
      }
    })();
    const result = await resumeRecorded(waiting.bundleDir, flow, { approved: false }, { otlp: { exporter, batchDelayMs: 10 } });
    assert.equal(result.status, 'completed');
    assert.deepEqual(result.warnings, []);
    const spans = exporter.getFinishedSpans();
    assert.deepEqual(spans.map((s) => s.name).sort(), ['compute abandon', 'invoke_workflow checkpoint']);
    const abandon = spans.find((s) => s.name === 'compute abandon')!;
    // The edge that led here was taken after the resume, from the checkpoint's attempt: known only from the trace
    // before the resume (the attempt ids, the run's root).
    assert.equal(abandon.attributes['flowtape.edge.from'], 'approval');
    assert.equal(abandon.attributes['flowtape.edge.case'], 'false');
    assert.equal(abandon.parentSpanContext?.spanId, spans.find((s) => s.name === 'invoke_workflow checkpoint')!.spanContext().spanId);
    const runStarted = JSON.parse(readFileSync(join(waiting.bundleDir, 'trace.ndjson'), 'utf8').split('\n')[0]!) as { type: string; at: string };
    assert.equal(runStarted.type, 'run.started');
    assert.deepEqual(spans.find((s) => s.name === 'invoke_workflow checkpoint')!.startTime, hrTimeOf(runStarted.at));
  });
});
