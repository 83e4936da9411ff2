// OpenTelemetry export against a real OTLP/HTTP receiver (OpenTelemetry's TestCollector on 127.0.0.1): the span
// tree of every sample bundle, stable ids, content only when asked, the -o file, and live export during a run.
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { JsonTraceSerializer } from '@opentelemetry/otlp-transformer';
import { InMemorySpanExporter, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { record } from '../src/record.ts';
import { bundleSpans } from '../src/tools/export/otlp-export.ts';
import { acp, compute, defineFlow, shell } from '../src/runtime/index.ts';
import { readJson, repoRoot, runCli, scriptedAgent, tempDir } from './recorder-support.ts';
import { attr, closedPort, comparable, startCollector, tree, type LocalCollector, type TestSpan } from './otlp-support.ts';

const sample = (name: string) => join(repoRoot, 'samples', name, 'bundle');
/** An ExportTraceServiceRequest in OTLP JSON, in the span types of OpenTelemetry's own test receiver. */
type OtlpJsonRequest = {
  resourceSpans: Array<{
    resource: TestSpan['resource'];
    scopeSpans: Array<{ scope: TestSpan['instrumentationScope']; spans?: Array<Omit<TestSpan, 'resource' | 'instrumentationScope'>> }>;
  }>;
};
/**
 * How long the end of a run may wait for the export worker here: loading it from the TypeScript sources (tsx, then
 * OpenTelemetry) takes seconds, and tens of seconds on a machine running many tests at once.
 */
const PATIENT = 60_000;
const CONTENT_KEYS = ['gen_ai.input.messages', 'gen_ai.output.messages', 'gen_ai.tool.call.arguments', 'gen_ai.tool.call.result'];

let dir: { path: string; remove(): Promise<void> };
let collector: LocalCollector;
before(async () => {
  dir = await tempDir('flowtape-otlp-');
  collector = await startCollector();
});
after(async () => {
  await collector.stop();
  await dir.remove();
});

async function exportTo(target: LocalCollector, path: string, ...flags: string[]): Promise<TestSpan[]> {
  target.clear();
  const result = await runCli(['export', 'otlp', path, '--endpoint', target.endpointUrl!, '--protocol', 'http/json', '-q', ...flags], { cwd: dir.path });
  assert.equal(result.code, 0, result.stderr);
  assert.doesNotMatch(result.stderr, /^\s+at /m);
  return [...target.spans];
}

const byName = (spans: TestSpan[], name: string) => spans.filter((s) => s.name === name);
const one = (spans: TestSpan[], name: string) => {
  const found = byName(spans, name);
  assert.equal(found.length, 1, `one span named ${name} in ${spans.map((s) => s.name).join(', ')}`);
  return found[0]!;
};
const ERROR = 2;
const UNSET = 0;
const CLIENT = 3;
const INTERNAL = 1;

/** Every span of a run: the run id, a seq range, one trace; exactly one root. */
function assertRunSpans(spans: TestSpan[], runId: string, lastSeq: number): void {
  assert.equal(new Set(spans.map((s) => s.traceId)).size, 1, 'one trace per run');
  assert.equal(spans.filter((s) => !s.parentSpanId).length, 1, 'one root');
  const ids = new Set(spans.map((s) => s.spanId));
  for (const span of spans) {
    assert.equal(attr(span, 'flowtape.run.id'), runId, span.name);
    const from = attr(span, 'flowtape.seq.from') as number;
    const to = attr(span, 'flowtape.seq.to') as number;
    assert.ok(from >= 1 && from <= to && to <= lastSeq, `${span.name}: seq ${from}..${to} within 1..${lastSeq}`);
    if (span.parentSpanId) assert.ok(ids.has(span.parentSpanId), `${span.name}: its parent was exported`);
    assert.equal((span.resource.attributes.find((a) => a.key === 'service.name')?.value as { stringValue: string }).stringValue, 'flowtape');
  }
}

describe('flowtape export otlp: the sample bundles in a real receiver', () => {
  it('conversation: invoke_workflow, attempts, invoke_agent per turn with agent, session, stop reason and tokens, execute_tool per tool call', async () => {
    const spans = await exportTo(collector, sample('conversation'));
    assert.deepEqual(tree(spans), [
      'invoke_workflow conversation <- -',
      'compute brief <- invoke_workflow conversation',
      'acp summarise <- invoke_workflow conversation',
      'invoke_agent notes-agent <- acp summarise',
      'execute_tool Read notes.txt <- invoke_agent notes-agent',
      'acp write <- invoke_workflow conversation',
      'invoke_agent notes-agent <- acp write',
      'execute_tool Write summary.md <- invoke_agent notes-agent',
      'decision route <- invoke_workflow conversation',
      'compute publish <- invoke_workflow conversation',
    ]);
    assertRunSpans(spans, '20260101T000000Z-conversation', 26);
    const root = one(spans, 'invoke_workflow conversation');
    assert.equal(attr(root, 'gen_ai.operation.name'), 'invoke_workflow');
    assert.equal(attr(root, 'flowtape.run.status'), 'completed');
    assert.equal(root.kind, INTERNAL);
    assert.equal(root.status.code ?? UNSET, UNSET);
    const [first, second] = byName(spans, 'invoke_agent notes-agent').sort((a, b) => (attr(a, 'flowtape.seq.from') as number) - (attr(b, 'flowtape.seq.from') as number));
    assert.equal(first!.kind, CLIENT);
    assert.deepEqual(
      Object.fromEntries(['gen_ai.operation.name', 'gen_ai.agent.name', 'gen_ai.agent.version', 'gen_ai.conversation.id', 'gen_ai.response.finish_reasons', 'gen_ai.usage.input_tokens', 'gen_ai.usage.output_tokens', 'gen_ai.usage.cache_read.input_tokens', 'gen_ai.usage.reasoning.output_tokens', 'flowtape.session.id', 'flowtape.seq.from', 'flowtape.seq.to'].map((k) => [k, attr(first!, k)])),
      {
        'gen_ai.operation.name': 'invoke_agent', 'gen_ai.agent.name': 'notes-agent', 'gen_ai.agent.version': '1.0.0', 'gen_ai.conversation.id': 'sess-1',
        'gen_ai.response.finish_reasons': ['end_turn'], 'gen_ai.usage.input_tokens': 1520, 'gen_ai.usage.output_tokens': 320,
        'gen_ai.usage.cache_read.input_tokens': 1024, 'gen_ai.usage.reasoning.output_tokens': 64, 'flowtape.session.id': 's1', 'flowtape.seq.from': 8, 'flowtape.seq.to': 10,
      },
    );
    assert.equal(attr(second!, 'gen_ai.usage.input_tokens'), 1980);
    const read = one(spans, 'execute_tool Read notes.txt');
    assert.equal(attr(read, 'gen_ai.operation.name'), 'execute_tool');
    assert.equal(attr(read, 'gen_ai.tool.call.id'), 'call-read');
    assert.equal(attr(read, 'flowtape.tool.kind'), 'read');
    assert.equal(attr(one(spans, 'execute_tool Write summary.md'), 'flowtape.tool.status'), 'completed');
    // The edge that chose `publish`: a link to the decision's span, and the case on the span itself.
    const publish = one(spans, 'compute publish');
    assert.equal(publish.links.length, 1);
    assert.equal(publish.links[0]!.spanId, one(spans, 'decision route').spanId);
    assert.equal(attr(publish, 'flowtape.edge.case'), 'publish');
    assert.equal(attr(publish, 'flowtape.edge.on'), '$.route');
    for (const span of spans) for (const key of CONTENT_KEYS) assert.equal(attr(span, key), undefined, `${span.name} carries no ${key} by default`);
  });

  it('shell-routing: the failed shell action is an error with its exit code and an exception event; the failure edge says which case fired', async () => {
    const spans = await exportTo(collector, sample('shell-routing'));
    assert.deepEqual(tree(spans), [
      'invoke_workflow shell-routing <- -',
      'action build <- invoke_workflow shell-routing',
      'shell build <- action build',
      'action diagnose <- invoke_workflow shell-routing',
      'function diagnose <- action diagnose',
    ]);
    assertRunSpans(spans, '20260101T000000Z-shell-routing', 13);
    const shellSpan = one(spans, 'shell build');
    assert.equal(shellSpan.status.code, ERROR);
    assert.equal(typeof attr(shellSpan, 'process.exit.code'), 'number');
    assert.notEqual(attr(shellSpan, 'process.exit.code'), 0);
    const attempt = one(spans, 'action build');
    assert.equal(attempt.status.code, ERROR);
    assert.equal(attr(attempt, 'flowtape.outcome'), 'failed');
    assert.equal(attempt.events.filter((e) => e.name === 'exception').length, 1);
    const diagnose = one(spans, 'action diagnose');
    assert.equal(attr(diagnose, 'flowtape.edge.from'), 'build');
    assert.equal(attr(diagnose, 'flowtape.edge.case'), 'failed');
    assert.equal(one(spans, 'invoke_workflow shell-routing').status.code ?? UNSET, UNSET, 'the run itself completed');
  });

  it('retry-timeout: two attempts of one node, the first timed out (error, SIGTERM), the second ok', async () => {
    const spans = await exportTo(collector, sample('retry-timeout'));
    assertRunSpans(spans, '20260101T000000Z-retry-timeout', 17);
    const fetches = byName(spans, 'action fetch').sort((a, b) => (attr(a, 'flowtape.attempt.number') as number) - (attr(b, 'flowtape.attempt.number') as number));
    assert.deepEqual(fetches.map((s) => [attr(s, 'flowtape.attempt.id'), attr(s, 'flowtape.outcome'), s.status.code ?? UNSET]), [
      ['fetch#1', 'timed_out', ERROR],
      ['fetch#2', 'ok', UNSET],
    ]);
    assert.notEqual(fetches[0]!.spanId, fetches[1]!.spanId);
    const shells = byName(spans, 'shell fetch');
    assert.deepEqual(shells.map((s) => attr(s, 'flowtape.action.signal')).sort(), ['SIGTERM', undefined].sort());
  });

  it('checkpoint: a run that waited and was resumed is one trace; every attempt under the root', async () => {
    const spans = await exportTo(collector, sample('checkpoint'));
    assertRunSpans(spans, '20260101T000000Z-checkpoint', 14);
    assert.deepEqual(tree(spans), [
      'invoke_workflow checkpoint <- -',
      'compute prepare <- invoke_workflow checkpoint',
      'checkpoint approval <- invoke_workflow checkpoint',
      'action release <- invoke_workflow checkpoint',
      'function release <- action release',
    ]);
  });

  it('exporting twice gives the same trace and span ids (and the same spans)', async () => {
    const first = await exportTo(collector, sample('conversation'));
    const second = await exportTo(collector, sample('conversation'));
    assert.deepEqual(comparable(second), comparable(first));
    assert.deepEqual(second.map((s) => s.spanId).sort(), first.map((s) => s.spanId).sort());
  });

  it('--include-content adds prompts, responses and tool arguments; without it none leaves the machine', async () => {
    const spans = await exportTo(collector, sample('conversation'), '--include-content');
    const turn = byName(spans, 'invoke_agent notes-agent').find((s) => attr(s, 'flowtape.node.id') === 'summarise')!;
    const input = JSON.parse(attr(turn, 'gen_ai.input.messages') as string);
    assert.deepEqual(input, [{ role: 'user', parts: [{ type: 'text', content: 'Summarise notes.txt' }] }]);
    const output = JSON.parse(attr(turn, 'gen_ai.output.messages') as string);
    assert.equal(output[0].role, 'assistant');
    assert.match(output[0].parts[0].content, /Three points/);
    assert.deepEqual(JSON.parse(attr(one(spans, 'execute_tool Read notes.txt'), 'gen_ai.tool.call.arguments') as string), { path: 'notes.txt' });
  });

  it('-o writes OTLP JSON lines a receiver accepts as they are: the same spans as a direct export', async () => {
    const file = join(dir.path, 'conversation.otlp.json');
    const result = await runCli(['export', 'otlp', sample('conversation'), '-o', file, '--json'], { cwd: dir.path });
    assert.equal(result.code, 0, result.stderr);
    assert.equal(JSON.parse(result.stdout).spans, 10);
    const lines = readFileSync(file, 'utf8').trimEnd().split('\n');
    assert.equal(lines.length, 1, 'one request per run');
    const request = JSON.parse(lines[0]!) as OtlpJsonRequest;
    const spans = request.resourceSpans.flatMap((r) => r.scopeSpans.flatMap((s) => s.spans ?? []));
    assert.equal(spans.length, 10);
    for (const span of spans) {
      assert.match(span.traceId as string, /^[0-9a-f]{32}$/);
      assert.match(span.spanId as string, /^[0-9a-f]{16}$/);
    }
    // Posted as is to the receiver: what a Collector's otlpjsonfile receiver would forward.
    collector.clear();
    const response = await fetch(`${collector.endpointUrl}/v1/traces`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: lines[0] });
    assert.equal(response.status, 200);
    const posted = [...collector.spans];
    const direct = await exportTo(collector, sample('conversation'));
    assert.deepEqual(comparable(posted), comparable(direct));
    // -o never replaces a file, and says so before doing any work: one line, no progress.
    const again = await runCli(['export', 'otlp', sample('conversation'), '-o', file], { cwd: dir.path });
    assert.equal(again.code, 2);
    assert.match(again.stderr, /conversation\.otlp\.json exists: give a new file/);
    assert.equal(again.stderr.trim().split('\n').length, 1, again.stderr);
  });

  it('http/protobuf (the default protocol) reaches a receiver as OTLP protobuf carrying the run', async () => {
    const { createServer } = await import('node:http');
    const bodies: Array<{ type: string | undefined; body: Buffer }> = [];
    const server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        bodies.push({ type: req.headers['content-type'], body: Buffer.concat(chunks) });
        res.writeHead(200, { 'content-type': 'application/x-protobuf' });
        res.end();
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = server.address() as import('node:net').AddressInfo;
      const result = await runCli(['export', 'otlp', sample('conversation'), '-q'], { cwd: dir.path, env: { OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${port}`, OTEL_EXPORTER_OTLP_PROTOCOL: '' } });
      assert.equal(result.code, 0, result.stderr);
      assert.equal(bodies.length, 1);
      assert.equal(bodies[0]!.type, 'application/x-protobuf');
      // Protobuf keeps strings as UTF-8 bytes: the run id and span names are in the body, and it is not JSON.
      assert.ok(bodies[0]!.body.includes('20260101T000000Z-conversation'));
      assert.ok(bodies[0]!.body.includes('invoke_agent notes-agent'));
      assert.throws(() => JSON.parse(bodies[0]!.body.toString('utf8')));
    } finally {
      server.close();
    }
  });

  it('a packed bundle (.zip from flowtape pack) exports the same spans as its folder, content included', async () => {
    const zip = join(dir.path, 'conversation.flowtape.zip');
    const packed = await runCli(['pack', sample('conversation'), '-o', zip], { cwd: dir.path });
    assert.equal(packed.code, 0, packed.stderr);
    const fromZip = await exportTo(collector, zip, '--include-content');
    const fromFolder = await exportTo(collector, sample('conversation'), '--include-content');
    assert.equal(fromZip.length, 10);
    assert.deepEqual(comparable(fromZip), comparable(fromFolder));
  });

  it('a runs root exports every bundle below it, one trace each', async () => {
    const root = join(dir.path, 'runs');
    for (const name of ['conversation', 'shell-routing']) {
      const run = await runCli(['run', join(repoRoot, 'samples', name, `${name}.flow.ts`), '--out', root, '--run-id', `r-${name}`, '-q', '--agent', `${process.execPath} ${join(repoRoot, 'recorder/bin/flowtape-scripted-agent.js')} --script ${join(repoRoot, 'samples/conversation/agent.json')}`, '--permission', 'approve-all', '--input', '{"file":"notes.txt"}', '--cwd', join(repoRoot, 'samples', name)], { cwd: dir.path });
      assert.ok(run.code === 0 || run.code === 1, run.stderr);
    }
    const spans = await exportTo(collector, root);
    assert.deepEqual([...new Set(spans.map((s) => attr(s, 'flowtape.run.id')))].sort(), ['r-conversation', 'r-shell-routing']);
    assert.equal(new Set(spans.map((s) => s.traceId)).size, 2);
  });

  it('bad input is one line and exit 2: a missing path, no target, a malformed header, a bad endpoint', async () => {
    const cases: Array<[string[], RegExp]> = [
      [['export', 'otlp', join(dir.path, 'nope'), '-o', join(dir.path, 'x.json')], /no such bundle/],
      [['export', 'otlp', sample('conversation')], /no OTLP endpoint/],
      [['export', 'otlp', sample('conversation'), '--endpoint', 'http://127.0.0.1:1', '--header', 'novalue'], /expected name=value/],
      [['export', 'otlp', sample('conversation'), '--endpoint', 'not a url'], /not a URL/],
    ];
    for (const [args, message] of cases) {
      const result = await runCli(args, { cwd: dir.path, env: { OTEL_EXPORTER_OTLP_ENDPOINT: '', OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: '' } });
      assert.equal(result.code, 2, `${args.join(' ')}: ${result.stderr}`);
      assert.match(result.stderr, message);
      assert.equal(result.stderr.trim().split('\n').length, 1, result.stderr);
    }
  });

  it('a collector that is down: export fails with exit 2 (it could not do its job) and one line', async () => {
    const port = await closedPort();
    // The CLI's own start (slow on a busy machine) measured alike, so what is compared is the export's wait.
    const baselineStart = Date.now();
    await runCli(['export', 'otlp', sample('conversation'), '-o', join(dir.path, `baseline-${port}.json`), '-q'], { cwd: dir.path });
    const baseline = Date.now() - baselineStart;
    const started = Date.now();
    const result = await runCli(['export', 'otlp', sample('conversation'), '--endpoint', `http://127.0.0.1:${port}`, '--timeout', '1500', '-q'], { cwd: dir.path });
    assert.equal(result.code, 2, result.stderr);
    assert.ok(Date.now() - started < baseline + 6000, `gives up after --timeout, not the 10 s default (${Date.now() - started} ms, the CLI alone ${baseline} ms)`);
    assert.match(result.stderr, /export failed/);
    assert.doesNotMatch(result.stderr, /^\s+at /m);
  });
});

describe('live export during a run', () => {
  async function usageFlow(name: string) {
    const agent = await scriptedAgent(dir.path, `${name}-agent`, {
      agent: { name: 'live-agent', version: '2.1.0' },
      turns: [
        {
          match: 'one',
          steps: [
            { toolCall: { toolCallId: 't1', title: 'List files', kind: 'read', status: 'pending', rawInput: { dir: '.' } } },
            { toolCallUpdate: { toolCallId: 't1', status: 'completed' } },
            { message: 'first answer' },
          ],
          usage: { inputTokens: 11, outputTokens: 7, totalTokens: 18 },
        },
        { match: 'two', steps: [{ message: 'second answer' }], usage: { inputTokens: 20, outputTokens: 5, totalTokens: 25 } },
      ],
    });
    const flow = defineFlow({
      name,
      startAt: 'prep',
      nodes: {
        prep: compute({ run: () => ({ ok: true }) }),
        one: acp({ prompt: 'one' }),
        two: acp({ prompt: 'two' }),
        build: shell({ exec: { command: 'sh', args: ['-c', 'exit 4'] } }),
        after: compute({ run: () => 'done' }),
      },
      edges: [
        { from: 'prep', to: 'one' },
        { from: 'one', to: 'two' },
        { from: 'two', to: 'build' },
        { from: 'build', switch: { on: '$result.outcome', cases: { failed: 'after' } } },
      ],
    });
    return { agent, flow };
  }

  it('streams spans to the collector as the run goes; they equal the after-the-fact export of the same bundle', async () => {
    const { agent, flow } = await usageFlow('live-same');
    const live = await startCollector();
    try {
      const result = await record(flow, {}, { cwd: dir.path, bundleDir: join(dir.path, 'live-same'), agentCommand: agent, otlp: { endpoint: live.endpointUrl!, protocol: 'http/json', flushTimeoutMs: PATIENT } });
      assert.equal(result.status, 'completed', JSON.stringify(result.error));
      assert.deepEqual(result.warnings, []);
      const streamed = [...live.spans];
      assert.ok(streamed.length >= 9, `spans arrived: ${streamed.map((s) => s.name).join(', ')}`);
      const later = await exportTo(collector, result.bundleDir);
      assert.deepEqual(comparable(streamed), comparable(later));
      const turns = byName(streamed, 'invoke_agent live-agent');
      assert.deepEqual(turns.map((t) => attr(t, 'gen_ai.usage.input_tokens')).sort(), [11, 20]);
      assert.equal(attr(turns[0]!, 'gen_ai.agent.version'), '2.1.0');
      assert.equal(attr(one(streamed, 'execute_tool List files'), 'flowtape.tool.status'), 'completed');
      assert.equal(attr(one(streamed, 'shell build'), 'process.exit.code'), 4);
      assert.equal(readJson<{ warnings?: string[] }>(join(result.bundleDir, 'manifest.json')).warnings, undefined);
    } finally {
      await live.stop();
    }
  });

  it('with an exporter of its own (in the run\'s thread): the same spans as the after-the-fact export', async () => {
    const { agent, flow } = await usageFlow('live-own');
    // The SDK's in-memory exporter forgets its spans at shutdown (the end of the run): keep them for the test.
    const exporter = new (class extends InMemorySpanExporter {
      override shutdown(): Promise<void> {
        return Promise.resolve();
      }
    })();
    const result = await record(flow, {}, { cwd: dir.path, bundleDir: join(dir.path, 'live-own'), agentCommand: agent, otlp: { exporter, batchDelayMs: 10 } });
    assert.equal(result.status, 'completed', JSON.stringify(result.error));
    assert.deepEqual(result.warnings, []);
    const { spans: later } = await bundleSpans(result.bundleDir);
    const asJson = (spans: ReadableSpan[]) => JSON.parse(new TextDecoder().decode(JsonTraceSerializer.serializeRequest([...spans].sort((a, b) => a.spanContext().spanId.localeCompare(b.spanContext().spanId)))));
    assert.ok(later.length >= 9);
    assert.deepEqual(asJson(exporter.getFinishedSpans()), asJson(later));
  });

  it('a collector that is down: the run completes, and the bundle keeps a warning saying how many spans were not delivered', async () => {
    const { agent, flow } = await usageFlow('live-down');
    const port = await closedPort();
    const result = await record(flow, {}, {
      cwd: dir.path, bundleDir: join(dir.path, 'live-down'), agentCommand: agent,
      // Each request gives up at the refused connection; with no one listening, the end waits at most 1 s for the worker.
      otlp: { endpoint: `http://127.0.0.1:${port}`, protocol: 'http/json', timeoutMs: 1000, flushTimeoutMs: PATIENT },
    });
    assert.equal(result.status, 'completed', JSON.stringify(result.error));
    assert.equal(result.warnings.length, 1, result.warnings.join('\n'));
    // The worker's count; or, when it was still loading as the run ended (a busy machine), no count: no one listens there.
    assert.match(result.warnings[0]!, /OpenTelemetry export to http:\/\/127\.0\.0\.1:\d+\/v1\/traces .*: (\d+ of \d+ )?spans not delivered/);
    const manifest = readJson<{ status: string; complete: boolean; warnings?: string[] }>(join(result.bundleDir, 'manifest.json'));
    assert.equal(manifest.status, 'completed');
    assert.equal(manifest.complete, true);
    assert.deepEqual(manifest.warnings, result.warnings);
  });

  it('flowtape run --otlp: exit 0 with the collector down, the warning on stderr; spans reach a collector that is up', async () => {
    const flowPath = join(dir.path, 'tiny.flow.ts');
    const { writeFile } = await import('node:fs/promises');
    await writeFile(flowPath, `import { compute, defineFlow } from ${JSON.stringify(join(repoRoot, 'recorder/src/index.ts'))};\nexport default defineFlow({ name: 'tiny', startAt: 'a', nodes: { a: compute({ run: () => 1 }) }, edges: [] });\n`);
    const port = await closedPort();
    const down = await runCli(['run', flowPath, '--out', join(dir.path, 'cli-runs'), '--otlp', `http://127.0.0.1:${port}`, '-q', '--json'], { cwd: dir.path });
    assert.equal(down.code, 0, down.stderr);
    assert.match(down.stderr, /warning: OpenTelemetry export to .*not delivered/);
    const report = JSON.parse(down.stdout) as { bundle: string; status: string; warnings?: string[] };
    assert.equal(report.status, 'completed');
    // The worker's count, or (a worker still loading when the run ended) the run's own thread: no one listens there.
    assert.match(report.warnings?.[0] ?? '', /: (2 of 2 )?spans not delivered \(connect ECONNREFUSED/);
    assert.ok(existsSync(join(report.bundle, 'manifest.json')));
    collector.clear();
    const up = await runCli(['run', flowPath, '--out', join(dir.path, 'cli-runs'), '-q'], {
      cwd: dir.path,
      env: { OTEL_EXPORTER_OTLP_ENDPOINT: collector.endpointUrl!, OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json' },
    });
    assert.equal(up.code, 0, up.stderr);
    assert.deepEqual(tree(collector.spans), ['invoke_workflow tiny <- -', 'compute a <- invoke_workflow tiny']);
  });

  it('flowtape run --otlp: a collector that is down is said on stderr while the run goes on, not only after it', async () => {
    // Node a's span leaves about a second after a ends (the worker's wake-up, then the batch delay) and fails; b is
    // still waiting then, so the line comes before b's progress line. Before, nothing was said until the run ended.
    const flowPath = join(dir.path, 'slow.flow.ts');
    const { writeFile } = await import('node:fs/promises');
    await writeFile(flowPath, [
      `import { compute, defineFlow } from ${JSON.stringify(join(repoRoot, 'recorder/src/index.ts'))};`,
      'export default defineFlow({ name: \'slow\', startAt: \'a\', edges: [{ from: \'a\', to: \'b\' }], nodes: {',
      '  a: compute({ run: () => 1 }),',
      '  b: compute({ run: () => new Promise((resolve) => setTimeout(() => resolve(2), 6000)) }),',
      '} });',
    ].join('\n'));
    const port = await closedPort();
    const result = await runCli(['run', flowPath, '--out', join(dir.path, 'slow-runs'), '--otlp', `http://127.0.0.1:${port}`], { cwd: dir.path });
    assert.equal(result.code, 0, result.stderr);
    const lines = result.stderr.split('\n');
    const notice = lines.findIndex((line) => line.startsWith(`flowtape: OpenTelemetry export to http://127.0.0.1:${port}/v1/traces (http/protobuf): collector unavailable (connect ECONNREFUSED`));
    const bDone = lines.findIndex((line) => /\bb\b.*\bok\b/.test(line));
    assert.ok(notice >= 0, result.stderr);
    assert.ok(bDone > notice, result.stderr);
    assert.equal(lines.filter((line) => line.includes('collector unavailable')).length, 1, result.stderr);
    assert.match(result.stderr, /warning: OpenTelemetry export to .*not delivered/);
  });
});
