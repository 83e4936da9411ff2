// Which content items of a message the viewer may show as an image. Only raster types a browser decodes without
// running anything, and only when the artifact's name carries the matching extension (the viewer server types files
// by extension): an SVG (it can hold script) or any other type is listed as a file, never rendered.
import type { ArtifactRef, MessageContentItem } from '@flowtape/schema';

const INLINE_IMAGE_EXTENSIONS: Readonly<Record<string, string>> = {
  'image/png': 'png',
  'image/jpeg': 'jpg',
  'image/gif': 'gif',
  'image/webp': 'webp',
};

/** The media type as the image is decoded, or undefined when the item must not be shown as an image. */
export function inlineImageType(item: MessageContentItem): string | undefined {
  const artifact = item.artifact;
  if (item.blockType !== 'image' || !artifact) return undefined;
  const type = artifact.mediaType.split(';')[0]!.trim().toLowerCase();
  const extension = INLINE_IMAGE_EXTENSIONS[type];
  return extension !== undefined && artifact.path.endsWith(`.${extension}`) ? type : undefined;
}

/** What an item is, as one line of text: block type, media type, size, and the URI or name when it has one. */
export function describeItem(item: MessageContentItem): string {
  const parts: string[] = [item.blockType];
  if (item.mimeType) parts.push(item.mimeType);
  if (item.artifact) parts.push(`${item.artifact.size.toLocaleString('en-US')} bytes`);
  const where = item.uri ?? item.name;
  if (where) parts.push(where);
  return parts.join(' · ');
}

export type { ArtifactRef };
