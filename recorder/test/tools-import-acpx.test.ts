// `flowtape import acpx`: real acpx runs (FlowRunner from acpx/flows, on this Node) are recorded here, imported,
// verified, and compared. The ACP flow talks to the scripted agent, a real ACP process.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cp, lstat, mkdir, mkdtemp, readdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { acp, action, compute, defineFlow, shell, type FlowDefinition } from 'acpx/flows';
import { recordWithAcpx as record } from './acpx-support.ts';
import { Manifest, StepsProjection, type Step } from '@flowtape/schema';
import { importAcpx } from '../src/tools/import-acpx.ts';
import { verifyBundle } from '../src/tools/verify.ts';
import { diffBundles } from '../src/tools/diff.ts';
import { formatText } from '@flowtape/schema/diff';
import { FsBundleBackend } from '../src/tools/fs-backend.ts';
import { MapBackend } from '../../viewer/src/backend/types.ts';
import { loadBundle } from '../../viewer/src/model/loader.ts';

let root = '';
const scriptedAgentBin = fileURLToPath(new URL('../bin/flowtape-scripted-agent.js', import.meta.url));
const savedHome = process.env.HOME;

before(async () => {
  root = await mkdtemp(join(tmpdir(), 'flowtape-acpx-'));
  // acpx keeps persistent sessions under ~/.acpx: never the real one.
  process.env.HOME = join(root, 'home');
});
after(async () => {
  process.env.HOME = savedHome;
  await rm(root, { recursive: true, force: true });
});

const recordWithAcpx = (name: string, flow: FlowDefinition, input: unknown, script?: unknown) => record(root, name, flow, input, { script });

const computeShellFlow = () =>
  defineFlow({
    name: 'compute-shell',
    startAt: 'prepare',
    nodes: {
      prepare: compute({ run: ({ input }) => ({ greeting: `hello ${(input as { who: string }).who}` }) }),
      echo: shell({
        exec: ({ outputs }) => ({ command: 'sh', args: ['-c', `echo "${(outputs.prepare as { greeting: string }).greeting}"; echo warn >&2`] }),
        parse: (r) => ({ stdout: r.stdout.trim() }),
      }),
      broken: shell({ exec: () => ({ command: 'sh', args: ['-c', 'echo boom >&2; exit 3'] }) }),
      lap: compute({
        run: ({ outputs }) => {
          const laps = ((outputs.lap as { laps?: number } | undefined)?.laps ?? 0) + 1;
          return { laps, again: laps < 3 ? 'yes' : 'no' };
        },
      }),
      fn: action({ run: () => ({ from: 'function' }) }),
    },
    edges: [
      { from: 'prepare', to: 'echo' },
      { from: 'echo', to: 'broken' },
      { from: 'broken', switch: { on: '$result.outcome', cases: { ok: 'fn', failed: 'lap' } } },
      { from: 'lap', switch: { on: '$.again', cases: { yes: 'lap', no: 'fn' } } },
    ],
  });

const agentScript = {
  agent: { name: 'acpx-test-agent', version: '1.0.0' },
  turns: [
    {
      match: { regex: '^Draft' },
      steps: [
        { thought: 'Drafting.' },
        { toolCall: { toolCallId: 'call-1', title: 'Read notes', kind: 'read', status: 'completed' } },
        { message: 'A draft about flow traces.' },
      ],
    },
    { match: { regex: '^Review' }, steps: [{ message: 'The draft reads well.' }] },
    { match: { regex: '^Second' }, steps: [{ message: 'A second opinion.' }] },
  ],
};

const acpFlow = () =>
  defineFlow({
    name: 'acp',
    startAt: 'prepare',
    nodes: {
      prepare: compute({ run: () => ({ topic: 'flow traces' }) }),
      draft: acp({ session: { handle: 'main' }, prompt: ({ outputs }) => `Draft a note about ${(outputs.prepare as { topic: string }).topic}` }),
      // A second turn in the shared session: acpx respawns the agent and reattaches with session/load.
      review: acp({ session: { handle: 'main' }, prompt: () => 'Review the draft' }),
      route: compute({ run: () => ({ route: 'second' }) }),
      second: acp({ session: { isolated: true }, prompt: () => 'Second opinion, please' }),
      finish: compute({ run: ({ outputs }) => ({ draft: outputs.draft, second: outputs.second }) }),
    },
    edges: [
      { from: 'prepare', to: 'draft' },
      { from: 'draft', to: 'review' },
      { from: 'review', to: 'route' },
      { from: 'route', switch: { on: '$.route', cases: { second: 'second', none: 'finish' } } },
      { from: 'second', to: 'finish' },
    ],
  });

let acpRun: Promise<string> | undefined;
/** One recorded ACP run shared by the tests that only read it. */
const sharedAcpRun = () => (acpRun ??= recordWithAcpx('acp', acpFlow(), {}, agentScript));

async function steps(dir: string): Promise<Map<string, Step>> {
  const projection = StepsProjection.parse(JSON.parse(await readFile(join(dir, 'projections/steps.json'), 'utf8')));
  return new Map(projection.steps.map((s) => [s.attemptId, s]));
}

async function importAndVerify(source: string, name: string) {
  const output = join(root, 'imported', name);
  const report = await importAcpx(source, { output });
  const verify = await verifyBundle(output);
  assert.deepEqual(verify.problems.map((p) => p.message), [], `verify of the imported ${name}`);
  assert.equal(verify.ok, true);
  return { output, report };
}

test('a compute/shell run recorded by acpx imports into a bundle that passes verify, with receipts and derived edges', async () => {
  const source = await recordWithAcpx('compute-shell', computeShellFlow(), { who: 'flowtape' });
  const { output, report } = await importAndVerify(source, 'compute-shell');
  assert.equal(report.status, 'completed');
  assert.equal(report.form, 'nodeType');
  const manifest = Manifest.parse(JSON.parse(await readFile(join(output, 'manifest.json'), 'utf8')));
  assert.equal(manifest.origin?.format, 'acpx.flow-run-bundle.v1');
  assert.equal(manifest.complete, true);
  const byId = await steps(output);
  assert.deepEqual([...byId.keys()], ['prepare#1', 'echo#1', 'broken#1', 'lap#1', 'lap#2', 'lap#3', 'fn#1']);
  const echo = byId.get('echo#1')!;
  assert.equal(echo.action?.actionType, 'shell');
  assert.equal(echo.action?.exitCode, 0);
  assert.ok(echo.action?.stdout && 'artifact' in echo.action.stdout);
  assert.equal(await readFile(join(output, (echo.action.stdout as { artifact: { path: string } }).artifact.path), 'utf8'), 'hello flowtape\n');
  assert.deepEqual(echo.artifacts.map((a) => a.role), ['stdout', 'stderr']);
  const broken = byId.get('broken#1')!;
  assert.equal(broken.status, 'failed');
  assert.match(broken.error?.message ?? '', /exit 3 — boom/);
  assert.equal(broken.action?.ok, false);
  assert.deepEqual(broken.next, { to: 'lap', branch: { on: '$result.outcome', value: 'failed', caseKey: 'failed' } });
  assert.deepEqual(byId.get('lap#2')!.next, { to: 'lap', branch: { on: '$.again', value: 'yes', caseKey: 'yes' } });
  assert.equal(byId.get('fn#1')!.action?.actionType, 'function');
  assert.deepEqual(byId.get('fn#1')!.output, { inline: { from: 'function' } });
});

test('an ACP run of acpx against the scripted agent keeps its sessions, turns and artifacts; two runs diff as the same', async () => {
  const first = await sharedAcpRun();
  const second = await recordWithAcpx('acp', acpFlow(), {}, agentScript);
  const { output, report } = await importAndVerify(first, 'acp-1');
  const other = await importAndVerify(second, 'acp-2');
  assert.equal(report.status, 'completed', JSON.stringify(report.warnings));
  assert.equal(report.sessions, 2);
  const byId = await steps(output);
  const draft = byId.get('draft#1')!;
  assert.equal(draft.turns.length, 1);
  assert.equal(draft.turns[0]?.stopReason, 'end_turn');
  assert.ok(draft.turns[0]?.response && 'artifact' in draft.turns[0].response);
  assert.deepEqual(draft.artifacts.map((a) => a.role), ['prompt', 'response']);
  assert.deepEqual(byId.get('route#1')!.next, { to: 'second', branch: { on: '$.route', value: 'second', caseKey: 'second' } });
  const record = JSON.parse(await readFile(join(output, 'sessions', draft.sessionId!, 'record.json'), 'utf8')) as {
    messages: Array<{ role: string; text?: string; attemptId?: string; title?: string }>;
  };
  assert.deepEqual(
    record.messages.map((m) => [m.role, m.text ?? m.title, m.attemptId]),
    [
      ['user', 'Draft a note about flow traces', 'draft#1'],
      ['thought', 'Drafting.', 'draft#1'],
      ['tool_call', 'Read notes', 'draft#1'],
      ['agent', 'A draft about flow traces.', 'draft#1'],
      ['user', 'Review the draft', 'review#1'],
      ['agent', 'The draft reads well.', 'review#1'],
    ],
  );
  assert.equal(byId.get('review#1')!.sessionId, draft.sessionId, 'both turns are in the one shared session');
  // The agent's command is the argv acpx ran, once: acpx's binding holds it both as agentArgv and as one string.
  const binding = JSON.parse(await readFile(join(output, 'sessions', draft.sessionId!, 'binding.json'), 'utf8')) as { agentCommand: string[] };
  assert.deepEqual(binding.agentCommand, [process.execPath, scriptedAgentBin, '--script', join(root, 'acp.agent.json')]);
  // It opens in the viewer: its model loader reads it without an issue, sessions included.
  const files = new Map<string, () => Promise<Uint8Array>>();
  const disk = new FsBundleBackend(output);
  const walk = async (rel: string): Promise<void> => {
    for (const entry of await readdir(join(output, rel), { withFileTypes: true })) {
      const path = rel ? `${rel}/${entry.name}` : entry.name;
      if (entry.isDirectory()) await walk(path);
      else files.set(path, async () => (await disk.readBytes(path))!);
    }
  };
  await walk('');
  const { model } = await loadBundle(new MapBackend('imported acpx run', files));
  assert.equal(model.fatal, undefined);
  assert.deepEqual(model.issues, []);
  assert.equal(model.timeline.length, report.events);
  assert.equal(model.sessions.length, 2);
  const isolated = byId.get('second#1')!;
  assert.notEqual(isolated.sessionId, draft.sessionId);
  const diff = await diffBundles(output, other.output);
  assert.equal(diff.total, 0, formatText(diff));
});

test('the older `kind` form of acpx bundles imports the same way', async () => {
  const source = await sharedAcpRun();
  // The kind form: `kind` where acpx now writes `nodeType` (flow.json, trace payloads, projections).
  const kindForm = join(root, 'kind-form');
  await cp(source, kindForm, { recursive: true });
  const rename = (value: unknown): unknown => {
    if (Array.isArray(value)) return value.map(rename);
    if (value && typeof value === 'object') {
      return Object.fromEntries(Object.entries(value).map(([k, v]) => [k === 'nodeType' ? 'kind' : k, rename(v)]));
    }
    return value;
  };
  for (const file of ['flow.json', 'projections/run.json', 'projections/steps.json']) {
    const path = join(kindForm, file);
    await writeFile(path, JSON.stringify(rename(JSON.parse(await readFile(path, 'utf8'))), null, 2));
  }
  const trace = (await readFile(join(kindForm, 'trace.ndjson'), 'utf8')).split('\n').filter(Boolean);
  await writeFile(join(kindForm, 'trace.ndjson'), trace.map((l) => JSON.stringify(rename(JSON.parse(l)))).join('\n') + '\n');
  assert.match(await readFile(join(kindForm, 'flow.json'), 'utf8'), /"kind": "acp"/);

  const fromKind = await importAndVerify(kindForm, 'kind');
  const fromNodeType = await importAndVerify(source, 'node-type');
  assert.equal(fromKind.report.form, 'kind');
  const diff = await diffBundles(fromNodeType.output, fromKind.output, { ignore: ['/flow/metadata/acpx'] });
  assert.equal(diff.total, 0, formatText(diff));
});

test('import names what is wrong with its input', async () => {
  await assert.rejects(importAcpx(join(root, 'nope')), /nope: no such acpx run directory/);
  const notAcpx = join(root, 'not-acpx');
  await cp(await sharedAcpRun(), notAcpx, { recursive: true });
  await writeFile(join(notAcpx, 'manifest.json'), JSON.stringify({ schema: 'flowtape.bundle.v1' }));
  await assert.rejects(importAcpx(notAcpx), /manifest\.json: \/schema: "flowtape\.bundle\.v1" is not an acpx run bundle/);
  await writeFile(join(notAcpx, 'manifest.json'), '{"schema":');
  await assert.rejects(importAcpx(notAcpx), /manifest\.json: not valid JSON/);
});

test('the CLI: flowtape import acpx <dir> -o <out>, then flowtape verify accepts it; bad input is one line, exit 2', async () => {
  const source = await recordWithAcpx('compute-shell', computeShellFlow(), { who: 'cli' });
  const bin = fileURLToPath(new URL('../bin/flowtape.js', import.meta.url));
  const run = (...args: string[]) => spawnSync(process.execPath, [bin, ...args], { cwd: root, encoding: 'utf8' });
  const imported = run('import', 'acpx', source, '-o', 'cli-imported');
  assert.equal(imported.status, 0, imported.stderr);
  assert.match(imported.stdout, /cli-imported: run .* \(completed\), \d+ events, 0 sessions, \d+ artifacts \(acpx nodeType form\)/);
  const verified = run('verify', 'cli-imported');
  assert.equal(verified.status, 0, verified.stdout + verified.stderr);
  const again = run('import', 'acpx', source, '-o', 'cli-imported');
  assert.equal(again.status, 2);
  assert.match(again.stderr, /^flowtape: .*cli-imported: already exists and is not empty/);
  const unknown = run('import', 'langgraph', source);
  assert.equal(unknown.status, 2);
  assert.equal(unknown.stderr.trim().split('\n').length, 1);
  assert.match(unknown.stderr, /unknown format "langgraph" \(known: acpx\)/);
  const notAcpx = run('import', 'acpx', 'cli-imported', '-o', 'x');
  assert.equal(notAcpx.status, 2);
  assert.match(notAcpx.stderr, /manifest\.json: \/schema: "flowtape\.bundle\.v1" is not an acpx run bundle/);
  assert.doesNotMatch(notAcpx.stderr, /\n\s+at /);
});

test('import -o never deletes or replaces what is there: a file, a non-empty folder or a symlink is refused; an empty folder is used', async () => {
  const source = await sharedAcpRun();
  const place = join(root, 'outputs');
  await mkdir(join(place, 'full'), { recursive: true });
  await writeFile(join(place, 'precious.txt'), 'precious bytes\n');
  await writeFile(join(place, 'full', 'keep.txt'), 'keep\n');
  await symlink(join(place, 'full'), join(place, 'link'));
  const cases: Array<[string, RegExp]> = [
    ['precious.txt', /precious\.txt: already exists and is not a folder; choose another -o \(a missing path or an empty folder\)$/],
    ['full', /full: already exists and is not empty; choose another -o/],
    ['link', /link: already exists \(a symbolic link\); choose another -o/],
  ];
  for (const [name, problem] of cases) {
    await assert.rejects(importAcpx(source, { output: join(place, name) }), problem);
    const cli = spawnSync(process.execPath, [fileURLToPath(new URL('../bin/flowtape.js', import.meta.url)), 'import', 'acpx', source, '-o', name], { cwd: place, encoding: 'utf8' });
    assert.equal(cli.status, 2, cli.stdout + cli.stderr);
    assert.equal(cli.stderr.trim().split('\n').length, 1, cli.stderr);
    assert.match(cli.stderr.trim(), problem);
  }
  assert.equal(await readFile(join(place, 'precious.txt'), 'utf8'), 'precious bytes\n');
  assert.deepEqual(await readdir(join(place, 'full')), ['keep.txt']);
  assert.equal((await lstat(join(place, 'link'))).isSymbolicLink(), true);
  // An empty folder is a valid -o; nothing else (no temporary folder) is left next to it.
  await mkdir(join(place, 'empty'));
  await importAcpx(source, { output: join(place, 'empty') });
  assert.equal((await verifyBundle(join(place, 'empty'))).ok, true);
  assert.deepEqual((await readdir(place)).sort(), ['empty', 'full', 'link', 'precious.txt']);
});

test('import does not follow symlinks out of the acpx run directory, and its errors never echo what is outside', async () => {
  const source = await sharedAcpRun();
  const secret = join(root, 'outside-secret.txt');
  await writeFile(secret, 'SECRET-TOKEN-4242 is not JSON\n');
  const variant = async (name: string, target: (dir: string) => Promise<string>) => {
    const dir = join(root, `escape-${name}`);
    await cp(source, dir, { recursive: true });
    const file = await target(dir);
    await rm(file, { recursive: true });
    await symlink(secret, file);
    return dir;
  };
  const cases: Array<[string, (dir: string) => Promise<string>, RegExp]> = [
    ['manifest', async (d) => join(d, 'manifest.json'), /manifest\.json: leads outside the acpx run directory \(symlink\); not read$/],
    ['events', async (d) => join(d, 'sessions', (await readdir(join(d, 'sessions')))[0]!, 'events.ndjson'), /sessions\/[^/]+\/events\.ndjson: leads outside the acpx run directory \(symlink\); not read$/],
    ['artifacts', async (d) => join(d, 'artifacts'), /artifacts: leads outside the acpx run directory \(symlink\); not read$/],
  ];
  for (const [name, target, problem] of cases) {
    const dir = await variant(name, target);
    const output = join(root, `escape-${name}.flowtape`);
    await assert.rejects(importAcpx(dir, { output }), (error: Error) => {
      assert.equal(error.name, 'ImportError');
      assert.match(error.message, problem);
      assert.doesNotMatch(error.message, /SECRET/);
      return true;
    });
    await assert.rejects(lstat(output), /ENOENT/, 'nothing was created');
  }
});
