/**
 * pnpm lint:fields [files…] — guards the format's field names.
 *
 * Walks JSON Schema files (default: every schema/json/*.schema.json) and reports, as `file: pointer: problem`,
 * every property name that is not lowerCamelCase, is banned (`kind`, bare `data`/`info`/`misc`, `type` outside the
 * trace event discriminator) or reuses a retired name from schema/reserved-fields.json.
 *
 * A file counts as a JSON Schema when it parses as JSON, its root is an object, and that object has at least one of:
 * `$schema` naming a json-schema.org meta-schema, `type` set to JSON Schema type name(s) ("object", "string", …),
 * `properties`/`$defs`/`definitions` as an object, or `oneOf`/`anyOf`/`allOf` as an array. Anything else (a
 * package.json — its `"type": "module"` is not a schema type —, an array, a bare value, text that is not JSON) is
 * reported in one line, `file: not a JSON Schema (…)`, rather than passed as "clean"; so is a file that cannot be read
 * (`file: cannot read JSON Schema: …`). Every file given is checked either way.
 *
 * Exit 0 when every file is a clean JSON Schema, 1 when the schemas have naming problems, 2 when any file cannot be
 * read or is not a JSON Schema (bad input wins over findings, as it means the lint did not cover what was asked).
 */
import { readFileSync, readdirSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const CAMEL = /^[a-z][a-zA-Z0-9]*$/;
const TRACE_EVENT_ID = 'flowtape.trace-event.v1';

interface Rules {
  banned: Record<string, string>;
  reserved: Record<string, string>;
}

export interface FieldProblem {
  file: string;
  pointer: string;
  message: string;
}

function escapePointer(segment: string): string {
  return segment.replaceAll('~', '~0').replaceAll('/', '~1');
}

/** `type` is allowed only as the discriminator of a trace event: `/properties/type` or `/oneOf/N/properties/type`. */
function isEventDiscriminator(schemaId: unknown, parentPointer: string): boolean {
  return schemaId === TRACE_EVENT_ID && /^(?:\/(?:oneOf|anyOf)\/\d+)?$/.test(parentPointer);
}

export function lintSchema(document: unknown, file: string, rules: Rules): FieldProblem[] {
  const problems: FieldProblem[] = [];
  const schemaId = (document as { $id?: unknown } | null)?.$id;
  const visit = (node: unknown, pointer: string): void => {
    if (Array.isArray(node)) {
      node.forEach((item, i) => visit(item, `${pointer}/${i}`));
      return;
    }
    if (typeof node !== 'object' || node === null) return;
    for (const [key, child] of Object.entries(node)) {
      const childPointer = `${pointer}/${escapePointer(key)}`;
      if (key === 'properties' && typeof child === 'object' && child !== null && !Array.isArray(child)) {
        for (const name of Object.keys(child)) {
          const at = `${childPointer}/${escapePointer(name)}`;
          const problem = checkName(name, rules, () => isEventDiscriminator(schemaId, pointer));
          if (problem) problems.push({ file, pointer: at, message: problem });
        }
      }
      visit(child, childPointer);
    }
  };
  visit(document, '');
  return problems;
}

function checkName(name: string, rules: Rules, discriminatorAllowed: () => boolean): string | undefined {
  if (name === 'type') return discriminatorAllowed() ? undefined : `"type" is banned: ${rules.banned.type}`;
  if (Object.hasOwn(rules.banned, name)) return `"${name}" is banned: ${rules.banned[name]}`;
  if (Object.hasOwn(rules.reserved, name)) return `"${name}" is a retired name: ${rules.reserved[name]}`;
  if (!CAMEL.test(name)) return `"${name}" is not lowerCamelCase`;
  return undefined;
}

const SCHEMA_TYPES = new Set(['object', 'array', 'string', 'number', 'integer', 'boolean', 'null']);
const SCHEMA_SIGNS = '"$schema"/"type"/"properties"/"$defs"/"oneOf"/"anyOf"/"allOf"';

function describeJson(value: unknown): string {
  if (Array.isArray(value)) return 'a JSON array';
  if (value === null) return 'JSON null';
  return `a JSON ${typeof value}`;
}

/** Why `document` is not a JSON Schema (see the header for the rule), or undefined when it is one. */
export function notSchemaReason(document: unknown): string | undefined {
  if (typeof document !== 'object' || document === null || Array.isArray(document)) {
    return `${describeJson(document)}, not an object with ${SCHEMA_SIGNS}`;
  }
  const d = document as Record<string, unknown>;
  const isObject = (v: unknown) => typeof v === 'object' && v !== null && !Array.isArray(v);
  const isTypeName = (v: unknown) => typeof v === 'string' && SCHEMA_TYPES.has(v);
  const signs = [
    typeof d.$schema === 'string' && /^https?:\/\/json-schema\.org\//.test(d.$schema),
    isTypeName(d.type) || (Array.isArray(d.type) && d.type.length > 0 && d.type.every(isTypeName)),
    isObject(d.properties),
    isObject(d.$defs),
    isObject(d.definitions),
    Array.isArray(d.oneOf),
    Array.isArray(d.anyOf),
    Array.isArray(d.allOf),
  ];
  if (signs.some(Boolean)) return undefined;
  const near: string[] = [];
  if (d.type !== undefined) near.push(`"type": ${JSON.stringify(d.type)} is not a JSON Schema type`);
  if (d.$schema !== undefined) near.push(`"$schema": ${JSON.stringify(d.$schema)} is not a json-schema.org meta-schema`);
  return [`no ${SCHEMA_SIGNS} at the root`, ...near].join('; ');
}

function oneLine(message: string): string {
  return message.replace(/\s+/g, ' ').trim();
}

type Loaded = { ok: true; document: unknown } | { ok: false; message: string };

function loadSchema(path: string, shown: string): Loaded {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    return { ok: false, message: `${shown}: cannot read JSON Schema: ${oneLine((error as Error).message)}` };
  }
  let document: unknown;
  try {
    document = JSON.parse(text);
  } catch (error) {
    return { ok: false, message: `${shown}: not a JSON Schema (not valid JSON: ${oneLine((error as Error).message)})` };
  }
  const reason = notSchemaReason(document);
  if (reason) return { ok: false, message: `${shown}: not a JSON Schema (${reason})` };
  return { ok: true, document };
}

function main(argv: string[]): number {
  const rules = JSON.parse(readFileSync(join(root, 'schema/reserved-fields.json'), 'utf8')) as Rules;
  const jsonDir = join(root, 'schema/json');
  const given = argv.length > 0;
  const files = given ? argv : readdirSync(jsonDir).filter((f) => f.endsWith('.schema.json')).sort().map((f) => join(jsonDir, f));
  if (files.length === 0) {
    console.error('lint:fields: no JSON Schema files (run `pnpm schema:gen`)');
    return 2;
  }
  const problems: FieldProblem[] = [];
  let linted = 0;
  let badInput = 0;
  for (const path of files) {
    const shown = given ? path : relative(process.cwd(), path) || path;
    const loaded = loadSchema(path, shown);
    if (!loaded.ok) {
      console.error(loaded.message);
      badInput++;
      continue;
    }
    linted++;
    problems.push(...lintSchema(loaded.document, shown, rules));
  }
  for (const p of problems) console.error(`${p.file}: ${p.pointer}: ${p.message}`);
  if (problems.length > 0) console.error(`lint:fields: ${problems.length} problem(s) in ${linted} file(s)`);
  if (badInput > 0) return 2;
  if (problems.length > 0) return 1;
  console.log(`lint:fields: ${linted} file(s) clean`);
  return 0;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) process.exitCode = main(process.argv.slice(2));
