// Writers of an existing bundle (resume, a shared recorder) write only regular files whose real path is inside the
// bundle: a symlinked folder or file inside it, or a hard-linked file they would append to, is refused, and the
// folder or file elsewhere keeps its bytes.
import assert from 'node:assert/strict';
import { lstatSync, linkSync, mkdirSync, readdirSync, readFileSync, renameSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { ensureFolder, findLinks, writableFile } from '../src/bundle/confine.ts';
import { createRecorder } from '../src/bundle/index.ts';
import { writeFileAtomicChunksSync, writeFileAtomicSync } from '../src/bundle/fsio.ts';
import { record, resumeRecorded } from '../src/record.ts';
import { checkpoint, compute, defineFlow } from '../src/runtime/index.ts';
import { flowSnapshot, tempDir } from './recorder-support.ts';

/** Every file under `dir` with its bytes (what must not change). */
function contents(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (rel: string) => {
    for (const entry of readdirSync(join(dir, rel), { withFileTypes: true })) {
      const path = rel ? `${rel}/${entry.name}` : entry.name;
      if (entry.isDirectory()) walk(path);
      else out[path] = readFileSync(join(dir, path), 'utf8');
    }
  };
  walk('');
  return out;
}

const waitingFlow = defineFlow({
  name: 'confined',
  startAt: 'draft',
  nodes: {
    draft: compute({ run: () => ({ text: 'a draft' }) }),
    approve: checkpoint({ summary: 'ok?' }),
    publish: compute({ run: ({ outputs }) => ({ published: outputs.draft.text, long: 'x'.repeat(5000) }) }),
  },
  edges: [
    { from: 'draft', to: 'approve' },
    { from: 'approve', to: 'publish' },
  ],
});

describe('confined bundle writes', () => {
  it('writableFile and ensureFolder refuse symlinks on the way, hostile path text, and in-place writes to hard links', async () => {
    const dir = await tempDir();
    try {
      const bundle = join(dir.path, 'b');
      const elsewhere = join(dir.path, 'elsewhere');
      mkdirSync(bundle);
      mkdirSync(elsewhere);
      writeFileSync(join(elsewhere, 'run.json'), 'precious');
      symlinkSync(elsewhere, join(bundle, 'projections'));
      assert.throws(() => writableFile(bundle, 'projections/run.json', 'replace'), /^UnsafeBundleError: projections: a symbolic link inside the bundle/);
      assert.throws(() => ensureFolder(bundle, 'projections'), /projections: a symbolic link inside the bundle/);
      assert.throws(() => writeFileAtomicSync(bundle, 'projections/run.json', '{}'), /projections: a symbolic link/);
      assert.throws(() => writableFile(bundle, 'x\n/../../elsewhere/run.json', 'replace'), /^UnsafeBundleError: "x\\n\/\.\.\/\.\.\/elsewhere\/run\.json": not a path inside the bundle \(unsafe character U\+000A/);
      assert.throws(() => writableFile(bundle, 'x\u2028/../../elsewhere/run.json', 'replace'), /not a path inside the bundle \(unsafe character U\+2028/);
      symlinkSync(join(elsewhere, 'run.json'), join(bundle, 'manifest.json'));
      assert.throws(() => writeFileAtomicSync(bundle, 'manifest.json', '{}'), /manifest\.json: a symbolic link inside the bundle/);
      writeFileSync(join(bundle, 'trace.ndjson'), '');
      linkSync(join(bundle, 'trace.ndjson'), join(elsewhere, 'trace-link'));
      assert.throws(() => writableFile(bundle, 'trace.ndjson', 'in-place'), /trace\.ndjson: has 2 hard links/);
      assert.equal(writableFile(bundle, 'trace.ndjson', 'replace'), join(bundle, 'trace.ndjson'));
      assert.deepEqual(contents(elsewhere), { 'run.json': 'precious', 'trace-link': '' });
      assert.deepEqual(
        findLinks(bundle).map((e) => `${e.path}:${e.kind}`),
        ['manifest.json:symlink', 'projections:symlink', 'trace.ndjson:hardlink'],
      );
      // A real folder is created one level at a time, never through a link.
      assert.equal(ensureFolder(bundle, 'sessions/s1'), join(bundle, 'sessions/s1'));
      assert.ok(statSync(join(bundle, 'sessions/s1')).isDirectory());
    } finally {
      await dir.remove();
    }
  });

  it('a writer skips the checks only for what it checked or made itself: a folder found with a symlink in it is still refused', async () => {
    const dir = await tempDir();
    try {
      const bundle = join(dir.path, 'b');
      const elsewhere = join(dir.path, 'elsewhere');
      mkdirSync(elsewhere);
      writeFileSync(join(elsewhere, 'run.json'), 'precious');
      const put = (path: string, checked: Set<string>) => writeFileAtomicChunksSync(bundle, path, (write) => write('{}\n'), false, checked);
      // Found: a folder holding a symlink. A fresh writer's set vouches for nothing there.
      mkdirSync(join(bundle, 'sessions', 's1'), { recursive: true });
      symlinkSync(join(elsewhere, 'run.json'), join(bundle, 'sessions', 's1', 'record.json'));
      const checked = new Set<string>();
      assert.equal(ensureFolder(bundle, 'sessions/s1', checked), join(bundle, 'sessions/s1'));
      assert.throws(() => put('sessions/s1/record.json', checked), /sessions\/s1\/record\.json: a symbolic link inside the bundle/);
      // Made by this writer: empty when made, so what it writes there is not looked up first; a link planted
      // meanwhile is replaced by the rename, never written through.
      ensureFolder(bundle, 'projections', checked);
      assert.ok(checked.has('projections/') && !checked.has('sessions/s1/'));
      symlinkSync(join(elsewhere, 'run.json'), join(bundle, 'projections', 'run.json'));
      put('projections/run.json', checked);
      assert.equal(lstatSync(join(bundle, 'projections', 'run.json')).isFile(), true);
      assert.equal(readFileSync(join(elsewhere, 'run.json'), 'utf8'), 'precious');
      // A writer without the set checks every time.
      symlinkSync(join(elsewhere, 'run.json'), join(bundle, 'projections', 'live.json'));
      assert.throws(() => writeFileAtomicSync(bundle, 'projections/live.json', '{}'), /projections\/live\.json: a symbolic link/);
    } finally {
      await dir.remove();
    }
  });

  it('resume refuses a bundle whose projections folder is a symlink to a folder elsewhere, and writes nothing', async () => {
    const dir = await tempDir();
    try {
      const bundle = join(dir.path, 'run');
      const first = await record(waitingFlow, {}, { cwd: dir.path, bundleDir: bundle, deterministic: true });
      assert.equal(first.status, 'waiting');
      const elsewhere = join(dir.path, 'elsewhere');
      renameSync(join(bundle, 'projections'), elsewhere);
      symlinkSync(elsewhere, join(bundle, 'projections'));
      const before = contents(elsewhere);
      const trace = readFileSync(join(bundle, 'trace.ndjson'), 'utf8');
      await assert.rejects(resumeRecorded(bundle, waitingFlow, {}), (error: Error) => {
        assert.equal(error.name, 'ResumeBundleError');
        assert.match(error.message, /projections: a symbolic link inside the bundle .*; not writing to it$/);
        assert.ok(!error.message.includes('\n'));
        return true;
      });
      assert.deepEqual(contents(elsewhere), before);
      assert.equal(readFileSync(join(bundle, 'trace.ndjson'), 'utf8'), trace);
    } finally {
      await dir.remove();
    }
  });

  it('a shared recorder refuses to join a bundle with a symlinked sessions folder or a hard-linked trace', async () => {
    const dir = await tempDir();
    try {
      const bundle = join(dir.path, 'run');
      await record(waitingFlow, {}, { cwd: dir.path, bundleDir: bundle, deterministic: true });
      const elsewhere = join(dir.path, 'elsewhere');
      mkdirSync(elsewhere);
      symlinkSync(elsewhere, join(bundle, 'sessions'));
      assert.throws(() => createRecorder(bundle, { shared: true }), /sessions: a symbolic link inside the bundle/);
      renameSync(join(bundle, 'sessions'), join(dir.path, 'moved-link'));
      linkSync(join(bundle, 'trace.ndjson'), join(elsewhere, 'trace-copy'));
      const before = readFileSync(join(elsewhere, 'trace-copy'), 'utf8');
      assert.throws(() => createRecorder(bundle, { shared: true }), /trace\.ndjson: has 2 hard links/);
      assert.equal(readFileSync(join(elsewhere, 'trace-copy'), 'utf8'), before);
    } finally {
      await dir.remove();
    }
  });

  it('every write of the recorder is confined: a symlinked projections folder planted in a fresh bundle stops the run', async () => {
    const dir = await tempDir();
    try {
      const bundle = join(dir.path, 'run');
      const elsewhere = join(dir.path, 'elsewhere');
      mkdirSync(bundle);
      mkdirSync(elsewhere);
      symlinkSync(elsewhere, join(bundle, 'projections'));
      const errors: Error[] = [];
      const recorder = createRecorder(bundle, { onError: (error) => errors.push(error) });
      const flow = flowSnapshot('confined', [{ id: 'a', nodeType: 'compute' }]);
      recorder.onEvent({ type: 'run.started', runId: 'r', flow, input: {}, cwd: dir.path, deterministic: false }, Date.UTC(2026, 0, 1));
      recorder.onEvent({ type: 'run.completed', output: null, durationMs: 1 }, Date.UTC(2026, 0, 1) + 1);
      await assert.rejects(recorder.close(), /projections: a symbolic link inside the bundle/);
      assert.match(errors[0]?.message ?? '', /projections: a symbolic link inside the bundle/);
      assert.deepEqual(readdirSync(elsewhere), []);
    } finally {
      await dir.remove();
    }
  });
});
