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

test('lint:fields refuses, in one line naming the file and exit 2, files that are not JSON Schemas', () => {
  const cases: Array<[string, RegExp]> = [
    ['package.json', /^package\.json: not a JSON Schema \(no "\$schema"\/"type"\/"properties".* at the root; "type": "module" is not a JSON Schema type\)$/],
    ['test/fixtures/lint/plain-object.json', /^test\/fixtures\/lint\/plain-object\.json: not a JSON Schema \(no "\$schema"/],
    ['test/fixtures/lint/array.json', /^test\/fixtures\/lint\/array\.json: not a JSON Schema \(a JSON array, not an object with /],
    ['test/fixtures/lint/not-json.schema.json', /^test\/fixtures\/lint\/not-json\.schema\.json: not a JSON Schema \(not valid JSON: /],
    ['test/fixtures/lint/does-not-exist.json', /^test\/fixtures\/lint\/does-not-exist\.json: cannot read JSON Schema: ENOENT/],
  ];
  for (const [file, line] of cases) {
    const { code, stdout, stderr } = lint(file);
    assert.equal(code, 2, `${file}: ${stdout}${stderr}`);
    assert.doesNotMatch(stdout, /clean/, file);
    const lines = stderr.trim().split('\n');
    assert.equal(lines.length, 1, stderr);
    assert.match(lines[0]!, line);
    assert.doesNotMatch(stderr, /\n\s+at /);
  }
});

test('lint:fields checks every file given: findings in a schema and a bad input in one run exit 2, reporting both', () => {
  const { code, stdout, stderr } = lint('test/fixtures/lint/bad.schema.json', 'test/fixtures/lint/array.json', 'test/fixtures/lint/good.schema.json');
  assert.equal(code, 2, stderr);
  assert.doesNotMatch(stdout, /clean/);
  const lines = stderr.trim().split('\n');
  assert.ok(lines.includes('test/fixtures/lint/bad.schema.json: /properties/run_id: "run_id" is not lowerCamelCase'), stderr);
  assert.ok(lines.some((l) => l.startsWith('test/fixtures/lint/array.json: not a JSON Schema')), stderr);
  assert.match(lines.at(-1)!, /lint:fields: 5 problem\(s\) in 2 file\(s\)/);
});

test('what counts as a JSON Schema', async () => {
  const { notSchemaReason } = await import('../scripts/lint-fields.ts');
  for (const schema of [
    { $schema: 'https://json-schema.org/draft/2020-12/schema' },
    { type: 'object' },
    { type: ['string', 'null'] },
    { properties: {} },
    { $defs: { a: { type: 'string' } } },
    { oneOf: [] },
  ]) {
    assert.equal(notSchemaReason(schema), undefined, JSON.stringify(schema));
  }
  for (const other of [{}, [], null, 3, 'text', { type: 'module' }, { $schema: 'https://json.schemastore.org/tsconfig' }, { properties: [] }]) {
    assert.ok(notSchemaReason(other), JSON.stringify(other));
  }
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
