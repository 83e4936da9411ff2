// A corpus of malformed bundles for `flowtape verify`: each one is a copy of a real sample bundle with one thing
// broken. Every case must give a clear one-line message naming the file and the line or JSON pointer at fault,
// through the real CLI code (exit 2, the problems on stdout; or, for input it cannot read at all, one line on
// stderr) — never a stack trace.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { closeSync, constants, openSync } from 'node:fs';
import { appendFile, cp, link, mkdir, mkdtemp, readFile, readdir, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { verifyBundle } from '../src/tools/verify.ts';
import { runCli } from '../src/cli/program.ts';
import { BUNDLE_LOCKFILE } from '../src/tools/repair.ts';

const sample = fileURLToPath(new URL('../../samples/conversation/bundle', import.meta.url));
let root = '';
before(async () => {
  root = await mkdtemp(join(tmpdir(), 'flowtape-corpus-'));
});
after(async () => {
  releaseFifos();
  await rm(root, { recursive: true, force: true });
});

type Mutate = (dir: string) => Promise<void>;

async function editText(dir: string, file: string, change: (text: string) => string): Promise<void> {
  const path = join(dir, file);
  await writeFile(path, change(await readFile(path, 'utf8')));
}

async function editJson(dir: string, file: string, change: (value: Record<string, any>) => void): Promise<void> {
  await editText(dir, file, (text) => {
    const value = JSON.parse(text) as Record<string, any>;
    change(value);
    return JSON.stringify(value, null, 2) + '\n';
  });
}

/** Changes line `n` (1-based) of an NDJSON file. */
async function editLine(dir: string, file: string, n: number, change: (line: string) => string | undefined): Promise<void> {
  await editText(dir, file, (text) => {
    const lines = text.split('\n');
    const next = change(lines[n - 1]!);
    if (next === undefined) lines.splice(n - 1, 1);
    else lines[n - 1] = next;
    return lines.join('\n');
  });
}

async function firstArtifact(dir: string): Promise<string> {
  const [name] = (await readdir(join(dir, 'artifacts'))).sort();
  return `artifacts/${name}`;
}

/** Files every tool reads, replaced by something that is not a regular file. */
const wrongKinds = ['flow.json', 'trace.ndjson', 'projections/run.json', 'projections/steps.json', 'sessions/s1/events.ndjson', 'sessions/s1/binding.json', 'sessions/s1/record.json', 'manifest.json']
  .flatMap((file) => (['directory', 'FIFO'] as const).map((kind) => ({ file, kind })))
  // The two directories the corpus had already.
  .filter(({ file, kind }) => !(kind === 'directory' && (file === 'trace.ndjson' || file === 'sessions/s1/events.ndjson' || file === 'manifest.json')));

const fifos: string[] = [];
async function replaceWith(dir: string, file: string, kind: 'directory' | 'FIFO'): Promise<void> {
  const path = join(dir, file);
  await rm(path, { recursive: true, force: true });
  if (kind === 'directory') return void (await mkdir(path));
  execFileSync('mkfifo', [path]);
  fifos.push(path);
}

/** A reader blocked on a FIFO (the defect) is released at the end, so the test file fails instead of hanging. */
function releaseFifos(): void {
  for (const fifo of fifos) {
    try {
      closeSync(openSync(fifo, constants.O_WRONLY | constants.O_NONBLOCK));
    } catch {
      // no reader waiting
    }
  }
}

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
}

interface Case {
  name: string;
  mutate: Mutate;
  /** A problem message (one line) must match this. */
  expect: RegExp;
  /** Input verify cannot read at all: one line on stderr instead of a report on stdout (exit 2 either way). */
  unreadable?: true;
}

const cases: Case[] = [
  // Truncated lines.
  { name: 'torn last trace line', mutate: (d) => appendFile(join(d, 'trace.ndjson'), '{"seq":27,"at":"2026-01-01T0'), expect: /^trace\.ndjson:27: torn last line .*flowtape repair/ },
  { name: 'a line cut in the middle of the trace', mutate: (d) => editLine(d, 'trace.ndjson', 5, (l) => l.slice(0, 40)), expect: /^trace\.ndjson:5: not valid JSON/ },
  { name: 'torn last session event', mutate: (d) => appendFile(join(d, 'sessions/s1/events.ndjson'), '{"seq":24,"dir'), expect: /^sessions\/s1\/events\.ndjson:24: torn last line/ },
  { name: 'a line that is JSON but not an object', mutate: (d) => editLine(d, 'trace.ndjson', 4, () => '[4, "node.started"]'), expect: /^trace\.ndjson:4: \/: / },
  { name: 'deeply nested JSON in a payload', mutate: (d) => editLine(d, 'trace.ndjson', 3, (l) => l.replace(/"output":\{"inline":/, `"output":{"inline":${'['.repeat(20000)}${']'.repeat(20000)},"x":`)), expect: /^trace\.ndjson:3: \/: nested too deeply to validate$/ },
  { name: 'deeply nested JSON in a session event', mutate: (d) => editLine(d, 'sessions/s1/events.ndjson', 2, (l) => l.replace(/"message":\{/, `"message":{"deep":${'{"a":'.repeat(20000)}1${'}'.repeat(20000)},`)), expect: /^sessions\/s1\/events\.ndjson:2: \/: nested too deeply to validate$/ },
  { name: 'binary garbage line', mutate: (d) => editLine(d, 'trace.ndjson', 3, () => '\u0000\u0001\u00ff garbage'), expect: /^trace\.ndjson:3: not valid JSON/ },
  // Wrong types.
  { name: 'seq as a string', mutate: (d) => editLine(d, 'trace.ndjson', 4, (l) => l.replace(/"seq":4/, '"seq":"4"')), expect: /^trace\.ndjson:4: \/seq: / },
  { name: 'payload of the wrong shape', mutate: (d) => editLine(d, 'trace.ndjson', 3, (l) => l.replace('"outcome":"ok"', '"outcome":"fine"')), expect: /^trace\.ndjson:3: \/payload\/outcome: / },
  { name: 'unknown envelope scope type', mutate: (d) => editLine(d, 'trace.ndjson', 2, (l) => l.replace('"at":"2026-01-01T00:00:00.004Z"', '"at":12')), expect: /^trace\.ndjson:2: \/at: / },
  { name: 'manifest complete as a string', mutate: (d) => editJson(d, 'manifest.json', (m) => void (m.complete = 'yes')), expect: /^manifest\.json: \/complete: / },
  { name: 'run projection status as a number', mutate: (d) => editJson(d, 'projections/run.json', (m) => void (m.status = 42)), expect: /^projections\/run\.json: \/status: / },
  { name: 'session event direction unknown', mutate: (d) => editLine(d, 'sessions/s1/events.ndjson', 2, (l) => l.replace(/"direction":"\w+"/, '"direction":"sideways"')), expect: /^sessions\/s1\/events\.ndjson:2: \/direction: / },
  { name: 'flow with an edge to a missing node', mutate: (d) => editJson(d, 'flow.json', (f) => void f.edges.push({ from: 'brief', to: 'ghost' })), expect: /^flow\.json: \/edges\/\d+\/to: "ghost" is not a node/ },
  { name: 'manifest not JSON', mutate: (d) => writeFile(join(d, 'manifest.json'), '{"schema": "flowtape.bundle.v1",'), expect: /^manifest\.json: not valid JSON/ },
  // Missing files.
  { name: 'flow.json missing', mutate: (d) => rm(join(d, 'flow.json')), expect: /^flow\.json: missing$/ },
  { name: 'trace missing', mutate: (d) => rm(join(d, 'trace.ndjson')), expect: /^trace\.ndjson: missing$/ },
  { name: 'session events missing', mutate: (d) => rm(join(d, 'sessions/s1/events.ndjson')), expect: /^sessions\/s1\/events\.ndjson: missing$/ },
  { name: 'referenced artifact missing', mutate: async (d) => rm(join(d, await firstArtifact(d))), expect: /^artifacts\/sha256-[0-9a-f]{64}\.txt: missing \(referenced at trace\.ndjson:\d+\)/ },
  { name: 'steps projection missing', mutate: (d) => rm(join(d, 'projections/steps.json')), expect: /^projections\/steps\.json: missing$/ },
  // Hash mismatches.
  { name: 'artifact content changed', mutate: async (d) => appendFile(join(d, await firstArtifact(d)), 'tampered'), expect: /^artifacts\/sha256-[0-9a-f]{64}\.txt: content hash is [0-9a-f]{64}: the file does not match its name/ },
  { name: 'artifact size in the trace wrong', mutate: (d) => editText(d, 'trace.ndjson', (t) => t.replace(/"size":(\d+)/, (_, n: string) => `"size":${Number(n) + 1}`)), expect: /^artifacts\/sha256-[0-9a-f]{64}\.txt: is \d+ bytes, but trace\.ndjson:\d+ says \d+/ },
  { name: 'projection differs from the fold', mutate: (d) => editJson(d, 'projections/steps.json', (s) => void (s.steps[1].status = 'failed')), expect: /^projections\/steps\.json: \/steps\/1\/status: differs from the fold of the trace/ },
  { name: 'record differs from the events', mutate: (d) => editJson(d, 'sessions/s1/record.json', (r) => void (r.messages[0].text = 'edited')), expect: /^sessions\/s1\/record\.json: \/messages\/0\/text: differs from the conversation rebuilt/ },
  // Seq gaps.
  { name: 'a trace line removed', mutate: (d) => editLine(d, 'trace.ndjson', 10, () => undefined), expect: /^trace\.ndjson:10: seq 11 where 10 was expected/ },
  { name: 'a duplicated trace line', mutate: (d) => editLine(d, 'trace.ndjson', 6, (l) => `${l}\n${l}`), expect: /^trace\.ndjson:7: seq 6 where 7 was expected/ },
  { name: 'a session event removed', mutate: (d) => editLine(d, 'sessions/s1/events.ndjson', 4, () => undefined), expect: /^sessions\/s1\/events\.ndjson:4: seq 5 where 4 was expected/ },
  // Paths that leave the bundle.
  { name: 'manifest trace path with ..', mutate: (d) => editJson(d, 'manifest.json', (m) => void (m.files.trace = '../../etc/passwd')), expect: /^manifest\.json: \/files\/trace: / },
  { name: 'manifest flow path absolute', mutate: (d) => editJson(d, 'manifest.json', (m) => void (m.files.flow = '/etc/passwd')), expect: /^manifest\.json: \/files\/flow: / },
  { name: 'manifest session path with ..', mutate: (d) => editJson(d, 'manifest.json', (m) => void (m.sessions[0].path = 'sessions/../../x')), expect: /^manifest\.json: \/sessions\/0\/path: / },
  { name: 'manifest session id with a slash', mutate: (d) => editJson(d, 'manifest.json', (m) => void (m.sessions[0].sessionId = '../s1')), expect: /^manifest\.json: \/sessions\/0\/sessionId: / },
  { name: 'artifact path with .. in the trace', mutate: (d) => editText(d, 'trace.ndjson', (t) => t.replace(/"path":"artifacts\/sha256-/, '"path":"artifacts/../../sha256-')), expect: /^trace\.ndjson:\d+: \/payload\/.*\/path: / },
  { name: 'manifest run path hiding .. after a newline', mutate: (d) => editJson(d, 'manifest.json', (m) => void (m.files.run = 'x\n/../../victim/precious.txt')), expect: /^manifest\.json: \/files\/run: not a path inside the bundle \(unsafe character U\+000A in path\)$/ },
  { name: 'manifest steps path hiding .. after U+2028', mutate: (d) => editJson(d, 'manifest.json', (m) => void (m.files.steps = 'x\u2028/../../victim/precious.txt')), expect: /^manifest\.json: \/files\/steps: not a path inside the bundle \(unsafe character U\+2028 in path\)$/ },
  { name: 'manifest session path with a backslash', mutate: (d) => editJson(d, 'manifest.json', (m) => void (m.sessions[0].path = 'sessions\\..\\..\\x')), expect: /^manifest\.json: \/sessions\/0\/path: not a path inside the bundle \(backslash in path\)$/ },
  { name: 'projections folder is a symlink to a folder elsewhere', mutate: async (d) => { const elsewhere = `${d}-elsewhere`; await cp(join(d, 'projections'), elsewhere, { recursive: true }); await rm(join(d, 'projections'), { recursive: true }); await symlink(elsewhere, join(d, 'projections')); }, expect: /^projections: a symbolic link inside the bundle \(a bundle holds regular files and folders only\)$/ },
  { name: 'flow.json a symlink to a file inside the bundle', mutate: async (d) => { await cp(join(d, 'flow.json'), join(d, 'flow-copy.json')); await rm(join(d, 'flow.json')); await symlink('flow-copy.json', join(d, 'flow.json')); }, expect: /^flow\.json: a symbolic link inside the bundle/ },
  { name: 'a symlink whose name holds a newline', mutate: (d) => symlink('trace.ndjson', join(d, 'x\ny')), expect: /^"x\\ny": a symbolic link inside the bundle/ },
  { name: 'a hard-linked trace', mutate: (d) => link(join(d, 'trace.ndjson'), `${d}-trace-link`), expect: /^trace\.ndjson: has 2 hard links \(its bytes are shared with a file elsewhere\)$/ },
  { name: 'artifact symlink out of the bundle', mutate: async (d) => { const a = await firstArtifact(d); await rm(join(d, a)); await symlink('/etc/hostname', join(d, a)); }, expect: /^artifacts\/sha256-[0-9a-f]{64}\.txt: leads outside the bundle \(symlink\)/ },
  // Files of the wrong kind.
  { name: 'trace is a directory', mutate: async (d) => { await rm(join(d, 'trace.ndjson')); await mkdir(join(d, 'trace.ndjson')); }, expect: /^trace\.ndjson: not a regular file$/ },
  { name: 'session events is a directory', mutate: async (d) => { await rm(join(d, 'sessions/s1/events.ndjson')); await mkdir(join(d, 'sessions/s1/events.ndjson')); }, expect: /^sessions\/s1\/events\.ndjson: not a regular file$/ },
  { name: 'an artifact is a directory', mutate: async (d) => { const a = await firstArtifact(d); await rm(join(d, a)); await mkdir(join(d, a)); }, expect: /^artifacts\/sha256-[0-9a-f]{64}\.txt: not a regular file$/ },
  { name: 'artifacts is a file', mutate: async (d) => { await rm(join(d, 'artifacts'), { recursive: true }); await writeFile(join(d, 'artifacts'), 'x'); }, expect: /^artifacts\/sha256-[0-9a-f]{64}\.txt: missing/ },
  { name: 'empty trace', mutate: (d) => writeFile(join(d, 'trace.ndjson'), ''), expect: /^trace\.ndjson: empty/ },
  // A FIFO would block a read forever; a directory fails it: each is named, never read.
  ...wrongKinds.map(({ file, kind }): Case => ({
    name: `${file} is a ${kind}`,
    mutate: (d) => replaceWith(d, file, kind),
    expect: new RegExp(`^${escape(file)}: not a regular file$`),
  })),
  // Not readable as a bundle at all (exit 2).
  { name: 'newer major version', mutate: (d) => editJson(d, 'manifest.json', (m) => void (m.schema = 'flowtape.bundle.v2')), expect: /manifest\.json: format flowtape\.bundle\.v2 is newer than this reader/, unreadable: true },
  { name: 'no manifest', mutate: (d) => rm(join(d, 'manifest.json')), expect: /not a flowtape bundle \(no manifest\.json\)/, unreadable: true },
  { name: 'manifest is a directory', mutate: async (d) => { await rm(join(d, 'manifest.json')); await mkdir(join(d, 'manifest.json')); }, expect: /manifest\.json: / },
];

async function cli(...argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const code = await runCli(argv, {
    stdout: (t) => void (stdout += t),
    stderr: (t) => void (stderr += t),
    cwd: process.cwd(),
    env: {},
    onInterrupt: () => () => {},
    guardRun: () => () => {},
  });
  return { code, stdout, stderr };
}

test('the sample bundle the corpus starts from is valid', async () => {
  const report = await verifyBundle(sample);
  assert.deepEqual(report.problems, []);
});

for (const c of cases) {
  test(`malformed bundle: ${c.name}`, { timeout: 30_000 }, async () => {
    const dir = join(root, c.name.replace(/[^a-z0-9]+/gi, '-'));
    await cp(sample, dir, { recursive: true });
    await c.mutate(dir);
    const { code, stdout, stderr } = await cli('verify', dir);
    const output = stdout + stderr;
    assert.equal(code, c.unreadable ? 2 : 1, output);
    assert.doesNotMatch(output, /\n\s+at [\w.<]/, 'no stack trace');
    assert.doesNotMatch(output, /internal error/);
    if (c.unreadable) {
      assert.equal(stderr.trim().split('\n').length, 1, stderr);
      assert.match(stderr, c.expect);
      return;
    }
    const report = await verifyBundle(dir);
    assert.equal(report.ok, false);
    for (const problem of report.problems) assert.ok(!problem.message.includes('\n'), `one line: ${problem.message}`);
    assert.ok(
      report.problems.some((p) => c.expect.test(p.message)),
      `expected a problem matching ${c.expect}, got:\n${report.problems.map((p) => p.message).join('\n')}`,
    );
    // The same line is what the CLI prints.
    assert.ok(stdout.split('\n').some((line) => c.expect.test(line)), stdout);
  });
}

test('the CLI process itself prints one line and exits 2 on a bundle it cannot read', () => {
  const bin = fileURLToPath(new URL('../bin/flowtape.js', import.meta.url));
  const r = spawnSync(process.execPath, [bin, 'verify', join(root, 'does-not-exist')], { encoding: 'utf8' });
  assert.equal(r.status, 2);
  assert.equal(r.stderr.trim().split('\n').length, 1);
  assert.match(r.stderr, /^flowtape: .*does-not-exist: no such directory/);
});

// The same files of the wrong kind through `repair` and `diff`: repair refuses with one line naming the file (exit 2)
// and changes nothing; diff names the file when it reads it (exit 2 for the manifest, flow and trace it cannot do
// without; a warning for session files), and never hangs, crashes or prints a stack.
for (const { file, kind } of [...wrongKinds, ...['trace.ndjson', 'sessions/s1/events.ndjson', 'manifest.json'].map((f) => ({ file: f, kind: 'directory' as const }))]) {
  test(`repair and diff: ${file} is a ${kind}`, { timeout: 30_000 }, async () => {
    const dir = join(root, `rd-${file}-${kind}`.replace(/[^a-z0-9]+/gi, '-'));
    await cp(sample, dir, { recursive: true });
    await replaceWith(dir, file, kind);
    const before = await listing(dir);
    const repair = await cli('repair', dir);
    assert.equal(repair.code, 2, repair.stdout + repair.stderr);
    assert.equal(repair.stdout, '');
    assert.equal(repair.stderr.trim().split('\n').length, 1, repair.stderr);
    assert.match(repair.stderr, new RegExp(`^flowtape: .*: ${escape(file)}: a ${kind === 'FIFO' ? 'FIFO' : 'directory'} where a regular file should be`));
    assert.deepEqual(await listing(dir), before, 'repair changed nothing');

    const diff = await cli('diff', sample, dir);
    const output = diff.stdout + diff.stderr;
    assert.doesNotMatch(output, /internal error|\n\s+at [\w.<]/, output);
    if (['manifest.json', 'flow.json', 'trace.ndjson'].includes(file)) {
      assert.equal(diff.code, 2, output);
      assert.equal(diff.stderr.trim().split('\n').length, 1, diff.stderr);
      assert.match(diff.stderr, new RegExp(`: ${escape(file)}: not a regular file \\(a ${kind}\\)$`, 'm'));
    } else if (file.startsWith('sessions/s1/events') || file.startsWith('sessions/s1/binding')) {
      assert.equal(diff.code, 1, output);
      assert.match(output, new RegExp(`${escape(file)}: not a regular file \\(a ${kind}\\)`));
    } else {
      assert.equal(diff.code, 0, output); // diff does not read it
    }
  });
}

/** Every path under a bundle with its size (directories and FIFOs too), but not the repair lock. */
async function listing(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(dir, { recursive: true, withFileTypes: true })) {
    if (entry.name === BUNDLE_LOCKFILE) continue;
    const path = join(entry.parentPath, entry.name);
    out.push(`${path.slice(dir.length)} ${entry.isFile() ? (await readFile(path)).length : entry.isDirectory() ? 'dir' : 'other'}`);
  }
  return out.sort();
}
