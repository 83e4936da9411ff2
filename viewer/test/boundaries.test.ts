// The import rules of viewer/DEPS.md: UI components never reach the loader or a backend (they never parse
// files); the model never depends on React or the UI.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const src = fileURLToPath(new URL('../src/', import.meta.url));

function imports(folder: string): Array<{ file: string; spec: string; typeOnly: boolean; names: string }> {
  const out: Array<{ file: string; spec: string; typeOnly: boolean; names: string }> = [];
  for (const name of readdirSync(join(src, folder))) {
    if (!/\.tsx?$/.test(name)) continue;
    const text = readFileSync(join(src, folder, name), 'utf8');
    for (const m of text.matchAll(/^import\s+(type\s+)?([\s\S]*?)\s+from\s+'([^']+)';/gm)) {
      out.push({ file: `${folder}/${name}`, typeOnly: Boolean(m[1]), names: m[2]!, spec: m[3]! });
    }
  }
  return out;
}

test('ui/ never imports a backend, the loader, the trace reader or validation', () => {
  const banned = [/\/backend\//, /model\/loader/, /model\/trace-reader/, /model\/validate/, /\/app\//];
  for (const i of imports('ui')) {
    for (const b of banned) assert.ok(!b.test(i.spec), `${i.file} imports ${i.spec}`);
    if (/model\/sessions/.test(i.spec)) assert.ok(i.typeOnly, `${i.file} imports values from ${i.spec} (types only)`);
  }
});

test('ui/ never parses bundle text itself', () => {
  for (const name of readdirSync(join(src, 'ui'))) {
    const text = readFileSync(join(src, 'ui', name), 'utf8');
    assert.ok(!/JSON\.parse|readLines|readNdjson|TextDecoder/.test(text), `ui/${name} parses data`);
    assert.ok(!/dangerouslySetInnerHTML|innerHTML/.test(text), `ui/${name} writes HTML`);
  }
});

test('model/, backend/ and layout/ do not depend on React, the UI or the app', () => {
  for (const folder of ['model', 'backend', 'layout']) {
    for (const i of imports(folder)) {
      assert.ok(!/^react|@xyflow|@tanstack|\/ui\/|\/app\//.test(i.spec), `${i.file} imports ${i.spec}`);
      if (folder !== 'model') assert.ok(!/\/model\//.test(i.spec), `${i.file} imports ${i.spec}`);
    }
  }
});

test('the entry chunk stays small: backend/prefetch.ts imports nothing that pulls in the schema, React or the app', async () => {
  const allowed = new Set(['./fetched-files.ts', './static.ts', './trace-text.ts']);
  const values = (folder: string, file: string) => imports(folder).filter((i) => i.file === file && !i.typeOnly).map((i) => i.spec);
  for (const s of values('backend', 'backend/prefetch.ts')) assert.ok(allowed.has(s), `backend/prefetch.ts imports ${s}`);
  // The trace reader it starts imports only the line cutter (shared with the worker).
  for (const s of values('backend', 'backend/trace-text.ts')) assert.equal(s, './text-chunks.ts', `backend/trace-text.ts imports ${s}`);
  for (const s of values('backend', 'backend/text-chunks.ts')) assert.fail(`backend/text-chunks.ts imports ${s}`);
  assert.deepEqual(values('.', './main.ts'), ['./backend/prefetch.ts']);
  // Its copy of the loader's first paths is the schema's.
  const { FIRST_FILES } = await import('../src/backend/prefetch.ts');
  const { BUNDLE_FILES } = await import('@flowtape/schema');
  assert.deepEqual([...FIRST_FILES], [BUNDLE_FILES.manifest, BUNDLE_FILES.flow, BUNDLE_FILES.trace]);
});
