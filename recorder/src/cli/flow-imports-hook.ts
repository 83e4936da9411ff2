// Module resolve hook (registered with node:module's register() by flow-imports.ts) for flow files loaded by the
// CLI: maps bare specifiers such as `@flowtape/recorder` and `acpx/flows` to the CLI's own runtime modules.
// Kept dependency-free: it runs on Node's loader thread.

interface ResolveContext {
  conditions: string[];
  importAttributes: Record<string, string>;
  parentURL?: string;
}
type NextResolve = (specifier: string, context: ResolveContext) => Promise<{ url: string; format?: string | null }>;

let aliases: Record<string, string> = {};

export function initialize(data: { aliases: Record<string, string> }): void {
  aliases = data.aliases;
}

export async function resolve(specifier: string, context: ResolveContext, next: NextResolve) {
  const target = Object.hasOwn(aliases, specifier) ? aliases[specifier] : undefined;
  if (target !== undefined) return { url: target, format: 'module', shortCircuit: true };
  return next(specifier, context);
}
