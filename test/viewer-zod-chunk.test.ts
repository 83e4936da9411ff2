// The viewer's first screen loads no zod (issue 12): evaluating the schemas took ~130 ms of the main thread before
// a trace could be folded. Builds the real viewer (its vite config and sources) into a temp directory and follows the
// chunks the first screen loads — the page's script and preloads, the early load (app/early-load.ts) and the app
// (app/mount.tsx), with everything they import statically — none may hold zod; zod must be in a chunk that only an
// import() reaches (model/lazy-schemas.ts).
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const viewer = fileURLToPath(new URL('../viewer/', import.meta.url));
const out = mkdtempSync(join(tmpdir(), 'flowtape-zod-chunk-'));
after(() => rmSync(out, { recursive: true, force: true }));

/** zod v4's classes are named by string in its minified code; `_zod` is its internals' property. */
const ZOD = /"ZodObject"|`ZodObject`|\._zod\b/;

test('the first screen\'s chunks hold no zod; the schemas come in a chunk only import() reaches', () => {
  const vite = join(viewer, 'node_modules', 'vite', 'bin', 'vite.js');
  const result = spawnSync(process.execPath, [vite, 'build', '--logLevel', 'warn', '--outDir', out, '--emptyOutDir'], { cwd: viewer, encoding: 'utf8' });
  assert.equal(result.status, 0, result.stderr);
  const assets = join(out, 'assets');
  const code = new Map(readdirSync(assets).filter((f) => f.endsWith('.js')).map((f) => [f, readFileSync(join(assets, f), 'utf8')]));
  const staticImports = (file: string) => [...(code.get(file) ?? '').matchAll(/(?:from|import)\s*"\.\/([^"]+\.js)"/g)].map((m) => m[1]!);
  const dynamicImports = (file: string) => [...(code.get(file) ?? '').matchAll(/import\(\s*[`"']\.\/([^`"']+\.js)[`"']\s*\)/g)].map((m) => m[1]!);
  const chunk = (prefix: string) => {
    const found = [...code.keys()].filter((f) => f.startsWith(prefix));
    assert.equal(found.length, 1, `one ${prefix}*.js chunk`);
    return found[0]!;
  };

  const html = readFileSync(join(out, 'index.html'), 'utf8');
  const page = [...html.matchAll(/(?:src|href)="\.\/assets\/([^"]+\.js)"/g)].map((m) => m[1]!);
  const firstScreen = new Set<string>();
  const visit = (file: string) => {
    if (firstScreen.has(file)) return;
    firstScreen.add(file);
    for (const f of staticImports(file)) visit(f);
  };
  for (const f of [...page, chunk('early-load-'), chunk('mount-')]) visit(f);
  assert.ok(firstScreen.size >= 4, [...firstScreen].join(', '));

  const withZod = [...code.keys()].filter((f) => ZOD.test(code.get(f)!) && !f.includes('.worker'));
  assert.ok(withZod.length >= 1, 'zod is in the build (else this test checks nothing)');
  assert.deepEqual(withZod.filter((f) => firstScreen.has(f)), [], 'a first-screen chunk holds zod');
  // The way to it: the schemas chunk, imported by import() from the first screen, imports it statically.
  const schemas = chunk('schemas-');
  assert.ok(!firstScreen.has(schemas));
  assert.ok([...firstScreen].some((f) => dynamicImports(f).includes(schemas)), 'the first screen reaches the schemas by import()');
  assert.ok(withZod.some((f) => f === schemas || staticImports(schemas).includes(f)), 'the schemas chunk brings zod');
});
