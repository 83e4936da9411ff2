/**
 * Loads a flow definition from a flow file in any directory: the default export, or an export named `flow`.
 * `.ts`/`.mts`/`.tsx` files load through tsx, imported only then (plain `.js`/`.mjs`/`.cjs` flows and every
 * other command never pay for it). The file's imports of flowtape's runtime resolve to this CLI's own copy
 * (flow-imports.ts).
 */
import { existsSync, statSync } from 'node:fs';
import { extname, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { validateFlow, type FlowDefinition } from '../runtime/index.ts';
import { UsageError } from './errors.ts';
import { installRuntimeAliases } from './flow-imports.ts';

const TYPESCRIPT = new Set(['.ts', '.mts', '.tsx']);
const JAVASCRIPT = new Set(['.js', '.mjs', '.cjs']);

function looksLikeFlow(value: unknown): value is FlowDefinition {
  if (typeof value !== 'object' || value === null) return false;
  const flow = value as Partial<FlowDefinition>;
  return typeof flow.name === 'string' && typeof flow.startAt === 'string' && typeof flow.nodes === 'object';
}

let typescriptReady: Promise<void> | undefined;

/** Registers tsx's ESM and CommonJS hooks once (a no-op when the CLI itself already runs through tsx). */
function loadTypeScriptSupport(): Promise<void> {
  typescriptReady ??= (async () => {
    if (import.meta.url.endsWith('.ts')) return;
    const [esm, cjs] = await Promise.all([import('tsx/esm/api'), import('tsx/cjs/api')]);
    esm.register();
    cjs.register();
  })();
  return typescriptReady;
}

/** The first line that says what went wrong, joined with esbuild's `file:line:column` line when it follows. */
function firstLine(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  const lines = message.split('\n').map((l) => l.trim()).filter((l) => l !== '');
  return lines[0]?.endsWith(':') && lines[1] ? `${lines[0]} ${lines[1]}` : (lines[0] ?? 'unknown error');
}

export async function loadFlowFile(path: string, cwd: string): Promise<{ flow: FlowDefinition; file: string }> {
  const file = resolve(cwd, path);
  if (!existsSync(file)) throw new UsageError(`${path}: no such flow file`);
  if (!statSync(file).isFile()) throw new UsageError(`${path}: not a file`);
  const ext = extname(file).toLowerCase();
  if (ext === '.cts') {
    // tsx loads .cts through require(), and Node 20's require() of an ES module fails while loader hooks are active.
    throw new UsageError(`${path}: .cts flows are not supported (write the flow as .ts or .mts with import syntax)`);
  }
  if (!TYPESCRIPT.has(ext) && !JAVASCRIPT.has(ext)) {
    throw new UsageError(`${path}: not a flow file (expected .ts, .mts, .js, .mjs or .cjs)`);
  }
  installRuntimeAliases();
  let module: Record<string, unknown>;
  try {
    if (TYPESCRIPT.has(ext)) await loadTypeScriptSupport();
    module = (await import(pathToFileURL(file).href)) as Record<string, unknown>;
  } catch (error) {
    if (error instanceof Error && error.name === 'FlowDefinitionError') throw new UsageError(`${path}: ${firstLine(error)}`);
    throw new UsageError(`${path}: cannot load the flow (${firstLine(error)})`);
  }
  const candidates = [module.default, module.flow, (module.default as { default?: unknown } | undefined)?.default];
  const flow = candidates.find(looksLikeFlow) ?? Object.values(module).find(looksLikeFlow);
  if (!flow) throw new UsageError(`${path}: exports no flow (use \`export default defineFlow({ … })\`)`);
  // A definition exported without defineFlow is validated here, so the error names the file before anything runs.
  try {
    validateFlow(flow);
  } catch (error) {
    throw new UsageError(`${path}: ${firstLine(error)}`);
  }
  return { flow, file };
}
