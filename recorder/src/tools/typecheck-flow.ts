/**
 * Type-checks one flow file with the TypeScript compiler API, when TypeScript can be found (from the flow's own
 * directory first, then beside flowtape). flowtape does not depend on TypeScript; without it (or with a TypeScript
 * that has no compiler API, such as 7) `check` still validates the definition and says that types were not checked.
 *
 * The file is checked on its own with strict options, and its `@flowtape/recorder` and `acpx/flows` imports are
 * mapped (`paths`) to this copy's declarations — the same mapping `flowtape run` applies when it loads the file.
 */
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

export interface TypecheckResult {
  /** False when no TypeScript compiler API could be found (none installed, or TypeScript 7) or the file is JavaScript. */
  checked: boolean;
  /** Why the file was not checked, or a note on what was left out. */
  note?: string;
  /** One line each: `file:line:column: error TSnnnn: message`. */
  diagnostics: string[];
}

/** `.ts` when running from the repository's sources through tsx, `.js` in the published package. */
const FROM_SOURCE = import.meta.url.endsWith('.ts');
const declarations = (entry: string) => fileURLToPath(new URL(`../${entry}${FROM_SOURCE ? '.ts' : '.d.ts'}`, import.meta.url));

function resolveFrom(bases: string[], request: string): string | undefined {
  for (const base of bases) {
    try {
      return createRequire(base).resolve(request);
    } catch {
      /* not found from there */
    }
  }
  return undefined;
}

type TypeScript = typeof import('typescript');

/** The compiler API flowtape uses is TypeScript 5's; 7, the native port, has none. */
const INSTALL_HINT = 'npm install -D typescript@5 to type-check flows';

/** The version in the package.json of the `typescript` package holding `entry` (its exports may not list package.json). */
function packageVersion(entry: string): string | undefined {
  for (let dir = dirname(entry); dir !== dirname(dir); dir = dirname(dir)) {
    const manifest = join(dir, 'package.json');
    if (!existsSync(manifest)) continue;
    try {
      const { name, version } = JSON.parse(readFileSync(manifest, 'utf8')) as { name?: unknown; version?: unknown };
      if (name === 'typescript') return typeof version === 'string' ? version : undefined;
    } catch {
      /* unreadable: look further up */
    }
  }
  return undefined;
}

export async function typecheckFlow(file: string): Promise<TypecheckResult> {
  if (!/\.(c|m)?tsx?$/.test(file)) return { checked: false, note: 'JavaScript file: no types to check', diagnostics: [] };
  const bases = [join(dirname(file), 'noop.js'), fileURLToPath(import.meta.url)];
  const compiler = resolveFrom(bases, 'typescript');
  if (!compiler) return { checked: false, note: `TypeScript not found (${INSTALL_HINT})`, diagnostics: [] };
  const imported = (await import(pathToFileURL(compiler).href)) as Partial<TypeScript> & { default?: Partial<TypeScript> };
  const api = imported.default ?? imported;
  // TypeScript 7 (the native port) is what `npm install -D typescript` gives now: its main export is only a version,
  // with no compiler API. Types are then not checked, but the definition still is: `check` must not crash.
  if (typeof api.createProgram !== 'function' || api.ScriptTarget === undefined) {
    const version = packageVersion(compiler) ?? (typeof api.version === 'string' ? api.version : undefined);
    return {
      checked: false,
      note: `TypeScript${version ? ` ${version}` : ''} has no compiler API (${compiler} does not export createProgram and ScriptTarget): types not checked; ${INSTALL_HINT}`,
      diagnostics: [],
    };
  }
  const ts = api as TypeScript;
  const nodeTypes = resolveFrom(bases, '@types/node/package.json');
  const options: import('typescript').CompilerOptions = {
    strict: true,
    noEmit: true,
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.Preserve,
    moduleResolution: ts.ModuleResolutionKind.Bundler,
    allowImportingTsExtensions: true,
    skipLibCheck: true,
    esModuleInterop: true,
    lib: ['lib.es2023.d.ts'],
    types: nodeTypes ? ['node'] : [],
    ...(nodeTypes ? { typeRoots: [dirname(dirname(nodeTypes))] } : {}),
    paths: {
      '@flowtape/recorder': [declarations('index')],
      'acpx/flows': [declarations('acpx-flows')],
    },
  };
  const program = ts.createProgram([file], options);
  const diagnostics: string[] = [];
  let skippedNode = 0;
  for (const d of ts.getPreEmitDiagnostics(program)) {
    const text = ts.flattenDiagnosticMessageText(d.messageText, ' ');
    // Without @types/node, `node:` imports cannot be typed; that is the user's setup, not an error in the flow.
    if (!nodeTypes && d.code === 2307 && /['"]node:/.test(text)) {
      skippedNode++;
      continue;
    }
    if (d.file && d.start !== undefined && !d.file.fileName.includes('/node_modules/') && existsSync(d.file.fileName)) {
      const { line, character } = d.file.getLineAndCharacterOfPosition(d.start);
      diagnostics.push(`${d.file.fileName}:${line + 1}:${character + 1}: error TS${d.code}: ${text}`);
    } else if (!d.file || !d.file.fileName.includes('/node_modules/')) {
      diagnostics.push(`error TS${d.code}: ${text}`);
    }
  }
  return {
    checked: true,
    ...(skippedNode > 0 ? { note: '@types/node not found: imports of node: modules were not type-checked' } : {}),
    diagnostics,
  };
}
