// A packed bundle is unpacked in memory: only what belongs to the bundle is inflated, and a zip claiming more than
// the cap is refused before anything is (found from the outside: a 1.5 MB zip with 1.5 GiB of zeros beside the
// bundle took `flowtape diff` to 1.6 GB of memory).
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import { zipSync } from 'fflate';
import { ZipBundleBackend } from '../src/tools/fs-backend.ts';
import { bundleFiles } from '../../test/fixtures/bundle-builder.ts';
import { tempDir } from './recorder-support.ts';

const sample = fileURLToPath(new URL('../../samples/conversation/bundle', import.meta.url));

test('zip: entries outside the bundle do not count against the cap; a bundle over the cap is refused in one line', async () => {
  const dir = await tempDir('flowtape-zip-unpack-');
  try {
    const bundle = bundleFiles(sample);
    const bundleBytes = Object.values(bundle).reduce((sum, bytes) => sum + bytes.byteLength, 0);
    const cap = bundleBytes + 1024 * 1024;
    // 4 MiB of zeros beside the bundle (in a folder of its own): over the cap, but not the bundle's.
    const beside = join(dir.path, 'beside.zip');
    writeFileSync(beside, zipSync({ ...Object.fromEntries(Object.entries(bundle).map(([n, b]) => [`run/${n}`, b])), 'junk/zero.bin': new Uint8Array(4 << 20) }));
    const opened = await ZipBundleBackend.open(beside, { maxUnpackedBytes: cap });
    assert.deepEqual(opened.list(), Object.keys(bundle).sort());
    // The same zeros inside the bundle (an artifact): over the cap, refused before anything is inflated.
    const inside = join(dir.path, 'inside.zip');
    writeFileSync(inside, zipSync({ ...bundle, 'artifacts/zero.bin': new Uint8Array(4 << 20) }));
    await assert.rejects(ZipBundleBackend.open(inside, { maxUnpackedBytes: cap }), (error: Error) => {
      assert.match(error.message, /inside\.zip: the bundle unpacks to [\d,]+ bytes, more than the [\d,]+ a zip is opened with: unzip it and open the folder$/);
      assert.equal(error.message.split('\n').length, 1);
      return true;
    });
    // Under the default cap, the same zip opens.
    assert.ok((await ZipBundleBackend.open(inside)).list().includes('artifacts/zero.bin'));
  } finally {
    await dir.remove();
  }
});
