/**
 * pnpm lint:fields [files…] — guards the format's field names.
 *
 * Walks JSON Schema files (default: every schema/json/*.schema.json) and reports, as `file: pointer: problem`,
 * every property name that is not lowerCamelCase, is banned (`kind`, bare `data`/`info`/`misc`, `type` outside the
 * trace event discriminator) or reuses a retired name from schema/reserved-fields.json. Exit 1 on any problem,
 * 2 when a file cannot be read.
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

function main(argv: string[]): number {
  const rules = JSON.parse(readFileSync(join(root, 'schema/reserved-fields.json'), 'utf8')) as Rules;
  const jsonDir = join(root, 'schema/json');
  const files = argv.length > 0 ? argv : readdirSync(jsonDir).filter((f) => f.endsWith('.schema.json')).sort().map((f) => join(jsonDir, f));
  if (files.length === 0) {
    console.error('lint:fields: no JSON Schema files (run `pnpm schema:gen`)');
    return 2;
  }
  const problems: FieldProblem[] = [];
  for (const path of files) {
    const shown = relative(process.cwd(), path) || path;
    let document: unknown;
    try {
      document = JSON.parse(readFileSync(path, 'utf8'));
    } catch (error) {
      console.error(`${shown}: cannot read JSON Schema: ${(error as Error).message.split('\n')[0]}`);
      return 2;
    }
    problems.push(...lintSchema(document, shown, rules));
  }
  for (const p of problems) console.error(`${p.file}: ${p.pointer}: ${p.message}`);
  if (problems.length > 0) {
    console.error(`lint:fields: ${problems.length} problem(s) in ${files.length} file(s)`);
    return 1;
  }
  console.log(`lint:fields: ${files.length} file(s) clean`);
  return 0;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) process.exitCode = main(process.argv.slice(2));
