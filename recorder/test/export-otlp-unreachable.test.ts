// Live export to a collector that is down (a closed 127.0.0.1 port: connections refused). The run must not wait for
// spans that cannot leave: a collector that never answered and refuses the connection fails each batch at once
// (otlp-outages.ts), rather than after the SDK's retries
// (about 1 s, 1.5 s, 2.3 s, … until the flush budget), and the command exits as soon as the run is done.
// The bounds are far above what the fixed code takes and far below what the retries take: hang tests, not timings.
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, afterEach, before, describe, it } from 'node:test';
import { record } from '../src/record.ts';
import { compute, defineFlow } from '../src/runtime/index.ts';
import { liveWorkerFaults } from '../src/tools/export/otlp-live.ts';
import { createSpanStream } from '../src/tools/export/otlp-stream.ts';
import { closedPort } from './otlp-support.ts';
import { readJson, readLines, repoRoot, runCli, tempDir } from './recorder-support.ts';

let dir: { path: string; remove(): Promise<void> };
before(async () => {
  dir = await tempDir('flowtape-otlp-down-');
});
after(async () => {
  await dir.remove();
});
afterEach(() => {
  delete liveWorkerFaults.startDelayMs;
});

const NO_STACK = /\n\s+at /;

describe('live export to a collector that is down', () => {
  it('flowtape run --otlp at a closed port: exits within 3 s of the run ending, the bundle complete, the warning one line', async () => {
    const flowPath = join(dir.path, 'tiny.flow.ts');
    await writeFile(flowPath, `import { compute, defineFlow } from ${JSON.stringify(join(repoRoot, 'recorder/src/index.ts'))};\nexport default defineFlow({ name: 'tiny', startAt: 'a', nodes: { a: compute({ run: () => 1 }) }, edges: [] });\n`);
    const port = await closedPort();
    const result = await runCli(['run', flowPath, '--out', join(dir.path, 'runs'), '--otlp', `http://127.0.0.1:${port}`, '-q', '--json'], { cwd: dir.path });
    const exited = Date.now();
    assert.equal(result.code, 0, result.stderr);
    const report = JSON.parse(result.stdout) as { bundle: string; status: string; warnings?: string[] };
    // From the run's last event (written before export is closed) to the process gone: the flush, the worker's end, exit.
    const trace = readLines<{ type: string; at: string }>(join(report.bundle, 'trace.ndjson'));
    assert.equal(trace.at(-1)!.type, 'run.completed');
    const afterRun = exited - Date.parse(trace.at(-1)!.at);
    assert.ok(afterRun < 3000, `the process exited ${afterRun} ms after the run ended`);
    const manifest = readJson<{ status: string; complete: boolean; warnings?: string[] }>(join(report.bundle, 'manifest.json'));
    assert.equal(manifest.status, 'completed');
    assert.equal(manifest.complete, true);
    assert.equal(manifest.warnings?.length, 1, JSON.stringify(manifest.warnings));
    // The worker's count when it was up in time; when it was still loading, the run's own thread said no one listens.
    const refused = `\\(connect ECONNREFUSED 127\\.0\\.0\\.1:${port}\\)`;
    assert.match(manifest.warnings![0]!, new RegExp(`^OpenTelemetry export to http://127\\.0\\.0\\.1:${port}/v1/traces \\(http/protobuf\\): (2 of 2 )?spans not delivered ${refused}; export the bundle later with \`flowtape export otlp\`$`));
    const warnings = result.stderr.split('\n').filter((line) => line.includes('warning'));
    assert.deepEqual(warnings, [`flowtape: warning: ${manifest.warnings![0]}`]);
    assert.doesNotMatch(result.stderr, NO_STACK);
  });

  it('the span stream does not retry a refused connection to a collector that never answered: close() returns long before its 30 s flush budget', async () => {
    const flow = defineFlow({
      name: 'down',
      startAt: 'a',
      nodes: { a: compute({ run: () => 1 }), b: compute({ run: () => 2 }) },
      edges: [{ from: 'a', to: 'b' }],
    });
    const recorded = await record(flow, {}, { cwd: dir.path, bundleDir: join(dir.path, 'down') });
    const port = await closedPort();
    // Without giving up, the SDK retries the refused connection with back-off for the whole budget (about 13 s here).
    const stream = await createSpanStream(recorded.bundleDir, { endpoint: `http://127.0.0.1:${port}`, protocol: 'http/json', flushTimeoutMs: 30_000 });
    const started = Date.now();
    await stream.add(readLines(join(recorded.bundleDir, 'trace.ndjson')));
    const warnings = await stream.close();
    const took = Date.now() - started;
    assert.ok(took < 3000, `close() took ${took} ms`);
    assert.equal(warnings.length, 1, warnings.join('\n'));
    assert.match(warnings[0]!, /: 3 of 3 spans not delivered \(connect ECONNREFUSED 127\.0\.0\.1:\d+\)/);
  });

  it('an export worker still loading when the run ends (a busy machine): neither the start nor the end waits for it', async () => {
    // On a busy machine loading OpenTelemetry in the worker takes seconds: the run's start waited up to 5 s for it,
    // and its end up to 5 s more, for spans no one would receive.
    liveWorkerFaults.startDelayMs = 30_000;
    const port = await closedPort();
    const flow = defineFlow({ name: 'loading', startAt: 'a', nodes: { a: compute({ run: () => 1 }) }, edges: [] });
    const called = Date.now();
    const result = await record(flow, {}, { cwd: dir.path, bundleDir: join(dir.path, 'loading'), otlp: { endpoint: `http://127.0.0.1:${port}` } });
    const returned = Date.now();
    assert.equal(result.status, 'completed');
    const trace = readLines<{ type: string; at: string }>(join(result.bundleDir, 'trace.ndjson'));
    const started = Date.parse(trace[0]!.at);
    const ended = Date.parse(trace.at(-1)!.at);
    assert.ok(started - called < 3000, `the run started ${started - called} ms after the call`);
    assert.ok(returned - ended < 3000, `record() returned ${returned - ended} ms after the run ended`);
    assert.deepEqual(result.warnings, [`OpenTelemetry export to http://127.0.0.1:${port}/v1/traces (http/protobuf): spans not delivered (connect ECONNREFUSED 127.0.0.1:${port}); export the bundle later with \`flowtape export otlp\``]);
    assert.deepEqual(readJson<{ warnings?: string[] }>(join(result.bundleDir, 'manifest.json')).warnings, result.warnings);
  });
});
