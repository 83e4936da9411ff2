#!/usr/bin/env node
// After `tsc -b`: rewrites relative `.ts` specifiers in emitted declaration files to `.js`.
// tsc's rewriteRelativeImportExtensions fixes the JavaScript it emits but leaves `./x.ts` in `.d.ts` files; recent
// TypeScript versions accept that, older ones and other declaration readers do not. Usage: dts-extensions.mjs <dir>…
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const SPECIFIER = /((?:from|import)\s*\(?\s*['"])(\.{1,2}\/[^'"]*?)\.(m?)ts(['"])/g;

function walk(dir) {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) walk(path);
    else if (entry.name.endsWith('.d.ts')) {
      const text = readFileSync(path, 'utf8');
      const fixed = text.replace(SPECIFIER, (_m, head, stem, m, quote) => `${head}${stem}.${m}js${quote}`);
      if (fixed !== text) writeFileSync(path, fixed);
    }
  }
}

const dirs = process.argv.slice(2);
if (dirs.length === 0) {
  console.error('usage: dts-extensions.mjs <dir>…');
  process.exit(2);
}
for (const dir of dirs) walk(dir);
