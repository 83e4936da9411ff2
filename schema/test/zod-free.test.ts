// The modules the reducer and the viewer's first screen use must load no zod (evaluating the schemas cost the viewer
// ~130 ms before it could fold a trace), and their zod-free copies of schema facts must not drift from the schemas.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { dirname, join, normalize } from 'node:path';
import { fileURLToPath } from 'node:url';
import { KNOWN_EVENT_TYPES, TRACE_EVENT_TYPES, TRACE_EVENT_SCHEMAS, isKnownEventType } from '../src/index.ts';

const src = fileURLToPath(new URL('../src/', import.meta.url));

test('the zod-free list of known event types is the schemas\' list, in the same order', () => {
  assert.deepEqual([...KNOWN_EVENT_TYPES], [...TRACE_EVENT_TYPES]);
  assert.equal(KNOWN_EVENT_TYPES.length, TRACE_EVENT_SCHEMAS.length);
  for (const type of TRACE_EVENT_TYPES) assert.ok(isKnownEventType(type), type);
  for (const type of ['future.telemetry', 'run', '', 'toString', '__proto__']) assert.equal(isKnownEventType(type), false, type);
});

/** Modules a module loads at run time: `import`/`export … from` lines, less `import type` / `export type` ones. */
function runtimeImports(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  const out: string[] = [];
  for (const m of text.matchAll(/^(import|export)\s+(type\s+)?([^;]*?)\s*from\s+'([^']+)'/gms)) {
    // `import type` is erased; `import { type A }` is kept as `import {} from` under verbatimModuleSyntax: it loads.
    if (m[2]) continue;
    out.push(m[4]!);
  }
  for (const m of text.matchAll(/^import\s+'([^']+)'/gm)) out.push(m[1]!);
  return out;
}

function closure(entry: string): Set<string> {
  const seen = new Set<string>();
  const visit = (file: string) => {
    if (seen.has(file)) return;
    seen.add(file);
    for (const spec of runtimeImports(file)) {
      if (spec.startsWith('.')) visit(normalize(join(dirname(file), spec)));
      else seen.add(spec);
    }
  };
  visit(join(src, entry));
  return seen;
}

test('the reducer, the usage fold, the event types, the bundle layout and the format errors load no zod', () => {
  for (const entry of ['reducer.ts', 'event-types.ts', 'usage-fold.ts', 'bundle-files.ts', 'flow-edges.ts', 'format-error.ts', 'bundle-path.ts', 'ids.ts']) {
    const loaded = [...closure(entry)];
    assert.ok(loaded.length >= 1);
    assert.deepEqual(loaded.filter((m) => m === 'zod' || m.startsWith('zod/')), [], `${entry} loads zod`);
    // Nor any module that builds schemas (they import zod themselves, so the check above sees them too).
    assert.deepEqual(loaded.filter((m) => /\/(events|usage|common|flow|manifest|projections|session|validate|fast-check)\.ts$/.test(m)), [], entry);
  }
  // The check sees zod where it is: it is not vacuous.
  assert.ok(closure('validate.ts').has('zod'));
  assert.ok(closure('usage.ts').has('zod'));
});
