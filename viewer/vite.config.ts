// Builds the viewer app into viewer/dist/app, which `flowtape view` serves (see server/serve.ts).
import { defineConfig } from 'vite';
import react from '@vitejs/plugin-react';
import { fileURLToPath } from 'node:url';

export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  // Relative asset URLs: the same build is served by `flowtape view` at / and, as a static site
  // (`flowtape view --static`), under any path prefix of any static host.
  base: './',
  // No stamp plugin: ensure-built.ts writes dist/app/.inputs-sha256 itself once vite has exited 0. A plugin cannot
  // tell: vite 8 runs writeBundle (and writes a broken app) before it fails the build on an unresolved import.
  plugins: [react()],
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
