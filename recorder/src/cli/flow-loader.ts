/** Loads a flow definition from a `*.flow.ts` (or .js) file: the default export, or an export named `flow`. */
import { existsSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { tsImport } from 'tsx/esm/api';
import type { FlowDefinition } from '../runtime/index.ts';
import { UsageError } from './errors.ts';

function looksLikeFlow(value: unknown): value is FlowDefinition {
  if (typeof value !== 'object' || value === null) return false;
  const flow = value as Partial<FlowDefinition>;
  return typeof flow.name === 'string' && typeof flow.startAt === 'string' && typeof flow.nodes === 'object';
}

export async function loadFlowFile(path: string, cwd: string): Promise<{ flow: FlowDefinition; file: string }> {
  const file = resolve(cwd, path);
  if (!existsSync(file)) throw new UsageError(`${path}: no such flow file`);
  if (!statSync(file).isFile()) throw new UsageError(`${path}: not a file`);
  let module: Record<string, unknown>;
  try {
    // tsx's own namespace: TypeScript flow files load whatever their package's module type, on plain Node.
    module = (await tsImport(pathToFileURL(file).href, import.meta.url)) as Record<string, unknown>;
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    const lines = message.split('\n').map((l) => l.trim()).filter((l) => l !== '');
    // esbuild says "Transform failed with 1 error:" and puts file:line:column on the next line.
    const line = lines[0]?.endsWith(':') && lines[1] ? `${lines[0]} ${lines[1]}` : (lines[0] ?? 'unknown error');
    if (error instanceof Error && error.name === 'FlowDefinitionError') throw new UsageError(`${path}: ${line}`);
    throw new UsageError(`${path}: cannot load the flow (${line})`);
  }
  const candidates = [module.default, module.flow, (module.default as { default?: unknown } | undefined)?.default];
  const flow = candidates.find(looksLikeFlow) ?? Object.values(module).find(looksLikeFlow);
  if (!flow) throw new UsageError(`${path}: exports no flow (use \`export default defineFlow({ … })\`)`);
  return { flow, file };
}
