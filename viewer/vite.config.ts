// Builds the viewer app into viewer/dist/app, which `flowtape view` serves (see server/serve.ts).
import { defineConfig, type Plugin } from 'vite';
import react from '@vitejs/plugin-react';
import { fileURLToPath } from 'node:url';

/**
 * The entry module (src/main.ts) loads the code that reads the served bundle (app/early-load.ts: the loader, the
 * reducer, the schema's validators) with import(): without a hint the browser only asks for that chunk once the
 * entry has been fetched and evaluated. Listed in the page, it is fetched and parsed (off the main thread) beside the
 * entry, and the trace's first lines are read ~50 ms sooner. Only that chunk: fetching the app's own chunks (React,
 * the graph, ~600 kB) ahead too delayed the entry itself on a loaded machine.
 */
function preloadEarlyLoad(): Plugin {
  return {
    name: 'flowtape-preload-early-load',
    apply: 'build',
    transformIndexHtml: {
      order: 'post',
      handler(_html, { bundle, chunk: entry }) {
        if (!bundle || !entry) return [];
        const chunks = Object.values(bundle).flatMap((c) => (c.type === 'chunk' ? [c] : []));
        const isEarlyLoad = (id: string | null) => id?.endsWith('/src/app/early-load.ts') === true;
        const early = chunks.find((c) => isEarlyLoad(c.facadeModuleId));
        if (early === undefined) {
          // An app without the module (a test builds the config around a one-line app) needs no hint; one where the
          // module was merged into another chunk has lost the split this hint is for, and that is a build error.
          if (chunks.some((c) => c.moduleIds.some(isEarlyLoad))) throw new Error('vite.config.ts: src/app/early-load.ts is not a chunk of its own');
          return [];
        }
        const files = [early.fileName, ...early.imports].filter((f) => f !== entry.fileName);
        return files.map((f) => ({ tag: 'link', attrs: { rel: 'modulepreload', crossorigin: '', href: `./${f}` }, injectTo: 'head' }));
      },
    },
  };
}

export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  // Relative asset URLs: the same build is served by `flowtape view` at / and, as a static site
  // (`flowtape view --static`), under any path prefix of any static host.
  base: './',
  // No stamp plugin: ensure-built.ts writes dist/app/.inputs-sha256 itself once vite has exited 0. A plugin cannot
  // tell: vite 8 runs writeBundle (and writes a broken app) before it fails the build on an unresolved import.
  plugins: [react(), preloadEarlyLoad()],
  build: {
    outDir: 'dist/app',
    emptyOutDir: true,
    target: 'es2022',
    sourcemap: false,
    chunkSizeWarningLimit: 2000,
    // No inline scripts or data: modules, so the strict CSP the server sends holds.
    assetsInlineLimit: 0,
    modulePreload: { polyfill: false },
  },
  worker: { format: 'es' },
});
