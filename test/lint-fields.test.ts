import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));

function lint(...files: string[]) {
  const result = spawnSync(process.execPath, ['--import', 'tsx', 'scripts/lint-fields.ts', ...files], { cwd: root, encoding: 'utf8' });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

test('lint:fields passes on the generated JSON Schemas of the repo', () => {
  const { code, stdout, stderr } = lint();
  assert.equal(code, 0, stderr);
  assert.match(stdout, /lint:fields: \d+ file\(s\) clean/);
});

test('lint:fields fails with file and JSON pointer on kind, snake_case, data, misplaced type and retired names', () => {
  const file = 'test/fixtures/lint/bad.schema.json';
  const { code, stderr } = lint(file);
  assert.equal(code, 1);
  const lines = stderr.trim().split('\n');
  assert.ok(lines.includes(`${file}: /properties/kind: "kind" is banned: say what it is a kind of: nodeType, actionType, sourceType, toolKind, optionKind`), stderr);
  assert.ok(lines.includes(`${file}: /properties/run_id: "run_id" is not lowerCamelCase`), stderr);
  assert.ok(lines.some((l) => l.startsWith(`${file}: /properties/payload/properties/data: "data" is banned`)), stderr);
  assert.ok(lines.some((l) => l.startsWith(`${file}: /properties/payload/properties/type: "type" is banned`)), stderr);
  assert.ok(lines.some((l) => l.startsWith(`${file}: /properties/payload/properties/ts: "ts" is a retired name`)), stderr);
  assert.ok(!stderr.includes('okName'), 'a good name is not reported');
  assert.match(lines.at(-1)!, /lint:fields: 5 problem\(s\) in 1 file\(s\)/);
});

test('lint:fields passes a clean file given on the command line and exits 2 on an unreadable one', () => {
  assert.equal(lint('test/fixtures/lint/good.schema.json').code, 0);
  const missing = lint('test/fixtures/lint/does-not-exist.schema.json');
  assert.equal(missing.code, 2);
  assert.match(missing.stderr, /does-not-exist\.schema\.json: cannot read JSON Schema/);
});

test('type is allowed only as the trace event discriminator', async () => {
  const { lintSchema } = await import('../scripts/lint-fields.ts');
  const rules = { banned: { type: 'discriminator only' }, reserved: {} };
  const event = { $id: 'flowtape.trace-event.v1', oneOf: [{ properties: { type: {}, payload: { properties: { type: {} } } } }] };
  const problems = lintSchema(event, 'x.json', rules);
  assert.deepEqual(problems.map((p) => p.pointer), ['/oneOf/0/properties/payload/properties/type']);
  const other = lintSchema({ $id: 'flowtape.flow.v1', properties: { type: {} } }, 'y.json', rules);
  assert.deepEqual(other.map((p) => p.pointer), ['/properties/type']);
});
