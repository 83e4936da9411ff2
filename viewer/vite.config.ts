// Builds the viewer app into viewer/dist/app, which `flowtape view` serves (see server/serve.ts).
import { defineConfig } from 'vite';
import react from '@vitejs/plugin-react';
import { fileURLToPath } from 'node:url';
import { writeFileSync } from 'node:fs';
import { viewerInputsHash } from './server/ensure-built.ts';

export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  // Relative asset URLs: the same build is served by `flowtape view` at / and, as a static site
  // (`flowtape view --static`), under any path prefix of any static host.
  base: './',
  plugins: [
    react(),
    {
      // Records which sources this dist was built from, so tests can tell a stale build (ensure-built.ts). In
      // writeBundle, not closeBundle: closeBundle also runs when the build fails, and a stamp over a failed build's
      // leftovers made the next build call a broken app current.
      name: 'flowtape-inputs-stamp',
      apply: 'build',
      writeBundle() {
        writeFileSync(fileURLToPath(new URL('./dist/app/.inputs-sha256', import.meta.url)), viewerInputsHash() + '\n');
      },
    },
  ],
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
