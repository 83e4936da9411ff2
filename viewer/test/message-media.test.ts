// Which message items the viewer renders as an image: raster types with the matching artifact extension only.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { MessageContentItem } from '@flowtape/schema';
import { describeItem, inlineImageType } from '../src/model/message-media.ts';

const sha = 'a'.repeat(64);
const item = (mediaType: string, ext: string, blockType = 'image'): MessageContentItem => ({
  blockType,
  mimeType: mediaType,
  sessionEventSeq: 3,
  artifact: { path: `artifacts/sha256-${sha}.${ext}`, sha256: sha, size: 1234, mediaType },
});

describe('inlineImageType', () => {
  it('PNG, JPEG, GIF and WebP with their extension are images (the type case-folded, parameters dropped)', () => {
    assert.equal(inlineImageType(item('image/png', 'png')), 'image/png');
    assert.equal(inlineImageType(item('IMAGE/JPEG; q=1', 'jpg')), 'image/jpeg');
    assert.equal(inlineImageType(item('image/gif', 'gif')), 'image/gif');
    assert.equal(inlineImageType(item('image/webp', 'webp')), 'image/webp');
  });
  it('an SVG, another type, a mismatched extension, audio or no artifact are not', () => {
    assert.equal(inlineImageType(item('image/svg+xml', 'bin')), undefined);
    assert.equal(inlineImageType(item('image/svg+xml', 'png')), undefined);
    assert.equal(inlineImageType(item('text/html', 'png')), undefined);
    assert.equal(inlineImageType(item('image/png', 'bin')), undefined);
    assert.equal(inlineImageType(item('image/png', 'png', 'audio')), undefined);
    assert.equal(inlineImageType({ blockType: 'image', mimeType: 'image/png', sessionEventSeq: 1 }), undefined);
  });
  it('describes an item in one line', () => {
    assert.equal(describeItem(item('audio/wav', 'wav', 'audio')), 'audio · audio/wav · 1,234 bytes');
    assert.equal(describeItem({ blockType: 'resource_link', uri: 'file:///a.md', name: 'a.md', sessionEventSeq: 2 }), 'resource_link · file:///a.md');
  });
});
