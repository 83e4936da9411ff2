import { Worker } from 'node:worker_threads';
const tsx = import.meta.resolve('tsx/esm/api');
const entry = new URL('./src/tools/export/otlp-live-worker.ts', import.meta.url).href;
const boot = `import(${JSON.stringify(tsx)}).then((m) => { m.register(); return import(${JSON.stringify(entry)}); }).catch((e) => { console.error('BOOT', e); });`;
const t = Date.now();
const w = new Worker(boot, { eval: true, workerData: { bundleDir: '/work/wt-i14/samples/conversation/bundle', options: { endpoint: 'http://127.0.0.1:9', protocol: 'http/json', env: {} } } });
w.on('message', (m) => { console.log(Date.now() - t, 'msg', m.kind); if (m.kind === 'ready') w.postMessage({ kind: 'close' }); else w.terminate(); });
w.on('error', (e) => console.log('error', e));
setTimeout(() => { console.log('timeout 30s'); w.terminate(); }, 30000);
