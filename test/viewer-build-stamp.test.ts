// The viewer build's stamp (dist/app/.inputs-sha256) says "this dist was built from these inputs"; ensure-built.ts
// skips the build when it matches. A failed build must never leave a stamp that matches: a missing dependency once
// produced an app with a bare import that the next build called current and `pnpm pack` shipped.
// Checked on a temp copy of the real vite config and ensure-built.ts around a one-line app (fast to build), with the
// viewer's real node_modules linked in; a build is made to fail by importing a package that does not exist.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const repoRoot = fileURLToPath(new URL('..', import.meta.url));
const realViewer = join(repoRoot, 'viewer');
const temps: string[] = [];
after(() => {
  for (const dir of temps) rmSync(dir, { recursive: true, force: true });
});

interface Copy {
  viewer: string;
  stamp: string;
  setApp(source: string): void;
  build: typeof import('../viewer/server/ensure-built.ts');
}

const GOOD_APP = 'document.body.dataset.ok = "yes";\n';
const BROKEN_APP = 'import "flowtape-no-such-package-for-this-test";\n';

/** A viewer directory in a temp dir: the real vite config and ensure-built.ts, a one-line app. */
async function viewerCopy(editConfig: (config: string) => string = (c) => c): Promise<Copy> {
  const root = mkdtempSync(join(tmpdir(), 'flowtape-stamp-'));
  temps.push(root);
  const viewer = join(root, 'viewer');
  mkdirSync(join(viewer, 'server'), { recursive: true });
  mkdirSync(join(viewer, 'src'));
  mkdirSync(join(root, 'schema', 'src'), { recursive: true });
  copyFileSync(join(realViewer, 'server', 'ensure-built.ts'), join(viewer, 'server', 'ensure-built.ts'));
  copyFileSync(join(realViewer, 'package.json'), join(viewer, 'package.json'));
  writeFileSync(join(viewer, 'vite.config.ts'), editConfig(readFileSync(join(realViewer, 'vite.config.ts'), 'utf8')));
  writeFileSync(join(viewer, 'index.html'), '<!doctype html><html><body><script type="module" src="./src/main.ts"></script></body></html>\n');
  writeFileSync(join(root, 'schema', 'package.json'), '{"name":"schema-copy","private":true}\n');
  writeFileSync(join(root, 'schema', 'src', 'index.ts'), 'export {};\n');
  symlinkSync(join(realViewer, 'node_modules'), join(viewer, 'node_modules'), 'dir');
  const setApp = (source: string) => writeFileSync(join(viewer, 'src', 'main.ts'), source);
  setApp(GOOD_APP);
  const build = (await import(pathToFileURL(join(viewer, 'server', 'ensure-built.ts')).href)) as Copy['build'];
  return { viewer, stamp: join(viewer, 'dist', 'app', '.inputs-sha256'), setApp, build };
}

test('a failed vite build leaves no stamp of its inputs, and ensure-built builds again instead of taking it for current', async () => {
  const copy = await viewerCopy();
  copy.build.ensureViewerBuilt();
  assert.ok(copy.build.isViewerBuildCurrent(), 'a good build is current');

  // vite run directly (`pnpm --filter @flowtape/viewer build:app`): it writes an app with the bare import, then fails.
  copy.setApp(BROKEN_APP);
  const vite = join(copy.viewer, 'node_modules', 'vite', 'bin', 'vite.js');
  const result = spawnSync(process.execPath, [vite, 'build', '--logLevel', 'silent'], { cwd: copy.viewer, encoding: 'utf8' });
  assert.notEqual(result.status, 0, 'the build with a missing package fails');
  assert.ok(existsSync(join(copy.viewer, 'dist', 'app', 'index.html')), 'an app is there (what a stamp could vouch for)');
  const stamp = existsSync(copy.stamp) ? readFileSync(copy.stamp, 'utf8').trim() : undefined;
  assert.notEqual(stamp, copy.build.viewerInputsHash(), 'no stamp of the broken inputs');
  assert.equal(copy.build.isViewerBuildCurrent(), false);

  // ensure-built builds again (and fails again) rather than taking the leftovers for current, however often asked.
  assert.throws(() => copy.build.ensureViewerBuilt(), /viewer build failed/);
  assert.throws(() => copy.build.ensureViewerBuilt(), /viewer build failed/);
  assert.equal(copy.build.isViewerBuildCurrent(), false);
});

test('ensure-built removes a stamp that a failed build wrote (a plugin that stamps in writeBundle, before vite fails)', async () => {
  // The config as it was at 967edfb: a plugin stamped the inputs in writeBundle, which vite 8 runs before it fails the
  // build on an unresolved import.
  const copy = await viewerCopy((config) => [
    "import { writeFileSync as stampWrite } from 'node:fs';",
    "import { viewerInputsHash as stampHash } from './server/ensure-built.ts';",
    config.replace(/plugins: \[/, "plugins: [{ name: 'stamp-in-write-bundle', apply: 'build', writeBundle() {\n" +
      "  stampWrite(fileURLToPath(new URL('./dist/app/.inputs-sha256', import.meta.url)), stampHash() + '\\n');\n} }, "),
  ].join('\n'));
  copy.build.ensureViewerBuilt();
  copy.setApp(BROKEN_APP);
  assert.throws(() => copy.build.ensureViewerBuilt(), /viewer build failed/);
  assert.ok(existsSync(join(copy.viewer, 'dist', 'app', 'index.html')), 'an app is there');
  assert.equal(existsSync(copy.stamp), false, 'the stamp the failed build wrote is gone');
  assert.equal(copy.build.isViewerBuildCurrent(), false);
  assert.throws(() => copy.build.ensureViewerBuilt(), /viewer build failed/, 'the next call builds again');
});
