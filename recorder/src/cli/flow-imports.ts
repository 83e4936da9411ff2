/**
 * Makes a flow file's imports of flowtape's runtime resolve to the copy of flowtape that runs it, wherever the flow
 * file lives (with or without a package.json, with or without flowtape installed beside it):
 *
 *   `@flowtape/recorder` → this package's own entry;  `acpx/flows` → its acpx-compatible entry (acpx-flows.ts).
 *
 * One runtime instance matters: defineFlow remembers validated definitions and decision nodes in module-level
 * WeakMaps, so a definition built by a second copy would be handed to a runtime that does not know it.
 * ESM imports go through a node:module resolve hook; CommonJS flows (a `.ts`/`.js` file outside a
 * `"type": "module"` package is compiled to require() calls) go through the CommonJS resolver, which Node 20 only
 * lets us reach by wrapping Module._resolveFilename (module.registerHooks arrives in Node 22.15).
 * Every other import resolves from the flow file's own directory as usual.
 */
import Module, { register } from 'node:module';
import { fileURLToPath } from 'node:url';

/** `.ts` when running from the repository's sources through tsx, `.js` in the published package. */
const EXT = import.meta.url.endsWith('.ts') ? '.ts' : '.js';

export const RUNTIME_ALIASES: Readonly<Record<string, string>> = {
  '@flowtape/recorder': new URL(`../index${EXT}`, import.meta.url).href,
  'acpx/flows': new URL(`../acpx-flows${EXT}`, import.meta.url).href,
};

type ResolveFilename = (request: string, parent: unknown, isMain: boolean, options?: unknown) => string;

let installed = false;

/** Installs the aliases for this process (idempotent). */
export function installRuntimeAliases(): void {
  if (installed) return;
  installed = true;
  register(new URL(`./flow-imports-hook${EXT}`, import.meta.url), { data: { aliases: { ...RUNTIME_ALIASES } } });
  const paths = new Map(Object.entries(RUNTIME_ALIASES).map(([specifier, url]) => [specifier, fileURLToPath(url)]));
  const cjs = Module as unknown as { _resolveFilename: ResolveFilename };
  const original = cjs._resolveFilename;
  cjs._resolveFilename = function resolveFilename(this: unknown, request, parent, isMain, options) {
    return paths.get(request) ?? original.call(this, request, parent, isMain, options);
  };
}
