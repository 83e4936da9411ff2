// Shows a ValueRef (inline JSON or an artifact) or an artifact: as text or pretty JSON, never as HTML, with a
// download of the exact bytes. Text goes through <Shown> (bidi controls visible), JSON through the depth-limited json().
import { useCallback, useState } from 'react';
import type { ArtifactRef, ValueRef } from '@flowtape/schema';
import { useAsync, type Resources } from './resources.tsx';
import { formatBytes, json } from './format.ts';
import { Shown } from './Shown.tsx';

const AUTO_LOAD_BYTES = 512 * 1024;
const SHOW_CHARS = 200_000;

export function TextBlock({ text, className }: { text: string; className?: string }) {
  const [all, setAll] = useState(false);
  const long = text.length > SHOW_CHARS && !all;
  return (
    <div className={`text-block ${className ?? ''}`}>
      <pre><Shown text={long ? text.slice(0, SHOW_CHARS) : text} /></pre>
      {long && <button type="button" onClick={() => setAll(true)}>show all {text.length.toLocaleString()} characters</button>}
    </div>
  );
}

function fileName(ref: ArtifactRef): string {
  return ref.path.split('/').pop() ?? 'artifact';
}

export function ArtifactView({ artifact, preview, label }: { artifact: ArtifactRef; preview?: string; label?: string }) {
  const [requested, setRequested] = useState(artifact.size <= AUTO_LOAD_BYTES);
  const load = useCallback((r: Resources) => r.artifact(artifact), [artifact]);
  const state = useAsync(requested ? `artifact:${artifact.path}` : undefined, load);
  const download = () => {
    if (state.status !== 'ok' || !state.value) return;
    const blob = new Blob([state.value.bytes as Uint8Array<ArrayBuffer>], { type: 'application/octet-stream' });
    const url = URL.createObjectURL(blob);
    const a = document.createElement('a');
    a.href = url;
    a.download = fileName(artifact);
    a.click();
    setTimeout(() => URL.revokeObjectURL(url), 10_000);
  };
  const content = state.status === 'ok' ? state.value : undefined;
  return (
    <div className="artifact" data-testid="artifact" data-path={artifact.path}>
      <div className="artifact-head">
        {label && <span className="artifact-role"><Shown text={label} /></span>}
        <code className="artifact-path" title={artifact.sha256}><Shown text={artifact.path} /></code>
        <span className="muted"><Shown text={artifact.mediaType} /> · {formatBytes(artifact.size)}</span>
        {content?.verified === false && <span className="warn-badge" title="the bytes do not hash to the reference">sha256 mismatch</span>}
        {!requested && <button type="button" onClick={() => setRequested(true)}>load</button>}
        {content && <button type="button" data-testid="artifact-download" onClick={download}>download</button>}
      </div>
      {state.status === 'loading' && requested && <div className="muted">loading…</div>}
      {state.status === 'error' && <div className="error-text"><Shown text={state.message} /></div>}
      {state.status === 'ok' && !content && <div className="error-text"><Shown text={artifact.path} />: missing from the bundle</div>}
      {content && content.json !== undefined && <TextBlock text={json(content.json)} className="json" />}
      {content && content.json === undefined && content.text !== undefined && <TextBlock text={content.text} />}
      {content && content.text === undefined && <div className="muted">binary content ({formatBytes(content.bytes.length)})</div>}
      {!content && preview && <TextBlock text={preview} className="preview" />}
    </div>
  );
}

export function ValueView({ value, label }: { value: ValueRef | undefined; label?: string }) {
  if (!value) return null;
  if ('inline' in value) {
    const v = value.inline;
    return (
      <div className="value">
        {label && <div className="value-label"><Shown text={label} /></div>}
        <TextBlock text={typeof v === 'string' ? v : json(v)} className={typeof v === 'string' ? '' : 'json'} />
      </div>
    );
  }
  return <ArtifactView artifact={value.artifact} preview={value.preview} label={label} />;
}
