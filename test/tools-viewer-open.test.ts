// What the bundle tools produce opens in the viewer: a packed zip through the viewer's own zip backend, and a
// bundle imported from acpx (see recorder/test/tools-import-acpx.test.ts for the import itself) through its model
// loader — no issues, every event on the timeline, sessions found.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { zipSource } from '../viewer/src/backend/zip.ts';
import { loadBundle } from '../viewer/src/model/loader.ts';
import { packBundle } from '../recorder/src/tools/pack.ts';

const samples = fileURLToPath(new URL('../samples', import.meta.url));
let dir = '';
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'flowtape-viewer-open-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

for (const name of ['conversation', 'checkpoint']) {
  test(`flowtape pack of the ${name} sample opens in the viewer's zip backend and model`, async () => {
    const zip = join(dir, `${name}.flowtape.zip`);
    await packBundle(join(samples, name, 'bundle'), { output: zip });
    const source = await zipSource(`${name}.flowtape.zip`, new Uint8Array(await readFile(zip)));
    assert.deepEqual(source.bundles, ['']);
    const { model } = await loadBundle(source.open(''));
    assert.equal(model.fatal, undefined);
    assert.deepEqual(model.issues, []);
    const trace = (await readFile(join(samples, name, 'bundle', 'trace.ndjson'), 'utf8')).trim().split('\n');
    assert.equal(model.timeline.length, trace.length);
    const manifest = JSON.parse(await readFile(join(samples, name, 'bundle', 'manifest.json'), 'utf8')) as { sessions: unknown[] };
    assert.equal(model.sessions.length, manifest.sessions.length);
  });
}
