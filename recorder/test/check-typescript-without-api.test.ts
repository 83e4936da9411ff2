// `flowtape check` with a `typescript` package that has no compiler API (TypeScript 7, the native port, which a plain
// `npm install -D typescript` installs): types are not checked, with a note that says so and names typescript@5,
// and the definition is still validated (exit 0 valid, 1 invalid) instead of an internal error.
import assert from 'node:assert/strict';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { typecheckFlow } from '../src/tools/typecheck-flow.ts';
import { recorderEntry, runCli, tempDir } from './recorder-support.ts';

const header = `import { compute, defineFlow } from ${JSON.stringify(recorderEntry)};\n`;
const validFlow = `${header}export default defineFlow({ name: 'no-api', startAt: 'a', nodes: { a: compute({ run: () => 1 }) }, edges: [] });\n`;
const invalidFlow = `${header}export default defineFlow({ name: 'no-api-bad', startAt: 'a', nodes: { a: compute({ run: () => 1 }) }, edges: [{ from: 'a', to: 'nowhere' }] });\n`;

/** A project whose node_modules/typescript is TypeScript 7's shape: a main export holding only what `main` gives. */
async function projectWithTypescript(root: string, name: string, pkg: Record<string, unknown>, main: string): Promise<string> {
  const project = join(root, name);
  await mkdir(join(project, 'node_modules/typescript/lib'), { recursive: true });
  await writeFile(join(project, 'node_modules/typescript/package.json'), JSON.stringify({ name: 'typescript', version: '7.0.2', main: './lib/version.cjs', ...pkg }));
  await writeFile(join(project, 'node_modules/typescript/lib/version.cjs'), main);
  await writeFile(join(project, 'ok.flow.ts'), validFlow);
  await writeFile(join(project, 'bad.flow.ts'), invalidFlow);
  return project;
}

describe('check with a TypeScript that has no compiler API', () => {
  let dir: Awaited<ReturnType<typeof tempDir>>;
  let project: string;
  before(async () => {
    dir = await tempDir('flowtape-ts7-');
    project = await projectWithTypescript(dir.path, 'ts7', {}, "module.exports = { version: '7.0.2' };\n");
  });
  after(() => dir.remove());

  it('typecheckFlow does not throw: types not checked, the version and typescript@5 named', async () => {
    const result = await typecheckFlow(join(project, 'ok.flow.ts'));
    assert.equal(result.checked, false);
    assert.deepEqual(result.diagnostics, []);
    assert.match(result.note ?? '', /^TypeScript 7\.0\.2 has no compiler API \(.*node_modules\/typescript\/lib\/version\.cjs .*\): types not checked; npm install -D typescript@5 to type-check flows$/);
  });

  it('reads the version from package.json when the main export has none and exports hide package.json', async () => {
    const hidden = await projectWithTypescript(dir.path, 'ts7-hidden', { exports: { '.': './lib/version.cjs' } }, 'module.exports = {};\n');
    const result = await typecheckFlow(join(hidden, 'ok.flow.ts'));
    assert.equal(result.checked, false);
    assert.match(result.note ?? '', /^TypeScript 7\.0\.2 has no compiler API /);
  });

  it('the CLI still validates the definition: exit 0 for a valid flow, 1 for an invalid one, a note on stderr', async () => {
    const ok = await runCli(['check', 'ok.flow.ts'], { cwd: project });
    assert.equal(ok.code, 0, ok.stdout + ok.stderr);
    assert.equal(ok.stdout, 'ok.flow.ts: valid flow "no-api", types not checked\n');
    assert.match(ok.stderr, /^flowtape: note: TypeScript 7\.0\.2 has no compiler API .*typescript@5/);
    assert.doesNotMatch(ok.stderr, /internal error/);

    const bad = await runCli(['check', 'bad.flow.ts', '--json'], { cwd: project });
    assert.equal(bad.code, 1, bad.stdout + bad.stderr);
    const report = JSON.parse(bad.stdout) as { valid: boolean; typesChecked: boolean; note?: string; problems: string[] };
    assert.equal(report.valid, false);
    assert.equal(report.typesChecked, false);
    assert.match(report.note ?? '', /has no compiler API/);
    assert.match(report.problems.join('\n'), /nowhere/);
  });
});
