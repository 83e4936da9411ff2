// The zip backend inflates an entry when it is first read (found from the outside: every entry of a dropped or
// served zip was inflated up front, a zip bomb beside the bundle included).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { zipSync } from 'fflate';
import { bundleFiles } from '../../test/fixtures/bundle-builder.ts';
import { zipSource } from '../src/backend/zip.ts';
import { loadBundle } from '../src/model/loader.ts';

const sample = fileURLToPath(new URL('../../samples/conversation/bundle', import.meta.url));

test('a broken entry no bundle reads does not stop the bundle; it fails only when read, naming the zip', async () => {
  // The junk entry first: its deflate data starts right after its local header (30 bytes + its name).
  const junk = 'junk/zero.bin';
  const bytes = zipSync({ [junk]: new Uint8Array(1 << 20), ...bundleFiles(sample) });
  bytes[30 + junk.length] = 0xff; // a final block of the reserved type 3: inflating it throws
  const source = await zipSource('broken-junk.zip', bytes);
  assert.deepEqual(source.bundles, ['']);
  const { model } = await loadBundle(source.open(''));
  assert.equal(model.fatal, undefined);
  assert.deepEqual(model.issues, []);
  assert.equal(model.timeline.length, readFileSync(join(sample, 'trace.ndjson'), 'utf8').trim().split('\n').length);
  await assert.rejects(source.open('').read(junk), /broken-junk\.zip: not a readable zip/);
});
