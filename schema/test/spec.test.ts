import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { z } from 'zod';
import { JSON_SCHEMA_DOCUMENTS, TRACE_EVENT_TYPES, TraceEvent, SCHEMA_IDS } from '../src/index.ts';

const spec = readFileSync(fileURLToPath(new URL('../SPEC.md', import.meta.url)), 'utf8');
const examples = [...spec.matchAll(/<!-- example: ([a-z-]+) -->\n```(json|ndjson)\n([\s\S]*?)\n```/g)].map((m) => ({
  doc: m[1]!,
  format: m[2]!,
  body: m[3]!,
}));

const byDoc = new Map<string, z.ZodType>(JSON_SCHEMA_DOCUMENTS.map((d) => [d.file.replace('.schema.json', ''), d.schema]));

test('SPEC.md has a valid example of every document of the format', () => {
  const seen = new Set<string>();
  for (const { doc, format, body } of examples) {
    const schema = byDoc.get(doc);
    assert.ok(schema, `SPEC.md example for unknown document "${doc}"`);
    const values = format === 'ndjson' ? body.split('\n').map((line) => JSON.parse(line)) : [JSON.parse(body)];
    values.forEach((value, i) => {
      const result = schema.safeParse(value);
      assert.ok(result.success, `SPEC.md ${doc} example ${i + 1}: ${result.success ? '' : JSON.stringify(result.error.issues[0])}`);
    });
    seen.add(doc);
  }
  assert.deepEqual([...seen].sort(), [...byDoc.keys()].sort());
});

test('SPEC.md shows one trace line of every event type', () => {
  const lines = examples.filter((e) => e.doc === 'trace-event').flatMap((e) => e.body.split('\n'));
  const types = new Set(lines.map((line) => TraceEvent.parse(JSON.parse(line)).type));
  assert.deepEqual([...types].sort(), [...TRACE_EVENT_TYPES].sort());
});

test('SPEC.md names every schema id and documents every event type', () => {
  for (const id of Object.values(SCHEMA_IDS)) assert.ok(spec.includes(`\`${id}\``), `${id} missing from SPEC.md`);
  for (const type of TRACE_EVENT_TYPES) assert.ok(spec.includes(`#### \`${type}\``), `${type} has no section`);
});
