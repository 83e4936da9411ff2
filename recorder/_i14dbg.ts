import { NdjsonTail } from './src/tools/export/otlp-tail.ts';
const t = new NdjsonTail('/work/wt-i14/samples/conversation/bundle/trace.ndjson');
const v = t.read();
console.log(v.length, (v[0] as any)?.type, t.read().length);
