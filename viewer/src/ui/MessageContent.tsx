// The blocks of a message that are not text: an image as an <img> loaded from its artifact (PNG, JPEG, GIF, WebP
// only; see message-media.ts), anything else as one line of text with its artifact (download, size) when it has one.
import { useCallback } from 'react';
import type { MessageContentItem } from '@flowtape/schema';
import { describeItem, inlineImageType } from '../model/message-media.ts';
import { useAsync, type Resources } from './resources.tsx';
import { ArtifactView } from './ValueView.tsx';
import { Shown } from './Shown.tsx';

function MessageImage({ item, mediaType }: { item: MessageContentItem; mediaType: string }) {
  const artifact = item.artifact!;
  const load = useCallback((r: Resources) => r.artifactUrl(artifact, mediaType), [artifact, mediaType]);
  const url = useAsync(`artifact-url:${artifact.path}:${mediaType}`, load);
  return (
    <figure className="message-image" data-testid="message-image" data-path={artifact.path}>
      {url.status === 'ok' && url.value !== undefined && <img src={url.value} alt={describeItem(item)} loading="lazy" />}
      {url.status === 'ok' && url.value === undefined && <div className="error-text"><Shown text={artifact.path} />: missing from the bundle</div>}
      {url.status === 'error' && <div className="error-text"><Shown text={url.message} /></div>}
      <figcaption className="muted"><Shown text={describeItem(item)} /></figcaption>
    </figure>
  );
}

export function MessageItems({ items }: { items: MessageContentItem[] | undefined }) {
  if (!items || items.length === 0) return null;
  return (
    <div className="message-items">
      {items.map((item, i) => {
        const image = inlineImageType(item);
        if (image) return <MessageImage key={i} item={item} mediaType={image} />;
        if (item.artifact) return <ArtifactView key={i} artifact={item.artifact} label={item.blockType} />;
        return <div key={i} className="message-item muted" data-testid="message-item"><Shown text={describeItem(item)} /></div>;
      })}
    </div>
  );
}
