import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { appendFile, link, mkdir, mkdtemp, readFile, readdir, rm, symlink, writeFile } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import lockfile from 'proper-lockfile';
import {
  Manifest,
  parseNdjsonText,
  project,
  toRunProjection,
  toStepsProjection,
  TraceEvent,
} from '@flowtape/schema';
import { BUNDLE_LOCKFILE, repairBundle } from '../src/tools/repair.ts';
import { verifyBundle } from '../src/tools/verify.ts';
import { BundleBuilder, linearFlow } from '../../test/fixtures/bundle-builder.ts';
import { runCli } from './recorder-support.ts';
import { firstWriteTo, runKilledAfter, writeCrashFlow } from './crash-support.ts';

async function scratch(t: { after: (fn: () => Promise<void>) => void }): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'flowtape-repair-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

/** The pid of a process that has exited. */
function deadPid(): number {
  const child = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
  return Number(child.stdout);
}

async function snapshot(dir: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  const walk = async (rel: string) => {
    for (const entry of await readdir(join(dir, rel), { withFileTypes: true })) {
      const path = rel ? `${rel}/${entry.name}` : entry.name;
      if (entry.isDirectory()) await walk(path);
      else out.set(path, await readFile(join(dir, path), 'utf8'));
    }
  };
  await walk('');
  return out;
}

async function readTraceFile(dir: string): Promise<{ events: TraceEvent[]; text: string }> {
  const text = await readFile(join(dir, 'trace.ndjson'), 'utf8');
  const events = parseNdjsonText(text).map(({ value }) => TraceEvent.parse(value));
  return { events, text };
}

/** Projections and manifest agree with the fold of the trace. */
async function assertConsistent(dir: string): Promise<Manifest> {
  const { events, text } = await readTraceFile(dir);
  assert.ok(text.endsWith('\n'));
  events.forEach((e, i) => assert.equal(e.seq, i + 1));
  const state = project(events);
  assert.deepEqual(JSON.parse(await readFile(join(dir, 'projections/run.json'), 'utf8')), JSON.parse(JSON.stringify(toRunProjection(state))));
  assert.deepEqual(JSON.parse(await readFile(join(dir, 'projections/steps.json'), 'utf8')), JSON.parse(JSON.stringify(toStepsProjection(state))));
  const manifest = Manifest.parse(JSON.parse(await readFile(join(dir, 'manifest.json'), 'utf8')));
  assert.equal(manifest.lastSeq, state.seq);
  assert.equal(manifest.status, state.status);
  for (const step of state.steps) assert.notEqual(step.status, 'running', `${step.attemptId} has no outcome`);
  return manifest;
}

function abandonedFixture(dir: string, pid: number): BundleBuilder {
  const f = new BundleBuilder(dir, linearFlow('three', ['a', 'b', 'c']), { runId: 'run-crashed', writer: { name: 'flowtape', version: '0.1.0', pid, hostname: hostname() } });
  f.runStarted({ x: 1 });
  f.node('a', { output: 1, next: { to: 'b' } });
  f.node('b', { open: true, turn: { sessionId: 'sess-1', prompt: 'hello', chunks: ['hi'] } });
  return f;
}

test('repair drops a torn last line, closes open attempts as interrupted, marks the run abandoned, and is idempotent', async (t) => {
  const dir = join(await scratch(t), 'bundle');
  const f = abandonedFixture(dir, deadPid());
  f.finish({ tornTail: '{"seq":11,"at":"2026-01-15T09:00:00.0' });
  await appendFile(join(dir, 'sessions/sess-1/events.ndjson'), '{"seq":4,"direction":"inc');

  const report = await repairBundle(dir);
  assert.equal(report.abandoned, true);
  assert.deepEqual(report.interrupted, ['b#1']);
  assert.deepEqual(report.tornLines.map((l) => l.file), ['trace.ndjson', 'sessions/sess-1/events.ndjson']);
  assert.equal(report.status, 'failed');

  const { events } = await readTraceFile(dir);
  const tail = events.slice(-2);
  assert.equal(tail[0]?.type, 'node.outcome');
  assert.equal(tail[0]?.attemptId, 'b#1');
  assert.equal((tail[0]?.payload as { outcome: string }).outcome, 'interrupted');
  assert.equal(tail[1]?.type, 'run.failed');
  assert.equal((tail[1]?.payload as { abandoned?: boolean }).abandoned, true);
  const manifest = await assertConsistent(dir);
  assert.equal(manifest.abandoned, true);
  assert.equal(manifest.complete, true);
  assert.ok((await readFile(join(dir, 'sessions/sess-1/events.ndjson'), 'utf8')).endsWith('\n'));

  const before = await snapshot(dir);
  const again = await repairBundle(dir);
  assert.equal(again.changed, false, JSON.stringify(again));
  assert.deepEqual(await snapshot(dir), before);
});

test('repair never drops a complete line: a last line that lacks only its newline is kept', async (t) => {
  const dir = join(await scratch(t), 'bundle');
  const f = new BundleBuilder(dir, linearFlow('two', ['a', 'b']), { runId: 'run-ok' });
  f.runStarted();
  f.node('a', { output: 1, next: { to: 'b' } });
  f.node('b', { output: 2 });
  f.runCompleted(2);
  f.finish();
  const trace = join(dir, 'trace.ndjson');
  const text = await readFile(trace, 'utf8');
  await writeFile(trace, text.slice(0, -1));
  const report = await repairBundle(dir);
  assert.deepEqual(report.terminatedLines, ['trace.ndjson']);
  assert.deepEqual(report.tornLines, []);
  assert.equal(await readFile(trace, 'utf8'), text);
  assert.equal(report.abandoned, false);
  assert.deepEqual(report.rewritten, []);
});

test('repair refuses a bundle whose writer is alive, and one whose lock is held', async (t) => {
  const dir = join(await scratch(t), 'bundle');
  const f = abandonedFixture(dir, process.pid);
  f.finish();
  const before = await snapshot(dir);
  await assert.rejects(repairBundle(dir), /the writer is this process \(pid \d+\); not repairing a live run/);
  assert.deepEqual(await snapshot(dir), before);

  const release = await lockfile.lock(dir, { lockfilePath: join(dir, BUNDLE_LOCKFILE), realpath: false });
  try {
    await assert.rejects(repairBundle(dir, { force: true, lockWaitMs: 200 }), /locked by another process/);
  } finally {
    await release();
  }
  const forced = await repairBundle(dir, { force: true });
  assert.equal(forced.abandoned, true);
});

test('a real writer killed with SIGKILL mid-run: repair makes its bundle consistent and complete', async (t) => {
  const dir = join(await scratch(t), 'bundle');
  const script = fileURLToPath(new URL('./fixtures/endless-writer.ts', import.meta.url));
  const child = spawn(process.execPath, ['--import', 'tsx', script, dir, '40'], { stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise<void>((resolve, reject) => {
    child.stdout.on('data', (chunk: Buffer) => {
      if (chunk.toString().includes('ready')) resolve();
    });
    child.once('exit', (code) => reject(new Error(`writer exited early (${code})`)));
  });
  child.kill('SIGKILL');
  await new Promise((resolve) => child.once('exit', resolve));
  // A kill can land between two writes as well as inside one: add the half line a torn append leaves.
  await appendFile(join(dir, 'trace.ndjson'), '{"seq":');

  const report = await repairBundle(dir);
  assert.equal(report.abandoned, true);
  assert.equal(report.tornLines.length, 1);
  const manifest = await assertConsistent(dir);
  assert.equal(manifest.abandoned, true);
  assert.equal(manifest.status, 'failed');
  assert.equal((await repairBundle(dir)).changed, false);
});

/** A finished two-node run (its writer is irrelevant: repair rewrites projections and the manifest of any bundle). */
function completedFixture(dir: string): BundleBuilder {
  const f = new BundleBuilder(dir, linearFlow('two', ['a', 'b']), { runId: 'run-ok' });
  f.runStarted();
  f.node('a', { output: 1, next: { to: 'b' } });
  f.node('b', { output: 2, turn: { sessionId: 'sess-1', prompt: 'hello', chunks: ['hi'] } });
  f.runCompleted(2);
  f.finish();
  return f;
}

// ——— crashed and damaged bundles: one repair makes each pass verify, a second changes nothing ———

const deadWriter = () => ({ name: 'flowtape', version: '0.1.0', pid: deadPid(), hostname: hostname() });

/** Lines of sessions/<id>/events.ndjson as a writer killed during the ACP handshake leaves them. */
function handshakeTraffic(attemptId: string): string {
  const at = (ms: number) => new Date(Date.UTC(2026, 0, 15, 9, 0, 1) + ms).toISOString();
  const lines = [
    { seq: 1, at: at(0), direction: 'outgoing', message: { jsonrpc: '2.0', id: 0, method: 'initialize', params: { protocolVersion: 1, clientCapabilities: {} } }, attemptId },
    { seq: 2, at: at(1), direction: 'incoming', message: { jsonrpc: '2.0', id: 0, result: { protocolVersion: 1, agentCapabilities: {}, agentInfo: { name: 'slow-agent', version: '2.0.0' } } }, attemptId },
    { seq: 3, at: at(2), direction: 'outgoing', message: { jsonrpc: '2.0', id: 1, method: 'session/new', params: { cwd: '/work', mcpServers: [] } }, attemptId },
    { seq: 4, at: at(3), direction: 'stderr', text: 'creating a session…', attemptId },
  ];
  return lines.map((l) => JSON.stringify(l) + '\n').join('');
}

/**
 * A writer SIGKILLed during the ACP handshake of b#1: the agent was spawned and its traffic is on disk, but there is
 * no session.bound (nor binding.json) yet. `listed`: the manifest names the session (as an earlier repair left it).
 */
async function handshakeCrash(dir: string, opts: { listed?: boolean; traffic?: boolean } = {}): Promise<void> {
  const f = new BundleBuilder(dir, linearFlow('agentic', ['a', 'b'], { b: 'acp' }), { runId: 'run-handshake', writer: deadWriter() });
  f.runStarted();
  f.node('a', { output: 1, next: { to: 'b' } });
  f.start('b', 'acp');
  f.finish();
  await mkdir(join(dir, 'sessions/s1'), { recursive: true });
  if (opts.traffic !== false) await writeFile(join(dir, 'sessions/s1/events.ndjson'), handshakeTraffic('b#1'));
  if (opts.listed) await editJson(join(dir, 'manifest.json'), (m) => void (m.sessions = [{ sessionId: 's1', path: 'sessions/s1' }]));
}

async function editJson(file: string, change: (value: Record<string, any>) => void): Promise<void> {
  const value = JSON.parse(await readFile(file, 'utf8')) as Record<string, any>;
  change(value);
  await writeFile(file, JSON.stringify(value, null, 2) + '\n');
}

/** A finished two-node run with small values (no artifacts, no sessions). */
function plainRun(dir: string): BundleBuilder {
  const f = new BundleBuilder(dir, linearFlow('plain', ['a', 'b']), { runId: 'run-plain' });
  f.runStarted({ x: 1 });
  f.node('a', { output: 1, next: { to: 'b' } });
  f.node('b', { output: 2 });
  f.runCompleted(2);
  f.finish();
  return f;
}

test('repair never writes outside the bundle through a manifest path hiding ".." after a newline or U+2028', async (t) => {
  const root = await scratch(t);
  const dir = join(root, 'bundle');
  completedFixture(dir);
  // From the bundle, "x\n/../../victim/…" is root/victim/…: a check that reads only the first line sees "x".
  await mkdir(join(root, 'victim'));
  await writeFile(join(root, 'victim', 'precious.txt'), 'precious bytes\n');
  await writeFile(join(root, 'victim', 'other.txt'), 'other bytes\n');
  const manifest = JSON.parse(await readFile(join(dir, 'manifest.json'), 'utf8'));
  manifest.files.run = 'x\n/../../victim/precious.txt';
  manifest.files.live = 'x\u2028/../../victim/other.txt';
  await writeFile(join(dir, 'manifest.json'), JSON.stringify(manifest, null, 2));

  const report = await repairBundle(dir);
  assert.equal(await readFile(join(root, 'victim', 'precious.txt'), 'utf8'), 'precious bytes\n');
  assert.equal(await readFile(join(root, 'victim', 'other.txt'), 'utf8'), 'other bytes\n');
  assert.deepEqual((await readdir(root)).sort(), ['bundle', 'victim']);
  assert.deepEqual((await readdir(join(root, 'victim'))).sort(), ['other.txt', 'precious.txt']);
  // The hostile manifest was not used: it is rebuilt with the default layout, and the warning is one line.
  assert.ok(report.warnings.some((w) => /^manifest\.json: \/files\/(run|live): not a path inside the bundle \(unsafe character U\+(000A|2028) in path\)/.test(w)), JSON.stringify(report.warnings));
  for (const warning of report.warnings) assert.ok(!/[\n\u2028]/.test(warning), warning);
  const rebuilt = await assertConsistent(dir);
  assert.equal(rebuilt.files.run, 'projections/run.json');
  assert.equal(rebuilt.files.live, 'projections/live.json');
});

test('repair refuses a bundle whose projections folder is a symlink to a folder elsewhere, and changes nothing', async (t) => {
  const root = await scratch(t);
  const dir = join(root, 'bundle');
  completedFixture(dir);
  const elsewhere = join(root, 'elsewhere');
  await mkdir(elsewhere);
  await writeFile(join(elsewhere, 'keep.txt'), 'keep\n');
  await rm(join(dir, 'projections'), { recursive: true });
  await symlink(elsewhere, join(dir, 'projections'));
  // A torn tail repair would otherwise cut: it must stay.
  await appendFile(join(dir, 'trace.ndjson'), '{"seq":');
  const trace = await readFile(join(dir, 'trace.ndjson'), 'utf8');

  await assert.rejects(repairBundle(dir), (error: Error) => {
    assert.equal(error.name, 'UnsafeBundleError');
    assert.match(error.message, /bundle: projections: a symbolic link inside the bundle .*; not writing to it$/);
    return true;
  });
  assert.deepEqual(await readdir(elsewhere), ['keep.txt']);
  assert.equal(await readFile(join(dir, 'trace.ndjson'), 'utf8'), trace);

  // The CLI: one line, exit 2, no stack.
  const cli = await runCli(['repair', dir], { cwd: root });
  assert.equal(cli.code, 2, cli.stdout + cli.stderr);
  assert.equal(cli.stderr.trim().split('\n').length, 1, cli.stderr);
  assert.match(cli.stderr, /^flowtape: .*bundle: projections: a symbolic link inside the bundle/);
  assert.deepEqual(await readdir(elsewhere), ['keep.txt']);
});

test('repair refuses to cut or append to a trace that has another hard link', async (t) => {
  const root = await scratch(t);
  const dir = join(root, 'bundle');
  abandonedFixture(dir, deadPid()).finish({ tornTail: '{"seq":11,"at":"2026-01-15T09:00:00.0' });
  const outside = join(root, 'backup-trace.ndjson');
  await link(join(dir, 'trace.ndjson'), outside);
  const before = await readFile(outside, 'utf8');
  await assert.rejects(repairBundle(dir), /trace\.ndjson: has 2 hard links \(its bytes are shared with a file elsewhere\); not writing to it/);
  assert.equal(await readFile(outside, 'utf8'), before);
});

/** Removes everything from a bundle but the given paths. */
async function keepOnly(dir: string, ...keep: string[]): Promise<void> {
  for (const name of await readdir(dir)) if (!keep.includes(name)) await rm(join(dir, name), { recursive: true });
}

async function assertVerifies(dir: string): Promise<void> {
  const report = await verifyBundle(dir);
  assert.deepEqual(report.problems.map((p) => p.message), []);
}

test('a writer killed during the ACP handshake: repair records the session as failed, with its traffic, and verify passes', async (t) => {
  const dir = join(await scratch(t), 'bundle');
  await handshakeCrash(dir);
  const traffic = await readFile(join(dir, 'sessions/s1/events.ndjson'), 'utf8');

  const report = await repairBundle(dir);
  assert.deepEqual(report.failedSessions, ['s1']);
  assert.deepEqual(report.interrupted, ['b#1']);
  assert.equal(report.abandoned, true);
  const { events } = await readTraceFile(dir);
  const [failed, outcome, end] = events.slice(-3);
  assert.equal(failed?.type, 'session.failed');
  assert.equal(failed?.sessionId, 's1');
  assert.equal(failed?.attemptId, 'b#1');
  assert.deepEqual((failed?.payload as { path: string; handle: string; mode: string }).path, 'sessions/s1');
  assert.equal((failed?.payload as { error: { code: string } }).error.code, 'interrupted');
  assert.equal(outcome?.type, 'node.outcome');
  assert.equal(end?.type, 'run.failed');

  // The failed-session binding the recorder writes for an agent that fails before session/new.
  const binding = JSON.parse(await readFile(join(dir, 'sessions/s1/binding.json'), 'utf8'));
  assert.equal(binding.acpSessionId, undefined);
  assert.equal(binding.handle, 'main');
  assert.equal(binding.boundBy, 'b#1');
  assert.deepEqual(binding.agent, { name: 'slow-agent', version: '2.0.0' });
  assert.equal(binding.protocolVersion, 1);
  assert.match(binding.error.message, /handshake/);
  assert.equal(await readFile(join(dir, 'sessions/s1/events.ndjson'), 'utf8'), traffic, 'the traffic is kept as it was');
  const record = JSON.parse(await readFile(join(dir, 'sessions/s1/record.json'), 'utf8'));
  assert.equal(record.acpSessionId, '');
  assert.equal(record.lastSeq, 4);
  const manifest = await assertConsistent(dir);
  assert.deepEqual(manifest.sessions, [{ sessionId: 's1', path: 'sessions/s1' }]);
  await assertVerifies(dir);
});

test('a session an earlier repair listed without a binding, in a run that ended: left out of the manifest', async (t) => {
  const dir = join(await scratch(t), 'bundle');
  const f = new BundleBuilder(dir, linearFlow('agentic', ['a', 'b'], { b: 'acp' }), { runId: 'run-old-repair' });
  f.runStarted();
  f.node('a', { output: 1 });
  f.runFailed({ message: 'the run was abandoned', code: 'abandoned' });
  f.finish();
  await mkdir(join(dir, 'sessions/s1'), { recursive: true });
  await writeFile(join(dir, 'sessions/s1/events.ndjson'), handshakeTraffic('b#1'));
  await editJson(join(dir, 'manifest.json'), (m) => void (m.sessions = [{ sessionId: 's1', path: 'sessions/s1' }]));
  assert.equal((await verifyBundle(dir)).ok, false);

  const report = await repairBundle(dir);
  assert.deepEqual(report.failedSessions, []);
  assert.ok(report.warnings.some((w) => /^sessions\/s1: no binding\.json .*not listed in manifest\.json$/.test(w)), report.warnings.join('\n'));
  assert.deepEqual((await assertConsistent(dir)).sessions, []);
  await assertVerifies(dir);
});

test('a manifest that says complete over a trace whose last line is torn: one repair closes the run', async (t) => {
  const dir = join(await scratch(t), 'bundle');
  plainRun(dir);
  const trace = join(dir, 'trace.ndjson');
  const lines = (await readFile(trace, 'utf8')).split('\n');
  // run.completed torn mid-line; the manifest (no writer pid: a deterministic run) still says complete.
  await writeFile(trace, `${lines.slice(0, -2).join('\n')}\n${lines.at(-2)!.slice(0, 25)}`);

  const report = await repairBundle(dir);
  assert.equal(report.abandoned, true);
  assert.equal(report.status, 'failed');
  const manifest = await assertConsistent(dir);
  assert.equal(manifest.complete, true);
  assert.equal(manifest.abandoned, true);
  const { events } = await readTraceFile(dir);
  assert.match((events.at(-1)?.payload as { error: { message: string } }).error.message, /trace\.ndjson ends before the run did, although manifest\.json said it was complete/);
  await assertVerifies(dir);
  const again = await repairBundle(dir);
  assert.equal(again.changed, false, JSON.stringify(again));
});

test('a trace whose last seq went backwards: repair refuses, naming the line, and changes nothing', async (t) => {
  const dir = join(await scratch(t), 'bundle');
  abandonedFixture(dir, deadPid()).finish();
  const trace = join(dir, 'trace.ndjson');
  const lines = (await readFile(trace, 'utf8')).trimEnd().split('\n');
  const last = JSON.parse(lines.at(-1)!);
  last.seq = 3;
  lines[lines.length - 1] = JSON.stringify(last);
  await writeFile(trace, lines.join('\n') + '\n');
  const before = await snapshot(dir);
  await assert.rejects(
    repairBundle(dir),
    new RegExp(`trace\\.ndjson:${lines.length}: seq 3 after seq ${lines.length - 1}: the seqs are not increasing; repair does not renumber events`),
  );
  assert.deepEqual(await snapshot(dir), before);
});

test('a bundle holding only its trace is rebuilt: manifest, projections and flow.json', async (t) => {
  const dir = join(await scratch(t), 'bundle');
  plainRun(dir);
  await keepOnly(dir, 'trace.ndjson');
  const report = await repairBundle(dir);
  assert.deepEqual(report.rewritten.sort(), ['flow.json', 'manifest.json', 'projections/live.json', 'projections/run.json', 'projections/steps.json']);
  const flow = JSON.parse(await readFile(join(dir, 'flow.json'), 'utf8'));
  assert.match(flow.description, /^Rebuilt by flowtape repair from the trace/);
  assert.deepEqual(flow.nodes, [{ id: 'a', nodeType: 'compute' }, { id: 'b', nodeType: 'compute' }]);
  assert.deepEqual(flow.edges, [{ from: 'a', to: 'b' }]);
  assert.equal((await assertConsistent(dir)).status, 'completed');
  await assertVerifies(dir);
});

test('a trace that needs session traffic or artifacts that are gone: repair refuses with one line naming the file', async (t) => {
  const root = await scratch(t);
  const withSession = join(root, 'session');
  abandonedFixture(withSession, deadPid()).finish();
  await keepOnly(withSession, 'trace.ndjson', 'artifacts');
  await assert.rejects(repairBundle(withSession, { force: true }), /: sessions\/sess-1\/events\.ndjson: missing; a session's traffic cannot be rebuilt from the trace$/);
  assert.deepEqual(await readdir(withSession), ['artifacts', 'trace.ndjson'], 'nothing written');

  const withArtifact = join(root, 'artifact');
  const f = new BundleBuilder(withArtifact, linearFlow('big', ['a']), { runId: 'run-big' });
  f.runStarted();
  f.node('a', { output: 'x'.repeat(200) });
  f.runCompleted();
  f.finish();
  const [artifact] = await readdir(join(withArtifact, 'artifacts'));
  await rm(join(withArtifact, 'artifacts', artifact!));
  await assert.rejects(repairBundle(withArtifact), new RegExp(`: artifacts/${artifact}: missing \\(referenced at trace\\.ndjson:\\d+\\); artifacts cannot be rebuilt from the trace$`));
});

interface Damaged {
  name: string;
  make: (dir: string) => Promise<void>;
}

const damaged: Damaged[] = [
  {
    name: 'torn trace and session tails, an open attempt',
    make: async (dir) => {
      abandonedFixture(dir, deadPid()).finish({ tornTail: '{"seq":11,"at":"2026-01-15T09:00:00.0' });
      await appendFile(join(dir, 'sessions/sess-1/events.ndjson'), '{"seq":4,"direction":"inc');
    },
  },
  {
    name: 'a last line without its newline',
    make: async (dir) => {
      plainRun(dir);
      const trace = join(dir, 'trace.ndjson');
      await writeFile(trace, (await readFile(trace, 'utf8')).slice(0, -1));
    },
  },
  { name: 'killed during the ACP handshake', make: (dir) => handshakeCrash(dir) },
  { name: 'killed during the ACP handshake, session listed', make: (dir) => handshakeCrash(dir, { listed: true }) },
  { name: 'killed before the first handshake line', make: (dir) => handshakeCrash(dir, { traffic: false }) },
  {
    name: 'complete manifest, torn end of the trace',
    make: async (dir) => {
      plainRun(dir);
      const trace = join(dir, 'trace.ndjson');
      const text = await readFile(trace, 'utf8');
      await writeFile(trace, text.slice(0, text.lastIndexOf('\n', text.length - 2) + 20));
    },
  },
  {
    name: 'only the trace',
    make: async (dir) => {
      plainRun(dir);
      await keepOnly(dir, 'trace.ndjson');
    },
  },
  {
    name: 'no projections directory',
    make: async (dir) => {
      abandonedFixture(dir, deadPid()).finish();
      await rm(join(dir, 'projections'), { recursive: true });
    },
  },
  {
    name: 'no manifest, a finished trace',
    make: async (dir) => {
      plainRun(dir);
      await rm(join(dir, 'manifest.json'));
    },
  },
  { name: 'killed after its manifest, before the trace existed', make: (dir) => killedBeforeFirstLine(dir, { trace: 'missing' }) },
  { name: 'killed after its manifest, an empty trace', make: (dir) => killedBeforeFirstLine(dir, { trace: 'empty' }) },
  { name: 'killed after its manifest, a torn first line', make: (dir) => killedBeforeFirstLine(dir, { trace: 'torn' }) },
  {
    name: 'killed after its manifest and an agent\'s first line, before the first trace line',
    make: (dir) => killedBeforeFirstLine(dir, { trace: 'empty', traffic: true }),
  },
  {
    name: 'a bound session lost its binding.json',
    make: async (dir) => {
      abandonedFixture(dir, deadPid()).finish();
      await rm(join(dir, 'sessions/sess-1/binding.json'));
    },
  },
];

for (const c of damaged) {
  test(`repair is a fixed point: ${c.name}`, async (t) => {
    const dir = join(await scratch(t), 'bundle');
    await c.make(dir);
    const first = await repairBundle(dir);
    assert.equal(first.changed, true);
    await assertVerifies(dir);
    const before = await snapshot(dir);
    const second = await repairBundle(dir);
    assert.equal(second.changed, false, JSON.stringify(second));
    assert.deepEqual(
      { torn: second.tornLines, terminated: second.terminatedLines, failed: second.failedSessions, interrupted: second.interrupted, abandoned: second.abandoned, rewritten: second.rewritten },
      { torn: [], terminated: [], failed: [], interrupted: [], abandoned: false, rewritten: [] },
    );
    assert.deepEqual(await snapshot(dir), before, 'the second repair changed no byte');
  });
}

// Found by `pnpm bench:faults`: the recorder wrote its first manifest in a trace task after the first line, so a
// SIGKILL in the few milliseconds between them left one run.started line and no manifest.json: verify exited 2 ("not
// a flowtape bundle") and repair refused ("whether the writer is alive is unknown"). The manifest now comes first.
// This stops a real `flowtape run` exactly there — right after the first bytes of its trace were written — instead of
// hoping a timer lands in the window.
test('a run killed right after its first trace line: verify reads it, one repair makes it pass verify', async (t) => {
  const dir = await scratch(t);
  const flowFile = await writeCrashFlow(dir);
  const whole = await runKilledAfter(dir, flowFile, join(dir, 'counted'), 0);
  assert.equal(whole.code, 0, whole.stderr);
  const firstLine = firstWriteTo(whole.changes, 'trace.ndjson');
  const killed = await runKilledAfter(dir, flowFile, join(dir, 'runs'), firstLine);
  assert.equal(killed.signal, 'SIGKILL');
  // The first batch is on disk (run.started and what the runtime emitted in the same tick), and no snapshot yet.
  assert.equal((await readTraceFile(killed.bundle)).events[0]?.type, 'run.started');
  assert.ok(!existsSync(join(killed.bundle, 'projections/run.json')), 'killed before the first snapshot');

  const before = await runCli(['verify', killed.bundle], { cwd: dir });
  assert.equal(before.code, 1, `verify reads it and lists its problems (exit 1, not 2): ${before.stdout}${before.stderr}`);
  assert.match(before.stdout, /not complete/);
  const repair = await runCli(['repair', killed.bundle], { cwd: dir });
  assert.equal(repair.code, 0, repair.stdout + repair.stderr);
  assert.match(repair.stdout, /mark the run abandoned/);
  const after = await runCli(['verify', killed.bundle], { cwd: dir });
  assert.equal(after.code, 0, after.stdout + after.stderr);
  const manifest = await assertConsistent(killed.bundle);
  assert.deepEqual([manifest.status, manifest.complete, manifest.abandoned], ['failed', true, true]);
});

/**
 * A writer killed after writing its manifest (seq 0: the writer's pid, host, `exclusive`) and flow.json, before its
 * first trace line was whole: no trace file, an empty one, or a torn first line; `traffic`: an agent's first line
 * landed (session lines are written right before the trace batch that needs them).
 */
async function killedBeforeFirstLine(dir: string, opts: { trace: 'missing' | 'empty' | 'torn'; pid?: number; traffic?: boolean }): Promise<void> {
  await mkdir(join(dir, 'projections'), { recursive: true });
  const flow = linearFlow('early', ['a', 'b'], { a: 'acp' });
  await writeFile(join(dir, 'flow.json'), `${JSON.stringify(flow, null, 2)}\n`);
  const manifest = {
    schema: 'flowtape.bundle.v1',
    runId: 'run-early',
    flowName: 'early',
    status: 'running',
    complete: false,
    createdAt: '2026-01-15T09:00:00.000Z',
    updatedAt: '2026-01-15T09:00:00.000Z',
    lastSeq: 0,
    files: { flow: 'flow.json', trace: 'trace.ndjson', run: 'projections/run.json', live: 'projections/live.json', steps: 'projections/steps.json' },
    sessions: [],
    writer: { name: 'flowtape', version: '0.1.0', pid: opts.pid ?? deadPid(), hostname: hostname(), exclusive: true },
  };
  await writeFile(join(dir, 'manifest.json'), `${JSON.stringify(manifest, null, 2)}\n`);
  if (opts.trace === 'empty') await writeFile(join(dir, 'trace.ndjson'), '');
  if (opts.trace === 'torn') await writeFile(join(dir, 'trace.ndjson'), '{"seq":1,"at":"2026-01-15T09:00:00.000Z","runId":"run-ea');
  if (opts.traffic) {
    await mkdir(join(dir, 'sessions/s1'), { recursive: true });
    await writeFile(join(dir, 'sessions/s1/events.ndjson'), handshakeTraffic('a#1').split('\n')[0] + '\n');
  }
}

test('a writer killed before its first trace line: repair rebuilds run.started from the manifest and closes the run', async (t) => {
  const dir = join(await scratch(t), 'bundle');
  await killedBeforeFirstLine(dir, { trace: 'missing' });
  const before = await verifyBundle(dir);
  assert.equal(before.ok, false, 'not passed off as whole');
  assert.match(before.problems.map((p) => p.message).join('\n'), /trace\.ndjson: missing/);
  const report = await repairBundle(dir);
  assert.equal(report.rebuiltStart, true);
  assert.equal(report.abandoned, true);
  const { events } = await readTraceFile(dir);
  assert.deepEqual(events.map((e) => [e.seq, e.type, e.at]), [
    [1, 'run.started', '2026-01-15T09:00:00.000Z'],
    [2, 'run.failed', '2026-01-15T09:00:00.000Z'],
  ]);
  assert.equal(events[0]!.runId, 'run-early');
  assert.match(JSON.stringify(events[1]!.payload), /stopped before its first event was written \(run\.started was rebuilt from manifest\.json/);
  await assertVerifies(dir);
  const manifest = await assertConsistent(dir);
  assert.deepEqual([manifest.status, manifest.complete, manifest.abandoned, manifest.writer.exclusive], ['failed', true, true, true]);
});

test('a live writer between its manifest and its first trace line: repair refuses and changes nothing', async (t) => {
  const dir = join(await scratch(t), 'bundle');
  await killedBeforeFirstLine(dir, { trace: 'empty', pid: process.pid });
  const before = await snapshot(dir);
  await assert.rejects(repairBundle(dir), /the writer is this process .*not repairing a live run/);
  assert.deepEqual(await snapshot(dir), before);
});

test('a folder with neither manifest nor trace line: verify and repair say it is not a bundle, exit 2', async (t) => {
  const dir = await scratch(t);
  await mkdir(join(dir, 'projections'));
  await writeFile(join(dir, 'flow.json'), `${JSON.stringify(linearFlow('early', ['a']), null, 2)}\n`);
  const verify = await runCli(['verify', dir], { cwd: dir });
  assert.equal(verify.code, 2, verify.stdout + verify.stderr);
  assert.match(verify.stderr, /not a flowtape bundle \(no manifest\.json\)/);
  const repair = await runCli(['repair', dir], { cwd: dir });
  assert.equal(repair.code, 2, repair.stdout + repair.stderr);
  assert.match(repair.stderr, /trace\.ndjson: missing; and no manifest\.json: nothing was recorded here \(not a bundle\)/);
});
