// record() refuses an invalid run id before it joins it into a path or makes a folder: `../` must not leave an
// empty folder outside the runs root, and `a/b` or `x y` no junk folder inside it.
import assert from 'node:assert/strict';
import { mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { record } from '../src/record.ts';
import { compute, defineFlow } from '../src/runtime/index.ts';
import { RunOptionsError } from '../src/runtime/errors.ts';
import { tempDir } from './recorder-support.ts';

const flow = defineFlow({ name: 'run-id', startAt: 'a', nodes: { a: compute({ run: () => 1 }) }, edges: [] });

describe('record() and an invalid run id', () => {
  let dir: Awaited<ReturnType<typeof tempDir>>;
  let project: string;
  before(async () => {
    dir = await tempDir('flowtape-runid-');
    // The runs root is project/.flowtape/runs: `../../../escape` points at dir/escape, outside the project.
    project = join(dir.path, 'project');
    mkdirSync(project);
  });
  after(() => dir.remove());

  for (const runId of ['../../../escape', '../escape', 'a/b', 'x y', 'nl\nx', '/abs-rid']) {
    it(`refuses ${JSON.stringify(runId)} and makes no folder`, async () => {
      await assert.rejects(record(flow, {}, { cwd: project, runId }), (error: Error) => {
        assert.ok(error instanceof RunOptionsError, String(error));
        assert.equal(error.message, `run id ${JSON.stringify(runId)} is invalid: use letters, digits, _ . : - (max 200)`);
        return true;
      });
      assert.deepEqual(readdirSync(dir.path, { recursive: true }), ['project']);
    });
  }

  it('a valid run id still records into the runs root', async () => {
    const result = await record(flow, {}, { cwd: project, runId: 'ok-1' });
    assert.equal(result.status, 'completed');
    assert.equal(result.bundleDir, join(project, '.flowtape/runs/ok-1'));
  });
});
