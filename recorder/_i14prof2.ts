import { performance } from 'node:perf_hooks';
import { readFileSync } from 'node:fs';
import { bundleSpans } from './src/tools/export/otlp-export.ts';
for (let r = 0; r < 3; r++) {
  let s = performance.now(); let n = 0; for (const l of readFileSync('/tmp/i14prof/big/trace.ndjson', 'utf8').split('\n')) if (l) n += JSON.parse(l).seq > 0 ? 1 : 0; const floor = performance.now() - s;
  s = performance.now(); await bundleSpans('/tmp/i14prof/big'); const b = performance.now() - s;
  console.log(`floor ${floor.toFixed(0)} bundleSpans ${b.toFixed(0)} ratio ${(b / floor).toFixed(2)}`);
}
