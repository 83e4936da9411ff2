// The compare page's model: its values are shown as the diff engine compares them, so two runs in different
// directories whose outputs name their own cwd and run id show those outputs as equal, as the diff list does.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import { diffBundleSides, jsonEqual } from '@flowtape/schema/diff';
import { MapBackend } from '../src/backend/types.ts';
import { loadBundle, schemaBackend } from '../src/model/loader.ts';
import { buildCompareModel, stepOf } from '../src/model/compare.ts';
import { BundleBuilder } from '../../test/fixtures/bundle-builder.ts';
import { draftReviewFlow } from '../../test/fixtures/scenarios.ts';
import { removeDir, tempDir } from '../../test/e2e/helpers.ts';

function backend(dir: string): MapBackend {
  const files = new Map<string, () => Promise<Uint8Array>>();
  const walk = (d: string) => {
    for (const name of readdirSync(d)) {
      const p = join(d, name);
      if (statSync(p).isDirectory()) walk(p);
      else files.set(relative(dir, p).split(sep).join('/'), async () => new Uint8Array(readFileSync(p)));
    }
  };
  walk(dir);
  return new MapBackend(dir, files);
}

function run(dir: string, runId: string, verdict: string): string {
  const b = new BundleBuilder(dir, draftReviewFlow(), { runId });
  const cwd = `${dir}-workdir`;
  b.runStarted({ topic: 'tests' }, { cwd });
  b.node('draft', { output: { file: `${cwd}/draft.md`, report: `${dir}/artifacts`, by: runId }, next: { to: 'review' } });
  b.node('review', { output: { verdict }, next: { to: 'done', branch: { on: '$.verdict', value: verdict, caseKey: 'approve' } } });
  b.node('done', { output: 'shipped' });
  b.runCompleted('shipped');
  return b.finish();
}

test('outputs that differ only in the run\'s own cwd and run id are equal on the page, as in the diff', async (t) => {
  const root = tempDir('compare-model');
  t.after(() => removeDir(root));
  const a = run(join(root, 'a'), 'run-aaa', 'approve');
  const b = run(join(root, 'b-elsewhere'), 'run-bbb', 'approve-with-notes');
  const [ba, bb] = [backend(a), backend(b)];
  const [la, lb] = await Promise.all([loadBundle(ba), loadBundle(bb)]);
  const result = await diffBundleSides({ location: a, open: async () => ({ backend: schemaBackend(ba), dir: a }) }, { location: b, open: async () => ({ backend: schemaBackend(bb), dir: b }) });
  assert.ok(!result.differences.some((d) => d.attemptId === 'draft#1'), 'the diff sees no difference in draft#1');
  assert.ok(result.differences.some((d) => d.path === '/attempts/review#1/output/verdict'));
  const model = buildCompareModel(la.model, lb.model, result, { dirs: { a, b } });
  const out = (side: 'a' | 'b', id: string) => {
    const ref = stepOf(model[side], id)?.output;
    return model.normalize[side](ref && 'inline' in ref ? ref.inline : undefined);
  };
  assert.ok(jsonEqual(out('a', 'draft#1'), out('b', 'draft#1')), `${JSON.stringify(out('a', 'draft#1'))} vs ${JSON.stringify(out('b', 'draft#1'))}`);
  assert.deepEqual(out('a', 'draft#1'), { file: '<cwd>/draft.md', report: '<bundle>/artifacts', by: '<run-id>' });
  assert.ok(!jsonEqual(out('a', 'review#1'), out('b', 'review#1')));
});
