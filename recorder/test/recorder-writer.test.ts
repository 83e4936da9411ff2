// The bundle writer driven by hand-written lifecycle sequences: what it writes, file by file, without the runtime.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { project, toRunProjection, toStepsProjection, type ProjectionState } from '@flowtape/schema';
import { createRecorder, type RecorderOptions } from '../src/bundle/index.ts';
import type { LifecycleEvent } from '../src/runtime/index.ts';
import { verifyBundle } from '../src/tools/verify.ts';
import { assertContiguous, flowSnapshot, readJson, readLines, tempDir, traceOf, waitFor, type TraceLine } from './recorder-support.ts';

const T0 = Date.UTC(2026, 0, 1);

/** A recorder fed by hand, with a clock that advances 1 ms per event. */
function feed(dir: string, options: RecorderOptions = {}) {
  const recorder = createRecorder(dir, options);
  let t = T0;
  return {
    recorder,
    emit(...events: LifecycleEvent[]) {
      for (const event of events) recorder.onEvent(event, t++);
    },
  };
}

const a1 = { nodeId: 'a', attemptId: 'a#1' };
const ask1 = { nodeId: 'ask', attemptId: 'ask#1' };
const sh1 = { nodeId: 'sh', attemptId: 'sh#1' };

const flow = flowSnapshot(
  'hand',
  [
    { id: 'a', nodeType: 'compute' },
    { id: 'ask', nodeType: 'acp', sessionMode: 'shared', sessionHandle: 'main' },
    { id: 'sh', nodeType: 'action', actionType: 'shell' },
  ],
  [{ from: 'a', switch: { on: '$.go', cases: { yes: 'ask' } } }, { from: 'ask', to: 'sh' }],
);

const rpc = (message: Record<string, unknown>) => ({ jsonrpc: '2.0', ...message });
const update = (sessionUpdate: Record<string, unknown>) => rpc({ method: 'session/update', params: { sessionId: 'acp-1', update: sessionUpdate } });

/** One ACP turn as the ACP client reports it: the prompt announced before its request line (as the runtime does). */
function turn(prompt: string, announce: 'before' | 'after'): LifecycleEvent[] {
  const request: LifecycleEvent = { type: 'acp.traffic', sessionId: 's1', attemptId: 'ask#1', direction: 'outgoing', message: rpc({ id: 2, method: 'session/prompt', params: { sessionId: 'acp-1', prompt: [{ type: 'text', text: prompt }] } }) };
  const sent: LifecycleEvent = { type: 'acp.prompt_sent', ...ask1, sessionId: 's1', prompt };
  const traffic = (message: unknown, direction: 'incoming' | 'outgoing' = 'incoming'): LifecycleEvent => ({ type: 'acp.traffic', sessionId: 's1', attemptId: 'ask#1', direction, message });
  return [
    ...(announce === 'before' ? [sent, request] : [request, sent]),
    traffic(update({ sessionUpdate: 'agent_thought_chunk', content: { type: 'text', text: 'Thinking.' } })),
    traffic(update({ sessionUpdate: 'plan', entries: [{ content: 'read', status: 'in_progress', priority: 'high' }] })),
    traffic(update({ sessionUpdate: 'tool_call', toolCallId: 't1', title: 'Read a.txt', kind: 'read', status: 'pending' })),
    traffic(rpc({ id: 7, method: 'session/request_permission', params: { sessionId: 'acp-1', toolCall: { toolCallId: 't1' }, options: [{ optionId: 'allow', name: 'Allow', kind: 'allow_once' }] } })),
    traffic(rpc({ id: 7, result: { outcome: { outcome: 'selected', optionId: 'allow' } } }), 'outgoing'),
    { type: 'acp.traffic', sessionId: 's1', direction: 'stderr', text: 'agent log line' },
    traffic(update({ sessionUpdate: 'agent_message_chunk', content: { type: 'text', text: 'Done.' } })),
    traffic(rpc({ id: 2, result: { stopReason: 'end_turn' } })),
    { type: 'acp.turn_finished', ...ask1, sessionId: 's1', stopReason: 'end_turn', response: 'Done.' },
  ];
}

function fullRun(announce: 'before' | 'after' = 'before', extra: { bigStdout?: string } = {}): LifecycleEvent[] {
  const bigStdout = extra.bigStdout ?? 'x'.repeat(5000);
  return [
    { type: 'run.started', runId: 'run-1', flow, input: { topic: 'tests' }, cwd: '/somewhere', deterministic: false },
    { type: 'node.started', ...a1, nodeType: 'compute', attempt: 1, input: { topic: 'tests' } },
    { type: 'node.outcome', ...a1, outcome: 'ok', durationMs: 1, output: { go: 'yes' } },
    { type: 'edge.taken', ...a1, from: 'a', to: 'ask', branch: { on: '$.go', value: 'yes', caseKey: 'yes' } },
    { type: 'node.started', ...ask1, nodeType: 'acp', attempt: 1 },
    { type: 'acp.traffic', sessionId: 's1', attemptId: 'ask#1', direction: 'outgoing', message: rpc({ id: 0, method: 'initialize', params: { protocolVersion: 1 } }) },
    { type: 'acp.traffic', sessionId: 's1', attemptId: 'ask#1', direction: 'incoming', message: rpc({ id: 0, result: { protocolVersion: 1 } }) },
    { type: 'acp.traffic', sessionId: 's1', attemptId: 'ask#1', direction: 'outgoing', message: rpc({ id: 1, method: 'session/new', params: { cwd: '/somewhere', mcpServers: [] } }) },
    { type: 'acp.traffic', sessionId: 's1', attemptId: 'ask#1', direction: 'incoming', message: rpc({ id: 1, result: { sessionId: 'acp-1' } }) },
    { type: 'session.bound', ...ask1, sessionId: 's1', handle: 'main', acpSessionId: 'acp-1', mode: 'shared', reused: false, agentCommand: ['agent', '--x'], cwd: '/somewhere', agent: { name: 'fake', version: '1' }, protocolVersion: 1 },
    ...turn('Read a.txt', announce),
    { type: 'node.outcome', ...ask1, outcome: 'ok', durationMs: 5, output: 'Done.' },
    { type: 'edge.taken', ...ask1, from: 'ask', to: 'sh' },
    { type: 'node.started', ...sh1, nodeType: 'action', attempt: 1 },
    { type: 'action.started', ...sh1, actionType: 'shell', command: ['sh', '-c', 'build'], cwd: '/somewhere' },
    { type: 'action.completed', ...sh1, actionType: 'shell', ok: true, durationMs: 3, exitCode: 0, signal: null, stdout: bigStdout, stderr: 'warn\n' },
    { type: 'node.outcome', ...sh1, outcome: 'ok', durationMs: 4, output: { stdout: bigStdout } },
    { type: 'run.completed', output: { stdout: bigStdout }, durationMs: 30 },
  ];
}

function sha256(file: string): string {
  return createHash('sha256').update(readFileSync(file)).digest('hex');
}

function allFiles(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => join(e.parentPath, e.name));
}

async function assertValid(bundle: string): Promise<void> {
  const report = await verifyBundle(bundle);
  assert.deepEqual(report.problems.map((p) => p.message), [], 'verify finds no problem');
  assert.ok(report.ok);
}

describe('bundle writer (hand-written lifecycle sequences)', () => {
  it('writes every file of a v1 bundle: trace, projections, session, artifacts, manifest', async () => {
    const dir = await tempDir();
    try {
      const bundle = join(dir.path, 'b');
      const { recorder, emit } = feed(bundle);
      emit(...fullRun());
      const summary = await recorder.close();
      assert.equal(summary.status, 'completed');
      assert.equal(summary.complete, true);
      await assertValid(bundle);

      const trace = traceOf(bundle);
      assertContiguous(trace.map((e) => e.seq));
      assert.equal(trace[0]!.type, 'run.started');
      assert.equal(trace.at(-1)!.type, 'run.completed');
      // One outcome per attempt, in order.
      assert.deepEqual(trace.filter((e) => e.type === 'node.outcome').map((e) => e.attemptId), ['a#1', 'ask#1', 'sh#1']);
      // The switch's why.
      const edge = trace.find((e) => e.type === 'edge.taken' && e.attemptId === 'a#1')!;
      assert.deepEqual(edge.payload.branch, { on: '$.go', value: 'yes', caseKey: 'yes' });

      // Small values inline, large ones (and prompts and responses, always) in artifacts announced first.
      const started = trace.find((e) => e.type === 'node.started' && e.attemptId === 'a#1')!;
      assert.deepEqual(started.payload.input, { inline: { topic: 'tests' } });
      const completed = trace.find((e) => e.type === 'action.completed')!;
      assert.deepEqual(completed.payload.stderr, { inline: 'warn\n' });
      const stdoutRef = completed.payload.stdout.artifact;
      assert.match(stdoutRef.path, /^artifacts\/sha256-[0-9a-f]{64}\.txt$/);
      assert.equal(readFileSync(join(bundle, stdoutRef.path), 'utf8'), 'x'.repeat(5000));
      assert.equal(sha256(join(bundle, stdoutRef.path)), stdoutRef.sha256);
      assert.equal(statSync(join(bundle, stdoutRef.path)).size, stdoutRef.size);
      assert.equal(completed.payload.stdout.preview, 'x'.repeat(240));
      const written = trace.filter((e) => e.type === 'artifact.written');
      assert.deepEqual(written.map((e) => e.payload.role), ['prompt', 'response', 'stdout', 'output', 'output']);
      const before = written.find((e) => e.payload.role === 'stdout')!;
      assert.ok(before.seq < completed.seq, 'artifact.written comes before the event that references it');
      const promptEvent = trace.find((e) => e.type === 'acp.prompt_sent')!;
      assert.equal(readFileSync(join(bundle, promptEvent.payload.prompt.artifact.path), 'utf8'), 'Read a.txt');

      // Session files: raw traffic in order, with direction, seq, at, attemptId; record; binding.
      const events = readLines<{ seq: number; direction: string; at: string; attemptId?: string; message?: any; text?: string }>(join(bundle, 'sessions/s1/events.ndjson'));
      assertContiguous(events.map((e) => e.seq));
      assert.equal(events.length, 13);
      assert.ok(events.every((e) => typeof e.at === 'string' && ['outgoing', 'incoming', 'stderr'].includes(e.direction)));
      assert.deepEqual(events.find((e) => e.direction === 'stderr'), { seq: 11, at: events[10]!.at, direction: 'stderr', text: 'agent log line' });
      const record = readJson<{ lastSeq: number; messages: Array<{ role: string; index: number; answer?: unknown }> }>(join(bundle, 'sessions/s1/record.json'));
      assert.equal(record.lastSeq, 13);
      assert.deepEqual(record.messages.map((m) => m.role), ['user', 'thought', 'plan', 'tool_call', 'permission', 'agent']);
      assert.deepEqual(record.messages[4]!.answer, { outcome: 'selected', optionId: 'allow' });
      const binding = readJson<{ sessionId: string; acpSessionId: string; boundBy: string }>(join(bundle, 'sessions/s1/binding.json'));
      assert.equal(binding.acpSessionId, 'acp-1');
      assert.equal(binding.boundBy, 'ask#1');

      // The attempt links to its slice of the session: the prompt line, the user message, and the turn's ranges.
      assert.equal(events[promptEvent.payload.sessionEventSeq - 1]!.message.method, 'session/prompt');
      assert.equal(record.messages[promptEvent.payload.messageIndex]!.role, 'user');
      const finished = trace.find((e) => e.type === 'acp.turn_finished')!;
      assert.deepEqual(finished.payload.sessionEvents, { from: 5, to: 13 });
      assert.deepEqual(finished.payload.messages, { from: 0, to: 5 });
      assert.equal(finished.payload.stopReason, 'end_turn');

      // Projections are the reducer's fold of the trace, stamped with its seq.
      const state: ProjectionState = project(trace as never);
      assert.equal(readFileSync(join(bundle, 'projections/run.json'), 'utf8'), `${JSON.stringify(toRunProjection(state))}\n`);
      assert.deepEqual(readJson(join(bundle, 'projections/steps.json')), JSON.parse(JSON.stringify(toStepsProjection(state))));
      const manifest = readJson<{ complete: boolean; lastSeq: number; writer: { pid?: number; hostname?: string }; sessions: unknown[] }>(join(bundle, 'manifest.json'));
      assert.equal(manifest.complete, true);
      assert.equal(manifest.lastSeq, trace.length);
      assert.equal(manifest.writer.pid, process.pid);
      assert.equal(manifest.writer.hostname, hostname());
      assert.deepEqual(manifest.sessions, [{ sessionId: 's1', path: 'sessions/s1' }]);
      // Nothing temporary is left behind.
      assert.deepEqual(allFiles(bundle).filter((f) => f.endsWith('.tmp') || f.includes('.lock')), []);
    } finally {
      await dir.remove();
    }
  });

  it('links the turn to its prompt line whether the prompt is announced before or after the request', async () => {
    const dir = await tempDir();
    try {
      for (const announce of ['before', 'after'] as const) {
        const bundle = join(dir.path, announce);
        const { recorder, emit } = feed(bundle);
        const events = fullRun(announce);
        // A second turn in the same shared session.
        const second = turn('And again', announce).map((e) => (e.type === 'acp.traffic' && e.message && (e.message as any).id === 2 ? { ...e, message: { ...(e.message as object), id: 3 } } : e));
        const at = events.findIndex((e) => e.type === 'node.outcome' && e.attemptId === 'ask#1');
        events.splice(at, 0, ...second);
        emit(...events);
        await recorder.close();
        await assertValid(bundle);
        const prompts = traceOf(bundle).filter((e) => e.type === 'acp.prompt_sent');
        const lines = readLines<{ seq: number; message?: { method?: string } }>(join(bundle, 'sessions/s1/events.ndjson'));
        const promptLines = lines.filter((l) => l.message?.method === 'session/prompt').map((l) => l.seq);
        assert.deepEqual(prompts.map((p) => p.payload.sessionEventSeq), promptLines, announce);
        const turns = traceOf(bundle).filter((e) => e.type === 'acp.turn_finished');
        assert.deepEqual(turns.map((t) => t.payload.sessionEvents.from), promptLines);
        assert.equal(turns[1]!.payload.sessionEvents.to, lines.length);
      }
    } finally {
      await dir.remove();
    }
  });

  it('keeps exactly one outcome per attempt: drops a second one, closes attempts open when the run stops', async () => {
    const dir = await tempDir();
    try {
      const warnings: string[] = [];
      const bundle = join(dir.path, 'b');
      const { recorder, emit } = feed(bundle, { onWarning: (w) => warnings.push(w) });
      emit(
        { type: 'run.started', runId: 'r', flow, input: {}, cwd: '/x', deterministic: false },
        { type: 'node.started', ...a1, nodeType: 'compute', attempt: 1 },
        { type: 'node.outcome', ...a1, outcome: 'ok', durationMs: 1 },
        { type: 'node.outcome', ...a1, outcome: 'failed', durationMs: 2 },
        { type: 'node.started', ...ask1, nodeType: 'acp', attempt: 1 },
        { type: 'run.cancelled', reason: 'SIGINT', durationMs: 9 },
      );
      await recorder.close();
      await assertValid(bundle);
      const outcomes = traceOf(bundle).filter((e) => e.type === 'node.outcome');
      assert.deepEqual(outcomes.map((e) => [e.attemptId, e.payload.outcome]), [['a#1', 'ok'], ['ask#1', 'cancelled']]);
      assert.equal(outcomes[1]!.payload.error.code, 'no_outcome');
      assert.ok(outcomes[1]!.seq < traceOf(bundle).at(-1)!.seq, 'the outcome comes before run.cancelled');
      assert.ok(warnings.some((w) => w.includes('a#1') && w.includes('second outcome')));

      // A runtime that stops without a final event: the writer ends the run as failed, attempts included.
      const cut = join(dir.path, 'cut');
      const second = feed(cut);
      second.emit(
        { type: 'run.started', runId: 'r2', flow, input: {}, cwd: '/x', deterministic: false },
        { type: 'node.started', ...a1, nodeType: 'compute', attempt: 1 },
      );
      const summary = await second.recorder.close({ error: { message: 'runtime crashed', code: 'runtime_error' } });
      assert.equal(summary.status, 'failed');
      await assertValid(cut);
      const tail = traceOf(cut).slice(-2);
      assert.deepEqual(tail.map((e) => e.type), ['node.outcome', 'run.failed']);
      assert.equal(tail[1]!.payload.error.message, 'runtime crashed');
      assert.equal(readJson<{ complete: boolean }>(join(cut, 'manifest.json')).complete, true);
    } finally {
      await dir.remove();
    }
  });

  it('stores the same bytes once: a repeated large value reuses its artifact', async () => {
    const dir = await tempDir();
    try {
      const bundle = join(dir.path, 'b');
      const { recorder, emit } = feed(bundle);
      emit(...fullRun('before', { bigStdout: 'y'.repeat(3000) }));
      await recorder.close();
      await assertValid(bundle);
      const written = traceOf(bundle).filter((e) => e.type === 'artifact.written');
      const paths = written.map((e) => e.payload.artifact.path);
      assert.equal(new Set(paths).size, 4, 'prompt, response, stdout text, and the {stdout} JSON (twice)');
      assert.equal(paths.length, 5);
      assert.equal(readdirSync(join(bundle, 'artifacts')).length, 4);
    } finally {
      await dir.remove();
    }
  });

  it('redacts secret environment values everywhere before writing, and a custom hook too', async () => {
    const dir = await tempDir();
    try {
      const secret = 'ghp_S3cr3tT0kenValue42';
      const bundle = join(dir.path, 'b');
      const { recorder, emit } = feed(bundle, {
        env: { GITHUB_TOKEN: secret, HOME: '/home/someone', SHORT_KEY: 'abc' },
        redact: (text) => text.replaceAll('internal.example', '[host]'),
      });
      const events = fullRun('before', { bigStdout: `token=${secret} `.repeat(300) });
      // The secret also reaches the input, an error, a session line, the flow definition and the prompt.
      (events[0] as { input: unknown }).input = { token: secret, quoted: `say "${secret}"` };
      (events[0] as { flow: typeof flow }).flow = { ...flow, description: `uses ${secret} at internal.example` };
      events.splice(6, 0, { type: 'acp.traffic', sessionId: 's1', direction: 'stderr', text: `auth ${secret}` });
      const promptAt = events.findIndex((e) => e.type === 'acp.prompt_sent');
      events[promptAt] = { ...(events[promptAt] as Extract<LifecycleEvent, { type: 'acp.prompt_sent' }>), prompt: `use ${secret}` };
      emit(...events);
      await recorder.close();
      await assertValid(bundle);
      for (const file of allFiles(bundle)) {
        const text = readFileSync(file, 'utf8');
        assert.ok(!text.includes(secret), `${file} holds the secret`);
        assert.ok(!text.includes('internal.example'), `${file} holds what the custom hook removes`);
      }
      const all = allFiles(bundle).map((f) => readFileSync(f, 'utf8')).join('\n');
      assert.ok(all.includes('[redacted:GITHUB_TOKEN]'));
      assert.ok(all.includes('[host]'));
      assert.ok(!all.includes('[redacted:SHORT_KEY]'), 'values shorter than 8 characters are not treated as secrets');
      const started = traceOf(bundle)[0]!;
      assert.deepEqual(started.payload.input.inline, { token: '[redacted:GITHUB_TOKEN]', quoted: 'say "[redacted:GITHUB_TOKEN]"' });
    } finally {
      await dir.remove();
    }
  });

  it('writes no absolute path, pid or hostname in deterministic mode', async () => {
    const dir = await tempDir();
    try {
      const bundle = join(dir.path, 'b');
      const cwd = join(dir.path, 'work');
      const { recorder, emit } = feed(bundle, { deterministic: true });
      const events = fullRun().map((e) => {
        if (e.type === 'run.started') return { ...e, cwd, deterministic: true };
        if (e.type === 'session.bound') return { ...e, cwd, agentCommand: [process.execPath, join(cwd, 'agent.js')] };
        if (e.type === 'action.started') return { ...e, cwd };
        if (e.type === 'acp.traffic' && (e.message as any)?.method === 'session/new') return { ...e, message: rpc({ id: 1, method: 'session/new', params: { cwd, mcpServers: [] } }) };
        return e;
      });
      emit(...events);
      await recorder.close();
      await assertValid(bundle);
      const all = allFiles(bundle).map((f) => readFileSync(f, 'utf8')).join('\n');
      assert.ok(!all.includes(dir.path), 'no temp path');
      assert.ok(!all.includes(process.execPath), 'no node path');
      assert.ok(!all.includes(hostname()) || hostname().length < 3, 'no hostname');
      const manifest = readJson<{ writer: Record<string, unknown> }>(join(bundle, 'manifest.json'));
      assert.deepEqual(Object.keys(manifest.writer).sort(), ['name', 'version']);
      const binding = readJson<{ agentCommand: string[]; cwd: string }>(join(bundle, 'sessions/s1/binding.json'));
      assert.deepEqual(binding.agentCommand, ['node', '<cwd>/agent.js']);
      assert.equal(binding.cwd, '<cwd>');
      assert.equal(traceOf(bundle)[0]!.payload.cwd, undefined);
    } finally {
      await dir.remove();
    }
  });

  it('throttles projections (not rewritten per event) and never writes one ahead of the trace', async () => {
    const dir = await tempDir();
    try {
      const bundle = join(dir.path, 'b');
      const { recorder, emit } = feed(bundle, { snapshotIntervalMs: 3_600_000 });
      emit({ type: 'run.started', runId: 'r', flow, input: {}, cwd: '/x', deterministic: false });
      // The manifest comes before the first line (SPEC, writing discipline rule 1); projections at the first
      // throttled snapshot or the end.
      assert.equal(readJson<{ lastSeq: number }>(join(bundle, 'manifest.json')).lastSeq, 0);
      assert.equal(existsSync(join(bundle, 'trace.ndjson')), false, 'the manifest is there before the trace');
      const lineCount = () => (existsSync(join(bundle, 'trace.ndjson')) ? readFileSync(join(bundle, 'trace.ndjson'), 'utf8').split('\n').length - 1 : 0);
      const runSeq = () => (existsSync(join(bundle, 'projections/run.json')) ? readJson<{ seq: number }>(join(bundle, 'projections/run.json')).seq : 0);
      for (let i = 0; i < 500; i++) {
        const scope = { nodeId: 'a', attemptId: `a#${i + 1}` };
        emit({ type: 'node.started', ...scope, nodeType: 'compute', attempt: i + 1 }, { type: 'node.outcome', ...scope, outcome: 'ok', durationMs: 0, output: i });
        if (i % 100 === 0) await new Promise((r) => setImmediate(r));
        assert.ok(runSeq() <= lineCount(), 'a projection never reflects lines that are not in the trace');
      }
      await waitFor(() => lineCount() === 1001 || undefined, 5_000, 'the trace lines');
      assert.equal(runSeq(), 0, 'no projection was written for any of the 1000 events');
      assert.equal(readJson<{ lastSeq: number }>(join(bundle, 'manifest.json')).lastSeq, 0, 'no manifest since the first');
      emit({ type: 'run.completed', output: null, durationMs: 5 });
      await recorder.close();
      assert.equal(runSeq(), 1002, 'the end of the run always writes them');
      await assertValid(bundle);
    } finally {
      await dir.remove();
    }
  });

  it('writes projections periodically during a long run, each one behind the trace it reflects', async () => {
    const dir = await tempDir();
    try {
      const bundle = join(dir.path, 'b');
      const { recorder, emit } = feed(bundle, { snapshotIntervalMs: 20 });
      emit({ type: 'run.started', runId: 'r', flow, input: {}, cwd: '/x', deterministic: false });
      const seen = new Set<number>();
      // Until three snapshots were seen, not for a fixed time: under load a snapshot costs more, and the throttle
      // (SNAPSHOT_COST_FACTOR × its cost) spaces them further apart. A writer that stops snapshotting still fails.
      for (let i = 0; seen.size < 3 && i < 2000; i++) {
        const scope = { nodeId: 'a', attemptId: `a#${i + 1}` };
        emit({ type: 'node.started', ...scope, nodeType: 'compute', attempt: i + 1 }, { type: 'node.outcome', ...scope, outcome: 'ok', durationMs: 0 });
        await new Promise((r) => setTimeout(r, 10));
        const file = join(bundle, 'projections/run.json');
        if (!existsSync(file)) continue;
        const seq = readJson<{ seq: number }>(file).seq;
        const lines = readFileSync(join(bundle, 'trace.ndjson'), 'utf8').split('\n').length - 1;
        assert.ok(seq <= lines, `projection at ${seq}, trace has ${lines} lines`);
        seen.add(seq);
      }
      assert.ok(seen.size >= 3, `several snapshots during the run (${[...seen].join(', ')})`);
      emit({ type: 'run.completed', output: null, durationMs: 5 });
      await recorder.close();
      await assertValid(bundle);
    } finally {
      await dir.remove();
    }
  });

  it('refuses to overwrite a bundle, and writes nothing when no event came', async () => {
    const dir = await tempDir();
    try {
      const bundle = join(dir.path, 'b');
      const first = feed(bundle);
      first.emit(...fullRun());
      await first.recorder.close();
      const again = feed(bundle);
      again.emit(...fullRun());
      await assert.rejects(again.recorder.close(), /already exists: a bundle is never overwritten/);
      await assertValid(bundle);

      const untouched = join(dir.path, 'never');
      await createRecorder(untouched).close();
      assert.equal(existsSync(untouched), false);
    } finally {
      await dir.remove();
    }
  });

  it('writes nothing into a folder holding a manifest, even without a trace: its manifest and flow.json stay as they were', async () => {
    const dir = await tempDir();
    try {
      const bundle = join(dir.path, 'b');
      const first = feed(bundle);
      first.emit(...fullRun());
      await first.recorder.close();
      rmSync(join(bundle, 'trace.ndjson'));
      const before = new Map(allFiles(bundle).map((f) => [f, readFileSync(f, 'utf8')]));
      const again = feed(bundle);
      again.emit(...fullRun());
      await assert.rejects(again.recorder.close(), /manifest\.json already exists: a bundle is never overwritten/);
      assert.deepEqual(new Map(allFiles(bundle).map((f) => [f, readFileSync(f, 'utf8')])), before);
    } finally {
      await dir.remove();
    }
  });

  it('continues a waiting bundle in resume mode: seq goes on, the checkpoint attempt is known', async () => {
    const dir = await tempDir();
    try {
      const bundle = join(dir.path, 'b');
      const cp1 = { nodeId: 'cp', attemptId: 'cp#1' };
      const first = feed(bundle);
      first.emit(
        { type: 'run.started', runId: 'r', flow: flowSnapshot('cp', [{ id: 'cp', nodeType: 'checkpoint' }, { id: 'a', nodeType: 'compute' }]), input: {}, cwd: '/x', deterministic: false },
        { type: 'node.started', ...cp1, nodeType: 'checkpoint', attempt: 1 },
        { type: 'node.outcome', ...cp1, outcome: 'ok', durationMs: 0 },
        { type: 'run.waiting', checkpoint: 'cp', message: 'approve?' },
      );
      const waiting = await first.recorder.close();
      assert.equal(waiting.status, 'waiting');
      assert.equal(waiting.complete, false);
      assert.equal(readJson<{ complete: boolean; status: string }>(join(bundle, 'manifest.json')).complete, false);
      await assertValid(bundle);

      const second = feed(bundle, { resume: true });
      second.emit(
        { type: 'run.resumed', checkpoint: 'cp', input: { ok: true } },
        { type: 'edge.taken', ...cp1, from: 'cp', to: 'a' },
        { type: 'node.started', ...a1, nodeType: 'compute', attempt: 1 },
        { type: 'node.outcome', ...a1, outcome: 'ok', durationMs: 0 },
        { type: 'run.completed', output: 1, durationMs: 3 },
      );
      const done = await second.recorder.close();
      assert.equal(done.status, 'completed');
      const trace: TraceLine[] = traceOf(bundle);
      assertContiguous(trace.map((e) => e.seq));
      assert.deepEqual(trace.map((e) => e.type).slice(3), ['run.waiting', 'run.resumed', 'edge.taken', 'node.started', 'node.outcome', 'run.completed']);
      assert.equal(readJson<{ complete: boolean; status: string }>(join(bundle, 'manifest.json')).complete, true);
      await assertValid(bundle);
    } finally {
      await dir.remove();
    }
  });
});
