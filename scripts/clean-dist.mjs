#!/usr/bin/env node
// Before a package's build: removes its output folder, so a module deleted from the sources is not left in dist/
// and shipped by `pnpm pack` (tsc -b only ever adds and overwrites; its .tsbuildinfo lives in the same folder, so
// the build that follows is a full one). Usage: clean-dist.mjs <dir>… (relative to the package being built).
import { rmSync } from 'node:fs';

for (const dir of process.argv.slice(2)) rmSync(dir, { recursive: true, force: true });
