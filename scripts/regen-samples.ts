/**
 * pnpm samples — records every sample flow deterministically into samples/<name>/bundle/.
 *
 *   tsx scripts/regen-samples.ts                 rewrite the committed bundles
 *   tsx scripts/regen-samples.ts --out <dir>     write <dir>/<name>/ instead (the committed ones are untouched)
 *   tsx scripts/regen-samples.ts --check         regenerate into a temp dir and compare bytes with the committed
 *                                                bundles: exit 1 and one line per differing file
 *   tsx scripts/regen-samples.ts --only a,b      only these samples
 */
import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { parseArgs } from 'node:util';
import { sampleDir, samples, recordSample } from '../samples/catalog.ts';

function listFiles(dir: string, base = dir): string[] {
  let entries: string[];
  try {
    entries = readdirSync(dir);
  } catch {
    return [];
  }
  return entries.flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? listFiles(path, base) : [relative(base, path)];
  });
}

/** One line per file that differs between two bundle directories. */
export function compareDirs(expected: string, actual: string, label: string): string[] {
  const a = new Set(listFiles(expected));
  const b = new Set(listFiles(actual));
  const problems: string[] = [];
  for (const file of [...new Set([...a, ...b])].sort()) {
    if (!a.has(file)) problems.push(`${label}/${file}: produced but not committed`);
    else if (!b.has(file)) problems.push(`${label}/${file}: committed but no longer produced`);
    else {
      const x = readFileSync(join(expected, file));
      const y = readFileSync(join(actual, file));
      if (!x.equals(y)) {
        const lx = x.toString('utf8').split('\n');
        const ly = y.toString('utf8').split('\n');
        let line = 0;
        while (line < Math.max(lx.length, ly.length) && lx[line] === ly[line]) line++;
        problems.push(`${label}/${file}:${line + 1}: differs from the regenerated bundle`);
      }
    }
  }
  return problems;
}

async function main(): Promise<number> {
  const { values } = parseArgs({ options: { out: { type: 'string' }, check: { type: 'boolean' }, only: { type: 'string' } } });
  const only = values.only ? new Set(values.only.split(',')) : undefined;
  const chosen = samples.filter((s) => !only || only.has(s.name));
  if (only && chosen.length !== only.size) {
    console.error(`regen-samples: unknown sample in --only (known: ${samples.map((s) => s.name).join(', ')})`);
    return 2;
  }
  const scratch = mkdtempSync(join(tmpdir(), 'flowtape-samples-'));
  const problems: string[] = [];
  try {
    for (const spec of chosen) {
      const target = values.out ? join(values.out, spec.name) : join(sampleDir(spec), 'bundle');
      const fresh = join(scratch, spec.name);
      const result = await recordSample(spec, fresh);
      if (values.check) {
        problems.push(...compareDirs(join(sampleDir(spec), 'bundle'), fresh, `samples/${spec.name}/bundle`));
        console.error(`${spec.name}: ${result.status}`);
        continue;
      }
      rmSync(target, { recursive: true, force: true });
      mkdirSync(dirname(target), { recursive: true });
      cpSync(fresh, target, { recursive: true });
      console.error(`${spec.name}: ${result.status} -> ${target}`);
    }
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
  for (const line of problems) console.log(line);
  if (values.check) console.error(problems.length === 0 ? 'regen-samples: every sample bundle is current' : `regen-samples: ${problems.length} file(s) differ: run \`pnpm samples\``);
  return problems.length === 0 ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(`regen-samples: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(2);
  },
);
